"""Reliability figures for docs/reliability.md: ``python -m bench.reliability [--runs]``.

Runs every case of the bad-input corpus (tests/hardening/corpus.py) against a fresh
warehouse file and counts how each ended, the rows read, staged and quarantined, and the
rows lost (read but neither staged nor quarantined; must be 0). With ``--runs`` it also
runs the whole pipeline on small generated inputs (300 persons, seed 3): once
uninterrupted while a reader polls the warehouse, once killed with SIGKILL mid-ingest and rerun, and compares the two
warehouses table by table (run ids and timestamps left out). Prints Markdown.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from collections import Counter
from pathlib import Path

import duckdb

from tests.conftest import FIXTURES
from tests.hardening.corpus import CASES, run_case
from tests.hardening.runs import (
    environment,
    generate_inputs,
    run_and_kill,
    run_pipeline,
    run_pipeline_with_reader,
    snapshot,
)


def corpus_figures() -> dict:
    ended, groups = Counter(), Counter()
    read = staged = quarantined = lost = unexpected = 0
    started = time.perf_counter()
    for case in CASES:
        with tempfile.TemporaryDirectory(prefix="reliability-") as tmp:
            folder = Path(tmp) / "inputs"
            shutil.copytree(FIXTURES / "valid", folder)
            with duckdb.connect(str(Path(tmp) / "w.duckdb")) as con:
                outcome = run_case(case, folder, con)
        groups[case.group] += 1
        for report in outcome.reports.values():
            read += report.rows_read
            staged += report.rows_staged
            quarantined += report.rows_quarantined
            lost += report.rows_read - report.rows_staged - report.rows_quarantined
        if case.source in outcome.errors:
            ended["error naming file, line, column and rule"] += 1
            unexpected += case.error is None or outcome.errors[case.source].rule != case.error[0]
        elif outcome.reports[case.source].rows_quarantined:
            ended["rows quarantined with their reason"] += 1
            unexpected += case.error is not None
        elif outcome.reports[case.source].cleared:
            ended["values cleared, their rows staged (an optional covariate's bad value)"] += 1
            unexpected += case.error is not None or bool(case.quarantined)
        else:
            ended["accepted whole (a form the contract reads)"] += 1
            unexpected += case.error is not None or bool(case.quarantined)
        unexpected += len(outcome.errors.keys() - {case.source})
    return {"cases": len(CASES), "ended": ended, "groups": groups, "read": read, "staged": staged, "quarantined": quarantined,
            "lost": lost, "unexpected": unexpected, "seconds": time.perf_counter() - started}


def run_figures() -> dict:
    with tempfile.TemporaryDirectory(prefix="reliability-runs-") as tmp:
        root = Path(tmp)
        generate_inputs(root / "inputs")
        started = time.perf_counter()
        clean, reader = run_pipeline_with_reader(environment(root / "inputs", root / "a.duckdb", root / "out_a", root / "dh_a"),
                                                 root / "a.duckdb")
        seconds = time.perf_counter() - started
        env_b = environment(root / "inputs", root / "b.duckdb", root / "out_b", root / "dh_b")
        killed = run_and_kill(env_b)
        rerun = run_pipeline(env_b)
        exact_a, exact_b = snapshot(root / "a.duckdb"), snapshot(root / "b.duckdb")
        close_a, close_b = snapshot(root / "a.duckdb", digits=12), snapshot(root / "b.duckdb", digits=12)
    return {
        "ok": clean.returncode == 0 and rerun.returncode == 0, "killed": killed.returncode == -9, "seconds": seconds,
        "tables": len(exact_a), "rows": sum(len(r) for r in exact_a.values()),
        "bit_identical": sum(exact_a[t] == exact_b.get(t) for t in exact_a),
        "not_bit_identical": sorted(t for t in exact_a if exact_a[t] != exact_b.get(t)),
        "identical_12": sum(close_a[t] == close_b.get(t) for t in close_a),
        "reader": reader,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", action="store_true", help="also run the whole pipeline: clean, killed and rerun")
    args = parser.parse_args()
    c = corpus_figures()
    print("| figure | value |\n|---|---|")
    print(f"| bad-input cases tried | {c['cases']} ({', '.join(f'{g} {n}' for g, n in c['groups'].items())}) |")
    for how, n in c["ended"].items():
        print(f"| ... ended as {how} | {n} |")
    print(f"| cases ending otherwise than the corpus expects | {c['unexpected']} |")
    print(f"| rows read / staged / quarantined (all sources of all cases) | {c['read']} / {c['staged']} / {c['quarantined']} |")
    print(f"| rows lost (read, neither staged nor quarantined) | {c['lost']} |")
    print(f"| corpus time | {c['seconds']:.1f} s |")
    if args.runs:
        r = run_figures()
        print(f"| whole runs succeeded (clean, rerun after kill) | {'yes' if r['ok'] else 'NO'} |")
        print(f"| crashes (SIGKILL mid-ingest) recovered by a rerun | {1 if r['killed'] and r['ok'] and r['identical_12'] == r['tables'] else 0} of 1 |")
        print(f"| tables compared (staging, quarantine, core, marts) / rows | {r['tables']} / {r['rows']} |")
        print(f"| tables identical after the rerun (floats to 12 significant digits) | {r['identical_12']} of {r['tables']} |")
        print(f"| tables identical bit for bit | {r['bit_identical']} of {r['tables']} "
              f"({', '.join(r['not_bit_identical']) or 'all'}{' differ in the last bits of a float' if r['not_bit_identical'] else ''}) |")
        reader = r["reader"]
        print(f"| reader polls during the clean run: whole data / busy message / torn or other | "
              f"{reader.opened} / {reader.busy} / {len(reader.torn) + len(reader.other)} |")
        print(f"| one whole run (with the reader polling) | {r['seconds']:.0f} s |")


if __name__ == "__main__":
    main()
