"""A proposed split of each funder's reserved reciprocity pot, and its sensitivity table.

There is no published formula for rewarding reciprocity in funding (reference/sroi.md
section 4), so this is ours, kept simple and exactly reproducible:

* pot (pence) = round_half_up(reserved_pot_share × Σ the funder's grant amounts in pence);
* each grant's weight: its reciprocity index (rule ``index``; a missing index counts as 0), or
  α + (1 − α)·index (rule ``alpha_blend``, which gives every grant a floor α);
* shares proportional to the weights, allocated in whole pence by the largest-remainder
  (Hamilton) method with exact rational arithmetic, so they sum to the pot exactly; equal
  remainders go to the grant_id that sorts first; if every weight is 0 the pot is split equally.

The sensitivity table repeats the split for every α in ``settings.sensitivity_alphas`` and
every weight set: ``base`` (the settings), ``equal``, ``without_<component>`` (base weights
with that component set to 0; skipped if nothing is left) and any named sets in
``settings.sensitivity_weight_sets``. α also moves the reciprocity-weighted social value.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

import numpy as np
import pandas as pd

from models.reciprocity.index import reciprocity_index
from models.reciprocity.settings import (
    INDEX_COMPONENTS,
    IndexWeights,
    ReciprocitySettings,
)
from schemas.marts import mart

ALLOCATION_COLUMNS = mart("marts.reciprocity_allocation").column_names()  # schemas/marts.py
SENSITIVITY_COLUMNS = mart("marts.reciprocity_allocation_sensitivity").column_names()  # schemas/marts.py
_DTYPES = {
    "amount": "float64", "funder_total_amount": "float64", "reserved_pot_share": "float64", "reserved_pot": "float64",
    "reserved_pot_pence": "int64", "alpha": "float64", "reciprocity_index": "float64", "allocation_weight": "float64",
    "allocation_share": "float64", "allocation_pence": "int64", "allocation": "float64",
    "base_allocation_pence": "int64", "change_pence": "int64", "rank": "int64", "social_value": "float64",
    "reciprocity_weighted_social_value": "float64",
}


def _empty(columns: list[str]) -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=_DTYPES.get(c, "object")) for c in columns})


def to_pence(amount: float) -> int:
    """GBP to whole pence, half up, from the shortest decimal form of the float (0.1 → 10)."""
    return int((Decimal(repr(float(amount))) * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def reserved_pot_pence(total_pence: int, share: float) -> int:
    return int((Decimal(repr(float(share))) * total_pence).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def largest_remainder(total: int, weights: Sequence[float], keys: Sequence[str]) -> list[int]:
    """Split ``total`` (an integer >= 0) in proportion to ``weights`` so the parts sum to it exactly.

    Exact arithmetic (each float weight is an exact Fraction). Remainder units go to the
    largest fractional parts, ties to the smallest key. All-zero weights: an equal split.
    """
    if total < 0:
        raise ValueError("largest_remainder: total must be >= 0")
    n = len(weights)
    if n == 0:
        if total:
            raise ValueError("largest_remainder: nothing to allocate to")
        return []
    w = [Fraction(float(x)) if x is not None and not np.isnan(x) else Fraction(0) for x in weights]
    if any(x < 0 for x in w):
        raise ValueError("largest_remainder: weights must be >= 0")
    wsum = sum(w)
    if wsum == 0:
        w, wsum = [Fraction(1)] * n, Fraction(n)
    quotas = [total * x / wsum for x in w]
    parts = [q.numerator // q.denominator for q in quotas]
    left = total - sum(parts)
    order = sorted(range(n), key=lambda i: (-(quotas[i] - parts[i]), str(keys[i])))
    for i in order[:left]:
        parts[i] += 1
    return parts


def _weights_of(index: pd.Series, rule: str, alpha: float) -> np.ndarray:
    idx = index.astype("float64").fillna(0.0).to_numpy()
    return alpha + (1 - alpha) * idx if rule == "alpha_blend" else idx


def _split(frame: pd.DataFrame, weight: np.ndarray) -> tuple[list[int], list[int], list[str]]:
    """Allocation pence, pot pence and basis per row, funder by funder (``frame`` sorted by funder, grant_id)."""
    alloc, pot, basis = [0] * len(frame), [0] * len(frame), [""] * len(frame)
    for _, rows in frame.groupby("funder", sort=False, dropna=False).indices.items():
        total = sum(frame["_pence"].iloc[i] for i in rows)
        p = reserved_pot_pence(total, frame["_share"].iloc[0])
        w = [float(weight[i]) for i in rows]
        parts = largest_remainder(p, w, [frame["grant_id"].iloc[i] for i in rows])
        b = "proportional" if sum(w) > 0 else "equal split (all weights 0)"
        for i, part in zip(rows, parts):
            alloc[i], pot[i], basis[i] = part, p, b
    return alloc, pot, basis


def _allocated(g: pd.DataFrame, weight: np.ndarray) -> tuple[pd.DataFrame, list[int], list[str]]:
    """Weight, share, pence and pounds per grant for one set of weights; also the pots and bases."""
    alloc, pot, basis = _split(g, weight)
    wsum = pd.Series(weight).groupby(g["funder"], dropna=False).transform("sum")
    cols = pd.DataFrame({
        "allocation_weight": weight,
        "allocation_share": (pd.Series(weight) / wsum).where(wsum > 0),
        "allocation_pence": alloc,
        "allocation": np.array(alloc) / 100,
    })
    return cols, pot, basis


def _base(grant_metrics: pd.DataFrame, s: ReciprocitySettings) -> pd.DataFrame:
    g = grant_metrics.sort_values(["funder", "grant_id"]).reset_index(drop=True).copy()
    g["_pence"] = [to_pence(a) for a in g["amount"].fillna(0.0)]
    g["_share"] = s.reserved_pot_share
    return g


def reciprocity_allocation(
    grant_metrics: pd.DataFrame,
    settings: ReciprocitySettings | None = None,
    *,
    run_id: str,
) -> pd.DataFrame:
    """``marts.reciprocity_allocation``: the proposed pot split, one row per grant."""
    s = settings or ReciprocitySettings()
    if grant_metrics is None or grant_metrics.empty:
        return _empty(ALLOCATION_COLUMNS)
    g = _base(grant_metrics, s)
    cols, pot, basis = _allocated(g, _weights_of(g["reciprocity_index"], s.allocation_rule, s.alpha))
    totals = g.groupby("funder", dropna=False)["_pence"].transform("sum")
    out = pd.DataFrame({
        "run_id": run_id, "funder": g["funder"], "grant_id": g["grant_id"], "timebank_id": g["timebank_id"],
        "amount": g["amount"], "funder_total_amount": totals / 100, "reserved_pot_share": s.reserved_pot_share,
        "reserved_pot": np.array(pot) / 100, "reserved_pot_pence": pot, "allocation_rule": s.allocation_rule,
        "alpha": s.alpha, "reciprocity_index": g["reciprocity_index"],
    })
    out = pd.concat([out, cols], axis=1)
    out["basis"] = basis
    return out[ALLOCATION_COLUMNS].astype({c: t for c, t in _DTYPES.items() if c in ALLOCATION_COLUMNS})


def weight_sets(s: ReciprocitySettings) -> dict[str, IndexWeights]:
    """base, equal, without_<component> (if anything is left), then the settings' named sets."""
    base = s.index_weights
    sets: dict[str, IndexWeights] = {"base": base, "equal": IndexWeights()}
    for c in INDEX_COMPONENTS:
        w = base.as_dict()
        w[c] = 0.0
        if sum(w.values()) > 0:
            sets[f"without_{c}"] = IndexWeights(**w)
    sets.update(s.sensitivity_weight_sets)
    return sets


