"""What every mart asset shares, generated from the registry (schemas/marts.py).

* :func:`mart_checks`: the ``aggregate_only`` check spec of a published mart, declared on the
  asset that writes it (``check_specs``) and evaluated inside that asset, so it is not a
  separate step that reopens the warehouse. It is blocking: a failure stops every downstream
  asset of the run.
* :func:`write_marts`: writes a model's frames with the one writer
  (:func:`models.mart_writer.write_mart`) and returns each mart's ``MaterializeResult``, with
  ``dagster/column_schema`` (the declared columns, types and meanings), ``dagster/row_count``,
  a preview, the ``aggregate_only`` result of a published mart, and the results of the mart's
  other checks (:class:`pipelines.assets.table_checks.TableCheck`) measured after the write.
"""

from collections.abc import Mapping, Sequence

import dagster as dg
import duckdb
import pandas as pd

from models.mart_writer import Frame, write_mart
from pipelines.assets.table_checks import TableCheck, evaluate
from schemas.marts import Mart, mart

#: Columns that would make a published table person level.
PERSON_IDENTIFIERS = ("person_id", "member_id", "giver_id", "receiver_id")
AGGREGATE_ONLY = "aggregate_only"


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
    """The column names of ``schema.table`` in order, or [] when it does not exist.

    ``DESCRIBE`` reads the one table's catalog entry (about 0.6 ms on the 100,000-person warehouse);
    ``information_schema.columns`` builds the view of every column of every table first (about 4.6 ms),
    and every mart step asked it two or three times."""
    try:
        return [r[0] for r in con.execute(f"DESCRIBE {table}").fetchall()]
    except duckdb.CatalogException:
        return []


def mart_key(name: str) -> dg.AssetKey:
    return dg.AssetKey(list(mart(name).key))


def mart_checks(*names: str) -> list[dg.AssetCheckSpec]:
    """The ``aggregate_only`` check spec of each published mart among ``names``."""
    return [dg.AssetCheckSpec(AGGREGATE_ONLY, asset=mart_key(n), blocking=True, description=(
                "No person identifier column; this run wrote every row of its slices, each slice comes from one run "
                "and every row's run is recorded in meta.runs." if mart(n).partition else
                "No person identifier column, and every row carries this run's id."))
            for n in names if mart(n).published]


def column_schema(declared: Mart, columns: list[str]) -> dg.TableSchema:
    """The table's columns as Dagster shows them: declared type and meaning of each."""
    resolved = declared.resolve(columns)
    return dg.TableSchema(columns=[dg.TableColumn(c.name, c.type, description=c.meaning) for c in resolved])


def aggregate_only(con: duckdb.DuckDBPyConnection, name: str, run_id: str,
                   window: tuple | None = None) -> dg.AssetCheckResult:
    """The published table exists, has no person identifier column, and its rows are this run's.

    A partitioned table (``Mart.partition``) holds slices from several runs: there every row whose
    partition value is in ``window`` ([start, end), the slices this run wrote) is this run's, each
    slice comes from one run, and every row's run is in ``meta.runs`` (its configuration is recorded).
    """
    cols = table_columns(con, name)
    identifiers = [c for c in cols if c in PERSON_IDENTIFIERS]
    key = mart(name).partition
    if not cols:
        other_runs = 0
    elif key is None:
        other_runs = con.execute(f"SELECT count(*) FROM {name} WHERE run_id IS DISTINCT FROM ?", [run_id]).fetchall()[0][0]
    else:
        other_runs = con.execute(f'SELECT count(*) FROM {name} WHERE "{key}" >= ? AND "{key}" < ? '
                                 "AND run_id IS DISTINCT FROM ?", [*window, run_id]).fetchall()[0][0]
    metadata = {"identifier_columns": ", ".join(identifiers) or "none", "rows_from_other_runs": int(other_runs),
                "table_exists": bool(cols)}
    mixed = unrecorded = 0
    if cols and key is not None:
        recorded = "NOT EXISTS (SELECT 1 FROM meta.runs r WHERE r.run_id = t.run_id)" if table_columns(con, "meta.runs") else "true"
        mixed, unrecorded = con.execute(f"""
            SELECT (SELECT count(*) FROM (SELECT "{key}" FROM {name} GROUP BY ALL HAVING count(DISTINCT run_id) > 1)),
                   (SELECT count(*) FROM {name} t WHERE {recorded})""").fetchall()[0]
        metadata.update(slices_from_several_runs=int(mixed), rows_of_unrecorded_runs=int(unrecorded))
    return dg.AssetCheckResult(
        asset_key=mart_key(name), check_name=AGGREGATE_ONLY, severity=dg.AssetCheckSeverity.ERROR, metadata=metadata,
        passed=bool(cols) and not identifiers and other_runs == 0 and mixed == 0 and unrecorded == 0)


def write_marts(context: dg.AssetExecutionContext, con: duckdb.DuckDBPyConnection, frames: Mapping[str, Frame],
                metadata: Mapping[str, Mapping] | None = None, checks: Sequence[TableCheck] = ()) -> list[dg.MaterializeResult]:
    """Write each ``name -> frame`` with the one writer; one MaterializeResult per mart, with its
    ``aggregate_only`` result when published and the results of its ``checks``."""
    out = []
    for name, frame in frames.items():
        declared = mart(name)
        rows = write_mart(con, name, frame, context.run.run_id)
        meta = {"table": name, "dagster/row_count": rows,
                "dagster/column_schema": column_schema(declared, table_columns(con, name)),
                **({"preview": preview(frame)} if isinstance(frame, pd.DataFrame) and declared.published else {}),
                **(metadata or {}).get(name, {})}
        results = [aggregate_only(con, name, context.run.run_id)] if declared.published else []
        out.append(dg.MaterializeResult(asset_key=mart_key(name), metadata=meta,
                                        check_results=[*results, *evaluate(checks, con, name)]))
    return out
