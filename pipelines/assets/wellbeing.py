"""Well-being assets: Star journeys (person level, never published) and six marts.

Thin by design: each asset opens the warehouse, calls one function of ``models.wellbeing``
and writes its table with the one writer (schemas/marts.py), with its column schema, row
count and blocking ``aggregate_only`` check; the effects asset also writes the balance and
overlap rows of its comparisons; the statistics live (and are tested) there. Settings come from the
``wellbeing`` section of the analysis config.
"""


import dagster as dg

from models import wellbeing as wb
from models.comparison.diagnostics import Label
from models.wellbeing.effects import OUTCOME, effects_results
from models.wellbeing.journeys import READING_COUNTS, unaccounted_readings
from pipelines.assets.diagnostics import write_comparison_diagnostics
from pipelines.assets.headline_checks import HEADLINE_CHECKS
from pipelines.assets.publication import column_schema, mart_checks, mart_key, table_columns, write_marts
from pipelines.assets.settings_guard import built_with
from pipelines.assets.table_checks import specs
from pipelines.ingest.assets import WAREHOUSE_POOL
from pipelines.resources import Settings, Warehouse
from schemas.marts import mart

CORE_KEY = dg.AssetKey(["core", "star_journeys"])
GROUP = "wellbeing"
SOURCES = ("star_readings", "persons", "timebank_members", "timebank_exchanges", "programme_enrolments")

DESCRIPTIONS = {
    wb.CHANGE: "Distance travelled per Star version x area x time bank x period: baseline snapshot, paired change "
               "with 95% CI, Wilcoxon signed-rank, rank-biserial and Cohen's dz, % improved/same/worse, reliable change.",
    wb.SNAPSHOT: "Stage of everyone's baseline reading (single readings included), per version x area x time bank.",
    wb.TRANSITIONS: "Baseline stage x latest stage counts (full matrix) of people with paired readings.",
    wb.RELIABLE: "People with reliable improvement (Jacobson-Truax RCI) with Wilson intervals and the comparison "
                 "group's rate, keyed for the social-value model.",
    wb.EFFECTS: "Participants' improvement from a baseline reading before joining against comparison people not yet "
                "started that month (target trial, docs/methods.md), matched, per version and area; the headline row "
                "per version is flagged, with the design sentence, estimand and share of participants matched.",
    wb.MODEL: "Mixed models of the score on time, hours given and hours received (+ covariates, person intercept): "
              "coefficients with 95% CIs and the Wald test of giving = receiving.",
}


def wellbeing_settings(settings: Settings) -> wb.WellbeingSettings:
    return settings.config().wellbeing


@dg.asset(
    key=CORE_KEY,
    group_name=GROUP,
    kinds={"duckdb"},
    deps=[dg.AssetKey(["staging", s]) for s in SOURCES],
    pool=WAREHOUSE_POOL,
    check_specs=[dg.AssetCheckSpec("readings_accounted", asset=CORE_KEY, blocking=True, description=(
        "Every staged reading is scored, or is a raw score without a conversion (reported)."))],
    description="core.star_journeys (person x version x area: baseline, latest, change, stages, RCI), with "
                "core.wellbeing_readings (scored readings with hours given/received), core.wellbeing_people and "
                "core.wellbeing_trials (the target trial: time zero at joining, a baseline reading before it, aligned "
                "follow-up; docs/methods.md). Person level: never published.",
)
def star_journeys(context: dg.AssetExecutionContext, warehouse: Warehouse, settings: Settings) -> dg.MaterializeResult:
    config = wellbeing_settings(settings)
    with warehouse.connect() as con, built_with(con, config, GROUP, context.run.run_id, wb.CORE_TABLES) as used:
        counts = wb.write_core(con, used, context.run.run_id)
        schema = column_schema(mart(wb.JOURNEYS), table_columns(con, wb.JOURNEYS))
        accounted = {"unaccounted": unaccounted_readings(con),
                     **{k: counts[k] for k in READING_COUNTS}}  # write_core's reading_counts, not counted again
    if counts["covariates_absent"]:
        context.log.warning(f"well-being covariates not in staging.persons, left out: {counts['covariates_absent']}")
    if counts["readings_left_out"]:
        context.log.warning(f"{counts['readings_left_out']} staged readings have no analysis score (a SWEMWBS raw "
                            "total that is not a whole number) and are left out")
    if not counts["readings_staged"]:
        context.log.info("no Star or well-being readings staged: well-being tables are empty (source not supplied)")
    return dg.MaterializeResult(metadata={
        **{k: v for k, v in counts.items() if isinstance(v, int)},
        "dagster/row_count": counts["rows_star_journeys"], "dagster/column_schema": schema,
        "covariates_used": ", ".join(counts["covariates_used"]) or "none",
        "covariates_absent": ", ".join(counts["covariates_absent"]) or "none",
        "baseline_rule": config.baseline_rule,
        "design": config.design,
    }, check_results=[dg.AssetCheckResult(
        check_name="readings_accounted", passed=accounted["unaccounted"] == 0, severity=dg.AssetCheckSeverity.ERROR,
        metadata=accounted)])


