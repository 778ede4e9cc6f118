"""Parameters of the readmission and service-use measures, validated by pydantic.

Every default is documented with its source (details in docs/outputs-readmission.md):

* ``window_min_days`` / ``window_max_days`` = 0 / 29: NHS Digital "Emergency readmissions
  within 30 days of discharge" (Compendium I02040, NHS OF 3b, CCG OIS 3.2): emergency
  admissions 0-29 days inclusive after the last previous discharge
  (reference/methods.md section 1).
* Index (denominator) exclusions: discharges by death, day cases (elective, admitted and
  discharged the same day) and obstetric spells (specialty obstetrics or admission method
  maternity): the NHS denominator rules as commonly cited (methods.md section 1, [R]).
* Readmission (numerator) exclusions: readmitting spells in obstetrics or with a cancer
  diagnosis / chemotherapy: NHS I02040 numerator rules (methods.md section 1, [V]).
* ``activity_days_before_discharge`` = 90 and ``enrolment_days_after_discharge`` = 14: the
  project brief's definition of exposure (time-bank activity in the 90 days before
  discharge, or enrolment in a programme within 14 days after it).
* ``prior_admission_days`` = 365: "prior emergency admissions in 12 months", a standard
  case-mix covariate of readmission models (HRRP and NHS indirect standardisation).
* ``design`` = risk_set: each participant's follow-up starts on their own start day, against
  discharges still at risk and not yet enrolled that day (Li, Propert & Rosenbaum 2001, JASA
  96:870; docs/methods.md "Target trials"); ``landmark`` and the old, biased
  ``exposure_window`` are options (bench/validate_designs.py, docs/validation.md), and so is
  ``clone_censor_weight`` (Hernán et al. 2016, J Clin Epidemiol 79:70; Maringe et al. 2020, Int J
  Epidemiol 49:1719) with 200 bootstrap replicates, stabilised and untruncated weights.
* ``caliper`` = 0.2 SD of the logit score (Austin 2011), ``method`` = "match", 1:1 without
  replacement: the comparison engine's defaults (docs/comparison-engine.md).
* ``matching_covariates`` / ``matching_exact``: exactly on admission method, and on age, sex, IMD decile,
  prior emergency admissions, specialty, the ICD-10 chapter of the primary diagnosis, length-of-stay band and
  year of discharge. NHS Digital standardises the indicator by "age, sex, method of admission and
  diagnosis/procedure" (I02040 v3 technical description; methods.md section 1, [V]); the contract's
  primary diagnosis is optional, so the chapter (WHO ICD-10 chapters, :mod:`.diagnosis`) enters only when at
  least ``min_diagnosis_share`` (90%) of the discharges have one, and otherwise specialty stands for the
  diagnosis/procedure group (as in the funnel's risk model). Length of stay and calendar period are not NHS terms: they are added because
  programmes select on them (shorter stays, a partner trust's start date) and they predict
  readmission; the risk-set design fixes only the day after discharge. Rare levels pooled
  (``min_level_count`` = 5 discharges in either group; docs/validation.md "Case mix").
* Funnel plots: 95% and 99.8% limits, overdispersion by the additive random-effects
  (DerSimonian-Laird) tau-squared from 10%-winsorised z-scores, the option Spiegelhalter
  (2005) prefers and the Healthcare Commission adopted (methods.md section 4).
* Before/after: 12 months either side of joining, the before window ending 90 days before joining
  (``washout_days`` = 90: people often join after a crisis, a discharge or a referral, and their use
  in the months before joining is inflated whatever joining does, an Ashenfelter dip; Ashenfelter 1978;
  Heckman & Smith 1999; on the generator's crisis scenario the 90 days removed a spurious GP reduction of
  1.06 contacts per person-year and kept the no-effect and effect scenarios unbiased, docs/validation.md
  "Joining after a crisis"; a pre-trend check on the year before flags a dip); services gp, ae, mental_health,
  social_care (the contract's services other than "other"); matched on age, sex and IMD
  decile, not on the before-period admissions (regression to the mean: Daw & Hatfield 2018,
  Health Serv Res 53:4138); ``programme_exclusion`` = comparison_before_window: a programme enrolment
  leaves a comparison person out only when it starts before their before window, as peer visiting follows
  an admission and a rule at J selected the comparison on its before-window admissions (pre-registered
  comparison of four rules, 40 paired seeds: docs/validation.md, "The programme rule of the comparison pool").
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator


def readmitted_within(first_day: int, last_day: int) -> str:
    """The readmission window in words: 'within 30 days' for the NHS window (days 0-29 after discharge), 'within 14
    days' for 0-13, 'on days 2-29 after discharge' when it does not start on the discharge day."""
    if first_day == 0:
        return f"within {last_day + 1} days"
    return f"on days {first_day}-{last_day} after discharge"


