"""The funder page: grant metrics, the components of the reciprocity index, the reserved pot and its sensitivity.

Reads ``marts.grant_metrics`` (one row per grant), ``marts.timebank_activity`` (the index
components per time bank), ``marts.reciprocity_allocation`` (the pot split per funder, in
pence) and ``marts.reciprocity_allocation_sensitivity`` (the split under every alpha and
weight set). Definitions: docs/reciprocity.md. Member counts pass the disclosure rule; a
cost or share built on a suppressed count shows "*". Money is not a count and is shown as is.

Each grant is measured over its observed period, the part of its period inside the data window
(the exchange log's extent), and costed on the matching share of its amount (spent evenly over
the grant period): the page states the window and shows each grant's observed period and share.
"""

from __future__ import annotations

import html

import duckdb
import pandas as pd
import plotly.graph_objects as go

from dashboards import charts, coverage
from dashboards.headlines import NOT_PER_BANK
from models.disclosure import SUPPRESSED, DisclosureRule, Withheld
from dashboards.labels import heading, money, pct, plural
from dashboards.marts import demo_run, read_marts, unavailable
from dashboards.page import PALETTE, Page, Section
from models.reciprocity.settings import INDEX_COMPONENTS

MARTS = ("grant_metrics", "timebank_activity", "reciprocity_allocation", "reciprocity_allocation_sensitivity", *coverage.MARTS)
COMPONENT_BASES = {"mean_balance_index": "trading_members", "weighted_reciprocity": "trading_members",
                   "generalised_reciprocity": "trading_members"}
#: The two components that are shares of members: recomputed from the published (rounded) counts, as the HES rule
#: asks of percentages (0.562992 beside "255" was 143 of 254 trading members).
COMPONENT_SHARES = {"two_way_share": ("two_way_members", "trading_members", 1.0, True),
                    "beneficiary_contribution_share": ("beneficiary_givers", "beneficiary_members", 1.0, True)}


GRANT_RATES = {"hours_exchanged": "active_members", "reciprocity_index": "active_members", "index_coverage": "active_members",
               "social_value": "active_members", "reciprocity_weighted_social_value": "active_members",
               **{c: "active_members" for c in INDEX_COMPONENTS}}
#: A cost with nothing to divide by (no two-way members, hours or active members in the observed period).
NOT_APPLICABLE = "n/a"
#: A grant's social value when its time bank has none (no outcome valued for one time bank: the shipped maps measure
#: the outcomes for the programme as a whole and report hours as outputs). An empty cell, or £0, read as "no value".
NOT_VALUED = "not valued per time bank"
GRANT_RATIOS = {"cost_per_active_member": ("observed_amount", "active_members", 1.0, False),
                "cost_per_hour_exchanged": ("observed_amount", "hours_exchanged", 1.0, False),
                "cost_per_two_way_member": ("observed_amount", "two_way_members", 1.0, False)}


def published_grants(grants: pd.DataFrame, rule: DisclosureRule, withheld: Withheld) -> pd.DataFrame:
    """The grant table as published: member counts through the rule, costs from the published counts.

    Costs are the observed amount over the published counts of the observed period. Cost per hour is the observed
    amount over hours, and hours rest on the active members: suppressed with them. A cost is ``*`` whenever the
    figure it divides by is (the two-way members of a grant with 1-7 active members are ``*`` even when none: a
    blank there read as "no cost"), and ``n/a`` when that figure is a published 0 (nothing to divide by). The index
    (and its coverage) and the social value (and its weighted form) of a grant ``withheld`` for them
    (``withheld_grants``) are ``*``.
    """
    frame = grants.round(3).assign(observed_amount=grants["observed_amount"].round(2))
    # "0 two-way" beside suppressed active members says none of the 1-7 both gave and received
    table = rule.table(frame, ["members", "active_members", "two_way_members", "exchanges"],
                       {**GRANT_RATES, "two_way_members": "active_members"},
                       {k: v for k, v in GRANT_RATIOS.items() if k != "cost_per_hour_exchanged"}, name="grant metrics")
    table["cost_per_hour_exchanged"] = [a / h if isinstance(h, float) and h else None
                                        for a, h in zip(frame["observed_amount"], table["hours_exchanged"])]
    for column, (_, divisor, _, _) in GRANT_RATIOS.items():  # * with what it divides by; n/a when that is 0
        table[column] = [SUPPRESSED if d == SUPPRESSED else round(v, 2) if isinstance(v, float) and pd.notna(v)
                         else NOT_APPLICABLE for v, d in zip(table[column], table[divisor])]
    columns = ["grant_id", "funder", "timebank_id", "amount", "period_start", "period_end", "observed_start",
               "observed_end", "observed_share", "observed_amount", "members", "active_members",
               "two_way_members", "hours_exchanged", "cost_per_active_member", "cost_per_hour_exchanged",
               "cost_per_two_way_member", "reciprocity_index", "index_coverage", "coproduction_band", "social_value",
               "reciprocity_weighted_social_value"]
    table = withheld.apply(table, "reciprocity_index", ["grant_id"], ("index_coverage",))
    table = withheld.apply(table, "social_value", ["grant_id"], ("reciprocity_weighted_social_value",))
    # no value to withhold or show: its time bank has none (marts.grant_metrics.social_value is NULL), said in words
    none = not_valued(grants).to_numpy()
    for column in ("social_value", "reciprocity_weighted_social_value"):
        table[column] = table[column].astype(object)
        table.loc[none, column] = NOT_VALUED
    return table[columns].assign(**{c: grants[c].dt.strftime("%Y-%m-%d")
                                    for c in ("period_start", "period_end", "observed_start", "observed_end")})


