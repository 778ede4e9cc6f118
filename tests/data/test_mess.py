"""The demo's bad rows (data/synthetic/mess.py): about 1% per source, every one quarantined, no real row touched."""

from __future__ import annotations

import datetime as dt
import json

from data.generate import main
from data.synthetic.mess import spoil_row
from schemas.contract import contract
from schemas.raw import SOURCES
from pipelines.ingest.stage import ingest_source
from tests.conftest import KEY


def test_each_kind_breaks_one_field():
    spec = contract("hospital_spells")
    row = {"spell_id": "S1", "person_id": "P1", "provider_id": "R", "admitted_on": "2023-05-14",
           "discharged_on": "2023-05-20", "admission_method": "emergency", "discharge_destination": "home",
           "specialty": "general_medicine", "cancer": "false"}
    assert spoil_row(row, "duplicate", spec, 7) == row
    assert spoil_row(row, "future_date", spec, 7) == {**row, "spell_id": "S1-7", "admitted_on": "2123-05-14"}
    assert spoil_row(row, "two_digit_year", spec, 7) == {**row, "spell_id": "S1-7", "admitted_on": "14/05/23"}
    assert spoil_row(row, "unknown_reference", spec, 7) == {**row, "spell_id": "S1-7", "person_id": "UNKNOWN00007"}
    assert spoil_row(row, "wrong_type", spec, 7) == {**row, "spell_id": "S1-7", "admitted_on": "last Tuesday"}


def test_bad_rows_are_all_quarantined_and_the_real_rows_all_staged(tmp_path, warehouse):
    out = tmp_path / "sample"
    assert main(["--persons", "300", "--seed", "3", "--out", str(out), "--bad-rows", "0.01", "--quiet"]) == 0
    rows = json.loads((out / "truth.json").read_text())["realised"]["rows"]
    reports = {s: ingest_source(warehouse, s, out, run_id="r", as_of=dt.date.today(), key=KEY) for s in SOURCES}
    rules = set()
    for source in SOURCES:
        report = reports[source]
        assert report.rows_staged == rows[source], source  # every real row, as generated
        assert report.rows_quarantined == report.rows_read - rows[source] >= 1, source
        assert report.rows_quarantined <= max(1, round(0.01 * rows[source])), source
        rules |= set(report.rules_broken)
    assert {"type", "not_future", "unknown_reference", "duplicate_row"} <= rules
    two_digit_years = sum(warehouse.execute(f"SELECT count(*) FROM quarantine.{s} WHERE value LIKE '__/__/__'")
                          .fetchone()[0] for s in SOURCES)
    assert two_digit_years >= 1


def test_bad_rows_need_csv(tmp_path, capsys):
    try:
        main(["--persons", "50", "--seed", "1", "--out", str(tmp_path), "--format", "parquet", "--bad-rows", "0.01"])
    except SystemExit as exit:
        assert exit.code == 2
    assert "needs --format csv" in capsys.readouterr().err
