"""DuckDB connection settings for the warehouse (the config's ``warehouse:`` section).

DuckDB keeps its buffer pool (hash tables, sorts, cached blocks) under ``memory_limit`` and
spills what does not fit to ``temp_directory``. Its own default is 80% of the machine's RAM
(https://duckdb.org/docs/stable/configuration/overview), which lets one run take most of a
shared machine; we cap it so that a 1M-person run stays within the 6 GB goal of
docs/benchmarks.md, with the modelling frames (pandas, numpy) on top of DuckDB's share.

DuckDB allocates through its own jemalloc (DuckDB docs, "jemalloc"), which keeps what a query freed until DuckDB
is next busy, unless its background threads purge it (``allocator_background_threads``, off by default). A model
step reads its frame and then computes in Python for minutes with the connection open: at 3M persons the
readmission comparison held 2.4 GiB that DuckDB had freed after the read, through the whole comparison (RSS 2.9 GiB
after the read of a 0.17 GiB frame, 0.66 GiB within 3 s with the threads on). So every connection turns them on.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

SIZE = r"^\s*\d+(\.\d+)?\s*(B|KB|MB|GB|TB|KiB|MiB|GiB|TiB)\s*$"


class WarehouseSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    memory_limit: str = Field(
        "4GB", pattern=SIZE,
        description="Most memory DuckDB's buffer pool may hold, e.g. '4GB' or '3.5GiB' (default 4GB: see docs/configuration.md).",
    )
    temp_directory: Path | None = Field(
        None, description="Folder DuckDB spills to beyond memory_limit; default DuckDB's own, '<warehouse>.tmp' beside the file.",
    )

    def statements(self) -> list[str]:
        """The SET statements that apply these settings to a fresh connection."""
        out = [f"SET memory_limit = '{self.memory_limit.strip()}'", "SET allocator_background_threads = true"]
        if self.temp_directory is not None:
            out.append("SET temp_directory = '" + str(self.temp_directory).replace("'", "''") + "'")
        return out
