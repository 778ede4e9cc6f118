"""Declarative extract mappings: a YAML file that turns one extract format into a contract source.

A mapping is validated on load and refused, with the file, the key and the reason, when it
has an unknown key, a target column not in the contract, or an expression outside the
safe subset (``schemas.expressions``). It is compiled to one DuckDB query applied to the
extract where it lies, before the contract's own checks (``pipelines.ingest.stage``).

Steps, in order (every key but ``source``, ``description``, ``columns`` and ``output`` is
optional)::

    source: hospital_spells              # the contract source it produces
    description: ...                     # what the extract is
    references: [...]                    # the public definitions it follows
    parameters: {name: meaning}          # values given in the settings, used as @name
    columns: {name: header | [headers]}  # required inputs; first header found wins
    optional_columns: {name: [headers]}  # inputs that may be absent (then empty)
    derive: {name: expression | map}     # new columns, in order
    keep: [{if, rule, column, expected}] # rows failing `if` are quarantined with `rule`
    group: {by, order, first, last, any, keep}
                                         # several rows become one (episodes -> spells); keep: rules on the groups
    output: {contract column: expression | map}
    unpivot: {name, value, columns}      # one row per listed column (wide forms to long readings)
    unpivot: {name, value, other_columns: {name, value}}
                                         # one row per column the mapping does not name, e.g. an
                                         # export with one column per Star area; the expressions
                                         # see its header as `header` and its value as `value`

A *map* is ``{map: expression, values: {code: value}}``: a code it does not list is
quarantined with rule ``unmapped_value``, never given a default. Headers are compared
normalised (case, spaces and hyphens), as the contract's are. Values are trimmed, and an
empty value is null.

Rows read = rows staged + rows quarantined, as for every source: a row dropped by
``keep`` is quarantined with its rule; with ``group``, the rows read are the groups plus
the rows quarantined before grouping, and each group keeps the line of its first row.
"""

from __future__ import annotations

import difflib
import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Union

import duckdb
import yaml
from pydantic import BaseModel, ConfigDict, Field, RootModel, ValidationError, field_validator, model_validator

from schemas.contract import contract
from schemas.expressions import ExpressionError, FailureCheck, compile_expression
from schemas.raw import SOURCES

PRESETS = Path(__file__).resolve().parents[1] / "data" / "mappings"
_NAME = re.compile(r"^[a-z_][a-z0-9_]*$")
VIOLATION_TYPE = 'STRUCT("column" VARCHAR, rule VARCHAR, expected VARCHAR, value VARCHAR)'
_EMPTY = f"[]::{VIOLATION_TYPE}[]"


class MappingError(ValueError):
    """A mapping refused on load: names the file, the key and the reason."""

    def __init__(self, path: Path | str, key: str, reason: str):
        self.path, self.key, self.reason = Path(path), key, reason
        super().__init__(f"{path}: {key}: {reason}")


def _normalise(header: str) -> str:
    return re.sub(r"[\s\-]+", "_", str(header).replace("\ufeff", "").strip().lower())


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class ValueMap(_Strict):
    """Codes to contract values; anything unlisted is quarantined as ``unmapped_value``."""

    map: str = Field(description="Expression giving the code.")
    values: dict[str, str] = Field(description="code: value. Codes are compared as trimmed text.")
    ignore_case: bool = False

    @field_validator("values", mode="before")
    @classmethod
    def _as_text(cls, values):
        if not isinstance(values, dict) or not values:
            raise ValueError("values must be a non-empty mapping of code: value")
        text = lambda v: str(v).lower() if isinstance(v, bool) else str(v)
        return {text(k): text(v) for k, v in values.items()}


Expression = Union[str, int, float, ValueMap]


class KeepRule(_Strict):
    """Rows where ``if`` is not true are quarantined with ``rule`` (and ``column``, ``expected``)."""

    if_: str = Field(alias="if")
    rule: str
    column: str
    expected: str
    show: str | None = Field(None, description="Expression shown as the value (never an identifier).")

    @field_validator("rule")
    @classmethod
    def _rule_name(cls, rule: str) -> str:
        if not _NAME.match(rule):
            raise ValueError("a rule is a lower-case name (letters, digits, _)")
        return rule


