"""Reciprocity and time-bank activity metrics, and reciprocity-weighted grant metrics.

Pure functions over a DuckDB connection (no Dagster). Inputs are the staged tables
``staging.timebank_members``, ``staging.timebank_exchanges``, ``staging.grants`` and
``staging.coproduction_assessments``; any may be absent or empty (empty outputs follow).
Definitions and sources: docs/reciprocity.md; columns: docs/outputs-reciprocity.md.

    member_reciprocity(con, settings, run_id=...)        -> creates marts.member_reciprocity (person level)
    timebank_activity(con, settings, run_id=...)         -> DataFrame for marts.timebank_activity
    timebank_activity_periods(con, settings, start=..., end=..., run_id=...) -> its period rows for [start, end)
    grant_metrics(con, settings, run_id=..., social_value=None) -> DataFrame for marts.grant_metrics
    reciprocity_allocation(grant_metrics_df, settings, run_id=...)  -> marts.reciprocity_allocation
    allocation_sensitivity(grant_metrics_df, allocation_df, settings, run_id=...)  -> marts.reciprocity_allocation_sensitivity
    write_frame(con, df, "marts.<name>")                  -> create or replace a table from a DataFrame
"""

from __future__ import annotations

import uuid

import duckdb
import pandas as pd

from models.reciprocity.allocation import (
    ALLOCATION_COLUMNS,
    SENSITIVITY_COLUMNS,
    allocation_sensitivity,
    largest_remainder,
    reciprocity_allocation,
)
from models.reciprocity.assessment import coproduction_band, score_assessments
from models.reciprocity.grants import GRANT_COLUMNS, grant_metrics
from models.reciprocity.index import reciprocity_index
from models.reciprocity.member import MEMBER_COLUMNS, MEMBER_TABLE, member_reciprocity
from models.reciprocity.network import circulating_edges
from models.reciprocity.settings import (
    INDEX_COMPONENTS,
    IndexWeights,
    ReciprocitySettings,
)
from models.reciprocity.timebank import (
    timebank_activity,
    timebank_activity_columns,
    timebank_activity_periods,
)

MART_TABLES = {
    "member": MEMBER_TABLE,
    "timebank": "marts.timebank_activity",
    "grants": "marts.grant_metrics",
    "allocation": "marts.reciprocity_allocation",
    "sensitivity": "marts.reciprocity_allocation_sensitivity",
}


def sql_types(frame: pd.DataFrame) -> dict[str, str]:
    """DuckDB column types from ``frame``'s pandas dtypes (the rule ``write_frame`` documents)."""

    def one(col: pd.Series) -> str:
        if pd.api.types.is_datetime64_any_dtype(col):
            return "DATE"
        if pd.api.types.is_bool_dtype(col):
            return "BOOLEAN"
        if pd.api.types.is_integer_dtype(col):
            return "BIGINT"
        if pd.api.types.is_float_dtype(col):
            return "DOUBLE"
        return "VARCHAR"

    return {c: one(frame[c]) for c in frame.columns}


def write_frame(con: duckdb.DuckDBPyConnection, frame: pd.DataFrame, table: str) -> str:
    """Create or replace ``table`` (schema created if needed) with the rows and columns of ``frame``.

    Column types follow the pandas dtypes, so an empty or all-NULL column keeps its type:
    datetimes → DATE (every date in these marts is a calendar day), integers → BIGINT,
    floats → DOUBLE, booleans → BOOLEAN, anything else → VARCHAR.
    """
    schema, _, _ = table.rpartition(".")
    if schema:
        con.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
    name = f"_rc_frame_{uuid.uuid4().hex[:10]}"
    cols = ", ".join(f'"{c}"::{t} AS "{c}"' for c, t in sql_types(frame).items())
    con.register(name, frame)
    try:
        con.execute(f"CREATE OR REPLACE TABLE {table} AS SELECT {cols} FROM {name}")
    finally:
        con.unregister(name)
    return table


__all__ = [
    "ALLOCATION_COLUMNS",
    "GRANT_COLUMNS",
    "INDEX_COMPONENTS",
    "MART_TABLES",
    "MEMBER_COLUMNS",
    "MEMBER_TABLE",
    "SENSITIVITY_COLUMNS",
    "IndexWeights",
    "ReciprocitySettings",
    "allocation_sensitivity",
    "circulating_edges",
    "coproduction_band",
    "grant_metrics",
    "largest_remainder",
    "member_reciprocity",
    "reciprocity_allocation",
    "reciprocity_index",
    "score_assessments",
    "sql_types",
    "timebank_activity",
    "timebank_activity_columns",
    "timebank_activity_periods",
    "write_frame",
]
