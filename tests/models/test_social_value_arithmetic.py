"""SROI arithmetic: the worked case of reference/sroi.md 1.6 to the penny, and more hand-computed cases."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from models.social_value import (
    GREEN_BOOK,
    HEALTH,
    constant_schedule,
    evaluate,
    impact_stream,
    investment_present_value,
    load_impact_map,
    parse_impact_map,
    payback_months,
    penny,
    present_value,
    resolve,
    year1_impact,
    yearly_schedule,
)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
WORKED = FIXTURES / "sroi_worked_case.yaml"
D = Decimal


def _map(outcomes, investment=None, **top):
    """A minimal self-contained impact map with inline proxies priced in 2024."""
    proxies = [
        {"id": f"p{v}", "description": "test", "value": v, "unit": "unit", "price_year": 2024,
         "source": "test", "licence": "CC0-1.0"}
        for v in sorted({o["proxy_value"] for o in outcomes})
    ]
    for o in outcomes:
        o["proxy"] = f"p{o.pop('proxy_value')}"
        o.setdefault("stakeholder", "test")
    data = {"price_year": 2024, "investment": investment or {0: 100000}, "proxy_tables": [],
            "proxies": proxies, "outcomes": outcomes, **top}
    return resolve(parse_impact_map(data))


# --- the worked case -------------------------------------------------------------------------

@pytest.fixture(scope="module")
def worked():
    return evaluate(resolve(load_impact_map(WORKED)))


def test_worked_case_year1_impacts(worked):
    # A: 50 * 1000 * 0.8 * 1 * 0.75 = 30,000;  B: 20 * 2500 * 0.9 * 0.95 * 0.7 = 29,925
    assert worked.outcomes["A"].year1_impact == D("30000")
    assert worked.outcomes["B"].year1_impact == D("29925")


def test_worked_case_yearly_totals(worked):
    # Y1 59,925; Y2 27,000 + 14,962.50 = 41,962.50; Y3 24,300 (A only; B lasts 2 years)
    a = [y.impact for y in worked.outcomes["A"].years]
    b = [y.impact for y in worked.outcomes["B"].years]
    assert a == [D("30000"), D("27000"), D("24300")]
    assert b == [D("29925"), D("14962.5")]
    assert a[0] + b[0] == D("59925")
    assert a[1] + b[1] == D("41962.5")


def test_worked_case_headline_to_the_penny(worked):
    # PV = 59,925/1.035 + 41,962.50/1.035^2 + 24,300/1.035^3
    #    = 57,898.55 + 39,172.44 + 21,917.21 = 118,988.20
    overall = worked.overall
    assert penny(overall.pv) == D("118988.20")
    assert penny(overall.npv) == D("18988.20")
    assert round(overall.ratio, 3) == D("1.190")
    assert round(overall.net_ratio, 3) == D("0.190")
    # payback = 100,000 / (59,925 / 12) = 20.025... months
    assert round(overall.payback_months, 2) == D("20.03")


def test_regression_guard_year1_is_discounted(worked):
    # If year 1 were left undiscounted (exponent t-1):
    # 59,925 + 41,962.50/1.035 + 24,300/1.035^2 = 123,152.79, ratio 1.232. We must not get that.
    undiscounted_year1 = D("59925") + D("41962.5") / D("1.035") + D("24300") / D("1.035") ** 2
    assert penny(undiscounted_year1) == D("123152.79")
    assert penny(worked.overall.pv) != penny(undiscounted_year1)
    assert float(worked.outcomes["A"].years[0].discount_factor) == pytest.approx(1 / 1.035, abs=1e-15)


def test_worked_case_by_the_functions():
    a1 = year1_impact(D(50), D(1000), D("0.2"), D(0), D("0.25"))
    b1 = year1_impact(D(20), D(2500), D("0.1"), D("0.05"), D("0.3"))
    pv = present_value(impact_stream(a1, D("0.1"), 3), GREEN_BOOK) + present_value(impact_stream(b1, D("0.5"), 2), GREEN_BOOK)
    assert penny(pv) == D("118988.20")
    assert penny(present_value(impact_stream(a1, D("0.1"), 3), constant_schedule(D("0.035")))) == penny(
        present_value(impact_stream(a1, D("0.1"), 3), GREEN_BOOK)
    )


def test_penny_rounds_half_up():
    assert penny(D("0.125")) == D("0.13")
    assert penny(D("2.675")) == D("2.68")  # exact decimal: no binary-float surprise
    assert penny(D("-0.125")) == D("-0.13")


# --- further hand-computed cases -------------------------------------------------------------

def test_multi_year_investment_and_health_rate():
    # Investment 10,000 at t=0 and 10,000 at t=1, Green Book 3.5%:
    #   PV(inputs) = 10,000 + 10,000/1.035 = 10,000 + 9,661.84 = 19,661.84
    # Outcome: Q 10 x £500 = 5,000 in year 1, drop-off 20% -> 4,000 in year 2; health rate 1.5%:
    #   PV = 5,000/1.015 + 4,000/1.015^2 = 4,926.11 + 3,882.65 = 8,808.76 (exact 8,808.7554)
    #   NPV = 8,808.76 - 19,661.84 = -10,853.08; ratio = 0.4480; payback = 19,661.84/(5,000/12) = 47.19 months
    r = _map(
        [{"id": "C", "quantity": 10, "proxy_value": 500, "drop_off": 20, "duration": 2, "discount": "health"}],
        investment={0: 10000, 1: 10000},
    )
    result = evaluate(r).overall
    assert penny(result.investment_pv) == D("19661.84")
    assert penny(result.pv) == D("8808.76")
    assert penny(result.npv) == D("-10853.08")
    assert round(result.ratio, 4) == D("0.4480")
    assert round(result.payback_months, 2) == D("47.19")


def test_green_book_step_after_year_30():
    # £1,000 a year for 32 years, no drop-off. Years 1-30 at 3.5%, years 31-32 at 3.0% compounding on DF_30:
    #   annuity(30, 3.5%) = (1 - 1.035^-30)/0.035 = (1 - 0.3562784)/0.035 = 18.3920454
    #   DF_31 = DF_30/1.03 = 0.3459014; DF_32 = DF_30/1.03^2 = 0.3358266
    #   PV = 1,000 x (18.3920454 + 0.3459014 + 0.3358266) = 19,073.77
    r = _map([{"id": "long", "quantity": 1, "proxy_value": 1000, "duration": 32}])
    result = evaluate(r)
    assert penny(result.outcomes["long"].pv) == D("19073.77")
    years = result.outcomes["long"].years
    assert float(years[30].discount_factor) == pytest.approx(float(years[29].discount_factor) / 1.03, rel=1e-12)
    # a constant 3.5% would give less: 1,000 x (1 - 1.035^-32)/0.035 = 1,000 x 19.0688655 = 19,068.87
    flat = present_value([D(1000)] * 32, constant_schedule(D("0.035")))
    assert penny(flat) == D("19068.87")


def test_health_schedule_steps():
    assert HEALTH.rate(30) == D("0.015") and HEALTH.rate(31) == D("0.0129") and HEALTH.rate(301) == D("0.0043")
    assert GREEN_BOOK.rate(75) == D("0.030") and GREEN_BOOK.rate(76) == D("0.025") and GREEN_BOOK.rate(500) == D("0.010")
    assert GREEN_BOOK.factor(0) == 1


def test_custom_yearly_rates_repeat_the_last():
    # rates 5% then 4%: DF_1 = 1/1.05 = 0.952381; DF_2 = 1/(1.05*1.04) = 0.915751; DF_3 = DF_2/1.04 = 0.880530
    s = yearly_schedule([D("0.05"), D("0.04")])
    assert [round(float(f), 6) for f in s.factors(3)] == [0.952381, 0.915751, 0.880530]


def test_drop_off_of_100_percent_leaves_only_year_one():
    # Q 4 x £250 = 1,000 in year 1; drop-off 100% -> 0 in years 2-3. PV = 1,000/1.035 = 966.18
    r = _map([{"id": "x", "quantity": 4, "proxy_value": 250, "drop_off": 100, "duration": 3}])
    result = evaluate(r)
    assert [y.impact for y in result.outcomes["x"].years] == [D(1000), D(0), D(0)]
    assert penny(result.overall.pv) == D("966.18")


def test_time_bank_scopes_and_missing_investment():
    # riverside: 100 hours x £10 = 1,000 -> PV 966.18, investment 500 -> ratio 1.9324
    # hillside: 50 hours x £10 = 500 -> PV 483.09, no investment given -> no ratio
    # overall: both plus a programme-wide outcome 2 x £10 = 20 -> PV 19.32; total 1,468.60 / 2,000 = 0.7343
    # lakeside: listed, nothing valued for it -> no scope of its own (not a PV of £0)
    r = _map(
        [
            {"id": "rv", "scope": "riverside", "quantity": 100, "proxy_value": 10, "duration": 1},
            {"id": "hl", "scope": "hillside", "quantity": 50, "proxy_value": 10, "duration": 1},
            {"id": "all", "quantity": 2, "proxy_value": 10, "duration": 1},
        ],
        investment={0: 2000},
        time_banks=["riverside", "hillside", "lakeside"],
        investment_by_time_bank={"riverside": {0: 500}},
    )
    result = evaluate(r)
    assert tuple(result.scopes) == ("overall", "riverside", "hillside")
    assert result.scopes["riverside"].outcome_ids == ("rv",)
    assert penny(result.scopes["riverside"].pv) == D("966.18")
    assert round(result.scopes["riverside"].ratio, 4) == D("1.9324")
    assert result.scopes["hillside"].ratio is None and result.scopes["hillside"].npv is None
    assert penny(result.overall.pv) == D("1468.60")
    assert round(result.overall.ratio, 4) == D("0.7343")


def test_payback_undefined_without_positive_first_year():
    assert payback_months(D(100), D(0)) is None
    assert payback_months(D(100), D(-5)) is None
    assert payback_months(D(1200), D(1200)) == 12


def test_investment_year_zero_is_undiscounted():
    assert investment_present_value({0: D(5000)}, GREEN_BOOK) == D(5000)
    # 1,000 at year 2: 1,000/1.035^2 = 933.51
    assert penny(investment_present_value({2: D(1000)}, GREEN_BOOK)) == D("933.51")


def _base_case_map(base_case=None):
    from models.social_value import parse_impact_map
    data = {"price_year": 2024, "investment": 1000, "proxies": [
        {"id": "p", "description": "unit", "value": 100, "unit": "event", "price_year": 2024, "source": "test",
         "licence": "none"}], "proxy_tables": [], "discount": {"rate": 0},
        "outcomes": [{"id": "proven", "stakeholder": "s", "quantity": "a", "proxy": "p", "duration": 1},
                     {"id": "unsure", "stakeholder": "s", "quantity": "b", "proxy": "p", "duration": 1},
                     {"id": "harm", "stakeholder": "s", "quantity": "c", "proxy": "p", "duration": 1}],
        "outputs": [{"id": "hours", "stakeholder": "members", "quantity": 500}]}
    if base_case:
        data["base_case"] = base_case
    return parse_impact_map(data)


BASE_CASE_OUTPUTS = {"a": {"estimate": 10, "ci_low": 2, "ci_high": 18},      # interval excludes 0: counted
                     "b": {"estimate": 12, "ci_low": -17, "ci_high": 41},    # includes 0: 0 in the evidenced case
                     "c": {"estimate": -3, "ci_low": -5, "ci_high": -1}}     # a proven harm: counted, negative


def test_base_case_point_estimate_by_default_with_the_evidenced_case_beside_it():
    from models.social_value import run_social_value
    # rate 0, so PV = sum of year-1 impacts: at the point estimates (10 + 12 - 3) x 100 = 1,900 (the default base
    # case: unbiased); evidenced (10 - 3) x 100 = 700 (the inconclusive b counts 0). The hours (an output) count in
    # neither.
    run = run_social_value(_base_case_map(), BASE_CASE_OUTPUTS, monte_carlo=False)
    row = run.social_value.iloc[0]
    assert (row.base_case, row.pv, row.ratio, row.pv_point_estimate, row.ratio_point_estimate, row.pv_evidenced,
            row.ratio_evidenced) == ("point_estimate", 1900.0, 1.9, 1900.0, 1.9, 700.0, 0.7)
    status = run.impact_map.set_index("outcome")["status"]
    assert status["proven"] == "valued" and status["harm"] == "valued" and status["hours"].startswith("output")
    assert status["unsure"] == "valued at its point estimate; its 95% interval includes no effect (0 in the evidenced case)"


def test_base_case_evidenced_counts_only_effects_whose_interval_excludes_none():
    from models.social_value import run_social_value
    run = run_social_value(_base_case_map("evidenced"), BASE_CASE_OUTPUTS, monte_carlo=False)
    row = run.social_value.iloc[0]
    assert (row.base_case, row.pv, row.ratio, row.pv_point_estimate, row.ratio_point_estimate, row.pv_evidenced,
            row.ratio_evidenced) == ("evidenced", 700.0, 0.7, 1900.0, 1.9, 700.0, 0.7)
    status = run.impact_map.set_index("outcome")["status"]
    assert status["proven"] == "valued" and status["harm"] == "valued"
    assert status["unsure"].startswith("valued at 0") and status["hours"].startswith("output")


def test_base_case_monte_carlo_draws_every_estimate_from_its_interval():
    from models.social_value import resolve, simulate
    # the inconclusive outcome still carries its estimation uncertainty: draws centre on the point-estimate ratio 1.9
    mc = simulate(resolve(_base_case_map("evidenced"), BASE_CASE_OUTPUTS), n_draws=20000, seed=1)
    assert abs(float(mc.ratio["overall"].mean()) - 1.9) < 0.05
    low, high = mc.interval()
    assert low < 0.7 < high


def test_an_output_is_not_valued():
    from models.social_value import SocialValueError, parse_impact_map
    with pytest.raises(SocialValueError, match="an output is reported, not valued: remove proxy"):
        parse_impact_map({"price_year": 2024, "investment": 1, "outcomes": [
            {"id": "x", "stakeholder": "s", "quantity": 1, "proxy": "wellby", "duration": 1}],
            "outputs": [{"id": "hours", "stakeholder": "members", "quantity": 5, "proxy": "wellby"}]})
    with pytest.raises(SocialValueError, match="base_case must be one of"):
        parse_impact_map({"price_year": 2024, "investment": 1, "base_case": "optimistic", "outcomes": [
            {"id": "x", "stakeholder": "s", "quantity": 1, "proxy": "wellby", "duration": 1}]})


def _scale_map(ranges=None):
    from models.social_value import parse_impact_map
    return parse_impact_map({"price_year": 2024, "investment": 1000, "discount": {"rate": 0}, "proxy_tables": [],
                             "proxies": [{"id": "p", "description": "unit", "value": 100, "unit": "point",
                                          "price_year": 2024, "source": "test", "licence": "none"}],
                             "outcomes": [{"id": "w", "stakeholder": "s", "proxy": "p", "duration": 1,
                                           "quantity": {"model_output": "m", "scale": 0.8},
                                           **({"ranges": ranges} if ranges else {})}]})


def test_a_range_on_the_scale_moves_the_tornado_and_the_monte_carlo():
    from models.social_value import SocialValueError, one_at_a_time, resolve, simulate
    outputs = {"m": {"estimate": 20, "ci_low": 10, "ci_high": 30}}
    # rate 0: ratio = 20 x scale x 100 / 1,000 = 2 x scale: 1.6 at 0.8, 0.8 at 0.4, 2.4 at 1.2; switching scale 0.5
    resolved = resolve(_scale_map({"scale": {"low": 0.4, "high": 1.2}}), outputs)
    row = one_at_a_time(resolved).set_index("assumption").loc["scale"]
    assert (row.base, row.low, row.high) == (0.8, 0.4, 1.2)
    assert (round(row.ratio_low, 6), round(row.ratio_high, 6), round(row.switching_value, 6)) == (0.8, 2.4, 0.5)
    assert row.switching_note == "a scale (quantity.scale) of 0.500 brings the ratio to 1.00"
    # the quantity's interval is drawn as before; the scale's range widens the ratio's interval around it
    fixed = simulate(resolve(_scale_map(), outputs), n_draws=20000, seed=1).interval()
    wide = simulate(resolved, n_draws=20000, seed=1).interval()
    assert wide[0] < fixed[0] and wide[1] > fixed[1]
    # no range on the scale: no scale row unless the scale is not 1 (then the switching value, without a range)
    assert "scale" in set(one_at_a_time(resolve(_scale_map(), outputs))["assumption"])
    with pytest.raises(SocialValueError, match="does not contain the base value"):
        _scale_map({"scale": {"low": 0.9, "high": 1.2}})
    with pytest.raises(SocialValueError, match="scale must be positive"):
        _scale_map({"scale": {"low": 0, "high": 1.2}})
