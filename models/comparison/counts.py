"""Who a comparison analysed, dropped and kept: the counts a matched sample and its results share.

Definitions (the fields of :class:`SampleCounts`) are in :class:`~models.comparison.results.ComparisonResults`'
docstring and docs/comparison-engine.md.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np
import pandas as pd


@dataclass(repr=False)
class SampleCounts:
    n_input: int
    n_dropped_missing: int
    n_treated: int
    n_control: int
    n_control_dropped_support: int
    n_dropped_support: int
    n_dropped_caliper: int
    n_matched: int
    n_control_matched: int
    ess_control: float

    def counts(self) -> dict:
        """The counts as keyword arguments, to hand them on (the sample's to its results)."""
        return {f.name: getattr(self, f.name) for f in fields(SampleCounts)}


def comparison_people(matched: pd.DataFrame, rows=None) -> int:
    """Distinct comparison people (``person_id``) with a positive weight among a matched sample's rows (``_treated``,
    ``_weight``; ``rows``: a mask of them, e.g. those with the outcome). A person is one row per matched set under
    matching with replacement and one per trial under a sequential-trial design, so the engine's
    ``n_control_matched`` (distinct rows) counts person-trials; a mart that says "people" counts these."""
    keep = (matched["_treated"].to_numpy() == 0) & (matched["_weight"].to_numpy() > 0)
    if rows is not None:
        keep &= np.asarray(rows, dtype=bool)
    return int(matched.loc[keep, "person_id"].nunique())

