"""Shared fixtures: a real DuckDB file per test and the hand-checkable input folders."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import duckdb
import pytest

from pipelines.ingest.stage import ingest_source
from schemas.raw import SOURCES

FIXTURES = Path(__file__).parent / "fixtures"
KEY = b"test-key-0123456789abcdef0123456789"
AS_OF = dt.date(2025, 1, 1)


@pytest.fixture
def inputs(tmp_path: Path) -> Path:
    """A writable copy of the valid fixture folder (35 rows across 11 sources)."""
    folder = tmp_path / "inputs"
    shutil.copytree(FIXTURES / "valid", folder)
    return folder


@pytest.fixture
def warehouse(tmp_path: Path):
    con = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    yield con
    con.close()


def ingest_all(con: duckdb.DuckDBPyConnection, folder: Path, run_id: str = "run-1", sources=SOURCES) -> dict:
    """Ingest every source in contract order; returns the reports by source."""
    return {s: ingest_source(con, s, folder, run_id=run_id, as_of=AS_OF, key=KEY) for s in sources}


def append_rows(path: Path, *lines: str) -> None:
    with open(path, "a") as handle:
        for line in lines:
            handle.write(line + "\n")



def pytest_unconfigure(config):
    """Drop duckdb's module-level type constants (``duckdb.sqltypes.VARCHAR`` and the like, 27-29 per module)
    before interpreter shutdown. When a long session's modules are finalised after duckdb's bindings, those
    constants are reported as "nanobind: leaked ... DuckDBPyType" (hundreds of lines after pytest's summary);
    nothing of ours leaks, but the noise buried the summary line that `make test` should end with."""
    import gc
    import sys

    pytype = type(duckdb.sqltypes.VARCHAR)
    for name, module in list(sys.modules.items()):
        if module is not None and name.split(".")[0] in ("duckdb", "_duckdb"):
            for attr, value in list(vars(module).items()):
                if isinstance(value, pytype):
                    delattr(module, attr)
    gc.collect()
