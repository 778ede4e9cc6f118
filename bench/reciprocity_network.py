"""Benchmark: reciprocity and network measures on a synthetic 10M-exchange log.

    .venv/bin/python -m bench.reciprocity_network                 # 10M exchanges, 1M members, 4 time banks
    .venv/bin/python -m bench.reciprocity_network --exchanges 1000000 --members 100000

The log is generated inside DuckDB from range() with hash-based pseudo-random draws (no
Python rows): members get 64-hex-character ids (like the ingest's HMAC-SHA256 pseudonyms),
a role (one goodwill-pot system account per time bank, organisations, beneficiaries, staff,
community) and a join date. Each member has ten usual partners in a neighbourhood of 50
(triangles and longer cycles); an exchange goes from a member (heavy users drawn more often)
to one of their partners (85%) or to anyone in the time bank (15%: a small world), or back
the other way with probability 0.35 (reciprocation). 90% are exchanges, 5% group, 3%
donations, 2% system credits, over three years. ``--lattice`` puts partners on a ring
instead (long chains, no shortcuts): the slow case for the cycle search.

Prints the timings of each mart and a breakdown of the time-bank mart (the network steps:
aggregating to distinct ties in SQL, then dyadic, weighted and generalised reciprocity in
numpy/scipy). ``--verify K`` re-checks K random reciprocated ties of one time bank's whole
network with a plain search. Results are recorded in docs/benchmarks.md (section "Reciprocity and network measures").
"""

from __future__ import annotations

import argparse
import datetime as dt
import tempfile
import time
from pathlib import Path

import duckdb
import numpy as np

from models.mart_writer import write_mart
from models.reciprocity import (
    ReciprocitySettings,
    grant_metrics,
    member_reciprocity,
    timebank_activity,
)
from models.reciprocity.network import CycleStats, circulating_edges


