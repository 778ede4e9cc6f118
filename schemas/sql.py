"""Compile a source's contract (`schemas.contract`) to DuckDB SQL.

Large inputs are validated where they lie, in DuckDB, never pulled through pandas. Each
rule of the pandera model becomes a SQL condition that yields a violation record
``{column, rule, expected, value}``; a row with no violation is staged.

Rules, in the order they are reported (see docs/data-contract.md):
``required`` (a non-nullable column is empty), ``type`` (the text does not parse as the
column's type), the pandera checks by their pandera names (``isin``, ``greater_than``,
``less_than_or_equal_to``, ``in_range``, ...), ``not_future`` (a date after the as-of
date), ``order`` (a later date before its earlier partner), and for scale readings
``known_version``, ``area_in_version``, ``within_scale``.

A column marked ``clear`` (an optional covariate, ``schemas.raw``) breaks no row rule: its
``type`` and checks are the cleared rules (:func:`cleared_rules`), its staged value is empty
where one of them breaks, and the row is kept.
"""

from __future__ import annotations

import datetime as dt

from schemas.contract import (
    ColumnRule,
    SourceContract,
    check_violation_sql,
    describe_check,
)

PARSE_MACROS = (
    # Four-digit years only: DuckDB would read 05/01/23 as the year 5. A time of day is dropped.
    # The first branch is the plain ISO form (nearly every value), matched by a cheaper pattern; it
    # gives what the second would (no time, no slash: the same try_cast), at about half the cost.
    (
        r"CREATE OR REPLACE TEMP MACRO parse_date(x) AS CASE "
        r"WHEN regexp_full_match(x, '\d{4}-\d\d-\d\d') THEN try_cast(x AS DATE) "
        r"WHEN regexp_full_match(x, '\d{4}[-/]\d{1,2}[-/]\d{1,2}([ T]\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?)?') "
        r"THEN try_cast(replace(split_part(replace(x, 'T', ' '), ' ', 1), '/', '-') AS DATE) "
        r"WHEN regexp_full_match(x, '\d{1,2}/\d{1,2}/\d{4}( \d{1,2}:\d{2}(:\d{2})?)?') "
        r"THEN try_strptime(split_part(x, ' ', 1), '%d/%m/%Y')::DATE END"
    ),
    ("CREATE OR REPLACE TEMP MACRO parse_int(x) AS CASE WHEN isfinite(try_cast(x AS DOUBLE)) "
    "AND try_cast(x AS DOUBLE) = round(try_cast(x AS DOUBLE)) THEN try_cast(x AS DOUBLE)::BIGINT END"),
    ("CREATE OR REPLACE TEMP MACRO parse_double(x) AS "
    "CASE WHEN isfinite(try_cast(x AS DOUBLE)) THEN try_cast(x AS DOUBLE) END"),
    ("CREATE OR REPLACE TEMP MACRO parse_bool(x) AS CASE WHEN lower(x) IN ('true', 't', '1', 'yes', 'y') THEN true "
    "WHEN lower(x) IN ('false', 'f', '0', 'no', 'n') THEN false END"),
)
_PARSERS = {"VARCHAR": "{}", "DOUBLE": "parse_double({})", "BIGINT": "parse_int({})", "DATE": "parse_date({})", "BOOLEAN": "parse_bool({})"}
VALUE_CHARS = 200


def quote(text: str) -> str:
    return "'" + str(text).replace("'", "''") + "'"


def raw_value(column: str, alias: str = "r") -> str:
    """The trimmed text of a raw column, NULL when empty."""
    return f"NULLIF(trim({alias}.\"{column}\"), '')"


def parsed_value(rule: ColumnRule) -> str:
    """The value as read, parsed; identifiers come from the pseudonym join ``p_<column>``."""
    if rule.pseudonymise:
        return f"p_{rule.name}.pseudonym"
    return _PARSERS[rule.sql_type].format(raw_value(rule.name))


def typed_value(rule: ColumnRule) -> str:
    """The value staged: the parsed value, empty in a ``clear`` column where it breaks a check (one that does not
    parse is empty already)."""
    parsed = parsed_value(rule)
    if not (rule.clear and rule.checks):
        return parsed
    broken = " OR ".join(f"({check_violation_sql(c, parsed)})" for c in rule.checks)
    return f"CASE WHEN {broken} THEN NULL ELSE {parsed} END"


def shown_value(rule: ColumnRule) -> str:
    """What a quarantine row shows of the offending value: never a raw identifier."""
    if rule.pseudonymise:
        return f"p_{rule.name}.pseudonym"
    return f"left({raw_value(rule.name)}, {VALUE_CHARS})"


