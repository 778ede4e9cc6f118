"""The propensity fit (models/comparison/propensity.py) against statsmodels' Logit, which it replaces.

``newton_logit`` fits on the distinct rows of (design, treatment) with their counts; these
tests hold it to ``statsmodels.Logit(...).fit(method="newton")`` on the full rows, to 1e-8 or
better, with repeated rows (a risk-set design) and with continuous covariates (no repeats).
"""

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from models.comparison import ComparisonError, fit_propensity
from models.comparison.propensity import distinct_rows, newton_logit, row_codes


def _repeated(seed: int = 3) -> tuple[pd.DataFrame, np.ndarray]:
    """600 units, each repeated in 1 to 15 trials (as risk-set matching repeats discharges)."""
    rng = np.random.default_rng(seed)
    units = pd.DataFrame({"age": rng.integers(18, 90, 600).astype(float), "female": rng.integers(0, 2, 600).astype(float),
                          "prior": rng.poisson(0.8, 600).astype(float)})
    rows = units.loc[np.repeat(np.arange(600), rng.integers(1, 16, 600))].reset_index(drop=True)
    lp = -2.5 + 0.02 * (rows["age"] - 50) + 0.4 * rows["female"] + 0.3 * rows["prior"]
    treated = (rng.random(len(rows)) < 1 / (1 + np.exp(-lp))).astype(float)
    return rows, treated


def _continuous(seed: int = 5) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = pd.DataFrame({"x1": rng.normal(size=800), "x2": rng.gamma(2.0, size=800), "b": rng.integers(0, 2, 800).astype(float)})
    lp = -0.5 + 0.8 * X["x1"] - 0.3 * X["x2"] + 0.5 * X["b"]
    return X, (rng.random(800) < 1 / (1 + np.exp(-lp))).astype(float)


def _standardised(X: pd.DataFrame) -> np.ndarray:
    A = X.to_numpy(dtype=float)
    return np.column_stack([np.ones(len(A)), (A - A.mean(axis=0)) / A.std(axis=0)])


@pytest.mark.parametrize("data", [_repeated, _continuous])
def test_newton_logit_is_statsmodels_newton(data):
    X, t = data()
    Z = _standardised(X)
    ref = sm.Logit(t, Z).fit(method="newton", maxiter=100, disp=0)
    beta, steps, converged, separated = newton_logit(Z, t)
    assert np.max(np.abs(beta - ref.params)) < 1e-10
    assert np.max(np.abs(Z @ beta - Z @ ref.params)) < 1e-10
    assert steps == ref.mle_retvals["iterations"] and converged and not separated


@pytest.mark.parametrize("data", [_repeated, _continuous])
def test_fit_propensity_agrees_with_statsmodels_on_the_original_columns(data):
    X, t = data()
    fit = fit_propensity(X, t, [c for c in X.columns if set(X[c].unique()) <= {0.0, 1.0}])
    ref = sm.Logit(t, sm.add_constant(X)).fit(disp=0)
    assert np.max(np.abs(fit.params.to_numpy() - ref.params.to_numpy())) < 1e-8
    assert np.max(np.abs(fit.score - ref.predict())) < 1e-10
    assert np.max(np.abs(fit.logit - np.log(ref.predict() / (1 - ref.predict())))) < 1e-8


def test_distinct_rows_counts_each_pattern_once_in_order_of_appearance():
    Z = np.array([[1, 2.0], [1, 3.0], [1, 2.0], [1, 2.0], [1, 3.0], [1, 5.0]])
    y = np.array([0, 0, 1, 0, 0, 1.0])
    first, count = distinct_rows(Z, y)
    assert first.tolist() == [0, 1, 2, 5]
    assert count.tolist() == [2, 2, 1, 1]



def test_row_codes_recode_before_the_key_overflows():
    """Six columns of 2,000 values each (2000^6 > 2^62 combinations): the codes are the distinct rows in order
    of first appearance, as a sort of the whole matrix finds them; missing values count as equal."""
    rng = np.random.default_rng(3)
    X = rng.integers(0, 2000, (5000, 6)).astype(float)
    X[::7] = X[1::7][: len(X[::7])]  # repeated rows
    X[::11, 2] = np.nan
    key, n_rows = row_codes(len(X), X.T)
    _, first, inverse = np.unique(np.nan_to_num(X, nan=-1.0), axis=0, return_index=True, return_inverse=True)
    appearance = np.argsort(np.argsort(first))  # np.unique's sorted rows renumbered by first appearance
    assert n_rows == len(first) < len(X)
    assert key.tolist() == appearance[inverse.ravel()].tolist()

