"""The reader snapshot: a notebook reads the last run's tables while a run holds the warehouse."""

from __future__ import annotations

import subprocess
import sys
import time

import duckdb
import pytest

from pipelines.snapshot import publish_snapshot, snapshot_root


def make_warehouse(path, run_id, value):
    con = duckdb.connect(str(path))
    for schema in ("marts", "meta", "core"):
        con.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
    con.execute(f"CREATE OR REPLACE TABLE marts.readmission_rates AS SELECT '{run_id}' AS run_id, {value} AS readmissions")
    con.execute("CREATE OR REPLACE TABLE marts.member_reciprocity AS SELECT 'abc' AS member_id, 1.0 AS hours_given")
    con.execute("CREATE OR REPLACE TABLE core.star_journeys AS SELECT 'p' AS person_id")
    con.execute(f"CREATE OR REPLACE TABLE meta.runs AS SELECT '{run_id}' AS run_id")
    con.execute("CREATE OR REPLACE TABLE meta.input_files AS SELECT 'persons' AS source")
    return con


def test_snapshot_holds_the_aggregate_tables_only(tmp_path):
    con = make_warehouse(tmp_path / "w.duckdb", "r1", 7)
    publish_snapshot(con, snapshot_root(tmp_path / "w.duckdb"), "r1")
    con.close()
    reader = duckdb.connect(str(tmp_path / "w.duckdb.snapshots" / "current" / "catalog.duckdb"), read_only=True)
    assert reader.execute("SELECT run_id, readmissions FROM marts.readmission_rates").fetchall() == [("r1", 7)]
    views = {f"{s}.{t}" for s, t in reader.execute("SELECT schema_name, view_name FROM duckdb_views() WHERE NOT internal").fetchall()}
    assert views == {"marts.readmission_rates", "meta.runs", "meta.input_files"}  # no person-level table
    reader.close()


def test_reader_reads_while_a_run_holds_the_warehouse(tmp_path):
    path = tmp_path / "w.duckdb"
    con = make_warehouse(path, "r1", 7)
    publish_snapshot(con, snapshot_root(path), "r1")
    con.close()
    # another process: the "run", holding the warehouse open for writing
    writer = subprocess.Popen([sys.executable, "-c", f"import duckdb, time; c = duckdb.connect({str(path)!r}); "
                               "c.execute('CREATE TABLE marts.x AS SELECT 1'); print('open', flush=True); time.sleep(30)"],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert writer.stdout.readline().strip() == "open"
        with pytest.raises(duckdb.IOException):  # the warehouse itself is locked, even read-only
            duckdb.connect(str(path), read_only=True)
        started = time.perf_counter()
        reader = duckdb.connect(str(snapshot_root(path) / "current" / "catalog.duckdb"), read_only=True)
        assert reader.execute("SELECT readmissions FROM marts.readmission_rates").fetchone() == (7,)
        reader.close()
        assert time.perf_counter() - started < 10  # no waiting on the writer
    finally:
        writer.kill()
        writer.wait()


def test_switch_is_to_a_whole_new_run_and_old_snapshots_are_pruned(tmp_path):
    path = tmp_path / "w.duckdb"
    root = snapshot_root(path)
    for i, run in enumerate(("r1", "r2", "r3")):
        con = make_warehouse(path, run, i)
        publish_snapshot(con, root, run)
        con.close()
        time.sleep(0.01)
    reader = duckdb.connect(str(root / "current" / "catalog.duckdb"), read_only=True)
    assert reader.execute("SELECT run_id, readmissions FROM marts.readmission_rates").fetchall() == [("r3", 2)]
    assert reader.execute("SELECT run_id FROM meta.runs").fetchall() == [("r3",)]
    reader.close()
    assert sorted(p.name for p in root.glob("snap-*")) == ["snap-r2", "snap-r3"]
    assert (root / "current").resolve().name == "snap-r3"


def test_a_notebook_runs_a_model_on_the_read_only_snapshot(tmp_path):
    """docs/storage.md's notebook snippet: the models compute and return, so they run on the snapshot."""
    from models.comparison.register import EffectRegisterSettings, effect_register
    from models.social_value.warehouse import model_outputs_from_warehouse
    from tests.models.test_comparison_register import readmission, reoffending, wellbeing

    path = tmp_path / "w.duckdb"
    con = make_warehouse(path, "r1", 7)
    frames = {"readmission": readmission(), "reoffending": reoffending(), "wellbeing": wellbeing()}
    for family, frame in frames.items():
        con.register("f", frame.assign(run_id="r1"))
        con.execute(f"CREATE TABLE marts.{family}_effects AS SELECT * FROM f")
        con.unregister("f")
    publish_snapshot(con, snapshot_root(path), "r1")
    con.close()

    # the snippet, as docs/storage.md shows it
    snapshot = duckdb.connect(str(snapshot_root(path) / "current" / "catalog.duckdb"), read_only=True)
    marts = {f: snapshot.sql(f"SELECT * FROM marts.{f}_effects").df() for f in ("readmission", "reoffending", "wellbeing")}
    settings = EffectRegisterSettings(primary_outcome={"*": "reoffending:binary_rate"})
    register = effect_register(marts, settings)
    outputs = model_outputs_from_warehouse(snapshot)

    expected = effect_register(frames, settings)
    assert len(register) == len(expected) == 8
    assert register["p_value_holm"].tolist() == pytest.approx(expected["p_value_holm"].tolist(), nan_ok=True)
    assert register["analysis_role"].tolist() == expected["analysis_role"].tolist()
    primary = register[register["analysis_role"] == "primary"]
    assert len(primary) and set(primary["outcome"]) == {"binary_rate"}  # each programme's reoffending binary rate
    assert outputs == {}  # no avoided marts in this snapshot: the social-value model has nothing to value
    with pytest.raises(duckdb.Error):  # and nothing was, or could be, written
        snapshot.execute("CREATE TABLE marts.x AS SELECT 1")
    snapshot.close()
