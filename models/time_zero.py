"""Time zero for participation that starts after the index event: sequential trials and landmarks.

Pure pandas, shared by the readmission and reoffending models. The input has one row per
*unit* (an index discharge, a person's index event) with, in days after the index event:

* ``start``: the day the unit's participation starts (0 = known at the index event, e.g.
  time-bank activity before discharge); missing = did not start within the grace period;
* ``event``: the day of the first outcome event (readmission, first proven reoffence);
  missing = none in follow-up;
* ``blocked`` (optional): the day exposure by another route begins (another programme);
  from that day the unit is no longer a comparison unit, and it is a participant only if
  its own start is not later than that day; missing = never.

A unit is **at risk on day k** when it had no event before day k (``event >= k`` or none):
an event on day k itself is counted as outcome, for participants and comparison alike.

Designs (docs/methods.md, "Target trials"):

* :func:`sequential_trials`, risk-set matching (Li, Propert & Rosenbaum 2001, *JASA* 96:870):
  one trial per day k on which some at-risk unit starts. Its participants are the units
  starting on day k; its comparison units are those at risk on day k that have not started
  by day k (they may start later, and so may serve in several trials: cluster on the person).
  Follow-up starts on day k for both.
* :func:`landmark`: one trial at day L (the end of the grace period) among units at risk
  then; participants started on or before day L.
* :func:`exposure_window`: the old definition, participants = started within the grace
  period, follow-up from day 0. It conditions on the future (a unit must survive event-free
  until it starts), so it is biased towards benefit; kept only to show that bias.

Each returns the unit rows (copied, with ``trial_day`` and ``treated``) in a deterministic
order; the caller counts the outcome from ``trial_day`` and matches exactly on it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

DESIGNS = ("risk_set", "landmark", "exposure_window")

#: the route column of a risk-set design's rows (:func:`routes`) and its two values
ROUTE = "route"
ROUTES = ("day 0", "days 1+")


def routes(trial_day: np.ndarray) -> pd.Categorical:
    """Each trial row's route into its trial: ``day 0`` (participation known at the index event, the trial of day 0)
    or ``days 1+`` (a start after it). The two routes select different people (a day-0 participant was active before
    the index event; a later starter survived event-free until they started), so a balance table pooled over the
    trials can hide imbalance within each; the comparisons check balance within each route too (the engine's
    ``balance_groups``; docs/validation.md, "A propensity score per route")."""
    return pd.Categorical.from_codes((np.asarray(trial_day) > 0).astype(np.int8), ROUTES)


def _days(frame: pd.DataFrame, column: str | None) -> np.ndarray:
    if column is None:
        return np.full(len(frame), np.nan)
    return pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype=float)


def at_risk(event: np.ndarray, day) -> np.ndarray:
    """No event before ``day`` (an event on the day itself counts as outcome, not exclusion)."""
    return np.isnan(event) | (event >= day)


def sequential_trials(units: pd.DataFrame, start: str, event: str, blocked: str | None = None) -> pd.DataFrame:
    """Rows of every sequential trial (module docstring): participants start on ``trial_day``.

    Trials in day order, units in input order within a trial; the rows are taken from
    ``units`` in one step (one copy, however many trials)."""
    s, e, b = _days(units, start), _days(units, event), _days(units, blocked)
    starters = ~np.isnan(s) & at_risk(e, s) & (np.isnan(b) | (b >= np.nan_to_num(s, nan=np.inf)))
    days = np.unique(s[starters])
    positions, treated = [], []
    for k in days:
        joins = starters & (s == k)
        comparison = (np.isnan(s) | (s > k)) & at_risk(e, k) & (np.isnan(b) | (b > k))
        keep = np.flatnonzero(joins | comparison)
        positions.append(keep)
        treated.append(joins[keep])
    if not positions:
        return units.iloc[0:0].assign(trial_day=pd.Series(dtype=int), treated=pd.Series(dtype=int))
    sizes = [len(p) for p in positions]
    rows = units.take(np.concatenate(positions))  # the one copy: its index and new columns are set in place
    rows.index = pd.RangeIndex(len(rows))
    rows["trial_day"] = np.repeat(days.astype(np.int64), sizes)
    rows["treated"] = np.concatenate(treated).astype(np.int64)
    return rows


def landmark(units: pd.DataFrame, start: str, event: str, day: int, blocked: str | None = None) -> pd.DataFrame:
    """Units at risk on ``day``; participants started on or before it."""
    s, e, b = _days(units, start), _days(units, event), _days(units, blocked)
    started = ~np.isnan(s) & (s <= day)
    keep = at_risk(e, day) & (np.isnan(b) | (b > day) | (started & (b >= np.nan_to_num(s, nan=np.inf))))
    out = units.loc[keep].copy()
    out["trial_day"] = int(day)
    out["treated"] = started[keep].astype(int)
    return out.reset_index(drop=True)


def exposure_window(units: pd.DataFrame, start: str, event: str, blocked: str | None = None) -> pd.DataFrame:
    """The old definition (biased): participants started within the grace period, follow-up from day 0."""
    s, b = _days(units, start), _days(units, blocked)
    keep = np.isnan(b) | ~np.isnan(s)  # units exposed only by the blocked route are left out, as before
    out = units.loc[keep].copy()
    out["trial_day"] = 0
    out["treated"] = (~np.isnan(s[keep])).astype(int)
    return out.reset_index(drop=True)


def trial_frame(units: pd.DataFrame, design: str, start: str, event: str, *, landmark_day: int,
                blocked: str | None = None) -> pd.DataFrame:
    """The rows of ``design`` (one of :data:`DESIGNS`)."""
    if design == "risk_set":
        return sequential_trials(units, start, event, blocked)
    if design == "landmark":
        return landmark(units, start, event, landmark_day, blocked)
    if design == "exposure_window":
        return exposure_window(units, start, event, blocked)
    raise ValueError(f"design must be one of {DESIGNS}, not {design!r}")


@dataclass(frozen=True)
class DesignWords:
    """The domain's words for :func:`design_sentence` (readmission: discharges; reoffending: people)."""

    started: str  # risk_set: who started, and how day 0 is counted
    end_note: str  # after "runs to day <end>"
    pool: str  # risk_set: who a participant is compared with
    index: str  # landmark: "<L> days after <index>"
    units: str  # landmark: the units at risk, and how they stay at risk
    started_by: str  # landmark: the participants (started by the landmark day)
    first_day: str  # exposure_window: when follow-up starts


