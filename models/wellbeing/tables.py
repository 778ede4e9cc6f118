"""Table names and column types of the well-being tables (the marts as schemas/marts.py declares them).

Every mart is written by :func:`models.mart_writer.write_mart`: created from its declared
columns, so an empty result is an empty table with the right columns and types, and replaced
in one DuckDB transaction, so a failure leaves the previous version whole.
"""

from __future__ import annotations

import duckdb
import pandas as pd

from schemas.marts import mart

# ------------------------------------------------------------------ person level (core)
READINGS = "core.wellbeing_readings"
JOURNEYS = "core.star_journeys"
PEOPLE = "core.wellbeing_people"
TRIALS = "core.wellbeing_trials"
CORE_TABLES = (READINGS, JOURNEYS, PEOPLE, TRIALS)

# ------------------------------------------------------------------ published (marts)
CHANGE = "marts.wellbeing_change"
SNAPSHOT = "marts.wellbeing_snapshot"
TRANSITIONS = "marts.wellbeing_transitions"
RELIABLE = "marts.wellbeing_reliable_improvement"
EFFECTS = "marts.wellbeing_effects"
MODEL = "marts.wellbeing_model"
MART_TABLES = (CHANGE, SNAPSHOT, TRANSITIONS, RELIABLE, EFFECTS, MODEL)

ALL = "all"  # the aggregate level of a grouping column
NO_TIMEBANK = "none"  # people with readings who are not (yet) time-bank members

#: Column types of each mart, as schemas/marts.py declares them.
SCHEMAS: dict[str, dict[str, str]] = {t: mart(t).types() for t in MART_TABLES}


def empty(table: str) -> pd.DataFrame:
    """An empty frame with the table's columns."""
    return pd.DataFrame({c: pd.Series(dtype=_pandas_dtype(t)) for c, t in SCHEMAS[table].items()})


def _pandas_dtype(sql_type: str) -> str:
    return {"VARCHAR": "object", "BOOLEAN": "object", "BIGINT": "Int64", "INTEGER": "Int64", "DOUBLE": "float64"}[sql_type]


def scalar(con: duckdb.DuckDBPyConnection, sql: str, params=None):
    """The first value of a query's one row. Fetches the whole result: DuckDB 2 refuses other work on a
    connection (e.g. ``register``) while a result is unfinished."""
    rows = con.execute(sql, params or []).fetchall()
    return rows[0][0] if rows else None


def table_exists(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    schema, _, table = name.rpartition(".")
    return bool(scalar(
        con, "SELECT count(*) FROM information_schema.tables WHERE table_schema = ? AND table_name = ?",
        [schema or "main", table],
    ))


def columns_of(con: duckdb.DuckDBPyConnection, name: str) -> list[str]:
    schema, _, table = name.rpartition(".")
    return [r[0] for r in con.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = ? AND table_name = ? ORDER BY ordinal_position",
        [schema or "main", table],
    ).fetchall()]
