"""Reoffending assets: the justice cohort and the five reoffending marts, with their checks.

Thin: the mart assets come from one table of builders (:data:`MART_BUILDERS`); each reads
its settings, calls one function of ``models.reoffending`` and writes the result with the one
writer (schemas/marts.py), with its column schema, row count and blocking ``aggregate_only``
check. The other checks (:data:`CHECKS`) are evaluated inside the asset they check, not as
steps of their own. Settings come from the ``reoffending`` section of the analysis config.
"""

import datetime as dt

import dagster as dg
import duckdb

from models.comparison.diagnostics import Label
from models.reoffending import (
    COHORT_TABLE,
    ReoffendingSettings,
    justice_cohort,
    compare_reoffending,
    read_cohort,
    reoffending_rates,
)
from models.reoffending.rates import rate_check
from pipelines.assets.diagnostics import write_comparison_diagnostics
from pipelines.assets.headline_checks import HEADLINE_CHECKS
from pipelines.assets.publication import mart_checks, mart_key, preview, write_marts
from pipelines.assets.settings_guard import built_with
from pipelines.assets.table_checks import TableCheck, specs
from pipelines.ingest.assets import WAREHOUSE_POOL
from pipelines.resources import Settings, Warehouse

GROUP = "reoffending"
SOURCES = ("persons", "justice_events", "offences", "programme_enrolments", "timebank_members")
COHORT_KEY = dg.AssetKey(["core", "justice_cohort"])


def reoffending_settings(settings: Settings) -> tuple[ReoffendingSettings, dt.date]:
    """The reoffending section of the config and the as-of date."""
    config = settings.config()
    return config.reoffending, config.reoffending.as_of or config.as_of()


def _cohort_rules(con: duckdb.DuckDBPyConnection) -> tuple[bool, dict]:
    dup, outside, disagree = con.execute(f"""
        SELECT (SELECT count(*) FROM (SELECT person_id, cohort_period FROM {COHORT_TABLE}
                                      GROUP BY ALL HAVING count(*) > 1)),
               count(*) FILTER (WHERE first_reoffence_date <= index_date OR first_reoffence_date > follow_up_end),
               count(*) FILTER (WHERE reoffended <> (reoffences > 0))
        FROM {COHORT_TABLE}""").fetchone()
    return dup == 0 and outside == 0 and disagree == 0, {
        "duplicate_person_periods": int(dup), "reoffences_outside_window": int(outside),
        "flag_count_disagreements": int(disagree)}


def _overall_row(con: duckdb.DuckDBPyConnection) -> tuple[bool, dict]:
    result = rate_check(con)
    return result["ok"], {"cohort": str(result["cohort"]), "overall_row": str(result["overall_row"])}


def _effects_explained(con: duckdb.DuckDBPyConnection) -> tuple[bool, dict]:
    unexplained, small = con.execute("""
        SELECT count(*) FILTER (WHERE (estimable AND NOT coalesce(isfinite(ci_low) AND isfinite(ci_high), false))
                                   OR (NOT estimable AND coalesce(not_estimable_reason, '') NOT LIKE 'not estimable: %')),
               count(DISTINCT programme) FILTER (WHERE below_minimum)
        FROM marts.reoffending_effects""").fetchone()
    return unexplained == 0, {"unexplained_rows": int(unexplained), "programmes_below_minimum": int(small)}


#: every check a reoffending asset evaluates besides ``aggregate_only``
CHECKS = [
    TableCheck(COHORT_TABLE, "cohort_rules_hold", "One index event per person and period; every counted first "
               "reoffence lies in (index date, follow-up end]; reoffended agrees with reoffences.", _cohort_rules,
               blocking=True),
    TableCheck("marts.reoffending_rates", "overall_row_reconciles", "The pooled overall row (all periods, all people, "
               "all event types) equals the final cohorts' persons, reoffenders and reoffences counted from "
               "core.justice_cohort.", _overall_row),
    TableCheck("marts.reoffending_effects", "every_effect_explained", "Every effect row has an estimate with a finite "
               "interval, or says why not (not_estimable_reason); rows under the JDL minimum of matched participants "
               "are counted.", _effects_explained, severity=dg.AssetCheckSeverity.WARN),
    *HEADLINE_CHECKS,
]