#: Covariates in a design sentence's words, where the name with spaces is not them ("imd decile", "prior emergency 12m",
#: the well-being comparison's "pre change").
COVARIATE_WORDS = {"imd_decile": "IMD decile", "prior_emergency_12m": "prior emergency admissions",
                   "baseline": "baseline score", "months_from_first_reading": "time since their first reading",
                   "months_between": "months between readings", "star_version": "instrument",
                   "pre_change": "the change from the reading before the baseline",
                   "proven_offences_to_index": "proven offences to the index date",
                   "length_of_stay_band": "length of stay (band)", "discharge_year": "year of discharge",
                   "diagnosis_chapter": "diagnosis (ICD-10 chapter)",
                   "earlier_index_events": "earlier index events (0, 1, 2, 3 or more)"}


def covariate_words(covariates: list[str]) -> str:
    """The covariates as a design sentence lists them: 'age, sex, IMD decile'."""
    return ", ".join(COVARIATE_WORDS.get(c, c.replace("_", " ")) for c in covariates)


def design_sentence(design: str, words: DesignWords, *, on: str, end: int, landmark_day: int, grace_days: int,
                    how: str = "matched on") -> str:
    """One plain sentence for a design: when follow-up starts and who the comparison people are (``how``: the words
    before the covariates, e.g. "in a Cox model adjusted, not matched, for")."""
    if design == "risk_set":
        return (f"Follow-up starts on the day each participant started ({words.started}) and runs to day {end}"
                f"{words.end_note}; each is compared with {words.pool}, {how} {on}.")
    if design == "landmark":
        return (f"Follow-up starts {landmark_day} days after {words.index} and runs to day {end}, among {words.units} "
                f"then; participants ({words.started_by}) are compared with non-participants {how} {on}.")
    return (f"Follow-up starts {words.first_day} although participation can start up to {grace_days} days later "
            f"(the old definition, biased towards benefit by immortal time); participants are compared with "
            f"non-participants {how} {on}.")
