"""The mart registry is the one declaration: docs, checks, metadata and the snapshot allowlist follow it."""

from __future__ import annotations

import dagster as dg
import duckdb
import pytest

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


def test_a_rows_frame_has_every_declared_column_and_keeps_an_undeclared_key():
    from models.mart_writer import write_mart

    avoided = mart("marts.readmission_avoided")
    # a row without estimates: every declared column is there, NULL where the row has none
    frame = avoided.frame([{"measure": "not_estimated", "n": 0}])
    assert list(frame.columns) == avoided.result_columns()
    assert frame.loc[0, "measure"] == "not_estimated" and frame["estimate"].isna().all()
    con = duckdb.connect()
    assert write_mart(con, "marts.readmission_avoided", frame, "run-1") == 1
    assert con.sql("SELECT estimate IS NULL, run_id FROM marts.readmission_avoided").fetchall() == [(True, "run-1")]
    # an undeclared key is kept, after the declared columns, so the one writer refuses it
    stray = avoided.frame([{"measure": "x", "person_id": "p1"}])
    assert list(stray.columns) == [*avoided.result_columns(), "person_id"]
    with pytest.raises(ValueError, match="person_id"):
        write_mart(con, "marts.readmission_avoided", stray, "run-2")
    assert list(avoided.frame([]).columns) == avoided.result_columns()
