"""bench/validate_casemix.py's paired-by-seed figures and its count of participants lost to empty exact strata."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from bench.validate_casemix import EXACT_CHAPTER, LOST_EXACT, paired
from models.comparison import estimate_effect


def test_exact_on_chapter_variant_moves_the_chapter_from_the_score_to_the_exact_columns():
    assert EXACT_CHAPTER["matching_exact"] == ("admission_method", "diagnosis_chapter")
    assert "diagnosis_chapter" not in EXACT_CHAPTER["matching_covariates"]
    assert "specialty" in EXACT_CHAPTER["matching_covariates"]


def test_paired_figures_by_hand():
    # three seeds, truth 0 (null): errors a = (+0.03, +0.01, +0.02), b = (-0.01, +0.01, 0.00)
    rows = []
    for seed, ea, eb in [(1, 0.03, -0.01), (2, 0.01, 0.01), (3, 0.02, 0.0)]:
        rows.append({"scenario": "s", "seed": seed, "variant": "a", "truth": 0.0, "estimate": ea,
                     "ci_low": ea - 0.025, "ci_high": ea + 0.025, "error": None})
        rows.append({"scenario": "s", "seed": seed, "variant": "b", "truth": 0.0, "estimate": eb,
                     "ci_low": eb - 0.005, "ci_high": eb + 0.005, "error": None})
    rows.append({"scenario": "s", "seed": 4, "variant": "a", "truth": 0.0, "estimate": 0.5,
                 "ci_low": 0.4, "ci_high": 0.6, "error": None})  # b failed on seed 4: left out
    rows.append({"scenario": "s", "seed": 4, "variant": "b", "truth": 0.0, "error": "separation"})
    out = paired(pd.DataFrame(rows), "a", "b").iloc[0]
    assert out["seeds"] == 3
    assert out["bias_a"] == pytest.approx(0.02) and out["bias_b"] == pytest.approx(0.0)
    assert out["mc_se_a"] == pytest.approx(0.01 / np.sqrt(3))
    # a's intervals (±0.025) miss 0 on seed 1 only (0.005 to 0.055); b's (±0.005) on seeds 1 and 2 (0.005 to 0.015)
    assert out["coverage_a_pct"] == pytest.approx(200 / 3) and out["coverage_b_pct"] == pytest.approx(100 / 3)
    # differences a - b = (0.04, 0.00, 0.02): mean 0.02, SD 0.02
    assert out["diff_a_minus_b"] == pytest.approx(0.02) and out["se_diff"] == pytest.approx(0.02 / np.sqrt(3))
    # |0.02| - |0.00|; sign(0) = 0, so b's errors drop out of the SE: SD of a's errors
    assert out["abs_bias_reduction"] == pytest.approx(0.02)
    assert out["se_abs_reduction"] == pytest.approx(0.01 / np.sqrt(3))


def test_lost_exact_reads_the_engines_warning():
    # stratum "x" has 2 participants and no comparison people: both are lost; stratum "y" matches
    rng = np.random.default_rng(0)
    n = 60
    df = pd.DataFrame({"treated": np.r_[np.ones(2), np.ones(10), np.zeros(48)].astype(int),
                       "stratum": ["x"] * 2 + ["y"] * 58, "age": rng.normal(50, 10, n),
                       "outcome": rng.integers(0, 2, n)})
    res = estimate_effect(df, "treated", "outcome", ["age"], "binary", exact=["stratum"], caliper=None)
    lost = [int(m[1]) for w in res.warnings if (m := LOST_EXACT.match(w))]
    assert lost == [2]
    assert res.n_dropped_support == 2 and res.n_matched == 10


def test_score_per_route_variant_is_the_case_mix_default_with_a_score_per_route():
    from bench.validate_casemix import DX_VARIANTS, ROUTE_SCORE, VARIANTS
    assert ROUTE_SCORE == {"score_by_route": True}
    assert VARIANTS["score per route"] is ROUTE_SCORE and DX_VARIANTS["score per route"] is ROUTE_SCORE
