"""Propensity score: logistic regression of participation on the covariates.

The propensity score is P(treated = 1 | covariates) (Rosenbaum & Rubin 1983,
Biometrika 70:41), estimated by maximum-likelihood logistic regression
(``statsmodels.Logit``, Newton-Raphson) on the design matrix from
:mod:`.design` plus an intercept. Matching uses its logit (the linear
predictor), as recommended by Rosenbaum & Rubin (1985, Am Stat 39:33) and
Austin (2011, Pharm Stat 10:150).

Separation. The maximum-likelihood estimate does not exist under perfect or
quasi-complete separation (Albert & Anderson 1984, Biometrika 71:1); scores are
then 0 or 1 and nobody can be matched honestly. The fit raises
:class:`ComparisonError` when

* a 0/1 design column has an empty cell in its 2x2 table with treatment (e.g.
  a category level, or a missing-value indicator, seen only among participants
  or only among comparison people): quasi-complete separation by that column;
* the linear predictor separates the groups completely (every participant
  scores above every comparison person, or below);
* the fit does not converge, statsmodels reports perfect prediction, or any
  fitted probability is within 1e-9 of 0 or 1 (|logit| > 20.7), which only
  happens when coefficients are drifting to infinity;
* the covariates are collinear (the design matrix with an intercept is not of
  full column rank).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
import statsmodels.api as sm
from statsmodels.tools.sm_exceptions import ConvergenceWarning, PerfectSeparationError, PerfectSeparationWarning

from .errors import ComparisonError

EXTREME_P = 1e-9

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
    model : statsmodels LogitResults
        The fitted model (on standardised columns; see ``params`` for the
        coefficients on the original scale).
    """

    score: np.ndarray
    logit: np.ndarray
    params: pd.Series
    model: object


def _check_empty_cells(X: pd.DataFrame, treated: np.ndarray, binary: list[str]) -> None:
    t = treated.astype(bool)
    for col in binary:
        x = X[col].to_numpy() == 1.0
        cells = {
            "participants with it": int(np.sum(x & t)),
            "participants without it": int(np.sum(~x & t)),
            "comparison people with it": int(np.sum(x & ~t)),
            "comparison people without it": int(np.sum(~x & ~t)),
        }
        empty = [k for k, v in cells.items() if v == 0]
        if empty:
            raise ComparisonError(
                f"quasi-complete separation: design column {col!r} has no {empty[0]} "
                f"(counts: {cells}); the propensity model cannot be estimated. Fix: {_ADVICE}"
            )


def fit_propensity(X: pd.DataFrame, treated: np.ndarray, binary: list[str] | None = None) -> PropensityFit:
    """Fit the logistic propensity model of ``treated`` (0/1) on ``X``.

    Columns are centred and scaled before fitting (which changes neither the
    fitted scores nor the likelihood, only the numerical conditioning);
    ``params`` are reported on the original scale.
    """
    treated = np.asarray(treated, dtype=float)
    _check_empty_cells(X, treated, list(binary or []))
    A = X.to_numpy(dtype=float)
    mu = A.mean(axis=0)
    sd = A.std(axis=0)
    sd[sd == 0] = 1.0
    Z = np.column_stack([np.ones(len(A)), (A - mu) / sd])
    rank = np.linalg.matrix_rank(Z.T @ Z / len(Z))
    if rank < Z.shape[1]:
        raise ComparisonError(
            f"the covariates are collinear (design rank {rank} < {Z.shape[1]} columns incl. intercept): "
            f"{list(X.columns)}; drop the redundant covariate(s)"
        )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            res = sm.Logit(treated, Z).fit(method="newton", maxiter=100, disp=0)
        except (PerfectSeparationError, np.linalg.LinAlgError) as exc:
            raise ComparisonError(f"the propensity model cannot be estimated ({exc}). Fix: {_ADVICE}") from exc
    if any(issubclass(w.category, PerfectSeparationWarning) for w in caught):
        raise ComparisonError(f"perfect separation: the covariates predict participation exactly. Fix: {_ADVICE}")
    lp = Z @ res.params
    t = treated.astype(bool)
    if lp[t].min() > lp[~t].max() or lp[t].max() < lp[~t].min():
        raise ComparisonError(
            "perfect separation: every participant's propensity score lies on one side of every "
            f"comparison person's; there is no overlap to match on. Fix: {_ADVICE}"
        )
    converged = bool(res.mle_retvals.get("converged", True))
    if any(issubclass(w.category, ConvergenceWarning) for w in caught):
        converged = False
    extreme = int(np.sum(np.abs(lp) > np.log((1 - EXTREME_P) / EXTREME_P)))
    if not converged or extreme:
        raise ComparisonError(
            "quasi-complete separation: the propensity model "
            + ("did not converge" if not converged else f"gives {extreme} people a score of 0 or 1")
            + f", so some covariate pattern predicts participation perfectly. Fix: {_ADVICE}"
        )
    beta = res.params[1:] / sd
    const = res.params[0] - float(np.sum(beta * mu))
    params = pd.Series(np.r_[const, beta], index=["const", *X.columns])
    score = 1.0 / (1.0 + np.exp(-lp))
    return PropensityFit(score=score, logit=lp, params=params, model=res)
