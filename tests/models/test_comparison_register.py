"""The effect register: union of the effects marts, roles, adjusted p-values (hand-checkable)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.multitest import multipletests

from models.comparison.register import REGISTER_COLUMNS, EffectRegisterSettings, effect_register
from schemas.marts import mart


def readmission():
    return pd.DataFrame({
        "comparison": ["any", "timebank", "programme"], "outcome": "readmitted_within_30_days",
        "status": ["estimated", "estimated", "not estimated"], "risk_difference": [-0.03, -0.01, np.nan],
        "rd_ci_low": [-0.05, -0.04, np.nan], "rd_ci_high": [-0.01, 0.02, np.nan], "rd_p_value": [0.004, 0.5, np.nan],
        "verdict": ["significant reduction", "inconclusive", "not estimated"], "n_matched": [300, 120, 0],
        "odds_ratio": [0.8, 0.9, np.nan],
    })


def reoffending():
    return pd.DataFrame({
        "programme": ["any_participation", "any_participation", "P1"], "measure": ["binary_rate", "frequency", "binary_rate"],
        "effect_measure": ["risk_difference", "mean_difference", "risk_difference"], "estimate": [-0.05, -0.2, 0.01],
        "ci_low": [-0.09, -0.4, -0.05], "ci_high": [-0.01, 0.0, 0.07], "p_value": [0.02, 0.049, 0.7],
        "verdict": ["significant reduction", "inconclusive", "inconclusive"], "n_matched": [200, 200, 80],
        "design_sentence": ["Follow-up starts on the day each participant joined.", None, None],
        "estimand": ["ATT", "ATT", "effect on the matched participants"], "share_participants_matched": [0.99, 0.99, 0.7],
    })


def wellbeing():
    return pd.DataFrame({
        "star_version": ["Outcomes Star v1"] * 2, "area": ["(mean of areas)", "Housing"], "outcome": "improvement",
        "measure": "mean_difference", "estimate": [0.4, 0.1], "ci_low": [0.1, -0.3], "ci_high": [0.7, 0.5],
        "p_value": [0.01, 0.6], "verdict": ["significant increase", "inconclusive"], "n_matched": [90, 90],
    })


def test_union_roles_and_adjusted_p_values():
    reg = effect_register({"readmission": readmission(), "reoffending": reoffending(), "wellbeing": wellbeing()},
                          EffectRegisterSettings())
    assert list(reg.columns) == list(REGISTER_COLUMNS)
    assert len(reg) == 3 + 3 + 2
    assert reg["outcome_family"].tolist() == ["readmission"] * 3 + ["reoffending"] * 3 + ["wellbeing"] * 2
    # default: 30-day readmission is every programme's primary outcome
    assert reg["analysis_role"].tolist() == ["primary"] * 3 + ["exploratory"] * 5
    # one test per row with a p-value: 7 (the programme comparison was not estimated)
    assert (reg["n_comparisons"] == 7).all()
    p = reg["p_value"].to_numpy()
    ok = np.isfinite(p)
    assert reg["p_value_holm"].to_numpy()[ok] == pytest.approx(multipletests(p[ok], method="holm")[1])
    assert reg["p_value_bh"].to_numpy()[ok] == pytest.approx(multipletests(p[ok], method="fdr_bh")[1])
    assert np.isnan(reg["p_value_holm"].iloc[2]) and np.isnan(reg["estimate"].iloc[2])
    # by hand: the smallest p (0.004) times 7
    assert reg.loc[0, "p_value_holm"] == pytest.approx(0.028)
    # design columns picked up where the mart has them, empty where it does not
    assert reg.loc[3, "design_sentence"].startswith("Follow-up starts")
    assert reg.loc[5, "estimand"] == "effect on the matched participants"
    assert reg.loc[5, "share_participants_matched"] == 0.7
    assert reg.loc[0, "estimand"] is None or pd.isna(reg.loc[0, "estimand"])
    assert reg.loc[6, "subgroup"] == "(mean of areas)" and reg.loc[6, "programme"] == "Outcomes Star v1"


def test_primary_outcome_per_programme_from_the_config():
    s = EffectRegisterSettings(primary_outcome={"*": "readmission:readmitted_within_30_days",
                                                "P1": "reoffending:binary_rate",
                                                "Outcomes Star v1": "wellbeing:improvement:(mean of areas)"})
    reg = effect_register({"reoffending": reoffending(), "wellbeing": wellbeing(), "readmission": None}, s)
    roles = dict(zip(zip(reg["programme"], reg["outcome"], reg["subgroup"].fillna("")), reg["analysis_role"]))
    assert roles[("P1", "binary_rate", "")] == "primary"
    assert roles[("any_participation", "binary_rate", "")] == "exploratory"
    assert roles[("Outcomes Star v1", "improvement", "(mean of areas)")] == "primary"
    assert roles[("Outcomes Star v1", "improvement", "Housing")] == "exploratory"
    assert (reg["n_comparisons"] == 5).all()


def test_bad_primary_outcome_is_refused_and_no_marts_give_no_rows():
    with pytest.raises(ValueError, match="family:outcome"):
        EffectRegisterSettings(primary_outcome={"*": "hospital:readmitted"})
    with pytest.raises(ValueError, match="extra"):
        EffectRegisterSettings(primary_outcomes={})
    empty = effect_register({"readmission": None, "reoffending": reoffending().head(0)}, EffectRegisterSettings())
    assert empty.empty and list(empty.columns) == list(REGISTER_COLUMNS)


def test_docs_list_every_column_and_the_setting():
    from pathlib import Path

    text = (Path(__file__).resolve().parents[2] / "docs" / "outputs-effects.md").read_text()
    for column in mart("marts.effect_register").columns:
        assert f"| `{column.name}` | {column.type} |" in text
    for field in EffectRegisterSettings.model_fields:
        assert f"`effects.{field}`" in text


def test_a_family_without_a_numeric_column_does_not_decide_its_type():
    """Readmission and well-being have no share_participants_matched (all None): the stacked column is
    float with the reoffending shares, and pandas' concat of all-NA entries (deprecated) is not relied on."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error", FutureWarning)
        reg = effect_register({"readmission": readmission(), "reoffending": reoffending(), "wellbeing": wellbeing()},
                              EffectRegisterSettings())
    shares = reg["share_participants_matched"]
    assert shares.dtype == np.float64
    assert shares.isna().tolist() == [True] * 3 + [False] * 3 + [True] * 2
    assert shares.iloc[3:6].tolist() == [0.99, 0.99, 0.7]
