"""The commissioner's first screen: one verdict sentence per outcome, and a Fingertips-style spine chart.

Each row is one published result: readmission (``marts.readmission_effects``, comparison
``any``), proven reoffending (``marts.reoffending_effects``, ``any_participation``, binary
rate), well-being (``marts.wellbeing_effects``, all instruments, mean of areas) and SROI
(``marts.social_value``, overall). The sentence uses the Justice Data Lab wording ("for every
100 people…", the range "likely between X and Y"), and carries the design sentence, the
estimand and the analysis role (primary or exploratory, with the number of comparisons in
the run, from ``marts.effect_register``) when the run recorded them; otherwise it says they
were not recorded. A result resting on a group of 1-7 people gets no estimate and no verdict.
The CSV holds the same rows the sentences and the chart are built from.
"""

from __future__ import annotations

import html
import math
import re
from collections.abc import Callable

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from dashboards import charts, evaluator_glance, labels, multiplicity, subtraction
from dashboards.headlines import illustrative, other_case, outcomes_valued, wellbeing_headline_row
from dashboards.labels import pct, plural, pounds
from dashboards.diagnostics_sections import SMD_THRESHOLD
from dashboards.marts import column
from dashboards.page import PALETTE, Section, slug
from dashboards.tiles import RAG, judge
from dashboards.windows import NHS_MOJ, Windows
from dashboards.wording import JDL_MINIMUM, difference_sentence, direction, rate_difference_sentence
from models.disclosure import SUPPRESSED, DisclosureRule

NO_DESIGN = "Design not recorded for this run (the model did not write a design sentence)."
NO_ROLE = "Analysis role not available: marts.effect_register was not built in this run."
COLUMNS = ["outcome", "participants_value", "comparison_value", "difference", "ci_low", "ci_high", "unit", "n_matched", "verdict",
           "rag", "sentence", "balanced", "design", "estimand", "analysis_role", "n_comparisons", "source"]
#: Whether the matched groups were alike after matching, as the evaluator's balance table says it (its ``balanced``
#: column, from the same mart column: the largest |SMD| after matching over every covariate, 0.1 or less is balanced,
#: Austin 2009), and the line the verdict list gives a commissioner for each. The first screen called every comparison
#: "a matched group of similar people" while the evaluator page said none of the demo's had reached balance.
BALANCE = {"yes (≤ 0.1)": "Balance: after matching, the two groups were alike on every characteristic they were matched "
                          "on (each standardised difference 0.1 or less).",
           "no (> 0.1)": "Balance: after matching, the two groups still differed on at least one characteristic they "
                         "were matched on (a standardised difference above 0.1), so part of this difference may reflect "
                         "who took part rather than taking part. The evaluator page's balance table gives each."}
#: The words of a balance line that link to the evaluator's balance table (its section opens when the link is followed).
BALANCE_TABLE, BALANCE_LINK = "The evaluator page's balance table", f"evaluator.html#{slug(evaluator_glance.BALANCE)}"


def balanced(e: pd.Series, smd: str) -> str | None:
    """The evaluator's ``balanced`` words for a mart row (``smd``: its column of the largest |SMD| after matching); None
    when the row has no such figure (a model that records none)."""
    value = e.get(smd) if smd else None
    if value is None or pd.isna(value):
        return None
    return "yes (≤ 0.1)" if float(value) <= SMD_THRESHOLD else "no (> 0.1)"


def role_words(analysis_role: str, comparisons) -> str:
    """The analysis role in words: primary, or exploratory with the number of comparisons in the run."""
    if analysis_role == "not available":
        return NO_ROLE
    count = "" if comparisons is None or pd.isna(comparisons) else f" ({plural(int(comparisons), 'comparison')} in this run)"
    if analysis_role == "exploratory":
        return f"Exploratory result{count}: read it as a lead to follow up, not as a finding."
    return f"Primary outcome{count}."


