"""The run record asset: written after every ingest, so it can sum what they read."""


import dagster as dg

from pipelines.ingest.assets import WAREHOUSE_POOL
from pipelines.provenance import record_run
from pipelines.resources import Settings, Warehouse
from schemas.raw import SOURCES


@dg.asset(
    key=["meta", "run_record"],
    group_name="provenance",
    kinds={"duckdb"},
    deps=[dg.AssetKey(["staging", s]) for s in SOURCES],
    pool=WAREHOUSE_POOL,
    description="meta.runs: config and its hash, code version, as-of date, demo flag and row totals for this run id.",
)
def run_record(context: dg.AssetExecutionContext, warehouse: Warehouse, settings: Settings) -> dg.MaterializeResult:
    with warehouse.connect() as con:
        row = record_run(con, context.run.run_id, settings.config(), demo=settings.demo, input_dir=settings.input_dir)
    return dg.MaterializeResult(metadata={k: str(v) for k, v in row.items() if k != "config"})
