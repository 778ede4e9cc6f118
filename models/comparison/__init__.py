"""Comparison engine: participants against a matched or weighted comparison group.

Pure Python (pandas, numpy, scipy, statsmodels); no Dagster. Every outcome
model (readmission, reoffending, well-being) calls :func:`estimate_effect`,
which is :func:`estimate` of :func:`match` and returns a
:class:`ComparisonResults`. See ``docs/comparison-engine.md``
for the public API and every rule.

Modules, one job each: :mod:`.design` (covariate coding and the missing-value
rule), :mod:`.support` (common support), :mod:`.propensity` (logistic propensity model, separation checks),
:mod:`.matching` (O(n log n) nearest-neighbour matching), :mod:`.weighting`
(ATT weights), :mod:`.balance` (SMD and variance ratios), :mod:`.effects`
(measures and cluster-robust intervals, weighted Cox), :mod:`.verdict`
(verdict and Justice Data Lab wording), :mod:`.results` (the results object),
:mod:`.sample` (``match``: the matched or weighted sample), :mod:`.engine`
(``estimate`` and ``estimate_effect``), :mod:`.multiplicity` (Holm and
Benjamini-Hochberg adjusted p-values), :mod:`.adjustment` (bias correction,
IPW variance term), :mod:`.survival` (weighted Kaplan-Meier with
cluster-robust bands), :mod:`.register` (the effect register).
"""

from .balance import balance_table, weighted_mean_var
from .design import Design, build_design
from .effects import Measure, cluster_variance, compute_effects, cox_binary
from .engine import JDL_MINIMUM, METHODS, OUTCOME_TYPES, estimate, estimate_effect
from .errors import ComparisonError
from .matching import MatchResult, match_nearest, pooled_sd
from .propensity import PropensityFit, fit_propensity
from .multiplicity import benjamini_hochberg, holm
from .results import ComparisonResults
from .sample import ATT_SHARE, MatchedSample, estimand_label, match, matched_share_note
from .survival import km_curve
from .support import level_support, score_support
from .verdict import jdl_statement, verdict, verdict_statement
from .weighting import att_weights, effective_sample_size

__all__ = [
    "ATT_SHARE",
    "estimand_label",
    "matched_share_note",
    "estimate_effect",
    "match",
    "estimate",
    "MatchedSample",
    "holm",
    "km_curve",
    "benjamini_hochberg",
    "ComparisonResults",
    "ComparisonError",
    "OUTCOME_TYPES",
    "METHODS",
    "JDL_MINIMUM",
    "build_design",
    "Design",
    "fit_propensity",
    "PropensityFit",
    "match_nearest",
    "MatchResult",
    "pooled_sd",
    "level_support",
    "score_support",
    "att_weights",
    "effective_sample_size",
    "balance_table",
    "weighted_mean_var",
    "compute_effects",
    "cluster_variance",
    "cox_binary",
    "Measure",
    "verdict",
    "jdl_statement",
    "verdict_statement",
]
