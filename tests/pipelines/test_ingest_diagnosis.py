"""hospital_spells.primary_diagnosis: optional; an ICD-10 code as given is staged, anything else is quarantined with
file, line, column and rule ``icd10_code``."""

from __future__ import annotations

import json

import pandas as pd
import pandera.pandas as pa
import pytest

from schemas.raw import HospitalSpells
from tests.conftest import ingest_all

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


def test_codes_as_given_are_staged_and_bad_ones_quarantined(inputs, warehouse):
    path = _write(inputs, [*GOOD, "", *BAD])
    report = ingest_all(warehouse, inputs)["hospital_spells"]
    assert (report.rows_read, report.rows_staged, report.rows_quarantined) == (14, 8, 6)
    staged = [r[0] for r in warehouse.execute(
        "SELECT primary_diagnosis FROM staging.hospital_spells ORDER BY admitted_on, primary_diagnosis NULLS LAST").fetchall()]
    assert sorted(staged, key=str) == sorted([*GOOD, None], key=str)  # stored as given; an empty field is no diagnosis
    got = warehouse.execute('SELECT source_file, source_line, "column", rule, expected, violations '
                            "FROM quarantine.hospital_spells ORDER BY source_line").fetchall()
    assert [g[1] for g in got] == list(range(10, 16))  # header line 1, 7 good and 1 empty rows on lines 2-9
    for (file, _, column, rule, expected, violations), code in zip(got, BAD):
        assert (file, column, rule) == (str(path), "primary_diagnosis", "icd10_code")
        assert expected.startswith("an ICD-10 code")
        assert json.loads(violations) == [{"column": "primary_diagnosis", "rule": "icd10_code", "expected": expected,
                                           "value": code}]


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
