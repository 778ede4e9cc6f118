"""The column tables of docs/outputs-*.md, generated from the mart registry (schemas/marts.py).

Each declared table has one generated block in its document, between
``<!-- mart: <name> -->`` and ``<!-- /mart -->``: its grain, whether it is published and
under which disclosure rule, and its columns (name, DuckDB type, meaning). The prose around
the blocks is written by hand. ``python -m schemas.marts_doc`` rewrites the blocks in place;
a test fails when a document and the registry disagree (a block missing, stale, or naming an
undeclared table).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from schemas.marts import FAMILY_DIAGNOSTICS, MARTS, Mart

DOCS = Path(__file__).resolve().parents[1] / "docs"
_PARTS = {m.name for m in FAMILY_DIAGNOSTICS}
BLOCK = re.compile(r"<!-- mart: (?P<name>[a-z_]+\.[a-z_]+) -->\n.*?<!-- /mart -->", re.S)

#: The document that describes each declared table (the diagnostics parts are described with their mart).
DOCUMENT = {
    **{n: "outputs-readmission.md" for n in MARTS if n.startswith("marts.readmission") or n in (
        "core.index_discharges", "core.continuous_spells", "marts.service_use_change")},
    **{n: "outputs-reoffending.md" for n in MARTS if n.startswith("marts.reoffending") or n == "core.justice_cohort"},
    **{n: "outputs-wellbeing.md" for n in MARTS if n.startswith(("marts.wellbeing", "core.wellbeing"))
       or n == "core.star_journeys"},
    **{n: "outputs-reciprocity.md" for n in ("marts.member_reciprocity", "marts.timebank_activity",
                                            "marts.grant_metrics", "marts.reciprocity_allocation",
                                            "marts.reciprocity_allocation_sensitivity",
                                            "marts.timebank_activity_quarterly")},
    **{n: "social-value.md" for n in ("marts.social_value", "marts.social_value_sensitivity", "marts.impact_map",
                                     "marts.social_value_yearly")},
    "marts.comparison_balance": "outputs-diagnostics.md",
    "marts.propensity_overlap": "outputs-diagnostics.md",
    "marts.effect_register": "outputs-effects.md",
}
OTHERS = "outputs.md"  # a table given no document of its own


def document(name: str) -> str:
    return DOCUMENT.get(name, OTHERS)


def block(m: Mart) -> str:
    """The generated block of one table."""
    published = f"yes ({m.disclosure})" if m.published else f"no ({m.disclosure})"
    lines = [f"<!-- mart: {m.name} -->",
             "Generated from `schemas/marts.py` by `python -m schemas.marts_doc`; do not edit by hand.",
             "", f"Grain: one row per {m.grain}. Published: {published}.", "",
             "| column | type | meaning |", "|---|---|---|"]
    lines += [f"| `{c.name}` | {c.type} | {c.meaning.replace('|', '&#124;')} |" for c in m.columns]
    return "\n".join([*lines, "<!-- /mart -->"])


def render(text: str) -> str:
    """``text`` with every block regenerated from the registry."""
    return BLOCK.sub(lambda match: block(MARTS[match.group("name")]), text)


def problems() -> list[str]:
    """Where the documents and the registry disagree (empty when they agree)."""
    out = []
    for doc in documents():
        text = (DOCS / doc).read_text()
        found = [m.group("name") for m in BLOCK.finditer(text)]
        out += [f"{doc}: block for undeclared table {n}" for n in found if n not in MARTS]
        out += [f"{doc}: no generated block for {n}" for n in _documented_in(doc) if n not in found]
        if all(n in MARTS for n in found) and render(text) != text:
            out.append(f"{doc}: a column block differs from schemas/marts.py (run `python -m schemas.marts_doc`)")
    return out


def documents() -> list[str]:
    return sorted({document(n) for n in set(MARTS) - _PARTS})


def _documented_in(doc: str) -> list[str]:
    return sorted(n for n in set(MARTS) - _PARTS if document(n) == doc)


def main() -> int:
    """Regenerate every block; a declared table without one gets a section at the end of its document."""
    for doc in documents():
        path = DOCS / doc
        text = render(path.read_text())
        found = {m.group("name") for m in BLOCK.finditer(text)}
        for name in (n for n in _documented_in(doc) if n not in found):
            text = text.rstrip("\n") + f"\n\n## `{name}`\n\n{block(MARTS[name])}\n"
        path.write_text(text)
    left = problems()
    print("\n".join(left) or "docs agree with schemas/marts.py")
    return 1 if left else 0


if __name__ == "__main__":
    sys.exit(main())
