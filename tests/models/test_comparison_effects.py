"""Effect measures, intervals, balance and verdict wording on hand-checkable fixtures."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy import stats

from models.comparison import (
    balance_table,
    cluster_variance,
    compute_effects,
    cox_binary,
    jdl_statement,
    verdict,
    verdict_statement,
    weighted_mean_var,
)

# --------------------------------------------------------------------- effects


def tiny_pairs():
    # 4 matched pairs; treated y = 1,0,0,0 ; controls y = 1,1,0,0
    y = np.array([1, 0, 0, 0, 1, 1, 0, 0], float)
    t = np.array([1, 1, 1, 1, 0, 0, 0, 0], float)
    pair = np.array([0, 1, 2, 3, 0, 1, 2, 3])
    return y, t, np.ones(8), pair


def test_risk_difference_ratio_and_odds_ratio_by_hand():
    y, t, w, pair = tiny_pairs()
    ms, m1, m0 = compute_effects("binary", y, t, w, [pair])
    got = {m.name: m for m in ms}
    assert (m1, m0) == (0.25, 0.5)
    assert [m.name for m in ms] == ["risk_difference", "risk_ratio", "odds_ratio"]
    assert got["risk_difference"].estimate == pytest.approx(-0.25)
    assert got["risk_ratio"].estimate == pytest.approx(0.5)
    assert got["odds_ratio"].estimate == pytest.approx((0.25 / 0.75) / (0.5 / 0.5))
    # pair sums of the influence values: 1/16, -3/16, 1/16, 1/16 -> sum sq 3/64; x G/(G-1) = 4/3 -> 1/16
    assert got["risk_difference"].se == pytest.approx(0.25)
    # 4 pairs: t on G - 1 = 3 degrees of freedom, t(0.975, 3) = 3.182446 (scipy), not the normal's 1.96
    assert got["risk_difference"].df == 3
    t3 = stats.t.ppf(0.975, 3)
    assert t3 == pytest.approx(3.182446, abs=1e-6)
    lo, hi = got["risk_difference"].interval()
    assert (lo, hi) == pytest.approx((-0.25 - t3 * 0.25, -0.25 + t3 * 0.25))
    # z = -1, p = 2 P(T_3 > 1) = 0.3910 (the normal would give 0.3173)
    assert got["risk_difference"].p_value == pytest.approx(2 * stats.t.sf(1.0, 3))
    assert got["risk_difference"].p_value == pytest.approx(0.3910, abs=1e-4)


def test_pairing_matters_for_the_se():
    y, t, w, pair = tiny_pairs()
    paired = compute_effects("binary", y, t, w, [pair])[0][0].se
    unpaired = compute_effects("binary", y, t, w, [np.arange(8)])[0][0].se
    assert paired != pytest.approx(unpaired)


def test_mean_difference_se_equals_statsmodels_cluster_wls():
    rng = np.random.default_rng(2)
    n = 300
    t = (rng.random(n) < 0.4).astype(float)
    y = 2 * t + rng.normal(size=n)
    w = rng.choice([0.5, 1.0, 2.0], n)
    g = rng.integers(0, 60, n)
    m = compute_effects("continuous", y, t, w, [g])[0][0]
    fit = sm.WLS(y, sm.add_constant(t), weights=w).fit(cov_type="cluster", cov_kwds={"groups": g})
    assert m.estimate == pytest.approx(fit.params[1])
    # statsmodels' CR1 also multiplies by (N-1)/(N-K)
    assert m.se == pytest.approx(fit.bse[1] / np.sqrt((n - 1) / (n - 2)))


def test_count_rate_ratio_with_exposure_by_hand():
    y = np.array([2, 0, 1, 3, 1, 4], float)
    t = np.array([1, 1, 1, 0, 0, 0], float)
    e = np.array([1.0, 0.5, 0.5, 1.0, 1.0, 2.0])
    ms, r1, r0 = compute_effects("count", y, t, np.ones(6), [np.arange(6)], exposure=e)
    assert r1 == pytest.approx(3 / 2.0) and r0 == pytest.approx(8 / 4.0)
    assert ms[0].name == "rate_difference" and ms[0].estimate == pytest.approx(-0.5)
    assert ms[1].name == "rate_ratio" and ms[1].estimate == pytest.approx(0.75)
    ms2, m1, m0 = compute_effects("count", y, t, np.ones(6), [np.arange(6)])
    assert ms2[0].name == "mean_difference" and ms2[0].estimate == pytest.approx(1.0 - 8 / 3)


def test_rate_ratio_se_matches_poisson_glm_robust():
    rng = np.random.default_rng(4)
    n = 400
    t = (rng.random(n) < 0.5).astype(float)
    e = rng.uniform(0.5, 2, n)
    y = rng.poisson(e * np.exp(0.3 - 0.4 * t))
    ms, _, _ = compute_effects("count", y, t, np.ones(n), [np.arange(n)], exposure=e)
    fit = sm.GLM(y, sm.add_constant(t), family=sm.families.Poisson(), offset=np.log(e)).fit(cov_type="HC0")
    assert np.log(ms[1].estimate) == pytest.approx(fit.params[1])
    assert ms[1].se == pytest.approx(fit.bse[1] * np.sqrt(n / (n - 1)))


def test_odds_ratio_undefined_without_events():
    y = np.array([0, 0, 0, 1, 0, 0], float)
    t = np.array([1, 1, 1, 0, 0, 0], float)
    ms, m1, _ = compute_effects("binary", y, t, np.ones(6), [np.arange(6)])
    assert m1 == 0
    assert np.isnan(ms[1].estimate) and np.isnan(ms[2].estimate)


def test_two_way_cluster_variance_by_hand():
    psi = np.array([1.0, 2.0, -1.0, 0.5])
    a = np.array([0, 0, 1, 1])
    b = np.array([0, 1, 1, 2])
    v_a = 2 / 1 * ((3.0) ** 2 + (-0.5) ** 2)
    v_b = 3 / 2 * (1.0**2 + 1.0**2 + 0.5**2)
    v_ab = 4 / 3 * np.sum(psi**2)
    assert cluster_variance(psi, [a, b]) == pytest.approx(v_a + v_b - v_ab)
    assert cluster_variance(psi, [a]) == pytest.approx(v_a)


def test_cox_equals_statsmodels_phreg_with_groups():
    from statsmodels.duration.hazard_regression import PHReg

    rng = np.random.default_rng(3)
    n = 300
    x = (rng.random(n) < 0.4).astype(float)
    T = rng.exponential(1 / np.exp(-0.5 * x))
    C = rng.uniform(0, 2, n)
    time_ = np.round(np.minimum(T, C), 2) + 0.01  # ties on purpose (Breslow)
    ev = (T <= C).astype(float)
    g = np.arange(n) // 2
    beta, se, resid = cox_binary(time_, ev, x, np.ones(n), [g])
    r = PHReg(time_, x[:, None], status=ev, ties="breslow").fit(groups=g)
    G = n // 2
    assert beta == pytest.approx(r.params[0], abs=1e-8)
    assert se == pytest.approx(r.bse[0] * np.sqrt(G / (G - 1)), rel=1e-6)
    assert resid.sum() == pytest.approx(0, abs=1e-8)  # score is zero at the MLE


def test_cox_reaches_the_maximum_on_many_tied_rows():
    """20,000 rows on 400 distinct days: the fit is statsmodels' to 1e-12. Summed row by row, the log-likelihood's
    rounding (about 1e-10 here) once passed for a worse step near the maximum, and the fit stopped 1.2e-9 short."""
    from statsmodels.duration.hazard_regression import PHReg

    rng = np.random.default_rng(6)
    n = 20000
    x = (rng.random(n) < 0.3).astype(float)
    T = rng.exponential(1 / np.exp(-0.3 * x)) * 300
    C = rng.uniform(0, 400, n)
    time_, ev = np.ceil(np.minimum(T, C)), (T <= C).astype(float)
    beta, _, resid = cox_binary(time_, ev, x, np.ones(n))
    assert beta == pytest.approx(PHReg(time_, x[:, None], status=ev, ties="breslow").fit().params[0], abs=1e-12)
    assert resid.sum() == pytest.approx(0, abs=1e-9)


def test_weighted_cox_equals_lifelines():
    from lifelines import CoxPHFitter

    rng = np.random.default_rng(3)
    n = 300
    x = (rng.random(n) < 0.4).astype(float)
    T = rng.exponential(1 / np.exp(-0.5 * x))
    C = rng.uniform(0, 2, n)
    time_, ev = np.minimum(T, C), (T <= C).astype(float)
    w = rng.choice([0.5, 1.0, 2.0], n)
    beta, se, _ = cox_binary(time_, ev, x, w, [np.arange(n)])
    cph = CoxPHFitter().fit(pd.DataFrame(dict(t=time_, e=ev, x=x, w=w)), "t", "e", weights_col="w", robust=True)
    assert beta == pytest.approx(cph.params_["x"], abs=1e-5)
    assert se * np.sqrt((n - 1) / n) == pytest.approx(cph.standard_errors_["x"], rel=1e-4)


def test_cox_without_events_in_a_group_is_nan():
    beta, se, _ = cox_binary([1, 2, 3, 4], [0, 0, 1, 1], [1, 1, 0, 0], np.ones(4))
    assert np.isnan(beta) and np.isnan(se)


# --------------------------------------------------------------------- balance


def test_smd_and_variance_ratio_by_hand():
    # treated 1,2,3 (mean 2, var 1); controls 2,4,6,8 (mean 5, var 20/3)
    X = pd.DataFrame({"x": [1.0, 2, 3, 2, 4, 6, 8]})
    t = np.array([1, 1, 1, 0, 0, 0, 0], bool)
    # after: treated kept; controls 2 and 4 with weights 1 and 1
    Xa = X.iloc[[0, 1, 2, 3, 4]]
    tab = balance_table(X, t, Xa, t[[0, 1, 2, 3, 4]], np.ones(5)).set_index("covariate")
    sd = np.sqrt((1 + 20 / 3) / 2)
    assert tab.loc["x", "smd_before"] == pytest.approx(-3 / sd)
    assert tab.loc["x", "vr_before"] == pytest.approx(1 / (20 / 3))
    assert tab.loc["x", "smd_after"] == pytest.approx((2 - 3) / sd)  # same (before) denominator
    assert tab.loc["x", "vr_after"] == pytest.approx(1 / 2)
    assert bool(tab.loc["x", "flag"]) is True


def test_weighted_balance_by_hand():
    X = pd.DataFrame({"x": [0.0, 1.0, 0.0, 1.0, 1.0]})
    t = np.array([1, 1, 0, 0, 0], bool)
    w = np.array([1, 1, 1, 0.5, 0.5])
    tab = balance_table(X, t, X, t, w, binary=["x"]).set_index("covariate")
    # weighted control mean (0*1 + 1*0.5 + 1*0.5) / 2 = 0.5 = treated mean
    assert tab.loc["x", "smd_after"] == pytest.approx(0.0)
    assert not tab.loc["x", "flag"]
    m, v = weighted_mean_var([0.0, 1.0, 1.0], [1, 0.5, 0.5])
    assert m == pytest.approx(0.5)
    assert v == pytest.approx((1 * 0.25 + 0.5 * 0.25 + 0.5 * 0.25) / (2 - 1.5 / 2))
    assert weighted_mean_var([1.0, 2.0, 4.0])[1] == pytest.approx(np.var([1, 2, 4], ddof=1))


# --------------------------------------------------------------------- verdict


@pytest.mark.parametrize(
    "lo, hi, null, expected",
    [
        (-0.14, -0.02, 0, "significant reduction"),
        (0.61, 0.93, 1, "significant reduction"),
        (1.05, 1.8, 1, "significant increase"),
        (0.01, 0.2, 0, "significant increase"),
        (-0.1, 0.1, 0, "inconclusive"),
        (0.8, 1.2, 1, "inconclusive"),
        (float("nan"), float("nan"), 0, "inconclusive"),
    ],
)
def test_verdict_wording(lo, hi, null, expected):
    assert verdict(lo, hi, null) == expected


def test_jdl_statements():
    assert (
        jdl_statement("binary", 0.24, 0.31, "were readmitted")
        == "For every 100 people in the comparison group, 31 were readmitted; for every 100 participants, 24 were."
    )
    assert (
        jdl_statement("binary", 0.46, 0.56, "reoffended")
        == "For every 100 people in the comparison group, 56 reoffended; for every 100 participants, 46 reoffended."
    )
    assert (
        jdl_statement("count", 1.6, 2.05, "reoffences")
        == "For every 100 people in the comparison group, there were 205 reoffences; "
        "for every 100 participants, there were 160."
    )
    assert jdl_statement("count", 0.15, 0.2, "readmissions", exposure=True).startswith(
        "For every 100 person-years in the comparison group, there were 20 readmissions"
    )
    assert (
        jdl_statement("continuous", 25.14, 23.5, "SWEMWBS score")
        == "The comparison group's average SWEMWBS score was 23.5; the participants' average was 25.1."
    )
    # per 100, rounded half up
    assert "13 were" in jdl_statement("binary", 0.125, 0.5, "were readmitted")


def test_verdict_statement_in_percentage_points():
    s = verdict_statement("significant reduction", "risk_difference", -0.09, -0.14, -0.02)
    assert s == "Significant reduction: risk difference -9.0 per 100 people (95% CI -14.0 to -2.0)."
    s = verdict_statement("inconclusive", "hazard_ratio", 0.9, 0.7, 1.15)
    assert s == "Inconclusive: hazard ratio 0.90 (95% CI 0.70 to 1.15)."


def _whole_matrix_stats(X, t, w):
    """The balance statistics as computed before the chunked sums: the whole group's rows at once."""
    out = []
    for grp in (t, ~t):
        xs, ws = X[grp], w[grp]
        v1 = ws.sum()
        m = (ws[:, None] * xs).sum(axis=0) / v1
        v2 = (ws**2).sum()
        denom = v1 - v2 / v1
        var = (ws[:, None] * (xs - m) ** 2).sum(axis=0) / denom if denom > 0 else np.full(xs.shape[1], np.nan)
        out.append((m, var))
    return out


