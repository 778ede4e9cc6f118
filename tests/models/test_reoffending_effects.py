"""Justice Data Lab style effects, survival curves and avoided reoffending (pandas cohorts)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from lifelines import KaplanMeierFitter

from models.comparison.verdict import per_100
from models.reoffending import ReoffendingSettings, compare_reoffending, km_curve
from models.reoffending.effects import MEASURES
from models.reoffending.tables import AVOIDED, EFFECTS, SURVIVAL
from tests.models.test_reoffending_cox import SETTINGS, make_cohort


@pytest.fixture(scope="module")
def comparison():
    return compare_reoffending(make_cohort(n=900, seed=21, log_hr=-0.5), SETTINGS, keep_rows=True)


def test_rows_per_programme_and_columns(comparison):
    eff = comparison.effects
    assert list(eff.columns) == [c.name for c in EFFECTS if c.name != "run_id"]
    assert list(comparison.survival.columns) == [c.name for c in SURVIVAL if c.name != "run_id"]
    assert list(comparison.avoided.columns) == [c.name for c in AVOIDED if c.name != "run_id"]
    assert list(eff.programme.unique()) == ["any_participation", "timebank:TB01"]
    assert list(eff[eff.programme == "any_participation"].measure) == list(MEASURES)
    assert eff.estimable.all() and eff.not_estimable_reason.isna().all()
    assert set(eff.effect_measure) == {"risk_difference", "mean_difference", "hazard_ratio"}
    assert (eff.covariates == "age, sex, imd_decile, housing, prior_convictions").all()  # housing: an extra persons column


def test_binary_and_frequency_values_are_the_matched_groups(comparison):
    eff = comparison.effects.set_index(["programme", "measure"])
    res = comparison.results["any_participation"]["binary"]
    md = res.matched_data
    t, c = md[md._treated == 1], md[md._treated == 0]
    binary = eff.loc[("any_participation", "binary_rate")]
    assert binary.participant_value == pytest.approx(t.reoffended.mean())
    assert binary.comparison_value == pytest.approx(np.average(c.reoffended, weights=c._weight))
    assert binary.estimate == pytest.approx(binary.difference) == pytest.approx(res.estimate)
    assert binary.n_matched == res.n_matched == len(t) and binary.n_participants == res.n_treated
    # the rates are counted from each participant's start, not over the MoJ's year from the index event: said so
    assert binary.per_100_statement == (
        f"For every 100 people in the comparison group, {per_100(binary.comparison_value)} reoffended; "
        f"for every 100 participants, {per_100(binary.participant_value)} reoffended. Follow-up runs from each "
        "participant's start (the index date if they started before it; the same day after their own index date for "
        "the comparison group) to day 365 after the index date, among matched groups, so these are not MoJ bulletin "
        "proven reoffending rates.")
    freq = eff.loc[("any_participation", "frequency")]
    assert freq.participant_value == pytest.approx(t.reoffences.mean())
    assert "proven reoffences; for every 100 participants, there were" in freq.per_100_statement
    lo, hi = binary.ci_low, binary.ci_high
    expected = "significant reduction" if hi < 0 else "significant increase" if lo > 0 else "inconclusive"
    assert binary.verdict == expected


def test_one_matched_sample_for_every_measure(comparison):
    res = comparison.results["any_participation"]
    rows = [sorted(res[k].matched_data["_row"]) for k in ("binary", "count", "time")]
    assert rows[0] == rows[1] == rows[2]


def test_days_to_first_reoffence_among_reoffenders(comparison):
    eff = comparison.effects.set_index(["programme", "measure"])
    md = comparison.results["any_participation"]["binary"].matched_data
    reo = md[md.reoffended == 1]
    t, c = reo[reo._treated == 1], reo[reo._treated == 0]
    days = eff.loc[("any_participation", "days_to_first_reoffence")]
    assert days.participant_value == pytest.approx(t.duration.mean())
    assert days.comparison_value == pytest.approx(np.average(c.duration, weights=c._weight))
    # people, not rows: with replacement a reused comparison person has a row per matched set
    assert (days.n_outcome_participants, days.n_outcome_comparison) == (len(t), c.person_id.nunique())
    assert days.ci_low < days.estimate < days.ci_high
    assert days.per_100_statement.startswith("Among people who reoffended, the first proven reoffence came")
    hazard = eff.loc[("any_participation", "time_to_first_reoffence")]
    res = comparison.results["any_participation"]["time"]
    assert (hazard.estimate, hazard.ci_low, hazard.ci_high) == pytest.approx((res.estimate, res.ci_low, res.ci_high))


def test_avoided_is_the_effect_times_n(comparison):
    eff = comparison.effects.set_index(["programme", "measure"])
    av = comparison.avoided.set_index(["programme", "measure"])
    b = eff.loc[("any_participation", "binary_rate")]
    a = av.loc[("any_participation", "reoffenders_avoided")]
    assert a.n == b.n_matched
    assert a.estimate == pytest.approx(-b.estimate * b.n_matched)
    assert (a.ci_low, a.ci_high) == pytest.approx((-b.ci_high * b.n_matched, -b.ci_low * b.n_matched))
    assert (a.comparison_rate, a.participant_rate, a.verdict) == (b.comparison_value, b.participant_value, b.verdict)
    f = eff.loc[("any_participation", "frequency")]
    assert av.loc[("any_participation", "reoffences_avoided")].estimate == pytest.approx(-f.estimate * f.n_matched)


def test_survival_curves_end_at_the_binary_rate(comparison):
    surv = comparison.survival
    eff = comparison.effects.set_index(["programme", "measure"])
    b = eff.loc[("any_participation", "binary_rate")]
    curves = surv[surv.programme == "any_participation"]
    for group, value in (("participants", b.participant_value), ("matched_comparison", b.comparison_value)):
        g = curves[curves.group == group]
        assert g.time_days.iloc[0] == 0 and g.survival.iloc[0] == 1
        assert g.time_days.iloc[-1] == 365
        assert g.survival.iloc[-1] == pytest.approx(1 - value)  # no censoring before day 365
        assert (np.diff(g.survival) <= 1e-12).all() and (g.ci_low <= g.survival + 1e-12).all()


def test_km_curve_matches_lifelines():
    rng = np.random.default_rng(4)
    d = np.minimum(np.ceil(rng.exponential(400, 300)), 365)
    e = (d < 365).astype(int)
    ours = km_curve(d, e, np.ones(len(d)), 365).set_index("time_days")
    kmf = KaplanMeierFitter().fit(d, e)
    times = [t for t in ours.index if t in kmf.survival_function_.index and 0 < t < 365]
    np.testing.assert_allclose(ours.loc[times, "survival"], kmf.survival_function_.loc[times, "KM_estimate"], atol=1e-10)
    ci = kmf.confidence_interval_survival_function_
    np.testing.assert_allclose(ours.loc[times, "ci_low"], ci.loc[times].iloc[:, 0], atol=1e-6)
    np.testing.assert_allclose(ours.loc[times, "ci_high"], ci.loc[times].iloc[:, 1], atol=1e-6)


def _reasons(comp, programme="any_participation"):
    eff = comp.effects[comp.effects.programme == programme]
    return set(eff.not_estimable_reason), eff


def test_nobody_treated():
    cohort = make_cohort(n=300, seed=2)
    cohort["participant"] = False
    cohort["programmes"] = [[] for _ in range(len(cohort))]
    comp = compare_reoffending(cohort, SETTINGS)
    reasons, eff = _reasons(comp)
    assert reasons == {"not estimable: no participants in the final cohorts"}
    assert len(eff) == 4 and (eff.verdict == "not estimable").all() and not eff.estimable.any()
    assert comp.survival.empty and comp.avoided.empty


def test_no_offences_at_all():
    cohort = make_cohort(n=400, seed=3).assign(reoffended=False, reoffences=0, days_to_first_reoffence=pd.NA)
    cohort["reoffence_days"] = [[] for _ in range(len(cohort))]
    comp = compare_reoffending(cohort, SETTINGS)
    eff = comp.effects[comp.effects.programme == "any_participation"].set_index("measure")
    assert eff.loc["binary_rate", "not_estimable_reason"].startswith("not estimable: nobody in the matched sample")
    assert eff.loc["binary_rate", "participant_value"] == 0 and eff.loc["binary_rate", "comparison_value"] == 0
    assert eff.loc["days_to_first_reoffence", "not_estimable_reason"].startswith("not estimable: fewer than 2 reoffenders")
    assert eff.loc["time_to_first_reoffence", "not_estimable_reason"].startswith("not estimable: no proven reoffence")
    assert not eff.estimable.any() and comp.avoided.empty
    flat = comp.survival[comp.survival.programme == "any_participation"]
    assert (flat.survival == 1).all()


def test_one_participant_and_empty_cohort():
    cohort = make_cohort(n=200, seed=4)
    first = cohort.index[cohort.participant][0]
    cohort["participant"] = cohort.index == first
    cohort["programmes"] = [["prison_listeners"] if i == first else [] for i in cohort.index]
    reasons, _ = _reasons(compare_reoffending(cohort, SETTINGS))
    assert len(reasons) == 1 and next(iter(reasons)).startswith("not estimable: cohort too small to match")
    empty = compare_reoffending(cohort.iloc[:0], SETTINGS)
    assert set(empty.effects.programme) == {"any_participation"}
    assert set(empty.effects.not_estimable_reason) == {
        "not estimable: no final cohort: no index event whose follow-up and waiting period had ended by the as-of date"}
    provisional = compare_reoffending(cohort.assign(is_final=False), SETTINGS)
    assert provisional.effects.not_estimable_reason.str.contains("no final cohort").all()


def test_small_matched_cohort_is_flagged():
    comp = compare_reoffending(make_cohort(n=160, seed=6), SETTINGS)
    eff = comp.effects[comp.effects.programme == "any_participation"]
    assert (eff.n_matched < 60).all() and eff.below_minimum.all()
    assert eff.warnings.str.contains("under the minimum of 60 \\(Justice Data Lab: 60\\)").all()


def test_unknown_or_constant_covariates_are_noted():
    cohort = make_cohort(n=500, seed=7).assign(region="north")
    settings = ReoffendingSettings(covariates=("age", "sex", "housing", "employment", "region"))
    eff = compare_reoffending(cohort, settings).effects
    row = eff.iloc[0]
    assert row.covariates == "age, sex, housing" and row.estimable
    assert "covariate 'employment' is not a column of the cohort" in row.warnings
    assert "covariate 'region' takes one value only" in row.warnings
    nothing = compare_reoffending(cohort, ReoffendingSettings(covariates=("employment",))).effects
    assert set(nothing.not_estimable_reason) == {"not estimable: no usable covariate to match on"}


def test_matching_settings_flow_through():
    cohort = make_cohort(n=900, seed=21, log_hr=-0.5)
    ipw = compare_reoffending(cohort, SETTINGS.model_copy(update={"method": "ipw"}))
    assert ipw.effects.method.iloc[0].startswith("ATT inverse-probability weighting")
    two = compare_reoffending(cohort, SETTINGS.model_copy(update={"ratio": 2, "replace": True, "exact": ("sex",)}))
    assert two.effects.method.iloc[0] == (
        "1:2 nearest-neighbour matching on the propensity score, with replacement, caliper 0.2 SD of the logit score, "
        "exact on sex")
    assert two.effects.estimable.all()


def test_km_weights_are_frequency_weights():
    rng = np.random.default_rng(9)
    d = np.minimum(np.ceil(rng.exponential(300, 120)), 365)
    e = (d < 365).astype(int)
    w = rng.choice([0.5, 1.0, 2.0], len(d))
    twice = km_curve(d, e, 2 * w, 365)
    doubled = km_curve(np.r_[d, d], np.r_[e, e], np.r_[w, w], 365)
    pd.testing.assert_frame_equal(twice, doubled)
    assert (twice.ci_low <= twice.survival).all() and (twice.survival <= twice.ci_high).all()


def test_avoided_rows_feed_the_social_value_model(comparison):
    from models.reoffending import social_value_outputs
    from models.social_value.model_outputs import ModelOutput

    av = comparison.avoided
    assert set(av.output_key) == {"avoided_reoffenders", "avoided_proven_reoffences",
                                  "avoided_reoffenders@TB01", "avoided_proven_reoffences@TB01"}
    outputs = social_value_outputs(av)
    for key, record in outputs.items():
        parsed = ModelOutput.from_value(key, record)  # the calculator's own validation
        assert parsed.estimand == "net" and parsed.direction == "lower_is_better"
    reoff = av[(av.programme == "any_participation") & (av.measure == "reoffences_avoided")].iloc[0]
    assert outputs["avoided_proven_reoffences"]["estimate"] == pytest.approx(reoff.estimate)
    assert "comparison_rate" not in outputs["avoided_proven_reoffences"]  # per person, not a proportion
    assert 0 <= outputs["avoided_reoffenders"]["comparison_rate"] <= 1


def test_programmes_compared_in_threads_give_the_same_figures():
    """Three programme labels compared by three threads at once give the marts, in the same order, and
    the matched samples of one-by-one comparison (the threads share only the read-only analysis frame)."""
    cohort = make_cohort(n=1200, seed=8, log_hr=-0.5)
    held = [i for i, p in enumerate(cohort["programmes"]) if p]
    cohort.loc[held[::2], "programmes"] = pd.Series([["prison_listeners"]] * len(held[::2]), index=held[::2])
    one = compare_reoffending(cohort, SETTINGS.model_copy(update={"workers": 1}), cox=True, keep_rows=True)
    three = compare_reoffending(cohort, SETTINGS.model_copy(update={"workers": 3}), cox=True, keep_rows=True)
    assert list(three.results) == ["any_participation", "prison_listeners", "timebank:TB01"]
    for name in ("effects", "survival", "avoided", "cox"):
        pd.testing.assert_frame_equal(getattr(three, name), getattr(one, name), check_exact=True)
    for programme, res in one.results.items():
        pd.testing.assert_frame_equal(three.results[programme]["binary"].matched_data, res["binary"].matched_data)


def test_km_band_counts_a_reused_person_once():
    """Matching with replacement repeats a comparison person once per matched set (weight 1 each). Clustered on the
    person, the band is the band of one copy per person; Greenwood's on the weighted counts (the survival mart's
    band before) treats the copies as other people and is narrower by about sqrt(2)."""
    rng = np.random.default_rng(5)
    d = np.minimum(np.ceil(rng.exponential(400, 150)), 365)
    e = (d < 365).astype(int)
    person = np.arange(len(d))
    once = km_curve(d, e, np.ones(len(d)), 365, clusters=person)
    twice = km_curve(np.r_[d, d], np.r_[e, e], np.ones(2 * len(d)), 365, clusters=np.r_[person, person])
    np.testing.assert_allclose(twice[["survival", "ci_low", "ci_high"]], once[["survival", "ci_low", "ci_high"]],
                               atol=1e-12)
    rows_as_people = km_curve(np.r_[d, d], np.r_[e, e], np.ones(2 * len(d)), 365)
    inner = (once.survival > 0) & (once.survival < 1)
    assert ((rows_as_people.ci_high - rows_as_people.ci_low)[inner] < 0.8 * (once.ci_high - once.ci_low)[inner]).all()


def test_survival_mart_band_is_clustered_on_the_person(comparison):
    """The comparison group's band in marts.reoffending_survival is the person-clustered one (controls are reused:
    matching with replacement), not Greenwood's on the rows."""
    md = comparison.results["any_participation"]["binary"].matched_data
    c = md[md._treated == 0]
    assert c.person_id.nunique() < len(c)  # some comparison person is reused
    curves = comparison.survival
    got = curves[(curves.programme == "any_participation") & (curves.group == "matched_comparison")]
    want = km_curve(c.duration, c.event, c._weight, 365, clusters=c.person_id.to_numpy())
    greenwood = km_curve(c.duration, c.event, c._weight, 365)
    np.testing.assert_allclose(got[["ci_low", "ci_high"]].to_numpy(), want[["ci_low", "ci_high"]].to_numpy(), atol=1e-12)
    assert not np.allclose(got.ci_low.to_numpy(), greenwood.ci_low.to_numpy())


