"""The mistakes a newcomer most likely makes on their own extract, each refused before the run with what to do.

A wrong input folder, a misspelt setting (in the settings file, or the name of a variable), a file that is not the
delimited text its name says, a mapping set for the wrong source, and a warehouse that is not a DuckDB file. (A
missing key: tests/pipelines/test_first_run.py.) Each is checked as ``make run``'s preflight says it; the misspelt
variable and the swapped warehouse also through ``python -m pipelines.run``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import openpyxl
import pytest

from pipelines import preflight
from tests.conftest import FIXTURES

REPO = Path(__file__).resolve().parents[2]
LONG_KEY = "k" * 40


@pytest.fixture
def extract(tmp_path: Path) -> Path:
    """The valid fixture folder as an evaluator's extract, in ``<tmp>/extract``."""
    folder = tmp_path / "extract"
    shutil.copytree(FIXTURES / "valid", folder)
    return folder


def problems(extract: Path, config: str = "", input_dir: Path | None = None) -> list[str]:
    return preflight.problems(str(input_dir or extract), str(extract.parent / "site"), config, False,
                              str(extract.parent / "w.duckdb"))


@pytest.fixture(autouse=True)
def own_extract(monkeypatch):
    """Outside demo mode, with a key and the input folder named; no other OUTCOMES_ variable."""
    for name in [n for n in os.environ if n.upper().startswith("OUTCOM")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("OUTCOMES_PSEUDONYM_KEY", LONG_KEY)
    monkeypatch.setenv("OUTCOMES_INPUT_DIR", "named")


# ------------------------------------------------------------------ a wrong input folder

def test_a_mistyped_input_folder_is_said_with_the_folder_beside_it(extract):
    """Before: 'input folder .../extrct (OUTCOMES_INPUT_DIR) does not exist', and no word of extract/ beside it."""
    assert problems(extract, input_dir=extract.parent / "extrct") == [
        f"input folder {extract.parent / 'extrct'} (OUTCOMES_INPUT_DIR) does not exist: did you mean {extract}?"]


def test_the_extracts_parent_folder_is_said_with_the_folder_that_holds_the_files(extract):
    """The folder one level too high (the download folder) holds no file of a source; before, the message listed the
    eleven expected file names and left the evaluator to find that their files were one folder down."""
    found = problems(extract, input_dir=extract.parent)
    assert len(found) == 1
    assert found[0].endswith(f"; {extract} holds persons.csv, timebank_members.csv, timebank_exchanges.csv and 8 "
                             "more: set OUTCOMES_INPUT_DIR to it")


# ------------------------------------------------------------------ a misspelt setting

def test_a_mistyped_settings_file_is_said_with_the_file_beside_it(extract):
    settings = extract.parent / "settings.yaml"
    settings.write_text("disclosure:\n  suppress_max: 10\n")
    assert problems(extract, str(extract.parent / "setings.yaml")) == [
        f"settings file {extract.parent / 'setings.yaml'} (OUTCOMES_CONFIG) does not exist: did you mean {settings}?"]


@pytest.mark.parametrize("name, meant", [("OUTCOME_CONFIG", "OUTCOMES_CONFIG"), ("outcomes_config", "OUTCOMES_CONFIG"),
                                         ("OUTCOMES_INPUT_FOLDER", "OUTCOMES_INPUT_DIR"),
                                         ("OUTCOMS_WAREHOUSE", "OUTCOMES_WAREHOUSE"),
                                         ("OUTCOMES_KEY", "OUTCOMES_PSEUDONYM_KEY")])
def test_a_misspelt_variable_is_refused_with_the_one_meant(extract, monkeypatch, name, meant):
    """Before, the run went ahead without it: the documented defaults instead of the evaluator's settings file, the
    default warehouse instead of theirs, and nothing said."""
    monkeypatch.setenv(name, str(extract.parent / "settings.yaml"))
    found = problems(extract)
    assert len(found) == 1 and found[0].startswith(f"{name} is set but not read: did you mean {meant}? "), found


def test_a_variable_of_another_program_is_left_alone(extract, monkeypatch):
    monkeypatch.setenv("INCOME_CONFIG", "x")  # close in spelling, but not ours
    assert problems(extract) == []


def test_make_run_refuses_a_misspelt_variable_before_the_run(extract, tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("OUTCOM")}
    env.update(OUTCOMES_INPUT_DIR=str(extract), OUTCOMES_WAREHOUSE=str(tmp_path / "w.duckdb"),
               OUTCOMES_OUTPUT_DIR=str(tmp_path / "site"), DAGSTER_HOME=str(tmp_path / "home"),
               OUTCOMES_PSEUDONYM_KEY=LONG_KEY, OUTCOME_CONFIG=str(tmp_path / "settings.yaml"))
    proc = subprocess.run([sys.executable, "-m", "pipelines.run"], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert proc.stderr.startswith("The run did not start:\n  - OUTCOME_CONFIG is set but not read: did you mean "
                                  "OUTCOMES_CONFIG?")
    assert not (tmp_path / "w.duckdb").exists()


# ------------------------------------------------------------------ a file that is not the text its name says

def test_a_workbook_saved_as_csv_is_named_as_a_workbook(extract):
    """Before: 'required column(s) ... missing from the header (pk\\x03\\x04\\x14...)', the ZIP file's bytes as its
    header, and at the run the ingest's 'The CSV Parser state machine reached an invalid state'."""
    book = openpyxl.Workbook()
    for row in (FIXTURES / "valid" / "persons.csv").read_text().splitlines():
        book.active.append(row.split(","))
    book.save(extract / "persons.csv")
    assert problems(extract) == [
        f"{extract / 'persons.csv'}: line 1: an Excel or OpenDocument workbook (a ZIP file), not delimited text, although "
        "named .csv: save it as CSV (comma-separated, UTF-8) under the name persons.csv [rule: format]"]


def test_a_parquet_file_saved_as_csv_is_told_to_be_renamed(extract):
    import duckdb

    with duckdb.connect() as con:
        con.execute(f"COPY (SELECT * FROM read_csv('{FIXTURES / 'valid' / 'grants.csv'}')) TO '{extract / 'grants.csv'}' "
                    "(FORMAT parquet)")
    assert problems(extract) == [
        f"{extract / 'grants.csv'}: line 1: a Parquet file, not delimited text, although named .csv: rename it "
        "grants.parquet [rule: format]"]


@pytest.mark.parametrize("encoding, delimiter", [("utf-16", ","), ("cp1252", ";"), ("utf-8-sig", "\t")])
def test_other_encodings_and_delimiters_are_read_not_refused(extract, encoding, delimiter):
    """UTF-16 (Excel's 'Unicode text'), Windows-1252 and a BOM, with ';' or tabs, are read as they are (and noted at
    the end of the run): no refusal."""
    text = (FIXTURES / "valid" / "persons.csv").read_text().replace(",", delimiter)
    (extract / "persons.csv").write_bytes(text.encode(encoding))
    assert problems(extract) == []


# ------------------------------------------------------------------ a mapping for the wrong source

def test_a_mapping_file_set_for_another_source_is_said_at_its_settings_line(extract):
    """A copy of the HES APC preset (it reads into hospital_spells) set under service_contacts. Before, it was said
    only when a service_contacts file was in the folder, as 'my_apc.yaml: produces hospital_spells, not
    service_contacts (mapping for service_contacts.csv)', with no word of which setting to change."""
    shutil.copy(REPO / "data" / "mappings" / "hes_apc_episodes.yaml", extract.parent / "my_apc.yaml")
    settings = extract.parent / "settings.yaml"
    settings.write_text("mappings:\n  service_contacts:\n    - use: my_apc.yaml\n")
    (extract / "service_contacts.csv").unlink()
    assert problems(extract, str(settings)) == [
        f"settings file {settings}, line 3: `mappings.service_contacts[0].use`: {extract.parent / 'my_apc.yaml'} reads "
        "into hospital_spells (its `source:`), not service_contacts: put it under `mappings.hospital_spells`, or name a "
        "mapping written for service_contacts"]


# ------------------------------------------------------------------ a warehouse that is not a DuckDB file

def warehouse_problems(extract: Path, warehouse: Path) -> list[str]:
    return preflight.problems(str(extract), str(extract.parent / "site"), "", False, str(warehouse))


def test_a_warehouse_folder_is_refused_with_a_file_to_name_in_it(extract):
    """OUTCOMES_WAREHOUSE named like the two folders beside it. Before, the run started and its first three steps failed
    with DuckDB's 'IO Error: Could not read from file ".../warehouse": Is a directory' (exit 1, 40 steps not run)."""
    folder = extract.parent / "warehouse"
    folder.mkdir()
    assert warehouse_problems(extract, folder) == [
        f"warehouse {folder} (OUTCOMES_WAREHOUSE) is a folder, not a file: name the DuckDB file the run writes, such as "
        f"{folder / 'warehouse.duckdb'}"]


def test_an_empty_warehouse_file_is_refused(extract):
    """A warehouse made with `touch` first: DuckDB refuses an empty file ('not a valid DuckDB database file')."""
    empty = extract.parent / "w.duckdb"
    empty.touch()
    assert warehouse_problems(extract, empty) == [
        f"warehouse {empty} (OUTCOMES_WAREHOUSE) is an empty file, not a DuckDB database: delete it (the run creates "
        "the file) or name another"]


def test_an_earlier_runs_warehouse_and_a_new_name_are_accepted(extract):
    import duckdb

    earlier = extract.parent / "earlier.duckdb"
    duckdb.connect(str(earlier)).close()
    assert warehouse_problems(extract, earlier) == []
    assert warehouse_problems(extract, extract.parent / "new" / "w.duckdb") == []


def test_a_warehouse_swapped_with_an_extract_file_is_refused_before_the_run(extract, tmp_path):
    """OUTCOMES_WAREHOUSE set to the extract's persons.csv. Before, the run wrote its log folder persons.csv.logs into
    the input folder, refused to read that folder as a misnamed source, and `make run` printed only 'Run ...: FAILED'
    with no reason (exit 1)."""
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("OUTCOM")}
    env.update(OUTCOMES_INPUT_DIR=str(extract), OUTCOMES_WAREHOUSE=str(extract / "persons.csv"),
               OUTCOMES_OUTPUT_DIR=str(tmp_path / "site"), DAGSTER_HOME=str(tmp_path / "home"),
               OUTCOMES_PSEUDONYM_KEY=LONG_KEY)
    proc = subprocess.run([sys.executable, "-m", "pipelines.run"], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert proc.stderr == (f"The run did not start:\n  - warehouse {extract / 'persons.csv'} (OUTCOMES_WAREHOUSE) is not a "
                           "DuckDB database file: name a new file for the run to create, or an earlier run's warehouse\n")
    assert sorted(p.name for p in extract.iterdir()) == sorted(p.name for p in (FIXTURES / "valid").iterdir())
    assert (extract / "persons.csv").read_bytes() == (FIXTURES / "valid" / "persons.csv").read_bytes()


# ------------------------------------------------------------------ a missing key, in a run launched from the UI

def test_a_ui_run_without_the_key_runs_no_step(tmp_path, monkeypatch):
    """`make run` refused it already; "Materialize all" in the UI started the run, and each of the 11 ingest steps
    failed in turn with 'OUTCOMES_PSEUDONYM_KEY is not set'."""
    from tests.pipelines.test_first_run import refused_in_ui, ui_run

    monkeypatch.delenv("OUTCOMES_PSEUDONYM_KEY")
    message = refused_in_ui(ui_run(tmp_path, demo=False), tmp_path)
    assert "OUTCOMES_PSEUDONYM_KEY is not set: set it to a secret of at least 32 random characters" in message
