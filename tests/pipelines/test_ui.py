"""The Dagster UI from its first button: `dg dev -w workspace.yaml`, "Materialize all" on the asset graph, a finished run.

Starts the UI as ``make ui`` does, on a free loopback port, with a throwaway DAGSTER_HOME,
warehouse and output folder and the hand-checkable fixture folder as input, in demo mode.
Drives Debian's chromium through Playwright (no browser download): dismisses the first-visit
dialog, clicks "Materialize all" on the global asset graph and waits for the run to succeed.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from tests.conftest import FIXTURES

ROOT = Path(__file__).resolve().parents[2]
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def ui(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    port = free_port()
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("OUTCOMES_")}, "DAGSTER_HOME": str(home),
           "OUTCOMES_DEMO": "1", "OUTCOMES_INPUT_DIR": str(FIXTURES / "valid"),
           "OUTCOMES_WAREHOUSE": str(tmp_path / "w.duckdb"), "OUTCOMES_OUTPUT_DIR": str(tmp_path / "site")}
    log = open(tmp_path / "ui.log", "w")
    # through pipelines.memory, as `make ui`: the run the UI launches inherits the numpy and malloc settings
    proc = subprocess.Popen([sys.executable, "-m", "pipelines.memory", str(ROOT / ".venv" / "bin" / "dg"), "dev",
                             "-w", "workspace.yaml", "-p", str(port), "-h", "127.0.0.1"], cwd=ROOT, env=env, stdout=log,
                            stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 240
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/server_info", timeout=2)
                break
            except OSError:
                assert proc.poll() is None and time.monotonic() < deadline, (tmp_path / "ui.log").read_text()[-3000:]
                time.sleep(1)
        yield f"http://127.0.0.1:{port}", home, tmp_path
    finally:
        os.killpg(proc.pid, signal.SIGINT)
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        log.close()


@pytest.mark.browser
def test_materialize_all_on_the_asset_graph_runs_everything(ui):
    from playwright.sync_api import sync_playwright

    url, home, tmp_path = ui
    startup = (tmp_path / "ui.log").read_text()
    assert "SupersessionWarning" not in startup and "BetaWarning" not in startup, startup
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=shutil.which("chromium") or "/usr/bin/chromium", args=ARGS,
                                    headless=True)
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        page.goto(f"{url}/asset-groups")
        materialize = page.get_by_role("button", name=re.compile(r"Materialize all"))
        materialize.wait_for(timeout=120_000)
        # A new DAGSTER_HOME shows the first-visit "Join the Dagster community" dialog over the page.
        page.get_by_role("button", name="Skip").click(timeout=60_000)
        assert "…" not in materialize.inner_text()  # no partitioned asset, so no backfill dialog
        materialize.click()
        page.get_by_text(re.compile(r"Launched run|View run")).first.wait_for(timeout=120_000)
        browser.close()

    with dg.DagsterInstance.from_config(str(home)) as instance:
        deadline = time.monotonic() + 480
        while True:
            [run] = instance.get_runs(limit=1) or [None]
            if run is not None and run.is_finished:
                break
            assert time.monotonic() < deadline, "the run did not finish in 8 minutes"
            time.sleep(2)
        assert run.status == dg.DagsterRunStatus.SUCCESS, (tmp_path / "ui.log").read_text()[-3000:]
        assert run.job_name == "__ASSET_JOB"
    assert (tmp_path / "site" / "index.html").exists()
    with duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM staging.persons").fetchone()[0] > 0


# ------------------------------------------------------------------ what the UI shows, without a browser

def test_every_asset_has_an_owner_and_every_job_a_description():
    from pipelines.definitions import defs
    from pipelines.quarterly_definitions import defs as quarterly_defs

    for location in (defs, quarterly_defs):
        specs = [s for s in location.resolve_all_asset_specs() if s.key in location.resolve_asset_graph().executable_asset_keys]
        assert specs and all(s.owners for s in specs), [s.key for s in specs if not s.owners]
        for job in location.jobs:
            assert len(location.resolve_job_def(job.name).description or "") > 40, job.name


def test_headline_effect_marts_have_a_check():
    from pipelines.definitions import defs

    keys = defs.resolve_asset_graph().asset_check_keys
    for mart in ("readmission_effects", "reoffending_effects", "wellbeing_effects"):
        assert dg.AssetCheckKey(dg.AssetKey(["marts", mart]), "estimates_complete") in keys


def test_headline_check_counts_incomplete_estimates(tmp_path):
    from pipelines.assets.headline_checks import HEADLINE_MARTS, headline_check

    wellbeing = next(c for c in HEADLINE_MARTS if c.table == "marts.wellbeing_effects")
    check = headline_check(wellbeing)
    with duckdb.connect(str(tmp_path / "w.duckdb")) as con:
        con.execute("CREATE SCHEMA marts")
        con.execute("CREATE TABLE marts.wellbeing_effects (status TEXT, estimate DOUBLE, ci_low DOUBLE, ci_high DOUBLE, "
                    "verdict TEXT, n_matched INTEGER)")
        con.execute("INSERT INTO marts.wellbeing_effects VALUES ('estimated', 1.0, 0.5, 1.5, 'increase', 10), "
                    "('not estimated', NULL, NULL, NULL, NULL, NULL)")
        assert check.evaluate(con).passed
        con.execute("INSERT INTO marts.wellbeing_effects VALUES ('estimated', 2.0, 0.5, 1.5, 'increase', 10), "
                    "('estimated', 1.0, 0.5, 1.5, NULL, 10)")
        result = check.evaluate(con)
        assert not result.passed and result.metadata["incomplete_rows"].value == 2
        assert result.metadata["estimated_rows"].value == 3
        assert result.asset_key == dg.AssetKey(["marts", "wellbeing_effects"])
        con.execute("ALTER TABLE marts.wellbeing_effects DROP COLUMN verdict")
        result = check.evaluate(con)
        assert not result.passed and result.metadata["missing_columns"].value == "verdict"
