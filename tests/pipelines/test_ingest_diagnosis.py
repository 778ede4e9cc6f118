"""hospital_spells.primary_diagnosis: optional; an ICD-10 code as given is staged, anything else is cleared (the spell
staged without it) and listed in quarantine.cleared_values with file, line, column and rule ``icd10_code``."""

from __future__ import annotations

import datetime as dt
import json
import shutil

import pandas as pd
import pandera.pandas as pa
import pytest

from models.readmission import ReadmissionSettings, build_index_discharges
from schemas.raw import HospitalSpells
from tests.conftest import FIXTURES, ingest_all

HEADER = "spell_id,person_id,provider_id,admitted_on,discharged_on,admission_method,discharge_destination,specialty,cancer,primary_diagnosis"
ROW = "S{n:03d},P002,RXX01,2023-05-01,2023-05-05,emergency,home,general_medicine,false,{code}"
GOOD = ["I21.9", "I219", "R69X", "J18-", "i219", "G473A", "U071"]  # with a stop, without, HES fillers, lower case, 5th char
BAD = ["21I", "I2", "I21.", "heart attack", "I21.9999", "I-21"]


def _write(inputs, codes):
    path = inputs / "hospital_spells.csv"
    path.write_text("\n".join([HEADER, *(ROW.format(n=100 + i, code=c) for i, c in enumerate(codes))]) + "\n")
    return path


def test_the_column_may_be_absent(inputs, warehouse):
    """The valid fixture has no primary_diagnosis: every row is staged and the column is there, empty."""
    report = ingest_all(warehouse, inputs)["hospital_spells"]
    assert (report.rows_staged, report.rows_quarantined) == (4, 0)
    assert warehouse.execute("SELECT count(*), count(primary_diagnosis) FROM staging.hospital_spells").fetchone() == (4, 0)


def test_codes_as_given_are_staged_and_bad_ones_cleared(inputs, warehouse):
    """A spell with a diagnosis that is no ICD-10 code is staged without it (the diagnosis is a covariate the
    readmission model can do without); each cleared value is listed with its file, line, column and rule."""
    path = _write(inputs, [*GOOD, "", *BAD])
    report = ingest_all(warehouse, inputs)["hospital_spells"]
    assert (report.rows_read, report.rows_staged, report.rows_quarantined) == (14, 14, 0)
    assert report.values_cleared == {("primary_diagnosis", "icd10_code"): 6}
    staged = warehouse.execute("SELECT source_line, primary_diagnosis FROM staging.hospital_spells ORDER BY source_line").fetchall()
    assert staged == [(2 + i, code) for i, code in enumerate(GOOD)] + [(n, None) for n in range(9, 16)]  # as given; empty
    got = warehouse.execute('SELECT source, source_file, source_line, "column", rule, expected, value, run_id '
                            "FROM quarantine.cleared_values ORDER BY source_line").fetchall()
    assert [g[2] for g in got] == list(range(10, 16))  # header line 1, 7 good and 1 empty rows on lines 2-9
    for (source, file, _, column, rule, expected, value, run_id), code in zip(got, BAD):
        assert (source, file, column, rule, value, run_id) == ("hospital_spells", str(path), "primary_diagnosis", "icd10_code",
                                                               code, "run-1")
        assert expected.startswith("an ICD-10 code")