@dg.asset(
    key=COHORT_KEY,
    group_name=GROUP,
    kinds={"duckdb"},
    deps=[dg.AssetKey(["staging", s]) for s in SOURCES],
    pool=WAREHOUSE_POOL,
    check_specs=specs(CHECKS, COHORT_TABLE),
    description="Person-level justice cohort (never published): index events by cohort period, proven reoffences, "
                "participation, covariates. Rules in models/reoffending/cohort.py.",
)
def justice_cohort_asset(context: dg.AssetExecutionContext, warehouse: Warehouse, settings: Settings):
    rs, as_of = reoffending_settings(settings)
    with warehouse.connect() as con, built_with(con, rs, GROUP, context.run.run_id, [COHORT_TABLE]) as used:
        (written,) = write_marts(context, con, {COHORT_TABLE: justice_cohort(con, used, as_of=as_of)}, checks=CHECKS)
        rows, final, participants, periods, provisional = con.execute(
            f"SELECT count(*), count(*) FILTER (WHERE is_final), count(*) FILTER (WHERE participant), "
            f"count(DISTINCT cohort_period), count(DISTINCT cohort_period) FILTER (WHERE NOT is_final) FROM {COHORT_TABLE}"
        ).fetchone()
    if not rows:
        context.log.info("core.justice_cohort: no index events (justice_events empty or not supplied); empty table written")
    yield dg.MaterializeResult(asset_key=COHORT_KEY, metadata={
        **written.metadata, "rows_final": int(final), "participants": int(participants),
        "cohort_periods": int(periods), "provisional_periods": int(provisional),
        "as_of": as_of.isoformat(), "definition": rs.describe(),
    }, check_results=written.check_results)


def _rates(con, rs, context):
    frame = reoffending_rates(con)
    overall = frame[(frame["cohort_period"] == "all") & (frame["programme"] == "all_people") & (frame["event_type"] == "all")]
    return {"marts.reoffending_rates": frame}, {"marts.reoffending_rates": {"overall": preview(overall)}}


def _comparison(con, rs, context):
    comp = compare_reoffending(read_cohort(con), rs, cox=True)
    eff = comp.effects
    not_estimable = eff.loc[~eff["estimable"].astype(bool), ["programme", "measure", "not_estimable_reason"]] if len(eff) else eff
    for r in not_estimable.drop_duplicates("programme").itertuples():
        context.log.info(f"reoffending effects, {r.programme}: {r.not_estimable_reason}")
    described = write_comparison_diagnostics(
        con, GROUP, [(Label(GROUP, programme, "binary_rate"), res["binary"]) for programme, res in comp.results.items()],
        context.run.run_id)
    treated = comp.cox[comp.cox["term"] == "treated"] if len(comp.cox) else comp.cox
    return ({"marts.reoffending_effects": eff, "marts.reoffending_survival": comp.survival,
             "marts.reoffending_avoided": comp.avoided, "marts.reoffending_cox": comp.cox},
            {"marts.reoffending_effects": {"not_estimable": len(not_estimable), "comparisons_described": described},
             "marts.reoffending_cox": {"treated_terms": preview(treated)}})


#: (marts written together) -> (model call, description of each mart). Each entry is one asset
#: (a multi-asset when it writes several marts); ``build(con, settings, context)`` returns the
#: frames and extra metadata by mart.
MART_BUILDERS = {
    ("marts.reoffending_rates",): (_rates, (
        "Proven reoffending by cohort period, programme and index event type: binary rate (Wilson 95%), "
        "frequency, reoffences per reoffender; final cohorts pooled in the `all` rows.",)),
    ("marts.reoffending_effects", "marts.reoffending_survival", "marts.reoffending_avoided",
     "marts.reoffending_cox"): (_comparison, (
        "Justice Data Lab style effects per programme: participants vs matched comparison for the binary rate, "
        "frequency and time to first reoffence (one matching for every measure), with intervals, verdicts and the "
        "'for every 100 people' wording; also the balance and overlap rows of the matching for the diagnostics marts.",
        "Kaplan-Meier curves of time to first proven reoffence, participants vs matched comparison, with 95% intervals.",
        "Avoided proven reoffenders and reoffences with 95% intervals, for the social-value model.",
        "Cox proportional-hazards model of time to first proven reoffence per programme (treated + covariates, "
        "Efron partial likelihood, models/reoffending/partial_likelihood.py, equal to statsmodels PHReg to 1e-8) with a "
        "Schoenfeld-residual PH test per term, on the same design rows as the matched comparison (built once).")),
}


def build_mart_asset(tables: tuple[str, ...]) -> dg.AssetsDefinition:
    build, descriptions = MART_BUILDERS[tables]

    @dg.multi_asset(
        name="_".join(mart_key(tables[0]).path) + ("_and_related" if len(tables) > 1 else ""),
        specs=[dg.AssetSpec(mart_key(t), deps=[COHORT_KEY], group_name=GROUP, kinds={"duckdb"},
                            description=f"{t}: {d} Columns: docs/outputs-reoffending.md.")
               for t, d in zip(tables, descriptions)],
        check_specs=[*mart_checks(*tables), *specs(CHECKS, *tables)], pool=WAREHOUSE_POOL,
    )
    def _marts(context: dg.AssetExecutionContext, warehouse: Warehouse, settings: Settings):
        rs, _ = reoffending_settings(settings)
        with warehouse.connect() as con, built_with(con, rs, GROUP, context.run.run_id, tables, on=[COHORT_TABLE]) as rs:
            frames, meta = build(con, rs, context)
            yield from write_marts(context, con, frames, meta, CHECKS)

    return _marts


mart_assets = {tables: build_mart_asset(tables) for tables in MART_BUILDERS}


reoffending_assets = [justice_cohort_asset, *mart_assets.values()]
