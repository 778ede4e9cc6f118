"""Assets partitioned by reporting quarter: time-bank activity and readmission rates per quarter.

Each partition is a calendar quarter (key = its first day, ``2024-04-01``) and writes only its
own slice of a partition-aware table (``write_slice``): in one DuckDB transaction it deletes the
rows whose ``quarter_start`` is in the partition's window and inserts the recomputed ones, so
rerunning a quarter replaces that quarter and never duplicates or touches another. Each run is
recorded in ``meta.runs``, and the blocking ``aggregate_only`` check of a partitioned mart holds
this run to its slices (no identifier column, every row of its quarters is this run's, each
quarter from one run, every row's run recorded). A backfill of many
quarters runs as one run (``BackfillPolicy.single_run()``): the window is then the whole range,
which suits a single-writer DuckDB file and set-based SQL, and lets
``dagster asset materialize --partition-range`` run it in-process. Design, commands and the
evidence that a backfill equals the unpartitioned marts: docs/partitions.md.

The unpartitioned marts (``all_assets_job``) are unchanged; these assets read the same staged
and core tables and are in their own group and job (``quarterly_job``).
"""

import datetime as dt
import os
import warnings

import dagster as dg
import duckdb
import pandas as pd

from models import reciprocity as rc
from models.mart_writer import write_slice
from models.readmission.rates import readmission_rates_by_quarter
from pipelines.assets.publication import aggregate_only, column_schema, mart_checks, preview, table_columns
from pipelines.assets.readmission import INDEX_KEY
from pipelines.assets.reciprocity import LOG_SOURCES, reciprocity_settings
from pipelines.ingest.assets import WAREHOUSE_POOL
from pipelines.provenance import record_run
from pipelines.resources import Settings, Warehouse
from schemas.marts import mart

GROUP = "quarterly"
TIMEBANK_TABLE = "marts.timebank_activity_quarterly"
RATES_TABLE = "marts.readmission_rates_quarterly"
#: First reporting quarter when OUTCOMES_FIRST_QUARTER is unset: before the earliest date of
#: the demo sample (time-bank memberships from 2014-05).
DEFAULT_FIRST_QUARTER = "2014-01-01"


def first_quarter(value: str | None = None) -> str:
    """The first partition: OUTCOMES_FIRST_QUARTER (or ``value``), a quarter's first day, ISO format."""
    text = value or os.environ.get("OUTCOMES_FIRST_QUARTER") or DEFAULT_FIRST_QUARTER
    day = dt.date.fromisoformat(text)
    if day.day != 1 or day.month not in (1, 4, 7, 10):
        raise ValueError(f"OUTCOMES_FIRST_QUARTER={text}: must be the first day of a quarter, e.g. 2014-01-01")
    return day.isoformat()


#: Calendar quarters from the first quarter up to and including the current one (end_offset=1),
#: so the latest quarter of an extract can be reported while it is still in progress.
quarters = dg.TimeWindowPartitionsDefinition(
    start=first_quarter(), cron_schedule="0 0 1 1,4,7,10 *", fmt="%Y-%m-%d", end_offset=1,
)


def _window(context: dg.AssetExecutionContext) -> tuple[dt.date, dt.date]:
    """[first day, day after the last) of the quarters this run covers: one partition or a range."""
    window = context.partition_time_window
    return window.start.date(), window.end.date()


def write_quarters(context: dg.AssetExecutionContext, con: duckdb.DuckDBPyConnection, settings: Settings, name: str,
                   frame: pd.DataFrame, start: dt.date, end: dt.date, metadata: dict) -> dg.MaterializeResult:
    """Record this run in meta.runs, replace the quarters [start, end) of ``name`` with ``frame``
    (:func:`models.mart_writer.write_slice`, one transaction) and return the asset's result with its
    declared column schema and its ``aggregate_only`` check (the partitioned form, schemas/marts.py)."""
    record_run(con, context.run.run_id, settings.config(), demo=settings.demo, input_dir=settings.input_dir)
    write_slice(con, name, frame, start, end)
    return dg.MaterializeResult(metadata={
        **metadata, "dagster/row_count": int(con.execute(f"SELECT count(*) FROM {name}").fetchall()[0][0]),
        "dagster/column_schema": column_schema(mart(name), table_columns(con, name)),
    }, check_results=[aggregate_only(con, name, context.run.run_id, (start, end))])


