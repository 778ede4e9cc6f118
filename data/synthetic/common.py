"""Shared plumbing for the simulators: seeded random streams, day arithmetic, seasonal dates.

Every simulator works on whole days counted from 1970-01-01 (numpy ``datetime64[D]`` as
integers) and on integer codes for categories; the writers turn both into ISO dates and
labels at the very end. Nothing here loops over rows.
"""

from __future__ import annotations

import zlib

import numpy as np

NEVER = np.int64(np.iinfo(np.int32).max)  # "no such date": alive, still a member, not ended

# Relative activity by calendar month (Jan..Dec). Time-bank exchanges dip in August and at
# Christmas; GP and A&E contacts peak in winter.
SEASON = {
    "flat": [1.0] * 12,
    "exchange": [0.85, 0.9, 1.05, 1.1, 1.15, 1.1, 1.0, 0.75, 1.1, 1.1, 1.0, 0.7],
    "winter": [1.3, 1.2, 1.05, 0.95, 0.9, 0.85, 0.85, 0.8, 0.95, 1.0, 1.1, 1.25],
}


def stream(seed: int, name: str) -> np.random.Generator:
    """An independent, reproducible random stream per simulator and name.

    Streams are keyed by name, so adding a draw to one simulator never shifts another's.
    """
    return np.random.default_rng(np.random.SeedSequence([int(seed), zlib.crc32(name.encode())]))


def to_day(iso: str) -> int:
    return int(np.datetime64(iso, "D").astype(np.int64))


def month_of(days: np.ndarray) -> np.ndarray:
    """Calendar month 0..11 of each day number."""
    return (np.asarray(days).astype("datetime64[D]").astype("datetime64[M]").astype(np.int64) % 12)


def year_of(days: np.ndarray) -> np.ndarray:
    return np.asarray(days).astype("datetime64[D]").astype("datetime64[Y]").astype(np.int64) + 1970


def expit(x):
    return 1.0 / (1.0 + np.exp(-x))


def choose_rows(rng: np.random.Generator, weights: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Draw one column index per entry of ``rows`` from the weight table ``weights[row]``.

    Each table row is normalised to (row, row + 1] on one flat cumulative scale, so a single
    ``searchsorted`` serves every row at once.
    """
    w = np.asarray(weights, dtype=float)
    cum = np.cumsum(w, axis=1) / w.sum(axis=1, keepdims=True)
    flat = (cum + np.arange(w.shape[0])[:, None]).ravel()
    flat[w.shape[1] - 1 :: w.shape[1]] = np.arange(1, w.shape[0] + 1)  # exact row ends
    rows = np.asarray(rows, dtype=np.int64)
    pos = np.searchsorted(flat, rows + rng.random(rows.size), side="right")
    return np.minimum(pos - rows * w.shape[1], w.shape[1] - 1)


def quarter_hours(h: np.ndarray) -> np.ndarray:
    """Round hours to quarter-hour steps within (0, 24]."""
    return np.clip(np.round(np.asarray(h) * 4.0) / 4.0, 0.25, 24.0)


class Calendar:
    """The data window [start, end] with seasonal day weights for inverse-CDF date sampling."""

    def __init__(self, start: int, end: int):
        if end < start:
            raise ValueError("end is before start")
        self.start, self.end = int(start), int(end)
        months = month_of(np.arange(self.start, self.end + 1))
        self._cum = {
            name: np.concatenate([[0.0], np.cumsum(np.asarray(w)[months])]) for name, w in SEASON.items()
        }

    def sample(self, rng: np.random.Generator, lo, hi, profile: str = "flat") -> np.ndarray:
        """One day in [lo, hi] (clipped to the window) per row, weighted by the season profile."""
        lo = np.clip(np.asarray(lo, dtype=np.int64), self.start, self.end) - self.start
        hi = np.clip(np.asarray(hi, dtype=np.int64), self.start, self.end) - self.start
        hi = np.maximum(hi, lo)
        cum = self._cum[profile]
        a, b = cum[lo], cum[hi + 1]
        idx = np.searchsorted(cum, a + rng.random(lo.size) * (b - a), side="right") - 1
        return np.clip(idx, lo, hi) + self.start
