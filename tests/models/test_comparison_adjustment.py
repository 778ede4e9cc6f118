"""Bias correction for matching and the propensity-model term of the IPW variance."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from scipy.special import expit
from statsmodels.discrete.discrete_model import Logit

from models.comparison import ComparisonError, estimate, estimate_effect, match

from .test_comparison_engine import COVS, cohort


def test_bias_correction_removes_imbalance_when_the_outcome_is_linear():
    # controls: y = 1 + 2x exactly; participants: the same plus 3. Matching with a wide caliper on a
    # coarse pool leaves x imbalanced, so the raw matched difference is off; the corrected one is 3.
    rng = np.random.default_rng(0)
    x = np.r_[rng.normal(1.0, 1, 60), rng.normal(0.0, 1, 80)]
    t = np.r_[np.ones(60), np.zeros(80)].astype(int)
    d = pd.DataFrame({"t": t, "x": x, "y": 1 + 2 * x + 3 * t})
    raw = estimate_effect(d, "t", "y", ["x"], "continuous", caliper=None, bias_correction=False)
    fixed = estimate_effect(d, "t", "y", ["x"], "continuous", caliper=None)
    assert abs(raw.estimate - 3) > 0.05
    assert fixed.estimate == pytest.approx(3.0, abs=1e-9)
    assert fixed.settings["bias_correction"] is True and raw.settings["bias_correction"] is False
    assert fixed.treated_value == raw.treated_value
    assert fixed.estimate == pytest.approx(fixed.treated_value - fixed.comparison_value)


def test_bias_correction_for_counts_is_log_linear():
    # a count whose control mean is exactly exp(0.2 + 0.5 x): the Poisson correction recovers the rate ratio
    rng = np.random.default_rng(1)
    n = 4000
    x = rng.normal(0, 1, n)
    t = (rng.random(n) < expit(-1.5 + 1.2 * x)).astype(int)
    y = rng.poisson(np.exp(0.2 + 0.5 * x) * np.where(t == 1, 0.75, 1.0))
    d = pd.DataFrame({"t": t, "x": x, "y": y})
    r = estimate_effect(d, "t", "y", ["x"], "count")
    lo, hi = r.effects.loc["rate_ratio", ["ci_low", "ci_high"]]
    assert lo < 0.75 < hi


def test_bias_correction_is_refused_where_it_does_not_apply():
    d = cohort(n=600, seed=1)
    with pytest.raises(ComparisonError, match="bias_correction"):
        estimate_effect(d, "took_part", "score", COVS, "continuous", method="ipw", bias_correction=True)
    with pytest.raises(ComparisonError, match="bias_correction"):
        estimate_effect(d, "took_part", "days", COVS, "time_to_event", event="event", bias_correction=True)


def _stacked_sandwich_se(d: pd.DataFrame, m) -> float:
    """SE of m1 - m0 under ATT weighting from the stacked estimating equations, Jacobian by finite
    differences: an independent check of the engine's propensity-corrected influence values."""
    X = np.column_stack([np.ones(len(m.treated)), m.design_matrix()])
    t = m.treated.astype(float)
    y = d["score"].to_numpy()[m.rows]
    p = X.shape[1]

    def psi(theta):
        a, m1, m0 = theta[:p], theta[p], theta[p + 1]
        e = expit(X @ a)
        w = e / (1 - e)
        return np.column_stack([X * (t - e)[:, None], t * (y - m1), (1 - t) * w * (y - m0)])

    a_hat = np.asarray(Logit(t, X).fit(disp=0, method="newton").params)
    e = expit(X @ a_hat)
    w = e / (1 - e)
    m1 = np.sum(t * y) / t.sum()
    m0 = np.sum((1 - t) * w * y) / np.sum((1 - t) * w)
    theta = np.r_[a_hat, m1, m0]
    n = len(t)
    J = np.empty((p + 2, p + 2))
    for j in range(p + 2):
        h = 1e-6 * max(1.0, abs(theta[j]))
        up, dn = theta.copy(), theta.copy()
        up[j] += h
        dn[j] -= h
        J[:, j] = (psi(up).sum(0) - psi(dn).sum(0)) / (2 * h)
    S = psi(theta)
    Jinv = np.linalg.inv(J)
    V = Jinv @ (S.T @ S) @ Jinv.T * n / (n - 1)
    g = np.zeros(p + 2)
    g[p], g[p + 1] = 1, -1
    return float(np.sqrt(g @ V @ g))


def test_ipw_variance_accounts_for_the_estimated_propensity_model():
    d = cohort(n=1500, seed=6)
    m = match(d, "took_part", COVS, method="ipw", outcomes=["score"], common_support=False)
    res = estimate(m, "score", "continuous")
    assert res.settings["propensity_corrected_se"] is True
    assert res.se == pytest.approx(_stacked_sandwich_se(d, m), rel=1e-4)
    # and it differs from the weights-as-known SE (what truncated weights still get)
    known = estimate_effect(d, "took_part", "score", COVS, "continuous", method="ipw", common_support=False,
                            trim_quantile=1.0)
    assert known.settings["propensity_corrected_se"] is False
    assert known.estimate == pytest.approx(res.estimate)
    assert known.se != pytest.approx(res.se, rel=1e-3)
    # clustered on the person (no person in both groups), everyone in the propensity model: the Welch-Satterthwaite df
    # of the participants' and the comparison people's parts, between min(G1, G0) - 1 and G - 2
    g1 = int(m.treated.sum())
    assert min(g1, len(m.treated) - g1) - 1 <= res.df <= len(m.treated) - 2
    assert res.ci_high == pytest.approx(res.estimate + stats.t.ppf(0.975, res.df) * res.se)


