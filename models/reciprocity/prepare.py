"""Read the staged time-bank tables into connection-local working tables, tolerating absence.

Every function in this package starts here. ``prepared(con, settings)`` is a context
manager that creates two TEMP tables, dropped on exit:

* accounts: one row per account (``member_id``) with a dense integer ``mid``, its role and
  flags. Accounts seen in the log but missing from ``staging.timebank_members`` get a NULL
  role and are treated as people (eligible): the contract forbids them, so this only guards.
* exchanges: the log with integer giver/receiver ids and per-row flags (exchange of time,
  reciprocal, donation to the pot or to family, system credit), up to the later of the
  window end and ``as_of``.

It also resolves the window: by default the whole data range, from the earliest to the
latest date among ``joined_on`` and ``exchanged_on``; ``as_of`` defaults to the window end.
A missing or empty source gives empty working tables and ``window_start = None``.
"""

from __future__ import annotations

import datetime as dt
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Iterator

import duckdb

from models.reciprocity.settings import ReciprocitySettings
from schemas.contract import empty_source_sql

MEMBERS = "staging.timebank_members"
EXCHANGES = "staging.timebank_exchanges"
GRANTS = "staging.grants"
ASSESSMENTS = "staging.coproduction_assessments"

_COLUMNS = {
    MEMBERS: "member_id::VARCHAR AS member_id, timebank_id::VARCHAR AS timebank_id, person_id::VARCHAR AS person_id, "
    "role::VARCHAR AS role, joined_on::DATE AS joined_on, left_on::DATE AS left_on",
    EXCHANGES: "exchange_id::VARCHAR AS exchange_id, timebank_id::VARCHAR AS timebank_id, giver_id::VARCHAR AS giver_id, "
    "receiver_id::VARCHAR AS receiver_id, hours::DOUBLE AS hours, exchanged_on::DATE AS exchanged_on, "
    "category::VARCHAR AS category, kind::VARCHAR AS kind",
    GRANTS: "grant_id::VARCHAR AS grant_id, funder::VARCHAR AS funder, timebank_id::VARCHAR AS timebank_id, "
    "amount::DOUBLE AS amount, period_start::DATE AS period_start, period_end::DATE AS period_end",
    ASSESSMENTS: "timebank_id::VARCHAR AS timebank_id, assessed_on::DATE AS assessed_on, domain::VARCHAR AS domain, "
    "item::VARCHAR AS item, score::INTEGER AS score",
}


def quote(text: object) -> str:
    """A SQL string literal."""
    return "'" + str(text).replace("'", "''") + "'"


def date_sql(value: dt.date | None) -> str:
    return "NULL::DATE" if value is None else f"DATE '{value.isoformat()}'"


def in_list(values) -> str:
    """``('a', 'b')`` for SQL ``IN``; an impossible list when empty."""
    return "(" + ", ".join(quote(v) for v in values) + ")" if values else "(NULL)"


def table_exists(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    schema, _, table = name.rpartition(".")
    row = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = ? AND table_name = ?",
        [schema or "main", table],
    ).fetchall()[0]
    return bool(row and row[0])


def source_sql(con: duckdb.DuckDBPyConnection, name: str) -> str:
    """A SELECT of the contract columns of a staged source, or an empty one of the same shape."""
    staged = name if table_exists(con, name) else f"({empty_source_sql(name.split('.')[1])})"
    return f"SELECT {_COLUMNS[name]} FROM {staged}"


@dataclass
class Prepared:
    """Names of the working tables and the resolved window (``None`` when there is no data)."""

    accounts: str
    exchanges: str
    window_start: dt.date | None
    window_end: dt.date | None
    as_of: dt.date | None

    @property
    def has_data(self) -> bool:
        return self.window_start is not None


