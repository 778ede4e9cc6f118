"""The Dagster side of the well-being model: its assets materialise on top of the ingest assets."""

from __future__ import annotations

import re

import dagster as dg
import duckdb

from models import wellbeing as wb
from pipelines.assets.wellbeing import wellbeing_assets
from pipelines.ingest.assets import ingest_assets
from pipelines.resources import Settings, Warehouse
from pipelines.summary import check_warnings
from tests.conftest import append_rows


def run(inputs, tmp_path):
    resources = {
        "warehouse": Warehouse(path=str(tmp_path / "w.duckdb")),
        "settings": Settings(input_dir=str(inputs), output_dir=str(tmp_path / "out"), config_path="", demo=True),
    }
    return dg.materialize([*ingest_assets, *wellbeing_assets], resources=resources,
                          raise_on_error=False)


def test_definitions_with_wellbeing_load():
    defs = dg.Definitions(assets=[*ingest_assets, *wellbeing_assets],
                          resources={"warehouse": Warehouse(), "settings": Settings()})
    dg.Definitions.validate_loadable(defs)
    keys = {k.to_user_string() for k in defs.resolve_asset_graph().get_all_asset_keys()}
    assert {"core/star_journeys", "marts/wellbeing_change", "marts/wellbeing_model",
            "marts/wellbeing_reliable_improvement"} <= keys
    assert len(wellbeing_assets) == 7
    # every check is declared on its asset (evaluated inside it, not a step of its own): aggregate_only of each mart
    # and readings_accounted blocking, paired_minimum and the effects' estimates_complete not blocking
    specs = {(s.asset_key.to_user_string(), s.name): s.blocking for a in wellbeing_assets for s in a.check_specs}
    assert specs == {**{(t.replace(".", "/"), "aggregate_only"): True for t in wb.MART_TABLES},
                     ("core/star_journeys", "readings_accounted"): True, ("marts/wellbeing_change", "paired_minimum"): False,
                     ("marts/wellbeing_effects", "estimates_complete"): False}


def test_wellbeing_assets_materialise_after_ingest(inputs, tmp_path, monkeypatch):
    monkeypatch.delenv("OUTCOMES_PSEUDONYM_KEY", raising=False)
    append_rows(inputs / "star_readings.csv",
                "P003,swemwbs,2023-09-20,total,25",        # P003 now paired: 19.25 -> 22.35
                "P002,ons4,2023-03-01,anxiety,8", "P002,ons4,2023-09-01,anxiety,3")
    result = run(inputs, tmp_path)
    assert result.success
    done = {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}
    assert {"core/star_journeys", *(t.replace(".", "/") for t in wb.MART_TABLES)} <= done
    evaluations = result.get_asset_check_evaluations()
    checks = {(e.asset_key.to_user_string(), e.check_name): e.passed for e in evaluations}
    assert checks[("core/star_journeys", "readings_accounted")]
    accounted = next(e.metadata for e in evaluations if e.check_name == "readings_accounted")
    assert all(checks[(t.replace(".", "/"), "aggregate_only")] for t in wb.MART_TABLES)
    assert checks[("marts/wellbeing_change", "paired_minimum")] is False  # a handful of people: warned, not failed
    # the terminal's summary says it in its own words (pipelines.summary), not the check's description and metadata
    (said,) = [line for line in check_warnings(result, result.job_def.asset_layer.asset_graph)
               if "paired_minimum" in line]
    assert re.fullmatch(r"Warning: \d+ of \d+ instruments have fewer than 30 people with a reading before and after "
                        r"joining \(.+\): their well-being changes are marked small_n and read with care "
                        r"\(wellbeing.min_paired_n\) \[marts/wellbeing_change \(paired_minimum\)\]\.", said), said
    with duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True) as con:
        for table in wb.MART_TABLES:
            assert con.execute(f"SELECT count(*) FROM {table} WHERE run_id <> ?", [result.run_id]).fetchall() == [(0,)]
        anxiety = con.execute(
            "SELECT mean_change, n_improved, higher_is_better FROM marts.wellbeing_change "
            "WHERE area = 'anxiety' AND timebank_id = 'all' AND period = 'all'").fetchall()
        assert anxiety == [(-5.0, 1, False)]
        swem = con.execute(
            "SELECT mean_change FROM marts.wellbeing_change WHERE star_version = 'swemwbs' AND area = 'total' "
            "AND timebank_id = 'all' AND period = 'all'").fetchall()
        assert abs(swem[0][0] - (22.35 - 19.25)) < 1e-9
        assert con.execute("SELECT count(*) FROM core.star_journeys").fetchall()[0][0] == 4  # person x version x area
        # the check's counts are write_core's (not counted again), the same as counting now
        assert {k: v.value for k, v in accounted.items() if k != "unaccounted"} == wb.reading_counts(con)


def test_no_readings_gives_empty_marts(tmp_path, monkeypatch):
    monkeypatch.delenv("OUTCOMES_PSEUDONYM_KEY", raising=False)
    empty = tmp_path / "empty"
    empty.mkdir()
    result = run(empty, tmp_path)
    assert result.success
    with duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True) as con:
        for table in (*wb.MART_TABLES, *wb.CORE_TABLES):
            assert con.execute(f"SELECT count(*) FROM {table}").fetchall() == [(0,)]
