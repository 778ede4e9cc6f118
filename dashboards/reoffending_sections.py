"""Sections on reoffending: the commissioner's cohort trend and Justice Data Lab "for every 100" chart, and the
evaluator's table of the other reoffending measures (frequency, days to first reoffence, the matched hazard ratio).

Sources: ``marts.reoffending_rates`` (MoJ proven reoffending by quarterly cohort, Wilson
intervals, final or provisional) and ``marts.reoffending_effects`` (matched comparison, JDL
wording). Participants are ``any_participation`` or ``timebank:<id>``; the comparison is
``no_participation``. Points on 1 to the threshold people or reoffenders are not drawn.
"""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from dashboards import charts, labels, multiplicity, subtraction
from models.disclosure import SUPPRESSED, DisclosureRule
from dashboards.filters import ALL, Filter, Item, variants
from dashboards.marts import unavailable
from dashboards.labels import plural
from dashboards.page import PALETTE, Section
from dashboards.tiles import judge
from dashboards.windows import NHS_MOJ, Windows
from dashboards.wording import rate_difference_sentence
from models.intervals import wilson_interval


def _programme(tb: str) -> str:
    return "any_participation" if tb == ALL else f"timebank:{tb}"


def _per_100(k: float, n: float) -> int:
    return int(100 * k / n + 0.5)


def cohort_section(rates: pd.DataFrame | None, rule: DisclosureRule, filters: list[Filter],
                   windows: Windows = NHS_MOJ) -> Section:
    title = "Proven reoffending by cohort quarter"
    rows = None if rates is None else rates[(rates["event_type"] == ALL) & (rates["cohort_period"] != ALL)]
    if rows is None or rows.empty:
        return unavailable(title, {"marts.reoffending_rates": rows})
    final = rows[rows["status"] != "provisional"]
    shown = final[~(final["persons"].map(rule.hides) | final["reoffenders"].map(rule.hides))].sort_values("cohort_period")
    # The published rate and its Wilson interval, from the published (rounded) counts.
    k, n = shown["reoffenders"].map(rule.published), shown["persons"].map(rule.published)
    bounds = [wilson_interval(a, b) for a, b in zip(k, n)]
    shown = shown.assign(binary_rate=k / n, ci_low=[float(b[0]) for b in bounds], ci_high=[float(b[1]) for b in bounds])
    # the programmes the chart draws; everyone's total ("all_people") beside its parts would be a total less a cell
    drawn_programmes = final["programme"].str.startswith("timebank:") | final["programme"].isin(
        ("any_participation", "no_participation"))
    published = _cohort_table(final[drawn_programmes].sort_values(["programme", "cohort_period"]), rule)

    def build(choice: dict[str, str]) -> Item:
        tb, year = choice["timebank"], choice["year"]
        scope = shown if year == ALL else shown[shown["cohort_period"].astype(str).str.startswith(year)]
        listed = published[published["programme"].isin((_programme(tb), "no_participation"))
                           & (published["cohort_period"].astype(str).str.startswith(year) if year != ALL else True)]
        pending = rows[(rows["status"] == "provisional") & rows["programme"].isin((_programme(tb), "no_participation"))]
        provisional = len(pending) if year == ALL else int(pending["cohort_period"].astype(str).str.startswith(year).sum())
        figure = go.Figure()
        drawn, missing, counted, hidden = 0, [], [], 0
        for i, (programme, name) in enumerate(((_programme(tb), "participants"), ("no_participation", "non-participants"))):
            g = scope[scope["programme"] == programme]
            if g.empty:
                missing.append(name)
            drawn += len(g)
            cohorts = final[(final["programme"] == programme)
                            & (final["cohort_period"].astype(str).str.startswith(year) if year != ALL else True)]
            counted.append(f"{name} {len(g)} of {plural(len(cohorts), 'final cohort')}")
            withheld = len(cohorts) - len(g)
            hidden += withheld
            if withheld:  # a line of 1 point out of 13 read as the participants' record (withheld is said where it shows)
                name = f"{name} ({withheld} of {len(cohorts)} withheld)"
            figure.add_trace(go.Scatter(
                x=charts.esc(g["cohort_period"]), y=100 * g["binary_rate"], mode="markers+lines", name=name,
                marker={"symbol": "circle" if i == 0 else "square", "size": 10, "color": PALETTE[i]},
                error_y={"type": "data", "symmetric": False, "array": 100 * (g["ci_high"] - g["binary_rate"]),
                         "arrayminus": 100 * (g["binary_rate"] - g["ci_low"])}))
        if not drawn:
            return Item("No cohort of this selection is large enough to publish.", charts.no_data(title), table=listed)
        figure.update_layout(title=title, yaxis_title=f"reoffended {windows.reoffending_within} (%)", height=400, yaxis_rangemode="tozero",
                             xaxis={"categoryorder": "category ascending", "dtick": 1})  # every quarter named
        gap = (f" No {' or '.join(missing)} cohort of this selection is large enough to publish, so that line is not drawn."
               if missing else "")
        return Item(f"Share of each final quarterly cohort with a proven reoffence, "
                    f"{'all participants' if tb == ALL else 'time bank ' + tb} against non-participants "
                    f"({'all years' if year == ALL else year}); {plural(drawn, 'cohort point')} published "
                    f"({'; '.join(counted)}"
                    + (f"; {plural(hidden, 'cohort')} withheld: 1 to {rule.suppress_max} people or reoffenders" if hidden else "")
                    + f").{gap} "
                    + (f"{plural(provisional, 'provisional cohort')} (follow-up not over) not drawn. " if provisional else "")
                    + "Crude rates from the "
                    "published counts, not matched.", figure, table=listed)

    return Section.filtered(title, variants(filters, ("timebank", "year"), build),
                            "Responds to: time bank, year (chart, summary and table).", table=published,
                            csv_name="commissioner-reoffending-by-cohort-quarter.csv", values_in_text=True,
                            note="Each final cohort's people and proven reoffenders (rounded; 1 to "
                                 f"{rule.suppress_max} shown as *), the share who reoffended and its 95% Wilson interval "
                                 "in per cent, from the published counts; the CSV holds every programme and cohort, the "
                                 "table on the page follows the filters.")


