"""Comparisons that nest, and the parts withheld so that a whole less its parts gives no one away.

Readmission after any participation is the time-bank comparison and the programme comparison
together (``marts.readmission_effects``, comparisons ``any``, ``timebank``, ``programme``); proven
reoffending after any participation takes in every programme's and time bank's
(``marts.reoffending_effects``); the well-being comparison over all instruments takes in each
instrument's (``marts.wellbeing_effects``, ``star_version`` ``all``). A reader who has the whole's
participants with the outcome and all but one part's has the last part's by subtraction, though
that part is withheld for resting on 1-7 people (the demo: 23 readmitted after any participation,
16 after a programme, so 7 after the time bank). :meth:`models.disclosure.DisclosureRule.subtraction_withheld`
withholds another part, or the whole, until no such difference is a count of 1-7.

Every page reads its marts through :func:`dashboards.marts.read_marts`, which marks those rows in
:data:`COLUMN`; every sentence, tile and table that publishes a matched comparison's figures asks
:func:`withheld_reason`, which also gives the other two reasons a row is not published (a matched group of 1-7, or
1-7 people with the outcome or without it).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import pandas as pd

from models.disclosure import DisclosureRule

#: True on an effect row withheld so that no whole less its parts gives back a withheld group.
COLUMN = "withheld_by_subtraction"


@dataclass(frozen=True)
class Family:
    """A mart's nesting comparisons: ``key`` names each (one row per key among ``rows``), ``whole`` the one
    that takes in the others. ``published(frame, rule)``: the rows whose figures are published on their own;
    ``shares``: the participants' share of a binary outcome (its people with the outcome and without it are
    the cells a subtraction gives back), or None for a mean (the cell is the matched group's size)."""

    mart: str
    key: str
    whole: str
    rows: Callable[[pd.DataFrame], pd.Series]
    published: Callable[[pd.DataFrame, DisclosureRule], pd.Series]
    share: str | None


def _shares_published(n: str, share: str, comparison: str, estimated: Callable[[pd.DataFrame], pd.Series]):
    def published(frame: pd.DataFrame, rule: DisclosureRule) -> pd.Series:
        shown = [not rule.hides_shares(k, a, b) for k, a, b in zip(frame[n], frame[share], frame[comparison])]
        return estimated(frame).fillna(False).astype(bool) & pd.Series(shown, index=frame.index)
    return published


FAMILIES = (
    Family("readmission_effects", "comparison", "any", lambda f: pd.Series(True, index=f.index),
           _shares_published("n_matched", "participant_rate", "comparison_rate",
                             lambda f: (f["status"] == "estimated") & f["risk_difference"].notna()),
           "participant_rate"),
    Family("reoffending_effects", "programme", "any_participation", lambda f: f["measure"] == "binary_rate",
           _shares_published("n_matched", "participant_value", "comparison_value",
                             lambda f: f["estimable"].astype("boolean") & f["estimate"].notna()),
           "participant_value"),
    Family("wellbeing_effects", "star_version", "all", lambda f: f["area"] == "mean_of_areas",
           lambda f, rule: f["estimate"].notna() & ~f["n_matched"].map(rule.hides).astype(bool), None),
)


def mark(frame: pd.DataFrame | None, family: Family, rule: DisclosureRule) -> pd.DataFrame | None:
    """``frame`` with :data:`COLUMN`: True on every row of a key withheld so that its whole less its parts
    gives no count of 1-7 (a key's other rows, e.g. its other measures or areas, go with it)."""
    if frame is None or family.key not in frame.columns:
        return frame
    rows = frame[family.rows(frame)].drop_duplicates(family.key)
    if rows.empty:
        return frame.assign(**{COLUMN: False})
    n = rows["n_matched"].astype(float).fillna(0.0).to_numpy()
    if family.share is None:
        cells = pd.DataFrame({"people": n}, index=rows.index)
    else:
        events = np.round(rows[family.share].astype(float).fillna(0.0).to_numpy() * n)
        cells = pd.DataFrame({"with": events, "without": n - events}, index=rows.index)
    shown = family.published(rows, rule)
    hidden = rule.subtraction_withheld(~shown, rows[family.key] == family.whole, cells, rows["n_matched"])
    extra = set(rows.loc[hidden & shown, family.key])
    return frame.assign(**{COLUMN: frame[family.key].isin(extra)})


def withheld(row: pd.Series | dict) -> bool:
    """True when an effect row is withheld so that a whole less its parts gives no one away."""
    value = row.get(COLUMN, False)
    return bool(value) if value is not None and not pd.isna(value) else False


def reason(rule: DisclosureRule) -> str:
    """Why such a row is not published, in words (after "not published: ")."""
    return (f"with the other comparisons' published figures, its figures would give back, by subtraction, those of a "
            f"group of 1 to {rule.suppress_max} people, which are withheld")


class Reason(NamedTuple):
    """Why a matched comparison's row publishes no figure: ``kind`` is ``group`` (a matched group of 1 to
    ``suppress_max``), ``cells`` (1 to ``suppress_max`` of the participants or of their comparison group had the outcome,
    or did not: :meth:`DisclosureRule.hides_shares`) or ``subtraction`` (:func:`withheld`); ``words`` says it, to follow
    "not published: "."""

    kind: str
    words: str


def withheld_reason(row: pd.Series | Mapping, rule: DisclosureRule, shares: Sequence[str] = (),
                    had: str = "had the outcome") -> Reason | None:
    """Why ``row`` (one effect row, carrying ``n_matched`` and :data:`COLUMN`) is not published, or None when its figures
    are. ``shares``: its columns of the participants' and the comparison's rates of a binary outcome (none for a mean);
    ``had``: having the outcome, in words. The one test every page applies (tiles, sentences, tables, charts)."""
    n, most = row["n_matched"], rule.suppress_max
    if rule.hides(n):
        return Reason("group", f"the matched group has 1 to {most} people")
    if rule.hides_shares(n, *(row[c] for c in shares)):
        return Reason("cells", f"1 to {most} of the matched participants, or of their comparison group, {had}, or 1 to "
                               f"{most} did not")
    if withheld(row):
        return Reason("subtraction", reason(rule))
    return None
