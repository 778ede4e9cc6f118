"""The funder page: grant metrics, the components of the reciprocity index, the reserved pot and its sensitivity.

Reads ``marts.grant_metrics`` (one row per grant), ``marts.timebank_activity`` (the index
components per time bank), ``marts.reciprocity_allocation`` (the pot split per funder, in
pence) and ``marts.reciprocity_allocation_sensitivity`` (the split under every alpha and
weight set). Definitions: docs/reciprocity.md. Member counts pass the disclosure rule; a
cost or share built on a suppressed count shows "*". Money is not a count and is shown as is.
"""

from __future__ import annotations

import duckdb
import pandas as pd
import plotly.graph_objects as go

from dashboards import charts
from dashboards.disclosure import DisclosureRule
from dashboards.marts import read, unavailable
from dashboards.page import PALETTE, Page, Section
from models.reciprocity.settings import INDEX_COMPONENTS

MARTS = ("grant_metrics", "timebank_activity", "reciprocity_allocation", "reciprocity_allocation_sensitivity")
COMPONENT_BASES = {"two_way_share": "trading_members", "mean_balance_index": "trading_members",
                   "weighted_reciprocity": "trading_members", "generalised_reciprocity": "trading_members",
                   "beneficiary_contribution_share": "beneficiary_members"}


def grant_sections(grants: pd.DataFrame | None, rule: DisclosureRule) -> list[Section]:
    if grants is None or grants.empty:
        return [unavailable("Grant metrics", {"marts.grant_metrics": grants})]
    rates = {"hours_exchanged": "active_members", "cost_per_active_member": "active_members",
             "cost_per_hour_exchanged": "active_members", "cost_per_two_way_member": "two_way_members",
             "reciprocity_index": "active_members", **{c: "active_members" for c in INDEX_COMPONENTS}}
    table = rule.table(grants.round(3), ["members", "active_members", "two_way_members", "exchanges"], rates)
    columns = ["grant_id", "funder", "timebank_id", "amount", "period_start", "period_end", "members", "active_members",
               "two_way_members", "hours_exchanged", "cost_per_active_member", "cost_per_hour_exchanged",
               "cost_per_two_way_member", "reciprocity_index", "index_coverage", "coproduction_band", "social_value",
               "reciprocity_weighted_social_value"]
    table = table[columns].assign(period_start=grants["period_start"].astype(str), period_end=grants["period_end"].astype(str))
    shown = grants[~grants["active_members"].map(rule.hides) & grants["cost_per_active_member"].notna()]
    title = "Cost per active member by grant"
    figure = go.Figure(go.Bar(x=charts.esc(shown["grant_id"]), y=shown["cost_per_active_member"], marker_color=PALETTE[0],
                              text=charts.esc(shown["funder"]), hovertemplate="%{x} (%{text}): £%{y:,.0f}<extra></extra>"))
    figure.update_layout(title=title, yaxis_title="£ per member account that traded in the grant period", height=380)
    cheapest = shown.loc[shown["cost_per_active_member"].idxmin()] if not shown.empty else None
    return [
        Section("Grant metrics", f"{len(grants)} grants from {grants['funder'].nunique()} funders, "
                f"£{grants['amount'].sum():,.0f} in all, each measured over its own time bank and period.",
                table=table, csv_name="funder-grant-metrics.csv",
                note="Active members: accounts that traded within the grant period. Costs are the grant amount over "
                     "the measure; the reciprocity-weighted social value is shown beside the social value, never instead."),
        Section(title, (f"{len(shown)} grants drawn; the lowest cost per active member is £{cheapest['cost_per_active_member']:,.0f} "
                        f"({cheapest['grant_id']}). Grants with fewer than {rule.suppress_max + 1} active members are withheld.")
                if cheapest is not None else "No grant has enough active members to publish a cost.",
                figure=figure if cheapest is not None else charts.no_data(title)),
    ]


def component_section(ta: pd.DataFrame | None, rule: DisclosureRule) -> Section:
    title = "Components of the reciprocity index by time bank"
    rows = None if ta is None else ta[ta["period_type"] == "overall"].sort_values("timebank_id")
    if rows is None or rows.empty:
        return unavailable(title, {"marts.timebank_activity": rows})
    table = rule.table(rows.round(3), ["trading_members", "beneficiary_members"],
                       {**COMPONENT_BASES, "reciprocity_index": "trading_members", "index_coverage": "trading_members"})
    shown = rows[~rows["trading_members"].map(rule.hides)]
    figure = go.Figure([go.Bar(x=charts.esc(shown["timebank_id"]), y=shown[c], name=c.replace("_", " "))
                        for c in (*INDEX_COMPONENTS, "reciprocity_index")])
    figure.update_layout(title=title, barmode="group", yaxis_title="share (0 to 1)", yaxis_range=[0, 1], height=420)
    best = shown.loc[shown["reciprocity_index"].idxmax()] if shown["reciprocity_index"].notna().any() else None
    summary = (f"The five components and the index for {len(shown)} time banks over the whole window; the highest index is "
               f"{best['reciprocity_index']:.2f} ({best['timebank_id']}).") if best is not None else (
        "No time bank has enough trading accounts to publish its index.")
    return Section(title, summary, figure=figure if not shown.empty else charts.no_data(title),
                   table=table[["timebank_id", "trading_members", "beneficiary_members", *INDEX_COMPONENTS,
                                "reciprocity_index", "index_coverage"]],
                   csv_name="funder-index-components.csv",
                   note="Two-way share, mean balance index, weighted reciprocity (Squartini et al. 2013), generalised "
                        "reciprocity (hours on cycles of three or more) and beneficiaries' contribution; docs/reciprocity.md.")


