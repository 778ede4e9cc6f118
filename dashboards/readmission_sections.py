"""Commissioner sections on readmission: funnel plots, rates by area and by quarter.

Sources: ``marts.readmission_funnel`` (risk-adjusted observed/expected per provider and time
bank, Spiegelhalter limits at 95% and 99.8%) and ``marts.readmission_rates`` (crude NHS 30-day
emergency readmission rates with Wilson intervals). A unit whose readmissions or discharges
are 1 to the suppression threshold is left off the chart and shows "*" in the table.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from dashboards import charts, labels
from models.intervals import wilson_interval
from models.readmission.funnel import outlier_flag
from models.disclosure import SUPPRESSED, DisclosureRule
from dashboards.filters import ALL, Filter, Item, variants
from dashboards.marts import unavailable
from dashboards.page import PALETTE, Section
from dashboards.windows import NHS_MOJ, Windows
from dashboards.labels import plural
from dashboards.tiles import pct


def _published(frame: pd.DataFrame, rule: DisclosureRule, k: str, n: str, name: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(rows that may be drawn, the table as published).

    Counts through the rule; a crude ``rate`` and its Wilson interval are recomputed from the
    published counts (an interval from the exact counts would give them back); other statistics
    on a suppressed count are suppressed. The drawn rows carry the published rate and interval.
    """
    rates = [c for c in ("ratio", "expected", "observed_rate", "standardised_rate", "z", "z_adjusted", "outlier_95", "outlier_998",
                         "lower_95", "upper_95", "lower_998", "upper_998")
             if c in frame.columns]
    ratios = {"rate": (k, n, 1.0, True)} if "rate" in frame.columns else {}
    # "0 of *" says that none of a group of 1-7 had the outcome: the events are withheld with the group
    table = rule.table(frame.round(4), [k, n], {k: n, **{c: (k, n) for c in rates}}, ratios, name=name)
    if "rate" in frame.columns:
        bounds = [wilson_interval(rule.published(a), rule.published(b)) if r not in (SUPPRESSED, None) else (r, r)
                  for a, b, r in zip(frame[k], frame[n], table["rate"])]
        table["ci_low"] = [b[0] if isinstance(b[0], str) or b[0] is None else round(float(b[0]), 4) for b in bounds]
        table["ci_high"] = [b[1] if isinstance(b[1], str) or b[1] is None else round(float(b[1]), 4) for b in bounds]
        table["rate"] = [r if isinstance(r, str) or r is None else round(r, 4) for r in table["rate"]]
    hidden = frame[k].map(rule.hides) | frame[n].map(rule.hides)
    shown = table[~hidden.to_numpy()].copy()
    for column in ("rate", "ci_low", "ci_high", "ratio", "expected", "lower_998", "upper_998"):
        if column in shown.columns:
            shown[column] = pd.to_numeric(shown[column])
    return shown, table


def _on_published_counts(rows: pd.DataFrame, rule: DisclosureRule) -> pd.DataFrame:
    """The funnel's ratio (observed / expected) from the published observed count, and its flags against the limits
    (which rest on the expected count alone): the ratio of the exact count, times the expected count published beside
    it, gave the count back (1.0236 × 37.1235 = 38 beside "40")."""
    ratio = rows["observed"].map(rule.published).astype(float) / rows["expected"].where(rows["expected"] > 0)
    judged = ratio.notna().to_numpy()  # no ratio (nothing expected), no flag: as the mart leaves it
    return rows.assign(ratio=ratio, outlier_95=np.where(judged, outlier_flag(ratio, rows["lower_95"], rows["upper_95"]), None),
                       outlier_998=np.where(judged, outlier_flag(ratio, rows["lower_998"], rows["upper_998"]), None))


#: the fewest units a funnel plot is drawn for: one or two points say nothing about spread around the whole
FUNNEL_MIN_UNITS = 3


