"""The published Kaplan-Meier band keeps the mart's clustered width (models.disclosure.DisclosureRule.survival_curve).

The reoffending survival mart's intervals are clustered on the person (a comparison person reused by several
matched sets counts once); the page's curve is recomputed from rounded counts, and Greenwood's formula on them
alone would narrow the band back to what covered 82.5% of simulated curves (models/reoffending/effects.py).
"""

import math

import numpy as np
import pandas as pd

from models.disclosure import DisclosureRule
from models.reoffending.effects import km_curve

Z = 1.959963984540054


def _with_band(rows, factor: float) -> pd.DataFrame:
    """An exact curve whose log-log band has ``factor`` times Greenwood's variance on its counts."""
    curve = pd.DataFrame(rows, columns=["time_days", "n_at_risk", "n_events"])
    at_risk, events = curve["n_at_risk"].to_numpy(float), curve["n_events"].to_numpy(float)
    s = np.cumprod(1 - events / at_risk)
    var = factor * np.cumsum(events / (at_risk * (at_risk - events)))
    with np.errstate(divide="ignore", invalid="ignore"):
        spread = Z * np.sqrt(var) / np.abs(np.log(s))
        low = np.where(s < 1, s ** np.exp(spread), 1.0)
    return curve.assign(survival=s, ci_low=low, ci_high=np.where(s < 1, s ** np.exp(-spread), 1.0))


def test_the_published_band_keeps_the_marts_variance_ratio():
    rows = [(0, 40, 0), (10, 40, 1), (20, 39, 1), (30, 38, 6), (50, 30, 4), (365, 20, 0)]
    plain = DisclosureRule().survival_curve(_with_band(rows, 1.0))
    wide = DisclosureRule().survival_curve(_with_band(rows, 2.0))
    bare = DisclosureRule().survival_curve(_with_band(rows, 1.0)[["time_days", "n_at_risk", "n_events"]])
    np.testing.assert_allclose(plain["ci_low"], bare["ci_low"], rtol=1e-12)  # Greenwood's band: the ratio is 1
    assert wide["survival"].tolist() == plain["survival"].tolist()  # the counts and the curve are the same
    # day 50: the rounded counts' Greenwood variance (4/(40*36) + 8/(32*24)), doubled on the page as in the mart
    var, s = 2 * (4 / (40 * 36) + 8 / (32 * 24)), 0.675
    assert math.isclose(wide["ci_low"].iloc[2], s ** math.exp(Z * var ** 0.5 / abs(math.log(s))), rel_tol=1e-9)


def test_the_marts_clustered_band_reaches_the_page():
    """A comparison group whose people are each in two rows (reused by two matched sets): the mart's clustered band is
    wider than Greenwood's on the weighted counts, and so is the page's."""
    rng = np.random.default_rng(4)
    people = 200
    days = np.minimum(rng.exponential(400, people).astype(int) + 1, 365)
    duration, event = np.repeat(days, 2), np.repeat(days < 365, 2).astype(float)
    clusters = np.repeat(np.arange(people), 2)
    mart = km_curve(duration, event, np.ones(2 * people), 365, clusters=clusters)
    greenwood = km_curve(duration, event, np.ones(2 * people), 365)
    page = DisclosureRule().survival_curve(mart)
    page_greenwood = DisclosureRule().survival_curve(greenwood)
    assert (mart["ci_low"] <= greenwood["ci_low"]).all() and (mart["ci_low"] < greenwood["ci_low"]).any()
    inner = page["survival"] < 1
    assert (page.loc[inner, "ci_low"] < page_greenwood.loc[inner, "ci_low"]).all()
    np.testing.assert_allclose(page["survival"], page_greenwood["survival"])
