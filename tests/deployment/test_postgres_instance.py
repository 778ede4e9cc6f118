"""The team profile for real: a local PostgreSQL server holds the Dagster instance, the
headless pipeline runs against it, and the run and its events are read back from PostgreSQL.

The server is Debian's (``make postgres`` installs it when absent). It refuses to run as
root, so as root the cluster is created and started as the ``postgres`` user in its own
temporary folder, on a free port, with a random password; the test stops and removes it.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

import dagster as dg
import psycopg2
import pytest

from pipelines.definitions import defs

REPO = Path(__file__).resolve().parents[2]
TEMPLATE = REPO / "deploy" / "dagster.postgres.yaml"
FIXTURE = REPO / "tests" / "fixtures" / "valid"


def _pg_bindir() -> Path | None:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"), key=lambda p: int(p.parts[-3]))
    return found[-1].parent if found else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def postgres():
    bindir = _pg_bindir()
    if bindir is None:
        if os.environ.get("CI"):
            pytest.fail("no PostgreSQL server under /usr/lib/postgresql: `make test` runs `make postgres` first")
        pytest.skip("no PostgreSQL server under /usr/lib/postgresql: run `make postgres`")
    as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    base = Path(tempfile.mkdtemp(prefix="outcomes-pg-"))
    password = secrets.token_hex(12)
    (base / "pwfile").write_text(password + "\n")
    if as_user:
        shutil.chown(base, "postgres")
        shutil.chown(base / "pwfile", "postgres")
    data, port = base / "data", _free_port()

    def pg(*args: str) -> None:
        subprocess.run([*as_user, *args], cwd=base, check=True, capture_output=True, timeout=120)

    try:
        pg(str(bindir / "initdb"), "-D", str(data), "-U", "dagster", f"--pwfile={base / 'pwfile'}",
           "-A", "scram-sha-256", "-E", "UTF8", "--no-instructions")
        pg(str(bindir / "pg_ctl"), "-D", str(data), "-l", str(base / "server.log"), "-w", "-t", "60",
           "-o", f"-p {port} -k {base} -c listen_addresses=127.0.0.1", "start")
    except subprocess.CalledProcessError as err:
        log = base / "server.log"
        detail = err.stderr.decode() + (log.read_text() if log.exists() else "")
        shutil.rmtree(base, ignore_errors=True)
        raise RuntimeError(f"could not start PostgreSQL: {detail}") from err
    try:
        params = {"host": "127.0.0.1", "port": port, "user": "dagster", "password": password}
        con = psycopg2.connect(dbname="postgres", **params)
        con.autocommit = True
        with con.cursor() as cur:
            cur.execute("CREATE DATABASE outcomes_dagster")
        con.close()
        yield {**params, "dbname": "outcomes_dagster"}
    finally:
        pg(str(bindir / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop")
        shutil.rmtree(base)


def test_pipeline_runs_on_a_postgres_instance(postgres, tmp_path, monkeypatch):
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(TEMPLATE, home / "dagster.yaml")
    pg_env = {"PGHOST": postgres["host"], "PGPORT": str(postgres["port"]), "PGUSER": postgres["user"],
              "PGPASSWORD": postgres["password"], "PGDATABASE": postgres["dbname"]}
    env = {k: v for k, v in os.environ.items() if k not in ("OUTCOMES_PSEUDONYM_KEY", "OUTCOMES_CONFIG")}
    env.update(pg_env, DAGSTER_HOME=str(home), OUTCOMES_DEMO="1", OUTCOMES_INPUT_DIR=str(FIXTURE),
               OUTCOMES_WAREHOUSE=str(tmp_path / "warehouse.duckdb"), OUTCOMES_OUTPUT_DIR=str(tmp_path / "site"))

    proc = subprocess.run([sys.executable, "-m", "pipelines.run"], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    run_id = re.search(r"^Run (\S+): succeeded$", proc.stdout, re.M).group(1)

    job = defs.resolve_job_def("all_assets_job")  # every asset but the quarterly partitions (their own job)
    expected = {key.to_string() for key in job.asset_layer.executable_asset_keys}
    with psycopg2.connect(**postgres) as con, con.cursor() as cur:
        cur.execute("SELECT pipeline_name, status FROM runs WHERE run_id = %s", [run_id])
        assert cur.fetchall() == [("all_assets_job", "SUCCESS")]
        cur.execute("SELECT DISTINCT asset_key FROM event_logs WHERE run_id = %s AND dagster_event_type = %s",
                    [run_id, "ASSET_MATERIALIZATION"])
        assert {row[0] for row in cur.fetchall()} == expected
        cur.execute("SELECT count(*) FROM event_logs WHERE run_id = %s AND dagster_event_type = %s",
                    [run_id, "ASSET_CHECK_EVALUATION"])
        assert cur.fetchone()[0] > 0
        cur.execute("SELECT concurrency_key, count(*) FROM concurrency_slots GROUP BY concurrency_key")
        assert cur.fetchall() == [("warehouse", 1)]  # the pool limit of the template, held in PostgreSQL
    assert not (home / "history").exists()  # nothing fell back to the SQLite run storage

    # What the webserver and daemon would see: an instance loaded from the same DAGSTER_HOME.
    for name, value in pg_env.items():
        monkeypatch.setenv(name, value)
    with dg.DagsterInstance.from_config(str(home)) as instance:
        assert type(instance.run_storage).__name__ == "PostgresRunStorage"
        assert instance.get_run_by_id(run_id).status == dg.DagsterRunStatus.SUCCESS
        persons = instance.get_latest_materialization_event(dg.AssetKey(["staging", "persons"]))
        assert persons.run_id == run_id
        rows = len((FIXTURE / "persons.csv").read_text().splitlines()) - 1
        assert persons.asset_materialization.metadata["rows_read"].value == rows