def not_valued(grants: pd.DataFrame) -> pd.Series:
    """Grants with no social value because their time bank has none (not a value withheld)."""
    return grants["social_value"].isna()


def withheld_grants(grants: pd.DataFrame | None, allocation: pd.DataFrame | None, rule: DisclosureRule) -> Withheld:
    """The grants whose index or social value is withheld on every part of the page (``Withheld``, keyed by grant_id).

    * ``reciprocity_index``: a grant with 1 to ``suppress_max`` active members (its index rests on them), and, with a
      funder's lone such grant, its next smallest allocation: a funder's allocations add up to its published pot, so
      the pot less the others gives the two together, and the other's index would split them (allocation = pot ×
      index / Σ index, Σ index being any published allocation's pot × index / allocation). Both grants' index, index
      coverage, allocation share and allocation are withheld in every table and chart, the sensitivity too;
    * ``social_value``: the same small grants, and every other grant of their time banks. A time bank's value is
      published (commissioner page, impact map) and shared among its grants by hours, so any published grant gives the
      bank's value per hour; the bank's value over it gives all its grants' hours, and those less the published hours
      give the small grant's hours (and its value and cost per hour) back. Withholding one more grant's value does not
      stop it, since that grant's hours are published: only banks with no small grant show their grants' values.

    The second grant of a pot is chosen by ``DisclosureRule.withheld_cells`` (the shared secondary-suppression rule)
    with the small grants as its primary cells: it is the next smallest non-empty cell, because a funder's other grants
    with no allocation (no index) leave the small one's allocation the whole pot, whatever its index.
    """
    withheld = Withheld()
    if grants is None or grants.empty:
        return withheld
    small = grants["active_members"].map(rule.hides).astype(bool)
    withheld.add("reciprocity_index", grants, ["grant_id"], small)
    withheld.add("social_value", grants, ["grant_id"], grants["timebank_id"].isin(grants.loc[small, "timebank_id"]))
    if allocation is not None and not allocation.empty:
        withhold_partners(withheld, "reciprocity_index", allocation, "allocation", "funder", rule)
    return withheld


def withhold_partners(withheld: Withheld, statistic: str, frame: pd.DataFrame, column: str, group: str,
                      rule: DisclosureRule) -> None:
    """Withhold ``statistic`` for one more grant of every ``group`` of ``frame`` (a funder's pot) holding exactly one
    withheld grant: the one with the next smallest non-empty ``column``."""
    primary = withheld.rows(frame, statistic, ["grant_id"])
    cells = rule.withheld_cells(frame, column, [(pd.Series(True, index=frame.index), [group])], primary=primary)
    withheld.add(statistic, frame, ["grant_id"], cells)


def data_window(grants: pd.DataFrame) -> str:
    """The data window and how many grants ran partly or wholly outside it, in words (one or two sentences)."""
    start, end = grants["data_start"].iloc[0], grants["data_end"].iloc[0]
    if pd.isna(start):
        return "There is no exchange log, so no grant could be observed."
    share = grants["observed_share"]
    partly, outside = grants[(share > 0) & (share < 1)], int((share == 0).sum())
    before, after = int((partly["period_start"] < start).sum()), int((partly["period_end"] > end).sum())
    text = f"The data window is {start:%Y-%m-%d} to {end:%Y-%m-%d}; " + (
        f"{plural(len(partly), 'grant')} ran partly outside it ({before} began before it, {after} end after it), so "
        "each grant is measured over the part of its period inside it and costed on the same share of its amount "
        f"({money(grants['observed_amount'].sum())} of the {money(grants['amount'].sum())}), taking a grant to be "
        "spent evenly over its period." if len(partly) else
        "every grant it measures ran inside it." if outside else "every grant ran inside it.")
    return text + (f" {plural(outside, 'grant')} {'lies' if outside == 1 else 'lie'} wholly outside it and "
                   f"{'is' if outside == 1 else 'are'} not measured (no costs: n/a)." if outside else "")


