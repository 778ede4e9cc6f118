"""Page filters that work offline: every filtered chart, summary and tile is pre-computed per choice.

A page declares its filters (time bank, area, period). A chart or tile that responds to some
of them carries ``Variants``: one item per combination of the options of the filters it
responds to, keyed ``"<value>|<value>"`` in the order of its ``dims``. The items hold only
aggregates that have already passed disclosure control; the browser swaps them in when a
select changes (``SCRIPT``), so the page stays a static file and no data leaves it.
"""

from __future__ import annotations

import html
import itertools
import json
from collections.abc import Callable
from dataclasses import dataclass, field

import pandas as pd
import plotly.graph_objects as go

ALL = "all"


@dataclass(frozen=True)
class Filter:
    """A select box: ``name`` is the dimension, ``options`` are (value, label) pairs, "all" first."""

    name: str
    label: str
    options: tuple[tuple[str, str], ...]

    def values(self) -> list[str]:
        return [value for value, _ in self.options]


@dataclass
class Item:
    """What one filter choice shows: a figure and/or an HTML fragment (built escaped), and its summary."""

    summary: str
    figure: go.Figure | None = None
    html: str | None = None
    table: pd.DataFrame | None = None




@dataclass
class Variants:
    dims: tuple[str, ...]
    items: dict[str, Item] = field(default_factory=dict)

    def tables(self) -> bool:
        """True when the items carry the rows of the section's table (it filters with the charts)."""
        return any(i.table is not None for i in self.items.values())


def make_filter(name: str, label: str, everything: str, values, show: Callable[[str], str] = str) -> Filter:
    """A filter over the distinct non-empty ``values`` (sorted), preceded by "all"; ``show`` gives each option's words."""
    distinct = sorted({str(v) for v in values if v is not None and str(v) not in ("", ALL)})
    return Filter(name, label, ((ALL, everything), *((v, show(v)) for v in distinct)))


def variants(filters: list[Filter], dims: tuple[str, ...], build: Callable[[dict[str, str]], Item]) -> Variants:
    """Call ``build`` once per combination of the options of the filters named in ``dims``."""
    by_name = {f.name: f for f in filters}
    out = Variants(dims)
    for combo in itertools.product(*(by_name[d].values() for d in dims)):
        out.items["|".join(combo)] = build(dict(zip(dims, combo)))
    return out


def controls_html(filters: list[Filter]) -> str:
    if not filters:
        return ""
    boxes = "".join(
        f"<span class='filter'><label for='filter-{html.escape(f.name, quote=True)}'>{html.escape(f.label)}</label> "
        f"<select data-filter='{html.escape(f.name, quote=True)}' id='filter-{html.escape(f.name, quote=True)}'>"
        + "".join(f"<option value='{html.escape(v, quote=True)}'>{html.escape(t)}</option>" for v, t in f.options)
        + "</select></span>"
        for f in filters
    )
    showing = showing_text([f.options[0][1] for f in filters], [True] * len(filters))
    # On a phone the bar is one line, "Showing: ... Change", that opens into the selects (they took a quarter of the
    # first screen); on a wider screen it is open, its summary hidden, and sticks to the window's top. The script
    # right after it opens it before the first paint, and again when the window widens past 640 px.
    return ("<details class='filters' id='filter-bar'><summary>Showing: <span id='filter-showing' "
            f"data-all='{html.escape(showing, quote=True)}'>"
            f"{html.escape(showing)}</span> <span class='change'>Change</span></summary>"
            f"<form aria-label='Filters' onsubmit='return false'>{boxes}"
            "<span class='note'>Sections marked 'responds to' change with these choices.</span></form></details>"
            # the one message a screen reader hears after a choice (SCRIPT): every summary was a live region, and one
            # choice had it read eight of them, about 2,000 characters, one after another. Outside the bar, which is
            # closed on a phone (a closed <details> is not rendered, and its live region would say nothing).
            "<p id='filter-status' class='visually-hidden' role='status'></p>"
            f"<script>{BAR_SCRIPT}</script>")


def showing_text(labels: list[str], everything: list[bool]) -> str:
    """The bar's one-line summary of the chosen options: "all time banks, TB01's areas..." in short: "all time banks,
    areas and years" when nothing is chosen, else each choice ("TB01, all areas, 2023"). ``everything``: whether each
    filter is on its first ("all") option. The page's script (SCRIPT) says the same after each choice."""
    if all(everything) and all(label.startswith("All ") for label in labels):
        names = [label[4:] for label in labels]
        return "all " + (names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1])
    return ", ".join(label[:1].lower() + label[1:] if every else label for label, every in zip(labels, everything))


BAR_SCRIPT = ("(function(){var bar=document.getElementById('filter-bar'),wide=window.matchMedia('(min-width:641px)');"
              "function fit(){bar.open=wide.matches;}fit();wide.addEventListener('change',fit);})();")


def embed_json(payload: object) -> str:
    """JSON that is safe inside a <script type='application/json'> element (no '<', '>' or '&')."""
    return (json.dumps(payload, separators=(",", ":"), allow_nan=False)
            .replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026"))


SCRIPT = """
(function(){
  var node = document.getElementById('variants');
  if (!node) return;
  var blocks = JSON.parse(node.textContent);
  var state = {};
  var selects = document.querySelectorAll('select[data-filter]');
  selects.forEach(function(s){ state[s.dataset.filter] = s.value; });
  function apply(){  // the number of summaries, tables and tiles whose content changed
    var changed = 0;
    blocks.forEach(function(b){
      var item = b.items[b.dims.map(function(d){ return state[d]; }).join('|')];
      if (!item) return;
      var moved = false;
      if (b.chart && item.figure){
        var gd = document.getElementById(b.chart);
        var layout = Object.assign({}, item.figure.layout, {template: gd.layout.template});
        Plotly.react(gd, item.figure.data, layout);
        gd.parentNode.setAttribute('aria-label', item.summary);
      }
      if (b.summary){
        var said = document.getElementById(b.summary);
        moved = said.textContent !== item.summary;
        said.textContent = item.summary;
      }
      if (b.html && item.html !== null){
        var el = document.getElementById(b.html), before = el.innerHTML;
        el.innerHTML = item.html;
        moved = moved || el.innerHTML !== before;
        var table = el.closest('table');
        if (table) table.dispatchEvent(new Event('rows'));
      }
      if (moved) changed += 1;
    });
    return changed;
  }
  function showing(){  // the bar's one-line summary on a phone: "Showing: all time banks, 2023, all areas"
    var out = document.getElementById('filter-showing');
    if (!out) return;
    var all = Array.from(selects).every(function(s){ return s.selectedIndex === 0; });
    if (all && out.dataset.all) { out.textContent = out.dataset.all; return; }
    out.textContent = Array.from(selects).map(function(s){
      var t = s.options[s.selectedIndex].text;
      return s.selectedIndex === 0 ? t.charAt(0).toLowerCase() + t.slice(1) : t; }).join(', ');
  }
  function status(changed){  // one message for a screen reader, in place of every summary read out
    var out = document.getElementById('filter-status');
    if (!out) return;
    var chosen = Array.from(selects).map(function(s){ return s.options[s.selectedIndex].text; }).join(', ');
    out.textContent = 'Showing ' + chosen + ': ' + changed + (changed === 1 ? ' summary, table or tile' :
      ' summaries, tables and tiles') + ' changed.';
  }
  selects.forEach(function(s){
    s.addEventListener('change', function(){ state[s.dataset.filter] = s.value; var n = apply(); showing(); status(n); });
  });
})();
"""
