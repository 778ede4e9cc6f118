"""Commissioner section: time-bank activity by quarter (``marts.timebank_activity``).

Hours exchanged are the hours of exchange and group rows in the period. A time bank's
quarter with 1 to the suppression threshold of trading accounts is withheld from the chart,
the table and the hours tile alike (its hours would describe a handful of people), with a
second quarter of its bank (the bank's hours in all are in the evaluator's impact map); quarters
before a bank's first trade are left out. The chart, its summary, its table and the hours
tile are built from the same published rows (:func:`dashboards.headlines.quarters`).
"""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from dashboards import charts
from dashboards.filters import ALL, Filter, Item, variants
from dashboards.headlines import QUARTER_TOTALS, _pick, quarters
from dashboards.labels import plural
from dashboards.marts import unavailable
from dashboards.page import Section
from models.disclosure import DisclosureRule

COLUMNS = ["timebank_id", "period_label", "members", "active_members", "trading_members", "exchanges", "hours_exchanged",
           "reciprocity_index"]


def published_quarters(rows: pd.DataFrame, rule: DisclosureRule) -> pd.DataFrame:
    """The quarters as published: counts through the rule, secondary suppression within each time bank's quarters
    and each quarter's banks (:data:`dashboards.headlines.QUARTER_TOTALS`)."""
    table = rule.table(rows.round(2), ["trading_members", "members", "active_members", "exchanges"],
                       {"hours_exchanged": "trading_members", "reciprocity_index": "trading_members"},
                       secondary=list(QUARTER_TOTALS), name="activity by quarter")
    return table[COLUMNS]


def activity_section(ta: pd.DataFrame | None, rule: DisclosureRule, filters: list[Filter]) -> Section:
    title = "Time-bank activity by quarter"
    shown, hidden = quarters(ta, rule)
    if shown.empty and hidden.empty:
        return unavailable(title, {"marts.timebank_activity": None if ta is None else shown})
    everything = pd.concat([shown, hidden]).sort_values(["period_start", "timebank_id"])
    table = published_quarters(everything, rule)
    drawn = shown

    def build(choice: dict[str, str]) -> Item:
        tb, year = choice["timebank"], choice["year"]
        picked = _pick(drawn, tb, year)
        withheld = len(_pick(everything, tb, year)) - len(picked)
        rows = table.loc[_pick(everything, tb, year).index]
        scope = f"{'every time bank' if tb == ALL else 'time bank ' + tb}, {'all years' if year == ALL else year}"
        if picked.empty or picked["hours_exchanged"].sum() == 0:
            return Item(f"No hours exchanged in a published quarter for this selection ({scope}); "
                        f"{plural(withheld, 'time-bank quarter')} withheld for small numbers.",
                        charts.no_data(title, "No published hours for this selection."), table=rows)
        figure = go.Figure([go.Bar(x=charts.esc(g["period_label"]), y=g["hours_exchanged"], name=charts.esc([bank])[0],
                                   marker_pattern=charts.pattern(i))
                            for i, (bank, g) in enumerate(picked.groupby("timebank_id", sort=True))])
        figure.update_layout(title=title, barmode="stack", yaxis_title="hours exchanged", yaxis_rangemode="tozero",
                             height=380, xaxis={"categoryorder": "category ascending", "dtick": 1})  # every quarter
        # named: at 320 px plotly printed every other one (8 of 16), as it did every other grant on the funder page
        by_quarter = picked.groupby("period_label")["hours_exchanged"].sum()
        return Item(f"{by_quarter.sum():,.0f} hours exchanged over {plural(len(by_quarter), 'quarter')} ({scope}); busiest "
                    f"quarter {by_quarter.idxmax()} with {by_quarter.max():,.0f} hours. {plural(withheld, 'time-bank quarter')}"
                    f" withheld (1 to {rule.suppress_max} trading accounts, or to protect one that has).",
                    figure, table=rows)

    return Section.filtered(title, variants(filters, ("timebank", "year"), build),
                            "Responds to: time bank, year (chart, summary and table).",
                            table=table, csv_name="commissioner-activity-by-quarter.csv", values_in_text=True,
                            note="Members: accounts whose membership overlaps the quarter. Active members: accounts with an "
                                 "exchange in the 12 months to the quarter's end (the time-banking convention), so a "
                                 "quarter can have more active members than members, when some left during the year. The "
                                 "CSV holds every quarter of every time bank; the table on the page follows the filters.")
