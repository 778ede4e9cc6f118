"""Read the pandera models of `schemas.raw` into plain column and table rules.

Both the SQL validator (`schemas.sql`) and the generated contract document
(`schemas.contract_doc`) work from these rules, so neither restates the contract.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache

import pandera.pandas as pa

from schemas.raw import SOURCES

_SQL_TYPES = {"str": "VARCHAR", "float64": "DOUBLE", "int64": "BIGINT", "datetime64[ns]": "DATE", "bool": "BOOLEAN"}
_EXPECTED_TYPE = {
    "VARCHAR": "text",
    "DOUBLE": "a finite number",
    "BIGINT": "a whole number",
    "DATE": "a date, YYYY-MM-DD or DD/MM/YYYY (four-digit year; a time of day is ignored)",
    "BOOLEAN": "true or false (also yes/no, 1/0)",
}


@dataclass(frozen=True)
class Check:
    """One value rule of a column: pandera's check name and its statistics."""

    name: str
    statistics: dict


@dataclass(frozen=True)
class ColumnRule:
    name: str
    sql_type: str
    nullable: bool
    description: str
    checks: tuple[Check, ...] = ()
    pseudonymise: bool = False
    not_future: bool = False
    references: str | None = None
    clear: bool = False

    @property
    def expected_type(self) -> str:
        return _EXPECTED_TYPE[self.sql_type]

    @property
    def bad_value(self) -> str:
        """What ingest does with a value that breaks one of the column's rules, in words (docs/data-contract.md)."""
        if self.clear:
            return "cleared: the row is staged with the column empty, the value listed in `quarantine.cleared_values`"
        if self.nullable and self.sql_type == "VARCHAR" and not (self.checks or self.references):
            return "none: any text is kept"
        return "the row is quarantined"


@dataclass(frozen=True)
class SourceContract:
    name: str
    description: str
    columns: tuple[ColumnRule, ...]
    key: str | None = None
    natural_key: tuple[str, ...] = ()
    order: tuple[tuple[str, str], ...] = ()
    keep_extra_columns: bool = False
    scale_registry: bool = False
    references: dict[str, str] = field(default_factory=dict)

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def required_columns(self) -> list[str]:
        return [c.name for c in self.columns if not c.nullable]

    def column(self, name: str) -> ColumnRule:
        return next(c for c in self.columns if c.name == name)


@cache
def contract(source: str) -> SourceContract:
    """The contract of one source, e.g. ``contract("hospital_spells")``."""
    model: type[pa.DataFrameModel] = SOURCES[source]
    schema = model.to_schema()
    columns = []
    for name, col in schema.columns.items():
        meta = col.metadata or {}
        columns.append(
            ColumnRule(
                name=name,
                sql_type=_SQL_TYPES[str(col.dtype)],
                nullable=col.nullable,
                description=col.description or "",
                checks=tuple(Check(c.name, dict(c.statistics)) for c in col.checks),
                pseudonymise=bool(meta.get("pseudonymise")),
                not_future=bool(meta.get("not_future")),
                references=meta.get("references"),
                clear=bool(meta.get("clear")),
            )
        )
    table = getattr(model.Config, "metadata", None) or {}
    spec = SourceContract(
        name=source,
        description=" ".join((model.__doc__ or "").strip().split("\n\n")[0].split()),
        columns=tuple(columns),
        key=table.get("key"),
        natural_key=tuple(table.get("natural_key", ())),
        order=tuple(tuple(pair) for pair in table.get("order", ())),
        keep_extra_columns=table.get("extra_columns") == "keep",
        scale_registry=bool(table.get("scale_registry")),
        references={c.name: c.references for c in columns if c.references},
    )
    _check_clearable(spec)
    return spec


def _check_clearable(spec: SourceContract) -> None:
    """A column whose bad value is cleared (``clear``) is an optional covariate with a rule to break: never a required
    column, an identifier, a key, a date that orders or bounds a record, a Star reading's field, or free text."""
    bounded = {c for pair in spec.order for c in pair} | set(spec.natural_key) | {spec.key}
    if spec.scale_registry:
        bounded |= {"star_version", "area", "score"}
    for c in spec.columns:
        if c.clear and (not c.nullable or c.pseudonymise or c.references or c.not_future or c.name in bounded
                        or not (c.checks or c.sql_type != "VARCHAR")):
            raise ValueError(f"{spec.name}.{c.name}: only an optional covariate with a value rule may clear a bad value "
                             "(not a required column, an identifier, a key, an ordered or event date, or free text)")


def describe_check(check: Check) -> str:
    """Plain words for a check, as shown in quarantine reasons and the contract doc."""
    s = check.statistics
    if check.name == "isin":
        return "one of " + ", ".join(map(str, s["allowed_values"]))
    if check.name == "greater_than":
        return f"greater than {s['min_value']}"
    if check.name == "greater_than_or_equal_to":
        return f"at least {s['min_value']}"
    if check.name == "less_than":
        return f"less than {s['max_value']}"
    if check.name == "less_than_or_equal_to":
        return f"at most {s['max_value']}"
    if check.name == "in_range":
        return f"between {s['min_value']} and {s['max_value']}"
    if check.name == "icd10_code":
        return ("an ICD-10 code: a letter and two digits, then optionally a full stop, a fourth character (a digit, "
                "or X or - for a three-character code) and up to two more (I21.9, I219, R69X)")
    raise ValueError(f"no description for check {check.name!r}")


def check_violation_sql(check: Check, expr: str) -> str:
    """SQL that is true when ``expr`` breaks the check (NULLs never break a value check)."""
    s = check.statistics
    if check.name == "isin":
        # NOT IN written out as its conjunction of <> (the same three-valued result): over a
        # large input DuckDB plans NOT IN as a join against the list, which costs more.
        return "(" + " AND ".join(f"{expr} <> '" + str(v).replace("'", "''") + "'" for v in s["allowed_values"]) + ")"
    if check.name == "greater_than":
        return f"{expr} <= {s['min_value']}"
    if check.name == "greater_than_or_equal_to":
        return f"{expr} < {s['min_value']}"
    if check.name == "less_than":
        return f"{expr} >= {s['max_value']}"
    if check.name == "less_than_or_equal_to":
        return f"{expr} > {s['max_value']}"
    if check.name == "in_range":
        low = "<" if s.get("include_min", True) else "<="
        high = ">" if s.get("include_max", True) else ">="
        return f"({expr} {low} {s['min_value']} OR {expr} {high} {s['max_value']})"
    if check.name == "icd10_code":  # RE2 (DuckDB) and Python's re read the pattern alike: no look-around, no flags
        return f"NOT regexp_full_match({expr}, '{s['pattern']}')"
    raise ValueError(f"no SQL for check {check.name!r}")


def empty_source_sql(source: str) -> str:
    """A typed, empty SELECT with the contract's columns of ``source``: the stand-in the models
    read when the source was never staged (every source is optional)."""
    cols = ", ".join(f'NULL::{c.sql_type} AS "{c.name}"' for c in contract(source).columns)
    return f"SELECT {cols} WHERE false"
