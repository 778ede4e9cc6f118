"""estimate_effect end to end: results object, rules, bad input, and a known effect."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from models.comparison import ComparisonError, ComparisonResults, build_design, estimate_effect, fit_propensity

COVS = ["age", "imd_decile", "prior", "sex"]


def cohort(n=1500, seed=0, effect=2.0, a0=-1.8):
    """Confounded cohort: participation and outcomes depend on age, deprivation, prior use."""
    rng = np.random.default_rng(seed)
    age = rng.uniform(18, 90, n)
    imd = rng.integers(1, 11, n)
    dep = (5.5 - imd) / 2.87
    prior = rng.poisson(np.exp(-0.3 + 0.01 * (age - 50) + 0.3 * dep))
    male = rng.random(n) < 0.5
    t = rng.random(n) < 1 / (1 + np.exp(-(a0 + 0.03 * (age - 50) + 0.4 * dep + 0.35 * prior + 0.2 * male)))
    y0 = 22 - 0.05 * (age - 50) - 1.0 * dep - 1.0 * prior + rng.normal(0, 3, n)
    mu = np.exp(-0.2 + 0.015 * (age - 50) + 0.3 * dep + 0.3 * prior) * np.where(t, 0.75, 1.0)
    p = 1 / (1 + np.exp(-(-1 + 0.025 * (age - 50) + 0.35 * dep + 0.35 * prior - 0.5 * t)))
    T = rng.exponential(1 / (0.5 * np.exp(0.02 * (age - 50) + 0.3 * dep + 0.3 * prior) * np.where(t, 0.7, 1.0)))
    return pd.DataFrame(
        {
            "took_part": t.astype(int),
            "age": age,
            "imd_decile": imd,
            "prior": prior,
            "sex": np.where(male, "male", "female"),
            "area": rng.choice(["north", "south"], n),
            "score": y0 + effect * t,
            "n_events": rng.poisson(mu),
            "readmitted": (rng.random(n) < p).astype(int),
            "days": np.minimum(T, 1.0),
            "event": (T <= 1.0).astype(int),
            "person_years": rng.uniform(0.5, 1.0, n),
        },
        index=pd.RangeIndex(1000, 1000 + n),
    )


@pytest.fixture(scope="module")
def df():
    return cohort()


@pytest.fixture(scope="module")
def res(df):
    return estimate_effect(df, "took_part", "readmitted", COVS, "binary", outcome_label="were readmitted")


# ---------------------------------------------------------------- results object


def test_results_object_has_the_promised_attributes(res, df):
    assert isinstance(res, ComparisonResults)
    assert res.measure == "risk_difference" and res.null_value == 0
    assert list(res.effects.index) == ["risk_difference", "risk_ratio", "odds_ratio"]
    assert list(res.effects.columns[:4]) == ["estimate", "ci_low", "ci_high", "p_value"]
    assert res.estimate == res.effects.loc["risk_difference", "estimate"]
    assert res.ci_low < res.estimate < res.ci_high
    assert res.estimate == pytest.approx(res.treated_value - res.comparison_value)
    ci = res.conf_int()
    assert list(ci.columns) == ["lower", "upper"] and ci.index[0] == "risk_difference"
    assert ci.loc["risk_difference", "lower"] == pytest.approx(res.ci_low)
    assert (ci.loc["risk_difference", "upper"] - ci.loc["risk_difference", "lower"]) > (
        res.conf_int(alpha=0.1).loc["risk_difference", "upper"] - res.conf_int(alpha=0.1).loc["risk_difference", "lower"]
    )
    assert res.n_input == len(df) and res.n_dropped_missing == 0
    assert res.n_treated == df["took_part"].sum()
    assert res.n_treated == res.n_matched + res.n_dropped_support + res.n_dropped_caliper
    assert res.n_control_matched == res.n_matched  # 1:1 without replacement
    assert {"covariate", "smd_before", "smd_after", "vr_before", "vr_after", "flag"} <= set(res.balance.columns)
    assert set(res.balance["covariate"]) == {"age", "imd_decile", "prior", "sex[male]"}
    assert res.balance["smd_after"].abs().max() < res.balance["smd_before"].abs().max()
    assert {"treated", "comparison", "share_treated_in_support"} <= set(res.overlap)
    assert 0.9 < res.overlap["share_treated_in_support"] <= 1
    assert res.overlap["caliper_width"] == pytest.approx(0.2 * res.overlap["pooled_sd_logit"])
    assert res.verdict in ("significant reduction", "significant increase", "inconclusive")
    assert res.jdl_statement.startswith("For every 100 people in the comparison group, ")
    assert res.jdl_statement.endswith(f"for every 100 participants, {round(100 * res.treated_value)} were.")
    text = res.summary()
    assert "risk_difference" in text and res.jdl_statement in text and "sex[male]" in text
    rec = res.to_record()
    assert rec["estimate"] == res.estimate and rec["n_matched"] == res.n_matched
    assert res.missing_imputed == {"age": 0, "imd_decile": 0, "prior": 0, "sex": 0}


def test_matched_data_reusable(res, df):
    md = res.matched_data
    assert {"_row", "_treated", "_pscore", "_logit", "_weight", "_pair", "_stratum"} <= set(md.columns)
    assert (md.index == df.index[md["_row"]]).all()  # original index kept
    assert md["_treated"].sum() == res.n_matched
    sizes = md.groupby("_pair")["_treated"].agg(["sum", "count"])
    assert (sizes["sum"] == 1).all() and (sizes["count"] == 2).all()
    assert (md["_weight"] == 1).all()
    # caller can recompute the uncorrected headline from matched_data; the bias correction moves only the
    # comparison mean
    g = {k: np.average(d["readmitted"], weights=d["_weight"]) for k, d in md.groupby("_treated")}
    raw = estimate_effect(df, "took_part", "readmitted", COVS, "binary", bias_correction=False)
    assert g[1] - g[0] == pytest.approx(raw.estimate)
    assert g[1] == pytest.approx(res.treated_value) == pytest.approx(raw.treated_value)
    # within a pair the logit distance respects the caliper
    lg = md.pivot_table(index="_pair", columns="_treated", values="_logit")
    assert (lg[1] - lg[0]).abs().max() <= res.overlap["caliper_width"] + 1e-12


def test_ratio_two_and_replacement(df):
    r2 = estimate_effect(df, "took_part", "score", COVS, "continuous", ratio=2)
    md = r2.matched_data
    ctrl = md[md["_treated"] == 0]
    k = ctrl.groupby("_pair").size()
    assert k.max() == 2 and set(np.round(ctrl["_weight"], 6)) <= {0.5, 1.0}
    assert ctrl["_row"].is_unique
    assert r2.n_control_matched == len(ctrl)
    rr = estimate_effect(df, "took_part", "score", COVS, "continuous", replace=True)
    ctrl = rr.matched_data[rr.matched_data["_treated"] == 0]
    assert not ctrl["_row"].is_unique  # controls reused ...
    assert rr.n_control_matched == ctrl["_row"].nunique() < len(ctrl)  # ... and counted once
    assert rr.n_dropped_caliper <= estimate_effect(df, "took_part", "score", COVS, "continuous").n_dropped_caliper


def test_exact_strata_are_respected(df):
    r = estimate_effect(df, "took_part", "score", COVS, "continuous", exact=["area", "sex"])
    md = r.matched_data
    per_pair = md.groupby("_pair")[["area", "sex", "_stratum"]].nunique()
    assert (per_pair == 1).all().all()
    assert md["_stratum"].nunique() == 4


def test_exact_strata_of_text_columns_are_the_groupby_ranks():
    """Text columns take the factorize path of exact_strata: each row's code is still its group's number in
    ``groupby(sort=True)`` of the values as objects (the path the other columns take), with the sort order of
    Python's string comparison (upper case before lower, accents last, '10' before '9')."""
    from models.comparison.sample import MISSING_LEVEL, exact_strata

    rng = np.random.default_rng(5)
    words = np.array(["b", "B", "a", "é", "10", "9", "", " z", "(missing)", "2019", "2020"], dtype=object)
    n = 500
    data = pd.DataFrame({"w": rng.choice(words, n), "v": rng.choice(words[:3], n), "k": rng.integers(0, 3, n),
                         "b": rng.random(n) < 0.5})

    def by_groupby(cols):
        lab = data[cols].astype(object)
        return lab.where(lab.notna(), MISSING_LEVEL).groupby(cols, sort=True).ngroup().to_numpy()

    for cols in (["w"], ["w", "v"], ["k", "w", "b"], ["b", "v", "k"]):
        assert np.array_equal(exact_strata(data, cols), by_groupby(cols)), cols
    assert exact_strata(data, ["w"])[data["w"].to_numpy() == "B"][0] < exact_strata(data, ["w"])[data["w"].to_numpy() == "a"][0]


