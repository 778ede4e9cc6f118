"""Yearly co-production self-assessments of each time bank: 5 domains x 4 items, scored 1-5.

Domains follow the New Economics Foundation's co-production principles. Each bank has its
own level (the hospital and prison banks start lower) and improves a little each year,
with domain and item noise. Tiny table.
"""

from __future__ import annotations

import numpy as np

from .common import to_day, year_of
from .timebanks import TIMEBANKS

DOMAINS = ("assets", "capacity", "mutuality", "networks", "blurring_roles")
ITEMS_PER_DOMAIN = 4
LEVEL = {"community": 3.6, "hospital": 2.9, "prison": 2.7, "gp": 3.2}


def simulate_assessments(start: int, end: int, rng: np.random.Generator) -> dict:
    years = np.arange(year_of(np.array([start]))[0], year_of(np.array([end]))[0] + 1)
    n_items = len(DOMAINS) * ITEMS_PER_DOMAIN
    out = {k: [] for k in ("tb", "day", "domain", "item", "score")}
    for t, (_, kind, _) in enumerate(TIMEBANKS):
        dom_eff = rng.normal(0, 0.35, len(DOMAINS))
        for y_i, y in enumerate(years):
            day = to_day(f"{y}-06-01") + int(rng.integers(0, 60)) + 7 * t
            if not start <= day <= end:
                continue
            dom = np.repeat(np.arange(len(DOMAINS)), ITEMS_PER_DOMAIN)
            score = np.clip(np.round(LEVEL[kind] + 0.15 * y_i + dom_eff[dom] + rng.normal(0, 0.6, n_items)), 1, 5)
            for k, v in zip(out, (np.full(n_items, t), np.full(n_items, day), dom,
                                  np.tile(np.arange(ITEMS_PER_DOMAIN), len(DOMAINS)), score.astype(np.int64))):
                out[k].append(v)
    return {k: np.concatenate(v) for k, v in out.items()}
