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
from dashboards.labels import heading, pct, plural, words
from models.disclosure import SUPPRESSED

PLOTLY_JS = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
# Okabe-Ito's hues, darkened so that every colour has at least 3:1 against white (WCAG 2.2 1.4.11 asks it of a line,
# marker or bar): blue #0072B2 (5.2:1), orange #B36B00 (4.2:1, from #E69F00 at 2.25:1; the comparison group's colour
# in most charts, near-black text on it 4.7:1), bluish green #007A5A (5.3:1, from #009E73), reddish purple #B0488A
# (5.1:1, from #CC79A7 at 3.1:1), black, and a brown #8C5A2B (5.8:1) in place of the vermillion (#D55E00), which the
# darker orange made indistinguishable from it in deuteranopia. Sky blue (#56B4E9, 2.3:1) and yellow (#F0E442, 1.3:1)
# are left out. The six stay apart under the three common deficiencies (Machado et al. 2009): CIELAB distance at least
# 10.9 for every pair. Bar series after a chart's first also differ by fill pattern (charts.PATTERNS).
PALETTE = ["#0072B2", "#B36B00", "#007A5A", "#B0488A", "#000000", "#8C5A2B"]
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
PLAIN_NUMBER = re.compile(r"[+-]?[0-9]+(\.[0-9]+)?")
PAGES = [("index.html", "Overview"), ("commissioner.html", "Commissioners"), ("funder.html", "Funders"),
         ("evaluator.html", "Evaluators"), ("data-quality.html", "Data quality")]

STYLE = """
*,*::before,*::after{box-sizing:border-box}
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif;margin:0;color:#0b0c0c;background:#f3f2f1;font-size:1rem;line-height:1.45}
a{color:#1d70b8}a:focus,select:focus,summary:focus,button:focus,input:focus,.table-wrap:focus{outline:3px solid #fd0;outline-offset:0;box-shadow:0 -2px #fd0,0 4px #0b0c0c}
header{background:#0b0c0c;color:#fff;padding:.6rem 1rem;border-bottom:8px solid #1d70b8}header h1{margin:.1rem 0 .3rem;font-size:1.6rem}
header nav{display:flex;flex-wrap:wrap;gap:0 1.2rem}header a{color:#fff;display:inline-block;min-height:24px;padding:.1rem 0}
header a[aria-current]{font-weight:700;text-decoration:underline 3px}
.demo{background:#fd0;color:#0b0c0c;border-left:8px solid #0b0c0c;padding:.15rem 1rem;margin:0}
.demo>summary{font-weight:700;font-size:1rem;min-height:24px;padding:.2rem 0}.demo p{margin:.1rem 0 .4rem}
.about{margin:.2rem 0 .6rem}.about>summary{font-size:1rem;min-height:24px}.about p{margin:.3rem 0}
.answers{list-style:none;padding:0;margin:.3rem 0 .8rem}.answers li{padding:.3rem 0;border-bottom:1px solid #b1b4b6}
.answers .what{font-weight:700}
.demo-tag{display:inline-block;background:#fd0;color:#0b0c0c;font-size:.75rem;font-weight:700;padding:0 .35rem;margin-left:.3rem;border:1px solid #0b0c0c}
main{padding:.8rem 1rem;max-width:1200px;margin:0 auto}
.skip{position:absolute;left:-10000px;top:0;background:#fd0;color:#0b0c0c;padding:.5rem 1rem;font-weight:700;z-index:10}
.skip:focus{left:0}
.visually-hidden{position:absolute;width:1px;height:1px;overflow:hidden;clip-path:inset(50%);white-space:nowrap}
.terms dt{font-weight:700;margin-top:.5rem}.terms dd{margin:0 0 .3rem 0}
section{background:#fff;border:1px solid #b1b4b6;margin:1rem 0;padding:.8rem 1rem;min-width:0}
section h2{margin:.2rem 0 .5rem;font-size:1.3rem}details>summary{cursor:pointer;font-weight:700;font-size:1.2rem;padding:.2rem 0}details>summary h2{display:inline;font-size:1.2rem;margin:0}
.table-wrap{overflow-x:auto;max-width:100%}
table{border-collapse:collapse;font-size:.9rem}th,td{border:1px solid #b1b4b6;padding:.3rem .5rem;text-align:left;vertical-align:top}
code.hash{display:inline-block;width:16ch;word-break:break-all}
th{background:#f3f2f1}td.num{text-align:right;font-variant-numeric:tabular-nums}td.num,td.whole{white-space:nowrap}
a.csv{display:inline-block;min-height:24px;padding:.1rem 0}
.summary{color:#0b0c0c}.note{color:#484949;font-size:.9rem}.empty{color:#6f3800;font-weight:700}
.filters{position:sticky;top:0;z-index:5;background:#fff;border:2px solid #0b0c0c;padding:.3rem .8rem}
.filters>summary{font-size:1rem;font-weight:400;min-height:24px;padding:.3rem 0}.filters>summary .change{font-weight:700;text-decoration:underline}
.filters form{display:flex;flex-wrap:wrap;gap:.3rem 1rem;align-items:center;padding:.1rem 0}
@media (min-width:641px){.filters>summary{display:none}}
.filters label{font-weight:700}.filters .filter{display:inline-flex;flex-wrap:wrap;gap:.3rem;align-items:center;max-width:100%}.filters select{font-size:1rem;padding:.2rem;max-width:100%}
.tiles{display:grid;grid-template-columns:repeat(auto-fill,minmax(min(260px,100%),1fr));gap:.8rem}
.tile{border:1px solid #b1b4b6;border-top:5px solid #1d70b8;padding:.6rem .8rem;background:#fff}.tile h3{font-size:1rem;margin:.1rem 0 .4rem}
.tile .value{font-size:1.7rem;font-weight:700}.tile p{margin:.2rem 0;font-size:.9rem}
.verdicts{list-style:none;padding:0;margin:0}.verdicts li{border-left:5px solid #1d70b8;padding:.4rem .7rem;margin:.5rem 0;background:#f8f8f8}
.verdicts .head{font-weight:700}
.rag{font-weight:700}.rag-better{color:#00703c}.rag-worse{color:#d4351c}.rag-inconclusive{color:#484949}
.pager{display:flex;flex-wrap:wrap;gap:.5rem;align-items:center;margin:.4rem 0}.pager input{font-size:1rem;padding:.2rem;max-width:100%}
.pager button{font-size:.95rem;padding:.2rem .6rem}.pick label{font-weight:700}.pick select{font-size:1rem;padding:.2rem;max-width:100%}
pre{white-space:pre-wrap;word-break:break-all;font-size:.8rem;background:#f4f4f4;padding:.5rem;max-height:20rem;overflow:auto}
.chart{width:100%;min-width:0}
/* a chart's PNG button: the page's focus style (plotly's is a 1 px black ring), and its icon at 7:1 on white (plotly's
   grey at 30% is 1.4:1) */
.chart .js-plotly-plot .plotly .modebar-btn:focus-visible{outline:3px solid #fd0;outline-offset:0;box-shadow:0 -2px #fd0,0 4px #0b0c0c}
.chart .js-plotly-plot .plotly .modebar-btn path{fill:#505a5f!important}
@media (max-width:640px){main{padding:.5rem}section{padding:.6rem}.filters{position:static}header{padding:.4rem .6rem;border-bottom-width:5px}header h1{font-size:1.2rem;margin:0 0 .1rem}header nav{gap:0 .9rem}.demo{padding:.1rem .6rem;border-left-width:5px}main>p{margin:.3rem 0}section h2{font-size:1.2rem;margin:0 0 .3rem}.filters>summary{padding:.15rem 0}.answers li{padding:.2rem 0}section{margin:.6rem 0}.about{margin:0 0 .4rem}
 table{font-size:.8rem}.tile .value{font-size:1.4rem}
 table.stack thead{position:absolute;width:1px;height:1px;overflow:hidden;clip-path:inset(50%)}
 table.stack,table.stack tbody,table.stack tr,table.stack td{display:block}
 table.stack tr{border-top:2px solid #0b0c0c;padding:.3rem 0}table.stack td{border:0;padding:.15rem .3rem}
 table.stack td::before{content:attr(data-label) ": ";font-weight:700}table.stack td.num{text-align:left}
 table.stack td:empty{display:none}
 table.stack tr[hidden]{display:none}}
"""


