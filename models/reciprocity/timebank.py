"""``marts.timebank_activity``: one row per time bank × period (quarter by default) plus an
overall row per time bank over the whole window.

Periods are calendar periods (``settings.period``) cut to the window: the first and last
may be partial (``period_complete`` is false). Every time bank that has an account or an
exchange gets a row for every period of the window, with zero hours where nothing happened.
Measure definitions: ``models.reciprocity.measures`` and docs/reciprocity.md.
"""

from __future__ import annotations

import datetime as dt
import time
import uuid

import duckdb
import pandas as pd

from models.reciprocity.index import reciprocity_index
from models.reciprocity.measures import all_measure_columns, group_measures, is_count
from models.reciprocity.network import CycleStats
from models.reciprocity.prepare import Prepared, date_sql, prepared
from models.reciprocity.settings import ReciprocitySettings

KEY_COLUMNS = ["run_id", "timebank_id", "period_type", "period_label", "period_start", "period_end",
               "period_complete", "as_of"]
_STEP = {"month": "1 MONTH", "quarter": "3 MONTH", "year": "1 YEAR"}
_LABEL = {
    "month": "strftime(bucket, '%Y-%m')",
    "quarter": "strftime(bucket, '%Y') || '-Q' || quarter(bucket)",
    "year": "strftime(bucket, '%Y')",
}


def timebank_activity_columns(settings: ReciprocitySettings | None = None) -> list[str]:
    s = settings or ReciprocitySettings()
    return KEY_COLUMNS + all_measure_columns(s) + ["reciprocity_index", "index_coverage"]


def empty_timebank_activity(settings: ReciprocitySettings | None = None) -> pd.DataFrame:
    s = settings or ReciprocitySettings()
    cols = timebank_activity_columns(s)
    dtypes = {"run_id": "object", "timebank_id": "object", "period_type": "object", "period_label": "object",
              "period_start": "datetime64[us]", "period_end": "datetime64[us]", "period_complete": "bool",
              "as_of": "datetime64[us]"}
    return pd.DataFrame({c: pd.Series(dtype=dtypes.get(c, "int64" if is_count(c) else "float64")) for c in cols})


def timebank_activity(
    con: duckdb.DuckDBPyConnection,
    settings: ReciprocitySettings | None = None,
    *,
    run_id: str,
    timings: dict[str, float] | None = None,
    cycle_stats: CycleStats | None = None,
) -> pd.DataFrame:
    """The time bank × period mart as a DataFrame (small: time banks × periods rows)."""
    return _activity(con, settings or ReciprocitySettings(), run_id=run_id, timings=timings, cycle_stats=cycle_stats)


def timebank_activity_periods(
    con: duckdb.DuckDBPyConnection,
    settings: ReciprocitySettings | None = None,
    *,
    start: dt.date,
    end: dt.date,
    run_id: str,
) -> pd.DataFrame:
    """The period rows of ``timebank_activity`` for the periods that begin in [start, end), alone.

    A period "begins" on its calendar start (``date_trunc(settings.period, day)``), even
    when the window cuts it short. Every row is the full mart's row for that time bank and
    period, computed the same way: the window, ``as_of`` (so active members and retention)
    and the set of time banks are resolved from the whole log, exactly as in a full run,
    and only the groups measured are fewer. No ``overall`` rows; periods outside the window
    give no rows. This is what one quarterly partition computes (pipelines/assets/quarterly.py).
    """
    return _activity(con, settings or ReciprocitySettings(), run_id=run_id, periods=(start, end))


def _activity(con, s: ReciprocitySettings, *, run_id: str, timings: dict[str, float] | None = None,
              cycle_stats: CycleStats | None = None, periods: tuple[dt.date, dt.date] | None = None) -> pd.DataFrame:
    started = time.perf_counter()
    with prepared(con, s) as p:
        if timings is not None:
            timings["read and encode the log"] = time.perf_counter() - started
        if not p.has_data:
            return empty_timebank_activity(s)
        groups = f"_rc_groups_{uuid.uuid4().hex[:10]}"
        try:
            _period_groups(con, p, s, groups)
            if periods is not None:
                _keep_periods(con, groups, *periods)
            keys = con.execute(f"SELECT * FROM {groups} ORDER BY grp").df()
            if keys.empty:
                return empty_timebank_activity(s)
            measures = group_measures(con, p, s, groups, timings=timings, cycle_stats=cycle_stats)
        finally:
            con.execute(f"DROP TABLE IF EXISTS {groups}")
    out = keys.merge(measures, on="grp")
    out["run_id"] = run_id
    out["as_of"] = pd.Timestamp(p.as_of)
    out = pd.concat([out, reciprocity_index(out, s.index_weights)], axis=1)
    # grp orders rows by time bank, then periods in date order, then the overall row.
    out = out.sort_values("grp").reset_index(drop=True)
    return _typed(out[timebank_activity_columns(s)].copy(), s)


def _typed(out: pd.DataFrame, s: ReciprocitySettings) -> pd.DataFrame:
    empty = empty_timebank_activity(s)
    for c in out.columns:
        out[c] = out[c].astype(empty[c].dtype)
    return out


def _keep_periods(con, groups: str, start: dt.date, end: dt.date) -> None:
    """Keep the period groups whose calendar start is in [start, end); renumber ``grp`` densely from 0."""
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE {groups} AS
        SELECT (row_number() OVER (ORDER BY grp) - 1)::INTEGER AS grp, * EXCLUDE (grp) FROM {groups}
        WHERE bucket >= {date_sql(start)} AND bucket < {date_sql(end)}
        """
    )


def _period_groups(con, p: Prepared, s: ReciprocitySettings, name: str) -> None:
    ws, we = date_sql(p.window_start), date_sql(p.window_end)
    unit, step = s.period, _STEP[s.period]
    con.execute(
        f"""
        CREATE TEMP TABLE {name} AS
        WITH tbs AS (
            SELECT DISTINCT timebank_id FROM {p.accounts} WHERE timebank_id IS NOT NULL
            UNION SELECT DISTINCT timebank_id FROM {p.exchanges}
        ),
        buckets AS (
            SELECT unnest(generate_series(date_trunc('{unit}', {ws})::TIMESTAMP, date_trunc('{unit}', {we})::TIMESTAMP,
                                          INTERVAL {step}))::DATE AS bucket
        ),
        rows AS (
            SELECT t.timebank_id, '{unit}' AS period_type, {_LABEL[unit]} AS period_label,
                   greatest(bucket, {ws}) AS period_start,
                   least((bucket + INTERVAL {step} - INTERVAL 1 DAY)::DATE, {we}) AS period_end,
                   bucket >= {ws} AND (bucket + INTERVAL {step} - INTERVAL 1 DAY)::DATE <= {we} AS period_complete,
                   bucket
            FROM tbs t CROSS JOIN buckets
            UNION ALL
            SELECT timebank_id, 'overall', 'overall', {ws}, {we}, true, NULL::DATE FROM tbs
        )
        SELECT (row_number() OVER (ORDER BY timebank_id, period_type = 'overall', period_start) - 1)::INTEGER AS grp, *
        FROM rows
        """
    )