class Group(_Strict):
    """Rows sharing ``by`` become one: ``first``/``last`` columns by ``order``, ``any`` = true in any row.

    ``keep``: rules on the groups (over the ``by``, ``first``, ``last`` and ``any`` columns), as the
    mapping's own ``keep`` is on the input rows: a group where ``if`` is not true is quarantined with
    its rule, on the line of its first row. For what only the whole group shows, e.g. a hospital spell
    whose last episode says it had not ended.
    """

    by: list[str]
    order: list[str] = []
    first: list[str] = []
    last: list[str] = []
    any: list[str] = []
    keep: list[KeepRule] = []


class OtherColumns(_Strict):
    """Every extract column the mapping does not name becomes rows: ``name`` and ``value`` are expressions over
    ``header`` (the column's header, normalised) and ``value`` (its value), and the mapping's own columns."""

    name: Expression
    value: Expression


class Unpivot(_Strict):
    """One output row per listed column (wide to long): ``name`` gets the key, ``value`` the expression's value;
    with ``other_columns``, also one row per column the mapping does not name.

    An empty value is not a reading and makes no row, as in the contract's own wide form.
    """

    name: str
    value: str
    columns: dict[str, Expression] = {}
    other_columns: OtherColumns | None = None

    @model_validator(mode="after")
    def _some_columns(self):
        if not self.columns and self.other_columns is None:
            raise ValueError("give columns, other_columns or both")
        return self


class Mapping(_Strict):
    source: str
    description: str
    references: list[str] = []
    parameters: dict[str, str] = {}
    columns: dict[str, Union[str, list[str]]]
    optional_columns: dict[str, Union[str, list[str]]] = {}
    derive: dict[str, Expression] = {}
    keep: list[KeepRule] = []
    group: Group | None = None
    output: dict[str, Expression]
    unpivot: Unpivot | None = None

    @field_validator("source")
    @classmethod
    def _known_source(cls, source: str) -> str:
        if source not in SOURCES:
            raise ValueError(f"unknown source {source!r}; one of {', '.join(SOURCES)}")
        return source

    @model_validator(mode="after")
    def _names(self):
        for key in ("columns", "optional_columns", "derive", "parameters"):
            for name in getattr(self, key):
                if not _NAME.match(name):
                    raise ValueError(f"{key}.{name}: a name is lower-case letters, digits and _")
        return self


@dataclass(frozen=True)
class LoadedMapping:
    """A validated mapping: the model, where it came from and the SHA-256 of its bytes."""

    name: str
    path: Path
    sha256: str
    spec: Mapping

    def headers(self, name: str) -> list[str]:
        given = self.spec.columns.get(name, self.spec.optional_columns.get(name))
        return [_normalise(h) for h in ([given] if isinstance(given, str) else given)]


def resolve(use: str, base: Path | None = None) -> Path:
    """A preset name (``data/mappings/<name>.yaml``) or a path (relative to ``base``)."""
    if _NAME.match(use) and (PRESETS / f"{use}.yaml").is_file():
        return PRESETS / f"{use}.yaml"
    path = Path(use)
    if not path.is_absolute() and base is not None:
        path = base / path
    return path


def presets() -> list[str]:
    return sorted(p.stem for p in PRESETS.glob("*.yaml"))


