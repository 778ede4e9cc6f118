"""Impact-map YAML: format, percentage semantics, and clear errors naming the outcome and field."""

from __future__ import annotations

import copy
from decimal import Decimal
from pathlib import Path

import pytest
import yaml

from models.social_value import SocialValueError, load_impact_map, parse_impact_map
from models.social_value.parsing import parse_int, parse_percent

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "data" / "impact_map.example.yaml"

BASE = {
    "price_year": 2024,
    "investment": {0: 1000},
    "proxy_tables": [],
    "outcomes": [
        {"id": "a", "stakeholder": "s", "quantity": 10, "proxy": "p", "deadweight": 20, "attribution": 25,
         "drop_off": 10, "duration": 2}
    ],
}


def _with(**changes):
    data = copy.deepcopy(BASE)
    data["outcomes"][0].update(changes)
    return data


def _error(data) -> SocialValueError:
    with pytest.raises(SocialValueError) as info:
        parse_impact_map(data)
    return info.value


# --- percentages ------------------------------------------------------------------------------

@pytest.mark.parametrize("value, expected", [
    (0, "0"), (20, "0.2"), (2.5, "0.025"), (100, "1"), ("20%", "0.2"), ("0.5%", "0.005"), ("1%", "0.01"), ("0%", "0"),
])
def test_percent_accepted(value, expected):
    assert parse_percent(value) == Decimal(expected)


@pytest.mark.parametrize("value, words", [
    (0.2, "ambiguous"), (1, "ambiguous"), (0.05, "ambiguous"), (120, "outside 0-100"), (-5, "outside 0-100"),
    ("120%", "outside"), ("20", "not a percentage"), (True, "expected a percentage"), (None, "expected a percentage"),
    ("abc%", "expected a percentage"),
])
def test_percent_rejected(value, words):
    with pytest.raises(SocialValueError, match=words):
        parse_percent(value, outcome="o", field="attribution")


def test_out_of_range_percentage_names_outcome_and_field():
    err = _error(_with(attribution=120))
    assert err.outcome == "a" and err.field == "attribution"
    assert "outcome 'a', field 'attribution'" in str(err)
    assert "0-100" in str(err)


def test_ambiguous_fraction_suggests_the_fix():
    err = _error(_with(deadweight=0.2))
    assert err.field == "deadweight"
    assert "write 20 for 20%" in str(err)


# --- other fields -----------------------------------------------------------------------------

@pytest.mark.parametrize("duration, words", [(-1, "at least 1"), (0, "at least 1"), (2.5, "whole years"), ("x", "duration")])
def test_bad_duration(duration, words):
    err = _error(_with(duration=duration))
    assert err.outcome == "a" and err.field == "duration"
    assert words in str(err)


def test_negative_fixed_quantity():
    err = _error(_with(quantity=-3))
    assert (err.outcome, err.field) == ("a", "quantity")


def test_unknown_key_suggests_the_right_one():
    data = _with()
    data["outcomes"][0]["dropoff"] = 10
    err = _error(data)
    assert err.field == "dropoff" and "did you mean 'drop_off'" in str(err)


def test_unknown_top_level_key():
    data = copy.deepcopy(BASE)
    data["investmnet"] = 5
    assert "did you mean 'investment'" in str(_error(data))


def test_missing_required_field():
    data = copy.deepcopy(BASE)
    del data["outcomes"][0]["proxy"]
    err = _error(data)
    assert (err.outcome, err.field) == ("a", "proxy")


def test_unknown_scope():
    err = _error(_with(scope="nowhere"))
    assert (err.outcome, err.field) == ("a", "scope")


def test_unknown_discount_schedule():
    err = _error(_with(discount="treasury"))
    assert (err.outcome, err.field) == ("a", "discount")


def test_custom_discount_rate_uses_percent_scale():
    r = parse_impact_map(_with(discount={"rate": 5})).outcomes[0].discount
    assert r.rate(1) == Decimal("0.05")
    err = _error(_with(discount={"rate": 0.05}))
    assert err.field == "discount.rate" and "ambiguous" in str(err)


