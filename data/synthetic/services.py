"""Contacts with GP, A&E, mental-health, social-care and other services, written in chunks.

Each person has a constant yearly rate per service set by age, sex, deprivation, long-term
conditions and latent frailty (seasonal in winter for GP and A&E). From the day a person
first joins a time bank their GP and A&E rates are multiplied by contacts_rr. In the opt-in
crisis scenario (truth.Crisis) some joiners also have extra contacts with every service but
"other" over the days just before joining (an Ashenfelter dip), from streams of their own. This is by
far the largest source (about 20 rows per person), so it is produced in fixed-size person
chunks, each with its own random stream, and streamed to the writer with bounded memory.
"""

from __future__ import annotations

from typing import Iterator

import numpy as np

from .common import NEVER, Calendar, stream
from .people import People
from .truth import Crisis, Effects

SERVICES = ("gp", "ae", "mental_health", "social_care", "other")
AFFECTED = (0, 1)  # gp, ae
IN_CRISIS = (0, 1, 2, 3)  # gp, ae, mental_health, social_care: the services a crisis before joining raises
CHUNK = 200_000


def _rates(p: People, idx: np.ndarray, start: int, service_user: np.ndarray) -> np.ndarray:
    age = p.age(idx, start)
    fr, ltc, dep = p.frailty[idx], p.ltc[idx], p.dep[idx]
    female = p.sex[idx] == 0
    return np.column_stack([
        np.exp(np.log(3.5) + 0.012 * (age - 45) + 0.45 * ltc + 0.25 * fr + 0.15 * dep + 0.2 * female),
        np.exp(np.log(0.28) + 0.006 * (age - 45) + 0.3 * ltc + 0.35 * fr + 0.3 * dep),
        np.exp(np.log(0.15) + 0.3 * fr + 0.3 * dep - 0.02 * np.maximum(age - 65, 0)) * np.where(service_user[idx], 6.0, 1.0),
        np.exp(np.log(0.04) + 0.05 * np.maximum(age - 65, 0) + 0.6 * ltc + 0.2 * fr),
        np.full(idx.size, 0.3),
    ])