TABLE_SCRIPT = """
(function(){
  // the sticky filter bar: the page scrolls a focused control clear of it (WCAG 2.2 2.4.11 Focus Not Obscured)
  var bar = document.querySelector('.filters');
  function clear(){ document.documentElement.style.scrollPaddingTop =
    bar && getComputedStyle(bar).position === 'sticky' ? (bar.offsetHeight + 8) + 'px' : ''; }
  clear(); window.addEventListener('resize', clear);
  // a link to a closed section (the evaluator's "At a glance" names them) opens it
  function openTarget(){
    var t = location.hash && document.getElementById(decodeURIComponent(location.hash.slice(1)));
    var d = t && t.tagName === 'SECTION' && t.querySelector('details');
    if (d) d.open = true;
  }
  window.addEventListener('hashchange', openTarget); openTarget();
  document.querySelectorAll('details').forEach(function(d){
    d.addEventListener('toggle', function(){
      if (d.open) d.querySelectorAll('.js-plotly-plot').forEach(function(gd){ Plotly.Plots.resize(gd); });
    });
  });
  document.querySelectorAll('select[data-chart]').forEach(function(pick){
    var gd = document.getElementById(pick.dataset.chart);
    pick.addEventListener('change', function(){
      var i = +pick.value, b = gd.layout.updatemenus[0].buttons[i];
      Plotly[b.method].apply(null, [gd].concat(b.args)).then(function(){ Plotly.relayout(gd, {'updatemenus[0].active': i}); });
    });
  });
  document.querySelectorAll('div.pager').forEach(function(pager){
    var table = document.getElementById(pager.dataset.table), rows = [];
    var size = 20, page = 0, input = pager.querySelector('input'), status = pager.querySelector('.status');
    var prev = pager.querySelector('.prev'), next = pager.querySelector('.next');
    function draw(){
      rows = Array.from(table.tBodies[0].rows);
      var q = input.value.trim().toLowerCase();
      var hits = rows.filter(function(r){ return !q || r.textContent.toLowerCase().indexOf(q) >= 0; });
      var pages = Math.max(1, Math.ceil(hits.length / size)); page = Math.min(page, pages - 1);
      rows.forEach(function(r){ r.hidden = true; });
      hits.slice(page * size, page * size + size).forEach(function(r){ r.hidden = false; });
      status.textContent = hits.length + ' of ' + rows.length + ' rows; page ' + (page + 1) + ' of ' + pages;
      prev.disabled = page === 0; next.disabled = page >= pages - 1;
    }
    input.addEventListener('input', function(){ page = 0; draw(); });
    prev.addEventListener('click', function(){ page -= 1; draw(); });
    next.addEventListener('click', function(){ page += 1; draw(); });
    table.addEventListener('rows', function(){ page = 0; draw(); });
    draw();
  });
})();
"""
#: A chart title wider than its chart (a phone at 320-390 px, a zoomed page: WCAG 2.2 1.4.10 Reflow) is broken
#: into lines that fit, measured in the title's own font, and the top margin grows to hold them; so is an x-axis title
#: wider than the room either side of its axis's centre (the axis sits right of the y labels, so a centred title ran off
#: the right edge), and a y-axis title longer than its axis is high (on its side, it ran up into the chart's title). It is
#: redone after every draw (a filter's new figure, a resize), and undone when the chart is wide enough again.
TITLE_SCRIPT = """
(function(){
  var canvas = document.createElement('canvas').getContext('2d');
  function textOf(title){ return title && (typeof title === 'string' ? title : title.text); }
  function wrap(text, font, room){
    canvas.font = font.size + 'px ' + font.family;
    var lines = [], line = '';
    text.split('<br>').join(' ').split(' ').forEach(function(word){
      var next = line ? line + ' ' + word : word;
      if (line && canvas.measureText(next).width > room){ lines.push(line); line = word; } else { line = next; }
    });
    lines.push(line);
    return lines;
  }
  function fit(gd){
    var full = gd._fullLayout, layout = gd.layout || {}, text = textOf(layout.title), update = {};
    if (!full || !gd.clientWidth) return;  // a chart in a closed section is fitted when it opens
    if (text){
      var top = (layout.margin || {}).t || 60;
      // the chart's own top margin: read again whenever a new layout brings another than the one set here last
      if (String(top) !== gd.dataset.set) gd.dataset.top = top;
      var lines = wrap(text, full.title.font, 0.9 * gd.clientWidth - 10), wrapped = lines.join('<br>');
      var want = +gd.dataset.top + (lines.length - 1) * Math.ceil(1.3 * full.title.font.size);
      if (wrapped !== text) update['title.text'] = wrapped;
      if (top !== want){ update['margin.t'] = want; gd.dataset.set = want; }
    }
    Object.keys(full).filter(function(k){ return /^[xy]axis[0-9]*$/.test(k); }).forEach(function(k){
      var ax = full[k], own = textOf((layout[k] || {}).title);
      if (!own || !ax.title || !ax._length) return;
      if (k.charAt(0) === 'y'){  // a y-axis title, turned on its side, within the height of its axis
        // fitted again when the axis is shorter or longer (a title wrapped above it, after it was fitted, took its room)
        var at = gd.clientWidth + '|' + Math.round(ax._length) + '|';
        if (gd.dataset['fit' + k] === at + own) return;
        var stacked = wrap(own, ax.title.font, ax._length - 4).join('<br>');
        gd.dataset['fit' + k] = at + stacked;
        if (stacked !== own) update[k + '.title.text'] = stacked;
        return;
      }
      // a title fitted here at this width is left alone: the lines move the bottom margin, which can move the y ticks,
      // the left margin and so the room, and fitting again on every draw could go back and forth without end. A new
      // figure (a filter's) brings its title unfitted, and it is fitted again.
      if (gd.dataset['fit' + k] === gd.clientWidth + '|' + own) return;
      var centre = ax._offset + ax._length / 2, room = 2 * Math.min(centre, gd.clientWidth - centre) - 10;
      var fitted = wrap(own, ax.title.font, room).join('<br>');
      gd.dataset['fit' + k] = gd.clientWidth + '|' + fitted;
      if (fitted !== own) update[k + '.title.text'] = fitted;
    });
    if (Object.keys(update).length) Plotly.relayout(gd, update);
  }
  document.querySelectorAll('.js-plotly-plot').forEach(function(gd){
    gd.on('plotly_afterplot', function(){ fit(gd); });
    fit(gd);
  });
})();
"""
#: The SVG of a chart whose values the page gives as text (:attr:`Section.values_in_text`) is hidden from assistive
#: technology after every draw (a filter's ``Plotly.react`` too); the toolbar, a div beside it, stays reachable.
CHART_SCRIPT = """
(function(){
  function hide(gd){ gd.querySelectorAll('svg.main-svg').forEach(function(s){ s.setAttribute('aria-hidden', 'true'); }); }
  document.querySelectorAll('div.chart[data-values-in-text] .js-plotly-plot').forEach(function(gd){
    gd.on('plotly_afterplot', function(){ hide(gd); });
    hide(gd);
  });
})();
"""
#: A point's name (a funnel's units) that covers a name drawn before it, a point or a note on the chart, at the width
#: the chart has now, is hidden until a redraw gives it room (at 390 px the providers' names ran into each other):
#: the chart's hover and its table still name every point. Names come in the order of importance
#: (charts.funnel: the units outside the limits first).
LABEL_SCRIPT = """
(function(){
  function box(e){ return e.getBoundingClientRect(); }
  function hits(r, b){ return r.left < b.right - 1 && b.left < r.right - 1 && r.top < b.bottom - 1 && b.top < r.bottom - 1; }
  function apart(gd){
    var points = Array.from(gd.querySelectorAll('g.points path.point')), kept = [];
    gd.querySelectorAll('g.annotation-text-g text').forEach(function(t){ kept.push(box(t)); });
    gd.querySelectorAll('g.trace').forEach(function(trace){
      var own = trace.querySelectorAll('g.points path.point');
      trace.querySelectorAll('g.textpoint text').forEach(function(t, i){
        t.style.visibility = '';
        var r = box(t), hit = kept.some(function(b){ return hits(r, b); }) || points.some(function(p){
          return p !== own[i] && hits(r, box(p)); });
        t.style.visibility = hit ? 'hidden' : '';
        if (!hit) kept.push(r);
      });
    });
  }
  document.querySelectorAll('.js-plotly-plot').forEach(function(gd){
    gd.on('plotly_afterplot', function(){ apart(gd); });
    apart(gd);
  });
})();
"""
#: Every chart's toolbar holds one button, "Download plot as a png": plotly's default of about ten (zoom, pan, select,
#: "Share chart...", which uploads the chart to Plotly Cloud) put 110 of a page's 136 tab stops in toolbars, and a
#: published chart must not be sent anywhere from the reader's browser. A drag still zooms; a double click resets.
CHART_CONFIG = {"responsive": True, "displaylogo": False, "modeBarButtons": [["toImage"]], "showSendToCloud": False,
                "toImageButtonOptions": {"format": "png", "scale": 2}}
