"""Each schema with good and bad rows: every bad row is quarantined with file, line, column and rule."""

from __future__ import annotations

import json

import pytest

from tests.conftest import append_rows, ingest_all

VALID_ROWS = {
    "persons": 4, "timebank_members": 5, "timebank_exchanges": 5, "programme_enrolments": 2,
    "star_readings": 4, "hospital_spells": 4, "justice_events": 2, "offences": 2,
    "service_contacts": 3, "grants": 2, "coproduction_assessments": 2,
}


def test_valid_fixture_is_staged_whole(inputs, warehouse):
    reports = ingest_all(warehouse, inputs)
    for source, rows in VALID_ROWS.items():
        assert (reports[source].rows_read, reports[source].rows_staged, reports[source].rows_quarantined) == (rows, rows, 0), source
    # Two identical GP contacts on one day inside one file are two real contacts.
    assert warehouse.execute("SELECT count(*) FROM staging.service_contacts WHERE service = 'gp'").fetchone()[0] == 2


def test_types_are_parsed(inputs, warehouse):
    ingest_all(warehouse, inputs)
    types = dict(warehouse.execute(
        "SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = 'staging' AND table_name = 'hospital_spells'"
    ).fetchall())
    assert types["admitted_on"] == "DATE" and types["cancer"] == "BOOLEAN"
    covariates = dict(warehouse.execute(
        "SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = 'staging' AND table_name = 'persons'"
    ).fetchall())
    assert covariates["prior_convictions"] == "DOUBLE" and covariates["employment"] == "VARCHAR"


# (source, bad line appended, column, rule)
BAD_ROWS = [
    ("persons", "P009,1970-01-01,alien,E1,3,0,employed", "sex", "isin"),
    ("persons", "P009,not-a-date,male,E1,3,0,employed", "birth_date", "type"),
    ("persons", "P009,2030-01-01,male,E1,3,0,employed", "birth_date", "not_future"),
    ("persons", ",1970-01-01,male,E1,3,0,employed", "person_id", "required"),
    ("timebank_members", "M009,TB01,P001,wizard,2023-01-01,", "role", "isin"),
    ("timebank_members", "M009,TB01,P001,community,2023-01-01,2022-01-01", "left_on", "order"),
    ("timebank_members", "M009,TB01,P999,community,2023-01-01,", "person_id", "unknown_reference"),
    ("timebank_exchanges", "X009,TB01,M001,M002,0,2023-03-01,admin,exchange", "hours", "greater_than"),
    ("timebank_exchanges", "X009,TB01,M001,M002,-2,2023-03-01,admin,exchange", "hours", "greater_than"),
    ("timebank_exchanges", "X009,TB01,M001,M002,25,2023-03-01,admin,exchange", "hours", "less_than_or_equal_to"),
    ("timebank_exchanges", "X009,TB01,M001,M002,NaN,2023-03-01,admin,exchange", "hours", "type"),
    ("timebank_exchanges", "X009,TB01,M001,M002,inf,2023-03-01,admin,exchange", "hours", "type"),
    ("timebank_exchanges", "X009,TB01,M001,M999,1,2023-03-01,admin,exchange", "receiver_id", "unknown_reference"),
    ("timebank_exchanges", "X009,TB01,M001,M002,1,2023-03-01,admin,barter", "kind", "isin"),
    ("programme_enrolments", "P001,peer_visiting_after_discharge,2023-03-05,2023-01-01", "ended_on", "order"),
    ("star_readings", "P001,wellbeing_star,2023-09-15,lifestyle,7", "score", "within_scale"),
    ("star_readings", "P001,wellbeing_star,2023-09-15,accommodation,3", "area", "area_in_version"),
    ("star_readings", "P001,happiness_star,2023-09-15,lifestyle,3", "star_version", "known_version"),
    ("star_readings", "P003,swemwbs,2023-08-20,total,36", "score", "within_scale"),
    ("hospital_spells", "S009,P002,RXX01,2023-05-05,2023-05-01,emergency,home,general_medicine,false", "discharged_on", "order"),
    ("hospital_spells", "S009,P002,RXX01,2023-05-01,2023-05-05,urgent,home,general_medicine,false", "admission_method", "isin"),
    ("hospital_spells", "S009,P002,RXX01,2023-05-01,2023-05-05,emergency,home,general_medicine,maybe", "cancer", "type"),
    ("hospital_spells", "S009,P999,RXX01,2023-05-01,2023-05-05,emergency,home,general_medicine,false", "person_id", "unknown_reference"),
    ("justice_events", "P004,parole,2023-04-28", "event_type", "isin"),
    ("justice_events", "P004,caution,2031-04-28", "event_date", "not_future"),
    ("offences", "O009,P004,2023-09-01,2023-08-01,theft,false", "proven_on", "order"),
    ("offences", "O009,P999,2023-09-01,2023-10-01,theft,false", "person_id", "unknown_reference"),
    ("service_contacts", "P001,dentist,2023-01-05", "service", "isin"),
    ("grants", "G009,Fund,TB01,-5,2023-01-01,2023-12-31", "amount", "greater_than_or_equal_to"),
    ("grants", "G009,Fund,TB01,500,2023-12-31,2023-01-01", "period_end", "order"),
    ("coproduction_assessments", "TB01,2023-06-01,assets,d1_i3,6", "score", "in_range"),
    ("coproduction_assessments", "TB01,2023-06-01,assets,d1_i3,3.5", "score", "type"),
]