@contextmanager
def prepared(con: duckdb.DuckDBPyConnection, settings: ReciprocitySettings) -> Iterator[Prepared]:
    tag = uuid.uuid4().hex[:10]
    acct, ex = f"_rc_acct_{tag}", f"_rc_ex_{tag}"
    try:
        yield _prepare(con, settings, acct, ex)
    finally:
        for t in (acct, ex):
            con.execute(f"DROP TABLE IF EXISTS {t}")


def _prepare(con, s: ReciprocitySettings, acct: str, ex: str) -> Prepared:
    members, exchanges = source_sql(con, MEMBERS), source_sql(con, EXCHANGES)
    lo, hi = con.execute(
        f"SELECT min(d), max(d) FROM (SELECT joined_on AS d FROM ({members}) UNION ALL "
        f"SELECT exchanged_on FROM ({exchanges}))"
    ).fetchall()[0]
    start = s.window_start or lo
    end = s.window_end or hi
    if start is not None and end is None:
        end = start
    if end is not None and start is None:
        start = end
    as_of = s.as_of or end
    horizon = max(end, as_of) if end is not None else None
    excluded, pot, beneficiary = in_list(s.excluded_roles), in_list(s.pot_roles), in_list(s.beneficiary_roles)
    flags = (
        f"(role IS NULL OR role NOT IN {excluded}) AS eligible, coalesce(role IN {pot}, false) AS is_pot, "
        f"coalesce(role IN {beneficiary}, false) AS beneficiary"
    )
    # mid is an internal dense id (row order does not matter: no result depends on it).
    con.execute(
        f"""
        CREATE TEMP TABLE {acct} AS
        SELECT (row_number() OVER () - 1)::INTEGER AS mid, *, {flags}
        FROM (SELECT * FROM ({members}) QUALIFY row_number() OVER (PARTITION BY member_id ORDER BY joined_on) = 1)
        """
    )
    kinds = in_list(s.exchange_kinds)
    build_ex = f"""
        CREATE OR REPLACE TEMP TABLE {ex} AS
        SELECT e.timebank_id, e.exchanged_on AS d, e.hours AS h, g.mid AS gid, r.mid AS rid,
               e.kind IN {kinds} AS is_ex,
               g.eligible AS g_elig,
               r.eligible AS r_elig,
               e.kind = 'group' AS is_group,
               (e.kind IN {kinds} AND g.eligible AND r.eligible AND g.mid <> r.mid) AS is_recip,
               e.kind = 'donation' AND r.is_pot AS to_pot,
               e.kind = 'donation' AND NOT r.is_pot AS to_family,
               e.kind = 'system_credit' AS is_credit
        FROM ({exchanges}) e
        JOIN {acct} g ON g.member_id = e.giver_id
        JOIN {acct} r ON r.member_id = e.receiver_id
        WHERE e.hours > 0 AND e.exchanged_on <= {date_sql(horizon)}
        """
    con.execute(build_ex)
    expected = con.execute(
        f"SELECT count(*) FROM ({exchanges}) WHERE hours > 0 AND exchanged_on <= {date_sql(horizon)}"
    ).fetchall()[0][0]
    if con.execute(f"SELECT count(*) FROM {ex}").fetchall()[0][0] != expected:
        # Accounts in the log but not in the member table (the contract forbids it): add them
        # with a NULL role, treated as people, so that no hours are lost.
        con.execute(
            f"""
            INSERT INTO {acct}
            SELECT (SELECT count(*) FROM {acct}) + row_number() OVER () - 1, member_id, timebank_id,
                   NULL, NULL, NULL, NULL, true, false, false
            FROM (
                SELECT x.member_id, any_value(x.timebank_id) AS timebank_id FROM (
                    SELECT giver_id AS member_id, timebank_id FROM ({exchanges})
                    UNION ALL SELECT receiver_id, timebank_id FROM ({exchanges})
                ) x ANTI JOIN {acct} a ON a.member_id = x.member_id
                GROUP BY x.member_id
            )
            """
        )
        con.execute(build_ex)
    return Prepared(acct, ex, start, end, as_of)
