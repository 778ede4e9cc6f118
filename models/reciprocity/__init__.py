"""Reciprocity and time-bank activity metrics, and reciprocity-weighted grant metrics.

Pure functions over a DuckDB connection (no Dagster). Inputs are the staged tables
``staging.timebank_members``, ``staging.timebank_exchanges``, ``staging.grants`` and
``staging.coproduction_assessments``; any may be absent or empty (empty outputs follow).
Definitions and sources: docs/reciprocity.md; columns: docs/outputs-reciprocity.md.

    member_reciprocity(con, settings)                    -> Arrow table for marts.member_reciprocity (person level)
    timebank_activity(con, settings, run_id=...)         -> DataFrame for marts.timebank_activity
    timebank_activity_periods(con, settings, start=..., end=..., run_id=...) -> its period rows for [start, end)
    grant_metrics(con, settings, run_id=..., social_value=None) -> DataFrame for marts.grant_metrics
    reciprocity_allocation(grant_metrics_df, settings, run_id=...)  -> marts.reciprocity_allocation
    allocation_sensitivity(grant_metrics_df, allocation_df, settings, run_id=...)  -> marts.reciprocity_allocation_sensitivity

Every table is written by the caller with ``models.mart_writer.write_mart`` (schemas/marts.py).
"""

from __future__ import annotations

from models.reciprocity.allocation import (
    ALLOCATION_COLUMNS,
    SENSITIVITY_COLUMNS,
    allocation_sensitivity,
    largest_remainder,
    reciprocity_allocation,
)
from models.reciprocity.assessment import coproduction_band, score_assessments
from models.reciprocity.grants import GRANT_COLUMNS, grant_metrics
from models.reciprocity.index import reciprocity_index
from models.reciprocity.member import MEMBER_COLUMNS, MEMBER_TABLE, member_reciprocity
from models.reciprocity.network import circulating_edges
from models.reciprocity.settings import (
    INDEX_COMPONENTS,
    IndexWeights,
    ReciprocitySettings,
)
from models.reciprocity.timebank import (
    timebank_activity,
    timebank_activity_columns,
    timebank_activity_periods,
)

MART_TABLES = {
    "member": MEMBER_TABLE,
    "timebank": "marts.timebank_activity",
    "grants": "marts.grant_metrics",
    "allocation": "marts.reciprocity_allocation",
    "sensitivity": "marts.reciprocity_allocation_sensitivity",
}


__all__ = [
    "ALLOCATION_COLUMNS",
    "GRANT_COLUMNS",
    "INDEX_COMPONENTS",
    "MART_TABLES",
    "MEMBER_COLUMNS",
    "MEMBER_TABLE",
    "SENSITIVITY_COLUMNS",
    "IndexWeights",
    "ReciprocitySettings",
    "allocation_sensitivity",
    "circulating_edges",
    "coproduction_band",
    "grant_metrics",
    "largest_remainder",
    "member_reciprocity",
    "reciprocity_allocation",
    "reciprocity_index",
    "score_assessments",
    "timebank_activity",
    "timebank_activity_columns",
    "timebank_activity_periods",
]
