"""An exploratory result significant on its own but not once the run's comparisons are allowed for (Holm) reads
inconclusive on every page element that judges it; a primary result is judged on its own interval.

The case is the demo's: the Wellbeing Star's "Feeling positive" area, -0.92 points (-1.46 to -0.37) on about 12
matched participants, "a significant deterioration" among 47 comparisons, whose Holm-adjusted p-value under a t
reference is 0.34 (the referee's review of 2026-12-05).
"""

from __future__ import annotations

import pandas as pd

from dashboards import headlines, multiplicity, verdicts, wording
from models.disclosure import DisclosureRule

RULE = DisclosureRule()


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


def test_an_exploratory_result_that_holm_leaves_not_significant_reads_inconclusive():
    register = _register("exploratory", 0.34)
    row = verdicts.readmission_row(_effects(), RULE, register)
    assert row["verdict"] == "inconclusive" and row["rag"] == "inconclusive"
    assert "is inconclusive: the true difference is likely between -9.0 and -1.0 points" in row["sentence"]
    assert "one of 47 comparisons in this run: allowing for them (Holm's method) its p-value is 0.34" in row["sentence"]
    said = wording.statements(_effects(), None, None, None, RULE, register=register).iloc[0]
    assert said["verdict"] == "inconclusive" and "its p-value is 0.34" in said["what you can say"]
    assert "The difference of -5.0 points is inconclusive" in said["what you can say"]
    tile = headlines.readmission(pd.DataFrame({"dimension": ["overall"], "value": ["all"], "readmissions": [30],
                                               "discharges": [300]}), _effects(), RULE, "all", "all", "all",
                                 register=register)
    assert tile.rag == "inconclusive"


def test_a_primary_result_and_one_holm_keeps_significant_are_judged_on_their_interval():
    for register in (_register("primary", 0.34), _register("exploratory", 0.01), None):
        row = verdicts.readmission_row(_effects(), RULE, register)
        assert row["verdict"] == "significant reduction" and row["rag"] == "better", register
        assert "Holm" not in row["sentence"]
        said = wording.statements(_effects(), None, None, None, RULE, register=register).iloc[0]
        assert said["verdict"] == "significant reduction" and "Holm" not in said["what you can say"]


def test_an_inconclusive_result_needs_no_word_on_multiplicity():
    effects = _effects().assign(rd_ci_high=[0.01], verdict=["inconclusive"])
    row = verdicts.readmission_row(effects, RULE, _register("exploratory", 1.0))
    assert row["rag"] == "inconclusive" and "Holm" not in row["sentence"]
    assert multiplicity.judged(_register("exploratory", 1.0), ("readmission", "any", "readmitted_within_30_days"),
                               -0.09, 0.01, True) == "inconclusive"
