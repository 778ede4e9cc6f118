"""The readmission assets materialise on top of the ingest assets, in one in-process run."""

from __future__ import annotations

import shutil
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from models.readmission import TABLES
from pipelines.assets.readmission import readmission_assets
from pipelines.ingest.assets import ingest_assets
from pipelines.resources import Settings, Warehouse

FIXTURE = Path(__file__).parents[1] / "fixtures" / "readmission"


def run(inputs: Path, tmp_path: Path):
    resources = {
        "warehouse": Warehouse(path=str(tmp_path / "w.duckdb")),
        "settings": Settings(input_dir=str(inputs), output_dir=str(tmp_path / "out"), config_path="", demo=True),
    }
    return dg.materialize([*ingest_assets, *readmission_assets], resources=resources,
                          raise_on_error=False)


def test_assets_materialise_on_the_fixture(tmp_path, monkeypatch):
    monkeypatch.delenv("OUTCOMES_PSEUDONYM_KEY", raising=False)
    inputs = tmp_path / "in"
    shutil.copytree(FIXTURE, inputs)
    result = run(inputs, tmp_path)
    assert result.success
    keys = {e.event_specific_data.materialization.asset_key.to_user_string()
            for e in result.get_asset_materialization_events()}
    assert {"core/index_discharges", "marts/readmission_rates", "marts/readmission_effects", "marts/readmission_funnel",
            "marts/readmission_before_after", "marts/service_use_change", "marts/readmission_avoided"} <= keys
    checks = {e.check_name: e for e in result.get_asset_check_evaluations()}
    assert not checks["no_overlapping_spells"].passed  # N14's two overlapping spells: a warning
    assert checks["no_overlapping_spells"].metadata["overlapping_spells_excluded"].value == 2
    index_md = result.asset_materializations_for_node("core__index_discharges")[0].metadata
    assert index_md["overlapping_spells_excluded"].value == 2 and index_md["with_full_follow_up"].value == 21
    with duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True) as con:
        for table, columns in TABLES.items():
            got = [r[0] for r in con.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_schema = $1 AND table_name = $2 "
                "ORDER BY ordinal_position", table.split(".")).fetchall()]
            assert got == list(columns), table
        assert con.execute("SELECT discharges, readmissions FROM marts.readmission_rates WHERE dimension = 'overall'"
                           ).fetchone() == (21, 7)
        for table in ("marts.readmission_rates", "marts.readmission_funnel", "marts.readmission_effects"):
            assert con.execute(f"SELECT DISTINCT run_id FROM {table}").fetchall() == [(result.run_id,)], table


def test_assets_run_with_no_inputs(tmp_path, monkeypatch):
    monkeypatch.delenv("OUTCOMES_PSEUDONYM_KEY", raising=False)
    (tmp_path / "in").mkdir()
    result = run(tmp_path / "in", tmp_path)
    assert result.success
    with duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True) as con:
        for table in TABLES:
            assert con.execute(f"SELECT count(*) FROM {table}").fetchone()[0] == 0, table


@pytest.mark.parametrize("asset", readmission_assets, ids=lambda a: a.key.to_user_string())
def test_assets_share_the_warehouse_pool(asset):
    assert asset.op.pool == "warehouse"
