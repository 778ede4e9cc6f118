"""Dashboard assets: static HTML pages written to OUTCOMES_OUTPUT_DIR, one asset per page from one factory."""

from collections.abc import Callable
from pathlib import Path

import dagster as dg
import duckdb

from dashboards import commissioner, data_quality, evaluator, funder, overview
from dashboards.page import Page, render
from dashboards.windows import WindowsDisagree
from models.disclosure import DisclosureRule
from pipelines.ingest.assets import WAREHOUSE_POOL
from pipelines.resources import Settings, Warehouse
from schemas.raw import SOURCES

#: A page builder: (warehouse connection, Dagster run id, disclosure rule) -> the page.
Builder = Callable[[duckdb.DuckDBPyConnection, str, DisclosureRule], Page]
#: Every page reads the run's record (meta.runs: its demo flag and date), so each is built after it: the data-quality
#: page, built straight after ingest, read the previous run's flag (or none on a first run: no demo banner).
RUN_RECORD = dg.AssetKey(["meta", "run_record"])


def _marts(*names: str) -> list[dg.AssetKey]:
    return [dg.AssetKey(["marts", n]) for n in names]


def page_asset(name: str, build: Builder, deps: list[dg.AssetKey], description: str) -> dg.AssetsDefinition:
    """The asset ``dashboards/<name>``: build the page from the warehouse after ``deps``, render it, and record the
    page and its output-checking report (disclosure-<page>.json, written beside it by ``render``) as metadata."""

    @dg.asset(name=name, key_prefix=["dashboards"], group_name="dashboards", kinds={"html"}, deps=deps,
              pool=WAREHOUSE_POOL, description=description)
    def _page(context: dg.AssetExecutionContext, warehouse: Warehouse, settings: Settings) -> dg.MaterializeResult:
        with warehouse.connect() as con:
            try:
                page = build(con, context.run.run_id, settings.config().disclosure.rule())
            except WindowsDisagree as err:  # marts of one outcome built with different windows: no page over them
                raise dg.Failure(description=f"{name}: {err}") from None
            path = render(page, Path(settings.output_dir))
        report = path.with_name(f"disclosure-{path.stem}.json")
        return dg.MaterializeResult(metadata={"path": dg.MetadataValue.path(str(path)),
                                              "disclosure_report": dg.MetadataValue.path(str(report))})

    return _page


page_assets = [
    page_asset("data_quality_page", data_quality.build_page, [RUN_RECORD, *(dg.AssetKey(["staging", s]) for s in SOURCES)],
               "data-quality.html: rows read, staged and quarantined per source, rules broken, masked examples."),
    page_asset("index_page", overview.build_page, [RUN_RECORD, *_marts(*overview.MARTS)],
               "index.html: what the run found in three lines (the commissioner verdicts, activity, data), then where to "
               "look."),
    page_asset("commissioner_page", lambda con, _run_id, rule: commissioner.build_page(con, rule),
               [RUN_RECORD, *_marts(*commissioner.MARTS)],
               "commissioner.html: headline tiles, funnel plots, quarterly trends, JDL chart, Star charts, filters."),
    page_asset("funder_page", lambda con, _run_id, rule: funder.build_page(con, rule), [RUN_RECORD, *_marts(*funder.MARTS)],
               "funder.html: grant metrics, reciprocity-index components, reserved-pot allocation and its sensitivity."),
    page_asset("evaluator_page", evaluator.build_page, [RUN_RECORD, *_marts(*evaluator.MARTS)],
               "evaluator.html: provenance, balance, Kaplan-Meier, Cox, mixed model, SROI, what you can and cannot say."),
]