def load_mapping(use: str | Path, base: Path | None = None) -> LoadedMapping:
    """Read and validate a mapping; raises :class:`MappingError` naming file, key and reason."""
    path = resolve(str(use), base)
    try:
        data = path.read_bytes()
    except OSError as err:
        raise MappingError(path, "(file)", f"cannot be read ({err.strerror or err}); shipped presets: {', '.join(presets())}") from None
    try:
        raw = yaml.safe_load(data)
    except yaml.YAMLError as err:
        raise MappingError(path, "(file)", f"not valid YAML: {err}") from None
    if not isinstance(raw, dict):
        raise MappingError(path, "(file)", "a mapping is a YAML mapping of keys (source, columns, output, ...)")
    try:
        spec = Mapping.model_validate(raw)
    except ValidationError as err:
        errors = err.errors()
        # An expression is text or a map: report the map's own error rather than "not text".
        first = next((e for e in errors if "ValueMap" in e["loc"]), errors[0])
        tags = {"str", "int", "float", "ValueMap", "list[str]"}
        key = ".".join(str(p) for p in first["loc"] if p not in tags) or "(file)"
        reason = "unknown key" if first["type"] == "extra_forbidden" else first["msg"]
        raise MappingError(path, key, reason) from None
    loaded = LoadedMapping(path.stem, path, hashlib.sha256(data).hexdigest(), spec)
    _check(loaded)
    return loaded


def _check(m: LoadedMapping) -> None:
    """Target columns in the contract, every expression in the safe subset and bound by DuckDB."""
    spec, target = m.spec, contract(m.spec.source)
    for col in spec.output:
        if col not in target.column_names:
            raise MappingError(m.path, f"output.{col}", f"not a column of {spec.source}; the contract has {', '.join(target.column_names)}")
    produced = set(spec.output)
    if spec.unpivot:
        for key in ("name", "value"):
            col = getattr(spec.unpivot, key)
            if col not in target.column_names or col in spec.output:
                raise MappingError(m.path, f"unpivot.{key}", f"{col!r} must be a column of {spec.source} not also in output")
            produced.add(col)
    missing = [c for c in target.required_columns if c not in produced]
    if missing:
        raise MappingError(m.path, "output", f"required column(s) of {spec.source} not produced: {', '.join(missing)}")
    params = {p: "x" for p in spec.parameters}
    headers = sorted({h for n in list(spec.columns) + list(spec.optional_columns) for h in m.headers(n)})
    if spec.unpivot and spec.unpivot.other_columns:
        if spec.group:
            raise MappingError(m.path, "unpivot.other_columns", "cannot be combined with group")
        clash = sorted({"header", "value"} & (set(spec.columns) | set(spec.optional_columns) | set(spec.derive)))
        if clash:
            raise MappingError(m.path, "unpivot.other_columns", f"'header' and 'value' name the unpivoted column; rename {', '.join(clash)}")
        headers.append("_probe_other_column")
    sql = compile_sql(m, params, "_probe", set(headers))
    with duckdb.connect() as con:
        con.execute(f"CREATE TEMP TABLE _probe (_seq BIGINT, _line BIGINT, {', '.join(f'{_q(h)} VARCHAR' for h in headers)})")
        try:
            con.execute(f"SELECT * FROM ({sql}) LIMIT 0")
        except duckdb.Error as err:
            raise MappingError(m.path, "(expressions)", f"DuckDB cannot evaluate the mapping: {str(err).splitlines()[0]}") from None


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _lit(text: str) -> str:
    return "'" + str(text).replace("'", "''") + "'"


