"""Dagster resources: where the warehouse, inputs, outputs and settings are.

Defaults come from the ``OUTCOMES_*`` environment variables, and every field can be set
again in the UI's launchpad, so an evaluator reruns on their own extract without code.
The pseudonym key is deliberately not a field: it is read from the environment at use
and never appears in run config or logs.
"""


import os
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import dagster as dg
import duckdb
from pydantic import Field

from models.config import OutcomesConfig, load_config
from pipelines.ingest.pseudonymise import DEMO_WARNING, resolve_key

REPO = Path(__file__).resolve().parents[1]


def _env(name: str, default: str) -> str:
    return os.environ.get(name) or default


class Warehouse(dg.ConfigurableResource):
    """The DuckDB warehouse file. One writer at a time: see docs/storage.md."""

    path: str = Field(default_factory=lambda: _env("OUTCOMES_WAREHOUSE", str(REPO / "data" / "warehouse.duckdb")))

    @contextmanager
    def connect(self) -> Iterator[duckdb.DuckDBPyConnection]:
        Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        con = duckdb.connect(self.path)
        try:
            yield con
        finally:
            con.close()


class Settings(dg.ConfigurableResource):
    """Input folder, output folder, analysis config file and demo mode."""

    input_dir: str = Field(default_factory=lambda: _env("OUTCOMES_INPUT_DIR", str(REPO / "data" / "sample")))
    output_dir: str = Field(default_factory=lambda: _env("OUTCOMES_OUTPUT_DIR", str(REPO / "build" / "site")))
    config_path: str = Field(default_factory=lambda: _env("OUTCOMES_CONFIG", ""))
    demo: bool = Field(default_factory=lambda: _env("OUTCOMES_DEMO", "0").lower() in ("1", "true", "yes"))

    def config(self) -> OutcomesConfig:
        return load_config(self.config_path or None)

    def pseudonym_key(self, log: dg.DagsterLogManager | None = None) -> bytes:
        key = resolve_key(self.demo)
        if self.demo and not os.environ.get("OUTCOMES_PSEUDONYM_KEY") and log is not None:
            log.warning(DEMO_WARNING)
        return key
