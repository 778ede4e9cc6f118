"""The "Bring your own extract" section of docs/data-contract.md, generated from the shipped presets.

For each preset (data/mappings/*.yaml) it shows what the preset reads, its sources, and a
worked example: a small extract (:data:`EXAMPLES`) and the rows the mapping makes of it, run
through the same compiled SQL the ingest uses (before the contract's own checks, and
before pseudonymisation: the example identifiers are made up).
"""

from __future__ import annotations

import re
from pathlib import Path

import duckdb

from schemas.mapping import compile_sql, load_mapping, presets

REPO = Path(__file__).resolve().parents[1]
EXTRACTS = "tests/fixtures/extracts"
# preset -> (example extract, parameters)
EXAMPLES: dict[str, tuple[str, dict[str, str]]] = {
    "timeoverflow_transfers": (f"{EXTRACTS}/timeoverflow/all_transfers_en.csv", {"timebank_id": "TB01", "organisation": "Banc de Temps"}),
    "timeoverflow_transfers_complete": (f"{EXTRACTS}/timeoverflow/transfers_complete.csv", {"timebank_id": "TB01"}),
    "timeoverflow_members": (f"{EXTRACTS}/timeoverflow/members_en.csv", {"timebank_id": "TB01"}),
    "hes_apc_episodes": ("data/mappings/examples/hes_apc_episodes.csv", {}),
    "hes_ae_attendances": (f"{EXTRACTS}/hes_ae/hes_ae_attendances.csv", {}),
    "ecds_attendances": (f"{EXTRACTS}/ecds/ecds_attendances.csv", {}),
    "star_wide_readings": (f"{EXTRACTS}/star/star_wide_readings.csv", {}),
    "swemwbs_items": (f"{EXTRACTS}/wellbeing/swemwbs_forms.csv", {}),
    "wemwbs_items": (f"{EXTRACTS}/wellbeing/wemwbs_forms.csv", {}),
    "ons4_items": (f"{EXTRACTS}/wellbeing/ons4_forms.csv", {}),
}


def _normalise(header: str) -> str:
    return re.sub(r"[\s\-]+", "_", header.replace("\ufeff", "").strip().lower())


def example_rows(preset: str) -> tuple[str, list[str], list[tuple]]:
    """(extract text, output columns, rows) of the preset's worked example."""
    path, params = EXAMPLES[preset]
    m = load_mapping(preset)
    with duckdb.connect() as con:
        con.execute(f"CREATE TABLE _x AS SELECT * FROM read_csv('{REPO / path}', all_varchar = true, header = true)")
        headers = [r[0] for r in con.execute("DESCRIBE _x").fetchall()]
        select = ", ".join(f'"{h}" AS "{_normalise(h)}"' for h in headers)
        con.execute(f"CREATE VIEW _e AS SELECT rowid AS _seq, rowid + 2 AS _line, {select} FROM _x")
        sql = compile_sql(m, params, "_e", {_normalise(h) for h in headers})
        columns = list(m.spec.output) + ([m.spec.unpivot.name, m.spec.unpivot.value] if m.spec.unpivot else [])
        cols = ", ".join(f'"{c}"' for c in columns)
        rows = con.execute(f"SELECT _line, {cols}, _mapping[1].rule FROM ({sql}) ORDER BY _seq").fetchall()
    return (REPO / path).read_text(), ["line", *columns, "mapping rule"], rows


def _cell(v) -> str:
    return "" if v is None else str(v).replace("|", "\\|")


def render_presets() -> str:
    out = []
    for name in presets():
        m = load_mapping(name)
        spec = m.spec
        out.append(f"\n### `{name}` → `{spec.source}`\n\n{spec.description}\n")
        if spec.parameters:
            out.append("Parameters: " + "; ".join(f"`{k}` ({v})" for k, v in spec.parameters.items()) + ".\n")
        out.append("Sources:\n" + "\n".join(f"- {r}" for r in spec.references) + "\n")
        out.append(f"Read in full, with every code list and its source, in `data/mappings/{name}.yaml`.\n")
        if name not in EXAMPLES:
            continue
        text, columns, rows = example_rows(name)
        out.append(f"Worked example (`{EXAMPLES[name][0]}`):\n\n```\n{text.rstrip()}\n```\n")
        out.append("becomes, before the contract's checks (a row with a mapping rule is quarantined with it):\n")
        out.append("| " + " | ".join(columns) + " |\n|" + "---|" * len(columns))
        out += ["| " + " | ".join(_cell(v) for v in row) + " |" for row in rows]
        out.append("")
    return "\n".join(out)


