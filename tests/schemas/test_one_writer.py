"""Every table is written by the one writer, so "declared once" (schemas/marts.py) stays true.

The test lists every ``CREATE [OR REPLACE] TABLE``, ``INSERT INTO`` and ``DELETE FROM`` in
``models/`` and ``pipelines/`` (``CREATE TEMP TABLE`` is a connection's scratch and is not
listed) and fails on one that is not in :data:`ALLOWED`, where each exception is named with its
reason. A model or asset that needs a new table declares it in schemas/marts.py and writes it
with ``models.mart_writer`` (``write_mart``, ``write_mart_set`` or ``write_slice``).
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
STATEMENT = re.compile(r"\b(CREATE\s+(?:OR\s+REPLACE\s+)?TABLE(?:\s+IF\s+NOT\s+EXISTS)?|INSERT\s+INTO|DELETE\s+FROM)"
                       r"\s+([^\s(]+)")

#: file -> (statements it may hold, with how many times; the reason)
ALLOWED: dict[str, tuple[Counter, str]] = {
    "models/mart_writer.py": (Counter({
        "CREATE OR REPLACE TABLE ...;": 1,  # its docstring
        "CREATE OR REPLACE TABLE {name}": 1, "INSERT INTO {name}": 2,
        "CREATE TABLE IF NOT EXISTS {name}": 1, "DELETE FROM {name}": 1,
    }), "the one writer of every declared table (write_mart, write_mart_set, write_slice)"),
    "pipelines/ingest/stage.py": (Counter({
        "CREATE OR REPLACE TABLE {_pending": 1, "DELETE FROM {pending}": 1,
        "CREATE OR REPLACE TABLE staging.{src}": 1, "CREATE OR REPLACE TABLE quarantine.{src}": 2,
        "CREATE TABLE IF NOT EXISTS meta.input_files": 1, "DELETE FROM meta.input_files": 1,
        "INSERT INTO meta.input_files": 1,
        "INSERT INTO _flags": 1, "INSERT INTO _scale_versions": 1, "INSERT INTO _scale_areas": 1,
        "CREATE TABLE IF NOT EXISTS quarantine.cleared_values": 1, "DELETE FROM quarantine.cleared_values": 2,
        "INSERT INTO quarantine.cleared_values": 1,
    }), "ingest staging: the staging and quarantine tables are declared by the input contract (schemas/contract.py), "
        "written with the file log in one transaction (quarantine.cleared_values too: the values the contract's "
        "'clear' rule emptied, a source's rows replaced by its ingest); _flags and _scale_* are temporary tables of "
        "the run"),
    "pipelines/provenance.py": (Counter({
        "CREATE TABLE IF NOT EXISTS meta.runs": 1, "DELETE FROM meta.runs": 1, "INSERT INTO meta.runs": 1,
    }), "meta.runs, the run record: one row per run, appended across runs (not a model's table)"),
    "models/settings_used.py": (Counter({
        "CREATE TABLE IF NOT EXISTS meta.settings_used": 1, "DELETE FROM meta.settings_used": 1,
        "INSERT INTO meta.settings_used": 1,
    }), "meta.settings_used: one row per built table, the settings its build read, replaced row by row (not a "
        "model's table)"),
    "models/reciprocity/prepare.py": (Counter({"INSERT INTO {acct}": 1}),
                                      "a temporary table of the connection (CREATE TEMP TABLE {acct} above it)"),
}


def statements(text: str) -> Counter:
    """The table-writing statements of a source text, as ``VERB target`` (whitespace collapsed)."""
    return Counter(re.sub(r"\s+", " ", m.group(1)) + " " + m.group(2) for m in STATEMENT.finditer(text))


def test_the_scanner_finds_writes_and_skips_temporary_tables():
    text = 'con.execute(f"CREATE OR REPLACE TABLE marts.x AS SELECT 1")\ncon.execute("INSERT  INTO\n core.y VALUES (1)")\n' \
           'con.execute("CREATE TEMP TABLE _scratch AS SELECT 1")\ncon.execute("CREATE TABLE IF NOT EXISTS meta.z (a INT)")'
    assert statements(text) == Counter({"CREATE OR REPLACE TABLE marts.x": 1, "INSERT INTO core.y": 1,
                                        "CREATE TABLE IF NOT EXISTS meta.z": 1})


def test_only_the_writer_and_the_named_exceptions_write_tables():
    unexpected = []
    for root in ("models", "pipelines"):
        for path in sorted((REPO / root).rglob("*.py")):
            name = path.relative_to(REPO).as_posix()
            allowed = ALLOWED.get(name, (Counter(), ""))[0]
            extra = statements(path.read_text()) - allowed
            unexpected += [f"{name}: {s} ({n}x)" for s, n in extra.items()]
    assert not unexpected, ("tables written outside models/mart_writer.py: declare the table in schemas/marts.py and "
                            "write it with write_mart/write_mart_set/write_slice (or name the exception and its reason "
                            "in ALLOWED):\n" + "\n".join(unexpected))