@pytest.mark.parametrize("chunk", [3, 64, 1 << 20])
def test_balance_sums_in_chunks_equal_the_whole_matrix_sums_to_the_bit(monkeypatch, chunk):
    from models.comparison import balance

    monkeypatch.setattr(balance, "CHUNK_ROWS", chunk)
    rng = np.random.default_rng(7)
    frame = pd.DataFrame({"age": rng.normal(50, 15, 1001), "imd": rng.integers(1, 11, 1001).astype(float),
                          "flag": (rng.random(1001) < 0.3).astype(float)})
    X = frame.to_numpy(dtype=float)  # column-major, as the design matrix is
    t = rng.random(1001) < 0.2
    w = rng.choice([1.0, 0.5, 1 / 3], 1001)
    for got, want in ((balance._stats(X, t), _whole_matrix_stats(X, t, np.ones(len(X)))),
                      (balance._stats(X, t, w), _whole_matrix_stats(X, t, w))):
        for (m1, v1), (m2, v2) in zip(want, got):
            assert np.array_equal(m1, m2) and np.array_equal(v1, v2)


@pytest.mark.parametrize("chunk", [3, 1 << 20])
def test_balance_after_read_by_row_positions_is_the_balance_of_the_copied_rows(monkeypatch, chunk):
    from models.comparison import balance

    monkeypatch.setattr(balance, "CHUNK_ROWS", chunk)
    rng = np.random.default_rng(11)
    X = pd.DataFrame({"age": rng.normal(50, 15, 400), "imd": rng.integers(1, 11, 400).astype(float),
                      "flag": (rng.random(400) < 0.3).astype(float)})
    t = rng.random(400) < 0.2
    rows = np.sort(rng.integers(0, 400, 250))  # repeats, as a control used by several matched sets
    w = rng.choice([1.0, 0.5, 1 / 3], 250)
    copied = balance.balance_table(X, t, X.iloc[rows], t[rows], w)
    read = balance.balance_table(X, t, X, t[rows], w, after_rows=rows)
    pd.testing.assert_frame_equal(read, copied, check_exact=True)
    assert not read["smd_after"].equals(read["smd_before"])  # the rows after are not the rows before