class _Builder:
    """Compiles one mapping step by step into a chain of CTEs."""

    def __init__(self, m: LoadedMapping, params: dict[str, str]):
        self.m, self.params = m, params
        self.ctes: list[str] = []
        self.known: set[str] = set()
        self.pseudonymised = {c.name for c in contract(m.spec.source).columns if c.pseudonymise}

    def cte(self, sql: str) -> str:
        name = f"_m{len(self.ctes)}"
        self.ctes.append(f"{name} AS ({sql})")
        return name

    def compile(self, key: str, expr: Expression, label: str) -> tuple[str, list[str]]:
        """SQL of one expression or map, and the violation structs it can raise."""
        try:
            if isinstance(expr, ValueMap):
                code = compile_expression(expr.map, self.known, self.params)
                key_sql = f"NULLIF(trim(CAST({code.sql} AS VARCHAR)), '')"
                if expr.ignore_case:
                    key_sql = f"lower({key_sql})"
                values = {(k.lower() if expr.ignore_case else k): v for k, v in expr.values.items()}
                cases = " ".join(f"WHEN {_lit(k)} THEN {_lit(v)}" for k, v in values.items())
                listed = ", ".join(values) if len(values) <= 12 else f"{len(values)} codes"
                expected = f"a code the mapping lists ({listed}; {self.m.path.name} {key})"
                unmapped = FailureCheck(f"{key_sql} IS NOT NULL AND {key_sql} NOT IN ({', '.join(_lit(k) for k in values)})",
                                        "unmapped_value", expected, key_sql)
                return f"CASE {key_sql} {cases} END", self._violations(code.checks + [unmapped], label)
            code = compile_expression(expr, self.known, self.params)
        except ExpressionError as err:
            raise MappingError(self.m.path, key, str(err)) from None
        return code.sql, self._violations(code.checks, label)

    def _violations(self, checks: list[FailureCheck], label: str) -> list[str]:
        out = []
        for c in checks:
            value = "NULL" if label in self.pseudonymised else f"left(CAST({c.value} AS VARCHAR), 200)"
            out.append(f"CASE WHEN coalesce({c.condition}, false) THEN {{'column': {_lit(label)}, 'rule': {_lit(c.rule)}, "
                       f"'expected': {_lit(c.expected)}, 'value': {value}}}::{VIOLATION_TYPE} END")
        return out


def _drop_sql(b: _Builder, rules: list[KeepRule], key: str) -> str:
    """The first of ``rules`` a row breaks, as a violation struct (NULL when it breaks none)."""
    drops = []
    for i, rule in enumerate(rules):
        cond, _ = b.compile(f"{key}[{i}].if", rule.if_, rule.column)
        shown = b.compile(f"{key}[{i}].show", rule.show, rule.column)[0] if rule.show else None
        value = "NULL" if rule.column in b.pseudonymised or shown is None else f"left(CAST({shown} AS VARCHAR), 200)"
        drops.append(f"WHEN NOT coalesce({cond}, false) THEN {{'column': {_lit(rule.column)}, 'rule': {_lit(rule.rule)}, "
                     f"'expected': {_lit(rule.expected)}, 'value': {value}}}::{VIOLATION_TYPE}")
    return f"CASE {' '.join(drops)} END" if drops else f"NULL::{VIOLATION_TYPE}"


def _with(violations: list[str]) -> str:
    if not violations:
        return "_v"
    return f"list_concat(_v, list_filter([{', '.join(violations)}], lambda x: x IS NOT NULL))"


