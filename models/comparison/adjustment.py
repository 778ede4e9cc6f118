"""Corrections to the comparison group's mean: bias correction for matching, propensity-model
uncertainty for weighting.

Both act on the comparison mean m0 = sum(w y) / sum(w d) of :mod:`.effects` (d = 1, or the
exposure for a rate) and its influence values psi0, and leave the participants' mean alone.
Each is a function ``adjust(y, d, w, treated, m0, psi0) -> (m0, psi0)``; every difference and
ratio measure of :mod:`.effects` is then computed from the adjusted m0 and psi0.

Bias correction for matching (:func:`bias_correction`)
------------------------------------------------------
Matching leaves some imbalance, and with a scarce pool or a strong predictor of the outcome it
biases the estimate (docs/validation.md). Abadie & Imbens (2011, J Bus Econ Stat 29:1) remove it
by adjusting each matched control's outcome by mu0(X_participant) - mu0(X_control), with mu0 a
regression of the outcome on the covariates among the controls (``Matching::Match(BiasAdjust =
TRUE)``, which fits it on the matched controls with their weights). mu0 is fitted on the matched
controls with their matching weights, in the family of the outcome (:data:`FAMILIES`): logistic
for a binary outcome, Poisson with a log link and log(exposure) offset for a count, linear for a
continuous one (if the GLM does not converge, linear least squares of y on d [1, x]). With
f = d mu0(x) this is

    m0_bc = sum_t w f / sum_t w d  +  sum_c w (y - f) / sum_c w d,

the participants' predicted outcome plus the controls' mean residual: regression adjustment on
the matched sample, which is consistent if either the match or the linear model is right.
Influence values: w (f - a d) / sum_t w d for participants (a the first term), w (r - b d) /
sum_c w d for controls (r = y - f, b the second term), plus beta's own sampling error: m0_bc
moves with beta by D = sum_t w f' / sum_t w d - sum_c w f' / sum_c w d (f' = df/dbeta, the
covariate imbalance left after matching, in the outcome model's scale), and beta - beta_hat
has influence J^-1 w x (y - f) on the controls (J = sum_c w v x x', v the variance function;
canonical links, so the score is x (y - f)). Each control's influence value gains
D' J^-1 x w (y - f): the stacked M-estimation sandwich of regression adjustment on the matched
sample (Stefanski & Boos 2002, Am Stat 56:29). Abadie & Imbens (2011, section 3) leave this
term out as of smaller order (it multiplies an O(n^-1/2) imbalance); it grows with the
imbalance left (about 1% of the SE in the test's coarse pool, 0.2-0.3% in the validation
scenarios: docs/validation.md). When the controls' outcome (or rate) does not vary there is
nothing to model and no correction is made.

Two guards keep mu0 from extrapolating in small matched samples (a Poisson fit on a handful of
controls once gave a comparison mean of 10^20 reoffences): the correction is made only when
there are at least :data:`MIN_CONTROLS_PER_PARAMETER` matched controls per coefficient of mu0
(the usual events-per-variable rule for regression models; Peduzzi et al. 1996, J Clin Epidemiol
49:1373), and for a count each predicted rate f / d is bounded to the range of the controls'
observed y / d, so a participant outside the controls' covariate range is given the nearest
observed rate, not an exponential extrapolation (a logistic prediction is bounded already; a
linear one extrapolates linearly, which is the point of the correction).

Propensity-model uncertainty for ATT weighting (:func:`propensity_correction`)
------------------------------------------------------------------------------
ATT weights are the odds exp(z'alpha) of the *estimated* score. Stacking the logistic score
equations sum z (t - e) = 0 with the comparison mean's sum_c w(alpha) (y - m0 d) = 0 and
linearising (M-estimation; Stefanski & Boos 2002, Am Stat 56:29; Lunceford & Davidian 2004,
Stat Med 23:2937 for the ATE; Reifeis & Hudgens 2022, Am J Epidemiol 191:1092 for the ATT)
gives the influence of m0

    psi0_i + G' I^-1 z_i (t_i - e_i) / W,   G = sum_c w (y - m0 d) z,  I = sum e (1 - e) z z',

with W = sum_c w d. The sum runs over everyone in the propensity model (also participants
outside common support, whose weight is 0 but whose score equation still moves alpha).
Truncated weights (``trim_quantile``) are not a smooth function of alpha; the correction is then
not applied and the weights are treated as known.
"""

from __future__ import annotations

import numpy as np
from scipy.special import expit
from statsmodels.genmod.families import Binomial, Poisson
from statsmodels.genmod.generalized_linear_model import GLM
from statsmodels.tools.sm_exceptions import PerfectSeparationError