def test_perfect_prediction_is_refused_as_statsmodels_detects_it():
    X = pd.DataFrame({"x": [0.0, 0.1, 0.2, 0.3, 0.4, 1.0, 1.1, 1.2, 1.3, 1.4]})
    t = np.array([0, 0, 0, 0, 0, 1, 1, 1, 1, 1.0])
    with pytest.raises(ComparisonError, match="separation"):
        fit_propensity(X, t)


def test_row_codes_of_two_valued_columns_equal_pandas_factorize():
    from models.comparison.propensity import _column_codes

    rng = np.random.default_rng(11)
    cases = [rng.integers(0, 2, 50).astype(float), np.r_[1.0, np.zeros(9)], np.full(7, 3.5), np.array([0.0, -0.0, 1.0]),
             np.array([np.nan, 1.0, np.nan]), np.array([1.0, np.nan, 1.0]), rng.integers(0, 3, 40), np.array([2.0, 5.0])]
    for column in cases:
        codes, n = _column_codes(column)
        want, uniques = pd.factorize(column, use_na_sentinel=False)
        assert np.array_equal(codes, want) and n == len(uniques)


def test_a_genuine_optimum_may_give_some_comparison_people_a_score_of_0():
    """Participation follows logit -4 + 2x with x normal; 50 comparison people sit at x = -10, a logit of about
    -24 (a score of 4e-11): far from every participant, yet the fit has converged where the likelihood peaks (Newton
    steps without the ridge leave it), so it is kept (before, refused as quasi-complete separation)."""
    from models.comparison.propensity import drifting

    rng = np.random.default_rng(4)
    x = np.r_[rng.normal(0, 1, 20_000), np.full(50, -10.0)]
    t = np.r_[(rng.random(20_000) < 1 / (1 + np.exp(4 - 2 * x[:20_000]))), np.zeros(50, bool)].astype(float)
    fit = fit_propensity(pd.DataFrame({"x": x}), t)
    assert fit.params["x"] == pytest.approx(2.0, abs=0.15)
    assert (fit.score[-50:] < 1e-9).all()
    Z = np.column_stack([np.ones(len(x)), x])
    beta = fit.params[["const", "x"]].to_numpy()
    assert not drifting(Z, t, np.ones(len(x)), beta)


def test_a_fit_heading_to_infinity_is_drifting():
    """dose > 0 only among participants (quasi-complete separation): wherever Newton stops on the way (here after its
    100 steps, or wherever the Hessian's ridge might stop it), steps without the ridge keep moving the logits, so a
    converged fit there with scores of 0 or 1 would still be refused."""
    from models.comparison.propensity import _newton, drifting

    rng = np.random.default_rng(1)
    t = (rng.random(3000) < 0.3).astype(float)
    dose = np.where((t == 1) & (rng.random(3000) < 0.5), rng.uniform(1, 5, 3000), 0.0)
    Z = np.column_stack([np.ones(3000), rng.normal(0, 1, 3000), (dose - dose.mean()) / dose.std()])
    beta, _, converged, _ = _newton(Z, t, np.ones(3000))
    assert not converged and np.abs(Z @ beta).max() > 20.7
    assert drifting(Z, t, np.ones(3000), beta)


def test_a_comparison_person_scored_near_1_is_refused_even_at_the_maximum():
    """Five comparison people at x = 15 score about 1 - 1e-11: under weighting their odds would be about 1e11, so
    the fit is refused whatever its convergence (the side no comparison person may hold)."""
    rng = np.random.default_rng(4)
    x = np.r_[rng.normal(0, 1, 20_000), np.full(5, 15.0)]
    t = np.r_[(rng.random(20_000) < 1 / (1 + np.exp(4 - 2 * x[:20_000]))), np.zeros(5, bool)].astype(float)
    with pytest.raises(ComparisonError, match="gives 5 people a score of 0 or 1"):
        fit_propensity(pd.DataFrame({"x": x}), t)
