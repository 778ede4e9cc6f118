"""Hand-checkable time-bank fixtures shared by the reciprocity tests (no tests here).

THE LOG (time bank TB1, window 2024-01-01..2024-12-31, as_of 2024-12-31)

accounts: A, B community (joined 2023-06-01); X patient, Y prisoner, Z community (joined
2024-01-15); P service_user, Q community (joined 2024-02-01); E community (joined
2024-03-01, never trades); S system = the goodwill pot, O organisation (joined 2023-06-01).
TB2 has one member M (community, joined 2024-05-01) and no exchanges.

    id   giver→receiver  hours  date        kind            what it tests
    E1   A→B             2.0    2024-01-10  exchange        balanced pair A↔B
    E2   B→A             2.0    2024-02-10  exchange
    E3   X→Y             1.0    2024-03-01  exchange        three-member cycle X→Y→Z→X
    E4   Y→Z             0.5    2024-03-02  group           (group kind; Y gives < 1 hour)
    E5   Z→X             1.0    2024-03-03  exchange
    E6   P→Q             3.0    2024-04-01  exchange        pure giver P, pure receiver Q
    E7   S→P             1.0    2024-04-02  system_credit   system account crediting P
    E8   A→S             1.0    2024-05-01  donation        donation to the goodwill pot
    E9   B→X             0.5    2024-05-02  donation        donation to family (another member)
    E10  P→O             1.0    2024-06-01  exchange        P volunteers for an organisation
    E11  X→Y             1.0    2024-09-01  exchange        the cycle's X→Y edge gets 2 hours

MEMBER LEVEL over the window (G, R = hours given / received to / from eligible members in
exchange and group rows; b = 2·min(G, R)/(G + R)):

    member  given  received  donated  G    R    b                  partners  first       last
    A       2      2         1 (pot)  2    2    1                  1 (B)     2024-01-10  2024-02-10
    B       2      2         0.5 (fam)2    2    1                  1 (A)     2024-01-10  2024-02-10
    X       2      1         0        2    1    2·1/3 = 2/3        2 (Y, Z)  2024-03-01  2024-09-01
    Y       0.5    2         0        0.5  2    2·0.5/2.5 = 0.4    2 (X, Z)  2024-03-01  2024-09-01
    Z       1      0.5       0        1    0.5  2·0.5/1.5 = 2/3    2 (Y, X)  2024-03-02  2024-03-03
    P       4      0         0        3    0    0 (pure giver)     1 (Q; O excluded)  2024-04-01  2024-06-01
    Q       0      3         0        0    3    0 (pure receiver)  1 (P)     2024-04-01  2024-04-01
    E       0      0         0        0    0    0 (G+R=0 → 0)      0         -           -
    S, O    kept in totals; reciprocity columns NULL (excluded accounts).
P's hours_given (4) includes the hour given to the organisation O; its G (3) does not. P's
system credit (1 hour) is in hours_system_credited, not hours_received.

TB1 OVERALL ROW:
    members = 8 (A, B, X, Y, Z, P, Q, E; S and O are not people)
    active_members = trading_members = 7 (all but E); exchanges = 8 (E1–E6, E10, E11)
    hours_total = 2+2+1+0.5+1+3+1+1+0.5+1+1 = 14; hours_exchanged = 14 − 1 − 1 − 0.5 = 11.5
    hours_group = 0.5, hours_system_credit = 1, hours_donated_pot = 1, hours_donated_family = 0.5
    hours_per_active_member = 11.5/7
    two_way_members = 5 (A, B, X, Y, Z); two_way_share = 5/7
    mean_balance_index = (1 + 1 + 2/3 + 0.4 + 2/3 + 0 + 0)/7 = (56/15)/7 = 8/15
    beneficiaries: X (patient), Y (prisoner), P (service_user) = 3; gave >= 1 hour: X (2),
        P (4); Y gave 0.5 → beneficiary_contribution_share = 2/3
    network (eligible, exchange/group): A→B 2, B→A 2, X→Y 2, Y→Z 0.5, Z→X 1, P→Q 3
        L = 6 edges, L↔ = 2 (A→B, B→A) → dyadic_reciprocity = 1/3
        W = 10.5, W↔ = min(2,2) + min(2,2) = 4 → weighted_reciprocity = 4/10.5 = 8/21
        circulating (cycle ≥ 3): X→Y, Y→Z, Z→X = 3.5 hours → generalised = 3.5/10.5 = 1/3
        (A↔B is only a 2-cycle; P→Q is on no cycle)
    Gini of hours given over the 7 traders, sorted 0, 0.5, 1, 2, 2, 2, 4 (sum 11.5):
        Σ i·x_(i) = 0 + 1 + 3 + 8 + 10 + 12 + 28 = 62
        G = 2·62/(7·11.5) − 8/7 = 248/161 − 184/161 = 64/161
    joiners (joined in the window) = 6 (X, Y, Z, P, Q, E)
        6 months elapsed for all 6; retained (an exchange on or after joined + 6 months):
        X (2024-09-01 >= 2024-07-15), Y (received E11 on 2024-09-01) → 2/6;
        Z (last 03-03), P (last 06-01 < 08-01), Q, E are not
        12 months elapsed for none → retention_12m NULL (0 eligible)
        days to first exchange: X 46, Y 46, Z 47, P 60, Q 60 → median 47 (E never traded)

TB1 2024-Q1 (E1–E5): active at 03-31 = 5 (A, B, X, Y, Z); two-way 5/5; balances A 1, B 1,
    X 1 (1 given, 1 received), Y 0.5/1.5·2 = 2/3, Z 2/3 → mean 13/15; network A↔B, X→Y 1,
    Y→Z 0.5, Z→X 1: W = 6.5, W↔ = 4, circulating 2.5; beneficiaries 3 (P joined 02-01),
    givers >= 1 hour: X only → 1/3.
"""