@pytest.mark.parametrize("source,line,column,rule", BAD_ROWS, ids=[f"{b[0]}-{b[3]}-{i}" for i, b in enumerate(BAD_ROWS)])
def test_bad_row_is_quarantined_with_reason(inputs, warehouse, source, line, column, rule):
    path = inputs / f"{source}.csv"
    bad_line = sum(1 for _ in open(path)) + 1
    append_rows(path, line)
    report = ingest_all(warehouse, inputs)[source]
    assert report.rows_read == VALID_ROWS[source] + 1
    assert report.rows_staged == VALID_ROWS[source]
    assert report.rows_quarantined == 1
    got = warehouse.execute(f'SELECT source_file, source_line, "column", rule, expected, violations FROM quarantine.{source}').fetchone()
    assert got[0] == str(path) and got[1] == bad_line
    assert (got[2], got[3]) == (column, rule)
    assert got[4]  # the expected form is always said
    assert json.loads(got[5])[0]["rule"] == rule


# (source, line appended, column, rule): an optional covariate's bad value is cleared, the row staged
CLEARED = [
    ("persons", "P009,1970-01-01,male,E1,11,0,employed", "imd_decile", "in_range", "'11'"),
    ("persons", "P009,1970-01-01,male,E1,0,0,employed", "imd_decile", "in_range", "'0'"),
    ("persons", "P009,1970-01-01,male,E1,seven,0,employed", "imd_decile", "type", "'seven'"),
    ("persons", "P009,1970-01-01,male,E1,3.5,0,employed", "imd_decile", "type", "'3.5'"),
    ("hospital_spells", "S009,P002,RXX01,2023-05-01,2023-05-05,emergency,home,general_medicine,false,I2", "primary_diagnosis",
     "icd10_code", "'I2'"),
]


@pytest.mark.parametrize("source,line,column,rule,value", CLEARED, ids=[f"{c[0]}-{c[3]}-{c[4]}" for c in CLEARED])
def test_bad_covariate_is_cleared_and_its_row_staged(inputs, warehouse, source, line, column, rule, value):
    path = inputs / f"{source}.csv"
    if column not in path.read_text().splitlines()[0].split(","):  # the fixture's spells have no diagnosis column
        path.write_text("\n".join(f"{row},{column if i == 0 else ''}" for i, row in enumerate(path.read_text().splitlines())) + "\n")
    bad_line = sum(1 for _ in open(path)) + 1
    append_rows(path, line)
    report = ingest_all(warehouse, inputs)[source]
    assert (report.rows_read, report.rows_staged, report.rows_quarantined) == (VALID_ROWS[source] + 1, VALID_ROWS[source] + 1, 0)
    assert report.values_cleared == {(column, rule): 1}
    assert warehouse.execute(f'SELECT "{column}" FROM staging.{source} WHERE source_line = ?', [bad_line]).fetchall() == [(None,)]
    got = warehouse.execute('SELECT source, source_file, source_line, "column", rule, value FROM quarantine.cleared_values').fetchall()
    assert got == [(source, str(path), bad_line, column, rule, value.strip("'"))]


