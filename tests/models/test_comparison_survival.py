"""Weighted Kaplan-Meier with cluster-robust bands."""

from __future__ import annotations

import numpy as np
import pytest
from statsmodels.duration.survfunc import SurvfuncRight

from models.comparison.survival import km_curve


def data(n=400, seed=0):
    rng = np.random.default_rng(seed)
    T = np.ceil(rng.exponential(300, n))
    C = rng.uniform(50, 400, n).round()
    return np.minimum(T, C), (T <= C).astype(float), rng.choice([0.5, 1.0, 2.0], n)


def test_survival_equals_statsmodels_with_weights():
    t, d, w = data()
    km = km_curve(t, d, w)
    sf = SurvfuncRight(t, d, freq_weights=w)
    assert km["time"].tolist() == pytest.approx(list(sf.surv_times))
    assert km["survival"].to_numpy() == pytest.approx(sf.surv_prob)
    assert km["n_at_risk"].to_numpy() == pytest.approx(np.asarray(sf.n_risk, float))


def test_unit_weights_band_is_close_to_greenwood():
    t, d, _ = data(n=600, seed=1)
    km = km_curve(t, d)
    sf = SurvfuncRight(t, d)
    nr, ne = np.asarray(sf.n_risk, float), np.asarray(sf.n_events, float)
    greenwood = np.sqrt(np.cumsum(ne / (nr * (nr - ne))))
    keep = nr > 50
    assert km["se_log"].to_numpy()[keep] == pytest.approx(greenwood[keep], rel=0.05)
    assert (km["ci_low"] <= km["survival"]).all() and (km["survival"] <= km["ci_high"]).all()


def test_reused_rows_widen_the_band_exactly_back():
    # every person twice (a control reused by two matched sets): Greenwood-style row counting halves
    # the variance; clustering on the person gives back the one-copy band exactly
    t, d, w = data(n=300, seed=2)
    person = np.arange(len(t))
    once = km_curve(t, d, w)
    twice_rows = km_curve(np.r_[t, t], np.r_[d, d], np.r_[w, w])
    twice_person = km_curve(np.r_[t, t], np.r_[d, d], np.r_[w, w], clusters=[np.r_[person, person]])
    assert twice_person["survival"].to_numpy() == pytest.approx(once["survival"].to_numpy())
    assert twice_person["se_log"].to_numpy() == pytest.approx(once["se_log"].to_numpy(), rel=1e-9)
    assert (twice_rows["se_log"] < twice_person["se_log"]).iloc[5:].all()