def test_ipw_weights_are_att_odds(df):
    r = estimate_effect(df, "took_part", "score", COVS, "continuous", method="ipw")
    md = r.matched_data
    c = md[md["_treated"] == 0]
    assert np.allclose(c["_weight"], c["_pscore"] / (1 - c["_pscore"]))
    assert (md.loc[md["_treated"] == 1, "_weight"] == 1).all()
    assert (md["_pair"] == -1).all() and r.n_dropped_caliper == 0
    assert r.n_control_matched == (df["took_part"] == 0).sum()
    s = estimate_effect(df, "took_part", "score", COVS, "continuous", method="ipw", stabilize=True)
    assert s.estimate == pytest.approx(r.estimate) and s.se == pytest.approx(r.se)
    tr = estimate_effect(df, "took_part", "score", COVS, "continuous", method="ipw", trim_quantile=0.9)
    assert tr.matched_data["_weight"].max() < md["_weight"].max()


def test_propensity_matches_statsmodels_on_raw_columns(df):
    d = build_design(df, COVS)
    fit = fit_propensity(d.X, df["took_part"].to_numpy(), d.binary)
    ref = sm.Logit(df["took_part"].to_numpy(), sm.add_constant(d.X)).fit(disp=0)
    assert np.allclose(fit.params.to_numpy(), ref.params.to_numpy(), atol=1e-6)
    assert np.allclose(fit.score, ref.predict(), atol=1e-9)


