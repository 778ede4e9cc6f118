"""Weighted Kaplan-Meier curve with cluster-robust pointwise bands.

A matched comparison group reuses controls (matching with replacement, tied controls) and
weights them; a person can also have several rows. Greenwood's formula treats every row as an
independent person with its weight as a frequency, so its bands are too narrow then. Here the
variance of log S(t) comes from each row's influence value, summed within clusters (the
person, and if wanted the matched set), as for the effect measures of :mod:`.effects`.

Definitions (weights w, event indicator d, time T; Y(s) = sum w 1{T >= s}, dN(s) = sum w d
1{T = s}):

* S(t) = prod over event times s <= t of (1 - dN(s) / Y(s)), the product-limit estimate with
  case weights (equal to ``statsmodels`` ``SurvfuncRight(..., freq_weights=w)``; tested);
* influence of log S(t) for row i (the Nelson-Aalen linearisation, log S = -Lambda to first
  order; Andersen et al. 1993, *Statistical models based on counting processes*, IV.3):
  psi_i(t) = -w_i [ d_i 1{T_i <= t} / Y(T_i) - sum over event times s <= min(T_i, t) of
  dN(s) / Y(s)^2 ];
* var log S(t) = the CR1 cluster sum of psi (:func:`.effects.cluster_variance`, one- or
  two-way), which with all weights 1 and one row per cluster is the Aalen-type variance
  sum dN / Y^2, close to Greenwood's sum dN / (Y (Y - dN));
* the 95% band is the log-log band (Kalbfleisch & Prentice 2002): S^exp(+-z se / |log S|), which
  stays within (0, 1).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .effects import Z95, _codes


def _cluster_var_columns(psi: np.ndarray, clusters: list) -> np.ndarray:
    """CR1 variance of every column of ``psi`` (rows x times), one- or two-way clusters."""

    def oneway(labels):
        codes, g = _codes(labels)
        if g < 2:
            return np.full(psi.shape[1], np.nan)
        sums = np.zeros((g, psi.shape[1]))
        np.add.at(sums, codes, psi)
        return g / (g - 1) * np.sum(sums**2, axis=0)

    if len(clusters) == 1:
        return oneway(clusters[0])
    c1, _ = _codes(clusters[0])
    c2, g2 = _codes(clusters[1])
    v1, v2, v12 = oneway(c1), oneway(c2), oneway(c1.astype(np.int64) * (g2 + 1) + c2)
    v = v1 + v2 - v12
    return np.where(v > 0, v, np.maximum(v1, v2))


def km_curve(time, event, weight=None, clusters=None) -> pd.DataFrame:
    """Weighted Kaplan-Meier curve at each event time with cluster-robust 95% log-log bands.

    ``clusters``: a list of one or two label arrays (e.g. ``[matched_data["_row"]]`` or the
    person id for a matched group with reused controls); default one cluster per row.
    Returns columns ``time``, ``n_at_risk``, ``n_events`` (weighted), ``survival``, ``se_log``
    (SE of log S), ``ci_low``, ``ci_high``.
    """
    T = np.asarray(time, dtype=float)
    d = np.asarray(event, dtype=float)
    w = np.ones_like(T) if weight is None else np.asarray(weight, dtype=float)
    clusters = [np.arange(len(T))] if clusters is None else [np.asarray(c) for c in clusters]
    times = np.unique(T[d > 0])
    if len(times) == 0:
        return pd.DataFrame(columns=["time", "n_at_risk", "n_events", "survival", "se_log", "ci_low", "ci_high"])
    order = np.sort(T)
    w_sorted = w[np.argsort(T, kind="stable")]
    tail = np.r_[np.cumsum(w_sorted[::-1])[::-1], 0.0]
    at_risk = tail[np.searchsorted(order, times, side="left")]
    events = np.bincount(np.searchsorted(times, T[d > 0]), weights=(w * d)[d > 0], minlength=len(times))
    surv = np.cumprod(1 - events / at_risk)
    # influence of log S at each event time (rows x times)
    inc = np.cumsum(events / at_risk**2)  # A(s) = sum over event times <= s of dN / Y^2
    k_row = np.searchsorted(times, T, side="right") - 1  # last event time <= T_i (-1: none)
    jump_row = np.where(d > 0, 1.0 / at_risk[np.clip(np.searchsorted(times, T), 0, len(times) - 1)], 0.0)
    cols = np.arange(len(times))
    own = (d[:, None] > 0) & (T[:, None] <= times[None, :])  # the row's event counted by time t
    upto = np.minimum(k_row[:, None], cols[None, :])  # index of min(T_i, t) among event times
    A = np.where(upto >= 0, inc[np.clip(upto, 0, None)], 0.0)
    psi = -w[:, None] * (own * jump_row[:, None] - A)
    se = np.sqrt(_cluster_var_columns(psi, clusters))
    with np.errstate(divide="ignore", invalid="ignore"):
        sig = se / np.abs(np.log(surv))
        ok = (surv > 0) & (surv < 1) & np.isfinite(sig)
        lo = np.where(ok, surv ** np.exp(Z95 * sig), surv)
        hi = np.where(ok, surv ** np.exp(-Z95 * sig), surv)
    return pd.DataFrame({"time": times, "n_at_risk": at_risk, "n_events": events, "survival": surv,
                         "se_log": se, "ci_low": lo, "ci_high": hi})
