"""The ICD-10 chapter of the primary diagnosis in the readmission case mix: WHO chapter boundaries, the first spell's
diagnosis of a continuous spell, and the chapter entering the comparison only when the spells give it."""

from __future__ import annotations

import datetime as dt

import duckdb
import numpy as np
import pandas as pd
import pytest

from models.readmission import ReadmissionSettings, build_index_discharges, readmission_effects
from models.readmission.diagnosis import CHAPTERS, chapter_of, chapter_sql, diagnosis_case_mix

#: (code as given, chapter): the first and last category of every WHO chapter, in the forms extracts use
BOUNDARIES = [
    ("A00", "I"), ("B99.9", "I"), ("C00", "II"), ("D48X", "II"), ("D50", "III"), ("D89", "III"), ("E00", "IV"),
    ("E90", "IV"), ("F00", "V"), ("F99X", "V"), ("G00", "VI"), ("G99.8", "VI"), ("H00", "VII"), ("H59", "VII"),
    ("H60", "VIII"), ("H95", "VIII"), ("I00", "IX"), ("I99", "IX"), ("J00", "X"), ("j99", "X"), ("K00", "XI"),
    ("K93", "XI"), ("L00", "XII"), ("L99", "XII"), ("M00", "XIII"), ("M99", "XIII"), ("N00", "XIV"), ("N99", "XIV"),
    ("O00", "XV"), ("O99", "XV"), ("P00", "XVI"), ("P96", "XVI"), ("Q00", "XVII"), ("Q99", "XVII"), ("R00", "XVIII"),
    ("R69X", "XVIII"), ("S00", "XIX"), ("T98", "XIX"), ("V01", "XX"), ("Y98", "XX"), ("Z00", "XXI"), ("Z99", "XXI"),
    ("U00", "XXII"), ("U85", "XXII"),
]
#: categories between chapters, and no code: no chapter
OUTSIDE = ["D49", "E91", "H96", "K94", "P97", "T99", "V00", "Y99", "U86", "", None]


@pytest.mark.parametrize("code,chapter", BOUNDARIES)
def test_each_chapters_first_and_last_category(code, chapter):
    assert chapter_of(code) == chapter


def test_every_chapter_is_covered_once_and_gaps_have_none():
    assert [c for c, *_ in CHAPTERS] == ["I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X", "XI", "XII", "XIII",
                                         "XIV", "XV", "XVI", "XVII", "XVIII", "XIX", "XX", "XXI", "XXII"]
    assert {chapter for _, chapter in BOUNDARIES} == {c for c, *_ in CHAPTERS}
    assert [chapter_of(code) for code in OUTSIDE] == [None] * len(OUTSIDE)


def test_sql_gives_the_same_chapters():
    codes = [code for code, _ in BOUNDARIES] + OUTSIDE
    got = duckdb.sql(f"SELECT {chapter_sql('c')} FROM unnest($codes::VARCHAR[]) WITH ORDINALITY t(c, i) ORDER BY i",
                     params={"codes": codes}).fetchall()
    assert [g[0] for g in got] == [chapter_of(c) for c in codes]


def test_a_continuous_spell_takes_its_first_spells_diagnosis(tmp_path):
    """P1: I21.9 then, by transfer the same day, Z50.1 at another trust: one continuous spell, chapter IX (the
    admission's diagnosis, as its method). P2: E95 is no ICD-10 category (no chapter). P3: no diagnosis. P4: a chain
    whose first spell has no diagnosis has none, not its second spell's (arg_min skipped the NULL and gave J18.9)."""
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    con.execute("CREATE SCHEMA staging")
    con.execute("CREATE TABLE staging.hospital_spells (spell_id VARCHAR, person_id VARCHAR, provider_id VARCHAR, "
                "admitted_on DATE, discharged_on DATE, admission_method VARCHAR, discharge_destination VARCHAR, "
                "specialty VARCHAR, cancer BOOLEAN, primary_diagnosis VARCHAR)")
    con.execute("""INSERT INTO staging.hospital_spells VALUES
        ('S1', 'P1', 'R1', '2023-02-01', '2023-02-03', 'emergency', 'transfer', 'cardiology', false, 'I21.9'),
        ('S2', 'P1', 'R2', '2023-02-03', '2023-02-10', 'other', 'home', 'rehabilitation', false, 'Z50.1'),
        ('S3', 'P2', 'R1', '2023-03-01', '2023-03-02', 'emergency', 'home', 'general_medicine', false, 'E95'),
        ('S4', 'P3', 'R1', '2023-04-01', '2023-04-02', 'emergency', 'home', 'general_medicine', false, NULL),
        ('S5', 'P4', 'R1', '2023-05-01', '2023-05-03', 'emergency', 'transfer', 'general_medicine', false, NULL),
        ('S6', 'P4', 'R2', '2023-05-03', '2023-05-09', 'other', 'home', 'respiratory_medicine', false, 'J18.9')""")
    build_index_discharges(con, ReadmissionSettings(), as_of=dt.date(2024, 1, 1), run_id="t")
    assert con.execute("SELECT person_id, primary_diagnosis FROM core.continuous_spells ORDER BY person_id").fetchall() == [
        ("P1", "I21.9"), ("P2", "E95"), ("P3", None), ("P4", None)]
    assert con.execute("SELECT person_id, specialty, diagnosis_chapter FROM core.index_discharges ORDER BY person_id"
                       ).fetchall() == [("P1", "rehabilitation", "IX"), ("P2", "general_medicine", None),
                                        ("P3", "general_medicine", None), ("P4", "respiratory_medicine", None)]


