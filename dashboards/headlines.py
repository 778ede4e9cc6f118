"""The headline figures of the commissioner page, for any choice of time bank, area and year.

Sources and definitions (each figure is read from one published mart row, or summed from the
published rows that the chart and CSV beside it show):
* active member accounts: ``marts.timebank_activity`` (active = an exchange in the 12 months to
  the end of the period), the count of the period's last row per time bank;
* hours exchanged: the sum of the published quarterly rows of ``marts.timebank_activity`` (the
  rows of the activity chart and its CSV; quarters with 1-7 trading accounts are withheld from
  both, and the tile says how many);
* readmission: ``marts.readmission_effects`` (participants against a matched comparison, NHS
  30-day emergency readmission) for everyone; with a filter, the crude rate of
  ``marts.readmission_rates``, labelled "crude, not matched" on the tile;
* reoffending: ``marts.reoffending_effects`` (JDL-style matched binary rate) when estimable and
  publishable, else the crude rates of ``marts.reoffending_rates``, labelled as crude;
* well-being: mean distance travelled per area (Star areas, or items of a scale such as WEMWBS), participants
  against a matched comparison (``marts.wellbeing_effects``, ``area = mean_of_areas``: the pooled row, else the largest instrument's headline);
* SROI: ``marts.social_value`` ratio with its Monte Carlo interval; outcomes valued are the
  impact-map rows with a present value.
Every count passes the disclosure rule; a figure on a suppressed count shows "*".
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import pandas as pd

from dashboards import multiplicity, subtraction
from dashboards.filters import ALL, Item
from dashboards.labels import plural, pounds, unrounded
from dashboards.tiles import judge, pct, summary, tile
from dashboards.windows import NHS_MOJ, Windows
from models.disclosure import SUPPRESSED, DisclosureRule
from models.intervals import wilson_interval

EMPTY = pd.DataFrame()
CRUDE = "Crude rate, not matched"


@dataclass
class Headline:
    value: str
    interval: str
    n: str
    rag: str = "none"
    against: str = ""
    note: str = ""
    tag: str = ""

    def item(self, label: str, responds: str = "", demo: str = "") -> Item:
        tag = " · ".join(t for t in (demo, self.tag) if t)
        return Item(summary(label, self.value, self.interval, self.n, self.rag, self.against, tag),
                    html=tile(label, self.value, self.interval, self.n, self.rag, self.against, self.note, tag, responds))


def _none(reason: str, n: str = "n = 0") -> Headline:
    return Headline("–", reason, n)


def _hidden(rule: DisclosureRule, n: str) -> Headline:
    return Headline(SUPPRESSED, f"not published: it rests on a count of 1 to {rule.suppress_max}", n)


#: The totals over quarters a page publishes: a time bank's (its hours in the evaluator's impact map and its SROI), then
#: a quarter's over the banks (a filter state). The bank's comes first, so a lone withheld quarter takes another quarter
#: of its bank, which the quarter's grouping pairs with another bank in that quarter (4 cells, not 6, on the demo).
QUARTER_TOTALS = (["timebank_id"], ["period_label"])


def quarters(ta: pd.DataFrame | None, rule: DisclosureRule) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(published quarterly rows, withheld quarterly rows) of ``marts.timebank_activity``.

    A time bank's quarter is withheld when 1-7 accounts traded in it, or to protect one that is
    (secondary suppression over :data:`QUARTER_TOTALS`: otherwise the bank's hours in all, which
    the impact map values, less its published quarters give back a lone withheld quarter); quarters
    with no trading at all (before a bank started) are left out of both.
    """
    if ta is None or ta.empty:
        return EMPTY, EMPTY
    rows = ta[(ta["period_type"] != "overall") & ((ta["trading_members"] > 0) | (ta["hours_exchanged"] > 0))]
    rows = rows.sort_values(["period_start", "timebank_id"])
    hidden = rule.secondary(rows, "trading_members", *QUARTER_TOTALS) | rows["trading_members"].map(rule.hides).astype(bool)
    return rows[~hidden], rows[hidden]


def _pick(rows: pd.DataFrame, tb: str, year: str) -> pd.DataFrame:
    if rows.empty:
        return rows
    rows = rows if tb == ALL else rows[rows["timebank_id"] == tb]
    return rows if year == ALL else rows[rows["period_label"].astype(str).str.startswith(year)]


def _activity(ta: pd.DataFrame, tb: str, year: str) -> pd.DataFrame:
    if ta is None or ta.empty:
        return EMPTY
    rows = ta[ta["period_type"] == "overall"] if year == ALL else ta[
        (ta["period_type"] != "overall") & ta["period_label"].astype(str).str.startswith(year)]
    return rows if tb == ALL else rows[rows["timebank_id"] == tb]


