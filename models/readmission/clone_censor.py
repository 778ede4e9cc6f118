"""Readmission effect rows of the clone–censor–weight design (``design: clone_censor_weight``).

Target trial (docs/methods.md, "Target trials"): eligible = an index discharge with full
follow-up (not blocked by the other route on day 0); time zero = the discharge day; strategies
= start (time-bank activity before discharge counts as day 0; programme enrolment on day k)
within the grace period ``enrolment_days_after_discharge`` (14) vs. do not start within it;
outcome = an emergency readmission on days 0…``window_max_days`` (29); estimand = the risk
difference (and ratio) of the two strategies among all eligible discharges. The same discharges
are cloned into both arms, censored on deviation and weighted (:mod:`models.clone_censor_weight`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from models.clone_censor_weight import clone_censor_weight
from models.comparison import verdict
from models.time_zero import covariate_words

from .settings import ReadmissionSettings

ESTIMAND = "start within the grace period vs. not (all eligible discharges)"


def design_sentence(settings: ReadmissionSettings, covariates: list[str]) -> str:
    """One plain sentence: when follow-up starts and who the comparison is."""
    on = covariate_words(covariates)
    g = settings.enrolment_days_after_discharge
    return (f"Follow-up starts on the discharge day and runs to day {settings.window_max_days} for every discharge; "
            f"each discharge is cloned into 'start within {g} days' and 'do not start within {g} days', a clone is "
            f"censored on the day it leaves its strategy, and the censoring is undone by weights from a daily model of "
            f"starting on {on}.")


def ccw_row(units: pd.DataFrame, settings: ReadmissionSettings, comparison: str, outcome: str,
            covariates: list[str] | None = None, notes: list[str] = ()) -> dict:
    """The marts.readmission_effects row of one comparison (``units``: :func:`.effects.units`); a design the
    data cannot support (nobody started, or a clone at risk with an infinite weight) gives a ``not estimated``
    row with the reason in ``warnings``. ``covariates``: those of the weights' model (default the exact columns and
    the matching covariates: no matching here), ``notes`` (e.g. pooled levels) join the warnings."""
    covs = list(settings.compared_columns if covariates is None else covariates)
    common = {"comparison": comparison, "outcome": outcome, "method": "ipcw", "covariates": ", ".join(covs),
              "design": settings.design, "design_sentence": design_sentence(settings, covs), "estimand": ESTIMAND}
    try:
        res = clone_censor_weight(
            units, start="start", event="event", blocked="blocked", cluster="person_id", covariates=covs,
            grace=settings.enrolment_days_after_discharge, horizon=settings.window_max_days,
            stabilise=settings.ccw_stabilise, truncate=settings.ccw_truncate, bootstrap=settings.ccw_bootstrap,
            seed=settings.seed)
    except ValueError as err:
        return {**common, "status": "not estimated", "n_discharges": len(units), "verdict": "not estimated",
                "warnings": " | ".join([str(err), *notes])}
    odds = lambda r: r / (1 - r)  # noqa: E731
    warnings = [*notes, f"largest weight of a clone at risk {res.max_weight:.1f}"
                + (f" (weights capped at quantile {settings.ccw_truncate})" if settings.ccw_truncate else "")]
    if res.max_weight > 20:
        warnings.append("weights above 20: few discharges like these start (or do not), the estimate leans on them")
    if res.bootstrap_refused:
        warnings.append(f"{res.bootstrap_refused} of {res.bootstrap + res.bootstrap_refused} bootstrap replicates "
                        "left out (a clone at risk had an infinite weight): the interval rests on the others")
    return {
        **common, "status": "estimated",
        "n_discharges": res.n_units, "n_treated": res.n_started, "n_matched": res.n_started,
        # every discharge is cloned into both strategies: the "no start" arm holds all of them (censored on starting)
        "n_control_matched": res.n_units, "participant_rate": res.risk_start,
        "comparison_rate": res.risk_no_start, "risk_difference": res.risk_difference,
        "rd_ci_low": res.rd_ci_low, "rd_ci_high": res.rd_ci_high,
        "rd_p_value": res.rd_p_value,  # from the replicates that give the interval, so it agrees with the verdict
        "risk_ratio": res.risk_ratio, "rr_ci_low": res.rr_ci_low, "rr_ci_high": res.rr_ci_high,
        "odds_ratio": odds(res.risk_start) / odds(res.risk_no_start)
        if 0 < res.risk_no_start < 1 and res.risk_start < 1 else np.nan,
        "or_ci_low": np.nan, "or_ci_high": np.nan, "or_p_value": np.nan, "rr_p_value": np.nan,
        "max_abs_smd_after": np.nan, "n_balance_flags": None,  # no matching: no matched balance
        "verdict": verdict(res.rd_ci_low, res.rd_ci_high, 0.0), "jdl_statement": None,
        "warnings": " | ".join(warnings),
        "share_participants_matched": 1.0 if res.n_started else np.nan,
    }
