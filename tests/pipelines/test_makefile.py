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


def test_a_refused_run_ends_with_our_message_only(project):
    """Before, make added "make: *** [Makefile:33: run] Error 2" after the message: a newcomer read it as a crash."""
    python_shim(project, f'PYTHONPATH="{REPO}" exec "{sys.executable}" "$@"')
    proc = make(project, "run")
    assert proc.returncode != 0  # CI still sees the refusal
    assert proc.stderr.startswith("The run did not start:\n")
    assert "OUTCOMES_INPUT_DIR is not set" in proc.stderr
    assert "make:" not in proc.stdout + proc.stderr and "Error" not in proc.stderr


def test_a_refused_demo_ends_with_our_message_only(project):
    python_shim(project, 'echo "The run did not start:" >&2; exit 2')
    (project / "data" / "sample").mkdir(parents=True)
    (project / "data" / "sample" / ".generated").touch()
    proc = make(project, "demo")
    assert proc.returncode != 0
    assert proc.stderr == "The run did not start:\n"


def test_a_failed_run_still_gets_makes_error_line(project):
    """A run whose step failed (exit 1) is a failure, not a refusal: make says so as it does for any recipe."""
    python_shim(project, "exit 1")
    proc = make(project, "run")
    assert proc.returncode == 2
    assert "Error 1" in proc.stderr


def test_the_demo_does_not_echo_its_commands(project):
    """Before, a first `make demo` echoed `bin/python -m data.generate --persons 5000 ...` and `touch data/sample/...`
    among its own lines: make's commands, not the demo's output."""
    python_shim(project, 'mkdir -p data/sample; echo "$@"')  # what the project's python was asked to do
    proc = make(project, "demo")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == ["-m data.generate --persons 5000 --seed 7 --bad-rows 0.01 --out data/sample",
                                        "-m pipelines.run"]