def test_cluster_codes_equal_numpy_unique_and_are_computed_once():
    from models.comparison.effects import CodedClusters, _codes, cluster_variance, code_clusters

    rng = np.random.default_rng(3)
    dense = rng.permutation(np.repeat(np.arange(40), 3))  # codes 0..39, every one used: their own codes
    gappy = dense * 7 + 2  # integers with gaps: coded by hashing
    big = np.r_[dense, 10**9]  # a label beyond the row count is never treated as a code
    for labels in (dense, gappy, big, dense.astype(str)):
        codes, g = _codes(labels)
        uniq, inv = np.unique(labels, return_inverse=True)
        assert np.array_equal(codes, inv) and g == len(uniq)
    psi = rng.normal(size=len(dense))
    coded = code_clusters([dense, gappy % 11])
    assert all(isinstance(c, CodedClusters) for c in coded)
    assert cluster_variance(psi, coded) == cluster_variance(psi, [dense, gappy % 11])
    # the two-way intersection is coded once per pair and kept: the same codes as coding it afresh
    first = coded[0].cross(coded[1])
    assert coded[0].cross(coded[1])[0] is first[0]
    fresh, g12 = _codes(dense.astype(np.int64) * (coded[1].g + 1) + coded[1].codes)
    assert np.array_equal(first[0], fresh) and first[1] == g12
    other = code_clusters([gappy % 11])[0]  # another clustering with the same labels is crossed on its own
    assert coded[0].cross(other)[0] is not first[0] and np.array_equal(coded[0].cross(other)[0], fresh)


