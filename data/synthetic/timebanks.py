"""Time banks and their accounts: who joins which bank, when, and when they drift away.

Four time banks of different types (community, hospital-linked peer visiting, prison,
GP practice). Person-linked members join with probabilities that depend on age,
deprivation, long-term conditions, convictions and latent frailty, which is what makes a
naive member/non-member comparison biased. Members lapse: some close their account
(``left_on``), others just stop turning up. Each bank also has staff, an organisation
account, a system (goodwill pot) account, and community members with no service records.
Prison-bank members are added by the justice simulator (they join in custody).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .common import NEVER, expit, to_day
from .people import People

TIMEBANKS = (  # id, type, founded
    ("TB01", "community", "2014-05-01"),
    ("TB02", "hospital", "2019-03-01"),
    ("TB03", "prison", "2020-09-01"),
    ("TB04", "gp", "2017-01-15"),
)
TB_TYPES = ("community", "hospital", "prison", "gp")
ROLES = ("community", "service_user", "patient", "prisoner", "staff", "organisation", "system")
COMMUNITY, SERVICE_USER, PATIENT, PRISONER, STAFF, ORGANISATION, SYSTEM = range(7)
PERSON_ROLES = (COMMUNITY, SERVICE_USER, PATIENT, PRISONER)
PRISON_TB = 2


@dataclass
class Memberships:
    """Person-linked memberships, appended to by the simulators that create them."""

    cols: dict = field(default_factory=lambda: {k: [] for k in ("person", "tb", "role", "joined", "left", "active_end")})

    def add(self, person, tb, role, joined, left, active_end) -> None:
        n = len(person)
        for k, v in zip(self.cols, (person, tb, role, joined, left, active_end)):
            self.cols[k].append(np.broadcast_to(np.asarray(v, dtype=np.int64), (n,)).copy())

    def get(self, key: str) -> np.ndarray:
        parts = self.cols[key]
        return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)


def lapse(rng, joined, death, end):
    """Active-until day and recorded left_on for members joining on ``joined``.

    30% drift off within six months; the rest stay for an exponential ~4 years. Half of
    those who go before the end close their account (left_on); the others just go quiet.
    """
    n = len(joined)
    stay = np.where(rng.random(n) < 0.3, rng.integers(14, 183, n), np.floor(rng.exponential(4 * 365.25, n)).astype(np.int64) + 30)
    active_end = np.minimum(joined + stay, death)
    gone = active_end <= end
    closes = gone & ((rng.random(n) < 0.5) | (active_end == death))
    left = np.where(closes, active_end, NEVER)
    return np.minimum(active_end, end), left


def community_memberships(people: People, start: int, end: int, rng: np.random.Generator) -> Memberships:
    """Members of the community, hospital and GP time banks (drawn before anything else)."""
    p = people
    age = p.age(np.arange(p.n), start)
    dep, ltc, fr = p.dep, p.ltc.astype(float), p.frailty
    lp = np.log1p(p.prior_convictions)
    scores = {
        0: -2.9 + 0.22 * (age - 45) / 10 + 0.35 * dep - 0.45 * lp + 0.15 * fr,  # community
        1: -5.0 + 0.85 * fr + 0.5 * ltc + 0.25 * (age - 60) / 10,  # hospital peer visiting
        3: -4.3 + 0.6 * fr + 0.8 * ltc + 0.3 * dep,  # GP practice
    }
    roles = {0: ([COMMUNITY, SERVICE_USER], [0.8, 0.2]), 1: ([PATIENT, COMMUNITY], [0.6, 0.4]), 3: ([PATIENT, COMMUNITY, SERVICE_USER], [0.7, 0.2, 0.1])}
    m = Memberships()
    for tb, score in scores.items():
        idx = np.flatnonzero((rng.random(p.n) < expit(score)) & (age >= 12))
        founded = min(to_day(TIMEBANKS[tb][2]), start - 1)
        before = rng.random(idx.size) < 0.25
        joined = np.where(before, rng.integers(founded, start, idx.size), rng.integers(start, end - 60, idx.size))
        keep = joined < p.death[idx]
        idx, joined = idx[keep], joined[keep]
        role = np.asarray(roles[tb][0])[rng.choice(len(roles[tb][1]), idx.size, p=roles[tb][1])]
        active_end, left = lapse(rng, joined, p.death[idx], end)
        m.add(idx, tb, role, joined, left, active_end)
    return m


@dataclass
class Members:
    """Every account, person-linked or not, in member_id order."""

    tb: np.ndarray
    person: np.ndarray  # -1 when not linked
    role: np.ndarray
    joined: np.ndarray
    left: np.ndarray  # NEVER when still open
    lo: np.ndarray  # first day it can take part in an exchange (within the window)
    hi: np.ndarray  # last day it can take part
    rate: np.ndarray  # self-initiated exchanges per active year
    give: np.ndarray  # share of its exchanges in which it gives (0 = only receives, 1 = only gives)
    org: np.ndarray  # organisation account per time bank
    system: np.ndarray  # system (goodwill pot) account per time bank

    @property
    def n(self) -> int:
        return self.tb.size


def assemble_members(m: Memberships, start: int, end: int, rng: np.random.Generator) -> Members:
    """Add unlinked community members, staff, organisation and system accounts; draw activity."""
    person, tb, role = m.get("person"), m.get("tb"), m.get("role")
    joined, left, active_end = m.get("joined"), m.get("left"), m.get("active_end")
    parts = [(person, tb, role, joined, left, active_end)]
    for t, (_, _, founded) in enumerate(TIMEBANKS):
        f = min(to_day(founded), start - 1)
        linked = int((tb == t).sum())
        # Community members with no service records (families of prisoners in the prison bank).
        k = int(round(linked * (0.5 if t == PRISON_TB else 0.15))) + 2
        j = np.where(rng.random(k) < 0.3, rng.integers(f, start, k), rng.integers(start, end - 30, k))
        ae, lf = lapse(rng, j, np.full(k, NEVER), end)
        parts.append((np.full(k, -1), np.full(k, t), np.full(k, COMMUNITY), j, lf, ae))
        s = max(2, int(round(linked / 80)))
        parts.append((np.full(s, -1), np.full(s, t), np.full(s, STAFF), rng.integers(f, f + 365, s), np.full(s, NEVER), np.full(s, end)))
        parts.append((np.array([-1, -1]), np.array([t, t]), np.array([ORGANISATION, SYSTEM]), np.array([f, f]), np.array([NEVER, NEVER]), np.array([end, end])))
    person, tb, role, joined, left, active_end = (np.concatenate(c) for c in zip(*parts))
    order = np.lexsort((person, role, joined, tb))
    person, tb, role, joined, left, active_end = (a[order] for a in (person, tb, role, joined, left, active_end))
    n = tb.size

    rate = np.exp(rng.normal(np.log(3.0), 1.0, n))
    rate = np.where(role == PRISONER, np.exp(rng.normal(np.log(6.0), 0.8, n)), rate)
    rate = np.where(role == STAFF, 1.5, rate)
    rate = np.where((role == ORGANISATION) | (role == SYSTEM), 0.0, rate)
    u = rng.random(n)
    lean = np.select(
        [role == PATIENT, role == COMMUNITY, role == PRISONER],
        [rng.beta(1.5, 3.0, n), rng.beta(3.0, 1.5, n), rng.beta(2.5, 2.0, n)],
        rng.beta(2.0, 2.0, n),
    )
    give = np.where(u < 0.12, 1.0, np.where(u < 0.24, 0.0, lean))
    give = np.where(role == STAFF, 1.0, give)
    give = np.where(role == ORGANISATION, 0.0, give)  # receives group hours
    give = np.where(role == SYSTEM, 0.5, give)
    lo = np.maximum(joined, start)
    hi = np.minimum(active_end, end)
    first = np.searchsorted(tb, np.arange(len(TIMEBANKS)))
    org = np.array([first[t] + np.flatnonzero(role[tb == t] == ORGANISATION)[0] for t in range(len(TIMEBANKS))])
    system = np.array([first[t] + np.flatnonzero(role[tb == t] == SYSTEM)[0] for t in range(len(TIMEBANKS))])
    return Members(tb, person, role, joined, left, lo, hi, rate, give, org, system)
