"""Crude 30-day readmission rates with Wilson 95% intervals, by dimension.

Only index discharges with full follow-up count (core.index_discharges.full_follow_up).
Dimensions: ``overall`` (value ``all``), ``exposure`` (participant / non_participant),
``timebank`` (discharges exposed through that time bank), ``programme`` (exposed through
that programme), ``provider``, ``area`` and ``quarter`` (calendar quarter of discharge).
A missing area is reported as ``(missing)``. ``readmission_rates_by_quarter`` gives the
same breakdown within each quarter of discharge (marts.readmission_rates_quarterly).

Wilson score interval (Wilson 1927; the interval OHID Fingertips uses for proportions):
centre = (p + z^2/2n) / (1 + z^2/n), half-width = z / (1 + z^2/n) * sqrt(p(1-p)/n + z^2/4n^2),
z = 1.959964 for 95%.
"""

from __future__ import annotations

import datetime as dt

import duckdb
import pandas as pd

from models.intervals import wilson_interval

from schemas.marts import mart

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


#: Columns of marts.readmission_rates_quarterly (the caller adds run_id).
QUARTERLY_RATES = {c: t for c, t in mart("marts.readmission_rates_quarterly").types().items() if c != "run_id"}
_DTYPES = {"DATE": "datetime64[us]", "VARCHAR": "object", "BIGINT": "int64", "DOUBLE": "float64"}


def readmission_rates_by_quarter(con: duckdb.DuckDBPyConnection, start: dt.date, end: dt.date) -> pd.DataFrame:
    """The rates of ``readmission_rates`` within each calendar quarter of discharge in [start, end).

    One row per quarter × dimension value, for every dimension but ``quarter`` itself;
    ``quarter_start`` is the quarter's first day and ``quarter`` its label (2024Q1, as in
    core.index_discharges). Same rules as the whole-period rates: full follow-up only,
    Wilson 95% intervals. A quarter's ``overall`` row is the ``quarter`` row of
    ``readmission_rates`` for that quarter. Quarters without discharges give no rows.
    """
    parts = [
        f"SELECT date_trunc('quarter', discharged_on)::DATE AS quarter_start, quarter, '{dim}' AS dimension, "
        f"{expr} AS value, {i} AS dim_order, count(*) AS discharges, count(*) FILTER (readmitted) AS readmissions "
        f"FROM core.index_discharges WHERE full_follow_up AND discharged_on >= ? AND discharged_on < ? "
        f"GROUP BY ALL HAVING {expr} IS NOT NULL"
        for i, (dim, expr) in enumerate(DIMENSIONS.items()) if dim != "quarter"
    ]
    frame = con.execute(" UNION ALL ".join(parts) + " ORDER BY quarter_start, dim_order, value",
                        [start, end] * len(parts)).df().drop(columns="dim_order")
    if frame.empty:
        return pd.DataFrame({c: pd.Series(dtype=_DTYPES[t]) for c, t in QUARTERLY_RATES.items()})
    frame["rate"] = frame["readmissions"] / frame["discharges"]
    frame["ci_low"], frame["ci_high"] = wilson_interval(frame["readmissions"], frame["discharges"])
    return frame[list(QUARTERLY_RATES)]