def _discharges(chapter: np.ndarray | list) -> pd.DataFrame:
    """40 participant discharges (time-bank activity: time zero day 0), 30 in chapter IX and 10 in X, against 160
    comparison discharges, 40 in IX and 120 in X; other covariates by a fixed pattern, alike in both groups."""
    n = 200
    i = np.arange(n)
    readmitted = (i % 5 == 0) | ((np.asarray(chapter) == "X") & (i % 3 == 0))
    return pd.DataFrame({
        "discharge_id": [f"D{k:03d}" for k in i], "person_id": [f"P{k:03d}" for k in i],
        "exposed_timebank": i < 40, "programme_start_day": np.nan, "readmitted": readmitted,
        "days_to_readmission": np.where(readmitted, 10, np.nan), "admission_method": "emergency", "age": 40 + i % 40,
        "sex": np.where(i % 2, "male", "female"), "imd_decile": 1 + i % 10, "prior_emergency_12m": i % 3,
        "specialty": np.where(i % 4 == 0, "cardiology", "general_medicine"), "diagnosis_chapter": chapter,
        "length_of_stay_band": "1-2", "discharge_year": "2023"})


CHAPTER = np.r_[np.where(np.arange(40) < 30, "IX", "X"), np.where(np.arange(160) < 40, "IX", "X")]


def test_the_chapter_enters_the_score_when_present_with_its_balance_rows():
    frame, results = readmission_effects(_discharges(CHAPTER), ReadmissionSettings())
    row = frame.set_index("comparison").loc["any"]
    assert row["status"] == "estimated" and "diagnosis_chapter" in row["covariates"].split(", ")
    assert "specialty stands in" not in row["warnings"] + row["design_sentence"].lower()
    balance = results["any"].balance.set_index("covariate")
    # before matching: 25% of participants in X against 75% of comparisons; SD with n - 1 in each group, pooled
    pooled_sd = np.sqrt((0.25 * 0.75 * 40 / 39 + 0.75 * 0.25 * 160 / 159) / 2)
    assert balance.loc["diagnosis_chapter[X]", "smd_before"] == pytest.approx(-0.5 / pooled_sd)
    assert abs(balance.loc["diagnosis_chapter[X]", "smd_after"]) < 0.1


@pytest.mark.parametrize("filled,said", [(0, "no discharge has a primary diagnosis"), (50, "only 25% of the discharges")])
def test_without_enough_diagnoses_the_comparison_is_the_one_without_the_chapter(filled, said):
    """No chapter, or one for 50 of 200 discharges (under min_diagnosis_share 90%): the same mart as settings that
    never named the chapter, figure for figure, and a warning that specialty stands in."""
    chapter = np.where(np.arange(200) < filled, CHAPTER, None)
    frame, _ = readmission_effects(_discharges(chapter), ReadmissionSettings())
    plain = ReadmissionSettings().matching_covariates
    without, _ = readmission_effects(_discharges(chapter), ReadmissionSettings(
        matching_covariates=tuple(c for c in plain if c != "diagnosis_chapter")))
    assert "diagnosis_chapter" not in frame.loc[0, "covariates"]
    note = frame.loc[0, "warnings"].split(" | ")[-1]
    assert note.startswith("diagnosis_chapter left out: " + said) and "specialty stands in" in note
    pd.testing.assert_frame_equal(frame.drop(columns="warnings"), without.drop(columns="warnings"))
    assert frame["design_sentence"].str.endswith("Specialty stands in for the diagnosis (no ICD-10 chapter of the "
                                                 "primary diagnosis is compared).").all()


def test_the_share_needed_is_a_setting():
    half = _discharges(np.where(np.arange(200) % 2 == 0, CHAPTER, None))
    kept, notes = diagnosis_case_mix(half, ReadmissionSettings(min_diagnosis_share=0.5))
    assert "diagnosis_chapter" in kept.matching_covariates and notes == []
    dropped, notes = diagnosis_case_mix(half, ReadmissionSettings(min_diagnosis_share=0.51))
    assert "diagnosis_chapter" not in dropped.matching_covariates and len(notes) == 1
    exact, _ = diagnosis_case_mix(half, ReadmissionSettings(matching_exact=("diagnosis_chapter",), min_diagnosis_share=0.51))
    assert exact.readmission_exact == ()
    with pytest.raises(ValueError):
        ReadmissionSettings(min_diagnosis_share=1.5)
