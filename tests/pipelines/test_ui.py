"""The Dagster UI from its first button: `dg dev -w workspace.yaml`, "Materialize all" on the asset graph, a finished run.

Starts the UI as ``make ui`` does, on a free loopback port, with a throwaway DAGSTER_HOME,
warehouse and output folder and the hand-checkable fixture folder as input, in demo mode.
Drives Debian's chromium through Playwright (no browser download): finds no first-visit dialog over the
page, clicks "Materialize all" on the global asset graph and waits for the run to succeed.
"""

from __future__ import annotations

import datetime
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from pipelines.run import DAGSTER_YAML
from tests.conftest import FIXTURES

ROOT = Path(__file__).resolve().parents[2]
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def dagster_ui(tmp_path: Path, workspace: str, **env: str):
    """``dg dev -w <workspace>`` as ``make ui`` starts it, on a free loopback port, with a throwaway DAGSTER_HOME,
    warehouse and output folder; yields (url, DAGSTER_HOME, tmp_path)."""
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    (home / "dagster.yaml").write_text(DAGSTER_YAML)  # as `make ui`'s setup writes it
    port = free_port()
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("OUTCOMES_")}, "DAGSTER_HOME": str(home),
           "OUTCOMES_DEMO": "1", "OUTCOMES_INPUT_DIR": str(FIXTURES / "valid"),
           "OUTCOMES_WAREHOUSE": str(tmp_path / "w.duckdb"), "OUTCOMES_OUTPUT_DIR": str(tmp_path / "site"), **env}
    log = open(tmp_path / "ui.log", "w")
    # through pipelines.memory, as `make ui`: the run the UI launches inherits the numpy and malloc settings
    proc = subprocess.Popen([sys.executable, "-m", "pipelines.memory", str(ROOT / ".venv" / "bin" / "dg"), "dev",
                             "-w", workspace, "-p", str(port), "-h", "127.0.0.1"], cwd=ROOT, env=env, stdout=log,
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


@pytest.fixture
def ui(tmp_path):
    with dagster_ui(tmp_path, "workspace.yaml") as started:
        yield started


def finished_run(home: Path, tmp_path: Path, minutes: int = 8) -> dg.DagsterRun:
    """The instance's latest run once it has finished."""
    with dg.DagsterInstance.from_config(str(home)) as instance:
        deadline = time.monotonic() + minutes * 60
        while True:
            [run] = instance.get_runs(limit=1) or [None]
            if run is not None and run.is_finished:
                return run
            assert time.monotonic() < deadline, f"no run finished in {minutes} minutes: " + \
                (tmp_path / "ui.log").read_text()[-3000:]
            time.sleep(2)


def failed_checks(home: Path, run_id: str) -> list[tuple[str, str, str]]:
    """(asset, check, severity) of each check evaluation of the run that did not pass."""
    with dg.DagsterInstance.from_config(str(home)) as instance:
        records = instance.get_records_for_run(run_id, of_type={dg.DagsterEventType.ASSET_CHECK_EVALUATION}).records
        evaluations = [r.event_log_entry.dagster_event.event_specific_data for r in records]
        assert evaluations, "the run evaluated no check"
        return [(e.asset_key.to_user_string(), e.check_name, e.severity.value) for e in evaluations if not e.passed]


def open_graph(p, url: str):
    browser = p.chromium.launch(executable_path=shutil.which("chromium") or "/usr/bin/chromium", args=ARGS,
                                headless=True)
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    page.goto(f"{url}/asset-groups")
    materialize = page.get_by_role("button", name=re.compile(r"Materialize all"))
    materialize.wait_for(timeout=120_000)
    # Before, a new DAGSTER_HOME showed Dagster's first-visit dialog ("Join the Dagster community", an e-mail address
    # for its newsletter) over the graph and this button, about a second after the button; the settings turn it off
    page.wait_for_timeout(5_000)
    assert page.get_by_role("dialog").count() == 0, page.get_by_role("dialog").first.inner_text()
    return browser, page, materialize


@pytest.mark.browser
def test_materialize_all_on_the_asset_graph_runs_everything(ui):
    from playwright.sync_api import sync_playwright

    url, home, tmp_path = ui
    startup = (tmp_path / "ui.log").read_text()
    assert "SupersessionWarning" not in startup and "BetaWarning" not in startup, startup
    with sync_playwright() as p:
        browser, page, materialize = open_graph(p, url)
        assert "…" not in materialize.inner_text()  # no partitioned asset, so no backfill dialog
        materialize.click()
        page.get_by_text(re.compile(r"Launched run|View run")).first.wait_for(timeout=120_000)
        browser.close()

    run = finished_run(home, tmp_path)
    assert run.status == dg.DagsterRunStatus.SUCCESS, (tmp_path / "ui.log").read_text()[-3000:]
    assert run.job_name == "__ASSET_JOB"
    # no check failed; a warning is the fixture's few people (well-being pairs), as in `make run`'s summary
    assert all(severity == "WARN" for _, _, severity in failed_checks(home, run.run_id))
    # the terminal of `make ui` is not the run's event log: before, every event of every step (about 400 lines at
    # DEBUG); the run's page still has them
    terminal = (tmp_path / "ui.log").read_text()
    assert " - DEBUG - " not in terminal and "STEP_SUCCESS" not in terminal, terminal[-3000:]
    with dg.DagsterInstance.from_config(str(home)) as instance:
        assert instance.get_records_for_run(run.run_id, of_type=dg.DagsterEventType.STEP_SUCCESS).records
    assert (tmp_path / "site" / "index.html").exists()
    with duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM staging.persons").fetchone()[0] > 0


@pytest.mark.browser
def test_materialize_all_in_the_quarterly_location_backfills(tmp_path):
    """`make ui-quarterly`: its "Materialize all…" opens the backfill dialog (the assets are partitioned by quarter);
    choosing "All" and launching runs the quarters in one run (single-run backfill policy) over the tables the main
    location wrote, with no failed step or check."""
    from playwright.sync_api import sync_playwright

    from tests.pipelines.test_first_run import start

    first = start(tmp_path, OUTCOMES_DEMO="1", OUTCOMES_PSEUDONYM_KEY="")  # the main location's tables, as `make demo`
    assert first.returncode == 0, first.stdout + first.stderr
    with dagster_ui(tmp_path, "workspace-quarterly.yaml", OUTCOMES_FIRST_QUARTER="2023-01-01") as (url, home, _):
        with sync_playwright() as p:
            browser, page, materialize = open_graph(p, url)
            assert "…" in materialize.inner_text()  # partitioned: the button opens a dialog, it launches nothing
            materialize.click()
            # the dialog first offers only the last 90 days' quarters (one, here): a newcomer asks for all of them
            page.get_by_text("Show all partitions").click(timeout=60_000)
            page.get_by_text("All time").wait_for(timeout=60_000)
            page.get_by_role("button", name="All", exact=True).click()
            today = datetime.date.today()
            quarters = (today.year - 2023) * 4 + (today.month - 1) // 3 + 1  # 2023-Q1 to this quarter
            page.get_by_role("dialog").get_by_text(f"{quarters} partitions", exact=True).wait_for(timeout=60_000)
            page.get_by_role("button", name=re.compile(r"^Launch (backfill|\d+ runs?)$")).click()
            page.get_by_text(re.compile(r"Launched|Created backfill|View")).first.wait_for(timeout=120_000)
            browser.close()
        run = finished_run(home, tmp_path)
        assert run.status == dg.DagsterRunStatus.SUCCESS, (tmp_path / "ui.log").read_text()[-3000:]
        assert run.tags.get("dagster/code_location") == "quarterly"
        assert run.tags.get("dagster/asset_partition_range_start") == "2023-01-01", run.tags  # every quarter, one run
        assert failed_checks(home, run.run_id) == []
    with duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True) as con:
        readmission = con.execute("SELECT DISTINCT quarter_start FROM marts.readmission_rates_quarterly").fetchall()
        activity = con.execute("SELECT count(DISTINCT quarter_start) FROM marts.timebank_activity_quarterly").fetchone()
    assert [str(q) for (q,) in readmission] == ["2023-01-01"] and activity[0] == 3  # the fixture's discharges, exchanges