def _quarters_metadata(frame: pd.DataFrame, start: dt.date, end: dt.date) -> dict:
    return {"rows": len(frame), "quarters_from": start.isoformat(), "quarters_to_before": end.isoformat(),
            "quarters_with_rows": int(frame["quarter_start"].nunique())}


def quarterly_asset(**kwargs):
    """``dg.asset`` with ``BackfillPolicy.single_run()``, a documented beta parameter whose BetaWarning says nothing to a
    user: silenced here, where it is given, so no importer of this module prints it (``make test``'s summary did)."""
    def decorate(fn):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", dg.BetaWarning)
            return dg.asset(backfill_policy=dg.BackfillPolicy.single_run(), **kwargs)(fn)
    return decorate


@quarterly_asset(
    key=["marts", "timebank_activity_quarterly"], group_name=GROUP, kinds={"duckdb"}, deps=LOG_SOURCES,
    pool=WAREHOUSE_POOL, partitions_def=quarters,
    check_specs=mart_checks(TIMEBANK_TABLE),
    description="marts.timebank_activity_quarterly: the quarter rows of marts.timebank_activity (time bank × "
                "quarter: members, active members, hours, exchanges, two-way share, reciprocity measures, "
                "retention), one slice per reporting quarter, keyed by quarter_start. Same window and as_of as the "
                "full run, so each row equals the full mart's row for its quarter.",
)
def timebank_activity_quarterly(context: dg.AssetExecutionContext, warehouse: Warehouse,
                                settings: Settings) -> dg.MaterializeResult:
    start, end = _window(context)
    # Partitions are quarters whatever the unpartitioned mart's period setting.
    s = reciprocity_settings(settings).model_copy(update={"period": "quarter"})
    with warehouse.connect() as con:
        frame = rc.timebank_activity_periods(con, s, start=start, end=end, run_id=context.run.run_id)
        frame.insert(0, "quarter_start", frame["period_start"].dt.to_period("Q").dt.start_time)
        return write_quarters(context, con, settings, TIMEBANK_TABLE, frame, start, end, {
            **_quarters_metadata(frame, start, end), "time_banks": int(frame["timebank_id"].nunique()),
            "preview": preview(frame[["timebank_id", "period_label", "members", "active_members", "hours_exchanged",
                                      "two_way_share", "reciprocity_index"]]),
        })


@quarterly_asset(
    key=["marts", "readmission_rates_quarterly"], group_name=GROUP, kinds={"duckdb"}, deps=[INDEX_KEY],
    pool=WAREHOUSE_POOL, partitions_def=quarters,
    check_specs=mart_checks(RATES_TABLE),
    description="marts.readmission_rates_quarterly: 30-day readmission rate with Wilson 95% interval per quarter "
                "of discharge, overall and by exposure, time bank, programme, provider and area; one slice per "
                "reporting quarter. A quarter's overall row equals its quarter row in marts.readmission_rates.",
)
def readmission_rates_quarterly(context: dg.AssetExecutionContext, warehouse: Warehouse,
                                settings: Settings) -> dg.MaterializeResult:
    start, end = _window(context)
    with warehouse.connect() as con:
        frame = readmission_rates_by_quarter(con, start, end)
        frame["run_id"] = context.run.run_id
        return write_quarters(context, con, settings, RATES_TABLE, frame, start, end,
                              {**_quarters_metadata(frame, start, end), "preview": preview(frame)})


quarterly_assets = [timebank_activity_quarterly, readmission_rates_quarterly]
quarterly_job = dg.define_asset_job(
    "quarterly_job", selection=dg.AssetSelection.groups(GROUP),
    description="Time-bank activity and 30-day readmission rates for the chosen reporting quarters: each quarter's "
                "rows are replaced, the others left alone. Run all_assets_job first (it stages the inputs these "
                "read); docs/partitions.md.")