from __future__ import annotations

import datetime as dt

import duckdb

from models.reciprocity import ReciprocitySettings

WINDOW = ReciprocitySettings(window_start=dt.date(2024, 1, 1), window_end=dt.date(2024, 12, 31))

MEMBERS = [
    ("A", "TB1", "pA", "community", "2023-06-01", None),
    ("B", "TB1", "pB", "community", "2023-06-01", None),
    ("X", "TB1", "pX", "patient", "2024-01-15", None),
    ("Y", "TB1", "pY", "prisoner", "2024-01-15", None),
    ("Z", "TB1", "pZ", "community", "2024-01-15", None),
    ("P", "TB1", "pP", "service_user", "2024-02-01", None),
    ("Q", "TB1", "pQ", "community", "2024-02-01", None),
    ("E", "TB1", None, "community", "2024-03-01", None),
    ("S", "TB1", None, "system", "2023-06-01", None),
    ("O", "TB1", None, "organisation", "2023-06-01", None),
    ("M", "TB2", "pM", "community", "2024-05-01", None),
]
EXCHANGES = [
    ("E1", "TB1", "A", "B", 2.0, "2024-01-10", "befriending", "exchange"),
    ("E2", "TB1", "B", "A", 2.0, "2024-02-10", "shopping", "exchange"),
    ("E3", "TB1", "X", "Y", 1.0, "2024-03-01", "transport", "exchange"),
    ("E4", "TB1", "Y", "Z", 0.5, "2024-03-02", "gardening", "group"),
    ("E5", "TB1", "Z", "X", 1.0, "2024-03-03", "befriending", "exchange"),
    ("E6", "TB1", "P", "Q", 3.0, "2024-04-01", "diy", "exchange"),
    ("E7", "TB1", "S", "P", 1.0, "2024-04-02", None, "system_credit"),
    ("E8", "TB1", "A", "S", 1.0, "2024-05-01", None, "donation"),
    ("E9", "TB1", "B", "X", 0.5, "2024-05-02", None, "donation"),
    ("E10", "TB1", "P", "O", 1.0, "2024-06-01", "admin", "exchange"),
    ("E11", "TB1", "X", "Y", 1.0, "2024-09-01", "transport", "exchange"),
]
GRANTS = [
    ("G1", "F1", "TB1", 10000.0, "2024-01-01", "2024-06-30"),
    ("G2", "F1", "TB1", 5000.0, "2024-07-01", "2024-12-31"),
    ("G3", "F2", "TB2", 3333.33, "2024-01-01", "2024-12-31"),
]


def _values(rows, types) -> str:
    def lit(v, t):
        if v is None:
            return f"NULL::{t}"
        if t == "DATE":
            return f"DATE '{v}'"
        if t in ("DOUBLE", "INTEGER"):
            return repr(v)
        return "'" + str(v).replace("'", "''") + "'"

    return ", ".join("(" + ", ".join(lit(v, t) for v, t in zip(r, types)) + ")" for r in rows)


def load(con: duckdb.DuckDBPyConnection, *, members=MEMBERS, exchanges=EXCHANGES, grants=None, assessments=None) -> None:
    """Create the staging tables with the data-contract columns; ``None`` leaves a table out."""
    con.execute("CREATE SCHEMA IF NOT EXISTS staging")
    if members is not None:
        con.execute(
            "CREATE OR REPLACE TABLE staging.timebank_members (member_id VARCHAR, timebank_id VARCHAR, "
            "person_id VARCHAR, role VARCHAR, joined_on DATE, left_on DATE)"
        )
        if members:
            con.execute("INSERT INTO staging.timebank_members VALUES "
                        + _values(members, ["VARCHAR"] * 4 + ["DATE", "DATE"]))
    if exchanges is not None:
        con.execute(
            "CREATE OR REPLACE TABLE staging.timebank_exchanges (exchange_id VARCHAR, timebank_id VARCHAR, "
            "giver_id VARCHAR, receiver_id VARCHAR, hours DOUBLE, exchanged_on DATE, category VARCHAR, kind VARCHAR)"
        )
        if exchanges:
            con.execute("INSERT INTO staging.timebank_exchanges VALUES "
                        + _values(exchanges, ["VARCHAR"] * 4 + ["DOUBLE", "DATE", "VARCHAR", "VARCHAR"]))
    if grants is not None:
        con.execute(
            "CREATE OR REPLACE TABLE staging.grants (grant_id VARCHAR, funder VARCHAR, timebank_id VARCHAR, "
            "amount DOUBLE, period_start DATE, period_end DATE)"
        )
        if grants:
            con.execute("INSERT INTO staging.grants VALUES "
                        + _values(grants, ["VARCHAR"] * 3 + ["DOUBLE", "DATE", "DATE"]))
    if assessments is not None:
        con.execute(
            "CREATE OR REPLACE TABLE staging.coproduction_assessments (timebank_id VARCHAR, assessed_on DATE, "
            "domain VARCHAR, item VARCHAR, score INTEGER)"
        )
        if assessments:
            con.execute("INSERT INTO staging.coproduction_assessments VALUES "
                        + _values(assessments, ["VARCHAR", "DATE", "VARCHAR", "VARCHAR", "INTEGER"]))


def assessment(timebank: str, on: str, scores: list[int], domains=("assets", "work", "reciprocity", "community", "respect")):
    """Rows of one self-assessment: ``scores`` in domain-major order (4 items per domain)."""
    return [(timebank, on, domains[i // 4], f"item{i % 4 + 1}", s) for i, s in enumerate(scores)]