def active_by_bank(ta: pd.DataFrame | None, year: str) -> pd.DataFrame:
    """Per time bank: active accounts at the end of ``year`` (or over the whole window)."""
    rows = _activity(ta, ALL, year)
    if rows.empty:
        return pd.DataFrame(columns=["timebank_id", "active_members"])
    return rows.sort_values("period_end").groupby("timebank_id").tail(1)[["timebank_id", "active_members"]]


def withheld_banks(ta: pd.DataFrame | None, rule: DisclosureRule, year: str) -> set[str]:
    """The time banks whose active accounts at the end of ``year`` are withheld: 1-7 accounts, or the
    next smallest bank when exactly one is (secondary suppression over the filter's options, so "all
    time banks" minus the others does not give it back)."""
    banks = active_by_bank(ta, year)
    extra = rule.secondary(banks.assign(g=1), "active_members", ["g"])
    return set(banks["timebank_id"][extra | banks["active_members"].map(rule.hides).astype(bool)])


def active_members(ta: pd.DataFrame | None, rule: DisclosureRule, tb: str, year: str,
                   withheld: set[str] | None = None) -> Headline:
    """The active-accounts tile; ``withheld`` is :func:`withheld_banks` of ``year`` when the caller has it."""
    rows = _activity(ta, tb, year)
    if rows.empty:
        return _none("no time-bank activity recorded for this selection")
    withheld = withheld_banks(ta, rule, year) if withheld is None else withheld
    if tb != ALL and tb in withheld:
        return _hidden(rule, "1 time bank")
    last = rows.sort_values("period_end").groupby("timebank_id").tail(1)
    return Headline(f"{rule.count(int(last['active_members'].sum())):,}" if not rule.hides(last["active_members"].sum())
                    else SUPPRESSED, "a count of every account, not a sample: no interval",
                    plural(last["timebank_id"].nunique(), "time bank"),
                    note="Accounts with an exchange in the 12 months to the end of the period; rounded to the nearest "
                         f"{rule.round_to}.")


def hours_exchanged(ta: pd.DataFrame | None, rule: DisclosureRule, tb: str, year: str,
                    split: tuple[pd.DataFrame, pd.DataFrame] | None = None) -> Headline:
    """The hours tile; ``split`` is :func:`quarters` of ``ta`` when the caller has it (one pass per page,
    not one per filter state)."""
    shown, hidden = quarters(ta, rule) if split is None else split
    picked, withheld = _pick(shown, tb, year), _pick(hidden, tb, year)
    if picked.empty:
        return _none("no published quarter of time-bank activity for this selection",
                     f"{plural(len(withheld), 'time-bank quarter')} withheld for small numbers")
    return Headline(f"{picked['hours_exchanged'].sum():,.0f} h", "a total of every exchange, not a sample: no interval",
                    f"{plural(len(picked), 'time-bank quarter')}; {len(withheld)} withheld (1 to {rule.suppress_max} "
                    "trading accounts, or to protect one that has)",
                    note="Hours of exchange and group activity in the published quarters (the activity chart and its CSV).")


def _n_text(rule: DisclosureRule, n: float, unit: str) -> str:
    """The tile's count line: the published (rounded) count, or the suppression mark for a small one."""
    return f"n = {SUPPRESSED} {unit}" if rule.hides(n) else f"n ≈ {rule.count(n):,} {unit}"


def _crude(k: float, n: float, bench: float | None, rule: DisclosureRule, against: str,
           unit: str, note: str) -> Headline:
    """A crude rate from the published counts (k and n rounded first), with the Wilson interval of those counts.

    No verdict: the people in it were not matched with anyone, so a rate below the benchmark may only say who took
    part (and the benchmark has its own uncertainty). The benchmark is given beside it, said to be unmatched.
    """
    n_text = _n_text(rule, n, unit)
    if n == 0:  # the note still says what was left out (provisional cohorts)
        return replace(_none("nothing to measure for this selection", n_text), note=note)
    if rule.hides(k) or rule.hides(n):
        return replace(_hidden(rule, n_text), note=note)
    kp, n_p = rule.published(k), rule.published(n)
    low, high = (float(v) for v in wilson_interval(kp, n_p))
    compared = (f"{against} {pct(bench)}; not a like-for-like comparison, so no verdict"
                if bench is not None and not pd.isna(bench) else "")
    return Headline(pct(kp / n_p), f"95% CI {pct(low)} to {pct(high)} (Wilson)", n_text, "none", compared, note, CRUDE)


