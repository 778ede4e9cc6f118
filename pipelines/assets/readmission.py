"""Readmission and service-use assets: thin wrappers over models.readmission.

``core/index_discharges`` builds core.continuous_spells and core.index_discharges (person
level, never published) from the staging tables; the marts read them. Each asset opens the
warehouse in the shared ``warehouse`` pool, calls one function of models.readmission, writes
its typed table and reports row counts and a preview. Settings: ``settings.config().readmission``
(the ``readmission`` section of the YAML config), or the documented defaults until that
section exists.
"""


import datetime as dt

import dagster as dg
import pandas as pd

from models.readmission import (
    ReadmissionSettings,
    admissions_before_after,
    avoided,
    build_index_discharges,
    discharges_frame,
    overlapping_spells,
    readmission_effects,
    readmission_funnel,
    readmission_rates,
    service_use_change,
    write_frame,
)
from pipelines.assets.publication import preview
from pipelines.ingest.assets import WAREHOUSE_POOL
from pipelines.resources import Settings, Warehouse

GROUP = "readmission"
HOSPITAL_DEPS = ["persons", "hospital_spells", "timebank_members", "timebank_exchanges", "programme_enrolments"]
INDEX_KEY = dg.AssetKey(["core", "index_discharges"])


def readmission_settings(settings: Settings) -> tuple[ReadmissionSettings, dt.date]:
    """The readmission section of the config and the as-of date."""
    config = settings.config()
    return config.readmission, config.readmission.as_of or config.as_of()


def _staging(*sources: str) -> list[dg.AssetKey]:
    return [dg.AssetKey(["staging", s]) for s in sources]


def _result(table: str, rows: int, frame: pd.DataFrame, **extra) -> dg.MaterializeResult:
    return dg.MaterializeResult(metadata={"table": table, "rows": rows, "preview": preview(frame), **extra})


@dg.asset(
    key=INDEX_KEY, group_name=GROUP, kinds={"duckdb"}, deps=_staging(*HOSPITAL_DEPS), pool=WAREHOUSE_POOL,
    description="core.index_discharges: one row per index discharge (NHS 30-day rules: continuous spells, "
                "exclusions, readmission, exposure, follow-up); also core.continuous_spells. Person-level, never published.",
)
def index_discharges(context: dg.AssetExecutionContext, warehouse: Warehouse, settings: Settings) -> dg.MaterializeResult:
    rs, as_of = readmission_settings(settings)
    with warehouse.connect() as con:
        report = build_index_discharges(con, rs, as_of=as_of, run_id=context.run_id)
    if report.overlapping_spells_excluded:
        context.log.warning(
            f"{report.overlapping_spells_excluded} overlapping hospital spells ({report.persons_with_overlapping_spells} "
            "persons) were left out of the continuous spells"
        )
    return dg.MaterializeResult(metadata={"rows": report.index_discharges, **report.as_metadata(), "as_of": str(as_of)})


@dg.asset_check(asset=INDEX_KEY, name="no_overlapping_spells", pool=WAREHOUSE_POOL,
                description="Warns when hospital spells of one person overlap (they are left out and counted).")
def no_overlapping_spells(warehouse: Warehouse) -> dg.AssetCheckResult:
    with warehouse.connect() as con:
        spells, persons = overlapping_spells(con)
    return dg.AssetCheckResult(
        passed=spells == 0, severity=dg.AssetCheckSeverity.WARN,
        metadata={"overlapping_spells_excluded": int(spells), "persons_with_overlapping_spells": int(persons)},
    )


@dg.asset(
    key=["marts", "readmission_rates"], group_name=GROUP, kinds={"duckdb"}, deps=[INDEX_KEY], pool=WAREHOUSE_POOL,
    description="marts.readmission_rates: 30-day readmission rate with Wilson 95% interval, overall and by "
                "exposure, time bank, programme, provider, area and quarter.",
)
def readmission_rates_mart(context: dg.AssetExecutionContext, warehouse: Warehouse) -> dg.MaterializeResult:
    with warehouse.connect() as con:
        frame = readmission_rates(con)
        rows = write_frame(con, "marts.readmission_rates", frame, context.run_id)
    return _result("marts.readmission_rates", rows, frame)


