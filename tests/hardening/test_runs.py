"""Whole-pipeline guarantees on real subprocess runs: crash recovery, reproducibility, run ids, provenance and privacy."""

from __future__ import annotations

import csv
import hashlib
import html
import re
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from dashboards.page import FORMULA_START
from models.config import load_config
from pipelines.ingest.assets import ingest_assets
from pipelines.resources import Settings, Warehouse
from schemas.contract import contract
from schemas.raw import SOURCES
from tests.hardening.runs import (
    COMPARED_SCHEMAS,
    HOSTILE_FORMULA,
    HOSTILE_HTML,
    KILL_AFTER_INGEST_STEPS,
    SECRET_KEY,
    environment,
    generate_inputs,
    run_and_kill,
    run_pipeline,
    run_pipeline_with_reader,
    snapshot,
    tables,
)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("runs")
    inputs = root / "inputs"
    generate_inputs(inputs)
    env_a = environment(inputs, root / "a.duckdb", root / "out_a", root / "dagster_a")
    clean, reader = run_pipeline_with_reader(env_a, root / "a.duckdb")
    assert clean.returncode == 0, clean.output[-3000:]

    env_b = environment(inputs, root / "b.duckdb", root / "out_b", root / "dagster_b")
    killed = run_and_kill(env_b)
    after_kill = _state_after_kill(root / "b.duckdb", killed.run_id)
    rerun = run_pipeline(env_b)
    assert rerun.returncode == 0, rerun.output[-3000:]
    return {"root": root, "inputs": inputs, "clean": clean, "killed": killed, "after_kill": after_kill, "rerun": rerun,
            "reader": reader}


def _state_after_kill(warehouse: Path, run_id: str) -> dict:
    """What a reader sees in the killed run's warehouse: per staged source, (staged, quarantined, rows read by the same run)."""
    with duckdb.connect(str(warehouse), read_only=True) as con:
        out = {}
        for schema, table in tables(con, ("staging",)):
            staged, quarantined, read, run_ids = con.execute(
                f"SELECT (SELECT count(*) FROM staging.{table}), (SELECT count(*) FROM quarantine.{table}), "
                "(SELECT sum(rows_read) FROM meta.input_files WHERE source = $1 AND run_id = $2), "
                f"(SELECT list(DISTINCT run_id) FROM staging.{table})", [table, run_id]
            ).fetchone()
            out[table] = (staged, quarantined, read, run_ids)
    return out


# --- crash safety -------------------------------------------------------------------------------

def test_a_killed_run_leaves_only_whole_tables(runs):
    state = runs["after_kill"]
    assert runs["killed"].returncode == -9
    # Killed mid-ingest: some sources were published, not all.
    assert KILL_AFTER_INGEST_STEPS <= len(state) < len(SOURCES), state
    for table, (staged, quarantined, read, run_ids) in state.items():
        # Published atomically: the staged and quarantined rows and the file log agree, all from the killed run.
        assert read is not None and staged + quarantined == read, (table, state[table])
        assert run_ids in ([runs["killed"].run_id], []), (table, run_ids)


def test_rerun_after_a_crash_matches_an_uninterrupted_run(runs):
    clean, recovered = snapshot(runs["root"] / "a.duckdb", digits=12), snapshot(runs["root"] / "b.duckdb", digits=12)
    assert set(clean) == set(recovered)
    assert {name.split(".")[0] for name in clean} == set(COMPARED_SCHEMAS)
    differing = [name for name in clean if clean[name] != recovered[name]]
    assert differing == []
    assert sum(len(rows) for rows in clean.values()) > 10_000


def test_staging_quarantine_and_marts_are_identical_bit_for_bit(runs):
    clean, recovered = snapshot(runs["root"] / "a.duckdb"), snapshot(runs["root"] / "b.duckdb")
    published = [name for name in clean if not name.startswith("core.")]
    assert len(published) > 30
    assert [name for name in published if clean[name] != recovered[name]] == []


def test_a_reader_during_a_run_gets_whole_data_or_busy(runs):
    reader = runs["reader"]
    assert reader.other == [] and reader.torn == []
    assert reader.opened >= 1 and reader.opened + reader.busy >= 10


# --- reproducibility and provenance ---------------------------------------------------------------

@pytest.mark.parametrize("which,warehouse", [("clean", "a.duckdb"), ("rerun", "b.duckdb")])
def test_every_result_row_carries_its_run_id(runs, which, warehouse):
    run_id = runs[which].run_id
    with duckdb.connect(str(runs["root"] / warehouse), read_only=True) as con:
        missing, stale = [], []
        for schema, table in tables(con):
            columns = [r[0] for r in con.execute(f"DESCRIBE {schema}.{table}").fetchall()]
            if "run_id" not in columns:
                missing.append(f"{schema}.{table}")
                continue
            bad = con.execute(f"SELECT count(*) FROM {schema}.{table} WHERE run_id IS DISTINCT FROM ?", [run_id]).fetchone()[0]
            if bad:
                stale.append(f"{schema}.{table} ({bad} rows)")
    assert missing == [], "tables without a run_id column"
    assert stale == [], "rows from another run"


