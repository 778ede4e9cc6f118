"""The vectorised Cox partial likelihood against statsmodels' PHReg, on data with heavy ties.

Times are whole days; everyone without an event is censored on the last day, several rows are
censored before the first event, and covariates are a 0/1 flag, dummies and a continuous one,
as in ``marts.reoffending_cox``. Estimates, model-based standard errors and the log partial
likelihood must agree to 1e-8, under Efron and Breslow ties; so must the PH test built on them.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from statsmodels.duration.hazard_regression import PHReg

from models.reoffending.cox import CoxFit, fit_cox, ph_test
from models.reoffending.partial_likelihood import SpreadRows, distinct_rows, efron_terms, fit_partial_likelihood, risk_sets


def tied_data(n: int, seed: int, days: int, strength: float = 1.0):
    rng = np.random.default_rng(seed)
    treated = (rng.random(n) < 0.35).astype(float)
    level = rng.choice(3, n, p=[0.5, 0.3, 0.2])
    age = rng.uniform(18, 60, n)
    X = np.column_stack([treated, level == 1, level == 2, (age - 35) / 10]).astype(float)
    lin = strength * (X @ np.array([-0.5, 0.3, 0.6, -0.25]))
    t = np.ceil(rng.exponential(days * 0.8 * np.exp(-lin)))
    event = (t <= days).astype(float)
    t = np.minimum(t, days)
    t[:5], event[:5] = 0.5, 0.0  # censored before the first event: in no risk set
    return t, event, X


def statsmodels_fit(t, event, X, ties):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return PHReg(t, X, status=event, ties=ties).fit(maxiter=50)


@pytest.mark.parametrize("ties", ["efron", "breslow"])
@pytest.mark.parametrize("n, seed, days", [(400, 1, 365), (2500, 2, 30), (1500, 3, 6)])
def test_fit_equals_statsmodels_phreg(ties, n, seed, days):
    t, event, X = tied_data(n, seed, days)
    _, counts = np.unique(t[event == 1], return_counts=True)
    assert counts.max() >= 4  # heavy ties: the tie method matters
    ref = statsmodels_fit(t, event, X, ties)
    fit = fit_partial_likelihood(t, event, X, ties)
    np.testing.assert_allclose(fit.params, ref.params, rtol=0, atol=1e-8)
    np.testing.assert_allclose(np.sqrt(np.diag(fit.cov)), ref.bse, rtol=0, atol=1e-8)
    np.testing.assert_allclose(fit.cov, ref.cov_params(), rtol=1e-8, atol=1e-12)
    assert fit.loglik == pytest.approx(ref.llf, rel=0, abs=1e-8)
    np.testing.assert_allclose(fit.score, 0, atol=1e-8)


@pytest.mark.parametrize("ties", ["efron", "breslow"])
def test_terms_equal_statsmodels_away_from_the_estimate(ties):
    """Log-likelihood, score and Hessian at an arbitrary point, not only where the score is 0."""
    t, event, X = tied_data(800, 4, 60)
    model = PHReg(t, X, status=event, ties=ties)
    beta = np.array([0.4, -0.2, 0.1, 0.3])
    loglik, score, hess = efron_terms(risk_sets(t, event, X, ties), beta)
    assert loglik == pytest.approx(model.loglike(beta), rel=1e-12)
    np.testing.assert_allclose(score, model.score(beta), rtol=1e-10, atol=1e-9)
    np.testing.assert_allclose(hess, model.hessian(beta), rtol=1e-10, atol=1e-9)



def trial_data(persons: int, seed: int):
    """Sequential-trial rows as ``marts.reoffending_cox`` fits them: each person's covariate row (a 0/1 flag,
    dummies and an age in whole years, so people share rows) repeated in up to four trials, each trial
    starting a week later and its follow-up a week shorter (many rows, few distinct covariate rows)."""
    rng = np.random.default_rng(seed)
    treated = (rng.random(persons) < 0.3).astype(float)
    level = rng.choice(3, persons, p=[0.5, 0.3, 0.2])
    age = rng.integers(18, 30, persons).astype(float)
    person = np.column_stack([treated, level == 1, level == 2, (age - 24) / 10]).astype(float)
    event_day = np.ceil(rng.exponential(200 * np.exp(-(person @ np.array([-0.5, 0.3, 0.6, -0.25])))))
    rows, t, event = [], [], []
    for i in range(persons):
        for k in range(rng.integers(1, 5)):
            start = 7 * k
            if event_day[i] <= start:
                break
            rows.append(person[i])
            t.append(min(event_day[i], 120) - start)
            event.append(float(event_day[i] <= 120))
    return np.array(t), np.array(event), np.array(rows)


def test_distinct_rows():
    X = np.array([[1.0, 0.5], [0.0, 0.5], [1.0, 0.5], [1.0, -0.5], [0.0, 0.5]])
    U, g = distinct_rows(X)
    assert len(U) == 3 and len(np.unique(U, axis=0)) == 3
    np.testing.assert_array_equal(U[g], X)
    assert g.tolist() == [0, 1, 0, 2, 1]
    # labels shared only by equal rows (a person's trial rows) give the same rows and codes
    for alike in ([7, 3, 7, 5, 3], [7, 3, 8, 5, 9], ["b", "a", "c", "d", "e"]):
        U2, g2 = distinct_rows(X, np.array(alike))
        np.testing.assert_array_equal(U2, U)
        np.testing.assert_array_equal(g2, g)


@pytest.mark.parametrize("ties", ["efron", "breslow"])
def test_repeated_rows_equal_statsmodels(ties):
    """The terms from the distinct covariate rows are statsmodels' (which works on every row), at a point away
    from the estimate and at the fit."""
    t, event, X = trial_data(700, 8)
    rs = risk_sets(t, event, X, ties)
    assert len(rs.rows) < len(X) / 4  # rows repeat: the distinct-row path is exercised
    model = PHReg(t, X, status=event, ties=ties)
    beta = np.array([0.4, -0.2, 0.1, 0.3])
    loglik, score, hess = efron_terms(rs, beta)
    assert loglik == pytest.approx(model.loglike(beta), rel=1e-12)
    np.testing.assert_allclose(score, model.score(beta), rtol=1e-10, atol=1e-9)
    np.testing.assert_allclose(hess, model.hessian(beta), rtol=1e-10, atol=1e-9)
    ref = statsmodels_fit(t, event, X, ties)
    fit = fit_partial_likelihood(t, event, X, ties)
    np.testing.assert_allclose(fit.params, ref.params, rtol=0, atol=1e-8)
    np.testing.assert_allclose(fit.cov, ref.cov_params(), rtol=1e-8, atol=1e-12)

def test_efron_and_breslow_differ_on_ties():
    t, event, X = tied_data(1500, 3, 6)
    efron, breslow = (fit_partial_likelihood(t, event, X, ties).params for ties in ("efron", "breslow"))
    assert np.abs(efron - breslow).max() > 1e-3


def test_strong_effect_converges_to_statsmodels():
    """Large coefficients (a long way from the start at 0): the same maximum."""
    t, event, X = tied_data(2000, 5, 365, strength=4.0)
    ref = statsmodels_fit(t, event, X, "efron")
    fit = fit_partial_likelihood(t, event, X, "efron")
    np.testing.assert_allclose(fit.params, ref.params, rtol=0, atol=1e-8)
    assert fit.loglik == pytest.approx(ref.llf, rel=0, abs=1e-8)


@pytest.mark.parametrize("ties", ["efron", "breslow"])
def test_ph_test_unchanged(ties):
    """The Grambsch-Therneau test on the new fit equals the test on statsmodels' fit."""
    t, event, X = tied_data(1200, 6, 365)
    terms = ["treated", "level[1]", "level[2]", "age"]
    fit = fit_cox(t, event, pd.DataFrame(X, columns=terms), ties)
    ref = statsmodels_fit(t, event, X, ties)
    cov = np.asarray(ref.cov_params())
    old = CoxFit(terms, np.asarray(ref.params), np.asarray(ref.bse), cov, np.asarray(ref.pvalues), risk_sets(t, event, X, ties), ties,
                 float(ref.llf))
    for transform in ("km", "rank", "identity", "log"):
        ours, theirs = ph_test(fit, transform), ph_test(old, transform)
        for col in ("rho", "chisq", "p_value"):
            np.testing.assert_allclose(ours[col], theirs[col], rtol=1e-8, atol=1e-10, err_msg=f"{transform} {col}")
    np.testing.assert_allclose(fit.pvalues, ref.pvalues, rtol=1e-7, atol=1e-12)


