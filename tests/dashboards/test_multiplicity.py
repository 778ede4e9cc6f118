"""An exploratory result significant on its own but not once the run's comparisons are allowed for (Holm) reads
inconclusive on every page element that judges it; a primary result is judged on its own interval.

The case is the demo's: the Wellbeing Star's "Feeling positive" area, -0.92 points (-1.46 to -0.37) on about 12
matched participants, "a significant deterioration" among 47 comparisons, whose Holm-adjusted p-value under a t
reference is 0.34 (the referee's review of 2026-12-05).

The register is read once, when a page's marts are loaded (``dashboards.marts.read_marts`` marks each effect row:
``multiplicity.mark``); the verdict list, the tiles, the "for every 100" chart and the evaluator's statements read the
mark, not the register.
"""

from __future__ import annotations

import re
from pathlib import Path

import duckdb
import pandas as pd

from dashboards import headlines, multiplicity, verdicts, wording
from dashboards.filters import make_filter
from dashboards.marts import read_marts
from dashboards.reoffending_sections import jdl_section
from models.disclosure import DisclosureRule

RULE = DisclosureRule()
READMISSION, REOFFENDING, WELLBEING = multiplicity.FAMILIES


def _register(role: str, holm: float, programme: str = "any") -> pd.DataFrame:
    return pd.DataFrame({"outcome_family": ["readmission"], "programme": [programme],
                         "outcome": ["readmitted_within_30_days"], "subgroup": [None], "analysis_role": [role],
                         "p_value": [0.001], "p_value_holm": [holm], "n_comparisons": [47]})


def _effects() -> pd.DataFrame:
    return pd.DataFrame({"comparison": ["any"], "status": ["estimated"], "risk_difference": [-0.05],
                         "rd_ci_low": [-0.09], "rd_ci_high": [-0.01], "participant_rate": [0.10], "comparison_rate": [0.15],
                         "n_matched": [120], "verdict": ["significant reduction"], "max_abs_smd_after": [0.05],
                         "covariates": ["age, sex"], "outcome": ["readmitted_within_30_days"],
                         "jdl_statement": ["For every 100 people in the comparison group, 15 were readmitted; for every "
                                           "100 participants, 10 were."]})


def _marked(register: pd.DataFrame | None) -> pd.DataFrame:
    return multiplicity.mark(_effects(), READMISSION, register)


def test_an_exploratory_result_that_holm_leaves_not_significant_reads_inconclusive():
    effects = _marked(_register("exploratory", 0.34))
    row = verdicts.readmission_row(effects, RULE)
    assert row["verdict"] == "inconclusive" and row["rag"] == "inconclusive"
    assert "is inconclusive: the true difference is likely between -9.0 and -1.0 points" in row["sentence"]
    assert "one of 47 comparisons in this run: allowing for them (Holm's method) its p-value is 0.34" in row["sentence"]
    said = wording.statements(effects, None, None, None, RULE).iloc[0]
    assert said["verdict"] == "inconclusive" and "its p-value is 0.34" in said["what you can say"]
    assert "The difference of -5.0 points (from the unrounded rates) is inconclusive" in said["what you can say"]
    tile = headlines.readmission(pd.DataFrame({"dimension": ["overall"], "value": ["all"], "readmissions": [30],
                                               "discharges": [300]}), effects, RULE, "all", "all", "all")
    assert tile.rag == "inconclusive"


def test_a_primary_result_and_one_holm_keeps_significant_are_judged_on_their_interval():
    for register in (_register("primary", 0.34), _register("exploratory", 0.01), None):
        effects = _marked(register)
        row = verdicts.readmission_row(effects, RULE)
        assert row["verdict"] == "significant reduction" and row["rag"] == "better", register
        assert "Holm" not in row["sentence"]
        said = wording.statements(effects, None, None, None, RULE).iloc[0]
        assert said["verdict"] == "significant reduction" and "Holm" not in said["what you can say"]


def test_an_inconclusive_result_needs_no_word_on_multiplicity():
    effects = multiplicity.mark(_effects().assign(rd_ci_high=[0.01], verdict=["inconclusive"]), READMISSION,
                                _register("exploratory", 1.0))
    row = verdicts.readmission_row(effects, RULE)
    assert row["rag"] == "inconclusive" and "Holm" not in row["sentence"]
    assert multiplicity.judged(effects.iloc[0], -0.09, 0.01, True) == "inconclusive"


def test_the_mark_holds_the_role_the_comparisons_and_the_adjusted_p_of_each_row():
    register = pd.concat([_register("exploratory", 0.34), _register("primary", 0.5, "timebank"),
                          _register("exploratory", 0.02, "programme")], ignore_index=True)
    effects = pd.concat([_effects().assign(comparison=[c]) for c in ("any", "timebank", "programme", "other")],
                        ignore_index=True)
    marked = multiplicity.mark(effects, READMISSION, register).set_index("comparison")
    assert [multiplicity.role(r) for _, r in marked.iterrows()] == [("exploratory", 47), ("primary", 47),
                                                                    ("exploratory", 47), ("not available", 47)]
    assert [multiplicity.held_back(r) for _, r in marked.iterrows()] == [0.34, None, None, None]
    # the register not built: no role and no comparisons; a frame never marked reads the same
    assert multiplicity.role(_marked(None).iloc[0]) == ("not available", None)
    assert multiplicity.role(_effects().iloc[0]) == ("not available", None) and multiplicity.held_back(_effects().iloc[0]) is None