def crisis_windows(first_join: np.ndarray, last: np.ndarray, cal: Calendar, crisis: Crisis,
                   seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Each person's crisis days [lo, hi] before first joining (truth.Crisis; empty, hi < lo, for everyone else):
    a joiner is in crisis with probability ``crisis.share`` (one uniform per person from the stream "crisis"),
    over [J - days, J - 1] clipped to the data window and to ``last`` (the day before death, or the end)."""
    joins = first_join != NEVER
    chosen = joins & (stream(seed, "crisis").random(first_join.size) < crisis.share)
    lo = np.where(chosen, np.maximum(first_join - crisis.days, cal.start), 1)
    hi = np.where(chosen, np.minimum(first_join - 1, last), 0)
    return lo, hi


def simulate_contacts(p: People, first_join: np.ndarray, service_user: np.ndarray, cal: Calendar,
                      effects: Effects, seed: int, stats: dict, crisis: Crisis = Crisis()) -> Iterator[dict]:
    """Yield chunks {person, service, day} in person order; fill ``stats`` for the truth file. With ``crisis`` on,
    the persons of :func:`crisis_windows` have Poisson(rate x (rate_ratio - 1) x days in crisis / 365.25) extra
    contacts of each service of :data:`IN_CRISIS` in their crisis days, drawn from the streams "crisis:<chunk>"
    (the other streams' draws are unchanged), counted as before joining in ``stats``."""
    rr = np.ones(len(SERVICES))
    rr[list(AFFECTED)] = effects.contacts_rr
    acc = {"pre_n": [], "post_n": [], "pre_t": [], "post_t": []}
    total_n = np.zeros(len(SERVICES))
    total_t = 0.0
    crisis_lo, crisis_hi = crisis_windows(first_join, np.minimum(p.death - 1, cal.end), cal, crisis, seed)
    crisis_n = np.zeros(len(SERVICES), dtype=np.int64)
    for c0 in range(0, p.n, CHUNK):
        rng = stream(seed, f"services:{c0 // CHUNK}")
        idx = np.arange(c0, min(c0 + CHUNK, p.n))
        last = np.minimum(p.death[idx] - 1, cal.end)
        join = first_join[idx]
        pre_hi = np.minimum(join - 1, last)
        post_lo = np.maximum(join, cal.start)
        pre_t = np.maximum(pre_hi - cal.start + 1, 0) / 365.25
        post_t = np.where(join == NEVER, 0, np.maximum(last - post_lo + 1, 0)) / 365.25
        rate = _rates(p, idx, cal.start, service_user)
        n_pre = rng.poisson(rate * pre_t[:, None])
        n_post = rng.poisson(rate * rr * post_t[:, None])
        person, service, day = [], [], []
        segments = [(rng, n_pre, np.full(idx.size, cal.start), pre_hi, range(len(SERVICES))),
                    (rng, n_post, post_lo, last, range(len(SERVICES)))]
        if crisis.on:
            c_rng = stream(seed, f"crisis:{c0 // CHUNK}")
            lo, hi = crisis_lo[idx], crisis_hi[idx]
            extra = np.zeros_like(n_pre)
            extra[:, IN_CRISIS] = c_rng.poisson(rate[:, IN_CRISIS] * (crisis.rate_ratio - 1)
                                                * (np.maximum(hi - lo + 1, 0) / 365.25)[:, None])
            segments.append((c_rng, extra, lo, hi, IN_CRISIS))
            crisis_n += extra.sum(axis=0)
            n_pre = n_pre + extra  # the written contacts before joining
        for r_, n_seg, lo, hi, services in segments:
            for s in services:
                rows = np.repeat(np.arange(idx.size), n_seg[:, s])
                person.append(idx[rows]); service.append(np.full(rows.size, s))
                day.append(cal.sample(r_, lo[rows], hi[rows], "winter" if s in AFFECTED else "flat"))
        person, service, day = (np.concatenate(x) for x in (person, service, day))
        order = np.lexsort((service, day, person))
        total_n += n_pre.sum(axis=0) + n_post.sum(axis=0)
        total_t += float(pre_t.sum() + post_t.sum())
        both = (pre_t > 0) & (post_t > 0)
        for k, v in (("pre_n", n_pre[both][:, AFFECTED]), ("post_n", n_post[both][:, AFFECTED]), ("pre_t", pre_t[both]), ("post_t", post_t[both])):
            acc[k].append(v)
        yield {"person": person[order], "service": service[order], "day": day[order]}
    acc = {k: np.concatenate(v) for k, v in acc.items()}
    stats["rate_per_person_year"] = {s: float(total_n[i] / max(total_t, 1e-9)) for i, s in enumerate(SERVICES)}
    stats["joiners_with_before_and_after"] = int(acc["pre_t"].size)
    stats["expected_rate_ratio"] = {SERVICES[s]: float(rr[s]) for s in AFFECTED}
    if crisis.on:
        stats["crisis"] = {"persons": int((crisis_hi >= crisis_lo).sum()),
                           "extra_contacts": {SERVICES[s]: int(crisis_n[s]) for s in IN_CRISIS}}
    stats["within_person_rate_ratio"] = {
        SERVICES[s]: _conditional_poisson_rr(acc["pre_n"][:, j], acc["post_n"][:, j], acc["pre_t"], acc["post_t"])
        for j, s in enumerate(AFFECTED)
    }


def _conditional_poisson_rr(pre_n, post_n, pre_t, post_t) -> float | None:
    """Within-person (conditional Poisson) rate ratio after vs before joining, by bisection."""
    if post_n.sum() == 0 or pre_n.sum() == 0:
        return None
    total = pre_n + post_n
    lo, hi = 1e-3, 1e3
    for _ in range(100):
        mid = np.sqrt(lo * hi)
        expected = (total * mid * post_t / (pre_t + mid * post_t)).sum()
        lo, hi = (mid, hi) if expected < post_n.sum() else (lo, mid)
    return float(np.sqrt(lo * hi))
