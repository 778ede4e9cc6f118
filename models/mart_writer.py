"""The one writer of every declared table (schemas/marts.py): typed, checked, atomic.

``write_mart(con, name, frame, run_id)`` replaces table ``name`` with ``frame``'s rows:

* the frame's columns must be the declared ones (``run_id`` may be left out: it is filled
  from ``run_id``); a frame with a missing or undeclared column is refused with a
  ValueError naming the table and the columns, never padded or trimmed silently;
* every column is cast to its declared DuckDB type (a column declared ``ANY`` keeps its
  source's type); a float NaN is written as NULL;
* ``frame`` may be a pandas DataFrame, an Arrow table or a DuckDB relation (set-based
  models, e.g. the member mart, never pass through pandas), or ``None`` for "no result":
  an empty table with the declared columns;
* the replacement is one transaction (``BEGIN; CREATE OR REPLACE TABLE ...; INSERT ...;
  COMMIT``, rolled back on any error), so a failure leaves the previous table whole, never
  an empty or half-written one.

Returns the number of rows written. ``write_mart_set(con, {name: frame, ...}, run_id)`` replaces
several tables in one transaction (all or none), for a model whose tables belong together
(the well-being core tables). ``write_slice(con, name, frame, start, end)`` replaces one
run's slices of a partitioned table (the rows whose partition column is in [start, end)).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

import duckdb
import pandas as pd
import pyarrow as pa

from schemas.marts import AS_STAGED, Column, mart

Frame = pd.DataFrame | pa.Table | duckdb.DuckDBPyRelation | None


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """One DuckDB transaction: committed when the block ends, rolled back on any error."""
    con.execute("BEGIN TRANSACTION")
    try:
        yield
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _typed(frame: pd.DataFrame, columns: tuple[Column, ...]) -> pd.DataFrame:
    """The frame's columns in order, with dtypes DuckDB's scan reads unambiguously (an object
    column of only None would otherwise have no type)."""
    out = pd.DataFrame(index=frame.index)
    for col in columns:
        values = frame[col.name]
        if col.type == "DOUBLE":
            out[col.name] = pd.to_numeric(values, errors="coerce").astype(float)
        elif col.type == "BOOLEAN":
            out[col.name] = values.astype("boolean")
        elif col.type == "VARCHAR":
            out[col.name] = values.astype("string")
        else:
            out[col.name] = values
    return out


def _select(columns: tuple[Column, ...], run_id: str) -> str:
    def one(col: Column) -> str:
        q = _quoted(col.name)
        if col.name == "run_id":
            return "'" + str(run_id).replace("'", "''") + f"'::VARCHAR AS {q}"
        if col.type == "DOUBLE":
            return f"CASE WHEN isnan({q}) THEN NULL ELSE {q} END::DOUBLE AS {q}"
        return f"{q}::{col.type} AS {q}"

    return ", ".join(one(c) for c in columns)


def _stage(con: duckdb.DuckDBPyConnection, name: str, frame: Frame) -> tuple[str, tuple[Column, ...]]:
    """Register ``frame`` as a view and resolve its declared columns; returns (view, columns)."""
    declared = mart(name)
    if frame is None:
        return "", declared.plain_columns()
    names = [str(n) for n in (frame.column_names if isinstance(frame, pa.Table) else frame.columns)]
    columns = declared.resolve(names if "run_id" in names else [*names, "run_id"])
    view = f"_mart_{uuid.uuid4().hex[:12]}"
    if isinstance(frame, pd.DataFrame):
        con.register(view, _typed(frame, tuple(c for c in columns if c.name != "run_id")))
    elif isinstance(frame, pa.Table):
        con.register(view, frame)
    else:
        frame.create_view(view, replace=True)
    if any(c.type == AS_STAGED for c in columns):  # typed as the source has it
        staged = {r[0]: r[1] for r in con.execute(f"DESCRIBE {view}").fetchall()}
        columns = tuple(Column(c.name, staged[c.name], c.meaning) if c.type == AS_STAGED else c for c in columns)
    return view, columns


def _unstage(con: duckdb.DuckDBPyConnection, view: str, frame: Frame) -> None:
    if isinstance(frame, (pd.DataFrame, pa.Table)):
        con.unregister(view)
    elif frame is not None:
        con.execute(f"DROP VIEW IF EXISTS {view}")


def write_mart_set(con: duckdb.DuckDBPyConnection, frames: Mapping[str, Frame], run_id: str) -> dict[str, int]:
    """Replace each declared table ``name`` of ``frames`` with its frame, all in one transaction:
    every table is replaced or none is. Returns each table's row count."""
    staged: dict[str, tuple[str, tuple[Column, ...]]] = {}
    for schema in dict.fromkeys(mart(name).schema for name in frames):
        con.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
    try:
        for name, frame in frames.items():
            staged[name] = _stage(con, name, frame)
        with transaction(con):
            for name, (view, columns) in staged.items():
                ddl = ", ".join(f"{_quoted(c.name)} {c.type}" for c in columns)
                con.execute(f"CREATE OR REPLACE TABLE {name} ({ddl})")
                if view:
                    con.execute(f"INSERT INTO {name} SELECT {_select(columns, run_id)} FROM {view}")
    finally:
        for name, (view, _) in staged.items():
            _unstage(con, view, frames[name])
    return {name: int(con.execute(f"SELECT count(*) FROM {name}").fetchall()[0][0]) for name in frames}


def write_mart(con: duckdb.DuckDBPyConnection, name: str, frame: Frame, run_id: str) -> int:
    """Replace the declared table ``name`` with ``frame`` (plus ``run_id``); returns the row count."""
    return write_mart_set(con, {name: frame}, run_id)[name]


def write_slice(con: duckdb.DuckDBPyConnection, name: str, frame: pd.DataFrame, start: dt.date, end: dt.date) -> int:
    """Replace the rows of the partitioned table ``name`` whose partition column is in [start, end) by
    ``frame`` (which carries its run_id), atomically; returns the number of rows inserted.

    Creates the table with the declared columns when missing. Refuses a table whose columns differ
    (for example after the retention horizons changed): the other slices' rows would not fit, so
    drop the table and write every slice again.
    """
    declared = mart(name)
    if declared.partition is None:
        raise ValueError(f"{name} is not partitioned in schemas/marts.py; write it with write_mart")
    columns = declared.resolve(frame.columns)
    view = f"_slice_{uuid.uuid4().hex[:12]}"
    con.register(view, frame)
    try:
        con.execute(f"CREATE SCHEMA IF NOT EXISTS {declared.schema}")
        with transaction(con):
            con.execute(f"CREATE TABLE IF NOT EXISTS {name} ({', '.join(f'{_quoted(c.name)} {c.type}' for c in columns)})")
            existing = [r[0] for r in con.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_schema = ? AND table_name = ? "
                "ORDER BY ordinal_position", [declared.schema, declared.table]).fetchall()]
            if existing != [c.name for c in columns]:
                raise ValueError(f"{name} has other columns than this run writes; drop it and write every slice again")
            key = _quoted(declared.partition)
            con.execute(f"DELETE FROM {name} WHERE {key} >= ? AND {key} < ?", [start, end])
            casts = ", ".join(f"{_quoted(c.name)}::{c.type} AS {_quoted(c.name)}" for c in columns)
            con.execute(f"INSERT INTO {name} SELECT {casts} FROM {view}")
    finally:
        con.unregister(view)
    return len(frame)