@pytest.mark.parametrize(
    "otype, outcome, kw, measures",
    [
        ("count", "n_events", {}, ["mean_difference", "rate_ratio"]),
        ("count", "n_events", {"exposure": "person_years"}, ["rate_difference", "rate_ratio"]),
        ("continuous", "score", {}, ["mean_difference"]),
        ("time_to_event", "days", {"event": "event"}, ["hazard_ratio"]),
    ],
)
def test_measures_per_outcome_type(df, otype, outcome, kw, measures):
    r = estimate_effect(df, "took_part", outcome, COVS, otype, **kw)
    assert list(r.effects.index) == measures
    assert r.measure == measures[0]
    assert np.isfinite(r.effects[["estimate", "ci_low", "ci_high", "p_value"]].to_numpy()).all()
    if otype == "time_to_event":
        assert r.null_value == 1 and r.estimate > 0
        assert r.jdl_statement.startswith("For every 100 people in the comparison group")


# ---------------------------------------------------------------- missing-value rule


def test_missing_covariates_imputed_and_counted(df):
    d = df.copy()
    d["age"] = d["age"].astype(float)
    # missing in both groups, so the indicator and the (missing) level can be estimated
    t1 = np.flatnonzero(d["took_part"].to_numpy() == 1)
    t0 = np.flatnonzero(d["took_part"].to_numpy() == 0)
    d.iloc[[t1[0], t0[0], t0[1]], d.columns.get_loc("age")] = np.nan
    d.iloc[[t1[1], t0[2]], d.columns.get_loc("sex")] = None
    r = estimate_effect(d, "took_part", "score", COVS, "continuous")
    assert r.missing_imputed == {"age": 3, "imd_decile": 0, "prior": 0, "sex": 2}
    assert r.n_dropped_missing == 0
    assert {"age_missing", "sex[(missing)]"} <= set(r.balance["covariate"])
    assert any("'age': 3 missing values imputed (median" in w for w in r.warnings)
    design = build_design(d, COVS)
    assert design.X.iloc[t1[0]]["age"] == pytest.approx(np.median(d["age"].dropna()))
    assert design.X["age_missing"].sum() == 3 and design.X["sex[(missing)]"].sum() == 2


