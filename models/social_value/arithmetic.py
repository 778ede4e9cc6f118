"""The SROI arithmetic, in the order of *A Guide to Social Return on Investment*.

Source: Cabinet Office / Office of the Third Sector (2009), updated by the SROI
Network (2012), stages 4-5; summarised in the project research notes (``reference/sroi.md``)
section 1.4. For outcome ``k`` and year ``t``::

    Gross_k      = Q_k * P_k
    Impact_k,1   = Gross_k * (1 - DW_k) * (1 - DS_k) * (1 - AT_k)
    Impact_k,t   = Impact_k,t-1 * (1 - DO_k)    for t = 2 .. D_k   (drop-off compounds from year 2)
    Impact_k,t   = 0                            for t > D_k
    PV           = sum_t sum_k Impact_k,t * DF_k,t      (every year discounted, year 1 included)
    Inputs       = sum_y I_y * DF_y   (year 0 = at start, undiscounted; later years discounted)
    NPV          = PV - Inputs
    SROI ratio   = PV / Inputs        Net SROI ratio = NPV / Inputs
    Payback      = Inputs / (year-1 impact / 12)   months; year-1 impact is undiscounted

``DF`` comes from each outcome's discount schedule
(``models.social_value.discounting``); the investment uses the map's schedule.

Money is carried as exact ``Decimal`` (40 significant digits) and rounded to the
penny, half up, only when reported, so the worked case gives PV £118,988.20 to
the penny. A reported total is rounded from the exact total, so it can differ
by a penny from the sum of rounded parts.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, localcontext
from typing import Mapping, Sequence

from models.social_value.discounting import DiscountSchedule
from models.social_value.resolve import ResolvedMap, ResolvedOutcome

PRECISION = 40
PENNY = Decimal("0.01")
TWELVE = Decimal(12)


def penny(value: Decimal) -> Decimal:
    """Round money to the penny, half up."""
    return value.quantize(PENNY, rounding=ROUND_HALF_UP)


def year1_impact(quantity: Decimal, proxy: Decimal, deadweight: Decimal, displacement: Decimal, attribution: Decimal) -> Decimal:
    """``Q * P * (1 - DW) * (1 - DS) * (1 - AT)`` (fractions for the percentages)."""
    with localcontext() as ctx:
        ctx.prec = PRECISION
        return quantity * proxy * (1 - deadweight) * (1 - displacement) * (1 - attribution)


def impact_stream(first_year: Decimal, drop_off: Decimal, duration: int) -> tuple[Decimal, ...]:
    """Impacts for years 1..duration: year 1 as given, then ``* (1 - drop_off)`` each year."""
    with localcontext() as ctx:
        ctx.prec = PRECISION
        out = []
        value = first_year
        for year in range(1, duration + 1):
            if year > 1:
                value = value * (1 - drop_off)
            out.append(value)
        return tuple(out)


def present_value(stream: Sequence[Decimal], schedule: DiscountSchedule) -> Decimal:
    """``sum_t stream[t-1] * DF_t`` for t = 1..len(stream); year 1 is discounted."""
    with localcontext() as ctx:
        ctx.prec = PRECISION
        factors = schedule.factors(len(stream))
        return sum((v * f for v, f in zip(stream, factors)), Decimal(0))


def investment_present_value(investment: Mapping[int, Decimal], schedule: DiscountSchedule) -> Decimal:
    """``sum_y I_y * DF_y``; year 0 (at start) has factor 1."""
    with localcontext() as ctx:
        ctx.prec = PRECISION
        return sum((amount * schedule.factor(year) for year, amount in investment.items()), Decimal(0))


def payback_months(investment: Decimal, first_year_total: Decimal) -> Decimal | None:
    """``investment / (year-1 impact / 12)``; ``None`` when year-1 impact is not positive."""
    if first_year_total <= 0:
        return None
    with localcontext() as ctx:
        ctx.prec = PRECISION
        return investment / (first_year_total / TWELVE)


@dataclass(frozen=True)
class YearValue:
    year: int
    impact: Decimal
    discount_factor: Decimal
    present_value: Decimal


@dataclass(frozen=True)
class OutcomeResult:
    id: str
    scope: str
    year1_impact: Decimal
    years: tuple[YearValue, ...]
    pv: Decimal


@dataclass(frozen=True)
class ScopeResult:
    """Headline figures for one scope (``overall`` or a time bank), exact."""

    scope: str
    pv: Decimal
    investment_pv: Decimal | None
    year1_impact: Decimal
    outcome_ids: tuple[str, ...]

    @property
    def npv(self) -> Decimal | None:
        return None if self.investment_pv is None else self.pv - self.investment_pv

    @property
    def ratio(self) -> Decimal | None:
        if not self.investment_pv:
            return None
        with localcontext() as ctx:
            ctx.prec = PRECISION
            return self.pv / self.investment_pv

    @property
    def net_ratio(self) -> Decimal | None:
        if not self.investment_pv:
            return None
        with localcontext() as ctx:
            ctx.prec = PRECISION
            return self.npv / self.investment_pv

    @property
    def payback_months(self) -> Decimal | None:
        if not self.investment_pv:
            return None
        return payback_months(self.investment_pv, self.year1_impact)

    def as_dict(self) -> dict:
        """Rounded for reporting: money to the penny, ratios to 4 dp, payback to 2 dp."""

        def rnd(value: Decimal | None, places: str) -> float | None:
            return None if value is None else float(value.quantize(Decimal(places), rounding=ROUND_HALF_UP))

        return {
            "scope": self.scope,
            "pv": rnd(self.pv, "0.01"),
            "investment_pv": rnd(self.investment_pv, "0.01"),
            "npv": rnd(self.npv, "0.01"),
            "ratio": rnd(self.ratio, "0.0001"),
            "net_ratio": rnd(self.net_ratio, "0.0001"),
            "payback_months": rnd(self.payback_months, "0.01"),
            "year1_impact": rnd(self.year1_impact, "0.01"),
        }


@dataclass(frozen=True)
class SROIResult:
    scopes: Mapping[str, ScopeResult]
    outcomes: Mapping[str, OutcomeResult]

    @property
    def overall(self) -> ScopeResult:
        return self.scopes["overall"]


def evaluate_outcome(outcome: ResolvedOutcome) -> OutcomeResult:
    """Year-by-year impacts and PV of one resolved outcome."""
    first = year1_impact(outcome.quantity, outcome.proxy_value, outcome.deadweight, outcome.displacement, outcome.attribution)
    stream = impact_stream(first, outcome.drop_off, outcome.duration)
    factors = outcome.discount.factors(outcome.duration)
    with localcontext() as ctx:
        ctx.prec = PRECISION
        years = tuple(
            YearValue(year=t, impact=v, discount_factor=f, present_value=v * f)
            for t, (v, f) in enumerate(zip(stream, factors), start=1)
        )
        pv = sum((y.present_value for y in years), Decimal(0))
    return OutcomeResult(id=outcome.id, scope=outcome.scope, year1_impact=first, years=years, pv=pv)


def evaluate(resolved: ResolvedMap) -> SROIResult:
    """PV, NPV, ratios and payback for every scope of a resolved impact map."""
    outcomes = {o.id: evaluate_outcome(o) for o in resolved.outcomes}
    scopes = {}
    with localcontext() as ctx:
        ctx.prec = PRECISION
        for scope in resolved.scopes:
            members = resolved.outcomes_in(scope)
            invest = resolved.investment.get(scope)
            scopes[scope] = ScopeResult(
                scope=scope,
                pv=sum((outcomes[o.id].pv for o in members), Decimal(0)),
                investment_pv=None if invest is None else investment_present_value(invest, resolved.discount),
                year1_impact=sum((outcomes[o.id].year1_impact for o in members), Decimal(0)),
                outcome_ids=tuple(o.id for o in members),
            )
    return SROIResult(scopes=scopes, outcomes=outcomes)
