"""Readmission designs on the hand-checkable fixture (tests/fixtures/readmission/).

The fixture's participants, in days after the discharge:

* A01, discharge SA1 (2023-01-05): time-bank activity before discharge, so time zero is day 0;
  readmitted on day 29 (SA2, 2023-02-03).
* I09, discharge SI2 (2023-09-12): would have started peer visiting on 2023-09-26 (day 14) but
  was readmitted on day 8 (SI3, 2023-09-20). It is never a participant: it is a comparison
  discharge only in the trials before day 8 (days 0, 1 and 4), readmitted in each of them.
* I09, discharge SI3 (2023-09-25): that same enrolment starts the next day (day 1).
* G07, discharge SG2 (2023-07-15): peer visiting from 2023-07-19 (day 4).
"""

from __future__ import annotations

import shutil

import duckdb
import numpy as np
import pandas as pd
import pytest

from models.mart_writer import write_mart
from models.readmission import ReadmissionSettings, build_index_discharges, discharges_frame, readmission_effects
from models.readmission.before_after import RTM_WARNING, did_row
from models.readmission.effects import comparison_columns, design_rows
from tests.conftest import ingest_all
from tests.models.test_readmission_rules import AS_OF, FIXTURE, pid


@pytest.fixture(scope="module")
def discharges(tmp_path_factory):
    folder = tmp_path_factory.mktemp("in")
    for f in FIXTURE.glob("*.csv"):
        shutil.copy(f, folder)
    con = duckdb.connect(str(tmp_path_factory.mktemp("wh") / "w.duckdb"))
    ingest_all(con, folder)
    build_index_discharges(con, ReadmissionSettings(), as_of=AS_OF, run_id="t")
    frame = discharges_frame(con)
    con.close()
    return frame


def rows_of(rows: pd.DataFrame, person: str, discharged: str) -> pd.DataFrame:
    on = pd.to_datetime(rows["discharged_on"]) == pd.Timestamp(discharged)
    out = rows[(rows["person_id"] == pid(person)) & on]
    return out.sort_values("trial_day") if "trial_day" in out else out


def test_start_day_is_stored_with_the_discharge(discharges):
    assert rows_of(discharges, "I09", "2023-09-12")["programme_start_day"].tolist() == [14]
    assert rows_of(discharges, "I09", "2023-09-25")["programme_start_day"].tolist() == [1]
    assert rows_of(discharges, "G07", "2023-07-15")["programme_start_day"].tolist() == [4]


def test_readmitted_on_day_8_before_a_day_14_start_is_a_comparison_only_until_then(discharges):
    rows = design_rows(discharges, ReadmissionSettings(), "any")
    si2 = rows_of(rows, "I09", "2023-09-12")
    assert si2["trial_day"].tolist() == [0, 1, 4]  # trials exist on the days someone starts: 0, 1, 4
    assert si2["treated"].tolist() == [0, 0, 0]
    assert si2["readmitted"].tolist() == [1, 1, 1]  # day 8 lies in each trial's follow-up


def test_participant_follow_up_starts_on_their_own_start_day(discharges):
    rows = design_rows(discharges, ReadmissionSettings(), "any")
    treated = rows[rows["treated"] == 1]
    got = {(p, str(pd.Timestamp(d).date())): k for p, d, k in zip(treated.person_id, treated.discharged_on, treated.trial_day)}
    assert got == {(pid("A01"), "2023-01-05"): 0, (pid("I09"), "2023-09-25"): 1, (pid("G07"), "2023-07-15"): 4}
    # A01's readmission on day 29 counts from day 0; nobody else treated was readmitted
    assert treated.set_index("trial_day")["readmitted"].to_dict() == {0: 1, 1: 0, 4: 0}
    # comparison discharges on day 4: still at risk and not enrolled; the outcome counts from day 4
    day4 = rows[(rows["trial_day"] == 4) & (rows["treated"] == 0)]
    assert (day4["days_to_readmission"].isna() | (day4["days_to_readmission"] >= 4)).all()
    assert pid("A01") in set(day4.person_id)  # A01's second discharge SA2 (2023-02-06) is a comparison


