"""``marts.effect_register``: every effect of the run, its role and its multiplicity-adjusted p-values.

Reads the three effects marts (a missing one adds no rows), calls
:func:`models.comparison.register.effect_register` with the config's ``effects`` section and
writes the register with the one writer (columns: schemas/marts.py, docs/outputs-effects.md).
Published: aggregate only, checked by its blocking ``aggregate_only`` check.
"""

import dagster as dg
import duckdb
import pandas as pd

from models.comparison.register import FAMILIES, effect_register
from pipelines.assets.publication import mart_checks, mart_key, table_columns, write_marts
from pipelines.ingest.assets import WAREHOUSE_POOL
from pipelines.resources import Settings, Warehouse

TABLE = "marts.effect_register"
KEY = mart_key(TABLE)
SOURCES = {family: f"marts.{family}_effects" for family in FAMILIES}


def read_mart(con: duckdb.DuckDBPyConnection, table: str) -> pd.DataFrame | None:
    """The whole mart (small: one row per effect), or None when it does not exist."""
    return con.execute(f"SELECT * FROM {table}").df() if table_columns(con, table) else None


@dg.asset(
    key=KEY, group_name="effects", kinds={"duckdb"}, pool=WAREHOUSE_POOL, check_specs=mart_checks(TABLE),
    deps=[dg.AssetKey(table.split(".")) for table in SOURCES.values()],
    description="marts.effect_register: every effect row of the run (readmission, reoffending, well-being) with "
                "analysis_role (primary / exploratory, from the config's primary outcome per programme), Holm and "
                "Benjamini-Hochberg adjusted p-values and the number of comparisons. Columns: docs/outputs-effects.md.",
)
def effect_register_mart(context: dg.AssetExecutionContext, warehouse: Warehouse, settings: Settings):
    with warehouse.connect() as con:
        marts = {family: read_mart(con, table) for family, table in SOURCES.items()}
        register = effect_register(marts, settings.config().effects)
        yield from write_marts(context, con, {TABLE: register}, {TABLE: {
            "n_comparisons": int(register["n_comparisons"].iloc[0]) if len(register) else 0,
            "primary": int((register["analysis_role"] == "primary").sum()),
            "sources_present": ", ".join(f for f, m in marts.items() if m is not None) or "none"}})


effect_register_assets = [effect_register_mart]
