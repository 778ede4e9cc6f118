"""The mart registry is the one declaration: docs, checks, metadata and the snapshot allowlist follow it."""

from __future__ import annotations

import dagster as dg
import duckdb

from pipelines.assets.quarterly import quarterly_assets
from pipelines.definitions import defs
from pipelines.snapshot import published_tables
from schemas.marts import FAMILY_DIAGNOSTICS, MARTS, mart
from schemas.marts_doc import BLOCK, block, problems, render


def test_docs_agree_with_the_registry():
    assert problems() == []


def test_a_changed_meaning_makes_the_docs_disagree():
    text = block(mart("marts.readmission_rates"))
    stale = text.replace("readmissions / discharges", "readmissions per discharge")
    assert stale != text and render(stale) == text
    assert BLOCK.fullmatch(text)


def test_every_mart_asset_writes_a_declared_table_and_every_published_one_is_checked():
    graph = defs.resolve_asset_graph()
    keys = {k for k in graph.get_all_asset_keys() if k.path[0] == "marts"} | {
        k for a in quarterly_assets for k in a.keys}
    declared = {".".join(k.path) for k in keys}
    assert declared <= set(MARTS), declared - set(MARTS)
    assert {n for n in MARTS if n.startswith("marts.")} == declared  # nothing declared that no asset writes
    checks = {(c.asset_key, c.name): c.blocking for a in [*defs.assets, *quarterly_assets]
              if isinstance(a, dg.AssetsDefinition) for c in a.check_specs}
    for name in declared:
        key = dg.AssetKey(name.split("."))
        if mart(name).published:
            assert checks.get((key, "aggregate_only")) is True, name
        else:
            assert (key, "aggregate_only") not in checks, name


def test_snapshot_allowlist_is_the_published_marts():
    con = duckdb.connect()
    con.execute("CREATE SCHEMA marts")
    con.execute("CREATE SCHEMA core")
    for name in MARTS:
        con.execute(f"CREATE TABLE {name} (run_id VARCHAR)")
    con.execute("CREATE TABLE marts.scratch (person_id VARCHAR)")  # undeclared: never copied
    allowed = published_tables(con)
    assert "marts.member_reciprocity" not in allowed and "marts.scratch" not in allowed
    assert not [t for t in allowed if t.startswith("core.")]
    assert set(allowed) == {n for n, m in MARTS.items() if m.published} | {"meta.runs", "meta.input_files"}
    assert not any(m.published for m in FAMILY_DIAGNOSTICS)