def test_the_run_record_holds_config_hash_input_hashes_and_code_version(runs):
    run_id = runs["clean"].run_id
    with duckdb.connect(str(runs["root"] / "a.duckdb"), read_only=True) as con:
        code_version, config_sha, demo, rows_read, staged, quarantined = con.execute(
            "SELECT code_version, config_sha256, demo, rows_read, rows_staged, rows_quarantined FROM meta.runs WHERE run_id = ?", [run_id]
        ).fetchone()
        files = dict(con.execute("SELECT source_file, sha256 FROM meta.input_files WHERE run_id = ?", [run_id]).fetchall())
    assert config_sha == load_config(None).digest() and re.fullmatch(r"[0-9a-f]{64}", config_sha)
    assert re.match(r"\d+\.\d+", code_version)
    assert demo is False
    assert rows_read == staged + quarantined and quarantined >= 1
    inputs = sorted(str(p) for s in SOURCES for p in runs["inputs"].glob(f"{s}.csv"))
    assert sorted(files) == inputs
    for path, digest in files.items():
        assert digest == hashlib.sha256(Path(path).read_bytes()).hexdigest()


# --- privacy ----------------------------------------------------------------------------------------

def raw_identifiers(inputs: Path) -> set[str]:
    """Every value of every pseudonymised column in the input files."""
    ids = set()
    for source in SOURCES:
        path = inputs / f"{source}.csv"
        columns = [c.name for c in contract(source).columns if c.pseudonymise]
        if not path.exists() or not columns:
            continue
        with open(path, newline="") as handle:
            ids |= {row[c].strip() for row in csv.DictReader(handle) for c in columns if row.get(c) and row[c].strip()}
    return ids


def test_no_raw_identifier_anywhere_in_the_warehouse(runs):
    ids = raw_identifiers(runs["inputs"])
    assert len(ids) > 500
    pattern = r"\b(" + "|".join(sorted(ids)) + r")\b"
    with duckdb.connect(str(runs["root"] / "a.duckdb"), read_only=True) as con:
        every = con.execute(
            "SELECT schema_name, table_name, column_name FROM duckdb_columns() WHERE NOT internal AND database_name = current_database()"
        ).fetchall()
        assert len(every) > 300
        leaks = [
            f"{s}.{t}.{c}" for s, t, c in every
            if con.execute(f'SELECT count(*) FROM {s}.{t} WHERE regexp_matches(CAST("{c}" AS VARCHAR), ?)', [pattern]).fetchone()[0]
        ]
    assert leaks == []
    # The reader snapshot beside the warehouse (Parquet, pipelines/snapshot.py) too.
    parquet = list((runs["root"] / "a.duckdb.snapshots").rglob("*.parquet"))
    assert parquet
    with duckdb.connect() as con:
        for path in parquet:
            columns = [r[0] for r in con.execute("DESCRIBE SELECT * FROM read_parquet(?)", [str(path)]).fetchall()]
            hits = con.execute(
                "SELECT count(*) FROM read_parquet($1) WHERE " + " OR ".join(f'regexp_matches(CAST("{c}" AS VARCHAR), $2)' for c in columns),
                [str(path), pattern]).fetchone()[0]
            assert hits == 0, f"raw identifier in {path.name}"


def test_no_raw_identifier_in_the_outputs(runs):
    ids = raw_identifiers(runs["inputs"])
    pattern = re.compile(r"\b(" + "|".join(sorted(ids)) + r")\b")
    files = [p for p in (runs["root"] / "out_a").rglob("*") if p.is_file()]
    assert any(p.suffix == ".html" for p in files) and any(p.suffix == ".csv" for p in files)
    leaks = [f"{p.name}: {m.group(0)}" for p in files for m in [pattern.search(p.read_text(errors="replace"))] if m]
    assert leaks == []


def test_the_pseudonym_key_is_never_logged_or_stored(runs):
    for run in ("clean", "killed", "rerun"):
        assert SECRET_KEY not in runs[run].output
    key = SECRET_KEY.encode()
    stored = [p for p in runs["root"].rglob("*") if p.is_file() and p.parent.name != "inputs" and key in p.read_bytes()]
    assert stored == []


def test_the_key_is_required_outside_demo_mode(runs, tmp_path, monkeypatch):
    monkeypatch.delenv("OUTCOMES_PSEUDONYM_KEY", raising=False)
    monkeypatch.delenv("OUTCOMES_DEMO", raising=False)
    persons = next(a for a in ingest_assets if a.key == dg.AssetKey(["staging", "persons"]))
    result = dg.materialize(
        [persons], raise_on_error=False,
        resources={"warehouse": Warehouse(path=str(tmp_path / "w.duckdb")),
                   "settings": Settings(input_dir=str(runs["inputs"]), output_dir=str(tmp_path / "out"), demo=False)},
    )
    from tests.pipelines.test_first_run import refused_in_ui

    # refused when the run's resources start: no step runs, nothing is written (the helper asserts both)
    assert "OUTCOMES_PSEUDONYM_KEY is not set" in refused_in_ui(result, tmp_path)


def test_exported_csvs_neutralise_formulas_and_pages_escape_text(runs):
    out = runs["root"] / "out_a"
    pages = "".join(p.read_text() for p in out.glob("*.html"))
    # The hostile values reach the data-quality page, escaped.
    assert html.escape(HOSTILE_FORMULA) in pages and html.escape(HOSTILE_HTML) in pages
    assert HOSTILE_HTML not in pages
    risky, cells = [], set()
    for path in out.rglob("*.csv"):
        with open(path, newline="") as handle:
            for row in csv.reader(handle):
                cells |= set(row)
                risky += [f"{path.name}: {cell!r}" for cell in row if cell.startswith(FORMULA_START) and not _number(cell)]
    assert "'" + HOSTILE_FORMULA in cells, "the formula reaches a CSV, neutralised"
    assert risky == []


def _number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
