"""Propensity score: logistic regression of participation on the covariates.

The propensity score is P(treated = 1 | covariates) (Rosenbaum & Rubin 1983,
Biometrika 70:41), estimated by maximum-likelihood logistic regression
(Newton-Raphson) on the design matrix from :mod:`.design` plus an intercept.
Matching uses its logit (the linear predictor), as recommended by Rosenbaum &
Rubin (1985, Am Stat 39:33) and Austin (2011, Pharm Stat 10:150).

The fit is :func:`newton_logit`: statsmodels' ``Logit(...).fit(method="newton")``
step for step (``statsmodels.base.optimizer._fit_newton``: start at 0, step
-H^-1 g with the log-likelihood's gradient g and Hessian H divided by n and
1e-10 added to H's diagonal, stop when no coefficient moves by more than 1e-8,
at most 100 steps; perfect prediction checked after every step as
``Logit._check_perfect_pred`` does), on the distinct covariate patterns, each
once among the participants and once among the comparison people who hold it,
with those counts as frequency weights (:func:`fit_patterns`). The
log-likelihood is a sum over people, so identical rows add up exactly and the
fit is the same; a risk-set design repeats each unit in every trial it is at
risk for (8.9 million rows and 10,542 distinct patterns for one
readmission comparison at a million persons), and the fit then costs the
patterns only: the design matrix is never built for the rows
(:func:`models.comparison.design.covariate_patterns`). A test holds it to
statsmodels (tests/models/test_comparison_propensity.py).

Separation. The maximum-likelihood estimate does not exist under perfect or
quasi-complete separation (Albert & Anderson 1984, Biometrika 71:1); scores are
then 0 or 1 and nobody can be matched honestly. The fit raises
:class:`ComparisonError` when

* a 0/1 design column has an empty cell in its 2x2 table with treatment (e.g.
  a category level, or a missing-value indicator, seen only among participants
  or only among comparison people): quasi-complete separation by that column;
* the linear predictor separates the groups completely (every participant
  scores above every comparison person, or below);
* the fit does not converge, perfect prediction is detected, or some fitted
  probability is within 1e-9 of 0 or 1 (|logit| > 20.7) unless the fit has
  reached its maximum and every such score is on the side a group can hold
  (comparison people near 0, participants near 1). Under separation the steps
  never settle within the iteration limit; should the Hessian's ridge (1e-10)
  ever stop them (a separated direction's information below it, at logits of
  about 27-41), a few Newton steps without the ridge still move the linear
  predictor by about one unit each (:func:`drifting`). A genuine optimum can
  hold such scores: in a million-person cohort, comparison people with 116
  proven offences at a community sentence have a score of 1e-12 for a
  youth-court programme (the demo's generator at 1M persons: 2,301 of 4.6M
  trial rows), and the steps leave it where it is (moving no logit by more
  than 1e-10). Those fits are kept, and the comparison notes how many people
  are that far out: such comparison people are matched with nobody, and such
  participants fall outside common support. A comparison person near 1 (whose
  weighting odds would be about 1e9) or a participant near 0 is still refused.
* the covariates are collinear (the design matrix with an intercept is not of
  full column rank).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .errors import ComparisonError

EXTREME_P = 1e-9
#: the logit beyond which a score is within :data:`EXTREME_P` of 0 or 1 (20.7)
EXTREME_LOGIT = float(np.log((1 - EXTREME_P) / EXTREME_P))
#: statsmodels' Newton defaults (``_fit_newton``): step tolerance, Hessian ridge; and the engine's iteration limit
NEWTON_TOL, NEWTON_RIDGE, NEWTON_MAXITER = 1e-8, 1e-10, 100

_ADVICE = (
    "merge rare levels, drop the covariate, match exactly on it (exact=[...]), "
    "or restrict the comparison pool to people who could have taken part"
)


@dataclass
class PropensityFit:
    """A fitted propensity model.

    Attributes
    ----------
    score : ndarray
        Fitted propensity scores P(treated | x), one per row.
    logit : ndarray
        log(score / (1 - score)), the linear predictor.
    params : Series
        Coefficients on the original (unstandardised) design columns, with
        ``const`` first.
    iterations : int
        Newton steps taken (the fit is on standardised columns; ``params``
        are on the original scale).
    """

    score: np.ndarray
    logit: np.ndarray
    params: pd.Series
    iterations: int

    def take(self, pattern: np.ndarray) -> "PropensityFit":
        """The fit on patterns (:func:`fit_patterns`) given to the people: row *i* holds pattern ``pattern[i]``."""
        return PropensityFit(score=self.score[pattern], logit=self.logit[pattern], params=self.params,
                             iterations=self.iterations)


def _check_empty_cells(X: pd.DataFrame, n_treated: np.ndarray, n_control: np.ndarray, binary: list[str]) -> None:
    for col in binary:
        x = X[col].to_numpy() == 1.0
        cells = {
            "participants with it": int(n_treated[x].sum()),
            "participants without it": int(n_treated[~x].sum()),
            "comparison people with it": int(n_control[x].sum()),
            "comparison people without it": int(n_control[~x].sum()),
        }
        empty = [k for k, v in cells.items() if v == 0]
        if empty:
            raise ComparisonError(
                f"quasi-complete separation: design column {col!r} has no {empty[0]} "
                f"(counts: {cells}); the propensity model cannot be estimated. Fix: {_ADVICE}"
            )


def row_codes(n: int, columns) -> tuple[np.ndarray, int]:
    """Per row of ``columns`` (arrays of length ``n``), the index of its distinct row (equal values, column by
    column; missing values equal to each other) in order of first appearance, and the number of distinct rows.

    Each column is coded by hashing (``pandas.factorize``) and the codes are combined as the digits of
    one integer, recoded only when the next digit could overflow it, so this is linear in the rows,
    never a sort of the whole matrix."""
    key, levels = np.zeros(n, dtype=np.int64), 1
    for column in columns:
        codes, n_levels = _column_codes(column)
        if levels * n_levels >= 2**62:
            key, combined = pd.factorize(key)
            levels = len(combined)
        key *= n_levels  # in place: key is this function's own array (zeros, or factorize's codes)
        key += codes
        levels *= n_levels
    key, combined = pd.factorize(key)
    return key, len(combined)


def _column_codes(column) -> tuple[np.ndarray, int]:
    """``pandas.factorize(column, use_na_sentinel=False)``'s codes and number of levels; a numeric column of
    at most two values (a 0/1 design column, the treatment) is coded by comparison, not by hashing."""
    column = np.asarray(column)
    if column.dtype.kind in "fiu" and len(column):
        other = column != column[0]
        second = column[np.argmax(other)]
        if not other.any():
            return np.zeros(len(column), dtype=np.intp), 1
        if np.all(other <= (column == second)):  # every value is the first or the second (never NaN)
            return other.astype(np.intp), 2
    codes, uniques = pd.factorize(column, use_na_sentinel=False)
    return codes, len(uniques)


def distinct(n: int, columns) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The distinct rows of ``columns`` (arrays of length ``n``): each row's code (:func:`row_codes`, in order
    of first appearance), the position of each distinct row's first appearance, and how many rows have it."""
    key, levels = row_codes(n, columns)
    # codes run in order of first appearance: a row is a first when its code exceeds every earlier one
    first = np.flatnonzero(np.r_[True, key[1:] > np.maximum.accumulate(key)[:-1]]) if n else np.zeros(0, np.int64)
    return key, first, np.bincount(key, minlength=levels)


