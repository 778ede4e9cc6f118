"""Reciprocity assets: the member mart (person level, never published), time bank x period
activity, grant metrics and the proposed allocation of each funder's reciprocity pot.

Thin by design: each asset calls one function of ``models.reciprocity`` (definitions and
sources: docs/reciprocity.md; columns: docs/outputs-reciprocity.md) with the
``reciprocity`` section of the analysis config, and writes its result with the one writer
(schemas/marts.py), with the blocking ``aggregate_only`` check of each published mart.
"""

import dagster as dg
import duckdb
import pandas as pd

from models import reciprocity as rc
from models.reciprocity.settings import ReciprocitySettings
from pipelines.assets.publication import mart_checks, mart_key, preview, write_marts
from pipelines.assets.table_checks import TableCheck
from pipelines.ingest.assets import WAREHOUSE_POOL
from pipelines.resources import Settings, Warehouse

GROUP = "reciprocity"
LOG_SOURCES = [dg.AssetKey(["staging", s]) for s in ("timebank_members", "timebank_exchanges")]
TIMEBANK_TABLE, GRANTS_TABLE = "marts.timebank_activity", "marts.grant_metrics"
ALLOCATION_TABLE, SENSITIVITY_TABLE = "marts.reciprocity_allocation", "marts.reciprocity_allocation_sensitivity"
TIMEBANK_KEY, GRANTS_KEY = mart_key(TIMEBANK_TABLE), mart_key(GRANTS_TABLE)
ALLOCATION_KEY, SENSITIVITY_KEY = mart_key(ALLOCATION_TABLE), mart_key(SENSITIVITY_TABLE)
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
def member_reciprocity(context: dg.AssetExecutionContext, warehouse: Warehouse, settings: Settings):
    with warehouse.connect() as con:
        rows = rc.member_reciprocity(con, reciprocity_settings(settings))
        eligible, active = con.from_arrow(rows).aggregate(
            "count(*) FILTER (WHERE reciprocity_eligible), count(*) FILTER (WHERE is_active)").fetchall()[0]
        yield from write_marts(context, con, {rc.MEMBER_TABLE: rows},
                               {rc.MEMBER_TABLE: {"reciprocity_eligible": eligible, "active": active}})


@dg.asset(key=TIMEBANK_KEY, group_name=GROUP, kinds={"duckdb"}, deps=LOG_SOURCES, pool=WAREHOUSE_POOL,
          check_specs=mart_checks(TIMEBANK_TABLE),
          description="marts.timebank_activity: per time bank x period (and overall): members, active members, hours, "
                      "exchanges, two-way and beneficiary contribution shares, dyadic, weighted and generalised "
                      "reciprocity, Gini of hours given, retention, days to first exchange, donations, reciprocity index.")
def timebank_activity(context: dg.AssetExecutionContext, warehouse: Warehouse, settings: Settings):
    timings: dict[str, float] = {}
    with warehouse.connect() as con:
        frame = rc.timebank_activity(con, reciprocity_settings(settings), run_id=context.run.run_id, timings=timings)
        overall = frame[frame["period_type"] == "overall"]
        yield from write_marts(context, con, {TIMEBANK_TABLE: frame}, {TIMEBANK_TABLE: {
            "time_banks": int(overall["timebank_id"].nunique()),
            "overall": preview(overall[["timebank_id", "members", "active_members", "hours_exchanged", "two_way_share",
                                        "generalised_reciprocity", "reciprocity_index"]]),
            **{f"seconds: {k}": round(v, 3) for k, v in timings.items()},
        }})


def _social_value_by_time_bank(con) -> pd.DataFrame | None:
    """Each time bank's present value (marts.social_value), for ``grant_metrics`` to share among its grants by hours.
    The mart has a row for a time bank only when the impact map values an outcome for it (``ResolvedMap.scopes``); the
    shipped maps value none (the matched effects are programme-wide; hours are outputs), so their grants get no value
    (NULL), not £0."""
    by_time_bank = con.execute(
        "SELECT scope AS timebank_id, pv AS social_value FROM marts.social_value WHERE scope <> 'overall'").df()
    return None if by_time_bank.empty else by_time_bank


