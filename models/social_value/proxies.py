"""Financial proxies with provenance, and uprating them to the reporting price year.

Proxy table
-----------
A CSV with one row per proxy and the columns

``id, description, value, unit, price_year, source, licence, url``

(``url`` may be empty; extra columns such as ``notes`` are kept but not read).
``value`` is in pounds at ``price_year`` prices. The shipped table,
``data/reference/proxies.csv``, holds only openly licensed values (see
docs/social-value.md, "Proxy provenance and licences"). Users add their own
tables (a path in the impact map's ``proxy_tables`` or passed to
``resolve``/the CLI) or inline ``proxies:`` in the impact map.

Uprating
--------
``value_reporting = value * index[reporting_year] / index[price_year]`` with a
deflator table of ``year, index, source`` (shipped: HM Treasury GDP deflator at
market prices, calendar years). A proxy already in reporting-year prices is not
uprated and needs no deflator row. A proxy without a price year, or whose price
year (or the reporting year) is missing from the deflator table, is an error
naming the outcome that uses it.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from decimal import Decimal, localcontext
from importlib import resources
from pathlib import Path
from typing import Any, Iterable, Mapping

from models.social_value.errors import SocialValueError
from models.social_value.parsing import parse_int, to_decimal

PROXY_COLUMNS = ("id", "description", "value", "unit", "price_year", "source", "licence")
DEFLATOR_COLUMNS = ("year", "index", "source")


def _reference_dir() -> Path:
    return Path(str(resources.files("data"))) / "reference"


def builtin_proxies_path() -> Path:
    """``data/reference/proxies.csv``: the openly licensed proxies shipped with the project."""
    return _reference_dir() / "proxies.csv"


def builtin_deflators_path() -> Path:
    """``data/reference/deflators.csv``: HM Treasury GDP deflator, calendar years."""
    return _reference_dir() / "deflators.csv"


@dataclass(frozen=True)
class Proxy:
    """One financial proxy: a value in pounds at ``price_year`` prices, with provenance."""

    id: str
    description: str
    value: Decimal
    unit: str
    price_year: int | None
    source: str
    licence: str
    url: str = ""
    origin: str = ""  # the file (or "impact map") the row came from


@dataclass(frozen=True)
class ProxyTable:
    """Proxies by id, merged from one or more sources; an id may appear only once."""

    proxies: Mapping[str, Proxy] = field(default_factory=dict)

    def __contains__(self, proxy_id: object) -> bool:
        return proxy_id in self.proxies

    def __len__(self) -> int:
        return len(self.proxies)

    def ids(self) -> list[str]:
        return sorted(self.proxies)

    def get(self, proxy_id: str, *, outcome: str | None = None, field: str = "proxy") -> Proxy:
        """The proxy ``proxy_id``; an unknown id is an error naming the outcome."""
        try:
            return self.proxies[proxy_id]
        except KeyError:
            known = ", ".join(self.ids()) or "none loaded"
            raise SocialValueError(
                f"unknown proxy id {proxy_id!r}; known ids: {known}. Add it to a proxy table "
                f"(proxy_tables in the impact map, or --proxies PATH) or to the map's proxies: list",
                outcome=outcome,
                field=field,
            ) from None

    def merged(self, other: "ProxyTable") -> "ProxyTable":
        """Both tables together; the same id in both is an error naming both sources."""
        out = dict(self.proxies)
        for proxy_id, proxy in other.proxies.items():
            if proxy_id in out:
                raise SocialValueError(
                    f"proxy id {proxy_id!r} is defined twice ({out[proxy_id].origin} and {proxy.origin}); "
                    f"give your own value a different id",
                    field="proxy_tables",
                )
            out[proxy_id] = proxy
        return ProxyTable(out)


def proxies_from_records(records: Iterable[Mapping[str, Any]], origin: str) -> ProxyTable:
    """Build a table from row mappings (CSV rows or the impact map's inline ``proxies:``)."""
    out: dict[str, Proxy] = {}
    for number, row in enumerate(records, start=1):
        if not isinstance(row, Mapping):
            raise SocialValueError(f"row {number} is not a mapping of columns", source=origin, field="proxies")
        proxy_id = str(row.get("id") or "").strip()
        where = f"proxy {proxy_id!r}" if proxy_id else f"row {number}"
        if not proxy_id:
            raise SocialValueError(f"{where} has no id", source=origin, field="id")
        missing = [c for c in PROXY_COLUMNS if c != "price_year" and str(row.get(c) if row.get(c) is not None else "").strip() == ""]
        if missing:
            raise SocialValueError(
                f"{where} is missing {', '.join(missing)} (every proxy needs id, description, value, unit, "
                f"price_year, source and licence)",
                source=origin,
                field=missing[0],
            )
        value = to_decimal(row["value"], field="value", minimum=0, what=f"a non-negative value in pounds for {where}")
        raw_year = row.get("price_year")
        price_year = None
        if raw_year is not None and str(raw_year).strip() != "":
            price_year = parse_int(raw_year, field="price_year", what=f"a price year for {where}")
        if proxy_id in out:
            raise SocialValueError(f"proxy id {proxy_id!r} appears twice", source=origin, field="id")
        out[proxy_id] = Proxy(
            id=proxy_id,
            description=str(row["description"]).strip(),
            value=value,
            unit=str(row["unit"]).strip(),
            price_year=price_year,
            source=str(row["source"]).strip(),
            licence=str(row["licence"]).strip(),
            url=str(row.get("url") or "").strip(),
            origin=origin,
        )
    return ProxyTable(out)


def load_proxy_table(path: str | Path) -> ProxyTable:
    """Read a proxy CSV (see the module docstring for its columns)."""
    path = Path(path)
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            columns = [c.strip() for c in (reader.fieldnames or [])]
            missing = [c for c in PROXY_COLUMNS if c not in columns]
            if missing:
                raise SocialValueError(
                    f"proxy table lacks column(s) {', '.join(missing)}; required: {', '.join(PROXY_COLUMNS)}",
                    source=str(path),
                )
            rows = [{(k or "").strip(): v for k, v in row.items()} for row in reader]
    except OSError as err:
        raise SocialValueError(f"cannot read proxy table: {err}", source=str(path), field="proxy_tables") from err
    return proxies_from_records(rows, origin=str(path))


@dataclass(frozen=True)
class DeflatorTable:
    """Price index by year (any base; only ratios are used) with the source of each row."""

    index: Mapping[int, Decimal]
    sources: Mapping[int, str] = field(default_factory=dict)
    origin: str = ""

    def factor(
        self,
        from_year: int | None,
        to_year: int,
        *,
        outcome: str | None = None,
        field: str = "proxy",
        proxy_id: str | None = None,
    ) -> Decimal:
        """``index[to_year] / index[from_year]``; 1 when the years are equal."""
        label = f"proxy {proxy_id!r}" if proxy_id else "the value"
        if from_year is None:
            raise SocialValueError(
                f"{label} has no price year, so it cannot be uprated to {to_year} prices; "
                f"add price_year to its row",
                outcome=outcome,
                field=field,
            )
        if from_year == to_year:
            return Decimal(1)
        for year in (from_year, to_year):
            if year not in self.index:
                span = f"{min(self.index)}-{max(self.index)}" if self.index else "no years"
                raise SocialValueError(
                    f"{label} is in {from_year} prices but the deflator table ({self.origin or 'given'}, "
                    f"{span}) has no index for {year}; add that year or use a proxy in a covered price year",
                    outcome=outcome,
                    field=field,
                )
        with localcontext() as ctx:
            ctx.prec = 40
            return self.index[to_year] / self.index[from_year]


def load_deflators(path: str | Path) -> DeflatorTable:
    """Read a deflator CSV with columns ``year, index, source``."""
    path = Path(path)
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            columns = [c.strip() for c in (reader.fieldnames or [])]
            missing = [c for c in DEFLATOR_COLUMNS if c not in columns]
            if missing:
                raise SocialValueError(
                    f"deflator table lacks column(s) {', '.join(missing)}; required: year, index, source",
                    source=str(path),
                )
            rows = [{(k or "").strip(): v for k, v in row.items()} for row in reader]
    except OSError as err:
        raise SocialValueError(f"cannot read deflator table: {err}", source=str(path), field="deflators") from err
    index: dict[int, Decimal] = {}
    sources: dict[int, str] = {}
    for row in rows:
        year = parse_int(row.get("year"), field="year", what=f"a year in {path}")
        if year in index:
            raise SocialValueError(f"year {year} appears twice", source=str(path), field="year")
        value = to_decimal(row.get("index"), field="index", what=f"a price index for {year}")
        if value <= 0:
            raise SocialValueError(f"index for {year} must be positive", source=str(path), field="index")
        index[year] = value
        sources[year] = str(row.get("source") or "").strip()
    return DeflatorTable(index=index, sources=sources, origin=str(path))


def uprate(proxy: Proxy, to_year: int, deflators: DeflatorTable, *, outcome: str | None = None, field: str = "proxy") -> Decimal:
    """The proxy's value in ``to_year`` prices (exact; rounded only when reported)."""
    factor = deflators.factor(proxy.price_year, to_year, outcome=outcome, field=field, proxy_id=proxy.id)
    with localcontext() as ctx:
        ctx.prec = 40
        return proxy.value * factor
