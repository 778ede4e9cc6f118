"""The diagnostics marts materialise after the outcome models, in one run, with this run's id."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from models.comparison.diagnostics import BALANCE_COLUMNS, N_BINS, OVERLAP_COLUMNS
from pipelines.assets.diagnostics import diagnostics_assets, diagnostics_checks
from pipelines.assets.readmission import readmission_assets
from pipelines.assets.reoffending import reoffending_assets
from pipelines.assets.wellbeing import wellbeing_assets
from pipelines.ingest.assets import ingest_assets
from pipelines.resources import Settings, Warehouse

ROOT = Path(__file__).resolve().parents[2]
KEYS = {"marts/comparison_balance", "marts/propensity_overlap"}


def materialise(inputs: Path, base: Path):
    resources = {"warehouse": Warehouse(path=str(base / "w.duckdb")),
                 "settings": Settings(input_dir=str(inputs), output_dir=str(base / "out"), config_path="", demo=True)}
    return dg.materialize([*ingest_assets, *readmission_assets, *reoffending_assets, *wellbeing_assets,
                           *diagnostics_assets, *diagnostics_checks], resources=resources, raise_on_error=False)


@pytest.fixture(scope="module")
def synthetic_run(tmp_path_factory):
    base = tmp_path_factory.mktemp("diagnostics")
    subprocess.run([sys.executable, "-m", "data.generate", "--persons", "800", "--seed", "7", "--out", str(base / "in"),
                    "--quiet"], check=True, cwd=ROOT)
    return materialise(base / "in", base), base / "w.duckdb"


def test_marts_materialise_with_this_runs_id(synthetic_run):
    result, path = synthetic_run
    assert result.success
    done = {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}
    assert KEYS <= done
    checks = {(e.asset_key.to_user_string(), e.check_name): e.passed for e in result.get_asset_check_evaluations()}
    assert all(checks[(k, "aggregate_only")] for k in KEYS)
    with duckdb.connect(str(path), read_only=True) as con:
        for table, columns in (("comparison_balance", BALANCE_COLUMNS), ("propensity_overlap", OVERLAP_COLUMNS)):
            got = [r[0] for r in con.execute("SELECT column_name FROM information_schema.columns WHERE table_schema = "
                                             "'marts' AND table_name = ? ORDER BY ordinal_position", [table]).fetchall()]
            assert got == [*columns, "run_id"]
            assert con.execute(f"SELECT DISTINCT run_id FROM marts.{table}").fetchall() == [(result.run_id,)]
        models = {m for (m,) in con.execute("SELECT DISTINCT outcome_model FROM marts.comparison_balance").fetchall()}
        assert "readmission" in models
        # the same matched samples as the effect marts
        pairs = con.execute("""
            SELECT DISTINCT b.comparison, b.n_treated_after, e.n_matched, b.n_comparison_after, e.n_control_matched
            FROM marts.comparison_balance b JOIN marts.readmission_effects e ON e.comparison = b.comparison
            WHERE b.outcome_model = 'readmission'""").fetchall()
        assert pairs and all(r[1] == r[2] and r[3] == r[4] for r in pairs)
        reoffending = con.execute("""
            SELECT DISTINCT b.comparison, b.n_treated_after, e.n_matched FROM marts.comparison_balance b
            JOIN marts.reoffending_effects e ON e.programme = b.comparison AND e.measure = 'binary_rate'
            WHERE b.outcome_model = 'reoffending'""").fetchall()
        assert all(r[1] == r[2] for r in reoffending)
        wellbeing = con.execute("""
            SELECT DISTINCT b.comparison, b.n_treated_after, e.n_matched FROM marts.comparison_balance b
            JOIN marts.wellbeing_effects e ON e.star_version || ' / ' || e.area = b.comparison
            WHERE b.outcome_model = 'wellbeing'""").fetchall()
        assert all(r[1] == r[2] for r in wellbeing)
        # each result: 20 bins per group; participants after = matched participants
        bins, mismatched = con.execute(f"""
            WITH o AS (SELECT result, "group", count(*) AS bins, sum(n_after) AS n_after FROM marts.propensity_overlap
                       GROUP BY ALL),
                 b AS (SELECT DISTINCT result, n_treated_after FROM marts.comparison_balance)
            SELECT min(bins) = {N_BINS} AND max(bins) = {N_BINS},
                   count(*) FILTER (WHERE "group" = 'participants' AND o.n_after <> b.n_treated_after)
            FROM o JOIN b USING (result)""").fetchone()
        assert bins and mismatched == 0


def test_marts_are_empty_without_inputs(tmp_path):
    (tmp_path / "in").mkdir()
    result = materialise(tmp_path / "in", tmp_path)
    assert result.success
    with duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM marts.comparison_balance").fetchone() == (0,)
        assert con.execute("SELECT count(*) FROM marts.propensity_overlap").fetchone() == (0,)
