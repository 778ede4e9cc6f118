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
* **Without replacement** (greedy): participants are processed one block at
  a time and each block takes its nearest *available* admissible controls,
  which then become unavailable. The order is ``order``: ``"descending"``
  (highest propensity first, the default, as MatchIt's ``m.order =
  "largest"``: the treated people hardest to match choose first),
  ``"ascending"``, ``"random"`` (a permutation drawn from ``seed``) or
  ``"data"`` (row order). With k > 1 the matching runs in k passes: every
  block gets its first controls before anyone gets a second (as MatchIt does).

Ties (Abadie & Imbens 2006, Econometrica 74:235; ``Matching::Match(ties =
TRUE)``, Sekhon 2011, J Stat Softw 42(7)): nothing is decided at random.

* Participants whose logits are equal (within :data:`TIE_TOLERANCE`, in the
  same stratum) form one **block** and one matched set: they are the same
  person as far as the score can tell, so they share their controls.
* A block of b participants takes b x (its ratio) controls in a pass **plus
  every control tied with the last one taken** (at the same distance within
  :data:`TIE_TOLERANCE`). A set with b participants and m controls weights
  each participant 1 and each control b / m, so the controls of a set
  always weigh as much as its participants (with ties in 1:1 matching, each
  of the tied controls counts 1/m, as ``Matching`` does).
* Controls with equal logits are ordered by their position in the input,
  and blocks with equal logits by stratum then position, so the result does
  not depend on ``seed`` unless ``order="random"``.

With continuous scores ties are rare and this is ordinary greedy 1:k
nearest-neighbour matching.

Complexity
----------
Controls are sorted once by (stratum, logit), O(n log n). Each treated person's
position is found by binary search (``numpy.searchsorted``), O(log n). With
replacement the k nearest lie among the k positions on either side, so the
search is vectorised. Without replacement the nearest available control on
each side is found with two "next available" pointer arrays with path
compression (a union-find), amortised near-constant per query and deletion, so
the greedy pass is O(n log n) overall, never O(n^2). The pointers run over runs
of tied controls (same stratum and logit), which are always taken whole, so the
pass costs the distinct control scores, not the controls (a risk-set design at
1M persons has about 10 million control rows and far fewer distinct scores).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd

ORDERS = ("descending", "ascending", "random", "data")
#: logits (and distances) closer than this are tied (logit units)
TIE_TOLERANCE = 1e-9


