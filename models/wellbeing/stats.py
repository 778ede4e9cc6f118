"""Paired-change statistics and the Wilson interval, as plain functions of numpy arrays.

``paired_change(d)`` for the changes ``d = latest - baseline`` of n people:

* mean change with a 95% t interval: mean +/- t(0.975, n-1) * SD / sqrt(n) (n >= 2);
* Wilcoxon signed-rank test (scipy; ``zero_method="wilcox"``: zero changes are dropped,
  Wilcoxon's original rule; two-sided; the exact null distribution for at most 50 non-zero
  changes without ties, otherwise the normal approximation with the tie correction, no
  continuity correction: scipy's permutation fallback for small samples with ties is too slow
  for hundreds of groups); undefined when every change is zero;
* two effect sizes, both signed like the change:
  - **matched-pairs rank-biserial** r = (R+ - R-) / (R+ + R-), the ranks of |d| over the
    non-zero changes (Kerby 2014, "simple difference formula"; -1 to 1), the effect size
    that goes with the Wilcoxon test and suits ordinal Star data;
  - **Cohen's dz** = mean(d) / SD(d) (Cohen 1988; Lakens 2013), for the near-normal
    WEMWBS/SWEMWBS.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import stats

from models.intervals import wilson_interval
from models.silenced import silenced

NAN = float("nan")
EXACT_MAX_N = 50  # exact null distribution up to 50 non-zero changes without ties; normal approximation otherwise


def rank_biserial(d: np.ndarray) -> float:
    """Matched-pairs rank-biserial correlation over the non-zero changes (NaN if none)."""
    d = np.asarray(d, dtype=float)
    d = d[d != 0]
    if d.size == 0:
        return NAN
    ranks = stats.rankdata(np.abs(d))
    plus, minus = ranks[d > 0].sum(), ranks[d < 0].sum()
    return float((plus - minus) / (plus + minus))


def cohens_dz(d: np.ndarray) -> float:
    d = np.asarray(d, dtype=float)
    if d.size < 2:
        return NAN
    sd = d.std(ddof=1)
    return float(d.mean() / sd) if sd > 0 else NAN


def mean_interval(d: np.ndarray, level: float = 0.95) -> tuple[float, float, float, float]:
    """(mean, sd, ci_low, ci_high); the interval needs n >= 2 (a zero SD gives a zero-width interval)."""
    d = np.asarray(d, dtype=float)
    if d.size == 0:
        return NAN, NAN, NAN, NAN
    mean = float(d.mean())
    if d.size < 2:
        return mean, NAN, NAN, NAN
    sd = float(d.std(ddof=1))
    half = float(stats.t.ppf(0.5 + level / 2, d.size - 1) * sd / math.sqrt(d.size))
    return mean, sd, mean - half, mean + half


def wilcoxon(d: np.ndarray) -> tuple[float, float]:
    """(statistic, two-sided p) of the signed-rank test; NaN when there is no non-zero change."""
    d = np.asarray(d, dtype=float)
    if np.count_nonzero(d) == 0:
        return NAN, NAN
    nonzero = np.abs(d[d != 0])
    exact = nonzero.size <= EXACT_MAX_N and np.unique(nonzero).size == nonzero.size
    with silenced():
        res = stats.wilcoxon(d, zero_method="wilcox", alternative="two-sided", method="exact" if exact else "asymptotic")
    return float(res.statistic), float(res.pvalue)


def paired_change(d) -> dict:
    """Every statistic of the change table for one group of changes."""
    d = np.asarray(d, dtype=float)
    d = d[np.isfinite(d)]
    mean, sd, lo, hi = mean_interval(d)
    w, p = wilcoxon(d)
    return {
        "n_paired": int(d.size), "mean_change": mean, "sd_change": sd, "ci_low": lo, "ci_high": hi,
        "median_change": float(np.median(d)) if d.size else NAN, "wilcoxon_statistic": w, "wilcoxon_p": p,
        "rank_biserial": rank_biserial(d), "cohens_dz": cohens_dz(d),
    }


def wilson(k: int, n: int, level: float = 0.95) -> tuple[float, float, float]:
    """(share, low, high): the Wilson score interval for k of n (NaN for n = 0)."""
    if n <= 0:
        return NAN, NAN, NAN
    low, high = wilson_interval(k, n, z=float(stats.norm.ppf(0.5 + level / 2)))
    return k / n, float(low), float(high)
