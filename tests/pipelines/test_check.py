"""`make check` (``python -m pipelines.check``): the preflight, then every source read as the run reads it, into a
throwaway warehouse; each quarantined row named by file, line, column and rule; nothing written."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from tests.conftest import FIXTURES, append_rows

REPO = Path(__file__).resolve().parents[2]


def check(tmp_path: Path, folder: Path, **env: str) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if not k.upper().startswith("OUTCOM")}
    base.update(OUTCOMES_INPUT_DIR=str(folder), OUTCOMES_WAREHOUSE=str(tmp_path / "w" / "w.duckdb"),
                OUTCOMES_OUTPUT_DIR=str(tmp_path / "site"), OUTCOMES_PSEUDONYM_KEY="k" * 40, **env)
    return subprocess.run([sys.executable, "-m", "pipelines.check"], cwd=REPO, env=base, capture_output=True,
                          text=True, timeout=600)


def test_each_quarantined_row_is_named_and_nothing_is_written(inputs, tmp_path):
    settings = tmp_path / "settings.yaml"
    settings.write_text("ingest:\n  max_quarantined_share: 0.5\n")  # 2 of the fixture's 4 grants rows
    append_rows(inputs / "grants.csv", "G003,Community Fund,TB01,lots,2023-01-01,2023-12-31",
                "G004,Community Fund,TB01,100,2023-01-01,2022-12-31")
    proc = check(tmp_path, inputs, OUTCOMES_CONFIG=str(settings))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = proc.stdout.splitlines()
    assert "grants: 4 rows read: 2 staged, 2 quarantined" in out
    grants = inputs / "grants.csv"
    assert f"  {grants}, line 4, column amount: rule type, expected a finite number, got 'lots'" in out
    assert f"  {grants}, line 5, column period_end: rule order, expected on or after period_start, got '2022-12-31'" in out
    assert "persons: 4 rows read: 4 staged, 0 quarantined" in out
    assert out[-1] == "Every source would be ingested: `make run` can start."
    assert not (tmp_path / "w").exists() and not (tmp_path / "site").exists()


def test_each_cleared_value_is_named_and_does_not_fail_the_run(inputs, tmp_path):
    """A spell whose diagnosis is no ICD-10 code is staged without it: the check says so, with file, line, column and
    rule, and the run can start (a cleared value is not a lost row; the ceiling here is 0%)."""
    settings = tmp_path / "settings.yaml"
    settings.write_text("ingest:\n  max_quarantined_share: 0.0\n")
    spells = inputs / "hospital_spells.csv"
    spells.write_text("\n".join(f"{line},{'primary_diagnosis' if i == 0 else 'I21.9'}"
                                for i, line in enumerate(spells.read_text().splitlines())) + "\n")
    append_rows(spells, "S009,P002,RXX01,2023-05-01,2023-05-05,emergency,home,general_medicine,false,heart attack")
    proc = check(tmp_path, inputs, OUTCOMES_CONFIG=str(settings))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = proc.stdout.splitlines()
    assert "hospital_spells: 5 rows read: 5 staged, 0 quarantined; 1 value(s) cleared, their rows staged" in out
    assert any(line.startswith(f"  {spells}, line 6, column primary_diagnosis: rule icd10_code, expected an ICD-10 code")
               and line.endswith(", got 'heart attack' (value cleared, row staged)") for line in out), out
    assert out[-1] == "Every source would be ingested: `make run` can start."


def test_a_share_over_the_ceiling_is_said_and_fails(inputs, tmp_path):
    settings = tmp_path / "settings.yaml"
    settings.write_text("ingest:\n  max_quarantined_share: 0.2\n")
    append_rows(inputs / "grants.csv", "G003,Community Fund,TB01,lots,2023-01-01,2023-12-31")
    proc = check(tmp_path, inputs, OUTCOMES_CONFIG=str(settings))
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert ("grants: 3 rows read: 2 staged, 1 quarantined (33.3%, over the ceiling of 20.0%, "
            "ingest.max_quarantined_share: the run would fail)") in proc.stdout.splitlines()
    assert proc.stdout.splitlines()[-1] == "A source would fail the run (above): fix it, then `make check` again."


def test_the_ceiling_is_said_as_the_run_says_it(inputs):
    """Before, 'over the ceiling of 2%' of a ceiling of 2.5% (whole percents), where the run's check says 2.5%."""
    from models.config import OutcomesConfig
    from pipelines.check import ingest_lines

    append_rows(inputs / "grants.csv", "G003,Community Fund,TB01,lots,2023-01-01,2023-12-31")
    config = OutcomesConfig.model_validate({"ingest": {"max_quarantined_share": 0.025}})
    lines, passed = ingest_lines(str(inputs), config, "")
    assert not passed
    assert ("grants: 3 rows read: 2 staged, 1 quarantined (33.3%, over the ceiling of 2.5%, "
            "ingest.max_quarantined_share: the run would fail)") in lines


def test_a_refused_start_is_said_as_make_run_says_it(tmp_path):
    (tmp_path / "extract").mkdir()
    proc = check(tmp_path, tmp_path / "extrct")
    assert proc.returncode == 2
    assert proc.stderr == (f"The run did not start:\n  - input folder {tmp_path / 'extrct'} (OUTCOMES_INPUT_DIR) does not "
                           f"exist: did you mean {tmp_path / 'extract'}?\n")
    assert proc.stdout == ""


def test_make_check_and_the_runs_check_compare_with_one_rule(inputs):
    """`make check`'s verdict and the run's blocking check quarantine_within_ceiling compare a source's quarantined share
    to ingest.max_quarantined_share with one function (before, each with its own comparison): a share equal to the
    ceiling passes in both, one just over it fails in both."""
    import logging

    import duckdb

    from models.config import OutcomesConfig
    from pipelines.check import ingest_lines
    from pipelines.ingest.assets import quarantine_within_ceiling
    from pipelines.ingest.stage import quarantine_over_ceiling
    from tests.conftest import ingest_all

    assert quarantine_over_ceiling(1, 4, 0.25) == (0.25, False)
    assert quarantine_over_ceiling(2, 4, 0.25) == (0.5, True)
    assert quarantine_over_ceiling(0, 0, 0.0) == (0.0, False)  # a source not supplied
    append_rows(inputs / "grants.csv", "G003,Community Fund,TB01,lots,2023-01-01,2023-12-31")  # 1 of 3 rows quarantined
    with duckdb.connect() as con:
        ingest_all(con, inputs)
        for ceiling, passes in ((1 / 3, True), (0.333, False)):
            config = OutcomesConfig.model_validate({"ingest": {"max_quarantined_share": ceiling}})
            assert ingest_lines(str(inputs), config, "")[1] is passes
            assert quarantine_within_ceiling(con, "grants", ceiling, logging.getLogger(__name__)).passed is passes
