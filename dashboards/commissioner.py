"""The commissioner page: headline tiles, funnel plots, quarterly trends, JDL chart, Star charts.

Reads ``marts.timebank_activity``, ``marts.readmission_rates``, ``marts.readmission_effects``,
``marts.readmission_funnel``, ``marts.reoffending_rates``, ``marts.reoffending_effects``,
``marts.wellbeing_change``, ``marts.social_value`` and ``marts.impact_map``; any may be
missing or empty. Filters by time bank, area (of residence) and year swap pre-computed,
disclosure-controlled aggregates in the browser (dashboards/filters.py).
"""

from __future__ import annotations

import functools
import html

import duckdb
import pandas as pd

from dashboards import coverage, glossary, headlines, labels, verdicts
from dashboards.activity_sections import activity_section
from models.disclosure import DisclosureRule
from dashboards.filters import ALL, Filter, make_filter, variants
from dashboards.marts import demo_run, read_marts
from dashboards.page import Page, Section
from dashboards.windows import NHS_MOJ, Windows, read_windows
from dashboards.readmission_sections import (
    area_section,
    funnel_sections,
    quarter_section,
)
from dashboards.reoffending_sections import cohort_section, jdl_section
from dashboards.wellbeing_sections import change_table_section, distance_sections

MARTS = ("timebank_activity", "readmission_rates", "readmission_effects", "readmission_funnel", "reoffending_rates",
         "reoffending_effects", "wellbeing_change", "wellbeing_effects", "social_value", "impact_map", "effect_register",
         *coverage.MARTS)


def _values(frame: pd.DataFrame | None, column: str, where=None) -> list[str]:
    if frame is None or frame.empty:
        return []
    rows = frame if where is None else frame[where(frame)]
    return [str(v) for v in rows[column].dropna().unique()]


def page_filters(m: dict[str, pd.DataFrame | None]) -> list[Filter]:
    """Time banks, areas and years that appear in any mart the page reads (a year of the time banks' activity only
    when hours were exchanged in it: their quarters start at the first member's joining, years before any exchange)."""
    banks = (_values(m["timebank_activity"], "timebank_id")
             + _values(m["readmission_rates"], "value", lambda f: f["dimension"] == "timebank")
             + [p.removeprefix("timebank:") for p in _values(m["reoffending_rates"], "programme") if p.startswith("timebank:")]
             + [b for b in _values(m["wellbeing_change"], "timebank_id") if b != "none"]
             + [s for s in _values(m["social_value"], "scope") if s != "overall"])
    areas = _values(m["readmission_rates"], "value", lambda f: f["dimension"] == "area")
    years = ([q[:4] for q in _values(m["readmission_rates"], "value", lambda f: f["dimension"] == "quarter")]
             + [p[:4] for p in _values(m["reoffending_rates"], "cohort_period") if p != ALL]
             + [p[:4] for p in _values(m["timebank_activity"], "period_label", lambda f: f["hours_exchanged"] > 0)
                if p != "overall"]
             + [p[:4] for p in _values(m["wellbeing_change"], "period") if p != ALL])
    return [make_filter("timebank", "Time bank", "All time banks", banks),
            make_filter("area", "Area of residence", "All areas", areas, labels.area),
            make_filter("year", "Year", "All years", years)]


TILES = (
    ("active", "Active member accounts", ("timebank", "year"), lambda m, r, c: headlines.active_members(
        m["timebank_activity"], r, c["timebank"], c["year"], m["withheld_banks"](c["year"]))),
    ("hours", "Hours exchanged", ("timebank", "year"), lambda m, r, c: headlines.hours_exchanged(
        m["timebank_activity"], r, c["timebank"], c["year"], m["activity_quarters"])),
    ("readmission", "30-day emergency readmission", ("timebank", "area", "year"), lambda m, r, c: headlines.readmission(
        m["readmission_rates"], m["readmission_effects"], r, c["timebank"], c["area"], c["year"], m["windows"])),
    ("reoffending", "Proven reoffending within a year", ("timebank", "year"), lambda m, r, c: headlines.reoffending(
        m["reoffending_rates"], m["reoffending_effects"], r, c["timebank"], c["year"], m["windows"])),
    ("wellbeing", "Well-being: distance travelled per area", ("timebank", "year"), lambda m, r, c: headlines.wellbeing(
        m["wellbeing_effects"], r, c["timebank"], c["year"])),
    ("sroi", "Social return on investment", ("timebank",), lambda m, r, c: headlines.sroi(
        m["social_value"], m["impact_map"], c["timebank"])),
)


