"""The comparison's design held as covariate patterns (models/comparison/design.py, sample.py).

A risk-set design repeats each unit in every trial it is at risk for, so ``match`` codes the covariates
once per distinct pattern and gives each person their pattern's row. These tests hold that to the
design built row by row: the same design rows, missing-value counts and medians, the same
level-support decisions, the propensity fit of statsmodels on the rows, and the balance table of the
rows to the last bit.
"""

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from models.comparison import balance_table, build_design, level_support, match
from models.comparison.design import covariate_patterns, median_of_counts


def _trial_rows(seed: int = 7) -> pd.DataFrame:
    """400 units with missing ages, a text covariate and a rare level, each repeated in 1 to 12 trials;
    the treatment is drawn per trial row, as a risk-set design has it."""
    rng = np.random.default_rng(seed)
    n = 400
    age = rng.integers(20, 90, n).astype(float)
    age[rng.random(n) < 0.08] = np.nan
    units = pd.DataFrame({
        "unit": np.arange(n),
        "age": age,
        "sex": pd.Categorical(rng.choice(["F", "M"], n), categories=["F", "M"]),
        "area": rng.choice(["north", "south", "east"], n).astype(object),
        "prior": rng.poisson(0.7, n),
    })
    units.loc[:4, "area"] = "island"  # five units in a level only comparison rows may hold
    rows = units.loc[np.repeat(np.arange(n), rng.integers(1, 13, n))].reset_index(drop=True)
    lp = -2.0 + 0.02 * (rows["age"].fillna(50) - 50) + 0.5 * (rows["sex"] == "M") + 0.3 * rows["prior"]
    rows["treated"] = (rng.random(len(rows)) < 1 / (1 + np.exp(-lp))).astype(int)
    rows.loc[rows["area"] == "island", "treated"] = 0
    rows["outcome"] = (rng.random(len(rows)) < 0.3).astype(int)
    return rows


COVS = ["age", "sex", "area", "prior"]


@pytest.mark.parametrize("values,counts", [([3.0, 1.0, 2.0], [1, 1, 1]), ([3.0, 1.0, 2.0], [2, 1, 1]),
                                           ([5.0, 1.0], [1, 4]), ([2.5, 7.0, 1.0, 4.0], [3, 2, 2, 3]), ([9.0], [6])])
def test_median_of_counts_is_numpy_median_of_the_repeated_values(values, counts):
    values, counts = np.array(values), np.array(counts)
    assert median_of_counts(values, counts) == float(np.median(np.repeat(values, counts)))


def test_patterns_number_distinct_rows_in_order_of_first_appearance():
    df = pd.DataFrame({"a": [1.0, 2.0, 1.0, np.nan, np.nan, 2.0], "b": pd.Categorical(["x", "y", "x", "x", "x", "x"])})
    pattern, first, counts = covariate_patterns(df, ["a", "b"])
    assert pattern.tolist() == [0, 1, 0, 2, 2, 3]
    assert first.tolist() == [0, 1, 3, 5]
    assert counts.tolist() == [2, 1, 2, 1]


def test_design_on_patterns_is_the_design_on_the_rows():
    rows = _trial_rows()
    pattern, first, counts = covariate_patterns(rows, COVS)
    assert len(first) < len(rows) / 3  # the repeats are what the patterns save
    on_rows = build_design(rows, COVS)
    on_patterns = build_design(rows.iloc[first], COVS, counts=counts)
    assert on_rows.missing_imputed == on_patterns.missing_imputed and on_rows.missing_imputed["age"] > 0
    assert on_rows.medians == on_patterns.medians
    assert on_rows.binary == on_patterns.binary and on_rows.missing_columns == on_patterns.missing_columns
    np.testing.assert_array_equal(on_patterns.X.to_numpy()[pattern], on_rows.X.to_numpy())


def test_level_support_on_patterns_decides_as_on_the_rows():
    rows = _trial_rows()
    pattern, first, counts = covariate_patterns(rows, COVS)
    t = rows["treated"].to_numpy()
    on_rows = build_design(rows, COVS)
    by_row = level_support(on_rows.X, t, 1 - t, on_rows.binary, missing_columns=on_rows.missing_columns)
    held_t = np.bincount(pattern, weights=t).astype(int)
    design = build_design(rows.iloc[first], COVS, counts=counts)
    by_pattern = level_support(design.X, held_t, counts - held_t, design.binary, missing_columns=design.missing_columns)
    assert by_row.n_control_dropped == by_pattern.n_control_dropped == int((rows["area"] == "island").sum())
    assert by_row.notes == by_pattern.notes and by_row.dropped_columns == by_pattern.dropped_columns
    np.testing.assert_array_equal(by_pattern.keep[pattern], by_row.keep)


def test_match_on_patterns_fits_and_balances_as_on_the_rows():
    rows = _trial_rows()
    m = match(rows, "treated", COVS, exact=None, cluster="unit", outcomes=["outcome"])
    assert len(m.X) < len(m.rows) / 3
    X = m.design_matrix()  # each analysed person's row
    for logits in pd.Series(m.logit).groupby(m.pattern):  # the same covariates, the same score to the last bit
        assert logits[1].nunique() == 1
    analysed = rows.iloc[m.rows]
    assert not (analysed["area"] == "island").any()  # the one-sided level's comparison rows went
    ref = sm.Logit(m.treated.astype(float), sm.add_constant(pd.DataFrame(X, columns=m.X.columns))).fit(method="newton", disp=0)
    assert np.max(np.abs(m.propensity.params.to_numpy() - ref.params.to_numpy())) < 1e-8
    assert np.max(np.abs(m.logit - np.log(ref.predict() / (1 - ref.predict())))) < 1e-8
    expected = balance_table(pd.DataFrame(X, columns=m.X.columns), m.treated, pd.DataFrame(X[m.local], columns=m.X.columns),
                             m.treated[m.local], m.weight, source=m.source, binary=m.binary, people_before=m.person,
                             people_after=m.person[m.local])
    pd.testing.assert_frame_equal(m.balance, expected, check_exact=True)


def test_smd_after_by_pattern_is_the_balance_tables():
    """The within-group balance warnings read each person as their pattern's counts: the same SMD after as the
    balance table of the rows (weighted, repeats allowed), to rounding."""
    from models.comparison.balance import smd_after_by_pattern

    rng = np.random.default_rng(3)
    X = pd.DataFrame({"age": rng.normal(50, 10, 30), "male": rng.integers(0, 2, 30).astype(float)})
    pattern_before = rng.integers(0, 30, 5000)
    t_before = rng.random(5000) < 0.2
    local = np.flatnonzero(rng.random(5000) < 0.3)
    w = rng.choice([0.5, 1.0, 2.0], len(local))
    table = balance_table(X, t_before, X, t_before[local], w, before_rows=pattern_before,
                          after_rows=pattern_before[local])
    got = smd_after_by_pattern(X.to_numpy(), pattern_before, t_before, pattern_before[local], t_before[local], w)
    np.testing.assert_allclose(got, table["smd_after"].to_numpy(), rtol=1e-10)
    assert np.abs(got).max() > 0.01  # a real difference, not two zeros
