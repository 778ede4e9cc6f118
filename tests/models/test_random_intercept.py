"""The vectorised REML random-intercept fit against closed forms, dense matrices and statsmodels MixedLM."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import stats
import statsmodels.formula.api as smf

from models.wellbeing.random_intercept import SingularDesignError, fit_random_intercept
from models.wellbeing.settings import WellbeingSettings
from models.wellbeing.trajectories import fit_trajectory

FORMULA = "y ~ x1 + x2 + age + C(sex)"


def one_way(groups: list[list[float]]) -> pd.DataFrame:
    return pd.DataFrame([{"person_id": f"g{i}", "y": v} for i, g in enumerate(groups) for v in g])


def synthetic(seed: int, people: int, sizes: list[int], tau: float, sigma: float) -> pd.DataFrame:
    """Readings of ``people`` persons, sizes drawn from ``sizes``; person-level age and sex, reading-level x1, x2."""
    rng = np.random.default_rng(seed)
    g = np.repeat(np.arange(people), rng.choice(sizes, people))
    n = len(g)
    d = pd.DataFrame({"person_id": [f"p{i:04d}" for i in g], "x1": rng.normal(size=n), "x2": rng.uniform(0, 50, n),
                      "age": rng.normal(40, 10, people)[g], "sex": rng.choice(["f", "m", "x"], people)[g]})
    d["y"] = (1 + 0.5 * d.x1 + 0.02 * d.x2 + 0.01 * d.age + 0.3 * (d.sex == "m")
              + rng.normal(0, tau, people)[g] + rng.normal(0, sigma, n))
    return d


def dense_reml(d: pd.DataFrame, formula: str, tau2: float, sigma2: float) -> float:
    """REML log-likelihood from the N x N covariance matrix (statsmodels' constant: (N - p) log 2 pi)."""
    fit = smf.ols(formula, d)
    y, X = fit.endog, fit.exog
    n, p = X.shape
    same = d["person_id"].to_numpy()[:, None] == d["person_id"].to_numpy()[None, :]
    V = sigma2 * np.eye(n) + tau2 * same
    Vi = np.linalg.inv(V)
    A = X.T @ Vi @ X
    r = y - X @ np.linalg.solve(A, X.T @ Vi @ y)
    return -0.5 * ((n - p) * math.log(2 * math.pi) + np.linalg.slogdet(V)[1] + np.linalg.slogdet(A)[1] + r @ Vi @ r)


# ------------------------------------------------------------------------------ closed forms


def test_balanced_one_way_is_the_anova_estimate():
    # Means 2, 5, 8 (grand mean 5): SSW = 3 x 2 = 6 on 6 df, MSW = 1; SSB = 3 x (9 + 0 + 9) = 54 on 2 df, MSB = 27.
    # REML = ANOVA in a balanced one-way layout: sigma2 = MSW = 1, tau2 = (MSB - MSW) / n = 26/3;
    # Var(grand mean) = (sigma2 + n tau2) / (a n) = MSB / 9 = 3.
    d = one_way([[1, 2, 3], [4, 5, 6], [7, 8, 9]])
    fit = fit_random_intercept("y ~ 1", d, d["person_id"])
    assert fit.converged and (fit.n_obs, fit.n_groups) == (9, 3)
    assert fit.sigma2 == pytest.approx(1.0, rel=1e-10)
    assert fit.tau2 == pytest.approx(26 / 3, rel=1e-10)
    assert fit.fe_params["Intercept"] == pytest.approx(5.0, rel=1e-12)
    assert fit.bse["Intercept"] == pytest.approx(math.sqrt(3), rel=1e-10)
    assert fit.cov_gls.loc["Intercept", "Intercept"] == pytest.approx(3.0, rel=1e-10)
    assert fit.llf == pytest.approx(dense_reml(d, "y ~ 1", 26 / 3, 1.0), abs=1e-10)


def test_balanced_one_way_with_msb_below_msw_is_on_the_boundary():
    # Means 3, 4, 3.5 (grand 3.5): SSB = 2 x 0.5 = 1, MSB = 0.5; SSW = 16.5 on 3 df, MSW = 5.5 > MSB.
    # The REML estimate is then tau2 = 0 and sigma2 = SST / (N - 1) = 17.5 / 5 = 3.5.
    d = one_way([[1, 5], [2, 6], [3, 4]])
    fit = fit_random_intercept("y ~ 1", d, d["person_id"])
    assert fit.converged and fit.tau2 == 0.0
    assert fit.sigma2 == pytest.approx(3.5, rel=1e-12)
    assert fit.bse["Intercept"] == pytest.approx(math.sqrt(3.5 / 6), rel=1e-10)
    assert fit.llf == pytest.approx(dense_reml(d, "y ~ 1", 0.0, 3.5), abs=1e-10)


def test_anova_closed_form_on_a_larger_balanced_layout():
    rng = np.random.default_rng(5)
    a, n = 40, 5
    y = rng.normal(0, 1.5, a)[:, None] + rng.normal(0, 1, (a, n))
    d = one_way(y.tolist())
    msw = ((y - y.mean(1, keepdims=True)) ** 2).sum() / (a * (n - 1))
    msb = n * ((y.mean(1) - y.mean()) ** 2).sum() / (a - 1)
    assert msb > msw
    fit = fit_random_intercept("y ~ 1", d, d["person_id"])
    assert fit.sigma2 == pytest.approx(msw, rel=1e-9) and fit.tau2 == pytest.approx((msb - msw) / n, rel=1e-9)
    assert fit.bse["Intercept"] == pytest.approx(math.sqrt(msb / (a * n)), rel=1e-9)


def test_llf_and_gls_covariance_against_dense_matrices():
    d = synthetic(2, 60, [1, 2, 3, 5, 8], 0.7, 1.2)
    fit = fit_random_intercept(FORMULA, d, d["person_id"])
    assert fit.llf == pytest.approx(dense_reml(d, FORMULA, fit.tau2, fit.sigma2), abs=1e-8)
    # the maximum: moving either variance lowers the likelihood
    for t2, s2 in ((fit.tau2 * 1.01, fit.sigma2), (fit.tau2 * 0.99, fit.sigma2), (fit.tau2, fit.sigma2 * 1.01)):
        assert dense_reml(d, FORMULA, t2, s2) < fit.llf
    X = smf.ols(FORMULA, d).exog
    same = d["person_id"].to_numpy()[:, None] == d["person_id"].to_numpy()[None, :]
    V = fit.sigma2 * np.eye(len(d)) + fit.tau2 * same
    np.testing.assert_allclose(fit.cov_gls.to_numpy(), np.linalg.inv(X.T @ np.linalg.solve(V, X)), rtol=1e-9)


# ------------------------------------------------------------------------------ statsmodels


def statsmodels_fit(d: pd.DataFrame, formula: str):
    """statsmodels' REML fit, run to a tight gradient tolerance so that its own optimiser error is negligible."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return smf.mixedlm(formula, d, groups=d["person_id"]).fit(reml=True, method=["bfgs"], gtol=1e-10, maxiter=3000)


CASES = {
    "balanced": (synthetic(1, 150, [4], 1.0, 1.0), FORMULA),
    "unbalanced": (synthetic(2, 200, [1, 2, 3, 5, 8, 13], 0.7, 1.2), FORMULA),
    "categorical only": (synthetic(3, 120, [2, 3, 4], 0.5, 1.0), "y ~ C(sex)"),
    "lambda near 0": (synthetic(3, 200, [2, 3, 4], 0.05, 1.0), FORMULA),
    "large lambda": (synthetic(4, 150, [2, 3, 6], 10.0, 0.3), FORMULA),
}


@pytest.mark.parametrize("case", list(CASES))
def test_agrees_with_statsmodels_mixedlm(case):
    d, formula = CASES[case]
    ours, sm = fit_random_intercept(formula, d, d["person_id"]), statsmodels_fit(d, formula)
    names = list(ours.fe_params.index)
    assert names == list(sm.fe_params.index)  # the same patsy design and term names
    assert ours.converged
    np.testing.assert_allclose(ours.fe_params, sm.fe_params, rtol=1e-5, atol=1e-8)
    np.testing.assert_allclose(ours.cov_params.to_numpy(), sm.cov_params().loc[names, names].to_numpy(), rtol=1e-5,
                               atol=1e-12)
    np.testing.assert_allclose(ours.bse, sm.bse_fe, rtol=1e-5)
    assert ours.sigma2 == pytest.approx(sm.scale, rel=1e-4)
    assert ours.tau2 == pytest.approx(float(sm.cov_re.iloc[0, 0]), rel=1e-4, abs=1e-4 * ours.sigma2)
    assert ours.llf == pytest.approx(sm.llf, abs=1e-6)
    assert ours.llf >= sm.llf - 1e-9  # never a worse maximum than statsmodels'


def test_boundary_estimate_agrees_with_statsmodels():
    # no person effect in the data, and a seed where REML puts tau2 on the boundary
    d = next(x for x in (synthetic(s, 100, [2, 3], 0.0, 1.0) for s in range(100, 200))
             if fit_random_intercept(FORMULA, x, x["person_id"]).tau2 == 0.0)
    ours, sm = fit_random_intercept(FORMULA, d, d["person_id"]), statsmodels_fit(d, FORMULA)
    assert ours.converged
    assert float(sm.cov_re.iloc[0, 0]) < 1e-6 * sm.scale
    np.testing.assert_allclose(ours.fe_params, sm.fe_params, rtol=1e-5, atol=1e-8)
    np.testing.assert_allclose(ours.bse, sm.bse_fe, rtol=1e-5)
    assert ours.sigma2 == pytest.approx(sm.scale, rel=1e-4) and ours.llf == pytest.approx(sm.llf, abs=1e-6)


def test_statsmodels_cov_params_is_not_quite_the_gls_covariance():
    # statsmodels inverts the joint Hessian in (beta, lambda), whose cross block is not zero at the estimate:
    # its fixed-effect covariance exceeds (X'V^-1X)^-1 by O(1/N); random_intercept reproduces both.
    d, _ = CASES["unbalanced"]
    ours = fit_random_intercept(FORMULA, d, d["person_id"])
    extra = ours.cov_params.to_numpy() - ours.cov_gls.to_numpy()
    assert np.all(np.linalg.eigvalsh(extra) > -1e-12)
    assert 1e-6 < np.max(np.abs(np.diag(extra)) / np.diag(ours.cov_gls)) < 1e-2


# ------------------------------------------------------------------------------ rank deficiency


def test_collinear_design_raises_and_the_trajectory_says_not_fitted():
    d = synthetic(6, 60, [2, 3, 4], 0.7, 1.0)
    d["age_months"] = 12 * d["age"]  # the same covariate twice
    with pytest.raises(SingularDesignError):
        fit_random_intercept("y ~ x1 + age + age_months", d, d["person_id"])
    data = d.rename(columns={"y": "score_oriented", "x1": "months", "x2": "hours_given"})
    data["hours_received"] = data["hours_given"] * 0.5 + np.random.default_rng(0).uniform(0, 5, len(data))
    rows, info = fit_trajectory(data, "score_oriented", ["age", "age_months"], None, WellbeingSettings())
    assert [r["term"] for r in rows] == ["hours_given", "hours_received", "months", "given_minus_received"]
    assert all(r["status"].startswith("not fitted: the design matrix") for r in rows)
    assert info["converged"] is None and info["n_people"] == 60


# ------------------------------------------------------------------------------ person-clustered covariance


def test_cluster_robust_covariance_against_dense_matrices():
    d = synthetic(5, 80, [1, 2, 3, 5, 8], 0.7, 1.2)
    fit = fit_random_intercept(FORMULA, d, d["person_id"])
    X = smf.ols(FORMULA, d).exog
    y = d["y"].to_numpy()
    lam = fit.tau2 / fit.sigma2
    r = y - X @ fit.fe_params.to_numpy()
    groups = d["person_id"].to_numpy()
    A = np.zeros((X.shape[1], X.shape[1]))
    meat = np.zeros_like(A)
    for g in np.unique(groups):
        m = groups == g
        Vinv = np.linalg.inv(np.eye(m.sum()) + lam * np.ones((m.sum(), m.sum())))
        A += X[m].T @ Vinv @ X[m]
        s = X[m].T @ Vinv @ r[m]
        meat += np.outer(s, s)
    G, N, p = len(np.unique(groups)), len(d), X.shape[1]
    expected = G / (G - 1) * (N - 1) / (N - p) * np.linalg.inv(A) @ meat @ np.linalg.inv(A)
    np.testing.assert_allclose(fit.cov_robust.to_numpy(), expected, rtol=1e-9)


def test_cluster_robust_at_lambda_zero_is_statsmodels_ols_clustered():
    d = synthetic(6, 100, [2, 3, 4], 0.0, 1.0)
    fit = fit_random_intercept(FORMULA, d, d["person_id"])
    if fit.tau2 > 0:
        pytest.skip("this draw has a positive person variance")
    codes = pd.factorize(d["person_id"])[0]
    ols = smf.ols(FORMULA, d).fit(cov_type="cluster", cov_kwds={"groups": codes})
    np.testing.assert_allclose(fit.cov_robust.to_numpy(), ols.cov_params().to_numpy(), rtol=1e-8)


def test_trajectory_uses_the_person_clustered_se_by_default():
    d = synthetic(7, 60, [3, 4], 0.7, 1.0).rename(columns={"x1": "hours_given", "x2": "hours_received"})
    d["months"] = d.groupby("person_id").cumcount() * 4.0
    formula = "y ~ hours_given + hours_received + months"
    fit = fit_random_intercept(formula, d, d["person_id"])
    for se, cov in (("person_cluster", fit.cov_robust), ("model", fit.cov_params)):
        rows, _ = fit_trajectory(d, "y", [], None, WellbeingSettings(trajectory_se=se))
        given = next(r for r in rows if r["term"] == "hours_given")
        assert given["se"] == pytest.approx(math.sqrt(cov.loc["hours_given", "hours_given"]), rel=1e-12), se
        # person-clustered: t on G - 1 df (60 people: 59); model-based: the normal
        q = stats.t.ppf(0.975, 59) if se == "person_cluster" else stats.norm.ppf(0.975)
        assert given["ci_high"] == pytest.approx(given["estimate"] + q * given["se"], rel=1e-12), se
        z = given["estimate"] / given["se"]
        p = 2 * (stats.t.sf(abs(z), 59) if se == "person_cluster" else stats.norm.sf(abs(z)))
        assert given["p_value"] == pytest.approx(p, rel=1e-10), se
    assert WellbeingSettings().trajectory_se == "person_cluster"


def test_trajectory_codes_text_terms_as_patsy_would():
    # fit_trajectory hands text covariates and the item to patsy as sorted Categoricals (issue 18: speed); the fit must be
    # the one patsy gives for C() of the raw text, where patsy finds and sorts the levels itself
    d = synthetic(8, 90, [2, 3, 4], 0.7, 1.0).rename(columns={"x1": "hours_given", "x2": "hours_received"})
    d["months"] = d.groupby("person_id").cumcount() * 4.0
    d["item"] = np.random.default_rng(8).choice(["star.b", "star.a", "star.c"], len(d))
    d["cov_sex"] = d["sex"]
    formula = "y ~ hours_given + hours_received + months + C(cov_sex) + C(item)"
    fit = fit_random_intercept(formula, d, d["person_id"])
    assert {"C(cov_sex)[T.m]", "C(cov_sex)[T.x]", "C(item)[T.star.b]", "C(item)[T.star.c]"} < set(fit.fe_params.index)
    rows, info = fit_trajectory(d, "y", ["sex"], "item", WellbeingSettings())
    assert info["covariates"] == "sex" and d["item"].dtype == object  # the caller's frame is left as it was
    for r in rows[:3]:
        assert r["estimate"] == pytest.approx(fit.fe_params[r["term"]], rel=1e-12, abs=1e-14)
        assert r["se"] == pytest.approx(math.sqrt(fit.cov_robust.loc[r["term"], r["term"]]), rel=1e-12)


def test_the_item_from_two_categoricals_is_the_item_from_their_text():
    # model_table names each reading's item version.area from the codes of the two columns (no text per reading);
    # the levels must be the sorted names, as for the text, even where the pairs sort otherwise ("mh-1" < "mh.")
    from models.wellbeing.trajectories import _item, _levels
    version = pd.Series(["mh", "mh-1", "mh", None, "recovery", "mh-1"])
    area = pd.Series(["x", "x", "y", "x", "a", "y"])
    ours = _item(version.astype("category"), area.astype("category"))
    assert ours.cat.categories.tolist() == ["mh-1.x", "mh-1.y", "mh.x", "mh.y", "recovery.a"]
    pd.testing.assert_series_equal(ours, _levels(version + "." + area))


def test_main_effects_design_is_patsys_to_the_bit():
    # the trajectories build their design themselves (issue 18: patsy's per-factor arrays cost most of a 1M-person run);
    # it must be patsy's: same column names and order (intercept, categorical terms, numeric terms), same values
    import patsy

    from models.wellbeing.random_intercept import fit_main_effects, main_effects_design
    d = synthetic(5, 60, [1, 2, 3], 0.5, 1.0)
    d["item"] = pd.Categorical(np.random.default_rng(5).choice(["b.x", "a.y", "c.z"], len(d)), categories=["a.y", "b.x", "c.z"])
    d["sex"] = pd.Categorical(d["sex"], categories=sorted(d["sex"].unique()))
    d["imd"] = np.random.default_rng(6).integers(1, 11, len(d))  # an integer column, as imd_decile is
    terms = ["x1", "x2", "sex", "age", "imd", "item"]
    y, X, names = main_effects_design(d, "y", terms)
    py, pX = patsy.dmatrices("y ~ " + " + ".join(terms), d, NA_action="raise", return_type="dataframe")
    assert names == list(pX.columns)
    assert names[:3] == ["Intercept", "sex[T.m]", "sex[T.x]"] and names[-3:] == ["x2", "age", "imd"]
    assert np.array_equal(X, pX.to_numpy()) and np.array_equal(y, py.to_numpy()[:, 0])
    ours, theirs = fit_main_effects(d, "y", terms, d["person_id"]), fit_random_intercept("y ~ " + " + ".join(terms), d, d["person_id"])
    assert ours.fe_params.equals(theirs.fe_params) and ours.cov_robust.equals(theirs.cov_robust)
    assert (ours.llf, ours.tau2, ours.sigma2) == (theirs.llf, theirs.tau2, theirs.sigma2)


def test_a_fit_laid_out_in_a_used_buffer_is_the_same_fit():
    # model_table fits the largest model first and lays every later design out in its memory (DesignBuffer): the
    # values left there by the larger fit must not leak into a smaller one
    from models.wellbeing.random_intercept import DesignBuffer, fit_main_effects
    d = synthetic(7, 80, [1, 2, 3], 0.5, 1.0)
    d["sex"] = pd.Categorical(d["sex"], categories=sorted(d["sex"].unique()))
    small = d[d["person_id"] < "p0040"].reset_index(drop=True)
    buffer = DesignBuffer()
    fit_main_effects(d, "y", ["x1", "x2", "sex", "age"], d["person_id"], buffer)  # fills the buffer
    memory = buffer.matrix(1, 1).base
    for terms in (["x1", "x2", "sex", "age"], ["x1", "age"]):
        reused = fit_main_effects(small, "y", terms, small["person_id"], buffer)
        assert buffer.matrix(1, 1).base is memory  # laid out in the same memory, not new
        fresh = fit_main_effects(small, "y", terms, small["person_id"])
        assert reused.fe_params.equals(fresh.fe_params) and reused.cov_robust.equals(fresh.cov_robust)
        assert (reused.llf, reused.tau2, reused.sigma2) == (fresh.llf, fresh.tau2, fresh.sigma2)
