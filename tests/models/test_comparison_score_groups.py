"""Score groups (``match(..., score_groups=)``): a propensity model, level support and caliper per group of exact
strata (docs/comparison-engine.md, "Score groups").

The fixture (:func:`opposite`) is hand-checkable: in group A, people with x = 1 take part more often (10 of 20
against 5 of 25); in group B less often (5 of 25 against 10 of 20). Over both groups x = 1 and x = 0 each hold 15
participants and 30 comparison people, so one model over both gives x a coefficient of exactly 0: every score is
the same, each group's tied participants take every comparison person of their group, and within each group the
matched comparison people keep their imbalance on x (0.33 against 0.67 in A), while the pooled balance table shows
none (it weighs A's and B's comparison people alike: 0.5 against 0.5). A model per group separates x = 1 from x = 0
within each, and the matched comparison people of each group then have the participants' mix exactly.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from models.comparison import ComparisonError, estimate_effect, match
from models.comparison.matching import pooled_sd


def opposite() -> pd.DataFrame:
    cells = [("A", 1, 1, 10), ("A", 1, 0, 10), ("A", 0, 1, 5), ("A", 0, 0, 20),
             ("B", 1, 1, 5), ("B", 1, 0, 20), ("B", 0, 1, 10), ("B", 0, 0, 10)]
    rows = [(g, x, t) for g, x, t, n in cells for _ in range(n)]
    df = pd.DataFrame(rows, columns=["g", "x", "t"])
    df["y"] = (np.arange(len(df)) % 3 == 0).astype(int)
    return df


def within(m) -> dict:
    """Per group: (participants' mean x, the matched comparison people's weighted mean x)."""
    md = m.matched_data
    out = {}
    for g, d in md.groupby("g"):
        t, c = d[d["_treated"] == 1], d[d["_treated"] == 0]
        out[g] = (t["x"].mean(), np.average(c["x"], weights=c["_weight"]))
    return out


def test_one_score_over_both_groups_leaves_each_group_imbalanced_and_the_pooled_table_hides_it():
    m = match(opposite(), "t", ["x"], exact=["g"])
    assert m.propensity.params["x"] == pytest.approx(0, abs=1e-9)
    got = within(m)
    assert got["A"] == pytest.approx((2 / 3, 1 / 3)) and got["B"] == pytest.approx((1 / 3, 2 / 3))
    assert abs(m.balance.set_index("covariate").loc["x", "smd_after"]) < 1e-9
    assert not any(w.startswith("balance:") for w in m.warnings)
    # balance_groups shows it: x's SMD within each group is (2/3 - 1/3) over the group's pooled SD before
    shown = match(opposite(), "t", ["x"], exact=["g"], balance_groups="g")
    flagged = [w for w in shown.warnings if w.startswith("balance within g")]
    assert [w[:24] for w in flagged] == ["balance within g = A: |S", "balance within g = B: |S"]
    # sample variances of x before matching: 2/9 x 15/14 among A's 15 participants, 2/9 x 30/29 among its 30 others
    smd = (2 / 3 - 1 / 3) / np.sqrt((2 / 9 * 15 / 14 + 2 / 9 * 30 / 29) / 2)
    assert f"(largest {smd:.2f}, x)" in flagged[0] and f"(largest {smd:.2f}, x)" in flagged[1]
    np.testing.assert_array_equal(shown.matched_data["_pair"], m.matched_data["_pair"])  # the same matching


def test_a_score_per_group_balances_within_each_group():
    m = match(opposite(), "t", ["x"], score_groups="g")
    got = within(m)
    assert got["A"] == pytest.approx((2 / 3, 2 / 3)) and got["B"] == pytest.approx((1 / 3, 1 / 3))
    # each group's own model: log-odds of taking part with x = 1 against x = 0
    assert m.propensity.params[("A", "x")] == pytest.approx(np.log(1 / 0.25))
    assert m.propensity.params[("B", "x")] == pytest.approx(np.log(0.25 / 1))
    assert m.n_matched == 30 and not any("balance within g" in w for w in m.warnings)
    assert m.settings["score_groups"] == "g"


def test_imbalance_left_within_a_group_is_a_warning():
    df = opposite()
    # group A keeps only 2 comparison people with x = 1: without a caliper its 10 participants with x = 1 take
    # comparison people with x = 0 as well
    drop = df.index[(df["g"] == "A") & (df["x"] == 1) & (df["t"] == 0)][2:]
    m = match(df.drop(index=drop), "t", ["x"], score_groups="g", caliper=None)
    flagged = [w for w in m.warnings if w.startswith("balance within g")]
    assert len(flagged) == 1 and flagged[0].startswith("balance within g = A: |SMD| after matching or weighting > 0.1")


def test_each_group_has_its_own_caliper():
    rng = np.random.default_rng(3)
    n = 400
    df = pd.DataFrame({"g": np.repeat(["narrow", "wide"], n // 2), "x": rng.normal(size=n)})
    slope = np.where(df["g"] == "wide", 2.0, 0.3)
    df["t"] = (rng.random(n) < 1 / (1 + np.exp(1 - slope * df["x"]))).astype(int)
    m = match(df, "t", ["x"], score_groups="g")
    for g, spec in m.overlap["score_groups"].items():
        inside = df["g"].to_numpy()[m.rows] == g
        assert spec["caliper_width"] == pytest.approx(0.2 * pooled_sd(m.logit[inside], m.treated[inside]))
    widths = {g: s["caliper_width"] for g, s in m.overlap["score_groups"].items()}
    assert widths["wide"] > 3 * widths["narrow"] and m.overlap["caliper_width"] == widths["wide"]


def test_one_group_is_the_pooled_comparison_to_the_bit():
    rng = np.random.default_rng(11)
    n = 300
    df = pd.DataFrame({"age": rng.integers(20, 90, n), "sex": rng.choice(["f", "m"], n), "day": rng.integers(0, 3, n),
                       "person": rng.integers(0, 200, n), "one": "all"})
    df["t"] = (rng.random(n) < 1 / (1 + np.exp(3 - df["age"] / 30))).astype(int)
    df["y"] = (rng.random(n) < 0.3).astype(int)
    kw = dict(exact=["day"], cluster="person")
    pooled = estimate_effect(df, "t", "y", ["age", "sex"], "binary", **kw)
    grouped = estimate_effect(df, "t", "y", ["age", "sex"], "binary", score_groups="one", **kw)
    pd.testing.assert_frame_equal(pooled.effects, grouped.effects, check_exact=True)
    pd.testing.assert_frame_equal(pooled.balance, grouped.balance, check_exact=True)
    for col in ("_pscore", "_pair", "_weight", "_stratum"):
        np.testing.assert_array_equal(pooled.matched_data[col], grouped.matched_data[col])
    assert pooled.warnings == grouped.warnings


def test_score_groups_refused_under_ipw_and_with_missing_groups():
    df = opposite()
    with pytest.raises(ComparisonError, match="score_groups applies to matching"):
        match(df, "t", ["x"], method="ipw", score_groups="g")
    df.loc[0, "g"] = None
    with pytest.raises(ComparisonError, match="score_groups column 'g' has 1 missing values"):
        match(df, "t", ["x"], score_groups="g")
    with pytest.raises(ComparisonError, match="cannot also be a covariate"):
        match(opposite(), "t", ["x", "g"], score_groups="g")


def test_a_group_its_covariates_separate_is_named():
    df = opposite()
    df.loc[(df["g"] == "B") & (df["t"] == 1), "x"] = 1  # in B only x = 1 holds participants
    df.loc[(df["g"] == "B") & (df["t"] == 0), "x"] = 0
    # in B every participant has x = 1 and no comparison person does: level support would drop them all
    with pytest.raises(ComparisonError, match="^score group g = B: "):
        match(df, "t", ["x"], score_groups="g")