def allocation_section(allocation: pd.DataFrame | None) -> Section:
    title = "Allocation of the reserved reciprocity pot"
    if allocation is None or allocation.empty:
        return unavailable(title, {"marts.reciprocity_allocation": allocation})
    figure = go.Figure([go.Bar(x=charts.esc(g["grant_id"]), y=g["allocation"], name=charts.esc([funder])[0])
                        for funder, g in allocation.groupby("funder", sort=True)])
    figure.update_layout(title=title, yaxis_title="allocation (£)", height=380)
    pots = allocation.groupby("funder")["reserved_pot"].first()
    columns = ["funder", "grant_id", "timebank_id", "amount", "reserved_pot", "allocation_rule", "alpha", "reciprocity_index",
               "allocation_share", "allocation", "basis"]
    return Section(title, f"{len(pots)} funders reserve £{pots.sum():,.2f} in all "
                   f"({100 * allocation['reserved_pot_share'].iloc[0]:.0f}% of their grants), split between "
                   f"{len(allocation)} grants in proportion to the allocation weight; allocations sum to each pot to the penny.",
                   figure=figure, table=allocation[columns].round(4), csv_name="funder-allocation.csv")


def sensitivity_section(sensitivity: pd.DataFrame | None) -> Section:
    title = "Sensitivity of the allocation to alpha and the index weights"
    if sensitivity is None or sensitivity.empty:
        return unavailable(title, {"marts.reciprocity_allocation_sensitivity": sensitivity})
    g = sensitivity.groupby(["funder", "grant_id"], sort=True)
    summary = g.agg(base=("base_allocation_pence", "first"), low=("allocation_pence", "min"), high=("allocation_pence", "max"),
                    best_rank=("rank", "min"), worst_rank=("rank", "max")).reset_index()
    for c in ("base", "low", "high"):
        summary[c] = summary[c] / 100
    summary["range"] = summary["high"] - summary["low"]
    label = charts.esc(summary["funder"] + ": " + summary["grant_id"])
    figure = go.Figure([
        go.Scatter(x=summary["low"], y=label, mode="markers", name="lowest allocation", marker={"symbol": "triangle-left", "size": 10, "color": PALETTE[1]}),
        go.Scatter(x=summary["base"], y=label, mode="markers", name="allocation under the settings", marker={"symbol": "diamond", "size": 11, "color": PALETTE[0]}),
        go.Scatter(x=summary["high"], y=label, mode="markers", name="highest allocation", marker={"symbol": "triangle-right", "size": 10, "color": PALETTE[2]}),
    ])
    figure.update_layout(title=title, xaxis_title="allocation (£)", height=max(320, 60 + 26 * len(summary)), yaxis_autorange="reversed")
    widest = summary.loc[summary["range"].idxmax()]
    n_alpha, n_sets = sensitivity["alpha"].nunique(), sensitivity["weight_set"].nunique()
    return Section(title, f"Each grant's allocation under {n_alpha} values of alpha and {n_sets} weight sets. The widest range is "
                   f"{widest['grant_id']} (£{widest['low']:,.2f} to £{widest['high']:,.2f}); ranks within a funder move "
                   f"by up to {int((summary['worst_rank'] - summary['best_rank']).max())} places.",
                   figure=figure, table=summary.round(2), csv_name="funder-allocation-sensitivity.csv",
                   note="Weight sets: the settings' weights (base), equal weights, each component left out in turn, and any "
                        "named in the settings.")


def build_page(con: duckdb.DuckDBPyConnection, rule: DisclosureRule) -> Page:
    m = {name: read(con, f"marts.{name}") for name in MARTS}
    sections = [*grant_sections(m["grant_metrics"], rule), component_section(m["timebank_activity"], rule),
                allocation_section(m["reciprocity_allocation"]), sensitivity_section(m["reciprocity_allocation_sensitivity"])]
    return Page("funder.html", "For funders", "What each grant bought, how reciprocal the exchanges it paid for were, and how "
                "a reserved pot would be shared by reciprocity, with how much that depends on the choices made.", sections)
