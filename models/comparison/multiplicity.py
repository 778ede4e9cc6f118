"""Adjusted p-values for a family of tests.

* **Holm** (1979, Scand J Stat 6:65), step-down, controls the family-wise
  error rate under any dependence. With the m p-values sorted,
  p_(1) <= ... <= p_(m): adjusted p_(i) = max over j <= i of min(1, (m - j + 1) p_(j)).
* **Benjamini-Hochberg** (1995, JRSS B 57:289), step-up, controls the false
  discovery rate for independent or positively dependent tests:
  adjusted p_(i) = min over j >= i of min(1, m p_(j) / j).

Both equal ``statsmodels.stats.multitest.multipletests(p, method="holm" /
"fdr_bh")[1]`` (tested). Missing p-values (NaN: a result that could not be
estimated) are left NaN and are not counted in m, as statsmodels would need
them removed first.
"""

from __future__ import annotations

import numpy as np


def _adjusted(p, adjust) -> np.ndarray:
    """``adjust(sorted valid p-values)`` put back in ``p``'s order; NaN stays NaN and is not counted in m."""
    a = np.asarray(p, dtype=float).ravel()
    ok = np.isfinite(a)
    if np.any((a[ok] < 0) | (a[ok] > 1)):
        raise ValueError("p-values must lie between 0 and 1")
    out = np.full(a.shape, np.nan)
    v = a[ok]
    if len(v):
        order = np.argsort(v, kind="stable")
        res = np.empty(len(v))
        res[order] = adjust(v[order])
        out[ok] = res
    return out


def _holm_sorted(v: np.ndarray) -> np.ndarray:
    m = len(v)
    return np.maximum.accumulate(np.minimum(1.0, (m - np.arange(m)) * v))


def _bh_sorted(v: np.ndarray) -> np.ndarray:
    m = len(v)
    return np.minimum(1.0, np.minimum.accumulate((m * v / np.arange(1, m + 1))[::-1])[::-1])


def holm(p) -> np.ndarray:
    """Holm step-down adjusted p-values (same order as ``p``; NaN stays NaN)."""
    return _adjusted(p, _holm_sorted)


def benjamini_hochberg(p) -> np.ndarray:
    """Benjamini-Hochberg step-up adjusted p-values (same order as ``p``; NaN stays NaN)."""
    return _adjusted(p, _bh_sorted)
