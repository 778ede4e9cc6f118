"""The time-bank log: who gave how many hours to whom, when, and for what.

Each active account starts exchanges at its own heavy-tailed (log-normal) rate, on
seasonal dates within its active period; partners are drawn from the same bank, weighted
by their own activity (so hubs emerge) and only among accounts active that day and
willing to give or receive (some only give, some only receive). Group activities credit
each attendee's hours to the organisation account; donations move hours to the goodwill
pot (the system account) or to family; the system account credits newcomers and members
in need. Some exchanges are returned (reciprocal pairs) and some go round three people.
The module also builds per-person timelines used for participation and Star effects.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .common import Calendar, choose_rows, month_of, quarter_hours
from .timebanks import PERSON_ROLES, STAFF, TB_TYPES, Members

KINDS = ("exchange", "group", "donation", "system_credit")
EXCHANGE, GROUP, DONATION, SYSTEM_CREDIT = range(4)
CATEGORIES = ("befriending", "transport", "gardening", "diy", "bike_repair", "listening", "reading", "shopping", "admin", "group_activity")
ADMIN, GROUP_ACTIVITY = 8, 9
# One-to-one exchange categories by time-bank type (community, hospital, prison, gp).
CATEGORY_WEIGHTS = np.array([
    [3.0, 2.0, 2.0, 2.0, 0.5, 1.0, 1.0, 2.0, 1.0, 0.0],
    [5.0, 3.0, 0.3, 0.3, 0.1, 2.0, 1.0, 2.0, 0.5, 0.0],
    [0.5, 0.0, 1.0, 1.0, 4.0, 3.0, 2.0, 0.0, 1.0, 0.0],
    [3.0, 2.5, 2.0, 1.0, 0.3, 1.5, 1.0, 2.0, 0.7, 0.0],
])
GARDENING_SEASON = np.array([0.3, 0.4, 0.8, 1.4, 1.8, 1.8, 1.7, 1.5, 1.3, 0.9, 0.5, 0.3])
HOURS_MEDIAN = np.array([1.5, 1.0, 2.5, 2.0, 2.0, 1.0, 1.0, 1.0, 1.5, 1.5])
KIND_MIX = np.array([[0.86, 0.09, 0.05], [0.90, 0.05, 0.05], [0.62, 0.13, 0.25], [0.85, 0.10, 0.05]])


@dataclass
class Exchanges:
    tb: np.ndarray
    giver: np.ndarray  # member index
    receiver: np.ndarray
    hours: np.ndarray
    day: np.ndarray
    category: np.ndarray
    kind: np.ndarray

    @property
    def n(self) -> int:
        return self.tb.size


class PartnerPicker:
    """Draws partners within a bank, weighted by activity, among accounts active that day."""

    def __init__(self, m: Members):
        self.m = m
        idx = np.flatnonzero(np.isin(m.role, PERSON_ROLES + (STAFF,)) & (m.rate > 0))
        self.idx = idx  # sorted by bank, as members are
        w = m.rate[idx]
        tb = m.tb[idx]
        cum = np.zeros(idx.size)
        for t in np.unique(tb):
            s = tb == t
            cum[s] = t + np.cumsum(w[s]) / w[s].sum()
            cum[np.flatnonzero(s)[-1]] = t + 1
        self.cum = cum

    def pick(self, rng, tb, day, need_give, exclude, rounds: int = 25) -> np.ndarray:
        m, out = self.m, np.full(tb.size, -1, dtype=np.int64)
        todo = np.arange(tb.size)
        for _ in range(rounds):
            if not todo.size:
                break
            pos = np.searchsorted(self.cum, tb[todo] + rng.random(todo.size), side="right")
            cand = self.idx[np.minimum(pos, self.idx.size - 1)]
            d = day[todo]
            able = np.where(need_give[todo], m.give[cand] > 0, m.give[cand] < 1)
            ok = (m.tb[cand] == tb[todo]) & (m.lo[cand] <= d) & (d <= m.hi[cand]) & (cand != exclude[todo]) & able
            out[todo[ok]] = cand[ok]
            todo = todo[~ok]
        return out


def simulate_exchanges(m: Members, cal: Calendar, rng: np.random.Generator) -> Exchanges:
    picker = PartnerPicker(m)
    parts = []

    def add(tb, giver, receiver, day, kind, hours=None, category=None):
        parts.append(dict(tb=tb, giver=giver, receiver=receiver, day=day,
                          kind=np.full(tb.size, kind), hours=hours, category=category))

    years = np.maximum(m.hi - m.lo + 1, 0) / 365.25
    n_init = rng.poisson(m.rate * years)
    init = np.repeat(np.arange(m.n), n_init)
    day = cal.sample(rng, m.lo[init], m.hi[init], "exchange")
    tb = m.tb[init]
    kind = choose_rows(rng, KIND_MIX, tb)
    kind = np.where((m.give[init] == 0) | (m.role[init] == STAFF), EXCHANGE, kind)

    # One-to-one exchanges.
    s = kind == EXCHANGE
    i, d, t = init[s], day[s], tb[s]
    gives = rng.random(i.size) < m.give[i]
    partner = picker.pick(rng, t, d, need_give=~gives, exclude=i)
    ok = partner >= 0
    i, d, t, gives, partner = i[ok], d[ok], t[ok], gives[ok], partner[ok]
    one = dict(tb=t, giver=np.where(gives, i, partner), receiver=np.where(gives, partner, i), day=d)
    add(**one, kind=EXCHANGE)

    # Group activities: the starter and other attendees each give their session hours to the organisation.
    s = kind == GROUP
    i, d, t = init[s], day[s], tb[s]
    h = quarter_hours(2.0 * np.exp(rng.normal(0, 0.3, i.size)))
    extra = rng.poisson(2.0, i.size)
    r = np.repeat(np.arange(i.size), extra)
    att = picker.pick(rng, t[r], d[r], need_give=np.ones(r.size, bool), exclude=i[r])
    r = r[att >= 0]
    att = att[att >= 0]
    gt = np.concatenate([t, t[r]])
    add(gt, np.concatenate([i, att]), m.org[gt], np.concatenate([d, d[r]]), GROUP,
        hours=np.concatenate([h, h[r]]), category=np.full(gt.size, GROUP_ACTIVITY))

    # Donations: to the goodwill pot, or to family (another member of the same bank).
    s = kind == DONATION
    i, d, t = init[s], day[s], tb[s]
    fam = picker.pick(rng, t, d, need_give=np.zeros(i.size, bool), exclude=i)
    recv = np.where((rng.random(i.size) < 0.3) & (fam >= 0), fam, m.system[t])
    add(t, i, recv, d, DONATION, hours=quarter_hours(3.0 * np.exp(rng.normal(0, 0.8, i.size))),
        category=np.full(i.size, ADMIN))

    # System credits: a welcome credit for some newcomers, and occasional goodwill credits.
    can = np.flatnonzero(np.isin(m.role, PERSON_ROLES) & (m.give < 1) & (m.hi >= m.lo))
    welcome = can[(m.joined[can] >= cal.start) & (rng.random(can.size) < 0.5)]
    extra = rng.poisson(0.25 * years[can])
    who = np.concatenate([welcome, np.repeat(can, extra)])
    d = np.concatenate([m.joined[welcome], cal.sample(rng, m.lo[np.repeat(can, extra)], m.hi[np.repeat(can, extra)])])
    h = np.concatenate([np.full(welcome.size, 2.0), rng.choice([1.0, 2.0, 2.0, 3.0, 5.0], who.size - welcome.size)])
    add(m.tb[who], m.system[m.tb[who]], who, d, SYSTEM_CREDIT, hours=h, category=np.full(who.size, ADMIN))

    # Reciprocal returns and three-person cycles, built on one-to-one exchanges between people.
    g, rcv, d, t = one["giver"], one["receiver"], one["day"], one["tb"]
    people = np.isin(m.role[g], PERSON_ROLES) & np.isin(m.role[rcv], PERSON_ROLES)
    s = people & (rng.random(g.size) < 0.15) & (m.give[rcv] > 0) & (m.give[g] < 1)
    back = d[s] + rng.integers(3, 61, s.sum())
    ok = back <= np.minimum(m.hi[g[s]], m.hi[rcv[s]])
    add(t[s][ok], rcv[s][ok], g[s][ok], back[ok], EXCHANGE)
    s = people & (rng.random(g.size) < 0.03) & (m.give[rcv] > 0) & (m.give[g] < 1)
    a, b, t3 = g[s], rcv[s], t[s]
    d1 = d[s] + rng.integers(1, 31, a.size)
    c = picker.pick(rng, t3, np.minimum(d1, cal.end), need_give=np.zeros(a.size, bool), exclude=b)
    d2 = d1 + rng.integers(1, 31, a.size)
    ok = (c >= 0) & (c != a) & (m.give[np.maximum(c, 0)] > 0) & np.isin(m.role[np.maximum(c, 0)], PERSON_ROLES)
    ok &= (d1 <= m.hi[b]) & (d1 <= m.hi[np.maximum(c, 0)]) & (d2 <= m.hi[np.maximum(c, 0)]) & (d2 <= m.hi[a])
    add(t3[ok], b[ok], c[ok], d1[ok], EXCHANGE)
    add(t3[ok], c[ok], a[ok], d2[ok], EXCHANGE)

    cols = {k: [] for k in ("tb", "giver", "receiver", "day", "kind", "hours", "category")}
    for p in parts:
        n = p["tb"].size
        if p["category"] is None:
            p["category"] = choose_rows(rng, _category_table(), p["tb"] * 12 + month_of(p["day"]))
        if p["hours"] is None:
            h = HOURS_MEDIAN[p["category"]] * np.exp(rng.normal(0, 0.45, n))
            h = np.where(rng.random(n) < 0.01, h * rng.uniform(3, 6, n), h)
            p["hours"] = quarter_hours(h)
        for k in cols:
            cols[k].append(np.asarray(p[k]))
    c = {k: np.concatenate(v) for k, v in cols.items()}
    order = np.lexsort((c["hours"], c["kind"], c["receiver"], c["giver"], c["tb"], c["day"]))
    return Exchanges(**{k: c[k][order] for k in ("tb", "giver", "receiver", "hours", "day", "category", "kind")})


def _category_table() -> np.ndarray:
    """Category weights per (bank type, month): gardening follows the growing season."""
    w = np.repeat(CATEGORY_WEIGHTS, 12, axis=0).copy()
    w[:, 2] *= np.tile(GARDENING_SEASON, len(TB_TYPES))
    return w


class PersonTimeline:
    """Sorted (person, day) events with cumulative hours, for window counts and running totals."""

    SPAN = 1 << 16

    def __init__(self, person, day, hours, base: int):
        keep = person >= 0
        self.base = base
        key = person[keep].astype(np.int64) * self.SPAN + (day[keep] - base)
        order = np.argsort(key, kind="stable")
        self.key = key[order]
        self.cum = np.concatenate([[0.0], np.cumsum(np.asarray(hours, dtype=float)[keep][order])])

    def _pos(self, person, day, side):
        d = np.clip(np.asarray(day, dtype=np.int64) - self.base, 0, self.SPAN - 1)
        return np.searchsorted(self.key, np.asarray(person, dtype=np.int64) * self.SPAN + d, side=side)

    def count(self, person, lo, hi) -> np.ndarray:
        """Events with day in [lo, hi]."""
        return self._pos(person, hi, "right") - self._pos(person, lo, "left")

    def total(self, person, upto) -> np.ndarray:
        """Hours on days <= upto."""
        return self.cum[self._pos(person, upto, "right")] - self.cum[self._pos(person, self.base, "left")]


def timelines(ex: Exchanges, m: Members, base: int) -> dict[str, PersonTimeline]:
    """activity (participation), hours given and hours received, per person."""
    pg, pr = m.person[ex.giver], m.person[ex.receiver]
    active = ex.kind != SYSTEM_CREDIT
    given = (ex.kind == EXCHANGE) | (ex.kind == GROUP)
    received = ex.kind == EXCHANGE
    return {
        "activity": PersonTimeline(np.concatenate([pg[active], pr[active]]), np.concatenate([ex.day[active]] * 2),
                                   np.ones(2 * int(active.sum())), base),
        "given": PersonTimeline(pg[given], ex.day[given], ex.hours[given], base),
        "received": PersonTimeline(pr[received], ex.day[received], ex.hours[received], base),
    }