def funnel_sections(funnel: pd.DataFrame | None, rule: DisclosureRule) -> list[Section]:
    sections = []
    for unit_type, words in (("provider", "provider"), ("timebank", "time bank")):
        title = f"Risk-adjusted readmission by {words}: funnel plot"
        rows = None if funnel is None else funnel[funnel["unit_type"] == unit_type].sort_values("expected")
        if rows is None or rows.empty:
            sections.append(unavailable(title, {"marts.readmission_funnel": rows}))
            continue
        shown, table = _published(_on_published_counts(rows, rule), rule, "observed", "discharges", f"funnel {unit_type}")
        hidden = len(rows) - len(shown)
        outside = shown[shown["outlier_998"] != "within"]
        warned = shown[(shown["outlier_998"] == "within") & (shown["outlier_95"] != "within")]
        drawn = "drawn" if len(shown) >= FUNNEL_MIN_UNITS else f"with publishable counts, too few to draw (fewer than {FUNNEL_MIN_UNITS})"
        summary = (f"{plural(len(shown), words)} {drawn}; {len(outside)} outside the 99.8% limits"
                   + (f" ({', '.join(f'{u} {s}' for u, s in zip(outside['unit'], outside['outlier_998']))})" if len(outside) else "")
                   + (f"; {len(warned)} outside the 95% limits only, which chance alone puts about 1 in 20 units "
                      f"({', '.join(f'{u} {s}' for u, s in zip(warned['unit'], warned['outlier_95']))})" if len(warned) else "")
                   + (f". {hidden} not shown because their counts are below the publication threshold" if hidden else "")
                   + ". Each unit is compared with the whole (target 1), not ranked against the others.")
        # too few units: no chart (an empty box of 260 px said only what the summary says), the table gives each one
        figure = charts.funnel(shown, title) if len(shown) >= FUNNEL_MIN_UNITS else None
        if figure is None:
            summary += (f" A funnel plot compares several units with the whole, so it is drawn for {FUNNEL_MIN_UNITS} or "
                        "more; the table gives each one.")
        columns = ["unit", "discharges", "observed", "expected", "ratio", "lower_95", "upper_95", "lower_998", "upper_998",
                   "outlier_95", "outlier_998", "overdispersion"]
        sections.append(Section(title, summary, figure=figure, table=table[columns],
                                csv_name=f"commissioner-funnel-{unit_type}.csv", responds="Not filtered.", values_in_text=True,
                                note=("Filled triangles: beyond the 99.8% limits (up: above, down: below); open "
                                      "triangles: beyond the 95% limits only; circles: within the 95% limits. "
                                      if figure is not None else "")
                                     + "Expected counts come from a case-mix model (age, sex, IMD, prior "
                                     "admissions, specialty). Each ratio is the published (rounded) observed count over "
                                     "the expected count, and is judged against the limits as published."
                                     + (" Where two units' names would overlap on a small screen, the less unusual one "
                                        "is left to the table (and the chart's hover)." if figure is not None else "")))
    return sections