def test_a_bad_imd_decile_costs_the_decile_not_the_person_and_their_records(inputs, warehouse):
    """Before, the person was quarantined for it, and with them every record of theirs (unknown_reference)."""
    append_rows(inputs / "persons.csv", "P009,1970-01-01,male,E1,eleven,0,employed")
    append_rows(inputs / "hospital_spells.csv", "S009,P009,RXX01,2023-05-01,2023-05-05,emergency,home,general_medicine,false")
    reports = ingest_all(warehouse, inputs)
    assert [(reports[s].rows_staged, reports[s].rows_quarantined) for s in ("persons", "hospital_spells")] == [(5, 0), (5, 0)]
    assert warehouse.execute('SELECT source, source_line, "column", rule FROM quarantine.cleared_values').fetchall() == [
        ("persons", 6, "imd_decile", "type")]


def test_cleared_values_are_replaced_by_each_ingest_of_their_source(inputs, warehouse):
    """A rerun lists each cleared value once; a source ingested again without the bad value, or not supplied, lists none."""
    append_rows(inputs / "persons.csv", "P009,1970-01-01,male,E1,11,0,employed")
    ingest_all(warehouse, inputs, sources=["persons"])
    ingest_all(warehouse, inputs, run_id="run-2", sources=["persons"])
    assert warehouse.execute("SELECT source_line, run_id FROM quarantine.cleared_values").fetchall() == [(6, "run-2")]
    (inputs / "persons.csv").unlink()
    assert ingest_all(warehouse, inputs, run_id="run-3", sources=["persons"])["persons"].values_cleared == {}
    assert warehouse.execute("SELECT count(*) FROM quarantine.cleared_values").fetchone() == (0,)


def test_every_broken_rule_is_listed(inputs, warehouse):
    append_rows(inputs / "hospital_spells.csv", "S009,P002,RXX01,2023-05-05,2023-05-01,urgent,home,general_medicine,maybe")
    ingest_all(warehouse, inputs)
    rules = [v["rule"] for v in json.loads(warehouse.execute("SELECT violations FROM quarantine.hospital_spells").fetchone()[0])]
    assert rules == ["isin", "type", "order"]


def test_duplicates_and_conflicts(inputs, warehouse):
    append_rows(inputs / "persons.csv",
                "P001,1950-03-01,female,E06000001,2,0,inactive",  # exact duplicate of line 2
                "P003,1985-11-30,female,E06000002,9,1,employed")  # conflicts with line 4
    report = ingest_all(warehouse, inputs)["persons"]
    assert (report.rows_read, report.rows_staged, report.rows_quarantined) == (6, 3, 3)
    rows = warehouse.execute("SELECT source_line, rule FROM quarantine.persons ORDER BY source_line").fetchall()
    assert rows == [(4, "conflicting_key"), (6, "duplicate_row"), (7, "conflicting_key")]


def test_conflicting_star_readings_are_both_quarantined(inputs, warehouse):
    append_rows(inputs / "star_readings.csv", "P001,wellbeing_star,2023-01-15,lifestyle,3")
    report = ingest_all(warehouse, inputs)["star_readings"]
    assert report.rows_quarantined == 2
    assert {r[0] for r in warehouse.execute("SELECT rule FROM quarantine.star_readings").fetchall()} == {"conflicting_record"}


def test_redelivered_file_of_keyless_source_is_not_double_counted(inputs, warehouse):
    (inputs / "service_contacts_copy.csv").write_text((inputs / "service_contacts.csv").read_text())
    report = ingest_all(warehouse, inputs)["service_contacts"]
    assert (report.rows_read, report.rows_staged, report.rows_quarantined) == (6, 3, 3)


def test_uk_dates_and_boolean_words_parse(inputs, warehouse):
    append_rows(inputs / "hospital_spells.csv", "S010,P002,RXX01,01/05/2023,05/05/2023,emergency,home,general_medicine,yes")
    ingest_all(warehouse, inputs)
    row = warehouse.execute("SELECT admitted_on::VARCHAR, cancer FROM staging.hospital_spells WHERE source_line = 6").fetchone()
    assert row == ("2023-05-01", True)


