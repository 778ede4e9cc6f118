"""Outcomes Star and well-being scale readings, long form, with a structural giving effect.

Who is on which instrument follows the member's role: patients on the Well-being Star
(1-5), mental-health service users on the Recovery Star, prisoners on the Justice Star,
some community volunteers on SWEMWBS or WEMWBS. A waiting-list comparison group of
non-members is read on the same Stars. Readings come every 3-6 months from shortly after
joining (some people have only one). Each area's latent score is a person and area level
plus a slow drift plus the effect of cumulative hours given and received in the time
bank (read from the exchange log itself) plus noise; observed scores are rounded and
clipped to the version's range from data/reference/star_versions.yaml.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
import yaml

from .exchanges import PersonTimeline
from .people import People
from .timebanks import COMMUNITY, PATIENT, PRISONER, SERVICE_USER, Memberships
from .truth import Effects

REGISTRY = Path(__file__).resolve().parents[1] / "reference" / "star_versions.yaml"
DRIFT_PER_MONTH = 0.03  # on the 1-10 scale, everyone
# Below this many hours given (and received) between two readings the scale's ceiling hardly
# bites, so a linear fit recovers the structural effect; heavy givers hit the top of the scale.
LINEAR_RANGE_HOURS = 60
# version: (mean baseline on the 1-10 scale)
BASELINE = {"recovery_star": 3.8, "justice_star": 4.0, "wellbeing_star": 3.9, "swemwbs": 4.6, "wemwbs": 4.6, "home_star": 4.0}


@cache
def registry() -> dict:
    return yaml.safe_load(REGISTRY.read_text())["versions"]


def scale_factor(version: str) -> float:
    v = registry()[version]
    return (v["scale_max"] - v["scale_min"]) / 9.0


@dataclass
class Readings:
    person: np.ndarray
    version: np.ndarray  # index into VERSIONS
    day: np.ndarray
    area: np.ndarray  # index into that version's areas
    score: np.ndarray
    versions: tuple
    realised: dict


def _subjects(p: People, ms: Memberships, start: int, end: int, rng):
    person, tb, role = ms.get("person"), ms.get("tb"), ms.get("role")
    joined, active_end = ms.get("joined"), ms.get("active_end")
    rules = ((role == PATIENT, "wellbeing_star", 0.85), (role == SERVICE_USER, "recovery_star", 0.9),
             (role == PRISONER, "justice_star", 0.8), ((role == COMMUNITY) & (tb == 0), "swemwbs", 0.3),
             ((role == COMMUNITY) & (tb == 1), "wemwbs", 0.25))
    who, ver, first, last = [], [], [], []
    for mask, v, share in rules:
        s = np.flatnonzero(mask & (rng.random(person.size) < share))
        f = np.maximum(joined[s], start) + rng.integers(0, 46, s.size)
        tail = 0 if v == "justice_star" else 60
        who.append(person[s]); ver.append(np.full(s.size, v)); first.append(f)
        last.append(np.minimum(np.minimum(active_end[s] + tail, p.death[person[s]] - 1), end))
    member = np.zeros(p.n, dtype=bool)
    member[person] = True
    for v, pool, scale in (("wellbeing_star", ~member & p.ltc, 0.6), ("recovery_star", ~member & (p.frailty > 0.8), 0.5)):
        target = scale * sum(int((x == v).sum()) for x in ver)
        cand = np.flatnonzero(pool)
        s = cand[rng.random(cand.size) < min(1.0, target / max(cand.size, 1))]
        f = rng.integers(start, end - 180, s.size)
        who.append(s); ver.append(np.full(s.size, v)); first.append(f)
        last.append(np.minimum(np.minimum(f + rng.integers(180, 901, s.size), p.death[s] - 1), end))
    who, ver, first, last = (np.concatenate(x) for x in (who, ver, first, last))
    order = np.lexsort((first, ver, who))
    who, ver, first, last = who[order], ver[order], first[order], last[order]
    keep = np.r_[True, (who[1:] != who[:-1]) | (ver[1:] != ver[:-1])] & (first <= last)
    return who[keep], ver[keep], first[keep], last[keep]


def simulate_readings(p: People, ms: Memberships, given: PersonTimeline, received: PersonTimeline,
                      start: int, end: int, effects: Effects, rng: np.random.Generator) -> Readings:
    who, ver, first, last = _subjects(p, ms, start, end, rng)
    k = int(np.ceil((end - start) / 91)) + 2
    steps = np.concatenate([np.zeros((who.size, 1), np.int64), rng.integers(91, 184, (who.size, k - 1))], axis=1)
    dates = first[:, None] + np.cumsum(steps, axis=1)
    valid = dates <= last[:, None]
    valid[rng.random(who.size) < 0.2, 1:] = False  # a single reading only
    subj, col = np.nonzero(valid)
    day = dates[subj, col]
    versions = tuple(sorted(set(ver.tolist())))
    vcode = np.searchsorted(np.array(versions), ver)
    z = rng.normal(0, 0.8, who.size)
    hg = given.total(who[subj], day)
    hr = received.total(who[subj], day)
    months = (day - first[subj]) / 30.44
    out = {k: [] for k in ("person", "version", "day", "area", "score")}
    realised = {}
    for v_i, v in enumerate(versions):
        reg = registry()[v]
        lo, hi, areas = reg["scale_min"], reg["scale_max"], reg["areas"]
        s = np.flatnonzero(vcode[subj] == v_i)
        na = len(areas)
        r = np.repeat(s, na)
        a = np.tile(np.arange(na), s.size)
        sub = subj[r]
        area_eff = rng.normal(0, 0.6, (who.size, na))[sub, a]
        latent10 = (BASELINE.get(v, 5.0) - 0.3 * p.dep[who[sub]] + z[sub] + area_eff + DRIFT_PER_MONTH * months[r]
                    + effects.star_per_10h_given * hg[r] / 10 + effects.star_per_10h_received * hr[r] / 10
                    + rng.normal(0, 0.7, r.size))
        score = np.clip(np.round(lo + (latent10 - 1) * scale_factor(v)), lo, hi).astype(np.int64)
        for key, val in (("person", who[sub]), ("version", np.full(r.size, v_i)), ("day", day[r]), ("area", a), ("score", score)):
            out[key].append(val)
        realised[v] = _realised_slope(sub, day[r], score, hg[r], hr[r], months[r], v, effects)
    cat = {k: np.concatenate(x) if x else np.zeros(0, dtype=np.int64) for k, x in out.items()}
    order = np.lexsort((cat["area"], cat["day"], cat["version"], cat["person"]))
    return Readings(*(cat[k][order] for k in ("person", "version", "day", "area", "score")), versions, realised)


def _realised_slope(sub, day, score, hg, hr, months, version, effects) -> dict:
    """OLS of distance travelled (last - first reading, mean over areas) on hours between them."""
    f = scale_factor(version)
    res = {"n_subjects": int(np.unique(sub).size),
           "expected_points_per_10h_given": effects.star_per_10h_given * f,
           "expected_points_per_10h_received": effects.star_per_10h_received * f}
    order = np.lexsort((day, sub))
    sub, day, score, hg, hr, months = (x[order] for x in (sub, day, score, hg, hr, months))
    ids, first_i, counts = np.unique(sub, return_index=True, return_counts=True)
    last_day = np.maximum.reduceat(day, first_i)
    first_day = day[first_i]
    at_first = day == np.repeat(first_day, counts)
    at_last = day == np.repeat(last_day, counts)
    two = last_day > first_day
    res["n_with_two_or_more"] = int(two.sum())
    if two.sum() < 10:
        return res
    mean_at = lambda mask, x: np.bincount(np.repeat(np.arange(ids.size), counts)[mask], x[mask], ids.size) / np.maximum(np.bincount(np.repeat(np.arange(ids.size), counts)[mask], minlength=ids.size), 1)
    change = (mean_at(at_last, score.astype(float)) - mean_at(at_first, score.astype(float)))[two]
    dg = (mean_at(at_last, hg) - mean_at(at_first, hg))[two] / 10
    dr = (mean_at(at_last, hr) - mean_at(at_first, hr))[two] / 10
    dm = (mean_at(at_last, months) - mean_at(at_first, months))[two]
    X = np.column_stack([np.ones(dg.size), dm, dg, dr])
    beta = np.linalg.lstsq(X, change, rcond=None)[0]
    res.update({"ols_points_per_10h_given": float(beta[2]), "ols_points_per_10h_received": float(beta[3]),
                "ols_points_per_month": float(beta[1]), "mean_distance_travelled": float(change.mean())})
    k = (dg * 10 < LINEAR_RANGE_HOURS) & (dr * 10 < LINEAR_RANGE_HOURS)
    if k.sum() >= 10:
        beta = np.linalg.lstsq(X[k], change[k], rcond=None)[0]
        res.update({"n_under_linear_range": int(k.sum()), "ols_under_linear_range_per_10h_given": float(beta[2]),
                    "ols_under_linear_range_per_10h_received": float(beta[3])})
    return res
