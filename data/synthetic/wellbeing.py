"""Outcomes Star and well-being scale readings, long form, with a structural giving effect.

Who is on which instrument follows the member's role: patients on the Well-being Star
(1-5), mental-health service users on the Recovery Star, prisoners on the Justice Star,
some community volunteers on SWEMWBS or WEMWBS. A waiting-list comparison group of
non-members is read on the same Stars. Readings come every 3-6 months from shortly after
joining (some people have only one). Each area's latent score is a person and area level
plus a slow drift plus the effect of cumulative hours given and received in the time
bank (read from the exchange log itself) minus the deteriorations so far plus noise;
observed scores are rounded and clipped to the version's range from
data/reference/star_versions.yaml.

Enrolment after a baseline reading, decided at intake (issue 15). On the Well-being and
Recovery Stars, most members who join inside the window were first read at referral, 14-45
days before joining, and again at intake on the day they join. In the ``REFERRAL_WINDOW``
days after their first reading everyone read deteriorates (a fall, a bereavement, a relapse:
``SHOCK_SIZE`` Star points on the 1-10 scale, persistent) at rate ``REFERRAL_RATE`` per day.
The referred come from one population, read at referral and at the planned start (intake):
whoever's intake reading has fallen by ``DETERIORATION_SEEN`` or more since referral (mean over
areas, 1-10 equivalent) is not enrolled; of the others, the members enrol and
``DECLINE_SHARE`` of the referred non-members decline or find no place (for reasons unrelated
to their well-being). Members are fixed before the readings are simulated, so a member's
deteriorations and reading noise are drawn again until their intake lets them enrol (the
population conditioned on enrolling), and ``REFERRED_PER_MEMBER`` non-members per member are
referred on members' joining days, of whom those whose intake would have enrolled them are
dropped (the members stand for them). What decides who starts is therefore in the readings up
to time zero (the intake and the referral reading before it): the target trial of
docs/methods.md matched on both recovers the effect. An enrolment decided on the
deterioration itself, which the readings show only with noise, would leave comparison people
whose intake reading flatters their true level, and no design on the readings could remove
their regression to the mean. (Readings are on a schedule; unscheduled readings triggered by
a deterioration would make the choice of the follow-up reading informative, a limitation
docs/methods.md states.)

Truth for that estimand, ``realised.target_trial``: for each member read at referral and
intake, the baseline is the intake reading (time zero = joining) and the outcome the reading
nearest ``FOLLOW_UP_DAYS`` after it (+/- ``FOLLOW_UP_TOLERANCE_DAYS``), as the pipeline's
defaults; the effect is the mean over those members and areas of the observed score minus
the score with no hours (same noise, rounded and clipped), at the outcome minus at baseline.
"""

from __future__ import annotations

from dataclasses import dataclass, field
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
REFERRAL_RATE, REFERRAL_WINDOW = 1 / 60, 60  # deteriorations per day in the 60 days after the first reading
# (a referral often follows a crisis), for everyone read
MAX_SHOCKS = 6
NEVER = np.iinfo(np.int64).max
SHOCK_SIZE = 1.0  # Star points on the 1-10 scale, persistent
DECLINE_SHARE = 0.3  # referred people without a deterioration who still do not enrol (declined, no place)
PRE_JOIN_SHARE = 0.8  # members joining inside the window (Well-being and Recovery Stars) first read at referral
REFERRAL_GAP = (14, 46)  # days from referral to joining (or the planned start): within weeks
PRE_JOIN_VERSIONS = ("wellbeing_star", "recovery_star")
FOLLOW_UP_DAYS, FOLLOW_UP_TOLERANCE_DAYS = 183, 61  # the pipeline's defaults (models/wellbeing/settings.py)
OTHER, PRE_JOIN, REFERRED = 0, 1, 2  # kinds of subject: other, member read at referral, referred non-member
REFERRED_PER_MEMBER = 2.0  # referred non-members drawn per member read at referral (about half do not enrol)
DETERIORATION_SEEN = 0.5  # a fall this large (mean over areas, 1-10) from referral to intake stops enrolment
MAX_REDRAWS = 200
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
    #: version -> (person index, effect on the version's own scale) of every target-trial participant
    #: (``realised["target_trial"]``), for a truth among the participants a comparison kept
    trial_effects: dict = field(default_factory=dict)


