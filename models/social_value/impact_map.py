"""The impact map: its YAML format, loading and validation.

One file describes an SROI: the reporting price year, the investment by year,
the time banks in scope and one entry per outcome. The full format, with every
field and its default, is in docs/social-value.md ("Impact-map format"); the
worked case is ``tests/fixtures/sroi_worked_case.yaml`` and a realistic example
is ``data/impact_map.example.yaml``.

Percentages are written on the 0-100 scale (``20`` = 20%; see
``models.social_value.parsing``). Unknown keys are refused, so a typo such as
``dropoff`` is reported instead of silently using a default.

Loading only checks the file's own consistency. Proxies, deflators and model
outputs are looked up later by ``models.social_value.resolve.resolve``.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, Mapping

import yaml

from models.social_value.discounting import GREEN_BOOK, DiscountSchedule, schedule_from_spec
from models.social_value.errors import SocialValueError
from models.social_value.parsing import parse_int, parse_percent, to_decimal
from models.social_value.proxies import ProxyTable, builtin_deflators_path, builtin_proxies_path, proxies_from_records

OVERALL = "overall"
TOP_KEYS = (
    "version", "name", "description", "price_year", "currency", "discount", "investment",
    "investment_by_time_bank", "time_banks", "proxy_tables", "deflators", "proxies", "outcomes",
    "monte_carlo", "outputs", "base_case",
)
OUTPUT_KEYS = ("id", "description", "stakeholder", "scope", "quantity", "notes")
#: the base case: ``point_estimate`` (the default) values every model output at its estimate; ``evidenced`` values one
#: at 0 when its 95% interval holds no effect. The other case is always reported beside it (docs/social-value.md)
BASE_CASES = ("point_estimate", "evidenced")
OUTCOME_KEYS = (
    "id", "description", "stakeholder", "scope", "quantity", "proxy", "deadweight", "displacement",
    "attribution", "drop_off", "duration", "discount", "ranges", "notes",
)
PERCENT_FIELDS = ("deadweight", "displacement", "attribution", "drop_off")
RANGE_FIELDS = ("quantity", "proxy", *PERCENT_FIELDS, "duration", "scale")
DISTRIBUTIONS = ("uniform", "triangular")
DEFAULT_DRAWS = 10_000
DEFAULT_SEED = 20240401


def _unknown(keys: Any, allowed: tuple[str, ...], *, outcome: str | None, where: str) -> None:
    for key in keys:
        if key not in allowed:
            close = difflib.get_close_matches(str(key), allowed, n=1)
            hint = f"; did you mean '{close[0]}'?" if close else f"; allowed: {', '.join(allowed)}"
            raise SocialValueError(f"unknown key '{key}' in {where}{hint}", outcome=outcome, field=str(key))


@dataclass(frozen=True)
class Range:
    """A stated range for one assumption: used by the tornado and the Monte Carlo.

    Percentages are fractions; a proxy bound is a value in the proxy's own price
    year prices or another proxy's id; a duration bound is whole years.
    ``mode`` (triangular only) defaults to the base value.
    """

    low: Decimal | int | str
    high: Decimal | int | str
    distribution: str = "uniform"
    mode: Decimal | int | str | None = None


@dataclass(frozen=True)
class Quantity:
    """A fixed number, or a model output named by its key; ``scale`` multiplies either."""

    fixed: Decimal | None = None
    model_output: str | None = None
    scale: Decimal = Decimal(1)

    @property
    def source(self) -> str:
        return "fixed" if self.model_output is None else self.model_output


@dataclass(frozen=True)
class Deadweight:
    """A fixed fraction, or ``from_comparison`` with the model output that supplies the rates."""

    value: Decimal | None = None
    from_comparison: str | None = None

    @property
    def source(self) -> str:
        return "fixed" if self.from_comparison is None else f"from_comparison:{self.from_comparison}"


@dataclass(frozen=True)
class Outcome:
    id: str
    stakeholder: str
    description: str
    scope: str
    quantity: Quantity
    proxy: str
    deadweight: Deadweight
    displacement: Decimal
    attribution: Decimal
    drop_off: Decimal
    duration: int
    discount: DiscountSchedule
    ranges: Mapping[str, Range] = field(default_factory=dict)
    notes: str = ""


@dataclass(frozen=True)
class Output:
    """An output (activity delivered, e.g. hours exchanged): reported beside the ratio, never valued in it."""

    id: str
    stakeholder: str
    description: str
    scope: str
    quantity: Quantity
    notes: str = ""


@dataclass(frozen=True)
class MonteCarloSettings:
    draws: int = DEFAULT_DRAWS
    seed: int = DEFAULT_SEED


@dataclass(frozen=True)
class ImpactMap:
    name: str
    price_year: int
    discount: DiscountSchedule
    investment: Mapping[int, Decimal]
    investment_by_time_bank: Mapping[str, Mapping[int, Decimal]]
    time_banks: tuple[str, ...]
    outcomes: tuple[Outcome, ...]
    proxy_tables: tuple[Path, ...]
    deflators: Path
    inline_proxies: ProxyTable
    monte_carlo: MonteCarloSettings = MonteCarloSettings()
    description: str = ""
    currency: str = "GBP"
    source: str | None = None
    outputs: tuple[Output, ...] = ()
    base_case: str = "point_estimate"

    @property
    def scopes(self) -> tuple[str, ...]:
        return (OVERALL, *self.time_banks)

    def model_output_keys(self) -> tuple[str, ...]:
        """Every model-output key the map reads (quantities and ``from_comparison``), in map order.

        A pipeline can check these against the models' results before calling ``resolve``.
        """
        keys: list[str] = []
        for outcome in self.outcomes:
            for key in (outcome.quantity.model_output, outcome.deadweight.from_comparison):
                if key is not None and key not in keys:
                    keys.append(key)
        for output in self.outputs:
            if output.quantity.model_output is not None and output.quantity.model_output not in keys:
                keys.append(output.quantity.model_output)
        return tuple(keys)

    def outcome(self, outcome_id: str) -> Outcome:
        for outcome in self.outcomes:
            if outcome.id == outcome_id:
                return outcome
        raise SocialValueError(f"no outcome {outcome_id!r} in the impact map", outcome=outcome_id)


def load_impact_map(path: str | Path) -> ImpactMap:
    """Read and validate an impact-map YAML file; paths inside it are relative to the file."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as err:
        raise SocialValueError(f"cannot read the impact map: {err}", source=str(path)) from err
    except yaml.YAMLError as err:
        raise SocialValueError(f"not valid YAML: {err}", source=str(path)) from err
    try:
        return parse_impact_map(data, base_dir=path.parent, source=str(path))
    except SocialValueError as err:
        if err.source is None:
            raise SocialValueError(err.detail, outcome=err.outcome, field=err.field, source=str(path)) from err
        raise


