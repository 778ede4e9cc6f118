"""The HES rule by hand: 0 shown, 1-7 suppressed, others rounded to 5; rates on suppressed counts hidden."""

import pandas as pd

from models.disclosure import SUPPRESSED, DisclosureRule


def test_hes_rule_counts():
    rule = DisclosureRule()
    assert [rule.count(n) for n in (0, 1, 7, 8, 10, 12, 13, 102, 103)] == [0, "*", "*", 10, 10, 10, 15, 100, 105]
    assert rule.count(None) is None


def test_rates_on_suppressed_counts_are_hidden():
    frame = pd.DataFrame({"unit": ["a", "b"], "readmissions": [3, 40], "discharges": [30, 400], "rate": [0.1, 0.1]})
    out = DisclosureRule().table(frame, ["readmissions", "discharges"], {"rate": "readmissions"})
    assert out["rate"].tolist() == [SUPPRESSED, 0.1]
    assert out["readmissions"].tolist() == [SUPPRESSED, 40] and out["discharges"].tolist() == [30, 400]


def test_threshold_is_configurable():
    assert DisclosureRule(suppress_max=5, round_to=1).count(6) == 6


def test_a_rate_is_hidden_when_its_numerator_or_denominator_is_suppressed():
    frame = pd.DataFrame({"k": [10, 10, 0], "n": [100, 5, 20], "rate": [0.1, 2.0, 0.0]})
    out = DisclosureRule().table(frame, ["k", "n"], {"rate": ("k", "n")})
    assert out["rate"].tolist() == [0.1, SUPPRESSED, 0.0] and out["n"].tolist() == [100, SUPPRESSED, 20]