def test_duplicate_outcome_ids():
    data = copy.deepcopy(BASE)
    data["outcomes"].append(copy.deepcopy(data["outcomes"][0]))
    assert _error(data).field == "id"


def test_investment_forms():
    for form, expected in [([1000, 500], {0: 1000, 1: 500}), ({0: 1000, 2: 10}, {0: 1000, 2: 10}), (1000, {0: 1000})]:
        data = copy.deepcopy(BASE)
        data["investment"] = form
        assert parse_impact_map(data).investment == {k: Decimal(v) for k, v in expected.items()}
    data = copy.deepcopy(BASE)
    data["investment"] = {0: -5}
    assert "investment" in _error(data).field


def test_time_bank_investment_cannot_exceed_total():
    data = copy.deepcopy(BASE)
    data["time_banks"] = ["riverside"]
    data["investment_by_time_bank"] = {"riverside": {0: 5000}}
    assert "exceed the programme total" in str(_error(data))


def test_from_comparison_needs_a_model_output():
    err = _error(_with(deadweight="from_comparison"))
    assert (err.outcome, err.field) == ("a", "deadweight")


def test_ranges_must_contain_the_base():
    err = _error(_with(ranges={"attribution": {"low": 30, "high": 50}}))
    assert (err.outcome, err.field) == ("a", "ranges.attribution")


def test_model_output_quantity_takes_no_range():
    err = _error(_with(quantity="avoided_readmissions", ranges={"quantity": {"low": 1, "high": 5}}))
    assert err.field == "ranges.quantity" and "95% interval" in str(err)


def test_bad_distribution():
    err = _error(_with(ranges={"attribution": {"low": 10, "high": 50, "distribution": "beta"}}))
    assert err.field == "ranges.attribution"


def test_quantity_forms():
    m = parse_impact_map(_with(quantity={"model_output": "reliable_wellbeing_improvement", "scale": 0.5}))
    q = m.outcomes[0].quantity
    assert q.model_output == "reliable_wellbeing_improvement" and q.scale == Decimal("0.5")
    assert parse_impact_map(_with(quantity="hours_given@riverside")).outcomes[0].quantity.source == "hours_given@riverside"
    assert parse_impact_map(_with(quantity={"value": 7})).outcomes[0].quantity.fixed == 7


def test_parse_int_rejects_booleans_and_fractions():
    with pytest.raises(SocialValueError):
        parse_int(True)
    with pytest.raises(SocialValueError):
        parse_int(1.5)
    assert parse_int(3.0) == 3


def test_load_errors_name_the_file(tmp_path):
    path = tmp_path / "map.yaml"
    path.write_text(yaml.safe_dump(_with(attribution=150)))
    with pytest.raises(SocialValueError) as info:
        load_impact_map(path)
    assert str(path) in str(info.value) and "field 'attribution'" in str(info.value)
    path.write_text("outcomes: [unclosed")
    with pytest.raises(SocialValueError, match="not valid YAML"):
        load_impact_map(path)


def test_example_map_loads():
    m = load_impact_map(EXAMPLE)
    assert m.time_banks == ("riverside", "hillside")
    assert m.scopes == ("overall", "riverside", "hillside")
    sources = {o.quantity.source for o in m.outcomes}
    assert {"avoided_readmissions", "avoided_contacts_gp", "avoided_contacts_ae", "avoided_contacts_mental_health",
            "avoided_contacts_social_care", "avoided_proven_reoffences", "wellbeing_matched_change"} <= sources
    wellbeing = m.outcome("better_wellbeing")
    assert wellbeing.deadweight.from_comparison is None and wellbeing.deadweight.value == 0
    assert wellbeing.discount.name == "health"


def test_model_output_keys():
    keys = load_impact_map(EXAMPLE).model_output_keys()
    assert keys[0] == "avoided_readmissions"
    assert "hours_given@riverside" in keys and "hours_given@hillside" in keys
    assert len(keys) == len(set(keys)) == 9