def violation(rule: ColumnRule, name: str, expected: str, condition: str, expected_sql: str | None = None) -> tuple[str, str]:
    """The condition of one rule and the violation record it yields."""
    expected_expr = expected_sql or quote(expected)
    return condition, (
        f"{{'column': {quote(rule.name)}, 'rule': {quote(name)}, "
        f"'expected': {expected_expr}, 'value': {shown_value(rule)}}}"
    )


def column_violations(rule: ColumnRule, as_of: dt.date) -> list[tuple[str, str]]:
    raw, typed = raw_value(rule.name), parsed_value(rule)
    out = []
    if not rule.nullable:
        out.append(violation(rule, "required", rule.expected_type, f"{raw} IS NULL"))
    if rule.sql_type != "VARCHAR":
        out.append(violation(rule, "type", rule.expected_type, f"{raw} IS NOT NULL AND {typed} IS NULL"))
    for check in rule.checks:
        out.append(violation(rule, check.name, describe_check(check), check_violation_sql(check, typed)))
    if rule.not_future:
        out.append(violation(rule, "not_future", f"on or before {as_of.isoformat()}", f"{typed} > DATE {quote(as_of.isoformat())}"))
    return out


def cleared_rules(contract: SourceContract, as_of: dt.date) -> list[tuple[str, str]]:
    """The rules of the ``clear`` columns (condition, violation record): one broken clears the value, not the row."""
    return [v for rule in contract.columns if rule.clear for v in column_violations(rule, as_of)]


def row_rules(contract: SourceContract, as_of: dt.date) -> list[tuple[str, str]]:
    """Every row-level rule of a source as (condition, violation record) over aliases ``r``, ``p_*``, ``sv``, ``sa``:
    the rules one broken quarantines the row (not the :func:`cleared_rules`)."""
    parts = []
    for rule in contract.columns:
        if not rule.clear:
            parts += column_violations(rule, as_of)
    for earlier, later in contract.order:
        rule = contract.column(later)
        parts.append(violation(rule, "order", f"on or after {earlier}", f"{typed_value(rule)} < {typed_value(contract.column(earlier))}"))
    if contract.scale_registry:
        version, area, score = (contract.column(c) for c in ("star_version", "area", "score"))
        parts.append(violation(version, "known_version", "a version listed in data/reference/star_versions.yaml",
                               f"{typed_value(version)} IS NOT NULL AND sv.star_version IS NULL"))
        parts.append(violation(area, "area_in_version", "an area of the version (data/reference/star_versions.yaml)",
                               f"sv.star_version IS NOT NULL AND {typed_value(area)} IS NOT NULL AND sa.area IS NULL"))
        parts.append(violation(score, "within_scale", "",
                               f"sv.star_version IS NOT NULL AND ({typed_value(score)} < sv.scale_min OR {typed_value(score)} > sv.scale_max)",
                               expected_sql="'between ' || sv.scale_min || ' and ' || sv.scale_max || ' for ' || sv.star_version"))
    return parts


def violations_sql(rules: list[tuple[str, str]]) -> str:
    """The list of the violations of ``rules`` (:func:`row_rules`, :func:`cleared_rules`) a row breaks, in rule order."""
    cases = [f"CASE WHEN {cond} THEN {record} END" for cond, record in rules]
    return "list_filter([" + ",\n ".join(cases) + f"], lambda v: v IS NOT NULL)" if cases else "[]"


def any_broken_sql(rules: list[tuple[str, str]]) -> str:
    """True when a row breaks any of ``rules``: cheap enough to run on every row.

    ``coalesce(a OR b ..., false)``: true when any condition is true, else false (an unknown
    condition breaks nothing), as ``coalesce(a, false) OR coalesce(b, false) ...`` would be,
    with one ``coalesce`` instead of one per rule.
    """
    conditions = [f"({cond})" for cond, _ in rules]
    return f"coalesce({' OR '.join(conditions)}, false)" if conditions else "false"


def typed_columns_sql(contract: SourceContract) -> str:
    return ", ".join(f'{typed_value(rule)} AS "{rule.name}"' for rule in contract.columns)


def record_json_sql(contract: SourceContract) -> str:
    """The offending row as JSON text, identifiers pseudonymised, long values cut."""
    fields = ", ".join(f"{quote(rule.name)}: {shown_value(rule)}" for rule in contract.columns)
    return f"to_json({{{fields}}})::VARCHAR"


def pseudonym_joins_sql(contract: SourceContract) -> str:
    """One join per identifier column to ``_pseudonyms`` (``raw``, ``pseudonym``), on the text as read.

    ``_pseudonyms`` holds every distinct text as read with the pseudonym of its trimmed value
    (``pipelines.ingest.stage``), so no row's identifier is trimmed for the join.
    """
    return "".join(
        f' LEFT JOIN _pseudonyms p_{rule.name} ON p_{rule.name}.raw = r."{rule.name}"'
        for rule in contract.columns if rule.pseudonymise
    )
