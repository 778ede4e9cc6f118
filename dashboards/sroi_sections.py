"""Evaluator sections: the SROI impact map and its tornado, as they may be published.

Reads ``marts.impact_map``, ``marts.social_value_sensitivity``, ``marts.social_value`` and
``marts.timebank_activity`` (the hours the commissioner page publishes). The impact map holds
model outputs (avoided events, hours) and money, and one kind of count of people: a quantity
whose model output is in people (``quantity_unit``; members with a reliable improvement in
well-being). That count (the estimate before ``scale``) goes through the disclosure rule, and
the quantity shown is the published count times the scale: the scale is public, so a quantity
of 1.5 at a scale of 0.5 was 3 people. A quantity resting on 1-7 people is withheld with
everything computed from it: its interval, its present value, and its tornado rows (their
swings are proportional to that value, and the quantity's row holds it and its interval).

Each scope's present value is published (its SROI ratio, the tornado's ratios), so the total
less the rows shown would give back a lone withheld row. Secondary suppression withholds a
second row of the scope with it (ONS/tau-ARGUS complementary suppression, with a protection
level): the smallest row at least as large as the withheld one (else the largest), so that the
two rows' sum is at least twice the withheld value and cannot be read as it. The next smallest
row, as for counts, would not do: £80 of mental-health contacts beside £19,887 of well-being
leaves the difference at about the well-being value. A time bank's rows are in its own scope,
whose total its ratio publishes, so they partner only each other.
"""

from __future__ import annotations

import math

import pandas as pd

from dashboards import charts, headlines
from dashboards.filters import ALL
from dashboards.headlines import illustrative
from dashboards.labels import WORDS, money, plural, title
from dashboards.marts import unavailable
from dashboards.page import Section
from models.disclosure import SUPPRESSED, DisclosureRule

MARTS = ("social_value", "social_value_sensitivity", "impact_map", "timebank_activity")
#: Units of a model output that is a count of people (``unit`` in the model-output interface).
PEOPLE = ("people", "person")
COLUMNS = ["scope", "outcome", "stakeholder", "quantity", "quantity_source", "quantity_ci_low", "quantity_ci_high",
           "proxy_id", "proxy_value_reporting", "proxy_source", "proxy_licence", "deadweight_pct", "attribution_pct",
           "displacement_pct", "drop_off_pct", "duration_years", "discount", "pv"]
#: What a withheld row's quantity is withheld with: in the impact map, and in the tornado.
FROM_QUANTITY = ("quantity", "quantity_ci_low", "quantity_ci_high", "pv")
FROM_VALUE = ("ratio_low", "ratio_high", "swing", "switching_value", "switching_note")


def _small(impact: pd.DataFrame, rule: DisclosureRule) -> pd.Series:
    """Rows whose quantity rests on a count of 1 to ``rule.suppress_max`` people."""
    return impact["quantity_unit"].isin(PEOPLE) & impact["quantity_estimate"].abs().map(rule.hides).astype(bool)


def withheld(impact: pd.DataFrame, rule: DisclosureRule) -> set[str]:
    """The outcomes withheld: those resting on 1-7 people, and in each scope holding exactly one, its partner."""
    out = set(impact["outcome"][_small(impact, rule)])
    for _, rows in impact[impact["pv"].notna()].groupby("scope"):
        alone, others = rows[rows["outcome"].isin(out)], rows[~rows["outcome"].isin(out)]
        if len(alone) != 1 or others.empty:
            continue
        size = others["pv"].abs()
        large = size[size >= abs(alone["pv"].iloc[0])]
        out.add(others.loc[large.idxmin() if len(large) else size.idxmax(), "outcome"])
    return out


def _quantity(row: pd.Series, rule: DisclosureRule) -> object:
    """A quantity in people as published: its count through the rule, times the scale."""
    count = rule.count(abs(row["quantity_estimate"]))
    return count if count == SUPPRESSED else math.copysign(count, row["quantity_estimate"]) * row["quantity_scale"]


def published_map(impact: pd.DataFrame, rule: DisclosureRule) -> pd.DataFrame:
    """The impact map's published columns, counts of people through the rule and withheld rows ``*``."""
    out = impact[COLUMNS].round(2).astype(object)
    people = impact["quantity_unit"].isin(PEOPLE) & impact["quantity_estimate"].notna()
    out.loc[people, "quantity"] = [_quantity(r, rule) for _, r in impact[people].iterrows()]
    hidden = impact["outcome"].isin(withheld(impact, rule))
    out.loc[hidden, list(FROM_QUANTITY)] = SUPPRESSED
    primary = int(_small(impact, rule).sum())
    out.attrs["disclosure"] = {
        "table": "impact map", "rows": int(len(out)),
        "rule": f"HES: 1-{rule.suppress_max} suppressed, others rounded to {rule.round_to}",
        "count_columns": ["quantity (rows whose unit is people: the count before the scale)"],
        "rows_with_a_suppressed_count": primary, "rows_suppressed_secondarily": int(hidden.sum()) - primary,
        "statistics_on_counts": {c: ["quantity"] for c in FROM_QUANTITY[1:]}, "secondary_groups": [["scope"]],
        "reason": "other quantities are model outputs on published groups (avoided events, hours), not counts of people"}
    return out


