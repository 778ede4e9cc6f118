"""marts.reoffending_cox against an independent fit: lifelines CoxPHFitter (Efron ties in both).

The data have heavy ties (whole days, everyone without a reoffence censored on day 365), a
categorical covariate with a missing value (the engine's ``(missing)`` level), a numeric
covariate with missing values (median plus indicator) and an extra persons column.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from lifelines import CoxPHFitter
from lifelines.statistics import proportional_hazard_test

from models.comparison import cox_binary
from models.reoffending import ReoffendingSettings, fit_cox, ph_test, reoffending_cox
from models.reoffending.cox import cox_design
from models.reoffending.prepare import analysis_frame, programme_subset, usable_covariates


def make_cohort(n=600, seed=11, log_hr=-0.4, fade_after=None) -> pd.DataFrame:
    """A core.justice_cohort-like frame: one final 2023-Q1 row per person."""
    rng = np.random.default_rng(seed)
    age = rng.uniform(18, 60, n)
    sex = rng.choice(["female", "male", "unknown"], n, p=[0.3, 0.65, 0.05])
    imd = rng.integers(1, 11, n).astype(float)
    imd[rng.random(n) < 0.05] = np.nan
    housing = rng.choice(["owned", "rented", "homeless"], n, p=[0.3, 0.5, 0.2]).astype(object)
    housing[rng.random(n) < 0.03] = None
    prior = rng.poisson(2, n).astype(float)
    lin = -0.2 * (age - 35) / 10 + 0.3 * (sex == "male") + 0.1 * np.log1p(prior) + 0.4 * (housing == "homeless")
    p_treat = 1 / (1 + np.exp(-(-1.0 + 0.3 * (age - 35) / 10 - 0.2 * np.log1p(prior))))
    treated = rng.random(n) < p_treat
    rate = np.exp(-6.3 + lin)
    hr = np.where(treated, np.exp(log_hr), 1.0)
    e = rng.exponential(1.0, n)
    if fade_after is None:  # proportional hazards
        t = e / (rate * hr)
    else:  # the treated hazard ratio applies until day fade_after, then 1
        early = rate * hr * fade_after
        t = np.where(e < early, e / (rate * hr), fade_after + (e - early) / rate)
    days = np.ceil(t).astype(int)
    event = days <= 365
    index = pd.Timestamp("2023-01-10")
    reoffences = np.where(event, rng.integers(1, 4, n), 0)
    return pd.DataFrame({
        "run_id": "r", "person_id": [f"p{i:04d}" for i in range(n)], "cohort_period": "2023-Q1",
        "period_start": pd.Timestamp("2023-01-01"), "period_end": pd.Timestamp("2023-03-31"), "index_date": index,
        "event_type": rng.choice(["custody_release", "community_sentence", "caution"], n), "events_in_period": 1,
        "is_final": True, "participant": treated,
        "programmes": [["timebank:TB01"] if x else [] for x in treated],
        "programme_start_days": [[0] if x else [] for x in treated],  # all started by the index date
        "reoffended": event, "reoffences": reoffences,
        "reoffence_days": [[int(d)] * int(k) for d, k in zip(days, reoffences)],
        "days_to_first_reoffence": pd.Series(np.where(event, days, 0), dtype="Int64").where(event, pd.NA),
        "age": age, "sex": sex, "imd_decile": imd, "housing": housing, "prior_convictions": prior,
    })


SETTINGS = ReoffendingSettings(covariates=("age", "sex", "imd_decile", "housing", "prior_convictions"))


def lifelines_fit(design: pd.DataFrame, sub: pd.DataFrame) -> CoxPHFitter:
    data = design.assign(duration=sub["duration"].to_numpy(), event=sub["event"].to_numpy())
    return CoxPHFitter().fit(data, duration_col="duration", event_col="event"), data


def test_cox_matches_lifelines_to_three_decimals():
    cohort = make_cohort()
    mart = reoffending_cox(cohort, SETTINGS)
    rows = mart[mart.programme == "any_participation"].set_index("term")
    df = analysis_frame(cohort, SETTINGS)
    sub = programme_subset(df, "any_participation", SETTINGS)
    spread, _ = cox_design(sub, usable_covariates(sub, SETTINGS).used, [])
    design = spread.to_frame()
    assert list(rows.index) == list(design.columns)
    # housing: reference level "homeless" (first in sorted order), missing values their own level
    assert {"treated", "age", "sex[male]", "housing[owned]", "housing[rented]", "housing[(missing)]",
            "imd_decile_missing"} <= set(rows.index)
    assert (rows.ties == "efron").all()
    cph, data = lifelines_fit(design, sub)
    s = cph.summary
    for col_mart, col_ll in (("coef", "coef"), ("se", "se(coef)"), ("p_value", "p"), ("hazard_ratio", "exp(coef)"),
                             ("ci_low", "exp(coef) lower 95%"), ("ci_high", "exp(coef) upper 95%")):
        np.testing.assert_allclose(rows[col_mart].to_numpy(float), s.loc[rows.index, col_ll].to_numpy(float),
                                   atol=5e-4, err_msg=col_mart)
    # in fact within 1e-5 (the two optimisers stop at slightly different points)
    np.testing.assert_allclose(rows["coef"].to_numpy(float), s.loc[rows.index, "coef"].to_numpy(float), atol=1e-5)
    assert rows.loc["treated", "n"] == sub["person_id"].nunique() and rows.loc["treated", "n_trial_rows"] == len(sub)
    assert rows.loc["treated", "n_events"] == sub.loc[sub["event"] == 1, "person_id"].nunique()


def test_ph_test_matches_lifelines():
    cohort = make_cohort(seed=5)
    df = analysis_frame(cohort, SETTINGS)
    sub = programme_subset(df, "any_participation", SETTINGS)
    spread, _ = cox_design(sub, usable_covariates(sub, SETTINGS).used, [])
    fit = fit_cox(sub["duration"], sub["event"], spread, "efron")
    cph, data = lifelines_fit(spread.to_frame(), sub)
    for transform in ("km", "identity", "log"):
        ours = ph_test(fit, transform).set_index("term")
        theirs = proportional_hazard_test(cph, data, time_transform=transform).summary
        np.testing.assert_allclose(ours["chisq"].to_numpy(), theirs.loc[ours.index, "test_statistic"].to_numpy(),
                                   rtol=1e-3, atol=1e-5, err_msg=transform)
        np.testing.assert_allclose(ours["p_value"].to_numpy(), theirs.loc[ours.index, "p"].to_numpy(), atol=1e-4)


def test_ph_test_flags_a_fading_effect():
    cohort = make_cohort(n=2000, seed=3, log_hr=-1.2, fade_after=90)
    mart = reoffending_cox(cohort, SETTINGS.model_copy(update={"covariates": ("age", "sex")}))
    treated = mart[(mart.programme == "any_participation") & (mart.term == "treated")].iloc[0]
    assert treated.ph_violated and treated.ph_p_value < 0.01
    steady = reoffending_cox(make_cohort(n=2000, seed=3, log_hr=-1.2), SETTINGS.model_copy(update={"covariates": ("age", "sex")}))
    assert not steady[(steady.programme == "any_participation") & (steady.term == "treated")].iloc[0].ph_violated


def test_breslow_matches_the_engines_cox():
    cohort = make_cohort(seed=8)
    df = analysis_frame(cohort, SETTINGS)
    sub = programme_subset(df, "any_participation", SETTINGS)
    fit = fit_cox(sub["duration"], sub["event"], sub[["treated"]].astype(float), "breslow")
    beta, _, _ = cox_binary(sub["duration"], sub["event"], sub["treated"], np.ones(len(sub)))
    assert fit.params[0] == pytest.approx(beta, abs=1e-6)
    efron = fit_cox(sub["duration"], sub["event"], sub[["treated"]].astype(float), "efron")
    assert abs(efron.params[0] - fit.params[0]) > 1e-5  # ties matter, so the choice is real


def test_level_without_events_is_left_out_with_a_note():
    cohort = make_cohort(seed=2)
    cohort.loc[cohort.sex == "unknown", ["reoffended", "reoffences", "days_to_first_reoffence"]] = [False, 0, pd.NA]
    mart = reoffending_cox(cohort, SETTINGS)
    rows = mart[mart.programme == "any_participation"]
    assert "sex[unknown]" not in set(rows.term)
    assert "sex[unknown]" in rows.note.iloc[0] and np.isfinite(rows.coef.astype(float)).all()


def test_not_estimable_placeholders():
    cohort = make_cohort(n=200, seed=4)
    none = cohort.assign(reoffended=False, reoffences=0, days_to_first_reoffence=pd.NA)
    row = reoffending_cox(none, SETTINGS).iloc[0]
    assert row.term == "treated" and row.note.startswith("not estimable: no proven reoffence") and pd.isna(row.coef)
    nobody = cohort.assign(participant=False, programmes=[[] for _ in range(len(cohort))])
    row = reoffending_cox(nobody, SETTINGS).iloc[0]
    assert row.note == "not estimable: no participants in the final cohorts"
    empty = reoffending_cox(cohort.iloc[:0], SETTINGS)
    assert list(empty.note) == ["not estimable: no final cohort"]
    few = make_cohort(n=30, seed=1)
    assert reoffending_cox(few, SETTINGS).note.str.startswith("not estimable").all()


def test_person_clustered_covariance_equals_statsmodels_and_needs_no_risk_set_loop():
    """Closed-form score residuals give statsmodels' PHReg(groups=...) covariance to rounding,
    under both tie methods; a row censored before the first event adds nothing (not NaN)."""
    from statsmodels.duration.hazard_regression import PHReg

    from models.reoffending.cox import cluster_robust_cov, cluster_scores
    from models.reoffending.partial_likelihood import risk_sets

    rng = np.random.default_rng(7)
    n = 600
    X = rng.normal(size=(n, 2))
    t = np.ceil(rng.exponential(150, n)).clip(10, 365)
    ev = (rng.random(n) < 0.5).astype(float)
    person = rng.integers(0, 250, n)
    for ties in ("efron", "breslow"):
        ref = PHReg(t, X, status=ev, ties=ties).fit(groups=person)
        fit = PHReg(t, X, status=ev, ties=ties).fit()
        mine = cluster_robust_cov(risk_sets(t, ev, X, ties), fit.params, fit.cov_params(), person)
        np.testing.assert_allclose(mine, ref.cov_params(), rtol=1e-10)
    early = risk_sets(np.append(t, 1.0), np.append(ev, 0.0), np.vstack([X, [[5.0, -5.0]]]), "breslow")
    scores = cluster_scores(early, fit.params, np.append(person, 250)[early.order], 251)  # the early row is cluster 250
    assert np.all(scores[-1] == 0) and np.isfinite(scores).all()
    # every cluster's sum is the sum of statsmodels' score residuals of its rows
    resid = PHReg(t, X, status=ev, ties="breslow").score_residuals(fit.params)
    by_person = np.column_stack([np.bincount(person, weights=r, minlength=250) for r in resid.T])
    rs = risk_sets(t, ev, X, "breslow")
    np.testing.assert_allclose(cluster_scores(rs, fit.params, person[rs.order], 250), by_person, rtol=1e-10, atol=1e-12)


def test_cox_p_values_use_t_on_people_minus_one_when_clustered_and_the_normal_when_not():
    from scipy import stats

    rng = np.random.default_rng(8)
    n = 80
    X = pd.DataFrame({"treated": (rng.random(n) < 0.5).astype(float), "x": rng.normal(size=n)})
    t = np.ceil(rng.exponential(150, n)).clip(10, 365)
    ev = (rng.random(n) < 0.6).astype(float)
    person = np.arange(n) % 25  # 25 people, several rows each
    clustered = fit_cox(t, ev, X, groups=person)
    assert clustered.df == 24
    np.testing.assert_allclose(clustered.pvalues, 2 * stats.t.sf(np.abs(clustered.params / clustered.bse), 24))
    plain = fit_cox(t, ev, X)
    assert plain.df == np.inf
    np.testing.assert_allclose(plain.pvalues, 2 * stats.norm.sf(np.abs(plain.params / plain.bse)))


def test_design_coded_per_person_equals_the_rows_coding():
    """cox_design codes each person once and spreads the codes to their trial rows; under risk_set a
    person has several rows, so the median filling a missing numeric value is taken over the rows
    (as the engine's build_design on the rows takes it), not over the people."""
    from models.comparison import build_design
    from models.reoffending.prepare import design_rows, model_frame

    cohort = make_cohort(n=800, seed=12)
    rng = np.random.default_rng(12)
    starts = rng.choice([0, 20, 45, 70], len(cohort))
    cohort["programme_start_days"] = [[int(d)] if x else [] for d, x in zip(starts, cohort.participant)]
    cohort.loc[rng.random(len(cohort)) < 0.1, "age"] = np.nan
    cohort.loc[cohort.sex == "unknown", ["reoffended", "reoffences", "days_to_first_reoffence"]] = [False, 0, pd.NA]
    sub, cov = design_rows(analysis_frame(cohort, SETTINGS), "any_participation", SETTINGS)
    assert sub["person_id"].duplicated().any() and sub["trial_day"].nunique() == 4
    spread, notes = cox_design(sub, cov.used, [])
    got = spread.to_frame()
    assert [len(spread.base), len(spread.lead)] == [sub["person_id"].nunique(), len(sub)]  # coded per person
    design = build_design(model_frame(sub[cov.used], cov.used), cov.used)
    rows = pd.concat([sub[["treated"]].astype(float), design.X.astype(float)], axis=1)
    people = build_design(model_frame(sub.drop_duplicates("person_id")[cov.used], cov.used), cov.used)
    assert design.medians["age"] != people.medians["age"]  # the case that matters
    dropped = [c for c in rows.columns if c not in got.columns]
    assert dropped == ["sex[unknown]"] and "sex[unknown]" in notes[0]  # no reoffender among them
    pd.testing.assert_frame_equal(got, rows.drop(columns=dropped).reset_index(drop=True), check_exact=True)


def test_cox_from_the_comparisons_design_rows_is_the_cox_mart():
    """The pipeline fits the Cox model on the design rows the matched comparison built (built once per programme):
    the same rows as reoffending_cox alone, and the comparison's own marts are unchanged by it."""
    from models.reoffending import compare_reoffending

    cohort = make_cohort(n=1500, seed=5, log_hr=-0.4)
    settings = SETTINGS.model_copy(update={"covariates": ("age", "sex")})
    both = compare_reoffending(cohort, settings, cox=True)
    alone = compare_reoffending(cohort, settings)
    pd.testing.assert_frame_equal(both.cox, reoffending_cox(cohort, settings))
    assert (both.cox["term"] == "treated").any() and both.cox["hazard_ratio"].notna().all()
    for name in ("effects", "survival", "avoided"):
        pd.testing.assert_frame_equal(getattr(both, name), getattr(alone, name))
    assert alone.cox is None


def test_cox_counts_people_not_trial_rows():
    """Under risk_set a person is in one row per trial day at risk, an event in each if they reoffend after it: the
    mart's n and n_events count people (the cohort had 828 index events, and n read 5,364 rows, on the demo)."""
    from models.reoffending.cox import cox_programme
    from models.reoffending.prepare import design_rows

    cohort = make_cohort(n=800, seed=12)
    starts = np.random.default_rng(12).choice([0, 20, 45, 70], len(cohort))
    cohort["programme_start_days"] = [[int(d)] if x else [] for d, x in zip(starts, cohort.participant)]
    df = analysis_frame(cohort, SETTINGS)
    sub, cov = design_rows(df, "any_participation", SETTINGS)
    assert len(sub) > 2 * sub["person_id"].nunique()  # people in many trials
    row = next(r for r in cox_programme(df, "any_participation", SETTINGS, (sub, cov)) if r["term"] == "treated")
    reoffenders = set(df.loc[df["reoffended"] == 1, "person_id"]) & set(sub["person_id"])
    assert (row["n"], row["n_events"], row["n_trial_rows"]) == (sub["person_id"].nunique(), len(reoffenders), len(sub))
    assert row["n_events"] < int(sub["event"].sum())  # the rows' events count a reoffender in each of their trials


def test_too_few_events_counts_people_not_trial_rows():
    """A model needs more events than terms: 5 reoffenders for 7 terms is too few, however many trial rows carry
    their reoffences (each reoffender's event is in every trial they are at risk in)."""
    from models.reoffending.cox import cox_programme
    from models.reoffending.prepare import design_rows

    cohort = make_cohort(n=300, seed=12)
    starts = np.random.default_rng(12).choice([0, 20, 45, 70], len(cohort))
    cohort["programme_start_days"] = [[int(d)] if x else [] for d, x in zip(starts, cohort.participant)]
    keep = set(cohort.loc[cohort.reoffended & cohort.participant, "person_id"][:2]) | set(
        cohort.loc[cohort.reoffended & ~cohort.participant, "person_id"][:3])
    gone = cohort.reoffended & ~cohort.person_id.isin(keep)
    cohort.loc[gone, "reoffended"], cohort.loc[gone, "reoffences"] = False, 0
    cohort.loc[gone, "days_to_first_reoffence"] = pd.NA
    cohort["reoffence_days"] = [d if r else [] for d, r in zip(cohort.reoffence_days, cohort.reoffended)]
    df = analysis_frame(cohort, SETTINGS)
    sub, cov = design_rows(df, "any_participation", SETTINGS)
    terms = cox_design(sub, cov.used, cov.categorical)[0].shape[1]
    reoffenders = sub.loc[sub["event"] == 1, "person_id"].nunique()
    assert reoffenders <= terms < int(sub["event"].sum())  # the case: enough event rows, too few people
    (row,) = cox_programme(df, "any_participation", SETTINGS, (sub, cov))
    assert row["note"] == f"not estimable: {terms} terms for {reoffenders} people with a reoffence: too few events for the model"
    assert row["hazard_ratio"] is None and row["n_events"] == reoffenders