def _effects(con, config: wb.WellbeingSettings, run_id: str):
    """The effects mart, after writing the balance and overlap rows of its comparisons."""
    frame, results = effects_results(con, config)
    labelled = [(Label(GROUP, f"{version} / {area}", OUTCOME), res) for (version, area), res in results.items()]
    return frame, {"comparisons_described": write_comparison_diagnostics(con, GROUP, labelled, run_id)}


def _mart_frame(table: str, con, config: wb.WellbeingSettings, run_id: str):
    if table == wb.EFFECTS:
        return _effects(con, config, run_id)
    return wb.MART_BUILDERS[table](con, config), {}


PAIRED_MINIMUM = dg.AssetCheckSpec(
    "paired_minimum", asset=mart_key(wb.CHANGE), blocking=False,
    description="Warns when an instrument has fewer people with paired readings than wellbeing.min_paired_n "
                "(Warwick: 30); those rows carry small_n = true.")


def paired_minimum(con, minimum: int) -> dg.AssetCheckResult:
    """The ``paired_minimum`` warning of the change mart just written."""
    rows = con.execute(
        f"SELECT star_version, n_paired FROM {wb.CHANGE} WHERE area = 'at_least_one_area' AND timebank_id = 'all' "
        "AND period = 'all' ORDER BY star_version").fetchall()
    below = [(v, n) for v, n in rows if n < minimum]
    small = [f"{v} ({n})" for v, n in below]
    said = (f"{len(below)} of {len(rows)} instruments have fewer than {minimum} people with a reading before and after "
            f"joining ({', '.join(f'{v} {n}' for v, n in below)}): their well-being changes are marked small_n and "
            "read with care (wellbeing.min_paired_n)") if below else None
    return dg.AssetCheckResult(check_name=PAIRED_MINIMUM.name, passed=not small, severity=dg.AssetCheckSeverity.WARN,
                               metadata={"minimum": minimum, "instruments_below": ", ".join(small) or "none",
                                         "instruments": len(rows)}, description=said)


def build_mart_asset(table: str) -> dg.AssetsDefinition:
    """The asset of one well-being mart; its checks are evaluated inside it (not as steps of their own that
    reopen the warehouse): ``aggregate_only``, ``paired_minimum`` on the change mart and
    ``estimates_complete`` on the effects mart."""
    key = mart_key(table)
    extra = [PAIRED_MINIMUM] if table == wb.CHANGE else []

    @dg.asset(key=key, group_name=GROUP, kinds={"duckdb"}, deps=[CORE_KEY], pool=WAREHOUSE_POOL,
              check_specs=[*mart_checks(table), *extra, *specs(HEADLINE_CHECKS, table)],
              description=f"{table}: {DESCRIPTIONS[table]} Columns: docs/outputs-wellbeing.md.")
    def _mart(context: dg.AssetExecutionContext, warehouse: Warehouse, settings: Settings):
        config = wellbeing_settings(settings)
        with warehouse.connect() as con, built_with(con, config, GROUP, context.run.run_id, [table], on=[wb.JOURNEYS]) as config:
            frame, meta = _mart_frame(table, con, config, context.run.run_id)
            if "status" in frame.columns and len(frame):
                meta["not_estimated"] = int((~frame["status"].astype(str).str.startswith(("estimated", "fitted"))).sum())
            yield from write_marts(context, con, {table: frame}, {table: meta}, HEADLINE_CHECKS)
            if extra:
                yield paired_minimum(con, config.min_paired_n)

    return _mart


wellbeing_assets = [star_journeys, *(build_mart_asset(t) for t in wb.MART_TABLES)]
