"""Benchmark: ingest of every source of an input folder, in one process, against DuckDB's load floor.

    python -m bench.ingest_sources --persons 1000000 [--seed 11] [--inputs DIR] [--memory-limit 4GB]

Generates the synthetic inputs (``data.generate``; or reuses ``--inputs``), then in the same
process and run times (a) the floor: DuckDB alone loading every raw file into a table, and
(b) ``ingest_source`` for every source in reference order (text load, every contract rule,
pseudonyms, table and reference rules, staging and quarantine writes), on a fresh warehouse
file opened with the given DuckDB ``memory_limit``. Without Dagster, so the per-step cost of
opening the warehouse is not counted (``bench.pipeline`` counts it). Prints seconds per source,
the ratio to the floor and the peak resident memory of the process (ru_maxrss).
"""

from __future__ import annotations

import argparse
import datetime as dt
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb

from bench.pipeline import REPO, load_floor
from pipelines.ingest.stage import ingest_source
from schemas.contract import contract
from schemas.raw import SOURCES

KEY = b"benchmark-key-not-secret-0123456789"


def reference_order() -> list[str]:
    """Sources so that each comes after the sources its references point to."""
    done: list[str] = []
    def visit(source: str) -> None:
        if source in done:
            return
        for target in contract(source).references.values():
            visit(target.split(".")[0])
        done.append(source)
    for source in SOURCES:
        visit(source)
    return done


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--persons", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--inputs", type=Path, help="reuse this input folder instead of generating one")
    parser.add_argument("--memory-limit", default=None, help="DuckDB memory_limit for the ingest (default: DuckDB's)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        inputs = args.inputs or Path(tmp) / "in"
        if not args.inputs:
            subprocess.run([sys.executable, "-m", "data.generate", "--persons", str(args.persons), "--seed", str(args.seed),
                            "--out", str(inputs), "--quiet"], cwd=REPO, check=True)
        floor, rows = load_floor(inputs)
        con = duckdb.connect(str(Path(tmp) / "warehouse.duckdb"))
        if args.memory_limit:
            con.execute(f"SET memory_limit = '{args.memory_limit}'")
        times, staged, quarantined = {}, 0, 0
        for source in reference_order():
            start = time.perf_counter()
            report = ingest_source(con, source, inputs, run_id="bench", as_of=dt.date(2026, 1, 1), key=KEY)
            times[source] = time.perf_counter() - start
            staged, quarantined = staged + report.rows_staged, quarantined + report.rows_quarantined
            assert report.rows_read == report.rows_staged + report.rows_quarantined, source
        con.close()
    peak_gb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 ** 2
    total = sum(times.values())
    for source, seconds in sorted(times.items(), key=lambda kv: -kv[1]):
        print(f"{source:>28} {seconds:7.2f} s")
    print(f"rows {rows:,}: staged {staged:,}, quarantined {quarantined:,}")
    print("| input rows | DuckDB load floor (s) | ingest, all sources (s) | ratio | peak RSS (GB) | memory_limit |")
    print("|---|---|---|---|---|---|")
    print(f"| {rows:,} | {floor:.1f} | {total:.1f} | {total / floor:.1f}x | {peak_gb:.2f} | {args.memory_limit or 'default'} |")


if __name__ == "__main__":
    main()
