"""Evaluator sections on matching diagnostics: a Love plot of covariate balance and mirrored propensity histograms.

Sources: ``marts.comparison_balance`` and ``marts.propensity_overlap`` (written by
``pipelines/assets/diagnostics.py``; columns in docs/outputs-diagnostics.md). One chart per
section, one result at a time, picked in one labelled select above the chart (:func:`dashboards.page._picker`):
readmission comparisons, reoffending programmes, well-being versions and areas.

Disclosure (the page's rule, NHS HES by default): every count of people is published through
the rule (1-7 as ``*``, others rounded to 5). A standardised mean difference or variance
ratio is a statistic of group means, so it is shown as ``*`` when either group it rests on
is suppressed, or, for a 0/1 column, when 1-7 people hold (or lack) the level in either
group; the chart leaves it out. In the overlap chart a bin whose count is
suppressed is left out; the chart draws the rounded counts.

Balance: |SMD| below 0.1 after matching is taken as balanced (Austin 2009, Stat Med 28:3083).
"""

from __future__ import annotations

import html
import math

import pandas as pd
import plotly.graph_objects as go

from dashboards import charts
from models.disclosure import SUPPRESSED, DisclosureRule
from dashboards.labels import heading, plural
from dashboards.marts import unavailable
from dashboards.page import PALETTE, PICK_LABEL, Section

MARTS = ("comparison_balance", "propensity_overlap")
SMD_THRESHOLD = 0.1
BALANCE_TITLE = "Balance before and after matching"
OVERLAP_TITLE = "Propensity overlap"
SUPPORT_TITLE = "Common support"
#: What a diagnostics chart's summary says of its one control, the select above it.
PICK = f" Choose the result the chart shows in '{PICK_LABEL}', above it."
_BEFORE = ("n_treated_before", "n_comparison_before")
_AFTER = ("n_treated_after", "n_comparison_after")
# Okabe-Ito blue and orange, pale (before matching) and solid (after). A pale bar is 1.7:1 on white (1.6:1 the orange):
# it is outlined in its solid colour (5.2:1, 4.2:1), so that its edge meets WCAG 2.2 1.4.11.
_BLUE = ("rgba(0,114,178,0.35)", PALETTE[0])
_ORANGE = ("rgba(179,107,0,0.35)", PALETTE[1])


def published_balance(balance: pd.DataFrame, rule: DisclosureRule) -> pd.DataFrame:
    """The balance table as published: counts through ``rule``; SMDs, variance ratios and their flags hidden on
    suppressed groups, and, for a 0/1 design column, when a cell they rest on (the people with or without the level
    in either group, ``smallest_cell_*``) holds 1-7: the SMD and variance ratio give both groups' shares back."""
    columns = ["result", "method", "covariate", "source", "smd_before", "smd_after", "vr_before", "vr_after", "flag",
               "vr_flag", *_BEFORE, *_AFTER]
    before, after = (*_BEFORE, "smallest_cell_before"), (*_AFTER, "smallest_cell_after")
    rates = {"smd_before": before, "vr_before": before, "smd_after": after, "vr_after": after, "flag": after,
             "vr_flag": after}
    frame = balance[[*columns, "smallest_cell_before", "smallest_cell_after"]].round(3)
    table = rule.table(frame, [*_BEFORE, *_AFTER], rates, name="covariate balance")
    return table[columns]


#: The comparison engine's methods (``method`` in the diagnostics marts), in words.
METHOD_WORDS = {"match": "propensity-score matching", "ipw": "inverse probability weighting"}


def shown_columns(table: pd.DataFrame, left_out: tuple[str, ...] = ()) -> tuple[tuple[str, ...], str]:
    """A diagnostics table's columns on the page, and a sentence for what they leave out: ``method`` when every
    comparison used the same one, said once, and ``left_out``. The balance table's fourteen columns and the overlap's
    thirteen scrolled sideways at 1440 px; the CSV keeps them all."""
    methods = table["method"].dropna().unique()
    same = len(methods) == 1 and table["method"].notna().all()
    said = (f" Every comparison used {METHOD_WORDS.get(methods[0], methods[0])} (method {methods[0]})." if same else "")
    return tuple(c for c in table.columns if c not in left_out and not (same and c == "method")), said


