"""``marts.member_reciprocity``: one row per account over the window. Person level: never published.

Kept in SQL end to end (member logs can be large): ``member_reciprocity`` returns the rows as
an Arrow table and the asset writes them (``models.mart_writer.write_mart``). Definitions (docs/reciprocity.md):

* hours_given / hours_received: hours in exchange and group rows where the account is
  giver / receiver, with any counterparty (system and organisation accounts kept).
* hours_donated (= pot + family): donation rows the account gave; hours_donation_received
  and hours_system_credited: donations and system credits the account received.
* reciprocal_hours_given G and reciprocal_hours_received R: as above, but only exchanges
  with another eligible account (not system, not organisation, not itself).
* balance_index b = 2·min(G, R)/(G + R), in [0, 1]: 1 when giving equals receiving, 0 for a
  pure giver or pure receiver, and 0 by convention when G + R = 0 (no reciprocal trade).
  give_receive_log_ratio = ln((G + 1)/(R + 1)) keeps the direction b loses.
* trading_partners: distinct eligible counterparties in reciprocal exchanges (either way).
* first/last_exchange_on: first and last exchange or group row in the window, either side.
* is_active: an exchange in (as_of − active_months, as_of], looking back before the window.
Reciprocity columns (G, R, b, two_way, log ratio, partners) are NULL for excluded accounts.
"""

from __future__ import annotations

import duckdb
import pyarrow as pa

from models.reciprocity.prepare import date_sql, prepared
from models.reciprocity.settings import ReciprocitySettings
from schemas.marts import mart

MEMBER_TABLE = "marts.member_reciprocity"

#: Columns and types, as schemas/marts.py declares them.
MEMBER_COLUMNS: dict[str, str] = mart(MEMBER_TABLE).types()


def member_reciprocity(
    con: duckdb.DuckDBPyConnection,
    settings: ReciprocitySettings | None = None,
) -> pa.Table:
    """The member mart's rows (every column but run_id), as an Arrow table: computed in DuckDB and
    handed over columnar, never through pandas; the caller writes it (``write_mart``)."""
    s = settings or ReciprocitySettings()
    with prepared(con, s) as p:
        if not p.has_data:
            cols = ", ".join(f"NULL::{t} AS {c}" for c, t in MEMBER_COLUMNS.items() if c != "run_id")
            return con.sql(f"SELECT {cols} WHERE false").to_arrow_table()
        ws, we, as_of = date_sql(p.window_start), date_sql(p.window_end), date_sql(p.as_of)
        months = int(s.active_months)
        return con.sql(
            f"""
            WITH sides AS (
                -- each row seen from the giver (dir = 1) and from the receiver (dir = -1)
                SELECT gid AS mid, rid AS other, 1 AS dir, d, h, is_ex, is_recip, to_pot, to_family, is_credit
                FROM {p.exchanges}
                UNION ALL
                SELECT rid, gid, -1, d, h, is_ex, is_recip, to_pot, to_family, is_credit FROM {p.exchanges}
            ),
            agg AS (
                SELECT mid,
                    sum(h) FILTER (WHERE in_w AND is_ex AND dir = 1) AS hours_given,
                    sum(h) FILTER (WHERE in_w AND is_ex AND dir = -1) AS hours_received,
                    sum(h) FILTER (WHERE in_w AND to_pot AND dir = 1) AS hours_donated_pot,
                    sum(h) FILTER (WHERE in_w AND to_family AND dir = 1) AS hours_donated_family,
                    sum(h) FILTER (WHERE in_w AND (to_pot OR to_family) AND dir = -1) AS hours_donation_received,
                    sum(h) FILTER (WHERE in_w AND is_credit AND dir = -1) AS hours_system_credited,
                    count(*) FILTER (WHERE in_w AND is_ex AND dir = 1) AS exchanges_given,
                    count(*) FILTER (WHERE in_w AND is_ex AND dir = -1) AS exchanges_received,
                    sum(h) FILTER (WHERE in_w AND is_recip AND dir = 1) AS "G",
                    sum(h) FILTER (WHERE in_w AND is_recip AND dir = -1) AS "R",
                    count(DISTINCT other) FILTER (WHERE in_w AND is_recip) AS trading_partners,
                    min(d) FILTER (WHERE in_w AND is_ex) AS first_exchange_on,
                    max(d) FILTER (WHERE in_w AND is_ex) AS last_exchange_on,
                    max(d) FILTER (WHERE is_ex AND d <= {as_of}) AS last_before_as_of
                FROM (SELECT *, d BETWEEN {ws} AND {we} AS in_w FROM sides)
                GROUP BY mid
            )
            SELECT a.member_id, a.timebank_id, a.person_id, a.role,
                   a.joined_on, a.left_on, a.eligible AS reciprocity_eligible,
                   {ws} AS window_start, {we} AS window_end, {as_of} AS as_of,
                   coalesce(g.hours_given, 0) AS hours_given,
                   coalesce(g.hours_received, 0) AS hours_received,
                   coalesce(g.hours_donated_pot, 0) + coalesce(g.hours_donated_family, 0) AS hours_donated,
                   coalesce(g.hours_donated_pot, 0) AS hours_donated_pot,
                   coalesce(g.hours_donated_family, 0) AS hours_donated_family,
                   coalesce(g.hours_donation_received, 0) AS hours_donation_received,
                   coalesce(g.hours_system_credited, 0) AS hours_system_credited,
                   coalesce(g.exchanges_given, 0) AS exchanges_given,
                   coalesce(g.exchanges_received, 0) AS exchanges_received,
                   CASE WHEN a.eligible THEN coalesce(g."G", 0) END AS reciprocal_hours_given,
                   CASE WHEN a.eligible THEN coalesce(g."R", 0) END AS reciprocal_hours_received,
                   CASE WHEN a.eligible THEN
                        CASE WHEN coalesce(g."G", 0) + coalesce(g."R", 0) > 0
                             THEN 2 * least(coalesce(g."G", 0), coalesce(g."R", 0)) / (coalesce(g."G", 0) + coalesce(g."R", 0))
                             ELSE 0 END
                   END AS balance_index,
                   CASE WHEN a.eligible THEN coalesce(g."G", 0) > 0 AND coalesce(g."R", 0) > 0 END AS two_way,
                   CASE WHEN a.eligible THEN ln((coalesce(g."G", 0) + 1) / (coalesce(g."R", 0) + 1)) END AS give_receive_log_ratio,
                   CASE WHEN a.eligible THEN coalesce(g.trading_partners, 0) END AS trading_partners,
                   g.first_exchange_on, g.last_exchange_on,
                   coalesce(g.last_before_as_of > ({as_of} - INTERVAL {months} MONTH)::DATE, false) AS is_active
            FROM {p.accounts} a LEFT JOIN agg g ON g.mid = a.mid
            ORDER BY a.timebank_id, a.member_id
            """
        ).to_arrow_table()
