"""``marts.outcome_coverage``: per outcome family, estimated / not estimated / no participants / no source data.

Reads the staged sources, each family's person-level core table and its published mart
(:mod:`models.coverage`), so it runs after them; the pages read it to say plainly why a
family has no result. Published: aggregate only (a status word and a sentence per family),
checked by its blocking ``aggregate_only`` check. Columns: schemas/marts.py, docs/outputs.md.
"""

import dagster as dg

from models.coverage import TABLE, outcome_coverage
from pipelines.assets.publication import mart_checks, mart_key, write_marts
from pipelines.ingest.assets import WAREHOUSE_POOL
from pipelines.resources import Warehouse
from schemas.raw import SOURCES

READS = ("core.index_discharges", "core.justice_cohort", "core.star_journeys", "marts.readmission_effects",
         "marts.reoffending_effects", "marts.wellbeing_effects", "marts.member_reciprocity", "marts.timebank_activity",
         "marts.impact_map")


@dg.asset(
    key=mart_key(TABLE), group_name="effects", kinds={"duckdb"}, pool=WAREHOUSE_POOL, check_specs=mart_checks(TABLE),
    deps=[*(dg.AssetKey(["staging", s]) for s in SOURCES), *(dg.AssetKey(t.split(".")) for t in READS)],
    description="marts.outcome_coverage: one row per outcome family (readmission, reoffending, well-being, "
                "reciprocity, social value) with its status (estimated, not estimated, no participants, no source "
                "data) and a plain sentence the pages show. Columns: docs/outputs.md.",
)
def outcome_coverage_mart(context: dg.AssetExecutionContext, warehouse: Warehouse):
    with warehouse.connect() as con:
        frame = outcome_coverage(con)
        yield from write_marts(context, con, {TABLE: frame}, {TABLE: dict(zip(frame["outcome_family"], frame["status"]))})


coverage_assets = [outcome_coverage_mart]