def test_missing_outcome_and_treatment_rows_excluded_and_counted(df):
    d = df.copy()
    d["score"] = d["score"].astype(float)
    d.iloc[[3, 4, 7, 8], d.columns.get_loc("score")] = np.nan
    d["took_part"] = d["took_part"].astype("Int64")
    d.iloc[[10], d.columns.get_loc("took_part")] = pd.NA
    r = estimate_effect(d, "took_part", "score", COVS, "continuous")
    assert r.n_dropped_missing == 5
    assert r.n_input == len(d)
    assert any("5 rows excluded" in w for w in r.warnings)
    assert not r.matched_data["_row"].isin([3, 4, 7, 8, 10]).any()


def test_design_coding_rules():
    d = pd.DataFrame(
        {
            "flag": [True, False, True, False],
            "flag_na": pd.array([True, None, False, True], dtype="boolean"),
            "area": pd.Categorical(["b", "a", "b", "c"], categories=["c", "b", "a"]),
            "code": [3, 1, 2, 3],
        }
    )
    des = build_design(d, ["flag", "flag_na", "area", "code"], categorical=["code"])
    assert list(des.X.columns) == [
        "flag", "flag_na[True]", "flag_na[(missing)]", "area[b]", "area[a]", "code[2]", "code[3]",
    ]
    assert des.kinds == {"flag": "boolean", "flag_na": "boolean", "area": "categorical", "code": "categorical"}
    assert des.missing_imputed["flag_na"] == 1


# ---------------------------------------------------------------- JDL minimum warning


def test_small_cohort_warns_about_jdl_minimum():
    d = cohort(n=200, seed=5)
    r = estimate_effect(d, "took_part", "score", COVS, "continuous")
    assert r.n_matched < 60
    assert any("under the Justice Data Lab minimum of 60" in w for w in r.warnings)


# ---------------------------------------------------------------- bad input


def test_constant_treatment_raises(df):
    for v in (0, 1):
        d = df.assign(took_part=v)
        with pytest.raises(ComparisonError, match="constant"):
            estimate_effect(d, "took_part", "score", COVS, "continuous")


def test_perfect_separation_raises(df):
    d = df.assign(x=df["took_part"] * 10.0 + np.random.default_rng(0).normal(0, 0.1, len(df)))
    with pytest.raises(ComparisonError, match="separation"):
        estimate_effect(d, "took_part", "score", [*COVS, "x"], "continuous")


def test_level_only_among_participants_is_outside_support_or_raises(df):
    d = df.copy()
    d["site"] = "a"
    d.loc[d.index[d["took_part"].to_numpy() == 1][:5], "site"] = "only_participants"
    r = estimate_effect(d, "took_part", "score", [*COVS, "site"], "continuous")
    assert r.n_dropped_support >= 5
    assert not r.matched_data["site"].eq("only_participants").any()
    assert r.n_treated == r.n_matched + r.n_dropped_support + r.n_dropped_caliper
    assert any("5 participants with site[only_participants] = 1 are outside common support" in w for w in r.warnings)
    assert "site[only_participants]" not in set(r.balance["covariate"])
    with pytest.raises(ComparisonError, match=r"quasi-complete separation.*site\[only_participants\]"):
        estimate_effect(d, "took_part", "score", [*COVS, "site"], "continuous", common_support=False)