#: Tables longer than this are paged and searchable on the page (the CSV holds every row).
PAGE_ROWS = 20


def neutralise_cell(value: object) -> object:
    """A text cell a spreadsheet would run as a formula (OWASP, "CSV Injection": it starts with =, +, -, @, tab or
    carriage return) behind an apostrophe; a plain number written as text ("-0.30") stays a number."""
    if isinstance(value, str) and value.startswith(FORMULA_START) and not PLAIN_NUMBER.fullmatch(value):
        return "'" + value
    return value


def write_csv(frame: pd.DataFrame, path: Path) -> None:
    """The table as a CSV: formulas neutralised, and counts (``n_*`` columns) of whole numbers written as integers
    (a count column with a gap is float in pandas: "310.0")."""
    counts = {c: "Int64" for c in frame.columns if str(c).startswith("n_") and pd.api.types.is_float_dtype(frame[c])
              and (frame[c].dropna() % 1 == 0).all()}
    frame.map(neutralise_cell).astype(counts).to_csv(path, index=False)


@dataclass
class Section:
    """One titled block: a text summary (always) and a figure, an HTML fragment and/or a table.

    ``html`` must already be escaped (built by this package). ``variants`` swap the figure and
    summary when the page's filters change; ``blocks`` swap the inner HTML of the element with
    the given id (headline tiles). ``responds`` says which filters the section follows.
    ``collapsed``: shown closed under its title (evaluator page). ``table_variants`` swap the
    table's rows with the filters (each a published table). ``show_table=False``: the table is
    only the CSV (its rows are already on the page in another form). ``code_columns``: columns of names as the reader's
    files spell them (files, columns, rules), shown as code, not put into words.
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
    collapsed: bool = False
    show_table: bool = True
    code_columns: tuple[str, ...] = ()
    #: The columns the page's table shows, when not all of them: the CSV keeps every column (the funder's grant
    #: metrics had 22, and scrolled sideways at 1440 px).
    shown_columns: tuple[str, ...] = ()
    #: A column's values as the page's table says them ({column: {value: words}}), shown as text, not code: the CSV
    #: keeps the values (the data-quality page met a reader with ``timebank_members`` in code font).
    shown_values: dict[str, dict[str, str]] = field(default_factory=dict)
    #: The table as the page shows it, when it merges the CSV's columns (the same rows, built from the published table):
    #: the impact map's 18 columns scrolled sideways at 1440 px, and read as 11 ("-3.00 (-15.42 to 9.42)").
    shown_table: pd.DataFrame | None = None
    #: Every value the chart draws is on the page as text for each filter choice (its summary, a table that follows the
    #: filters, or a CSV it links): its SVG is hidden from assistive technology (:data:`CHART_SCRIPT`), which announced
    #: it as an image named by every tick label, and the chart is its container, named by the summary. A chart some of
    #: whose values are nowhere else in words (a Kaplan-Meier curve's steps, a filter state's distance travelled) keeps
    #: its SVG: hidden, they would be lost (WCAG 2.2 1.1.1).
    values_in_text: bool = False

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
    demo: bool = False
    #: What a reader needs before trusting the figures but not before reading them (the disclosure rule, the data
    #: window): under "About these figures", closed, so the first screen holds the answers (a phone's most of all).
    more: str = ""


#: The demo banner's one line (its summary, on every screen); the whole of it opens below.
DEMO_LINE = "Demo: made-up people and costs"
DEMO_BANNER = ("Demo: every figure on this page comes from synthetic people made up by the generator, and the unit costs "
               "are made up too. Nothing here describes real people or real services.")


#: Every chart's legend: at the foot of the chart (``yref`` "container"), left aligned. The bottom margin grows to hold
#: it under the x-axis title, however many lines a narrow screen breaks that title into (a legend placed a share of the
#: plot's height below the plot ran into a title of two lines).
LEGEND = {"orientation": "h", "yref": "container", "yanchor": "bottom", "y": 0, "x": 0, "xanchor": "left"}
AXES = ("x", "y", "theta", "labels")


def _worded(values) -> list[str] | None:
    """``values`` with each snake_case token in words, when they are a non-empty list of strings; else None."""
    if values is not None and not isinstance(values, (str, dict)) and len(values) and all(isinstance(v, str) for v in values):
        return [words(v) for v in values]
    return None


def _axis_title(key: str, value) -> bool:
    return key.startswith(("xaxis", "yaxis")) and isinstance(value, dict) and isinstance(value.get("title"), dict) \
        and isinstance(value["title"].get("text"), str)


def _margin(margin_top) -> dict:
    return {"l": 50, "r": 20, "t": margin_top or 60, "b": 40}


def _titles_in_words(args: list) -> list:
    """A drop-down button's arguments with the chart title it sets in words (the chart read "Propensity overlap:
    reoffending: any_participation" under a select offering "reoffending: Any participation")."""
    return [{**a, "title": {**a["title"], "text": words(a["title"]["text"])}}
            if isinstance(a, dict) and isinstance(a.get("title"), dict) and isinstance(a["title"].get("text"), str) else a
            for a in args]


