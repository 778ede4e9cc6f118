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
:data:`COLUMN`; every sentence, tile and table that publishes an effect's figures checks
:func:`withheld`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

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