from models.silenced import silenced


#: Matched controls needed per coefficient of mu0 before the bias correction is made (see module).
MIN_CONTROLS_PER_PARAMETER = 10

FAMILIES = {"binary": "logistic", "count": "Poisson (log link, log exposure offset)", "continuous": "linear"}


def _fit_mu0(outcome_type, y, X1, w, d, c):
    """The control-outcome model (see module): (f, x, v) with f its fitted outcome for every row,
    x the design it is linear in and v the variance function, so that df/dbeta = v x and the
    score of the fit is w x (y - f). Falls back to linear least squares if a GLM fails."""
    if outcome_type in ("binary", "count"):
        family = Binomial() if outcome_type == "binary" else Poisson()
        offset = None if outcome_type == "binary" else np.log(d[c])
        with silenced():
            try:
                fit = GLM(y[c], X1[c], family=family, offset=offset, var_weights=w[c]).fit()
                beta = np.asarray(fit.params, dtype=float)
                if np.all(np.isfinite(beta)) and fit.converged:
                    eta = X1 @ beta
                    if outcome_type == "binary":
                        f = expit(eta)
                        return f, X1, f * (1 - f)
                    f = d * np.exp(np.clip(eta, -50, 50))
                    return f, X1, f
            except (ValueError, np.linalg.LinAlgError, PerfectSeparationError):
                pass
    A = d[:, None] * X1
    sw = np.sqrt(w[c])
    beta = np.linalg.lstsq(A[c] * sw[:, None], y[c] * sw, rcond=None)[0]
    return A @ beta, A, np.ones(len(y))


def _model_term(x, v, w, y, f, tb, c, moves, wt, wc):
    """Each row's influence on m0_bc through the fitted beta (see module): D' J^-1 x w (y - f) on
    the controls, 0 elsewhere. ``moves``: rows whose f moves with beta (not held at a bound)."""
    g = (v * moves)[:, None] * x
    D = (w[tb] @ g[tb]) / wt - (w[c] @ g[c]) / wc
    J = x[c].T @ (x[c] * (w[c] * v[c])[:, None])
    h = np.linalg.lstsq(J, D, rcond=None)[0]
    return np.where(c, w * (y - f) * (x @ h), 0.0)


def bias_correction(X: np.ndarray, outcome_type: str = "continuous"):
    """The Abadie-Imbens bias correction for the rows whose covariates are ``X`` (see module)."""
    X1 = np.column_stack([np.ones(len(X)), np.asarray(X, dtype=float)])

    def adjust(y, d, w, treated, m0, psi0):
        tb = np.asarray(treated, dtype=bool)
        c = ~tb & (w > 0)
        rate = y[c] / d[c]
        if np.ptp(rate) == 0:  # no variation among the controls: nothing to model, nothing to correct
            return m0, psi0
        if c.sum() < MIN_CONTROLS_PER_PARAMETER * X1.shape[1]:  # too few controls to model: no correction
            return m0, psi0
        fit, x, v = _fit_mu0(outcome_type, y, X1, w, d, c)
        f = fit
        if outcome_type == "count":  # a log-linear fit extrapolates exponentially: keep to the observed rates
            f = d * np.clip(fit / d, rate.min(), rate.max())
        wt, wc = float(np.sum(w[tb] * d[tb])), float(np.sum(w[c] * d[c]))
        a = float(np.sum(w[tb] * f[tb]) / wt)
        r = y - f
        b = float(np.sum(w[c] * r[c]) / wc)
        psi = np.where(tb, w * (f - a * d) / wt, np.where(c, w * (r - b * d) / wc, 0.0))
        psi = psi + _model_term(x, v, w, y, fit, tb, c, f == fit, wt, wc)
        return a + b, psi

    return adjust


def propensity_correction(Z: np.ndarray, score: np.ndarray, treated: np.ndarray):
    """The M-estimation term for the estimated ATT weights (see module). Rows: everyone in the
    propensity model, ``Z`` their design with an intercept column, ``score`` their fitted e."""
    Z = np.asarray(Z, dtype=float)
    e = np.asarray(score, dtype=float)
    t = np.asarray(treated, dtype=float)
    info = Z.T @ (Z * (e * (1 - e))[:, None])
    u = Z * (t - e)[:, None]  # per-row logistic score

    def adjust(y, d, w, treated_, m0, psi0):
        c = ~np.asarray(treated_, dtype=bool)
        W = float(np.sum(w[c] * d[c]))
        G = (w * (y - m0 * d) * c) @ Z
        h = np.linalg.solve(info, G)
        return m0, psi0 + (u @ h) / W

    return adjust
