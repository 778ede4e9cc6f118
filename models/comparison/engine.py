"""``estimate`` and ``estimate_effect``: the calls every outcome model makes.

``estimate_effect(df, ...)`` is ``estimate(match(df, ...), ...)``: the design
(:func:`models.comparison.sample.match`, which documents steps 1-9) and then,
for one outcome,

10. the outcome values of the sample rows, checked for the outcome type;
11. effects (:mod:`.effects`) with intervals clustered as
    :meth:`MatchedSample.clusters` says, the unadjusted comparison, the
    verdict and JDL statement (:mod:`.verdict`), and warnings.

A model that needs several outcomes on one comparison calls :func:`match`
once (naming every outcome in ``outcomes=`` so that rows missing any of them
are excluded before matching) and :func:`estimate` once per outcome.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from models.blas import one_blas_thread

from .adjustment import bias_correction as bias_correction_for
from .adjustment import propensity_correction
from .effects import compute_effects
from .errors import ComparisonError
from .results import ComparisonResults, effects_frame
from .sample import JDL_MINIMUM, METHODS, MatchedSample, binary01, match
from .verdict import jdl_statement, verdict, verdict_statement

OUTCOME_TYPES = ("binary", "count", "continuous", "time_to_event")
#: outcome types whose matched estimate is bias-corrected by default (docs/validation.md, issue 15)
BIAS_CORRECTED = ("count", "continuous")

__all__ = ["estimate", "estimate_effect", "match", "OUTCOME_TYPES", "METHODS", "JDL_MINIMUM"]


def _check_outcome_arguments(outcome_type, event, exposure):
    if outcome_type not in OUTCOME_TYPES:
        raise ComparisonError(f"outcome_type must be one of {OUTCOME_TYPES}, not {outcome_type!r}")
    if outcome_type == "time_to_event" and event is None:
        raise ComparisonError("time_to_event needs event=<0/1 column, 1 = event observed>")
    if event is not None and outcome_type != "time_to_event":
        raise ComparisonError("event= is only used with outcome_type='time_to_event'")
    if exposure is not None and outcome_type != "count":
        raise ComparisonError("exposure= is only used with outcome_type='count'")


def outcome_values(data: pd.DataFrame, outcome: str, outcome_type: str, event=None, exposure=None):
    """(y, event, exposure) arrays of ``data``, checked for the outcome type (ComparisonError if not)."""
    cols = [c for c in (outcome, event, exposure) if c]
    absent = [c for c in cols if c not in data.columns]
    if absent:
        raise ComparisonError(f"columns not in the data: {absent}")
    n_miss = {c: int(data[c].isna().sum()) for c in cols if data[c].isna().any()}
    if n_miss:
        raise ComparisonError(
            f"missing values in {n_miss} among the people matched; name the column in match(..., outcomes=[...]) "
            "so those rows are excluded before matching (outcome values are never imputed)"
        )
    y = data[outcome]
    if outcome_type == "binary":
        y = binary01(y, outcome, "outcome")
    else:
        if not pd.api.types.is_numeric_dtype(y.dtype) or pd.api.types.is_bool_dtype(y.dtype):
            raise ComparisonError(f"outcome column {outcome!r} must be numeric for a {outcome_type} outcome")
        y = y.to_numpy(dtype=float)
        if not np.all(np.isfinite(y)):
            raise ComparisonError(f"outcome column {outcome!r} holds infinite values")
        if outcome_type == "count" and np.any(y < 0):
            raise ComparisonError(f"count outcome {outcome!r} has negative values")
        if outcome_type == "time_to_event" and np.any(y <= 0):
            raise ComparisonError(f"duration column {outcome!r} must be > 0 (time from index to event or censoring)")
    ev = binary01(data[event], event, "event") if event else None
    ex = None
    if exposure:
        ex = pd.to_numeric(data[exposure], errors="coerce").to_numpy(dtype=float)
        if not np.all(np.isfinite(ex) & (ex > 0)):
            raise ComparisonError(f"exposure column {exposure!r} must be positive and finite")
    return y, ev, ex


def _bias_corrected(matched: MatchedSample, outcome_type: str) -> bool:
    """The default of ``bias_correction``: matching, for the outcome types in :data:`BIAS_CORRECTED`."""
    return matched.method == "match" and outcome_type in BIAS_CORRECTED


def _propensity_corrected(matched: MatchedSample, outcome_type: str) -> bool:
    """IPW without trimming, for any outcome but time to event: the variance allows for the fitted scores."""
    return (matched.method == "ipw" and outcome_type != "time_to_event"
            and matched.settings.get("trim_quantile") is None)


@one_blas_thread()
def estimate(
    matched: MatchedSample,
    outcome: str,
    outcome_type: str,
    *,
    event: str | None = None,
    exposure: str | None = None,
    outcome_label: str | None = None,
    bias_correction: bool | None = None,
    matched_columns=None,
    score_columns=None,
    unadjusted: bool = True,
) -> ComparisonResults:
    """Estimate the effect on one outcome in a matched or weighted sample from :func:`match`.

    Parameters are those of :func:`estimate_effect` that concern the outcome and the results kept, and
    ``unadjusted``: False leaves out the unadjusted comparison of every row analysed
    (``ComparisonResults.unadjusted_effects`` is then None) for a caller that reads none of it: on a
    risk-set design's millions of trial rows it is the estimate's largest part (a hazard ratio on every
    row, at 3M persons more memory than the matched sample's).
    Raises :class:`ComparisonError` if the outcome is missing for anyone
    analysed (name it in ``match(..., outcomes=[...])``) or breaks the rules
    of its type.
    """
    if not isinstance(matched, MatchedSample):
        raise ComparisonError("estimate() needs the MatchedSample returned by match()")
    _check_outcome_arguments(outcome_type, event, exposure)
    for role, col in (("outcome", outcome), ("event", event), ("exposure", exposure)):
        if col is not None and col in matched.covariates:
            raise ComparisonError(f"the {role} column {col!r} cannot also be a covariate")
    read = [c for c in dict.fromkeys((outcome, event, exposure)) if c and c in matched.df.columns]
    data = matched.df[read].iloc[matched.rows]  # only the outcome columns: the input can be wide
    y, ev, ex = outcome_values(data, outcome, outcome_type, event, exposure)
    t = matched.treated.astype(float)
    loc = matched.local
    warnings = list(matched.warnings)
    everyone = np.arange(len(t)) if matched.person is None else matched.person
    if bias_correction is None:
        bias_correction = _bias_corrected(matched, outcome_type)
    if bias_correction and (matched.method != "match" or outcome_type == "time_to_event"):
        raise ComparisonError("bias_correction applies to matching, for binary, count and continuous outcomes")
    propensity_corrected = _propensity_corrected(matched, outcome_type)

    if propensity_corrected:
        # everyone in the propensity model enters the variance (weight 0 outside the sample)
        w_all = np.zeros(len(t))
        w_all[loc] = matched.weight
        Z = np.column_stack([np.ones(len(t)), matched.design_matrix()])
        measures, tv, cv = compute_effects(
            outcome_type, y, t, w_all, [everyone], exposure=ex,
            adjust=propensity_correction(Z, matched.propensity.score, matched.treated),
        )
    else:
        adjust = bias_correction and bias_correction_for(matched.design_matrix(loc), outcome_type)
        measures, tv, cv = compute_effects(
            outcome_type, y[loc], t[loc], matched.weight, matched.clusters(),
            event=None if ev is None else ev[loc], exposure=None if ex is None else ex[loc],
            adjust=adjust or None,
        )
    head = measures[0]
    lo, hi = head.interval()
    for mm in measures:
        if not np.isfinite(mm.estimate):
            warnings.append(f"{mm.name} could not be estimated (no events, or all events, in a group)")
        elif not (np.isfinite(mm.se) and mm.se > 0):
            warnings.append(f"{mm.name}: no variation in the outcome, so no interval")
    un_measures = compute_effects(outcome_type, y, t, np.ones(len(t)), [everyone], event=ev, exposure=ex)[0] \
        if unadjusted else None
    verdict_text = verdict(lo, hi, head.null)
    settings = {**matched.settings, "event": event, "exposure": exposure, "bias_correction": bool(bias_correction),
                "propensity_corrected_se": propensity_corrected}
    return ComparisonResults(
        outcome_type=outcome_type, method=matched.method, treatment=matched.treatment, outcome=outcome,
        covariates=matched.covariates, measure=head.name, estimate=head.estimate, se=head.se, ci_low=lo,
        ci_high=hi, p_value=head.p_value, null_value=head.null, verdict=verdict_text,
        jdl_statement=jdl_statement(outcome_type, tv, cv, outcome_label, exposure=exposure is not None),
        verdict_statement=verdict_statement(verdict_text, head.name, head.estimate, lo, hi),
        effects=effects_frame(measures), unadjusted_effects=None if un_measures is None else effects_frame(un_measures),
        treated_value=float(tv), comparison_value=float(cv), **matched.counts(), balance=matched.balance,
        overlap=matched.overlap, missing_imputed=matched.missing_imputed, warnings=warnings,
        propensity_params=matched.propensity.params,
        matched_data=matched.matched_data if matched_columns is None else matched.matched_columns(matched_columns),
        propensity_scores=(matched.propensity_scores if score_columns is None
                           else matched.score_columns(score_columns)), settings=settings, _measures=measures,
        estimand=matched.estimand, share_participants_matched=matched.share_participants_matched, df=head.df,
    )


def estimate_effect(
    df: pd.DataFrame,
    treatment: str,
    outcome: str,
    covariates,
    outcome_type: str,
    *design_args,
    event: str | None = None,
    exposure: str | None = None,
    outcome_label: str | None = None,
    bias_correction: bool | None = None,
    matched_columns=None,
    score_columns=None,
    **design,
) -> ComparisonResults:
    """Estimate the effect of taking part on an outcome, against a comparison group.

    ``estimate(match(df, treatment, covariates, ..., outcomes=[outcome, event,
    exposure]), outcome, outcome_type, ...)``. The estimand is the average
    effect on the participants kept (``results.estimand``).

    Parameters
    ----------
    df : DataFrame
        One row per person, or per person and index event (then give ``cluster``).
    treatment : str
        0/1 (or boolean) column: 1 = participant.
    outcome : str
        Outcome column. For ``time_to_event`` the duration (time from index
        to event or censoring, > 0).
    covariates : list of str
        Columns for the propensity model: numeric, boolean or categorical
        (dummy-coded, first level dropped). Missing values follow the rule in
        :mod:`models.comparison.design` (never a silent drop).
    outcome_type : {"binary", "count", "continuous", "time_to_event"}
    *design_args, **design
        The design: :func:`~models.comparison.sample.match`'s parameters after
        ``covariates`` (``method``, ``caliper``, ``ratio``, ``replace``,
        ``exact``, ``seed`` in that order, then by name ``cluster``,
        ``categorical``, ``common_support``, ``order``, ``stabilize``,
        ``trim_quantile``, ``score_groups``, ``balance_groups``), passed on unchanged.
    event : str
        ``time_to_event`` only, required: 0/1 column, 1 = event observed,
        0 = censored.
    exposure : str, optional
        ``count`` only: exposure (e.g. person-years at risk, > 0); the count
        is then compared as a rate per unit of exposure.
    outcome_label : str, optional
        Words for the JDL statement, e.g. "were readmitted" (binary) or
        "reoffences" (count).
    bias_correction : bool, optional
        Matching only: correct the comparison mean for the imbalance left
        after matching (Abadie & Imbens 2011, :mod:`.adjustment`). Default
        (None): on for count and continuous outcomes (:data:`BIAS_CORRECTED`),
        off for binary ones, whose matched risk difference covered well
        without it (docs/validation.md) and whose group rates then stay the
        plain matched rates of the JDL sentence.
    matched_columns, score_columns : list of str, optional
        The only columns the results' ``matched_data`` (input or engine
        columns) and ``propensity_scores`` keep; default all. A model whose
        input has millions of rows keeps only what it reads afterwards.

    Returns
    -------
    ComparisonResults
    """
    if not isinstance(df, pd.DataFrame):
        raise ComparisonError("df must be a pandas DataFrame")
    _check_outcome_arguments(outcome_type, event, exposure)
    covs = covariates if not isinstance(covariates, str) else [covariates]
    for role, col in (("outcome", outcome), ("event", event), ("exposure", exposure)):
        if col is not None and covs is not None and col in list(covs):
            raise ComparisonError(f"the {role} column {col!r} cannot also be a covariate")
    matched = match(df, treatment, covariates, *design_args, outcomes=[c for c in (outcome, event, exposure) if c],
                    **design)
    corrected = _bias_corrected(matched, outcome_type) if bias_correction is None else bias_correction
    if not (corrected or _propensity_corrected(matched, outcome_type)):
        matched.pattern = None  # only a correction reads the people's design rows (a pattern for each of millions)
    return estimate(matched, outcome, outcome_type, event=event, exposure=exposure, outcome_label=outcome_label,
                    bias_correction=bias_correction, matched_columns=matched_columns, score_columns=score_columns)
