"""Dashboard assets: static HTML pages written to OUTCOMES_OUTPUT_DIR."""

from pathlib import Path

import dagster as dg

from dashboards import commissioner, data_quality, evaluator, funder, overview
from models.disclosure import DisclosureRule
from dashboards.page import render
from pipelines.ingest.assets import WAREHOUSE_POOL
from pipelines.resources import Settings, Warehouse
from schemas.raw import SOURCES


def _rule(settings: Settings) -> DisclosureRule:
    config = settings.config().disclosure
    return DisclosureRule(suppress_max=config.suppress_max, round_to=config.round_to)


def _marts(*names: str) -> list[dg.AssetKey]:
    return [dg.AssetKey(["marts", n]) for n in names]


@dg.asset(key=["dashboards", "data_quality_page"], group_name="dashboards", kinds={"html"},
          deps=[dg.AssetKey(["staging", s]) for s in SOURCES], pool=WAREHOUSE_POOL,
          description="data-quality.html: rows read, staged and quarantined per source, rules broken, masked examples.")
def data_quality_page(context: dg.AssetExecutionContext, warehouse: Warehouse, settings: Settings) -> dg.MaterializeResult:
    with warehouse.connect() as con:
        path = render(data_quality.build_page(con, context.run_id, _rule(settings)), Path(settings.output_dir))
    return _written(path)


@dg.asset(key=["dashboards", "index_page"], group_name="dashboards", kinds={"html"},
          deps=[dg.AssetKey(["meta", "run_record"]), *_marts(*overview.MARTS)], pool=WAREHOUSE_POOL,
          description="index.html: what the run found in three lines (the commissioner verdicts, activity, data), "
                      "then where to look.")
def index_page(context: dg.AssetExecutionContext, warehouse: Warehouse, settings: Settings) -> dg.MaterializeResult:
    with warehouse.connect() as con:
        path = render(overview.build_page(con, context.run_id, _rule(settings)), Path(settings.output_dir))
    return _written(path)


def _written(path: Path) -> dg.MaterializeResult:
    """The page and its output-checking report (disclosure-<page>.json, written beside it by ``render``)."""
    report = path.with_name(f"disclosure-{path.stem}.json")
    return dg.MaterializeResult(metadata={"path": dg.MetadataValue.path(str(path)), "disclosure_report": dg.MetadataValue.path(str(report))})


@dg.asset(key=["dashboards", "commissioner_page"], group_name="dashboards", kinds={"html"}, pool=WAREHOUSE_POOL,
          deps=_marts(*commissioner.MARTS),
          description="commissioner.html: headline tiles, funnel plots, quarterly trends, JDL chart, Star charts, filters.")
def commissioner_page(warehouse: Warehouse, settings: Settings) -> dg.MaterializeResult:
    with warehouse.connect() as con:
        path = render(commissioner.build_page(con, _rule(settings)), Path(settings.output_dir))
    return _written(path)


@dg.asset(key=["dashboards", "funder_page"], group_name="dashboards", kinds={"html"}, pool=WAREHOUSE_POOL,
          deps=_marts(*funder.MARTS),
          description="funder.html: grant metrics, reciprocity-index components, reserved-pot allocation and its sensitivity.")
def funder_page(warehouse: Warehouse, settings: Settings) -> dg.MaterializeResult:
    with warehouse.connect() as con:
        path = render(funder.build_page(con, _rule(settings)), Path(settings.output_dir))
    return _written(path)


@dg.asset(key=["dashboards", "evaluator_page"], group_name="dashboards", kinds={"html"}, pool=WAREHOUSE_POOL,
          deps=[dg.AssetKey(["meta", "run_record"]), *_marts(*evaluator.MARTS)],
          description="evaluator.html: provenance, balance, Kaplan-Meier, Cox, mixed model, SROI, what you can and cannot say.")
def evaluator_page(context: dg.AssetExecutionContext, warehouse: Warehouse, settings: Settings) -> dg.MaterializeResult:
    with warehouse.connect() as con:
        path = render(evaluator.build_page(con, context.run_id, _rule(settings)), Path(settings.output_dir))
    return _written(path)


page_assets = [data_quality_page, index_page, commissioner_page, funder_page, evaluator_page]
