"""Social-value assets: the configured impact map evaluated on the models' results.

One multi-asset writes ``marts.social_value``, ``marts.social_value_sensitivity``,
``marts.impact_map`` and ``marts.social_value_yearly`` from one evaluation
(``models.social_value.warehouse.evaluate_from_warehouse``), with the one writer and the
blocking ``aggregate_only`` check of each (and the ``every_outcome_valued`` warning on the
impact map, evaluated in the same step); the arithmetic, its sources and every column are
in docs/social-value.md (columns declared in schemas/marts.py).
"""

import dagster as dg
import duckdb

from models.social_value.warehouse import evaluate_from_warehouse
from pipelines.assets.publication import mart_checks, write_marts
from pipelines.assets.table_checks import TableCheck
from pipelines.ingest.assets import WAREHOUSE_POOL
from pipelines.resources import Settings, Warehouse

GROUP = "social_value"
MODEL_RESULTS = [dg.AssetKey(["marts", t]) for t in ("readmission_avoided", "reoffending_avoided",
                                                     "wellbeing_reliable_improvement", "wellbeing_effects",
                                                     "timebank_activity")]
DESCRIPTIONS = {
    "social_value": "PV, NPV, SROI ratio, net ratio, payback and the Monte Carlo 95% interval of the ratio, "
                    "overall and per time bank.",
    "social_value_sensitivity": "One-at-a-time sensitivity: every assumption at its low and high value, the ratio "
                                "at each, and the switching value at which the ratio reaches 1:1 (tornado data).",
    "impact_map": "The impact map as resolved: every quantity with its source and interval, proxy with its source, "
                  "licence and uprating, deadweight (and its source), displacement, attribution, drop-off; status "
                  "'valued' or 'omitted: <reason>'.",
    "social_value_yearly": "Impact, discount factor and present value of every outcome in every year.",
}
KEYS = {name: dg.AssetKey(["marts", name]) for name in DESCRIPTIONS}


def _outcomes_valued(con: duckdb.DuckDBPyConnection) -> tuple[bool, dict]:
    rows = con.execute("SELECT outcome, status FROM marts.impact_map").fetchall()
    outcomes = [(o, s) for o, s in rows if not str(s).startswith("output")]  # outputs are reported, never valued
    omitted = [f"{o} ({s})" for o, s in outcomes if not str(s).startswith("valued")]
    return not omitted, {"outcomes": len(outcomes), "outputs": len(rows) - len(outcomes),
                         "omitted": "; ".join(omitted) or "none"}


EVERY_OUTCOME_VALUED = TableCheck(
    "marts.impact_map", "every_outcome_valued", "Warns when an impact map is configured but an outcome was left out "
    "because its model has no results (the totals then leave that outcome out).", _outcomes_valued,
    severity=dg.AssetCheckSeverity.WARN)


@dg.multi_asset(
    specs=[dg.AssetSpec(key, group_name=GROUP, kinds={"duckdb"}, deps=MODEL_RESULTS,
                        description=f"marts.{name}: {DESCRIPTIONS[name]}") for name, key in KEYS.items()],
    check_specs=[*mart_checks(*(f"marts.{name}" for name in DESCRIPTIONS)), EVERY_OUTCOME_VALUED.spec()],
    pool=WAREHOUSE_POOL,
)
def social_value(context: dg.AssetExecutionContext, warehouse: Warehouse, settings: Settings):
    with warehouse.connect() as con:
        config = settings.config()
        evaluation = evaluate_from_warehouse(con, config.social_value, demo=settings.demo, rule=config.disclosure.rule())
        for oid, reason in evaluation.omitted:
            context.log.warning(f"social value: outcome {oid!r} left out: {reason}")
        context.log.info(f"social value: {evaluation.note}")
        common = {"impact_map": str(evaluation.map_path or "none"), "note": evaluation.note}
        yield from write_marts(context, con, {f"marts.{name}": frame for name, frame in evaluation.marts.items()},
                               {f"marts.{name}": common for name in evaluation.marts}, [EVERY_OUTCOME_VALUED])


social_value_assets = [social_value]