def _number(v) -> float | None:
    return None if v is None or isinstance(v, str) or pd.isna(v) else float(v)


def _withheld_split(pot: pd.DataFrame, grants: pd.DataFrame, withheld: Withheld, rule: DisclosureRule) -> str:
    """Why a funder's pot split shows a grant's allocation as ``*`` (" G010 *" said nothing): a grant with 1 to
    ``suppress_max`` active members, or the grant withheld with it (:func:`withheld_grants`). Empty when none is."""
    hidden = [str(a["grant_id"]) for a in published_allocation(pot, withheld).to_dict("records")
              if isinstance(a["allocation"], str) and a["allocation"] == SUPPRESSED]
    if not hidden:
        return ""
    small = set(grants.loc[grants["active_members"].astype(object) == SUPPRESSED, "grant_id"].astype(str))
    few, partners = [g for g in hidden if g in small], [g for g in hidden if g not in small]
    parts = [f"{' and '.join(few)} {'has' if len(few) == 1 else 'have'} 1 to {rule.suppress_max} active "
             "members" if few else "",
             f"{' and '.join(partners)} {'is' if len(partners) == 1 else 'are'} withheld with "
             f"{'it' if len(few) == 1 else 'them'}, as the pot less the other grants would give "
             f"{'its' if len(few) == 1 else 'their'} share" if partners and few else
             f"{' and '.join(partners)}: withheld with another grant, as the pot less the others would give its share"
             if partners else ""]
    return f" * withheld: {'; '.join(p for p in parts if p)}."


def summary_section(grants: pd.DataFrame | None, allocation: pd.DataFrame | None, rule: DisclosureRule,
                    withheld: Withheld) -> Section:
    """Per funder: grants, money, hours of exchange while they ran, two-way participation, reserved pot and its split."""
    title = "Your grants at a glance"
    if grants is None or grants.empty:
        return unavailable(title, {"marts.grant_metrics": grants})
    table = published_grants(grants, rule, withheld)
    rows, items = [], []
    for funder, g in table.groupby("funder", sort=True):
        counted = g[g["active_members"].astype(object) != SUPPRESSED]  # hours and costs rest on the active members
        shown = counted[counted["two_way_members"].astype(object) != SUPPRESSED]
        active = sum(_number(v) or 0 for v in shown["active_members"])
        two_way = sum(_number(v) or 0 for v in shown["two_way_members"])
        hours = sum(_number(v) or 0 for v in counted["hours_exchanged"])
        share = two_way / active if active else None
        pot = None if allocation is None or allocation.empty else allocation[allocation["funder"] == funder]
        pot_total = float(pot["reserved_pot"].iloc[0]) if pot is not None and not pot.empty else None
        # whole pounds, as the grants and the pot are: the allocation table and its CSV give the pence
        split = "" if pot is None or pot.empty else "; ".join(
            f"{a['grant_id']} {money(a['allocation']) if not isinstance(a['allocation'], str) else a['allocation']}"
            for a in published_allocation(pot, withheld).to_dict("records"))
        rows.append({"funder": funder, "grants": len(g), "amount": float(g["amount"].sum()),
                     "observed_amount": round(float(g["observed_amount"].sum()), 2),
                     "grants_published": len(shown), "active_members": int(active), "hours_exchanged": round(hours, 1),
                     "two_way_members": int(two_way),
                     "two_way_share_of_active_members": None if share is None else round(share, 3),
                     "reserved_pot": pot_total, "pot_split": split})
        left_out = "; ".join(part for part in (
            f"{plural(len(g) - len(counted), 'grant')} with 1 to {rule.suppress_max} active members left out"
            if len(counted) < len(g) else "",
            f"{plural(len(counted) - len(shown), 'grant')} with 1 to {rule.suppress_max} members who both gave and "
            "received left out of the share" if len(shown) < len(counted) else "") if part)
        items.append(f"<li><p class='head'>{html.escape(str(funder))}</p><p>{html.escape(plural(len(g), 'grant'))} worth "
                     f"{money(g['amount'].sum())} ({money(g['observed_amount'].sum())} of it within the data window, "
                     f"if each is spent evenly over its period); in the window, their time banks logged {hours:,.0f} hours "
                     "of exchange while they ran. "
                     f"Of about {active:,.0f} active members (those who traded while a grant ran, counted grant by "
                     f"grant), {pct(share)} both gave and received: the two-way share of active members"
                     f"{html.escape(f' ({left_out})' if left_out else '')}."
                     + (f" Reserved reciprocity pot {money(pot_total)}, split (to the pound): {html.escape(split)}."
                        + html.escape(_withheld_split(pot, g, withheld, rule)) if pot_total else "")
                     + "</p></li>")
    frame = rule.no_counts(pd.DataFrame(rows), "sums of published grant rows only (member counts already rounded; grants "
                                               "with a suppressed active count left out, and of the members and "
                                               "participation those with a suppressed two-way count too)", "funder summary")
    return Section(title, f"{plural(len(rows), 'funder')}, {plural(len(grants), 'grant')}, "
                   f"{money(grants['amount'].sum())} in all. Each funder's hours of exchange while its grants ran, two-way "
                   "share of active members and reserved pot, from the grant rows below.", html=f"<ul class='verdicts'>{''.join(items)}</ul>", table=frame,
                   csv_name="funder-summary.csv", show_table=False,
                   note="Two-way share of active members: members who both gave and received, over the members who "
                        "traded in each grant's observed period (its active members), counted grant by grant, from the "
                        "published (rounded) counts. The components table below gives each time bank's two-way share of "
                        "trading members instead: over its members who traded at all in the whole data window, each "
                        "counted once, so the two shares differ. The hours and members are what happened in a time bank while each grant ran, "
                        "not what that grant alone paid for: a member active under two grants is counted under each, and "
                        "another funder's grant to the same time bank may cover the same hours.")


