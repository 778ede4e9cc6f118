"""Time-bank measures for any set of (time bank, period) groups, set-based in DuckDB.

``group_measures`` is shared by the time bank × period mart (``timebank.py``: quarters plus
an overall row) and the grant metrics (``grants.py``: one group per grant period). A groups
table has columns ``grp`` (dense INTEGER from 0), ``timebank_id``, ``period_start``,
``period_end`` and ``bucket``: when ``bucket`` is set, exchanges are matched by equality on
``date_trunc(settings.period, exchanged_on)`` (fast, for calendar periods); when NULL, by the
date range (grant periods).

Definitions (sources and discussion in docs/reciprocity.md). For a group with period
[ps, pe], "exchange" means a row of kind exchange or group (``settings.exchange_kinds``), and
"eligible" an account whose role is not system or organisation:

* hours: all rows in the period, any account (system and organisation accounts and the
  goodwill pot are kept in hour totals); ``hours_exchanged`` only exchange and group rows.
* members: eligible accounts with joined_on <= pe and (left_on is NULL or >= ps).
* active_members: eligible accounts with an exchange in (ae − active_months, ae], where
  ae = min(pe, as_of) (a rolling stock: for a quarter, the 12 months up to its end).
* trading_members: eligible accounts with an exchange in the period (any counterparty).
* G_i, R_i: hours member i gave / received in exchanges with another eligible account in
  the period. two-way member: G_i > 0 and R_i > 0; two_way_share = two-way / trading.
* balance b_i = 2·min(G_i, R_i)/(G_i + R_i); mean_balance_index averages it over members
  with G_i + R_i > 0.
* beneficiary_contribution_share: members with a beneficiary role who gave (exchanges,
  any counterparty) at least ``beneficiary_min_hours`` in the period, over members with
  those roles.
* network: directed edge i→j with weight w_ij = hours i gave j (eligible, i ≠ j).
  dyadic_reciprocity = L↔/L (edges whose reverse exists, over edges); weighted_reciprocity
  = W↔/W = Σ_ij min(w_ij, w_ji) / Σ_ij w_ij (Squartini et al. 2013); generalised
  reciprocity = hours on edges lying on a directed cycle of length >= 3, over W
  (``network.circulating_edges``).
* gini_hours_given over trading members (zero-givers included).
* retention at h months: joiners in the period (eligible, joined_on in [ps, pe]) whose
  h months had elapsed by as_of; retained if they had an exchange on or after joined_on + h
  months (up to as_of). median_days_to_first_exchange over joiners with an exchange on or
  after joining.

Averages and sums of fractions are taken in a fixed order (``avg(b ORDER BY b)``): DuckDB adds
floating-point values in whatever order its threads meet them, so without one the same data could
give a mean that differs in its last bit from one run to the next.
"""

from __future__ import annotations

import time
import uuid

import duckdb
import pandas as pd

from models.reciprocity.network import CycleStats, network_totals
from models.reciprocity.prepare import Prepared, date_sql
from models.reciprocity.settings import ReciprocitySettings

#: Columns produced per group (besides ``grp``), in order.
MEASURE_COLUMNS: list[str] = [
    "members", "active_members", "trading_members",
    "exchanges", "hours_total", "hours_exchanged", "hours_group", "hours_system_credit",
    "hours_donated_pot", "hours_donated_family", "hours_per_active_member",
    "two_way_members", "two_way_share", "mean_balance_index",
    "beneficiary_members", "beneficiary_givers", "beneficiary_contribution_share",
    "network_edges", "reciprocated_edges", "dyadic_reciprocity",
    "reciprocal_hours", "reciprocated_hours", "weighted_reciprocity",
    "circulating_hours", "generalised_reciprocity", "gini_hours_given",
]

_COUNTS = {"members", "active_members", "trading_members", "exchanges", "two_way_members",
           "beneficiary_members", "beneficiary_givers", "network_edges", "reciprocated_edges", "joiners",
           "joiners_with_exchange"}


def retention_columns(settings: ReciprocitySettings) -> list[str]:
    cols = ["joiners"]
    for h in settings.retention_months:
        cols += [f"retention_{h}m_eligible", f"retention_{h}m_retained", f"retention_{h}m"]
    return cols + ["joiners_with_exchange", "median_days_to_first_exchange"]


def all_measure_columns(settings: ReciprocitySettings) -> list[str]:
    return MEASURE_COLUMNS + retention_columns(settings)


def is_count(column: str) -> bool:
    return column in _COUNTS or column.endswith("_eligible") or column.endswith("_retained")


