"""The well-being target trial (docs/methods.md, "Well-being") on a fixture worked out by hand.

Recovery Star, area ``work``; defaults: baseline within 91 days before time zero, outcome the
reading nearest 183 days after the baseline (92-274 days) and after time zero.

* A joins on 2023-02-01. Readings 2022-06-01 (too old), 2023-01-10 = 4 (baseline),
  2023-04-10 = 5 (90 days: outside 92-274), 2023-07-15 = 7 (186 days: the outcome).
* B never joins. Readings 2023-01-20 = 5, 2023-07-01 = 6 (162 days), 2023-09-01 = 9 (224 days).
  Nearest 183 days is 2023-07-01.
* C reads 2023-01-05 = 3, 2023-07-05 = 4 and joins on 2023-03-15: a comparison person in the
  February trial and in the March trial (not started by 1 March), and a participant in the
  March trial from 15 March.
* D joins on 2023-02-10 and is first read on 2023-03-01: no baseline before joining, so in no
  trial (the earlier definition made D a participant).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from models import wellbeing as wb
from models.wellbeing import effects as eff
from tests.models.test_wellbeing import build, pid, readings

STAR = (readings("A", "recovery_star", "work", ("2022-06-01", 2), ("2023-01-10", 4), ("2023-04-10", 5), ("2023-07-15", 7))
        + readings("B", "recovery_star", "work", ("2023-01-20", 5), ("2023-07-01", 6), ("2023-09-01", 9))
        + readings("C", "recovery_star", "work", ("2023-01-05", 3), ("2023-07-05", 4))
        + readings("D", "recovery_star", "work", ("2023-03-01", 2), ("2023-09-01", 8)))
MEMBERS = ["MA,TB01,A,community,2023-02-01,", "MC,TB01,C,community,2023-03-15,", "MD,TB01,D,community,2023-02-10,"]


@pytest.fixture
def trials(tmp_path, warehouse):
    build(tmp_path, warehouse, STAR, members=MEMBERS)
    wb.write_core(warehouse, wb.WellbeingSettings(), "r")
    df = warehouse.execute("""
        SELECT person_id, strftime(trial_month, '%Y-%m') AS trial, participant, time_zero::VARCHAR AS t0,
               baseline_on::VARCHAR AS b, followup_on::VARCHAR AS f, improvement
        FROM core.wellbeing_trials ORDER BY trial, person_id""").df()
    names = {pid(x): x for x in "ABCD"}
    df["who"] = df["person_id"].map(names)
    return {(r.who, r.trial, bool(r.participant)): (r.t0, r.b, r.f, r.improvement) for r in df.itertuples()}


def test_time_zero_baseline_and_aligned_follow_up(trials):
    assert trials == {
        ("A", "2023-02", True): ("2023-02-01", "2023-01-10", "2023-07-15", 3.0),
        ("B", "2023-02", False): ("2023-02-01", "2023-01-20", "2023-07-01", 1.0),
        ("C", "2023-02", False): ("2023-02-01", "2023-01-05", "2023-07-05", 1.0),
        ("B", "2023-03", False): ("2023-03-01", "2023-01-20", "2023-07-01", 1.0),
        ("C", "2023-03", False): ("2023-03-01", "2023-01-05", "2023-07-05", 1.0),
        ("C", "2023-03", True): ("2023-03-15", "2023-01-05", "2023-07-05", 1.0),
    }


def test_joining_before_the_first_reading_is_in_no_trial(trials):
    assert not any(who == "D" for who, _, _ in trials)


def test_follow_up_window_and_lookback_are_settings(tmp_path, warehouse):
    build(tmp_path, warehouse, STAR, members=MEMBERS)
    # a 12-month horizon +/- 30 days: nobody has a reading 335-395 days after the baseline
    wb.write_core(warehouse, wb.WellbeingSettings(follow_up_days=365, follow_up_tolerance_days=30), "r")
    assert warehouse.execute("SELECT count(*) FROM core.wellbeing_trials WHERE followup_on IS NOT NULL").fetchall()[0][0] == 0
    # a 20-day lookback: A's baseline (22 days before joining) and C's are too old; no trial at all
    wb.write_core(warehouse, wb.WellbeingSettings(baseline_lookback_days=20), "r")
    assert warehouse.execute("SELECT count(*) FROM core.wellbeing_trials").fetchall()[0][0] == 0


def test_earlier_definition_is_not_the_default():
    assert wb.WellbeingSettings().design == "prior_reading"
    assert "months_between" not in eff.design_sentence(wb.WellbeingSettings(), ["baseline", "age"])


# Six more comparison people who never join, each improving by exactly 1, so every comparison person in
# either trial has improvement +1 whoever the matching picks.
MORE = [line for k in range(6)
        for line in readings(f"K{k}", "recovery_star", "work", *([("2022-05-01", 5)] if k in (1, 4) else []),
                             ("2023-01-25", 3 + k), ("2023-07-10", 4 + k))]


def test_matched_effect_on_the_fixture_and_mart_columns(tmp_path, warehouse):
    ids = ["K0", "A", "K1", "B", "K2", "C", "K3", "D", "K4", "K5"]
    persons = [f"{p},{1950 + 3 * i}-01-01,female,E1,5" for i, p in enumerate(ids)]  # ages spread, so nothing separates
    build(tmp_path, warehouse, STAR + MORE, members=MEMBERS, persons=persons)
    settings = wb.WellbeingSettings(caliper=None, covariates=("age",))
    wb.write_core(warehouse, settings, "r")
    frame, _ = eff.trial_frames(warehouse, settings)
    people = frame.groupby(["person_id", "trial_month", "participant"]).agg(improvement=("improvement", "mean")).reset_index()
    # two trials, each with its participant and comparison people: what matching can pick from
    assert sorted(people["trial_month"].unique()) == ["2023-02", "2023-03"]
    out = wb.effects_table(warehouse, settings)
    head = out[out["headline"].astype(bool)]
    assert list(head["star_version"]) == ["recovery_star"] and list(head["area"]) == ["mean_of_areas"]
    r = head.iloc[0]
    assert r["design"] == "prior_reading" and "joined or enrolled" in r["design_sentence"]
    assert "change from the reading before the baseline" in r["design_sentence"]
    # Every comparison person improved by 1, so whoever is matched the comparison value is 1; the participants
    # are A (+3, February) and C (+1, March), and the engine's common support may leave one of them out.
    assert r["status"] == "estimated" and r["comparison_value"] == pytest.approx(1.0)
    assert r["treated_value"] == pytest.approx({2: 2.0, 1: r["treated_value"]}[int(r["n_matched"])])
    assert round(r["treated_value"], 9) in (2.0, 3.0, 1.0)  # both, A only, C only
    assert r["estimate"] == pytest.approx(r["treated_value"] - 1.0)  # bias correction: the outcome is flat in x
    assert r["share_participants_matched"] == pytest.approx(r["n_matched"] / 2)
    assert r["estimand"] == ("ATT" if r["n_matched"] == 2 else "effect on the matched participants")
    work = out[(out["area"] == "work") & (out["outcome"] == "improvement")].iloc[0]
    assert not work["headline"]
    # the area on the same matched sample (one area: its improvement is the mean of areas)
    assert work["status"] == r["status"] and work["estimate"] == pytest.approx(r["estimate"])


def test_reliable_improvement_rule_false_positive_rate_by_simulation():
    from models.wellbeing.change import rule_false_positive_rate

    assert rule_false_positive_rate(10) == pytest.approx(0.975 ** 10 - 0.95 ** 10, abs=2e-4)
    assert rule_false_positive_rate(10) == pytest.approx(0.178, abs=1e-3)  # the "about 18%"
    assert rule_false_positive_rate(1) == pytest.approx(0.025, abs=1e-4)
    # pure noise: 10 areas, readings with SEM 1, so the change has SD sqrt(2) and S_diff = sqrt(2)
    rng = np.random.default_rng(20261203)
    change = rng.normal(0, np.sqrt(2), (200_000, 10))
    rci = change / np.sqrt(2)
    flagged = ((rci > 1.96).any(axis=1) & ~(rci < -1.96).any(axis=1)).mean()
    assert flagged == pytest.approx(rule_false_positive_rate(10), abs=3 * np.sqrt(0.178 * 0.822 / 200_000))


def test_reliable_improvement_is_estimated_on_the_matched_sample_and_never_the_headline(tmp_path, warehouse):
    ids = ["K0", "A", "K1", "B", "K2", "C", "K3", "D", "K4", "K5"]
    persons = [f"{p},{1950 + 3 * i}-01-01,female,E1,5" for i, p in enumerate(ids)]
    build(tmp_path, warehouse, STAR + MORE, members=MEMBERS, persons=persons)
    settings = wb.WellbeingSettings(caliper=None, covariates=("age",), reliability={"recovery_star": 0.8})
    wb.write_core(warehouse, settings, "r")
    out = wb.effects_table(warehouse, settings)
    head = out[out["headline"].astype(bool)].iloc[0]
    rel = out[out["outcome"] == "reliable_improvement"]
    assert head["status"] == "estimated"  # on the same matched sample as the headline
    assert len(rel) == 1 and rel.iloc[0]["area"] == "at_least_one_area" and not rel.iloc[0]["headline"]
    assert -1 <= rel.iloc[0]["estimate"] <= 1 and rel.iloc[0]["measure"] == "risk_difference"


def test_the_reading_before_the_baseline_is_recorded_for_the_prior_reading_design(tmp_path, warehouse):
    # E is read at referral (2023-01-02 = 4) and at intake (2023-02-01 = 3, the day E joins), then 2023-08-01 = 6:
    # the baseline is the intake reading, the reading before it (30 days earlier, within the 91-day lookback)
    # is the referral, so the change before time zero is 3 - 4 = -1. A's earlier reading (2022-06-01) is 223
    # days before the baseline: no prior reading.
    e = readings("E", "recovery_star", "work", ("2023-01-02", 4), ("2023-02-01", 3), ("2023-08-01", 6))
    build(tmp_path, warehouse, STAR + e, members=[*MEMBERS, "ME,TB01,E,community,2023-02-01,"])
    wb.write_core(warehouse, wb.WellbeingSettings(design="prior_reading"), "r")
    got = warehouse.execute("""
        SELECT person_id, prior_on::VARCHAR AS prior_on, prior_oriented, days_from_prior, baseline_oriented, improvement
        FROM core.wellbeing_trials WHERE participant ORDER BY person_id""").df()
    rows = {r.person_id: r for r in got.itertuples()}
    er = rows[pid("E")]
    assert (er.prior_on, er.prior_oriented, er.days_from_prior, er.baseline_oriented, er.improvement) == (
        "2023-01-02", 4.0, 30, 3.0, 3.0)
    assert pd.isna(rows[pid("A")].prior_on) and pd.isna(rows[pid("A")].days_from_prior)
    frame, _ = eff.trial_frames(warehouse, wb.WellbeingSettings(design="prior_reading"))
    rank = {p: k for k, p in enumerate(sorted(warehouse.execute("SELECT person_id FROM core.wellbeing_people").df()["person_id"]))}
    e_row = frame[(frame.person_id == rank[pid("E")]) & (frame.participant == 1)].iloc[0]  # people by rank of identifier
    a_row = frame[(frame.person_id == rank[pid("A")]) & (frame.participant == 1)].iloc[0]
    assert (bool(e_row.has_prior), e_row.pre_change, bool(a_row.has_prior), a_row.pre_change) == (True, -1.0, False, 0.0)


def test_comparison_counts_are_people_not_person_trials(tmp_path, warehouse):
    """n_control and n_control_matched are 'comparison people with paired readings' and 'comparison people used'
    (schemas/marts.py). B, C and K0-K5 are comparison people in both the February and the March trial (not started
    by either first day), so the rows are person-trials, twice the people; before, the mart gave the rows."""
    ids = ["K0", "A", "K1", "B", "K2", "C", "K3", "D", "K4", "K5"]
    persons = [f"{p},{1950 + 3 * i}-01-01,female,E1,5" for i, p in enumerate(ids)]
    build(tmp_path, warehouse, STAR + MORE, members=MEMBERS, persons=persons)
    settings = wb.WellbeingSettings(caliper=None, covariates=("age",))
    wb.write_core(warehouse, settings, "r")
    frame, _ = eff.trial_frames(warehouse, settings)
    pool = frame[frame["participant"] == 0].drop_duplicates(["person_id", "trial_month"])
    assert len(pool) > pool["person_id"].nunique()  # person-trials outnumber people
    out, results = eff.effects_results(warehouse, settings)
    head = out[out["headline"].astype(bool)].iloc[0]
    # C (a comparison person in February and March, a participant from 15 March) is never C's own comparison: both
    # of C's comparison rows were C's nearest match in turn and are left out, so C is not in the pool
    c = pool.loc[pool["trial_month"] == "2023-03", "person_id"].isin(frame.loc[frame["participant"] == 1, "person_id"])
    assert c.sum() == 1
    assert head["n_control"] == pool["person_id"].nunique() - 1
    md = results[("recovery_star", eff.MEAN_OF_AREAS)].matched_data
    used = md[(md["_treated"] == 0) & (md["_weight"] > 0)]
    assert head["n_control_matched"] == used["person_id"].nunique()
    for r in out[out["status"] == "estimated"].itertuples():  # every row of the same match: the same people
        assert (r.n_control, r.n_control_matched) == (head["n_control"], head["n_control_matched"])


def test_no_one_is_their_own_comparison():
    """C starts on 15 March and is a comparison person at 1 March too (not started by then), with the same readings
    and covariates: that row is C's nearest match, and a matched set compared C with C (a difference of 0). The
    matching leaves such a row out and runs again: no set holds a person in both arms."""
    rng = np.random.default_rng(5)
    n = 60
    df = pd.DataFrame({"person_id": np.arange(n), "participant": (np.arange(n) < 8).astype(int),
                       "baseline": rng.normal(5, 1.5, n).round(1), "age": rng.integers(20, 70, n).astype(float),
                       "trial_year": "2023", eff.OUTCOME: rng.normal(0.5, 1, n)})
    own = df.iloc[[0, 1]].assign(participant=0)  # participants 0 and 1 as comparison people at their month's start
    df = pd.concat([df, own], ignore_index=True)
    settings = wb.WellbeingSettings()
    first = eff.match(df, "participant", ["baseline", "age"], method="match", caliper=settings.caliper,
                      exact=["trial_year"], seed=0, cluster="person_id", outcomes=[eff.OUTCOME])
    assert len(eff.own_comparison_rows(first)) == 2  # the case: each was matched with their own row
    _, m, _ = eff._match_trials(df, ["baseline", "age"], settings, ["trial_year"])
    sample = m.matched_columns(["_treated", "_pair", "person_id"])
    both = sample.groupby(["_pair", "person_id"])["_treated"].nunique()
    assert (both == 1).all() and len(eff.own_comparison_rows(m)) == 0
    assert m.n_matched == 8 and set(sample.loc[sample["_treated"] == 0, "person_id"]).isdisjoint({0, 1})


def test_the_own_person_rule_is_the_whole_matching_run_again():
    """The rule's result is the iterative procedure itself: each pass leaves out the comparison rows matched with
    their own person and runs the *whole* matching again, propensity model included. Two exact strata (2022, 2023);
    the own-person pairs are in 2023 only. The left-out rows were in the one propensity model of both strata, so the
    2022 stratum's scores move too: re-matching only the stratum that held the pair, reusing the first fit, or
    skipping own rows inside the nearest-neighbour search (their rows still in the fit) would each give other scores
    than the procedure's."""
    rng = np.random.default_rng(11)
    n = 80
    df = pd.DataFrame({"person_id": np.arange(n), "participant": (np.arange(n) % 8 == 0).astype(int),
                       "baseline": rng.normal(5, 1.5, n).round(1), "age": rng.integers(20, 70, n).astype(float),
                       "trial_year": np.where(np.arange(n) < 40, "2022", "2023"), eff.OUTCOME: rng.normal(0.5, 1, n)})
    own = df[(df["participant"] == 1) & (df["trial_year"] == "2023")].iloc[:2].assign(participant=0)
    df = pd.concat([df, own], ignore_index=True)
    settings = wb.WellbeingSettings()

    def run(data):
        return eff.match(data, "participant", ["baseline", "age"], method="match", caliper=settings.caliper,
                         exact=["trial_year"], seed=0, cluster="person_id", outcomes=[eff.OUTCOME])

    first = run(df)
    assert set(df.loc[eff.own_comparison_rows(first), "trial_year"]) == {"2023"}  # the case: own pairs in one stratum
    data, passes = df, 0
    while len(left_out := eff.own_comparison_rows(m := run(data))):
        data, passes = data.drop(index=data.index[left_out]).reset_index(drop=True), passes + 1
    assert passes >= 1
    _, got, _ = eff._match_trials(df, ["baseline", "age"], settings, ["trial_year"])
    pd.testing.assert_frame_equal(got.df, m.df, check_exact=True)
    pd.testing.assert_frame_equal(got.matched_data, m.matched_data, check_exact=True)
    pd.testing.assert_frame_equal(got.propensity_scores, m.propensity_scores, check_exact=True)
    pd.testing.assert_frame_equal(got.balance, m.balance, check_exact=True)
    # the 2022 stratum (no own pair) has other scores after the procedure than in its first pass
    stratum_2022 = first.df.iloc[first.rows]["trial_year"].to_numpy() == "2022"
    assert not np.array_equal(first.propensity.logit[stratum_2022],
                              got.propensity.logit[got.df.iloc[got.rows]["trial_year"].to_numpy() == "2022"])


