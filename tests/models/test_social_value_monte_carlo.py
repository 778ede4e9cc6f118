"""Monte Carlo: reproducible, vectorised, carries model intervals and assumption ranges."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pytest

from models.social_value import evaluate, load_impact_map, parse_impact_map, resolve, simulate
from models.social_value.engine import Engine
from models.social_value.monte_carlo import draw_parameters

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures"
EXAMPLE = ROOT / "data" / "impact_map.example.yaml"


@pytest.fixture(scope="module")
def example():
    outputs = json.loads((FIXTURES / "social_value_model_outputs.json").read_text())
    return resolve(load_impact_map(EXAMPLE), outputs, extra_proxy_tables=[FIXTURES / "social_value_illustrative_proxies.csv"])


def _single(outcome, outputs=None, investment=10000):
    data = {"price_year": 2024, "investment": investment, "proxy_tables": [],
            "proxies": [{"id": "p", "description": "d", "value": 100, "unit": "u", "price_year": 2024, "source": "s", "licence": "CC0-1.0"}],
            "outcomes": [{"id": "x", "stakeholder": "s", "proxy": "p", "duration": 1, **outcome}]}
    return resolve(parse_impact_map(data), outputs)


def test_reproducible_with_a_seed(example):
    a, b = simulate(example, 2000, seed=7), simulate(example, 2000, seed=7)
    np.testing.assert_array_equal(a.ratio["overall"], b.ratio["overall"])
    assert simulate(example, 2000, seed=8).interval() != a.interval()


def test_ten_thousand_draws_are_fast(example):
    start = time.perf_counter()
    result = simulate(example, 10_000, seed=1)
    assert time.perf_counter() - start < 2.0
    assert result.n_draws == 10_000 and result.ratio["overall"].shape == (10_000,)


def test_interval_brackets_the_point_estimate(example):
    point = float(evaluate(example).overall.ratio)
    low, high = simulate(example, 10_000, seed=3).interval()
    assert low < point < high
    assert tuple(evaluate(example).scopes) == ("overall",)  # nothing valued per time bank: no scope, no interval


def test_no_uncertainty_gives_a_point_interval():
    r = resolve(load_impact_map(FIXTURES / "sroi_worked_case.yaml"))
    low, high = simulate(r, 500, seed=1).interval()
    assert low == pytest.approx(1.189882, abs=1e-6) and high == pytest.approx(low)


def test_normal_quantity_recovers_the_interval():
    # estimate 50, 95% CI 30-70 -> SE = 40/3.92 = 10.204; value = Q x 100 / 1.035; ratio = Q x 100/1.035/10,000
    r = _single({"quantity": "q"}, {"q": {"estimate": 50, "ci_low": 30, "ci_high": 70}})
    draws = simulate(r, 200_000, seed=11).ratio["overall"] * 10000 * 1.035 / 100
    assert draws.mean() == pytest.approx(50, abs=0.1)
    assert draws.std() == pytest.approx(40 / 3.92, rel=0.01)
    assert np.percentile(draws, 2.5) == pytest.approx(30, abs=0.2)


def test_gross_quantity_truncated_at_zero():
    # estimate 5, CI -5..15 would go negative; a gross count cannot, so draws are truncated at 0
    r = _single({"quantity": "q"}, {"q": {"estimate": 5, "ci_low": 0, "ci_high": 15, "estimand": "gross"}})
    gross = simulate(r, 50_000, seed=2).pv["overall"]
    assert gross.min() >= 0
    r_net = _single({"quantity": "q"}, {"q": {"estimate": 5, "ci_low": -5, "ci_high": 15}})
    assert simulate(r_net, 50_000, seed=2).pv["overall"].min() < 0  # net effects may be harms


def test_uniform_and_triangular_ranges():
    # attribution uniform 0-50: impact = 100 x 100 x (1 - AT) / 1.035; mean AT 25% -> mean PV 7,246.38
    r = _single({"quantity": 100, "attribution": 25, "ranges": {"attribution": {"low": 0, "high": 50}}})
    pv = simulate(r, 100_000, seed=5).pv["overall"]
    assert pv.mean() == pytest.approx(7246.38, rel=0.005)
    assert pv.min() >= 10000 * 0.5 / 1.035 - 1e-6 and pv.max() <= 10000 / 1.035 + 1e-6
    # triangular 0-50 with mode at base 10: mean AT = (0 + 10 + 50)/3 = 20% -> mean PV = 10,000 x 0.8/1.035 = 7,729.47
    r = _single({"quantity": 100, "attribution": 10, "ranges": {"attribution": {"low": 0, "high": 50, "distribution": "triangular"}}})
    assert simulate(r, 100_000, seed=5).pv["overall"].mean() == pytest.approx(7729.47, rel=0.005)


def test_duration_range_draws_whole_years():
    # 1,000/yr (10 x £100), no drop-off, duration uniform 1..3 years: PV is one of three values
    r = _single({"quantity": 10, "duration": 2, "ranges": {"duration": {"low": 1, "high": 3}}})
    pv = simulate(r, 30_000, seed=4).pv["overall"]
    values = sorted(set(np.round(pv, 6)))
    expected = [round(sum(1000 / 1.035**t for t in range(1, d + 1)), 6) for d in (1, 2, 3)]
    assert values == pytest.approx(expected)
    shares = [np.mean(np.isclose(pv, v)) for v in expected]
    assert shares == pytest.approx([1 / 3] * 3, abs=0.02)


def test_shared_model_output_moves_together():
    # two outcomes on the same model output draw the same quantity
    data = {"price_year": 2024, "investment": 1000, "proxy_tables": [],
            "proxies": [{"id": "p", "description": "d", "value": 1, "unit": "u", "price_year": 2024, "source": "s", "licence": "CC0-1.0"}],
            "outcomes": [{"id": "a", "stakeholder": "s", "quantity": "q", "proxy": "p", "duration": 1},
                         {"id": "b", "stakeholder": "s", "quantity": {"model_output": "q", "scale": 2}, "proxy": "p", "duration": 1}]}
    r = resolve(parse_impact_map(data), {"q": {"estimate": 10, "ci_low": 5, "ci_high": 15}})
    params = draw_parameters(r, 1000, np.random.default_rng(0), Engine(r))
    np.testing.assert_allclose(params["quantity"][:, 1], 2 * params["quantity"][:, 0])
