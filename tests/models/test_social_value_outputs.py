"""The marts: social_value, social_value_sensitivity, impact_map (columns, sources, example map)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from models.social_value import run_social_value

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures"
EXAMPLE = ROOT / "data" / "impact_map.example.yaml"
DOCS = ROOT / "docs" / "social-value.md"


@pytest.fixture(scope="module")
def example_run():
    outputs = json.loads((FIXTURES / "social_value_model_outputs.json").read_text())
    return run_social_value(EXAMPLE, outputs, extra_proxy_tables=[FIXTURES / "social_value_illustrative_proxies.csv"], n_draws=2000)


@pytest.fixture(scope="module")
def worked_run():
    return run_social_value(FIXTURES / "sroi_worked_case.yaml", monte_carlo=False)


def test_social_value_mart(worked_run):
    sv = worked_run.social_value
    assert list(sv.columns[:9]) == ["scope", "pv", "npv", "ratio", "net_ratio", "payback_months", "ratio_ci_low",
                                    "ratio_ci_high", "n_draws"]
    row = sv.iloc[0]
    assert (row.scope, row.pv, row.npv, row.payback_months, row.n_draws) == ("overall", 118988.20, 18988.20, 20.03, 0)
    assert round(row.ratio, 3) == 1.190 and pd.isna(row.ratio_ci_low)


def test_example_marts(example_run):
    sv = example_run.social_value
    assert list(sv.scope) == ["overall"]  # the hours are outputs: no outcome is valued for one bank, so no bank row
    assert (sv.n_draws == 2000).all()
    overall = sv.iloc[0]
    assert overall.ratio_ci_low < overall.ratio_point_estimate < overall.ratio_ci_high and overall.base_case == "point_estimate"
    # the evidenced (conservative) case beside it: A&E and well-being, whose intervals include no effect, count 0
    assert overall.ratio == overall.ratio_point_estimate and overall.ratio_ci_low < overall.ratio_evidenced < overall.ratio
    im = example_run.impact_map
    assert len(im) == 9
    readm = im.set_index("outcome").loc["fewer_readmissions"]
    assert readm.quantity_source == "avoided_readmissions"
    assert (readm.quantity_estimate, readm.quantity_ci_low, readm.quantity_ci_high, readm.quantity_n) == (12.3, 4.1, 20.0, 300)
    wb = im.set_index("outcome").loc["better_wellbeing"]
    # the net matched change (40 person-points, interval -20 to 100), deadweight 0: the matched comparison is it
    assert wb.quantity_source == "wellbeing_matched_change" and wb.deadweight_source == "fixed" and wb.deadweight_pct == 0
    assert wb.proxy_licence == "OGL-UK-3.0" and wb.proxy_price_year == 2019
    # 13,000 x 100/81.1085 = 16,027.91; quantity 40 x scale 0.81 = 32.4 life-satisfaction points (interval -16.2 to 81)
    assert wb.proxy_value_reporting == 16027.91 and wb.quantity_estimate * wb.quantity_scale == pytest.approx(32.4)
    assert wb.quantity == pytest.approx(32.4)  # the point-estimate base case (the default)
    assert (wb.quantity_ci_low, wb.quantity_ci_high) == (pytest.approx(-16.2), pytest.approx(81.0))
    # at the point estimate, year 1 = 32.4 x 16,027.913227 x (1 - 0) x (1 - 0) = 519,304.39 (attribution 0: the
    # matched comparison nets out others); its interval (-16.2 to 81) includes no effect: 0 in the evidenced case
    assert wb.year1_impact == 519304.39 and wb.attribution_pct == 0
    assert wb.status == "valued at its point estimate; its 95% interval includes no effect (0 in the evidenced case)"
    evidenced = run_social_value(EXAMPLE, json.loads((FIXTURES / "social_value_model_outputs.json").read_text()),
                                 extra_proxy_tables=[FIXTURES / "social_value_illustrative_proxies.csv"], monte_carlo=False,
                                 base_case="evidenced")
    ev = evidenced.impact_map.set_index("outcome").loc["better_wellbeing"]
    assert ev.year1_impact == 0 and ev.status.startswith("valued at 0 in the base case")
    assert evidenced.social_value.ratio.iloc[0] == overall.ratio_evidenced
    riverside = im[im.scope == "riverside"].iloc[0]  # hours: an output, reported and not valued
    assert (riverside.outcome, riverside.quantity, riverside.status) == (
        "riverside_hours_exchanged", 5200.0, "output: reported, not valued (not in the ratio)")
    assert pd.isna(riverside.pv) and pd.isna(riverside.proxy_id)
    sens = example_run.social_value_sensitivity
    assert set(sens.scope) == {"overall"}  # the time banks have no investment (no outcome of their own)
    yearly = example_run.social_value_yearly
    assert yearly[yearly.outcome == "better_wellbeing"].year.tolist() == [1, 2]


def test_every_mart_column_is_documented(example_run):
    text = DOCS.read_text(encoding="utf-8")
    outputs = text[text.index("## Outputs"):]
    for name, frame in example_run.marts().items():
        assert f"`{name}`" in outputs, name
        for column in frame.columns:
            assert f"`{column}`" in outputs, (name, column)
