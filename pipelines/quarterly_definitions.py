"""The quarterly code location: the assets partitioned by reporting quarter and their job.

A location of its own (docs/partitions.md): the UI's "Materialize all" on the main location
then runs every unpartitioned asset at once, and quarters are backfilled here, from this
location's asset graph or with ``dagster asset materialize -m pipelines.quarterly_definitions``.
The quarterly assets read tables the main location writes (their upstream assets are shown
from there).
"""

import dagster as dg

from pipelines.assets.quarterly import quarterly_assets, quarterly_job  # quiet: its beta parameter is silenced there
from pipelines.definitions import with_owner
from pipelines.hooks import with_step_hooks
from pipelines.resources import Settings, Warehouse, in_process_executor

settings = Settings.configure_at_launch(reads_inputs=False)  # one per run, the warehouse's too (pipelines.definitions)

defs = dg.Definitions(
    assets=with_step_hooks(dg.map_asset_specs(with_owner, quarterly_assets)),
    jobs=[quarterly_job],
    resources={"warehouse": Warehouse(settings=settings), "settings": settings},
    executor=in_process_executor,
)
