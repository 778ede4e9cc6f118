"""Well-being change: Outcomes Star distance travelled, WEMWBS/SWEMWBS/ONS4 change, reliable
change, trajectories against hours given and received, and a matched comparison.

Plain Python and DuckDB SQL; no Dagster. Usable from a notebook::

    import duckdb
    from models.wellbeing import WellbeingSettings, run_all
    con = duckdb.connect("data/warehouse.duckdb")
    run_all(con, WellbeingSettings(), run_id="notebook")

Modules: :mod:`.scales` (the scale registry as tables), :mod:`.settings`, :mod:`.journeys`
(person-level core tables in SQL), :mod:`.stats` (paired statistics, Wilson interval),
:mod:`.change` (change, snapshot, transitions, reliable improvement), :mod:`.trajectories`
(mixed models), :mod:`.effects` (comparison engine), :mod:`.tables` (schemas and writer).
Outputs are documented column by column in docs/outputs-wellbeing.md.
"""

from __future__ import annotations

import duckdb

from models.mart_writer import write_mart, write_mart_set
from models.wellbeing.change import (change_table, model_outputs, person_version, reliable_table, snapshot_table,
                                     transitions_table)
from models.wellbeing.effects import effects_table
from models.wellbeing.journeys import build_core, reading_counts
from models.wellbeing.settings import WellbeingSettings
from models.wellbeing.stats import paired_change, wilson
from models.wellbeing.tables import (CHANGE, CORE_TABLES, EFFECTS, JOURNEYS, MART_TABLES, MODEL, PEOPLE, READINGS,
                                     RELIABLE, SCHEMAS, SNAPSHOT, TRANSITIONS)
from models.wellbeing.trajectories import fit_trajectory, model_table

#: mart table -> the function computing it from the core tables
MART_BUILDERS = {
    CHANGE: change_table,
    SNAPSHOT: snapshot_table,
    TRANSITIONS: transitions_table,
    RELIABLE: reliable_table,
    EFFECTS: effects_table,
    MODEL: model_table,
}


def build_mart(con: duckdb.DuckDBPyConnection, table: str, settings: WellbeingSettings, run_id: str) -> int:
    """Compute one mart from the core tables and replace it; returns its row count."""
    return write_mart(con, table, MART_BUILDERS[table](con, settings), run_id)


def write_core(con: duckdb.DuckDBPyConnection, settings: WellbeingSettings, run_id: str) -> dict:
    """Compute the four core tables and replace them in one transaction; returns the reading counts
    (:func:`reading_counts`), each table's row count and the covariates used and absent."""
    frames, covariates = build_core(con, settings)
    rows = write_mart_set(con, frames, run_id)
    return {**reading_counts(con), **{f"rows_{name.split('.')[1]}": n for name, n in rows.items()}, **covariates}


def run_all(con: duckdb.DuckDBPyConnection, settings: WellbeingSettings | None = None, run_id: str = "manual") -> dict:
    """Build the core tables and every mart; returns row counts by table."""
    settings = settings or WellbeingSettings()
    counts = write_core(con, settings, run_id)
    for table in MART_TABLES:
        counts[table] = build_mart(con, table, settings, run_id)
    return counts


__all__ = [
    "WellbeingSettings", "build_core", "write_core", "build_mart", "run_all", "reading_counts", "change_table", "snapshot_table",
    "transitions_table", "reliable_table", "effects_table", "model_table", "model_outputs", "person_version",
    "fit_trajectory", "paired_change", "wilson", "MART_BUILDERS", "MART_TABLES", "CORE_TABLES", "SCHEMAS",
    "CHANGE", "SNAPSHOT", "TRANSITIONS", "RELIABLE", "EFFECTS", "MODEL", "READINGS", "JOURNEYS", "PEOPLE",
]