def group_measures(
    con: duckdb.DuckDBPyConnection,
    p: Prepared,
    s: ReciprocitySettings,
    groups: str,
    *,
    member_stats: str | None = None,
    timings: dict[str, float] | None = None,
    cycle_stats: CycleStats | None = None,
) -> pd.DataFrame:
    """One row per ``grp`` of ``groups`` with ``all_measure_columns(s)``.

    With ``member_stats`` a TEMP table of that name is left behind with one row per
    (grp, eligible member who traded): ``grp, mid, hours_given, hours_received, G, R, b``;
    the caller drops it.
    """
    tag = uuid.uuid4().hex[:10]
    exg, mg = f"_rc_exg_{tag}", member_stats or f"_rc_mg_{tag}"
    clock = _Clock(timings)
    try:
        _assign(con, p, s, groups, exg)
        clock("assign exchanges to groups")
        frame = con.execute(f"SELECT grp FROM {groups} ORDER BY grp").df()
        frame = frame.merge(_flows(con, exg), on="grp", how="left")
        _member_stats(con, p, exg, mg)
        clock("hours and member totals")
        frame = frame.merge(_member_measures(con, p, s, groups, mg), on="grp", how="left")
        frame = frame.merge(_membership(con, p, groups), on="grp", how="left")
        clock("two-way, balance, Gini, membership")
        frame = frame.merge(_active(con, p, s, groups), on="grp", how="left")
        clock("active members")
        frame = frame.merge(_retention(con, p, s, groups), on="grp", how="left")
        clock("retention")
        frame = frame.merge(_network(con, exg, clock, cycle_stats), on="grp", how="left")
    finally:
        for t in (exg,) + (() if member_stats else (mg,)):
            con.execute(f"DROP TABLE IF EXISTS {t}")
    return _finish(frame, s)


class _Clock:
    def __init__(self, sink: dict[str, float] | None):
        self.sink, self.t = sink, time.perf_counter()

    def __call__(self, label: str) -> None:
        now = time.perf_counter()
        if self.sink is not None:
            self.sink[label] = self.sink.get(label, 0.0) + now - self.t
        self.t = now


def _assign(con, p: Prepared, s: ReciprocitySettings, groups: str, exg: str) -> None:
    cols = "g.grp, e.gid, e.rid, e.h, e.is_ex, e.g_elig, e.r_elig, e.is_group, e.is_recip, e.to_pot, e.to_family, e.is_credit"
    con.execute(
        f"""
        CREATE TEMP TABLE {exg} AS
        SELECT {cols} FROM {p.exchanges} e
        JOIN (SELECT * FROM {groups} WHERE bucket IS NOT NULL) g
          ON e.timebank_id = g.timebank_id AND g.bucket = date_trunc('{s.period}', e.d)::DATE
        WHERE e.d BETWEEN g.period_start AND g.period_end
        UNION ALL
        SELECT {cols} FROM {p.exchanges} e
        JOIN (SELECT * FROM {groups} WHERE bucket IS NULL) g
          ON e.timebank_id = g.timebank_id AND e.d BETWEEN g.period_start AND g.period_end
        """
    )


def _flows(con, exg: str) -> pd.DataFrame:
    return con.execute(
        f"""
        SELECT grp,
               count(*) FILTER (WHERE is_ex) AS exchanges,
               sum(h) AS hours_total,
               coalesce(sum(h) FILTER (WHERE is_ex), 0) AS hours_exchanged,
               coalesce(sum(h) FILTER (WHERE is_group), 0) AS hours_group,
               coalesce(sum(h) FILTER (WHERE is_credit), 0) AS hours_system_credit,
               coalesce(sum(h) FILTER (WHERE to_pot), 0) AS hours_donated_pot,
               coalesce(sum(h) FILTER (WHERE to_family), 0) AS hours_donated_family
        FROM {exg} GROUP BY grp
        """
    ).df()


def _member_stats(con, p: Prepared, exg: str, mg: str) -> None:
    """Per (group, eligible member who traded): hours given/received (any counterparty), G, R and b."""
    con.execute(
        f"""
        CREATE TEMP TABLE {mg} AS
        WITH gv AS (
            SELECT grp, gid AS mid, sum(h) AS hg, coalesce(sum(h) FILTER (WHERE is_recip), 0) AS g
            FROM {exg} WHERE is_ex AND g_elig GROUP BY grp, gid
        ),
        rv AS (
            SELECT grp, rid AS mid, sum(h) AS hr, coalesce(sum(h) FILTER (WHERE is_recip), 0) AS r
            FROM {exg} WHERE is_ex AND r_elig GROUP BY grp, rid
        ),
        t AS (
            SELECT grp, mid, coalesce(hg, 0) AS hours_given, coalesce(hr, 0) AS hours_received,
                   coalesce(g, 0) AS "G", coalesce(r, 0) AS "R"
            FROM gv FULL JOIN rv USING (grp, mid)
        )
        SELECT t.*,
               CASE WHEN "G" + "R" > 0 THEN 2 * least("G", "R") / ("G" + "R") ELSE 0 END AS b,
               a.beneficiary
        FROM t JOIN {p.accounts} a ON a.mid = t.mid
        """
    )


