"""Readmission and service-use assets: thin wrappers over models.readmission.

``core/index_discharges`` writes core.continuous_spells and core.index_discharges (person
level, never published), which the models compute from the staging tables; the marts read
them. The six mart assets
come from one table of builders (:data:`MART_BUILDERS`), as the well-being marts do: each
opens the warehouse in the shared ``warehouse`` pool, calls one function of
models.readmission, and writes its table with the one writer (schemas/marts.py), with its
column schema, row count, preview and blocking ``aggregate_only`` check. Every check is
evaluated inside the asset it checks (:mod:`pipelines.assets.table_checks`), not as a step of
its own: ``no_overlapping_spells`` on the index discharges, ``estimates_complete`` on the
effects. Settings:
``settings.config().readmission`` (the ``readmission`` section of the YAML config).
"""


import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

import dagster as dg
import duckdb
import pandas as pd

from models.comparison.diagnostics import Label
from models.comparison.results import ComparisonResults
from models.mart_writer import write_mart
from models.readmission import (
    ReadmissionSettings,
    admissions_before_after,
    avoided,
    continuous_spells,
    discharges_frame,
    index_discharges,
    index_report,
    overlapping_spells,
    readmission_effects,
    readmission_funnel,
    readmission_rates,
    service_use_change,
)
from models.readmission.effects import OUTCOME, read_columns
from models.readmission.funnel import read_columns as funnel_columns
from pipelines.assets.diagnostics import write_comparison_diagnostics
from pipelines.assets.headline_checks import HEADLINE_CHECKS
from pipelines.assets.publication import mart_checks, mart_key, write_marts
from pipelines.assets.settings_guard import built_with
from pipelines.assets.table_checks import TableCheck, specs
from pipelines.ingest.assets import WAREHOUSE_POOL
from pipelines.resources import Settings, Warehouse

GROUP = "readmission"
HOSPITAL_DEPS = ["persons", "hospital_spells", "timebank_members", "timebank_exchanges", "programme_enrolments"]
INDEX_TABLE = "core.index_discharges"
INDEX_KEY = dg.AssetKey(["core", "index_discharges"])
#: the person-level tables the first asset writes; the marts record and check the settings they were built with
CORE_TABLES = ("core.continuous_spells", INDEX_TABLE)


def readmission_settings(settings: Settings) -> tuple[ReadmissionSettings, dt.date]:
    """The readmission section of the config and the as-of date."""
    config = settings.config()
    return config.readmission, config.readmission.as_of or config.as_of()


def _staging(*sources: str) -> list[dg.AssetKey]:
    return [dg.AssetKey(["staging", s]) for s in sources]


def _overlaps(con: duckdb.DuckDBPyConnection) -> tuple[bool, dict]:
    spells, persons = overlapping_spells(con)
    return spells == 0, {"overlapping_spells_excluded": int(spells), "persons_with_overlapping_spells": int(persons)}


NO_OVERLAPPING_SPELLS = TableCheck(
    "core.index_discharges", "no_overlapping_spells",
    "Warns when hospital spells of one person overlap (they are left out and counted).", _overlaps,
    severity=dg.AssetCheckSeverity.WARN)
#: every check a readmission asset evaluates besides ``aggregate_only``
CHECKS = [NO_OVERLAPPING_SPELLS, *HEADLINE_CHECKS]


@dg.asset(
    key=INDEX_KEY, group_name=GROUP, kinds={"duckdb"}, deps=_staging(*HOSPITAL_DEPS), pool=WAREHOUSE_POOL,
    check_specs=specs(CHECKS, "core.index_discharges"),
    description="core.index_discharges: one row per index discharge (NHS 30-day rules: continuous spells, "
                "exclusions, readmission, exposure, follow-up); also core.continuous_spells. Person-level, never published.",
)
def index_discharges_asset(context: dg.AssetExecutionContext, warehouse: Warehouse, settings: Settings):
    rs, as_of = readmission_settings(settings)
    with warehouse.connect() as con, built_with(con, rs, GROUP, context.run.run_id, CORE_TABLES) as rs:
        write_mart(con, "core.continuous_spells", continuous_spells(con, rs), context.run.run_id)
        (written,) = write_marts(context, con, {INDEX_TABLE: index_discharges(con, rs, as_of=as_of)}, checks=CHECKS)
        report = index_report(con, rs, as_of=as_of)
    if report.overlapping_spells_excluded:
        context.log.warning(
            f"{report.overlapping_spells_excluded} overlapping hospital spells ({report.persons_with_overlapping_spells} "
            "persons) were left out of the continuous spells"
        )
    yield dg.MaterializeResult(asset_key=INDEX_KEY, metadata={**written.metadata, **report.as_metadata(),
                                                              "as_of": str(as_of)}, check_results=written.check_results)


