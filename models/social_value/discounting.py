"""Discount schedules: Green Book STPR (3.5%), the health rate (1.5%), or custom.

Definition
----------
A schedule gives the rate ``r_s`` that applies in year ``s`` (the period from
``s-1`` to ``s``). The discount factor of year ``t`` is::

    DF_0 = 1                      (year 0, "at start": undiscounted)
    DF_t = 1 / prod_{s=1..t} (1 + r_s)

With a constant rate this is ``1 / (1 + r)^t``. Every benefit year is
discounted, **including year 1** (SROI guide arithmetic; see
the project research notes (``reference/sroi.md``) section 1.4 and the worked case in 1.6).
Across a step of a declining schedule the factor keeps compounding (year 31 of
the Green Book schedule is ``DF_30 / 1.03``), as in the Green Book and the
``greenbook`` R package's ``gb_discount_factor``.

Schedules shipped
-----------------
``green_book``: HM Treasury, *The Green Book* (2022), Annex A6, standard STPR:
3.5% in years 0-30, 3.0% in 31-75, 2.5% in 76-125, 2.0% in 126-200, 1.5% in
201-300, 1.0% from 301.

``health``: the same source, the rate for health and wellbeing effects (pure time
preference without the wealth effect), recommended for QALY and WELLBY values by
HMT's *Wellbeing Guidance for Appraisal* (2021): 1.5% in years 0-30, then 1.29%,
1.07%, 0.86%, 0.64%, 0.43% over the same bands (values as tabulated in the MIT
``greenbook`` R package, ``inst/extdata/stpr_schedule.csv``).

Custom: ``{rate: 5}`` (a constant rate, on the 0-100 percentage scale) or
``{rates: [3.5, 3.5, 3.0]}`` (the rate for years 1, 2, 3, ...; the last rate
repeats for later years).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, localcontext
from functools import lru_cache
from typing import Any

import numpy as np

from models.social_value.errors import SocialValueError
from models.social_value.parsing import parse_percent

PRECISION = 40


@dataclass(frozen=True)
class DiscountSchedule:
    """Rates by year band. ``bands`` holds ``(first_year, last_year or None, rate)``,
    rates as fractions, ordered and contiguous from year 0 or 1."""

    name: str
    bands: tuple[tuple[int, int | None, Decimal], ...]
    source: str = ""

    def rate(self, year: int) -> Decimal:
        """The rate that applies in year ``year`` (the period ending at ``year``)."""
        for first, last, rate in self.bands:
            if year >= first and (last is None or year <= last):
                return rate
        # Years before the first band (only year 0, which is never discounted).
        return self.bands[0][2]

    def factor(self, year: int) -> Decimal:
        """Discount factor ``DF_t`` (exact ``Decimal``); ``DF_0 = 1``."""
        if year < 0:
            raise SocialValueError(f"year {year} is before year 0", field="discount")
        return _factors(self, year)[year]

    def factors(self, years: int) -> tuple[Decimal, ...]:
        """``(DF_1, ..., DF_years)``: factors for benefit years 1..years."""
        return _factors(self, years)[1:]

    def factors_array(self, years: int) -> np.ndarray:
        """Float factors for years 1..years (used by the vectorised sensitivity and Monte Carlo)."""
        return np.array([float(f) for f in self.factors(years)], dtype=float)

    def describe(self) -> str:
        """Short label, e.g. ``green_book (3.5% years 0-30, then stepped)``."""
        first = self.bands[0]
        rate = f"{float(first[2] * 100):g}%"
        if len(self.bands) == 1:
            return f"{self.name} ({rate})"
        return f"{self.name} ({rate} in years {first[0]}-{first[1]}, then stepped)"


@lru_cache(maxsize=256)
def _factors(schedule: DiscountSchedule, years: int) -> tuple[Decimal, ...]:
    with localcontext() as ctx:
        ctx.prec = PRECISION
        out = [Decimal(1)]
        cumulative = Decimal(1)
        for year in range(1, years + 1):
            cumulative *= Decimal(1) + schedule.rate(year)
            out.append(Decimal(1) / cumulative)
    return tuple(out)


def _bands(*rates: str) -> tuple[tuple[int, int | None, Decimal], ...]:
    edges = [(0, 30), (31, 75), (76, 125), (126, 200), (201, 300), (301, None)]
    return tuple((first, last, Decimal(rate)) for (first, last), rate in zip(edges, rates, strict=True))


GREEN_BOOK = DiscountSchedule(
    name="green_book",
    bands=_bands("0.035", "0.030", "0.025", "0.020", "0.015", "0.010"),
    source="HM Treasury, The Green Book (2022), Annex A6: standard STPR",
)

HEALTH = DiscountSchedule(
    name="health",
    bands=_bands("0.015", "0.0129", "0.0107", "0.0086", "0.0064", "0.0043"),
    source="HM Treasury, The Green Book (2022), Annex A6: health discount rate (1.5%)",
)

NAMED = {"green_book": GREEN_BOOK, "health": HEALTH}


def constant_schedule(rate: Decimal, name: str = "custom") -> DiscountSchedule:
    """A single rate (a fraction) for every year."""
    return DiscountSchedule(name=name, bands=((0, None, rate),), source="user-supplied constant rate")


def yearly_schedule(rates: list[Decimal], name: str = "custom") -> DiscountSchedule:
    """Rates for years 1, 2, ...; the last rate applies to every later year."""
    bands: list[tuple[int, int | None, Decimal]] = []
    for year, rate in enumerate(rates, start=1):
        last = year if year < len(rates) else None
        bands.append((year if year > 1 else 0, last, rate))
    return DiscountSchedule(name=name, bands=tuple(bands), source="user-supplied yearly rates")


def schedule_from_spec(spec: Any, *, outcome: str | None = None, field: str = "discount") -> DiscountSchedule:
    """Read a discount spec from the impact map.

    ``green_book`` | ``health`` | ``{rate: 3.5}`` | ``{rates: [3.5, 3.0, ...]}``.
    """
    if isinstance(spec, DiscountSchedule):
        return spec
    if isinstance(spec, str):
        key = spec.strip().lower().replace("-", "_").replace(" ", "_")
        if key in NAMED:
            return NAMED[key]
        raise SocialValueError(
            f"unknown discount schedule {spec!r}; use green_book (3.5%), health (1.5%), "
            f"{{rate: 5}} or {{rates: [3.5, 3.0]}}",
            outcome=outcome,
            field=field,
        )
    if isinstance(spec, dict):
        unknown = set(spec) - {"rate", "rates", "name"}
        if unknown or ("rate" in spec) == ("rates" in spec):
            raise SocialValueError(
                f"a custom discount is {{rate: 5}} or {{rates: [3.5, 3.0]}}, got {spec!r}",
                outcome=outcome,
                field=field,
            )
        name = str(spec.get("name", "custom"))
        if "rate" in spec:
            return constant_schedule(parse_percent(spec["rate"], outcome=outcome, field=f"{field}.rate"), name)
        rates = spec["rates"]
        if not isinstance(rates, list) or not rates:
            raise SocialValueError("rates must be a non-empty list of percentages", outcome=outcome, field=f"{field}.rates")
        return yearly_schedule(
            [parse_percent(r, outcome=outcome, field=f"{field}.rates[{i}]") for i, r in enumerate(rates)], name
        )
    raise SocialValueError(
        f"unknown discount schedule {spec!r}; use green_book, health, {{rate: 5}} or {{rates: [...]}}",
        outcome=outcome,
        field=field,
    )
