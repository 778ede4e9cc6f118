"""A whole less its parts: the comparison of any participation, less its published parts, gives back no withheld part.

The numbers are the demo's readmission comparisons, which the referee of 2026-12-05 subtracted: 23 of 310 readmitted
after any participation, 16 of 207 after a programme, so 7 of 103 after the time bank, a group the rule withholds.
"""

from __future__ import annotations

import re

import pandas as pd

from dashboards import subtraction, verdicts, wording
from models.disclosure import DisclosureRule

RULE = DisclosureRule()
#: The families of the evaluator's "what you can say" rows: the result's prefix, and the whole's name after it.
FAMILIES = {"Readmission within 30 days: ": "any", "Proven reoffending: ": "Any participation"}


def _participant_counts(text: str, n: object) -> set[int] | None:
    """Every whole number of participants with the outcome a published row allows: k of m, m within the rounding of
    its n (±2), k / m the participants' percentage as written to one decimal; None when the row gives no figures."""
    found = re.search(r"participants (\d+\.\d)% against", str(text))
    if not found or str(n) in ("", "*", "None", "nan"):
        return None
    pct, rounded = float(found.group(1)), int(float(n))
    return {k for m in range(max(rounded - 2, 1), rounded + 3) for k in range(m + 1) if abs(100 * k / m - pct) <= 0.05 + 1e-9}


def subtracted(said: pd.DataFrame) -> dict[str, set[int]]:
    """The attacker's subtraction on "what you can say" rows: per family whose whole is published while a part is
    withheld, every count of the withheld parts' participants with the outcome that the whole less its published parts
    allows."""
    left = {}
    for prefix, whole in FAMILIES.items():
        rows = said[said["result"].str.startswith(prefix)]
        counts = {r["result"].removeprefix(prefix): _participant_counts(r["what you can say"], r["n_matched"])
                  for r in rows.to_dict("records")}
        if counts.get(whole) is None or all(v is not None for k, v in counts.items() if k != whole):
            continue
        sums = {0}
        for name, allowed in counts.items():
            if name != whole and allowed is not None:
                sums = {s + k for s in sums for k in allowed}
        left[prefix] = {w - s for w in counts[whole] for s in sums}
    return left


def _readmission(any_k: int = 23, programme_k: int = 16, timebank_k: int = 7) -> pd.DataFrame:
    n = {"any": 310, "timebank": 103, "programme": 207}
    k = {"any": any_k, "timebank": timebank_k, "programme": programme_k}
    return pd.DataFrame({
        "comparison": list(n), "status": "estimated", "n_treated": list(n.values()), "n_matched": list(n.values()),
        "participant_rate": [k[c] / n[c] for c in n], "comparison_rate": [0.10, 0.11, 0.096],
        "risk_difference": [-0.03, -0.04, -0.02], "rd_ci_low": [-0.07, -0.1, -0.07], "rd_ci_high": [0.01, 0.02, 0.03],
        "verdict": "inconclusive", "max_abs_smd_after": 0.05, "covariates": "age, sex", "jdl_statement": "For every 100 ...",
    })


def test_a_part_is_withheld_when_the_whole_less_the_published_parts_is_a_count_of_1_to_7():
    hidden = pd.Series([False, True, False])  # any, time bank (7 readmitted: withheld), programme
    whole = pd.Series([True, False, False])
    cells = pd.DataFrame({"with": [23, 7, 16], "without": [287, 96, 191]})
    assert RULE.subtraction_withheld(hidden, whole, cells, pd.Series([310, 103, 207])).tolist() == [False, True, True]
    # 30 readmitted after any participation, 16 after a programme: the difference, 14, can be published
    cells.loc[0, "with"] = 30
    assert RULE.subtraction_withheld(hidden, whole, cells, pd.Series([310, 103, 207])).tolist() == [False, True, False]
    # nothing withheld, nothing to give back
    assert not RULE.subtraction_withheld(~whole & False, whole, cells, pd.Series([310, 103, 207])).any()


def test_the_smallest_parts_go_first_until_the_difference_is_safe():
    # a whole of 40 with the outcome; parts of 3 (withheld), 30, 5 and 4: 40 - 39 = 1, then 40 - 35 = 5, then 40 - 30 = 10
    hidden = pd.Series([False, True, False, False, False])
    whole = pd.Series([True, False, False, False, False])
    cells = pd.DataFrame({"with": [40, 3, 30, 5, 4], "without": [400, 50, 300, 60, 50]})
    size = pd.Series([440, 53, 330, 65, 54])
    assert RULE.subtraction_withheld(hidden, whole, cells, size).tolist() == [False, True, False, True, True]


def test_the_page_marks_the_programme_and_says_why_it_is_not_published():
    marked = subtraction.mark(_readmission(), subtraction.FAMILIES[0], RULE)
    assert marked.set_index("comparison")[subtraction.COLUMN].to_dict() == {"any": False, "timebank": False,
                                                                             "programme": True}
    said = wording.statements(marked, None, None, None, RULE).set_index("result")
    programme, any_ = said.loc["Readmission within 30 days: programme"], said.loc["Readmission within 30 days: any"]
    assert programme["verdict"] == "not published" and "by subtraction" in programme["what you can say"]
    assert "7.7%" not in programme["what you can say"] and "7.4%" in any_["what you can say"]
    # the time bank's own row is withheld for its 7 readmitted, not by subtraction
    assert "1 to 7 of the matched participants" in said.loc["Readmission within 30 days: timebank", "what you can say"]
    # the attacker's subtraction: without the mark it pins the time bank's 7; with it, any count from 0 to 23 fits
    unmarked = wording.statements(_readmission(), None, None, None, RULE)
    assert subtracted(unmarked) == {"Readmission within 30 days: ": {7}}
    assert not subtracted(said.reset_index())["Readmission within 30 days: "] <= set(range(1, 8))


def test_the_whole_keeps_its_verdict_and_a_safe_difference_marks_nothing():
    marked = subtraction.mark(_readmission(any_k=30), subtraction.FAMILIES[0], RULE)
    assert not marked[subtraction.COLUMN].any()
    row = verdicts.readmission_row(subtraction.mark(_readmission(), subtraction.FAMILIES[0], RULE), RULE)
    assert row["verdict"] == "inconclusive" and row["participants_value"] == "7.4%"


def test_a_withheld_programme_takes_its_other_measures_with_it():
    rows = []
    for programme, n, k in (("any_participation", 60, 13), ("timebank:TB01", 10, 6), ("prison_listeners", 40, 9)):
        for measure in ("binary_rate", "frequency"):
            rows.append({"programme": programme, "measure": measure, "n_matched": n, "estimable": True, "estimate": 0.1,
                         "participant_value": k / n if measure == "binary_rate" else 0.5,
                         "comparison_value": 0.3 if measure == "binary_rate" else 0.6})
    marked = subtraction.mark(pd.DataFrame(rows), subtraction.FAMILIES[1], RULE)
    # TB01 (6 of 10) is withheld; 13 - 9 = 4 would give it back, so the listeners go too, both measures
    assert marked.groupby("programme")[subtraction.COLUMN].all().to_dict() == {
        "any_participation": False, "prison_listeners": True, "timebank:TB01": False}
