"""'What you can say / what you cannot say' for every comparison, in the Justice Data Lab manner.

Inputs are the effect marts (``marts.readmission_effects``, ``marts.reoffending_effects``
binary-rate rows, ``marts.wellbeing_effects``) and ``marts.social_value``. A result counts
as significant only when its 95% interval excludes no difference (the models' verdicts);
balance is judged by the largest absolute standardised mean difference after matching
(below 0.1 is balanced, Austin 2009); 60 matched participants is the JDL minimum.
"""

from __future__ import annotations

import pandas as pd

from dashboards import headlines, labels, multiplicity, subtraction
from dashboards.labels import unrounded
from dashboards.tiles import judge
from dashboards.windows import NHS_MOJ, Windows

from models.disclosure import DisclosureRule
from models.time_zero import covariate_words

COLUMNS = ["result", "verdict", "n_matched", "what you can say", "what you cannot say", "design", "analysis role"]
NO_DESIGN = "design not recorded"
JDL_MINIMUM = 60


def difference_sentence(estimate: float, low: float, high: float, unit: str, words: str, decimals: int = 1,
                        of: str = "rates") -> str:
    """The one way the page states a matched difference: its size (:func:`unrounded` ``of``), what it is, and where the
    true difference likely lies (the 95% interval), so the readmission, reoffending and well-being verdicts read alike."""
    short = "points" if unit.endswith("points") else unit
    return (f"The difference of {estimate:+.{decimals}f} {unit} ({unrounded(of)}) is {words}: the true difference is "
            f"likely between {low:+.{decimals}f} and {high:+.{decimals}f} {short} (95% interval).")


def direction(rag: str, better: str, worse: str) -> str:
    """What a difference is, from where its 95% interval lies (``dashboards.tiles.judge``)."""
    return "inconclusive" if rag == "inconclusive" else (better if rag == "better" else worse)


def rate_difference_sentence(estimate: float, low: float, high: float, rag: str | None = None) -> str:
    """:func:`difference_sentence` for a rate where fewer is better (readmission, reoffending), in percentage points;
    ``rag``: the judgement, when not the interval's own (:func:`dashboards.multiplicity.judged`)."""
    return difference_sentence(estimate, low, high, "percentage points",
                               direction(rag or judge(low, high, 0.0, True), "a reduction", "an increase"))


def _cautions(published_n: int, smd: float | None, covariates: str) -> str:
    """What the reader cannot say. The Justice Data Lab's minimum is judged on the published (rounded) count, so the
    caution cannot tell the reader on which side of 60 a count shown as "60" lies."""
    measured = covariate_words([c.strip() for c in str(covariates).split(",") if c.strip()])
    words = [f"You cannot say the programme caused the difference: matching balances only what was measured ({measured})."]
    if not pd.isna(smd) and smd > 0.1:  # no figure: the largest may be a column too rare to publish (evaluator page)
        words.append("Balance was not reached on every covariate (an |SMD| above 0.1 after matching).")
    if published_n <= JDL_MINIMUM:
        words.append(f"About {JDL_MINIMUM} matched participants or fewer, where the Justice Data Lab asks for at least "
                     f"{JDL_MINIMUM}: treat it with caution.")
    return " ".join(words)


#: "What you cannot say" of a row not published, by :class:`dashboards.subtraction.Reason` kind.
CANNOT = {"group": "Anything about an effect: the result rests on a handful of people.",
          "cells": "Anything about an effect: the participants' rate, and the difference beside the comparison's, would "
                   "identify them.",
          "subtraction": "Anything about an effect: its figures would identify people in another result."}


