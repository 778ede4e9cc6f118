"""Reading marts for the pages, marking what every page must treat alike, and saying plainly when one is not there.

A page reads its marts through :func:`read_marts`, which marks the effects marts' rows once: withheld so that a whole
less its parts gives no one away (:mod:`dashboards.subtraction`), and each effect's place among the run's comparisons
(:mod:`dashboards.multiplicity`). Every sentence, tile, chart and table then reads the same marks.

A mart is *missing* when its model has not run in this warehouse (the table does not exist)
and *empty* when it ran without the data it needs (the source was not supplied or held no
usable rows). Either way a page shows a section that says so, never an error.
"""

from __future__ import annotations

import duckdb
import pandas as pd

from dashboards import multiplicity, subtraction
from dashboards.page import Section
from models.disclosure import DisclosureRule

#: The register of the run's comparisons, read to mark the effects marts whether or not the page shows it.
REGISTER = "effect_register"


def read(con: duckdb.DuckDBPyConnection, table: str) -> pd.DataFrame | None:
    """All rows of ``schema.table``, or None when the table does not exist."""
    schema, name = table.split(".")
    exists = con.execute("SELECT count(*) FROM duckdb_tables() WHERE schema_name = ? AND table_name = ?",
                         [schema, name]).fetchone()[0]
    return con.execute(f'SELECT * FROM "{schema}"."{name}"').df() if exists else None


def read_marts(con: duckdb.DuckDBPyConnection, names: tuple[str, ...], rule: DisclosureRule) -> dict[str, pd.DataFrame | None]:
    """A page's marts (``marts.<name>``, None when not built), the effects marts among them marked: rows withheld by
    subtraction (:func:`dashboards.subtraction.mark`) and each row's analysis role, comparisons and Holm-adjusted
    p-value from ``marts.effect_register`` (:func:`dashboards.multiplicity.mark`)."""
    m = {name: read(con, f"marts.{name}") for name in names}
    for family in subtraction.FAMILIES:
        if family.mart in m:
            m[family.mart] = subtraction.mark(m[family.mart], family, rule)
    if any(f.mart in m for f in multiplicity.FAMILIES):
        m = multiplicity.mark_marts(m, m[REGISTER] if REGISTER in m else read(con, f"marts.{REGISTER}"))
    return m


def status(frames: dict[str, pd.DataFrame | None]) -> str | None:
    """None when every frame has rows; else what is missing or empty, in words."""
    missing = [t for t, f in frames.items() if f is None]
    empty = [t for t, f in frames.items() if f is not None and f.empty]
    words = []
    if missing:
        words.append(f"not available yet: {', '.join(missing)} has not been built in this warehouse "
                     "(its model has not run)")
    if empty:
        words.append(f"no data: {', '.join(empty)} has no rows (the source it needs was not supplied, "
                     "or held no usable rows)")
    return "; ".join(words) or None


def unavailable(title: str, frames: dict[str, pd.DataFrame | None]) -> Section:
    """The section shown in place of a chart or table whose marts are missing or empty."""
    return Section(title, f"{title}: {status(frames)}.", html="<p class='empty'>Not available for this run.</p>")


def demo_run(con: duckdb.DuckDBPyConnection) -> bool:
    """True when the latest recorded run was in demo mode (synthetic inputs, published pseudonym key)."""
    runs = read(con, "meta.runs")
    return bool(runs is not None and not runs.empty and runs.sort_values("recorded_at")["demo"].iloc[-1])


def column(row: pd.Series | dict, name: str, missing: str) -> str:
    """A text column of a mart row that a newer model adds (e.g. ``design_sentence``); ``missing`` when absent or empty."""
    value = row.get(name) if hasattr(row, "get") else None
    return missing if value is None or (not isinstance(value, str) and pd.isna(value)) or str(value).strip() == "" else str(value)
