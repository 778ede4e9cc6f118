"""The diagnostics marts materialise after the outcome models, in one run, with this run's id."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from models.comparison.diagnostics import BALANCE_COLUMNS, N_BINS, OVERLAP_COLUMNS
from models.comparison import engine, sample
from pipelines.assets.diagnostics import diagnostics_assets
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
                           *diagnostics_assets], resources=resources, raise_on_error=False)


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


def test_diagnostics_never_reruns_a_comparison(synthetic_run, monkeypatch):
    """The diagnostics asset alone, on the models' warehouse, with the engine made to fail: it only gathers the
    balance and overlap rows the model assets wrote when they ran their comparisons, and gets the same marts."""
    result, path = synthetic_run
    with duckdb.connect(str(path), read_only=True) as con:
        before = con.execute("SELECT * EXCLUDE (run_id) FROM marts.comparison_balance ORDER BY ALL").fetchall()
        overlap = con.execute("SELECT count(*), sum(n_after) FROM marts.propensity_overlap").fetchone()
    assert before

    def refuse(*args, **kwargs):
        raise AssertionError("the diagnostics asset called the comparison engine")

    # every comparison fits its propensity model inside sample.match, and estimates inside engine.estimate
    monkeypatch.setattr(sample, "fit_patterns", refuse)
    monkeypatch.setattr(engine, "estimate", refuse)
    resources = {"warehouse": Warehouse(path=str(path)),
                 "settings": Settings(input_dir=str(path.parent / "in"), output_dir=str(path.parent / "out"),
                                      config_path="", demo=True)}
    again = dg.materialize(diagnostics_assets, resources=resources)
    assert again.success
    with duckdb.connect(str(path), read_only=True) as con:
        assert con.execute("SELECT * EXCLUDE (run_id) FROM marts.comparison_balance ORDER BY ALL").fetchall() == before
        assert con.execute("SELECT count(*), sum(n_after) FROM marts.propensity_overlap").fetchone() == overlap
        assert con.execute("SELECT DISTINCT run_id FROM marts.comparison_balance").fetchall() == [(again.run_id,)]


def test_marts_are_empty_without_inputs(tmp_path):
    (tmp_path / "in").mkdir()
    result = materialise(tmp_path / "in", tmp_path)
    assert result.success
    with duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM marts.comparison_balance").fetchone() == (0,)
        assert con.execute("SELECT count(*) FROM marts.propensity_overlap").fetchone() == (0,)