def _member_measures(con, p: Prepared, s: ReciprocitySettings, groups: str, mg: str) -> pd.DataFrame:
    return con.execute(
        f"""
        WITH ranked AS (
            SELECT *, row_number() OVER (PARTITION BY grp ORDER BY hours_given) AS rk FROM {mg}
        ),
        ben AS (  -- beneficiary givers must also be members in the period (the share's denominator)
            SELECT m.grp, count(*) AS beneficiary_givers
            FROM {mg} m JOIN {groups} g USING (grp) JOIN {p.accounts} a ON a.mid = m.mid
            WHERE m.beneficiary AND m.hours_given >= {float(s.beneficiary_min_hours)!r}
              AND a.joined_on <= g.period_end AND (a.left_on IS NULL OR a.left_on >= g.period_start)
            GROUP BY m.grp
        )
        SELECT r.grp, count(*) AS trading_members,
               count(*) FILTER (WHERE "G" > 0 AND "R" > 0) AS two_way_members,
               avg(b ORDER BY b) FILTER (WHERE "G" + "R" > 0) AS mean_balance_index,
               CASE WHEN sum(hours_given) > 0
                    THEN 2 * sum(rk * hours_given ORDER BY rk) / (count(*) * sum(hours_given ORDER BY hours_given))
                         - (count(*) + 1) / count(*)
               END AS gini_hours_given,
               coalesce(any_value(ben.beneficiary_givers), 0) AS beneficiary_givers
        FROM ranked r LEFT JOIN ben USING (grp)
        GROUP BY r.grp
        """
    ).df()


def _membership(con, p: Prepared, groups: str) -> pd.DataFrame:
    return con.execute(
        f"""
        SELECT g.grp,
               count(*) AS members,
               count(*) FILTER (WHERE a.beneficiary) AS beneficiary_members
        FROM {groups} g JOIN {p.accounts} a
          ON a.timebank_id = g.timebank_id AND a.joined_on <= g.period_end
         AND (a.left_on IS NULL OR a.left_on >= g.period_start)
        WHERE a.eligible AND a.role IS NOT NULL
        GROUP BY g.grp
        """
    ).df()


def _active(con, p: Prepared, s: ReciprocitySettings, groups: str) -> pd.DataFrame:
    """Eligible members with an exchange in (ae − active_months, ae], ae = min(period_end, as_of).

    One streaming pass per batch of up to 62 distinct reference dates ae (a few for
    quarters: they are shared by all time banks): each exchange side gets a bit per ae it
    falls in the look-back of, OR-ed per member, then counted per bit. No sort, no join.
    """
    months = int(s.active_months)
    refs = con.execute(
        f"SELECT DISTINCT least(period_end, {date_sql(p.as_of)}) AS ae FROM {groups} WHERE period_end IS NOT NULL ORDER BY ae"
    ).fetchall()
    refs = [r[0] for r in refs if r[0] is not None]
    frames = []
    for start in range(0, len(refs), 62):
        batch = refs[start:start + 62]
        bits = " + ".join(
            f"CASE WHEN d <= {date_sql(ae)} AND d > ({date_sql(ae)} - INTERVAL {months} MONTH)::DATE "
            f"THEN {1 << k}::BIGINT ELSE 0 END"
            for k, ae in enumerate(batch)
        )
        counts = ", ".join(f"count(*) FILTER (WHERE (m >> {k}) & 1 = 1) AS c{k}" for k in range(len(batch)))
        wide = con.execute(
            f"""
            WITH sides AS (
                SELECT timebank_id, gid AS mid, d FROM {p.exchanges} WHERE is_ex AND g_elig
                UNION ALL
                SELECT timebank_id, rid, d FROM {p.exchanges} WHERE is_ex AND r_elig
            ),
            per_member AS (SELECT timebank_id, mid, bit_or({bits}) AS m FROM sides GROUP BY timebank_id, mid)
            SELECT timebank_id, {counts} FROM per_member GROUP BY timebank_id
            """
        ).df()
        long = wide.melt(id_vars="timebank_id", var_name="k", value_name="active_members")
        long["ae"] = [batch[int(k[1:])] for k in long["k"]]
        frames.append(long[["timebank_id", "ae", "active_members"]])
    keys = con.execute(
        f"SELECT grp, timebank_id, least(period_end, {date_sql(p.as_of)}) AS ae FROM {groups}"
    ).df()
    if not frames:
        return pd.DataFrame({"grp": keys["grp"], "active_members": 0})
    counts = pd.concat(frames, ignore_index=True)
    counts["ae"] = pd.to_datetime(counts["ae"])
    keys["ae"] = pd.to_datetime(keys["ae"])
    return keys.merge(counts, on=["timebank_id", "ae"], how="left")[["grp", "active_members"]]