def withheld_value(table: pd.DataFrame, rule: DisclosureRule) -> str:
    """Why a time bank's grants show ``*`` for social value, or no value, in plain words, for the line above the table
    (it was said only deep in the note under it); empty when every grant shows its value."""
    unvalued = sorted(set(table.loc[table["social_value"].astype(object) == NOT_VALUED, "timebank_id"].astype(str)))
    none = (f"Social value: {NOT_PER_BANK}, so no grant's share is shown (the programme's social return is on the "
            "commissioner page)." if len(unvalued) == table["timebank_id"].nunique() else
            f"Social value of {', '.join(unvalued)}'s grants: {NOT_PER_BANK}." if unvalued else "")
    banks = sorted(set(table.loc[table["social_value"].astype(object) == SUPPRESSED, "timebank_id"].astype(str)))
    if not banks:
        return none
    small = table[table["active_members"].astype(object) == SUPPRESSED]
    said = []
    for bank in banks:
        few = sorted(small.loc[small["timebank_id"].astype(str) == bank, "grant_id"].astype(str))
        grants = " and ".join(few) or "a withheld grant"
        said.append(f"{bank} has {'a grant' if len(few) <= 1 else plural(len(few), 'grant')} with only 1 to {rule.suppress_max} active members "
                    f"({grants}): a time bank's social value is shared among its grants by their hours, so the value of "
                    f"any {bank} grant would let a reader work out {grants}'s hours, and none is shown")
    return " ".join(t for t in (none, f"* in the Social value column: {'. '.join(said)}.") if t)


#: The grant table on the page: what each grant bought (its hours, members, two-way participation, cost per hour and
#: social value) for the money of its observed period. The CSV keeps every column of ``published_grants``.
GRANT_SHOWN = ("grant_id", "funder", "timebank_id", "amount", "observed_amount", "active_members", "two_way_members",
               "hours_exchanged", "cost_per_hour_exchanged", "social_value")


def bars_height(rows: int) -> int:
    """A chart of one bar a grant, the grants down the side (every name printed at any width): 20 px a bar, with room
    for the title, the axis and a legend under it."""
    return max(320, 220 + 20 * rows)


def not_drawn(table: pd.DataFrame, rule: DisclosureRule) -> str:
    """The grants the cost chart leaves out, by name: " Not drawn: G010 (withheld: 1 to 7 active members)." (the summary
    said only "Grants with 1 to 7 active members are withheld", and a funder looked for G010 among the bars)."""
    cost = table["cost_per_active_member"].astype(str)
    why = [(f"withheld: 1 to {rule.suppress_max} active members", cost == SUPPRESSED),
           ("no active member in its observed period", cost == "n/a")]
    said = [f"{', '.join(table.loc[rows, 'grant_id'].astype(str))} ({words})" for words, rows in why if rows.any()]
    return f" Not drawn: {'; '.join(said)}." if said else ""