def all_discharges(rates: pd.DataFrame | None, rule: DisclosureRule) -> float | None:
    """The crude readmission rate of all discharges (``marts.readmission_rates``, ``overall``) from the published counts:
    the benchmark of the crude tiles and the readmission charts; None when not published."""
    overall = EMPTY if rates is None or rates.empty else rates[rates["dimension"] == "overall"]
    if overall.empty:
        return None
    bench = rule.ratio(overall["readmissions"].sum(), overall["discharges"].sum())
    return None if bench == SUPPRESSED else bench


def matched_comparison(effects: pd.DataFrame | None, rule: DisclosureRule) -> float | None:
    """The matched comparison's readmission rate (comparison ``any``), as the tile publishes it; None when the tile shows
    none (no estimate, or not published)."""
    matched = EMPTY if effects is None else effects[(effects["comparison"] == "any") & (effects["status"] == "estimated")]
    if matched.empty:
        return None
    e = matched.iloc[0]
    return None if subtraction.withheld_reason(e, rule, ("participant_rate", "comparison_rate")) else float(e["comparison_rate"])


def benchmark_words(bench: float | None, where: str) -> str:
    """Why the rate of all discharges (``where`` it is drawn) is not the matched comparison's, in plain words: a
    commissioner saw 10.1% on the chart's line and 6.5% for the matched comparison on the tile, and asked which was
    right."""
    if bench is None:
        return ""
    return (f"All discharges, {pct(bench)} ({where}), include everyone discharged, not only people like the "
            "participants: not the comparison to judge them by.")


def readmission(rates: pd.DataFrame | None, effects: pd.DataFrame | None, rule: DisclosureRule,
                tb: str, area: str, year: str, windows: Windows = NHS_MOJ) -> Headline:
    """The readmission tile; an exploratory comparison is judged allowing for the run's comparisons (the row's mark,
    :func:`dashboards.multiplicity.judged`), as the verdict list does."""
    chosen = [(d, v) for d, v in (("timebank", tb), ("area", area), ("quarter", year)) if v != ALL]
    if len(chosen) > 1:
        return _none("not available for this combination", "readmission rates are broken down by one of time bank, "
                     "area or year at a time")
    if rates is None or rates.empty:
        return _none("no readmission data (hospital extract not supplied)")
    matched = EMPTY if effects is None else effects[(effects["comparison"] == "any") & (effects["status"] == "estimated")]
    if not chosen and not matched.empty:
        e = matched.iloc[0]
        n = int(e["n_matched"])
        n_text = _n_text(rule, n, "matched participant discharges")
        why = subtraction.withheld_reason(e, rule, ("participant_rate", "comparison_rate"))
        if why is not None:
            return (Headline(SUPPRESSED, f"not published: {why.words}", n_text) if why.kind == "subtraction"
                    else _hidden(rule, n_text))
        return Headline(pct(e["participant_rate"]), f"difference {100 * e['risk_difference']:+.1f} points {unrounded('rates')} "
                        f"(95% CI {100 * e['rd_ci_low']:+.1f} to {100 * e['rd_ci_high']:+.1f})", n_text,
                        multiplicity.judged(e, e["rd_ci_low"], e["rd_ci_high"], True), f"matched comparison {pct(e['comparison_rate'])}",
                        f"Emergency readmission {windows.readmitted_within}{' (NHS)' if windows.nhs else ''}, "
                        "participants against a matched comparison group (discharges of people like them). "
                        + benchmark_words(all_discharges(rates, rule), "the dashed line in the area chart"),
                        "Matched comparison")
    if chosen:
        dim, value = chosen[0]
        rows = rates[(rates["dimension"] == dim) & (rates["value"].astype(str).str.startswith(value) if dim == "quarter"
                                                    else rates["value"] == value)]
    else:
        rows = rates[(rates["dimension"] == "exposure") & (rates["value"] == "participant")]
    return _crude(rows["readmissions"].sum(), rows["discharges"].sum(), all_discharges(rates, rule), rule, "all discharges",
                  "discharges", "No matched comparison exists for one time bank, area or year: this is the crude "
                                f"{windows.readmission_lower} rate, not risk-adjusted or "
                                "matched.")


