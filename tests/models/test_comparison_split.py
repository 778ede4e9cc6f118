"""match / estimate split, person clustering, statsmodels-style names, multiplicity."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats
import statsmodels.api as sm
from statsmodels.stats.multitest import multipletests

from models.comparison import (
    ComparisonError,
    MatchedSample,
    benjamini_hochberg,
    estimate,
    estimate_effect,
    holm,
    match,
)

from .test_comparison_engine import COVS, cohort


@pytest.fixture(scope="module")
def df():
    d = cohort(n=800, seed=4)
    return d.assign(person=np.arange(len(d)))


def twice(d: pd.DataFrame) -> pd.DataFrame:
    """Every person twice, with the same values (two identical rows per person id)."""
    return pd.concat([d, d], ignore_index=True)


# ------------------------------------------------------------------------ split


def test_estimate_effect_is_estimate_of_match(df):
    one = estimate_effect(df, "took_part", "score", COVS, "continuous")
    m = match(df, "took_part", COVS, outcomes=["score"])
    assert isinstance(m, MatchedSample)
    two = estimate(m, "score", "continuous")
    assert two.estimate == one.estimate and two.se == one.se
    pd.testing.assert_frame_equal(two.effects, one.effects)
    pd.testing.assert_frame_equal(two.matched_data, one.matched_data)


def test_one_match_several_outcomes(df):
    m = match(df, "took_part", COVS, outcomes=["readmitted", "n_events"])
    rb = estimate(m, "readmitted", "binary")
    rc = estimate(m, "n_events", "count")
    assert rb.measure == "risk_difference" and rc.measure == "mean_difference"
    assert (rb.matched_data["_row"].to_numpy() == rc.matched_data["_row"].to_numpy()).all()
    assert rc.estimate == pytest.approx(
        estimate_effect(df, "took_part", "n_events", COVS, "count").estimate)


def test_missing_outcome_excluded_before_matching_or_refused(df):
    d = df.copy()
    d.loc[d.index[:7], "score"] = np.nan
    m = match(d, "took_part", COVS, outcomes=["score"])
    assert m.n_dropped_missing == 7
    assert np.isfinite(estimate(m, "score", "continuous").estimate)
    bare = match(d, "took_part", COVS)
    with pytest.raises(ComparisonError, match="outcomes="):
        estimate(bare, "score", "continuous")


# -------------------------------------------------------------------- clustering


def test_ipw_cluster_on_person_undoes_duplicated_rows_exactly(df):
    single = estimate_effect(df, "took_part", "score", COVS, "continuous", method="ipw")
    naive = estimate_effect(twice(df), "took_part", "score", COVS, "continuous", method="ipw")
    clustered = estimate_effect(twice(df), "took_part", "score", COVS, "continuous", method="ipw", cluster="person")
    # the same people twice: the same estimate ...
    assert naive.estimate == pytest.approx(single.estimate)
    assert clustered.estimate == pytest.approx(single.estimate)
    # ... a falsely narrow interval when the copies are taken as independent (about 1/sqrt 2) ...
    assert naive.se == pytest.approx(single.se / np.sqrt(2), rel=0.01)
    # ... and exactly the one-copy interval when clustered on the person
    assert clustered.se == pytest.approx(single.se, rel=1e-9)
    assert clustered.ci_high - clustered.ci_low > naive.ci_high - naive.ci_low


def test_matching_clusters_two_way_on_set_and_person_as_statsmodels(df):
    # a second row for 150 people: another discharge with another outcome, same covariates
    rng = np.random.default_rng(9)
    extra = df.sample(150, random_state=3).assign(score=lambda x: x["score"] + rng.normal(0, 3, len(x)))
    d = pd.concat([df, extra], ignore_index=True)
    res = estimate_effect(d, "took_part", "score", COVS, "continuous", replace=True, cluster="person",
                          bias_correction=False)
    md = res.matched_data
    y, t, w = md["score"].to_numpy(), md["_treated"].to_numpy(float), md["_weight"].to_numpy()
    groups = np.column_stack([md["_pair"].to_numpy(), md["person"].to_numpy()])
    fit = sm.WLS(y, sm.add_constant(t), weights=w).fit(cov_type="cluster", cov_kwds={"groups": groups})
    n = len(y)
    assert res.estimate == pytest.approx(fit.params[1])
    # statsmodels' CR1 multiplies each one-way part by (N-1)/(N-K) as well
    assert res.se == pytest.approx(fit.bse[1] / np.sqrt((n - 1) / (n - 2)), rel=1e-9)
    assert res.bse["mean_difference"] == res.se
    unclustered = estimate_effect(d, "took_part", "score", COVS, "continuous", replace=True, bias_correction=False)
    assert unclustered.estimate == res.estimate
    assert res.se > unclustered.se  # the repeated people widen the interval


def test_missing_cluster_id_is_a_counted_exclusion(df):
    d = df.assign(person=df["person"].astype(float))
    d.loc[d.index[:3], "person"] = np.nan
    res = estimate_effect(d, "took_part", "score", COVS, "continuous", cluster="person")
    assert res.n_dropped_missing == 3
    with pytest.raises(ComparisonError, match="not in the data"):
        estimate_effect(df, "took_part", "score", COVS, "continuous", cluster="nobody")


# ------------------------------------------------------------- statsmodels names


def test_params_bse_pvalues_conf_int(df):
    res = estimate_effect(df, "took_part", "readmitted", COVS, "binary")
    assert list(res.params.index) == ["risk_difference", "risk_ratio", "odds_ratio"]
    assert res.params["risk_difference"] == res.estimate
    assert res.bse["risk_difference"] == res.se
    assert res.pvalues["risk_difference"] == res.p_value
    ci = res.conf_int()
    # 1:1 matching without replacement: clustered on the n_matched pairs, so t on n_matched - 1 df
    assert res.df == res.n_matched - 1
    q = stats.t.ppf(0.975, res.n_matched - 1)
    # ratios: the interval is exp(log ratio +/- t(0.975, G - 1) bse)
    lo = np.exp(np.log(res.params["risk_ratio"]) - q * res.bse["risk_ratio"])
    assert ci.loc["risk_ratio", "lower"] == pytest.approx(lo)
    assert ci.loc["risk_difference", "upper"] == pytest.approx(res.estimate + q * res.se)
    assert res.p_value == pytest.approx(2 * stats.t.sf(abs(res.estimate / res.se), res.n_matched - 1))


# ------------------------------------------------------------------ multiplicity


P = np.array([0.01, 0.04, 0.03, 0.005, 0.2, 0.04, 0.9, 0.0001])


def test_holm_and_bh_by_hand():
    # Holm on 0.01, 0.04, 0.03: sorted 0.01 x3, 0.03 x2, 0.04 x1 -> 0.03, 0.06, 0.06 (monotone)
    assert holm([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])
    # BH: 0.01 x3/1, 0.03 x3/2, 0.04 x3/3 -> 0.03, 0.045, 0.04 -> step-up min -> 0.03, 0.04, 0.04
    assert benjamini_hochberg([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.04, 0.04])


@pytest.mark.parametrize("ours, theirs", [(holm, "holm"), (benjamini_hochberg, "fdr_bh")])
def test_multiplicity_equals_statsmodels(ours, theirs):
    assert ours(P) == pytest.approx(multipletests(P, method=theirs)[1])
    rng = np.random.default_rng(0)
    for _ in range(20):
        p = rng.random(rng.integers(1, 30)) ** 3
        assert ours(p) == pytest.approx(multipletests(p, method=theirs)[1])


def test_multiplicity_leaves_missing_p_values_out():
    p = np.array([0.01, np.nan, 0.04, 0.03])
    got = holm(p)
    assert np.isnan(got[1])
    assert got[[0, 2, 3]] == pytest.approx(holm([0.01, 0.04, 0.03]))
    assert np.isnan(benjamini_hochberg([np.nan])).all()
    with pytest.raises(ValueError):
        holm([1.5])


# ----------------------------------------------------------------- determinism


def coarse(n=1200, seed=8):
    """A cohort whose covariates are coarse (age bands, counts, sex), so many people tie on the score."""
    d = cohort(n=n, seed=seed)
    return d.assign(age=(d["age"] // 10) * 10)


@pytest.mark.parametrize("kw", [{}, {"replace": True}, {"ratio": 2}])
def test_twenty_seeds_give_identical_estimates_and_verdicts(kw):
    d = coarse()
    first = estimate_effect(d, "took_part", "n_events", COVS, "count", seed=0, **kw)
    assert first.matched_data["_weight"].nunique() > 1 or kw  # ties were met and kept
    for seed in range(1, 20):
        r = estimate_effect(d, "took_part", "n_events", COVS, "count", seed=seed, **kw)
        assert (r.estimate, r.se, r.ci_low, r.ci_high, r.verdict) == (
            first.estimate, first.se, first.ci_low, first.ci_high, first.verdict)
    # and the row order of the input does not matter either
    shuffled = estimate_effect(d.sample(frac=1, random_state=1), "took_part", "n_events", COVS, "count", **kw)
    assert shuffled.estimate == pytest.approx(first.estimate, abs=1e-12)


def test_caliper_replaces_min_max_trimming():
    d = cohort(n=1500, seed=2)
    no_caliper = estimate_effect(d, "took_part", "score", COVS, "continuous", caliper=None)
    scores = no_caliper.propensity_scores
    outside = set(scores.loc[(scores["_treated"] == 1) & ~scores["_in_support"], "_row"])
    assert outside and no_caliper.n_dropped_support == len(outside)  # min-max rule without a caliper
    with_caliper = estimate_effect(d, "took_part", "score", COVS, "continuous")
    assert with_caliper.n_dropped_support == 0 and with_caliper.overlap["n_treated_outside_support"] == 0
    # participants just beyond the comparison range who have a comparison person within the caliper are kept
    kept = set(with_caliper.matched_data.loc[with_caliper.matched_data["_treated"] == 1, "_row"])
    assert outside & kept


def test_estimand_and_share_matched():
    d = cohort(n=1500, seed=3)
    full = estimate_effect(d, "took_part", "score", COVS, "continuous", replace=True)
    assert full.share_participants_matched == full.n_matched / full.n_treated >= 0.95
    assert full.estimand == "ATT" and full.to_record()["estimand"] == "ATT"
    tight = estimate_effect(d, "took_part", "score", COVS, "continuous", caliper=0.001)
    assert tight.share_participants_matched < 0.95
    assert tight.estimand == "effect on the matched participants"
    assert any("effect on the matched participants" in w for w in tight.warnings)
    assert "effect on the matched participants" in tight.summary()
