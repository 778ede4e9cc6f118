"""Commissioner section: time-bank activity by quarter (``marts.timebank_activity``).

Hours exchanged are the hours of exchange and group rows in the period. A time bank's
quarter with 1 to the suppression threshold of trading accounts is not drawn (its hours
would describe a handful of people).
"""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from dashboards import charts
from dashboards.disclosure import DisclosureRule
from dashboards.filters import ALL, Filter, Item, variants
from dashboards.marts import unavailable
from dashboards.page import Section


def activity_section(ta: pd.DataFrame | None, rule: DisclosureRule, filters: list[Filter]) -> Section:
    title = "Time-bank activity by quarter"
    rows = None if ta is None else ta[ta["period_type"] != "overall"].sort_values(["period_start", "timebank_id"])
    if rows is None or rows.empty:
        return unavailable(title, {"marts.timebank_activity": rows})
    hidden = rows["trading_members"].map(rule.hides)
    shown = rows[~hidden]

    def build(choice: dict[str, str]) -> Item:
        tb, year = choice["timebank"], choice["year"]
        picked = shown if tb == ALL else shown[shown["timebank_id"] == tb]
        picked = picked if year == ALL else picked[picked["period_label"].astype(str).str.startswith(year)]
        n_hidden = int((hidden & ((rows["timebank_id"] == tb) | (tb == ALL))).sum())
        if picked.empty:
            return Item(f"No published quarter of activity for this selection ({n_hidden} withheld for small numbers).",
                        charts.no_data(title))
        figure = go.Figure([go.Bar(x=charts.esc(g["period_label"]), y=g["hours_exchanged"], name=charts.esc([bank])[0])
                            for bank, g in picked.groupby("timebank_id", sort=True)])
        figure.update_layout(title=title, barmode="stack", yaxis_title="hours exchanged", height=380)
        by_quarter = picked.groupby("period_label")["hours_exchanged"].sum()
        return Item(f"{by_quarter.sum():,.0f} hours exchanged over {len(by_quarter)} quarters "
                    f"({'every time bank' if tb == ALL else 'time bank ' + tb}, {'all years' if year == ALL else year}); "
                    f"busiest quarter {by_quarter.idxmax()} with {by_quarter.max():,.0f} hours. "
                    f"{n_hidden} time-bank quarters withheld (fewer than {rule.suppress_max + 1} trading accounts).", figure)

    table = rule.table(rows.round(2), ["members", "active_members", "trading_members", "exchanges"],
                       {"hours_exchanged": "trading_members", "reciprocity_index": "trading_members"})
    columns = ["timebank_id", "period_label", "members", "active_members", "trading_members", "exchanges",
               "hours_exchanged", "reciprocity_index"]
    return Section.filtered(title, variants(filters, ("timebank", "year"), build), "Responds to: time bank, year.",
                            table=table[columns], csv_name="commissioner-activity-by-quarter.csv")
