"""A reader opening the warehouse while another process writes gets the data or a clear "busy" message, never a hang or a torn table."""

from __future__ import annotations

import subprocess
import sys
import time

import duckdb
import pytest

from pipelines.resources import Warehouse, WarehouseBusyError, read_warehouse

WRITER = """
import sys, time, duckdb
con = duckdb.connect(sys.argv[1])
con.execute("BEGIN TRANSACTION")
con.execute("CREATE OR REPLACE TABLE t AS SELECT range AS i FROM range(100000)")
print("writing", flush=True)
time.sleep(float(sys.argv[2]))
con.execute("COMMIT")
con.close()
"""


def start_writer(path, hold_seconds: float) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(path), str(hold_seconds)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "writing"
    return proc


@pytest.fixture
def warehouse_file(tmp_path):
    path = tmp_path / "w.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute("CREATE TABLE t AS SELECT 1 AS i")
    return path


def test_a_reader_gets_a_clear_busy_message_while_a_run_writes(warehouse_file):
    writer = start_writer(warehouse_file, hold_seconds=30)
    try:
        started = time.monotonic()
        busy = r"warehouse busy: a run is writing to .*w\.duckdb \(process \d+\); waited 0\.5 s; try again"
        with pytest.raises(WarehouseBusyError, match=busy), read_warehouse(warehouse_file, wait_seconds=0.5):
            pass
        assert time.monotonic() - started < 5, "the reader must not hang"
        # A bare DuckDB connection fails too, just less clearly: the helper is what readers should use.
        with pytest.raises(duckdb.IOException, match="lock"):
            duckdb.connect(str(warehouse_file), read_only=True)
    finally:
        writer.kill()
        writer.wait()


def test_a_reader_waits_for_a_short_write_and_sees_it_whole(warehouse_file):
    writer = start_writer(warehouse_file, hold_seconds=1.0)
    try:
        with Warehouse(path=str(warehouse_file)).read(wait_seconds=30) as con:
            assert con.execute("SELECT count(*), sum(i) FROM t").fetchone() == (100000, 99999 * 100000 // 2)
    finally:
        writer.wait(timeout=30)
    assert writer.returncode == 0


def test_a_writer_killed_mid_transaction_leaves_the_previous_table(warehouse_file):
    writer = start_writer(warehouse_file, hold_seconds=30)
    writer.kill()
    writer.wait()
    with read_warehouse(warehouse_file, wait_seconds=5) as con:
        assert con.execute("SELECT count(*), sum(i) FROM t").fetchone() == (1, 1)


def test_a_step_waits_for_a_reader_rather_than_failing(warehouse_file):
    reader = subprocess.Popen(
        [sys.executable, "-c", f"import duckdb, time; c = duckdb.connect({str(warehouse_file)!r}, read_only=True); print('open', flush=True); time.sleep(1.5)"],
        stdout=subprocess.PIPE, text=True)
    assert reader.stdout.readline().strip() == "open"
    started = time.monotonic()
    with Warehouse(path=str(warehouse_file), wait_seconds=30).connect() as con:
        con.execute("INSERT INTO t VALUES (2)")
    assert time.monotonic() - started >= 0.5
    reader.wait(timeout=30)
    with pytest.raises(WarehouseBusyError, match="warehouse busy: another process"):
        holder = start_writer(warehouse_file, hold_seconds=30)
        try:
            with Warehouse(path=str(warehouse_file), wait_seconds=0.3).connect():
                pass
        finally:
            holder.kill()
            holder.wait()