def _retention(con, p: Prepared, s: ReciprocitySettings, groups: str) -> pd.DataFrame:
    as_of = date_sql(p.as_of)
    parts = []
    for h in s.retention_months:
        due = f"(a.joined_on + INTERVAL {int(h)} MONTH)::DATE"
        parts.append(f"count(*) FILTER (WHERE {due} <= {as_of}) AS retention_{h}m_eligible")
        parts.append(
            f"count(*) FILTER (WHERE {due} <= {as_of} AND m.last_d >= {due}) AS retention_{h}m_retained"
        )
    cols = ",\n               ".join(parts)
    return con.execute(
        f"""
        WITH mact AS (
            SELECT x.mid, min(x.d) FILTER (WHERE x.d >= a.joined_on) AS first_after_join, max(x.d) AS last_d
            FROM (
                SELECT gid AS mid, d FROM {p.exchanges} WHERE is_ex AND d <= {as_of}
                UNION ALL
                SELECT rid, d FROM {p.exchanges} WHERE is_ex AND d <= {as_of}
            ) x JOIN {p.accounts} a ON a.mid = x.mid
            WHERE a.eligible AND a.joined_on IS NOT NULL
            GROUP BY x.mid
        )
        SELECT g.grp, count(*) AS joiners,
               {cols},
               count(m.first_after_join) AS joiners_with_exchange,
               median(date_diff('day', a.joined_on, m.first_after_join)) AS median_days_to_first_exchange
        FROM {groups} g
        JOIN {p.accounts} a ON a.timebank_id = g.timebank_id AND a.joined_on BETWEEN g.period_start AND g.period_end
        LEFT JOIN mact m ON m.mid = a.mid
        WHERE a.eligible AND a.role IS NOT NULL
        GROUP BY g.grp
        """
    ).df()


def _network(con, exg: str, clock: _Clock, cycle_stats: CycleStats | None) -> pd.DataFrame:
    """Aggregate to distinct directed edges in SQL, then the network totals in numpy/scipy."""
    arrays = con.execute(
        f"SELECT grp, gid, rid, sum(h) AS w FROM {exg} WHERE is_recip GROUP BY ALL"
    ).fetchnumpy()
    clock("edges (SQL)")
    totals = network_totals(arrays["grp"], arrays["gid"], arrays["rid"], arrays["w"], cycle_stats)
    clock("dyadic, weighted, cycles (numpy/scipy)")
    frame = pd.DataFrame(totals)
    frame["grp"] = frame["grp"].astype("int64")
    return frame


def _ratio(num: pd.Series, den: pd.Series) -> pd.Series:
    num = num.astype("float64")
    den = den.astype("float64")
    return (num / den).where(den > 0)


def _finish(frame: pd.DataFrame, s: ReciprocitySettings) -> pd.DataFrame:
    frame = frame.reindex(columns=["grp"] + all_measure_columns(s))
    zero_fill = [c for c in frame.columns if is_count(c)] + [
        "hours_total", "hours_exchanged", "hours_group", "hours_system_credit", "hours_donated_pot",
        "hours_donated_family", "reciprocal_hours", "reciprocated_hours", "circulating_hours",
    ]
    for c in zero_fill:
        frame[c] = frame[c].fillna(0)
    for c in frame.columns:
        if is_count(c) or c == "grp":
            frame[c] = frame[c].astype("int64")
        else:
            frame[c] = frame[c].astype("float64")
    frame["hours_per_active_member"] = _ratio(frame["hours_exchanged"], frame["active_members"])
    frame["two_way_share"] = _ratio(frame["two_way_members"], frame["trading_members"])
    frame["beneficiary_contribution_share"] = _ratio(frame["beneficiary_givers"], frame["beneficiary_members"])
    frame["dyadic_reciprocity"] = _ratio(frame["reciprocated_edges"], frame["network_edges"])
    frame["weighted_reciprocity"] = _ratio(frame["reciprocated_hours"], frame["reciprocal_hours"])
    frame["generalised_reciprocity"] = _ratio(frame["circulating_hours"], frame["reciprocal_hours"])
    for h in s.retention_months:
        frame[f"retention_{h}m"] = _ratio(frame[f"retention_{h}m_retained"], frame[f"retention_{h}m_eligible"])
    return frame
