"""The model-output interface and deadweight from the matched comparison group."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest

from models.social_value import ModelOutput, SocialValueError, deadweight_from_comparison, evaluate, model_output_key, parse_impact_map, resolve
from models.social_value.proxies import DeflatorTable

DEFLATORS = DeflatorTable(index={2024: Decimal(100)})
PROXY = {"id": "p", "description": "d", "value": 1000, "unit": "person", "price_year": 2024, "source": "s", "licence": "CC0-1.0"}


def _map(**outcome):
    o = {"id": "w", "stakeholder": "s", "quantity": "wellbeing", "proxy": "p", "duration": 1, **outcome}
    return parse_impact_map({"price_year": 2024, "investment": 10000, "proxy_tables": [], "proxies": [PROXY], "outcomes": [o]})


def test_key_convention():
    assert model_output_key("hours_given") == "hours_given"
    assert model_output_key("hours_given", "riverside") == "hours_given@riverside"
    assert model_output_key("hours_given", "overall") == "hours_given"


def test_from_mapping_with_extras():
    mo = ModelOutput.from_value("k", {"estimate": 12.3, "ci_low": 4.1, "ci_high": 20.0, "n": 300, "verdict": "reduction"})
    assert mo.estimate == 12.3 and mo.n == 300 and mo.extra == {"verdict": "reduction"}
    assert mo.se == pytest.approx((20.0 - 4.1) / 3.92)
    assert mo.estimand == "net" and not mo.is_nonnegative
    assert ModelOutput.from_value("k", ModelOutput(estimate=1.0)) == ModelOutput(estimate=1.0)


@pytest.mark.parametrize("record, words", [
    ({"estimate": None}, "no results"),
    ({"estimate": float("nan")}, "no results"),
    ({}, "no results"),
    ({"estimate": 5, "ci_low": 1}, "both"),
    ({"estimate": 5, "ci_low": 6, "ci_high": 9}, "does not contain"),
    ({"estimate": 5, "comparison_rate": 1.4}, "proportion"),
    ({"estimate": 5, "estimand": "total"}, "estimand"),
    ({"estimate": 5, "direction": "up"}, "direction"),
    ({"estimate": -5, "estimand": "gross"}, "negative"),
    ({"estimate": "12"}, "must be a number"),
    ({"estimate": 5, "n": 2.5}, "whole number"),
])
def test_invalid_records(record, words):
    with pytest.raises(SocialValueError, match=words):
        ModelOutput.from_value("k", record, outcome="o")


def test_missing_model_results_name_outcome_and_field():
    for outputs in (None, {}, {"wellbeing": None}, {"wellbeing": {"estimate": None}}):
        with pytest.raises(SocialValueError) as info:
            resolve(_map(), outputs, deflators=DEFLATORS)
        assert (info.value.outcome, info.value.field) == ("w", "quantity")
        assert "'wellbeing'" in str(info.value) and "no results" in str(info.value)


def test_deadweight_higher_is_better():
    # participants 40% improve, comparison 25%: deadweight = 0.25/0.40 = 62.5%
    mo = ModelOutput(estimate=80, comparison_rate=0.25, participant_rate=0.40, estimand="gross", direction="higher_is_better",
                     comparison="matched")
    assert deadweight_from_comparison(mo, "k", outcome="o") == Decimal("0.625")


def test_deadweight_lower_is_better():
    # readmission 10% vs 14%: success 0.90 vs 0.86; deadweight = 0.86/0.90 = 0.955...
    mo = ModelOutput(estimate=270, comparison_rate=0.14, participant_rate=0.10, estimand="gross", direction="lower_is_better",
                     comparison="matched")
    dw = deadweight_from_comparison(mo, "k", outcome="o")
    assert round(dw, 6) == Decimal("0.955556")
    # gross 270 (300 x 0.90 not readmitted) x (1 - dw) = 12 = 300 x (0.14 - 0.10) avoided
    assert round(Decimal(270) * (1 - dw), 10) == 12


def test_deadweight_capped_at_100_percent():
    mo = ModelOutput(estimate=10, comparison_rate=0.5, participant_rate=0.4, estimand="gross", direction="higher_is_better",
                     comparison="matched")
    assert deadweight_from_comparison(mo, "k", outcome="o") == 1


def test_deadweight_errors():
    with pytest.raises(SocialValueError, match="comparison_rate"):
        deadweight_from_comparison(ModelOutput(estimate=1, estimand="gross"), "k", outcome="o")
    with pytest.raises(SocialValueError, match="direction"):
        deadweight_from_comparison(ModelOutput(estimate=1, comparison_rate=0.1, participant_rate=0.2), "k", outcome="o")
    with pytest.raises(SocialValueError, match="no participants"):
        deadweight_from_comparison(
            ModelOutput(estimate=1, comparison_rate=0.1, participant_rate=0.0, direction="higher_is_better",
                        comparison="matched"), "k", outcome="o"
        )


def test_from_comparison_end_to_end():
    # gross 80 of n = 200 improve (40%); comparison 25%: DW 62.5%, net 80 x 0.375 = 30 = 200 x (0.40 - 0.25)
    # impact 30 x £1,000 = 30,000; PV = 30,000/1.035 = 28,985.51
    outputs = {"wellbeing": {"estimate": 80, "n": 200, "comparison_rate": 0.25, "participant_rate": 0.40,
                             "estimand": "gross", "direction": "higher_is_better", "comparison": "matched"}}
    r = resolve(_map(deadweight="from_comparison"), outputs, deflators=DEFLATORS)
    assert r.outcomes[0].deadweight == Decimal("0.625")
    assert r.outcomes[0].deadweight_source == "from_comparison:wellbeing"
    assert round(evaluate(r).overall.pv, 2) == Decimal("28985.51")


@pytest.mark.parametrize("comparison, said", [("unmatched", "says its rates are not"), (None, "does not say")])
def test_from_comparison_needs_the_matched_comparison_rate(comparison, said):
    # 40% of members improve against 25% of everyone else, unmatched: 0.25/0.40 would be taken as deadweight, though the
    # two groups differ in who they are as well as in what the programme did. Refused unless the rate is the matched one.
    record = {"estimate": 80, "n": 200, "comparison_rate": 0.25, "participant_rate": 0.40, "estimand": "gross",
              "direction": "higher_is_better", "comparison": comparison}
    with pytest.raises(SocialValueError, match=said) as info:
        resolve(_map(deadweight="from_comparison"), {"wellbeing": record}, deflators=DEFLATORS)
    assert (info.value.outcome, info.value.field) == ("w", "deadweight") and "matched sample" in str(info.value)
    with pytest.raises(SocialValueError, match="'comparison' must be 'matched' or 'unmatched'"):
        ModelOutput.from_value("wellbeing", {**record, "comparison": "nearest"})


def test_from_comparison_on_a_net_estimate_is_refused():
    outputs = {"wellbeing": {"estimate": 12.3, "comparison_rate": 0.14, "participant_rate": 0.10, "direction": "lower_is_better"}}
    with pytest.raises(SocialValueError) as info:
        resolve(_map(deadweight="from_comparison"), outputs, deflators=DEFLATORS)
    assert (info.value.outcome, info.value.field) == ("w", "deadweight")
    assert "twice" in str(info.value)


def test_from_comparison_named_output_with_fixed_quantity():
    outputs = {"rates": {"estimate": 0, "comparison_rate": 0.2, "participant_rate": 0.5, "estimand": "gross",
                         "direction": "higher_is_better", "comparison": "matched"}}
    r = resolve(_map(quantity=50, deadweight={"from_comparison": "rates"}), outputs, deflators=DEFLATORS)
    assert r.outcomes[0].deadweight == Decimal("0.4")
    with pytest.raises(SocialValueError) as info:
        resolve(_map(quantity=50, deadweight={"from_comparison": "rates"}), {}, deflators=DEFLATORS)
    assert (info.value.outcome, info.value.field) == ("w", "deadweight")


def test_scale_applies_to_estimate_and_interval():
    outputs = {"wellbeing": {"estimate": 120, "ci_low": 100, "ci_high": 140, "estimand": "gross"}}
    m = _map(quantity={"model_output": "wellbeing", "scale": 0.5})
    o = resolve(m, outputs, deflators=DEFLATORS).outcomes[0]
    assert o.quantity == 60 and o.quantity_interval == (Decimal(50), Decimal(70))
    assert o.quantity_nonnegative


def test_negative_net_estimate_is_a_harm():
    # a net effect below zero (more events than the comparison) is carried as a negative value
    outputs = {"wellbeing": {"estimate": -2, "ci_low": -5, "ci_high": 1}}
    assert evaluate(resolve(replace(_map(), base_case="evidenced"), outputs, deflators=DEFLATORS)).overall.pv == 0  # interval holds 0
    r = resolve(_map(), outputs, deflators=DEFLATORS)  # the point-estimate base case (the default)
    result = evaluate(r).overall
    assert round(result.pv, 2) == Decimal("-1932.37")  # -2 x 1,000 / 1.035
    assert result.payback_months is None