def statement(result: str, verdict: str, n: int, outcome: str, part: float, comp: float, diff: tuple[float, float, float],
              unit: str, smd: float | None, covariates: str, rule: DisclosureRule, why: subtraction.Reason | None = None,
              digits: int = 1, of: str = "rates") -> dict:
    """One row: ``diff`` is (estimate, low, high) in ``unit``, written with ``digits`` decimals (as the commissioner
    page writes the same result), from the unrounded ``of`` (:func:`unrounded`); ``part``/``comp`` are the two groups'
    values; ``why``: why the row is not published
    (:func:`dashboards.subtraction.withheld_reason`), or None (a matched group of 1-7 is withheld all the same)."""
    row = {"result": result, "verdict": verdict, "n_matched": rule.count(n)}
    if verdict.startswith("not estima") or n == 0:
        return {**row, "verdict": "not estimable", "what you can say": "Nothing: no comparison could be estimated.",
                "what you cannot say": "Anything about an effect, in either direction."}
    why = why or subtraction.withheld_reason({"n_matched": n}, rule)
    if why is not None:  # no verdict and no estimate
        return {**row, "verdict": "not published", "what you can say": f"Nothing that can be published: {why.words}.",
                "what you cannot say": CANNOT[why.kind]}
    est, low, high = diff
    span = f"between {low:+.{digits}f} and {high:+.{digits}f} {unit} (95% interval)"
    if verdict == "inconclusive":
        can = (f"{outcome}: participants {part} against {comp} in the matched comparison group. The difference of "
               f"{est:+.{digits}f} {unit} ({unrounded(of)}) is inconclusive: the true difference is likely {span}.")
        cannot = ("You cannot say the programme had no effect, or that it had one: the data cannot tell. "
                  + _cautions(row["n_matched"], smd, covariates))
    else:
        can = (f"{outcome}: participants {part} against {comp} in the matched comparison group, a {verdict} of "
               f"{est:+.{digits}f} {unit} ({unrounded(of)}), likely {span}.")
        cannot = _cautions(row["n_matched"], smd, covariates)
    return {**row, "what you can say": can, "what you cannot say": cannot}


def _pct(v: float) -> str:
    return "–" if pd.isna(v) else f"{100 * v:.1f}%"


def _num(v: float) -> str:
    return "–" if pd.isna(v) else f"{v:.2f}"


def _n(v) -> int:
    return 0 if pd.isna(v) else int(v)


def _design(r: dict) -> str:
    value = r.get("design_sentence")
    return NO_DESIGN if value is None or (not isinstance(value, str) and pd.isna(value)) else str(value)


#: A Cox row's analysis role: the model is not in the run's register (its matched hazard ratio is), so no Holm
#: adjustment holds it; its role cell was empty beside every other result's.
COX_ROLE = ("A check beside the matched results, not one of the run's comparisons: not adjusted for them (Holm); read "
            "it with the matched result.")


def cox_statements(cox: pd.DataFrame | None) -> list[dict]:
    """One row per programme's Cox 'treated' term, from the published Cox table (same values, same suppression).

    The model is fitted on everyone analysed, not on a matched sample, so the row's ``n_matched`` is empty and its
    text gives the participants in the model; its analysis role is :data:`COX_ROLE`."""
    rows = []
    for r in ([] if cox is None else cox[cox["term"] == "treated"].to_dict("records")):
        result = f"Time to first proven reoffence (Cox): {labels.words(r['programme'])}"
        hr = r["hazard_ratio"]
        if hr == "*":
            rows.append({"result": result, "verdict": "not published", "n_matched": None,
                         "what you can say": "Nothing that can be published: the model has too few participants.",
                         "what you cannot say": "Anything about an effect: the hazard ratio rests on a handful of people.",
                         "design": _design(r)})
        elif hr is None or pd.isna(hr):
            rows.append({"result": result, "verdict": "not estimable", "n_matched": None,
                         "what you can say": "Nothing: the hazard ratio could not be estimated.",
                         "what you cannot say": "Anything about an effect, in either direction.", "design": _design(r)})
        else:
            low, high = float(r["ci_low"]), float(r["ci_high"])
            verdict = "inconclusive" if low <= 1 <= high else ("faster reoffending" if low > 1 else "slower reoffending")
            rows.append({"result": result, "verdict": verdict, "n_matched": None,
                         "what you can say": f"Participants' hazard of a first proven reoffence is {hr:.2f} times the "
                                             f"comparison's, likely between {low:.2f} and {high:.2f} (95% interval)"
                                             + (": inconclusive" if verdict == "inconclusive" else "")
                                             + f"; a model of everyone analysed (about {r['n_participants']} of them "
                                               "participants), not matched.",
                         "what you cannot say": "That the programme caused it: the model adjusts only for the measured "
                                                "covariates, and it is not the matched binary comparison.",
                         "design": _design(r)})
    return [row | {"analysis role": COX_ROLE} for row in rows]


def _role(row: dict) -> str:
    from dashboards.verdicts import role_words

    return role_words(*multiplicity.role(row))