def role_plain(analysis_role: str, comparisons) -> str:
    """The analysis role as the commissioner's verdict list says it: what the run's comparisons are and why their number
    matters, in plain words. "Primary outcome (49 comparisons in this run)." left a commissioner asking what the 49 were;
    the evaluator's "What you can say" keeps :func:`role_words`, and its glossary Holm's method."""
    if analysis_role == "not available":
        return NO_ROLE
    known = comparisons is not None and not pd.isna(comparisons)
    many = plural(int(comparisons), "comparison") if known else "many comparisons"
    what = "each outcome for each group of participants"
    chance = "about 1 in 20 of them would show a difference by chance alone, where there is none"
    if analysis_role == "exploratory":
        return (f"Exploratory result: one of {many} this run made ({what}). Since {chance}, this one counts as a reduction "
                "or an increase only if it holds after allowing for all of them: read it as a lead to follow up, not as "
                "a finding.")
    return (f"Primary outcome: named before the analysis as the main test, so it is judged on its own 95% interval. This "
            f"run made {many} in all ({what}); {chance}, which is why the other results are read only as leads.")


def _row(outcome: str, source: str, **values) -> dict:
    return {**dict.fromkeys(COLUMNS), "outcome": outcome, "source": source, **values}


#: What a row not published would give away, by :class:`dashboards.subtraction.Reason` kind (after its reason).
WITHHELD_BECAUSE = {"group": ", so no estimate or verdict is shown",
                    "cells": ", so the rates, the difference and the verdict would identify them", "subtraction": ""}


def _effect_row(outcome: str, source: str, rows: pd.DataFrame | None, rule: DisclosureRule,
                not_estimable: Callable[[pd.Series], str | None],
                published: Callable[[pd.Series], dict], share: tuple[tuple[str, ...], str] | None = None,
                smd: str = "") -> dict:
    """One outcome's row from the first of ``rows`` (one mart row): not available, not estimable (the sentence
    ``not_estimable`` gives), not published (a matched group of 1-7, a ``share`` of it resting on 1-7 people with the
    outcome or without it, or a whole less its parts giving someone away: :func:`dashboards.subtraction.withheld_reason`),
    or the figures ``published`` gives. ``published(e, held)``: ``held`` for an exploratory result that the run's comparisons leave inconclusive
    (the row's mark, :mod:`dashboards.multiplicity`), whose sentence then says why; ``share``:
    (the mart's columns of the participants' and the comparison's rates, what having the outcome is in words), for a
    binary outcome; ``smd``: the mart's column of the largest |SMD| after matching, whose balance a published row says
    (:func:`balanced`)."""
    if rows is None or rows.empty:
        return _row(outcome, source, verdict="not available", rag="none", sentence=f"{outcome}: no comparison in this run.")
    e = rows.iloc[0]
    kind, count = multiplicity.role(e)
    base = dict(design=column(e, "design_sentence", NO_DESIGN), estimand=column(e, "estimand", "not recorded"),
                analysis_role=kind, n_comparisons=count)
    reason = not_estimable(e)
    if reason is not None:
        return _row(outcome, source, verdict="not estimable", rag="none", sentence=reason, **base)
    why = subtraction.withheld_reason(e, rule, *(share or ()))
    if why is not None:
        return {**_row(outcome, source, n_matched=rule.count(e["n_matched"]), verdict="not published", rag="none",
                       sentence=f"{outcome}: not published: {why.words}{WITHHELD_BECAUSE[why.kind]}."), **base}
    figures = published(e, False)
    if multiplicity.held_back(e) is not None and figures["rag"] in ("better", "worse"):
        figures = published(e, True)
        figures["sentence"] = f"{figures['sentence']} {multiplicity.why(e)}"
    return _row(outcome, source, n_matched=rule.count(e["n_matched"]), balanced=balanced(e, smd), **figures, **base)


def readmission_row(effects: pd.DataFrame | None, rule: DisclosureRule, windows: Windows = NHS_MOJ) -> dict:
    outcome = windows.readmission

    def not_estimable(e):
        if e["status"] != "estimated" or pd.isna(e["risk_difference"]):
            return f"{outcome}: no matched comparison could be estimated ({rule.text(str(e['status']))})."
        return None

    def published(e, held):
        low, high, est = (100 * e[c] for c in ("rd_ci_low", "rd_ci_high", "risk_difference"))
        rag = "inconclusive" if held else judge(low, high, 0.0, True)
        return dict(participants_value=pct(e["participant_rate"]), comparison_value=pct(e["comparison_rate"]),
                    difference=round(est, 1), ci_low=round(low, 1), ci_high=round(high, 1), unit="percentage points",
                    verdict="inconclusive" if held else e["verdict"], rag=rag,
                    sentence=f"{rule.text(per_100(e))} {rate_difference_sentence(est, low, high, rag)}")

    def per_100(e) -> str:
        return str(e["jdl_statement"] or "")  # the model's sentence names the window the run used

    rows = None if effects is None else effects[effects["comparison"] == "any"]
    return _effect_row(outcome, "marts.readmission_effects (comparison any)", rows, rule, not_estimable, published,
                       (("participant_rate", "comparison_rate"), "were readmitted"), smd="max_abs_smd_after")