def compile_sql(m: LoadedMapping, params: dict[str, str], table: str, headers: set[str]) -> str:
    """One query over ``table`` (``_seq``, ``_line`` and the extract's normalised headers).

    It returns ``_seq``, ``_line``, every contract column as text and ``_mapping``: the
    list of the mapping's violations for that row (empty when it mapped cleanly).
    """
    spec, b = m.spec, _Builder(m, params)
    dropped_groups = None
    picks = []
    for name in list(spec.columns) + list(spec.optional_columns):
        found = next((h for h in m.headers(name) if h in headers), None)
        if found is None and name in spec.columns:
            raise KeyError(name)
        picks.append(f"NULLIF(trim({_q(found)}), '') AS {_q(name)}" if found else f"NULL::VARCHAR AS {_q(name)}")
        b.known.add(name)
    named = {h for n in list(spec.columns) + list(spec.optional_columns) for h in m.headers(n)}
    others = sorted(headers - named) if spec.unpivot and spec.unpivot.other_columns else []
    picks += [f"NULLIF(trim({_q(h)}), '') AS _other{j}" for j, h in enumerate(others)]
    prev = b.cte(f"SELECT _seq, _line, {', '.join(picks)}, {_EMPTY} AS _v FROM {table}")
    for name, expr in spec.derive.items():
        sql, violations = b.compile(f"derive.{name}", expr, name)
        prev = b.cte(f"SELECT * REPLACE ({_with(violations)} AS _v), {sql} AS {_q(name)} FROM {prev}")
        b.known.add(name)
    kept = b.cte(f"SELECT *, {_drop_sql(b, spec.keep, 'keep')} AS _drop FROM {prev}")
    rows = f"SELECT * FROM {kept} WHERE _drop IS NULL"
    if spec.group:
        g = spec.group
        for key, cols in (("by", g.by), ("order", g.order), ("first", g.first), ("last", g.last), ("any", g.any)):
            for c in cols:
                if c not in b.known:
                    raise MappingError(m.path, f"group.{key}", f"unknown column {c!r}; known here: {', '.join(sorted(b.known))}")
        order = f" ORDER BY {', '.join(_q(c) for c in g.order + ['_seq'])}"
        aggs = [f"first({_q(c)}{order}) AS {_q(c)}" for c in g.first]
        aggs += [f"last({_q(c)}{order}) AS {_q(c)}" for c in g.last]
        aggs += [f"bool_or(coalesce(TRY_CAST({_q(c)} AS BOOLEAN), false)) AS {_q(c)}" for c in g.any]
        by = ", ".join(_q(c) for c in g.by)
        rows = (f"SELECT min(_seq) AS _seq, min(_line) AS _line, {by}, {', '.join(aggs) + ', ' if aggs else ''}"
                f"flatten(list(_v)) AS _v FROM {kept} WHERE _drop IS NULL GROUP BY {by}")
        b.known = set(g.by) | set(g.first) | set(g.last) | set(g.any)
        if g.keep:
            grouped = b.cte(f"SELECT *, {_drop_sql(b, g.keep, 'group.keep')} AS _drop FROM ({rows})")
            rows = f"SELECT * EXCLUDE (_drop) FROM {grouped} WHERE _drop IS NULL"
            dropped_groups = grouped
    rows = b.cte(rows)
    outputs, violations = [], []
    for col, expr in spec.output.items():
        sql, v = b.compile(f"output.{col}", expr, col)
        outputs.append(f"CAST({sql} AS VARCHAR) AS {_q(col)}")
        violations += v
    if spec.unpivot:
        u, n = spec.unpivot, max(1, len(spec.unpivot.columns) + len(others))
        parts = []
        for j, (name, expr) in enumerate(u.columns.items()):
            sql, v = b.compile(f"unpivot.columns.{name}", expr, u.value)
            parts.append(f"SELECT _seq * {n} + {j} AS _seq, _line, {', '.join(outputs)}, {_lit(name)} AS {_q(u.name)}, "
                         f"CAST({sql} AS VARCHAR) AS {_q(u.value)}, {_with(violations + v)} AS _mapping FROM {rows} "
                         f"WHERE NULLIF(trim(CAST({sql} AS VARCHAR)), '') IS NOT NULL")
        if others:
            b.known |= {"header", "value"}
            name_sql, name_v = b.compile("unpivot.other_columns.name", u.other_columns.name, u.name)
            value_sql, value_v = b.compile("unpivot.other_columns.value", u.other_columns.value, u.value)
        for j, header in enumerate(others, start=len(u.columns)):
            wide = f"(SELECT *, {_lit(header)} AS header, _other{j - len(u.columns)} AS value FROM {rows})"
            parts.append(f"SELECT _seq * {n} + {j} AS _seq, _line, {', '.join(outputs)}, CAST({name_sql} AS VARCHAR) AS {_q(u.name)}, "
                         f"CAST({value_sql} AS VARCHAR) AS {_q(u.value)}, {_with(violations + name_v + value_v)} AS _mapping "
                         f"FROM {wide} WHERE value IS NOT NULL")
        if not parts:  # no column to unpivot: no reading, and every input row is still accounted for below
            cols = ", ".join([*outputs, f"NULL::VARCHAR AS {_q(u.name)}", f"NULL::VARCHAR AS {_q(u.value)}"])
            parts.append(f"SELECT _seq * {n} AS _seq, _line, {cols}, {_EMPTY} AS _mapping FROM {rows} WHERE false")
        final = " UNION ALL ".join(parts)
        dropped = " UNION ALL ".join(f"SELECT _seq * {n} AS _seq, _line, list_concat([_drop], _v) AS _mapping FROM {t} WHERE _drop IS NOT NULL"
                                     for t in (kept, dropped_groups) if t)
    else:
        final = f"SELECT _seq, _line, {', '.join(outputs)}, {_with(violations)} AS _mapping FROM {rows}"
        dropped = " UNION ALL ".join(f"SELECT _seq, _line, list_concat([_drop], _v) AS _mapping FROM {t} WHERE _drop IS NOT NULL"
                                     for t in (kept, dropped_groups) if t)
    return f"WITH {', '.join(b.ctes)} SELECT * FROM ({final}) UNION ALL BY NAME ({dropped})"