@pytest.mark.parametrize("ties", ["efron", "breslow"])
def test_schoenfeld_residuals_and_km_equal_a_loop_over_the_events(ties):
    """The residuals and Kaplan-Meier values the PH test reads from the fit's risk sets equal their
    definitions computed event by event: x_k minus the exp(x b)-weighted mean of the risk set (under
    Efron averaged over the tie fractions l/m), and S(t) = prod (1 - d_u / n_u) over event times u <= t."""
    from models.reoffending.cox import km_at_events, schoenfeld_residuals

    t, event, X = tied_data(300, 9, 20)
    terms = ["treated", "level[1]", "level[2]", "age"]
    fit = fit_cox(t, event, pd.DataFrame(X, columns=terms), ties)
    times, resid = schoenfeld_residuals(fit)
    w = np.exp(X @ fit.params)
    expected_times, expected = [], []
    for u in np.unique(t[event == 1]):
        risk, dead = t >= u, (t == u) & (event == 1)
        m = dead.sum()
        fractions = np.arange(m) / m if ties == "efron" else np.zeros(m)
        xbar = np.mean([(w[risk] @ X[risk] - f * (w[dead] @ X[dead])) / (w[risk].sum() - f * w[dead].sum())
                        for f in fractions], axis=0)
        expected_times += [u] * m
        expected += list(X[dead] - xbar)
    np.testing.assert_array_equal(times, expected_times)
    np.testing.assert_allclose(resid, np.array(expected), rtol=1e-10, atol=1e-12)
    surv, km = 1.0, []
    for u in np.unique(t[event == 1]):
        d = ((t == u) & (event == 1)).sum()
        surv *= 1 - d / (t >= u).sum()
        km += [surv] * d
    np.testing.assert_allclose(km_at_events(fit.risk_sets), km, rtol=1e-12)