def parse_impact_map(data: Any, *, base_dir: str | Path | None = None, source: str | None = None) -> ImpactMap:
    """Validate an impact map already read into Python (e.g. from a config section)."""
    if not isinstance(data, Mapping):
        raise SocialValueError("the impact map must be a YAML mapping with at least price_year, investment and outcomes")
    _unknown(data, TOP_KEYS, outcome=None, where="the impact map")
    base = Path(base_dir) if base_dir is not None else Path.cwd()
    for required in ("price_year", "investment", "outcomes"):
        if required not in data:
            raise SocialValueError(f"the impact map needs '{required}'", field=required)
    version = data.get("version", 1)
    if version != 1:
        raise SocialValueError(f"unsupported impact-map version {version!r}; this calculator reads version 1", field="version")
    price_year = parse_int(data["price_year"], field="price_year", minimum=1900, what="a reporting price year")
    discount = schedule_from_spec(data.get("discount", "green_book"), field="discount") if "discount" in data else GREEN_BOOK

    time_banks = _time_banks(data.get("time_banks", []))
    investment = _investment(data["investment"], field_name="investment")
    if not investment or sum(investment.values()) <= 0:
        raise SocialValueError("the total investment must be positive", field="investment")
    by_bank = _investment_by_time_bank(data.get("investment_by_time_bank") or {}, time_banks, investment)

    outcomes_raw = data["outcomes"]
    if not isinstance(outcomes_raw, list) or not outcomes_raw:
        raise SocialValueError("outcomes must be a non-empty list", field="outcomes")
    outcomes = []
    seen: set[str] = set()
    for number, raw in enumerate(outcomes_raw, start=1):
        outcome = _outcome(raw, number, time_banks, discount)
        if outcome.id in seen:
            raise SocialValueError("two outcomes share this id; ids must be unique", outcome=outcome.id, field="id")
        seen.add(outcome.id)
        outcomes.append(outcome)

    outputs = []
    for number, raw in enumerate(_as_list(data.get("outputs") or [], "outputs"), start=1):
        output = _output(raw, number, time_banks)
        if output.id in seen:
            raise SocialValueError("an outcome or output already has this id; ids must be unique", outcome=output.id,
                                   field="id")
        seen.add(output.id)
        outputs.append(output)
    base_case = data.get("base_case", "point_estimate")
    if base_case not in BASE_CASES:
        raise SocialValueError(f"base_case must be one of {', '.join(BASE_CASES)}, got {base_case!r}", field="base_case")

    proxy_tables = tuple(_path(p, base, "proxy_tables", builtin_proxies_path()) for p in _as_list(data.get("proxy_tables", ["builtin"]), "proxy_tables"))
    deflators = _path(data.get("deflators", "builtin"), base, "deflators", builtin_deflators_path())
    inline = data.get("proxies") or []
    if not isinstance(inline, list):
        raise SocialValueError("proxies must be a list of rows (id, description, value, unit, price_year, source, licence)", field="proxies")
    inline_proxies = proxies_from_records(inline, origin=f"{source or 'impact map'} (proxies:)")

    return ImpactMap(
        name=str(data.get("name") or "impact map"),
        description=str(data.get("description") or ""),
        currency=str(data.get("currency") or "GBP"),
        price_year=price_year,
        discount=discount,
        investment=investment,
        investment_by_time_bank=by_bank,
        time_banks=time_banks,
        outcomes=tuple(outcomes),
        proxy_tables=proxy_tables,
        deflators=deflators,
        inline_proxies=inline_proxies,
        monte_carlo=_monte_carlo(data.get("monte_carlo") or {}),
        source=source,
        outputs=tuple(outputs),
        base_case=base_case,
    )