def largest_published_smd(balance: pd.DataFrame | None, rule: DisclosureRule) -> pd.Series:
    """Per result of ``marts.comparison_balance``, the largest |SMD| after matching among the design columns the
    balance table publishes (groups and cells of 8 or more): the largest over every column can be a rare level's,
    which its table hides. Empty without the mart."""
    if balance is None or balance.empty:
        return pd.Series(dtype=float)
    shown = ~(balance["n_treated_after"].map(rule.hides) | balance["n_comparison_after"].map(rule.hides)
              | balance["smallest_cell_after"].map(rule.hides)).astype(bool)
    return balance[shown].assign(a=balance["smd_after"].abs()).groupby("result")["a"].max()


def published_overlap(overlap: pd.DataFrame, rule: DisclosureRule) -> pd.DataFrame:
    """One row per result and bin with any person before matching: each group's counts through ``rule``.

    ``weighted_after`` is rounded like a count and is ``*`` when the people behind it are suppressed.
    """
    shown = overlap.copy()
    hidden = shown["n_after"].map(rule.hides).astype(bool)
    shown["weighted_after"] = [SUPPRESSED if h else rule.count(w) for h, w in zip(hidden, shown["weighted_after"])]
    for column in ("n_before", "n_after"):
        shown[column] = shown[column].map(rule.count).astype(object)
    keys = ["result", "method", "bin", "logit_low", "logit_high", "score_low", "score_high"]
    wide = shown.set_index([*keys, "group"])[["n_before", "n_after", "weighted_after"]].unstack("group")
    wide.columns = [f"{group}_{value.removeprefix('n_')}" for value, group in wide.columns]
    order = [f"{g}_{v}" for g in ("participants", "comparison") for v in ("before", "after", "weighted_after")]
    wide = wide[order].reset_index()
    rank = {r: i for i, r in enumerate(overlap["result"].drop_duplicates())}
    wide = wide.sort_values(["result", "bin"], key=lambda s: s.map(rank) if s.name == "result" else s)
    occupied = overlap.groupby(["result", "bin"], sort=False)["n_before"].sum()
    wide = wide[[occupied[(r, b)] > 0 for r, b in zip(wide["result"], wide["bin"])]]
    wide = wide.round({"logit_low": 2, "logit_high": 2, "score_low": 4, "score_high": 4}).reset_index(drop=True)
    return rule.no_counts(wide, "every bin count published through the rule above; weighted counts rounded like counts",
                          "propensity overlap")


def _number(value) -> float | None:
    return None if value == SUPPRESSED or value is None or pd.isna(value) else float(value)


