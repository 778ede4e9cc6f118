"""The index page: what this run is, and where to read on."""

from __future__ import annotations

import duckdb

from dashboards.disclosure import DisclosureRule
from dashboards.page import Page, Section


def build_page(con: duckdb.DuckDBPyConnection, run_id: str, rule: DisclosureRule) -> Page:
    row = con.execute(
        "SELECT recorded_at, code_version, config_sha256, as_of, demo, files, rows_read, rows_quarantined "
        "FROM meta.runs WHERE run_id = ?", [run_id]
    ).fetchone()
    if row is None:
        return Page("index.html", "Co-production Outcomes", "No run has been recorded in this warehouse yet.")
    recorded, version, digest, as_of, demo, files, read, quarantined = row
    demo_note = " This is a DEMO run on synthetic data with a public pseudonym key." if demo else ""
    return Page(
        "index.html", "Co-production Outcomes",
        f"Run {run_id}, recorded {recorded:%Y-%m-%d %H:%M} UTC, data as of {as_of}.{demo_note}",
        [Section(
            "This run",
            f"{files} input files; about {rule.count(read)} rows read, of which {rule.count(quarantined)} were quarantined. "
            f"Code version {version}; configuration hash {digest[:12]}. The data-quality page says what was set aside and why.",
        )],
    )