def test_make_writes_the_dagster_home_settings_pipelines_run_writes():
    """`make ui`'s DAGSTER_HOME (the Makefile's setup) and `make run`'s (pipelines.run) get the same dagster.yaml."""
    makefile = (ROOT / "Makefile").read_text()
    assert "printf '" + DAGSTER_YAML.replace("\n", "\\n") + "' > $(DAGSTER_HOME)/dagster.yaml" in makefile


def test_the_ui_runs_one_run_at_a_time(tmp_path):
    """`make ui`'s instance takes one run at a time from its queue: a second "Materialize all" (or the sensor's run)
    waits for the first. Before, two ran together on the one DuckDB file, their steps in turn (seen: a second click
    3 s after the first gave two runs overlapping for 20 s)."""
    (tmp_path / "dagster.yaml").write_text(DAGSTER_YAML)
    with dg.DagsterInstance.from_config(str(tmp_path)) as instance:
        assert instance.get_concurrency_config().run_queue_config.max_concurrent_runs == 1


def test_the_ui_opens_without_dagsters_first_visit_dialog(tmp_path):
    """Before, `make ui` opened with Dagster's "Join the Dagster community" dialog over the asset graph and its
    "Materialize all", asking for an e-mail address for a newsletter (the browser tests above check the page)."""
    (tmp_path / "dagster.yaml").write_text(DAGSTER_YAML)
    with dg.DagsterInstance.from_config(str(tmp_path)) as instance:
        assert not instance.nux_enabled