def test_identifier_is_pseudonymised_from_its_trimmed_text(inputs, warehouse):
    """An identifier read with spaces around it gets the pseudonym of the trimmed text (so it joins
    its person); one that is only spaces is empty: quarantined as required, never pseudonymised."""
    append_rows(inputs / "service_contacts.csv", '"  P002 ",gp,2023-02-01', "P002,gp,2023-02-02", '"   ",gp,2023-02-03')
    report = ingest_all(warehouse, inputs)["service_contacts"]
    assert (report.rows_read, report.rows_staged, report.rows_quarantined) == (6, 5, 1)
    padded, plain, person = warehouse.execute(
        "SELECT (SELECT person_id FROM staging.service_contacts WHERE source_line = 5), "
        "(SELECT person_id FROM staging.service_contacts WHERE source_line = 6), "
        "(SELECT person_id FROM staging.persons WHERE source_line = 3)"
    ).fetchone()
    assert padded == plain == person and len(padded) == 64
    assert warehouse.execute('SELECT source_line, "column", rule, value FROM quarantine.service_contacts').fetchall() == [
        (7, "person_id", "required", None)]


def test_a_date_of_death_is_staged_checked_against_birth_and_never_in_the_future(inputs, warehouse):
    """persons.died_on (optional): a death before birth breaks ``order``, one after the as-of date ``not_future``;
    a valid one is staged as a date, and an empty one is no death."""
    path = inputs / "persons.csv"
    header, *rows = path.read_text().splitlines()
    path.write_text("\n".join([header + ",died_on", *(r + "," for r in rows),
                               "P010,1950-01-01,female,E1,3,0,retired,2024-02-01",
                               "P011,1950-01-01,female,E1,3,0,retired,1949-12-31",
                               "P012,1950-01-01,female,E1,3,0,retired,2031-01-01"]) + "\n")
    report = ingest_all(warehouse, inputs, sources=("persons",))["persons"]
    assert (report.rows_read, report.rows_staged, report.rows_quarantined) == (len(rows) + 3, len(rows) + 1, 2)
    staged = warehouse.execute("SELECT count(died_on), max(died_on)::VARCHAR FROM staging.persons").fetchone()
    assert staged == (1, "2024-02-01")
    broken = warehouse.execute('SELECT "column", rule FROM quarantine.persons ORDER BY source_line').fetchall()
    assert broken == [("died_on", "order"), ("died_on", "not_future")]


def test_a_file_writing_dates_month_first_has_none_of_its_slash_dates_read(inputs, warehouse):
    """Before: 03/15/2023 was rejected (no month 15) but 01/05/2023 beside it was staged as 1 May, when the file
    meant 5 January. Now every slash date in that file is quarantined (month_first_date); the ISO dates in it and
    another file's UK dates are read."""
    append_rows(inputs / "service_contacts.csv", "P001,gp,03/15/2023", "P001,ae,01/05/2023", "P002,gp,12/31/2023",
                "P002,gp,2023-06-01")
    (inputs / "service_contacts_2.csv").write_text("person_id,service,contact_on\nP002,ae,01/05/2023\n")
    report = ingest_all(warehouse, inputs)["service_contacts"]
    assert (report.rows_read, report.rows_staged, report.rows_quarantined) == (8, 5, 3)
    rows = warehouse.execute("SELECT source_line, rule, \"column\" FROM quarantine.service_contacts "
                             "ORDER BY source_line").fetchall()
    assert rows == [(5, "type", "contact_on"), (6, "month_first_date", "contact_on"), (7, "type", "contact_on")]
    staged = warehouse.execute("SELECT split_part(source_file, '/', -1), contact_on::VARCHAR FROM staging.service_contacts "
                               "WHERE contact_on > '2023-03-01' ORDER BY 1").fetchall()
    assert staged == [("service_contacts.csv", "2023-06-01"), ("service_contacts_2.csv", "2023-05-01")]


def test_a_file_with_a_header_and_no_rows_is_noted(inputs, warehouse):
    """Before: an export that wrote only its header gave a green run with the source empty and no word on it."""
    (inputs / "programme_enrolments.csv").write_text("person_id,programme_id,started_on,ended_on\n")
    report = ingest_all(warehouse, inputs)["programme_enrolments"]
    assert (report.rows_read, report.rows_staged) == (0, 0)
    assert report.notes == ["programme_enrolments.csv: a header and no rows: nothing was read from this file"]
    assert ingest_all(warehouse, inputs)["persons"].notes == []