def _selector(labels: list[str], traces_per_result: int, titles: list[str]) -> list[dict]:
    """The choices of results, each showing its traces and retitling the chart: the buttons the select above the chart
    runs (:func:`dashboards.page._picker`). plotly's own drop-down is not drawn: beside the select it was a second
    control for one chart, out of reach of Tab."""
    buttons = []
    for i, (label, title) in enumerate(zip(labels, titles)):
        visible = [j // traces_per_result == i for j in range(len(labels) * traces_per_result)]
        buttons.append({"label": html.escape(label), "method": "update",
                        "args": [{"visible": visible}, {"title": {"text": title}}]})
    return [{"buttons": buttons, "visible": False, "active": 0}]


def withheld_label(covariate: str, before, after, rule: DisclosureRule) -> str:
    """A Love plot row's label, saying when its |SMD| is withheld (``*`` in the table) and so not drawn: a reader
    otherwise meets an empty row ('sex: other' with no point)."""
    hidden = [when for when, value in (("before", before), ("after", after)) if value == SUPPRESSED]
    if not hidden:
        return covariate
    where = "" if len(hidden) == 2 else f" {hidden[0]} matching"
    return f"{covariate} (*{where} withheld: 1 to {rule.suppress_max} people)"


def _love_plot(table: pd.DataFrame, results: list[str], rule: DisclosureRule) -> go.Figure:
    figure = go.Figure()
    titles = [html.escape(f"{BALANCE_TITLE}: {r}") for r in results]
    longest = 1
    labelled = [charts.wrapped([withheld_label(str(c), b, a, rule)])[0]
                for c, b, a in zip(table["covariate"], table["smd_before"], table["smd_after"])]
    table = table.assign(label=labelled)
    for i, result in enumerate(results):
        rows = table[table["result"] == result]
        longest = max(longest, len(rows))
        for when, symbol, color in (("before", "circle-open", PALETTE[1]), ("after", "circle", PALETTE[0])):
            values = [_number(v) for v in rows[f"smd_{when}"]]
            figure.add_trace(go.Scatter(
                x=[None if v is None else abs(v) for v in values], y=rows["label"].tolist(), mode="markers",
                name=f"|SMD| {when} matching", visible=i == 0, marker={"symbol": symbol, "size": 11, "color": color},
                hovertemplate="%{y}: |SMD| %{x:.3f}<extra>" + when + "</extra>"))
    figure.add_vline(x=SMD_THRESHOLD, line_dash="dash", line_color=PALETTE[5], annotation_text="0.1")
    return figure.update_layout(
        title={"text": titles[0]}, updatemenus=_selector(results, 2, titles),
        height=max(360, 160 + charts.row_height(table["label"]) * longest),
        xaxis_title="absolute standardised mean difference", xaxis_rangemode="tozero", yaxis_autorange="reversed")


def balance_section(balance: pd.DataFrame | None, rule: DisclosureRule) -> Section:
    """Love plot (|SMD| before and after per design column, one result at a time) and the full table."""
    if balance is None or balance.empty:
        return unavailable(BALANCE_TITLE, {"marts.comparison_balance": balance})
    table = published_balance(balance, rule)
    drawable = table.groupby("result", sort=False)["smd_after"].apply(lambda s: any(_number(v) is not None for v in s))
    results = [r for r, ok in drawable.items() if ok]
    undrawn = [str(r) for r, ok in drawable.items() if not ok]
    withheld = len(undrawn)
    after = [_number(v) for v in table["smd_after"]]
    shown = [v for v in after if v is not None]
    over = sorted({r for r, v in zip(table["result"], after) if v is not None and abs(v) > SMD_THRESHOLD})
    before_over = sum(1 for v in table["smd_before"] if _number(v) is not None and abs(_number(v)) > SMD_THRESHOLD)
    columns, said = shown_columns(table, ("source",))  # a design column's label names its variable: "sex: male"
    summary = (f"Covariate balance of {plural(len(drawable), 'matched comparison')}, one design column per row (open "
               f"circles before matching, filled after; the dashed line is |SMD| = 0.1, Austin 2009). {before_over} published rows exceed 0.1 "
               f"before matching and {sum(abs(v) > SMD_THRESHOLD for v in shown)} of {len(shown)} after"
               + (f", in {plural(len(over), 'result')}: {', '.join(over)}." if over else ".")
               + (f" {plural(withheld, 'result is', 'results are')} not drawn ({', '.join(undrawn)}): every group "
                  f"{'it rests' if withheld == 1 else 'they rest'} on is too small to publish." if withheld else "")
               + said + PICK)
    figure = _love_plot(table, results, rule) if results else charts.no_data(BALANCE_TITLE, "Every group is too small to publish.")
    return Section(BALANCE_TITLE, summary, figure=figure, table=table, csv_name="evaluator-balance-covariates.csv",
                   collapsed=True, shown_columns=columns, values_in_text=True,
                   note="The CSV adds each design column's variable (source). SMD: difference in means over the pooled SD "
                        "before matching, the same SD before and after; variance ratio: participants over comparison (0.5 to 2 acceptable, Rubin 2001). flag: |SMD| "
                        "after > 0.1. Statistics on a group of 1 to the suppression threshold are shown as *, as are those of a "
                        "category level that 1 to the threshold people hold, or lack, in either group (their SMD and "
                        "variance ratio would give the number back). In the chart such a row is drawn without its "
                        f"point and labelled '* withheld: 1 to {rule.suppress_max} people' (or '* after "
                        "matching withheld' when only one side is).")


def _bars(low: pd.Series, high: pd.Series) -> tuple[list[float], float, list[str]]:
    """Where the bins' bars go: (centres, the bins' common width, each bin's edges as hover text). An end bin
    stretched to hold scores within 1e-9 of 0 or 1 (:func:`models.comparison.diagnostics.logit_edges`), wider than
    the others, is drawn at their width beside them, so the axis spans the scores that can be compared; its hover
    gives its true edges."""
    width = float((high - low).min())
    wide = (high - low) > width + 0.03  # beyond the edges' rounding to 2 decimals (published_overlap)
    at_low = wide & (low == low.min())
    mid = ((low + high) / 2).where(~wide, (high - width / 2).where(at_low, low + width / 2))
    edges = [f"{a:.2f} to {b:.2f}" for a, b in zip(low, high)]
    return mid.tolist(), width, edges


def _mirror(table: pd.DataFrame, results: list[str]) -> go.Figure:
    figure = go.Figure()
    titles = [html.escape(f"{OVERLAP_TITLE}: {r}") for r in results]
    for i, result in enumerate(results):
        rows = table[table["result"] == result]
        mid, width, edges = _bars(rows["logit_low"].astype(float), rows["logit_high"].astype(float))
        for group, sign, colors in (("participants", 1, _BLUE), ("comparison", -1, _ORANGE)):
            for (when, share), color in zip((("before", 0.95), ("after", 0.55)), colors):
                column = f"{group}_{'weighted_after' if when == 'after' else 'before'}"
                values = [_number(v) for v in rows[column]]
                total = sum(v for v in values if v is not None)  # the published bins' people: shares of what is shown
                figure.add_trace(go.Bar(
                    x=mid, y=[None if v is None or not total else sign * v / total for v in values], width=share * width,
                    name=f"{group} {when} matching", visible=i == 0,
                    marker={"color": color, "line": {"color": colors[1], "width": 1}}, hovertext=edges,
                    customdata=values, hovertemplate="logit %{hovertext}: %{customdata} people<extra>"
                    + f"{group} {when}</extra>"))
    figure.add_hline(y=0, line_color="#000", line_width=1)
    # shares on both sides of the line read as shares: 20% below the line, not -20%
    top = max((abs(y) for t in figure.data for y in t.y if y is not None), default=0.1)
    step = 0.1 if top > 0.3 else 0.05
    ticks = [k * step for k in range(-math.ceil(top / step), math.ceil(top / step) + 1)]
    return figure.update_layout(
        title={"text": titles[0]}, updatemenus=_selector(results, 4, titles), barmode="overlay", height=460,
        xaxis_title="logit of the propensity score (20 bins)",
        yaxis_title="share of the group: participants above, comparison below",
        yaxis={"tickvals": ticks, "ticktext": [f"{abs(t):.0%}" for t in ticks]})


def overlap_section(overlap: pd.DataFrame | None, rule: DisclosureRule) -> Section:
    """Mirrored histograms of the logit score, participants above and comparison below, before and after matching."""
    if overlap is None or overlap.empty:
        return unavailable(OVERLAP_TITLE, {"marts.propensity_overlap": overlap})
    table = published_overlap(overlap, rule)
    count_columns = [c for c in table.columns if c.startswith(("participants_", "comparison_"))]
    drawable = table.groupby("result", sort=False)[count_columns].apply(
        lambda g: any(_number(v) not in (None, 0.0) for v in g.to_numpy().ravel()))
    results = [r for r, ok in drawable.items() if ok]
    suppressed = int((table[count_columns] == SUPPRESSED).to_numpy().sum())
    columns, said = shown_columns(table)
    summary = (f"Distribution of the propensity score (logit) for {len(drawable)} comparisons: participants above the line, "
               "comparison people below; pale bars before matching, solid bars after (weighted by the matching or ATT "
               "weights). Each bar is its group's share of people in that bin, so groups of very different sizes (the "
               "comparison pool is often a hundred times the participants) can be compared; the table gives the counts. "
               "Where the pale bars of one group have no counterpart in the other, people have no comparable "
               f"match. {suppressed} bin counts are suppressed (1 to {rule.suppress_max} people) and not drawn"
               + (f"; {len(drawable) - len(results)} results have no publishable bin" if len(results) < len(drawable) else "")
               + "." + said + PICK)
    figure = _mirror(table, results) if results else charts.no_data(OVERLAP_TITLE, "Every bin is too small to publish.")
    return Section(OVERLAP_TITLE, summary, figure=figure, table=table, csv_name="evaluator-propensity-overlap.csv", collapsed=True,
                   shown_columns=columns, values_in_text=True,
                   note="Bins: 20 equal-width bins of the logit score from the floor of the lowest to the ceiling of the "
                        "highest score in each comparison, of the scores within 1e-9 of neither 0 nor 1; the first (or last) "
                        "bin is stretched to hold anyone scored beyond, comparison people no participant is like, and is "
                        f"drawn at the others' width ({heading('score_low')} and {heading('score_high')} give the "
                        "edges as probabilities). Before: everyone in the propensity model; after: people in the matched "
                        "or weighted sample; weighted after: their weights summed, the comparison group scaled to the "
                        "participants kept.")


def support_words(table: pd.DataFrame, rule: DisclosureRule) -> str:
    """What the published common-support table says, counted row by row as it shows them: "7 of 12 published comparisons
    keep every participant; 5 leave 1 to 7 participants outside it (2 withheld: 1 to 7 people)". A row whose
    participants outside support are 1 to 7 shows ``*`` for them and for its share, and is one that does not keep every
    participant (the evaluator's first line counted only the shares shown, and said "7 of 7 published comparisons keep
    every participant (7 withheld)" while five of the seven, among them reoffending's 100 participants, had left some
    out); a row on 1 to 7 participants is withheld whatever it shows."""
    small = table["participants"].astype(str) == SUPPRESSED
    outside = table["n_treated_outside_support"].astype(str)
    few = ~small & (outside == SUPPRESSED)
    number = pd.to_numeric(outside.where(~small & ~few), errors="coerce")
    share = pd.to_numeric(table["share_treated_in_support"].astype(str).where(~small), errors="coerce")
    kept = int(((number == 0) | (number.isna() & (share >= 1))).sum())
    more = int((number > 0).sum())
    words = [f"{kept} of {plural(int((~small).sum()), 'published comparison')} keep every participant"]

    def leave(n: int) -> str:
        return f"{n} {'leaves' if n == 1 else 'leave'}"

    if few.any():
        words.append(f"{leave(int(few.sum()))} 1 to {rule.suppress_max} participants outside it")
    if more:
        words.append(f"{leave(more)} more outside it")
    held = f" ({int(small.sum())} withheld: 1 to {rule.suppress_max} people)" if small.any() else ""
    return "; ".join(words) + held


def support_section(overlap: pd.DataFrame | None, rule: DisclosureRule) -> Section:
    """Per result: share of participants in common support, people dropped or removed, caliper."""
    if overlap is None or overlap.empty:
        return unavailable(SUPPORT_TITLE, {"marts.propensity_overlap": overlap})
    treated = overlap[overlap["group"] == "participants"].groupby("result", sort=False)["n_before"].sum()
    first = overlap.drop_duplicates("result").set_index("result")
    table = pd.DataFrame({
        "result": first.index, "method": first["method"].to_numpy(), "participants": treated.reindex(first.index).to_numpy(),
        "share_treated_in_support": first["share_treated_in_support"].to_numpy(),
        "n_treated_outside_support": first["n_treated_outside_support"].to_numpy(),
        "n_comparison_removed": first["n_comparison_removed"].to_numpy(),
        "pooled_sd_logit": first["pooled_sd_logit"].to_numpy(), "caliper_width": first["caliper_width"].to_numpy(),
    }).round(3)
    table = rule.table(table, ["participants", "n_treated_outside_support", "n_comparison_removed"],
                       {"share_treated_in_support": ("participants", "n_treated_outside_support")}, name="common support")
    return Section(SUPPORT_TITLE, f"Common support: {support_words(table, rule)}. A participant outside it has a score "
                   "beyond the comparison group's range, or a covariate level no comparison person has, and is left out "
                   "of the estimate.", table=table,
                   csv_name="evaluator-common-support.csv",
                   note=f"{heading('caliper_width')} and {heading('pooled_sd_logit')} are on the logit scale; "
                        f"{heading('caliper_width')} is empty under weighting. {heading('participants')}: those in the "
                        "propensity model.")


def sections(marts: dict[str, pd.DataFrame | None], rule: DisclosureRule) -> list[Section]:
    return [balance_section(marts["comparison_balance"], rule), overlap_section(marts["propensity_overlap"], rule),
            support_section(marts["propensity_overlap"], rule)]