@dg.asset(
    key=["marts", "readmission_effects"], group_name=GROUP, kinds={"duckdb"}, deps=[INDEX_KEY, *_staging("persons")],
    pool=WAREHOUSE_POOL,
    description="marts.readmission_effects: participants' discharges against matched comparison discharges "
                "(comparison engine): risk difference, odds ratio, risk ratio, verdict, JDL statement.",
)
def readmission_effects_mart(context: dg.AssetExecutionContext, warehouse: Warehouse, settings: Settings) -> dg.MaterializeResult:
    rs, _ = readmission_settings(settings)
    with warehouse.connect() as con:
        frame, results = readmission_effects(discharges_frame(con), rs)
        rows = write_frame(con, "marts.readmission_effects", frame, context.run_id)
    extra = {f"summary_{k}": dg.MetadataValue.md(f"```\n{r.summary()}\n```") for k, r in results.items()}
    return _result("marts.readmission_effects", rows, frame, **extra)


@dg.asset(
    key=["marts", "readmission_funnel"], group_name=GROUP, kinds={"duckdb"}, deps=[INDEX_KEY, *_staging("persons")],
    pool=WAREHOUSE_POOL,
    description="marts.readmission_funnel: risk-adjusted observed/expected readmissions per provider and time bank "
                "with 95% and 99.8% limits (overdispersion-adjusted) and outlier flags.",
)
def readmission_funnel_mart(context: dg.AssetExecutionContext, warehouse: Warehouse, settings: Settings) -> dg.MaterializeResult:
    rs, _ = readmission_settings(settings)
    with warehouse.connect() as con:
        frame, notes = readmission_funnel(discharges_frame(con), rs)
        rows = write_frame(con, "marts.readmission_funnel", frame, context.run_id)
    return _result("marts.readmission_funnel", rows, frame, **{k: str(v) for k, v in notes.items()})


@dg.asset(
    key=["marts", "readmission_before_after"], group_name=GROUP, kinds={"duckdb"},
    deps=[INDEX_KEY, *_staging("persons", "timebank_members", "programme_enrolments", "hospital_spells")],
    pool=WAREHOUSE_POOL,
    description="marts.readmission_before_after: emergency admissions per person-year in the 12 months before vs "
                "after joining a time bank, participants vs matched comparison (difference-in-differences).",
)
def readmission_before_after_mart(context: dg.AssetExecutionContext, warehouse: Warehouse, settings: Settings) -> dg.MaterializeResult:
    rs, as_of = readmission_settings(settings)
    with warehouse.connect() as con:
        frame, counts = admissions_before_after(con, rs, as_of=as_of, run_id=context.run_id)
        rows = write_frame(con, "marts.readmission_before_after", frame, context.run_id)
    return _result("marts.readmission_before_after", rows, frame, **counts)


@dg.asset(
    key=["marts", "service_use_change"], group_name=GROUP, kinds={"duckdb"},
    deps=[INDEX_KEY, *_staging("persons", "timebank_members", "programme_enrolments", "service_contacts")],
    pool=WAREHOUSE_POOL,
    description="marts.service_use_change: contacts per person-year with each service in the 12 months before vs "
                "after joining, participants vs matched comparison (difference-in-differences).",
)
def service_use_change_mart(context: dg.AssetExecutionContext, warehouse: Warehouse, settings: Settings) -> dg.MaterializeResult:
    rs, as_of = readmission_settings(settings)
    with warehouse.connect() as con:
        frame, counts = service_use_change(con, rs, as_of=as_of, run_id=context.run_id)
        rows = write_frame(con, "marts.service_use_change", frame, context.run_id)
    return _result("marts.service_use_change", rows, frame, **counts)


@dg.asset(
    key=["marts", "readmission_avoided"], group_name=GROUP, kinds={"duckdb"},
    deps=[dg.AssetKey(["marts", t]) for t in ("readmission_effects", "readmission_before_after", "service_use_change")],
    pool=WAREHOUSE_POOL,
    description="marts.readmission_avoided: readmissions, emergency admissions and contacts per service avoided "
                "(point estimate and 95% interval), for the social-value model.",
)
def readmission_avoided_mart(context: dg.AssetExecutionContext, warehouse: Warehouse) -> dg.MaterializeResult:
    with warehouse.connect() as con:
        frame = avoided(*(con.execute(f"SELECT * FROM marts.{t}").df()
                          for t in ("readmission_effects", "readmission_before_after", "service_use_change")))
        rows = write_frame(con, "marts.readmission_avoided", frame, context.run_id)
    return _result("marts.readmission_avoided", rows, frame)


readmission_assets = [
    index_discharges,
    readmission_rates_mart,
    readmission_effects_mart,
    readmission_funnel_mart,
    readmission_before_after_mart,
    service_use_change_mart,
    readmission_avoided_mart,
]
readmission_checks = [no_overlapping_spells]