def reoffending_row(effects: pd.DataFrame | None, rule: DisclosureRule, windows: Windows = NHS_MOJ) -> dict:
    outcome = windows.reoffending

    def not_estimable(e):
        if bool(e["estimable"]) and pd.notna(e["estimate"]):
            return None
        reason = rule.text(str(e["not_estimable_reason"] or "not estimable")).removeprefix("not estimable: ")
        return (f"{outcome}: no matched comparison could be estimated for participants ({reason}). "
                "Nothing can be said about an effect, in either direction.")

    def published(e, held):
        low, high, est = (100 * e[c] for c in ("ci_low", "ci_high", "estimate"))
        rag = "inconclusive" if held else judge(low, high, 0.0, True)
        return dict(participants_value=pct(e["participant_value"]), comparison_value=pct(e["comparison_value"]),
                    difference=round(est, 1), ci_low=round(low, 1), ci_high=round(high, 1), unit="percentage points",
                    verdict="inconclusive" if held else e["verdict"], rag=rag,
                    sentence=f"{e['per_100_statement']} {rate_difference_sentence(est, low, high, rag)}")

    rows = None if effects is None else effects[(effects["programme"] == "any_participation")
                                                & (effects["measure"] == "binary_rate")]
    return _effect_row(outcome, "marts.reoffending_effects (any participation, binary rate)", rows, rule, not_estimable,
                       published,
                       (("participant_value", "comparison_value"), "reoffended"), smd="max_abs_smd")


def wellbeing_row(effects: pd.DataFrame | None, rule: DisclosureRule) -> dict:
    outcome, source = "Well-being: distance travelled per area", "marts.wellbeing_effects (mean of areas)"
    e = wellbeing_headline_row(effects)
    if e is None:
        return _effect_row(outcome, source, None, rule, lambda e: None, dict)
    instrument = labels.title(str(e["star_version"])) if e["star_version"] != "all" else "all instruments"
    outcome, source = f"{outcome} ({instrument})", f"marts.wellbeing_effects ({e['star_version']}, mean of areas)"

    def not_estimable(e):
        if pd.isna(e["estimate"]) or pd.isna(e["n_matched"]):
            return f"{outcome}: no matched comparison could be estimated ({rule.text(str(e['status']))})."
        return None

    def published(e, held):
        rag = "inconclusive" if held else judge(e["ci_low"], e["ci_high"], 0.0, False)
        pooled = e["star_version"] == "all"  # every instrument rescaled to 1-10: not Star points
        scale = "on the 1-10 equivalent of every instrument" if pooled else "on the instrument's own scale"
        return dict(participants_value=f"{e['treated_value']:+.2f}", comparison_value=f"{e['comparison_value']:+.2f}",
                    difference=round(e["estimate"], 2), ci_low=round(e["ci_low"], 2), ci_high=round(e["ci_high"], 2),
                    unit="points per area (1-10 equivalent)" if pooled else "points per area (own scale)",
                    verdict="inconclusive" if held else e["interpretation"], rag=rag,
                    sentence=f"Participants moved on average {e['treated_value']:+.2f} points per area {scale} from their "
                             f"reading before joining to their follow-up reading; similar people who had not joined moved "
                             f"{e['comparison_value']:+.2f}. "
                             + difference_sentence(e["estimate"], e["ci_low"], e["ci_high"], "points",
                                                   direction(rag, "an improvement", "a deterioration"), decimals=2,
                                                   of="means"))

    return _effect_row(outcome, source, effects.loc[[e.name]], rule, not_estimable, published, smd="max_abs_smd_after")


#: The SROI verdict's design note: how the ratio is made (its sentence says how many outcomes were valued; the note
#: said "11 of 11 outcomes valued." under "11 of 11 outcomes could be valued.").
SROI_DESIGN = ("Each outcome's quantity times its financial proxy, less deadweight, displacement, attribution and drop-off, "
               "discounted to present value and divided by the investment's (the evaluator page's impact map lists each "
               "with its source).")


