"""The Dagster side: definitions load, a real in-process run ingests every source, checks block."""

from __future__ import annotations

import dagster as dg
import duckdb
import pytest

from pipelines.definitions import defs
from pipelines.ingest.assets import ingest_assets
from pipelines.provenance_assets import run_record
from pipelines.resources import Settings, Warehouse
from tests.conftest import append_rows


def run(inputs, tmp_path, *, demo=True, config_path=""):
    resources = {
        "warehouse": Warehouse(path=str(tmp_path / "w.duckdb")),
        "settings": Settings(input_dir=str(inputs), output_dir=str(tmp_path / "out"), config_path=config_path, demo=demo),
    }
    return dg.materialize([*ingest_assets, run_record], resources=resources, raise_on_error=False)


def test_definitions_load():
    dg.Definitions.validate_loadable(defs)
    keys = {k.to_user_string() for k in defs.resolve_asset_graph().get_all_asset_keys()}
    assert {"staging/persons", "staging/timebank_exchanges", "meta/run_record"} <= keys
    assert sum(len(list(a.check_specs)) for a in ingest_assets) == 22  # two per source, evaluated inside the asset


def test_full_run_ingests_and_records_provenance(inputs, tmp_path, monkeypatch):
    monkeypatch.delenv("OUTCOMES_PSEUDONYM_KEY", raising=False)
    result = run(inputs, tmp_path)
    assert result.success
    evaluations = result.get_asset_check_evaluations()
    assert len(evaluations) == 22 and all(e.passed for e in evaluations)
    with duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True) as con:
        runs = con.execute("SELECT run_id, files, rows_read, rows_staged, rows_quarantined, demo, config_sha256, code_version FROM meta.runs").fetchall()
        assert len(runs) == 1
        run_id, files, read, staged, quarantined, demo, digest, version = runs[0]
        assert run_id == result.run_id and (files, read, staged, quarantined, demo) == (11, 35, 35, 0, True)
        assert len(digest) == 64 and version.startswith("0.1.0")
        assert con.execute("SELECT DISTINCT run_id FROM staging.persons").fetchall() == [(result.run_id,)]


def test_unreadable_source_fails_alone(inputs, tmp_path, monkeypatch):
    monkeypatch.delenv("OUTCOMES_PSEUDONYM_KEY", raising=False)
    (inputs / "grants.csv").write_text("grant_id,funder\nG1,F\n")
    result = run(inputs, tmp_path)
    assert not result.success
    failures = [e for e in result.all_events if e.is_step_failure]
    assert [e.step_key for e in failures] == ["staging__grants"]
    assert "grants.csv: line 1: required column(s) timebank_id, amount, period_start, period_end missing" in failures[0].event_specific_data.error.message
    with duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM staging.timebank_exchanges").fetchone()[0] == 5


def test_quarantine_ceiling_fails_the_run_loudly(inputs, tmp_path, monkeypatch):
    monkeypatch.delenv("OUTCOMES_PSEUDONYM_KEY", raising=False)
    append_rows(inputs / "grants.csv", "G9,F,TB01,-1,2023-01-01,2023-12-31")  # 1 of 3 = 33%
    result = run(inputs, tmp_path)
    assert not result.success
    failed = [(e.asset_key.to_user_string(), e.check_name) for e in result.get_asset_check_evaluations() if not e.passed]
    assert failed == [("staging/grants", "quarantine_within_ceiling")]


def test_cleared_values_are_counted_and_do_not_fail_the_ceiling(inputs, tmp_path, monkeypatch):
    """Two persons of four with an IMD decile out of range, ceiling 0%: both staged, the run passes, and the asset and
    its ceiling check count the cleared values (before, 2 of 6 persons quarantined failed the ceiling)."""
    monkeypatch.delenv("OUTCOMES_PSEUDONYM_KEY", raising=False)
    append_rows(inputs / "persons.csv", "P008,1970-01-01,male,E1,11,0,employed", "P009,1970-01-01,male,E1,ten,0,employed")
    config = tmp_path / "config.yaml"
    config.write_text("ingest:\n  max_quarantined_share: 0.0\n")
    result = run(inputs, tmp_path, config_path=str(config))
    assert result.success
    ceiling = next(e for e in result.get_asset_check_evaluations()
                   if (e.asset_key.to_user_string(), e.check_name) == ("staging/persons", "quarantine_within_ceiling"))
    assert ceiling.passed and ceiling.metadata["quarantined_share"].value == 0 and ceiling.metadata["values_cleared"].value == 2
    metadata = result.asset_materializations_for_node("staging__persons")[0].metadata
    assert (metadata["rows_staged"].value, metadata["rows_quarantined"].value, metadata["values_cleared"].value) == (6, 0, 2)
    assert metadata["cleared_values"].value == "| column | rule | values |\n|---|---|---|\n| imd_decile | in_range | 1 |\n| imd_decile | type | 1 |"


def test_ceiling_is_configurable(inputs, tmp_path, monkeypatch):
    monkeypatch.delenv("OUTCOMES_PSEUDONYM_KEY", raising=False)
    append_rows(inputs / "grants.csv", "G9,F,TB01,-1,2023-01-01,2023-12-31")
    config = tmp_path / "config.yaml"
    config.write_text("ingest:\n  max_quarantined_share: 0.5\n")
    assert run(inputs, tmp_path, config_path=str(config)).success


def test_refuses_to_run_without_a_key(inputs, tmp_path, monkeypatch):
    """Refused when the run's resources start, before any step (each ingest step used to fail in turn)."""
    from tests.pipelines.test_first_run import refused_in_ui

    monkeypatch.delenv("OUTCOMES_PSEUDONYM_KEY", raising=False)
    assert "OUTCOMES_PSEUDONYM_KEY is not set" in refused_in_ui(run(inputs, tmp_path, demo=False), tmp_path)


def test_bad_config_names_the_field(tmp_path):
    from models.config import ConfigError, load_config

    bad = tmp_path / "c.yaml"
    bad.write_text("ingest:\n  max_quarantined_share: 2\n")
    with pytest.raises(ConfigError, match="max_quarantined_share"):
        load_config(bad)


def test_every_page_is_built_after_the_run_record():
    """Each page reads the run's record (its demo flag): the data-quality page, built straight after ingest, read the
    previous run's flag, or none on a first demo run (no demo banner)."""
    graph = defs.resolve_asset_graph()
    pages = [k for k in graph.get_all_asset_keys() if k.path[0] == "dashboards"]
    assert len(pages) == 5
    for key in pages:
        assert dg.AssetKey(["meta", "run_record"]) in graph.get(key).parent_keys, key
