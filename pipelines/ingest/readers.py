"""Find a source's input files and load each into DuckDB as text, with its line numbers.

Every value is read as VARCHAR so that a bad value is kept and reported, not lost in a
type conversion. Header names are normalised (case, surrounding spaces, inner spaces and
hyphens) before they are matched against the contract.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd

from schemas.raw import XLSX_SOURCES

TEXT_SUFFIXES = {".csv", ".tsv", ".txt"}
SUFFIXES = TEXT_SUFFIXES | {".parquet", ".xlsx"}


class SourceFileError(Exception):
    """A file that cannot be ingested at all: unreadable, or missing a required column."""


@dataclass(frozen=True)
class LoadedFile:
    path: Path
    table: str
    rows: int
    columns: list[str]
    sha256: str
    bytes: int


def discover(input_dir: Path, source: str) -> list[Path]:
    """The files of one source: ``<source>.<ext>``, ``<source>_*.<ext>`` or anything in ``<source>/``."""
    input_dir = Path(input_dir)
    if not input_dir.is_dir():
        return []
    allowed = SUFFIXES if source in XLSX_SOURCES else SUFFIXES - {".xlsx"}
    found = [
        p for p in input_dir.iterdir()
        if p.is_file() and p.suffix.lower() in allowed and (p.stem == source or p.stem.startswith(source + "_"))
    ]
    folder = input_dir / source
    if folder.is_dir():
        found += [p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in allowed]
    return sorted(found)


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def normalise_header(name: str) -> str:
    """``' Person ID '`` -> ``person_id``."""
    return re.sub(r"[\s\-]+", "_", name.replace("\ufeff", "").strip().lower())


def load(con: duckdb.DuckDBPyConnection, path: Path, table: str) -> LoadedFile:
    """Load one file into temp table ``<table>_in``, seen through view ``table``: ``_seq`` (0, 1, ... in file order), ``_line`` and one VARCHAR per header."""
    path = Path(path)
    if path.stat().st_size == 0:
        raise SourceFileError(f"{path}: the file is empty (no header line); expected a header naming the contract's columns")
    suffix = path.suffix.lower()
    try:
        if suffix in TEXT_SUFFIXES:
            con.execute(
                f"CREATE OR REPLACE TEMP TABLE {table}_in AS "
                "SELECT * FROM read_csv(?, all_varchar = true, header = true, auto_detect = true)",
                [str(path)],
            )
            first_line = 2
        elif suffix == ".parquet":
            con.execute(f"CREATE OR REPLACE TEMP TABLE {table}_in AS SELECT * FROM read_parquet(?)", [str(path)])
            first_line = 1
        else:
            frame = _read_xlsx(path)
            con.register(f"{table}_frame", frame)
            con.execute(f"CREATE OR REPLACE TEMP TABLE {table}_in AS SELECT * FROM {table}_frame")
            con.unregister(f"{table}_frame")
            first_line = 2
    except (duckdb.Error, ValueError, OSError) as err:
        raise SourceFileError(f"{path}: cannot be read as {suffix[1:].upper()}: {err}") from err

    headers = [row[0] for row in con.execute(f"DESCRIBE {table}_in").fetchall()]
    names = [normalise_header(h) or f"unnamed_{i + 1}" for i, h in enumerate(headers)]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise SourceFileError(f"{path}: line 1: column(s) {', '.join(repeated)} appear more than once")
    select = ", ".join(f'CAST("{_ident(h)}" AS VARCHAR) AS "{_ident(n)}"' for h, n in zip(headers, names))
    # A view, not a copy. rowid follows the file's order: DuckDB preserves insertion order.
    con.execute(f"CREATE OR REPLACE TEMP VIEW {table} AS SELECT rowid AS _seq, rowid + {first_line} AS _line, {select} FROM {table}_in")
    rows = con.execute(f"SELECT count(*) FROM {table}_in").fetchall()[0][0]
    return LoadedFile(path, table, rows, names, file_sha256(path), path.stat().st_size)


def _ident(name: str) -> str:
    return name.replace('"', '""')


def drop(con: duckdb.DuckDBPyConnection, loaded: LoadedFile) -> None:
    con.execute(f"DROP VIEW IF EXISTS {loaded.table}")
    con.execute(f"DROP TABLE IF EXISTS {loaded.table}_in")
    con.execute(f"DROP TABLE IF EXISTS {loaded.table}_long")


def _read_xlsx(path: Path) -> pd.DataFrame:
    """First sheet of a workbook as text; dates become ISO strings (openpyxl: no DuckDB extension needed)."""
    from openpyxl import load_workbook

    book = load_workbook(path, read_only=True, data_only=True)
    rows = list(book.worksheets[0].iter_rows(values_only=True))
    book.close()
    if not rows:
        raise ValueError("the first sheet is empty")
    header = [str(h) if h is not None else "" for h in rows[0]]

    def text(value: object) -> str | None:
        if value is None:
            return None
        if isinstance(value, dt.datetime):
            return value.date().isoformat() if value.time() == dt.time() else value.isoformat()
        if isinstance(value, dt.date):
            return value.isoformat()
        if isinstance(value, float) and value.is_integer():
            return str(int(value))
        return str(value)

    body = [[text(v) for v in row] for row in rows[1:]]
    return pd.DataFrame(body, columns=header, dtype=object)