def _in_words(figure: go.Figure) -> None:
    """Trace names, category labels, axis titles, drop-down labels and the titles they set with every snake_case token put
    into words."""
    for trace in figure.data:
        spec = trace.to_plotly_json()
        if isinstance(spec.get("name"), str):
            trace.name = words(spec["name"])
        for axis in AXES:
            worded = _worded(spec.get(axis))
            if worded is not None:
                trace.update({axis: worded})
    for key, value in figure.layout.to_plotly_json().items():
        if _axis_title(key, value):
            figure.layout[key].title.text = words(value["title"]["text"])
    for menu in figure.layout.updatemenus or ():
        for button in menu.buttons:
            button.label = words(button.label) if button.label else button.label
            if button.args:
                button.args = _titles_in_words(list(button.args))


def style(figure: go.Figure, title: str) -> go.Figure:
    """Every chart: a title, the colour-blind-safe palette, a plain template, the legend under the plot, labels in words."""
    _in_words(figure)
    figure.update_layout(title=words(figure.layout.title.text or title), colorway=PALETTE, template="plotly_white",
                         legend=LEGEND, margin=_margin(figure.layout.margin.t), autosize=True)
    return figure


def _sorted(value):
    """Dicts with their keys sorted, at every depth (plotly builds a layout's properties in that order)."""
    if isinstance(value, dict):
        return {k: _sorted(value[k]) for k in sorted(value)}
    if isinstance(value, list):
        return [_sorted(v) for v in value]
    return value