def missing_columns(m: LoadedMapping, headers: list[str]) -> list[str]:
    """Required inputs of the mapping absent from the extract's header: 'name (header or header)'."""
    have = set(headers)
    return [f"{name} ({' or '.join(m.headers(name))})" for name in m.spec.columns if not any(h in have for h in m.headers(name))]


class MappingUse(_Strict):
    """One mapping applied to the files of a source whose names match ``files``."""

    use: str = Field(description="A shipped preset (data/mappings/<name>.yaml) or the path of a mapping file "
                                 "(relative to the settings file, as the config's other paths).")
    files: str = Field("*", description="Glob on the file name (e.g. 'hes_apc*.csv'); default every file of the source.")
    parameters: dict[str, str] = Field({}, description="Values of the mapping's parameters (@name).")


class MappingSettings(RootModel[dict[str, list[MappingUse]]]):
    """``mappings:`` section of the analysis settings: source -> the mappings its files are read with.

    Files of a source that match no entry are read in contract form. Shipped presets are
    checked when the settings load; a mapping file of your own when the source is ingested.
    """

    root: dict[str, list[MappingUse]] = {}

    @model_validator(mode="after")
    def _valid(self):
        for source, uses in self.root.items():
            if source not in SOURCES:
                close = difflib.get_close_matches(source, SOURCES, n=1)
                hint = f"did you mean {close[0]}? " if close else ""
                raise ValueError(f"mappings.{source}: not a source; {hint}the sources: {', '.join(SOURCES)}")
            for i, use in enumerate(uses):
                if _NAME.match(use.use) and (PRESETS / f"{use.use}.yaml").is_file():
                    loaded = load_mapping(use.use)
                    if loaded.spec.source != source:
                        raise ValueError(f"mappings.{source}[{i}].use: preset {use.use} produces {loaded.spec.source}, "
                                         f"not {source}: put it under mappings.{loaded.spec.source} (it reads "
                                         f"{loaded.spec.description.rstrip('.')})")
                    try:
                        check_parameters(loaded, use.parameters, f"mappings.{source}[{i}]")
                    except MappingError as err:  # the mistake is in the settings, not in the shipped preset's file
                        raise ValueError(f"{err.key}: {err.reason}") from None
        return self

    def for_source(self, source: str) -> list[MappingUse]:
        return list(self.root.get(source, []))


def check_parameters(m: LoadedMapping, given: dict[str, str], where: str) -> None:
    missing = sorted(set(m.spec.parameters) - set(given))
    unknown = sorted(set(given) - set(m.spec.parameters))
    if missing or unknown:
        guesses = [f"{u} (did you mean {close[0]}?)" if (close := difflib.get_close_matches(u, m.spec.parameters, n=1))
                   else u for u in unknown]
        parts = ([f"missing {', '.join(missing)}"] if missing else []) + ([f"unknown {', '.join(guesses)}"] if unknown else [])
        declared = "; ".join(f"{k}: {v}" for k, v in m.spec.parameters.items()) or "none"
        raise MappingError(m.path, f"{where}.parameters", f"{' and '.join(parts)} (the mapping declares {declared})")
