"""Resolve an impact map into numbers: quantities, uprated proxies, deadweight.

``resolve`` looks up every quantity (fixed or a model output), every proxy (in
the proxy tables and the map's inline ``proxies:``) and uprates it to the
reporting price year, and turns ``from_comparison`` deadweight into a number. The
result, a ``ResolvedMap``, is what the arithmetic, the sensitivity analysis and
the Monte Carlo work on; it also becomes the ``impact_map`` mart, so every
quantity carries its source (``fixed`` or the model output and its interval).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal, localcontext
from pathlib import Path
from typing import Any, Iterable, Mapping

from models.social_value.discounting import DiscountSchedule
from models.social_value.errors import SocialValueError
from models.social_value.impact_map import OVERALL, ImpactMap, MonteCarloSettings, Outcome
from models.social_value.model_outputs import ModelOutput, deadweight_from_comparison, lookup
from models.social_value.proxies import DeflatorTable, Proxy, ProxyTable, load_deflators, load_proxy_table, uprate


@dataclass(frozen=True)
class ResolvedRange:
    """A range in calculation units: fractions, reporting-year pounds, counts or years."""

    low: Decimal | int
    high: Decimal | int
    distribution: str = "uniform"
    mode: Decimal | int | None = None


@dataclass(frozen=True)
class ResolvedOutcome:
    """One outcome with every number the arithmetic needs, and where each came from."""

    id: str
    scope: str
    stakeholder: str
    description: str
    quantity: Decimal  # after scale
    quantity_source: str  # "fixed" or the model-output key
    quantity_scale: Decimal
    model_output: ModelOutput | None
    proxy: Proxy
    proxy_value: Decimal  # in reporting-year prices
    uprating_factor: Decimal
    deadweight: Decimal
    deadweight_source: str
    displacement: Decimal
    attribution: Decimal
    drop_off: Decimal
    duration: int
    discount: DiscountSchedule
    ranges: Mapping[str, ResolvedRange] = field(default_factory=dict)
    evidence: str = "fixed"  # "fixed", "no interval", "effect" or "inconclusive" (the 95% interval holds no effect)

    @property
    def quantity_interval(self) -> tuple[Decimal, Decimal] | None:
        """The model's 95% interval, scaled like the quantity; ``None`` for fixed quantities."""
        mo = self.model_output
        if mo is None or not mo.has_interval:
            return None
        return (Decimal(str(mo.ci_low)) * self.quantity_scale, Decimal(str(mo.ci_high)) * self.quantity_scale)

    @property
    def quantity_nonnegative(self) -> bool:
        return True if self.model_output is None else self.model_output.is_nonnegative


@dataclass(frozen=True)
class ResolvedOutput:
    """An output (e.g. hours exchanged): its quantity and source, reported beside the ratio, not valued."""

    id: str
    scope: str
    stakeholder: str
    description: str
    quantity: Decimal
    quantity_source: str
    quantity_scale: Decimal
    model_output: ModelOutput | None


@dataclass(frozen=True)
class ResolvedMap:
    name: str
    price_year: int
    discount: DiscountSchedule  # for the investment
    investment: Mapping[str, Mapping[int, Decimal]]  # scope -> year -> amount
    #: ``overall``, then each time bank with at least one outcome scoped to it. A bank the map values nothing for
    #: (only outputs, such as its hours exchanged) has no SROI of its own, not one of £0.
    scopes: tuple[str, ...]
    outcomes: tuple[ResolvedOutcome, ...]
    monte_carlo: MonteCarloSettings
    deflators: DeflatorTable
    source: str | None = None
    outputs: tuple[ResolvedOutput, ...] = ()
    base_case: str = "point_estimate"

    def outcomes_in(self, scope: str) -> tuple[ResolvedOutcome, ...]:
        """Outcomes counted in a scope: all of them for ``overall``, else those scoped to that bank."""
        if scope == OVERALL:
            return self.outcomes
        return tuple(o for o in self.outcomes if o.scope == scope)

    def outcome(self, outcome_id: str) -> ResolvedOutcome:
        for o in self.outcomes:
            if o.id == outcome_id:
                return o
        raise SocialValueError(f"no outcome {outcome_id!r}", outcome=outcome_id)