def test_level_only_among_comparison_people_removes_them(df):
    d = df.copy()
    d["site"] = "a"
    d.loc[d.index[d["took_part"].to_numpy() == 0][:7], "site"] = "only_comparison"
    r = estimate_effect(d, "took_part", "score", [*COVS, "site"], "continuous")
    assert r.n_control_dropped_support == 7
    assert not r.matched_data["site"].eq("only_comparison").any()


def test_a_reference_level_no_participant_has_removes_its_comparison_people(df):
    """Participants are at sites b and c only; 40 comparison people are at site a, the reference level (sorted
    first), which has no column of its own: each column (b, c) holds both groups at both values, so only the
    reference level's check finds them (before, the propensity model did not converge: quasi-complete
    separation). With a gone, b and c fill every row: c alone stays in the model, b the reference."""
    d = df.copy()
    t = d["took_part"].to_numpy() == 1
    d["site"] = np.where(np.arange(len(d)) % 2, "b", "c")
    d.loc[d.index[~t][:40], "site"] = "a"
    r = estimate_effect(d, "took_part", "score", [*COVS, "site"], "continuous")
    assert r.n_control_dropped_support == 40
    assert not r.matched_data["site"].eq("a").any()
    assert "40 comparison people with site[a] = 1 are removed: no participant has it" in r.warnings
    assert ("no one compared holds the reference level site[a], so site[b] is the reference instead (left out of the "
            "model)") in r.warnings
    assert "site[b]" not in r.propensity_params.index and "site[c]" in r.propensity_params.index


def test_missing_values_imputed_to_the_reference_level_are_never_removed_with_it(df):
    """Five comparison people at the reference level a (no participant has it) and three comparison people missing
    the site (one-sided: the indicator is left out, their values imputed to the reference level): the five are
    removed, the three stay, and b, the reference instead of a, takes their imputed values (left at a, a pattern held
    by three comparison people only, they would leave the model unconverged)."""
    d = df.copy()
    t = d["took_part"].to_numpy() == 1
    d["site"] = np.where(np.arange(len(d)) % 2, "b", "c").astype(object)
    pool = d.index[~t]
    d.loc[pool[:5], "site"] = "a"
    d.loc[pool[5:8], "site"] = None
    r = estimate_effect(d, "took_part", "score", [*COVS, "site"], "continuous")
    assert "5 comparison people with site[a] = 1 are removed: no participant has it" in r.warnings
    assert r.n_control_dropped_support == 5
    assert ("no one compared holds the reference level site[a], so site[b] is the reference instead (left out of the "
            "model; the values imputed to the reference level fall into it)") in r.warnings
    assert "site[b]" not in r.propensity_params.index and "site[c]" in r.propensity_params.index


def test_comparison_people_no_participant_is_like_are_noted():
    """Participation follows logit -4 + 2x; 50 comparison people sit at x = -10 (a score of 4e-11): the fit is kept
    and the comparison says how many are that far out."""
    rng = np.random.default_rng(4)
    x = np.r_[rng.normal(0, 1, 20_000), np.full(50, -10.0)]
    t = np.r_[(rng.random(20_000) < 1 / (1 + np.exp(4 - 2 * x[:20_000]))), np.zeros(50, bool)].astype(int)
    d = pd.DataFrame({"x": x, "t": t, "y": rng.normal(0, 1, len(x))})
    r = estimate_effect(d, "t", "y", ["x"], "continuous")
    assert ("50 comparison people have a propensity score below 1e-9: no participant is like them, so they are "
            "matched with nobody") in r.warnings
    # the caliper's SD is the others' (with the 50 at a logit of about -24 it would be 7% wider)
    from models.comparison import pooled_sd

    scores = r.propensity_scores
    logit, treated = scores["_logit"].to_numpy(), scores["_treated"].to_numpy() == 1
    near = logit > -20.7
    assert near.sum() == len(logit) - 50
    assert r.overlap["pooled_sd_logit"] == pooled_sd(logit[near], treated[near])
    assert pooled_sd(logit, treated) > 1.05 * r.overlap["pooled_sd_logit"]


