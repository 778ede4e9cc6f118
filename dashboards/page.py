"""Assemble static, self-contained HTML pages: escaped text, plotly figures, tables with CSV downloads.

Filters (dashboards/filters.py) swap pre-computed aggregates in the browser; nothing is queried.
plotly.js is copied once into the output folder and loaded from there (no CDN), so every
page opens offline from disk or any static host. All text that came from data is HTML-
escaped; every CSV cell that a spreadsheet would read as a formula (=, +, -, @, tab, CR)
is prefixed with an apostrophe (OWASP CSV injection guidance).
"""

from __future__ import annotations

import html
import json
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import plotly
import plotly.graph_objects as go

from dashboards.filters import ALL, SCRIPT, Filter, Variants, controls_html, embed_json

PLOTLY_JS = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
# Okabe-Ito: distinguishable with the common colour-vision deficiencies.
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000"]
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
PAGES = [("index.html", "Overview"), ("commissioner.html", "Commissioners"), ("funder.html", "Funders"),
         ("evaluator.html", "Evaluators"), ("data-quality.html", "Data quality")]

STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:#1b1b1b;background:#fafafa}
header{background:#003c57;color:#fff;padding:1rem 2rem}header a{color:#fff;margin-right:1.2rem}
main{padding:1rem 2rem;max-width:1200px}section{background:#fff;border:1px solid #ddd;border-radius:6px;margin:1rem 0;padding:1rem;overflow-x:auto}
table{border-collapse:collapse;font-size:.9rem}th,td{border:1px solid #ccc;padding:.3rem .6rem;text-align:left}
th{background:#eef3f6}.summary{color:#333}.note{color:#555;font-size:.85rem}.empty{color:#7a4b00;font-weight:600}
.filters{position:sticky;top:0;z-index:5;background:#eef3f6;border:1px solid #ccd;padding:.5rem 1rem;border-radius:6px}
.filters label{margin-right:1.2rem;font-weight:600}.tiles{display:grid;grid-template-columns:repeat(auto-fill,minmax(250px,1fr));gap:.8rem}
.tile{border:1px solid #ccc;border-radius:6px;padding:.6rem .8rem;background:#fff}.tile h3{font-size:.95rem;margin:.1rem 0 .4rem}
.tile .value{font-size:1.6rem;font-weight:700}.tile p{margin:.2rem 0;font-size:.85rem}
.rag{font-weight:700}.rag-better{color:#006d4e}.rag-worse{color:#a33c00}.rag-similar{color:#555}
pre{white-space:pre-wrap;word-break:break-all;font-size:.8rem;background:#f4f4f4;padding:.5rem;max-height:20rem;overflow:auto}
"""


def neutralise_cell(value: object) -> object:
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def write_csv(frame: pd.DataFrame, path: Path) -> None:
    frame.map(neutralise_cell).to_csv(path, index=False)


@dataclass
class Section:
    """One titled block: a text summary (always) and a figure, an HTML fragment and/or a table.

    ``html`` must already be escaped (built by this package). ``variants`` swap the figure and
    summary when the page's filters change; ``blocks`` swap the inner HTML of the element with
    the given id (headline tiles). ``responds`` says which filters the section follows.
    """

    title: str
    summary: str
    figure: go.Figure | None = None
    table: pd.DataFrame | None = None
    csv_name: str | None = None
    note: str = ""
    html: str | None = None
    variants: Variants | None = None
    blocks: list[tuple[str, Variants]] = field(default_factory=list)
    responds: str = ""

    @classmethod
    def filtered(cls, title: str, block: Variants, responds: str, **kwargs) -> Section:
        """A section whose figure and summary follow the filters; it opens on the "all" choice."""
        first = block.items["|".join([ALL] * len(block.dims))]
        figure = go.Figure(first.figure) if first.figure is not None else None  # styled on render: keep the item intact
        return cls(title, first.summary, figure=figure, variants=block, responds=responds, **kwargs)


@dataclass
class Page:
    filename: str
    title: str
    intro: str
    sections: list[Section] = field(default_factory=list)
    filters: list[Filter] = field(default_factory=list)


def style(figure: go.Figure, title: str) -> go.Figure:
    """Every chart: a title, the colour-blind-safe palette, a plain template."""
    return figure.update_layout(title=figure.layout.title.text or title, colorway=PALETTE, template="plotly_white")


def figure_json(figure: go.Figure, title: str) -> dict:
    """The figure for Plotly.react, styled as ``style`` does but without the template (the page's chart has it)."""
    data = json.loads(figure.to_json())
    layout = data["layout"]
    layout.pop("template", None)
    layout["colorway"] = PALETTE
    if not layout.get("title", {}).get("text"):
        layout["title"] = {"text": title}
    return data


def _variants_payload(page: Page) -> list[dict]:
    blocks = []
    for section in page.sections:
        sid = _slug(section.title)
        if section.variants is not None:
            blocks.append({"dims": list(section.variants.dims), "chart": f"chart-{sid}" if section.figure else None,
                           "summary": f"summary-{sid}", "html": None,
                           "items": {k: {"summary": i.summary, "html": None,
                                         "figure": figure_json(i.figure, section.title) if i.figure else None}
                                     for k, i in section.variants.items.items()}})
        for element_id, block in section.blocks:
            blocks.append({"dims": list(block.dims), "chart": None, "summary": None, "html": element_id,
                           "items": {k: {"summary": i.summary, "html": i.html, "figure": None}
                                     for k, i in block.items.items()}})
    return blocks


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
                 f"<p class='summary' id='summary-{sid}' aria-live='polite'>{html.escape(section.summary)}</p>"]
        if section.responds:
            parts.append(f"<p class='note'>{html.escape(section.responds)}</p>")
        if section.html is not None:
            parts.append(section.html)
        if section.figure is not None:
            style(section.figure, section.title)
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
    payload = _variants_payload(page)
    script = (f"<script type='application/json' id='variants'>{embed_json(payload)}</script><script>{SCRIPT}</script>"
              if payload else "")
    document = (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>{html.escape(page.title)}</title><meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<style>{STYLE}</style><script src='{PLOTLY_JS.name}'></script></head><body>"
        f"<header><h1>{html.escape(page.title)}</h1><nav aria-label='pages'>{nav}</nav></header>"
        f"<main><p>{html.escape(page.intro)}</p>{controls_html(page.filters)}{''.join(body)}</main>{script}</body></html>"
    )
    target = out_dir / page.filename
    target.write_text(document, encoding="utf-8")
    return target
