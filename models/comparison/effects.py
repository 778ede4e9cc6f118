"""Effect measures with design-respecting (cluster-robust) intervals.

Every measure compares the weighted participants (t = 1) with the weighted
comparison group (t = 0) in the matched or weighted sample. Weights are the
matching weights (participants 1; each control 1/k_s in a set s with k_s
controls; summed over sets when a control is reused) or the ATT weights.

Point estimates (the maximum-likelihood estimates of the saturated weighted
regression of the outcome on t, so identical to weighted OLS / GLM on t):

* ``mean_difference`` = m1 - m0, with m_g = sum(w y) / sum(w) in group g
  (risk difference for a binary outcome; difference in mean counts per
  person for a count; difference in means for a continuous outcome).
* ``risk_difference``, ``risk_ratio`` = m1 / m0, ``odds_ratio`` =
  [m1 / (1 - m1)] / [m0 / (1 - m0)] for a binary outcome: the *marginal*
  measures in the matched or weighted sample (modified-Poisson RR, Zou 2004,
  Am J Epidemiol 159:702; marginal OR, Austin 2007, Stat Med 26:3078).
* ``rate_ratio`` = r1 / r0 for a count, r_g = sum(w y) / sum(w e) with e the
  exposure (person-years) when given, else e = 1 (Poisson regression with a
  log(exposure) offset). With an exposure the difference is
  ``rate_difference`` = r1 - r0 (events per unit of exposure) instead of the
  ``mean_difference``.
* ``hazard_ratio``: weighted Cox proportional-hazards model of the duration on
  t, Breslow ties (the marginal hazard ratio; Austin 2013, Stat Med 32:2837).

Variance. Each estimate's influence function psi_i (the per-row score of the
estimating equations, scaled by the inverse Jacobian) is summed within
clusters, and var = G/(G-1) * sum_clusters (sum psi)^2 (the CR1 cluster-robust
sandwich; for the mean difference it equals statsmodels' ``WLS(...).fit(
cov_type="cluster")`` up to its extra (N-1)/(N-K) factor). Clusters:

* matching without replacement: the matched set (pair for 1:1), so pairs'
  correlation is respected (Austin & Small 2014, Stat Med 33:1057);
* matching with replacement: two-way clustering on matched set and person
  (Cameron, Gelbach & Miller 2011, J Bus Econ Stat 29:238), because a reused
  control links several sets (Austin & Cafri 2020, Stat Med 39:1623; MatchIt's
  "Estimating effects" guide). V = V_set + V_person - V_row; if that is not
  positive the larger of V_set and V_person is used;
* weighting (IPW): the person (the Huber-White sandwich, HC1-type), treating
  the weights as known, the usual robust-variance approach (Austin & Stuart
  2015, Stat Med 34:3661).

Ratios are handled on the log scale (delta method): psi(log m1/m0) =
psi(m1)/m1 - psi(m0)/m0; the log-odds ratio uses psi(m)/(m(1-m)). Intervals are
Wald intervals, estimate +/- t(0.975, df) SE, exponentiated for ratios, and
p-values are two-sided t p-values on df degrees of freedom (:func:`cluster_df`).
A cluster-robust variance is a sum over G cluster totals and has about G - 1
degrees of freedom however many rows there are (Cameron & Miller 2015, J Hum
Resour 50:317, section VI; Stata's ``vce(cluster)``): df = G - 1 when every
cluster holds both groups (matched sets: G = the matched participants for 1:1
pairs). When no cluster holds both (the person under weighting, the unadjusted
comparison), the variance is the sum of the participants' part and the
comparison group's, and df is their Welch-Satterthwaite df (about the
participants' G1 - 1 when they carry the variance, as with a few participants
weighted against many). Two-way clustering: the smaller of the two clusterings'
df (Cameron, Gelbach & Miller 2011, section 2.3). With the 12 matched pairs of a
small time bank the normal 1.96 gave too narrow intervals (docs/validation.md,
"Small samples"); with hundreds of clusters t and normal agree to the third
digit. ``Measure.df`` holds the df. The hazard ratio's robust variance uses the
weighted Cox score residuals (Lin & Wei 1989, JASA 84:1074; Binder 1992,
Biometrika 79:139), clustered as above; with all weights 1 and one-way
clusters it equals ``statsmodels`` ``PHReg(ties="breslow").fit(groups=...)``
times G/(G-1). statsmodels' ``PHReg`` takes no case weights, which matching
with a ratio or with replacement (and IPW) need, hence the own implementation.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from models.blas import one_blas_thread

from .ordering import stable_time_order

Z95 = float(stats.norm.ppf(0.975))


@dataclass
class Measure:
    """One effect measure. ``se`` is on the log scale when ``scale == "ratio"``."""

    name: str
    estimate: float
    se: float
    scale: str  # "difference" or "ratio"
    #: degrees of freedom of the t reference distribution (G - 1 for G clusters); inf: the normal
    df: float = float("inf")

    @property
    def null(self) -> float:
        return 1.0 if self.scale == "ratio" else 0.0

    def interval(self, alpha: float = 0.05) -> tuple[float, float]:
        z = critical_value(self.df, alpha)
        if not np.isfinite(self.se) or self.se <= 0 or not np.isfinite(self.estimate):
            return float("nan"), float("nan")
        if self.scale == "ratio":
            if self.estimate <= 0:
                return float("nan"), float("nan")
            b = np.log(self.estimate)
            return float(np.exp(b - z * self.se)), float(np.exp(b + z * self.se))
        return float(self.estimate - z * self.se), float(self.estimate + z * self.se)

    @property
    def p_value(self) -> float:
        if not np.isfinite(self.se) or self.se <= 0 or not np.isfinite(self.estimate):
            return float("nan")
        b = np.log(self.estimate) if self.scale == "ratio" else self.estimate
        if self.scale == "ratio" and self.estimate <= 0:
            return float("nan")
        return two_sided_p(b / self.se, self.df)


def critical_value(df: float, alpha: float = 0.05) -> float:
    """The 1 - alpha/2 quantile of t on ``df`` degrees of freedom (the normal's when ``df`` is inf);
    NaN when ``df`` < 1 (one cluster: no variance)."""
    if not df >= 1:
        return float("nan")
    return float(stats.norm.ppf(1 - alpha / 2) if np.isinf(df) else stats.t.ppf(1 - alpha / 2, df))


def two_sided_p(statistic, df: float):
    """Two-sided p-value of a Wald statistic against t on ``df`` degrees of freedom (normal when inf)."""
    if not df >= 1:
        return np.full(np.shape(statistic), np.nan)[()] if np.ndim(statistic) else float("nan")
    tail = stats.norm.sf(np.abs(statistic)) if np.isinf(df) else stats.t.sf(np.abs(statistic), df)
    return 2 * tail if np.ndim(statistic) else float(2 * tail)


def cluster_df(clusters, psi=None, treated=None) -> float:
    """Degrees of freedom of a cluster-robust variance (module docstring); with two-way clustering the
    smaller of the two clusterings' (Cameron, Gelbach & Miller 2011).

    A clustering whose clusters each hold both groups (matched sets): G - 1. A clustering in which no
    cluster holds both (people under weighting, the unadjusted comparison), given the influence values
    ``psi`` and the 0/1 ``treated`` of the rows: the Welch-Satterthwaite df of the two groups' parts of
    the variance, V = V1 + V0 with V_k the CR1 sum over group k's G_k clusters,

        df = (V1 + V0)^2 / (V1^2 / (G1 - 1) + V0^2 / (G0 - 1)),

    which lies between min(G1, G0) - 1 and G - 2 and is about G1 - 1 when a few participants carry
    the variance (Welch 1947; Satterthwaite 1946): with 10 participants weighted against 50 people,
    G - 1 = 59 df covered 87-93%, against 94-96% on these df (docs/validation.md, "Small samples")."""
    out = []
    for c in code_clusters(clusters):
        out.append(_welch_df(psi, c.codes, c.g, np.asarray(treated, dtype=bool))
                   if psi is not None and treated is not None else float(c.g - 1))
    return float(min(out)) if out else float("nan")


def _welch_df(psi, codes, g, treated) -> float:
    if g < 2:
        return float("nan")
    n_t = np.bincount(codes, weights=treated, minlength=g)
    n = np.bincount(codes, minlength=g)
    if np.any((n_t > 0) & (n_t < n)):  # a cluster holds both groups: the matched set's G - 1
        return float(g - 1)
    s2 = np.bincount(codes, weights=np.asarray(psi, dtype=float), minlength=g) ** 2
    part, dfs = [], []
    for k in (n_t > 0, n_t == 0):
        gk = int(k.sum())
        part.append(float(s2[k].sum()))
        dfs.append(gk - 1)
    v1, v0 = part
    if not np.isfinite(v1 + v0) or v1 + v0 <= 0:
        return float(g - 1)
    den = sum(v * v / d for v, d in zip(part, dfs) if v > 0 and d > 0)
    if any(v > 0 and d <= 0 for v, d in zip(part, dfs)):
        return float("nan")  # one cluster carries variance alone: no df
    return float((v1 + v0) ** 2 / den)


@dataclass(frozen=True)
class CodedClusters:
    """Cluster labels already coded by :func:`_codes` (``codes``, number of clusters ``g``), so that the
    several measures of one estimate code each cluster array once, not once per measure; ``crossed``
    keeps the codes of this clustering crossed with another (the two-way intersection), for the same reason."""

    codes: np.ndarray
    g: int
    crossed: dict = field(default_factory=dict, compare=False, repr=False)

    def cross(self, other: "CodedClusters") -> tuple[np.ndarray, int]:
        """Codes of the intersection of this clustering and ``other`` (computed once per pair)."""
        kept = self.crossed.get(id(other))
        if kept is None or kept[0] is not other:
            # the pairs are mostly distinct: a person is seldom twice in one matched set
            kept = self.crossed[id(other)] = (other, *_codes(self.codes.astype(np.int64) * (other.g + 1) + other.codes,
                                                              mostly_distinct=True))
        return kept[1], kept[2]


def code_clusters(clusters) -> list:
    """``clusters`` (label arrays, or :class:`CodedClusters`) with every label array coded once."""
    return [c if isinstance(c, CodedClusters) else CodedClusters(*_codes(c)) for c in clusters]


def _codes(a, mostly_distinct: bool = False) -> tuple[np.ndarray, int]:
    """Each label's position among the sorted distinct labels (``numpy.unique``'s inverse); integer
    labels are coded by hashing (the same codes, without sorting every row), and labels that are already
    the codes 0..g-1, every one used (a person's code from ``pandas.factorize``), are their own codes.
    ``mostly_distinct``: labels that seldom repeat are sorted, not hashed, which is then faster (0.8 against
    2.0-2.6 s for 5.7M crossed labels)."""
    if isinstance(a, CodedClusters):
        return a.codes, a.g
    a = np.asarray(a)
    if a.dtype.kind in "iu" and a.ndim == 1 and len(a) and 0 <= a.min() and a.max() < len(a) and np.bincount(a).all():
        inv = a.astype(np.int64, copy=False)
    elif a.dtype.kind in "iub" and not mostly_distinct:
        inv = pd.factorize(a, sort=True)[0]
    else:
        _, inv = np.unique(a, return_inverse=True)
    inv = inv.ravel()
    return inv, int(inv.max()) + 1 if len(inv) else 0


def _oneway(psi: np.ndarray, codes: np.ndarray, g: int) -> float:
    if g < 2:
        return float("nan")
    s = np.bincount(codes, weights=psi, minlength=g)
    return float(g / (g - 1) * np.sum(s**2))


def cluster_variance(psi, clusters) -> float:
    """CR1 cluster-robust variance of a statistic with influence values ``psi``.

    ``clusters`` is a list of one (one-way) or two (two-way, Cameron-Gelbach-
    Miller) label arrays, one label per row of ``psi``.
    """
    psi = np.asarray(psi, dtype=float)
    clusters = code_clusters(clusters)
    if len(clusters) == 1:
        c, g = _codes(clusters[0])
        return _oneway(psi, c, g)
    if len(clusters) != 2:
        raise ValueError("clusters must hold one or two label arrays")
    c1, g1 = _codes(clusters[0])
    c2, g2 = _codes(clusters[1])
    c12, g12 = clusters[0].cross(clusters[1])
    v1, v2, v12 = _oneway(psi, c1, g1), _oneway(psi, c2, g2), _oneway(psi, c12, g12)
    v = v1 + v2 - v12
    return float(v) if v > 0 else float(max(v1, v2))


def _mean_if(y, w, mask, denom=None):
    """Weighted group ratio m = sum(w y)/sum(w d) over ``mask`` and its influence values."""
    # without ``denom`` d = 1, and each product with it is left out (multiplying by 1 changes no bit); the
    # influence values are built in one array (the values of np.where(mask, w * (y - m d) / W, 0))
    W = float(np.sum(w[mask])) if denom is None else float(np.sum(w[mask] * denom[mask]))
    m = float(np.sum(w[mask] * y[mask]) / W)
    psi = y - m if denom is None else y - m * denom
    psi *= w
    psi /= W
    psi[~mask] = 0.0
    return m, psi


def _measure(name, est, psi, clusters, scale, treated) -> Measure:
    var = cluster_variance(psi, clusters)
    se = float(np.sqrt(var)) if np.isfinite(var) and var > 0 else (0.0 if var == 0 else float("nan"))
    return Measure(name=name, estimate=float(est), se=se, scale=scale, df=cluster_df(clusters, psi, treated))


def _ratio_measure(name, a, psi_a, b, psi_b, clusters, treated) -> Measure:
    if not (a > 0 and b > 0):
        return Measure(name=name, estimate=float("nan"), se=float("nan"), scale="ratio")
    psi = psi_a / a - psi_b / b
    return _measure(name, a / b, psi, clusters, "ratio", treated)


def _means(y, tb, w, d=None, adjust=None):
    """(m1, psi1, m0, psi0): the two groups' weighted means (ratios with ``d``), m0 adjusted by ``adjust``."""
    m1, p1 = _mean_if(y, w, tb, d)
    m0, p0 = _mean_if(y, w, ~tb, d)
    if adjust is not None:
        m0, p0 = adjust(y, np.ones_like(y) if d is None else d, w, tb, m0, p0)
    return m1, p1, m0, p0


def binary_effects(y, t, w, clusters, adjust=None):
    """Risk difference (headline), risk ratio and odds ratio; returns (measures, m1, m0)."""
    y, t, w = (np.asarray(a, dtype=float) for a in (y, t, w))
    tb = t.astype(bool)
    m1, p1, m0, p0 = _means(y, tb, w, adjust=adjust)
    out = [
        _measure("risk_difference", m1 - m0, p1 - p0, clusters, "difference", tb),
        _ratio_measure("risk_ratio", m1, p1, m0, p0, clusters, tb),
    ]
    if 0 < m1 < 1 and 0 < m0 < 1:
        o1, o0 = m1 / (1 - m1), m0 / (1 - m0)
        psi = p1 / (m1 * (1 - m1)) - p0 / (m0 * (1 - m0))
        out.append(_measure("odds_ratio", o1 / o0, psi, clusters, "ratio", tb))
    else:
        out.append(Measure("odds_ratio", float("nan"), float("nan"), "ratio"))
    return out, m1, m0


def count_effects(y, t, w, clusters, exposure=None, adjust=None):
    """Mean (or rate) difference (headline) and rate ratio; returns (measures, r1, r0)."""
    y, t, w = (np.asarray(a, dtype=float) for a in (y, t, w))
    e = None if exposure is None else np.asarray(exposure, dtype=float)
    tb = t.astype(bool)
    r1, p1, r0, p0 = _means(y, tb, w, e, adjust)
    name = "mean_difference" if e is None else "rate_difference"
    out = [
        _measure(name, r1 - r0, p1 - p0, clusters, "difference", tb),
        _ratio_measure("rate_ratio", r1, p1, r0, p0, clusters, tb),
    ]
    return out, r1, r0


def continuous_effects(y, t, w, clusters, adjust=None):
    """Mean difference; returns (measures, m1, m0)."""
    y, t, w = (np.asarray(a, dtype=float) for a in (y, t, w))
    tb = t.astype(bool)
    m1, p1, m0, p0 = _means(y, tb, w, adjust=adjust)
    return [_measure("mean_difference", m1 - m0, p1 - p0, clusters, "difference", tb)], m1, m0


# --------------------------------------------------------------------------- Cox


@one_blas_thread()
def cox_binary(time, event, x, w, clusters=None, *, tol: float = 1e-10, maxiter: int = 50):
    """Weighted Cox PH fit of one 0/1 covariate ``x`` (Breslow ties).

    Returns ``(beta, se_robust, score_residuals)`` with the score residuals
    in the input row order; ``se_robust`` is cluster-robust (see module) when
    ``clusters`` is given. ``beta`` is NaN when either group has no events.

    With one 0/1 covariate the risk-set sums at a time t are W0(t) + e^b W1(t), W_g(t) the
    weight at risk (time >= t) in group g, and every row of a time shares them; so the sums
    are taken once per distinct time, and each Newton step costs one pass over the distinct
    times, not over the rows.
    """
    time, event, x, w = (np.asarray(a, dtype=float) for a in (time, event, x, w))
    xb = x.astype(bool)
    if not (np.sum(w * event * xb) > 0 and np.sum(w * event * ~xb) > 0):
        return float("nan"), float("nan"), np.full(len(time), np.nan)
    o = stable_time_order(time)
    ts, d, xs, ws = time[o], event[o], x[o], w[o]
    dw = d * ws
    new_time = np.r_[True, ts[1:] != ts[:-1]]
    starts = np.flatnonzero(new_time)  # each distinct time's first row
    at = np.cumsum(new_time) - 1  # each row's distinct time
    at_risk1 = np.cumsum(np.add.reduceat(ws * xs, starts)[::-1])[::-1]
    at_risk0 = np.cumsum(np.add.reduceat(ws * (1 - xs), starts)[::-1])[::-1]
    events = np.add.reduceat(dw, starts)  # weighted events at each time
    events_x = float(np.sum(dw * xs))
    beta = 0.0

    def parts(b):
        e = np.exp(b)
        s0 = at_risk0 + e * at_risk1
        xbar = e * at_risk1 / s0
        score = events_x - float(np.sum(events * xbar))
        info = float(np.sum(events * xbar * (1 - xbar)))
        loglik = b * events_x - float(np.sum(events * np.log(s0)))
        return s0, xbar, score, info, loglik

    s0, xbar, score, info, ll = parts(beta)
    for _ in range(maxiter):
        if info <= 0:
            break
        step = score / info
        nb = beta + step
        nparts = parts(nb)
        halvings = 0
        while nparts[4] < ll - 1e-12 and halvings < 30:
            step /= 2
            nb = beta + step
            nparts = parts(nb)
            halvings += 1
        beta = nb
        s0, xbar, score, info, ll = nparts
        if abs(step) < tol:
            break
    # weighted score residuals (Breslow): cumulated hazard terms up to and including each row's time
    a = np.cumsum(events / s0)[at]
    bsum = np.cumsum(events * xbar / s0)[at]
    resid_sorted = dw * (xs - xbar[at]) - ws * np.exp(beta * xs) * (xs * a - bsum)
    resid = np.empty_like(resid_sorted)
    resid[o] = resid_sorted
    if clusters is None:
        clusters = [np.arange(len(time))]
    var = cluster_variance(resid / info, clusters)
    se = float(np.sqrt(var)) if np.isfinite(var) and var > 0 else float("nan")
    return float(beta), se, resid


def survival_effects(time, event, t, w, clusters):
    """Hazard ratio (headline); returns (measures, share with event t=1, t=0)."""
    time, event, t, w = (np.asarray(a, dtype=float) for a in (time, event, t, w))
    tb = t.astype(bool)
    m1, _ = _mean_if(event, w, tb)
    m0, _ = _mean_if(event, w, ~tb)
    beta, se, resid = cox_binary(time, event, t, w, clusters)
    hr = float(np.exp(beta)) if np.isfinite(beta) else float("nan")
    # the df is unchanged by scaling the influence values, so the score residuals serve (no 1/information)
    df = cluster_df(clusters, resid, tb) if np.isfinite(beta) else float("inf")
    return [Measure("hazard_ratio", hr, se, "ratio", df)], m1, m0


HEADLINE = {
    "binary": "risk_difference",
    "count": "mean_difference",
    "continuous": "mean_difference",
    "time_to_event": "hazard_ratio",
}


def compute_effects(outcome_type, y, t, w, clusters, *, event=None, exposure=None, adjust=None):
    """Dispatch on ``outcome_type``; returns (measures, treated_value, comparison_value).

    ``adjust`` (:mod:`.adjustment`) corrects the comparison mean of the binary, count and
    continuous measures; the hazard ratio ignores it.
    """
    clusters = code_clusters(clusters)
    if outcome_type == "binary":
        return binary_effects(y, t, w, clusters, adjust)
    if outcome_type == "count":
        return count_effects(y, t, w, clusters, exposure, adjust)
    if outcome_type == "continuous":
        return continuous_effects(y, t, w, clusters, adjust)
    if outcome_type == "time_to_event":
        return survival_effects(y, event, t, w, clusters)
    raise ValueError(f"unknown outcome_type {outcome_type!r}")