def grant_sections(grants: pd.DataFrame | None, rule: DisclosureRule, withheld: Withheld) -> list[Section]:
    if grants is None or grants.empty:
        return [unavailable("Grant metrics", {"marts.grant_metrics": grants})]
    table = published_grants(grants, rule, withheld)
    shown = table[table["cost_per_active_member"].map(lambda v: isinstance(v, float))]
    title = "Cost per active member by grant"
    # one bar a row, the grants down the side: across the page at 390 px plotly printed every other grant's name (14 of
    # 28), and a funder looked for theirs between two labels
    figure = go.Figure(go.Bar(y=charts.esc(shown["grant_id"]), x=shown["cost_per_active_member"], orientation="h",
                              marker_color=PALETTE[0], text=charts.esc(shown["funder"]), textposition="none",  # inside a bar it shrank to 3 px
                              hovertemplate="%{y} (%{text}): £%{x:,.0f}<extra></extra>"))
    figure.update_layout(title=title, xaxis_title="£ of the observed amount per active member",
                         height=bars_height(len(shown)), yaxis={"autorange": "reversed", "dtick": 1})
    cheapest = shown.loc[shown["cost_per_active_member"].astype(float).idxmin()] if not shown.empty else None
    valued = not not_valued(grants).all()
    # no grant valued (no time bank has a value of its own): the column would read the same words on every row; the
    # line above the table says them once, and the reciprocity index takes its place
    columns = GRANT_SHOWN if valued else (*GRANT_SHOWN[:-1], "reciprocity_index")
    value_note = ("Social value: its time bank's value "
                  "(the SROI present value of its members' outcomes) shared among the time bank's grants in "
                  "proportion to the hours exchanged in each grant's observed period, so a time bank's grants add up "
                  "to its value; grants that ran at the same time each count the hours they share. It is shown only "
                  "for time banks none of whose grants is withheld: every grant of a time bank shows the same value "
                  "per hour, and with the time bank's value that would give a withheld grant's hours back. A time "
                  "bank's SROI ratio (commissioner page) divides its value by the investment in the impact map, the "
                  "map's own figure, which need not match these grants: a map measured like for like on this data "
                  "window would use the money spent in it, the observed amounts "
                  f"({money(grants['observed_amount'].sum())} here), not the whole grants "
                  f"({money(grants['amount'].sum())}). The reciprocity-weighted social value is shown beside the "
                  "social value, never instead." if valued else
                  f"Social value: {NOT_PER_BANK}. The impact map values the programme's outcomes (matched comparisons "
                  "of all participants), so there is no time bank's value to share among its grants; the hours in "
                  f"this table are those outputs. The CSV's social value columns say \"{NOT_VALUED}\". The programme's "
                  "SROI ratio (commissioner page) divides its value by the investment in the impact map, the map's own "
                  "figure, which need not match these grants: a map measured like for like on this data window would "
                  f"use the money spent in it, the observed amounts ({money(grants['observed_amount'].sum())} here), "
                  f"not the whole grants ({money(grants['amount'].sum())}).")
    return [
        Section("Grant metrics", f"{plural(len(grants), 'grant')} from {plural(grants['funder'].nunique(), 'funder')}, "
                f"{money(grants['amount'].sum())} in all, each measured over its own time bank and observed period. "
                f"{data_window(grants)}",
                html=f"<p class='withheld'>{html.escape(why)}</p>" if (why := withheld_value(table, rule)) else None,
                table=table, csv_name="funder-grant-metrics.csv", collapsed=False, shown_columns=columns,
                note="The CSV adds each grant's period and observed period and share, its members, its cost per active "
                     "and per two-way member, its reciprocity index and coverage, its co-production band and its "
                     "reciprocity-weighted social value. Observed period: the part of the grant period inside the data window; observed share: its "
                     "days over the grant period's; observed amount: the amount times that share. Active members: "
                     f"accounts that traded within the observed period, rounded to 5 (1 to {rule.suppress_max} shown "
                     "as *). Costs are the observed amount over the published count, so they cannot give the exact "
                     "count back; n/a: nothing to divide by (none in the observed period, or no observed period). A "
                     f"grant with a suppressed count shows * for its {'costs, index, hours and social value' if valued else 'costs, index and hours'}, and one more "
                     "of its funder * for its index (the pot would give it back). " + value_note),
        Section(title, (f"{len(shown)} of {plural(len(table), 'grant')} drawn, each on the money and members of its "
                        "observed period; the lowest cost per active member is "
                        f"{money(cheapest['cost_per_active_member'])} ({cheapest['grant_id']})."
                        + not_drawn(table, rule))
                if cheapest is not None else "No grant has enough active members to publish a cost.",
                figure=figure if cheapest is not None else charts.no_data(title), values_in_text=True),  # the grant metrics' CSV
    ]