def _cohort_table(final: pd.DataFrame, rule: DisclosureRule) -> pd.DataFrame:
    """The final cohorts as published: counts through the rule, the share and its Wilson interval in per cent from the
    published counts (``*`` when either is suppressed)."""
    frame = final[["programme", "cohort_period", "persons", "reoffenders"]].assign(reoffended_pct=0.0).reset_index(drop=True)
    table = rule.table(frame, ["persons", "reoffenders"], {"reoffenders": "persons"},  # no "0 of *"
                       ratios={"reoffended_pct": ("reoffenders", "persons", 100.0, True)}, name="reoffending by cohort quarter")
    bounds = [wilson_interval(rule.published(k), rule.published(n)) if not isinstance(r, str) else (r, r)
              for k, n, r in zip(frame["reoffenders"], frame["persons"], table["reoffended_pct"])]

    def shown(v, scale):  # "*", or None for a cohort of 0 people
        return v if v is None or isinstance(v, str) else round(scale * float(v), 1)

    table["reoffended_pct"] = [shown(r, 1) for r in table["reoffended_pct"]]
    table["ci_low_pct"] = [shown(b[0], 100) for b in bounds]
    table["ci_high_pct"] = [shown(b[1], 100) for b in bounds]
    return table


#: A binary-rate row's participants' and comparison's rates (:func:`dashboards.subtraction.withheld_reason`).
SHARES = ("participant_value", "comparison_value")


