"""Columns of the readmission core tables and marts, as schemas/marts.py declares them.

Every table is written by :func:`models.mart_writer.write_mart`: created from its declared
columns first and then filled, so an empty input gives an empty table with the right columns
and types, never a crash or a guessed type. Column meanings: docs/outputs-readmission.md.
"""

from __future__ import annotations

import pandas as pd

from schemas.marts import mart

TABLES = {name: mart(name).types() for name in (
    "core.index_discharges", "core.continuous_spells", "marts.readmission_rates", "marts.readmission_effects",
    "marts.readmission_funnel", "marts.readmission_before_after", "marts.service_use_change",
    "marts.readmission_avoided",
)}
INDEX_DISCHARGES = TABLES["core.index_discharges"]
CONTINUOUS_SPELLS = TABLES["core.continuous_spells"]
READMISSION_RATES = TABLES["marts.readmission_rates"]
READMISSION_EFFECTS = TABLES["marts.readmission_effects"]
READMISSION_FUNNEL = TABLES["marts.readmission_funnel"]
READMISSION_BEFORE_AFTER = TABLES["marts.readmission_before_after"]
SERVICE_USE_CHANGE = TABLES["marts.service_use_change"]
READMISSION_AVOIDED = TABLES["marts.readmission_avoided"]


def empty_frame(columns: dict[str, str]) -> pd.DataFrame:
    """An empty result with these columns (``run_id`` left out: the writer adds it)."""
    return pd.DataFrame({c: pd.Series(dtype=object) for c in columns if c != "run_id"})
