"""The pages name the readmission window and reoffending follow-up the run used, not the NHS / MoJ defaults.

An evaluator who set ``readmission.window_max_days: 13`` read "30-day emergency readmission:
participants 4.2% against 5.9%" beside a design sentence saying follow-up "runs to day 13";
with ``reoffending.follow_up_days: 180`` the pages still said "within a year".
"""

import datetime as dt
import json
import shutil

import dagster as dg
import duckdb
import pandas as pd
import pytest

from dashboards import commissioner, headlines, verdicts, wording
from dashboards.windows import NHS_MOJ, Windows, WindowsDisagree, read_windows
from models.config import OutcomesConfig
from models.disclosure import DisclosureRule
from pipelines.assets.pages import page_assets
from pipelines.assets.readmission import readmission_assets
from pipelines.resources import Settings, Warehouse

RULE = DisclosureRule()
SHORT = Windows(readmission_first=0, readmission_last=13, reoffending_days=180)

READMISSION = pd.DataFrame({
    "comparison": ["any"], "status": ["estimated"], "verdict": ["inconclusive"], "n_matched": [300],
    "participant_rate": [0.05], "comparison_rate": [0.07], "risk_difference": [-0.02], "rd_ci_low": [-0.05],
    "rd_ci_high": [0.01], "max_abs_smd_after": [0.05], "covariates": ["age, sex"],
    "jdl_statement": ["For every 100 people in the comparison group, 7 were readmitted within 14 days; for every 100 "
                      "participants, 5 were."],  # as the model words it for the window 0-13
    "design_sentence": ["Follow-up starts on the day each participant started and runs to day 13 after discharge."],
})
REOFFENDING = pd.DataFrame({
    "programme": ["any_participation"], "measure": ["binary_rate"], "verdict": ["inconclusive"], "n_matched": [200],
    "participant_value": [0.2], "comparison_value": [0.3], "estimate": [-0.1], "ci_low": [-0.2], "ci_high": [0.0],
    "max_abs_smd": [0.05], "covariates": ["age, sex"], "estimable": [True],
    "per_100_statement": ["For every 100 people in the comparison group, 30 reoffended; for every 100 participants, 20."],
    "design_sentence": ["Follow-up runs to day 180."],
})


def test_words_of_the_nhs_and_moj_windows_and_of_others():
    assert (NHS_MOJ.readmission, NHS_MOJ.readmitted_within, NHS_MOJ.reoffending) == (
        "30-day emergency readmission", "within 30 days", "Proven reoffending within a year")
    assert (SHORT.readmission, SHORT.readmitted_within, SHORT.reoffending) == (
        "14-day emergency readmission", "within 14 days", "Proven reoffending within 180 days")
    later = Windows(readmission_first=2, readmission_last=29)
    assert later.readmission == "Emergency readmission on days 2-29 after discharge"


def _record(con, run_id: str, config: OutcomesConfig, at: dt.datetime) -> None:
    con.execute("INSERT INTO meta.runs VALUES (?, ?, ?)", [run_id, at, json.dumps(config.model_dump(mode="json"))])


def test_windows_are_read_from_the_run_that_wrote_each_effects_mart(tmp_path):
    """A real warehouse: run A (window 0-13) wrote the readmission effects, run B (follow-up 180, window default)
    wrote the reoffending effects and is the latest. Each outcome takes its own run's window."""
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    assert read_windows(con) == NHS_MOJ  # nothing recorded: the defaults
    con.execute("CREATE SCHEMA meta; CREATE SCHEMA marts")
    con.execute("CREATE TABLE meta.runs (run_id VARCHAR, recorded_at TIMESTAMP, config VARCHAR)")
    a = OutcomesConfig.model_validate({"readmission": {"window_max_days": 13, "enrolment_days_after_discharge": 13}})
    b = OutcomesConfig.model_validate({"reoffending": {"follow_up_days": 180}})
    _record(con, "A", a, dt.datetime(2025, 1, 1))
    _record(con, "B", b, dt.datetime(2025, 1, 2))
    con.execute("CREATE TABLE marts.readmission_effects AS SELECT 'A' AS run_id, 'any' AS comparison")
    con.execute("CREATE TABLE marts.reoffending_effects AS SELECT 'B' AS run_id, 'any_participation' AS programme")
    assert read_windows(con) == SHORT
    con.execute("UPDATE marts.readmission_effects SET run_id = 'B'")  # rewritten by B: B's window, the default
    assert read_windows(con) == Windows(0, 29, 180)


def test_evaluator_statements_name_the_window_used():
    says = wording.statements(READMISSION, REOFFENDING, None, None, RULE, windows=SHORT)
    readmission, reoffending = says.iloc[0], says.iloc[1]
    assert readmission["result"] == "Readmission within 14 days: any"
    assert readmission["what you can say"].startswith("14-day emergency readmission: participants 5.0% against 7.0%")
    assert reoffending["what you can say"].startswith("Proven reoffending within 180 days: participants 20.0% against 30.0%")
    default = wording.statements(READMISSION, REOFFENDING, None, None, RULE)
    assert default.iloc[0]["result"] == "Readmission within 30 days: any"