def test_a_reference_level_only_participants_have_is_outside_support(df):
    d = df.copy()
    t = d["took_part"].to_numpy() == 1
    d["site"] = np.where(np.arange(len(d)) % 2, "b", "c")
    d.loc[d.index[t][:6], "site"] = "a"
    r = estimate_effect(d, "took_part", "score", [*COVS, "site"], "continuous")
    assert r.n_dropped_support >= 6
    assert "6 participants with site[a] = 1 are outside common support (no comparison person has it)" in r.warnings


def test_level_support_counts_people_not_trial_rows_when_a_person_holds_several_rows(df):
    # a risk-set design: one comparison person at risk on several days holds several rows
    d = df.copy()
    d["person"] = np.arange(len(d))
    d["site"] = "a"
    pool = d.index[d["took_part"].to_numpy() == 0]
    d.loc[pool[:2], "site"] = "only_comparison"
    repeated = pd.concat([d.loc[pool[:2]]] * 4)  # each of the 2 people at risk on 5 days: 10 rows
    d = pd.concat([d, repeated], ignore_index=True)
    r = estimate_effect(d, "took_part", "score", [*COVS, "site"], "continuous", cluster="person")
    assert r.n_control_dropped_support == 10  # rows, as the counts are
    assert any("2 comparison people (10 trial rows) with site[only_comparison] = 1 are removed" in w for w in r.warnings)


def test_every_participant_on_one_side_raises(df):
    d = df.assign(site=np.where(df["took_part"] == 1, "x", "y"))
    with pytest.raises(ComparisonError, match="quasi-complete separation"):
        estimate_effect(d, "took_part", "score", [*COVS, "site"], "continuous")


def test_quasi_separation_by_a_numeric_covariate_raises(df):
    # dose > 0 only among participants (quasi-complete: dose = 0 in both groups)
    rng = np.random.default_rng(1)
    dose = np.where((df["took_part"] == 1) & (rng.random(len(df)) < 0.5), rng.uniform(1, 5, len(df)), 0.0)
    with pytest.raises(ComparisonError, match="separation"):
        estimate_effect(df.assign(dose=dose), "took_part", "score", [*COVS, "dose"], "continuous")


def test_one_sided_missingness_keeps_people_and_drops_the_indicator(df):
    d = df.copy()
    d["age"] = d["age"].astype(float)
    d.loc[d.index[d["took_part"].to_numpy() == 1][:3], "age"] = np.nan
    r = estimate_effect(d, "took_part", "score", COVS, "continuous")
    base = estimate_effect(df, "took_part", "score", COVS, "continuous")
    assert r.missing_imputed["age"] == 3
    assert r.n_dropped_support == base.n_dropped_support  # nobody dropped for a missing value
    assert "age_missing" not in set(r.balance["covariate"])
    assert any("'age_missing' is one-sided" in w for w in r.warnings)


def test_covariate_all_missing_or_constant_raises(df):
    with pytest.raises(ComparisonError, match="missing for all"):
        estimate_effect(df.assign(z=np.nan), "took_part", "score", [*COVS, "z"], "continuous")
    with pytest.raises(ComparisonError, match="constant"):
        estimate_effect(df.assign(z=4.0), "took_part", "score", [*COVS, "z"], "continuous")


def test_collinear_covariates_raise(df):
    with pytest.raises(ComparisonError, match="collinear"):
        estimate_effect(df.assign(age2=df["age"] * 2 + 1), "took_part", "score", [*COVS, "age2"], "continuous")


