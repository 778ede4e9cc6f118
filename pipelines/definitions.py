"""The project's Dagster definitions: every asset, check, resource and job."""


import dagster as dg

from pipelines.assets.diagnostics import diagnostics_assets, diagnostics_checks
from pipelines.assets.effect_register import effect_register_assets, effect_register_checks
from pipelines.assets.pages import page_assets
from pipelines.assets.quarterly import quarterly_assets, quarterly_job
from pipelines.assets.readmission import readmission_assets, readmission_checks
from pipelines.assets.reciprocity import reciprocity_assets, reciprocity_checks
from pipelines.assets.reoffending import reoffending_assets, reoffending_checks
from pipelines.assets.snapshot import reader_snapshot
from pipelines.assets.social_value import social_value_assets, social_value_checks
from pipelines.assets.wellbeing import wellbeing_assets, wellbeing_checks
from pipelines.automation import schedules, sensors
from pipelines.ingest.assets import ingest_assets, ingest_checks
from pipelines.provenance_assets import run_record
from pipelines.resources import Settings, Warehouse

# Quarterly partitions have their own job (a job has one partitions definition): docs/partitions.md.
all_assets_job = dg.define_asset_job(
    "all_assets_job", selection=dg.AssetSelection.all() - dg.AssetSelection.assets(*quarterly_assets))

defs = dg.Definitions(
    assets=[*ingest_assets, run_record, *readmission_assets, *reoffending_assets, *wellbeing_assets,
            *reciprocity_assets, *social_value_assets, *diagnostics_assets, *effect_register_assets, reader_snapshot,
            *page_assets, *quarterly_assets],
    asset_checks=[*ingest_checks, *readmission_checks, *reoffending_checks, *wellbeing_checks,
                  *reciprocity_checks, *social_value_checks, *diagnostics_checks, *effect_register_checks],
    jobs=[all_assets_job, quarterly_job],
    sensors=sensors,
    schedules=schedules,
    resources={"warehouse": Warehouse(), "settings": Settings()},
    # One DuckDB writer at a time (docs/storage.md): steps run in one process, in order.
    executor=dg.in_process_executor,
)
