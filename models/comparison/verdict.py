"""Plain-language verdict and Justice Data Lab style statements.

Verdict (the Justice Data Lab's significance approach; methods.md section 2):
the headline measure's 95% interval is compared with the null value, 0 for a
difference and 1 for a ratio.

* ``"significant reduction"``: the whole interval is below the null, i.e. the
  participants' outcome is lower than the comparison group's;
* ``"significant increase"``: the whole interval is above the null;
* ``"inconclusive"``: the interval contains the null, or no interval could be
  computed.

"Reduction" is about the direction of the outcome, not whether it is good:
a reduction in readmission is welcome, a reduction in a well-being score is not.

JDL statement (the JDL reports' "For any 100 typical people in the comparison
group: 56 reoffended ... 205 reoffences"; methods.md section 2). Group values
are per 100 people and rounded half up to whole numbers:

* binary / time to event: "For every 100 people in the comparison group, 31
  were readmitted; for every 100 participants, 24 were." The second clause
  repeats ``label`` unless it starts with "were"/"was", which is then used
  alone. Time to event uses the share with the event during follow-up (not
  adjusted for censoring).
* count: "For every 100 people in the comparison group, there were 205
  reoffences; for every 100 participants, there were 160." With an exposure,
  "per 100 person-years" replaces "for every 100 people".
* continuous: "The comparison group's average <label> was 23.5; the
  participants' average was 25.1." (one decimal).
"""

from __future__ import annotations

import math

import numpy as np

VERDICTS = ("significant reduction", "significant increase", "inconclusive")


def verdict(ci_low: float, ci_high: float, null: float) -> str:
    """Classify an interval against ``null`` (see module docstring)."""
    if not (np.isfinite(ci_low) and np.isfinite(ci_high)):
        return "inconclusive"
    if ci_high < null:
        return "significant reduction"
    if ci_low > null:
        return "significant increase"
    return "inconclusive"


def per_100(value: float) -> int:
    """value x 100 rounded half up to a whole number (JDL reports whole people)."""
    return int(math.floor(value * 100 + 0.5))


def _short(label: str) -> str:
    first = label.split(" ", 1)[0]
    return first if first in ("were", "was") and " " in label else label


DEFAULT_LABELS = {
    "binary": "had the outcome",
    "time_to_event": "had the event during follow-up",
    "count": "events",
    "continuous": "score",
}


def jdl_statement(
    outcome_type: str,
    treated_value: float,
    comparison_value: float,
    label: str | None = None,
    *,
    exposure: bool = False,
    per: tuple[str, str] = ("people in the comparison group", "participants"),
) -> str:
    """The JDL-style sentence comparing the two groups (see module docstring). ``per``: what the rates of a binary or
    time-to-event outcome are per, in the comparison group and among participants, when the units are not people
    (readmission: ``("comparison discharges", "participant discharges")``)."""
    if not (np.isfinite(treated_value) and np.isfinite(comparison_value)):
        return "No comparison could be made."
    label = label or DEFAULT_LABELS[outcome_type]
    if outcome_type in ("binary", "time_to_event"):
        return (
            f"For every 100 {per[0]}, {per_100(comparison_value)} {label}; "
            f"for every 100 {per[1]}, {per_100(treated_value)} {_short(label)}."
        )
    if outcome_type == "count":
        if exposure:
            return (
                f"For every 100 person-years in the comparison group, there were {per_100(comparison_value)} "
                f"{label}; for every 100 person-years among participants, there were {per_100(treated_value)}."
            )
        return (
            f"For every 100 people in the comparison group, there were {per_100(comparison_value)} {label}; "
            f"for every 100 participants, there were {per_100(treated_value)}."
        )
    if outcome_type == "continuous":
        return (
            f"The comparison group's average {label} was {comparison_value:.1f}; "
            f"the participants' average was {treated_value:.1f}."
        )
    raise ValueError(f"unknown outcome_type {outcome_type!r}")


_MEASURE_WORDS = {
    "risk_difference": ("per 100 people", 100.0),
    "mean_difference": ("", 1.0),
    "rate_difference": ("per unit of exposure", 1.0),
}


def verdict_statement(verdict_text: str, measure: str, estimate: float, ci_low: float, ci_high: float) -> str:
    """One sentence: the verdict with the headline measure and its 95% interval.

    Risk differences are given per 100 people (percentage points), as the JDL
    does ("a significant reduction of 2 to 14 percentage points").
    """
    name = measure.replace("_", " ")
    if measure in _MEASURE_WORDS:
        unit, k = _MEASURE_WORDS[measure]
        unit = f" {unit}" if unit else ""
        if measure == "risk_difference":
            body = f"{name} {estimate * k:+.1f}{unit} (95% CI {ci_low * k:+.1f} to {ci_high * k:+.1f})"
        else:
            body = f"{name} {estimate:+.3g}{unit} (95% CI {ci_low:+.3g} to {ci_high:+.3g})"
    else:
        body = f"{name} {estimate:.2f} (95% CI {ci_low:.2f} to {ci_high:.2f})"
    return f"{verdict_text[0].upper()}{verdict_text[1:]}: {body}."