def test_a_step_that_lowers_the_likelihood_is_halved():
    """Twelve rows where the first full Newton step from 0 overshoots: the fit halves it and
    still reaches statsmodels' maximum."""
    rng = np.random.default_rng(337)
    x = rng.normal(size=12) * 3
    t = np.ceil(rng.exponential(np.exp(-2.5 * x)) * 5)
    event = (rng.random(12) < 0.8).astype(float)
    X = x[:, None]
    rs = risk_sets(t, event, X, "efron")
    loglik0, score0, hess0 = efron_terms(rs, np.zeros(1))
    assert efron_terms(rs, np.linalg.solve(-hess0, score0))[0] < loglik0 - 0.5  # the full step overshoots
    assert fit_partial_likelihood(t, event, X, "efron", maxiter=1).loglik > loglik0  # the halved step climbs
    fit = fit_partial_likelihood(t, event, X, "efron")
    ref = statsmodels_fit(t, event, X, "efron")
    np.testing.assert_allclose(fit.params, ref.params, rtol=0, atol=1e-8)
    assert fit.loglik == pytest.approx(ref.llf, rel=0, abs=1e-8)


@pytest.mark.parametrize("alike", [True, False])
def test_a_design_held_as_spread_rows_fits_as_its_full_matrix_to_the_last_bit(alike):
    """SpreadRows (each row's treated flag and its person's covariate row) is read through ``take`` only: the
    risk sets, estimate, covariance and log-likelihood equal the fit on the n x p matrix exactly."""
    t, event, X = tied_data(2000, 7, 60)
    drawn = np.random.default_rng(7).integers(0, 400, len(t))  # a person in several trials: one covariate row
    _, first, person = np.unique(drawn, return_index=True, return_inverse=True)
    base = X[first, 1:]
    full = np.column_stack([X[:, 0], base[person]])
    spread = SpreadRows(X[:, 0], base, person, ("treated", "level1", "level2", "age"))
    assert np.array_equal(spread.to_numpy(), full) and spread.shape == full.shape
    label = 2 * person + X[:, 0].astype(np.int64) if alike else None
    a = fit_partial_likelihood(t, event, full, "efron", alike=label)
    b = fit_partial_likelihood(t, event, spread, "efron", alike=label)
    assert a.iterations == b.iterations > 2 and a.loglik == b.loglik
    for x, y in ((a.params, b.params), (a.cov, b.cov), (a.risk_sets.rows, b.risk_sets.rows),
                 (a.risk_sets.row_of, b.risk_sets.row_of), (a.risk_sets.failed_sum, b.risk_sets.failed_sum)):
        assert np.array_equal(x, y)
    frame = fit_cox(t, event, pd.DataFrame(full, columns=list(spread.columns)), groups=person, alike=label)
    held = fit_cox(t, event, spread, groups=person, alike=label)
    assert held.terms == frame.terms and np.array_equal(held.bse, frame.bse) and np.array_equal(held.params, frame.params)


def test_ph_test_holds_two_events_x_terms_matrices_and_gives_the_expressions_figures():
    """The PH test's scaled residuals d r V + beta, and their centring, are computed in place: the test holds at most
    about two events x terms matrices at a time (the expressions held four: r, d r, d r V, + beta; under a risk-set
    design every trial row's event is an event, 0.2 GiB a matrix at 1M persons), and its figures are the expressions'
    to the last bit."""
    import tracemalloc

    from models.reoffending.cox import km_at_events, schoenfeld_residuals

    t, event, X = tied_data(40000, 12, 365)
    noise = np.random.default_rng(3).normal(size=(len(t), 4))
    terms = ["treated", "level[1]", "level[2]", "age", "n1", "n2", "n3", "n4"]
    fit = fit_cox(t, event, pd.DataFrame(np.column_stack([X, noise]), columns=terms), "efron")
    tracemalloc.start()
    try:
        ours = ph_test(fit, "km")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    times, r = schoenfeld_residuals(fit)
    d = len(times)
    matrix = r.nbytes
    scaled = d * r @ fit.cov + fit.params
    g = 1 - km_at_events(fit.risk_sets)
    gc = g - g.mean()
    ss = float(np.sum(gc**2))
    chisq = (gc @ (scaled - fit.params)) ** 2 / (d * fit.bse**2 * ss)
    sc = scaled - scaled.mean(axis=0)
    rho = (gc @ sc) / np.sqrt(ss * np.sum(sc**2, axis=0))
    np.testing.assert_array_equal(ours["chisq"].to_numpy(), chisq)
    np.testing.assert_array_equal(ours["rho"].to_numpy(), rho)
    assert peak < 3 * matrix, (peak / matrix, d)
