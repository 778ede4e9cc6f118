"""Reciprocity assets: the member mart (person level, never published), time bank x period
activity, grant metrics and the proposed allocation of each funder's reciprocity pot.

Thin by design: each asset calls one function of ``models.reciprocity`` (definitions and
sources: docs/reciprocity.md; columns: docs/outputs-reciprocity.md) with the
``reciprocity`` section of the analysis config.
"""

import dagster as dg
import pandas as pd

from models import reciprocity as rc
from models.reciprocity.grants import apportion_social_value
from models.reciprocity.prepare import GRANTS, source_sql
from models.reciprocity.settings import ReciprocitySettings
from pipelines.assets.publication import aggregate_only_check, preview
from pipelines.ingest.assets import WAREHOUSE_POOL
from pipelines.resources import Settings, Warehouse

GROUP = "reciprocity"
LOG_SOURCES = [dg.AssetKey(["staging", s]) for s in ("timebank_members", "timebank_exchanges")]
TIMEBANK_KEY = dg.AssetKey(["marts", "timebank_activity"])
GRANTS_KEY = dg.AssetKey(["marts", "grant_metrics"])
ALLOCATION_KEY = dg.AssetKey(["marts", "reciprocity_allocation"])
SENSITIVITY_KEY = dg.AssetKey(["marts", "reciprocity_allocation_sensitivity"])
SOCIAL_VALUE_KEY = dg.AssetKey(["marts", "social_value"])


def reciprocity_settings(settings: Settings) -> ReciprocitySettings:
    config = settings.config()
    s = config.reciprocity
    return s if s.as_of or not config.ingest.as_of else s.model_copy(update={"as_of": config.ingest.as_of})


@dg.asset(key=["marts", "member_reciprocity"], group_name=GROUP, kinds={"duckdb"}, deps=LOG_SOURCES,
          pool=WAREHOUSE_POOL,
          description="marts.member_reciprocity: per account over the window, hours given, received and donated, "
                      "balance index b = 2·min(G,R)/(G+R), trading partners, first and last exchange, active status. "
                      "Person level: stays in the warehouse, never published.")
def member_reciprocity(context: dg.AssetExecutionContext, warehouse: Warehouse, settings: Settings) -> dg.MaterializeResult:
    with warehouse.connect() as con:
        table = rc.member_reciprocity(con, reciprocity_settings(settings), run_id=context.run_id)
        rows, eligible, active = con.execute(
            f"SELECT count(*), count(*) FILTER (WHERE reciprocity_eligible), count(*) FILTER (WHERE is_active) FROM {table}"
        ).fetchone()
    return dg.MaterializeResult(metadata={"rows": rows, "reciprocity_eligible": eligible, "active": active})


@dg.asset(key=TIMEBANK_KEY, group_name=GROUP, kinds={"duckdb"}, deps=LOG_SOURCES, pool=WAREHOUSE_POOL,
          description="marts.timebank_activity: per time bank x period (and overall): members, active members, hours, "
                      "exchanges, two-way and beneficiary contribution shares, dyadic, weighted and generalised "
                      "reciprocity, Gini of hours given, retention, days to first exchange, donations, reciprocity index.")
def timebank_activity(context: dg.AssetExecutionContext, warehouse: Warehouse, settings: Settings) -> dg.MaterializeResult:
    timings: dict[str, float] = {}
    with warehouse.connect() as con:
        frame = rc.timebank_activity(con, reciprocity_settings(settings), run_id=context.run_id, timings=timings)
        rc.write_frame(con, frame, "marts.timebank_activity")
    overall = frame[frame["period_type"] == "overall"]
    return dg.MaterializeResult(metadata={
        "rows": len(frame), "time_banks": int(overall["timebank_id"].nunique()),
        "overall": preview(overall[["timebank_id", "members", "active_members", "hours_exchanged", "two_way_share",
                                    "generalised_reciprocity", "reciprocity_index"]]),
        **{f"seconds: {k}": round(v, 3) for k, v in timings.items()},
    })


def _social_value_by_grant(con) -> pd.DataFrame | None:
    """Each time bank's present value (marts.social_value) apportioned to its grants by amount."""
    by_time_bank = con.execute("SELECT scope AS timebank_id, pv AS social_value FROM marts.social_value "
                               "WHERE scope <> 'overall' AND pv IS NOT NULL").df()
    grants = con.execute(f"SELECT grant_id, timebank_id, amount FROM ({source_sql(con, GRANTS)})").df()
    return apportion_social_value(grants, by_time_bank)


