"""Comparison diagnostics: covariate balance and propensity overlap of every matched comparison.

One multi-asset writes ``marts.comparison_balance`` and ``marts.propensity_overlap``
(columns: docs/outputs-diagnostics.md). It reruns the comparisons the outcome models ran,
through the same model functions and settings (the engine is deterministic for a given seed,
and the calls take well under a second on the demo), and keeps their engine results only
long enough to bin them with :func:`models.comparison.diagnostics.diagnostics`:

* readmission: every comparison of :func:`models.readmission.readmission_effects`
  (``any``, ``timebank``, ``programme`` when estimated);
* reoffending: each programme label's binary-rate design (:func:`models.reoffending.compare_reoffending`;
  the count and time-to-event calls use the same matched sample);
* well-being: each version / area comparison of :func:`models.wellbeing.effects.effects_results`.

A model whose core table is absent, or that estimated nothing, adds no rows.
"""

import dagster as dg
import duckdb
import pandas as pd

from models.comparison.diagnostics import (
    BALANCE_COLUMNS,
    OVERLAP_COLUMNS,
    Label,
    diagnostics,
)
from models.readmission import discharges_frame, readmission_effects
from models.readmission.effects import OUTCOME as READMISSION_OUTCOME
from models.reoffending import compare_reoffending, read_cohort
from models.wellbeing.effects import OUTCOME as WELLBEING_OUTCOME
from models.wellbeing.effects import effects_results
from pipelines.assets.publication import aggregate_only_check, preview
from pipelines.assets.readmission import readmission_settings
from pipelines.assets.reoffending import reoffending_settings
from pipelines.assets.wellbeing import wellbeing_settings
from pipelines.ingest.assets import WAREHOUSE_POOL
from pipelines.resources import Settings, Warehouse

GROUP = "diagnostics"
BALANCE_TABLE = "marts.comparison_balance"
OVERLAP_TABLE = "marts.propensity_overlap"
BALANCE_KEY = dg.AssetKey(["marts", "comparison_balance"])
OVERLAP_KEY = dg.AssetKey(["marts", "propensity_overlap"])
EFFECT_MARTS = [dg.AssetKey(["marts", t]) for t in ("readmission_effects", "reoffending_effects", "wellbeing_effects")]


def _exists(con: duckdb.DuckDBPyConnection, table: str) -> bool:
    schema, name = table.split(".")
    return bool(con.execute("SELECT count(*) FROM duckdb_tables() WHERE schema_name = ? AND table_name = ?",
                            [schema, name]).fetchone()[0])


def labelled_results(con: duckdb.DuckDBPyConnection, settings: Settings) -> list[tuple[Label, object]]:
    """(label, ComparisonResults) of every comparison the three outcome models estimate on this warehouse."""
    out = []
    if _exists(con, "core.index_discharges"):
        _, results = readmission_effects(discharges_frame(con), readmission_settings(settings)[0])
        out += [(Label("readmission", name, READMISSION_OUTCOME), res) for name, res in results.items()]
    comparison = compare_reoffending(read_cohort(con), reoffending_settings(settings)[0])
    out += [(Label("reoffending", programme, "binary_rate"), res["binary"]) for programme, res in comparison.results.items()]
    _, results = effects_results(con, wellbeing_settings(settings))
    out += [(Label("wellbeing", f"{version} / {area}", WELLBEING_OUTCOME), res) for (version, area), res in results.items()]
    return out


def write_mart(con: duckdb.DuckDBPyConnection, table: str, frame: pd.DataFrame, columns: dict, run_id: str) -> int:
    """Replace ``table`` with ``frame`` typed by ``columns`` (name -> (type, meaning)) plus ``run_id``; returns rows."""
    spec = {**{c: t for c, (t, _) in columns.items()}, "run_id": "VARCHAR"}
    quoted = {c: f'"{c}"' for c in spec}  # "group" is an SQL keyword
    con.execute(f"CREATE SCHEMA IF NOT EXISTS {table.split('.')[0]}")
    con.execute(f"CREATE OR REPLACE TABLE {table} ({', '.join(f'{quoted[c]} {t}' for c, t in spec.items())})")
    if frame.empty:
        return 0
    rows = frame.assign(run_id=run_id)[list(spec)]
    for column in [c for c, t in spec.items() if t == "DOUBLE"]:  # None -> NaN -> NULL, never an object column
        rows[column] = pd.to_numeric(rows[column], errors="coerce").astype(float)
    con.register("_diagnostics_rows", rows)
    try:
        select = ", ".join(f"CASE WHEN isnan({quoted[c]}) THEN NULL ELSE {quoted[c]} END::{t}" if t == "DOUBLE"
                           else f"{quoted[c]}::{t}" for c, t in spec.items())
        con.execute(f"INSERT INTO {table} SELECT {select} FROM _diagnostics_rows")
    finally:
        con.unregister("_diagnostics_rows")
    return len(rows)


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
    pool=WAREHOUSE_POOL,
)
def comparison_diagnostics(context: dg.AssetExecutionContext, warehouse: Warehouse, settings: Settings):
    with warehouse.connect() as con:
        balance, overlap = diagnostics(labelled_results(con, settings))
        n_balance = write_mart(con, BALANCE_TABLE, balance, BALANCE_COLUMNS, context.run_id)
        n_overlap = write_mart(con, OVERLAP_TABLE, overlap, OVERLAP_COLUMNS, context.run_id)
    results = int(balance["result"].nunique()) if len(balance) else 0
    flagged = int(balance["flag"].astype(bool).sum()) if len(balance) else 0
    yield dg.MaterializeResult(asset_key=BALANCE_KEY, metadata={
        "table": BALANCE_TABLE, "rows": n_balance, "results": results, "covariates_flagged": flagged,
        "preview": preview(balance)})
    yield dg.MaterializeResult(asset_key=OVERLAP_KEY, metadata={
        "table": OVERLAP_TABLE, "rows": n_overlap, "results": results, "preview": preview(overlap)})


diagnostics_assets = [comparison_diagnostics]
diagnostics_checks = [aggregate_only_check(BALANCE_TABLE), aggregate_only_check(OVERLAP_TABLE)]