RESPONDS = {("timebank", "year"): "Responds to: time bank, year.", ("timebank", "area", "year"):
            "Responds to: time bank, area, year (one at a time).", ("timebank",): "Responds to: time bank (not year)."}


def tile_label(key: str, label: str, windows: Windows) -> str:
    """A tile's title, naming the readmission window and reoffending follow-up the run used."""
    return {"readmission": windows.readmission, "reoffending": windows.reoffending}.get(key, label)


def tiles_section(m: dict[str, pd.DataFrame | None], rule: DisclosureRule, filters: list[Filter], demo: bool,
                  windows: Windows = NHS_MOJ) -> Section:
    blocks, cells = [], []
    tag = "Demo: synthetic data" if demo else ""
    # What every filter state of the activity tiles shares, worked out once per page.
    ta = m["timebank_activity"]
    m = {**m, "activity_quarters": headlines.quarters(ta, rule), "windows": windows,
         "withheld_banks": functools.cache(lambda year: headlines.withheld_banks(ta, rule, year))}
    for key, label, dims, compute in TILES:
        label = tile_label(key, label, windows)
        block = variants(filters, dims, lambda choice, compute=compute, label=label, dims=dims: compute(m, rule, choice).item(
            label, RESPONDS[dims], tag))
        first = block.items["|".join([ALL] * len(dims))]
        blocks.append((f"tile-{key}", block))
        cells.append(f"<div class='tile' id='tile-{key}' role='group' aria-label='{html.escape(label, quote=True)}'>"
                     f"{first.html}</div>")
    return Section("Headline figures", "Six headline figures, each with its 95% interval (where it is an estimate), its n and "
                   "what it is compared with: ✓ better, ✗ worse or ? inconclusive (the interval includes no difference) "
                   "against the comparison named on the tile.",
                   html=f"<div class='tiles'>{''.join(cells)}</div>", blocks=blocks,
                   responds="Each tile says which filters it follows.")


def build_page(con: duckdb.DuckDBPyConnection, rule: DisclosureRule) -> Page:
    m = read_marts(con, MARTS, rule)
    filters = page_filters(m)
    demo = demo_run(con)
    windows = read_windows(con)
    sections = [
        *verdicts.sections(m, rule, windows),
        tiles_section(m, rule, filters, demo, windows),
        *coverage.sections(m, "readmission"),
        *funnel_sections(m["readmission_funnel"], rule),
        area_section(m["readmission_rates"], rule, filters, windows,
                     headlines.matched_comparison(m["readmission_effects"], rule)),
        *coverage.sections(m, "reciprocity"),
        activity_section(m["timebank_activity"], rule, filters),
        quarter_section(m["readmission_rates"], rule, filters, windows),
        *coverage.sections(m, "reoffending"),
        cohort_section(m["reoffending_rates"], rule, filters, windows),
        jdl_section(m["reoffending_rates"], m["reoffending_effects"], rule, filters, windows),
        *coverage.sections(m, "wellbeing"),
        *distance_sections(m["wellbeing_change"], rule, filters),
        change_table_section(m["wellbeing_change"], rule),
        glossary.terms_section(glossary.COMMISSIONER, rule, windows),
    ]
    return Page("commissioner.html", "For commissioners",
                "What the time banks and co-produced services achieved, outcome by outcome.", sections, filters, demo,
                more=f"Counts of 1 to {rule.suppress_max} are shown as * and others rounded to the nearest "
                     f"{rule.round_to}. Each result names the comparison it rests on; the evaluators' page has the "
                     "diagnostics behind it.")