def load_proxies(paths: Iterable[str | Path], inline: ProxyTable | None = None) -> ProxyTable:
    """Every proxy table in ``paths`` plus inline proxies, merged (duplicate ids are an error)."""
    table = ProxyTable({})
    for path in paths:
        table = table.merged(load_proxy_table(path))
    if inline is not None:
        table = table.merged(inline)
    return table


def resolve(
    impact_map: ImpactMap,
    model_outputs: Mapping[str, Any] | None = None,
    *,
    proxy_tables: Iterable[str | Path] | None = None,
    extra_proxy_tables: Iterable[str | Path] = (),
    proxies: ProxyTable | None = None,
    deflators: DeflatorTable | str | Path | None = None,
) -> ResolvedMap:
    """Attach numbers to an impact map.

    ``model_outputs`` maps an output key to a ``ModelOutput`` or a mapping (see
    ``models.social_value.model_outputs``). ``proxy_tables`` replaces the map's
    own list; ``extra_proxy_tables`` adds to it; ``proxies`` replaces both with a
    ready table. ``deflators`` replaces the map's deflator table.
    """
    if proxies is None:
        paths = list(impact_map.proxy_tables if proxy_tables is None else proxy_tables) + list(extra_proxy_tables)
        proxies = load_proxies(paths, impact_map.inline_proxies)
    if deflators is None:
        deflators = load_deflators(impact_map.deflators)
    elif not isinstance(deflators, DeflatorTable):
        deflators = load_deflators(deflators)

    outcomes = tuple(_resolve_outcome(o, model_outputs, proxies, deflators, impact_map.price_year, impact_map.base_case)
                     for o in impact_map.outcomes)
    outputs = []
    for o in impact_map.outputs:
        mo = lookup(model_outputs, o.quantity.model_output, outcome=o.id) if o.quantity.model_output else None
        base = Decimal(str(mo.estimate)) if mo is not None else o.quantity.fixed
        outputs.append(ResolvedOutput(o.id, o.scope, o.stakeholder, o.description, base * o.quantity.scale,
                                      o.quantity.source, o.quantity.scale, mo))
    investment = {OVERALL: dict(impact_map.investment)}
    for bank in impact_map.time_banks:
        if bank in impact_map.investment_by_time_bank:
            investment[bank] = dict(impact_map.investment_by_time_bank[bank])
    return ResolvedMap(
        name=impact_map.name,
        price_year=impact_map.price_year,
        discount=impact_map.discount,
        investment=investment,
        scopes=tuple(s for s in impact_map.scopes if s == OVERALL or any(o.scope == s for o in outcomes)),
        outcomes=outcomes,
        monte_carlo=impact_map.monte_carlo,
        deflators=deflators,
        source=impact_map.source,
        outputs=tuple(outputs),
        base_case=impact_map.base_case,
    )


