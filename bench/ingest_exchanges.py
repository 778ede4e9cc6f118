"""Benchmark: ingest and validation of a large exchange log against DuckDB's own load time.

``python -m bench.ingest_exchanges --rows 10000000`` writes a synthetic exchange log (and
its members) with DuckDB, then, in the same process and run:
1. the floor: DuckDB alone loads the CSV into a table (``CREATE TABLE AS read_csv``);
2. our ingest of the same file: text load, every contract rule, pseudonymisation,
   duplicate and reference checks against the members, staging and quarantine writes.
Both are timed twice (best of two) and the ratio reported; peak RSS is read from
/proc. Results go to stdout as a Markdown row for docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import resource
import tempfile
import time
from pathlib import Path

import duckdb

from pipelines.ingest.stage import ingest_source

KEY = b"benchmark-key-not-secret-0123456789"


def write_inputs(folder: Path, rows: int, members: int) -> None:
    con = duckdb.connect()
    con.execute(
        f"COPY (SELECT 'M' || lpad(i::VARCHAR, 8, '0') AS member_id, 'TB0' || (i % 4 + 1) AS timebank_id, NULL AS person_id, "
        f"'community' AS role, DATE '2020-01-01' + (i % 1000)::INTEGER AS joined_on, NULL AS left_on FROM range({members}) t(i)) "
        f"TO '{folder}/timebank_members.csv' (HEADER)"
    )
    con.execute(
        f"COPY (SELECT 'X' || lpad(i::VARCHAR, 9, '0') AS exchange_id, 'TB01' AS timebank_id, "
        f"'M' || lpad((hash(i) % {members})::VARCHAR, 8, '0') AS giver_id, "
        f"'M' || lpad((hash(i * 7 + 1) % {members})::VARCHAR, 8, '0') AS receiver_id, "
        f"0.25 * (1 + hash(i * 3) % 12) AS hours, DATE '2021-01-01' + (hash(i * 5) % 1400)::INTEGER AS exchanged_on, "
        f"'befriending' AS category, 'exchange' AS kind FROM range({rows}) t(i)) TO '{folder}/timebank_exchanges.csv' (HEADER)"
    )
    con.close()


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--members", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        t_gen = timed(lambda: write_inputs(folder, args.rows, args.members))
        size_mb = (folder / "timebank_exchanges.csv").stat().st_size / 1e6
        con = duckdb.connect(str(folder / "warehouse.duckdb"))
        as_of = dt.date(2026, 1, 1)
        ingest_source(con, "timebank_members", folder, run_id="bench", as_of=as_of, key=KEY)
        floors, ours = [], []
        for _ in range(args.repeat):
            floors.append(timed(lambda: con.execute(
                f"CREATE OR REPLACE TABLE floor AS SELECT * FROM read_csv('{folder}/timebank_exchanges.csv')")))
            con.execute("DROP TABLE floor")
            report = None

            def ingest():
                nonlocal report
                report = ingest_source(con, "timebank_exchanges", folder, run_id="bench", as_of=as_of, key=KEY)
            ours.append(timed(ingest))
        con.close()
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    floor, best = min(floors), min(ours)
    print(f"generated {args.rows:,} exchanges ({size_mb:.0f} MB CSV) in {t_gen:.1f}s")
    print(f"staged {report.rows_staged:,}, quarantined {report.rows_quarantined:,}")
    print("| rows | CSV MB | DuckDB load floor (s) | our ingest + validation (s) | ratio | peak RSS (MB) |")
    print("|---|---|---|---|---|---|")
    print(f"| {args.rows:,} | {size_mb:.0f} | {floor:.2f} | {best:.2f} | {best / floor:.2f}x | {peak_mb:.0f} |")


if __name__ == "__main__":
    main()