def generate(con: duckdb.DuckDBPyConnection, exchanges: int, members: int, timebanks: int, seed: int = 1,
             structure: str = "smallworld") -> None:
    per_tb = members // timebanks
    con.execute("CREATE SCHEMA IF NOT EXISTS staging")
    con.execute(
        f"""
        CREATE OR REPLACE TABLE staging.timebank_members AS
        WITH m AS (SELECT range AS i, hash(range, {seed}) % 1000 AS r FROM range({per_tb * timebanks}))
        SELECT sha256('m' || i::VARCHAR) AS member_id,
               'TB' || (i // {per_tb})::VARCHAR AS timebank_id,
               CASE WHEN r < 800 THEN sha256('p' || i::VARCHAR) END AS person_id,
               CASE WHEN i % {per_tb} = 0 THEN 'system'
                    WHEN r < 5 THEN 'organisation' WHEN r < 25 THEN 'staff'
                    WHEN r < 125 THEN 'service_user' WHEN r < 185 THEN 'patient' WHEN r < 225 THEN 'prisoner'
                    ELSE 'community' END AS role,
               (DATE '2021-06-01' + (hash(i, {seed} + 1) % 1100)::INTEGER) AS joined_on,
               NULL::DATE AS left_on
        FROM m
        """
    )
    # Giver: a member drawn with a skew (u², then scattered by a hash, so heavy users sit
    # anywhere). Partner: one of the giver's ten usual partners in their neighbourhood of 50
    # (85%), or anyone in the time bank (15%; "small world"). With --lattice the partners
    # are the next 60 members on a ring instead: long chains, the slow case for the search.
    if structure == "lattice":
        partner = f"1 + ((g - 1 + 1 + hash(g, slot, {seed} + 9) % 60) % ({per_tb} - 1))"
    else:
        partner = (
            f"CASE WHEN r_far < 150 THEN 1 + hash(k, {seed} + 10) % ({per_tb} - 1) "
            f"ELSE 1 + least(((g - 1) // 50) * 50 + hash(g, slot, {seed} + 9) % 50, {per_tb} - 2) END"
        )
    con.execute(
        f"""
        CREATE OR REPLACE TABLE staging.timebank_exchanges AS
        WITH draws AS (
            SELECT range AS k,
                   hash(range, {seed} + 2) % {timebanks} AS tb,
                   (hash(range, {seed} + 3) % 1000000) / 1000000.0 AS u,
                   hash(range, {seed} + 4) % 10 AS slot,
                   hash(range, {seed} + 5) % 1000 AS r_dir,
                   hash(range, {seed} + 11) % 1000 AS r_far,
                   hash(range, {seed} + 6) % 100 AS r_kind,
                   hash(range, {seed} + 7) % 1096 AS day,
                   0.5 + (hash(range, {seed} + 8) % 15) * 0.25 AS hours
            FROM range({exchanges})
        ),
        local AS (
            SELECT *, 1 + hash(floor(u * u * ({per_tb} - 1))::BIGINT, {seed} + 12) % ({per_tb} - 1) AS g FROM draws
        ),
        pairs AS (SELECT *, {partner} AS p FROM local),
        ends AS (
            SELECT k, tb, day, hours, r_kind,
                   CASE WHEN r_kind >= 98 THEN 0 ELSE CASE WHEN r_dir < 350 THEN p ELSE g END END AS giver_local,
                   CASE WHEN r_kind BETWEEN 95 AND 96 THEN 0 WHEN r_kind >= 98 THEN g
                        ELSE CASE WHEN r_dir < 350 THEN g ELSE p END END AS receiver_local
            FROM pairs
        )
        SELECT sha256('x' || k::VARCHAR) AS exchange_id,
               'TB' || tb::VARCHAR AS timebank_id,
               sha256('m' || (tb * {per_tb} + giver_local)::VARCHAR) AS giver_id,
               sha256('m' || (tb * {per_tb} + receiver_local)::VARCHAR) AS receiver_id,
               hours,
               (DATE '2022-01-01' + day::INTEGER) AS exchanged_on,
               'cat' || (k % 12)::VARCHAR AS category,
               CASE WHEN r_kind < 90 THEN 'exchange' WHEN r_kind < 95 THEN 'group'
                    WHEN r_kind < 98 THEN 'donation' ELSE 'system_credit' END AS kind
        FROM ends
        WHERE giver_local <> receiver_local
        """
    )
    con.execute(
        """
        CREATE OR REPLACE TABLE staging.grants AS
        SELECT 'G' || i::VARCHAR AS grant_id, 'Funder ' || (i % 2)::VARCHAR AS funder, 'TB' || (i % 4)::VARCHAR AS timebank_id,
               25000.0 + i * 1234.56 AS amount, DATE '2022-01-01' + ((i // 4) * 365)::INTEGER AS period_start,
               DATE '2022-12-31' + ((i // 4) * 365)::INTEGER AS period_end
        FROM range(12) t(i)
        """
    )