def component_section(ta: pd.DataFrame | None, rule: DisclosureRule) -> Section:
    title = "Components of the reciprocity index by time bank"
    rows = None if ta is None else ta[ta["period_type"] == "overall"].sort_values("timebank_id")
    if rows is None or rows.empty:
        return unavailable(title, {"marts.timebank_activity": rows})
    table = rule.table(rows, ["trading_members", "beneficiary_members"],
                       {**COMPONENT_BASES, "reciprocity_index": "trading_members", "index_coverage": "trading_members"},
                       COMPONENT_SHARES, name="index components")
    figures = [*INDEX_COMPONENTS, "reciprocity_index", "index_coverage"]
    table[figures] = table[figures].map(lambda v: round(v, 3) if isinstance(v, float) else v)
    shown = table[~rows["trading_members"].map(rule.hides).to_numpy()]  # the chart draws the published figures
    shown = shown.assign(**{c: pd.to_numeric(shown[c].replace(SUPPRESSED, None)) for c in figures})
    figure = go.Figure([go.Bar(x=charts.esc(shown["timebank_id"]), y=shown[c], name=heading(c),
                               marker_pattern=charts.pattern(i))
                        for i, c in enumerate((*INDEX_COMPONENTS, "reciprocity_index"))])
    figure.update_layout(title=title, barmode="group", yaxis_title="share (0 to 1)", yaxis_range=[0, 1], height=420)
    best = shown.loc[shown["reciprocity_index"].idxmax()] if shown["reciprocity_index"].notna().any() else None
    summary = (f"The five components and the index for {len(shown)} time banks over the whole window; the highest index is "
               f"{best['reciprocity_index']:.2f} ({best['timebank_id']}).") if best is not None else (
        "No time bank has enough trading accounts to publish its index.")
    return Section(title, summary, figure=figure if not shown.empty else charts.no_data(title),
                   table=table[["timebank_id", "trading_members", "beneficiary_members", *INDEX_COMPONENTS,
                                "reciprocity_index", "index_coverage"]],
                   csv_name="funder-index-components.csv", values_in_text=True,
                   note="Two-way share of trading members: a time bank's members who both gave and received, over its "
                        "members who traded at all in the whole data window, each counted once (the grants at a glance "
                        "give a share of active members, counted grant by grant in each grant's observed period, so their "
                        "shares differ). The other components: mean balance index, weighted reciprocity (Squartini et al. "
                        "2013), generalised reciprocity (hours on cycles of three or more) and beneficiaries' contribution; "
                        "docs/reciprocity.md. "
                        "The two shares of members are the published (rounded) counts' shares; the index is computed "
                        "from the exact ones.")


def published_allocation(allocation: pd.DataFrame, withheld: Withheld) -> pd.DataFrame:
    """The pot split as published: a grant whose index is withheld shows no index, share or allocation, and neither
    does the next smallest allocation of a funder with one such grant (chosen once, by ``withheld_grants``)."""
    columns = ["funder", "grant_id", "timebank_id", "amount", "reserved_pot", "allocation_rule", "alpha",
               "reciprocity_index", "allocation_share", "allocation", "basis"]
    # the index to 3 places, as the grant table gives it (0.368 there read 0.3679 here); the share to 4 (a per cent to 2)
    return withheld.apply(allocation[columns].round({"reciprocity_index": 3}).round(4), "reciprocity_index", ["grant_id"],
                          ("allocation_share", "allocation"))


def allocation_section(allocation: pd.DataFrame | None, rule: DisclosureRule, withheld: Withheld) -> Section:
    title = "Allocation of the reserved reciprocity pot"
    if allocation is None or allocation.empty:
        return unavailable(title, {"marts.reciprocity_allocation": allocation})
    table = rule.no_counts(published_allocation(allocation, withheld),
                           "money; index, share and allocation withheld for grants whose index is suppressed elsewhere",
                           "allocation")
    drawn = table[table["allocation"].astype(object) != SUPPRESSED]
    figure = go.Figure([go.Bar(y=charts.esc(g["grant_id"]), x=g["allocation"].astype(float), orientation="h",
                               name=charts.esc([funder])[0], marker_pattern=charts.pattern(i))
                        for i, (funder, g) in enumerate(drawn.groupby("funder", sort=True))])
    figure.update_layout(title=title, xaxis_title="allocation (£)", height=bars_height(len(drawn)),
                         yaxis={"autorange": "reversed", "dtick": 1})
    pots = allocation.groupby("funder")["reserved_pot"].first()
    hidden = len(table) - len(drawn)
    same = [c for c in ALLOCATION_SETTINGS if table[c].nunique(dropna=False) == 1]
    return Section(title, f"{plural(len(pots), 'funder')} reserve {money(pots.sum(), not float(pots.sum()).is_integer())} in all "
                   f"({100 * allocation['reserved_pot_share'].iloc[0]:.0f}% of their grants), split between "
                   f"{plural(len(allocation), 'grant')} in proportion to the allocation weight; allocations sum to each pot "
                   f"to the penny. {plural(hidden, 'allocation')} withheld (a grant with 1 to {rule.suppress_max} active "
                   "members, and one more of the same funder so the pot cannot give it back)."
                   + (f" {allocation_settings(table.iloc[0], same)}" if same else ""),
                   figure=figure, table=table, csv_name="funder-allocation.csv", values_in_text=True,
                   shown_columns=tuple(c for c in table.columns if c not in same))