@dg.asset(key=GRANTS_KEY, group_name=GROUP, kinds={"duckdb"},
          deps=[*LOG_SOURCES, dg.AssetKey(["staging", "grants"]), dg.AssetKey(["staging", "coproduction_assessments"]),
                SOCIAL_VALUE_KEY],
          pool=WAREHOUSE_POOL,
          description="marts.grant_metrics: per grant and its period: costs per active member, per hour and per two-way "
                      "member, the reciprocity index and its components, the co-production self-assessment, and social "
                      "value (each time bank's, shared among its grants by amount) beside reciprocity-weighted "
                      "social value Σ SV·(α + (1−α)·b).")
def grant_metrics(context: dg.AssetExecutionContext, warehouse: Warehouse, settings: Settings) -> dg.MaterializeResult:
    with warehouse.connect() as con:
        social_value = _social_value_by_grant(con)
        frame = rc.grant_metrics(con, reciprocity_settings(settings), run_id=context.run_id, social_value=social_value)
        rc.write_frame(con, frame, "marts.grant_metrics")
    if social_value is None:
        context.log.info("no social value per time bank (marts.social_value): the weighted social value is left empty")
    return dg.MaterializeResult(metadata={
        "rows": len(frame), "with_social_value": int(frame["social_value"].notna().sum()),
        "preview": preview(frame[["grant_id", "funder", "timebank_id", "amount", "cost_per_active_member",
                                  "reciprocity_index", "coproduction_score", "social_value",
                                  "reciprocity_weighted_social_value"]]),
    })


@dg.multi_asset(
    specs=[
        dg.AssetSpec(ALLOCATION_KEY, group_name=GROUP, kinds={"duckdb"}, deps=[GRANTS_KEY],
                     description="marts.reciprocity_allocation: each funder's reserved reciprocity pot (config share of "
                                 "its grants) split in whole pence, proportional to the reciprocity index."),
        dg.AssetSpec(SENSITIVITY_KEY, group_name=GROUP, kinds={"duckdb"}, deps=[GRANTS_KEY],
                     description="marts.reciprocity_allocation_sensitivity: the allocation under every α and index "
                                 "weight set (base, equal, leave-one-out, configured sets)."),
    ],
    pool=WAREHOUSE_POOL,
)
def reciprocity_allocation(context: dg.AssetExecutionContext, warehouse: Warehouse, settings: Settings):
    s = reciprocity_settings(settings)
    with warehouse.connect() as con:
        grants = con.execute("SELECT * FROM marts.grant_metrics").df()
        allocation = rc.reciprocity_allocation(grants, s, run_id=context.run_id)
        sensitivity = rc.allocation_sensitivity(grants, allocation, s, run_id=context.run_id)
        rc.write_frame(con, allocation, "marts.reciprocity_allocation")
        rc.write_frame(con, sensitivity, "marts.reciprocity_allocation_sensitivity")
    yield dg.MaterializeResult(asset_key=ALLOCATION_KEY, metadata={
        "rows": len(allocation), "funders": int(allocation["funder"].nunique()),
        "reserved_pot_total": float(allocation.drop_duplicates("funder")["reserved_pot"].sum()),
        "preview": preview(allocation[["funder", "grant_id", "reciprocity_index", "allocation", "reserved_pot"]]),
    })
    yield dg.MaterializeResult(asset_key=SENSITIVITY_KEY, metadata={"rows": len(sensitivity)})


@dg.asset_check(asset=ALLOCATION_KEY, name="allocation_sums_to_pot", blocking=True, pool=WAREHOUSE_POOL,
                description="For every funder, the allocations add up to the reserved pot exactly, in pence.")
def allocation_sums_to_pot(context: dg.AssetCheckExecutionContext, warehouse: Warehouse) -> dg.AssetCheckResult:
    with warehouse.connect() as con:
        off = con.execute(
            "SELECT funder, any_value(reserved_pot_pence) - sum(allocation_pence) AS gap FROM marts.reciprocity_allocation "
            "GROUP BY funder HAVING count(DISTINCT reserved_pot_pence) > 1 OR gap <> 0").fetchall()
        funders = con.execute("SELECT count(DISTINCT funder) FROM marts.reciprocity_allocation").fetchone()[0]
    return dg.AssetCheckResult(passed=not off, severity=dg.AssetCheckSeverity.ERROR,
                               metadata={"funders": funders, "funders_off": ", ".join(f"{f} ({g}p)" for f, g in off) or "none"})


reciprocity_assets = [member_reciprocity, timebank_activity, grant_metrics, reciprocity_allocation]
reciprocity_checks = [
    allocation_sums_to_pot,
    *(aggregate_only_check(t) for t in ("marts.timebank_activity", "marts.grant_metrics",
                                        "marts.reciprocity_allocation", "marts.reciprocity_allocation_sensitivity")),
]
