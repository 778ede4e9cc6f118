"""Marts built on a core table under the settings that table was built with, or not at all.

``built_with`` wraps an asset's build: it refuses (``dg.Failure``, before any work) when the core
table it reads was built under settings that this run's settings now change
(:func:`models.settings_used.differences`), and it records the fields the build rests on (the
core table's and those the build read) for every table it writes. Without it, changing the
readmission window and materialising only ``marts.readmission_effects`` gave a mart whose
design sentence named the new window over readmissions counted in the old one.
"""

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import dagster as dg
import duckdb
from pydantic import BaseModel

from models.settings_used import Reading, differences, record, recorded


def refuse_other_settings(con: duckdb.DuckDBPyConnection, core: str, settings: BaseModel) -> None:
    """Raise ``dg.Failure`` naming each field that differs when ``core`` was built under other settings."""
    changed = differences(con, core, settings)
    if changed:
        raise dg.Failure(
            description=(f"{core} was built under other settings than this run's ({'; '.join(changed)}). Materialise "
                         f"{core} again, with the assets downstream of it (in the UI: select {core} and 'Materialize' it "
                         "with its downstream assets, or 'Materialize all'; or make run), so every figure rests on one "
                         "set of settings."),
            metadata={"changed": dg.MetadataValue.md("\n".join(f"- {c}" for c in changed))})


@contextmanager
def built_with(con: duckdb.DuckDBPyConnection, settings: BaseModel, section: str, run_id: str,
               writes: Sequence[str], on: Sequence[str] = ()) -> Iterator[Reading]:
    """The settings as a :class:`Reading` for the build; refuses first when a table in ``on`` was built under
    other settings, and records the fields read (with those of ``on``) for each table in ``writes`` once
    the build has written them."""
    for core in on:
        refuse_other_settings(con, core, settings)
    reading = Reading(settings)
    yield reading
    inherited = {}
    for core in on:
        found = recorded(con, core)
        inherited.update(found[1] if found else {})
    for table in writes:
        record(con, table, run_id, section, {**inherited, **reading.used})