def staggered_cohort() -> pd.DataFrame:
    """make_cohort with the participants starting on day 0, 20 or 40: one risk-set trial per day, so a person not
    yet started is a comparison person in each of the three trials (and with replacement can be matched in each)."""
    cohort = make_cohort(n=900, seed=21, log_hr=-0.5)
    starts = np.random.default_rng(2).choice([0, 20, 40], len(cohort))
    cohort["programme_start_days"] = [[int(s)] if p else [] for p, s in zip(cohort.programmes, starts)]
    return cohort


def test_n_comparison_counts_people_not_trial_rows():
    """marts.reoffending_effects.n_comparison is 'distinct comparison people used'; under risk_set a person matched in
    several trials has a row in each. Before, n_comparison (and n_outcome_comparison) was the engine's count of
    distinct trial rows, larger than the people."""
    out = compare_reoffending(staggered_cohort(), SETTINGS, keep_rows=True)
    md = out.results["any_participation"]["binary"].matched_data
    c = md[(md._treated == 0) & (md._weight > 0)]
    people, trial_rows = c.person_id.nunique(), c._row.nunique()
    assert people < trial_rows  # the fixture does repeat people across trials
    eff = out.effects.set_index(["programme", "measure"])
    for measure in ("binary_rate", "frequency", "time_to_first_reoffence"):
        row = eff.loc[("any_participation", measure)]
        assert row.n_comparison == people and row.n_outcome_comparison == people
    days = eff.loc[("any_participation", "days_to_first_reoffence")]
    assert days.n_comparison == people
    assert days.n_outcome_comparison == c.loc[c.reoffended == 1, "person_id"].nunique()


