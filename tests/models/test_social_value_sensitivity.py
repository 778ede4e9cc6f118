"""One-at-a-time sensitivity: switching values (worked case and hand-computed), tornado data."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml

from models.social_value import (
    SwitchingValue,
    evaluate,
    load_impact_map,
    one_at_a_time,
    parse_impact_map,
    resolve,
    switching_value,
    tornado,
)
from models.social_value.engine import Engine
from models.social_value.sensitivity import NO_SWITCH

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
WORKED = FIXTURES / "sroi_worked_case.yaml"


@pytest.fixture(scope="module")
def worked():
    return resolve(load_impact_map(WORKED))


def _worked_with_ranges(**ranges_by_outcome):
    data = yaml.safe_load(WORKED.read_text())
    for outcome in data["outcomes"]:
        if outcome["id"] in ranges_by_outcome:
            outcome["ranges"] = ranges_by_outcome[outcome["id"]]
    return resolve(parse_impact_map(data, base_dir=WORKED.parent))


def test_engine_matches_exact_arithmetic(worked):
    engine = Engine(worked)
    pv = engine.outcome_pv(engine.base_params(1))[0]
    exact = evaluate(worked)
    assert pv[0] == pytest.approx(float(exact.outcomes["A"].pv), abs=1e-8)
    assert pv[1] == pytest.approx(float(exact.outcomes["B"].pv), abs=1e-8)
    assert engine.ratio(engine.base_params(1))[0] == pytest.approx(float(exact.overall.ratio), abs=1e-12)


def test_worked_case_switching_attribution(worked):
    # PV_B = 42,880.70 stays; A needs PV_A = 100,000 - 42,880.70 = 57,119.30 of its 76,107.50:
    # (1 - AT) = 0.75 x 57,119.30/76,107.50 = 0.56288  ->  AT = 43.7%
    sv = switching_value(worked, "A", "attribution")
    assert round(sv.value, 1) == 43.7
    assert sv.note == "attribution of 43.7% brings the ratio to 1.00"


def test_worked_case_switching_quantity_and_proxy(worked):
    # Q_A = 50 x 57,119.30/76,107.50 = 37.53; proxy A = 1,000 x 57,119.30/76,107.50 = £750.51
    assert round(switching_value(worked, "A", "quantity").value, 2) == 37.53
    assert round(switching_value(worked, "A", "proxy").value, 2) == 750.51


def test_worked_case_switching_deadweight(worked):
    # (1 - DW) = 0.8 x 57,119.30/76,107.50 = 0.600407 -> DW = 39.96%
    assert round(switching_value(worked, "A", "deadweight").value, 2) == 39.96


def test_worked_case_switching_duration(worked):
    # A lasting 2 years: PV_A = 28,985.51 + 25,204.79 = 54,190.30; + 42,880.70 = 97,071.00 < 100,000
    sv = switching_value(worked, "A", "duration")
    assert sv.value == 2 and "falls below 1.00" in sv.note


def test_no_switching_value_within_range(worked):
    # B with drop-off 100%: PV = 76,107.50 + 28,913.04 = 105,020.54 > 100,000, so no drop-off reaches 1:1
    assert switching_value(worked, "B", "drop_off") == SwitchingValue(None, NO_SWITCH)
    assert switching_value(worked, "B", "duration").note == NO_SWITCH


def test_drop_off_switching_value_solves_the_equation(worked):
    sv = switching_value(worked, "A", "drop_off")
    d = sv.value / 100
    # check: 30,000 x (1/1.035 + (1-d)/1.035^2 + (1-d)^2/1.035^3) + 42,880.70 = 100,000
    pv_a = 30000 * (1 / 1.035 + (1 - d) / 1.035**2 + (1 - d) ** 2 / 1.035**3)
    assert pv_a + 42880.70 == pytest.approx(100000, abs=0.01)


def test_switching_value_below_one_ratio_is_upwards():
    # single outcome: 10 x £1,000 = 10,000/yr for 1 year, investment 20,000 -> ratio 0.4831
    # quantity must reach 20,000 x 1.035 / 1,000 = 20.70 for 1:1; duration must reach 3 years:
    #   2 years: 10,000 x (0.966184 + 0.933511) = 18,996.95 < 20,000; 3 years: + 9,019.43 = 28,016.38
    data = {"price_year": 2024, "investment": 20000, "proxy_tables": [],
            "proxies": [{"id": "p", "description": "d", "value": 1000, "unit": "u", "price_year": 2024, "source": "s", "licence": "CC0-1.0"}],
            "outcomes": [{"id": "x", "stakeholder": "s", "quantity": 10, "proxy": "p", "duration": 1}]}
    r = resolve(parse_impact_map(data))
    assert round(switching_value(r, "x", "quantity").value, 2) == 20.70
    sv = switching_value(r, "x", "duration")
    assert sv.value == 3 and "reaches 1.00" in sv.note
    # even 0% attribution cannot lift it: no switching value
    assert switching_value(r, "x", "attribution").note == NO_SWITCH


def test_tornado_values_hand_computed():
    # attribution on A from 0% to 50%:
    #   at 0%:  PV_A = 76,107.50 / 0.75 = 101,476.67; + 42,880.70 = 144,357.37 -> ratio 1.4436
    #   at 50%: PV_A = 76,107.50 x 0.5/0.75 = 50,738.33; + 42,880.70 = 93,619.03 -> ratio 0.9362
    r = _worked_with_ranges(A={"attribution": {"low": 0, "high": 50}})
    frame = one_at_a_time(r)
    row = frame[(frame.outcome == "A") & (frame.assumption == "attribution")].iloc[0]
    assert (row.base, row.low, row.high) == (25.0, 0.0, 50.0)
    assert round(row.ratio_low, 4) == 1.4436 and round(row.ratio_high, 4) == 0.9362
    assert row.swing == pytest.approx(row.ratio_low - row.ratio_high)
    assert round(row.switching_value, 1) == 43.7
    # assumptions without a stated range have empty low/high but still a switching value
    q = frame[(frame.outcome == "A") & (frame.assumption == "quantity")].iloc[0]
    assert np.isnan(q.low) and np.isnan(q.ratio_low) and round(q.switching_value, 2) == 37.53


def test_sensitivity_frame_shape(worked):
    frame = one_at_a_time(worked)
    assert list(frame.columns) == ["scope", "outcome", "assumption", "unit", "base", "low", "high", "ratio_low",
                                   "ratio_high", "swing", "switching_value", "switching_note"]
    assert len(frame) == 2 * 7
    assert set(frame.loc[frame.assumption == "attribution", "unit"]) == {"percent"}
    none = frame[frame.switching_value.isna()]
    assert (none.switching_note == NO_SWITCH).all()


def test_tornado_orders_by_swing():
    r = _worked_with_ranges(
        A={"attribution": {"low": 0, "high": 50}, "duration": {"low": 2, "high": 4}},
        B={"deadweight": {"low": 10, "high": 20}},
    )
    t = tornado(one_at_a_time(r))
    assert list(t.swing) == sorted(t.swing, reverse=True)
    assert len(t) == 3


def test_scopes_without_investment_are_left_out():
    data = {"price_year": 2024, "investment": 1000, "proxy_tables": [], "time_banks": ["a", "b"],
            "investment_by_time_bank": {"a": {0: 400}},
            "proxies": [{"id": "p", "description": "d", "value": 10, "unit": "u", "price_year": 2024, "source": "s", "licence": "CC0-1.0"}],
            "outcomes": [{"id": "x", "stakeholder": "s", "scope": "a", "quantity": 10, "proxy": "p", "duration": 1},
                         {"id": "y", "stakeholder": "s", "scope": "b", "quantity": 10, "proxy": "p", "duration": 1}]}
    frame = one_at_a_time(resolve(parse_impact_map(data)))
    assert set(frame.scope) == {"overall", "a"}
    assert set(frame[frame.scope == "a"].outcome) == {"x"}
