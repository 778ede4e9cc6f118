"""The project's main code location: every unpartitioned asset, check, resource and job.

The quarterly partitions are a code location of their own (``pipelines.quarterly_definitions``,
docs/partitions.md), so "Materialize all" on this location's asset graph launches one ordinary
run instead of a backfill dialog. Every asset gets an owner from its group (``GROUP_OWNERS``).
"""


import dagster as dg

from pipelines.assets.coverage import coverage_assets
from pipelines.assets.diagnostics import diagnostics_assets
from pipelines.assets.effect_register import effect_register_assets
from pipelines.assets.pages import page_assets
from pipelines.assets.readmission import readmission_assets
from pipelines.assets.reciprocity import reciprocity_assets
from pipelines.assets.reoffending import reoffending_assets
from pipelines.assets.snapshot import reader_snapshot
from pipelines.assets.social_value import social_value_assets
from pipelines.assets.wellbeing import wellbeing_assets
from pipelines.automation import schedules, sensors
from pipelines.hooks import with_step_hooks
from pipelines.ingest.assets import ingest_assets
from pipelines.provenance_assets import run_record
from pipelines.resources import Settings, Warehouse, in_process_executor

#: Who answers for each group's assets (Dagster owners: a team or an e-mail address).
GROUP_OWNERS = {
    "ingest": "team:data-engineering",
    "provenance": "team:data-engineering",
    "dashboards": "team:data-engineering",
    "readmission": "team:evaluation",
    "reoffending": "team:evaluation",
    "wellbeing": "team:evaluation",
    "diagnostics": "team:evaluation",
    "effects": "team:evaluation",
    "reciprocity": "team:evaluation",
    "social_value": "team:evaluation",
    "quarterly": "team:evaluation",
}


def with_owner(spec: dg.AssetSpec) -> dg.AssetSpec:
    """The spec with its group's owner added (a group missing from GROUP_OWNERS is an error)."""
    return spec.replace_attributes(owners=sorted({*spec.owners, GROUP_OWNERS[spec.group_name]}))


all_assets_job = dg.define_asset_job(
    "all_assets_job", selection=dg.AssetSelection.all(),
    description="Everything in one run: ingest every source of the input folder (valid rows to staging, the rest "
                "to quarantine), build the readmission, reoffending, well-being, reciprocity and social-value marts, "
                "write the five HTML pages and the reader snapshot. Settings come from the OUTCOMES_* variables "
                "(docs/configuration.md).")

#: One Settings resource per run, configured at launch (its defaults: the OUTCOMES_* variables), handed to the
#: warehouse as well, so the settings file the launchpad names is the one every step and connection reads.
settings = Settings.configure_at_launch()

defs = dg.Definitions(
    assets=with_step_hooks(dg.map_asset_specs(with_owner, [
        *ingest_assets, run_record, *readmission_assets, *reoffending_assets, *wellbeing_assets, *reciprocity_assets,
        *social_value_assets, *diagnostics_assets, *effect_register_assets, *coverage_assets, reader_snapshot, *page_assets])),
    jobs=[all_assets_job],
    sensors=sensors,
    schedules=schedules,
    resources={"warehouse": Warehouse(settings=settings), "settings": settings},
    # One DuckDB writer at a time (docs/storage.md): steps run in one process, in order.
    executor=in_process_executor,
)