def test_every_asset_and_check_says_what_it_is():
    """The asset graph's and the run page's descriptions: every asset and every check has one a newcomer can read."""
    from pipelines.definitions import defs
    from pipelines.quarterly_definitions import defs as quarterly_defs

    for location in (defs, quarterly_defs):
        graph = location.resolve_asset_graph()
        specs = [s for s in location.resolve_all_asset_specs() if s.key in graph.executable_asset_keys]
        assert not [s.key for s in specs if len(s.description or "") < 40]
        assert not [k for k in graph.asset_check_keys if len(graph.get_check_spec(k).description or "") < 20]


# ------------------------------------------------------------------ what the UI shows, without a browser

LAUNCHPAD_DEFAULT = """
import json
import yaml
from dagster._core.snap.snap_to_yaml import default_values_yaml_from_type_snap  # what the launchpad opens with
from pipelines.definitions import defs

snap = defs.resolve_implicit_global_asset_job_def().get_job_snapshot()
schema = snap.config_schema_snapshot
root = schema.get_config_snap(snap.mode_def_snaps[0].root_config_key)
print(json.dumps(yaml.safe_load(default_values_yaml_from_type_snap(schema, root))["resources"]))
"""


def test_the_launchpad_shows_the_paths_in_use(tmp_path):
    """Before, "Materialize all"'s launchpad opened with `reads_inputs: true` and `wait_seconds: 60.0` only: no word of
    which input folder, warehouse or output folder the run would use."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("OUTCOMES_")}
    env.update(OUTCOMES_INPUT_DIR=str(tmp_path / "extract"), OUTCOMES_WAREHOUSE=str(tmp_path / "w.duckdb"),
               OUTCOMES_OUTPUT_DIR=str(tmp_path / "site"), OUTCOMES_CONFIG=str(tmp_path / "settings.yaml"),
               OUTCOMES_DEMO="1", PYTHONPATH=str(ROOT))
    proc = subprocess.run([sys.executable, "-c", LAUNCHPAD_DEFAULT], env=env, cwd=ROOT, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    resources = json.loads(proc.stdout.splitlines()[-1])
    assert resources["settings"]["config"] == {
        "input_dir": str(tmp_path / "extract"), "output_dir": str(tmp_path / "site"),
        "config_path": str(tmp_path / "settings.yaml"), "demo": True, "reads_inputs": True}
    assert resources["warehouse"]["config"]["path"] == str(tmp_path / "w.duckdb")


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