def _subjects(p: People, ms: Memberships, start: int, end: int, rng):
    """(person, version, first reading, last reading, kind, intake day or -1, declined) per subject."""
    person, tb, role = ms.get("person"), ms.get("tb"), ms.get("role")
    joined, active_end = ms.get("joined"), ms.get("active_end")
    rules = ((role == PATIENT, "wellbeing_star", 0.85), (role == SERVICE_USER, "recovery_star", 0.9),
             (role == PRISONER, "justice_star", 0.8), ((role == COMMUNITY) & (tb == 0), "swemwbs", 0.3),
             ((role == COMMUNITY) & (tb == 1), "wemwbs", 0.25))
    who, ver, first, last, kind, intake = [], [], [], [], [], []
    planned = {}
    for mask, v, share in rules:
        s = np.flatnonzero(mask & (rng.random(person.size) < share))
        pre = ((joined[s] >= start + REFERRAL_GAP[1]) & (rng.random(s.size) < PRE_JOIN_SHARE)
               if v in PRE_JOIN_VERSIONS else np.zeros(s.size, bool))
        gap = rng.integers(*REFERRAL_GAP, s.size)
        f = np.where(pre, joined[s] - gap, np.maximum(joined[s], start) + rng.integers(0, 46, s.size))
        tail = 0 if v == "justice_star" else 60
        who.append(person[s]); ver.append(np.full(s.size, v)); first.append(f)
        last.append(np.minimum(np.minimum(active_end[s] + tail, p.death[person[s]] - 1), end))
        kind.append(np.where(pre, PRE_JOIN, OTHER)); intake.append(np.where(pre, joined[s], -1))
        planned[v] = joined[s][pre]
    member = np.zeros(p.n, dtype=bool)
    member[person] = True
    for v, pool, scale in (("wellbeing_star", ~member & p.ltc, 0.6), ("recovery_star", ~member & (p.frailty > 0.8), 0.5)):
        target = scale * sum(int((x == v).sum()) for x in ver)
        cand = np.flatnonzero(pool)
        s = cand[rng.random(cand.size) < min(1.0, target / max(cand.size, 1))]
        f = rng.integers(start, end - 180, s.size)
        who.append(s); ver.append(np.full(s.size, v)); first.append(f)
        last.append(np.minimum(np.minimum(f + rng.integers(180, 901, s.size), p.death[s] - 1), end))
        kind.append(np.full(s.size, OTHER)); intake.append(np.full(s.size, -1))
        # referred people who are not members: each planned to start on a member's joining day (same calendar);
        # those whose intake would have enrolled them are dropped later (the members stand for them)
        n = int(round(REFERRED_PER_MEMBER * planned.get(v, np.zeros(0)).size))
        free = np.setdiff1d(cand, s)  # not also on this waiting list (one subject per person and version)
        if free.size < n:  # a small pool: anyone else not a member
            free = np.setdiff1d(np.flatnonzero(~member), s)
        n = min(n, free.size)
        s = rng.choice(free, size=n, replace=False)
        t0 = rng.choice(planned[v], size=n) if planned.get(v, np.zeros(0)).size else np.zeros(0, np.int64)
        f = t0 - rng.integers(*REFERRAL_GAP, n)
        who.append(s); ver.append(np.full(n, v)); first.append(f)
        last.append(np.minimum(np.minimum(f + rng.integers(180, 901, n), p.death[s] - 1), end))
        kind.append(np.full(n, REFERRED)); intake.append(t0)
    cols = [np.concatenate(x) for x in (who, ver, first, last, kind, intake)]
    who, ver, first = cols[:3]
    order = np.lexsort((first, ver, who))
    cols = [c[order] for c in cols]
    who, ver, first, last = cols[:4]
    keep = np.r_[True, (who[1:] != who[:-1]) | (ver[1:] != ver[:-1])] & (first <= last)
    cols = [c[keep] for c in cols]
    declined = (cols[4] == REFERRED) & (rng.random(cols[0].size) < DECLINE_SHARE)
    return (*cols, declined)


def _deteriorations(first, rng) -> np.ndarray:
    """Days of each subject's deteriorations (subjects x MAX_SHOCKS; NEVER = none): a Poisson process of rate
    REFERRAL_RATE in the REFERRAL_WINDOW days after the first reading."""
    t = np.ceil(np.cumsum(rng.exponential(1 / REFERRAL_RATE, (first.size, MAX_SHOCKS)), axis=1)).astype(np.int64)
    return np.where(t <= REFERRAL_WINDOW, first[:, None] + t, NEVER)