def figure_json(figure: go.Figure, title: str) -> dict:
    """The figure for Plotly.react: the JSON ``style`` gives, byte for byte, without the template (the page's chart has it).

    Built on the figure's JSON rather than on a styled copy: validating plotly objects and copying the template was
    most of the cost of a page, and a page has hundreds of filter states (issue 18). The layout's keys come in the
    order plotly writes them (sorted, then the keys ``style`` adds), so the page's bytes do not change."""
    spec = json.loads(figure.to_json())
    layout = spec["layout"] = _sorted(spec.get("layout", {}))
    layout.pop("template", None)
    for trace in spec.get("data", []):
        if isinstance(trace.get("name"), str):
            trace["name"] = words(trace["name"])
        for axis in AXES:
            worded = _worded(trace.get(axis))
            if worded is not None:
                trace[axis] = worded
    for key, value in layout.items():
        if _axis_title(key, value):
            value["title"]["text"] = words(value["title"]["text"])
    for menu in layout.get("updatemenus", ()):
        for button in menu.get("buttons", ()):
            if button.get("label"):
                button["label"] = words(button["label"])
            if button.get("args"):
                button["args"] = _titles_in_words(button["args"])
    margin = layout.get("margin", {})
    layout["legend"] = {**layout.get("legend", {}), **LEGEND}
    layout["margin"] = {**margin, **_margin(margin.get("t"))}
    layout["title"] = {"text": words((layout.get("title") or {}).get("text") or title)}
    layout["colorway"] = list(PALETTE)
    layout["autosize"] = True
    return spec


def _variants_payload(page: Page) -> list[dict]:
    blocks = []
    for section in page.sections:
        sid = slug(section.title)
        if section.variants is not None:
            labelled = section.table is not None and stacks(section.table)
            blocks.append({"dims": list(section.variants.dims), "chart": f"chart-{sid}" if section.figure else None,
                           "summary": f"summary-{sid}", "html": f"table-{sid}-body" if section.variants.tables() else None,
                           "items": {k: {"summary": words(i.summary),
                                         "html": _table_body(i.table, whole=section.table, labelled=labelled)
                                         if i.table is not None else None,
                                         "figure": figure_json(i.figure, section.title) if i.figure else None}
                                     for k, i in section.variants.items.items()}})
        for element_id, block in section.blocks:
            blocks.append({"dims": list(block.dims), "chart": None, "summary": None, "html": element_id,
                           "items": {k: {"summary": words(i.summary), "html": i.html, "figure": None}
                                     for k, i in block.items.items()}})
    return blocks


