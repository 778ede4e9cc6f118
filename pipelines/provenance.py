"""The run record: what produced a warehouse, so an evaluator can rerun it and get the same numbers.

``meta.runs`` holds one row per run (config and its hash, code version, as-of date, demo
flag, totals); ``meta.input_files`` (written by ingest) holds every input file's SHA-256
and row counts for the same run id.
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
from importlib.metadata import version
from pathlib import Path

import duckdb

from models.config import OutcomesConfig

REPO = Path(__file__).resolve().parents[1]


def code_version() -> str:
    """Package version plus the git commit (and ``-dirty`` for uncommitted changes) when available."""
    base = version("coproduction-outcomes")
    try:
        sha = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=REPO, capture_output=True, text=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return base
    return f"{base}+{sha[:12]}{'-dirty' if dirty else ''}"


def record_run(con: duckdb.DuckDBPyConnection, run_id: str, config: OutcomesConfig, *, demo: bool, input_dir: str) -> dict:
    """Write (or replace) this run's row in ``meta.runs`` and return it."""
    con.execute("CREATE SCHEMA IF NOT EXISTS meta")
    con.execute(
        "CREATE TABLE IF NOT EXISTS meta.runs (run_id VARCHAR, recorded_at TIMESTAMP, code_version VARCHAR, "
        "config VARCHAR, config_sha256 VARCHAR, as_of DATE, demo BOOLEAN, input_dir VARCHAR, "
        "files BIGINT, rows_read BIGINT, rows_staged BIGINT, rows_quarantined BIGINT)"
    )
    files, read, staged, quarantined = con.execute(
        "SELECT count(*), coalesce(sum(rows_read), 0), coalesce(sum(rows_staged), 0), coalesce(sum(rows_quarantined), 0) "
        "FROM meta.input_files WHERE run_id = ?", [run_id]
    ).fetchone() if _has_input_files(con) else (0, 0, 0, 0)
    row = {
        "run_id": run_id,
        "recorded_at": dt.datetime.now(dt.timezone.utc).replace(tzinfo=None),
        "code_version": code_version(),
        "config": json.dumps(config.model_dump(mode="json"), sort_keys=True),
        "config_sha256": config.digest(),
        "as_of": config.as_of(),
        "demo": demo,
        "input_dir": input_dir,
        "files": files,
        "rows_read": read,
        "rows_staged": staged,
        "rows_quarantined": quarantined,
    }
    con.execute("DELETE FROM meta.runs WHERE run_id = ?", [run_id])
    con.execute(f"INSERT INTO meta.runs VALUES ({', '.join('?' * len(row))})", list(row.values()))
    return row


def _has_input_files(con: duckdb.DuckDBPyConnection) -> bool:
    return con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'meta' AND table_name = 'input_files'"
    ).fetchone()[0] > 0
