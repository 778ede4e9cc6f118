"""Grants to each time bank: which funder paid how much for which period.

Each bank has two or three funding streams from funders that fit its type (the ICB for
health-linked banks, the Police and Crime Commissioner for the prison bank, the Lottery
and local authority for the community bank), renewed in consecutive 1-3 year grants with
amounts in whole hundreds of pounds. Tiny table; loops run over banks, not people.
"""

from __future__ import annotations

import numpy as np

from .timebanks import TIMEBANKS

FUNDERS = ("National Lottery Community Fund", "NHS Integrated Care Board", "Police and Crime Commissioner",
           "Local Authority", "Charitable Trust")
STREAMS = {  # bank type: (funder index, typical yearly amount in GBP)
    "community": ((0, 45_000), (3, 20_000), (4, 8_000)),
    "hospital": ((1, 60_000), (4, 12_000)),
    "prison": ((2, 35_000), (4, 10_000), (0, 25_000)),
    "gp": ((1, 40_000), (3, 15_000)),
}


def simulate_grants(start: int, end: int, rng: np.random.Generator) -> dict:
    out = {k: [] for k in ("funder", "tb", "amount", "start", "end")}
    for t, (_, kind, _) in enumerate(TIMEBANKS):
        for funder, yearly in STREAMS[kind]:
            s = start - int(rng.integers(0, 365))
            while s <= end:
                years = int(rng.integers(1, 4))
                e = s + int(round(years * 365.25)) - 1
                amount = round(yearly * years * float(rng.uniform(0.7, 1.3)), -2)
                for k, v in zip(out, (funder, t, amount, s, e)):
                    out[k].append(v)
                s = e + 1 + int(rng.integers(0, 60))
    return {k: np.asarray(v) for k, v in out.items()}