def _as_list(value: Any, field_name: str) -> list:
    if isinstance(value, (str, Path)):
        return [value]
    if not isinstance(value, list):
        raise SocialValueError("expected a path or a list of paths", field=field_name)
    return value


def _path(value: Any, base: Path, field_name: str, builtin: Path) -> Path:
    if not isinstance(value, (str, Path)) or not str(value).strip():
        raise SocialValueError(f"expected a path or 'builtin', got {value!r}", field=field_name)
    if str(value).strip() == "builtin":
        return builtin
    path = Path(str(value).strip()).expanduser()
    return path if path.is_absolute() else base / path


def _time_banks(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise SocialValueError("time_banks must be a list of time-bank ids", field="time_banks")
    banks = tuple(v.strip() for v in value)
    if OVERALL in banks:
        raise SocialValueError("'overall' is reserved for the whole programme; it cannot be a time bank", field="time_banks")
    if len(set(banks)) != len(banks):
        raise SocialValueError("a time bank is listed twice", field="time_banks")
    return banks


def _investment(value: Any, *, field_name: str) -> dict[int, Decimal]:
    """A number (all at year 0), a list (index = year) or a mapping year -> amount."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        items = [(0, value)]
    elif isinstance(value, list):
        items = list(enumerate(value))
    elif isinstance(value, Mapping):
        items = list(value.items())
    else:
        raise SocialValueError(
            "investment is an amount, a list by year ([100000, 20000]: year 0, year 1) or a mapping {0: 100000}",
            field=field_name,
        )
    out: dict[int, Decimal] = {}
    for year, amount in items:
        y = parse_int(year, field=field_name, minimum=0, what="a year (0 = at start)")
        if y in out:
            raise SocialValueError(f"year {y} appears twice", field=field_name)
        out[y] = to_decimal(amount, field=f"{field_name}[{y}]", minimum=0, what="a non-negative amount")
    return dict(sorted(out.items()))


def _investment_by_time_bank(value: Any, banks: tuple[str, ...], total: Mapping[int, Decimal]) -> dict[str, dict[int, Decimal]]:
    if not isinstance(value, Mapping):
        raise SocialValueError("investment_by_time_bank maps a time bank to its investment by year", field="investment_by_time_bank")
    out = {}
    for bank, amounts in value.items():
        if bank not in banks:
            raise SocialValueError(f"time bank {bank!r} is not listed in time_banks", field="investment_by_time_bank")
        out[bank] = _investment(amounts, field_name=f"investment_by_time_bank.{bank}")
    for year in sorted({y for amounts in out.values() for y in amounts}):
        share = sum(amounts.get(year, Decimal(0)) for amounts in out.values())
        if share > total.get(year, Decimal(0)):
            raise SocialValueError(
                f"time-bank investments in year {year} ({share}) exceed the programme total for that year "
                f"({total.get(year, Decimal(0))}); 'investment' is the programme total including every time bank",
                field="investment_by_time_bank",
            )
    return out


def _monte_carlo(value: Any) -> MonteCarloSettings:
    if not isinstance(value, Mapping):
        raise SocialValueError("monte_carlo is {draws: 10000, seed: 1}", field="monte_carlo")
    _unknown(value, ("draws", "seed"), outcome=None, where="monte_carlo")
    draws = parse_int(value.get("draws", DEFAULT_DRAWS), field="monte_carlo.draws", minimum=1)
    seed = parse_int(value.get("seed", DEFAULT_SEED), field="monte_carlo.seed", minimum=0)
    return MonteCarloSettings(draws=draws, seed=seed)


def _outcome(raw: Any, number: int, banks: tuple[str, ...], default_discount: DiscountSchedule) -> Outcome:
    oid = _entry_id(raw, number, "outcome", " (a short name such as fewer_readmissions)")
    _unknown(raw, OUTCOME_KEYS, outcome=oid, where="the outcome")
    scope = _entry_scope(raw, oid, "outcome", ("stakeholder", "quantity", "proxy", "duration"), banks)
    proxy = raw["proxy"]
    if not isinstance(proxy, str) or not proxy.strip():
        raise SocialValueError("proxy must be a proxy id from a proxy table", outcome=oid, field="proxy")
    duration = parse_int(raw["duration"], outcome=oid, field="duration", what="a duration in whole years")
    if duration < 1:
        raise SocialValueError(f"duration {raw['duration']!r} must be at least 1 year", outcome=oid, field="duration")
    percents = {name: parse_percent(raw.get(name, 0), outcome=oid, field=name) for name in ("displacement", "attribution", "drop_off")}
    quantity = _quantity(raw["quantity"], oid)
    deadweight = _deadweight(raw.get("deadweight", 0), oid, quantity)
    discount = schedule_from_spec(raw["discount"], outcome=oid) if "discount" in raw else default_discount
    ranges = _ranges(raw.get("ranges") or {}, oid, quantity, deadweight, percents, duration)
    return Outcome(
        id=oid,
        stakeholder=str(raw["stakeholder"]),
        description=str(raw.get("description") or ""),
        scope=scope,
        quantity=quantity,
        proxy=proxy.strip(),
        deadweight=deadweight,
        duration=duration,
        discount=discount,
        ranges=ranges,
        notes=str(raw.get("notes") or ""),
        **percents,
    )


def _entry_id(raw: Any, number: int, kind: str, example: str = "") -> str:
    """The id of the impact map's ``number``-th outcome or output (``kind``), which must be a mapping with one."""
    if not isinstance(raw, Mapping):
        raise SocialValueError(f"{kind} {number} must be a mapping of fields", field=f"{kind}s")
    oid = raw.get("id")
    if not isinstance(oid, str) or not oid.strip():
        raise SocialValueError(f"{kind} {number} needs an id{example}", field="id")
    return oid.strip()


def _entry_scope(raw: Mapping, oid: str, kind: str, required: tuple[str, ...], banks: tuple[str, ...]) -> str:
    """An outcome's or output's scope ('overall' or a listed time bank), once its ``required`` fields are there."""
    for name in required:
        if name not in raw:
            raise SocialValueError(f"the {kind} needs '{name}'", outcome=oid, field=name)
    scope = str(raw.get("scope", OVERALL)).strip()
    if scope != OVERALL and scope not in banks:
        known = ", ".join(banks) or "none listed"
        raise SocialValueError(f"scope {scope!r} is neither 'overall' nor a time bank in time_banks ({known})",
                               outcome=oid, field="scope")
    return scope


def _output(raw: Any, number: int, banks: tuple[str, ...]) -> Output:
    oid = _entry_id(raw, number, "output")
    valued = [k for k in ("proxy", "deadweight", "displacement", "attribution", "drop_off", "duration") if k in raw]
    if valued:
        raise SocialValueError(f"an output is reported, not valued: remove {', '.join(valued)} (or make it an outcome, "
                               f"with evidence of the change it made)", outcome=oid, field=valued[0])
    _unknown(raw, OUTPUT_KEYS, outcome=oid, where="the output")
    scope = _entry_scope(raw, oid, "output", ("stakeholder", "quantity"), banks)
    return Output(id=oid, stakeholder=str(raw["stakeholder"]), description=str(raw.get("description") or ""),
                  scope=scope, quantity=_quantity(raw["quantity"], oid), notes=str(raw.get("notes") or ""))


def _quantity(raw: Any, oid: str) -> Quantity:
    if isinstance(raw, str):
        return Quantity(model_output=raw.strip())
    if isinstance(raw, Mapping):
        _unknown(raw, ("value", "model_output", "scale"), outcome=oid, where="quantity")
        if ("value" in raw) == ("model_output" in raw):
            raise SocialValueError(
                "quantity is a number, a model-output id, or {model_output: id, scale: 0.5} / {value: 50}",
                outcome=oid,
                field="quantity",
            )
        scale = to_decimal(raw.get("scale", 1), outcome=oid, field="quantity.scale", what="a positive scale")
        if scale <= 0:
            raise SocialValueError("scale must be positive", outcome=oid, field="quantity.scale")
        if "model_output" in raw:
            key = raw["model_output"]
            if not isinstance(key, str) or not key.strip():
                raise SocialValueError("model_output must be an output id", outcome=oid, field="quantity.model_output")
            return Quantity(model_output=key.strip(), scale=scale)
        return Quantity(fixed=to_decimal(raw["value"], outcome=oid, field="quantity", minimum=0, what="a non-negative quantity"), scale=scale)
    return Quantity(fixed=to_decimal(raw, outcome=oid, field="quantity", minimum=0, what="a non-negative quantity"))


def _deadweight(raw: Any, oid: str, quantity: Quantity) -> Deadweight:
    if raw == "from_comparison":
        if quantity.model_output is None:
            raise SocialValueError(
                "from_comparison needs a model output: use a model-output quantity or write "
                "{from_comparison: <model output id>}",
                outcome=oid,
                field="deadweight",
            )
        return Deadweight(from_comparison=quantity.model_output)
    if isinstance(raw, Mapping):
        _unknown(raw, ("from_comparison",), outcome=oid, where="deadweight")
        key = raw.get("from_comparison")
        if not isinstance(key, str) or not key.strip():
            raise SocialValueError("{from_comparison: <model output id>} needs an id", outcome=oid, field="deadweight")
        return Deadweight(from_comparison=key.strip())
    return Deadweight(value=parse_percent(raw, outcome=oid, field="deadweight"))


def _ranges(raw: Any, oid: str, quantity: Quantity, deadweight: Deadweight, percents: Mapping[str, Decimal], duration: int) -> dict[str, Range]:
    if not isinstance(raw, Mapping):
        raise SocialValueError("ranges maps an assumption to {low, high, distribution}", outcome=oid, field="ranges")
    _unknown(raw, RANGE_FIELDS, outcome=oid, where="ranges")
    out: dict[str, Range] = {}
    for name, spec in raw.items():
        where = f"ranges.{name}"
        if not isinstance(spec, Mapping):
            raise SocialValueError("a range is {low: .., high: .., distribution: uniform|triangular}", outcome=oid, field=where)
        _unknown(spec, ("low", "high", "distribution", "mode"), outcome=oid, where=where)
        if "low" not in spec or "high" not in spec:
            raise SocialValueError("a range needs both low and high", outcome=oid, field=where)
        distribution = str(spec.get("distribution", "uniform"))
        if distribution not in DISTRIBUTIONS:
            raise SocialValueError(f"distribution must be uniform or triangular, got {distribution!r}", outcome=oid, field=where)
        if "mode" in spec and distribution != "triangular":
            raise SocialValueError("mode applies only to a triangular distribution", outcome=oid, field=where)
        if name == "quantity" and quantity.model_output is not None:
            raise SocialValueError(
                "a model-output quantity takes its range from the model's 95% interval; remove ranges.quantity",
                outcome=oid,
                field=where,
            )

        def read(value: Any, part: str) -> Any:
            f = f"{where}.{part}"
            if name in PERCENT_FIELDS:
                return parse_percent(value, outcome=oid, field=f)
            if name == "duration":
                return parse_int(value, outcome=oid, field=f, minimum=1, what="a duration in whole years")
            if name == "proxy" and isinstance(value, str) and not value.strip().replace(".", "", 1).isdigit():
                return value.strip()
            if name == "scale":
                scale = to_decimal(value, outcome=oid, field=f, what="a positive scale")
                if scale <= 0:
                    raise SocialValueError("scale must be positive", outcome=oid, field=f)
                return scale
            return to_decimal(value, outcome=oid, field=f, minimum=0, what="a non-negative number")

        low, high = read(spec["low"], "low"), read(spec["high"], "high")
        mode = read(spec["mode"], "mode") if "mode" in spec else None
        if not isinstance(low, str) and not isinstance(high, str) and low > high:
            raise SocialValueError(f"low ({spec['low']}) is above high ({spec['high']})", outcome=oid, field=where)
        base = {
            "duration": duration,
            "quantity": quantity.fixed,
            "scale": quantity.scale,
            "deadweight": deadweight.value,
            **percents,
        }.get(name)
        if base is not None and not isinstance(low, str) and not isinstance(high, str) and not low <= base <= high:
            raise SocialValueError(
                f"the range {spec['low']}-{spec['high']} does not contain the base value", outcome=oid, field=where
            )
        out[name] = Range(low=low, high=high, distribution=distribution, mode=mode)
    return out