def jdl_section(rates: pd.DataFrame | None, effects: pd.DataFrame | None, rule: DisclosureRule,
                filters: list[Filter], windows: Windows = NHS_MOJ) -> Section:
    """"For every 100 people", by time bank; each comparison is judged allowing for the run's comparisons (the row's
    mark), as the verdict list does (:mod:`dashboards.multiplicity`)."""
    title = "Reoffending: for every 100 people"
    if rates is None or rates.empty:
        return unavailable(title, {"marts.reoffending_rates": rates})

    def build(choice: dict[str, str]) -> Item:
        programme = _programme(choice["timebank"])
        e = pd.DataFrame() if effects is None else effects[(effects["programme"] == programme) & effects["estimable"].fillna(False)
                                                         & (effects["measure"] == "binary_rate")]
        if not e.empty and subtraction.withheld_reason(e.iloc[0], rule, SHARES) is None:
            r = e.iloc[0]
            comp, part = int(100 * r["comparison_value"] + 0.5), int(100 * r["participant_value"] + 0.5)
            low, high, est = (100 * r[c] for c in ("ci_low", "ci_high", "estimate"))
            rag = multiplicity.judged(r, low, high, True)
            words = f"{r['per_100_statement']} {rate_difference_sentence(est, low, high, rag)}"
            if rag != judge(low, high, 0.0, True):
                words += " " + multiplicity.why(r)
            basis = f"matched comparison group, n ≈ {rule.count(r['n_matched'])} participants"
        else:
            pooled = rates[(rates["cohort_period"] == ALL) & (rates["event_type"] == ALL)]
            p, c = pooled[pooled["programme"] == programme], pooled[pooled["programme"] == "no_participation"]
            k, n, kc, nc = (int(x) for x in (p["reoffenders"].sum(), p["persons"].sum(), c["reoffenders"].sum(), c["persons"].sum()))
            if n == 0 or nc == 0 or any(rule.hides(x) for x in (k, n, kc, nc)):
                return Item("Too few people in this selection to publish a comparison.", charts.no_data(title))
            k, n, kc, nc = (rule.published(x) for x in (k, n, kc, nc))  # per 100 from the published counts
            comp, part = _per_100(kc, nc), _per_100(k, n)
            words = (f"For every 100 non-participants, {comp} reoffended {windows.reoffending_within}; for every 100 participants, {part}. "
                     "These are crude rates over the final cohorts: no matched comparison could be published, so the "
                     "difference may reflect who took part rather than the programme.")
            basis = f"crude, not matched; n ≈ {rule.count(n)} participants, {rule.count(nc)} non-participants"
        figure = go.Figure(go.Bar(x=[comp, part], y=["comparison group", "participants"], orientation="h",
                                  marker_color=[PALETTE[1], PALETTE[0]], text=[f"{comp} of 100", f"{part} of 100"], textangle=0,
                                  textposition="auto", outsidetextfont={"color": "#0b0c0c"},
                                  # plotly's own choice, #444 on the orange bar, was 4.3:1; near-black is 4.7:1, white on
                                  # the blue 5.1:1 (WCAG 1.4.3)
                                  insidetextfont={"color": ["#0b0c0c", "#ffffff"]}))
        figure.update_layout(title=f"{title} ({basis})", xaxis_title="people with a proven reoffence, per 100",
                             xaxis_range=[0, 100], height=300)
        return Item(words, figure)

    return Section.filtered(title, variants(filters, ("timebank",), build), "Responds to: time bank.",
                            note="Justice Data Lab presentation: whole people per 100, rounded half up.")


#: The reoffending measures of ``marts.reoffending_effects`` beside the binary rate (the Justice Data Lab's frequency and
#: time to first reoffence; the engine's matched hazard ratio), as the evaluator's table names them: (measure, unit, the
#: decimals its figures are published with: whole days, as the mart's own sentence gives them).
MEASURES = {"frequency": ("Reoffences per person (frequency)", "reoffences per person", 2),
            "days_to_first_reoffence": ("Days to first reoffence (reoffenders)", "days", 0),
            "time_to_first_reoffence": ("Time to first reoffence (all matched)",
                                        "hazard ratio (below 1: later/fewer reoffences)", 2)}
