"""Benchmark: the whole pipeline, headless, at several sizes, against DuckDB's load floor.

    python -m bench.pipeline --persons 10000 30000 100000 [--seed 11] [--format csv] [--ingest-only] [--workdir DIR]

For each size, in one process and one run: generate the synthetic inputs
(``data.generate``), time DuckDB alone loading every raw file into a table (the floor),
then run ``python -m pipelines.run`` (every asset, dashboards included) in a child process
with its own warehouse, output folder and DAGSTER_HOME, and with the memory settings the run
itself would set (``pipelines.memory``; a value already in the environment wins). Reports wall time per stage (the
asset groups: summed step durations from the run's own event log), total run time, the
child's peak resident memory (ru_maxrss, DuckDB included: it runs in-process) and CPU seconds
(user + system, every thread: a busy machine stretches the wall time more than this), the ingest
time over the floor, and rows read. Prints one Markdown table for docs/benchmarks.md.

The parent also samples the child's resident memory (``VmRSS`` in ``/proc/<pid>/status``)
every 0.2 s, so each step's line in ``steps_<persons>.tsv`` carries the most memory the
process held while that step ran: it says which step sets the run's peak. Memory is given
in GB of 2^30 bytes (GiB) throughout, as ``ru_maxrss`` has always been reported here.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path

import duckdb

from pipelines import memory as process_memory

REPO = Path(__file__).resolve().parents[1]
#: The child's last lines: its peak resident memory (KiB) and the CPU seconds of all its threads
#: (user + system; DuckDB's threads included), which a busy machine changes less than wall time.
REPORT = ("import resource; _r = resource.getrusage(resource.RUSAGE_SELF); "
          "print('PEAK_RSS_KB', _r.ru_maxrss); print('CPU_S', _r.ru_utime + _r.ru_stime)")
CHILD = "import sys; from pipelines.run import main; rc = main()\n" + REPORT + "\nsys.exit(rc)"
# --ingest-only: the ingest group alone (its 11 steps and their checks), in the same kind of run.
# The definitions' own resources: the warehouse reads the run's settings file (OUTCOMES_CONFIG) through them.
CHILD_INGEST = ("import sys, dagster as dg; from pipelines.definitions import defs; from pipelines.run import _instance\n"
                "with _instance() as instance:\n"
                "    result = dg.materialize([*defs.assets, *(defs.asset_checks or ())], selection=dg.AssetSelection.groups('ingest'), instance=instance, "
                "resources=defs.resources, raise_on_error=False)\n"
                + REPORT + "\nsys.exit(0 if result.success else 1)")


def load_floor(folder: Path) -> tuple[float, int]:
    """Seconds for DuckDB alone to load every input file into a table, and the rows loaded."""
    con = duckdb.connect(str(folder.parent / "floor.duckdb"))
    start, rows = time.perf_counter(), 0
    for i, path in enumerate(sorted(folder.iterdir())):
        reader = {".csv": "read_csv", ".parquet": "read_parquet"}.get(path.suffix)
        if reader:
            con.execute(f"CREATE TABLE t{i} AS SELECT * FROM {reader}('{path}')")
            rows += con.execute(f"SELECT count(*) FROM t{i}").fetchone()[0]
    seconds = time.perf_counter() - start
    con.close()
    (folder.parent / "floor.duckdb").unlink()
    return seconds, rows


def reported(stdout: str) -> tuple[int, float]:
    """(peak resident memory in KiB, CPU seconds) from the lines :data:`REPORT` printed; 0 and NaN when absent."""
    lines = dict(line.split(maxsplit=1) for line in stdout.splitlines() if line.startswith(("PEAK_RSS_KB ", "CPU_S ")))
    return int(lines.get("PEAK_RSS_KB", 0)), float(lines.get("CPU_S", "nan"))


class MemorySampler:
    """The resident memory of a process, sampled every ``interval`` seconds from ``/proc`` in a thread."""

    def __init__(self, pid: int, interval: float = 0.2):
        self.pid, self.interval, self.samples = pid, interval, []  # (epoch seconds, bytes)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        status = Path(f"/proc/{self.pid}/status")
        while not self._stop.is_set():
            try:
                kb = next(int(line.split()[1]) for line in status.read_text().splitlines() if line.startswith("VmRSS:"))
            except (OSError, StopIteration):
                break  # the process has exited
            self.samples.append((time.time(), kb * 1024))
            self._stop.wait(self.interval)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def peak_between(self, start: float, end: float) -> float:
        """Most bytes sampled from ``start`` to ``end`` (epoch seconds); NaN when none was taken."""
        return max((b for t, b in self.samples if start <= t <= end), default=float("nan"))


def stage_times(dagster_home: Path, steps_file: Path | None = None, memory: MemorySampler | None = None) -> dict[str, float]:
    """Summed step durations per asset group (checks count with their asset) of the latest run.

    With ``steps_file``, also writes every step's key, duration and (with ``memory``) the most
    resident memory sampled while it ran, in GB of 2^30 bytes, there (tab-separated).
    """
    import dagster as dg

    from pipelines.definitions import defs

    graph = defs.resolve_asset_graph()
    groups = {"__".join(k.path): graph.get(k).group_name for k in graph.get_all_asset_keys()}
    for assets in defs.assets or ():  # multi-assets run as one step named after their op
        if isinstance(assets, dg.AssetsDefinition) and len(assets.keys) > 1:
            groups[assets.op.name] = graph.get(next(iter(assets.keys))).group_name
    os.environ["DAGSTER_HOME"] = str(dagster_home)
    totals: dict[str, float] = defaultdict(float)
    with dg.DagsterInstance.get() as instance:
        run = instance.get_runs(limit=1)[0]
        stats = instance.get_run_step_stats(run.run_id)
        if steps_file is not None:
            peak = (lambda s: memory.peak_between(s.start_time or 0, s.end_time or 0) / 1024 ** 3) if memory else (lambda s: float("nan"))
            steps_file.write_text("".join(f"{s.step_key}\t{(s.end_time or 0) - (s.start_time or 0):.2f}\t{peak(s):.2f}\n" for s in stats))
        for step in stats:
            owner = max((k for k in groups if step.step_key == k or step.step_key.startswith(k + "_")), key=len, default=None)
            totals[groups.get(owner, "other")] += (step.end_time or 0) - (step.start_time or 0)
    return dict(totals)


def run_size(persons: int, seed: int, fmt: str, tmp: Path, ingest_only: bool = False) -> dict:
    inputs = tmp / f"in_{persons}"
    started = time.perf_counter()
    if not inputs.exists():  # a --workdir keeps the inputs of an earlier run for the next
        subprocess.run([sys.executable, "-m", "data.generate", "--persons", str(persons), "--seed", str(seed),
                        "--out", str(inputs), "--format", fmt], cwd=REPO, check=True, stdout=subprocess.DEVNULL)
    generate = time.perf_counter() - started
    floor, rows = load_floor(inputs)
    home = tmp / f"home_{persons}"
    shutil.rmtree(home, ignore_errors=True)
    for stale in (f"w_{persons}.duckdb", f"w_{persons}.duckdb.wal"):  # a killed run leaves its write-ahead log
        (tmp / stale).unlink(missing_ok=True)
    home.mkdir()
    (home / "dagster.yaml").write_text("")
    env = {**process_memory.environment(os.environ), "OUTCOMES_DEMO": "1", "OUTCOMES_INPUT_DIR": str(inputs), "DAGSTER_HOME": str(home),
           "OUTCOMES_WAREHOUSE": str(tmp / f"w_{persons}.duckdb"), "OUTCOMES_OUTPUT_DIR": str(tmp / f"site_{persons}")}
    started = time.perf_counter()
    child = subprocess.Popen([sys.executable, "-c", CHILD_INGEST if ingest_only else CHILD], cwd=REPO, env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    memory = MemorySampler(child.pid)
    stdout, stderr = child.communicate()
    memory.stop()
    total = time.perf_counter() - started
    peak, cpu = reported(stdout)
    if child.returncode != 0:
        print(stdout[-3000:], stderr[-3000:], file=sys.stderr)
    stages = stage_times(home, tmp / f"steps_{persons}.tsv", memory)
    return {"persons": persons, "rows": rows, "generate_s": generate, "floor_s": floor, "total_s": total,
            "peak_gb": peak / 1024 ** 2, "cpu_s": cpu, "stages": stages, "ok": child.returncode == 0}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--persons", type=int, nargs="+", default=[10_000, 30_000, 100_000])
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--format", choices=("csv", "parquet"), default="csv")
    parser.add_argument("--ingest-only", action="store_true", help="run the ingest group alone (no models, no pages)")
    parser.add_argument("--workdir", type=Path, help="keep inputs, warehouse and per-step times (steps_<persons>.tsv) here")
    args = parser.parse_args()
    results = []
    with tempfile.TemporaryDirectory() as scratch:
        tmp = args.workdir or Path(scratch)
        tmp.mkdir(parents=True, exist_ok=True)
        for persons in args.persons:
            results.append(run_size(persons, args.seed, args.format, tmp, args.ingest_only))
            r = results[-1]
            print(f"{persons:>9} persons: {r['rows']:,} rows, run {r['total_s']:.1f} s, CPU {r['cpu_s']:.1f} s, peak {r['peak_gb']:.2f} GB, "
                  f"{'ok' if r['ok'] else 'FAILED'}", file=sys.stderr, flush=True)
    stages = sorted({s for r in results for s in r["stages"]})
    head = ["persons", "input rows", "DuckDB load floor (s)", "ingest (s)", "ingest / floor", *[f"{s} (s)" for s in stages if s != "ingest"],
            "whole run (s)", "CPU (s)", "peak RSS (GB)", "ok"]
    print("| " + " | ".join(head) + " |\n|" + "---|" * len(head))
    for r in results:
        ingest = r["stages"].get("ingest", float("nan"))
        cells = [f"{r['persons']:,}", f"{r['rows']:,}", f"{r['floor_s']:.1f}", f"{ingest:.1f}", f"{ingest / r['floor_s']:.1f}x",
                 *[f"{r['stages'].get(s, 0):.1f}" for s in stages if s != "ingest"],
                 f"{r['total_s']:.1f}", f"{r['cpu_s']:.1f}", f"{r['peak_gb']:.2f}", "yes" if r["ok"] else "NO"]
        print("| " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