def test_days_to_first_reoffence_says_what_it_counts_from():
    """Under risk_set the durations run from each participant's start day (prepare.design_rows), so a mean of 11 days
    for someone who started on day 40 and reoffended on day 50 is not '11 days after the index event', as the
    sentence said before; it names time zero. The old design counts from the index event and says so."""
    out = compare_reoffending(staggered_cohort(), SETTINGS, keep_rows=True)
    md = out.results["any_participation"]["binary"].matched_data
    later = md[(md._treated == 1) & (md.trial_day > 0) & (md.reoffended == 1)]
    assert len(later)  # participants whose time zero is after the index date
    days = out.effects.set_index(["programme", "measure"]).loc[("any_participation", "days_to_first_reoffence")]
    assert "after time zero (the day each participant started" in days.per_100_statement
    assert "after the index event on average" not in days.per_100_statement
    old = compare_reoffending(staggered_cohort(), SETTINGS.model_copy(update={"design": "exposure_window"}))
    statement = old.effects.set_index(["programme", "measure"]).loc[("any_participation", "days_to_first_reoffence"),
                                                                    "per_100_statement"]
    assert "days after the index event on average" in statement


def test_released_results_give_the_same_diagnostics_and_marts():
    """Without keep_rows each programme's results drop their person-level rows when the programme is done and keep
    their balance and overlap rows: the diagnostics marts' rows and every reoffending mart are those of the results
    that kept them."""
    from models.comparison.diagnostics import Label, diagnostics

    cohort = make_cohort(n=700, seed=8)
    kept = compare_reoffending(cohort, SETTINGS, cox=True, keep_rows=True)
    freed = compare_reoffending(cohort, SETTINGS, cox=True)
    for res in freed.results.values():
        assert all(r.matched_data is None and r.propensity_scores is None for r in res.values())
    for name in ("effects", "survival", "avoided", "cox"):
        pd.testing.assert_frame_equal(getattr(freed, name), getattr(kept, name), check_exact=True)

    def rows(comp):
        return diagnostics([(Label("reoffending", p, "binary_rate"), r["binary"]) for p, r in comp.results.items()])

    for a, b in zip(rows(freed), rows(kept)):
        assert len(a) and a.shape == b.shape
        pd.testing.assert_frame_equal(a, b, check_exact=True)


