"""Crude 30-day readmission rates with Wilson 95% intervals, by dimension.

Only index discharges with full follow-up count (core.index_discharges.full_follow_up).
Dimensions: ``overall`` (value ``all``), ``exposure`` (participant / non_participant),
``timebank`` (discharges exposed through that time bank), ``programme`` (exposed through
that programme), ``provider``, ``area`` and ``quarter`` (calendar quarter of discharge).
A missing area is reported as ``(missing)``.

Wilson score interval (Wilson 1927; the interval OHID Fingertips uses for proportions):
centre = (p + z^2/2n) / (1 + z^2/n), half-width = z / (1 + z^2/n) * sqrt(p(1-p)/n + z^2/4n^2),
z = 1.959964 for 95%.
"""

from __future__ import annotations

import duckdb
import pandas as pd

from models.intervals import wilson_interval

from .tables import READMISSION_RATES, empty_frame

DIMENSIONS = {
    "overall": "'all'",
    "exposure": "CASE WHEN exposed THEN 'participant' ELSE 'non_participant' END",
    "timebank": "timebank_id",
    "programme": "programme_id",
    "provider": "provider_id",
    "area": "coalesce(area_code, '(missing)')",
    "quarter": "quarter",
}


def readmission_rates(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """One row per dimension value, from core.index_discharges (full follow-up only)."""
    parts = [
        f"SELECT '{dim}' AS dimension, {expr} AS value, {i} AS dim_order, count(*) AS discharges, "
        f"count(*) FILTER (readmitted) AS readmissions FROM core.index_discharges WHERE full_follow_up "
        f"GROUP BY ALL HAVING {expr} IS NOT NULL"
        for i, (dim, expr) in enumerate(DIMENSIONS.items())
    ]
    frame = con.execute(" UNION ALL ".join(parts) + " ORDER BY dim_order, value").df()
    # The overall row exists only when there are discharges (an empty table otherwise).
    frame = frame[frame["discharges"] > 0].drop(columns="dim_order").reset_index(drop=True)
    if frame.empty:
        return empty_frame(READMISSION_RATES)
    frame["rate"] = frame["readmissions"] / frame["discharges"]
    frame["ci_low"], frame["ci_high"] = wilson_interval(frame["readmissions"], frame["discharges"])
    return frame
