"""Common support: who can be compared with whom.

Two rules, applied in this order by :func:`estimate_effect`:

1. **Level support** (before the propensity model). For every 0/1 design
   column (a category level, a boolean, a missing-value indicator) and each of
   its two values, if the value occurs in only one group, the people with it
   have nobody comparable in the other group (and the propensity model would be
   quasi-completely separated; Albert & Anderson 1984):

   * comparison people only: they are removed from the comparison pool
     (counted in ``n_control_dropped_support``); this never changes who the
     result is about;
   * participants only: they are outside common support and are dropped
     (counted in ``n_dropped_support``) when ``common_support=True``; with
     ``common_support=False``, or if it would drop every participant, a
     :class:`ComparisonError` (quasi-complete separation) is raised instead.

   A categorical covariate's reference level has no column (its rows hold 0 in
   every column of the covariate's other levels), so it is checked as if it had
   one: otherwise comparison people at a level no participant has (a caution,
   when every participant's index event was a community sentence or a custody
   release) stay in the pool, and the propensity model does not converge.

   The rule is repeated until no such value is left; columns left constant are
   removed from the model and reported. When no one left holds a reference
   level, the covariate's remaining levels fill every row (but those with a
   missing value imputed to it, a pattern then held by one group at most) and
   their columns would duplicate the intercept: the first of them becomes the
   reference (its column is left out, and reported), and takes the imputed
   values. A missing value is never counted as the reference level's.

   Missing values are never a reason to drop anyone: if a missing-value
   column (``<name>_missing`` or ``<name>[(missing)]``) has a value seen in
   only one group, that *column* is left out of the model instead. The missing
   values then stay filled in by the median (numeric) or fall into the
   reference level (categorical), and a warning says so.

2. **Score support** (after the propensity model; Dehejia & Wahba 1999,
   JASA 94:1053, "minima and maxima"). Participants whose logit score is
   below the smallest or above the largest comparison score in their exact
   stratum are outside common support and are dropped (``n_dropped_support``).
   Comparison people are kept: under the ATT, those outside the participants'
   range simply get no match or a negligible weight.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .errors import ComparisonError

_ADVICE = (
    "merge rare levels, drop the covariate, match exactly on it (exact=[...]), "
    "or restrict the comparison pool to people who could have taken part"
)


@dataclass
class LevelSupport:
    """Result of :func:`level_support`.

    ``keep`` is a boolean mask over the rows; ``dropped_columns`` are design
    columns left constant; ``notes`` say who was dropped and why.
    """

    keep: np.ndarray
    n_treated_dropped: int = 0
    n_control_dropped: int = 0
    dropped_columns: list = field(default_factory=list)
    notes: list = field(default_factory=list)


def _one_sided(x, keep, n_t, n_c) -> str | None:
    for val in (True, False):
        has = keep & (x == val)
        held_t, held_c = int(n_t[has].sum()), int(n_c[has].sum())
        if (held_t + held_c) and not (held_t and held_c):
            return "participants" if held_t else "comparison people"
    return None


def level_support(
    X: pd.DataFrame, n_treated, n_control, binary: list[str], *, missing_columns=(), drop_treated: bool = True,
    people=None, references=None,
) -> LevelSupport:
    """Apply rule 1 of the module docstring to the 0/1 columns ``binary`` of ``X`` and to the reference levels
    ``references`` (:attr:`models.comparison.design.Design.references`: a reference level's name -> the columns of
    its covariate's other levels).

    Each row of ``X`` is held by ``n_treated`` participants and ``n_control`` comparison people: one person
    per row (``n_treated`` the 0/1 treatment, ``n_control`` one minus it), or a covariate pattern and the
    people who have it (:func:`models.comparison.design.covariate_patterns`); ``keep`` is over the rows.

    When one person can hold several analysed rows (a risk-set design: one row per trial day at risk),
    ``n_treated`` and ``n_control`` count rows, and ``people(mask, treated)`` gives the number of distinct
    participants (``treated=True``) or comparison people holding the rows of ``X`` in ``mask``: the notes
    then say how many people and how many rows. The ``n_*_dropped`` counts stay in rows.
    """

    def who(n_rows: int, has, treated: bool) -> str:
        noun = "participants" if treated else "comparison people"
        if people is None:
            return f"{n_rows} {noun}"
        return f"{people(has, treated)} {noun} ({n_rows} trial rows)"

    n_t, n_c = np.asarray(n_treated, dtype=np.int64), np.asarray(n_control, dtype=np.int64)
    keep = np.ones(len(n_t), dtype=bool)
    out = LevelSupport(keep=keep)
    for col in missing_columns:
        group = _one_sided(X[col].to_numpy() == 1.0, keep, n_t, n_c)
        if group:
            out.dropped_columns.append(col)
            out.notes.append(
                f"missing-value column {col!r} is one-sided (only {group} have that value), so it is left out of "
                "the propensity model; those missing values stay imputed (median, or the reference level)"
            )
    cols = {c: X[c].to_numpy() == 1.0 for c in binary if c not in out.dropped_columns}
    # a reference level's rows: no other level of its covariate, and not missing (a missing value whose column was
    # left out above is imputed to the reference level, never a reason to drop anyone); a covariate of two levels has
    # one column, whose 0 is its reference already
    references = {ref: others for ref, others in (references or {}).items() if len(others) > 1}
    levels = {ref: [c for c in others if c in cols] for ref, others in references.items()}
    refs = {ref: ~np.logical_or.reduce([X[c].to_numpy() == 1.0 for c in others]) for ref, others in references.items()}
    changed = True
    while changed:
        changed = False
        for col, x in {**cols, **refs}.items():
            for val in (True, False):
                has = keep & (x == val)
                held_t, held_c = int(n_t[has].sum()), int(n_c[has].sum())
                if held_t + held_c == 0 or (held_t and held_c):
                    continue
                what = f"{col} = {int(val)}"
                if held_t == 0:
                    keep &= ~has
                    out.n_control_dropped += held_c
                    out.notes.append(
                        f"{who(held_c, has, False)} with {what} are removed: no participant has it"
                    )
                else:
                    if not drop_treated or held_t == int(n_t[keep].sum()):
                        raise ComparisonError(
                            f"quasi-complete separation: {who(held_t, has, True)} have {what} and no comparison "
                            f"person does, so they have no one to be compared with. Fix: {_ADVICE}"
                        )
                    keep &= ~has
                    out.n_treated_dropped += held_t
                    out.notes.append(
                        f"{who(held_t, has, True)} with {what} are outside common support (no comparison person has it)"
                    )
                changed = True
    constant = [col for col, x in cols.items() if x[keep].all() or not x[keep].any()]  # one value left (or none)
    if constant:
        out.dropped_columns += constant
        out.notes.append(f"design columns constant after this and left out of the model: {constant}")
    for ref, x in refs.items():
        left = [c for c in levels[ref] if c not in constant]
        if keep.any() and not x[keep].any() and len(left) > 1:
            # the levels left would fill every row held by anyone but those imputed to the reference level, a pattern
            # then held by one group at most: the first level left is the reference, and takes the imputed values
            imputed = any(c in missing_columns and c not in cols for c in references[ref])
            out.dropped_columns.append(left[0])
            out.notes.append(f"no one compared holds the reference level {ref}, so {left[0]} is the reference "
                             "instead (left out of the model" + ("; the values imputed to the reference level fall into "
                                                                 "it)" if imputed else ")"))
    out.keep = keep
    return out


def score_support(logit, treated, strata) -> np.ndarray:
    """Rule 2: True for comparison people and for participants inside their stratum's comparison range."""
    lg = np.asarray(logit, dtype=float)
    t = np.asarray(treated, dtype=bool)
    s = np.asarray(strata, dtype=np.int64)
    ns = int(s.max()) + 1 if len(s) else 0
    cmin = np.full(ns, np.inf)
    cmax = np.full(ns, -np.inf)
    np.minimum.at(cmin, s[~t], lg[~t])
    np.maximum.at(cmax, s[~t], lg[~t])
    return ~t | ((lg >= cmin[s]) & (lg <= cmax[s]))