#: The social return's unit in the verdicts: its difference and interval are from break-even, £1 of value per £1 invested.
SROI_UNIT = "£ per £1 invested, less the £1 break-even"


def sroi_row(value: pd.DataFrame | None, impact: pd.DataFrame | None) -> dict:
    outcome, source = "Social return on investment", "marts.social_value (overall) and marts.impact_map"
    rows = None if value is None else value[value["scope"] == "overall"]
    if rows is None or rows.empty or pd.isna(rows["ratio"].iloc[0]):
        return _row(outcome, source, verdict="not available", rag="none", sentence=f"{outcome}: no SROI in this run.")
    r = rows.iloc[0]
    valued, listed = outcomes_valued(impact, "overall")
    rag = judge(r["ratio_ci_low"], r["ratio_ci_high"], 1.0, False) if pd.notna(r["ratio_ci_low"]) else "none"
    made_up = " The unit costs are illustrative (made up for the demo)." if illustrative(impact) else ""
    # the CSV's row read as the page does: its verdict the page's word ("below £1", where it said "£0.00 per £1" under
    # "✗ Below £1"), the £1 it is judged against named as break-even, not a comparison group, and the difference and its
    # interval named as from break-even ("-1.3 to -0.7 £ per £1 invested" stood beside the page's "−£0.30 to £0.30")
    return _row(outcome, source, participants_value=pounds(r["ratio"]), comparison_value="£1.00 (break-even)",
                difference=round(r["ratio"] - 1, 2),
                ci_low=round(r["ratio_ci_low"] - 1, 2) if rag != "none" else None,
                ci_high=round(r["ratio_ci_high"] - 1, 2) if rag != "none" else None, unit=SROI_UNIT,
                verdict=verdict_head({"rag": rag, "unit": SROI_UNIT})[2].lower() if rag != "none" else "not judged (no interval)",
                rag=rag, design=SROI_DESIGN,
                sentence=f"Under the impact map's assumptions each £1 invested is valued at {pounds(r['ratio'])} of social value "
                         f"(95% interval {pounds(r['ratio_ci_low'])} to {pounds(r['ratio_ci_high'])}); {valued} of "
                         f"{plural(listed, 'outcome')} could be valued."
                         + (f" Beside it: {other}." if (other := other_case(r)) else "") + made_up)


def rows(m: dict, rule: DisclosureRule, windows: Windows = NHS_MOJ) -> pd.DataFrame:
    """``windows``: the readmission window and reoffending follow-up the run used (:func:`dashboards.windows.read_windows`),
    which name the two outcomes. The effects marts carry their multiplicity marks (:func:`dashboards.marts.read_marts`)."""
    return pd.DataFrame([readmission_row(m["readmission_effects"], rule, windows),
                         reoffending_row(m["reoffending_effects"], rule, windows),
                         wellbeing_row(m["wellbeing_effects"], rule),
                         sroi_row(m["social_value"], m["impact_map"])], columns=COLUMNS)


#: What a verdict's n counts, by the mart it comes from: readmission compares index discharges (``n_matched`` is
#: "participant discharges kept after support and caliper", and a participant can have several), the others people.
N_COUNTS = {"marts.readmission_effects": "matched participant discharges"}


def n_counts(source: str) -> str:
    """The words for a verdict's n: 'matched participant discharges' for readmission, else 'matched participants'."""
    return next((words for mart, words in N_COUNTS.items() if str(source).startswith(mart)), "matched participants")


#: A published result on a small matched sample, said where a commissioner reads it, as the evaluator's "What you cannot
#: say" does (:data:`dashboards.wording.JDL_MINIMUM`, judged on the published count): the demo's well-being verdict rested
#: on about 20 matched participants, which only the evaluator page called a reason for caution.
SMALL = (f"Small sample: about {{n}} {{counts}}, where the Justice Data Lab asks for at least {JDL_MINIMUM}: treat it with "
         "caution.")


def small(r: dict) -> bool:
    """Whether a verdict row is a published result whose published n matched is at most the JDL minimum."""
    n, shown = r["n_matched"], r["participants_value"]
    return (isinstance(n, (int, float)) and not pd.isna(n) and 0 < n <= JDL_MINIMUM and shown is not None
            and not (isinstance(shown, float) and pd.isna(shown)))


