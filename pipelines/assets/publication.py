"""Helpers every mart asset shares: a preview for the UI and the aggregate-only publication check."""

import dagster as dg
import duckdb
import pandas as pd

from pipelines.ingest.assets import WAREHOUSE_POOL
from pipelines.resources import Warehouse

#: Columns that would make a published table person level.
PERSON_IDENTIFIERS = ("person_id", "member_id", "giver_id", "receiver_id")


def preview(frame: pd.DataFrame | None, rows: int = 8) -> dg.MetadataValue:
    """The first rows as a markdown table (run_id left out), for the asset's metadata in the UI."""
    if frame is None or frame.empty:
        return dg.MetadataValue.md("no rows")
    head = frame.head(rows).drop(columns=["run_id"], errors="ignore")
    fmt = lambda v: f"{v:.4g}" if isinstance(v, float) else str(v)
    lines = ["| " + " | ".join(map(str, head.columns)) + " |", "|" + "---|" * len(head.columns)]
    lines += ["| " + " | ".join(fmt(v) for v in r) + " |" for r in head.itertuples(index=False)]
    return dg.MetadataValue.md("\n".join(lines))


def table_columns(con: duckdb.DuckDBPyConnection, table: str) -> list[str]:
    schema, name = table.split(".")
    return [r[0] for r in con.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = ? AND table_name = ? "
        "ORDER BY ordinal_position", [schema, name]).fetchall()]


def aggregate_only_check(table: str) -> dg.AssetChecksDefinition:
    """Blocking check on a published mart: it exists, has no person identifier column, and every row is this run's."""
    schema, name = table.split(".")

    @dg.asset_check(asset=dg.AssetKey([schema, name]), name="aggregate_only", blocking=True, pool=WAREHOUSE_POOL,
                    description="No person identifier column, and every row carries this run's id.")
    def _check(context: dg.AssetCheckExecutionContext, warehouse: Warehouse) -> dg.AssetCheckResult:
        with warehouse.connect() as con:
            cols = table_columns(con, table)
            identifiers = [c for c in cols if c in PERSON_IDENTIFIERS]
            other_runs = con.execute(f"SELECT count(*) FROM {table} WHERE run_id IS DISTINCT FROM ?",
                                     [context.run.run_id]).fetchone()[0] if cols else 0
        return dg.AssetCheckResult(
            passed=bool(cols) and not identifiers and other_runs == 0, severity=dg.AssetCheckSeverity.ERROR,
            metadata={"identifier_columns": ", ".join(identifiers) or "none", "rows_from_other_runs": int(other_runs),
                      "table_exists": bool(cols)})

    return _check