def test_bias_correction_is_not_made_on_too_few_controls_and_count_rates_stay_in_the_observed_range():
    # 6 participants, 8 controls, 2 covariates: fewer than 10 controls per coefficient of mu0, so the
    # comparison mean is the plain matched mean (a Poisson fit here once gave 10^20 reoffences).
    d = pd.DataFrame({"t": [1] * 6 + [0] * 8,
                      "x": [3.0, 1.2, 2.9, 0.1, 2.8, 0.3, 0.1, 3.3, 2.7, 0.2, 1.4, 0.5, 2.6, 0.0],
                      "z": [1, 0, 1, 0, 1, 0, 0, 1, 0, 1, 0, 1, 0, 1],
                      "y": [0, 1, 0, 0, 1, 0, 0, 0, 3, 0, 0, 0, 2, 0]})
    raw = estimate_effect(d, "t", "y", ["x", "z"], "count", caliper=None, replace=True, bias_correction=False)
    fixed = estimate_effect(d, "t", "y", ["x", "z"], "count", caliper=None, replace=True)
    assert fixed.comparison_value == raw.comparison_value  # exactly: no correction was made
    assert 0 <= fixed.comparison_value <= 3


def _stacked_regression_adjustment_se(y, x, t, pair) -> float:
    """SE of m1 - m0_bc for 1:1 pairs from the stacked estimating equations (linear mu0 fitted on
    the controls, m1, the participants' predicted mean a, the controls' mean residual b),
    clustered on the pair, Jacobian by finite differences: an independent check of the engine."""
    X1 = np.column_stack([np.ones(len(y)), x])
    p = X1.shape[1]

    def psi(theta):
        beta, m1, a, b = theta[:p], theta[p], theta[p + 1], theta[p + 2]
        f = X1 @ beta
        return np.column_stack([X1 * ((1 - t) * (y - f))[:, None], t * (y - m1), t * (f - a), (1 - t) * (y - f - b)])

    c = t == 0
    beta = np.linalg.lstsq(X1[c], y[c], rcond=None)[0]
    f = X1 @ beta
    theta = np.r_[beta, y[t == 1].mean(), f[t == 1].mean(), (y - f)[c].mean()]
    J = np.empty((p + 3, p + 3))
    for j in range(p + 3):
        up, dn = theta.copy(), theta.copy()
        up[j] += 1e-6
        dn[j] -= 1e-6
        J[:, j] = (psi(up).sum(0) - psi(dn).sum(0)) / 2e-6
    _, codes = np.unique(pair, return_inverse=True)
    S = np.vstack([np.bincount(codes, weights=col) for col in psi(theta).T]).T
    g = len(S)
    Jinv = np.linalg.inv(J)
    V = Jinv @ (S.T @ S) @ Jinv.T * g / (g - 1)
    grad = np.zeros(p + 3)
    grad[p], grad[p + 1], grad[p + 2] = 1, -1, -1
    return float(np.sqrt(grad @ V @ grad))


def test_bias_corrected_variance_includes_the_outcome_models_sampling_error():
    # a scarce pool leaves x imbalanced, so the fitted slope's own error matters: the engine's SE must
    # equal the stacked sandwich of regression adjustment on the matched pairs, and exceed the SE that
    # treats the fitted slope as known
    rng = np.random.default_rng(3)
    x = np.r_[rng.normal(0.8, 1, 150), rng.normal(0.0, 1, 250)]
    t = np.r_[np.ones(150), np.zeros(250)].astype(int)
    d = pd.DataFrame({"t": t, "x": x, "y": 2 + 1.5 * x + rng.normal(0, 2, len(x))})
    res = estimate_effect(d, "t", "y", ["x"], "continuous", caliper=None)
    md = res.matched_data
    y, xs, tt = (md[c].to_numpy(dtype=float) for c in ("y", "x", "_treated"))
    assert res.settings["bias_correction"] is True
    assert res.se == pytest.approx(_stacked_regression_adjustment_se(y, xs, tt, md["_pair"].to_numpy()), rel=1e-4)
    # without the model term: the participants' and controls' residual spread only
    f = np.column_stack([np.ones(len(y)), xs]) @ np.linalg.lstsq(
        np.column_stack([np.ones(len(y)), xs])[tt == 0], y[tt == 0], rcond=None)[0]
    n1 = int(tt.sum())
    psi = np.where(tt == 1, (y - f) - (y - f)[tt == 1].mean(), -((y - f) - (y - f)[tt == 0].mean())) / n1
    _, codes = np.unique(md["_pair"].to_numpy(), return_inverse=True)
    s = np.bincount(codes, weights=psi)
    assert res.se > np.sqrt(len(s) / (len(s) - 1) * np.sum(s**2)) * 1.01
