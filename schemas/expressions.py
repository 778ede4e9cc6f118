"""The safe expression language of extract mappings, compiled to DuckDB SQL.

A mapping (``schemas.mapping``) derives a column with a small expression. It is parsed
here by a recursive-descent parser into SQL built only from a whitelist: column names the
mapping declared, ``@parameters`` from the settings, string and number literals, the
operators below and the functions in :data:`FUNCTIONS`. Nothing is ever passed to
``eval`` or pasted into SQL unparsed, so a mapping cannot run arbitrary SQL or Python.

Grammar (lowest precedence first)::

    expr    := and ("or" and)*
    and     := not ("and" not)*
    not     := "not" not | compare
    compare := concat (("=" | "!=" | "<>" | "<" | "<=" | ">" | ">=") concat
                       | "is" ["not"] "null" | ["not"] "in" "(" literal ("," literal)* ")")?
    concat  := sum ("||" sum)*
    sum     := product (("+" | "-") product)*
    product := unary (("*" | "/") unary)*
    unary   := "-" unary | atom
    atom    := number | 'string' | true | false | null | @parameter | column
             | function "(" [expr ("," expr)*] ")" | "(" expr ")"

Some functions can fail on a value (a date that does not match its format, text that is
not a number or not ``h:mm``). Each failure is a *check*: a condition with its rule name
(``date_format``, ``number_format``, ``duration_format``), turned by the mapping into a
quarantine reason for that row, never into a silent NULL. So can the two that match a Star
version or area name to the scale registry (``star_version(name)``, ``star_area(version,
name)``; :mod:`schemas.star_names`): a name that matches nothing is ``unknown_star_version``
or ``unknown_area``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from schemas import star_names

_TOKEN = re.compile(
    r"\s*(?:(?P<number>\d+(?:\.\d+)?)|(?P<string>'(?:[^']|'')*')|(?P<param>@[a-z_][a-z0-9_]*)"
    r"|(?P<name>[A-Za-z_][A-Za-z0-9_]*)|(?P<op>\|\||<=|>=|!=|<>|[=<>+\-*/(),]))"
)
KEYWORDS = {"and", "or", "not", "is", "null", "in", "true", "false"}


class ExpressionError(ValueError):
    """An expression outside the safe subset: the message says where and why."""


@dataclass(frozen=True)
class FailureCheck:
    """A value a function could not convert: true when ``condition`` holds."""

    condition: str
    rule: str
    expected: str
    value: str


@dataclass
class Compiled:
    sql: str
    checks: list[FailureCheck] = field(default_factory=list)
    columns: set[str] = field(default_factory=set)


def _lit(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _date(args: list[str], raw: list[str]) -> tuple[str, FailureCheck]:
    fmt = raw[1]
    x = f"NULLIF(trim(CAST({args[0]} AS VARCHAR)), '')"
    if "%z" in fmt or "%Z" in fmt:
        # The calendar date as written, in the zone of the export: drop the zone, never shift the day.
        fmt = re.sub(r"\s*%[zZ]", "", fmt)
        x = f"regexp_replace({x}, '\\s*([+-]\\d{{2}}:?\\d{{2}}|UTC|GMT|Z)$', '')"
    sql = f"CAST(try_strptime({x}, {_lit(fmt)}) AS DATE)"
    return sql, FailureCheck(f"{x} IS NOT NULL AND {sql} IS NULL", "date_format", f"a date written as {raw[1]}", f"{args[0]}")


def _number(args: list[str], raw: list[str]) -> tuple[str, FailureCheck]:
    x = f"NULLIF(trim(CAST({args[0]} AS VARCHAR)), '')"
    sql = f"CASE WHEN isfinite(try_cast({x} AS DOUBLE)) THEN try_cast({x} AS DOUBLE) END"
    return sql, FailureCheck(f"{x} IS NOT NULL AND ({sql}) IS NULL", "number_format", "a number", f"{args[0]}")


def _hours_minutes(args: list[str], raw: list[str]) -> tuple[str, FailureCheck]:
    x = f"NULLIF(trim(CAST({args[0]} AS VARCHAR)), '')"
    ok = f"regexp_full_match({x}, '\\d+:[0-5]\\d')"
    sql = (f"CASE WHEN {ok} THEN round(CAST(split_part({x}, ':', 1) AS DOUBLE) "
           f"+ CAST(split_part({x}, ':', 2) AS DOUBLE) / 60, 4) END")
    return sql, FailureCheck(f"{x} IS NOT NULL AND NOT coalesce({ok}, false)", "duration_format", "hours and minutes, h:mm", f"{args[0]}")


# name -> (min args, max args or None, SQL template over {0}, {1}... or {*} for all, literal-only positions)
FUNCTIONS: dict[str, tuple[int, int | None, str, tuple[int, ...]]] = {
    "lower": (1, 1, "lower({0})", ()),
    "upper": (1, 1, "upper({0})", ()),
    "trim": (1, 1, "trim({0})", ()),
    "length": (1, 1, "length({0})", ()),
    "left": (2, 2, "left({0}, CAST({1} AS INTEGER))", ()),
    "right": (2, 2, "right({0}, CAST({1} AS INTEGER))", ()),
    "substr": (3, 3, "substr({0}, CAST({1} AS INTEGER), CAST({2} AS INTEGER))", ()),
    "replace": (3, 3, "replace({0}, {1}, {2})", ()),
    "concat": (1, None, "concat({*})", ()),
    "coalesce": (1, None, "coalesce({*})", ()),
    "nullif": (2, 2, "NULLIF({0}, {1})", ()),
    "if": (3, 3, "CASE WHEN {0} THEN {1} ELSE {2} END", ()),
    "matches": (2, 2, "regexp_full_match({0}, {1})", (1,)),
    "contains": (2, 2, "regexp_matches({0}, {1})", (1,)),
    "extract": (3, 3, "NULLIF(regexp_extract({0}, {1}, CAST({2} AS INTEGER)), '')", (1, 2)),
    "any_match": (2, None, "({any_match})", (0,)),
    "count_of": (1, None, "({count_of})", ()),
    "sum_of": (1, None, "({sum_of})", ()),
    "round": (2, 2, "round({0}, CAST({1} AS INTEGER))", (1,)),
    "abs": (1, 1, "abs({0})", ()),
    "least": (2, None, "least({*})", ()),
    "greatest": (2, None, "greatest({*})", ()),
    "text": (1, 1, "CAST({0} AS VARCHAR)", ()),
    "hash_id": (1, None, "left(md5(concat_ws('|', {*})), 16)", ()),
    "date": (2, 2, "", (1,)),
    "number": (1, 1, "", ()),
    "hours_minutes": (1, 1, "", ()),
    "star_version": (1, 1, "", ()),
    "star_area": (2, 2, "", ()),
}
def _star_version(args: list[str], raw: list[str]) -> tuple[str, FailureCheck]:
    x = f"NULLIF(trim(CAST({args[0]} AS VARCHAR)), '')"
    sql = star_names.version_sql(x)
    return sql, FailureCheck(f"{x} IS NOT NULL AND ({sql}) IS NULL", "unknown_star_version",
                             f"a version of data/reference/star_versions.yaml ({', '.join(star_names.registry_areas())})", x)


def _star_area(args: list[str], raw: list[str]) -> tuple[str, FailureCheck]:
    version, x = f"NULLIF(trim(CAST({args[0]} AS VARCHAR)), '')", f"NULLIF(trim(CAST({args[1]} AS VARCHAR)), '')"
    sql = star_names.area_sql(version, x)
    return sql, FailureCheck(f"{version} IS NOT NULL AND {x} IS NOT NULL AND ({sql}) IS NULL", "unknown_area",
                             "an area of the version in data/reference/star_versions.yaml", x)


_CHECKED = {"date": _date, "number": _number, "hours_minutes": _hours_minutes, "star_version": _star_version,
            "star_area": _star_area}


class _Parser:
    def __init__(self, text: str, columns: set[str], params: dict[str, str]):
        self.text, self.columns, self.params = text, columns, params
        self.tokens = self._tokens(text)
        self.pos = 0
        self.out = Compiled("")

    def _tokens(self, text: str) -> list[tuple[str, str]]:
        out, i = [], 0
        while i < len(text):
            if text[i:].strip() == "":
                break
            m = _TOKEN.match(text, i)
            if not m or m.end() == i:
                raise ExpressionError(f"cannot read {text[i:].strip()[:20]!r} (position {i + 1})")
            kind = m.lastgroup
            out.append((kind, m.group(kind)))
            i = m.end()
        return out

    def peek(self, *values: str) -> bool:
        if self.pos >= len(self.tokens):
            return False
        kind, tok = self.tokens[self.pos]
        return (tok.lower() if kind == "name" else tok) in values

    def take(self) -> tuple[str, str]:
        if self.pos >= len(self.tokens):
            raise ExpressionError("the expression ends too early")
        self.pos += 1
        return self.tokens[self.pos - 1]

    def expect(self, value: str) -> None:
        kind, tok = self.take()
        if (tok.lower() if kind == "name" else tok) != value:
            raise ExpressionError(f"expected {value!r}, found {tok!r}")

    def parse(self) -> Compiled:
        if not self.tokens:
            raise ExpressionError("the expression is empty")
        self.out.sql = self.expr()
        if self.pos != len(self.tokens):
            raise ExpressionError(f"unexpected {self.tokens[self.pos][1]!r} after a complete expression")
        return self.out

    def expr(self) -> str:
        left = self.conj()
        while self.peek("or"):
            self.take()
            left = f"({left} OR {self.conj()})"
        return left

    def conj(self) -> str:
        left = self.neg()
        while self.peek("and"):
            self.take()
            left = f"({left} AND {self.neg()})"
        return left

    def neg(self) -> str:
        if self.peek("not"):
            self.take()
            return f"(NOT {self.neg()})"
        return self.compare()

    def compare(self) -> str:
        left = self.concat()
        if self.peek("=", "!=", "<>", "<", "<=", ">", ">="):
            op = self.take()[1]
            return f"({left} {'<>' if op == '!=' else op} {self.concat()})"
        if self.peek("is"):
            self.take()
            negate = self.peek("not") and self.take()
            self.expect("null")
            return f"({left} IS {'NOT ' if negate else ''}NULL)"
        negate = False
        if self.peek("not") and self.pos + 1 < len(self.tokens) and self.tokens[self.pos + 1][1].lower() == "in":
            self.take()
            negate = True
        if self.peek("in"):
            self.take()
            self.expect("(")
            items = [self.literal()]
            while self.peek(","):
                self.take()
                items.append(self.literal())
            self.expect(")")
            return f"({left} {'NOT ' if negate else ''}IN ({', '.join(items)}))"
        return left

    def literal(self) -> str:
        kind, tok = self.take()
        if kind in ("number", "string"):
            return tok
        if kind == "param":
            return self.param(tok)
        raise ExpressionError(f"expected a literal value in the list, found {tok!r}")

    def concat(self) -> str:
        left = self.sum()
        while self.peek("||"):
            self.take()
            left = f"({left} || {self.sum()})"
        return left

    def sum(self) -> str:
        left = self.product()
        while self.peek("+", "-"):
            op = self.take()[1]
            left = f"({left} {op} {self.product()})"
        return left

    def product(self) -> str:
        left = self.unary()
        while self.peek("*", "/"):
            op = self.take()[1]
            left = f"({left} {op} {self.unary()})"
        return left

    def unary(self) -> str:
        if self.peek("-"):
            self.take()
            return f"(- {self.unary()})"
        return self.atom()

    def param(self, tok: str) -> str:
        name = tok[1:]
        if name not in self.params:
            raise ExpressionError(f"unknown parameter {tok}; declared: {', '.join('@' + p for p in sorted(self.params)) or 'none'}")
        return _lit(self.params[name])

    def atom(self) -> str:
        kind, tok = self.take()
        if kind == "number":
            return tok
        if kind == "string":
            return tok
        if kind == "param":
            return self.param(tok)
        if kind == "op" and tok == "(":
            inner = self.expr()
            self.expect(")")
            return f"({inner})"
        if kind == "name":
            low = tok.lower()
            if low in ("true", "false"):
                return low
            if low == "null":
                return "NULL"
            if self.peek("("):
                return self.call(low)
            if low in KEYWORDS:
                raise ExpressionError(f"unexpected {tok!r}")
            if low not in self.columns:
                raise ExpressionError(f"unknown column {tok!r}; known here: {', '.join(sorted(self.columns))}")
            self.out.columns.add(low)
            return f'"{low}"'
        raise ExpressionError(f"unexpected {tok!r}")

    def call(self, name: str) -> str:
        if name not in FUNCTIONS:
            raise ExpressionError(f"function {name}() is not in the safe subset; allowed: {', '.join(sorted(FUNCTIONS))}")
        low, high, template, literal_only = FUNCTIONS[name]
        self.expect("(")
        args, raw = [], []
        if not self.peek(")"):
            while True:
                start = self.pos
                args.append(self.expr())
                span = self.tokens[start:self.pos]
                raw.append(span[0][1][1:-1].replace("''", "'") if len(span) == 1 and span[0][0] == "string" else None)
                if len(args) - 1 in literal_only and not (len(span) == 1 and span[0][0] in ("string", "number")):
                    raise ExpressionError(f"argument {len(args)} of {name}() must be a literal")
                if not self.peek(","):
                    break
                self.take()
        self.expect(")")
        if len(args) < low or (high is not None and len(args) > high):
            wanted = f"{low}" if low == high else f"{low} to {high}" if high else f"at least {low}"
            raise ExpressionError(f"{name}() takes {wanted} argument(s), not {len(args)}")
        if name in _CHECKED:
            if name == "date" and raw[1] is None:
                raise ExpressionError("date() needs its format as a string, e.g. date(x, '%d/%m/%Y')")
            sql, check = _CHECKED[name](args, raw)
            self.out.checks.append(check)
            return sql
        if name == "any_match":
            return "(" + " OR ".join(f"coalesce(regexp_matches({a}, {args[0]}), false)" for a in args[1:]) + ")"
        if name == "count_of":
            return "(" + " + ".join(f"CAST({a} IS NOT NULL AS INTEGER)" for a in args) + ")"
        if name == "sum_of":
            return "(" + " + ".join(f"coalesce({a}, 0)" for a in args) + ")"
        if "{*}" in template:
            return template.replace("{*}", ", ".join(args))
        return template.format(*args)


def compile_expression(text: str, columns: set[str], params: dict[str, str] | None = None) -> Compiled:
    """Compile ``text`` to DuckDB SQL over the quoted ``columns``; raises :class:`ExpressionError`."""
    if not isinstance(text, (str, int, float)) or isinstance(text, bool):
        raise ExpressionError(f"an expression must be text, not {type(text).__name__}")
    return _Parser(str(text), {c.lower() for c in columns}, params or {}).parse()
