"""Balance and overlap rows from a ComparisonResults, checked by hand and against the engine's own numbers."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from models.comparison import estimate_effect
from models.comparison.diagnostics import (
    BALANCE_COLUMNS,
    MATCHED_READ,
    N_BINS,
    OVERLAP_COLUMNS,
    SCORES_READ,
    Label,
    balance_rows,
    bin_index,
    diagnostics,
    logit_edges,
    overlap_rows,
)
from tests.models.test_comparison_engine import COVS, cohort

LABEL = Label("readmission", "any", "readmitted_within_30_days")
DOCS = Path(__file__).resolve().parents[2] / "docs" / "outputs-diagnostics.md"


@pytest.fixture(scope="module")
def df():
    return cohort(n=300, seed=3)


@pytest.fixture(scope="module")
def res(df):
    return estimate_effect(df, "took_part", "readmitted", ["age", "prior"], "binary", seed=1)


def test_logit_edges_and_bins_by_hand():
    edges = logit_edges([-2.5, -0.1, 0.0, 1.9], n_bins=4)
    assert edges.tolist() == [-3.0, -1.75, -0.5, 0.75, 2.0]  # floor(-2.5) .. ceil(1.9), width 1.25
    # half-open bins, the last closed: -0.5 opens bin 2; 2.0 (the top edge) is in the last bin
    assert bin_index([-3.0, -1.75, -0.5, -0.51, 0.75, 2.0], edges).tolist() == [0, 1, 2, 1, 3, 3]
    assert logit_edges([0.3, 0.3], n_bins=2).tolist() == [0.0, 0.5, 1.0]  # all equal: one unit wide


def test_scores_beyond_1e9_are_held_by_a_stretched_end_bin():
    """Logits beyond EXTREME_LOGIT (20.7) take no part in the equal-width range; the end bin on their side holds them."""
    edges = logit_edges([-30.2, -2.5, -0.1, 0.0, 1.9], n_bins=4)
    assert edges.tolist() == [-31.0, -1.75, -0.5, 0.75, 2.0]  # -3 .. 2 in 1.25 steps, the first edge moved to -31
    assert bin_index([-30.2, -2.5, 1.9], edges).tolist() == [0, 0, 3]
    assert logit_edges([-2.5, 1.9, 23.0], n_bins=2).tolist() == [-3.0, -0.5, 23.0]
    assert logit_edges([-25.0, -22.0], n_bins=2).tolist() == [-25.0, -23.5, -22.0]  # nobody near: all of them


def test_far_out_comparison_people_leave_the_participants_spread_over_the_bins():
    """The referee's F4: a kept fit scoring comparison people with many offences at logits of -22 and beyond (far from
    every participant) had its 20 bins run out to them, and every participant fell into one bin. The bins now
    span the scores within 1e-9 of 0 and 1, and the first holds the far-out people."""
    rng = np.random.default_rng(11)
    n = 2000
    x = rng.normal(0, 1, n)
    far = rng.random(n) < 0.03
    offences = np.where(far, 50 + np.floor(20 * rng.pareto(2.0, n)), rng.poisson(1.5, n))
    t = (rng.random(n) < 1 / (1 + np.exp(-(-1.2 + 0.8 * x - 0.5 * offences)))).astype(int)
    data = pd.DataFrame({"took_part": t, "x": x, "offences": offences, "y": rng.integers(0, 2, n)})
    res = estimate_effect(data, "took_part", "y", ["x", "offences"], "binary", replace=True)
    logit = res.propensity_scores["_logit"].to_numpy()
    beyond = logit < -20.7
    assert beyond.sum() > 20 and (res.propensity_scores["_treated"].to_numpy()[beyond] == 0).all()
    rows = overlap_rows(res, LABEL)
    parts, comps = rows[rows["group"] == "participants"], rows[rows["group"] == "comparison"]
    near = logit[~beyond]
    assert parts["logit_low"].iloc[0] == np.floor(logit.min())
    width = (np.ceil(near.max()) - np.floor(near.min())) / N_BINS
    np.testing.assert_allclose(parts["logit_low"].iloc[1:], np.floor(near.min()) + width * np.arange(1, N_BINS))
    assert comps["n_before"].iloc[0] >= beyond.sum() and comps["n_before"].sum() == (res.propensity_scores["_treated"] == 0).sum()
    assert (parts["n_before"] > 0).sum() >= 8  # before: one, the last (-22.5 to 2)


def test_balance_rows_are_the_engine_table_with_label_and_counts(res, df):
    rows = balance_rows(res, LABEL)
    assert list(rows.columns) == list(BALANCE_COLUMNS)
    assert rows["covariate"].tolist() == ["age", "prior"]
    assert (rows["result"] == "readmission: any").all() and (rows["method"] == "match").all()
    for column in ("smd_before", "smd_after", "vr_before", "vr_after"):
        np.testing.assert_allclose(rows[column], res.balance[column])
    assert rows["flag"].tolist() == (rows["smd_after"].abs() > 0.1).tolist()
    n_t = int(df["took_part"].sum())
    assert rows["n_treated_before"].eq(n_t).all() and rows["n_comparison_before"].eq(len(df) - n_t).all()
    assert rows["n_treated_after"].eq(res.n_matched).all() and rows["n_comparison_after"].eq(res.n_control_matched).all()


def test_smd_by_hand(res, df):
    """Austin (2009): difference in means over the pooled SD of the groups before matching, before and after."""
    row = balance_rows(res, LABEL).set_index("covariate").loc["age"]
    t = df["took_part"] == 1
    sd = np.sqrt((df.loc[t, "age"].var() + df.loc[~t, "age"].var()) / 2)
    assert row["smd_before"] == pytest.approx((df.loc[t, "age"].mean() - df.loc[~t, "age"].mean()) / sd)
    md = res.matched_data  # 1:1 without replacement: every weight is 1
    assert (md["_weight"] == 1).all()
    after = (md.loc[md["_treated"] == 1, "age"].mean() - md.loc[md["_treated"] == 0, "age"].mean()) / sd
    assert row["smd_after"] == pytest.approx(after)
    assert row["vr_before"] == pytest.approx(df.loc[t, "age"].var() / df.loc[~t, "age"].var())


def test_overlap_counts_against_an_independent_fit(res, df):
    rows = overlap_rows(res, LABEL)
    assert list(rows.columns) == list(OVERLAP_COLUMNS) and len(rows) == 2 * N_BINS
    fit = sm.Logit(df["took_part"].to_numpy(float), sm.add_constant(df[["age", "prior"]].to_numpy(float))).fit(disp=0)
    logit = fit.fittedvalues  # the linear predictor
    edges = np.linspace(np.floor(logit.min()), np.ceil(logit.max()), N_BINS + 1)
    np.testing.assert_allclose(rows["logit_low"].iloc[:N_BINS], edges[:-1], atol=1e-12)
    np.testing.assert_allclose(rows["score_high"].iloc[:N_BINS], 1 / (1 + np.exp(-edges[1:])))
    t = df["took_part"].to_numpy() == 1
    parts, comps = rows[rows["group"] == "participants"], rows[rows["group"] == "comparison"]
    assert parts["n_before"].tolist() == np.histogram(logit[t], edges)[0].tolist()
    assert comps["n_before"].tolist() == np.histogram(logit[~t], edges)[0].tolist()
    md = res.matched_data
    matched = md["_treated"] == 1
    assert parts["n_after"].tolist() == np.histogram(md.loc[matched, "_logit"], edges)[0].tolist()
    assert comps["n_after"].tolist() == np.histogram(md.loc[~matched, "_logit"], edges)[0].tolist()
    assert parts["n_after"].sum() == res.n_matched and comps["n_after"].sum() == res.n_control_matched
    np.testing.assert_allclose(rows["weighted_after"], rows["n_after"])  # 1:1 without replacement
    assert parts["n_before"].sum() - parts["n_after"].sum() == res.n_dropped_support + res.n_dropped_caliper
    assert rows["share_treated_in_support"].eq(res.overlap["share_treated_in_support"]).all()
    assert rows["caliper_width"].iloc[0] == pytest.approx(0.2 * res.overlap["pooled_sd_logit"])


def test_with_replacement_counts_people_once_and_weights_by_use(df):
    res = estimate_effect(df, "took_part", "readmitted", ["age", "prior"], "binary", replace=True, ratio=2, seed=1)
    rows = overlap_rows(res, LABEL)
    comps = rows[rows["group"] == "comparison"]
    assert comps["n_after"].sum() == res.n_control_matched  # distinct people
    assert comps["weighted_after"].sum() == pytest.approx(res.n_matched)  # scaled to the participants kept
    controls = res.matched_data[res.matched_data["_treated"] == 0]
    assert len(controls) > res.n_control_matched  # someone is reused, so rows outnumber people


def test_ipw_weighted_counts_sum_to_the_participants(df):
    res = estimate_effect(df, "took_part", "readmitted", COVS, "binary", method="ipw")
    rows = overlap_rows(res, Label("wellbeing", "v / a", "improvement"))
    parts, comps = rows[rows["group"] == "participants"], rows[rows["group"] == "comparison"]
    assert comps["weighted_after"].sum() == pytest.approx(res.n_matched)
    assert parts["weighted_after"].sum() == pytest.approx(res.n_matched)
    assert comps["n_after"].sum() == res.n_control_matched
    assert rows["caliper_width"].isna().all() and (rows["method"] == "ipw").all()
    bal = balance_rows(res, Label("wellbeing", "v / a", "improvement"))
    assert bal["covariate"].tolist() == res.balance["covariate"].tolist()  # one row per design column (sex[male])


def test_propensity_scores_cover_everyone_in_the_model(res, df):
    scores = res.propensity_scores
    assert len(scores) == len(df) and scores["_row"].tolist() == list(range(len(df)))
    np.testing.assert_allclose(scores["_logit"], np.log(scores["_pscore"] / (1 - scores["_pscore"])))
    assert int((~scores["_in_support"]).sum()) == res.n_dropped_support


def test_diagnostics_stacks_results_and_copes_with_none(res):
    balance, overlap = diagnostics([(LABEL, res), (Label("reoffending", "timebank:TB01", "binary_rate"), res)])
    assert balance["result"].unique().tolist() == ["readmission: any", "reoffending: timebank:TB01"]
    assert len(overlap) == 4 * N_BINS
    assert "person_id" not in balance.columns and "_row" not in overlap.columns
    empty_balance, empty_overlap = diagnostics([])
    assert empty_balance.empty and list(empty_balance.columns) == list(BALANCE_COLUMNS)
    assert empty_overlap.empty and list(empty_overlap.columns) == list(OVERLAP_COLUMNS)


def test_every_column_is_documented():
    documented = set(re.findall(r"^\| `([a-z_]+)` \|", DOCS.read_text(), flags=re.MULTILINE))
    assert {*BALANCE_COLUMNS, *OVERLAP_COLUMNS, "run_id"} <= documented


def test_results_keeping_only_the_columns_read_give_the_same_diagnostics(res, df):
    lean = estimate_effect(df, "took_part", "readmitted", ["age", "prior"], "binary", seed=1,
                           matched_columns=MATCHED_READ, score_columns=SCORES_READ)
    assert list(lean.matched_data.columns) == list(MATCHED_READ)
    assert list(lean.propensity_scores.columns) == list(SCORES_READ)
    pd.testing.assert_frame_equal(lean.matched_data, res.matched_data[list(MATCHED_READ)], check_exact=True)
    pd.testing.assert_frame_equal(lean.propensity_scores, res.propensity_scores[list(SCORES_READ)], check_exact=True)
    for kept, full in zip(diagnostics([(LABEL, lean)]), diagnostics([(LABEL, res)])):
        pd.testing.assert_frame_equal(kept, full, check_exact=True)
    assert lean.estimate == res.estimate and lean.balance.equals(res.balance)
    # an input column is taken with the sample rows as matched_data takes it
    some = estimate_effect(df, "took_part", "readmitted", ["age", "prior"], "binary", seed=1,
                           matched_columns=["age", "_row"])
    pd.testing.assert_frame_equal(some.matched_data, res.matched_data[["age", "_row"]], check_exact=True)


def test_balance_gives_each_binary_column_its_smallest_non_empty_cell():
    """4 participants (1 with the level), 6 comparison people (none with it): cells 1, 3, 0 and 6; the smallest
    non-empty one is 1. After matching, only rows with a positive weight count: participants 1 and 3 (one with the
    level) and comparison rows 5-7 (none), so 1 again; a numeric column has none."""
    from models.comparison.balance import balance_table

    X = pd.DataFrame({"level": [1, 0, 0, 0, 0, 0, 0, 0, 0, 0], "age": [30, 40, 50, 60, 35, 45, 55, 65, 70, 20]}, dtype=float)
    treated = np.array([1, 1, 1, 1, 0, 0, 0, 0, 0, 0], dtype=bool)
    weights = np.array([1, 0, 1, 0, 0, 1, 1, 1, 0, 0], dtype=float)
    table = balance_table(X, treated, X, treated, weights, binary=["level"]).set_index("covariate")
    assert table.loc["level", "smallest_cell_before"] == 1 and table.loc["level", "smallest_cell_after"] == 1
    assert np.isnan(table.loc["age", "smallest_cell_before"]) and np.isnan(table.loc["age", "smallest_cell_after"])
    common = X.assign(level=[1, 1, 1, 1, 1, 1, 1, 1, 1, 0])  # cells 4, 0, 5, 1: the comparison person without it
    assert balance_table(common, treated, common, treated, weights, binary=["level"])["smallest_cell_before"].iloc[0] == 1


def test_balance_counts_people_not_rows_in_a_cell():
    """One comparison person holds the level on 9 trial days: 9 rows, 1 person. Rows 0-1 are the 2 participants (no
    level), rows 2-10 comparison person 7, rows 11-14 comparison people 8-11 (no level): cells 0, 2, 1 and 4, so the
    smallest is 1 (it was 9 when rows were counted). After, the participants are matched with replacement to person 7's
    day 1 row twice and to person 8 once: the person with the level is 1 cell, not 2 rows."""
    from models.comparison.balance import balance_table

    level = np.r_[0, 0, np.ones(9), 0, 0, 0, 0].astype(float)
    X = pd.DataFrame({"level": level})
    treated = np.r_[True, True, np.zeros(13, dtype=bool)]
    person = np.r_[0, 1, np.full(9, 7), 8, 9, 10, 11]
    by_rows = balance_table(X, treated, X, treated, np.ones(15), binary=["level"])
    assert by_rows["smallest_cell_before"].iloc[0] == 2  # the two participants without it; person 7 counted 9 times
    rows_after = np.array([0, 1, 2, 2, 11])  # positions: participants 0, 1; person 7's first day twice; person 8
    table = balance_table(X, treated, X.iloc[rows_after].reset_index(drop=True), treated[rows_after], np.ones(5),
                          binary=["level"], people_before=person, people_after=person[rows_after])
    assert table["smallest_cell_before"].iloc[0] == 1 and table["smallest_cell_after"].iloc[0] == 1
    again = balance_table(X, treated, X.iloc[rows_after].reset_index(drop=True), treated[rows_after], np.ones(5),
                          binary=["level"])
    assert again["smallest_cell_after"].iloc[0] == 1  # rows after: person 8 is the only comparison row without it
    assert table["smd_before"].equals(again["smd_before"])  # the statistics do not change


def test_counting_people_is_counting_rows_when_each_row_is_a_person():
    """70 binary columns (two words of 64) over rows held as patterns: with every row its own person, the people
    counts equal the row counts, column by column."""
    from models.comparison.balance import balance_table

    rng = np.random.default_rng(5)
    patterns = pd.DataFrame(rng.random((40, 70)) < np.linspace(0.02, 0.9, 70), dtype=float)
    patterns.columns = [f"b{j}" for j in range(70)]
    rows = rng.integers(0, 40, 3000)
    treated = rng.random(3000) < 0.2
    weights = (rng.random(3000) < 0.7).astype(float)
    kw = dict(binary=list(patterns.columns), before_rows=rows, after_rows=rows)
    plain = balance_table(patterns, treated, patterns, treated, weights, **kw)
    people = balance_table(patterns, treated, patterns, treated, weights, **kw, people_before=np.arange(3000),
                           people_after=np.arange(3000))
    pd.testing.assert_frame_equal(plain, people)
    merged = balance_table(patterns, treated, patterns, treated, weights, **kw, people_before=rows // 2,
                           people_after=rows // 2)  # rows sharing a pattern pair share a person: fewer people
    assert (merged["smallest_cell_before"] <= plain["smallest_cell_before"]).all()
    assert (merged["smallest_cell_before"] < plain["smallest_cell_before"]).any()


def test_the_engine_counts_a_person_on_many_trial_days_once():
    """Trial rows, one per person and day at risk: comparison person "p-rare" is the only comparison person of area
    "C" (9 participants live there), on 10 days. The balance table's smallest cell for area C is that one person, not
    10 rows, before matching; after (with replacement, so a row can be reused) it is at most that one person."""
    rng = np.random.default_rng(3)
    n_t, n_c = 60, 300
    df = pd.DataFrame({
        "person": [f"t{i}" for i in range(n_t)] + [f"c{i}" for i in range(n_c)],
        "took_part": np.r_[np.ones(n_t), np.zeros(n_c)].astype(int),
        "age": rng.normal(50, 10, n_t + n_c),
        "area": rng.choice(["A", "B"], n_t + n_c),
    })
    rare = pd.DataFrame({"person": ["p-rare"] * 10, "took_part": 0, "age": rng.normal(50, 10, 10), "area": "C"})
    df = pd.concat([df, rare], ignore_index=True)
    df.loc[:8, "area"] = "C"
    df["readmitted"] = (rng.random(len(df)) < 0.2).astype(int)
    res = estimate_effect(df, "took_part", "readmitted", ["age", "area"], "binary", cluster="person", replace=True,
                          caliper=None, seed=1)
    cell = res.balance.set_index("covariate").loc["area[C]"]
    assert cell["smallest_cell_before"] == 1
    assert cell["smallest_cell_after"] == 1  # the 9 participants of area C matched to p-rare's days: one person


@pytest.mark.parametrize("kw", [{}, {"method": "ipw"}, {"replace": True, "ratio": 2}])
def test_rows_counted_before_the_person_level_rows_are_released_are_the_same(df, kw):
    """release_rows counts the balance and overlap rows, then drops matched_data and propensity_scores: the
    diagnostics from the released result equal those from the rows, under another label too."""
    from models.comparison.diagnostics import release_rows

    kept = estimate_effect(df, "took_part", "readmitted", ["age", "prior"], "binary", seed=1, **kw)
    released = release_rows(estimate_effect(df, "took_part", "readmitted", ["age", "prior"], "binary", seed=1, **kw))
    assert released.matched_data is None and released.propensity_scores is None
    other = Label("reoffending", "P1", "binary_rate")
    for label in (LABEL, other):
        pd.testing.assert_frame_equal(balance_rows(released, label), balance_rows(kept, label), check_exact=True)
        pd.testing.assert_frame_equal(overlap_rows(released, label), overlap_rows(kept, label), check_exact=True)
    with pytest.raises(ValueError, match="counted in 20 bins, not 10"):
        overlap_rows(released, LABEL, n_bins=10)
