"""The reciprocity docs name every output column and every setting."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from models.reciprocity import (
    ALLOCATION_COLUMNS,
    GRANT_COLUMNS,
    MEMBER_COLUMNS,
    SENSITIVITY_COLUMNS,
    ReciprocitySettings,
    timebank_activity_columns,
)

from schemas.marts import Column

DOCS = Path(__file__).resolve().parents[2] / "docs"


def _section(text: str, table: str) -> str:
    start = text.index(f"## `{table}`")
    nxt = text.find("\n## ", start + 1)
    return text[start: nxt if nxt > 0 else None]


@pytest.mark.parametrize("table, columns", [
    ("marts.member_reciprocity", list(MEMBER_COLUMNS)),
    ("marts.timebank_activity", timebank_activity_columns()),
    ("marts.grant_metrics", GRANT_COLUMNS),
    ("marts.reciprocity_allocation", ALLOCATION_COLUMNS),
    ("marts.reciprocity_allocation_sensitivity", SENSITIVITY_COLUMNS),
])
def test_outputs_doc_lists_every_column(table, columns):
    section = _section((DOCS / "outputs-reciprocity.md").read_text(), table)
    documented = set(re.findall(r"`([a-z0-9_{}]+)`", section))
    templates = [Column(d, "", "") for d in documented if "{" in d]  # retention_{months}m: one per horizon
    assert not [c for c in columns if c not in documented and not any(t.matches(c) for t in templates)]


def test_methods_doc_names_every_setting_and_the_formulas():
    text = (DOCS / "reciprocity.md").read_text()
    missing = [f for f in ReciprocitySettings.model_fields if f"`{f}`" not in text]
    assert not missing
    for formula in ("b_i = 2·min(G_i, R_i) / (G_i + R_i)", "RI = Σ_k w_k · c_k", "W↔ / W",
                    "Σ_i SV_i · (α + (1 − α)·b_i)", "largest-remainder"):
        assert formula in text, formula