def _intake_change(sub, day, score, first, intake, lo, version, n_subjects) -> np.ndarray:
    """Per subject: mean over areas at intake minus at referral (1-10 equivalent; NaN without both)."""
    f = scale_factor(version)
    x = 1 + (score - lo) / f
    out = []
    for when in (first, intake):
        at = day == when[sub]
        total = np.bincount(sub[at], x[at], n_subjects)
        count = np.bincount(sub[at], minlength=n_subjects)
        out.append(np.where(count > 0, total / np.maximum(count, 1), np.nan))
    return out[1] - out[0]


def simulate_readings(p: People, ms: Memberships, given: PersonTimeline, received: PersonTimeline,
                      start: int, end: int, effects: Effects, rng: np.random.Generator) -> Readings:
    who, ver, first, last, kind, intake, declined = _subjects(p, ms, start, end, rng)
    k = int(np.ceil((end - start) / 91)) + 2
    steps = np.concatenate([np.zeros((who.size, 1), np.int64), rng.integers(91, 184, (who.size, k - 1))], axis=1)
    at_intake = intake >= 0
    steps[at_intake, 1] = intake[at_intake] - first[at_intake]  # referral, then intake, then every 3-6 months
    dates = first[:, None] + np.cumsum(steps, axis=1)
    valid = dates <= last[:, None]
    single = (rng.random(who.size) < 0.2) & ~at_intake
    valid[single, 1:] = False  # a single reading only (the referred are always read at referral and intake)
    shocks = _deteriorations(first, rng)
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
    trial = {}
    trial_effects = {}
    enrols = np.zeros(who.size, bool)
    redrawn = 0
    for v_i, v in enumerate(versions):
        reg = registry()[v]
        lo, hi, areas = reg["scale_min"], reg["scale_max"], reg["areas"]
        s = np.flatnonzero(vcode[subj] == v_i)
        na = len(areas)
        r = np.repeat(s, na)
        a = np.tile(np.arange(na), s.size)
        sub = subj[r]
        area_eff = rng.normal(0, 0.6, (who.size, na))[sub, a]
        hours_effect = effects.star_per_10h_given * hg[r] / 10 + effects.star_per_10h_received * hr[r] / 10
        level = BASELINE.get(v, 5.0) - 0.3 * p.dep[who[sub]] + z[sub] + area_eff + DRIFT_PER_MONTH * months[r] + hours_effect
        noise = rng.normal(0, 0.7, r.size)
        observe = lambda x: np.clip(np.round(lo + (x - 1) * scale_factor(v)), lo, hi).astype(np.int64)
        score = observe(level - SHOCK_SIZE * (shocks[sub] <= day[r, None]).sum(axis=1) + noise)
        if v in PRE_JOIN_VERSIONS:
            # enrolment is decided at intake, on the readings: a fall of DETERIORATION_SEEN or more (mean over areas,
            # 1-10 equivalent) since referral stops it; a member's referral and deteriorations are drawn again until
            # their readings let them enrol (the referred population conditioned on enrolling)
            for _ in range(MAX_REDRAWS):
                fall = _intake_change(sub, day[r], score, first, intake, lo, v, who.size) <= -DETERIORATION_SEEN
                again = np.flatnonzero(fall & (kind == PRE_JOIN))
                if again.size == 0:
                    break
                redrawn += again.size
                shocks[again] = _deteriorations(first[again], rng)
                rows = np.isin(sub, again)
                noise[rows] = rng.normal(0, 0.7, rows.sum())
                score[rows] = observe(level[rows] - SHOCK_SIZE * (shocks[sub[rows]] <= day[r][rows, None]).sum(axis=1)
                                      + noise[rows])
            fall = _intake_change(sub, day[r], score, first, intake, lo, v, who.size) <= -DETERIORATION_SEEN
            enrols |= (kind == REFERRED) & ~fall & ~declined & (vcode == v_i)
        keep = ~enrols[sub]  # a referred non-member whose intake would have enrolled them: the members stand for them
        latent10 = level - SHOCK_SIZE * (shocks[sub] <= day[r, None]).sum(axis=1) + noise
        for key, val in (("person", who[sub]), ("version", np.full(r.size, v_i)), ("day", day[r]), ("area", a), ("score", score)):
            out[key].append(val[keep])
        realised[v] = _realised_slope(sub[keep], day[r][keep], score[keep], hg[r][keep], hr[r][keep], months[r][keep], v, effects)
        if v in PRE_JOIN_VERSIONS:
            trial[v], people_v, effect_v = _trial_truth(sub, day[r], score - observe(latent10 - hours_effect), kind,
                                                        intake, v)
            trial_effects[v] = (who[people_v], effect_v)
    realised["target_trial"] = trial
    realised["target_trial"]["definition"] = (
        "Members read at referral and at intake (the day they joined): baseline = the intake reading, outcome = the "
        f"reading nearest {FOLLOW_UP_DAYS} days after it (+/- {FOLLOW_UP_TOLERANCE_DAYS}); effect = mean over them "
        "and their areas of (observed score - score without hours, same noise) at the outcome minus at baseline; "
        "points on the version's own scale (mean_area_effect) and on the 1-10 equivalent (mean_area_effect_1_10). "
        f"Deteriorations: {SHOCK_SIZE} points (1-10) at rate {REFERRAL_RATE:.4f}/day in the {REFERRAL_WINDOW} days "
        f"after the first reading (the referral for the referred). Enrolment is decided at intake: a fall of "
        f"{DETERIORATION_SEEN} or more (mean over areas, 1-10) since referral stops it, and {DECLINE_SHARE:.0%} of "
        "the other referred non-members decline or find no place.")
    referred = kind == REFERRED
    realised["not_enrolled_after_deterioration"] = int(np.sum(referred & ~enrols & ~declined))
    realised["not_enrolled_other_reasons"] = int(np.sum(referred & declined))
    realised["members_read_before_joining"] = int(np.sum(kind == PRE_JOIN))
    realised["member_referrals_redrawn"] = int(redrawn)
    cat = {k: np.concatenate(x) if x else np.zeros(0, dtype=np.int64) for k, x in out.items()}
    order = np.lexsort((cat["area"], cat["day"], cat["version"], cat["person"]))
    return Readings(*(cat[k][order] for k in ("person", "version", "day", "area", "score")), versions, realised,
                    trial_effects)


