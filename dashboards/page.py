"""Assemble static, self-contained HTML pages: escaped text, plotly figures, tables with CSV downloads.

plotly.js is copied once into the output folder and loaded from there (no CDN), so every
page opens offline from disk or any static host. All text that came from data is HTML-
escaped; every CSV cell that a spreadsheet would read as a formula (=, +, -, @, tab, CR)
is prefixed with an apostrophe (OWASP CSV injection guidance).
"""

from __future__ import annotations

import html
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import plotly
import plotly.graph_objects as go

PLOTLY_JS = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
# Okabe-Ito: distinguishable with the common colour-vision deficiencies.
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000"]
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# The pages that exist so far; commissioner, funder and evaluator pages join as their marts land.
PAGES = [("index.html", "Overview"), ("data-quality.html", "Data quality")]

STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:#1b1b1b;background:#fafafa}
header{background:#003c57;color:#fff;padding:1rem 2rem}header a{color:#fff;margin-right:1.2rem}
main{padding:1rem 2rem;max-width:1200px}section{background:#fff;border:1px solid #ddd;border-radius:6px;margin:1rem 0;padding:1rem}
table{border-collapse:collapse;font-size:.9rem}th,td{border:1px solid #ccc;padding:.3rem .6rem;text-align:left}
th{background:#eef3f6}.summary{color:#333}.note{color:#555;font-size:.85rem}.empty{color:#7a4b00;font-weight:600}
"""


def neutralise_cell(value: object) -> object:
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def write_csv(frame: pd.DataFrame, path: Path) -> None:
    frame.map(neutralise_cell).to_csv(path, index=False)


@dataclass
class Section:
    """One titled block: a text summary (always) and a figure and/or a table."""

    title: str
    summary: str
    figure: go.Figure | None = None
    table: pd.DataFrame | None = None
    csv_name: str | None = None
    note: str = ""


@dataclass
class Page:
    filename: str
    title: str
    intro: str
    sections: list[Section] = field(default_factory=list)


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def _table_html(frame: pd.DataFrame) -> str:
    head = "".join(f"<th scope='col'>{html.escape(str(c))}</th>" for c in frame.columns)
    rows = "".join(
        "<tr>" + "".join(f"<td>{html.escape('' if pd.isna(v) else str(v))}</td>" for v in row) + "</tr>"
        for row in frame.itertuples(index=False)
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"


def render(page: Page, out_dir: Path) -> Path:
    """Write ``page`` (and its tables' CSVs, and plotly.js once) into ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    if not (out_dir / PLOTLY_JS.name).exists():
        shutil.copyfile(PLOTLY_JS, out_dir / PLOTLY_JS.name)
    nav = "".join(f"<a href='{f}'>{html.escape(t)}</a>" for f, t in PAGES)
    body = []
    for section in page.sections:
        sid = _slug(section.title)
        parts = [f"<section id='{sid}' aria-labelledby='{sid}-h'><h2 id='{sid}-h'>{html.escape(section.title)}</h2>",
                 f"<p class='summary'>{html.escape(section.summary)}</p>"]
        if section.figure is not None:
            section.figure.update_layout(title=section.figure.layout.title.text or section.title, colorway=PALETTE,
                                         template="plotly_white")
            parts.append(f"<div class='chart' role='img' aria-label='{html.escape(section.summary, quote=True)}'>"
                         + section.figure.to_html(full_html=False, include_plotlyjs=False, div_id=f"chart-{sid}")
                         + "</div>")
        if section.table is not None:
            parts.append(_table_html(section.table))
            if section.csv_name:
                write_csv(section.table, out_dir / section.csv_name)
                parts.append(f"<p><a class='csv' href='{html.escape(section.csv_name)}' download>Download this table as CSV</a></p>")
        if section.note:
            parts.append(f"<p class='note'>{html.escape(section.note)}</p>")
        parts.append("</section>")
        body.append("".join(parts))
    document = (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>{html.escape(page.title)}</title><meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<style>{STYLE}</style><script src='{PLOTLY_JS.name}'></script></head><body>"
        f"<header><h1>{html.escape(page.title)}</h1><nav aria-label='pages'>{nav}</nav></header>"
        f"<main><p>{html.escape(page.intro)}</p>{''.join(body)}</main></body></html>"
    )
    target = out_dir / page.filename
    target.write_text(document, encoding="utf-8")
    return target
