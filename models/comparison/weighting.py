"""Inverse-probability weights for the average effect on the treated (ATT).

ATT weights (Hirano, Imbens & Ridder 2003, Econometrica 71:1161; Austin &
Stuart 2015, Stat Med 34:3661): participants get weight 1 and comparison people
get the odds of their propensity score, e = p / (1 - p). Weighted, the
comparison group then resembles the participants on the covariates in the
propensity model.

Options
-------
* ``stabilize=True`` multiplies the comparison weights by (1 - P) / P, where P
  is the share of participants among the people weighted, so they sum to about
  the number of comparison people. Every estimate and interval in
  :mod:`.effects` depends only on the relative weights within each group, so
  this changes the reported weights, not the results.
* ``trim_quantile=q`` (e.g. 0.99) truncates comparison weights above their
  q-th quantile to that quantile (weight truncation; Cole & Hernan 2008,
  Am J Epidemiol 168:656). This trades a little bias for variance and changes
  the estimate; it is off by default.
"""

from __future__ import annotations

import numpy as np


def att_weights(score, treated, *, stabilize: bool = False, trim_quantile: float | None = None) -> np.ndarray:
    """ATT weights: 1 for treated, p/(1-p) for controls (see module docstring)."""
    p = np.asarray(score, dtype=float)
    t = np.asarray(treated, dtype=bool)
    w = np.where(t, 1.0, p / (1.0 - p))
    if trim_quantile is not None:
        if not 0.0 < trim_quantile <= 1.0:
            raise ValueError(f"trim_quantile must be in (0, 1], not {trim_quantile!r}")
        cap = np.quantile(w[~t], trim_quantile)
        w = np.where(t, w, np.minimum(w, cap))
    if stabilize:
        share = t.mean()
        w = np.where(t, w, w * (1.0 - share) / share)
    return w


def effective_sample_size(weights) -> float:
    """Kish's effective sample size, (sum w)^2 / sum w^2."""
    w = np.asarray(weights, dtype=float)
    s2 = float(np.sum(w**2))
    return float(np.sum(w) ** 2 / s2) if s2 > 0 else 0.0