def test_a_row_lost_for_another_rule_lists_its_bad_diagnosis_after_that_rule(inputs, warehouse):
    """A bad identifier still quarantines the row, whatever its diagnosis: the rule that cost the row comes first, the
    bad diagnosis after it (also after a table rule), and the value is not listed as cleared (its row is not staged)."""
    path = inputs / "hospital_spells.csv"
    path.write_text("\n".join([HEADER, ROW.format(n=1, code="I21.9"), ROW.format(n=2, code="heart attack"),
                               "S003,,RXX01,2023-05-01,2023-05-05,emergency,home,general_medicine,false,I21.9",
                               "S004,,RXX01,2023-05-01,2023-05-05,emergency,home,general_medicine,false,heart attack",
                               "S005,P999,RXX01,2023-05-01,2023-05-05,emergency,home,general_medicine,false,I2"]) + "\n")
    report = ingest_all(warehouse, inputs)["hospital_spells"]
    assert (report.rows_read, report.rows_staged, report.rows_quarantined) == (5, 2, 3)
    assert report.values_cleared == {("primary_diagnosis", "icd10_code"): 1}
    assert warehouse.execute("SELECT source_line, primary_diagnosis FROM staging.hospital_spells ORDER BY 1").fetchall() == [
        (2, "I21.9"), (3, None)]
    assert warehouse.execute('SELECT source_line, "column", rule FROM quarantine.cleared_values').fetchall() == [
        (3, "primary_diagnosis", "icd10_code")]
    lost = warehouse.execute('SELECT source_line, "column", rule, violations FROM quarantine.hospital_spells ORDER BY 1').fetchall()
    assert [(line, column, rule, [(v["column"], v["rule"]) for v in json.loads(vs)]) for line, column, rule, vs in lost] == [
        (4, "person_id", "required", [("person_id", "required")]),
        (5, "person_id", "required", [("person_id", "required"), ("primary_diagnosis", "icd10_code")]),
        (6, "person_id", "unknown_reference", [("person_id", "unknown_reference"), ("primary_diagnosis", "icd10_code")]),
    ]


def test_a_readmission_with_a_bad_diagnosis_still_counts(tmp_path, warehouse):
    """tests/fixtures/readmission: A01 is discharged on 5 January 2023 (SA1, I21.9) and readmitted as an emergency on
    3 February, 29 days later (SA2). SA2's diagnosis is no code: SA2 is staged without it, so the 5 January discharge
    is still readmitted within 30 days, with its own chapter (IX, circulatory: I00-I99), and SA2 is an index discharge
    of its own with no chapter. Before, SA2 was quarantined and the readmission lost."""
    folder = tmp_path / "in"
    shutil.copytree(FIXTURES / "readmission", folder)
    spells = folder / "hospital_spells.csv"
    lines = spells.read_text().splitlines()
    codes = {0: "primary_diagnosis", 1: "I21.9", 2: "heart attack"}
    spells.write_text("\n".join(f"{line},{codes.get(i, '')}" for i, line in enumerate(lines)) + "\n")
    report = ingest_all(warehouse, folder)["hospital_spells"]
    assert (report.rows_quarantined, report.values_cleared) == (0, {("primary_diagnosis", "icd10_code"): 1})
    assert warehouse.execute('SELECT source_file, source_line, "column", rule, value FROM quarantine.cleared_values').fetchall() == [
        (str(spells), 3, "primary_diagnosis", "icd10_code", "heart attack")]
    build_index_discharges(warehouse, ReadmissionSettings(), as_of=dt.date(2025, 1, 1), run_id="t")
    got = warehouse.execute(
        "SELECT discharged_on, diagnosis_chapter, readmitted, days_to_readmission FROM core.index_discharges "
        "WHERE person_id = (SELECT person_id FROM staging.hospital_spells WHERE source_line = 2) ORDER BY discharged_on").fetchall()
    assert got == [(dt.date(2023, 1, 5), "IX", True, 29), (dt.date(2023, 2, 6), None, False, None)]


def test_pandera_model_rejects_what_sql_rejects():
    frame = pd.DataFrame({"spell_id": ["S1", "S2"], "person_id": ["P1", "P1"], "provider_id": ["R", "R"],
                          "admitted_on": pd.to_datetime(["2023-01-01"] * 2), "discharged_on": pd.to_datetime(["2023-01-02"] * 2),
                          "admission_method": ["emergency"] * 2, "discharge_destination": ["home"] * 2,
                          "specialty": ["general_medicine"] * 2, "cancer": [False, False], "primary_diagnosis": ["I219", "I2"]})
    with pytest.raises(pa.errors.SchemaErrors) as err:
        HospitalSpells.validate(frame, lazy=True)
    cases = err.value.failure_cases
    assert list(cases["failure_case"]) == ["I2"] and cases["check"].astype(str).str.startswith("icd10_code(").all()
    HospitalSpells.validate(frame.drop(columns="primary_diagnosis"), lazy=True)  # optional
