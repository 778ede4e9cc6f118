"""Publishable diagnostics of one comparison: covariate balance rows and binned propensity overlap.

Built from a :class:`~models.comparison.results.ComparisonResults`; only aggregates leave
this module (one row per design column, and counts per score bin), never a person-level row.

Balance (``marts.comparison_balance``), one row per design column of the propensity model:

* ``smd_before`` / ``smd_after``: the engine's standardised mean differences
  (:mod:`.balance`): (mean participants - mean comparison) / pooled SD *before* matching,
  the after-matching means weighted by the matching or ATT weights (Austin 2009, Stat Med
  28:3083). ``flag`` is |SMD after| > 0.1, the conventional threshold for a meaningful
  imbalance (Austin 2009; Normand et al. 2001, J Clin Epidemiol 54:387).
* ``vr_before`` / ``vr_after``: variance ratios participants / comparison (Rubin 2001:
  0.5 to 2 acceptable; ``vr_flag`` for a non-binary column outside it).
* ``n_treated_before`` / ``n_comparison_before``: people the before-SMDs rest on (everyone
  in the propensity model); ``n_treated_after`` / ``n_comparison_after``: participants kept
  and distinct comparison people used (``n_matched``, ``n_control_matched``).
* ``smallest_cell_before`` / ``smallest_cell_after``: for a 0/1 design column (a category
  level, a missing-value indicator), the fewest people in a non-empty cell (with or without
  the level, in either group; a person on several trial days or in several matched sets
  counted once); the page publishes no SMD or variance ratio resting on 1-7.

Overlap (``marts.propensity_overlap``), one row per result x group x bin:

* Bins: :data:`N_BINS` (20) bins of the **logit** of the propensity score (the scale the
  engine matches on, and on which the caliper is set; Rosenbaum & Rubin 1985, Austin
  2011), equal-width from the floor of the lowest to the ceiling of the highest logit of
  the people in that result's propensity model scored within 1e-9 of neither 0 nor 1
  (|logit| <= :data:`~.propensity.EXTREME_LOGIT`, 20.7). A fit at its maximum can score
  comparison people no participant is like at logits of -20 to -28 or beyond
  (:mod:`.propensity`); equal bins out to them left the participants in one or two bins.
  The end bin on their side is stretched to hold them (bin 1 then runs from the floor of
  the lowest logit, bin 20 to the ceiling of the highest), so every person is counted
  and each bin's edges stay true. Bins are half-open [low, high) except the last, which
  is closed. On the probability scale the scores of a rare treatment crowd into the first
  bin or two; on the logit they spread out. Each row also gives the bin's edges as
  probabilities (``score_low``, ``score_high``).
* ``n_before``: people in the propensity model with a score in the bin (before the
  score-support rule and before matching or weighting).
* ``n_after``: distinct people in the matched or weighted sample (weight > 0) in the bin.
* ``weighted_after``: the sum of their matching or ATT weights, the comparison group's
  weights scaled to sum to the number of participants kept, so both groups are on one
  scale. With 1:1 matching without replacement it equals ``n_after``.
* The common-support summary of the result (the same on every row of it):
  ``share_treated_in_support``, ``n_treated_outside_support``, ``n_comparison_removed``
  (see :mod:`.support`), ``pooled_sd_logit`` and ``caliper_width`` (logit units; matching).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from schemas.marts import mart

from .propensity import EXTREME_LOGIT
from .results import ComparisonResults

N_BINS = 20
GROUPS = {1: "participants", 0: "comparison"}

#: Columns of the two marts (declared in schemas/marts.py; ``run_id`` is added on writing).
BALANCE_COLUMNS = mart("marts.comparison_balance").result_columns()
OVERLAP_COLUMNS = mart("marts.propensity_overlap").result_columns()
#: the only columns of a result's ``matched_data`` and ``propensity_scores`` these rows read (a model may keep
#: no others: ``estimate_effect(..., matched_columns=MATCHED_READ, score_columns=SCORES_READ)``)
MATCHED_READ = ("_row", "_treated", "_logit", "_weight")
SCORES_READ = ("_treated", "_logit")


@dataclass(frozen=True)
class Label:
    """Which result a diagnostic belongs to."""

    outcome_model: str
    comparison: str
    measure: str

    def columns(self, method: str) -> dict:
        return {"result": f"{self.outcome_model}: {self.comparison}", "outcome_model": self.outcome_model,
                "comparison": self.comparison, "measure": self.measure, "method": method}


def balance_rows(res: ComparisonResults, label: Label) -> pd.DataFrame:
    """One row per design column: the engine's balance table with the result's label and counts."""
    return _labelled(res.described[0] if res.described else _balance(res), res, label, BALANCE_COLUMNS)


def _labelled(rows: pd.DataFrame, res: ComparisonResults, label: Label, columns) -> pd.DataFrame:
    return rows.assign(**label.columns(res.method))[list(columns)]


def _balance(res: ComparisonResults) -> pd.DataFrame:
    scores = res.propensity_scores
    treated = scores["_treated"].to_numpy() == 1
    bal = res.balance
    out = pd.DataFrame({
        "covariate": bal["covariate"].astype(str), "source": bal["source"].astype(str),
        "smd_before": bal["smd_before"], "smd_after": bal["smd_after"],
        "vr_before": bal["vr_before"], "vr_after": bal["vr_after"],
        "flag": bal["flag"].astype(bool), "vr_flag": bal["vr_flag"].astype(bool),
        "n_treated_before": int(treated.sum()), "n_comparison_before": int((~treated).sum()),
        "n_treated_after": int(res.n_matched), "n_comparison_after": int(res.n_control_matched),
        "smallest_cell_before": bal["smallest_cell_before"], "smallest_cell_after": bal["smallest_cell_after"],
    }, index=bal.index)
    return out.reset_index(drop=True)


def logit_edges(logit, n_bins: int = N_BINS) -> np.ndarray:
    """``n_bins`` + 1 edges, equal-width from floor(min) to ceil(max) of the values of ``logit`` within
    :data:`~.propensity.EXTREME_LOGIT` of 0 (a width of 1 if they are equal; all values if none is), the first and
    last edges then moved out to floor(min) and ceil(max) of all of ``logit``: the end bins hold the scores beyond."""
    lg = np.asarray(logit, dtype=float)
    near = lg[np.abs(lg) <= EXTREME_LOGIT]
    near = near if len(near) else lg
    low, high = math.floor(near.min()), math.ceil(near.max())
    if high <= low:
        high = low + 1
    edges = np.linspace(low, high, n_bins + 1)
    edges[0], edges[-1] = min(low, math.floor(lg.min())), max(high, math.ceil(lg.max()))
    return edges


def bin_index(logit, edges: np.ndarray) -> np.ndarray:
    """0-based bin of each value: [edge_i, edge_i+1), the last bin closed."""
    return np.clip(np.searchsorted(edges, np.asarray(logit, dtype=float), side="right") - 1, 0, len(edges) - 2)


def _distinct_row_bins(rows: np.ndarray, bins: np.ndarray) -> np.ndarray:
    """The bin of each distinct row (a control matched several times counts once; its bin is its score's)."""
    bin_of = np.full(int(rows.max()) + 1 if len(rows) else 0, -1)
    bin_of[rows] = bins
    return bin_of[bin_of >= 0]


def overlap_rows(res: ComparisonResults, label: Label, n_bins: int = N_BINS) -> pd.DataFrame:
    """Counts per group and logit bin before and after matching or weighting, with the support summary."""
    if res.described:
        if len(res.described[1]) != 2 * n_bins:
            raise ValueError(f"this result's overlap rows were counted in {len(res.described[1]) // 2} bins, not {n_bins}")
        return _labelled(res.described[1], res, label, OVERLAP_COLUMNS)
    return _labelled(_overlap(res, n_bins), res, label, OVERLAP_COLUMNS)


def _overlap(res: ComparisonResults, n_bins: int) -> pd.DataFrame:
    scores, md = res.propensity_scores, res.matched_data
    edges = logit_edges(scores["_logit"], n_bins)
    before_bin = bin_index(scores["_logit"], edges)
    kept = md[md["_weight"] > 0]
    after_bin = bin_index(kept["_logit"], edges)
    ov = res.overlap
    summary = {
        "share_treated_in_support": float(ov["share_treated_in_support"]),
        "n_treated_outside_support": int(ov["n_treated_outside_support"]),
        "n_comparison_removed": int(ov["n_comparison_removed"]),
        "pooled_sd_logit": float(ov["pooled_sd_logit"]),
        "caliper_width": ov["caliper_width"],
    }
    n_kept = int(res.n_matched)
    parts = []
    for flag, group in GROUPS.items():
        in_before = scores["_treated"].to_numpy() == flag
        in_after = kept["_treated"].to_numpy() == flag
        weights = kept["_weight"].to_numpy(dtype=float)[in_after]
        scale = n_kept / weights.sum() if weights.sum() > 0 else 0.0
        distinct = _distinct_row_bins(kept["_row"].to_numpy()[in_after], after_bin[in_after])
        parts.append(pd.DataFrame({
            "group": group, "bin": np.arange(1, n_bins + 1),
            "logit_low": edges[:-1], "logit_high": edges[1:],
            "score_low": 1 / (1 + np.exp(-edges[:-1])), "score_high": 1 / (1 + np.exp(-edges[1:])),
            "n_before": np.bincount(before_bin[in_before], minlength=n_bins),
            "n_after": np.bincount(distinct, minlength=n_bins),
            "weighted_after": np.bincount(after_bin[in_after], weights=weights * scale, minlength=n_bins),
            **summary,
        }))
    return pd.concat(parts, ignore_index=True)


def release_rows(res: ComparisonResults, n_bins: int = N_BINS) -> ComparisonResults:
    """Count the result's balance and overlap rows now and drop its person-level rows (``matched_data``,
    ``propensity_scores``): a model running several comparisons in turn then holds only one comparison's rows at a
    time (at 3M persons, readmission's first comparison kept 0.8 GiB through the next). :func:`diagnostics` gives
    the same rows as it would have from the person-level ones. Returns ``res``, changed in place."""
    res.described = (_balance(res), _overlap(res, n_bins))
    res.matched_data = res.propensity_scores = None
    return res


def diagnostics(results: Iterable[tuple[Label, ComparisonResults]], n_bins: int = N_BINS) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(balance rows, overlap rows) of every labelled result; empty frames with the columns when there is none."""
    balance, overlap = [], []
    for label, res in results:
        balance.append(balance_rows(res, label))
        overlap.append(overlap_rows(res, label, n_bins))
    return (pd.concat(balance, ignore_index=True) if balance else mart("marts.comparison_balance").empty_frame(),
            pd.concat(overlap, ignore_index=True) if overlap else mart("marts.propensity_overlap").empty_frame())
