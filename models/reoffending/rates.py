"""``marts.reoffending_rates``: MoJ headline measures by cohort period, programme and event type.

For each cohort period (and ``all``: the final cohorts pooled), programme label and index
event type (and ``all``): persons, reoffenders, the binary rate with its 95% Wilson interval,
reoffences, frequency (reoffences per person) and reoffences per reoffender.

Programme labels: ``all_people`` (everyone), ``any_participation``, ``no_participation`` and one
label per programme or time bank (``timebank:<id>``). A person in two programmes is counted in
each programme's rows and once in the others. The counting is done in DuckDB; only the
aggregated rows come to pandas for the interval.
"""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd

from models.intervals import wilson_interval

from .cohort import COHORT_TABLE, table_columns
from .tables import RATES, empty_frame




_AGG = """
    count(*)::BIGINT AS persons,
    count(*) FILTER (WHERE reoffended)::BIGINT AS reoffenders,
    sum(reoffences)::BIGINT AS reoffences
"""

RATES_SQL = f"""
WITH labelled AS (
    SELECT cohort_period, period_start, period_end, is_final, event_type, reoffended, reoffences, 'all_people' AS programme
    FROM {COHORT_TABLE}
    UNION ALL
    SELECT cohort_period, period_start, period_end, is_final, event_type, reoffended, reoffences,
           CASE WHEN participant THEN 'any_participation' ELSE 'no_participation' END
    FROM {COHORT_TABLE}
    UNION ALL
    SELECT cohort_period, period_start, period_end, is_final, event_type, reoffended, reoffences, unnest(programmes)
    FROM {COHORT_TABLE} WHERE participant
), by_period AS (
    SELECT cohort_period, period_start, period_end,
           CASE WHEN is_final THEN 'final' ELSE 'provisional' END AS status, programme,
           CASE WHEN grouping(event_type) = 1 THEN 'all' ELSE event_type END AS event_type, {_AGG}
    FROM labelled
    GROUP BY GROUPING SETS ((cohort_period, period_start, period_end, is_final, programme, event_type),
                            (cohort_period, period_start, period_end, is_final, programme))
), pooled AS (
    SELECT 'all' AS cohort_period, min(period_start) AS period_start, max(period_end) AS period_end,
           'final' AS status, programme,
           CASE WHEN grouping(event_type) = 1 THEN 'all' ELSE event_type END AS event_type, {_AGG}
    FROM labelled WHERE is_final
    GROUP BY GROUPING SETS ((programme, event_type), (programme))
)
SELECT * FROM by_period
UNION ALL
SELECT * FROM pooled
"""

_PROGRAMME_ORDER = {"all_people": 0, "any_participation": 1, "no_participation": 2}


def reoffending_rates(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """The rates mart's rows from core.justice_cohort (empty frame if there is no cohort)."""
    if not table_columns(con, "core", "justice_cohort"):
        return empty_frame(RATES).drop(columns="run_id")
    df = con.execute(RATES_SQL).df()
    if df.empty:
        return empty_frame(RATES).drop(columns="run_id")
    n = df["persons"].to_numpy(dtype=float)
    k = df["reoffenders"].to_numpy(dtype=float)
    r = df["reoffences"].to_numpy(dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        df["binary_rate"] = k / n
        df["frequency"] = r / n
        df["reoffences_per_reoffender"] = np.where(k > 0, r / k, np.nan)
    df["ci_low"], df["ci_high"] = wilson_interval(k, n)
    df["_pooled"] = df["cohort_period"] == "all"
    df["_prog"] = df["programme"].map(_PROGRAMME_ORDER).fillna(3)
    df["_type"] = df["event_type"] != "all"
    df = df.sort_values(["_pooled", "period_start", "_prog", "programme", "_type", "event_type"])
    cols = [c.name for c in RATES if c.name != "run_id"]
    return df[cols].reset_index(drop=True)


def rate_check(con: duckdb.DuckDBPyConnection) -> dict:
    """Reconcile the pooled overall row with the cohort table (used by the asset check)."""
    final = con.execute(f"SELECT count(*), count(*) FILTER (WHERE reoffended), coalesce(sum(reoffences), 0) "
                        f"FROM {COHORT_TABLE} WHERE is_final").fetchone()
    row = con.execute("SELECT persons, reoffenders, reoffences FROM marts.reoffending_rates "
                      "WHERE cohort_period = 'all' AND programme = 'all_people' AND event_type = 'all'").fetchone()
    got = tuple(int(x) for x in row) if row else (0, 0, 0)
    want = tuple(int(x) for x in final)
    return {"cohort": want, "overall_row": got, "ok": got == want}
