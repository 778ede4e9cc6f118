"""The settings a table was built with, so that a table built on it under other settings is refused.

A person-level core table (``core.index_discharges``, ``core.justice_cohort``,
``core.star_journeys``) fixes some settings into its rows: the readmission window decides each
discharge's ``readmitted`` flag, the reoffending follow-up each person's reoffences. A mart
built on it later reads those rows under the settings of its own run. When the settings changed
in between and only the mart was materialised again (Dagster's "Materialize selected"), the
mart would describe one window and count another. So the build of a core table records the
settings fields it read (:class:`Reading`), into ``meta.settings_used``, and a mart checks them
against its own settings before it reads the table (:func:`differences`). Each mart records the
fields it rests on too (its core table's and its own), so a page can say which window its
figures used (``dashboards.windows``).

``meta.settings_used``: one row per table, the latest build: ``table_name``, ``run_id``,
``section`` (the settings section, e.g. ``readmission``), ``used`` (JSON: field -> value, in the
settings file's terms) and ``recorded_at``.
"""

from __future__ import annotations

import json
from typing import Any

import duckdb
from pydantic import BaseModel
from pydantic_core import to_jsonable_python


class Reading:
    """``settings`` seen through a recorder: every field (or property) a build reads is kept in :attr:`used`.

    Methods are handed through unrecorded (``describe()`` reads fields of the settings themselves).
    """

    def __init__(self, settings: BaseModel):
        object.__setattr__(self, "_settings", settings)
        object.__setattr__(self, "used", {})

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._settings, name)
        if not callable(value) and not name.startswith("_"):
            self.used[name] = to_jsonable_python(value)
        return value

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("settings are read-only while a build records what it reads")


def record(con: duckdb.DuckDBPyConnection, table: str, run_id: str, section: str, used: dict) -> None:
    """Replace ``table``'s row of ``meta.settings_used`` with the fields it was built with."""
    con.execute("CREATE SCHEMA IF NOT EXISTS meta")
    con.execute("CREATE TABLE IF NOT EXISTS meta.settings_used (table_name VARCHAR, run_id VARCHAR, section VARCHAR, "
                "used VARCHAR, recorded_at TIMESTAMP)")
    con.execute("DELETE FROM meta.settings_used WHERE table_name = ?", [table])
    con.execute("INSERT INTO meta.settings_used VALUES (?, ?, ?, ?, current_timestamp::TIMESTAMP)",
                [table, run_id, section, json.dumps(used, sort_keys=True)])


def recorded(con: duckdb.DuckDBPyConnection, table: str) -> tuple[str, dict] | None:
    """(section, fields) ``table`` was last built with; None when not recorded (a warehouse from before)."""
    try:
        row = con.execute("SELECT section, used FROM meta.settings_used WHERE table_name = ?", [table]).fetchone()
    except duckdb.CatalogException:
        return None
    return None if row is None else (row[0], json.loads(row[1]))


def differences(con: duckdb.DuckDBPyConnection, table: str, settings: BaseModel) -> list[str]:
    """The fields ``table`` was built with that ``settings`` now set otherwise, in words
    (``"readmission.window_max_days: 29 when core.index_discharges was built, 13 now"``); [] when they agree
    or nothing was recorded. A field this version no longer has (``comparison_excludes_programmes``, replaced by
    ``programme_exclusion``) is a difference too: the table was built by older code under a rule nobody can set now."""
    found = recorded(con, table)
    if found is None:
        return []
    section, used = found
    now = {name: to_jsonable_python(getattr(settings, name)) for name in used if hasattr(settings, name)}
    changed = [name for name in sorted(now) if now[name] != used[name]]
    # a property the build read (``follow_up_days`` of the window) is no key of the settings file: name the
    # keys that changed, and a property only when no key read alongside it did
    keys = [name for name in changed if name in type(settings).model_fields] or changed
    gone = [name for name in sorted(used) if name not in now]
    return ([f"{section}.{name}: {_shown(used[name])} when {table} was built, {_shown(now[name])} now" for name in keys]
            + [f"{section}.{name}: {_shown(used[name])} when {table} was built, no longer a setting" for name in gone])


def _shown(value: Any) -> str:
    return json.dumps(value) if not isinstance(value, str) else value