def test_interval_uses_t_on_clusters_minus_one_and_two_way_the_smaller_count():
    """12 matched pairs (a small time bank's well-being comparison): t on 11 df, not the normal; two-way clustering
    takes the smaller number of clusters (Cameron, Gelbach & Miller 2011)."""
    rng = np.random.default_rng(12)
    y = rng.normal(size=24)
    t = np.r_[np.ones(12), np.zeros(12)]
    pair = np.r_[np.arange(12), np.arange(12)]
    m = compute_effects("continuous", y, t, np.ones(24), [pair])[0][0]
    assert m.df == 11
    q = stats.t.ppf(0.975, 11)  # 2.200985
    assert q == pytest.approx(2.200985, abs=1e-6)
    assert m.interval() == pytest.approx((m.estimate - q * m.se, m.estimate + q * m.se))
    assert m.p_value == pytest.approx(2 * stats.t.sf(abs(m.estimate / m.se), 11))
    # z = 3.28 (the referee's "Feeling positive"): p 0.0010 with the normal, 0.0073 on 11 df
    assert 2 * stats.norm.sf(3.28) == pytest.approx(0.0010, abs=1e-4)
    assert 2 * stats.t.sf(3.28, 11) == pytest.approx(0.0073, abs=1e-4)
    # two-way: 12 sets crossed with 5 groups of people -> min(12, 5) - 1 = 4 df
    people = np.arange(24) % 5
    two = compute_effects("continuous", y, t, np.ones(24), [pair, people])[0][0]
    assert two.df == 4
    assert two.interval() == pytest.approx((two.estimate - stats.t.ppf(0.975, 4) * two.se,
                                            two.estimate + stats.t.ppf(0.975, 4) * two.se))


