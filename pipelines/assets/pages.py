"""Dashboard assets: static HTML pages written to OUTCOMES_OUTPUT_DIR."""

from pathlib import Path

import dagster as dg

from dashboards import data_quality, overview
from dashboards.disclosure import DisclosureRule
from dashboards.page import render
from pipelines.ingest.assets import WAREHOUSE_POOL
from pipelines.resources import Settings, Warehouse
from schemas.raw import SOURCES


def _rule(settings: Settings) -> DisclosureRule:
    config = settings.config().disclosure
    return DisclosureRule(suppress_max=config.suppress_max, round_to=config.round_to)


@dg.asset(key=["dashboards", "data_quality_page"], group_name="dashboards", kinds={"html"},
          deps=[dg.AssetKey(["staging", s]) for s in SOURCES], pool=WAREHOUSE_POOL,
          description="data-quality.html: rows read, staged and quarantined per source, rules broken, masked examples.")
def data_quality_page(context: dg.AssetExecutionContext, warehouse: Warehouse, settings: Settings) -> dg.MaterializeResult:
    with warehouse.connect() as con:
        path = render(data_quality.build_page(con, context.run_id, _rule(settings)), Path(settings.output_dir))
    return dg.MaterializeResult(metadata={"path": str(path)})


@dg.asset(key=["dashboards", "index_page"], group_name="dashboards", kinds={"html"},
          deps=[dg.AssetKey(["meta", "run_record"])], pool=WAREHOUSE_POOL,
          description="index.html: the run, its provenance in brief, and links to every page.")
def index_page(context: dg.AssetExecutionContext, warehouse: Warehouse, settings: Settings) -> dg.MaterializeResult:
    with warehouse.connect() as con:
        path = render(overview.build_page(con, context.run_id, _rule(settings)), Path(settings.output_dir))
    return dg.MaterializeResult(metadata={"path": str(path)})


page_assets = [data_quality_page, index_page]