def test_trial_rows_hold_the_same_days_and_flags_in_the_fewest_bytes(discharges):
    settings = ReadmissionSettings()
    lean = design_rows(comparison_columns(discharges, settings), settings, "any")
    wide = design_rows(discharges, settings, "any")
    assert {c: str(lean[c].dtype) for c in ("trial_day", "treated", "readmitted", "age")} == dict.fromkeys(
        ("trial_day", "treated", "readmitted", "age"), "int8")
    assert str(wide["age"].dtype) == "int32"  # comparison_columns narrowed it
    for c in ("trial_day", "treated", "readmitted", "age", "imd_decile", "prior_emergency_12m"):
        assert lean[c].tolist() == wide[c].tolist()


def test_the_old_definition_makes_the_readmitted_non_starter_a_participant(discharges):
    rows = design_rows(discharges, ReadmissionSettings(design="exposure_window"), "any")
    si2 = rows_of(rows, "I09", "2023-09-12")
    assert si2["treated"].tolist() == [1] and si2["readmitted"].tolist() == [1]
    assert int(rows["treated"].sum()) == 4


def test_landmark_keeps_those_at_risk_on_day_14(discharges):
    rows = design_rows(discharges, ReadmissionSettings(design="landmark"), "any")
    assert rows_of(rows, "I09", "2023-09-12").empty  # readmitted on day 8
    sa1 = rows_of(rows, "A01", "2023-01-05")
    assert sa1[["trial_day", "treated", "readmitted"]].values.tolist() == [[14, 1, 1]]  # day 29 >= 14
    assert (rows["days_to_readmission"].isna() | (rows["days_to_readmission"] >= 14)).all()


def test_programme_comparison_leaves_out_time_bank_members(discharges):
    rows = design_rows(discharges, ReadmissionSettings(), "programme")
    assert rows_of(rows, "A01", "2023-01-05").empty
    assert sorted(rows.loc[rows["treated"] == 1, "trial_day"]) == [1, 4]


def test_effects_mart_carries_the_design_columns(discharges):
    frame, _ = readmission_effects(discharges, ReadmissionSettings())
    row = frame.set_index("comparison").loc["any"]
    assert row["design"] == "risk_set"
    assert row["design_sentence"].startswith("Follow-up starts on the day each participant started")
    assert "not yet readmitted or enrolled that day" in row["design_sentence"]
    if row["status"] == "estimated":
        assert row["share_participants_matched"] == pytest.approx(row["n_matched"] / row["n_treated"])
        assert row["estimand"] == ("ATT" if row["n_matched"] == row["n_treated"] else "effect on the matched participants")


def test_before_after_is_not_matched_on_its_own_before_period_outcome():
    assert "prior_emergency_12m" not in ReadmissionSettings().before_after_covariates
    rng = np.random.default_rng(4)
    n = 120
    frame = pd.DataFrame({"treated": (np.arange(n) < 40).astype(int), "person": np.arange(n), "age": rng.integers(30, 80, n),
                          "sex": rng.choice(["female", "male"], n), "imd_decile": rng.integers(1, 11, n),
                          "prior_emergency_12m": rng.poisson(1, n), "pre_n": rng.poisson(1, n),
                          "before_n": rng.poisson(1, n), "after_n": rng.poisson(1, n), "pretrend_window": True})
    default = did_row(frame, ReadmissionSettings(), "outcome", "emergency_admissions")
    assert default["status"] == "estimated" and RTM_WARNING not in default["warnings"]
    named = ReadmissionSettings(before_after_covariates=("age", "sex", "imd_decile", "prior_emergency_12m"))
    assert RTM_WARNING in did_row(frame, named, "outcome", "emergency_admissions")["warnings"]


def test_landmark_day_must_fall_in_the_window():
    with pytest.raises(ValueError, match="landmark_day"):
        ReadmissionSettings(landmark_day=30)
    assert ReadmissionSettings().landmark == 14 and ReadmissionSettings(landmark_day=7).landmark == 7