def slug(text: str) -> str:
    """A section's id from its title ("SROI impact map" -> "sroi-impact-map"), which a link to it names."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def cell(value: object, places: int | None = None) -> tuple[str, bool]:
    """(text, is_number) of one published cell: thousands separated; ``places`` decimals (its column's,
    :func:`decimals`), or alone at most 4 significant decimals."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return "", False
    if isinstance(value, bool):
        return ("yes" if value else "no"), False
    if places is not None and isinstance(value, (int, float)):
        return f"{value:,.{places}f}", True
    if isinstance(value, int) or (isinstance(value, float) and float(value).is_integer() and abs(value) < 1e15):
        return f"{int(value):,}", True
    if isinstance(value, float):
        return (f"{value:,.2f}" if abs(value) >= 100 else f"{value:.4g}"), True
    if hasattr(value, "strftime"):
        return value.strftime("%Y-%m-%d"), False
    return str(value), False


def decimals(*columns) -> int | None:
    """The decimal places of a table column, one for all its numbers (hours read 66, 74.5 and 140.25 in one column):
    as many as its most precise number shows alone (:func:`cell`), at most 4, and at most 2 in a column holding a
    number of 100 or more, as such a number shows alone (the SROI sensitivity's base values read "2,000.0000" beside
    "8.6794"); None for a column without a number. ``columns``: the column in each table that shows it (a section's
    table and the filters' tables of it)."""
    numbers = [v for values in columns for v in values if isinstance(v, (int, float)) and not isinstance(v, bool)
               and not pd.isna(v)]
    if not numbers:
        return None
    places = max(min(len(t.partition(".")[2]), 4) if "e" not in t else 4 for t in (cell(v)[0] for v in numbers))
    return min(places, 2) if max(abs(v) for v in numbers) >= 100 else places


#: Columns that hold pounds: shown as £75,100 (the CSV keeps the plain number).
MONEY = re.compile(r"^(amount|observed_amount|reserved_pot|allocation|social_value|reciprocity_weighted_social_value|cost_per_\w+|"
                   r"funder_total_amount|pv|proxy_value_reporting|investment_pv|npv|base_allocation|lowest_allocation|"
                   r"highest_allocation|allocation_range)$")


def _money(column: str, text: str, is_number: bool) -> str:
    if not is_number or not MONEY.match(str(column)):
        return text
    return "£" + text if not text.startswith("-") else "-£" + text[1:]


#: Columns that hold a share (0-1), shown as a percentage (the CSV keeps the share); columns in percent get a % sign.
SHARE = re.compile(r"(share|coverage)")
PERCENT = re.compile(r"(_pct$|_%$|^pct_)")
#: Columns of names the reader gave (time banks, grants, funders, units): shown as given, never put into words.
NAMED = re.compile(r"^(timebank_id|grant_id|unit|funder)$")


def _shown(column: str, value: object, code: bool, places: int | None = None) -> tuple[str, bool]:
    """(text, is_number) of one cell as the page shows it: money as £75,100, shares and percentages with %, snake_case
    domain values in words; a ``code`` column (a file, column or rule name as the reader's files spell it) and a
    ``NAMED`` column (a time bank, grant, funder or unit) as it is. ``places``: its column's decimals."""
    text, number = cell(value, places)
    if number and MONEY.match(str(column)):
        return (_money(str(column), text, number)), True
    if number and SHARE.search(str(column)) and 0 <= float(value) <= 1:
        return pct(float(value)), True
    if number and PERCENT.search(str(column)):
        return f"{float(value):.1f}%", True
    return (text if code or number or NAMED.search(str(column)) else words(text)), number


#: A cell of one short word (a date, a quarter, a code: "2021-09-18", "2022-Q1", "TB01") is kept on one line: a
#: narrow column broke it at its hyphen ("2021-" above "09-18"), at 1440 px too.
WHOLE = re.compile(r"\S{1,12}")


#: A hash shown as code (a configuration's or file's SHA-256, 64 characters): one unbroken word, it set its column
#: 64 characters wide and the evaluator's provenance table scrolled sideways at 1440 px. It is shown in lines of 16
#: characters (``code.hash``: CSS breaks it, the page's text keeps it whole, so it copies whole and the tests that scan
#: the pages for 64-character hashes still read every one; the CSV has it too).
HASH = re.compile(r"[0-9a-f]{32,}")


#: A table with two or more text columns whose cells average more than this many characters (sentences, not values)
#: is read row by row on a phone (``stack``): squeezed into columns of a 390 px screen, the evaluator's "What you can
#: and cannot say" ran to 6,000 px, a few words a line.
PROSE_CHARS = 60
STACK = " class='stack'"


def stacks(frame: pd.DataFrame) -> bool:
    """Whether ``frame`` is laid out one row at a time, each cell under its heading, on a phone (:data:`PROSE_CHARS`)."""
    lengths = [frame[c].map(lambda v: len(v) if isinstance(v, str) else 0).mean() for c in frame.columns
               if frame[c].dtype == object and len(frame)]
    return sum(n > PROSE_CHARS for n in lengths) >= 2


#: A cell :func:`_footnoted` made a marker of: "[1]", "[2]"...
NOTE_MARK = re.compile(r"\[(\d+)\]")