def reoffending(rates: pd.DataFrame | None, effects: pd.DataFrame | None, rule: DisclosureRule,
                tb: str, year: str, windows: Windows = NHS_MOJ) -> Headline:
    """The reoffending tile, judged as in :func:`readmission`."""
    programme = "any_participation" if tb == ALL else f"timebank:{tb}"
    if rates is None or rates.empty:
        return _none("no reoffending data (justice extracts not supplied)")
    if year == ALL and effects is not None:
        e = effects[(effects["programme"] == programme) & (effects["measure"] == "binary_rate") & effects["estimable"].fillna(False)]
        if not e.empty:
            e = e.iloc[0]
            n = int(e["n_matched"])
            if subtraction.withheld_reason(e, rule, ("participant_value", "comparison_value")) is None:
                return Headline(pct(e["participant_value"]), f"difference {100 * e['estimate']:+.1f} points {unrounded('rates')} "
                                f"(95% CI {100 * e['ci_low']:+.1f} to {100 * e['ci_high']:+.1f})",
                                f"n ≈ {rule.count(n):,} matched participants",
                                multiplicity.judged(e, e["ci_low"], e["ci_high"], True),
                                f"matched comparison {pct(e['comparison_value'])}",
                                f"{windows.reoffending}{' (MoJ counting rules)' if windows.moj else ''}, from each "
                                "participant's start to day 365 after the index date, against a matched comparison "
                                "group: not the MoJ bulletin's rate, which counts from the index date.",
                                "Matched comparison")
    periods = rates["cohort_period"].astype(str)
    scope = periods == ALL if year == ALL else periods.str.startswith(year)
    base = rates[scope & (rates["event_type"] == ALL)]
    left_out = ""
    if year != ALL:  # a year's quarterly cohorts: the final ones only, as the cohort chart draws them
        provisional = base["status"] == "provisional"
        n_left = int((provisional & (base["programme"] == programme)).sum())
        base = base[~provisional]
        left_out = (f" Final cohorts only: {plural(n_left, 'provisional cohort')} of {year} (follow-up not over) left out."
                    if n_left else "")
    part, comp = base[base["programme"] == programme], base[base["programme"] == "no_participation"]
    bench = rule.ratio(comp["reoffenders"].sum(), comp["persons"].sum())
    still = " Includes provisional cohorts, whose rates can still rise." if (part["status"] == "provisional").any() else ""
    return _crude(part["reoffenders"].sum(), part["persons"].sum(), None if bench in (None, SUPPRESSED) else bench,
                  rule, "non-participants", "people in the final cohorts" if year != ALL else "people in the cohorts",
                  "No publishable matched comparison for this selection: crude proven reoffending rate." + still + left_out)


def wellbeing_headline_row(effects: pd.DataFrame | None) -> pd.Series | None:
    """The well-being headline of ``marts.wellbeing_effects``: the pooled row (``star_version = all``) when the run
    has one, else the instrument headline (``headline``) with the most participants; None when there is neither."""
    if effects is None or effects.empty:
        return None
    means = effects[effects["area"] == "mean_of_areas"]
    pooled = means[means["star_version"] == "all"]
    if not pooled.empty:
        return pooled.iloc[0]
    heads = means[means["headline"].fillna(False).astype(bool)] if "headline" in means.columns else means
    if heads.empty:
        return None
    return heads.sort_values(["n_treated", "star_version"], ascending=[False, True], na_position="last").iloc[0]


def wellbeing(effects: pd.DataFrame | None, rule: DisclosureRule, tb: str, year: str) -> Headline:
    """The well-being tile, judged as in :func:`readmission`."""
    if effects is None or effects.empty:
        return _none("no well-being comparison (Outcomes Star extract not supplied, or the model has not run)")
    if tb != ALL or year != ALL:
        return _none("not available for this selection: the matched comparison covers every participant over the whole "
                     "window", "see the distance travelled per area below")
    e = wellbeing_headline_row(effects)
    if e is None:
        return _none("no well-being comparison in this run")
    n = e["n_matched"]
    if pd.isna(n) or pd.isna(e["estimate"]):
        return _none(f"not estimated: {rule.text(str(e['status']))}", "n = 0")
    why = subtraction.withheld_reason(e, rule)  # the verdict list's test: the pooled row can be withheld by subtraction
    if why is not None:
        return (Headline(SUPPRESSED, f"not published: {why.words}", _n_text(rule, n, "matched participants"))
                if why.kind == "subtraction" else _hidden(rule, f"n = {SUPPRESSED} matched participants"))
    return Headline(f"{e['treated_value']:+.2f} points", f"difference {e['estimate']:+.2f} points against the matched "
                    f"comparison, {unrounded('means')} (95% CI {e['ci_low']:+.2f} to {e['ci_high']:+.2f})",
                    f"n ≈ {rule.count(n):,} matched participants",
                    multiplicity.judged(e, e["ci_low"], e["ci_high"], False),
                    f"matched comparison {e['comparison_value']:+.2f} points",
                    "Mean distance travelled per area, from the reading before joining to the follow-up reading, "
                    + ("on a 1-10 equivalent scale (each instrument's range rescaled to 1-10)." if e["star_version"] == "all"
                       else "on the instrument's own scale."),
                    "Matched comparison")