def _warehouse(path: Path, register: bool) -> duckdb.DuckDBPyConnection:
    """A real DuckDB file with the three effects marts (one exploratory result each, significant on its own interval,
    Holm-adjusted p 0.34) and, when ``register``, the run's register."""
    con = duckdb.connect(str(path))
    con.execute("CREATE SCHEMA marts")
    frames = {
        "readmission_effects": _effects(),
        "reoffending_effects": pd.DataFrame({
            "programme": ["any_participation", "timebank:TB03"], "measure": ["binary_rate"] * 2, "estimable": [True] * 2,
            "n_matched": [120, 100], "participant_value": [0.20, 0.20], "comparison_value": [0.35, 0.35],
            "estimate": [-0.15] * 2, "ci_low": [-0.28] * 2, "ci_high": [-0.02] * 2, "verdict": ["significant reduction"] * 2,
            "max_abs_smd": [0.05] * 2, "covariates": ["age, sex"] * 2,
            "per_100_statement": ["For every 100 people in the comparison group, 35 reoffended; for every 100 "
                                  "participants, 20."] * 2}),
        "wellbeing_effects": pd.DataFrame({
            "star_version": ["all"], "area": ["mean_of_areas"], "outcome": ["improvement"], "n_matched": [120],
            "estimate": [0.5], "ci_low": [0.1], "ci_high": [0.9], "treated_value": [0.7], "comparison_value": [0.2],
            "interpretation": ["improvement"], "status": ["estimated"], "max_abs_smd_after": [0.05],
            "covariates": ["age"]}),
    }
    if register:
        frames["effect_register"] = pd.DataFrame({
            "outcome_family": ["readmission", "reoffending", "reoffending", "wellbeing"],
            "programme": ["any", "any_participation", "timebank:TB03", "all"],
            "outcome": ["readmitted_within_30_days", "binary_rate", "binary_rate", "improvement"],
            "subgroup": [None, None, None, "mean_of_areas"], "analysis_role": ["exploratory"] * 4,
            "p_value": [0.008] * 4, "p_value_holm": [0.34] * 4, "n_comparisons": [47] * 4})
    for name, frame in frames.items():
        con.register("frame", frame)
        con.execute(f"CREATE TABLE marts.{name} AS SELECT * FROM frame")
        con.unregister("frame")
    return con


NAMES = ("readmission_effects", "reoffending_effects", "wellbeing_effects")


def test_read_marts_marks_every_effects_mart_from_the_register_once(tmp_path):
    """The page need not name the register: reading the effects marts reads it and marks them; without it built,
    every row says the role is not available and is judged on its own interval."""
    with _warehouse(tmp_path / "w.duckdb", register=True) as con:
        m = read_marts(con, NAMES, RULE)
    for name in NAMES:
        assert (m[name][multiplicity.HELD] == 0.34).all() and (m[name][multiplicity.ROLE] == "exploratory").all(), name
    with _warehouse(tmp_path / "bare.duckdb", register=False) as con:
        bare = read_marts(con, NAMES, RULE)
    for name in NAMES:
        assert bare[name][multiplicity.HELD].isna().all() and (bare[name][multiplicity.ROLE] == "not available").all()


def test_every_element_that_judges_an_effect_reads_the_same_mark(tmp_path):
    """The verdict list, the three tiles, the "for every 100" chart and the evaluator's statements all read
    inconclusive for the held-back results, and all read the interval's own verdict without the register."""
    rates = pd.DataFrame({"dimension": ["overall"], "value": ["all"], "readmissions": [30], "discharges": [300]})
    offending = pd.DataFrame({"cohort_period": ["all"] * 3, "event_type": ["all"] * 3, "reoffenders": [30, 20, 300],
                              "programme": ["any_participation", "timebank:TB03", "no_participation"],
                              "persons": [120, 100, 1000]})
    filters = [make_filter("timebank", "Time bank", "All time banks", ["TB03"])]
    for register, expected in ((True, "inconclusive"), (False, "better")):
        with _warehouse(tmp_path / f"{register}.duckdb", register) as con:
            m = read_marts(con, NAMES, RULE)
        frame = verdicts.rows({**m, "social_value": None, "impact_map": None}, RULE)
        assert frame["rag"].tolist()[:3] == [expected] * 3, register
        assert (frame["sentence"].str.contains("Holm's method").tolist()[:3] == [register] * 3)
        tiles = [headlines.readmission(rates, m["readmission_effects"], RULE, "all", "all", "all"),
                 headlines.reoffending(offending.assign(status="final"), m["reoffending_effects"], RULE, "all", "all"),
                 headlines.reoffending(offending.assign(status="final"), m["reoffending_effects"], RULE, "TB03", "all"),
                 headlines.wellbeing(m["wellbeing_effects"], RULE, "all", "all")]
        assert [t.rag for t in tiles] == [expected] * 4, register
        items = jdl_section(offending, m["reoffending_effects"], RULE, filters).variants.items
        for choice in ("all", "TB03"):
            summary = items[choice].summary
            assert ("is inconclusive" in summary and "Holm's method" in summary) == register, (register, choice)
            assert ("is a reduction" in summary) != register
        said = wording.statements(m["readmission_effects"], m["reoffending_effects"], m["wellbeing_effects"], None, RULE)
        assert set(said["verdict"]) == ({"inconclusive"} if register else {"significant reduction", "significant improvement"})
        assert said["analysis role"].str.startswith("Exploratory result (47 comparisons" if register
                                                    else "Analysis role not available").all()


def test_only_the_mart_reader_reads_the_register():
    """One mark, one reader: no page module looks the register up for itself (four did, each its own way)."""
    modules = Path(multiplicity.__file__).parent.glob("*.py")
    readers = {p.name for p in modules if re.search(r"\[\s*[\"']effect_register[\"']\s*\]|p_value_holm|register_row",
                                                    p.read_text(encoding="utf-8"))}
    assert readers == {"multiplicity.py"}