#: build(con, settings, as_of, run_id) -> (the mart's frame, extra metadata, labelled engine results)
Build = Callable[[duckdb.DuckDBPyConnection, ReadmissionSettings, dt.date, str],
                 tuple[pd.DataFrame, dict, list[tuple[Label, ComparisonResults]]]]


@dataclass(frozen=True)
class MartBuilder:
    """How one readmission mart asset is built: its upstream assets, description and model call."""

    deps: tuple[dg.AssetKey, ...]
    description: str
    build: Build


def _rates(con, rs, as_of, run_id):
    return readmission_rates(con), {}, []


def _effects(con, rs, as_of, run_id):
    # only the columns the comparison reads, the ids as integers: the frame is held while the comparisons run
    frame, results = readmission_effects(discharges_frame(con, columns=read_columns(rs), id_ranks=True), rs)
    summaries = {f"summary_{k}": dg.MetadataValue.md(f"```\n{r.summary()}\n```") for k, r in results.items()}
    return frame, summaries, [(Label("readmission", name, OUTCOME), res) for name, res in results.items()]


def _funnel(con, rs, as_of, run_id):
    frame, notes = readmission_funnel(discharges_frame(con, columns=funnel_columns(rs)), rs)
    return frame, {k: str(v) for k, v in notes.items()}, []


def _before_after(con, rs, as_of, run_id):
    return *admissions_before_after(con, rs, as_of=as_of), []


def _service_use(con, rs, as_of, run_id):
    return *service_use_change(con, rs, as_of=as_of), []


AVOIDED_SOURCES = ("marts.readmission_effects", "marts.readmission_before_after", "marts.service_use_change")


def _avoided(con, rs, as_of, run_id):
    return avoided(*(con.execute(f"SELECT * FROM {t}").df() for t in AVOIDED_SOURCES)), {}, []


MART_BUILDERS: dict[str, MartBuilder] = {
    "marts.readmission_rates": MartBuilder(
        (INDEX_KEY,), "30-day readmission rate with Wilson 95% interval, overall and by exposure, time bank, "
        "programme, provider, area and quarter.", _rates),
    "marts.readmission_effects": MartBuilder(
        (INDEX_KEY, *_staging("persons")), "participants' discharges against matched comparison discharges "
        "(comparison engine): risk difference, odds ratio, risk ratio, verdict, JDL statement; also the balance and "
        "overlap rows of these comparisons for the diagnostics marts.", _effects),
    "marts.readmission_funnel": MartBuilder(
        (INDEX_KEY, *_staging("persons")), "risk-adjusted observed/expected readmissions per provider and time bank "
        "with 95% and 99.8% limits (overdispersion-adjusted) and outlier flags.", _funnel),
    "marts.readmission_before_after": MartBuilder(
        (INDEX_KEY, *_staging("persons", "timebank_members", "programme_enrolments", "hospital_spells")),
        "emergency admissions per person-year in the 12 months before vs after joining a time bank, participants vs "
        "matched comparison (difference-in-differences).", _before_after),
    "marts.service_use_change": MartBuilder(
        (INDEX_KEY, *_staging("persons", "timebank_members", "programme_enrolments", "service_contacts")),
        "contacts per person-year with each service in the 12 months before vs after joining, participants vs "
        "matched comparison (difference-in-differences).", _service_use),
    "marts.readmission_avoided": MartBuilder(
        tuple(mart_key(t) for t in AVOIDED_SOURCES), "readmissions, emergency admissions and contacts per service "
        "avoided (point estimate and 95% interval), for the social-value model.", _avoided),
}


def build_mart_asset(table: str) -> dg.AssetsDefinition:
    builder = MART_BUILDERS[table]
    key = mart_key(table)

    @dg.asset(key=key, group_name=GROUP, kinds={"duckdb"}, deps=list(builder.deps),
              pool=WAREHOUSE_POOL, check_specs=[*mart_checks(table), *specs(CHECKS, table)],
              description=f"{table}: {builder.description} Columns: docs/outputs-readmission.md.")
    def _mart(context: dg.AssetExecutionContext, warehouse: Warehouse, settings: Settings):
        rs, as_of = readmission_settings(settings)
        on = [INDEX_TABLE] if INDEX_KEY in builder.deps else [t for t in AVOIDED_SOURCES if mart_key(t) in builder.deps]
        with warehouse.connect() as con, built_with(con, rs, GROUP, context.run.run_id, [table], on=on) as rs:
            frame, meta, labelled = builder.build(con, rs, as_of, context.run.run_id)
            if labelled or table == "marts.readmission_effects":
                meta["comparisons_described"] = write_comparison_diagnostics(con, GROUP, labelled, context.run.run_id)
            yield from write_marts(context, con, {table: frame}, {table: meta}, CHECKS)

    return _mart


mart_assets = {table: build_mart_asset(table) for table in MART_BUILDERS}
readmission_assets = [index_discharges_asset, *mart_assets.values()]