#: What a time bank's SROI, and a grant's social value, say when no outcome is valued for one time bank (the shipped
#: maps: the matched effects are programme-wide, and hours exchanged are outputs, reported and not valued).
NOT_PER_BANK = ("not valued per time bank: the outcomes are measured for the programme as a whole; hours are reported "
                "as outputs")


def is_output(impact: pd.DataFrame) -> pd.Series:
    """The impact map's rows that are outputs (hours exchanged): reported, never valued, not outcomes."""
    return impact["status"].astype(str).str.startswith("output")


def outcomes_valued(impact: pd.DataFrame | None, scope: str) -> tuple[int, int]:
    """(outcomes with a present value, outcomes in the impact map) for ``scope`` ('overall' counts every row); outputs
    (hours exchanged, reported and not valued) are not outcomes and count in neither."""
    if impact is None or impact.empty:
        return 0, 0
    rows = impact if scope == "overall" else impact[impact["scope"] == scope]
    rows = rows[~is_output(rows)] if "status" in rows.columns else rows
    return int(rows["pv"].notna().sum()), len(rows)


def valued_per_bank(impact: pd.DataFrame | None, bank: str) -> bool:
    """Whether any outcome of the impact map is valued for time bank ``bank`` alone (scoped to it)."""
    return outcomes_valued(impact, bank)[0] > 0


def other_case(r: pd.Series) -> str:
    """The case published beside the headline ratio (docs/social-value.md, "Base case"), in words; empty when the map
    gives only one or both are the same."""
    base = r.get("base_case")
    if base == "point_estimate" and pd.notna(r.get("ratio_evidenced")) and round(r["ratio_evidenced"], 2) != round(r["ratio"], 2):
        kind = "evidenced (conservative) case" if r["ratio_evidenced"] <= r["ratio"] else "evidenced case"
        return (f"{kind} {pounds(r['ratio_evidenced'])} per £1 (estimates whose 95% interval includes no effect "
                "counted as 0)")
    if base == "evidenced" and pd.notna(r.get("ratio_point_estimate")) and round(r["ratio_point_estimate"], 2) != round(r["ratio"], 2):
        return (f"{pounds(r['ratio_point_estimate'])} per £1 at the point estimates (this figure counts estimates whose "
                "95% interval includes no effect as 0)")
    return ""


def illustrative(impact: pd.DataFrame | None) -> bool:
    """True when any proxy of the impact map is a made-up demo value."""
    return impact is not None and not impact.empty and impact["proxy_source"].astype(str).str.contains(
        "made up", case=False).any()


def sroi(value: pd.DataFrame | None, impact: pd.DataFrame | None, tb: str) -> Headline:
    if value is None or value.empty:
        return _none("no social-value model for this run (no impact map)", "")
    scope = "overall" if tb == ALL else tb
    rows = value[value["scope"] == scope]
    if rows.empty:
        return _none("the impact map has no scope for this time bank", "")
    r = rows.iloc[0]
    valued, listed = outcomes_valued(impact, scope)
    outcomes = f"{valued} of {plural(listed, 'outcome')} valued"
    if scope != "overall" and not valued:
        return _none(NOT_PER_BANK, "see all time banks for the programme's ratio")
    if pd.isna(r["ratio"]):
        return _none("no investment recorded for this scope", outcomes)
    has_ci = int(r["n_draws"] or 0) > 0 and pd.notna(r["ratio_ci_low"])
    interval = (f"95% interval {pounds(r['ratio_ci_low'])} to {pounds(r['ratio_ci_high'])} (Monte Carlo, {int(r['n_draws']):,} draws)"
                if has_ci else "no interval: the Monte Carlo was not run")
    if other := other_case(r):
        interval += f"; {other}"
    rag = judge(r["ratio_ci_low"], r["ratio_ci_high"], 1.0, False) if has_ci else "none"
    side = "below" if rag == "worse" else "above" if rag == "better" else "around"
    return Headline(f"{pounds(r['ratio'])} per £1", interval, outcomes, rag,
                    f"{side} £1 of value per £1 invested" if rag != "none" else "",
                    "Present value of the outcomes over the present value of the investment (SROI guide).",
                    "Illustrative unit costs" if illustrative(impact) else "")
