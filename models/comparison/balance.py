"""Covariate balance: standardised mean differences and variance ratios.

Per design column (so each dummy level and each missing-value indicator is
checked separately):

* **SMD** = (mean_treated - mean_comparison) / s, where
  s = sqrt((var_treated + var_comparison) / 2) is the pooled SD of the two
  groups *before* matching or weighting, used for both the before and the
  after SMD so that a change in the SMD reflects a change in the means only
  (Austin 2009, Stat Med 28:3083; Stuart 2010, Stat Sci 25:1). For a 0/1
  column this is the same formula with var = p(1-p) up to the n/(n-1) factor.
* **Variance ratio** = var_treated / var_comparison (Rubin 2001, Health Serv
  Outcomes Res Methodol 2:169: 0.5 to 2 acceptable).
* **After** matching or weighting, means and variances are weighted by the
  matching (or ATT) weights: mean = sum(w x) / sum(w),
  var = sum(w (x - mean)^2) / (sum(w) - sum(w^2) / sum(w)) (unbiased with
  reliability weights; equals the ordinary ddof=1 variance when all weights
  are 1). Before, all weights are 1.
* **flag** is True when |SMD after| > 0.1 (Austin 2009; the "poor" band of the
  Justice Data Lab's colour coding, which calls < 0.05 good and 0.05-0.10
  reasonable). ``vr_flag`` is True when a non-binary column's variance ratio
  after is outside [0.5, 2].
"""

from __future__ import annotations

import numpy as np
import pandas as pd

SMD_THRESHOLD = 0.1
VR_RANGE = (0.5, 2.0)


def weighted_mean_var(x, w=None) -> tuple[float, float]:
    """Weighted mean and reliability-weighted unbiased variance (see module)."""
    x = np.asarray(x, dtype=float)
    w = np.ones_like(x) if w is None else np.asarray(w, dtype=float)
    v1 = float(w.sum())
    if v1 <= 0:
        return float("nan"), float("nan")
    m = float(np.sum(w * x) / v1)
    v2 = float(np.sum(w**2))
    denom = v1 - v2 / v1
    var = float(np.sum(w * (x - m) ** 2) / denom) if denom > 0 else float("nan")
    return m, var


#: rows per chunk of the sums (bounds the temporary arrays at 1M persons' trial rows)
CHUNK_ROWS = 1 << 20


def _column_sums(X: np.ndarray, rows: np.ndarray, w: np.ndarray | None = None,
                 centre: np.ndarray | None = None, taken: np.ndarray | None = None) -> np.ndarray:
    """Column sums of ``w[rows, None] * X[rows]`` (of ``w[rows, None] * (X[rows] - centre) ** 2`` with
    ``centre``; no product without ``w``, all weights 1) without copying ``X[rows]`` whole: chunks of rows,
    each added on to the running sums row after row, as numpy sums the rows of a C-ordered matrix (which
    ``X[rows]`` is), so the sums are the same to the last bit. ``taken``: the matrix is ``X[taken]``
    (positions, repeats allowed), read chunk by chunk too."""
    acc = np.zeros(X.shape[1])
    started = False
    for i in range(0, len(X) if taken is None else len(taken), CHUNK_ROWS):
        mask = rows[i:i + CHUNK_ROWS]
        part = X[i:i + CHUNK_ROWS][mask] if taken is None else X[taken[i:i + CHUNK_ROWS][mask]]
        if not len(part):
            continue
        if centre is not None:
            part = (part - centre) ** 2
        if w is not None:
            part = w[i:i + CHUNK_ROWS][mask][:, None] * part
        acc = np.add.reduce(np.vstack([acc[None, :], part]), axis=0) if started else part.sum(axis=0)
        started = True
    return acc


def _stats(X: np.ndarray, t: np.ndarray, w: np.ndarray | None = None, taken: np.ndarray | None = None):
    """Per group (participants, then comparison): the weighted means and variances of the module docstring
    (every weight 1 when ``w`` is None), summed in chunks of rows (of ``X[taken]`` with ``taken``)."""
    out = []
    for grp in (t, ~t):
        ws = None if w is None else w[grp]
        v1 = np.float64(np.count_nonzero(grp)) if ws is None else ws.sum()
        m = _column_sums(X, grp, w, taken=taken) / v1
        v2 = v1 if ws is None else (ws**2).sum()
        denom = v1 - v2 / v1
        var = _column_sums(X, grp, w, m, taken) / denom if denom > 0 else np.full(X.shape[1], np.nan)
        out.append((m, var))
    return out


