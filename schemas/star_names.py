"""Star versions and area names as an export writes them, matched to the scale registry.

An export names a version or an area in words ("Recovery Star", "Physical health &
self-care", "Drugs and alcohol"); the registry (``data/reference/star_versions.yaml``) names
them in snake case (``recovery_star``, ``physical_health_self_care``, ``drugs_alcohol``). A
name matches a registry name when both are equal once lower-cased, with the word "and"
dropped and every character other than a-z and 0-9 removed ("Well-being Star" ->
``wellbeingstar`` -> ``wellbeing_star``). Anything that matches nothing is not guessed: the
mapping functions ``star_version()`` and ``star_area()`` (``schemas.expressions``) quarantine
it with rule ``unknown_star_version`` or ``unknown_area``, the name as the value.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import yaml

REGISTRY_FILE = Path(__file__).resolve().parents[1] / "data" / "reference" / "star_versions.yaml"
_AND = r"(^|[^a-z0-9])and([^a-z0-9]|$)"


def match_key(name: str) -> str:
    """The form two names are compared in (module docstring)."""
    return re.sub(r"[^a-z0-9]", "", re.sub(_AND, r"\1\2", str(name).lower()))


def match_key_sql(sql: str) -> str:
    """:func:`match_key` in DuckDB SQL over the expression ``sql``."""
    return f"regexp_replace(regexp_replace(lower(CAST({sql} AS VARCHAR)), '{_AND}', '\\1\\2', 'g'), '[^a-z0-9]', '', 'g')"


@cache
def registry_areas() -> dict[str, tuple[str, ...]]:
    """Registry version -> its areas."""
    versions = yaml.safe_load(REGISTRY_FILE.read_text())["versions"]
    return {v: tuple(spec["areas"]) for v, spec in versions.items()}


def _lit(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def version_sql(sql: str) -> str:
    """The registry version the name in ``sql`` matches, else NULL."""
    cases = " ".join(f"WHEN {_lit(match_key(v))} THEN {_lit(v)}" for v in registry_areas())
    return f"CASE {match_key_sql(sql)} {cases} END"


def area_sql(version: str, sql: str) -> str:
    """The area of registry version ``version`` (SQL) that the name in ``sql`` matches, else NULL."""
    cases = " ".join(f"WHEN {_lit(v + '|' + match_key(a))} THEN {_lit(a)}" for v, areas in registry_areas().items() for a in areas)
    return f"CASE CAST({version} AS VARCHAR) || '|' || {match_key_sql(sql)} {cases} END"
