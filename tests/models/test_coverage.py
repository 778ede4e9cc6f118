"""marts.outcome_coverage: each family's status from a hand-built warehouse (models/coverage.py)."""

from __future__ import annotations

import duckdb

from models.coverage import COLUMNS, outcome_coverage


def _warehouse(path, statements):
    con = duckdb.connect(str(path))
    for schema in ("staging", "core", "marts"):
        con.execute(f"CREATE SCHEMA {schema}")
    for sql in statements:
        con.execute(sql)
    return con


def test_an_empty_warehouse_says_no_source_data_for_every_family(tmp_path):
    with _warehouse(tmp_path / "w.duckdb", []) as con:
        frame = outcome_coverage(con)
    assert list(frame.columns) == COLUMNS
    assert dict(zip(frame["outcome_family"], frame["status"])) == {
        "readmission": "no source data", "reoffending": "no source data", "wellbeing": "no source data",
        "reciprocity": "no source data", "social_value": "no source data"}
    assert frame.loc[frame["outcome_family"] == "readmission", "message"].item() == (
        "Emergency readmission: not measured, because no hospital spells were supplied (or none passed the "
        "data checks).")


def test_each_status_from_staged_rows_participants_and_estimates(tmp_path):
    with _warehouse(tmp_path / "w.duckdb", [
        # readmission: spells and an exposed discharge with an estimate -> estimated
        "CREATE TABLE staging.hospital_spells AS SELECT 1 AS x",
        "CREATE TABLE staging.timebank_members AS SELECT 1 AS x",
        "CREATE TABLE core.index_discharges AS SELECT true AS exposed, true AS full_follow_up",
        "CREATE TABLE marts.readmission_effects AS SELECT 'estimated' AS status",
        # reoffending: events, participants, no estimate -> not estimated
        "CREATE TABLE staging.justice_events AS SELECT 1 AS x",
        "CREATE TABLE core.justice_cohort AS SELECT true AS participant",
        "CREATE TABLE marts.reoffending_effects AS SELECT NULL::DOUBLE AS estimate, 'not estimable' AS verdict",
        # well-being: readings but nobody took part -> no participants
        "CREATE TABLE staging.star_readings AS SELECT 1 AS x",
        "CREATE TABLE core.wellbeing_people AS SELECT false AS participant",
        # social value: an outcome valued -> estimated
        "CREATE TABLE marts.impact_map AS SELECT 'valued' AS status",
    ]) as con:
        frame = outcome_coverage(con).set_index("outcome_family")
    assert frame["status"].to_dict() == {"readmission": "estimated", "reoffending": "not estimated",
                                         "wellbeing": "no participants", "reciprocity": "no source data",
                                         "social_value": "estimated"}
    assert frame.loc["wellbeing", "message"] == ("Well-being: no participants, so no effect was estimated: none of the "
                                                 "people in the star readings took part in a time bank or "
                                                 "programme.")
    assert frame.loc["reoffending", "sources"] == "justice_events"


def test_social_value_follows_the_outcomes_when_nothing_was_valued(tmp_path):
    with _warehouse(tmp_path / "w.duckdb", [
        "CREATE TABLE staging.hospital_spells AS SELECT 1 AS x",
        "CREATE TABLE core.index_discharges AS SELECT false AS exposed, true AS full_follow_up",
        "CREATE TABLE marts.impact_map AS SELECT 'omitted: no results' AS status",
    ]) as con:
        frame = outcome_coverage(con).set_index("outcome_family")
    assert frame.loc["readmission", "status"] == "no participants"
    assert frame.loc["readmission", "message"].endswith("no time-bank or programme records were supplied to say who took part.")
    assert frame.loc["social_value", "status"] == "no participants"