def test_too_small_cohorts_raise(df):
    one = pd.concat([df[df["took_part"] == 1].head(1), df[df["took_part"] == 0].head(50)])
    with pytest.raises(ComparisonError, match="too small"):
        estimate_effect(one, "took_part", "score", ["age"], "continuous")
    with pytest.raises(ComparisonError, match="caliper"):
        estimate_effect(df, "took_part", "score", COVS, "continuous", caliper=1e-12)


def test_argument_errors(df):
    with pytest.raises(ComparisonError, match="outcome_type"):
        estimate_effect(df, "took_part", "score", COVS, "ordinal")
    with pytest.raises(ComparisonError, match="method"):
        estimate_effect(df, "took_part", "score", COVS, "continuous", method="full")
    with pytest.raises(ComparisonError, match="event="):
        estimate_effect(df, "took_part", "days", COVS, "time_to_event")
    with pytest.raises(ComparisonError, match="not in the data"):
        estimate_effect(df, "took_part", "score", [*COVS, "nope"], "continuous")
    with pytest.raises(ComparisonError, match="0/1"):
        estimate_effect(df.assign(took_part=df["took_part"] * 2), "took_part", "score", COVS, "continuous")
    with pytest.raises(ComparisonError, match="0/1"):
        estimate_effect(df, "took_part", "score", COVS, "binary")
    with pytest.raises(ComparisonError, match="negative"):
        estimate_effect(df.assign(n_events=-df["n_events"] - 1), "took_part", "n_events", COVS, "count")
    with pytest.raises(ComparisonError, match="ratio"):
        estimate_effect(df, "took_part", "score", COVS, "continuous", ratio=0)
    with pytest.raises(ComparisonError, match="cannot also be a covariate"):
        estimate_effect(df, "took_part", "score", [*COVS, "score"], "continuous")
    assert issubclass(ComparisonError, ValueError)


# ---------------------------------------------------------------- known effect


def test_known_mean_difference_recovered_naive_is_biased():
    d = cohort(n=4000, seed=11, effect=2.0)
    for method in ("match", "ipw"):
        r = estimate_effect(d, "took_part", "score", COVS, "continuous", method=method)
        assert r.ci_low < 2.0 < r.ci_high, method
        assert r.verdict == "significant increase"
    naive = r.unadjusted_effects.loc["mean_difference"]
    assert not naive["ci_low"] < 2.0 < naive["ci_high"]
    assert naive["estimate"] < 1.0  # confounding pulls it far below the truth


def test_known_rate_ratio_recovered():
    # the effect is multiplicative and constant, so the marginal rate ratio is 0.75 exactly
    d = cohort(n=4000, seed=12)
    r = estimate_effect(d, "took_part", "n_events", COVS, "count")
    lo, hi = r.effects.loc["rate_ratio", ["ci_low", "ci_high"]]
    assert lo < 0.75 < hi
    naive = r.unadjusted_effects.loc["rate_ratio"]
    assert naive["ci_low"] > 0.75


def test_scarce_comparison_pool_warning():
    scarce = estimate_effect(cohort(n=1500, seed=3, a0=-0.8), "took_part", "score", COVS, "continuous")
    assert scarce.n_control < 3 * scarce.n_treated
    assert any("comparison pool has only" in w for w in scarce.warnings)
    ample = estimate_effect(cohort(n=1500, seed=3, a0=-3.0), "took_part", "score", COVS, "continuous")
    assert ample.n_control >= 3 * ample.n_treated
    assert not any("comparison pool has only" in w for w in ample.warnings)
    assert not any("comparison pool" in w for w in
                   estimate_effect(cohort(n=1500, seed=3, a0=-0.8), "took_part", "score", COVS, "continuous",
                                   replace=True).warnings)


