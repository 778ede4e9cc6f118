"""Clone–censor–weight (models/clone_censor_weight.py) on fixtures checked by hand.

Fixture FIVE (grace G = 1, horizon H = 2, no covariates, unstabilised weights), days after
time zero; a start on day k comes before an event on day k:

    unit  start  event
    A     0      -
    B     1      2
    C     -      2
    D     -      -
    E     -      0

Daily start hazards: day 0, A of A-E starts (1/5); day 1, B of B, C, D (E had its event) (1/3).
K(0) = 4/5, K(1) = 4/5 * 2/3 = 8/15.
No-start arm: day 0 B, C, D, E at risk (A censored), E readmitted: 1/4; day 1 C, D (B censored),
none; day 2 C, D, C readmitted: 1/2. Risk 1 - 3/4 * 1/2 = 0.625.
Start arm: day 0 all five, E: 1/5; day 1 A-D, none; day 2 only the starters A, B (C, D
censored at the end of the grace period), B: 1/2. Risk 1 - 4/5 * 1/2 = 0.6.
Weights: no-start clone on day 2 1/K(1) = 15/8; start clone on day 2 1/(1 - K(1)) = 15/7.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from models.clone_censor_weight import _at_risk, _design, _weights, clone_censor_weight

NAN = np.nan
FIVE = pd.DataFrame({"unit": list("ABCDE"), "start": [0, 1, NAN, NAN, NAN], "event": [NAN, 2, 2, NAN, 0],
                     "person_id": [1, 2, 3, 4, 5]})


def run(frame, **kw):
    args = dict(start="start", event="event", cluster="person_id", covariates=[], grace=1, horizon=2,
                stabilise=False, bootstrap=0)
    return clone_censor_weight(frame, **{**args, **kw})


def test_hand_checked_risks_of_both_arms():
    res = run(FIVE)
    assert res.risk_no_start == pytest.approx(0.625)
    assert res.risk_start == pytest.approx(0.6)
    assert res.risk_difference == pytest.approx(-0.025)
    assert res.n_units == 5 and res.n_started == 2


def test_hand_checked_weights():
    d = _design(FIVE, "start", "event", None, "person_id", [], 1, 2)
    at_risk = _at_risk(d)
    w0, w1, _ = _weights(d, np.ones(5), stabilise=False, truncate=None, beta=None, at_risk=at_risk)
    assert w0[2].tolist() == pytest.approx([5 / 4, 15 / 8, 15 / 8], rel=1e-3)  # C: days 0, 1, 2
    assert w1[0].tolist() == pytest.approx([1, 1, 15 / 7], rel=1e-3)  # A: weight 1 in the grace period
    assert w0[0].tolist() == [0, 0, 0]  # A started on day 0: never a no-start clone at risk
    # stabilised by the same model on day alone (here identical): every weight of a clone at risk is 1
    s0, s1, _ = _weights(d, np.ones(5), stabilise=True, truncate=None, beta=None, at_risk=at_risk)
    assert np.allclose(s0[at_risk[0]], 1, atol=1e-3) and np.allclose(s1[at_risk[1]], 1, atol=1e-3)


def test_a_start_independent_of_everything_gives_equal_arms():
    # each readmission pattern (none, day 2, day 0, day 5) once with a start on day 0 and once without
    frame = pd.DataFrame({"start": [0] * 4 + [NAN] * 4, "event": [NAN, 2, 0, 5] * 2, "person_id": range(8)})
    res = run(frame, horizon=5, bootstrap=20)
    assert res.risk_start == pytest.approx(1 - 3 / 4 * 2 / 3 * 1 / 2)
    assert res.risk_no_start == pytest.approx(res.risk_start)
    assert res.risk_difference == pytest.approx(0) and res.n_started == 4


def test_nobody_starting_is_refused():
    with pytest.raises(ValueError, match="nobody started within the grace period"):
        run(FIVE.assign(start=NAN))


def test_blocked_unit_is_censored_from_its_blocked_day_and_blocked_on_day_0_is_not_eligible():
    frame = FIVE.assign(blocked=[NAN, NAN, 1, NAN, 0])  # C exposed by another route from day 1; E from day 0
    res = run(frame, blocked="blocked")
    assert res.n_units == 4
    # no-start arm: day 0 B, C, D (none); day 1 D (B starts, C blocked); day 2 D: risk 0
    assert res.risk_no_start == pytest.approx(0)
    # start arm: day 0 A-D, day 1 A, B, D; day 2 A, B: B readmitted, risk 1/2
    assert res.risk_start == pytest.approx(0.5)


def confounded_null(n=4000, seed=3):
    """Starting and readmission both depend on x; starting has no effect; a readmission stops a planned start."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    plan = np.where(rng.random(n) < 1 / (1 + np.exp(-(x - 0.5))), rng.integers(1, 15, n), NAN)
    risk = 0.15 * np.exp(0.6 * x) / np.exp(0.6 * x).mean()
    event = np.where(rng.random(n) < risk, rng.integers(0, 30, n), NAN)
    start = np.where(np.isnan(event) | (event >= plan), plan, NAN)
    return pd.DataFrame({"start": start, "event": event, "person_id": np.arange(n) // 2, "x": x})


def test_weights_remove_confounding_under_no_effect():
    frame = confounded_null()
    adjusted = run(frame, covariates=["x"], grace=14, horizon=29, stabilise=True)
    crude = run(frame, covariates=[], grace=14, horizon=29, stabilise=True)
    assert crude.risk_difference > 0.04  # starters are the high-risk ones
    assert abs(adjusted.risk_difference) < 0.02


def test_bootstrap_is_deterministic_and_brackets_the_estimate():
    frame = confounded_null(1500)
    a = run(frame, covariates=["x"], grace=14, horizon=29, bootstrap=30, seed=7)
    b = run(frame, covariates=["x"], grace=14, horizon=29, bootstrap=30, seed=7)
    assert (a.rd_ci_low, a.rd_ci_high) == (b.rd_ci_low, b.rd_ci_high)
    assert a.rd_ci_low < a.risk_difference < a.rd_ci_high
    assert a.rr_ci_low < a.risk_ratio < a.rr_ci_high


def test_a_clone_not_at_risk_with_a_degenerate_weight_drops_no_day():
    # One discharge far outside the others (x = -400 SD-scale units): its modelled chance of starting rounds to 0,
    # so 1 / (1 - K(G)) is infinite. It never starts, so its start-arm clone is not at risk after the grace period
    # and must not count. It did (inf x 0 = NaN emptied every day after the grace period: risk 0.151 -> 0.080).
    frame = confounded_null(2000)
    far = pd.DataFrame({"start": [NAN], "event": [NAN], "person_id": [10**6], "x": [-400.0]})
    args = dict(covariates=["x"], grace=14, horizon=29, stabilise=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        alone, with_far = run(frame, **args), run(pd.concat([frame, far], ignore_index=True), **args)
    assert with_far.risk_start == pytest.approx(alone.risk_start, abs=1e-3)
    assert with_far.risk_no_start == pytest.approx(alone.risk_no_start, abs=1e-3)
    assert np.isfinite(with_far.max_weight)


def test_truncation_of_an_arm_with_no_clone_at_risk():
    """A bootstrap draw of A alone (started on day 0): no no-start clone is at risk, so that arm has no
    weight to truncate; its weights stay 0 and the start arm is truncated as usual."""
    d = _design(FIVE, "start", "event", None, "person_id", [], 1, 2)
    only_a = np.array([1.0, 0, 0, 0, 0])
    w0, w1, _ = _weights(d, only_a, stabilise=False, truncate=0.5, beta=None, at_risk=_at_risk(d))
    u0, u1, _ = _weights(d, only_a, stabilise=False, truncate=None, beta=None, at_risk=_at_risk(d))
    assert not w0.any() and not u0.any()
    assert w1[0].tolist() == pytest.approx(np.minimum(u1[0], np.quantile(u1[0], 0.5)).tolist())


def test_bootstrap_interval_does_not_depend_on_row_order():
    """The bootstrap draws persons by their code; the codes are the persons' sorted order, not the order in which
    they first appear, so the same persons (in any row order) get the same draws and the same interval. Before,
    the codes followed the rows: shuffling the rows moved the interval (on 2,658 readmission discharges of the
    synthetic data, 40 replicates, its upper limit from -0.0155 to -0.0193)."""
    frame = confounded_null(800)
    shuffled = frame.sample(frac=1, random_state=3).reset_index(drop=True)
    args = dict(covariates=["x"], grace=14, horizon=29, bootstrap=20, seed=7)
    a, b = run(frame, **args), run(shuffled, **args)
    assert b.risk_difference == pytest.approx(a.risk_difference, abs=1e-12)
    assert (b.rd_ci_low, b.rd_ci_high) == pytest.approx((a.rd_ci_low, a.rd_ci_high), abs=1e-12)
    assert (b.rr_ci_low, b.rr_ci_high) == pytest.approx((a.rr_ci_low, a.rr_ci_high), abs=1e-12)


def test_the_p_value_agrees_with_the_percentile_interval():
    """The p-value comes from the replicates whose percentiles give the interval: 0 outside the 95% interval gives
    p < 0.05, inside it p >= 0.05 (a Wald p-value on the bootstrap SE, as before, could disagree near the edge)."""
    from models.clone_censor_weight import bootstrap_p_value

    replicates = np.arange(-4, 195) / 100.0  # 5 of 199 at or below 0: 2 x (1 + 5) / 200
    assert bootstrap_p_value(replicates) == 2 * 6 / 200
    assert bootstrap_p_value(-replicates) == 2 * 6 / 200 and bootstrap_p_value(np.arange(-99, 100) / 100.0) == 1.0
    assert np.isnan(bootstrap_p_value(np.array([])))
    confounded = confounded_null(1500)
    for covariates in ([], ["x"]):  # crude: starters at higher risk, 0 outside the interval; adjusted: inside it
        res = run(confounded, covariates=covariates, grace=14, horizon=29, bootstrap=40, seed=7)
        outside = not res.rd_ci_low <= 0 <= res.rd_ci_high
        assert (res.rd_p_value < 0.05) == outside
        assert outside == (covariates == [])
