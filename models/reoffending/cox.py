"""``marts.reoffending_cox``: covariate-adjusted Cox model of time to first proven reoffence.

Per programme label, on the design rows of the matched comparison (the final index events, a
participant's up to the one their start is linked to, from the time zero of ``settings.design``:
:func:`.prepare.programme_subset`), *unmatched*; a regression-adjusted complement to the matched
comparison. A person can have rows in several trials (several index events, several trial days):
the standard errors are then clustered on the person, each row carrying its own index event's
covariates (Lin-Wei sandwich, as PHReg ``groups``, :func:`cluster_robust_cov`). Terms: ``treated`` plus the configured covariates, coded
exactly as the comparison engine codes them (:func:`models.comparison.build_design`: numeric as
is with median imputation plus a ``<name>_missing`` indicator, categories as dummies with the
first level as reference). Fitted by Newton-Raphson on the partial likelihood (ties ``efron`` by
default, or ``breslow``; :mod:`.partial_likelihood`, which gives statsmodels ``PHReg(...).fit()``'s
estimates, model-based standard errors and log-likelihood), Wald intervals and p-values: normal
with the model-based standard errors (likelihood theory), t on G - 1 degrees of freedom with the
person-clustered ones (G people; the rule of the comparison engine, docs/comparison-engine.md).

Proportional hazards, per term: the Grambsch-Therneau (1994, Biometrika 81:515) score test on
scaled Schoenfeld residuals. With r_k the Schoenfeld residual vector of event k (the covariates
minus their risk-set mean at the event time, the mean averaged over the Efron tie fractions
under Efron ties), V the covariance of the coefficients and d the number of events, the
scaled residuals are s_k = d V r_k (+ beta); with g_k the transformed event time
(``ph_time_transform``: ``km`` = 1 - KM(t), ``rank``, ``identity``, ``log``),

    T_j = (sum_k (g_k - gbar) s_kj)^2 / (d V_jj sum_k (g_k - gbar)^2)  ~ chi-square(1),

and ``ph_rho`` is the correlation of g with s_j. This is the statistic of lifelines'
``proportional_hazard_test`` (and R's ``cox.zph`` before survival 3.0); a small p-value means
the term's hazard ratio drifts over the follow-up year.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import sparse, stats

from models.blas import one_blas_thread
from models.comparison import ComparisonError, build_design
from models.comparison.effects import critical_value, two_sided_p

from .partial_likelihood import RiskSets, SpreadRows, fit_partial_likelihood, tied_sums
from .prepare import analysis_frame, design_rows, design_sentence, distinct_codes, model_frame, person_codes, programme_labels
from .settings import ReoffendingSettings
from .tables import COX
from schemas.marts import mart



@dataclass
class CoxFit:
    terms: list[str]
    params: np.ndarray
    bse: np.ndarray
    cov: np.ndarray
    pvalues: np.ndarray
    risk_sets: RiskSets  # the rows fitted, sorted by time (:func:`.partial_likelihood.risk_sets`)
    ties: str
    loglik: float
    #: degrees of freedom of the intervals and p-values: G - 1 for G clusters (``groups``), inf (normal) without
    df: float = float("inf")


@one_blas_thread()
def fit_cox(time, event, X: pd.DataFrame | SpreadRows, ties: str = "efron", groups=None, alike=None) -> CoxFit:
    """The partial-likelihood fit (:func:`.partial_likelihood.fit_partial_likelihood`, statsmodels
    ``PHReg(...).fit(maxiter=50)``'s estimate); raises ValueError when it cannot be fitted.

    ``groups`` (e.g. the person id when a person has rows in several sequential trials): the
    standard errors are then PHReg's cluster-robust ones, and the intervals and p-values use t on G - 1
    degrees of freedom (``CoxFit.df``; normal without ``groups``); the PH test
    keeps the model-based covariance its formula assumes. ``alike``: a label per row that two rows
    share only when their rows of X are equal (:func:`.partial_likelihood.distinct_rows`): the
    distinct rows are then found among the first row of each label."""
    time = np.asarray(time, dtype=float)
    event = np.asarray(event, dtype=float)
    Xv = X if isinstance(X, SpreadRows) else X.to_numpy(dtype=float)
    with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
        res = fit_partial_likelihood(time, event, Xv, ties, maxiter=50, alike=alike)
    params, cov, rs = res.params, res.cov, res.risk_sets
    with np.errstate(invalid="ignore", over="ignore"):
        bse = np.sqrt(np.diag(cov if groups is None else cluster_robust_cov(rs, params, cov, groups)))
    if not (np.all(np.isfinite(params)) and np.all(np.isfinite(bse))):
        raise ValueError("the Cox model did not converge (infinite coefficient or standard error)")
    # Newton stops at maxiter without raising; a score far from 0 means no maximum was reached.
    if not np.all(np.abs(res.score) < 1e-4 * max(1.0, float(event.sum()))):
        raise ValueError("the Cox model did not converge (coefficients drifting: quasi-separation in the covariates?)")
    df = float("inf") if groups is None else float(len(pd.unique(np.asarray(groups))) - 1)
    pvalues = two_sided_p(params / bse, df)
    return CoxFit(list(X.columns), params, bse, cov, pvalues, rs, ties, res.loglik, df)


def cluster_scores(rs: RiskSets, params: np.ndarray, cluster: np.ndarray, n_clusters: int) -> np.ndarray:
    """Per cluster (``cluster``: each sorted row's cluster index, rows in ``rs.order``), the sum of its
    rows' Cox score residuals (Therneau, Grambsch & Fleming 1990),

    r_j = d_j (x_j - xbar(t_j)) - exp(x_j b) sum_{i: t_i <= t_j} (x_j - xbar(t_i)) D_i / S0(t_i),

    summed over the distinct event times t_i with D_i events and risk-set sum S0 (Breslow
    increments, xbar weighted by exp(x b)), as statsmodels' ``PHReg.score_residuals`` computes
    them; here with cumulative sums over the event times, where statsmodels rebuilds the risk set
    at every event time (quadratic: 1,036 s of a 100,000-person run). The n x p residuals are not
    formed: the rows' covariates are the distinct rows U of the fit's risk sets (x_j = U[g_j]), so
    each part of a cluster's sum is a sparse (clusters x G, or clusters x event times) matrix times
    U, or times the per-event-time sums. A row censored before the first event is never at risk at
    an event time: it adds nothing (statsmodels gives NaN).
    """
    U, g = rs.rows, rs.row_of
    eta = (U @ params)[g]
    risk = np.exp(eta - eta.max())
    del eta  # a value per row: not held through the sums below
    k, deaths = rs.n_times, rs.deaths
    at_risk = rs.reach > 0  # at risk at some event time

    def summed(rows, cols, data, shape, values):  # sum of data * values[cols] per row index
        return sparse.csr_array((data, (rows, cols)), shape=shape) @ values

    # risk-set sums at each event time i: the rows whose last event time is i or later (r_last: the last event time
    # <= t_j, the risk sets j is in)
    r_last, r_g, r_risk, r_cluster = rs.reach[at_risk] - 1, g[at_risk], risk[at_risk], cluster[at_risk]
    s0 = np.cumsum(np.bincount(r_last, weights=r_risk, minlength=k)[::-1])[::-1]
    s1 = np.cumsum(summed(r_last, r_g, r_risk, (k, len(U)), U)[::-1], axis=0)[::-1]
    xbar = s1 / s0[:, None]
    increment = deaths / s0
    c_cum = np.cumsum(increment)
    w_cum = np.cumsum(increment[:, None] * xbar, axis=0)
    f_cluster, ones = cluster[rs.failed], np.ones(len(rs.failed))
    at_risk_part = (summed(r_cluster, r_last, r_risk, (n_clusters, k), w_cum)
                    - summed(r_cluster, r_g, r_risk * c_cum[r_last], (n_clusters, len(U)), U))
    failed_part = (summed(f_cluster, g[rs.failed], ones, (n_clusters, len(U)), U)
                   - summed(f_cluster, rs.tie, ones, (n_clusters, k), xbar))
    return at_risk_part + failed_part


def cluster_robust_cov(rs: RiskSets, params: np.ndarray, cov: np.ndarray, groups) -> np.ndarray:
    """Cluster-robust (sandwich) covariance of a Cox fit, Lin & Wei (1989, JASA 84:1074):
    V M V with V the model-based covariance and M the sum over clusters of the outer products
    of their summed score residuals. ``groups``: one label per row, in the rows' input order.
    Equals statsmodels' ``PHReg(...).fit(groups=...)``."""
    codes, labels = pd.factorize(np.asarray(groups))
    rank = np.argsort(np.argsort(labels, kind="stable"))  # clusters in sorted label order, as np.unique
    # each sorted row's cluster, held alone (not beside the codes in input order) and as 32-bit integers when they
    # fit: the index type scipy's sparse matrices convert them to anyway
    cluster = rank.astype(np.int32 if len(labels) < 2**31 else np.int64)[codes[rs.order]]
    del codes
    summed = cluster_scores(rs, params, cluster, len(labels))
    return cov @ (summed.T @ summed) @ cov


def schoenfeld_residuals(fit: CoxFit) -> tuple[np.ndarray, np.ndarray]:
    """(event times, residual rows) for every event, in ascending time order (input order within a time).

    r_k = x_k - xbar(t_k), with xbar the risk-set mean weighted by exp(x beta); under Efron ties
    xbar is averaged over the tie fractions l/m, l = 0..m-1, as in lifelines: the mean, over the
    m tied events, of the fit's per-event means a_l (:class:`.partial_likelihood.TiedSums`).
    """
    rs = fit.risk_sets
    xbar = tied_sums(rs, fit.params).a_sum() / rs.deaths[:, None]
    r = rs.rows[rs.row_of[rs.failed]]
    r -= xbar[rs.tie]  # in place: an events x terms matrix per trial row's event is large under risk_set
    return rs.event_times[rs.tie], r


def km_at_events(rs: RiskSets) -> np.ndarray:
    """Right-continuous Kaplan-Meier S(t) of the fitted rows at each event's time (events in ``rs.failed`` order)."""
    n_risk = len(rs.row_of) - rs.at_time[rs.first]  # rows with time >= each event time
    return np.cumprod(1 - rs.deaths / n_risk)[rs.tie]


def ph_test(fit: CoxFit, transform: str = "km") -> pd.DataFrame:
    """Per-term Grambsch-Therneau test (module docstring): rho, chisq, p_value."""
    times, r = schoenfeld_residuals(fit)
    d = len(times)
    if d < 3:
        return pd.DataFrame({"term": fit.terms, "rho": np.nan, "chisq": np.nan, "p_value": np.nan})
    # the scaled residuals d r V + beta, computed in place: one events x terms matrix at a time besides a temporary
    # (at 1M persons each is 0.2 GiB), with the same numbers as the expression
    scaled = d * r
    del r
    scaled = scaled @ fit.cov
    scaled += fit.params
    if transform == "km":
        g = 1 - km_at_events(fit.risk_sets)
    elif transform == "rank":
        g = np.arange(1, d + 1, dtype=float)
    elif transform == "log":
        g = np.log(times)
    else:
        g = times.astype(float)
    gc = g - g.mean()
    ss = float(np.sum(gc**2))
    rho = np.full(len(fit.terms), np.nan)
    chisq = np.full(len(fit.terms), np.nan)
    if ss > 0:
        chisq = (gc @ (scaled - fit.params)) ** 2 / (d * fit.bse**2 * ss)
        sc = scaled  # centred in place (scaled is not read again)
        sc -= scaled.mean(axis=0)
        del scaled
        den = np.sqrt(ss * np.sum(sc**2, axis=0))
        with np.errstate(invalid="ignore", divide="ignore"):
            rho = np.where(den > 0, (gc @ sc) / den, np.nan)
    return pd.DataFrame({"term": fit.terms, "rho": rho, "chisq": chisq, "p_value": stats.chi2.sf(chisq, 1)})


def cox_design(sub: pd.DataFrame, covariates: list[str], categorical: list[str]) -> tuple[SpreadRows, list[str]]:
    """``treated`` plus the engine's coding of the covariates, with two exclusions (noted).

    * constant columns (a level nobody in this fit has);
    * 0/1 columns with no event on one side (e.g. a sex level with no reoffender): the partial
      likelihood has no maximum there (the coefficient runs to -inf or +inf), so the column is
      left out and its people fall into the reference level.

    A unit's covariates (a person's at one index event: :func:`.prepare.design_rows`' ``unit``) are the
    same in every trial it is in, so they are coded once per unit (:func:`models.comparison.build_design`
    on one row per unit, each counted once per row, so the median that fills a numeric covariate's
    missing values is the rows', as on the rows) and spread to the rows: the design is each row's
    ``treated`` and its unit's row (:class:`.partial_likelihood.SpreadRows`; ``.to_frame()`` gives the
    rows x terms table). The key is the unit, never the person: a person with two index events has two
    ages and two criminal histories. Rows without ``unit`` (one row per person) are keyed on the person.
    """
    notes = []
    _, first, unit_row = distinct_codes(unit_codes(sub))
    X = pd.DataFrame(index=pd.RangeIndex(len(first)))
    if covariates:
        design = build_design(model_frame(sub[covariates].iloc[first], covariates), covariates, categorical or None,
                              counts=np.bincount(unit_row, minlength=len(first)))
        X = design.X.reset_index(drop=True).astype(float)
    flat = [c for c in X.columns if X[c].nunique() < 2]
    if flat:
        notes.append(f"design columns constant in the data, left out: {flat}")
        X = X.drop(columns=flat)
    has_event = np.bincount(unit_row, weights=sub["event"].to_numpy(dtype=float) == 1, minlength=len(first)) > 0
    separated = []
    for c in X.columns:
        v = X[c].to_numpy()
        if np.isin(v, (0.0, 1.0)).all() and (not (has_event & (v == 1)).any() or not (has_event & (v == 0)).any()):
            separated.append(c)
    if separated:
        notes.append(f"0/1 design columns with no reoffence on one side (coefficient not finite), left out: {separated}")
        X = X.drop(columns=separated)
    return SpreadRows(sub["treated"].to_numpy(dtype=float), X.to_numpy(dtype=float), unit_row,
                      ("treated", *X.columns)), notes


def unit_codes(sub: pd.DataFrame) -> np.ndarray:
    """Per design row, the code of its unit (the person and index event whose covariates it carries): the ``unit``
    column of :func:`.prepare.design_rows`, else the person."""
    if "unit" in sub.columns:
        return sub["unit"].to_numpy().astype(np.int64)
    return person_codes(sub["person_id"])


#: the words of the Cox model's design sentence (:func:`.prepare.design_sentence`) before its covariates
ADJUSTED = "in a Cox model adjusted (not matched) for"


def _placeholder(programme: str, settings: ReoffendingSettings, reason: str, counts: dict | None = None,
                 covariates: list[str] | None = None) -> dict:
    row = {c.name: None for c in COX if c.name != "run_id"}
    row.update(programme=programme, term="treated", **(counts or {}), ties=settings.cox_ties,
               time_transform=settings.ph_time_transform, note=f"not estimable: {reason}",
               design_sentence=None if covariates is None else design_sentence(settings, covariates, ADJUSTED))
    return row


def fit_counts(sub: pd.DataFrame) -> dict:
    """People in the fit, those of them with a first proven reoffence, and the rows fitted (a person is in one
    row per trial day at risk under ``risk_set``, with the same event in each: a reoffence after that day)."""
    people = person_codes(sub["person_id"]) if len(sub) else np.zeros(0, np.int64)
    seen = lambda rows: int(np.count_nonzero(np.bincount(rows))) if len(rows) else 0  # noqa: E731
    return {"n": seen(people), "n_events": seen(people[sub["event"].to_numpy() == 1]), "n_trial_rows": len(sub)}


def cox_programme(df: pd.DataFrame, programme: str, settings: ReoffendingSettings, rows=None) -> list[dict]:
    """The Cox mart's rows of one programme label; ``rows``: its :func:`.prepare.design_rows` when already built."""
    sub, cov = rows if rows is not None else design_rows(df, programme, settings)
    if df.empty:
        return [_placeholder(programme, settings, "no final cohort")]
    counts = fit_counts(sub)
    placeholder = lambda reason: [_placeholder(programme, settings, reason, counts, cov.used)]  # noqa: E731
    t = sub["treated"].to_numpy() == 1 if len(sub) else np.zeros(0, bool)
    if t.sum() == 0:
        return placeholder("no participants in the final cohorts")
    if (~t).sum() == 0:
        return placeholder("no non-participants to compare with")
    ev = sub["event"].to_numpy() == 1
    if not (ev & t).any() or not (ev & ~t).any():
        return placeholder("no proven reoffence among the participants or among the non-participants, so the hazard "
                           "ratio is not finite")
    try:
        X, notes = cox_design(sub, cov.used, cov.categorical)
        if X.shape[1] >= counts["n_events"]:  # people with a reoffence, not the trial rows that repeat their event
            raise ValueError(f"{X.shape[1]} terms for {counts['n_events']} people with a reoffence: too few events for "
                             "the model")
        person = person_codes(sub["person_id"])
        repeated = bool(np.bincount(person).max() > 1)
        fit = fit_cox(sub["duration"], sub["event"], X, settings.cox_ties, groups=person if repeated else None,
                      alike=2 * unit_codes(sub) + sub["treated"].to_numpy())  # a unit's rows differ in treated only
    except (ValueError, ComparisonError, np.linalg.LinAlgError) as err:
        return placeholder(str(err))
    ph = ph_test(fit, settings.ph_time_transform)
    sentence = design_sentence(settings, cov.used, ADJUSTED)
    note = " | ".join([*cov.notes, *notes]) or None
    rows = []
    q = critical_value(fit.df)
    for j, term in enumerate(fit.terms):
        b, se = fit.params[j], fit.bse[j]
        with np.errstate(over="ignore"):
            hr, lo, hi = float(np.exp(b)), float(np.exp(b - q * se)), float(np.exp(b + q * se))
        rows.append({
            "programme": programme, "term": term, "coef": b, "se": se, "hazard_ratio": hr,
            "ci_low": lo, "ci_high": hi, "p_value": fit.pvalues[j],
            "ph_rho": ph["rho"].iloc[j], "ph_chisq": ph["chisq"].iloc[j], "ph_p_value": ph["p_value"].iloc[j],
            "ph_violated": bool(ph["p_value"].iloc[j] < settings.ph_alpha) if np.isfinite(ph["p_value"].iloc[j]) else None,
            **counts, "ties": settings.cox_ties, "time_transform": settings.ph_time_transform, "note": note,
            "design_sentence": sentence,
        })
    return rows


def reoffending_cox(cohort: pd.DataFrame, settings: ReoffendingSettings) -> pd.DataFrame:
    """The Cox mart's rows for every programme label (without run_id)."""
    df = analysis_frame(cohort, settings)
    rows = [r for p in programme_labels(df) for r in cox_programme(df, p, settings)]
    return mart("marts.reoffending_cox").frame(rows)