def test_commissioner_verdicts_and_tiles_name_the_window_used():
    row = verdicts.readmission_row(READMISSION, RULE, SHORT)
    assert row["outcome"] == "14-day emergency readmission"
    assert "7 were readmitted within 14 days" in row["sentence"] and "30 days" not in row["sentence"]
    assert verdicts.reoffending_row(REOFFENDING, RULE, SHORT)["outcome"] == "Proven reoffending within 180 days"
    assert commissioner.tile_label("readmission", "30-day emergency readmission", SHORT) == "14-day emergency readmission"
    assert commissioner.tile_label("reoffending", "x", SHORT) == "Proven reoffending within 180 days"
    rates = pd.DataFrame({"dimension": ["overall"], "value": ["all"], "discharges": [1000], "readmissions": [100],
                          "rate": [0.1]})
    tile = headlines.readmission(rates, READMISSION, RULE, "all", "all", "all", SHORT)
    assert "within 14 days" in tile.note and "30 days" not in tile.note and "(NHS)" not in tile.note
    assert "within 30 days (NHS)" in headlines.readmission(rates, READMISSION, RULE, "all", "all", "all").note


def test_the_glossary_says_when_the_follow_up_is_not_the_year():
    """The evaluator's glossary gives the MoJ definition (within a year); a run following 180 days says so beside it."""
    from dashboards import glossary

    usual = glossary.terms_section(glossary.EVALUATOR, RULE).html
    short = glossary.terms_section(glossary.EVALUATOR, RULE, SHORT).html
    assert "within a year of the index date" in usual and "This run follows" not in usual
    assert "(Ministry of Justice). This run follows 180 days instead of the year. The Justice Data Lab" in short


def _materialise(warehouse, site, config, *keys: str) -> dg.ExecuteInProcessResult:
    """A real Dagster run of the assets ``keys`` only ("Materialize selected") on ``warehouse``, with ``config``."""
    resources = {"warehouse": Warehouse(path=str(warehouse)),
                 "settings": Settings(input_dir=str(config.parent), output_dir=str(site), config_path=str(config), demo=True)}
    return dg.materialize([*readmission_assets, *page_assets], resources=resources, raise_on_error=False,
                          selection=[dg.AssetKey(k.split("/")) for k in keys])


def test_a_mart_is_not_built_on_discharges_counted_in_another_window(demo_run, tmp_path):
    """The reviewer's route to two windows on one page: shorten the readmission window, then materialise only
    the effects mart. The effects asset refuses, naming the setting; materialising the discharges with it builds it.
    The rates mart, left from the 30-day build, then disagrees with the effects: the pages refuse to name either."""
    _, full, _ = demo_run
    warehouse, site = tmp_path / "w.duckdb", tmp_path / "site"
    shutil.copy(full, warehouse)
    config = tmp_path / "settings.yaml"
    config.write_text("readmission:\n  window_max_days: 13\n  enrolment_days_after_discharge: 13\n")

    refused = _materialise(warehouse, site, config, "marts/readmission_effects")
    assert not refused.success
    (failure,) = [e for e in refused.all_events if e.is_step_failure]
    said = failure.step_failure_data.user_failure_data.description
    assert ("core.index_discharges was built under other settings than this run's (readmission.enrolment_days_after_"
            "discharge: 14 when core.index_discharges was built, 13 now; readmission.window_max_days: 29 when "
            "core.index_discharges was built, 13 now)") in said
    with duckdb.connect(str(warehouse), read_only=True) as con:
        assert read_windows(con) == NHS_MOJ  # nothing was written

    built = _materialise(warehouse, site, config, "core/index_discharges", "marts/readmission_effects")
    assert built.success
    with duckdb.connect(str(warehouse), read_only=True) as con:
        sentence = con.execute("SELECT design_sentence FROM marts.readmission_effects WHERE comparison = 'any'").fetchone()[0]
        assert "day 13" in sentence
        with pytest.raises(WindowsDisagree, match=r"marts.readmission_effects with readmission.window_min_days 0, "
                                                  r"readmission.window_max_days 13; marts.readmission_rates with "
                                                  r"readmission.window_min_days 0, readmission.window_max_days 29"):
            read_windows(con)

    page = _materialise(warehouse, site, config, "dashboards/commissioner_page")
    assert not page.success and not (site / "commissioner.html").exists()
    (failure,) = [e for e in page.all_events if e.is_step_failure]
    assert "materialise them again together" in failure.step_failure_data.user_failure_data.description

    rest = [f"marts/readmission_{t}" for t in ("rates", "funnel", "before_after", "avoided")] + ["marts/service_use_change"]
    assert _materialise(warehouse, site, config, *rest).success
    with duckdb.connect(str(warehouse), read_only=True) as con:
        assert read_windows(con) == Windows(0, 13, 365)