def _resolve_outcome(
    outcome: Outcome,
    model_outputs: Mapping[str, Any] | None,
    proxies: ProxyTable,
    deflators: DeflatorTable,
    price_year: int,
    base_case: str = "point_estimate",
) -> ResolvedOutcome:
    oid = outcome.id
    spec = outcome.quantity
    output = None
    evidence = "fixed"
    with localcontext() as ctx:
        ctx.prec = 40
        if spec.model_output is not None:
            output = lookup(model_outputs, spec.model_output, outcome=oid, field_name="quantity")
            quantity = Decimal(str(output.estimate)) * spec.scale
            evidence = inconclusive_evidence(output)
            if base_case == "evidenced" and evidence == "inconclusive":
                quantity = Decimal(0)  # counted at no effect; the Monte Carlo still draws it from its interval
        else:
            quantity = spec.fixed * spec.scale

    proxy = proxies.get(outcome.proxy, outcome=oid, field="proxy")
    factor = deflators.factor(proxy.price_year, price_year, outcome=oid, field="proxy", proxy_id=proxy.id)
    proxy_value = uprate(proxy, price_year, deflators, outcome=oid, field="proxy")

    if outcome.deadweight.from_comparison is not None:
        key = outcome.deadweight.from_comparison
        source_output = output if key == spec.model_output else lookup(model_outputs, key, outcome=oid, field_name="deadweight")
        if key == spec.model_output and source_output.estimand == "net":
            raise SocialValueError(
                f"model output {key!r} is a net estimate (already the difference from the matched comparison "
                f"group), so deadweight from_comparison would count deadweight twice; set deadweight: 0, or "
                f"supply a gross estimate (estimand: gross)",
                outcome=oid,
                field="deadweight",
            )
        deadweight = deadweight_from_comparison(source_output, key, outcome=oid)
    else:
        deadweight = outcome.deadweight.value

    ranges = {}
    for name, rng in outcome.ranges.items():
        ranges[name] = _resolve_range(name, rng, outcome, proxies, deflators, price_year, proxy_value, deadweight)
    if output is not None and output.has_interval:
        low, high = output.ci_low, output.ci_high
        ranges["quantity"] = ResolvedRange(
            low=Decimal(str(low)) * spec.scale, high=Decimal(str(high)) * spec.scale, distribution="normal"
        )

    return ResolvedOutcome(
        id=oid,
        scope=outcome.scope,
        stakeholder=outcome.stakeholder,
        description=outcome.description,
        quantity=quantity,
        quantity_source=spec.source,
        quantity_scale=spec.scale,
        model_output=output,
        proxy=proxy,
        proxy_value=proxy_value,
        uprating_factor=factor,
        deadweight=deadweight,
        deadweight_source=outcome.deadweight.source,
        displacement=outcome.displacement,
        attribution=outcome.attribution,
        drop_off=outcome.drop_off,
        duration=outcome.duration,
        discount=outcome.discount,
        ranges=ranges,
        evidence=evidence,
    )


def inconclusive_evidence(output: ModelOutput) -> str:
    """``effect`` when the model's 95% interval excludes no effect (0), ``inconclusive`` when it holds it, ``no
    interval`` when there is none (a count such as hours: taken as measured)."""
    if not output.has_interval:
        return "no interval"
    return "inconclusive" if output.ci_low <= 0 <= output.ci_high else "effect"


def _resolve_range(name, rng, outcome, proxies, deflators, price_year, proxy_value, deadweight) -> ResolvedRange:
    oid = outcome.id
    where = f"ranges.{name}"

    def value(bound):
        if bound is None:
            return None
        if name == "proxy":
            if isinstance(bound, str):
                other = proxies.get(bound, outcome=oid, field=where)
                return uprate(other, price_year, deflators, outcome=oid, field=where)
            own = proxies.get(outcome.proxy, outcome=oid, field="proxy")
            return bound * deflators.factor(own.price_year, price_year, outcome=oid, field=where, proxy_id=own.id)
        if name == "quantity":
            return bound * outcome.quantity.scale
        return bound

    low, high, mode = value(rng.low), value(rng.high), value(rng.mode)
    base = {"proxy": proxy_value, "deadweight": deadweight}.get(name)
    if base is not None and not low <= base <= high:
        raise SocialValueError(
            f"the range {low:.4f}-{high:.4f} does not contain the base value {base:.4f}", outcome=oid, field=where
        )
    if low > high:
        raise SocialValueError("low is above high", outcome=oid, field=where)
    if mode is not None and not low <= mode <= high:
        raise SocialValueError("mode must lie between low and high", outcome=oid, field=where)
    return ResolvedRange(low=low, high=high, distribution=rng.distribution, mode=mode)