#: The allocation's settings, the same on every row of a run: said once above the table, not in three columns of it
#: (the CSV keeps them on every row).
ALLOCATION_SETTINGS = ("allocation_rule", "alpha", "basis")
RULE_WORDS = {"index": "each grant's weight is its reciprocity index",
              "alpha_blend": "each grant's weight is alpha + (1 − alpha) × its reciprocity index"}
BASIS_WORDS = {"proportional": "shares in proportion to the weights"}


def allocation_settings(row: pd.Series, same: list[str]) -> str:
    """The settings every row of the allocation shares, in one sentence ("Every grant: allocation rule index (each
    grant's weight is its reciprocity index); alpha 0.5 ...")."""
    parts = {"allocation_rule": f"allocation rule {row['allocation_rule']}"
                                + (f" ({RULE_WORDS[row['allocation_rule']]})" if row["allocation_rule"] in RULE_WORDS else ""),
             "alpha": f"alpha {row['alpha']:g}" + (" (not used by this rule)"
                                                   if row.get("allocation_rule") == "index" else ""),
             "basis": f"basis {row['basis']}" + (f" ({BASIS_WORDS[row['basis']]})" if row["basis"] in BASIS_WORDS else "")}
    return "Every grant: " + "; ".join(parts[c] for c in same) + ". The CSV repeats them on each row."


#: The sensitivity table's columns as published: pounds, named as such (the page showed "Base 1,233.70" without a £).
SENSITIVITY_COLUMNS = {"base": "base_allocation", "low": "lowest_allocation", "high": "highest_allocation",
                       "best_rank": "best_rank", "worst_rank": "worst_rank", "ranked": "ranked_among",
                       "range": "allocation_range"}


def alpha_idle(sensitivity: pd.DataFrame) -> bool:
    """Whether no grant's allocation changes with alpha under any weight set: under the ``index`` rule it is unused
    (models.reciprocity.allocation), and "sensitivity to alpha" promised a range it does not give."""
    return bool((sensitivity.groupby(["grant_id", "weight_set"])["allocation_pence"].nunique() <= 1).all())


def published_ranks(sensitivity: pd.DataFrame, shown: pd.Series) -> pd.DataFrame:
    """Each ``shown`` grant's best and worst rank by allocation within its funder over the sensitivity's settings, among
    the funder's shown grants only (``ranked``: how many), ordered as the mart orders them (allocation, then grant id).
    The mart's ``rank`` counts the withheld grants too: "4th" of a funder showing 4 grants said where a withheld grant
    stood against the others, and "up to 4 places" counted places no reader could see."""
    f = sensitivity[sensitivity["grant_id"].isin(shown)].sort_values(["funder", "alpha", "weight_set", "allocation_pence",
                                                                      "grant_id"], ascending=[True, True, True, False, True])
    f = f.assign(rank=f.groupby(["funder", "alpha", "weight_set"], dropna=False).cumcount() + 1)
    return (f.groupby(["funder", "grant_id"], sort=True)
            .agg(best_rank=("rank", "min"), worst_rank=("rank", "max")).reset_index()
            .merge(f.groupby("funder")["grant_id"].nunique().rename("ranked").reset_index(), on="funder"))


