"""Justice contact: index events, proven offences, breaches and justice programmes.

A share of people (more often male, young, deprived, with prior convictions) have a first
justice event in the window: a youth-court disposal, caution, community sentence or
release from custody. Each event is an index event in the MoJ sense: its proven
reoffending outcome is drawn from REOFFEND_MODEL with the participation odds ratio, and
that outcome is written into the offences file exactly (a reoffender's first reoffence
falls in the year and is proven within the waiting period; a non-reoffender's next
offence comes after it). A reoffence's conviction is the next event, so people cycle
through the system. At custody releases some prisoners joined the prison time bank or a
prison project while inside; after youth-court disposals some serve as peer jurors; after
community sentences a few are referred to the community time bank. Those choices depend on
age, deprivation and prior convictions, which is the confounding the matching must undo.
The jury and the community time bank start after the event (7-45 and 0-90 days): the
outcome is drawn first, a reoffence committed before the planned start prevents it, and
the programme acts only from its start day (the observed outcome follows the
without-programme draw before it), so defining participants by a start up to 90 days after
the event gives them immortal time, as in the real case.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.stats import beta as beta_dist

from .common import NEVER, expit
from .people import People
from .timebanks import COMMUNITY, PRISON_TB, PRISONER, Memberships, lapse
from .truth import REOFFEND_JOIN_AFTER_DAYS, REOFFEND_MODEL, Effects, LaterEvents, potential_outcome_summary

EVENT_TYPES = ("custody_release", "community_sentence", "caution", "youth_court")
CUSTODY, COMMUNITY_SENTENCE, CAUTION, YOUTH_COURT = range(4)
OFFENCE_GROUPS = ("theft", "violence", "drugs", "criminal_damage", "public_order", "motoring", "other")
OFFENCE_MIX = (0.28, 0.22, 0.14, 0.10, 0.10, 0.10, 0.06)
PROGRAMMES = ("peer_visiting_after_discharge", "youth_court_jury", "prison_bike_repair", "prison_listeners")
PEER_VISITING, JURY, BIKES, LISTENERS = range(4)
FOLLOW_UP, WAITING = 365, 182


@dataclass
class Justice:
    events: dict
    offences: dict
    enrolments: dict
    truth: dict


class Slots:
    """Per-person [start, end] intervals of memberships and enrolments that count as participation."""

    def __init__(self, rows: int, cap: int = 12):
        self.start = np.full((rows, cap), NEVER)
        self.end = np.full((rows, cap), NEVER)
        self.used = np.zeros(rows, dtype=np.int64)

    def add(self, rows, start, end) -> None:
        order = np.argsort(rows, kind="stable")
        rows, start, end = rows[order], np.asarray(start)[order], np.asarray(end)[order]
        first = np.r_[True, rows[1:] != rows[:-1]]
        rank = np.arange(rows.size) - np.maximum.accumulate(np.where(first, np.arange(rows.size), 0))
        col = self.used[rows] + rank
        ok = col < self.start.shape[1]
        self.start[rows[ok], col[ok]] = start[ok]
        self.end[rows[ok], col[ok]] = end[ok]
        np.add.at(self.used, rows, 1)

    def first_start(self, rows, e) -> np.ndarray:
        """Earliest start of a slot counting for an event on day e (starts by e + 90, not ended before e); NEVER if none."""
        e = e[:, None]
        counts = (self.start[rows] <= e + REOFFEND_JOIN_AFTER_DAYS) & (self.end[rows] >= e)
        return np.where(counts, self.start[rows], NEVER).min(axis=1)


def _collector(*keys):
    return {k: [] for k in keys}


def uptake_shift(later: LaterEvents, order: np.ndarray) -> np.ndarray | float:
    """The later-events scenario's log-odds added to each justice programme's choice at events of ``order`` (0 when
    it is off: the caller then adds nothing, so its draws and thresholds are the generator's own)."""
    if not later.on:
        return 0.0
    return np.where(order == 0, later.uptake_first, later.uptake_later)


def first_participating_event(jt: dict) -> dict:
    """The participants' expected effects at each person's first event with participation and full follow-up (the
    cohort of ``index_events: all``), as :func:`.truth.potential_outcome_summary` gives them, plus the number of
    those events that are not the person's first."""
    complete = jt["complete"].astype(bool)
    part = jt["participant"].astype(bool) & complete
    order = np.lexsort((jt["day"], jt["person"]))
    first = np.zeros(part.size, bool)
    seen = order[part[order]]
    keep = np.r_[True, jt["person"][seen][1:] != jt["person"][seen][:-1]] if seen.size else np.zeros(0, bool)
    first[seen[keep]] = True
    out = potential_outcome_summary({**jt, "participant": first}, first)
    out["n_at_a_later_event"] = int((first & (jt["order"] > 0)).sum())
    return out


def simulate_justice(p: People, memberships: Memberships, start: int, end: int, effects: Effects,
                     rng: np.random.Generator, later: LaterEvents = LaterEvents()) -> Justice:
    age0 = p.age(np.arange(p.n), start)
    involved = (rng.random(p.n) < expit(-2.0 + 1.1 * p.crim)) & (age0 >= 10) & (p.death > start)
    J = np.flatnonzero(involved)
    pos = np.full(p.n, -1)
    pos[J] = np.arange(J.size)

    slots = Slots(J.size)
    mp, mtb = memberships.get("person"), memberships.get("tb")
    sel = pos[mp] >= 0
    slots.add(pos[mp[sel]], memberships.get("joined")[sel], memberships.get("left")[sel])
    in_tb = np.zeros((J.size, 4), dtype=bool)
    in_tb[pos[mp[sel]], mtb[sel]] = True

    ev, off, enr, tru = (_collector("person", "type", "day"),
                         _collector("person", "offence", "proven", "group", "breach"),
                         _collector("person", "programme", "start", "end"),
                         _collector("person", "day", "type", "order", "participant", "start", "p0", "p1", "y0", "y1", "outcome", "complete"))

    def offences(person, day, proven, breach=False):
        off["person"].append(person); off["offence"].append(day); off["proven"].append(proven)
        off["group"].append(rng.choice(len(OFFENCE_GROUPS), person.size, p=OFFENCE_MIX) if not breach else np.full(person.size, 6))
        off["breach"].append(np.full(person.size, breach))

    def next_event(rows, conv):
        """Disposal after a conviction on day conv: type, event day (release for custody)."""
        young = p.age(J[rows], conv) < 18
        u = rng.random(rows.size)
        typ = np.where(young, np.where(u < 0.7, YOUTH_COURT, CAUTION),
                       np.where(u < 0.4, CUSTODY, np.where(u < 0.85, COMMUNITY_SENTENCE, CAUTION)))
        sentence = sentence_days(rows.size)
        return typ, np.where(typ == CUSTODY, conv + sentence, conv)

    def sentence_days(n):
        return np.minimum(60 + np.floor(rng.gamma(1.5, 110, n)).astype(np.int64), 1400)

    def lag(n):
        return 14 + np.floor(rng.gamma(2.0, 40.0, n)).astype(np.int64)

    # First events: uniform over the window, type by age and record.
    n = J.size
    day = rng.integers(start, end - 30, n)
    lp_all = np.log1p(p.prior_convictions)
    young = p.age(J, day) < 18
    u = rng.random(n)
    p_cust = 0.15 + 0.1 * np.minimum(lp_all[J], 2.0)
    p_caut = 0.3 - 0.06 * np.minimum(lp_all[J], 2.0)
    typ = np.where(young, np.where(u < 0.65, YOUTH_COURT, CAUTION),
                   np.where(u < p_cust, CUSTODY, np.where(u < p_cust + p_caut, CAUTION, COMMUNITY_SENTENCE)))
    conv = np.where(typ == CUSTODY, day - sentence_days(n), day)
    order = np.zeros(n, dtype=np.int64)
    prev = np.full(n, -NEVER)  # previous event day: new enrolments start after prev + 90
    active = np.ones(n, dtype=bool)
    log_or = np.log(effects.or_reoffend)
    c = REOFFEND_MODEL

    while active.any():
        rows = np.flatnonzero(active)
        e = day[rows]
        pp = J[rows]
        ok = (e <= end) & (e < p.death[pp])
        active[rows[~ok]] = False
        rows, e, pp = rows[ok], e[ok], pp[ok]
        if not rows.size:
            break
        t, cv, k = typ[rows], conv[rows], order[rows]
        floor = prev[rows] + REOFFEND_JOIN_AFTER_DAYS + 1  # so no earlier event becomes a participant later
        age, lp, dep = p.age(pp, e), lp_all[pp], p.dep[pp]
        shift = uptake_shift(later, k)  # the later-events scenario (0 when off)
        ev["person"].append(pp); ev["type"].append(t); ev["day"].append(e)
        f = k == 0  # the offence behind a first event (later ones are already in the file)
        offences(pp[f], cv[f] - lag(int(f.sum())), cv[f])

        # Programmes and prison time-bank membership, chosen on age, deprivation, convictions.
        s = (t == CUSTODY)
        inside = e - cv
        r = rows[s]
        jt = s.copy()
        jt_score = -0.5 + 0.25 * (age[s] - 30) / 10 - 0.6 * lp[s] + 0.2 * dep[s]
        if later.on:
            jt_score = jt_score + shift[s]
        jt[s] = (~in_tb[r, PRISON_TB]) & (rng.random(r.size) < expit(jt_score))
        if jt.any():
            j = np.flatnonzero(jt)
            joined = np.maximum(e[j] - rng.integers(30, np.minimum(inside[j], 400) + 1), floor[j])
            j, joined = j[joined < e[j]], joined[joined < e[j]]
            left = np.where(rng.random(j.size) < 0.75, e[j], NEVER)
            memberships.add(pp[j], PRISON_TB, PRISONER, joined, left, e[j])
            slots.add(rows[j], joined, left)
            in_tb[rows[j], PRISON_TB] = True
        for prog, score in ((BIKES, -1.4 - 0.45 * lp + 0.1 * (age - 30) / 10),
                            (LISTENERS, -1.9 + 0.3 * (age - 30) / 10 - 0.7 * lp)):
            if later.on:
                score = score + shift
            j = np.flatnonzero(s & (rng.random(rows.size) < expit(score)))
            st = np.maximum(e[j] - rng.integers(30, np.minimum(inside[j], 365) + 1), floor[j])
            j, st = j[st < e[j]], st[st < e[j]]
            _enrol(enr, pp[j], prog, st, e[j])
            slots.add(rows[j], st, e[j])
        # The outcome first, with both potential outcomes kept for the truth file, and the day of
        # the first reoffence should there be one.
        lin = (c["intercept"] + c["per_decade_over_30"] * (age - 30) / 10 + c["male"] * p.male[pp]
               + c["deprivation"] * dep + c["per_log1p_prior_conviction"] * lp)
        if later.on:
            lin = lin + later.risk_per_event * np.minimum(k, 3)
        p0, p1 = expit(lin), expit(lin + log_or)
        uu = rng.random(rows.size)
        y0, y1 = uu < p0, uu < p1
        death = p.death[pp]
        o = e + 1 + np.floor(360 * rng.beta(0.9, 1.8, rows.size)).astype(np.int64)
        o = np.minimum(o, death - 2)
        day_o = o - e  # 1..360 unless death cuts it

        # Participation starting after the event (peer jury 7-45 days, community time bank 0-90
        # days): a reoffence committed before the planned start prevents it.
        j = np.flatnonzero((t == YOUTH_COURT) & (rng.random(rows.size) < expit(0.3 - 0.6 * lp + shift)))
        st = np.maximum(e[j] + rng.integers(7, 46, j.size), floor[j])
        en = st + rng.integers(90, 271, j.size)
        en = np.where(en > end, NEVER, en)
        keep = ((st <= np.minimum(end, p.death[pp[j]] - 1)) & (st <= e[j] + REOFFEND_JOIN_AFTER_DAYS)
                & ~(y0[j] & (day_o[j] < st - e[j])))
        j, st, en = j[keep], st[keep], en[keep]
        _enrol(enr, pp[j], JURY, st, en)
        slots.add(rows[j], st, en)
        p_cb = 0.06 if not later.on else expit(np.log(0.06 / 0.94) + shift)
        j = np.flatnonzero((t == COMMUNITY_SENTENCE) & ~in_tb[rows, 0] & (rng.random(rows.size) < p_cb))
        joined = np.maximum(e[j] + rng.integers(0, 91, j.size), floor[j])
        keep = ((joined < p.death[pp[j]]) & (joined <= end) & (joined <= e[j] + REOFFEND_JOIN_AFTER_DAYS)
                & ~(y0[j] & (day_o[j] < joined - e[j])))
        j, joined = j[keep], joined[keep]
        ae, left = lapse(rng, joined, p.death[pp[j]], end)
        memberships.add(pp[j], 0, COMMUNITY, joined, left, ae)
        slots.add(rows[j], joined, left)
        in_tb[rows[j], 0] = True

        # Start day (0 when participation began by the event date); the programme acts from it.
        first = slots.first_start(rows, e)
        start_day = np.where(first < NEVER, np.maximum(first - e, 0), NEVER)
        at_risk = ~(y0 & (day_o < start_day))
        a = (start_day < NEVER) & at_risk
        y = np.where(day_o < start_day, y0, y1)
        s_eff = np.where(a, start_day, 0)
        surv = np.where(s_eff <= 1, 1.0, beta_dist.sf((s_eff - 1) / 360.0, 0.9, 1.8))  # P(day_o >= s)
        p0s, p1s = p0 * surv / (1 - p0 * (1 - surv)), p1 * surv / (1 - p0 * (1 - surv))
        y0s, y1s = y0 & (day_o >= s_eff), y1 & (day_o >= s_eff)

        # Reoffenders: first reoffence in the year (day o above), proven within the waiting period; more may follow.
        pr = np.minimum(o + np.minimum(lag(rows.size), e + FOLLOW_UP + 150 - o), death - 1)
        # Non-reoffenders: the next offence comes after the follow-up year.
        gap = np.floor(rng.exponential(365 * np.exp(0.8 - 0.6 * p.crim[pp]))).astype(np.int64)
        o = np.where(y, o, e + FOLLOW_UP + 11 + gap)
        pr = np.where(y, pr, o + lag(rows.size))
        real = o > e
        offences(pp[real], o[real], pr[real])
        seen = y & real & (pr <= end)  # what the offences file shows
        for key, val in (("person", pp), ("day", e), ("type", t), ("order", k), ("participant", a),
                         ("start", np.where(a, e + s_eff, NEVER)), ("p0", p0s), ("p1", p1s), ("y0", y0s), ("y1", y1s),
                         ("outcome", seen), ("complete", e + FOLLOW_UP + WAITING <= end)):
            tru[key].append(val)
        extra = np.where(y, rng.poisson(1.0 + 0.3 * lp), 0)
        hi = np.minimum(e + FOLLOW_UP, pr)
        extra = np.where(hi - o > 1, extra, 0)
        r = np.repeat(np.arange(rows.size), extra)
        xo = o[r] + 1 + np.floor(rng.random(r.size) * (hi[r] - o[r] - 1)).astype(np.int64)
        offences(pp[r], xo, xo + lag(r.size))
        b = np.flatnonzero((t == COMMUNITY_SENTENCE) & (rng.random(rows.size) < 0.12))
        bd = e[b] + rng.integers(14, 331, b.size)
        offences(pp[b], bd, bd + rng.integers(7, 61, b.size), breach=True)

        nt, nd = next_event(rows, pr)
        nd = np.where(real, nd, NEVER)
        typ[rows], day[rows], conv[rows], order[rows], prev[rows] = nt, nd, pr, k + 1, e

    cat = lambda d: {k: np.concatenate(v) if v else np.zeros(0, dtype=np.int64) for k, v in d.items()}
    offs = cat(off)
    keep = (offs["proven"] <= end) & (offs["proven"] < p.death[offs["person"]]) & (offs["proven"] >= offs["offence"])
    offs = {k: v[keep] for k, v in offs.items()}
    return Justice(cat(ev), offs, cat(enr), cat(tru))


def offence_history(p: People, start: int, rng: np.random.Generator) -> dict:
    """Each person's ``prior_convictions`` written as dated offences before the window, so the offences file holds the
    criminal history the persons column counts: committed uniformly over the years at risk before ``start`` (from age
    10, at most 20 years, as :func:`.people.simulate_people` draws the count), each proven 14 days or more later and
    before ``start``. A cohort's ``proven_offences_to_index`` is then ``prior_convictions`` + 1 at a first index event."""
    person = np.repeat(np.arange(p.n), p.prior_convictions)
    years = np.clip(p.age(person, start) - 10, 0, 20)
    first = start - np.floor(years * 365.25).astype(np.int64)
    offence = first + np.floor(rng.random(person.size) * np.maximum(start - 60 - first, 0)).astype(np.int64)
    offence = np.minimum(offence, start - 15)  # a 10-year-old at the window's start: still proven 14 days later
    proven = np.minimum(offence + 14 + np.floor(rng.gamma(2.0, 40.0, person.size)).astype(np.int64), start - 1)
    return {"person": person, "offence": offence, "proven": proven,
            "group": rng.choice(len(OFFENCE_GROUPS), person.size, p=OFFENCE_MIX), "breach": np.zeros(person.size, bool)}


def _enrol(enr, person, programme, start, end) -> None:
    enr["person"].append(person)
    enr["programme"].append(np.full(person.size, programme))
    enr["start"].append(start)
    enr["end"].append(end)
