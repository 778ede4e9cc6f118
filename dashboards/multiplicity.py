"""Exploratory results judged as the run's many comparisons allow: Holm's adjusted p-value decides "significant".

A run makes dozens of comparisons (``marts.effect_register``, ``n_comparisons``); read one at a time, about one in
twenty looks significant by chance when nothing works. A programme's pre-declared primary outcome
(``effects.primary_outcome``) is judged on its own 95% interval, as a trial's primary outcome is (CONSORT 2010 item
6a; EMA, guideline on multiplicity issues in clinical trials, 2017). An exploratory result whose own interval
does not reach zero is called significant on the pages only when its Holm-adjusted p-value (family-wise error
over every comparison of the run; Holm 1979) is below :data:`ALPHA`; otherwise it reads inconclusive, and its
sentence says why. The marts keep each model's own verdict; the register keeps both p-values.
"""

from __future__ import annotations

import pandas as pd

from dashboards.labels import plural
from dashboards.tiles import judge

#: The family-wise error rate the pages allow over a run's exploratory results.
ALPHA = 0.05


def register_row(register: pd.DataFrame | None, family: str, programme: str, outcome: str,
                 subgroup: str | None = None) -> pd.Series | None:
    """The effect's row of ``marts.effect_register`` (``subgroup``: the well-being area), or None."""
    if register is None or register.empty:
        return None
    rows = register[(register["outcome_family"] == family) & (register["programme"] == programme)
                    & (register["outcome"] == outcome)]
    if subgroup is not None:
        rows = rows[rows["subgroup"] == subgroup]
    return None if rows.empty else rows.iloc[0]


def held_back(register: pd.DataFrame | None, key: tuple) -> float | None:
    """The Holm-adjusted p-value of an exploratory effect that it leaves not significant; None for a primary effect, an
    adjusted p below :data:`ALPHA` or an effect the register does not hold. ``key``: (family, programme, outcome[,
    subgroup])."""
    row = register_row(register, *key) if key else None
    adjusted = None if row is None else row.get("p_value_holm")
    if row is None or row["analysis_role"] != "exploratory" or adjusted is None or pd.isna(adjusted):
        return None
    return float(adjusted) if adjusted >= ALPHA else None


def judged(register: pd.DataFrame | None, key: tuple, low: float, high: float, lower_is_better: bool) -> str:
    """better / worse / inconclusive (:func:`dashboards.tiles.judge` against no difference), inconclusive for an
    exploratory result that :func:`held_back` holds."""
    rag = judge(low, high, 0.0, lower_is_better)
    return "inconclusive" if rag != "inconclusive" and held_back(register, key) is not None else rag


def sentence(adjusted: float, comparisons) -> str:
    """Why an exploratory result whose own interval does not reach zero reads inconclusive."""
    many = "the run's comparisons" if comparisons is None or pd.isna(comparisons) else plural(int(comparisons),
                                                                                                "comparison")
    return (f"On its own its 95% interval does not reach zero, but it is an exploratory result, one of {many} in "
            f"this run: allowing for them (Holm's method) its p-value is {adjusted:.2f}, above {ALPHA:.2f}, so it is read "
            "as inconclusive: a lead to follow up, not a finding.")