def sensitivity_section(sensitivity: pd.DataFrame | None, rule: DisclosureRule, withheld: Withheld) -> Section:
    title = "Sensitivity of the allocation to alpha and the index weights"
    if sensitivity is None or sensitivity.empty:
        return unavailable(title, {"marts.reciprocity_allocation_sensitivity": sensitivity})
    if alpha_idle(sensitivity):  # the title promises no sensitivity the rule does not have
        title = "Sensitivity of the allocation to the index weights"
    g = sensitivity.groupby(["funder", "grant_id"], sort=True)
    summary = g.agg(base=("base_allocation_pence", "first"), low=("allocation_pence", "min"),
                    high=("allocation_pence", "max")).reset_index()
    for c in ("base", "low", "high"):
        summary[c] = summary[c] / 100
    summary["range"] = summary["high"] - summary["low"]
    # the base allocation is the allocation: withheld with the index, and one more of its funder with a lone one
    withhold_partners(withheld, "reciprocity_index", summary, "base", "funder", rule)
    hidden = withheld.rows(summary, "reciprocity_index", ["grant_id"]).to_numpy()
    left_out = ", ".join(summary.loc[hidden, "grant_id"].astype(str))
    summary = summary[~hidden].merge(published_ranks(sensitivity, summary.loc[~hidden, "grant_id"]), on=["funder", "grant_id"])
    if summary.empty:
        return Section(title, f"No grant's allocation can be published ({plural(int(hidden.sum()), 'grant')} withheld).",
                       figure=charts.no_data(title))
    label = charts.wrapped(summary["funder"] + ": " + summary["grant_id"])
    figure = go.Figure([
        go.Scatter(x=summary["low"], y=label, mode="markers", name="lowest allocation", marker={"symbol": "triangle-left", "size": 10, "color": PALETTE[1]}),
        go.Scatter(x=summary["base"], y=label, mode="markers", name="allocation under the settings", marker={"symbol": "diamond", "size": 11, "color": PALETTE[0]}),
        go.Scatter(x=summary["high"], y=label, mode="markers", name="highest allocation", marker={"symbol": "triangle-right", "size": 10, "color": PALETTE[2]}),
    ])
    figure.update_layout(title=title, xaxis_title="allocation (£)", height=max(320, 80 + charts.row_height(label) * len(summary)),
                         yaxis_autorange="reversed")
    widest = summary.loc[summary["range"].idxmax()]
    n_alpha, n_sets = sensitivity["alpha"].nunique(), sensitivity["weight_set"].nunique()
    return Section(title, f"Each grant's allocation under {n_alpha} values of alpha and {n_sets} weight sets. The widest range is "
                   f"{widest['grant_id']} (£{widest['low']:,.2f} to £{widest['high']:,.2f}); ranks within a funder (among "
                   f"its grants listed here) move by up to "
                   f"{plural(int((summary['worst_rank'] - summary['best_rank']).max()), 'place')}."
                   + (" Alpha moves no allocation here (the index rule does not use it): the ranges are the weight "
                      "sets'." if n_alpha > 1 and alpha_idle(sensitivity) else "")
                   # the chart and table left them out unsaid, where the allocation above shows them as *
                   + (f" Not listed: {left_out}, whose allocation is withheld (*) in the allocation above." if left_out else ""),
                   figure=figure, table=rule.no_counts(summary[["funder", "grant_id", *SENSITIVITY_COLUMNS]].round(2)
                                                       .rename(columns=SENSITIVITY_COLUMNS),
                                                       f"money; {int(hidden.sum())} grants withheld (index suppressed "
                                                       "elsewhere)", "allocation sensitivity"),
                   csv_name="funder-allocation-sensitivity.csv", values_in_text=True,
                   note="Weight sets: the settings' weights (base), equal weights, each component left out in turn, and any "
                        "named in the settings.")


def build_page(con: duckdb.DuckDBPyConnection, rule: DisclosureRule) -> Page:
    m = read_marts(con, MARTS, rule)
    withheld = withheld_grants(m["grant_metrics"], m["reciprocity_allocation"], rule)
    sections = [*coverage.sections(m, "reciprocity"),
                summary_section(m["grant_metrics"], m["reciprocity_allocation"], rule, withheld),
                *grant_sections(m["grant_metrics"], rule, withheld),
                component_section(m["timebank_activity"], rule),
                allocation_section(m["reciprocity_allocation"], rule, withheld),
                sensitivity_section(m["reciprocity_allocation_sensitivity"], rule, withheld)]
    g = m["grant_metrics"]
    window = "" if g is None or g.empty or pd.isna(g["data_start"].iloc[0]) else (
        f"The data window is {g['data_start'].iloc[0]:%Y-%m-%d} to {g['data_end'].iloc[0]:%Y-%m-%d} (the exchange log's "
        "extent): each grant is measured over the part of its period inside it and costed on the same share of its "
        "amount. ")
    return Page("funder.html", "For funders", "What happened in the time banks while each grant ran, how reciprocal the "
                "exchanges were, and how a reserved pot would be shared by reciprocity.", sections, demo=demo_run(con),
                more=f"How much the pot's split depends on the choices made is under its sensitivity. {window}Counts of 1 "
                     f"to {rule.suppress_max} are shown as * and others rounded to the nearest {rule.round_to}; what else "
                     f"a grant with 1 to {rule.suppress_max} active members withholds, and why, is under the grant metrics.")
