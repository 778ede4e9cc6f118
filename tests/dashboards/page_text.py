"""What a reader of a built page can see, as text: visible HTML text, table cells in every filter state, chart labels.

Read from the HTML file alone (no browser): the page's text outside scripts and styles; the
summaries and table bodies the filters swap in (the ``variants`` JSON); and each plotly
figure's title, axis titles, trace names and category labels (the arguments of
``Plotly.newPlot`` and the figures in the variants).
"""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path

NEW_PLOT = re.compile(r"Plotly\.newPlot\(\s*\"[^\"]+\",\s*")


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.skip = self.verbatim = 0
        self.parts: list[str] = []
        self.code: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.skip += tag in ("script", "style")
        self.verbatim += tag in ("code", "pre")

    def handle_endtag(self, tag):
        self.skip -= tag in ("script", "style")
        self.verbatim -= tag in ("code", "pre")

    def handle_data(self, data):
        if not self.skip and data.strip():
            (self.code if self.verbatim else self.parts).append(data.strip())


def visible_text(fragment: str) -> tuple[list[str], list[str]]:
    """The text nodes of an HTML fragment outside <script> and <style>: (prose, verbatim text in <code> or <pre>)."""
    parser = _Text()
    parser.feed(fragment)
    parser.close()
    return parser.parts, parser.code


def _strings(values) -> list[str]:
    if isinstance(values, list):
        return [v for v in values if isinstance(v, str)] + [s for v in values if isinstance(v, list) for s in _strings(v)]
    return [values] if isinstance(values, str) else []


def figure_text(data: list[dict], layout: dict) -> list[str]:
    """Title, axis titles, trace names, category labels and annotations of one plotly figure."""
    out = []
    for key, value in layout.items():
        if key == "title" or key.startswith(("xaxis", "yaxis", "polar")):
            out += _titles(value)
    out += [a.get("text", "") for a in layout.get("annotations", []) if isinstance(a, dict)]
    for menu in layout.get("updatemenus", []):
        out += [b.get("label", "") for b in menu.get("buttons", [])]
    for trace in data:
        out += _strings(trace.get("name"))
        for axis in ("x", "y", "theta", "labels"):
            out += _strings(trace.get(axis))
    return [re.sub(r"<[^>]+>", " ", t) for t in out if t]


def _titles(value) -> list[str]:
    if isinstance(value, str):
        return [value]
    if not isinstance(value, dict):
        return []
    out = [value["text"]] if isinstance(value.get("text"), str) else []
    for key in ("title", "angularaxis", "radialaxis"):
        if key in value:
            out += _titles(value[key])
    out += _strings(value.get("ticktext"))
    return out


def page_text(path: Path) -> dict[str, list[str]]:
    """{'text': visible prose, 'code': text in <code> or <pre>, 'variants': summaries and table cells of every filter
    state, 'charts': chart labels}."""
    document = path.read_text(encoding="utf-8")
    charts: list[str] = []
    decoder = json.JSONDecoder()
    for match in NEW_PLOT.finditer(document):
        data, end = decoder.raw_decode(document, match.end())
        layout, _ = decoder.raw_decode(document, end + document[end:].index("{"))
        charts += figure_text(data, layout)
    variants: list[str] = []
    found = re.search(r"<script type='application/json' id='variants'>(.*?)</script>", document, re.S)
    for block in json.loads(found.group(1)) if found else []:
        for item in block["items"].values():
            variants += [item["summary"]] if item.get("summary") else []
            variants += visible_text(item["html"])[0] if item.get("html") else []
            if item.get("figure"):
                charts += figure_text(item["figure"]["data"], item["figure"]["layout"])
    text, code = visible_text(document)
    return {"text": text, "code": code, "variants": variants, "charts": charts}


class _Tables(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tables: dict[str, dict] = {}
        self.table: dict | None = None
        self.row: list[str] | None = None
        self.cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        if tag == "table":
            self.table = self.tables.setdefault(dict(attrs).get("id") or f"table{len(self.tables)}", {"head": [], "rows": []})
        elif tag == "tr":
            self.row = []
        elif tag in ("td", "th"):
            self.cell = []

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self.cell is not None and self.row is not None:
            self.row.append(" ".join(self.cell).strip())
            self.cell = None
        elif tag == "tr" and self.table is not None and self.row is not None:
            (self.table["rows"] if self.table["head"] else self.table["head"]).append(self.row)
            self.row = None
        elif tag == "table":
            self.table = None

    def handle_data(self, data):
        if self.cell is not None:
            self.cell.append(data.strip())


def tables(path: Path) -> list[tuple[str, list[str], list[list[str]]]]:
    """(table id, headings, rows of cell texts) of every table on the page, and of every filter state's table body."""
    document = path.read_text(encoding="utf-8")
    parser = _Tables()
    parser.feed(document)
    out = [(tid, t["head"][0] if t["head"] else [], t["rows"]) for tid, t in parser.tables.items()]
    heads = {tid: head for tid, head, _ in out}
    found = re.search(r"<script type='application/json' id='variants'>(.*?)</script>", document, re.S)
    for block in json.loads(found.group(1)) if found else []:
        tid = (block.get("html") or "").removesuffix("-body")
        for key, item in block["items"].items():
            if tid in heads and item.get("html"):
                body = _Tables()
                body.feed(f"<table id='x'><tr>{''.join('<th></th>' for _ in heads[tid])}</tr>{item['html']}</table>")
                out.append((f"{tid} [{key}]", heads[tid], body.tables["x"]["rows"]))
    return out
