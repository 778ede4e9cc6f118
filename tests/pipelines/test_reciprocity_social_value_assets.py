"""Reciprocity and social-value assets in one real in-process run on the hand-checkable fixture.

TB01's log (tests/fixtures/valid): M002->M001 2 h, M001->M002 1.5 h, M001->M003 1 h,
M003->M002 0.75 h (exchanges: 5.25 h), and M002 donates 1 h to the goodwill pot M004.
The impact map values TB01's hours at the National Living Wage (GBP 11.44, 2024 prices),
no deadweight, one year, Green Book 3.5% from year 1: PV = 5.25 x 11.44 / 1.035 = GBP 58.03.
"""

from __future__ import annotations

import math

import dagster as dg
import duckdb
import pytest
import yaml

from pipelines.assets.reciprocity import reciprocity_assets
from pipelines.assets.social_value import social_value_assets
from pipelines.ingest.assets import ingest_assets
from pipelines.resources import Settings, Warehouse

IMPACT_MAP = {
    "version": 1, "name": "fixture", "price_year": 2024, "discount": "green_book", "time_banks": ["TB01"],
    "investment": {0: 1000}, "investment_by_time_bank": {"TB01": {0: 600}},
    "proxy_tables": ["builtin"], "deflators": "builtin", "monte_carlo": {"draws": 200, "seed": 1},
    "outcomes": [
        {"id": "help_given", "stakeholder": "members", "scope": "TB01", "quantity": "hours_given@TB01",
         "proxy": "national_living_wage_hour_2024", "deadweight": 0, "duration": 1},
        {"id": "fewer_reoffences", "stakeholder": "justice", "quantity": "avoided_proven_reoffences",
         "proxy": "wellby", "deadweight": 0, "duration": 1},
    ],
}


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("recip")
    (tmp / "impact_map.yaml").write_text(yaml.safe_dump(IMPACT_MAP))
    # a fixture of a few members: with the HES rule a time bank of 1-7 trading accounts has no hours valued
    # (tests/models/test_social_value_warehouse.py), so the arithmetic by hand runs with nothing suppressed
    (tmp / "config.yaml").write_text(yaml.safe_dump({"social_value": {"impact_map": "impact_map.yaml"},
                                                     "disclosure": {"suppress_max": 0}}))
    from tests.conftest import FIXTURES

    resources = {
        "warehouse": Warehouse(path=str(tmp / "w.duckdb")),
        "settings": Settings(input_dir=str(FIXTURES / "valid"), output_dir=str(tmp / "out"),
                             config_path=str(tmp / "config.yaml"), demo=True),
    }
    result = dg.materialize([*ingest_assets, *reciprocity_assets, *social_value_assets], resources=resources,
                            raise_on_error=False)
    con = duckdb.connect(str(tmp / "w.duckdb"), read_only=True)
    yield result, con
    con.close()


def test_every_mart_materialises_with_this_runs_id(run):
    result, con = run
    assert result.success
    keys = {e.event_specific_data.materialization.asset_key.to_user_string() for e in result.get_asset_materialization_events()}
    marts = {"member_reciprocity", "timebank_activity", "grant_metrics", "reciprocity_allocation",
             "reciprocity_allocation_sensitivity", "social_value", "social_value_sensitivity", "impact_map",
             "social_value_yearly"}
    assert {f"marts/{m}" for m in marts} <= keys
    for m in marts:
        assert con.execute(f"SELECT DISTINCT run_id FROM marts.{m}").fetchall() in ([(result.run_id,)], []), m


def test_hours_and_donations_by_hand(run):
    _, con = run
    row = con.execute("SELECT hours_exchanged, hours_donated_pot, exchanges FROM marts.timebank_activity "
                      "WHERE timebank_id = 'TB01' AND period_type = 'overall'").fetchone()
    assert row == (5.25, 1.0, 4)


def test_social_value_by_hand_and_flows_to_the_grant(run):
    _, con = run
    assert con.execute("SELECT pv FROM marts.social_value WHERE scope = 'TB01'").fetchone()[0] == pytest.approx(58.03)
    status = dict(con.execute("SELECT outcome, status FROM marts.impact_map").fetchall())
    assert status["help_given"] == "valued"
    assert status["fewer_reoffences"].startswith("omitted: ") and "avoided_proven_reoffences" in status["fewer_reoffences"]
    g = dict(con.execute("SELECT grant_id, social_value FROM marts.grant_metrics").fetchall())
    assert g["G001"] == pytest.approx(58.03)  # TB01's only grant carries all of TB01's value
    assert g["G002"] is None or math.isnan(g["G002"])  # TB02 has no social value


def test_checks(run):
    result, _ = run
    checks = {(e.asset_key.to_user_string(), e.check_name): e.passed for e in result.get_asset_check_evaluations()}
    assert checks[("marts/reciprocity_allocation", "allocation_sums_to_pot")]
    assert checks[("marts/grant_metrics", "aggregate_only")] and checks[("marts/social_value", "aggregate_only")]
    assert not checks[("marts/impact_map", "every_outcome_valued")]  # the reoffending model has no results: a warning


def test_pot_split_to_the_penny(run):
    _, con = run
    rows = con.execute("SELECT funder, reserved_pot_pence, sum(allocation_pence) FROM marts.reciprocity_allocation "
                       "GROUP BY ALL ORDER BY funder").fetchall()
    assert rows == [("Community Fund", 200000, 200000), ("Justice Trust", 150000, 150000)]


def test_no_impact_map_gives_empty_marts_not_a_failure(tmp_path, monkeypatch):
    from tests.conftest import FIXTURES

    resources = {
        "warehouse": Warehouse(path=str(tmp_path / "w.duckdb")),
        "settings": Settings(input_dir=str(FIXTURES / "valid"), output_dir=str(tmp_path / "out"), config_path="",
                             demo=False),
    }
    monkeypatch.setenv("OUTCOMES_PSEUDONYM_KEY", "a test key that is long enough to use 0123456789")
    result = dg.materialize([*ingest_assets, *reciprocity_assets, *social_value_assets], resources=resources,
                            raise_on_error=False)
    assert result.success
    with duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM marts.social_value").fetchone()[0] == 0
        assert con.execute("SELECT count(*) FROM marts.grant_metrics WHERE social_value IS NOT NULL").fetchone()[0] == 0


def test_an_output_is_not_an_outcome_left_out():
    """Hours exchanged are outputs, reported and never valued: the warning named every one as an outcome "omitted"."""
    from pipelines.assets.social_value import _outcomes_valued

    con = duckdb.connect()
    con.execute("CREATE SCHEMA marts; CREATE TABLE marts.impact_map (outcome TEXT, status TEXT)")
    con.execute("INSERT INTO marts.impact_map VALUES ('fewer_readmissions', 'valued'), "
                "('TB01_hours_exchanged', 'output: reported, not valued (not in the ratio)')")
    assert _outcomes_valued(con) == (True, {"outcomes": 1, "outputs": 1, "omitted": "none"})
    con.execute("INSERT INTO marts.impact_map VALUES ('fewer_reoffences', 'omitted: no results')")
    assert _outcomes_valued(con) == (False, {"outcomes": 2, "outputs": 1, "omitted": "fewer_reoffences (omitted: no results)"})
