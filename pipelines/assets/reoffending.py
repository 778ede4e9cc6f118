"""Reoffending assets: the justice cohort and the five reoffending marts, with their checks.

Thin: each asset reads its settings, calls one function of ``models.reoffending`` and writes
the result. Settings come from the ``reoffending`` section of the analysis config.
"""

import datetime as dt

import dagster as dg

from models.reoffending import (
    COHORT_TABLE,
    ReoffendingSettings,
    build_justice_cohort,
    compare_reoffending,
    read_cohort,
    reoffending_cox,
    reoffending_rates,
    write_mart,
)
from models.reoffending.rates import rate_check
from pipelines.assets.publication import preview
from pipelines.ingest.assets import WAREHOUSE_POOL
from pipelines.resources import Settings, Warehouse

GROUP = "reoffending"
SOURCES = ("persons", "justice_events", "offences", "programme_enrolments", "timebank_members")
COHORT_KEY = dg.AssetKey(["core", "justice_cohort"])
RATES_KEY = dg.AssetKey(["marts", "reoffending_rates"])
EFFECTS_KEY = dg.AssetKey(["marts", "reoffending_effects"])
SURVIVAL_KEY = dg.AssetKey(["marts", "reoffending_survival"])
AVOIDED_KEY = dg.AssetKey(["marts", "reoffending_avoided"])
COX_KEY = dg.AssetKey(["marts", "reoffending_cox"])


def reoffending_settings(settings: Settings) -> tuple[ReoffendingSettings, dt.date]:
    """The reoffending section of the config and the as-of date."""
    config = settings.config()
    return config.reoffending, config.reoffending.as_of or config.as_of()


@dg.asset(
    key=COHORT_KEY,
    group_name=GROUP,
    kinds={"duckdb"},
    deps=[dg.AssetKey(["staging", s]) for s in SOURCES],
    pool=WAREHOUSE_POOL,
    description="Person-level justice cohort (never published): index events by cohort period, proven reoffences, "
                "participation, covariates. Rules in models/reoffending/cohort.py.",
)
def justice_cohort(context: dg.AssetExecutionContext, warehouse: Warehouse, settings: Settings) -> dg.MaterializeResult:
    rs, as_of = reoffending_settings(settings)
    with warehouse.connect() as con:
        rows = build_justice_cohort(con, rs, as_of=as_of, run_id=context.run_id)
        final, participants, periods, provisional = con.execute(
            f"SELECT count(*) FILTER (WHERE is_final), count(*) FILTER (WHERE participant), "
            f"count(DISTINCT cohort_period), count(DISTINCT cohort_period) FILTER (WHERE NOT is_final) FROM {COHORT_TABLE}"
        ).fetchone()
    if not rows:
        context.log.info("core.justice_cohort: no index events (justice_events empty or not supplied); empty table written")
    return dg.MaterializeResult(metadata={
        "rows": rows, "rows_final": int(final), "participants": int(participants),
        "cohort_periods": int(periods), "provisional_periods": int(provisional),
        "as_of": as_of.isoformat(), "definition": rs.describe(),
    })


@dg.asset(
    key=RATES_KEY,
    group_name=GROUP,
    kinds={"duckdb"},
    deps=[COHORT_KEY],
    pool=WAREHOUSE_POOL,
    description="Proven reoffending by cohort period, programme and index event type: binary rate (Wilson 95%), "
                "frequency, reoffences per reoffender; final cohorts pooled in the `all` rows.",
)
def reoffending_rates_mart(context: dg.AssetExecutionContext, warehouse: Warehouse) -> dg.MaterializeResult:
    with warehouse.connect() as con:
        df = reoffending_rates(con)
        rows = write_mart(con, "marts.reoffending_rates", df, context.run_id)
    overall = df[(df["cohort_period"] == "all") & (df["programme"] == "all_people") & (df["event_type"] == "all")]
    return dg.MaterializeResult(metadata={"rows": rows, "overall": preview(overall), "preview": preview(df)})


@dg.multi_asset(
    specs=[
        dg.AssetSpec(EFFECTS_KEY, deps=[COHORT_KEY], group_name=GROUP, kinds={"duckdb"},
                     description="Justice Data Lab style effects per programme: participants vs matched comparison for "
                                 "the binary rate, frequency and time to first reoffence, with intervals, verdicts and "
                                 "the 'for every 100 people' wording."),
        dg.AssetSpec(SURVIVAL_KEY, deps=[COHORT_KEY], group_name=GROUP, kinds={"duckdb"},
                     description="Kaplan-Meier curves of time to first proven reoffence, participants vs matched "
                                 "comparison, with 95% intervals."),
        dg.AssetSpec(AVOIDED_KEY, deps=[COHORT_KEY], group_name=GROUP, kinds={"duckdb"},
                     description="Avoided proven reoffenders and reoffences with 95% intervals, for the social-value model."),
    ],
    pool=WAREHOUSE_POOL,
)
def reoffending_comparison(context: dg.AssetExecutionContext, warehouse: Warehouse, settings: Settings):
    rs, _ = reoffending_settings(settings)
    with warehouse.connect() as con:
        comp = compare_reoffending(read_cohort(con), rs)
        n_eff = write_mart(con, "marts.reoffending_effects", comp.effects, context.run_id)
        n_surv = write_mart(con, "marts.reoffending_survival", comp.survival, context.run_id)
        n_avo = write_mart(con, "marts.reoffending_avoided", comp.avoided, context.run_id)
    eff = comp.effects
    not_estimable = eff.loc[~eff["estimable"].astype(bool), ["programme", "measure", "not_estimable_reason"]] if len(eff) else eff
    for r in not_estimable.drop_duplicates("programme").itertuples():
        context.log.info(f"reoffending effects, {r.programme}: {r.not_estimable_reason}")
    cols = ["programme", "measure", "participant_value", "comparison_value", "estimate", "ci_low", "ci_high", "verdict", "n_matched"]
    yield dg.MaterializeResult(asset_key=EFFECTS_KEY, metadata={
        "rows": n_eff, "not_estimable": len(not_estimable), "preview": preview(eff[cols] if len(eff) else eff),
    })
    yield dg.MaterializeResult(asset_key=SURVIVAL_KEY, metadata={"rows": n_surv})
    yield dg.MaterializeResult(asset_key=AVOIDED_KEY, metadata={"rows": n_avo, "preview": preview(comp.avoided)})