class ReadmissionSettings(BaseModel):
    """All parameters of the readmission, funnel, before/after and service-use measures."""

    model_config = ConfigDict(extra="forbid")

    # ---------------------------------------------------------------- dates
    as_of: dt.date | None = Field(
        None, description="End of follow-up; default: the run's as-of date (ingest.as_of, else today).")
    data_end: dt.date | None = Field(
        None, description="Last day the hospital extract covers; default: the latest admitted_on/discharged_on in "
                          "staging.hospital_spells (for service contacts: the latest contact_on).")
    data_start: dt.date | None = Field(
        None, description="First day the extracts cover (before/after windows must lie inside); default: the "
                          "earliest admitted_on (hospital) or contact_on (service contacts).")

    # ------------------------------------------------------- continuous spells
    chain_transfers: bool = Field(
        True, description="A spell discharged to 'transfer' and followed by an admission of the same person on the "
                          "same day is one continuous spell with it (chains of any length).")
    transfer_max_gap_days: int = Field(
        0, ge=0, le=2, description="Days allowed between a transfer discharge and the next admission (0 = same day).")

    # ------------------------------------------------------- index discharges
    index_admission_methods: tuple[str, ...] = Field(
        ("emergency", "elective", "maternity", "other"),
        description="Admission methods (of the continuous spell's first spell) that can give an index discharge.")
    exclude_deaths: bool = Field(True, description="Leave out discharges where the person died.")
    exclude_day_cases: bool = Field(
        True, description="Leave out day cases: an elective continuous spell admitted and discharged the same day.")
    excluded_index_methods: tuple[str, ...] = Field(
        ("maternity",), description="Admission methods whose continuous spells are not index discharges (obstetric).")
    excluded_index_specialties: tuple[str, ...] = Field(
        ("obstetrics",), description="Specialties (any spell of the continuous spell) that are not index discharges.")
    exclude_cancer_index: bool = Field(
        False, description="Also leave out index spells with cancer coded (not an NHS denominator rule; off).")

    # ------------------------------------------------------------ readmissions
    window_min_days: int = Field(0, ge=0, description="First day after discharge a readmission can start (NHS: 0).")
    window_max_days: int = Field(29, ge=0, description="Last day after discharge a readmission can start (NHS: 29).")
    readmission_methods: tuple[str, ...] = Field(("emergency",), description="Admission methods that are readmissions.")
    readmission_excluded_specialties: tuple[str, ...] = Field(
        ("obstetrics",), description="A readmitting continuous spell with any spell in these specialties is not counted.")
    readmission_exclude_cancer: bool = Field(
        True, description="A readmitting continuous spell with cancer coded in any spell is not counted.")

    # ---------------------------------------------------------------- exposure
    activity_days_before_discharge: int = Field(
        90, ge=0, description="Exposed: a linked member gave or received time in [discharge - days, discharge].")
    enrolment_days_after_discharge: int = Field(
        14, ge=0, description="Exposed: a programme enrolment started in [discharge, discharge + days].")
    activity_kinds: tuple[str, ...] = Field(
        ("exchange", "group", "donation"),
        description="Exchange kinds that count as taking part (system credits are bookkeeping, not activity).")
    member_roles: tuple[str, ...] = Field(
        ("community", "service_user", "patient", "prisoner"),
        description="Member roles that count as taking part (staff, organisation and system accounts do not).")
    programme_ids: tuple[str, ...] | None = Field(
        None, description="Programmes whose enrolment counts as exposure; None = every programme.")
    prior_admission_days: int = Field(
        365, ge=1, description="Window before the index admission for 'prior emergency admissions' (12 months).")
    length_of_stay_bands: tuple[int, ...] = Field(
        (1, 3, 7, 21),
        description="First day of each length-of-stay band after the 0-day band, for length_of_stay_band: (1, 3, 7, 21) "
                    "gives 0, 1-2, 3-6, 7-20 and 21+ days (7+ and 21+ are NHS England's 'stranded' and "
                    "'super-stranded' long stays).")

    # ------------------------------------------------------------------ design
    design: Literal["risk_set", "landmark", "exposure_window", "clone_censor_weight"] = Field(
        "risk_set",
        description="Time zero of the comparison (docs/methods.md, target trials): risk_set = each participant's "
                    "own start day, matched to discharges still at risk and not yet enrolled that day (Li, Propert & "
                    "Rosenbaum 2001); landmark = day landmark_day, among discharges not readmitted before it; "
                    "exposure_window = the old definition (enrolment up to enrolment_days_after_discharge counts, "
                    "follow-up from day 0), biased by immortal time and kept only to show it; clone_censor_weight = "
                    "every discharge cloned at discharge into 'start within the grace period' and 'do not', censored "
                    "on deviation and weighted (models/clone_censor_weight.py; Maringe et al. 2020).")
    landmark_day: int | None = Field(
        None, ge=0, description="Landmark design: day after discharge of time zero; default the grace period "
                                "(enrolment_days_after_discharge, 14).")

    ccw_bootstrap: int = Field(
        200, ge=0, description="Clone-censor-weight: person-cluster bootstrap replicates of the 95% interval "
                               "(seeded by `seed`, deterministic).")
    ccw_stabilise: bool = Field(True, description="Clone-censor-weight: stabilise the weights by the model on day alone.")
    ccw_truncate: float | None = Field(
        None, gt=0.5, le=1, description="Clone-censor-weight: cap the weights at this quantile (e.g. 0.99); None = no cap.")

    # ---------------------------------------------------------------- matching
    method: Literal["match", "ipw"] = Field("match", description="Comparison engine method.")
    caliper: float | None = Field(0.2, gt=0, description="Caliper in SD of the logit score (Austin 2011); None = none.")
    ratio: int = Field(1, ge=1, description="Comparison discharges per participant discharge.")
    replace: bool = Field(False, description="Match with replacement.")
    exact: tuple[str, ...] = Field(
        (), description="Columns to match exactly on, in the readmission comparison (with matching_exact) and in "
                        "the before/after comparison.")
    matching_exact: tuple[str, ...] = Field(
        ("admission_method",),
        description="Columns of core.index_discharges the readmission comparison matches exactly on (besides the "
                    "trial day), before the covariates' score: admission method by default, a case-mix term of the NHS "
                    "indicator's standardisation (elective, emergency and other index admissions differ in risk). "
                    "() = none.")
    score_by_route: bool = Field(
        False,
        description="Risk-set design, matching: fit the 'any' comparison's propensity score separately on trial day 0 "
                    "(time-bank activity before discharge, and a programme start on the discharge day) and on days 1 "
                    "and later (programme starts), each with its own level support and caliper, and check balance "
                    "within each (the engine's score_groups; docs/validation.md, \"A propensity score per route\"). "
                    "The two routes select on the case mix in opposite ways; one score over every day carries one "
                    "route's selection into the other's matching. Off by default: it lowered the lean under no effect but "
                    "not with an effect, which its pre-registered rule required.")
    seed: int = Field(0, description="Seed of the comparison engine (tie-breaking, pseudo join dates).")
    workers: int = Field(
        2, ge=1, le=3,
        description="Comparisons (any, timebank, programme) run at the same time, each in its own thread (numpy's "
                    "sorts, sums and searches release Python's lock). The figures do not depend on it; memory grows "
                    "with it (docs/benchmarks.md). 1 runs them one by one.")
    matching_covariates: tuple[str, ...] = Field(
        ("age", "sex", "imd_decile", "prior_emergency_12m", "specialty", "diagnosis_chapter", "length_of_stay_band",
         "discharge_year"),
        description="Covariates of the propensity model for readmission (columns of core.index_discharges or "
                    "extra columns of staging.persons): the demographics and prior admissions, and the case mix "
                    "the NHS indicator standardises on (its diagnosis/procedure groups: specialty, and the ICD-10 "
                    "chapter of the primary diagnosis when the hospital spells give one for at least "
                    "min_diagnosis_share of the discharges; otherwise the chapter is left out with a warning and "
                    "specialty stands in), length of stay and the calendar year (the risk-set design holds "
                    "only the day after discharge fixed). Text covariates are categories, their rare levels pooled "
                    "(min_level_count). The old default was the first four (docs/validation.md, \"Case mix\").")
    min_diagnosis_share: float = Field(
        0.9, ge=0, le=1,
        description="Share of the discharges compared whose primary diagnosis has an ICD-10 chapter needed for "
                    "diagnosis_chapter to enter the comparison (the rest form a '(missing)' level); below it the "
                    "chapter is left out, with a warning, and the comparison is the one without diagnoses. HES "
                    "gives a primary diagnosis for nearly every spell.")
    min_level_count: int = Field(
        5, ge=0,
        description="A level of a text matching covariate held by fewer participant discharges, or fewer comparison "
                    "discharges, than this in a comparison is pooled into 'other (pooled)'; if that pool is itself "
                    "below it in either group, it joins the commonest level (0 = no pooling, the engine's own "
                    "handling: a level held by one group only loses its discharges). Keeps rare "
                    "specialties from separating the groups (the engine would drop their participants) and from "
                    "spending a term each on a few discharges.")

    # ------------------------------------------------------------------- funnel
    funnel_covariates: tuple[str, ...] = Field(
        ("age", "sex", "imd_decile", "prior_emergency_12m", "specialty"),
        description="Covariates of the logistic risk model that gives each discharge's expected readmission risk.")
    funnel_categorical: tuple[str, ...] = Field(
        ("sex", "specialty"), description="Funnel covariates treated as categories (others numeric).")
    funnel_min_level_count: int = Field(
        10, ge=1, description="Categories with fewer discharges are pooled into 'other' in the risk model.")
    funnel_overdispersion: Literal["additive", "multiplicative", "none"] = Field(
        "additive", description="Overdispersion adjustment (Spiegelhalter 2005): additive tau-squared "
                                "(DerSimonian-Laird, preferred) or multiplicative phi.")
    funnel_winsor: float = Field(0.10, ge=0, lt=0.5, description="Winsorising share in each tail of the z-scores.")
    funnel_min_units: int = Field(
        5, ge=2, description="Fewest units for an overdispersion estimate; fewer: no adjustment.")
    funnel_dispersion_test: float = Field(
        0.95, gt=0, lt=1, description="Adjust only when k*phi exceeds this quantile of chi-squared(k-1).")

    # ------------------------------------------------------------ before/after
    before_days: int = Field(365, ge=1, description="Days before joining in the 'before' window (12 months).")
    washout_days: int = Field(
        90, ge=0, description="Days just before joining left out of the 'before' window, which becomes [J - washout - "
                             "before_days, J - washout - 1]: people who join after a crisis have a transient rise in "
                             "use there that would read as a reduction (an Ashenfelter dip; docs/validation.md). 0 = "
                             "none; 90 (the default) covers a crisis of up to 3 months (it needs that much more data before J).")
    after_days: int = Field(365, ge=1, description="Days from joining in the 'after' window (12 months).")
    services: tuple[str, ...] = Field(
        ("gp", "ae", "mental_health", "social_care"), description="Services of service_contacts analysed.")
    before_after_covariates: tuple[str, ...] = Field(
        ("age", "sex", "imd_decile"),
        description="Covariates for matching joiners with non-members at the (pseudo) join date. Not "
                    "prior_emergency_12m by default: it is the before-period outcome, and matching on it makes the "
                    "difference-in-differences regress to the mean (Daw & Hatfield 2018); naming it adds a warning.")
    programme_exclusion: Literal["comparison_at_join", "comparison_before_window", "both_before_window", "none"] = Field(
        "comparison_before_window",
        description="Who a programme enrolment leaves out of the before/after comparison: comparison_before_window "
                    "(the default) = comparison persons with an enrolment starting before their before window (before "
                    "J - washout_days - before_days, J their pseudo join date); later enrolments, which can follow a "
                    "before-window admission, do not count; comparison_at_join = those with one starting on or before "
                    "J (the old default: peer visiting follows an admission, so this selects the comparison on its "
                    "before-window outcome, -0.015 admissions per person-year under no effect; docs/validation.md, "
                    "\"The programme rule of the comparison pool: results\"); both_before_window = "
                    "comparison_before_window for participants too, at their join date; none = no one.")

    @model_validator(mode="before")
    @classmethod
    def _renamed(cls, data):
        """``comparison_excludes_programmes`` (true/false) became ``programme_exclusion``: say what to write."""
        if isinstance(data, dict) and "comparison_excludes_programmes" in data:
            old = data["comparison_excludes_programmes"]
            same = {True: "comparison_at_join", False: "none"}.get(old) if isinstance(old, bool) else None
            raise ValueError("comparison_excludes_programmes was replaced by programme_exclusion: "
                             + (f"write programme_exclusion: {same} for the same rule" if same else
                                "write programme_exclusion: comparison_at_join for true, none for false")
                             + " (the choices: comparison_at_join, comparison_before_window, both_before_window, none; "
                               "docs/configuration.md)")
        return data

    @field_validator("matching_covariates", "funnel_covariates", "before_after_covariates", "matching_exact")
    @classmethod
    def _not_a_model_term(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        """The models name their own terms: statsmodels' intercept ``const``, the participation indicator ``treated``
        and the outcome ``readmitted``; a covariate of that name would clash with them mid-run."""
        clash = sorted({"const", "treated", "readmitted"} & set(v))
        if clash:
            raise ValueError(f"covariates cannot take the name of a model term: {clash}; rename the column")
        if len(set(v)) != len(v):
            raise ValueError(f"covariates list a column twice: {list(v)}")
        return v

    @field_validator("matching_covariates", "before_after_covariates")
    @classmethod
    def _some(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        if not v:
            raise ValueError("name at least one covariate to match on (e.g. age)")
        return v

    @field_validator("length_of_stay_bands")
    @classmethod
    def _bands(cls, v: tuple[int, ...]) -> tuple[int, ...]:
        if any(b < 1 for b in v) or any(b >= c for b, c in zip(v, v[1:])):
            raise ValueError(f"length_of_stay_bands must be increasing whole days of 1 or more (e.g. [1, 3, 7, 21]), "
                             f"not {list(v)}")
        return v

    @model_validator(mode="after")
    def _window(self) -> "ReadmissionSettings":
        if self.window_max_days < self.window_min_days:
            raise ValueError("readmission window: window_max_days must be >= window_min_days")
        if self.landmark_day is not None and self.landmark_day > self.window_max_days:
            raise ValueError("landmark_day must fall inside the readmission window (<= window_max_days)")
        if self.design == "landmark" and self.landmark_day is None and self.landmark > self.window_max_days:
            raise ValueError(f"design landmark: its default day, enrolment_days_after_discharge "
                             f"({self.enrolment_days_after_discharge}), falls after window_max_days "
                             f"({self.window_max_days}); set landmark_day inside the readmission window")
        if self.design != "landmark" and self.enrolment_days_after_discharge > self.window_max_days:
            # risk_set: a programme start on day k is a trial whose outcome runs from day k to window_max_days
            raise ValueError(f"design {self.design}: programme starts are counted to enrolment_days_after_discharge "
                             f"({self.enrolment_days_after_discharge}), after the readmission window ends "
                             f"(window_max_days {self.window_max_days}), where no readmission is counted; shorten "
                             "enrolment_days_after_discharge to the window")
        if self.score_by_route and (self.design != "risk_set" or self.method != "match"):
            raise ValueError(f"score_by_route fits a score per trial-day group of the risk_set design's matching; "
                             f"design {self.design} with method {self.method} has "
                             + ("no such groups" if self.design != "risk_set" else "one weighting model")
                             + ": set score_by_route: false")
        return self

    @property
    def readmission_exact(self) -> tuple[str, ...]:
        """The readmission comparison's exact columns: ``matching_exact``, then ``exact`` (each once)."""
        return tuple(dict.fromkeys([*self.matching_exact, *self.exact]))

    @property
    def compared_columns(self) -> tuple[str, ...]:
        """Every column the readmission comparison holds equal or balances: the exact columns, then the matching
        covariates (each once)."""
        return tuple(dict.fromkeys([*self.readmission_exact, *self.matching_covariates]))

    @property
    def landmark(self) -> int:
        """Day of the landmark design's time zero (landmark_day, else the grace period)."""
        return self.enrolment_days_after_discharge if self.landmark_day is None else self.landmark_day

    @property
    def readmitted_within(self) -> str:
        """This window in words (:func:`readmitted_within`)."""
        return readmitted_within(self.window_min_days, self.window_max_days)

    @property
    def follow_up_days(self) -> int:
        """Days of follow-up a discharge needs: the window's last day (29 for the NHS 0-29 window)."""
        return self.window_max_days