def _list(frame: pd.DataFrame) -> str:
    items = []
    for r in frame.to_dict("records"):
        symbol, css, word = verdict_head(r)
        head = (f"<span class='rag {css}'>{symbol} {word}</span> · " if r["rag"] not in (None, "none") else "")
        n = r["n_matched"]
        size = (f" (n ≈ {int(n):,} {n_counts(r['source'])})" if isinstance(n, (int, float)) and not pd.isna(n) and n > 0
                else "")
        lines = [f"<p class='head'>{head}{html.escape(r['outcome'] + size)}</p>", f"<p>{html.escape(r['sentence'])}</p>"]
        if r["balanced"] in BALANCE:
            said = html.escape(BALANCE[r["balanced"]])  # the evaluator's table named in it is a link to it
            lines.append("<p>" + said.replace(html.escape(BALANCE_TABLE), f"<a href='{BALANCE_LINK}'>{html.escape(BALANCE_TABLE)}</a>")
                         + "</p>")
        if small(r):
            lines.append(f"<p>{html.escape(SMALL.format(n=int(n), counts=n_counts(r['source'])))}</p>")
        if r["design"]:
            lines.append(f"<p class='note'>{html.escape(r['design'])}</p>")
        if r["analysis_role"] is not None:
            lines.append(f"<p class='note'>{html.escape(role_plain(r['analysis_role'], r['n_comparisons']))}</p>")
        items.append("<li>" + "".join(lines) + "</li>")
    return f"<ul class='verdicts' id='verdict-list'>{''.join(items)}</ul>"


def answer(r: dict) -> str:
    """One outcome in a line: its verdict, the participants' figure and the matched comparison's (the SROI ratio and its
    interval), from the row the verdict list and the CSV hold; what stands in for them when there is no estimate."""
    if r["participants_value"] is None or pd.isna(r["participants_value"]):
        return str(r["verdict"] or "no comparison in this run")
    if str(r["unit"]).startswith("£"):
        interval = (f" (95% interval {pounds(1 + r['ci_low'])} to {pounds(1 + r['ci_high'])})"
                    if r["ci_low"] is not None and not pd.isna(r["ci_low"]) else "")
        return f"{r['participants_value']} of social value per £1 invested{interval}"
    if r["unit"] == "percentage points":
        # readmission's rate is of hospital stays (index discharges, as its n counts them: :func:`n_counts`), not of people;
        # "stays", the data-quality page's word for the source, keeps each outcome's line on a 360 px first screen
        of = "participant stays" if n_counts(r["source"]).endswith("discharges") else "participants"
        return f"{r['participants_value']} of {of}, {r['comparison_value']} of the matched comparison"
    return (f"{r['participants_value']} {r['unit']} for participants, {r['comparison_value']} for the matched "
            "comparison")


def verdict_head(r: dict) -> tuple[str, str, str]:
    """(symbol, css class, word) of a row's judgement: the social return is judged against break-even (£1 per £1), not
    a comparison group, so its word says that ("Below £1"; "Worse" said worse than what?)."""
    symbol, css, word = RAG[r["rag"] or "none"]
    if str(r["unit"]).startswith("£") and r["rag"] in ("better", "worse"):
        word = "Above £1" if r["rag"] == "better" else "Below £1"
    return symbol, css, word


def _answers(frame: pd.DataFrame) -> str:
    """The first screen's answer: one line per outcome, its verdict first (the sentences below give the intervals)."""
    items = []
    for r in frame.to_dict("records"):
        symbol, css, word = verdict_head(r)
        what = str(r["outcome"]).split(":")[0]  # "Well-being": its measure is in the figures' unit
        items.append(f"<li><span class='rag {css}'>{symbol} {word}</span> · <span class='what'>"
                     f"{html.escape(what)}</span>: {html.escape(answer(r))}</li>")
    return f"<ul class='answers' id='answers'>{''.join(items)}</ul>"