@dg.asset(
    key=COX_KEY,
    group_name=GROUP,
    kinds={"duckdb"},
    deps=[COHORT_KEY],
    pool=WAREHOUSE_POOL,
    description="Cox proportional-hazards model of time to first proven reoffence per programme (treated + covariates, "
                "statsmodels PHReg) with a Schoenfeld-residual PH test per term.",
)
def reoffending_cox_mart(context: dg.AssetExecutionContext, warehouse: Warehouse, settings: Settings) -> dg.MaterializeResult:
    rs, _ = reoffending_settings(settings)
    with warehouse.connect() as con:
        df = reoffending_cox(read_cohort(con), rs)
        rows = write_mart(con, "marts.reoffending_cox", df, context.run_id)
    treated = df[df["term"] == "treated"] if len(df) else df
    return dg.MaterializeResult(metadata={"rows": rows, "treated_terms": preview(treated)})


# ------------------------------------------------------------------------------------ checks


@dg.asset_check(asset=COHORT_KEY, name="cohort_rules_hold", blocking=True, pool=WAREHOUSE_POOL,
                description="One index event per person and period; every counted first reoffence lies in "
                            "(index date, follow-up end]; reoffended agrees with reoffences.")
def cohort_rules_hold(warehouse: Warehouse) -> dg.AssetCheckResult:
    with warehouse.connect() as con:
        dup, outside, disagree = con.execute(f"""
            SELECT (SELECT count(*) FROM (SELECT person_id, cohort_period FROM {COHORT_TABLE}
                                          GROUP BY ALL HAVING count(*) > 1)),
                   count(*) FILTER (WHERE first_reoffence_date <= index_date OR first_reoffence_date > follow_up_end),
                   count(*) FILTER (WHERE reoffended <> (reoffences > 0))
            FROM {COHORT_TABLE}""").fetchone()
    return dg.AssetCheckResult(
        passed=bool(dup == 0 and outside == 0 and disagree == 0), severity=dg.AssetCheckSeverity.ERROR,
        metadata={"duplicate_person_periods": int(dup), "reoffences_outside_window": int(outside),
                  "flag_count_disagreements": int(disagree)},
    )


@dg.asset_check(asset=RATES_KEY, name="overall_row_reconciles", pool=WAREHOUSE_POOL,
                description="The pooled overall row (all periods, all people, all event types) equals the final "
                            "cohorts' persons, reoffenders and reoffences counted from core.justice_cohort.")
def overall_row_reconciles(warehouse: Warehouse) -> dg.AssetCheckResult:
    with warehouse.connect() as con:
        result = rate_check(con)
    return dg.AssetCheckResult(
        passed=bool(result["ok"]), severity=dg.AssetCheckSeverity.ERROR,
        metadata={"cohort": str(result["cohort"]), "overall_row": str(result["overall_row"])},
    )


@dg.asset_check(asset=EFFECTS_KEY, name="every_effect_explained", pool=WAREHOUSE_POOL,
                description="Every effect row has an estimate with a finite interval, or says why not "
                            "(not_estimable_reason); rows under the JDL minimum of matched participants are counted.")
def every_effect_explained(warehouse: Warehouse) -> dg.AssetCheckResult:
    with warehouse.connect() as con:
        unexplained, small = con.execute("""
            SELECT count(*) FILTER (WHERE (estimable AND NOT coalesce(isfinite(ci_low) AND isfinite(ci_high), false))
                                       OR (NOT estimable AND coalesce(not_estimable_reason, '') NOT LIKE 'not estimable: %')),
                   count(DISTINCT programme) FILTER (WHERE below_minimum)
            FROM marts.reoffending_effects""").fetchone()
    return dg.AssetCheckResult(
        passed=bool(unexplained == 0), severity=dg.AssetCheckSeverity.WARN,
        metadata={"unexplained_rows": int(unexplained), "programmes_below_minimum": int(small)},
    )


reoffending_assets = [justice_cohort, reoffending_rates_mart, reoffending_comparison, reoffending_cox_mart]
reoffending_checks = [cohort_rules_hold, overall_row_reconciles, every_effect_explained]