#: The impact map as the page shows it: the CSV's 18 columns in 9 (its table scrolled sideways at 1440 px). Each
#: merged column says every value it holds: the quantity with what it counts and its interval, the proxy with its
#: value, the source with its licence, the four adjustments in one cell, the duration with its discount; the CSV keeps
#: them apart.
ADJUSTMENTS = ("deadweight_pct", "attribution_pct", "displacement_pct", "drop_off_pct")
PAGE_COLUMNS = {"quantity": "Quantity (95% CI)", "proxy": "Financial proxy (£, reporting-year prices)",
                "source": "Proxy source (licence)", "adjustments": "Deadweight / attribution / displacement / drop-off",
                "duration": "Duration and discount"}


def _missing(value) -> bool:
    return value is None or (not isinstance(value, str) and pd.isna(value))


def _number(value) -> str:
    """A published number as the page writes it ("3,224.25", "-15.42"), ``*`` as it is, nothing for nothing."""
    if _missing(value):
        return ""
    return value if isinstance(value, str) else f"{float(value):,.2f}"


def _counted(source) -> str:
    """What a quantity counts, from its model output's name, in lower case: "avoided contacts GP", "hours given at
    TB01" (``avoided_contacts_gp``, ``hours_given@TB01``)."""
    return " ".join(WORDS.get(w.lower(), w) for w in str(source).replace("@", " at ").replace("_", " ").split())


def _quantity_cell(row: pd.Series) -> str:
    """"-3.00 avoided readmissions (-15.42 to 9.42)"; ``*`` for a withheld quantity (its interval is withheld with it)."""
    quantity, low, high = (_number(row[c]) for c in ("quantity", "quantity_ci_low", "quantity_ci_high"))
    counted = "" if _missing(row["quantity_source"]) else f" {_counted(row['quantity_source'])}"
    interval = f" ({low} to {high})" if low and high and low != SUPPRESSED else ""
    return f"{quantity}{counted}{interval}" if quantity else ""


def _proxy(row: pd.Series) -> str:
    if _missing(row["proxy_id"]):
        return ""
    value = row["proxy_value_reporting"]
    return title(str(row["proxy_id"])) + ("" if _missing(value) else f": £{float(value):,.2f}")


def _source(row: pd.Series) -> str:
    source, licence = ("" if _missing(row[c]) else str(row[c]) for c in ("proxy_source", "proxy_licence"))
    return f"{source} ({licence})" if source and licence else source or licence


def _adjustments(row: pd.Series) -> str:
    """The SROI guide's four adjustments in percent, in the heading's order: "0% / 0% / 0% / 50%"."""
    if all(_missing(row[c]) for c in ADJUSTMENTS):
        return ""
    return " / ".join("–" if _missing(row[c]) else f"{float(row[c]):g}%" for c in ADJUSTMENTS)


def _duration(row: pd.Series) -> str:
    """"2 years, discounted health (1.5% in years 0-30, then stepped)"."""
    years = "" if _missing(row["duration_years"]) else plural(float(row["duration_years"]), "year")
    discount = "" if _missing(row["discount"]) else f"discounted {row['discount']}"
    return ", ".join(p for p in (years, discount) if p)


def page_map(published: pd.DataFrame) -> pd.DataFrame:
    """The published impact map (:func:`published_map`) in the page's columns (:data:`PAGE_COLUMNS`): the same rows
    and values, withheld cells ``*`` as in the CSV."""
    out = pd.DataFrame({
        "scope": published["scope"], "outcome": published["outcome"], "stakeholder": published["stakeholder"],
        PAGE_COLUMNS["quantity"]: published.apply(_quantity_cell, axis=1), PAGE_COLUMNS["proxy"]: published.apply(_proxy, axis=1),
        PAGE_COLUMNS["source"]: published.apply(_source, axis=1),
        PAGE_COLUMNS["adjustments"]: published.apply(_adjustments, axis=1),
        PAGE_COLUMNS["duration"]: published.apply(_duration, axis=1), "pv": published["pv"]})
    out.attrs = published.attrs
    return out


def _names(outcomes: set[str]) -> str:
    return " and ".join(sorted(o.replace("_", " ") for o in outcomes))


