"""Cox partial likelihood with Efron or Breslow ties, by sorted times and cumulative sums.

The log partial likelihood of coefficients b on rows with times t_j, event flags d_j and
covariate rows x_j, w_j = exp(x_j b): at each distinct event time u with m tied events D,
risk set R = {j: t_j >= u} and, for l = 0..m-1, c_l = S0_R - (l/m) S0_D (Efron 1977, JASA
72:557; Breslow: c_l = S0_R), where S0_A = sum_{j in A} w_j and S1_A = sum_{j in A} w_j x_j,

    loglik = sum_u [ sum_{j in D} x_j b - sum_l log c_l ]
    score  = sum_u [ sum_{j in D} x_j - sum_l a_l ],  a_l = (S1_R - (l/m) S1_D) / c_l
    -hess  = sum_u [ S2_R sum_l 1/c_l - S2_D sum_l (l/m)/c_l - sum_l a_l a_l' ],

S2_A = sum_{j in A} w_j x_j x_j'. These are statsmodels' ``PHReg.efron_loglike``,
``efron_gradient`` and ``efron_hessian`` (and the ``breslow_`` ones). statsmodels walks the
event times one by one and first builds a per-time index of who enters the risk set; here
S0_R and S1_R come from sums per distinct time, cumulated from the last time back; a_l is S1_R and S1_D
combined with per-event scalars, so the sums over l of a_l and a_l a_l' are sums of 1/c_l, (l/m)/c_l and
their squares per event time (:class:`TiedSums`); and the S2 terms fold into a weighted cross
product: sum_u S2_R(u) A(u) = sum_j w_j x_j x_j' sum_{u <= t_j} A(u). Rows repeat covariate
rows (a person in several sequential trials, people alike in every covariate), so the covariate
rows are kept once, as the G distinct rows U with each row's index g_j: x_j b is (U b)_{g_j}, the
per-time sums S1 are a sparse (times x G) matrix of the w_j times U, and the cross product is
U' diag(sum_{j: g_j = h} w_j ...) U. O(n log n + n p + G p^2).

The fit is statsmodels' ``PHReg(...).fit()``: Newton-Raphson from b = 0 until no coefficient
moves by more than 1e-8, at most ``maxiter`` steps, and the model-based covariance is the
inverse of -hess at the estimate. One safeguard is added: a step that lowers the partial
likelihood is halved until it does not (a converging fit never needs it, so the estimate is
the same).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import sparse

from models.comparison.ordering import stable_time_order
from models.comparison.propensity import row_codes

TOL = 1e-8


@dataclass(frozen=True)
class SpreadRows:
    """An n x p design held as few distinct rows: row *i* is ``[lead[i], *base[index[i]]]`` (e.g. a trial row's
    treated flag and its person's covariates, coded once per person). The fit reads rows only through
    :meth:`take`, so the n x p matrix is never formed (at 3M persons the reoffending Cox design's 17M trial rows x
    11 terms were 1.3 GiB); ``columns`` name the p terms."""

    lead: np.ndarray  # (n,) the first column
    base: np.ndarray  # (m, p - 1) the rows the others repeat
    index: np.ndarray  # (n,) each row's row of ``base``
    columns: tuple[str, ...]

    @property
    def shape(self) -> tuple[int, int]:
        return len(self.lead), 1 + self.base.shape[1]

    def take(self, positions: np.ndarray, axis: int = 0) -> np.ndarray:
        """The rows at ``positions`` (as ``ndarray.take(positions, axis=0)``: the same numbers)."""
        out = np.empty((len(positions), self.shape[1]))
        out[:, 0] = self.lead[positions]
        out[:, 1:] = self.base[self.index[positions]]
        return out

    def to_numpy(self, dtype=float) -> np.ndarray:
        """Every row (n x p): for notebooks and tests, not for the fit."""
        return self.take(np.arange(len(self.lead))).astype(dtype, copy=False)

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.to_numpy(), columns=list(self.columns))


@dataclass
class RiskSets:
    """The rows sorted by time and, per distinct event time, where its risk set starts and who fails."""

    order: np.ndarray  # the input rows in time order (stable): sorted row k is input row order[k]
    event_times: np.ndarray  # the distinct event times, ascending
    deaths: np.ndarray  # per event time: its number of events m
    rows: np.ndarray  # the distinct covariate rows U (G x p)
    row_of: np.ndarray  # per sorted row: its index g in ``rows``
    failed: np.ndarray  # sorted-row indices of the events, grouped by event time
    failed_sum: np.ndarray  # sum of the events' covariate rows
    tie: np.ndarray  # per event: the index of its event time
    frac: np.ndarray  # per event: l/m, its rank l among the m tied events (0 under Breslow)
    at_time: np.ndarray  # per distinct time (of any row): its first sorted row
    first: np.ndarray  # per event time: the distinct time it is (risk set = that time and later ones)
    starts: np.ndarray  # per event time: the position of its first event in ``failed``
    n_times: int
    reach: np.ndarray  # per sorted row: the number of event times <= its time (the risk sets it is in)

    def per_group(self, weights: np.ndarray, row_of: np.ndarray, starts: np.ndarray) -> np.ndarray:
        """sum_j weights_j U[row_of_j] over each run of rows starting at ``starts`` (runs in order,
        the last to the end): ``np.add.reduceat(weights[:, None] * U[row_of], starts)`` without the
        n x p product, as a sparse (runs x G) matrix times U."""
        runs = sparse.csr_array((weights, row_of, np.append(starts, len(row_of))), shape=(len(starts), len(self.rows)))
        return runs @ self.rows


def distinct_rows(X: np.ndarray | SpreadRows, alike: np.ndarray | None = None,
                  order: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(U, g): the distinct rows of X (equal as numbers, column by column) and each row's index in U,
    in order of first appearance; of ``X[order]`` when ``order`` is given (without forming it).

    ``alike`` (optional, one per row of ``X[order]``): a label such that rows with the same label
    are equal (e.g. the person and the treated flag of a trial row: a person's covariates are the
    same in every trial). Only the first row of each label is then compared, which gives the same
    (U, g)."""
    rows = (lambda at: X.take(at, axis=0)) if order is None else (lambda at: X.take(order[at], axis=0))
    if alike is None:
        Xo = X if order is None and isinstance(X, np.ndarray) else X.take(
            np.arange(X.shape[0]) if order is None else order, axis=0)
        g, n_rows = row_codes(len(Xo), Xo.T)
        U = np.empty((n_rows, X.shape[1]))
        U[g] = Xo
        return U, g.astype(np.int32) if n_rows < 2**31 else g
    label = pd.factorize(alike)[0]
    # codes run in order of first appearance: a row is a first when its code exceeds every earlier one
    first = np.flatnonzero(np.r_[True, label[1:] > np.maximum.accumulate(label)[:-1]]) if len(label) else label
    firsts = rows(first)
    codes, n_rows = row_codes(len(first), firsts.T)
    U = np.empty((n_rows, X.shape[1]))
    U[codes] = firsts
    g = codes[label]
    return U, g.astype(np.int32) if n_rows < 2**31 else g


def risk_sets(time: np.ndarray, event: np.ndarray, X: np.ndarray | SpreadRows, ties: str, alike: np.ndarray | None = None) -> RiskSets:
    order = stable_time_order(time)
    t = time[order]
    alike = None if alike is None else np.asarray(alike)[order]
    failed = np.flatnonzero(event[order] == 1)
    uniq, tie, m = np.unique(t[failed], return_inverse=True, return_counts=True)
    starts = np.cumsum(m) - m
    frac = (np.arange(len(failed)) - starts[tie]) / m[tie] if ties == "efron" else np.zeros(len(failed))
    at_time = np.flatnonzero(np.r_[True, t[1:] != t[:-1]]) if len(t) else np.zeros(0, np.int64)  # t is sorted
    times = t[at_time]
    U, g = distinct_rows(X, alike, order)
    index = np.int32 if len(t) < 2**31 else np.int64  # scipy's sparse index type: no conversion per call
    return RiskSets(order, uniq, m, U, g, failed, X.take(order[failed], axis=0).sum(axis=0), tie, frac, at_time.astype(index),
                    np.searchsorted(times, uniq), starts.astype(index), len(uniq), np.searchsorted(uniq, t, side="right"))


@dataclass
class TiedSums:
    """The risk-set sums at ``beta`` (module docstring): per sorted row x_j b (shifted) and w_j; per event its Efron
    denominator c_l; per event time u the sums S1_R(u) and S1_D(u), and, over its events, the sums of 1/c and
    (l/m)/c (their squares are summed in :meth:`a_cross`). Each a_l = (S1_R - (l/m) S1_D) / c_l is a combination of two rows per event time, so sums over
    events of a_l and of a_l a_l' are taken per event time, never as an events x covariates matrix."""

    eta: np.ndarray
    w: np.ndarray
    c: np.ndarray
    s1_r: np.ndarray  # event times x p
    s1_d: np.ndarray  # event times x p
    inv_c: np.ndarray  # per event time: sum over its events of 1/c
    frac_c: np.ndarray  # ... of (l/m)/c

    def a_sum(self) -> np.ndarray:
        """Per event time, the sum of a_l over its events (k x p)."""
        return self.s1_r * self.inv_c[:, None] - self.s1_d * self.frac_c[:, None]

    def a_cross(self, tie: np.ndarray, frac: np.ndarray) -> np.ndarray:
        """sum over events of a_l a_l' (p x p)."""
        k = len(self.inv_c)
        cc = 1 / self.c**2
        r, d = self.s1_r, self.s1_d
        by = lambda weights: np.bincount(tie, weights=weights, minlength=k)[:, None]  # noqa: E731
        rd = r.T @ (d * by(frac * cc))
        return r.T @ (r * by(cc)) - rd - rd.T + d.T @ (d * by(frac**2 * cc))


def tied_sums(rs: RiskSets, beta: np.ndarray) -> TiedSums:
    """The sums of :class:`TiedSums` at ``beta``."""
    U, g, f, tie, frac, k = rs.rows, rs.row_of, rs.failed, rs.tie, rs.frac, rs.n_times
    eta_rows = U @ beta
    eta_rows = eta_rows - eta_rows.max()  # as statsmodels (every row of U is some row's): the shift cancels
    eta = eta_rows[g]
    w = np.exp(eta_rows)[g]
    # risk-set sums: per distinct time, then summed from the last time back
    s0_r = np.cumsum(np.add.reduceat(w, rs.at_time)[::-1])[::-1][rs.first]
    s1_r = np.cumsum(rs.per_group(w, g, rs.at_time)[::-1], axis=0)[::-1][rs.first]
    s0_d = np.bincount(tie, weights=w[f], minlength=k)
    s1_d = rs.per_group(w[f], g[f], rs.starts)
    c = s0_r[tie] - frac * s0_d[tie]  # one per event
    return TiedSums(eta, w, c, s1_r, s1_d, np.bincount(tie, weights=1 / c, minlength=k),
                    np.bincount(tie, weights=frac / c, minlength=k))


def efron_terms(rs: RiskSets, beta: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
    """(log-likelihood, score, Hessian) at ``beta`` (module docstring)."""
    U, g, f, tie, frac = rs.rows, rs.row_of, rs.failed, rs.tie, rs.frac
    t = tied_sums(rs, beta)
    loglik = float(t.eta[f].sum() - np.log(t.c).sum())
    score = rs.failed_sum - t.a_sum().sum(axis=0)
    at_risk = np.concatenate([[0.0], np.cumsum(t.inv_c)])[rs.reach]  # sum of 1/c over the risk sets a row is in
    weight = t.w * at_risk
    weight[f] -= t.w[f] * t.frac_c[tie]  # the events' tied part
    per_row = np.bincount(g, weights=weight, minlength=len(U))
    neg_hess = (U * per_row[:, None]).T @ U - t.a_cross(tie, frac)
    return loglik, score, -neg_hess


@dataclass
class PartialLikelihoodFit:
    params: np.ndarray
    cov: np.ndarray  # model-based: inverse of minus the Hessian at the estimate
    loglik: float
    score: np.ndarray  # at the estimate
    iterations: int
    risk_sets: RiskSets  # of the rows fitted: the Schoenfeld residuals and score residuals reuse them


def fit_partial_likelihood(time, event, X, ties: str = "efron", maxiter: int = 50, alike=None) -> PartialLikelihoodFit:
    """Newton-Raphson maximum of the Cox partial likelihood (module docstring); ``alike`` as in
    :func:`distinct_rows`."""
    time = np.asarray(time, dtype=float)
    event = np.asarray(event, dtype=float)
    X = X if isinstance(X, SpreadRows) else np.asarray(X, dtype=float)
    rs = risk_sets(time, event, X, ties, alike)
    beta = np.zeros(X.shape[1])
    loglik, score, hess = efron_terms(rs, beta)
    iterations = 0
    step = np.full_like(beta, np.inf)
    while iterations < maxiter and np.any(np.abs(step) > TOL):
        step = np.linalg.solve(-hess, score)
        new_loglik, new_score, new_hess = efron_terms(rs, beta + step)
        for _ in range(30):  # step halving
            if np.isfinite(new_loglik) and new_loglik >= loglik - 1e-12 * abs(loglik):
                break
            step = step / 2
            new_loglik, new_score, new_hess = efron_terms(rs, beta + step)
        beta, loglik, score, hess = beta + step, new_loglik, new_score, new_hess
        iterations += 1
    return PartialLikelihoodFit(beta, np.linalg.inv(-hess), loglik, score, iterations, rs)
