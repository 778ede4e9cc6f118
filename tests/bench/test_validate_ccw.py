"""bench/validate_ccw.py's summary: coverage of the causal truth and of the estimator's limit, width against spread."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from bench.validate_ccw import summarise


def test_summary_by_hand():
    # three replications, truth -0.06, limit -0.05 (MC SE 0.001): estimates -0.04, -0.05, -0.06 (SD 0.01)
    rows = [{"scenario": "effect", "truth": -0.06, "limit": -0.05, "limit_mc_se": 0.001, "estimate": e,
             "ci_low": e - 0.0098, "ci_high": e + 0.0098} for e in (-0.04, -0.05, -0.06)]
    out = summarise(pd.DataFrame(rows)).iloc[0]
    assert out["reps"] == 3 and out["sd"] == pytest.approx(0.01)
    assert out["bias_vs_limit"] == pytest.approx(0.0)
    assert out["bias_mc_se"] == pytest.approx(np.hypot(0.01 / np.sqrt(3), 0.001))
    # the intervals (±0.0098) hold -0.05 on the second and -0.06 on the third only
    assert out["cover_limit"] == pytest.approx(100 / 3) and out["cover_truth"] == pytest.approx(100 / 3)
    # width 0.0196 against 3.92 x 0.01
    assert out["width_ratio"] == pytest.approx(0.5)
    assert out["significant"] == pytest.approx(100.0)