def smd_after_by_pattern(X: np.ndarray, pattern_before: np.ndarray, treated_before: np.ndarray,
                         pattern_after: np.ndarray, treated_after: np.ndarray, weights_after: np.ndarray) -> np.ndarray:
    """Per column of ``X`` (one row per covariate pattern), the SMD after matching or weighting of the module
    docstring, for people given as their pattern (``pattern_*``: each row's row of ``X``): the sums over people are
    sums over patterns weighted by each pattern's count (before) or summed weights (after) in each group, so
    millions of trial rows cost one ``bincount`` each. The same figures as :func:`balance_table`'s ``smd_after`` up to
    rounding in the last bits (the sums are added in another order)."""
    n_patterns = len(X)

    def mean_var(pattern, t, w):
        out = []
        for grp in (t, ~t):
            ws = np.ones(np.count_nonzero(grp)) if w is None else w[grp]
            per = np.bincount(pattern[grp], weights=ws, minlength=n_patterns)
            v1 = ws.sum()
            m = per @ X / v1
            denom = v1 - (ws**2).sum() / v1
            out.append((m, per @ (X - m) ** 2 / denom if denom > 0 else np.full(X.shape[1], np.nan)))
        return out

    (_, vtb), (_, vcb) = mean_var(pattern_before, np.asarray(treated_before, dtype=bool), None)
    (mta, _), (mca, _) = mean_var(pattern_after, np.asarray(treated_after, dtype=bool),
                                  np.asarray(weights_after, dtype=float))
    sd = np.sqrt((vtb + vcb) / 2.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(sd > 0, (mta - mca) / sd, np.nan)


def _smallest_cell(X: np.ndarray, t: np.ndarray, c: np.ndarray, is_bin: np.ndarray,
                   taken: np.ndarray | None = None, people: np.ndarray | None = None) -> np.ndarray:
    """Per binary design column, the fewest people in any of its four cells (with and without the level, among the
    rows ``t`` and ``c`` of the two groups, unweighted) that is not empty. The SMD and variance ratio of a 0/1 column
    give back both groups' shares, so they rest on these cells (a level held by 1 participant of 312 reads as SMD
    -0.089 and variance ratio 0.306). ``people``: each row's person (codes 0..P-1), when a person can have several
    rows (a comparison person at risk on several days, or reused by matching with replacement); a person is in a cell
    when any of their rows in the group is, so one person reused on 8 days is 1, not 8. Without it each row is a
    person. NaN for other columns or no such cell."""
    if people is None:
        n_t, n_c = float(np.count_nonzero(t)), float(np.count_nonzero(c))
        ones_t, ones_c = _column_sums(X, t, taken=taken), _column_sums(X, c, taken=taken)
        cells = np.vstack([ones_t, n_t - ones_t, ones_c, n_c - ones_c])
    else:
        cells = np.vstack([_people_with(X, g, is_bin, taken, people) for g in (t, c)])
    cells = np.where(np.rint(cells) > 0, np.rint(cells), np.inf)
    smallest = cells.min(axis=0)
    return np.where(is_bin & np.isfinite(smallest), smallest, np.nan)


def _people_with(X: np.ndarray, group: np.ndarray, is_bin: np.ndarray, taken: np.ndarray | None,
                 people: np.ndarray) -> np.ndarray:
    """Two rows of counts per design column: the distinct people of ``group`` with a row holding the level (1), and
    with a row without it (0); zeros for a non-binary column. The levels of each row of ``X`` are packed 64 columns
    to a word, and each person's words are or-ed over their rows (``numpy.bitwise_or.at``): one word per row is read
    for every 64 columns, and nothing is sorted."""
    columns = np.flatnonzero(is_bin)
    out = np.zeros((2, X.shape[1]))
    who = people[group]
    rows = np.flatnonzero(group) if taken is None else taken[group]
    size = int(people.max()) + 1 if len(people) else 0
    for first in range(0, len(columns), 64):
        block = columns[first:first + 64]
        bits = np.left_shift(np.uint64(1), np.arange(len(block), dtype=np.uint64))
        packed = np.concatenate([np.bitwise_or.reduce(np.where(X[i:i + CHUNK_ROWS, block] == 1, bits, np.uint64(0)),
                                                      axis=1) for i in range(0, max(len(X), 1), CHUNK_ROWS)])
        words = packed[rows]
        held, lacked = np.zeros(size, dtype=np.uint64), np.zeros(size, dtype=np.uint64)
        np.bitwise_or.at(held, who, words)
        np.bitwise_or.at(lacked, who, words ^ np.bitwise_or.reduce(bits))
        for j, col in enumerate(block):
            out[0, col] = np.count_nonzero(held & bits[j])
            out[1, col] = np.count_nonzero(lacked & bits[j])
    return out


def _ratio(a, b):
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(b > 0, a / b, np.where(a > 0, np.inf, np.nan))


def balance_table(
    X_before: pd.DataFrame,
    treated_before,
    X_after: pd.DataFrame,
    treated_after,
    weights_after,
    *,
    source: dict | None = None,
    binary: list | None = None,
    threshold: float = SMD_THRESHOLD,
    before_rows: np.ndarray | None = None,
    after_rows: np.ndarray | None = None,
    people_before: np.ndarray | None = None,
    people_after: np.ndarray | None = None,
) -> pd.DataFrame:
    """Balance before and after, one row per design column.

    ``before_rows``, ``after_rows``: the rows before (after) are ``X_before.iloc[before_rows]``
    (``X_after.iloc[after_rows]``; positions, repeats allowed), read chunk by chunk, never copied whole:
    a matched sample of millions of rows, or the people of a design held as covariate patterns
    (:func:`models.comparison.design.covariate_patterns`), each row naming its pattern.

    Columns: ``covariate`` (design column), ``smd_before``, ``smd_after``,
    ``vr_before``, ``vr_after``, ``flag`` (|smd_after| > ``threshold``),
    ``vr_flag``, ``source`` (the covariate the column came from),
    ``mean_treated_after``, ``mean_comparison_after``, and for a ``binary`` column the fewest
    people in a non-empty cell, ``smallest_cell_before`` and ``smallest_cell_after``
    (unweighted, rows with a positive weight after; :func:`_smallest_cell`).

    ``people_before``, ``people_after``: each row's person (codes 0..P-1) before and after,
    when a person can have several rows; without them each row before, and each row after,
    is a person.
    """
    cols = list(X_before.columns)
    tb = np.asarray(treated_before, dtype=bool)
    ta = np.asarray(treated_after, dtype=bool)
    Xb = X_before.to_numpy(dtype=float)
    Xa = (X_after if list(X_after.columns) == cols else X_after[cols]).to_numpy(dtype=float)
    (mtb, vtb), (mcb, vcb) = _stats(Xb, tb, taken=before_rows)
    (mta, vta), (mca, vca) = _stats(Xa, ta, np.asarray(weights_after, dtype=float), after_rows)
    sd = np.sqrt((vtb + vcb) / 2.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        smd_b = np.where(sd > 0, (mtb - mcb) / sd, np.nan)
        smd_a = np.where(sd > 0, (mta - mca) / sd, np.nan)
    vr_b = _ratio(vtb, vcb)
    vr_a = _ratio(vta, vca)
    binary = set(binary or [])
    is_bin = np.array([c in binary for c in cols], dtype=bool)
    kept = np.asarray(weights_after, dtype=float) > 0
    table = pd.DataFrame(
        {
            "covariate": cols,
            "smd_before": smd_b,
            "smd_after": smd_a,
            "vr_before": vr_b,
            "vr_after": vr_a,
            "flag": np.abs(smd_a) > threshold,
            "vr_flag": ~is_bin & ((vr_a < VR_RANGE[0]) | (vr_a > VR_RANGE[1])),
            "source": [(source or {}).get(c, c) for c in cols],
            "mean_treated_after": mta,
            "mean_comparison_after": mca,
            "smallest_cell_before": _smallest_cell(Xb, tb, ~tb, is_bin, before_rows, people_before),
            "smallest_cell_after": _smallest_cell(Xa, ta & kept, ~ta & kept, is_bin, after_rows,
                                                  people_after),
        }
    )
    return table
