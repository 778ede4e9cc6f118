"""`make run` and `make demo` as a newcomer types them: the project's Makefile, copied into a temporary folder whose
``bin/python`` is this interpreter with the repository on its path (so no virtualenv is made)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """The Makefile in a folder whose virtualenv counts as installed (``bin/.installed`` newer than pyproject.toml)."""
    shutil.copy(REPO / "Makefile", tmp_path / "Makefile")
    (tmp_path / "pyproject.toml").touch()
    os.utime(tmp_path / "pyproject.toml", (0, 0))
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin" / ".installed").touch()
    return tmp_path


def python_shim(project: Path, body: str) -> None:
    shim = project / "bin" / "python"
    shim.write_text(f"#!/bin/sh\n{body}\n")
    shim.chmod(0o755)


def make(project: Path, target: str, **env: str) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("OUTCOMES_", "MAKE"))}
    return subprocess.run(["make", "--no-print-directory", target, f"BIN={project / 'bin'}"], cwd=project,
                          env={**base, **env}, capture_output=True, text=True, timeout=120)


def test_a_refused_run_says_why_first_and_fails(project):
    """A refused start (exit 2) prints its one message first; make's own "Error 2" line follows, and the status is
    make's failure, so a script or CI sees the refusal."""
    python_shim(project, f'PYTHONPATH="{REPO}" exec "{sys.executable}" "$@"')
    proc = make(project, "run")
    assert proc.returncode == 2
    assert proc.stderr.startswith("The run did not start:\n")
    assert "OUTCOMES_INPUT_DIR is not set" in proc.stderr


def test_the_demo_does_not_echo_its_commands(project):
    """Before, a first `make demo` echoed `bin/python -m data.generate --persons 5000 ...` and `touch data/sample/...`
    among its own lines: make's commands, not the demo's output."""
    python_shim(project, 'mkdir -p data/sample; echo "$@"')  # what the project's python was asked to do
    proc = make(project, "demo")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == [
        "-m data.generate --persons 5000 --seed 7 --bad-rows 0.01 --out data/sample --quiet",
        "Sample: 5,000 synthetic persons in data/sample, about 1% bad rows in every source for the quarantine to catch",
        "-m pipelines.run"]


def test_a_first_demo_says_the_sample_in_one_line(project):
    """Before, a first `make demo` opened with the generator's table (a line per source: 'persons  5,000  + 50 bad',
    11 in all) and 'wrote data/sample in 0.4s (truth.json, truth/)' on stderr: 12 of its 35 lines, for a newcomer
    who has not yet seen a page. Now one line says what the sample is; the data-quality page has the counts."""
    python_shim(project, f'case "$*" in *pipelines.run*) exit 0;; esac; PYTHONPATH="{REPO}" exec "{sys.executable}" "$@"')
    proc = make(project, "demo")
    assert proc.returncode == 0, proc.stderr
    assert (proc.stdout + proc.stderr).splitlines() == [
        "Sample: 5,000 synthetic persons in data/sample, about 1% bad rows in every source for the quarantine to catch"]
    assert (project / "data" / "sample" / "persons.csv").exists()


def test_the_ui_is_the_demo_without_an_extract_and_your_extract_without_demo_mode(project):
    """Before, `make ui` set OUTCOMES_DEMO=1 whenever it was unset, also for an evaluator's own extract: its runs
    published the demo's banner and valued outcomes with the demo's made-up unit costs, and with the key unset
    pseudonymised real records with the public demo key."""
    python_shim(project, 'mkdir -p data/sample; echo "demo=$OUTCOMES_DEMO input=$OUTCOMES_INPUT_DIR $*"')
    demo = make(project, "ui")
    assert demo.returncode == 0, demo.stderr
    assert demo.stdout.splitlines()[-1] == (f"demo=1 input={project}/data/sample -m pipelines.memory {project}/bin/dg "
                                            "dev -w workspace.yaml")
    own = make(project, "ui", OUTCOMES_INPUT_DIR="/data/extract")
    assert own.stdout.splitlines()[-1] == f"demo= input=/data/extract -m pipelines.memory {project}/bin/dg dev -w workspace.yaml"
    asked = make(project, "ui-quarterly", OUTCOMES_INPUT_DIR="/data/extract", OUTCOMES_DEMO="1")
    assert asked.stdout.splitlines()[-1].startswith("demo=1 input=/data/extract ")


def test_the_quarterly_ui_is_an_instance_of_its_own_so_both_can_be_open(project):
    """Before, `make ui` and `make ui-quarterly` shared .dagster_home: with both open, their two daemons logged "Another
    BACKFILL daemon is still sending heartbeats" (and four more) every few seconds in both terminals, and the main
    location's daemon, which does not load the quarterly location, took a backfill's queued run and failed it with
    "Location quarterly does not exist in workspace". Both also asked for port 3000."""
    python_shim(project, 'mkdir -p data/sample; echo "home=$DAGSTER_HOME $*"')
    main, quarterly = make(project, "ui"), make(project, "ui-quarterly")
    assert main.returncode == 0 and quarterly.returncode == 0, main.stderr + quarterly.stderr
    assert main.stdout.splitlines()[-1] == f"home={project}/.dagster_home -m pipelines.memory {project}/bin/dg dev -w workspace.yaml"
    assert quarterly.stdout.splitlines()[-1] == (f"home={project}/.dagster_home/quarterly -m pipelines.memory "
                                                 f"{project}/bin/dg dev -w workspace-quarterly.yaml -p 3001")
    # each with the settings the Makefile's setup writes
    assert (project / ".dagster_home" / "quarterly" / "dagster.yaml").read_text() == \
        (project / ".dagster_home" / "dagster.yaml").read_text()