def test_a_programme_drops_its_rows_before_its_cox_fit_and_estimates_no_unadjusted_comparison(monkeypatch):
    """Each programme's results drop their person-level rows (a score row per trial row) before its Cox model is
    fitted, not after, so the two are not held together; and no mart reads the unadjusted comparison of every trial
    row, so it is not estimated (on a risk-set design's millions of rows it set the step's peak)."""
    import models.reoffending.effects as effects

    events, fitting = [], []
    real_released, real_cox, real_estimate = effects.released, effects.cox_programme, effects.estimate

    def released(results):
        events.append(("released", id(results), next(iter(results.values())).matched_data is not None))
        return real_released(results)

    def cox_programme(df, programme, settings, rows=None):
        events.append(("cox", programme))
        return real_cox(df, programme, settings, rows)

    def estimate(*args, **kwargs):
        res = real_estimate(*args, **kwargs)
        fitting.append(res.unadjusted_effects)
        return res

    monkeypatch.setattr(effects, "released", released)
    monkeypatch.setattr(effects, "cox_programme", cox_programme)
    monkeypatch.setattr(effects, "estimate", estimate)
    out = compare_reoffending(make_cohort(n=700, seed=8), SETTINGS.model_copy(update={"workers": 1}), cox=True)
    assert out.results
    for programme, results in out.results.items():  # its rows released (while still held) just before its Cox fit
        at = events.index(("cox", programme))
        assert at > 0 and events[at - 1] == ("released", id(results), True)
    assert fitting and all(u is None for u in fitting)