def test_clone_censor_weight_design_fills_the_effects_mart(discharges):
    settings = ReadmissionSettings(design="clone_censor_weight", ccw_bootstrap=20)
    frame, results = readmission_effects(discharges, settings)
    assert results == {}  # no matching: no engine results
    row = frame.set_index("comparison").loc["any"]
    assert row["design"] == "clone_censor_weight" and row["method"] == "ipcw"
    assert row["design_sentence"].startswith("Follow-up starts on the discharge day")
    assert "cloned into 'start within 14 days' and 'do not start within 14 days'" in row["design_sentence"]
    # A01 (day 0), I09's SI3 (day 1) and G07 (day 4) started; I09's SI2 was readmitted (day 8) before its day-14 start
    assert row["n_treated"] == 3
    assert row["n_discharges"] == len(discharges)
    assert row["n_control_matched"] == len(discharges)  # each discharge's "no start" clone, starters' included
    assert row["risk_difference"] == pytest.approx(row["participant_rate"] - row["comparison_rate"])
    con = duckdb.connect()
    assert write_mart(con, "marts.readmission_effects", frame, "t") == len(frame)
    assert con.execute("SELECT design FROM marts.readmission_effects WHERE comparison = 'any'").fetchone() == (
        "clone_censor_weight",)
    again, _ = readmission_effects(discharges, settings)
    assert again.set_index("comparison").loc["any", "rd_ci_low"] == row["rd_ci_low"]  # seeded bootstrap


def test_clone_censor_weight_it_cannot_estimate_is_a_not_estimated_row(discharges):
    from models.readmission.clone_censor import ccw_row
    from models.readmission.effects import units
    from schemas.marts import mart

    settings = ReadmissionSettings(design="clone_censor_weight", ccw_bootstrap=5)
    cloned = units(discharges, "any").assign(start=np.nan)  # nobody starts within the grace period
    row = ccw_row(cloned, settings, "any", "readmitted_within_30_days")
    assert row["status"] == "not estimated" and row["verdict"] == "not estimated"
    assert "nobody started within the grace period" in row["warnings"]
    assert row["n_discharges"] == len(cloned) and row["design"] == "clone_censor_weight"
    con = duckdb.connect()
    assert write_mart(con, "marts.readmission_effects", mart("marts.readmission_effects").frame([row]), "t") == 1
    assert con.execute("SELECT risk_difference IS NULL, status FROM marts.readmission_effects").fetchone() == (
        True, "not estimated")


def test_rare_levels_are_pooled_on_discharges_not_rows():
    """min_level_count 5: specialty C (2 participants) and D (1 participant, no comparison discharge) are rare. Their
    pool has 3 participants, still under 5, so it joins the commonest level (A: 6 + 6 discharges; B 5 + 5). Comparison
    discharges are counted once however many trial rows repeat them: B's five comparison discharges fill ten rows,
    and C's comparison discharge c9 is one discharge on three rows. ``ward``, left with one level, is dropped; a
    numeric covariate is untouched."""
    from models.readmission.effects import POOLED, pool_rare_levels

    spec = ["A"] * 6 + ["B"] * 5 + ["C"] * 2 + ["D"] + ["A"] * 6 + ["B"] * 10 + ["C"] * 3
    treated = [1] * 14 + [0] * 19
    unit = [f"t{i}" for i in range(14)] + [f"a{i}" for i in range(6)] + [f"b{i % 5}" for i in range(10)] + ["c9"] * 3
    frame = pd.DataFrame({"specialty": pd.Categorical(spec), "ward": ["w"] * 33, "age": np.arange(33)})
    out, kept, notes = pool_rare_levels(frame, ["specialty", "ward", "age"], np.array(treated), np.array(unit), 5)
    assert out["specialty"].tolist() == ["A"] * 6 + ["B"] * 5 + ["A"] * 3 + ["A"] * 6 + ["B"] * 10 + ["A"] * 3
    assert kept == ["specialty", "age"]
    assert notes == ["specialty: levels ['C', 'D'] (fewer than 5 participant or comparison discharges) pooled into 'A'",
                     "ward: one level among the discharges compared, left out of the covariates"]
    # with a pool of 5 participants and 5 comparison discharges, it is a level of its own
    spec2 = ["A"] * 6 + ["C"] * 3 + ["D"] * 2 + ["A"] * 6 + ["C"] * 3 + ["D"] * 2
    unit2 = [f"u{i}" for i in range(22)]
    out2, _, notes2 = pool_rare_levels(pd.DataFrame({"specialty": spec2}), ["specialty"], np.array([1] * 11 + [0] * 11),
                                       np.array(unit2), 5)
    assert out2["specialty"].tolist() == ["A"] * 6 + [POOLED] * 5 + ["A"] * 6 + [POOLED] * 5
    assert notes2[0].endswith(f"pooled into {POOLED!r}")
    fresh = pd.DataFrame({"specialty": pd.Categorical(spec), "ward": ["w"] * 33})  # the first call pooled in place
    same, kept0, notes0 = pool_rare_levels(fresh, ["specialty", "ward"], np.array(treated), np.array(unit), 0)
    assert same["specialty"].tolist() == spec and kept0 == ["specialty", "ward"] and notes0 == []