def _trial_truth(sub, day, effect, kind, intake, version) -> tuple[dict, np.ndarray, np.ndarray]:
    """The target-trial truth of one version (module docstring) from reading-level individual effects, and its
    participants' subjects and individual effects (mean over areas, the version's own scale)."""
    pre = (kind[sub] == PRE_JOIN)
    sub, day, effect = sub[pre], day[pre], effect[pre].astype(float)
    t0 = intake[sub]
    base = day == t0
    lag = day - t0
    cand = (lag >= FOLLOW_UP_DAYS - FOLLOW_UP_TOLERANCE_DAYS) & (lag <= FOLLOW_UP_DAYS + FOLLOW_UP_TOLERANCE_DAYS) & (lag > 0)
    res = {"n_participants": 0, "mean_area_effect": None, "mean_area_effect_1_10": None}
    none = (res, np.zeros(0, np.int64), np.zeros(0))
    if not cand.any():
        return none
    dist = np.abs(lag - FOLLOW_UP_DAYS).astype(np.int64)
    # per subject: the follow-up day (nearest, earliest on ties)
    score_key = dist * 100000 + lag
    best = {}
    for s_, k_, d_ in zip(sub[cand], score_key[cand], day[cand]):
        if s_ not in best or k_ < best[s_][0]:
            best[s_] = (k_, d_)
    fu_day = np.array([best.get(s_, (0, -1))[1] for s_ in sub])
    at_fu = day == fu_day
    has_base = np.isin(sub, np.unique(sub[base]))
    people = np.intersect1d(np.unique(sub[at_fu & has_base]), np.unique(sub[base]))
    if people.size == 0:
        return none
    per = []
    for s_ in people:
        m = sub == s_
        per.append(effect[m & at_fu].mean() - effect[m & base].mean())
    est = float(np.mean(per))
    return ({"n_participants": int(people.size), "mean_area_effect": est,
             "mean_area_effect_1_10": est / scale_factor(version)}, people, np.asarray(per, dtype=float))


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