MEASURES_TITLE = "Reoffending: frequency and time to first reoffence"
MEASURE_COLUMNS = ["programme", "measure", "unit", "n_matched", "participants_value", "comparison_value", "estimate",
                   "ci_low", "ci_high", "verdict", "analysis_role", "holm_p", "note"]
FIGURES = ("participants_value", "comparison_value", "estimate", "ci_low", "ci_high", "holm_p")


def measure_rows(effects: pd.DataFrame | None, rule: DisclosureRule) -> pd.DataFrame:
    """One row per programme and measure of :data:`MEASURES`, as published. A row shows no figure ("not published",
    ``*``) when its programme's matched sample publishes none (its binary-rate row withheld as every page withholds it,
    :func:`dashboards.subtraction.withheld_reason`: every measure rests on that one sample), and a days row also when the
    reoffenders its mean is over (``n_outcome_participants``, ``n_outcome_comparison``: the matched participants and the
    distinct comparison people who reoffended) are 1 to ``suppress_max`` in either group. ``effects`` carries its
    multiplicity marks (:func:`dashboards.marts.read_marts`), which give each row its analysis role and Holm-adjusted
    p-value: an exploratory result significant alone but not after Holm's adjustment reads "inconclusive after Holm"."""
    if effects is None or effects.empty:
        return pd.DataFrame(columns=MEASURE_COLUMNS)
    binary = {str(r["programme"]): r for _, r in effects[effects["measure"] == "binary_rate"].iterrows()}
    rows = []
    for _, r in effects[effects["measure"].isin(list(MEASURES))].iterrows():
        measure, unit, digits = MEASURES[r["measure"]]
        b = binary.get(str(r["programme"]))
        kind, _ = multiplicity.role(r)
        row = dict.fromkeys(MEASURE_COLUMNS) | {"programme": labels.words(str(r["programme"])), "measure": measure,
                                                "unit": unit, "n_matched": rule.count(r["n_matched"]),
                                                "analysis_role": kind}
        sample_estimable = b is not None and bool(b["estimable"]) and pd.notna(b["estimate"])
        why = subtraction.withheld_reason(b, rule, SHARES, "reoffended") if sample_estimable else None
        withheld = None if why is None else why.words
        reoffenders = pd.to_numeric(pd.Series([r["n_outcome_participants"], r["n_outcome_comparison"]]), errors="coerce")
        few = r["measure"] == "days_to_first_reoffence" and not (reoffenders > rule.suppress_max).all()
        if not sample_estimable:
            why = (b if b is not None else r)["not_estimable_reason"]
            row |= {"verdict": "not estimable", "note": rule.text(str(why or "not estimable")).removeprefix("not estimable: ")}
        elif withheld or few:
            row |= {"verdict": "not published", **dict.fromkeys(FIGURES, SUPPRESSED),
                    "note": withheld or (f"fewer than {rule.suppress_max + 1} people reoffended among the matched "
                                         "participants or their comparison group, and the mean is over them alone")}
        elif not bool(r["estimable"]) or pd.isna(r["estimate"]):
            row |= {"verdict": "not estimable",
                    "note": rule.text(str(r["not_estimable_reason"] or "not estimable")).removeprefix("not estimable: ")}
        else:
            verdict = str(r["verdict"])
            if verdict.startswith("significant") and multiplicity.held_back(r) is not None:
                verdict = "inconclusive after Holm"
            def shown(v, digits=digits):  # whole days as whole numbers (109, not 109.0)
                return round(float(v), digits) if digits else int(round(float(v)))

            values = ((None, None) if r["measure"] == "time_to_first_reoffence"  # its values are the binary rates
                      else (shown(r["participant_value"]), shown(r["comparison_value"])))
            adjusted = multiplicity.adjusted(r)
            row |= {"participants_value": values[0], "comparison_value": values[1],
                    **{c: shown(r[c]) for c in ("estimate", "ci_low", "ci_high")},
                    "verdict": verdict, "holm_p": None if adjusted is None else round(adjusted, 2)}
        rows.append(row)
    return pd.DataFrame(rows, columns=MEASURE_COLUMNS)


