"""A read-only snapshot of the published tables, for notebooks and dashboards during a run.

DuckDB lets one process open a database file at a time (docs/storage.md), so a notebook
cannot read the warehouse while a run writes it. At the end of each run the published
tables (an allowlist: the marts ``schemas/marts.py`` declares ``published``, never a
person-level or undeclared table; and ``meta.runs`` and ``meta.input_files``) are exported as Parquet into a new folder
``snap-<run id>/`` beside the warehouse, with ``catalog.duckdb``, a DuckDB file holding
only views over those Parquet files. The symlink ``current`` is then switched to the new
folder in one atomic rename, so a reader opening ``current/catalog.duckdb`` read-only
always sees one whole run's tables, never a mixture and never a half-written file, and
never takes the warehouse's lock. The two newest snapshots are kept.

    con = duckdb.connect("<warehouse>.snapshots/current/catalog.duckdb", read_only=True)
    con.sql("SELECT * FROM marts.readmission_rates")
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import duckdb

from schemas.marts import published_tables as registry_published

META_TABLES = ("meta.runs", "meta.input_files")
KEEP = 2


def snapshot_root(warehouse_path: str | Path) -> Path:
    """``<warehouse>.snapshots/`` beside the warehouse file."""
    path = Path(warehouse_path)
    return path.with_name(path.name + ".snapshots")


def published_tables(con: duckdb.DuckDBPyConnection) -> list[str]:
    """The allowlist: the marts schemas/marts.py declares published that this warehouse holds, and the run record."""
    present = {f"{s}.{t}" for s, t in con.execute(
        "SELECT table_schema, table_name FROM information_schema.tables").fetchall()}
    return [t for t in registry_published() if t in present] + list(META_TABLES)


def publish_snapshot(con: duckdb.DuckDBPyConnection, root: Path, run_id: str) -> Path:
    """Export the published tables of ``con`` under ``root`` and switch ``root/current`` to them."""
    root = root.resolve()
    root.mkdir(parents=True, exist_ok=True)
    folder = root / f"snap-{run_id}"
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir()
    tables = published_tables(con)
    for table in tables:
        con.execute(f"COPY {table} TO '{folder / (table + '.parquet')}' (FORMAT parquet)")
    catalog = duckdb.connect(str(folder / "catalog.duckdb"))
    try:
        for schema in sorted({t.split(".")[0] for t in tables}):
            catalog.execute(f"CREATE SCHEMA {schema}")
        for table in tables:
            catalog.execute(f"CREATE VIEW {table} AS SELECT * FROM read_parquet('{folder / (table + '.parquet')}')")
    finally:
        catalog.close()
    link = root / "current.tmp"
    if link.is_symlink():
        link.unlink()
    link.symlink_to(folder.name, target_is_directory=True)
    os.replace(link, root / "current")  # atomic: readers see the old snapshot or the new, never neither
    _prune(root, keep=folder)
    return folder


def _prune(root: Path, keep: Path) -> None:
    snaps = sorted((p for p in root.glob("snap-*") if p.is_dir()), key=lambda p: p.stat().st_mtime, reverse=True)
    for old in [p for p in snaps if p != keep][KEEP - 1:]:
        shutil.rmtree(old, ignore_errors=True)