def distinct_rows(Z: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The first position of each distinct row of (``Z``, ``y``), in order of appearance, and its count
    (:func:`distinct`)."""
    _, first, count = distinct(len(y), (np.asarray(y, dtype=float), *np.asarray(Z, dtype=float).T))
    return first, count


def newton_logit(Z: np.ndarray, y: np.ndarray, *, maxiter: int = NEWTON_MAXITER) -> tuple[np.ndarray, int, bool, bool]:
    """Maximum-likelihood logistic regression of 0/1 ``y`` on ``Z`` (with its intercept column), as
    statsmodels' ``Logit(y, Z).fit(method="newton", maxiter=maxiter)`` computes it (module docstring),
    on the distinct rows of (``Z``, ``y``) weighted by their counts.

    Returns (coefficients, Newton steps, converged, perfect prediction seen after some step).
    ``numpy.linalg.LinAlgError`` when the Hessian is singular, as statsmodels raises it.
    """
    first, count = distinct_rows(Z, y)
    return _newton(np.asarray(Z, dtype=float)[first], np.asarray(y, dtype=float)[first], count.astype(float), maxiter)


def _newton(Zu: np.ndarray, yu: np.ndarray, w: np.ndarray, maxiter: int = NEWTON_MAXITER) -> tuple[np.ndarray, int, bool, bool]:
    """:func:`newton_logit` on rows ``Zu`` with outcomes ``yu``, each standing for ``w`` people."""
    n = float(w.sum())

    def fitted(b):
        return 1.0 / (1.0 + np.exp(-(Zu @ b)))

    def hessian(p):  # of the negative log-likelihood over n, as statsmodels' hess
        return (Zu.T * (w * p * (1 - p))) @ Zu / n

    beta, old = np.zeros(Zu.shape[1]), np.inf
    steps, separated = 0, False
    p = None  # the fitted values at beta, once computed (the perfect-prediction check's are the next step's)
    with np.errstate(over="ignore", invalid="ignore"):  # a diverging fit is reported, not warned about
        while steps < maxiter and np.any(np.abs(beta - old) > NEWTON_TOL):
            p = fitted(beta) if p is None else p
            H = hessian(p)
            H[np.diag_indices(H.shape[0])] += NEWTON_RIDGE
            old, beta = beta, beta - np.linalg.solve(H, -((w * (yu - p)) @ Zu) / n)
            p = None
            if not separated:
                p = fitted(beta)
                separated = np.allclose(p - yu, 0)
            steps += 1
        np.linalg.inv(hessian(fitted(beta) if p is None else p))  # statsmodels inverts the final Hessian for the covariance
    return beta, steps, steps < maxiter, separated


#: the largest move of any logit over :data:`DRIFT_STEPS` Newton steps without the ridge that a converged fit may make
DRIFT_TOL, DRIFT_STEPS = 1e-6, 3


def drifting(Zu: np.ndarray, yu: np.ndarray, w: np.ndarray, beta: np.ndarray) -> bool:
    """Whether the fit ``beta`` of :func:`_newton` on (``Zu``, ``yu``, ``w``) stopped on its ridge rather than at the
    maximum: :data:`DRIFT_STEPS` Newton steps without the ridge move some row's linear predictor by more than
    :data:`DRIFT_TOL`, or the Hessian without it is singular (module docstring, "Separation")."""
    n, b = float(w.sum()), beta.copy()
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        for _ in range(DRIFT_STEPS):
            lp = Zu @ b
            p, q = 1.0 / (1.0 + np.exp(-lp)), 1.0 / (1.0 + np.exp(lp))  # q = 1 - p, kept exact where p rounds to 1
            try:
                b = b + np.linalg.solve((Zu.T * (w * p * q)) @ Zu / n, ((w * np.where(yu == 1, q, -p)) @ Zu) / n)
            except np.linalg.LinAlgError:
                return True
    moved = np.abs(Zu @ (b - beta))
    return not np.all(np.isfinite(moved)) or bool(moved.max() > DRIFT_TOL)


def fit_propensity(X: pd.DataFrame, treated: np.ndarray, binary: list[str] | None = None) -> PropensityFit:
    """Fit the logistic propensity model of ``treated`` (0/1) on ``X``: :func:`fit_patterns` on the distinct
    rows of ``X``, its scores then given to every row."""
    treated = np.asarray(treated, dtype=float)
    pattern, first, counts = distinct(len(X), list(X.to_numpy(dtype=float).T))
    n_treated = np.bincount(pattern, weights=treated, minlength=len(first))
    return fit_patterns(X.iloc[first], n_treated, counts - n_treated, binary).take(pattern)


def fit_patterns(X: pd.DataFrame, n_treated, n_control, binary: list[str] | None = None) -> PropensityFit:
    """Fit the logistic propensity model on covariate patterns: ``X`` has one row per pattern, held by
    ``n_treated`` participants and ``n_control`` comparison people. The likelihood is a sum over people,
    so this is the fit on the people (each row repeated as often as it is held); scores and logits are
    per pattern (:meth:`PropensityFit.take` gives them to the people).

    Columns are centred and scaled (by the people's means and SDs) before fitting, which changes neither
    the fitted scores nor the likelihood, only the numerical conditioning; ``params`` are reported on
    the original scale.
    """
    n_t, n_c = np.asarray(n_treated, dtype=float), np.asarray(n_control, dtype=float)
    counts = n_t + n_c
    n = float(counts.sum())
    _check_empty_cells(X, n_t, n_c, list(binary or []))
    A = X.to_numpy(dtype=float)
    mu = counts @ A / n
    sd = np.sqrt(counts @ (A - mu) ** 2 / n)
    sd[sd == 0] = 1.0
    Z = np.column_stack([np.ones(len(A)), (A - mu) / sd])
    rank = np.linalg.matrix_rank((Z.T * counts) @ Z / n)
    if rank < Z.shape[1]:
        raise ComparisonError(
            f"the covariates are collinear (design rank {rank} < {Z.shape[1]} columns incl. intercept): "
            f"{list(X.columns)}; drop the redundant covariate(s)"
        )
    held_t, held_c = n_t > 0, n_c > 0
    # one row per pattern and group that holds anyone, weighted by how many
    Zu, yu = np.vstack([Z[held_t], Z[held_c]]), np.r_[np.ones(held_t.sum()), np.zeros(held_c.sum())]
    wu = np.r_[n_t[held_t], n_c[held_c]]
    try:
        beta, iterations, converged, separated = _newton(Zu, yu, wu)
    except np.linalg.LinAlgError as exc:
        raise ComparisonError(f"the propensity model cannot be estimated ({exc}). Fix: {_ADVICE}") from exc
    if separated:
        raise ComparisonError(f"perfect separation: the covariates predict participation exactly. Fix: {_ADVICE}")
    lp = Z @ beta
    if lp[held_t].min() > lp[held_c].max() or lp[held_t].max() < lp[held_c].min():
        raise ComparisonError(
            "perfect separation: every participant's propensity score lies on one side of every "
            f"comparison person's; there is no overlap to match on. Fix: {_ADVICE}"
        )
    extreme = int(counts[np.abs(lp) > EXTREME_LOGIT].sum())
    # a genuine optimum may score comparison people near 0 and participants near 1 (module docstring); the other
    # side (a comparison person near 1, whose IPW odds weight would be about 1e9) stays refused
    expected = int(n_c[lp < -EXTREME_LOGIT].sum() + n_t[lp > EXTREME_LOGIT].sum())
    if extreme and extreme == expected and converged and not drifting(Zu, yu, wu, beta):
        extreme = 0
    if not converged or extreme:
        raise ComparisonError(
            "quasi-complete separation: the propensity model "
            + ("did not converge" if not converged else f"gives {extreme} people a score of 0 or 1")
            + f", so some covariate pattern predicts participation perfectly. Fix: {_ADVICE}"
        )
    slopes = beta[1:] / sd
    const = beta[0] - float(np.sum(slopes * mu))
    params = pd.Series(np.r_[const, slopes], index=["const", *X.columns])
    return PropensityFit(score=1.0 / (1.0 + np.exp(-lp)), logit=lp, params=params, iterations=iterations)