def spine(frame: pd.DataFrame, title: str) -> go.Figure:
    """Fingertips-style spine: each outcome's difference from its comparison, with better to the right.

    One row per outcome, each on its own axis in its own unit (its title), centred on its comparison (the matched group;
    break-even, £1 per £1, for the social return; a ratio has no room below £0 unless its interval goes there, as a
    negative present value's does: the demo's −£0.30 to £0.30 was drawn from £0.00): on one shared axis percentage points,
    Star points and pounds were read as one scale, and a well-being interval of a tenth of a point could not be seen
    beside one of 30 points. The differences keep their signs, as in the tables and the verdicts: where fewer is better
    (readmission, reoffending) the axis runs from + on the left to − on the right."""
    drawn = frame[frame["difference"].notna() & frame["ci_low"].notna()]
    if drawn.empty:
        return charts.no_data(title, "No outcome has a publishable comparison.")
    # each row 210 px, of which about 110 px under it hold its ticks and its axis title, which the page breaks into up to
    # four lines on a 320 px phone (at 0.5 / rows, 70 px, the third line ran over the next row's zero line and marker)
    figure = make_subplots(rows=len(drawn), cols=1, vertical_spacing=110 / (210 * len(drawn)))
    legend = set()
    for i, r in enumerate(drawn.to_dict("records"), start=1):
        symbol, _, word = verdict_head(r)  # the social return's legend reads "Below £1", as its verdict does, not "Worse"
        color = {"better": "#00703c", "worse": "#d4351c"}.get(r["rag"], "#505a5f")
        x, lo, hi = r["difference"], r["ci_low"], r["ci_high"]
        figure.add_trace(go.Scatter(
            x=[x], y=charts.wrapped([r["outcome"]]), mode="markers", name=word, legendgroup=word,
            showlegend=word not in legend,
            marker={"symbol": {"better": "circle", "worse": "x", "inconclusive": "diamond"}.get(r["rag"], "circle"), "size": 14,
                    "color": color},
            error_x={"type": "data", "symmetric": False, "array": [hi - x], "arrayminus": [x - lo], "color": color}),
            row=i, col=1)
        legend.add(word)
        span = 1.15 * max(abs(lo), abs(hi), abs(x)) or 1.0
        fewer_better = bool(re.search("readmission|reoffending", r["outcome"], re.I))
        axis = dict(range=[span, -span] if fewer_better else [-span, span], zeroline=True, zerolinecolor="#0b0c0c",
                    zerolinewidth=2, title_text=f"{r['unit']}, participants minus comparison"
                    + (" (fewer to the right)" if fewer_better else ""))
        if r["unit"].startswith("£"):  # the difference from break-even, labelled as the pounds returned per £1
            below = lo < -1.0  # the interval runs below £0: the axis spans -span to span, and its ticks are as few
            # over that width as over one span (five turned on end at 390 px)
            width = 2 * span if below else span
            step = 10 ** math.floor(math.log10(span / 2))
            step *= next((m for m in (1, 2, 2.5, 5) if width / (step * m) <= 4), 10)
            ticks = [k * step for k in range(math.ceil((-span if below else max(-span, -1.0)) / step),
                                             math.floor(span / step) + 1)]
            axis.update(range=[-span if below else max(-span, -1.05), span], tickvals=ticks,
                        ticktext=[pounds(t + 1) for t in ticks],
                        title_text="£ per £1 invested (the line: £1)")
        figure.update_xaxes(**axis, row=i, col=1)
    return figure.update_layout(title=f"{title} (0 = comparison; better to the right)", height=150 + 210 * len(drawn),
                                showlegend=True)


def sections(m: dict, rule: DisclosureRule, windows: Windows = NHS_MOJ) -> list[Section]:
    frame = rows(m, rule, windows)
    published = rule.no_counts(frame, "n_matched is already published through the rule; a result on a suppressed "
                                      "group has no estimate or verdict", "verdicts")
    summary = "Each outcome against a matched group of similar people who did not take part."
    title = "How participants compare: spine chart"
    return [
        Section("What the evidence says", summary, html=_answers(frame) + _list(frame), table=published,
                csv_name="commissioner-verdicts.csv", responds="Not filtered: all participants, whole window.",
                show_table=False,
                note="Wording follows the Justice Data Lab: a result is a reduction or an increase only when its 95% "
                     "interval excludes no difference; otherwise it is inconclusive."),
        Section(title, "Each outcome's difference from its comparison with its 95% interval, on its own scale and turned so "
                "that better is to the right (Fingertips spine style; where fewer is better the axis runs from + to −): ✓ better, ✗ worse, ? inconclusive (the "
                "interval crosses the comparison line).",
                figure=spine(frame, title), responds="Not filtered.", values_in_text=True),
    ]
