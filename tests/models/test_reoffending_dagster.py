"""The reoffending assets materialised by Dagster on top of the ingest assets."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import dagster as dg
import duckdb

from models.config import OutcomesConfig
from models.reoffending import ReoffendingSettings
from models.reoffending.tables import MARTS
from pipelines.assets.reoffending import reoffending_assets
from pipelines.ingest.assets import ingest_assets
from pipelines.resources import Settings, Warehouse

REPO = Path(__file__).resolve().parents[2]
SOURCES = {"persons", "justice_events", "offences", "programme_enrolments", "timebank_members"}


def run(inputs, tmp_path, assets):
    resources = {
        "warehouse": Warehouse(path=str(tmp_path / "w.duckdb")),
        "settings": Settings(input_dir=str(inputs), output_dir=str(tmp_path / "out"), demo=True),
    }
    return dg.materialize([*assets, *reoffending_assets], resources=resources, raise_on_error=False)


def test_asset_graph():
    keys = {k.to_user_string() for a in reoffending_assets for k in a.keys}
    assert keys == {"core/justice_cohort", "marts/reoffending_rates", "marts/reoffending_effects",
                    "marts/reoffending_survival", "marts/reoffending_avoided", "marts/reoffending_cox"}
    defs = dg.Definitions(assets=[*ingest_assets, *reoffending_assets], resources={"warehouse": Warehouse(), "settings": Settings()})
    dg.Definitions.validate_loadable(defs)
    cohort = [a for a in reoffending_assets if dg.AssetKey(["core", "justice_cohort"]) in a.keys][0]
    deps = {k.to_user_string() for k in cohort.asset_deps[dg.AssetKey(["core", "justice_cohort"])]}
    assert deps == {f"staging/{s}" for s in SOURCES}


def test_materialises_on_the_fixture_and_explains_what_it_cannot_estimate(inputs, tmp_path, monkeypatch):
    monkeypatch.delenv("OUTCOMES_PSEUDONYM_KEY", raising=False)
    result = run(inputs, tmp_path, ingest_assets)
    assert result.success
    ours = [e for e in result.get_asset_check_evaluations() if e.asset_key.path[0] in ("core", "marts")]
    # the three reoffending checks, estimates_complete on the effects, and the aggregate_only check of each of
    # the five published marts, all evaluated inside the assets (no step of their own)
    assert len(ours) == 9 and all(e.passed for e in ours)
    steps = [e.step_key for e in result.get_step_success_events()]
    assert not [k for k in steps if k.endswith(("cohort_rules_hold", "overall_row_reconciles", "every_effect_explained",
                                                "estimates_complete"))], steps
    assert sorted(e.asset_key.path[1] for e in ours if e.check_name == "aggregate_only") == [
        "reoffending_avoided", "reoffending_cox", "reoffending_effects", "reoffending_rates", "reoffending_survival"]
    with duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM core.justice_cohort").fetchone()[0] == 2
        for table, cols in MARTS.items():
            described = [r[0] for r in con.execute(f"DESCRIBE {table}").fetchall()]
            assert described == [c.name for c in cols], table
        run_ids = con.execute("SELECT DISTINCT run_id FROM marts.reoffending_rates").fetchall()
        assert run_ids == [(result.run_id,)]
        reasons = {r[0] for r in con.execute("SELECT not_estimable_reason FROM marts.reoffending_effects").fetchall()}
        # both people in the fixture take part in something; under the risk-set design a person who
        # starts after the index date is a comparison person until then, but two people are too few
        assert reasons and all(r.startswith("not estimable: cohort too small to match") or
                               r == "not estimable: no non-participants to form a comparison group" for r in reasons)
        assert con.execute("SELECT count(*) FROM marts.reoffending_survival").fetchone()[0] == 0


def test_empty_justice_sources_give_empty_marts(tmp_path, monkeypatch):
    monkeypatch.delenv("OUTCOMES_PSEUDONYM_KEY", raising=False)
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "persons.csv").write_text("person_id,birth_date,sex\nP1,1990-01-01,male\n")
    assets = [a for a in ingest_assets if a.key.path[-1] in SOURCES]
    result = run(folder, tmp_path, assets)
    assert result.success
    with duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True) as con:
        for table in ("core.justice_cohort", "marts.reoffending_rates", "marts.reoffending_survival",
                      "marts.reoffending_avoided"):
            assert con.execute(f"SELECT count(*) FROM {table}").fetchone()[0] == 0, table
        effects = con.execute("SELECT programme, estimable, not_estimable_reason FROM marts.reoffending_effects").fetchall()
        assert {e[0] for e in effects} == {"any_participation"} and not any(e[1] for e in effects)
        assert all(e[2].startswith("not estimable: no final cohort") for e in effects)


class _ConfigWithReoffending(OutcomesConfig):
    """Stands in for the central config once the lead adds the ``reoffending`` section."""

    reoffending: ReoffendingSettings = ReoffendingSettings()


def test_evaluator_settings_reach_the_assets(tmp_path, monkeypatch):
    monkeypatch.delenv("OUTCOMES_PSEUDONYM_KEY", raising=False)
    out = tmp_path / "synthetic"
    subprocess.run([sys.executable, "-m", "data.generate", "--persons", "8000", "--seed", "7", "--out", str(out),
                    "--quiet"], check=True, cwd=REPO)
    section = ReoffendingSettings(
        follow_up_days=300, waiting_days=150, exclude_programmes=("peer_visiting_after_discharge",),
        covariates=("age", "sex", "imd_decile", "event_type", "prior_convictions", "employment", "marital_status"),
    )
    monkeypatch.setattr(Settings, "config", lambda self: _ConfigWithReoffending(reoffending=section))
    assets = [a for a in ingest_assets if a.key.path[-1] in SOURCES]
    result = run(out, tmp_path, assets)
    assert result.success
    with duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True) as con:
        gap = con.execute("SELECT DISTINCT date_diff('day', index_date, follow_up_end), "
                          "date_diff('day', index_date, proof_deadline) FROM core.justice_cohort").fetchall()
        assert gap == [(300, 450)]
        row = con.execute("SELECT covariates, estimable, n_matched FROM marts.reoffending_effects "
                          "WHERE programme = 'any_participation' AND measure = 'binary_rate'").fetchone()
        assert row[0] == "age, sex, imd_decile, event_type, prior_convictions, employment, marital_status"
        assert row[1] and row[2] > 30
        terms = {r[0] for r in con.execute("SELECT term FROM marts.reoffending_cox WHERE programme = 'any_participation'").fetchall()}
        assert any(t.startswith("employment[") for t in terms) and any(t.startswith("marital_status[") for t in terms)
        assert con.execute("SELECT max(time_days) FROM marts.reoffending_survival").fetchone()[0] == 300
