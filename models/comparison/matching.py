"""Nearest-neighbour matching on the logit of the propensity score, O(n log n).

Definitions
-----------
* **Distance**: absolute difference of the logits of the propensity score
  (Rosenbaum & Rubin 1985; Austin 2011, Pharm Stat 10:150).
* **Caliper**: a control is an admissible match only if its distance is at most
  ``caliper_width``. The engine sets ``caliper_width = caliper x pooled SD of
  the logit``, pooled SD = sqrt((var_treated + var_control) / 2) over the
  people analysed before matching; ``caliper = 0.2`` is Austin's (2011)
  recommendation. ``None`` means no caliper.
* **Exact strata**: treated and controls are matched only within the same
  stratum code (e.g. area x sex).
* **Ratio k**: each treated person gets up to k controls (1:k matching). A
  treated person with fewer than k admissible controls keeps the ones found
  (variable ratio); one with none is dropped and counted in
  ``n_dropped_caliper``.
* **With replacement**: each treated person takes its k nearest admissible
  controls whether or not they were used before.
* **Without replacement** (greedy): treated people are processed one at a time
  and each takes its nearest *available* admissible control, which then
  becomes unavailable. The order is ``order``: ``"descending"`` (highest
  propensity first, the default, as MatchIt's ``m.order = "largest"``: the
  treated people hardest to match choose first), ``"ascending"``, ``"random"``
  (a permutation drawn from ``seed``) or ``"data"`` (row order). With k > 1
  the matching runs in k passes: every treated person gets a first control
  before anyone gets a second (as MatchIt does).

Ties between controls at the same distance are broken at random (from
``seed``), so the result is reproducible for a seed.

Complexity
----------
Controls are sorted once by (stratum, logit), O(n log n). Each treated person's
position is found by binary search (``numpy.searchsorted``), O(log n). With
replacement the k nearest lie among the k positions on either side, so the
search is vectorised. Without replacement the nearest available control on
each side is found with two "next available" pointer arrays with path
compression (a union-find), amortised near-constant per query and deletion, so
the greedy pass is O(n log n) overall, never O(n^2).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

ORDERS = ("descending", "ascending", "random", "data")


@dataclass
class MatchResult:
    """Output of :func:`match_nearest`.

    All indices are positions in the ``logit_treated`` / ``logit_control``
    arrays that were passed in.

    Attributes
    ----------
    pairs_treated : ndarray
        Treated position for each (treated, control) match.
    pairs_control : ndarray
        Control position for each match (same length as ``pairs_treated``).
    pairs_set : ndarray
        Matched-set id for each match: the treated person's rank in
        ``matched_treated``.
    matched_treated : ndarray
        Treated positions that received at least one control, in set-id order.
    n_dropped_caliper : int
        Treated people with no admissible control.
    """

    pairs_treated: np.ndarray
    pairs_control: np.ndarray
    pairs_set: np.ndarray
    matched_treated: np.ndarray
    n_dropped_caliper: int


def pooled_sd(logit: np.ndarray, treated: np.ndarray) -> float:
    """sqrt((var_t + var_c) / 2) of the logit, sample variances (ddof=1)."""
    t = np.asarray(treated, dtype=bool)
    vt = np.var(logit[t], ddof=1) if t.sum() > 1 else 0.0
    vc = np.var(logit[~t], ddof=1) if (~t).sum() > 1 else 0.0
    return float(np.sqrt((vt + vc) / 2.0))


def _treated_order(x_t: np.ndarray, order: str, rng: np.random.Generator) -> np.ndarray:
    if order == "data":
        return np.arange(len(x_t))
    if order == "random":
        return rng.permutation(len(x_t))
    tiebreak = rng.random(len(x_t))
    if order == "descending":
        return np.lexsort((tiebreak, -x_t))
    if order == "ascending":
        return np.lexsort((tiebreak, x_t))
    raise ValueError(f"order must be one of {ORDERS}, not {order!r}")


def _with_replacement(xs, x_t, pos, lo, hi, k, width):
    """Vectorised k-nearest search among the sorted controls xs[lo:hi]."""
    offsets = np.arange(-k, k)
    cand = pos[:, None] + offsets[None, :]
    valid = (cand >= lo[:, None]) & (cand < hi[:, None])
    safe = np.clip(cand, 0, max(len(xs) - 1, 0))
    dist = np.where(valid, np.abs(xs[safe] - x_t[:, None]), np.inf)
    pick = np.argsort(dist, axis=1, kind="stable")[:, :k]
    rows = np.arange(len(x_t))[:, None]
    d = dist[rows, pick]
    c = cand[rows, pick]
    ok = d <= width
    t_idx = np.broadcast_to(np.arange(len(x_t))[:, None], ok.shape)[ok]
    # keep the match order (nearest first) within each treated person
    return t_idx, c[ok]


def _without_replacement(xs, x_t, pos, lo, hi, k, width, t_order):
    """Greedy matching with union-find "next available" pointers.

    ``right[i]``: smallest available sorted index >= i (n = none).
    ``left[i + 1]``: largest available sorted index <= i, plus one (0 = none).
    """
    n = len(xs)
    right = list(range(n + 1))
    left = list(range(n + 1))
    xs_l = xs.tolist()
    xt_l = x_t.tolist()
    pos_l = pos.tolist()
    lo_l = lo.tolist()
    hi_l = hi.tolist()
    out_t: list[int] = []
    out_c: list[int] = []
    active = t_order.tolist()
    for _ in range(k):
        still = []
        for ti in active:
            p = pos_l[ti]
            x = xt_l[ti]
            # nearest available at or right of p
            r = p
            while right[r] != r:
                r = right[r]
            j = p
            while right[j] != r:
                right[j], j = r, right[j]
            # nearest available at or left of p - 1 (shifted by one)
            q = p
            while left[q] != q:
                q = left[q]
            j = p
            while left[j] != q:
                left[j], j = q, left[j]
            li = q - 1
            best = -1
            bd = width
            if r < hi_l[ti]:
                d = xs_l[r] - x
                if d <= bd:
                    best, bd = r, d
            if li >= lo_l[ti]:
                d = x - xs_l[li]
                if d < bd or (best < 0 and d <= bd):
                    best, bd = li, d
            if best < 0:
                continue
            out_t.append(ti)
            out_c.append(best)
            still.append(ti)
            right[best] = best + 1
            left[best + 1] = best
        active = still
        if not active:
            break
    return np.asarray(out_t, dtype=np.int64), np.asarray(out_c, dtype=np.int64)


def match_nearest(
    logit_treated,
    logit_control,
    *,
    strata_treated=None,
    strata_control=None,
    ratio: int = 1,
    replace: bool = False,
    caliper_width: float | None = None,
    order: str = "descending",
    seed: int = 0,
) -> MatchResult:
    """Match treated to controls on the logit score; see the module docstring.

    Parameters
    ----------
    logit_treated, logit_control : array_like
        Logit propensity scores.
    strata_treated, strata_control : array_like of int, optional
        Exact-match stratum codes; matches never cross strata.
    ratio : int
        Controls per treated person (k in 1:k).
    replace : bool
        Match with replacement.
    caliper_width : float or None
        Largest admissible distance on the logit scale (absolute, not in SDs).
    order : str
        Treated processing order for matching without replacement.
    seed : int
        Seeds tie-breaking and the ``"random"`` order.
    """
    if order not in ORDERS:
        raise ValueError(f"order must be one of {ORDERS}, not {order!r}")
    if int(ratio) != ratio or ratio < 1:
        raise ValueError(f"ratio must be a positive integer, not {ratio!r}")
    k = int(ratio)
    x_t = np.asarray(logit_treated, dtype=float)
    x_c = np.asarray(logit_control, dtype=float)
    nt, nc = len(x_t), len(x_c)
    s_t = np.zeros(nt, dtype=np.int64) if strata_treated is None else np.asarray(strata_treated, dtype=np.int64)
    s_c = np.zeros(nc, dtype=np.int64) if strata_control is None else np.asarray(strata_control, dtype=np.int64)
    width = np.inf if caliper_width is None else float(caliper_width)
    rng = np.random.default_rng(seed)

    # controls sorted by (stratum, logit, random tie-break)
    c_sort = np.lexsort((rng.random(nc), x_c, s_c))
    xs = x_c[c_sort]
    ss = s_c[c_sort]
    lo = np.searchsorted(ss, s_t, side="left")
    hi = np.searchsorted(ss, s_t, side="right")
    # insertion point of each treated score within its stratum block
    pos = np.empty(nt, dtype=np.int64)
    if nt:
        t_by_stratum = np.argsort(s_t, kind="stable")
        bounds = np.flatnonzero(np.diff(s_t[t_by_stratum])) + 1
        for block in np.split(t_by_stratum, bounds):
            if len(block) == 0:
                continue
            a, b = lo[block[0]], hi[block[0]]
            pos[block] = a + np.searchsorted(xs[a:b], x_t[block], side="left")

    if replace:
        t_idx, c_sorted_idx = _with_replacement(xs, x_t, pos, lo, hi, k, width)
    else:
        t_order = _treated_order(x_t, order, rng)
        t_idx, c_sorted_idx = _without_replacement(xs, x_t, pos, lo, hi, k, width, t_order)

    c_idx = c_sort[c_sorted_idx] if len(c_sorted_idx) else np.empty(0, dtype=np.int64)
    # set ids: matched treated in order of first appearance
    matched_treated, first = np.unique(t_idx, return_index=True)
    matched_treated = matched_treated[np.argsort(first, kind="stable")]
    set_of = np.full(nt, -1, dtype=np.int64)
    set_of[matched_treated] = np.arange(len(matched_treated))
    pairs_set = set_of[t_idx]
    sort = np.argsort(pairs_set, kind="stable")
    return MatchResult(
        pairs_treated=t_idx[sort],
        pairs_control=c_idx[sort],
        pairs_set=pairs_set[sort],
        matched_treated=matched_treated,
        n_dropped_caliper=int(nt - len(matched_treated)),
    )