@dg.asset(key=GRANTS_KEY, group_name=GROUP, kinds={"duckdb"},
          deps=[*LOG_SOURCES, dg.AssetKey(["staging", "grants"]), dg.AssetKey(["staging", "coproduction_assessments"]),
                SOCIAL_VALUE_KEY],
          pool=WAREHOUSE_POOL, check_specs=mart_checks(GRANTS_TABLE),
          description="marts.grant_metrics: per grant and its period: costs per active member, per hour and per two-way "
                      "member, the reciprocity index and its components, the co-production self-assessment, and social "
                      "value (each time bank's, shared among its grants by the hours exchanged in each grant's "
                      "observed period) beside reciprocity-weighted "
                      "social value Σ SV·(α + (1−α)·b).")
def grant_metrics(context: dg.AssetExecutionContext, warehouse: Warehouse, settings: Settings):
    with warehouse.connect() as con:
        social_value = _social_value_by_time_bank(con)
        frame = rc.grant_metrics(con, reciprocity_settings(settings), run_id=context.run.run_id, social_value=social_value)
        if social_value is None:
            context.log.info("no social value per time bank (marts.social_value): the weighted social value is left empty")
        yield from write_marts(context, con, {GRANTS_TABLE: frame}, {GRANTS_TABLE: {
            "with_social_value": int(frame["social_value"].notna().sum()),
            "preview": preview(frame[["grant_id", "funder", "timebank_id", "amount", "cost_per_active_member",
                                      "reciprocity_index", "coproduction_score", "social_value",
                                      "reciprocity_weighted_social_value"]]),
        }})


def _allocation_sums(con: duckdb.DuckDBPyConnection) -> tuple[bool, dict]:
    off = con.execute(
        f"SELECT funder, any_value(reserved_pot_pence) - sum(allocation_pence) AS gap FROM {ALLOCATION_TABLE} "
        "GROUP BY funder HAVING count(DISTINCT reserved_pot_pence) > 1 OR gap <> 0").fetchall()
    funders = con.execute(f"SELECT count(DISTINCT funder) FROM {ALLOCATION_TABLE}").fetchone()[0]
    return not off, {"funders": funders, "funders_off": ", ".join(f"{f} ({g}p)" for f, g in off) or "none"}


#: evaluated inside the allocation asset, right after it writes
ALLOCATION_SUMS_TO_POT = TableCheck(
    ALLOCATION_TABLE, "allocation_sums_to_pot", "For every funder, the allocations add up to the reserved pot "
    "exactly, in pence.", _allocation_sums, blocking=True)


@dg.multi_asset(
    specs=[
        dg.AssetSpec(ALLOCATION_KEY, group_name=GROUP, kinds={"duckdb"}, deps=[GRANTS_KEY],
                     description="marts.reciprocity_allocation: each funder's reserved reciprocity pot (config share of "
                                 "its grants) split in whole pence, proportional to the reciprocity index."),
        dg.AssetSpec(SENSITIVITY_KEY, group_name=GROUP, kinds={"duckdb"}, deps=[GRANTS_KEY],
                     description="marts.reciprocity_allocation_sensitivity: the allocation under every α and index "
                                 "weight set (base, equal, leave-one-out, configured sets)."),
    ],
    check_specs=[*mart_checks(ALLOCATION_TABLE, SENSITIVITY_TABLE), ALLOCATION_SUMS_TO_POT.spec()],
    pool=WAREHOUSE_POOL,
)
def reciprocity_allocation(context: dg.AssetExecutionContext, warehouse: Warehouse, settings: Settings):
    s = reciprocity_settings(settings)
    with warehouse.connect() as con:
        grants = con.execute("SELECT * FROM marts.grant_metrics").df()
        allocation = rc.reciprocity_allocation(grants, s, run_id=context.run.run_id)
        sensitivity = rc.allocation_sensitivity(grants, allocation, s, run_id=context.run.run_id)
        yield from write_marts(context, con, {ALLOCATION_TABLE: allocation, SENSITIVITY_TABLE: sensitivity}, {
            ALLOCATION_TABLE: {
                "funders": int(allocation["funder"].nunique()),
                "reserved_pot_total": float(allocation.drop_duplicates("funder")["reserved_pot"].sum()),
                "preview": preview(allocation[["funder", "grant_id", "reciprocity_index", "allocation", "reserved_pot"]]),
            }}, [ALLOCATION_SUMS_TO_POT])


reciprocity_assets = [member_reciprocity, timebank_activity, grant_metrics, reciprocity_allocation]