def measures_section(effects: pd.DataFrame | None, rule: DisclosureRule) -> Section:
    """The evaluator's table of the reoffending measures beside the binary rate (:func:`measure_rows`): each is one of the
    run's comparisons that Holm's adjustment counts (``marts.effect_register``, through the rows' marks)."""
    if effects is None or effects.empty:
        return unavailable(MEASURES_TITLE, {"marts.reoffending_effects": effects})
    table = measure_rows(effects, rule)
    shown = int((~table["verdict"].isin(("not published", "not estimable"))).sum())
    published = rule.no_counts(table, "n_matched published through the rule; no figure on a matched sample whose binary "
                                      f"rate is withheld, nor a days mean over 1 to {rule.suppress_max} reoffenders in "
                                      "either group", "reoffending measures")
    published.attrs["disclosure"]["rows_not_published"] = int((table["verdict"] == "not published").sum())
    digits = {name: d for name, _, d in MEASURES.values()}

    def figure(v, d: int) -> str:  # the CSV's figure as written there: * withheld, empty when there is none
        return "" if v is None or (not isinstance(v, str) and pd.isna(v)) else v if isinstance(v, str) else f"{v:.{d}f}"

    # the page's table: each figure with its measure's decimals (109 days beside 0.64 reoffences read "109.00"), the
    # estimate with its interval in one cell, the role with its Holm p (13 columns scrolled sideways at 1440 px)
    page = published[["programme", "measure", "unit", "n_matched", "verdict"]].assign(
        participants=[figure(v, digits[m]) for v, m in zip(published["participants_value"], published["measure"])],
        comparison=[figure(v, digits[m]) for v, m in zip(published["comparison_value"], published["measure"])],
        estimate_95_interval=[e if e in ("", SUPPRESSED) else f"{e} ({figure(lo, digits[m])} to {figure(hi, digits[m])})"
                              for e, lo, hi, m in zip((figure(v, digits[m]) for v, m in zip(published["estimate"],
                                                                                            published["measure"])),
                                                      published["ci_low"], published["ci_high"], published["measure"])],
        role_holm_p=[role if p is None or pd.isna(p) else f"{role}, {figure(p, 2)}"
                     for role, p in zip(published["analysis_role"], published["holm_p"])],
        note=published["note"].fillna(""))
    page = page[["programme", "measure", "unit", "n_matched", "participants", "comparison", "estimate_95_interval",
                 "verdict", "role_holm_p", "note"]]
    page.attrs = published.attrs
    return Section(MEASURES_TITLE, f"{plural(len(table), 'comparison')} of {plural(table['programme'].nunique(), 'programme label')}"
                   f" beside the proven reoffending rate, as the Justice Data Lab reports them; {shown} with figures. "
                   "Each rests on its programme's matched sample: balance and support are that programme's rows in the "
                   "tables below. The estimate is participants minus comparison (a ratio for the hazard ratio), with its "
                   "95% interval; Holm p is its p-value adjusted over all the run's comparisons.",
                   table=published, shown_table=page, csv_name="evaluator-reoffending-measures.csv", collapsed=True,
                   note="Days to first reoffence compares only the people who reoffended, so it describes them and is not "
                        "an effect of taking part; the hazard ratio compares everyone matched. A row is not published "
                        f"when its programme's proven reoffending rate is not (1 to {rule.suppress_max} people, "
                        "reoffenders or non-reoffenders in a group), and a days row also when 1 to "
                        f"{rule.suppress_max} people reoffended in either group. The hazard ratio's participants and "
                        "comparison values are the reoffending rates, in the table above, and are left empty here. "
                        + labels.ROUNDING_NOTE)
