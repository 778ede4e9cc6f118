"""Participants' discharges against matched comparison discharges, through the comparison engine.

The unit is the index discharge with full follow-up (as in the NHS indicator). Treatment:
``exposed`` (any route), and separately ``exposed_timebank`` and ``exposed_programme``,
each against the unexposed discharges (discharges exposed only by the other route are left
out of that comparison). The outcome is ``readmitted`` (binary); the engine returns the
risk difference (headline), risk ratio and odds ratio with cluster-robust 95% intervals
(matched sets), the verdict and the Justice Data Lab sentence. A person can contribute
several discharges; the engine's intervals treat matched sets, not persons, as independent,
so when persons repeat a warning says so.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from models.comparison import ComparisonError, estimate_effect

from .settings import ReadmissionSettings
from .tables import READMISSION_EFFECTS, empty_frame

OUTCOME = "readmitted_within_30_days"
COMPARISONS = {
    "any": ("exposed", None),
    "timebank": ("exposed_timebank", "exposed_programme"),
    "programme": ("exposed_programme", "exposed_timebank"),
}
_MEASURES = {"risk_difference": "rd", "odds_ratio": "or", "risk_ratio": "rr"}


def run_comparison(df: pd.DataFrame, settings: ReadmissionSettings, treatment: str, covariates=None, **kw):
    """estimate_effect with the readmission settings (for notebooks; raises ComparisonError)."""
    covs = list(covariates or settings.matching_covariates)
    return estimate_effect(
        df, treatment, "readmitted", covs, "binary", method=settings.method, caliper=settings.caliper,
        ratio=settings.ratio, replace=settings.replace, exact=list(settings.exact) or None, seed=settings.seed,
        outcome_label="were readmitted within 30 days", **kw,
    )


def _row_from(res, comparison: str, n: int, covs: list[str], extra_warnings: list[str]) -> dict:
    row = {
        "comparison": comparison, "outcome": OUTCOME, "method": res.method, "status": "estimated",
        "n_discharges": n, "n_treated": res.n_treated, "n_matched": res.n_matched,
        "n_control_matched": res.n_control_matched, "participant_rate": res.treated_value,
        "comparison_rate": res.comparison_value, "verdict": res.verdict, "jdl_statement": res.jdl_statement,
        "max_abs_smd_after": float(np.nanmax(np.abs(res.balance["smd_after"]))) if len(res.balance) else np.nan,
        "n_balance_flags": int(res.balance["flag"].sum()) if len(res.balance) else 0,
        "covariates": ", ".join(covs), "warnings": " | ".join([*res.warnings, *extra_warnings]),
    }
    for measure, short in _MEASURES.items():
        if measure in res.effects.index:
            e = res.effects.loc[measure]
            row[measure] = e["estimate"]
            row[f"{short}_ci_low"], row[f"{short}_ci_high"], row[f"{short}_p_value"] = e["ci_low"], e["ci_high"], e["p_value"]
    return row


def readmission_effects(discharges: pd.DataFrame, settings: ReadmissionSettings) -> tuple[pd.DataFrame, dict]:
    """One row per comparison (any / timebank / programme); results objects for metadata.

    ``discharges``: full-follow-up rows of core.index_discharges (plus person covariates).
    No discharges: an empty table. Too few to compare: a row with status ``not estimated``
    and the reason in ``warnings``.
    """
    if discharges.empty:
        return empty_frame(READMISSION_EFFECTS), {}
    rows, results = [], {}
    covs = list(settings.matching_covariates)
    for comparison, (treat, other) in COMPARISONS.items():
        df = discharges if other is None else discharges[~(discharges[other].astype(bool) & ~discharges[treat].astype(bool))]
        df = df.assign(**{treat: df[treat].astype(int), "readmitted": df["readmitted"].astype(int)}).reset_index(drop=True)
        n_t = int(df[treat].sum())
        extra = []
        if df["person_id"].duplicated().any():
            extra.append("some persons contribute several discharges; intervals treat matched sets as independent")
        try:
            res = run_comparison(df, settings, treat)
        except ComparisonError as err:
            if n_t == 0:
                continue  # no participants by this route: nothing to report
            rows.append({
                "comparison": comparison, "outcome": OUTCOME, "method": settings.method, "status": "not estimated",
                "n_discharges": len(df), "n_treated": n_t, "n_matched": 0, "n_control_matched": 0,
                "participant_rate": float(df.loc[df[treat] == 1, "readmitted"].mean()),
                "comparison_rate": np.nan, "verdict": "not estimated", "jdl_statement": None,
                "covariates": ", ".join(covs), "warnings": str(err),
            })
            continue
        results[comparison] = res
        rows.append(_row_from(res, comparison, len(df), covs, extra))
    if not rows:
        return empty_frame(READMISSION_EFFECTS), results
    return pd.DataFrame(rows), results