def _summary(impact: pd.DataFrame, hidden: set[str], rule: DisclosureRule, ta: pd.DataFrame | None) -> str:
    valued = int(impact["pv"].notna().sum())
    made_up = " Unit costs marked 'made up for the demo' are illustrative." if illustrative(impact) else ""
    shown = impact[~impact["outcome"].isin(hidden)]
    outputs = int(impact.get("status", pd.Series(dtype=str)).astype(str).str.startswith("output").sum())  # not valued
    listed = (f"{plural(len(impact) - outputs, 'outcome')} and {plural(outputs, 'output')} (hours exchanged, reported "
              "and not valued)" if outputs else plural(len(impact), 'outcome'))
    text = (f"{listed} in the impact map, {valued} of the outcomes valued: each quantity, proxy, deflator "
            f"and discount with its source; {money(impact['pv'].sum())} present value in all"
            + (f" ({money(shown['pv'].sum())} in the {plural(int(shown['pv'].notna().sum()), 'row')} shown)" if hidden else "")
            + f".{made_up}")
    small = set(impact["outcome"][_small(impact, rule)])
    if small:
        text += (f" {_names(small).capitalize()} rests on a count of 1 to {rule.suppress_max} people: its quantity, "
                 f"interval and present value are withheld (*), and its rows of the tornado with them.")
    if hidden - small:
        text += (f" So are those of {_names(hidden - small)}, so that the total less the rows shown gives the two "
                 "together, not one.")
    hours = impact[impact["quantity_source"].astype(str).str.startswith("hours_given@")]
    if len(hours) and ta is not None and not ta.empty:
        split = headlines.quarters(ta, rule)
        published = headlines.hours_exchanged(ta, rule, ALL, ALL, split).value.replace(" h", "")
        text += (f" The hours rows are outputs, reported and not valued (not in the ratio): every hour exchanged in a "
                 f"time bank with more than {rule.suppress_max} trading accounts (a smaller bank's hours are left out: "
                 f"they would describe its few members), "
                 f"{hours['quantity'].sum():,.0f} in all; the commissioner "
                 f"page and the overview show {published}, the hours of the published quarters: "
                 f"{plural(len(split[1]), 'time-bank quarter')} are withheld there (1 to {rule.suppress_max} "
                 "trading accounts, or withheld with one, so that a bank's hours here less its published quarters give "
                 "no single quarter).")
    return text


def sections(m: dict[str, pd.DataFrame | None], rule: DisclosureRule) -> list[Section]:
    impact, sens, value = m["impact_map"], m["social_value_sensitivity"], m["social_value"]
    out, hidden, published = [], set(), None
    if impact is None or impact.empty:
        out.append(unavailable("SROI impact map", {"marts.impact_map": impact}))
    else:
        hidden = withheld(impact, rule)
        published = published_map(impact, rule)
        out.append(Section("SROI impact map", _summary(impact, hidden, rule, m["timebank_activity"]),
                           table=published, csv_name="evaluator-impact-map.csv", collapsed=True,
                           shown_table=page_map(published)))
    title = "SROI sensitivity: tornado"
    if sens is None or sens.empty or value is None or value.empty:
        out.append(unavailable(title, {"marts.social_value_sensitivity": sens, "marts.social_value": value}))
        return out
    base = float(value[value["scope"] == "overall"]["ratio"].iloc[0])
    table = sens[["scope", "outcome", "assumption", "base", "low", "high", "ratio_low", "ratio_high", "swing",
                  "switching_value", "switching_note"]].round(4).astype(object)
    table.loc[sens["outcome"].isin(hidden), list(FROM_VALUE)] = SUPPRESSED
    table.loc[sens["outcome"].isin(hidden) & (sens["assumption"] == "quantity"), ["base", "low", "high"]] = SUPPRESSED
    if impact is not None and not impact.empty:  # a count of people's quantity row: the map's published quantity
        people = impact["quantity_unit"].isin(PEOPLE) & ~impact["outcome"].isin(hidden)
        shown_quantity = dict(zip(zip(impact["scope"][people], impact["outcome"][people]), published["quantity"][people]))
        for i in sens.index[sens["assumption"] == "quantity"]:
            key = (sens.at[i, "scope"], sens.at[i, "outcome"])
            if key in shown_quantity:
                table.at[i, "base"] = shown_quantity[key]
    shown = sens[(sens["scope"] == "overall") & sens["swing"].notna() & ~sens["outcome"].isin(hidden)]
    bars = shown.sort_values("swing", ascending=False).head(15)
    top = bars.iloc[0] if not bars.empty else None
    left_out = f" Not drawn: {_names(hidden)}, withheld in the impact map." if hidden else ""
    out.append(Section(title, (f"The overall ratio ({base:.2f}) moves most with {top['outcome']} {top['assumption']}: from "
                               f"{top['ratio_low']:.2f} to {top['ratio_high']:.2f} over its stated range.{left_out}")
                       if top is not None else "No assumption has a stated range.",
                       figure=charts.tornado(bars, base, title) if top is not None else charts.no_data(title),
                       table=rule.no_counts(table, "assumptions and ratios, no counts; the rows of an outcome withheld in "
                                                   "the impact map withheld with it (their swings give its value)",
                                            "sroi sensitivity"),
                       collapsed=True, csv_name="evaluator-sroi-sensitivity.csv", values_in_text=True,
                       note="Switching value: the value of the assumption at which the ratio falls to 1:1."))
    return out