def test_exact_strata_without_both_groups_are_counted(df):
    d = df.copy()
    tp = d.index[d["took_part"].to_numpy() == 1]
    cp = d.index[d["took_part"].to_numpy() == 0]
    d.loc[tp[:4], "area"] = "west"  # participants only
    d.loc[cp[:9], "area"] = "east"  # comparison people only
    r = estimate_effect(d, "took_part", "score", COVS, "continuous", exact=["area"])
    assert r.n_control_dropped_support == 9
    assert r.n_dropped_support >= 4
    assert any("4 participants are in exact strata with no comparison people" in w for w in r.warnings)
    assert not r.matched_data["area"].isin(["west", "east"]).any()
    assert r.n_treated == r.n_matched + r.n_dropped_support + r.n_dropped_caliper


def test_no_events_gives_inconclusive_not_a_crash(df):
    r = estimate_effect(df.assign(readmitted=0), "took_part", "readmitted", COVS, "binary")
    assert r.estimate == 0 and np.isnan(r.ci_low) and r.verdict == "inconclusive"
    assert np.isnan(r.effects.loc["risk_ratio", "estimate"])
    assert any("no variation" in w for w in r.warnings)
    assert "risk_difference" in r.summary()
    d = df.assign(event=np.where(df["took_part"] == 1, 0, df["event"]))
    h = estimate_effect(d, "took_part", "days", COVS, "time_to_event", event="event")
    assert np.isnan(h.estimate) and h.verdict == "inconclusive"
    assert any("hazard_ratio could not be estimated" in w for w in h.warnings)


def test_one_estimand_rule_for_every_outcome():
    """ATT at >= 95% of participants matched, for the engine (well-being), readmission and reoffending alike: readmission
    and reoffending once called 199 of 200 matched (99.5%) "effect on the matched participants"."""
    from models.comparison import ATT_SHARE, estimand_label, matched_share_note
    from models.readmission import effects as readmission_effects
    from models.readmission.settings import ReadmissionSettings
    from models.reoffending import effects as reoffending_effects

    assert ATT_SHARE == 0.95
    assert estimand_label(200, 200) == estimand_label(199, 200) == estimand_label(95, 100) == "ATT"
    assert estimand_label(94, 100) == "effect on the matched participants"
    assert estimand_label(0, 0) == "effect on the matched participants"
    assert matched_share_note(200, 200) is None
    assert "read as the effect on the participants, ATT" in matched_share_note(199, 200)
    assert "applies to the matched participants only" in matched_share_note(94, 100)
    cols = readmission_effects._design_columns(ReadmissionSettings(), "any", [], 199, 200)
    assert cols["estimand"] == "ATT" and cols["share_participants_matched"] == 0.995
    assert reoffending_effects.estimand_label is estimand_label  # the mart's rule is the engine's (no copy)


@pytest.mark.parametrize("otype, outcome, kw", [
    ("binary", "readmitted", {}), ("count", "n_events", {}), ("time_to_event", "days", {"event": "event"})])
def test_estimate_without_the_unadjusted_comparison_is_otherwise_the_same(df, otype, outcome, kw):
    """estimate(unadjusted=False) leaves out the unadjusted comparison of every row (None) and changes nothing else:
    the effects, values, counts, balance and warnings are those of the default estimate, to the last bit."""
    from models.comparison import estimate, match

    matched = match(df, "took_part", COVS, outcomes=[outcome, *kw.values()])
    full = estimate(matched, outcome, otype, **kw)
    lean = estimate(matched, outcome, otype, **kw, unadjusted=False)
    assert lean.unadjusted_effects is None and len(full.unadjusted_effects)
    pd.testing.assert_frame_equal(lean.effects, full.effects, check_exact=True)
    pd.testing.assert_frame_equal(lean.balance, full.balance, check_exact=True)
    pd.testing.assert_frame_equal(lean.matched_data, full.matched_data, check_exact=True)
    assert (lean.estimate, lean.se, lean.ci_low, lean.ci_high, lean.p_value, lean.treated_value, lean.comparison_value,
            lean.warnings, lean.n_matched) == (full.estimate, full.se, full.ci_low, full.ci_high, full.p_value,
                                               full.treated_value, full.comparison_value, full.warnings, full.n_matched)
