"""The six headline figures of the commissioner page, for any choice of time bank, area and year.

Sources and definitions:
* active member accounts, hours exchanged: ``marts.timebank_activity`` (active = an exchange in
  the 12 months to the end of the period; hours of exchange and group rows);
* readmission: ``marts.readmission_effects`` (participants against a matched comparison, NHS
  30-day emergency readmission) for everyone, else the crude rates of
  ``marts.readmission_rates`` with Wilson intervals, against the crude rate of all discharges;
* reoffending: ``marts.reoffending_effects`` (JDL-style matched binary rate) when estimable and
  publishable, else the crude rates of ``marts.reoffending_rates`` against non-participants;
* well-being: people improving in at least one area (``marts.wellbeing_change``, rows
  ``area = at_least_one_area``) summed over instruments, participants against people who are
  not members (``timebank_id = none``);
* SROI: ``marts.social_value`` ratio with its Monte Carlo interval.
Every count passes the disclosure rule; a rate on a suppressed count shows "*".
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from dashboards.disclosure import SUPPRESSED, DisclosureRule
from dashboards.filters import ALL, Item
from dashboards.tiles import judge, pct, summary, tile
from models.intervals import wilson_interval

EMPTY = pd.DataFrame()


@dataclass
class Headline:
    value: str
    interval: str
    n: str
    rag: str = "none"
    against: str = ""
    note: str = ""

    def item(self, label: str) -> Item:
        return Item(summary(label, self.value, self.interval, self.n, self.rag, self.against),
                    html=tile(label, self.value, self.interval, self.n, self.rag, self.against, self.note))


def _none(reason: str, n: str = "n = 0") -> Headline:
    return Headline("–", reason, n)


def _hidden(rule: DisclosureRule, n: str) -> Headline:
    return Headline(SUPPRESSED, f"not published: it rests on a count of 1 to {rule.suppress_max}", n)


def _activity(ta: pd.DataFrame, tb: str, year: str) -> pd.DataFrame:
    if ta is None or ta.empty:
        return EMPTY
    rows = ta[ta["period_type"] == "overall"] if year == ALL else ta[
        (ta["period_type"] != "overall") & ta["period_label"].astype(str).str.startswith(year)]
    return rows if tb == ALL else rows[rows["timebank_id"] == tb]


def active_members(ta: pd.DataFrame | None, rule: DisclosureRule, tb: str, year: str) -> Headline:
    rows = _activity(ta, tb, year)
    if rows.empty:
        return _none("no time-bank activity recorded for this selection")
    last = rows.sort_values("period_end").groupby("timebank_id").tail(1)  # the year's last period: active in the 12 months to it
    return Headline(str(rule.count(int(last["active_members"].sum()))), "a count of every account, not a sample: no interval",
                    f"{last['timebank_id'].nunique()} time bank(s)",
                    note="Accounts with an exchange in the 12 months to the end of the period.")


def hours_exchanged(ta: pd.DataFrame | None, rule: DisclosureRule, tb: str, year: str) -> Headline:
    rows = _activity(ta, tb, year)
    if rows.empty:
        return _none("no time-bank activity recorded for this selection")
    traders = int(rows.groupby("period_label")["trading_members"].sum().max())
    n = f"n ≈ {rule.count(traders)} trading accounts"
    if rule.hides(traders):
        return _hidden(rule, n)
    return Headline(f"{rows['hours_exchanged'].sum():,.0f} h", "a total of every exchange, not a sample: no interval", n,
                    note="Hours of exchange and group activity (donations and system credits excluded).")


def _crude(k: float, n: float, bench: float | None, rule: DisclosureRule, lower_is_better: bool, against: str,
           unit: str, note: str) -> Headline:
    n_text = f"n ≈ {rule.count(n)} {unit}"
    if n == 0:
        return _none("nothing to measure for this selection", n_text)
    if rule.hides(k) or rule.hides(n):
        return _hidden(rule, n_text)
    low, high = (float(v) for v in wilson_interval(k, n))
    rag = judge(low, high, bench, lower_is_better) if bench is not None and not pd.isna(bench) else "none"
    return Headline(pct(k / n), f"95% CI {pct(low)} to {pct(high)} (Wilson)", n_text, rag,
                    f"{against} {pct(bench)}" if rag != "none" else "", note)


def readmission(rates: pd.DataFrame | None, effects: pd.DataFrame | None, rule: DisclosureRule,
                tb: str, area: str, year: str) -> Headline:
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
        n_text = f"n ≈ {rule.count(n)} matched participant discharges"
        if rule.hides(n) or rule.hides(round(e["participant_rate"] * n)):
            return _hidden(rule, n_text)
        return Headline(pct(e["participant_rate"]), f"difference {100 * e['risk_difference']:+.1f} points "
                        f"(95% CI {100 * e['rd_ci_low']:+.1f} to {100 * e['rd_ci_high']:+.1f})", n_text,
                        judge(e["rd_ci_low"], e["rd_ci_high"], 0.0, True), f"matched comparison {pct(e['comparison_rate'])}",
                        "Emergency readmission within 30 days (NHS), participants against a matched comparison group.")
    if chosen:
        dim, value = chosen[0]
        rows = rates[(rates["dimension"] == dim) & (rates["value"].astype(str).str.startswith(value) if dim == "quarter"
                                                    else rates["value"] == value)]
    else:
        rows = rates[(rates["dimension"] == "exposure") & (rates["value"] == "participant")]
    overall = rates[rates["dimension"] == "overall"]
    bench = float(overall["rate"].iloc[0]) if not overall.empty else None
    return _crude(rows["readmissions"].sum(), rows["discharges"].sum(), bench, rule, True, "all discharges",
                  "discharges", "Crude 30-day emergency readmission rate: not risk-adjusted or matched.")


def reoffending(rates: pd.DataFrame | None, effects: pd.DataFrame | None, rule: DisclosureRule,
                tb: str, year: str) -> Headline:
    programme = "any_participation" if tb == ALL else f"timebank:{tb}"
    if rates is None or rates.empty:
        return _none("no reoffending data (justice extracts not supplied)")
    if year == ALL and effects is not None:
        e = effects[(effects["programme"] == programme) & (effects["measure"] == "binary_rate") & effects["estimable"].fillna(False)]
        if not e.empty:
            e = e.iloc[0]
            n = int(e["n_matched"])
            if not (rule.hides(n) or rule.hides(round(e["participant_value"] * n))):
                return Headline(pct(e["participant_value"]), f"difference {100 * e['estimate']:+.1f} points "
                                f"(95% CI {100 * e['ci_low']:+.1f} to {100 * e['ci_high']:+.1f})",
                                f"n ≈ {rule.count(n)} matched participants", judge(e["ci_low"], e["ci_high"], 0.0, True),
                                f"matched comparison {pct(e['comparison_value'])}",
                                "Proven reoffending within a year (MoJ), against a matched comparison group.")
    periods = rates["cohort_period"].astype(str)
    scope = periods == ALL if year == ALL else periods.str.startswith(year)
    base = rates[scope & (rates["event_type"] == ALL)]
    part, comp = base[base["programme"] == programme], base[base["programme"] == "no_participation"]
    n_comp = comp["persons"].sum()
    provisional = " Includes provisional cohorts, whose rates can still rise." if (part["status"] == "provisional").any() else ""
    return _crude(part["reoffenders"].sum(), part["persons"].sum(), comp["reoffenders"].sum() / n_comp if n_comp else None,
                  rule, True, "non-participants", "people in the cohorts",
                  "Crude proven reoffending rate, not matched." + provisional)


def wellbeing(change: pd.DataFrame | None, rule: DisclosureRule, tb: str, year: str) -> Headline:
    if change is None or change.empty:
        return _none("no well-being readings (Outcomes Star extract not supplied)")
    periods = change["period"].astype(str)
    rows = change[(change["area"] == "at_least_one_area") & ((periods == ALL) if year == ALL else periods.str.startswith(year))]
    comp = rows[rows["timebank_id"] == "none"]
    if tb == ALL:
        everyone = rows[rows["timebank_id"] == ALL]
        k = everyone["n_improved"].sum() - comp["n_improved"].sum()
        n = everyone["n_paired"].sum() - comp["n_paired"].sum()
    else:
        mine = rows[rows["timebank_id"] == tb]
        k, n = mine["n_improved"].sum(), mine["n_paired"].sum()
    n_comp = comp["n_paired"].sum()
    bench = comp["n_improved"].sum() / n_comp if n_comp and not rule.hides(n_comp) else None
    return _crude(k, n, bench, rule, False, "people not in a time bank", "participants with two readings",
                  "Improved in at least one area between the first and latest reading, counted once per instrument.")


def sroi(value: pd.DataFrame | None, impact: pd.DataFrame | None, tb: str) -> Headline:
    if value is None or value.empty:
        return _none("no social-value model for this run (no impact map)", "")
    rows = value[value["scope"] == ("overall" if tb == ALL else tb)]
    if rows.empty:
        return _none("the impact map has no scope for this time bank", "")
    r = rows.iloc[0]
    outcomes = 0 if impact is None else len(impact if tb == ALL else impact[impact["scope"] == tb])
    if pd.isna(r["ratio"]):
        return _none("no investment recorded for this scope", f"{outcomes} outcomes valued")
    has_ci = int(r["n_draws"] or 0) > 0 and pd.notna(r["ratio_ci_low"])
    interval = (f"95% interval {r['ratio_ci_low']:.2f} to {r['ratio_ci_high']:.2f} (Monte Carlo, {int(r['n_draws']):,} draws)"
                if has_ci else "no interval: the Monte Carlo was not run")
    rag = judge(r["ratio_ci_low"], r["ratio_ci_high"], 1.0, False) if has_ci else "none"
    return Headline(f"£{r['ratio']:.2f} per £1", interval, f"{outcomes} outcomes valued", rag,
                    "1:1 (value equal to the investment)" if rag != "none" else "",
                    "Present value of the outcomes over the present value of the investment (SROI guide).")
