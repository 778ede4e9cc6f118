"""Exploratory results judged as the run's many comparisons allow: Holm's adjusted p-value decides "significant".

A run makes dozens of comparisons (``marts.effect_register``, ``n_comparisons``); read one at a time, about one in
twenty looks significant by chance when nothing works. A programme's pre-declared primary outcome
(``effects.primary_outcome``) is judged on its own 95% interval, as a trial's primary outcome is (CONSORT 2010 item
6a; EMA, guideline on multiplicity issues in clinical trials, 2017). An exploratory result whose own interval
does not reach zero is called significant on the pages only when its Holm-adjusted p-value (family-wise error
over every comparison of the run; Holm 1979) is below :data:`ALPHA`; otherwise it reads inconclusive, and its
sentence says why. The marts keep each model's own verdict; the register keeps both p-values.

A page reads its marts through :func:`dashboards.marts.read_marts`, which gives every effect row its register entry
once (:func:`mark`: :data:`ROLE`, :data:`COMPARISONS`, :data:`HELD`); every sentence, tile, chart and table that judges
an effect reads that mark (:func:`held_back`, :func:`judged`, :func:`role`), so none can judge it differently.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from dashboards.labels import plural
from dashboards.tiles import judge

#: The family-wise error rate the pages allow over a run's exploratory results.
ALPHA = 0.05
#: The columns :func:`mark` adds to an effect row: its analysis role in the register (``primary``, ``exploratory``, or
#: "not available" when the register was not built or does not hold it), the number of comparisons in the run, the
#: Holm-adjusted p-value that leaves an exploratory result not significant (empty otherwise), and the Holm-adjusted
#: p-value of every comparison the register holds (empty for an effect with no p-value; a table shows it beside the
#: verdict, :func:`adjusted`).
ROLE, COMPARISONS, HELD, ADJUSTED = ("multiplicity_role", "multiplicity_comparisons", "multiplicity_held_back_p",
                                     "multiplicity_holm_p")
NOT_AVAILABLE = "not available"


@dataclass(frozen=True)
class Family:
    """An effects mart and the columns that name its rows in the register (models/comparison/register.py):
    ``programme``, ``outcome`` and, for well-being, ``subgroup`` (the Star area)."""

    mart: str
    family: str
    programme: str
    outcome: str
    subgroup: str | None = None

    def key(self, row) -> tuple[str, str, str | None]:
        return (str(row.get(self.programme)), str(row.get(self.outcome)),
                None if self.subgroup is None else str(row.get(self.subgroup)))


FAMILIES = (Family("readmission_effects", "readmission", "comparison", "outcome"),
            Family("reoffending_effects", "reoffending", "programme", "measure"),
            Family("wellbeing_effects", "wellbeing", "star_version", "outcome", "area"))


def _held(entry: dict) -> float | None:
    """The Holm-adjusted p-value of an exploratory register entry that it leaves not significant, else None."""
    adjusted = entry.get("p_value_holm")
    if entry.get("analysis_role") != "exploratory" or adjusted is None or pd.isna(adjusted) or adjusted < ALPHA:
        return None
    return float(adjusted)


def mark(frame: pd.DataFrame | None, family: Family, register: pd.DataFrame | None) -> pd.DataFrame | None:
    """``frame`` (``marts.<family.mart>``) with each row's register entry (``register``: ``marts.effect_register``, or
    None when not built) in :data:`ROLE`, :data:`COMPARISONS`, :data:`HELD` and :data:`ADJUSTED`."""
    if frame is None:
        return None
    entries: dict[tuple, dict] = {}
    count = None
    if register is not None and not register.empty:
        count = register["n_comparisons"].iloc[0]
        for entry in register[register["outcome_family"] == family.family].to_dict("records"):
            sub = None if family.subgroup is None else str(entry.get("subgroup"))
            entries.setdefault((str(entry["programme"]), str(entry["outcome"]), sub), entry)
    found = [entries.get(family.key(row)) for row in frame.to_dict("records")]
    return frame.assign(**{
        ROLE: [NOT_AVAILABLE if e is None else str(e["analysis_role"]) for e in found],
        COMPARISONS: pd.Series([count if e is None else e["n_comparisons"] for e in found], index=frame.index, dtype=object),
        HELD: pd.Series([None if e is None else _held(e) for e in found], index=frame.index, dtype=object),
        ADJUSTED: pd.Series([None if e is None or pd.isna(e.get("p_value_holm")) else float(e["p_value_holm"])
                             for e in found], index=frame.index, dtype=object)})


def mark_marts(m: dict[str, pd.DataFrame | None], register: pd.DataFrame | None) -> dict[str, pd.DataFrame | None]:
    """The page's marts ``m`` with every effects mart among them marked (:func:`mark`)."""
    return {**m, **{f.mart: mark(m[f.mart], f, register) for f in FAMILIES if f.mart in m}}