def test_the_default_matches_exactly_on_admission_method_and_on_the_case_mix(discharges):
    """The mart's covariates column lists the exact column first, and the design sentence says it is matched exactly;
    the old default (no exact column) keeps its sentence."""
    from models.readmission.effects import covariates_column, design_sentence

    s = ReadmissionSettings()
    assert s.matching_exact == ("admission_method",) and s.exact == () and s.readmission_exact == ("admission_method",)
    assert s.matching_covariates == ("age", "sex", "imd_decile", "prior_emergency_12m", "specialty",
                                     "diagnosis_chapter", "length_of_stay_band", "discharge_year")
    covs = [c for c in s.matching_covariates if c != "diagnosis_chapter"]  # these fixture spells have no diagnosis
    assert covariates_column(s, covs) == ("admission_method, age, sex, imd_decile, prior_emergency_12m, specialty, "
                                          "length_of_stay_band, discharge_year")
    assert design_sentence(s, "any", covs).endswith(
        "matched exactly on admission method and on age, sex, IMD decile, prior emergency admissions, specialty, "
        "length of stay (band), year of discharge. Specialty stands in for the diagnosis (no ICD-10 chapter of the "
        "primary diagnosis is compared).")
    old = s.model_copy(update={"matching_exact": (), "matching_covariates": covs[:4]})
    assert design_sentence(old, "any", covs[:4]).endswith("matched on age, sex, IMD decile, prior emergency admissions.")
    frame, _ = readmission_effects(discharges, s)
    assert frame.set_index("comparison").loc["any", "covariates"].startswith("admission_method, age")
    assert "diagnosis_chapter" not in frame.set_index("comparison").loc["any", "covariates"]


def test_score_by_route_gives_the_any_comparison_a_group_for_day_0_and_one_for_later_days(discharges):
    settings = ReadmissionSettings(score_by_route=True)
    rows = design_rows(discharges, settings, "any")
    assert list(rows["route"].cat.categories) == ["day 0", "days 1+"]
    assert (rows["route"] == "day 0").tolist() == (rows["trial_day"] == 0).tolist()
    for comparison in ("timebank", "programme"):  # one route each: one score, as before
        assert "route" not in design_rows(discharges, settings, comparison)
    # without score_by_route the routes are still there, for balance within each
    assert design_rows(discharges, ReadmissionSettings(), "any")["route"].equals(rows["route"])
    frame, _ = readmission_effects(discharges, settings)
    sentence = frame.set_index("comparison").loc["any", "design_sentence"]
    assert "The score is fitted separately for the discharge day (time-bank route) and for later days" in sentence


@pytest.mark.parametrize("other", [{"design": "landmark"}, {"design": "exposure_window"}, {"method": "ipw"}])
def test_score_by_route_is_refused_where_there_are_no_routes_to_match_apart(other):
    with pytest.raises(ValueError, match="score_by_route"):
        ReadmissionSettings(score_by_route=True, **other)