def _table_body(frame: pd.DataFrame, code: tuple[str, ...] = (), whole: pd.DataFrame | None = None,
                labelled: bool = False, notes: tuple[str, int] = ("", 0)) -> str:
    """The rows of ``frame``, each number column with one number of decimals; ``whole``: the table ``frame`` is a
    filter's part of, whose columns set the decimals (so that they do not change with the filters). ``labelled``:
    each cell carries its column's heading (``data-label``), which a stacked table shows above it on a phone.
    ``notes``: (table id, number of notes) of a footnoted table, whose markers link to their notes."""
    places = {c: decimals(frame[c], () if whole is None or c not in whole.columns else whole[c]) for c in frame.columns}
    # one money format per table: pence in every pounds column when any of them has pence, else whole pounds (the
    # allocation table wrote "£9,200" beside "£1,233.70", and the sensitivity "£50" beside "£300.00")
    money = [c for c in frame.columns if MONEY.match(str(c)) and places[c] is not None]
    for c in money:
        places[c] = 2 if any(places[m] for m in money) else 0
    label = {c: f" data-label='{html.escape(heading(c), quote=True)}'" if labelled else "" for c in frame.columns}
    rows = []
    for row in frame.itertuples(index=False):
        cells = []
        for column, value in zip(frame.columns, row):
            text, number = _shown(column, value, column in code, places[column])
            text, at = html.escape(text), label[column]
            hashed = " class='hash'" if column in code and HASH.fullmatch(text) else ""
            # a withheld count stands where its number would, right-aligned with the column's numbers
            withheld = isinstance(value, str) and value == SUPPRESSED and places[column] is not None
            mark = NOTE_MARK.fullmatch(text) if not (number or withheld or column in code) else None
            cells.append(f"<td class='num'{at}>{text}</td>" if number or withheld else
                         f"<td{at}><code{hashed}>{text}</code></td>" if column in code and text else
                         f"<td{at}><a href='#{notes[0]}-note-{mark.group(1)}'>{text}</a></td>"
                         if mark and int(mark.group(1)) <= notes[1] else
                         f"<td class='whole'{at}>{text}</td>" if WHOLE.fullmatch(text) else f"<td{at}>{text}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return "".join(rows)


def _footnoted(frame: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """Long text repeated down a column is said once: the cells become [1], [2]… and the notes follow the table. The
    first column names each row (a result's rows of the balance table: "well-being: Wellbeing Star / Mean of areas")
    and stays as it is."""
    notes: list[str] = []
    out = frame.copy()
    for column in frame.columns[1:]:
        values = frame[column]
        if values.dtype != object:
            continue
        texts = [v for v in values if isinstance(v, str) and len(v) > 40]
        repeated = {t for t in texts if texts.count(t) > 1}
        if not repeated:
            continue
        def mark(v):
            if v in repeated:
                if v not in notes:
                    notes.append(v)
                return f"[{notes.index(v) + 1}]"
            return v
        out[column] = values.map(mark)
    out.attrs = frame.attrs
    return out, notes


def _table_html(frame: pd.DataFrame, table_id: str, code: tuple[str, ...], name: str) -> str:
    """The table in a scrolling region named ``name`` (its section's title) for screen readers."""
    shown, notes = _footnoted(frame)
    stacked = stacks(frame)
    head = "".join(f"<th scope='col'>{html.escape(heading(c))}</th>" for c in shown.columns)
    body = _table_body(shown, code, labelled=stacked, notes=(table_id, len(notes)))
    table = (f"<div class='table-wrap' tabindex='0' role='region' aria-label='{html.escape(name, quote=True)}: table'>"
             f"<table id='{table_id}'{STACK if stacked else ''}><thead><tr>{head}</tr></thead><tbody id='{table_id}-body'>{body}"
             "</tbody></table></div>")
    if len(shown) > PAGE_ROWS:
        table = (f"<div class='pager' data-table='{table_id}'><label>Search this table <input type='search'></label>"
                 "<button type='button' class='prev'>Previous</button><button type='button' class='next'>Next</button>"
                 "<span class='status' aria-live='polite'></span></div>" + table)
    if notes:
        table += "<ol class='note'>" + "".join(f"<li id='{table_id}-note-{i}'>{html.escape(words(n))}</li>"
                                               for i, n in enumerate(notes, start=1)) + "</ol>"
    return table


def _checked(section: Section) -> dict:
    record = section.table.attrs.get("disclosure")
    if record is None:
        raise ValueError(f"table of section {section.title!r} did not pass disclosure control (models.disclosure)")
    return {**record, "section": section.title, "csv": section.csv_name}


#: The label of the select that picks what a chart with choices shows (its summary names it).
PICK_LABEL = "Result shown in the chart"


def _picker(figure: go.Figure, sid: str) -> str:
    """A labelled select for a chart's choices (plotly ``updatemenus``, not drawn: plotly draws its drop-down in SVG,
    which Tab never reaches, WCAG 2.2 2.1.1 Keyboard, and beside the select it made two controls for one chart). The
    select runs the buttons (TABLE_SCRIPT); empty for a chart without them."""
    menus = figure.layout.updatemenus
    if not menus or not menus[0].buttons:
        return ""
    options = "".join(f"<option value='{i}'>{html.escape(html.unescape(b.label or ''))}</option>"
                      for i, b in enumerate(menus[0].buttons))
    return (f"<p class='pick'><label for='pick-{sid}'>{PICK_LABEL}</label> "
            f"<select id='pick-{sid}' data-chart='chart-{sid}'>{options}</select></p>")


#: The site's name, after each page's own in its window title.
SITE = "Co-production Outcomes"


def tab_title(page: Page) -> str:
    """The window title: the page's own title, then the site's ("For funders · Co-production Outcomes"); the overview,
    titled with the site's name, by its name in the navigation (it read "Co-production Outcomes · Co-production
    Outcomes", twice the same to a screen reader and in a list of tabs, WCAG 2.2 2.4.2)."""
    own = page.title if page.title != SITE else dict(PAGES).get(page.filename, page.title)
    return f"{own} · {SITE}"


def render(page: Page, out_dir: Path) -> Path:
    """Write ``page`` (its tables' CSVs, its disclosure checking report, and plotly.js once) into ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    if not (out_dir / PLOTLY_JS.name).exists():
        shutil.copyfile(PLOTLY_JS, out_dir / PLOTLY_JS.name)
    nav = "".join(f"<a href='{f}'" + (" aria-current='page'" if f == page.filename else "") + f">{html.escape(t)}</a>"
                  for f, t in PAGES)
    body, checks = [], []
    for section in page.sections:
        sid = slug(section.title)
        parts = [f"<p class='summary' id='summary-{sid}'>{html.escape(words(section.summary))}</p>"]
        if section.responds:
            parts.append(f"<p class='note'>{html.escape(section.responds)}</p>")
        if section.html is not None:
            parts.append(section.html)
        if section.figure is not None:
            style(section.figure, section.title)
            parts.append(_picker(section.figure, sid))
            parts.append(f"<div class='chart' role='figure' aria-label='{html.escape(words(section.summary), quote=True)}'"
                         + (" data-values-in-text" if section.values_in_text else "") + ">"
                         + section.figure.to_html(full_html=False, include_plotlyjs=False, div_id=f"chart-{sid}",
                                                  config=CHART_CONFIG)
                         + "</div>")
        if section.table is not None:
            checks.append(_checked(section))
            if section.show_table:
                shown = section.table if section.shown_table is None else section.shown_table
                if section.shown_columns:
                    shown = shown[list(section.shown_columns)]
                    shown.attrs = section.table.attrs
                if section.shown_values:
                    attrs = shown.attrs
                    shown = shown.assign(**{c: shown[c].map(lambda v, m=m: m.get(v, v))
                                            for c, m in section.shown_values.items() if c in shown.columns})
                    shown.attrs = attrs
                code = tuple(c for c in section.code_columns if c not in section.shown_values)
                parts.append(_table_html(shown, f"table-{sid}", code, section.title))
            if section.csv_name:
                write_csv(section.table, out_dir / section.csv_name)
                parts.append(f"<p><a class='csv' href='{html.escape(section.csv_name)}' download>Download this table as CSV "
                             f"({plural(len(section.table), 'row')})</a></p>")
        if section.note:
            parts.append(f"<p class='note'>{html.escape(words(section.note))}</p>")
        title = html.escape(section.title)
        if section.collapsed:
            body.append(f"<section id='{sid}' aria-labelledby='{sid}-h'><details><summary><h2 id='{sid}-h'>{title}</h2></summary>"
                        + "".join(parts) + "</details></section>")
        else:
            body.append(f"<section id='{sid}' aria-labelledby='{sid}-h'><h2 id='{sid}-h'>{title}</h2>" + "".join(parts)
                        + "</section>")
    report = out_dir / f"disclosure-{page.filename.removesuffix('.html')}.json"
    report.write_text(json.dumps({"page": page.filename, "tables": checks}, indent=2, default=str), encoding="utf-8")
    payload = _variants_payload(page)
    script = (f"<script type='application/json' id='variants'>{embed_json(payload)}</script><script>{SCRIPT}</script>"
              if payload else "")
    # in a landmark of its own (axe "region": all content in landmarks), named for screen readers' landmark lists
    # one line, whatever the screen (it took a third of a phone's first screen): the whole text opens under it
    banner = (f"<aside aria-label='Demo data'><details class='demo' id='demo-banner'><summary>{html.escape(DEMO_LINE)}</summary>"
              f"<p>{html.escape(DEMO_BANNER)}</p></details></aside>" if page.demo else "")
    more = (f"<details class='about'><summary>About these figures</summary><p>{html.escape(page.more)}</p></details>"
            if page.more else "")
    document = (
        "<!DOCTYPE html><html lang='en-GB'><head><meta charset='utf-8'>"
        f"<title>{html.escape(tab_title(page))}</title><meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<style>{STYLE}</style><script src='{PLOTLY_JS.name}'></script></head><body>"
        f"<a class='skip' href='#main'>Skip to the page's content</a>"
        f"<header><h1>{html.escape(page.title)}</h1><nav aria-label='pages'>{nav}</nav></header>{banner}"
        f"<main id='main' tabindex='-1'><p>{html.escape(page.intro)}</p>{more}{controls_html(page.filters)}{''.join(body)}"
        f"<p class='note'>Output-checking report for this page: <a href='{report.name}'>{report.name}</a>.</p></main>"
        f"{script}<script>{TABLE_SCRIPT}{TITLE_SCRIPT}{LABEL_SCRIPT}{CHART_SCRIPT}</script></body></html>"
    )
    target = out_dir / page.filename
    target.write_text(document, encoding="utf-8")
    return target

