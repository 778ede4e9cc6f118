"""Comparison diagnostics: covariate balance and propensity overlap of every matched comparison.

Each comparison is run once, by its outcome model's asset: readmission, reoffending and
well-being each write the balance and overlap rows of their own comparisons when they run
(:func:`write_comparison_diagnostics`, to ``core.comparison_balance_<model>`` and
``core.propensity_overlap_<model>``), from the very engine results behind their effects.
The multi-asset here only gathers those parts into the published ``marts.comparison_balance``
and ``marts.propensity_overlap`` (columns: docs/outputs-diagnostics.md); it never reruns a
comparison (a test fails if it calls the engine).

Which results: readmission, every comparison of :func:`models.readmission.readmission_effects`
(``any``, ``timebank``, ``programme`` when estimated); reoffending, each programme label's
matched sample (:func:`models.reoffending.compare_reoffending`, matched once for every measure);
well-being, each version / area comparison of :func:`models.wellbeing.effects.effects_results`.
A model whose source is absent, or that estimated nothing, adds no rows.
"""

from collections.abc import Iterable

import dagster as dg
import duckdb
import pandas as pd

from models.comparison.diagnostics import Label, diagnostics
from models.comparison.results import ComparisonResults
from models.mart_writer import write_mart
from pipelines.assets.publication import mart_checks, mart_key, table_columns, write_marts
from pipelines.ingest.assets import WAREHOUSE_POOL
from pipelines.resources import Warehouse
from schemas.marts import COMPARISON_FAMILIES, mart

GROUP = "diagnostics"
BALANCE_TABLE = "marts.comparison_balance"
OVERLAP_TABLE = "marts.propensity_overlap"
BALANCE_KEY = mart_key(BALANCE_TABLE)
OVERLAP_KEY = mart_key(OVERLAP_TABLE)
EFFECT_MARTS = [dg.AssetKey(["marts", t]) for t in ("readmission_effects", "reoffending_effects", "wellbeing_effects")]


def part(table: str, family: str) -> str:
    """The table one outcome model writes its part of ``table`` to."""
    return f"core.{mart(table).table}_{family}"


def write_comparison_diagnostics(con: duckdb.DuckDBPyConnection, family: str,
                                 labelled: Iterable[tuple[Label, ComparisonResults]], run_id: str) -> int:
    """Write the balance and overlap rows of one outcome model's comparisons; returns the results described."""
    balance, overlap = diagnostics(labelled)
    write_mart(con, part(BALANCE_TABLE, family), balance, run_id)
    write_mart(con, part(OVERLAP_TABLE, family), overlap, run_id)
    return int(balance["result"].nunique()) if len(balance) else 0


def gathered(con: duckdb.DuckDBPyConnection, table: str) -> pd.DataFrame:
    """The parts of ``table`` the outcome models wrote (each with the effects mart it describes)."""
    frames = [con.execute(f"SELECT * EXCLUDE (run_id) FROM {part(table, f)}").df()
              for f in COMPARISON_FAMILIES if table_columns(con, part(table, f))]
    frames = [f for f in frames if len(f)]
    return pd.concat(frames, ignore_index=True) if frames else mart(table).empty_frame()


@dg.multi_asset(
    specs=[
        dg.AssetSpec(BALANCE_KEY, deps=EFFECT_MARTS, group_name=GROUP, kinds={"duckdb"},
                     description="marts.comparison_balance: per result and design column, the standardised mean "
                                 "difference and variance ratio before and after matching (flag |SMD| > 0.1). "
                                 "Columns: docs/outputs-diagnostics.md."),
        dg.AssetSpec(OVERLAP_KEY, deps=EFFECT_MARTS, group_name=GROUP, kinds={"duckdb"},
                     description="marts.propensity_overlap: per result, group and logit-score bin, people before and "
                                 "after matching (counts only), with the common-support summary. "
                                 "Columns: docs/outputs-diagnostics.md."),
    ],
    check_specs=mart_checks(BALANCE_TABLE, OVERLAP_TABLE),
    pool=WAREHOUSE_POOL,
)
def comparison_diagnostics(context: dg.AssetExecutionContext, warehouse: Warehouse):
    with warehouse.connect() as con:
        balance, overlap = gathered(con, BALANCE_TABLE), gathered(con, OVERLAP_TABLE)
        results = int(balance["result"].nunique()) if len(balance) else 0
        flagged = int(balance["flag"].astype(bool).sum()) if len(balance) else 0
        yield from write_marts(context, con, {BALANCE_TABLE: balance, OVERLAP_TABLE: overlap}, {
            BALANCE_TABLE: {"results": results, "covariates_flagged": flagged}, OVERLAP_TABLE: {"results": results}})


diagnostics_assets = [comparison_diagnostics]
