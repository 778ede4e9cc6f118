"""``marts.effect_register``: every effect of the run, its role and its multiplicity-adjusted p-values.

Reads the three effects marts (a missing one adds no rows), calls
:func:`models.comparison.register.effect_register` with the config's ``effects`` section and
writes the register (columns: docs/outputs-effects.md). Published: aggregate only, checked by
the shared publication check.
"""

import dagster as dg
import duckdb
import pandas as pd

from models.comparison.register import FAMILIES, REGISTER_COLUMNS, effect_register
from pipelines.assets.diagnostics import write_mart
from pipelines.assets.publication import aggregate_only_check, preview, table_columns
from pipelines.ingest.assets import WAREHOUSE_POOL
from pipelines.resources import Settings, Warehouse

TABLE = "marts.effect_register"
KEY = dg.AssetKey(["marts", "effect_register"])
SOURCES = {family: f"marts.{family}_effects" for family in FAMILIES}


def read_mart(con: duckdb.DuckDBPyConnection, table: str) -> pd.DataFrame | None:
    """The whole mart (small: one row per effect), or None when it does not exist."""
    return con.execute(f"SELECT * FROM {table}").df() if table_columns(con, table) else None


@dg.asset(
    key=KEY, group_name="effects", kinds={"duckdb"}, pool=WAREHOUSE_POOL,
    deps=[dg.AssetKey(table.split(".")) for table in SOURCES.values()],
    description="marts.effect_register: every effect row of the run (readmission, reoffending, well-being) with "
                "analysis_role (primary / exploratory, from the config's primary outcome per programme), Holm and "
                "Benjamini-Hochberg adjusted p-values and the number of comparisons. Columns: docs/outputs-effects.md.",
)
def effect_register_mart(context: dg.AssetExecutionContext, warehouse: Warehouse,
                         settings: Settings) -> dg.MaterializeResult:
    with warehouse.connect() as con:
        marts = {family: read_mart(con, table) for family, table in SOURCES.items()}
        register = effect_register(marts, settings.config().effects)
        rows = write_mart(con, TABLE, register, REGISTER_COLUMNS, context.run_id)
    n = int(register["n_comparisons"].iloc[0]) if rows else 0
    primary = int((register["analysis_role"] == "primary").sum()) if rows else 0
    return dg.MaterializeResult(metadata={
        "table": TABLE, "rows": rows, "n_comparisons": n, "primary": primary,
        "sources_present": ", ".join(f for f, m in marts.items() if m is not None) or "none",
        "preview": preview(register)})


effect_register_assets = [effect_register_mart]
effect_register_checks = [aggregate_only_check(TABLE)]