@dataclass
class MatchResult:
    """Output of :func:`match_nearest`.

    All indices are positions in the ``logit_treated`` / ``logit_control``
    arrays that were passed in. A matched set holds one block of tied
    participants (usually one person) and its controls.

    Attributes
    ----------
    matched_treated : ndarray
        Treated positions that received at least one control, in set order.
    treated_set : ndarray
        Set id of each of ``matched_treated``.
    set_controls, control_set : ndarray
        One entry per (set, control): the control position and the set id.
    control_weight : ndarray
        Weight of each of those entries: participants in the set / controls in the set.
    pairs_treated, pairs_control, pairs_set : ndarray
        Every (participant, control) pair of every set, with its set id, sorted by set.
    n_dropped_caliper : int
        Treated people with no admissible control.
    """

    matched_treated: np.ndarray
    treated_set: np.ndarray
    set_controls: np.ndarray
    control_set: np.ndarray
    control_weight: np.ndarray
    n_dropped_caliper: int

    @cached_property
    def _pairs(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Every (participant, control) pair of every set, sorted by set: made when first asked for (a set
        of b tied participants and m controls has b x m pairs, and the engine reads none of them)."""
        m_per_set = np.bincount(self.control_set)  # every set has a control
        starts = np.cumsum(m_per_set) - m_per_set
        per_t = m_per_set[self.treated_set]
        t_rep = np.repeat(self.matched_treated, per_t)
        s_rep = np.repeat(self.treated_set, per_t)
        offs = np.arange(len(t_rep)) - np.repeat(np.cumsum(per_t) - per_t, per_t)
        c_rep = self.set_controls[starts[s_rep] + offs] if len(t_rep) else np.empty(0, dtype=np.int64)
        return t_rep, c_rep, s_rep

    @property
    def pairs_treated(self) -> np.ndarray:
        return self._pairs[0]

    @property
    def pairs_control(self) -> np.ndarray:
        return self._pairs[1]

    @property
    def pairs_set(self) -> np.ndarray:
        return self._pairs[2]


def pooled_sd(logit: np.ndarray, treated: np.ndarray) -> float:
    """sqrt((var_t + var_c) / 2) of the logit, sample variances (ddof=1)."""
    t = np.asarray(treated, dtype=bool)
    vt = np.var(logit[t], ddof=1) if t.sum() > 1 else 0.0
    vc = np.var(logit[~t], ddof=1) if (~t).sum() > 1 else 0.0
    return float(np.sqrt((vt + vc) / 2.0))


def _blocks(x_t: np.ndarray, s_t: np.ndarray):
    """Blocks of tied treated: (block of each treated, first position of each block's members sorted)."""
    n = len(x_t)
    idx = np.lexsort((np.arange(n), x_t, s_t))
    xs, ss = x_t[idx], s_t[idx]
    new = np.r_[True, (ss[1:] != ss[:-1]) | (np.diff(xs) > TIE_TOLERANCE)] if n else np.zeros(0, bool)
    bid_sorted = np.cumsum(new) - 1
    block = np.empty(n, dtype=np.int64)
    block[idx] = bid_sorted
    return block, int(bid_sorted[-1]) + 1 if n else 0


def _block_order(x_b, s_b, first_b, order: str, rng: np.random.Generator) -> np.ndarray:
    if order == "data":
        return np.argsort(first_b, kind="stable")
    if order == "random":
        return rng.permutation(len(x_b))
    if order == "descending":
        return np.lexsort((first_b, s_b, -x_b))
    if order == "ascending":
        return np.lexsort((first_b, s_b, x_b))
    raise ValueError(f"order must be one of {ORDERS}, not {order!r}")


def _with_replacement(xs, x_b, pos, lo, hi, k, width):
    """Per block: the k nearest controls within the caliper plus every control tied with the k-th.

    Returns (block index, sorted control index) arrays.
    """
    offsets = np.arange(-k, k)
    cand = pos[:, None] + offsets[None, :]
    valid = (cand >= lo[:, None]) & (cand < hi[:, None])
    safe = np.clip(cand, 0, max(len(xs) - 1, 0))
    dist = np.where(valid, np.abs(xs[safe] - x_b[:, None]), np.inf)
    dist.sort(axis=1)
    near = dist[:, 0]
    kth = dist[:, k - 1]
    cut = np.where(kth <= width, kth + TIE_TOLERANCE, width)
    ok = near <= width
    a = np.empty(len(x_b), dtype=np.int64)
    b = np.empty(len(x_b), dtype=np.int64)
    for s_lo, s_hi in set(zip(lo.tolist(), hi.tolist())):
        sel = (lo == s_lo) & (hi == s_hi)
        seg = xs[s_lo:s_hi]
        a[sel] = s_lo + np.searchsorted(seg, x_b[sel] - cut[sel], side="left")
        b[sel] = s_lo + np.searchsorted(seg, x_b[sel] + cut[sel], side="right")
    counts = np.where(ok, b - a, 0)
    blk = np.repeat(np.arange(len(x_b)), counts)
    start = np.repeat(a - (np.cumsum(counts) - counts), counts)
    return blk, start + np.arange(counts.sum())


def _runs(xs: np.ndarray, ss: np.ndarray) -> np.ndarray:
    """First sorted position of each run of equal logits within a stratum (controls sorted by stratum, logit)."""
    n = len(xs)
    if not n:
        return np.zeros(0, dtype=np.int64)
    return np.flatnonzero(np.r_[True, (xs[1:] != xs[:-1]) | (ss[1:] != ss[:-1])])


def _without_replacement(xs, ss, x_b, size_b, pos, lo, hi, k, width, b_order):
    """Greedy matching of blocks with union-find "next available" pointers over runs of tied controls.

    A run is a stretch of sorted controls with the same stratum and logit. When a block takes a control,
    the available controls with the same logit on the same side are its next picks (same distance, so
    within the tie tolerance of the last one taken): the whole run is taken at once, with the same result
    as taking its controls one by one. So a run is always wholly available or wholly taken, and the
    pointers run over runs, not controls (a risk-set design has millions of controls and far fewer runs):

    ``right[r]``: smallest available run >= r (R = none).
    ``left[r + 1]``: largest available run <= r, plus one (0 = none).
    Block positions ``pos`` and stratum bounds ``lo``/``hi`` are run starts (or the end), as the runs
    split at stratum bounds. Returns (block index, sorted control index) arrays.
    """
    first_c = _runs(xs, ss)
    n_runs = len(first_c)
    size_r = np.diff(np.r_[first_c, len(xs)])
    right = list(range(n_runs + 1))
    left = list(range(n_runs + 1))
    x_r = xs[first_c].tolist()
    pos_l, lo_l, hi_l = (np.searchsorted(first_c, a).tolist() for a in (pos, lo, hi))
    xb_l = x_b.tolist()
    size_b_l = size_b.tolist()
    size_l = size_r.tolist()
    tol = TIE_TOLERANCE

    def nearest_right(p):
        r = p
        while right[r] != r:
            r = right[r]
        j = p
        while right[j] != r:
            right[j], j = r, right[j]
        return r

    def nearest_left(p):
        q = p
        while left[q] != q:
            q = left[q]
        j = p
        while left[j] != q:
            left[j], j = q, left[j]
        return q - 1

    out_b: list[int] = []
    out_r: list[int] = []
    active = b_order.tolist()
    for _ in range(k):
        still = []
        for bi in active:
            p, x, need = pos_l[bi], xb_l[bi], size_b_l[bi]
            taken, last = 0, -1.0
            while True:
                r = nearest_right(p)
                li = nearest_left(p)
                dr = x_r[r] - x if r < hi_l[bi] else np.inf
                dl = x - x_r[li] if li >= lo_l[bi] else np.inf
                best, d = (r, dr) if dr <= dl else (li, dl)
                if d == np.inf or d > width or (taken >= need and d > last + tol):
                    break
                right[best] = best + 1
                left[best + 1] = best
                out_b.append(bi)
                out_r.append(best)
                taken, last = taken + size_l[best], d
            if taken:
                still.append(bi)
        active = still
        if not active:
            break
    runs = np.asarray(out_r, dtype=np.int64)
    per = size_r[runs]
    offsets = np.arange(per.sum()) - np.repeat(np.cumsum(per) - per, per)
    return np.repeat(np.asarray(out_b, dtype=np.int64), per), np.repeat(first_c[runs], per) + offsets


def _matches(x_t, x_c, s_t, s_c, k: int, replace: bool, width: float, order: str, seed: int):
    """The matches of :func:`match_nearest` (its arguments as arrays): (block of each treated person, number
    of blocks, block sizes, block of each match, control of each match). The sorted copies of the controls
    go on return, before the matched sets are built."""
    nt = len(x_t)
    # controls sorted by (stratum, logit, position)
    c_sort = np.lexsort((x_c, s_c))  # stable: equal (stratum, logit) keep their input order
    xs = x_c[c_sort]
    ss = s_c[c_sort]
    # blocks of tied treated: representative logit = smallest member's
    block, nb = _blocks(x_t, s_t)
    size_b = np.bincount(block, minlength=nb)
    x_b = np.full(nb, np.inf)
    np.minimum.at(x_b, block, x_t)
    s_b = np.zeros(nb, dtype=np.int64)
    s_b[block] = s_t
    first_b = np.full(nb, nt, dtype=np.int64)
    np.minimum.at(first_b, block, np.arange(nt))
    lo = np.searchsorted(ss, s_b, side="left")
    hi = np.searchsorted(ss, s_b, side="right")
    pos = np.empty(nb, dtype=np.int64)
    for s_lo, s_hi in set(zip(lo.tolist(), hi.tolist())):
        sel = (lo == s_lo) & (hi == s_hi)
        pos[sel] = s_lo + np.searchsorted(xs[s_lo:s_hi], x_b[sel], side="left")

    if replace:
        b_idx, c_sorted_idx = _with_replacement(xs, x_b, pos, lo, hi, k, width)
        b_order = _block_order(x_b, s_b, first_b, order, np.random.default_rng(seed))
        rank = np.empty(nb, dtype=np.int64)
        rank[b_order] = np.arange(nb)
        o = np.argsort(rank[b_idx], kind="stable")
        b_idx, c_sorted_idx = b_idx[o], c_sorted_idx[o]
    else:
        b_order = _block_order(x_b, s_b, first_b, order, np.random.default_rng(seed))
        b_idx, c_sorted_idx = _without_replacement(xs, ss, x_b, size_b, pos, lo, hi, k, width, b_order)

    c_idx = c_sort[c_sorted_idx] if len(c_sorted_idx) else np.empty(0, dtype=np.int64)
    return block, nb, size_b, b_idx, c_idx


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
        Seeds the ``"random"`` order only.
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
    block, nb, size_b, b_idx, c_idx = _matches(x_t, x_c, s_t, s_c, k, replace, width, order, seed)
    # set ids: matched blocks in order of their first match
    blocks = pd.unique(b_idx)  # in order of first appearance (hashing, not a sort of every match)
    set_of = np.full(nb, -1, dtype=np.int64)
    set_of[blocks] = np.arange(len(blocks))
    control_set = set_of[b_idx]
    o = np.lexsort((c_idx, control_set))
    control_set, set_controls = control_set[o], c_idx[o]
    b_idx = c_idx = o = None  # control_set and set_controls hold the matches
    m_per_set = np.bincount(control_set, minlength=len(blocks))
    b_per_set = size_b[blocks]
    control_weight = b_per_set[control_set] / m_per_set[control_set]
    # matched treated in set order (position order within a set)
    t_set = set_of[block]
    matched = np.flatnonzero(t_set >= 0)
    matched = matched[np.lexsort((matched, t_set[matched]))]
    treated_set = t_set[matched]
    return MatchResult(
        matched_treated=matched,
        treated_set=treated_set,
        set_controls=set_controls,
        control_set=control_set,
        control_weight=control_weight,
        n_dropped_caliper=int(nt - len(matched)),
    )
