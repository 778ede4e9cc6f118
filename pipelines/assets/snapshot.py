"""The reader snapshot asset: the run's published tables as Parquet plus a catalog of views."""

import dagster as dg

from pipelines.assets.readmission import readmission_assets
from pipelines.assets.reciprocity import reciprocity_assets
from pipelines.assets.reoffending import reoffending_assets
from pipelines.assets.social_value import social_value_assets
from pipelines.assets.wellbeing import wellbeing_assets
from pipelines.ingest.assets import WAREHOUSE_POOL
from pipelines.resources import Warehouse
from pipelines.snapshot import publish_snapshot, snapshot_root

MART_KEYS = sorted({k for assets in (*readmission_assets, *reoffending_assets, *wellbeing_assets, *reciprocity_assets,
                                     *social_value_assets) for k in assets.keys if k.path[0] == "marts"},
                   key=lambda k: k.to_user_string())


@dg.asset(key=["meta", "reader_snapshot"], group_name="provenance", kinds={"parquet", "duckdb"},
          deps=[*MART_KEYS, dg.AssetKey(["meta", "run_record"])], pool=WAREHOUSE_POOL,
          description="<warehouse>.snapshots/current/catalog.duckdb: views over Parquet copies of every aggregate mart "
                      "and the run record, switched atomically at the end of the run, so a notebook or dashboard "
                      "reads while the next run writes (docs/storage.md).")
def reader_snapshot(context: dg.AssetExecutionContext, warehouse: Warehouse) -> dg.MaterializeResult:
    with warehouse.connect() as con:
        folder = publish_snapshot(con, snapshot_root(warehouse.path), context.run.run_id)
    tables = sorted(p.stem for p in folder.glob("*.parquet"))
    return dg.MaterializeResult(metadata={"catalog": dg.MetadataValue.path(folder.parent / "current" / "catalog.duckdb"),
                                          "tables": len(tables), "folder": dg.MetadataValue.path(folder)})
