"""Table names, column schemas and the one writer every well-being table goes through.

Every table is created from an explicit column list, so an empty result is an empty table
with the right columns and types (never a crash, never a table of guessed types). A table
is replaced in one DuckDB transaction: a failure leaves the previous version whole.
"""

from __future__ import annotations

import uuid

import duckdb
import pandas as pd

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

SCHEMAS: dict[str, dict[str, str]] = {
    CHANGE: {
        "run_id": "VARCHAR", "star_version": "VARCHAR", "area": "VARCHAR", "timebank_id": "VARCHAR",
        "period": "VARCHAR", "score_scale": "VARCHAR", "higher_is_better": "BOOLEAN", "baseline_rule": "VARCHAR",
        "n_people": "BIGINT", "n_single_reading": "BIGINT", "mean_baseline": "DOUBLE", "n_paired": "BIGINT",
        "small_n": "BOOLEAN", "mean_baseline_paired": "DOUBLE", "mean_latest": "DOUBLE", "mean_change": "DOUBLE",
        "sd_change": "DOUBLE", "ci_low": "DOUBLE", "ci_high": "DOUBLE", "median_change": "DOUBLE",
        "mean_months": "DOUBLE", "wilcoxon_statistic": "DOUBLE", "wilcoxon_p": "DOUBLE", "rank_biserial": "DOUBLE",
        "cohens_dz": "DOUBLE", "n_improved": "BIGINT", "n_same": "BIGINT", "n_worse": "BIGINT",
        "pct_improved": "DOUBLE", "pct_same": "DOUBLE", "pct_worse": "DOUBLE", "n_rci": "BIGINT",
        "rci_threshold": "DOUBLE", "n_reliable_improvement": "BIGINT", "n_reliable_deterioration": "BIGINT",
        "pct_reliable_improvement": "DOUBLE", "pct_reliable_deterioration": "DOUBLE",
    },
    SNAPSHOT: {
        "run_id": "VARCHAR", "star_version": "VARCHAR", "area": "VARCHAR", "timebank_id": "VARCHAR",
        "stage": "VARCHAR", "stage_order": "INTEGER", "n": "BIGINT", "n_people": "BIGINT", "pct": "DOUBLE",
    },
    TRANSITIONS: {
        "run_id": "VARCHAR", "star_version": "VARCHAR", "area": "VARCHAR", "timebank_id": "VARCHAR",
        "baseline_stage": "VARCHAR", "baseline_stage_order": "INTEGER", "latest_stage": "VARCHAR",
        "latest_stage_order": "INTEGER", "n": "BIGINT", "n_baseline_stage": "BIGINT", "pct_of_baseline_stage": "DOUBLE",
        "movement": "VARCHAR",
    },
    RELIABLE: {
        "run_id": "VARCHAR", "output_key": "VARCHAR", "measure": "VARCHAR", "star_version": "VARCHAR",
        "timebank_id": "VARCHAR", "estimate": "DOUBLE", "ci_low": "DOUBLE", "ci_high": "DOUBLE", "n": "BIGINT",
        "n_events": "BIGINT", "participant_rate": "DOUBLE", "comparison_rate": "DOUBLE", "comparison_n": "BIGINT",
        "small_n": "BOOLEAN", "estimand": "VARCHAR", "direction": "VARCHAR", "unit": "VARCHAR", "definition": "VARCHAR",
    },
    EFFECTS: {
        "run_id": "VARCHAR", "star_version": "VARCHAR", "area": "VARCHAR", "outcome": "VARCHAR", "method": "VARCHAR",
        "measure": "VARCHAR", "estimate": "DOUBLE", "ci_low": "DOUBLE", "ci_high": "DOUBLE", "p_value": "DOUBLE",
        "treated_value": "DOUBLE", "comparison_value": "DOUBLE", "n_treated": "BIGINT", "n_control": "BIGINT",
        "n_matched": "BIGINT", "n_control_matched": "BIGINT", "n_balance_flags": "BIGINT",
        "max_abs_smd_after": "DOUBLE", "verdict": "VARCHAR", "interpretation": "VARCHAR", "covariates": "VARCHAR",
        "status": "VARCHAR", "warnings": "VARCHAR", "design": "VARCHAR", "design_sentence": "VARCHAR",
        "estimand": "VARCHAR", "share_participants_matched": "DOUBLE", "headline": "BOOLEAN",
    },
    MODEL: {
        "run_id": "VARCHAR", "scope": "VARCHAR", "star_version": "VARCHAR", "area": "VARCHAR", "score_scale": "VARCHAR",
        "term": "VARCHAR", "estimate": "DOUBLE", "se": "DOUBLE", "ci_low": "DOUBLE", "ci_high": "DOUBLE",
        "statistic": "DOUBLE", "p_value": "DOUBLE", "n_readings": "BIGINT", "n_people": "BIGINT",
        "n_dropped_missing": "BIGINT", "hours_unit": "DOUBLE", "hours_window_months": "INTEGER",
        "covariates": "VARCHAR", "converged": "BOOLEAN", "status": "VARCHAR",
    },
}


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


def write_table(con: duckdb.DuckDBPyConnection, table: str, frame: pd.DataFrame, run_id: str) -> int:
    """Replace ``table`` (a key of SCHEMAS) with ``frame``'s rows, stamped with ``run_id``; returns the row count."""
    schema = SCHEMAS[table]
    frame = frame.copy()
    frame["run_id"] = run_id
    missing = [c for c in schema if c not in frame.columns]
    if missing:
        raise ValueError(f"{table}: columns missing from the result: {missing}")
    frame = frame[list(schema)]
    for col, sql_type in schema.items():  # object columns of only None confuse the scan; make them typed
        if sql_type == "BOOLEAN":
            frame[col] = frame[col].astype("boolean")
        elif sql_type == "VARCHAR":
            frame[col] = frame[col].astype("string")
    ddl = ", ".join(f'"{c}" {t}' for c, t in schema.items())
    select = ", ".join(f'"{c}"::{t}' for c, t in schema.items())
    view = f"_wb_frame_{uuid.uuid4().hex[:10]}"
    con.execute(f"CREATE SCHEMA IF NOT EXISTS {table.split('.')[0]}")
    con.register(view, frame)
    try:
        con.execute("BEGIN TRANSACTION")
        try:
            con.execute(f"CREATE OR REPLACE TABLE {table} ({ddl})")
            con.execute(f"INSERT INTO {table} SELECT {select} FROM {view}")
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
    finally:
        con.unregister(view)
    return len(frame)