def _engine_outputs(m) -> dict:
    """What a match hands on (design, scores, sample, balance, notes), with no column of the input."""
    return {"X": m.X, "pattern": pd.Series(m.pattern), "scores": m.propensity_scores, "balance": m.balance,
            "sample": m.matched_columns(["_row", "_treated", "_pscore", "_logit", "_weight", "_pair", "_stratum"]),
            "notes": pd.Series(m.warnings, dtype=object), "overlap": pd.Series(m.overlap, dtype=object),
            "counts": pd.Series(m.missing_imputed)}


def test_text_covariates_as_categories_change_no_match():
    """The own-person rule matches its text covariates as ``category`` columns (``text_as_category``): after rows are
    left out between passes (every row of one level, the first row of another, several patterns), each pass equals a
    fresh match of the text itself: the same design matrix (levels sorted, the reference first, absent levels
    dropped, missing values their own level), patterns in order of first appearance, scores, sample and balance."""
    rng = np.random.default_rng(3)
    n = 240
    sex = rng.choice(np.array(["m", "f", "x", None], dtype=object), n, p=[0.4, 0.35, 0.1, 0.15])
    sex[:3] = ["m", "x", "f"]  # first appearances not in sorted order
    df = pd.DataFrame({"person_id": np.arange(n), "participant": (np.arange(n) % 4 == 0).astype(int),
                       "baseline": rng.normal(5, 1.5, n).round(1), "sex": sex,
                       "trial_year": np.where(np.arange(n) < 120, "2022", "2023"), eff.OUTCOME: rng.normal(0.5, 1, n)})
    as_category = eff.text_as_category(df, ["baseline", "sex"])
    assert isinstance(as_category["sex"].dtype, pd.CategoricalDtype) and as_category["baseline"].dtype == float

    def run(data):
        return eff.match(data, "participant", ["baseline", "sex"], method="match", caliper=0.2, exact=["trial_year"],
                         seed=0, cluster="person_id", outcomes=[eff.OUTCOME])

    left_out = [np.array([], dtype=int), np.flatnonzero(sex == "x"), np.r_[0, np.flatnonzero(sex == "x"), 7, 9, 11]]
    for rows in left_out:
        text = run(df.drop(index=rows).reset_index(drop=True))
        coded = run(as_category.drop(index=rows).reset_index(drop=True))
        if len(rows) > 1:
            assert not any("[x]" in c for c in coded.X.columns)  # the case: a level left with no row
        assert any("[(missing)]" in c for c in coded.X.columns)
        for name, got in _engine_outputs(coded).items():
            expected = _engine_outputs(text)[name]
            if isinstance(got, pd.DataFrame):
                pd.testing.assert_frame_equal(got, expected, check_exact=True)
            else:
                pd.testing.assert_series_equal(got, expected, check_exact=True)