def verify_sample(con: duckdb.DuckDBPyConnection, timebank: str, k: int, seed: int = 0) -> tuple[int, int]:
    """Re-check ``k`` random reciprocated ties of one time bank's whole-window network with a
    plain breadth-first search (the definition itself: does v reach u without v→u?).

    Returns (checked, disagreements). One-way ties need no check (SCC membership decides them).
    """
    rows = con.execute(
        """
        SELECT m1.mid AS g, m2.mid AS r FROM (
            SELECT DISTINCT giver_id, receiver_id FROM staging.timebank_exchanges e
            WHERE timebank_id = ? AND kind IN ('exchange', 'group') AND giver_id <> receiver_id
        ) x
        JOIN (SELECT member_id, row_number() OVER () - 1 AS mid, role FROM staging.timebank_members) m1
          ON m1.member_id = x.giver_id
        JOIN (SELECT member_id, row_number() OVER () - 1 AS mid, role FROM staging.timebank_members) m2
          ON m2.member_id = x.receiver_id
        WHERE m1.role NOT IN ('system', 'organisation') AND m2.role NOT IN ('system', 'organisation')
        """,
        [timebank],
    ).fetchnumpy()
    src, dst = np.asarray(rows["g"], dtype=np.int64), np.asarray(rows["r"], dtype=np.int64)
    nodes, inv = np.unique(np.concatenate([src, dst]), return_inverse=True)
    n, src, dst = len(nodes), inv[: len(src)], inv[len(src):]
    got = circulating_edges(n, src, dst)
    adj: dict[int, list[int]] = {}
    for u, v in zip(src.tolist(), dst.tolist()):
        adj.setdefault(u, []).append(v)
    ties = set(zip(src.tolist(), dst.tolist()))
    cand = [i for i, (u, v) in enumerate(zip(src.tolist(), dst.tolist())) if (v, u) in ties]
    rng = np.random.default_rng(seed)
    bad = 0
    for i in rng.choice(cand, size=min(k, len(cand)), replace=False).tolist():
        u, v = int(src[i]), int(dst[i])
        seen, frontier, found = {v}, [v], False
        while frontier and not found:
            nxt = []
            for x in frontier:
                for y in adj.get(x, ()):
                    if (x, y) == (v, u):
                        continue
                    if y == u:
                        found = True
                        break
                    if y not in seen:
                        seen.add(y)
                        nxt.append(y)
                if found:
                    break
            frontier = nxt
        bad += found != bool(got[i])
    return min(k, len(cand)), bad


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--exchanges", type=int, default=10_000_000)
    ap.add_argument("--members", type=int, default=1_000_000)
    ap.add_argument("--timebanks", type=int, default=4)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--memory", action="store_true", help="in-memory DuckDB instead of a temporary file")
    ap.add_argument("--lattice", action="store_true", help="ring-lattice partners (long chains: the slow case)")
    ap.add_argument("--skip-member", action="store_true", help="skip the member mart")
    ap.add_argument("--verify", type=int, default=0, metavar="K",
                    help="re-check K random reciprocated ties of TB0's whole network by plain search")
    args = ap.parse_args(argv)

    tmp = tempfile.TemporaryDirectory(prefix="rc_bench_")
    path = ":memory:" if args.memory else str(Path(tmp.name) / "bench.duckdb")
    con = duckdb.connect(path)
    con.execute(f"SET threads = {args.threads}")
    t0 = time.perf_counter()
    generate(con, args.exchanges, args.members, args.timebanks, structure="lattice" if args.lattice else "smallworld")
    n = con.execute("SELECT count(*) FROM staging.timebank_exchanges").fetchall()[0][0]
    print(f"generated {n:,} exchanges, {args.members:,} members, {args.timebanks} time banks "
          f"in {time.perf_counter() - t0:.1f}s ({path}, threads={args.threads})")

    s = ReciprocitySettings(as_of=dt.date(2024, 12, 31))
    timings: dict[str, float] = {}
    stats = CycleStats()
    t = time.perf_counter()
    tb = timebank_activity(con, s, run_id="bench", timings=timings, cycle_stats=stats)
    total_tb = time.perf_counter() - t
    print(f"timebank_activity: {total_tb:.1f}s for {len(tb)} rows (time banks x quarters + overall)")
    for label, secs in timings.items():
        print(f"    {label:<40} {secs:6.1f}s")
    network = sum(v for k, v in timings.items() if k in ("edges (SQL)", "dyadic, weighted, cycles (numpy/scipy)"))
    print(f"  network measures (edges, dyadic/weighted, cycles): {network:.1f}s; {stats}")
    overall = tb[tb["period_type"] == "overall"]
    print(overall[["timebank_id", "members", "active_members", "hours_exchanged", "two_way_share", "dyadic_reciprocity",
                   "weighted_reciprocity", "generalised_reciprocity", "gini_hours_given", "reciprocity_index"]]
          .to_string(index=False))

    t = time.perf_counter()
    gm = grant_metrics(con, s, run_id="bench")
    print(f"grant_metrics: {time.perf_counter() - t:.1f}s for {len(gm)} grants")
    if not args.skip_member:
        t = time.perf_counter()
        write_mart(con, "marts.member_reciprocity", member_reciprocity(con, s), "bench")
        rows = con.execute("SELECT count(*) FROM marts.member_reciprocity").fetchall()[0][0]
        print(f"member_reciprocity: {time.perf_counter() - t:.1f}s for {rows:,} members")
    if args.verify:
        t = time.perf_counter()
        checked, bad = verify_sample(con, "TB0", args.verify)
        print(f"verify: {checked} reciprocated ties of TB0 re-checked by plain search, {bad} disagreements "
              f"({time.perf_counter() - t:.1f}s)")
    con.close()
    tmp.cleanup()


if __name__ == "__main__":
    main()