def area_section(rates: pd.DataFrame | None, rule: DisclosureRule, filters: list[Filter],
                 windows: Windows = NHS_MOJ, matched: float | None = None) -> Section:
    """Crude rates by area against all discharges; ``matched``: the matched comparison's rate the headline tile
    publishes (:func:`dashboards.headlines.matched_comparison`), which the summary sets beside the benchmark."""
    title = "Readmission rate by area of residence"
    rows = None if rates is None else rates[rates["dimension"] == "area"].sort_values("value")
    if rows is None or rows.empty:
        return unavailable(title, {"marts.readmission_rates": rows})
    rows = rows.assign(value=rows["value"].map(labels.area))
    shown, table = _published(rows, rule, "readmissions", "discharges", "readmission by area")
    overall = rates[rates["dimension"] == "overall"]
    bench = rule.ratio(overall["readmissions"].sum(), overall["discharges"].sum()) if not overall.empty else None
    # the tile above gives the matched comparison's rate and this chart all discharges': which is right, a commissioner
    # asked, seeing 6.5% and 10.1% with nothing between them
    gap = (f" All discharges are everyone discharged; the headline figures compare participants with discharges of "
           f"people like them (matched comparison {pct(matched)}), the comparison to judge them by."
           if matched is not None and isinstance(bench, (int, float)) else "")
    line = ", the dashed line" if isinstance(bench, (int, float)) else ""  # a suppressed benchmark is not drawn

    def build(choice: dict[str, str]) -> Item:
        area = labels.area(choice["area"])
        figure = charts.rate_bars(shown, "value", title, f"readmitted {windows.readmitted_within} (%)", bench)
        # names in lines of up to 16 characters: in one line ("Redcar and Cleveland (E06000003)") plotly turned them on
        # end at 320 px, they took most of the chart's height and its y-axis title ran into the chart's title
        # the selected area's bar is hatched as well as orange: told apart by colour alone, it failed WCAG 2.2 1.4.1
        figure.update_traces(selector={"type": "bar"}, x=charts.wrapped(shown["value"], 16),
                             marker_color=[PALETTE[1] if v == area else PALETTE[0] for v in shown["value"]],
                             marker_pattern_shape=[charts.pattern(1)["shape"] if v == area else "" for v in shown["value"]])
        picked = shown[shown["value"] == area]
        focus = (f" Selected area {area}: {pct(picked['rate'].iloc[0])}." if not picked.empty else
                 f" Selected area {area}: not published (small numbers)." if area != ALL else "")
        return Item(f"Crude {windows.readmission_lower} rate in {plural(len(shown), 'area')} against all discharges "
                    f"({pct(bench)}{line}).{focus}{gap}", figure)

    return Section.filtered(title, variants(filters, ("area",), build), "Responds to: area (its bar orange and hatched).",
                            table=_in_percent(table, "area"), csv_name="commissioner-readmission-by-area.csv", values_in_text=True,
                            note="Rates and their 95% Wilson intervals in per cent, from the published (rounded) counts.")


def _in_percent(table: pd.DataFrame, key: str) -> pd.DataFrame:
    """The published rate table as the page and CSV show it: ``value`` named ``key``, rate and interval in per cent."""
    published = table[["value", "discharges", "readmissions"]].rename(columns={"value": key})
    for column in ("rate", "ci_low", "ci_high"):  # per cent, as the chart draws them
        published[f"{column}_pct"] = [v if isinstance(v, str) or v is None else round(100 * v, 1) for v in table[column]]
    return published


def quarter_label(value: object) -> str:
    """A quarter as the activity and reoffending sections and their CSVs write it: '2022Q1' (the mart's) -> '2022-Q1'."""
    return re.sub(r"^(\d{4})-?Q([1-4])$", r"\1-Q\2", str(value))


def quarter_section(rates: pd.DataFrame | None, rule: DisclosureRule, filters: list[Filter],
                    windows: Windows = NHS_MOJ) -> Section:
    title = "Readmission rate by quarter"
    rows = None if rates is None else rates[rates["dimension"] == "quarter"].sort_values("value")
    if rows is None or rows.empty:
        return unavailable(title, {"marts.readmission_rates": rows})
    rows = rows.assign(value=rows["value"].map(quarter_label))
    shown, table = _published(rows, rule, "readmissions", "discharges", "readmission by quarter")
    published = _in_percent(table, "quarter")

    def build(choice: dict[str, str]) -> Item:
        year = choice["year"]
        picked = shown if year == ALL else shown[shown["value"].astype(str).str.startswith(year)]
        listed = published if year == ALL else published[published["quarter"].astype(str).str.startswith(year)]
        if picked.empty:
            return Item(f"No published quarter in {year}.", charts.no_data(title), table=listed)
        figure = charts.rate_bars(picked, "value", title, f"readmitted {windows.readmitted_within} (%)")
        high = picked.loc[picked["rate"].idxmax()]
        return Item(f"Crude {windows.readmission_lower} rate in {plural(len(picked), 'quarter')} "
                    f"({'all years' if year == ALL else year}), from {pct(picked['rate'].min())} to "
                    f"{pct(picked['rate'].max())}; highest in {high['value']}. Bars show 95% Wilson intervals.", figure,
                    table=listed)

    return Section.filtered(title, variants(filters, ("year",), build), "Responds to: year (chart, summary and table).",
                            table=published, csv_name="commissioner-readmission-by-quarter.csv", values_in_text=True,
                            note="Rates and their 95% Wilson intervals in per cent, from the published (rounded) counts; "
                                 "the CSV holds every quarter, the table on the page follows the year.")