def test_weighting_clusters_in_one_group_each_take_the_welch_satterthwaite_df_by_hand():
    """People as clusters, none in both groups (weighting, the unadjusted comparison): df of V = V1 + V0 by Welch-
    Satterthwaite, not G - 1. Participants y = 1, 2, 6 (n1 = 3), comparison y = 0, 1, 1, 2, 1 (n0 = 5), weights 1.
    psi = (y - m)/n per group: sums of squares 14/9 (m1 = 3) and 2/25 (m0 = 1); c = G/(G-1) = 8/7 multiplies both
    and cancels in df = (V1 + V0)^2 / (V1^2/2 + V0^2/4) = 2.2081."""
    y = np.array([1, 2, 6, 0, 1, 1, 2, 1], float)
    t = np.array([1, 1, 1, 0, 0, 0, 0, 0], float)
    m = compute_effects("continuous", y, t, np.ones(8), [np.arange(8)])[0][0]
    v1, v0 = 14 / 9, 2 / 25
    df = (v1 + v0) ** 2 / (v1**2 / 2 + v0**2 / 4)
    assert df == pytest.approx(2.2081, abs=1e-4)
    assert m.df == pytest.approx(df)
    assert m.se == pytest.approx(np.sqrt(8 / 7 * (v1 + v0)))
    q = stats.t.ppf(0.975, df)
    assert m.interval() == pytest.approx((2 - q * m.se, 2 + q * m.se))
    # matched pairs (every cluster holds both groups) keep G - 1
    pairs = compute_effects("continuous", y[:6], np.r_[1, 1, 1, 0, 0, 0.0], np.ones(6), [np.r_[0, 1, 2, 0, 1, 2]])[0][0]
    assert pairs.df == 2