def allocation_sensitivity(
    grant_metrics: pd.DataFrame,
    allocation: pd.DataFrame,
    settings: ReciprocitySettings | None = None,
    *,
    run_id: str,
) -> pd.DataFrame:
    """``marts.reciprocity_allocation_sensitivity``: alphas × weight sets × grants rows.

    ``allocation`` is :func:`reciprocity_allocation`'s result for the same grants and
    settings: its ``allocation_pence`` is the base each row's change is measured from.
    """
    s = settings or ReciprocitySettings()
    if grant_metrics is None or grant_metrics.empty:
        return _empty(SENSITIVITY_COLUMNS)
    g = _base(grant_metrics, s)
    base_alloc = g["grant_id"].map(allocation.set_index("grant_id")["allocation_pence"]).astype("int64")
    sv = g.get("social_value", pd.Series(np.nan, index=g.index)).astype("float64")
    svb = g.get("balance_weighted_social_value", pd.Series(np.nan, index=g.index)).astype("float64")
    frames = []
    for alpha in s.sensitivity_alphas:
        for name, weights in weight_sets(s).items():
            index = reciprocity_index(g, weights)["reciprocity_index"]
            cols, _, _ = _allocated(g, _weights_of(index, s.allocation_rule, alpha))
            f = pd.DataFrame({
                "run_id": run_id, "funder": g["funder"], "grant_id": g["grant_id"], "alpha": float(alpha),
                "weight_set": name, "weights": json.dumps(weights.as_dict(), sort_keys=True),
                "reciprocity_index": index,
            })
            f = pd.concat([f, cols], axis=1)
            f["base_allocation_pence"] = base_alloc
            f["change_pence"] = f["allocation_pence"] - f["base_allocation_pence"]
            order = f.sort_values(["funder", "allocation_pence", "grant_id"], ascending=[True, False, True])
            f.loc[order.index, "rank"] = order.groupby("funder", dropna=False).cumcount() + 1
            f["social_value"] = sv
            f["reciprocity_weighted_social_value"] = alpha * sv + (1 - alpha) * svb
            frames.append(f)
    out = pd.concat(frames, ignore_index=True)
    return out[SENSITIVITY_COLUMNS].astype({c: t for c, t in _DTYPES.items() if c in SENSITIVITY_COLUMNS})
