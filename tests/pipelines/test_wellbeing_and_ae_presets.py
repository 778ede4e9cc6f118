"""Well-being forms (SWEMWBS, WEMWBS, ONS4 item by item), HES A&E and ECDS attendances through their presets.

Each expected total below is the sum of the fixture's items, checkable by hand.
"""

from __future__ import annotations

import shutil

import pytest

from pipelines.ingest.stage import ingest_source
from schemas.mapping import MappingUse
from tests.conftest import AS_OF, FIXTURES, KEY

EXTRACTS = FIXTURES / "extracts"
PERSONS = "person_id,birth_date,sex,area_code,imd_decile\nA01,1950-01-01,female,,\nB02,1960-01-01,male,,\nC03,1970-01-01,female,,\n"


def _ingest(tmp_path, con, source, files, uses):
    folder = tmp_path / "in"
    (folder / source).mkdir(parents=True)
    (folder / "persons.csv").write_text(PERSONS)
    for f in files:
        shutil.copy(EXTRACTS / f, folder / source / f.split("/")[-1])
    ingest_source(con, "persons", folder, run_id="r", as_of=AS_OF, key=KEY)
    return ingest_source(con, source, folder, run_id="r", as_of=AS_OF.replace(year=2025), key=KEY, mappings=uses)


def test_swemwbs_and_wemwbs_forms_are_scored_and_incomplete_forms_quarantined(tmp_path, warehouse):
    uses = [MappingUse(use="swemwbs_items", files="swemwbs*"), MappingUse(use="wemwbs_items", files="wemwbs*")]
    report = _ingest(tmp_path, warehouse, "star_readings", ["wellbeing/swemwbs_forms.csv", "wellbeing/wemwbs_forms.csv"], uses)
    assert (report.rows_read, report.rows_staged, report.rows_quarantined) == (7, 4, 3)
    staged = warehouse.execute("SELECT star_version, assessed_on::VARCHAR, area, score FROM staging.star_readings "
                               "ORDER BY star_version, assessed_on").fetchall()
    assert staged == [("swemwbs", "2024-01-10", "total", 21.0),   # 3+3+2+4+3+3+3
                      ("swemwbs", "2024-01-12", "total", 35.0),   # all 5
                      ("swemwbs", "2024-06-10", "total", 26.0),   # 4+4+3+4+4+3+4
                      ("wemwbs", "2024-01-10", "total", 42.0)]    # 14 x 3
    quarantined = warehouse.execute("SELECT source_line, rule, value FROM quarantine.star_readings ORDER BY source_file, source_line").fetchall()
    assert quarantined == [(5, "incomplete_form", "6 of 7 items"), (6, "item_out_of_range", "items 1 2 3 6 2 2 2"), (3, "incomplete_form", "13 of 14 items")]


def test_ons4_forms_become_one_reading_per_answered_item(tmp_path, warehouse):
    report = _ingest(tmp_path, warehouse, "star_readings", ["wellbeing/ons4_forms.csv"], [MappingUse(use="ons4_items")])
    # 4 answers from A01, 3 from B02 (worthwhile left blank: no reading); B02's anxiety 11 is outside 0-10.
    assert (report.rows_read, report.rows_staged, report.rows_quarantined) == (7, 6, 1)
    assert warehouse.execute("SELECT area, score FROM staging.star_readings WHERE assessed_on = '2024-01-10' ORDER BY area").fetchall() == [
        ("anxiety", 4.0), ("happiness", 5.0), ("life_satisfaction", 6.0), ("worthwhile", 7.0)]
    assert warehouse.execute("SELECT source_line, \"column\", rule FROM quarantine.star_readings").fetchall() == [(3, "score", "within_scale")]


def test_hes_ae_attendances_are_ae_contacts_and_planned_follow_ups_quarantined(tmp_path, warehouse):
    report = _ingest(tmp_path, warehouse, "service_contacts", ["hes_ae/hes_ae_attendances.csv"], [MappingUse(use="hes_ae_attendances")])
    assert (report.rows_read, report.rows_staged, report.rows_quarantined) == (4, 2, 2)
    assert warehouse.execute("SELECT service, contact_on::VARCHAR FROM staging.service_contacts ORDER BY contact_on").fetchall() == [
        ("ae", "2024-02-01"), ("ae", "2024-03-10")]
    assert warehouse.execute("SELECT source_line, rule, value FROM quarantine.service_contacts ORDER BY source_line").fetchall() == [
        (3, "planned_follow_up", "2"), (5, "date_format", "2024-13-01")]


def test_ecds_attendances_are_ae_contacts_and_planned_duplicate_and_unmapped_rows_quarantined(tmp_path, warehouse):
    """Six attendances: two kept; a planned one, a duplicate, an Arrival_Planned 'Y' and a bad date quarantined."""
    report = _ingest(tmp_path, warehouse, "service_contacts", ["ecds/ecds_attendances.csv"], [MappingUse(use="ecds_attendances")])
    assert (report.rows_read, report.rows_staged, report.rows_quarantined) == (6, 2, 4)
    assert warehouse.execute("SELECT service, contact_on::VARCHAR FROM staging.service_contacts ORDER BY contact_on").fetchall() == [
        ("ae", "2024-02-01"), ("ae", "2024-03-10")]
    assert warehouse.execute("SELECT source_line, \"column\", rule, value FROM quarantine.service_contacts ORDER BY source_line").fetchall() == [
        (3, "service", "planned_attendance", "TRUE"), (5, "service", "duplicate_record", "1"),
        (6, "planned", "unmapped_value", "y"), (7, "contact_on", "date_format", "2024-13-01")]


def test_an_ecds_extract_without_arrival_date_names_the_missing_column(tmp_path, warehouse):
    folder = tmp_path / "in" / "service_contacts"
    folder.mkdir(parents=True)
    (folder / "ecds.csv").write_text("Token_Person_ID,EC_Ident,Der_EC_Arrival_Date_Time\nA01,1,2024-02-01 10:00\n")
    with pytest.raises(Exception, match="arrival_date"):
        ingest_source(warehouse, "service_contacts", tmp_path / "in", run_id="r", as_of=AS_OF, key=KEY,
                      mappings=[MappingUse(use="ecds_attendances")])


def test_hes_ae_placeholder_arrival_dates_are_quarantined_not_staged(tmp_path, warehouse):
    """HES writes a null or invalid ARRIVALDATE as 1800-01-01 or 1801-01-01 (the Health Foundation HES
    pipeline makes both missing: HFAnalyticsLab/HES_pipeline src/clean.R, parse_HES). Read as dates
    they were staged as A&E contacts in 1800 and 1801."""
    report = _ingest(tmp_path, warehouse, "service_contacts", ["hes_ae/hes_ae_null_dates.csv"], [MappingUse(use="hes_ae_attendances")])
    assert (report.rows_read, report.rows_staged, report.rows_quarantined) == (3, 1, 2)
    assert warehouse.execute("SELECT contact_on::VARCHAR FROM staging.service_contacts").fetchall() == [("2024-02-01",)]
    assert warehouse.execute("SELECT source_line, \"column\", rule, value FROM quarantine.service_contacts ORDER BY source_line").fetchall() == [
        (3, "contact_on", "hes_null_date", "1800-01-01"), (4, "contact_on", "hes_null_date", "1801-01-01")]
