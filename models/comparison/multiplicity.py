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


def _valid(p) -> tuple[np.ndarray, np.ndarray]:
    a = np.asarray(p, dtype=float).ravel()
    ok = np.isfinite(a)
    if np.any((a[ok] < 0) | (a[ok] > 1)):
        raise ValueError("p-values must lie between 0 and 1")
    return a, ok


def holm(p) -> np.ndarray:
    """Holm step-down adjusted p-values (same order as ``p``; NaN stays NaN)."""
    a, ok = _valid(p)
    out = np.full(a.shape, np.nan)
    v = a[ok]
    m = len(v)
    if m == 0:
        return out
    order = np.argsort(v, kind="stable")
    adj = np.maximum.accumulate(np.minimum(1.0, (m - np.arange(m)) * v[order]))
    res = np.empty(m)
    res[order] = adj
    out[ok] = res
    return out


def benjamini_hochberg(p) -> np.ndarray:
    """Benjamini-Hochberg step-up adjusted p-values (same order as ``p``; NaN stays NaN)."""
    a, ok = _valid(p)
    out = np.full(a.shape, np.nan)
    v = a[ok]
    m = len(v)
    if m == 0:
        return out
    order = np.argsort(v, kind="stable")
    ranked = m * v[order] / np.arange(1, m + 1)
    adj = np.minimum(1.0, np.minimum.accumulate(ranked[::-1])[::-1])
    res = np.empty(m)
    res[order] = adj
    out[ok] = res
    return out
