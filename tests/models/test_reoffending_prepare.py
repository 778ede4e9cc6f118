"""Trial-frame helpers of models/reoffending/prepare.py on small cases checked by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd

from models.reoffending.prepare import _one_value, reoffences_from


def test_reoffences_from_counts_days_on_or_after_the_trial_day():
    days = pd.Series([[100, 200], [10], None, [], [5, 5, 40], [np.nan, 30]])
    unit = np.array([0, 0, 0, 1, 1, 2, 3, 4, 4, 4, 5, 5])
    day = np.array([0, 100, 101, 10, 11, 0, 0, 5, 6, 41, 30, 31], dtype=float)
    assert reoffences_from(days, unit, day).tolist() == [2, 2, 1, 1, 0, 0, 0, 3, 1, 0, 1, 0]


def test_reoffences_from_equals_the_row_by_row_count():
    rng = np.random.default_rng(3)
    lists = pd.Series([sorted(rng.integers(1, 366, rng.integers(0, 6)).tolist()) for _ in range(300)])
    unit = rng.integers(0, 300, 2000)
    day = rng.integers(0, 366, 2000).astype(float)
    naive = [sum(1 for d in lists[u] if d >= k) for u, k in zip(unit, day)]
    assert reoffences_from(lists, unit, day).tolist() == naive


def test_one_value_reads_values_as_text():
    assert _one_value(pd.Series([3.0, 3.0, None]))
    assert not _one_value(pd.Series([3.0, 4.0, None]))
    assert _one_value(pd.Series(["a", "a", None], dtype=object))
    assert not _one_value(pd.Series([1, 1.0], dtype=object))  # equal as numbers, "1" and "1.0" as text
    assert not _one_value(pd.Series([0.0, -0.0]))  # "0.0" and "-0.0"
    assert _one_value(pd.Series([1, "1"], dtype=object))  # both "1"
    assert _one_value(pd.Series([pd.NA, 2, 2], dtype="Int64"))


def test_start_days_by_hand():
    from models.reoffending.prepare import ANY, start_days

    df = pd.DataFrame({"programmes": [["X"], ["X", "Y"], [], ["Y", "Z"], ["Z"]],
                       "programme_start_days": [[0], [30, 10], [], [5, 40], [7]]})
    own, other = start_days(df, "X")
    np.testing.assert_array_equal(own, [0, 30, np.nan, np.nan, np.nan])
    np.testing.assert_array_equal(other, [np.nan, 10, np.nan, 5, 7])
    own, other = start_days(df, ANY)
    np.testing.assert_array_equal(own, [0, 10, np.nan, 5, 7])
    assert np.isnan(other).all()
    own, other = start_days(df.iloc[:0], "X")
    assert len(own) == len(other) == 0


def test_distinct_codes_equal_numpy_unique():
    from models.reoffending.prepare import distinct_codes

    rng = np.random.default_rng(4)
    for codes in (rng.integers(0, 50, 400), np.array([3]), np.array([7, 7, 2, 9, 2]), np.zeros(0, int)):
        got = distinct_codes(codes)
        want = np.unique(codes, return_index=True, return_inverse=True)
        for g, w in zip(got, want):
            np.testing.assert_array_equal(g, w)