def _value(row: pd.Series | dict, column: str):
    value = row.get(column) if hasattr(row, "get") else None
    return None if value is None or (not isinstance(value, str) and pd.isna(value)) else value


def held_back(row: pd.Series | dict) -> float | None:
    """The Holm-adjusted p-value of an exploratory effect that it leaves not significant; None for a primary effect, an
    adjusted p below :data:`ALPHA`, an effect the register does not hold, or a row not marked."""
    value = _value(row, HELD)
    return None if value is None else float(value)


def adjusted(row: pd.Series | dict) -> float | None:
    """The Holm-adjusted p-value of an effect row over the run's comparisons; None when the register does not hold one
    (no p-value, no register, or a row not marked)."""
    value = _value(row, ADJUSTED)
    return None if value is None else float(value)


def role(row: pd.Series | dict) -> tuple[str, int | None]:
    """(analysis role, comparisons in the run) of an effect row: "not available" when the run's register was not built,
    does not hold the effect, or the row was not marked."""
    count = _value(row, COMPARISONS)
    return str(_value(row, ROLE) or NOT_AVAILABLE), None if count is None else int(count)


def register(m: dict[str, pd.DataFrame | None]) -> pd.DataFrame | None:
    """The run's comparisons (``marts.effect_register``) as a page's marts ``m`` hold them, None when not built: the
    register is read here only, for every page (the evaluator's count of comparisons no page lists)."""
    return m.get("effect_register")


def run_comparisons(m: dict[str, pd.DataFrame | None]) -> int | None:
    """The number of comparisons in the run, from the first marked effect row of a page's marts ``m``; None without one
    or without the register."""
    frames = [m.get(f.mart) for f in FAMILIES]
    return next((role(frame.iloc[0])[1] for frame in frames if frame is not None and not frame.empty), None)


def judged(row: pd.Series | dict, low: float, high: float, lower_is_better: bool) -> str:
    """better / worse / inconclusive (:func:`dashboards.tiles.judge` against no difference), inconclusive for an
    exploratory result that :func:`held_back` holds."""
    rag = judge(low, high, 0.0, lower_is_better)
    return "inconclusive" if rag != "inconclusive" and held_back(row) is not None else rag


def sentence(adjusted: float, comparisons) -> str:
    """Why an exploratory result whose own interval does not reach zero reads inconclusive."""
    many = "the run's comparisons" if comparisons is None or pd.isna(comparisons) else plural(int(comparisons),
                                                                                                "comparison")
    return (f"On its own its 95% interval does not reach zero, but it is an exploratory result, one of {many} in "
            f"this run: allowing for them (Holm's method) its p-value is {adjusted:.2f}, above {ALPHA:.2f}, so it is read "
            "as inconclusive: a lead to follow up, not a finding.")


def why(row: pd.Series | dict) -> str:
    """:func:`sentence` for a row that :func:`held_back` holds, else ''."""
    adjusted = held_back(row)
    return "" if adjusted is None else sentence(adjusted, role(row)[1])
