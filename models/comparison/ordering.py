"""The stable sort order of survival times, by radix sort when they are whole days.

``np.argsort(time, kind="stable")`` on floats is a merge sort: 0.36 s on 3M rows. Times in
this project are whole days within a follow-up window, and for unsigned 16-bit integers NumPy's
stable sort is a radix sort (0.05 s). The two orders are the same permutation: equal days keep
their input order either way.
"""

from __future__ import annotations

import numpy as np


def stable_time_order(time: np.ndarray) -> np.ndarray:
    """``np.argsort(time, kind="stable")``, computed as a radix sort when every time is a whole day in [0, 65535]."""
    time = np.asarray(time)
    if time.size and time.dtype.kind == "f":
        low, high = time.min(), time.max()
        if low >= 0 and high <= np.iinfo(np.uint16).max:
            days = time.astype(np.uint16)
            if np.array_equal(days, time):
                return np.argsort(days, kind="stable")
    return np.argsort(time, kind="stable")
