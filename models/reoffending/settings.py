"""Parameters of the reoffending measures, validated by pydantic; every default has a stated source.

The lead adds this class to the central config (``models.config.OutcomesConfig``) as the
section ``reoffending``; until then callers use
``getattr(config, "reoffending", ReoffendingSettings())``. An evaluator changes windows,
covariates and the matching here (in the YAML file), never in code::

    reoffending:
      follow_up_days: 365
      waiting_days: 183
      participation_window_days: 90
      covariates: [age, sex, imd_decile, event_type, proven_offences_to_index, earlier_index_events, employment]
      exclude_programmes: [peer_visiting_after_discharge]

Defaults and their sources (details in docs/outputs-reoffending.md):

* ``cohort_period`` = quarter: MoJ proven reoffending uses 3-month cohorts since the October
  2017 methodology change (reference/methods.md section 2). Each person's first qualifying
  event in the period is the index event.
* ``follow_up_days`` = 365: "an offence committed in a one-year follow-up period". The window
  is the days *after* the index date, day 1 to day 365 inclusive: an offence on day 365 counts,
  one on the index day itself (day 0, usually the index offence or committed before release)
  does not.
* ``waiting_days`` = 183: the MoJ's further 6-month waiting period for the offence to be proven
  (half of 365, rounded up). The offence must be proven (``proven_on``) by index + follow-up +
  waiting, inclusive.
* ``participation_window_days`` = 90: our choice (the issue's default); a programme enrolment or
  time-bank membership counts as participation when it starts on or before index + 90 days and
  has not ended before the index date.
* ``design`` = risk_set: a participant's follow-up starts on the day they started (the index
  date if they started before it), against people still at risk and not yet participating that
  day (Li, Propert & Rosenbaum 2001, JASA 96:870; docs/methods.md "Target trials"). The old
  definition (follow-up from day 1 for anyone starting by day 90) is ``exposure_window``, kept
  only to show its immortal-time bias (bench/validate_designs.py).
* ``index_events`` = all: every final index event is a trial unit (a person can be in several: intervals cluster on
  the person); a participant is analysed at the index event whose participation window holds their start. ``first``
  is the earlier rule (each person's earliest final index event), which left out participants referred at a later
  event and counted them as comparison people at their first (docs/methods.md "Target trials").
* ``covariates``: age at the index date, sex, IMD decile, index event type and criminal history
  (``proven_offences_to_index``: offences proven by the index date, counted from the offences
  file, :mod:`.cohort` rule 5), the demographics and criminal history the Justice Data Lab
  matches on (reference/methods.md section 2), and ``earlier_index_events``: the person's final
  index events before this one, banded 0, 1, 2, 3 or more (:func:`.cohort.analysis_cohort`;
  docs/methods.md, "Amendment: earlier index events as a covariate": under ``index_events: all``
  a participant is often analysed at a repeat event, and criminal history entered linearly left a
  lean towards no effect, docs/validation.md). Any column of ``staging.persons`` may be named;
  an undated one (a ``prior_convictions`` count at the extract date) would include the
  follow-up's convictions, the outcome.
* ``method`` = match, ``caliper`` = 0.2 SD of the logit score (Austin 2011), ``ratio`` = 1: the
  comparison engine's defaults (docs/comparison-engine.md). ``replace`` = **true**, unlike the
  engine's default: justice programmes recruit heavily where non-participants are scarce (prison
  projects among custody releases, youth-court juries among youth-court disposals), and matching
  without replacement then pairs the last participants with poorer matches. On the synthetic
  generator (60,000 people, 7 seeds, injected OR 0.75) the 1:1 risk difference without
  replacement was biased by -2.5 points (95% interval covered the truth in 5 of 7 seeds); with
  replacement by -0.1 points (7 of 7), intervals about a quarter wider (Stuart 2010, Stat Sci
  25:1, on replacement when comparable controls are few). Set ``replace: false`` for the
  engine's default.
* ``min_matched`` = 60: the Justice Data Lab's minimum cohort.
* ``cox_ties`` = efron: the usual default (R ``survival``, lifelines); Breslow is available.
* ``ph_time_transform`` = km: the Grambsch-Therneau test on scaled Schoenfeld residuals
  against 1 - KM(t), as R's ``cox.zph`` default transform and lifelines' "km".
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

EVENT_TYPES: tuple[str, ...] = ("custody_release", "community_sentence", "caution", "youth_court")

#: Columns the cohort derives itself; any other ``staging.persons`` column can be named too.
DERIVED_COVARIATES: tuple[str, ...] = ("age", "sex", "imd_decile", "area_code", "event_type", "events_in_period")


class ReoffendingSettings(BaseModel):
    """Windows, cohort, participation and matching of the proven-reoffending measures."""

    model_config = ConfigDict(extra="forbid")

    cohort_period: Literal["month", "quarter", "year"] = Field(
        "quarter", description="Cohort period; each person's first qualifying event in it is the index event (MoJ: quarter).")
    index_event_types: tuple[str, ...] = Field(
        EVENT_TYPES,
        description="Justice events that open a cohort; the order breaks ties between two events on the same day.")
    follow_up_days: int = Field(
        365, ge=1, le=3650, description="Follow-up: offences committed on day 1 to this day after the index date (365).")
    waiting_days: int = Field(
        183, ge=0, le=3650, description="Further days for the offence to be proven after the follow-up ends (183).")
    participation_window_days: int = Field(
        90, ge=0, le=3650,
        description="Participation starts on or before the index date plus this many days, and has not ended before it (90).")
    include_programmes: tuple[str, ...] | None = Field(
        None, description="programme_id values that count as participation; default: every programme.")
    exclude_programmes: tuple[str, ...] = Field(
        (), description="programme_id values that never count (e.g. peer_visiting_after_discharge).")
    include_timebanks: bool = Field(True, description="Person-linked time-bank membership counts as participation.")
    timebank_roles: tuple[str, ...] = Field(
        ("community", "service_user", "patient", "prisoner"),
        description="Member roles that count; staff, organisation and system accounts are not participants.")
    as_of: dt.date | None = Field(
        None, description="Date the data run to; cohorts final when follow-up + waiting ended by it. Default: ingest.as_of (today).")

    design: Literal["risk_set", "landmark", "exposure_window"] = Field(
        "risk_set",
        description="Time zero (docs/methods.md, target trials): risk_set = each participant's start day (0 if they "
                    "started by the index date), matched to people still at risk and not yet participating that day; "
                    "landmark = day landmark_day among people with no reoffence before it; exposure_window = the old "
                    "definition (a start up to participation_window_days counts, follow-up from day 1), biased by "
                    "immortal time and kept only to show it.")
    index_events: Literal["all", "first"] = Field(
        "all",
        description="Which final index events are analysed (docs/methods.md, target trials): all = every (person, index "
                    "event) of the final cohorts is a trial unit; a participant is analysed at the first event whose "
                    "participation window holds their start, their earlier events serve as comparison units and their "
                    "later ones are left out; first = the earlier rule, each person's earliest final index event only "
                    "(a participant referred at a later event then counts as a comparison person at the first one), "
                    "kept to show its bias (bench/validate_designs.py --later-events).")
    landmark_day: int | None = Field(
        None, ge=0, le=3650, description="Landmark design: day after the index date of time zero; default "
                                         "participation_window_days (90).")

    covariates: tuple[str, ...] = Field(
        ("age", "sex", "imd_decile", "event_type", "proven_offences_to_index", "earlier_index_events"),
        description="Matching and Cox covariates: age, sex, imd_decile, area_code, event_type, proven_offences_to_index "
                    "(offences proven by the index date, from the offences file), earlier_index_events (the person's "
                    "final index events before this one, banded 0, 1, 2, 3 or more; one value, so left out, under "
                    "index_events first), or any staging.persons column. "
                    "A persons column is read as supplied, undated: it must describe the person before the index event "
                    "(prior_convictions counted at the extract date would include the follow-up's convictions, the outcome).")
    history_years: float | None = Field(
        None, gt=0, le=100,
        description="Criminal history (proven_offences_to_index) counts offences proven in this many years before the "
                    "index date, the same look-back for everyone; null: every offence the offences file holds. Set it "
                    "when the file reaches back only a few years, so an early index event and a late one count the "
                    "same span (a warning says when the file is shorter).")
    categorical: tuple[str, ...] = Field((), description="Numeric covariates to treat as categories (e.g. imd_decile).")
    exact: tuple[str, ...] = Field((), description="Covariates to match exactly on (e.g. event_type).")
    method: Literal["match", "ipw"] = Field("match", description="Nearest-neighbour matching or ATT weighting.")
    caliper: float | None = Field(0.2, gt=0, description="Caliper in SDs of the logit propensity score; null: none.")
    ratio: int = Field(1, ge=1, le=10, description="Comparison people per participant (matching).")
    replace: bool = Field(True, description="Match with replacement; true because participants cluster where non-participants are few.")
    seed: int = Field(0, description="Seed of the matching's tie-breaking.")
    min_matched: int = Field(60, ge=1, description="Warn below this many matched participants (Justice Data Lab: 60).")
    workers: int = Field(
        2, ge=1, le=16,
        description="Programme labels compared at the same time, each in its own thread (numpy's sorts, sums and "
                    "searches release Python's lock). The figures do not depend on it; memory grows with it: at 1M "
                    "persons 4.4 GB with 2 against 3.0 GB with 1 (docs/benchmarks.md). 1 compares them one by one.")

    cox_ties: Literal["efron", "breslow"] = Field("efron", description="Tie handling of the Cox model.")
    ph_time_transform: Literal["km", "rank", "identity", "log"] = Field(
        "km", description="Time scale of the Schoenfeld-residual proportional-hazards test.")
    ph_alpha: float = Field(0.05, gt=0, lt=1, description="Flag a term whose PH test p-value is below this.")

    @field_validator("index_event_types")
    @classmethod
    def _known_types(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        bad = [t for t in v if t not in EVENT_TYPES]
        if bad or not v:
            raise ValueError(f"index_event_types must be a non-empty subset of {EVENT_TYPES}; unknown: {bad}")
        if len(set(v)) != len(v):
            raise ValueError("index_event_types lists a type twice")
        return v

    @field_validator("covariates")
    @classmethod
    def _covariates(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        if not v:
            raise ValueError("covariates: name at least one (e.g. age)")
        if len(set(v)) != len(v):
            raise ValueError(f"covariates lists a column twice: {list(v)}")
        reserved = {"person_id", "treated", "reoffended", "reoffences", "days_to_first_reoffence", "duration", "event",
                    "const"}
        clash = sorted(reserved & set(v))
        if clash:
            raise ValueError(f"covariates cannot be outcome or identifier columns: {clash}")
        return v

    @property
    def landmark(self) -> int:
        """Day of the landmark design's time zero (landmark_day, else the participation window)."""
        return self.participation_window_days if self.landmark_day is None else self.landmark_day

    @model_validator(mode="after")
    def _consistent(self) -> "ReoffendingSettings":
        for name in ("exact", "categorical"):
            extra = [c for c in getattr(self, name) if c not in self.covariates]
            if extra:
                raise ValueError(f"{name} names columns that are not in covariates: {extra}")
        if self.landmark_day is not None and self.landmark_day >= self.follow_up_days:
            raise ValueError("landmark_day must fall inside the follow-up (< follow_up_days)")
        window, follow = self.participation_window_days, self.follow_up_days
        if self.design == "risk_set" and window > follow:  # a trial on day k is followed for follow_up_days - k + 1 days
            raise ValueError(f"design risk_set: the last trial's time zero, participation_window_days ({window}), falls "
                             f"after the follow-up (follow_up_days {follow}), leaving nothing to follow; shorten the "
                             "participation window (landmark_day does not apply to risk_set)")
        if self.design == "landmark" and self.landmark_day is None and window >= follow:
            raise ValueError(f"design landmark: its time zero, participation_window_days ({window}), is not inside the "
                             f"follow-up (follow_up_days {follow}); shorten the participation window or set landmark_day "
                             "inside the follow-up")
        return self

    def describe(self) -> str:
        """One line for metadata and mart notes."""
        return (
            f"{self.cohort_period} cohorts; offences on day 1-{self.follow_up_days} after the index date, proven by day "
            f"{self.follow_up_days + self.waiting_days}; participation starting by day {self.participation_window_days}; "
            f"design {self.design}; index events {self.index_events}"
        )