def statements(readmission: pd.DataFrame | None, reoffending: pd.DataFrame | None, wellbeing: pd.DataFrame | None,
               social_value: pd.DataFrame | None, rule: DisclosureRule, cox: pd.DataFrame | None = None,
               windows: Windows = NHS_MOJ) -> pd.DataFrame:
    """Every comparison's row. ``cox`` is the published Cox table (dashboards.evaluator.published_cox); each effect row's
    analysis role (primary or exploratory, comparisons in the run) is its multiplicity mark
    (:func:`dashboards.marts.read_marts`); ``windows``: the readmission window and reoffending follow-up the run used,
    which name the outcomes."""
    rows = []

    def add(effect: dict, verdict: str, make) -> None:
        """One statement, ``make(verdict)``: an exploratory result significant alone but not once the run's comparisons
        are allowed for reads inconclusive, and says why (the row's mark, :mod:`dashboards.multiplicity`)."""
        if multiplicity.held_back(effect) is None or not str(verdict).startswith("significant"):
            rows.append(make(verdict) | {"analysis role": _role(effect)})
            return
        row = make("inconclusive")
        if row["verdict"] == "inconclusive":  # the figures are published
            row["what you can say"] += " " + multiplicity.why(effect)
        rows.append(row | {"analysis role": _role(effect)})

    for r in ([] if readmission is None else readmission.to_dict("records")):
        add(r, r["verdict"], lambda verdict, r=r: statement(
            f"Readmission {windows.readmitted_within}: {r['comparison']}", verdict,
            _n(r["n_matched"]), windows.readmission, _pct(r["participant_rate"]), _pct(r["comparison_rate"]),
            tuple(100 * r[c] for c in ("risk_difference", "rd_ci_low", "rd_ci_high")), "points",
            r["max_abs_smd_after"], r["covariates"], rule,
            subtraction.withheld_reason(r, rule, ("participant_rate", "comparison_rate"))) | {"design": _design(r)})
    binary = [] if reoffending is None else reoffending[reoffending["measure"] == "binary_rate"].to_dict("records")
    for r in binary:
        add(r, r["verdict"], lambda verdict, r=r: statement(
            f"Proven reoffending: {labels.words(r['programme'])}", verdict, _n(r["n_matched"]),
            windows.reoffending, _pct(r["participant_value"]), _pct(r["comparison_value"]),
            tuple(100 * r[c] for c in ("estimate", "ci_low", "ci_high")), "points",
            r["max_abs_smd"], r["covariates"], rule,
            subtraction.withheld_reason(r, rule, ("participant_value", "comparison_value"))) | {"design": _design(r)})
    rows += cox_statements(cox)
    for r in ([] if wellbeing is None else wellbeing.to_dict("records")):
        verdict = r["interpretation"] if r["interpretation"] in ("inconclusive", "not estimated") else f"significant {r['interpretation']}"
        add(r, verdict, lambda verdict, r=r: statement(
            f"Well-being change: {labels.title(r['star_version'])} / {labels.title(r['area'])}", verdict,
            _n(r["n_matched"]), "Mean change in score (a rise is an improvement)",
            _num(r["treated_value"]), _num(r["comparison_value"]),
            (r["estimate"], r["ci_low"], r["ci_high"]), "points", r["max_abs_smd_after"], r["covariates"],
            rule, subtraction.withheld_reason(r, rule), digits=2, of="means") | {"design": _design(r)})
    for r in ([] if social_value is None else social_value.to_dict("records")):
        if pd.isna(r["ratio"]):
            continue
        interval = "" if pd.isna(r["ratio_ci_low"]) else f" (95% interval {r['ratio_ci_low']:.2f} to {r['ratio_ci_high']:.2f})"
        rows.append({"result": f"SROI ratio: {r['scope']}", "verdict": f"{labels.pounds(r['ratio'])} per £1", "n_matched": None,
                     "what you can say": f"Under the impact map's assumptions, each £1 invested is valued at {labels.pounds(r['ratio'])} "
                                         f"of social value{interval}."
                                         + (f" Beside it: {other}." if (other := headlines.other_case(pd.Series(r))) else ""),
                     "what you cannot say": "That this money is saved or cashable: the values are proxies, and the ratio "
                                            "moves with the deadweight, attribution and drop-off assumed (see the tornado).",
                     "design": "impact map (SROI guide)"})
    return pd.DataFrame(rows, columns=COLUMNS)
