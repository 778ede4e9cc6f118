"""The reciprocity index: a weighted mean of five proportions, each already in [0, 1].

    RI = Σ_k w_k · c_k / Σ_{k : c_k defined} w_k

over the components c_k (``settings.INDEX_COMPONENTS``): two-way share, mean balance index,
weighted reciprocity, generalised reciprocity and beneficiary contribution share. Each is a
share, so it needs no rescaling (no min–max across grants: the index of one grant does not
move when another grant is added). A component that is undefined for a row (for example no
beneficiaries, or no reciprocal hours) is left out and the remaining weights renormalised;
``index_coverage`` = Σ_{defined} w_k / Σ_k w_k says how much of the weight was available.
The weights are ours (equal by default): see docs/reciprocity.md.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from models.reciprocity.settings import INDEX_COMPONENTS, IndexWeights


def _weights(weights: IndexWeights | Mapping[str, float]) -> dict[str, float]:
    w = weights.as_dict() if isinstance(weights, IndexWeights) else {c: float(weights.get(c, 0.0)) for c in INDEX_COMPONENTS}
    if sum(w.values()) <= 0:
        raise ValueError("reciprocity index: at least one weight must be positive")
    return w


def reciprocity_index(frame: pd.DataFrame, weights: IndexWeights | Mapping[str, float]) -> pd.DataFrame:
    """``reciprocity_index`` and ``index_coverage`` for each row of ``frame`` (which holds the components)."""
    w = _weights(weights)
    comps = frame.reindex(columns=list(INDEX_COMPONENTS)).astype("float64").to_numpy()
    wv = np.array([w[c] for c in INDEX_COMPONENTS])
    defined = ~np.isnan(comps)
    wsum = (defined * wv).sum(axis=1)
    num = np.where(defined, comps, 0.0) @ wv
    with np.errstate(invalid="ignore", divide="ignore"):
        index = np.where(wsum > 0, num / np.where(wsum > 0, wsum, 1.0), np.nan)
    return pd.DataFrame(
        {"reciprocity_index": index, "index_coverage": wsum / wv.sum()}, index=frame.index
    )
