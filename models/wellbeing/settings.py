"""Parameters of the well-being change model, validated by pydantic; every default has a stated source.

The lead adds this as section ``wellbeing`` of the central config (``models/config.py``);
until then assets use ``getattr(settings.config(), "wellbeing", WellbeingSettings())``.

Defaults and their sources (details in docs/outputs-wellbeing.md, "Settings"):

* ``baseline_rule`` = "first": Outcomes Star distance travelled is "latest minus first
  reading, per area" (Triangle; reference/methods.md section 3). "lower_of_first_two" takes the
  worse of the first two readings (for lower-is-better items, the higher one), for services
  whose first reading is known to be over-optimistic.
* ``reliability`` / ``sem``: from data/reference/scale_details.yaml: WEMWBS alpha 0.89 (Tennant
  et al. 2007), SWEMWBS SEM 1.03 metric points (Shah et al. 2018). No default for the
  Outcomes Stars or ONS4 (no figure we could verify): their RCI columns stay empty until set.
* ``rci_z`` = 1.96: Jacobson & Truax (1991), |RCI| > 1.96.
* ``min_paired_n`` = 30: Warwick's WEMWBS guidance, "at least 30 people with paired data per
  group".
* ``period`` = "year": our choice (Star readings come every 3-6 months, so a year holds a
  baseline and usually a review).
* ``covariates`` = age, sex, imd_decile: the demographics every source has (docs/data-contract.md).
* ``hours_window_months`` = None: hours given/received are cumulative up to each reading
  (distance travelled accumulates); a number counts only the last N months before it.
* ``hours_unit`` = 10: coefficients are per 10 hours, the unit the brief and truth.json use.
* ``exchange_kinds`` = exchange, group: the kinds that are time given (donations and
  system credits are transfers of credit, not time; as in models/reciprocity).
* ``member_roles``: the people roles of docs/data-contract.md (staff, organisations and the
  system account are not participants).
* ``comparison_method`` = "match", ``caliper`` = 0.2 SD of the logit (Austin 2011), the
  comparison engine's defaults.
* ``design`` = "prior_reading": the target trial of docs/methods.md ("Well-being"): time zero is
  the day a person starts taking part (joins a time bank in ``member_roles`` or starts a
  programme), the baseline is their last reading on or before it; comparison people are those
  read in the lookback before the first day of a month who had not started by then (sequential
  trials, one per month; Hernan & Robins 2016; Li, Propert & Rosenbaum 2001), matched within the
  calendar year, exactly on whether there is a reading in the lookback before the baseline (the
  referral before an intake), and on the change from that reading to the baseline: a fall
  between referral and intake is what stops a referral becoming a start, so it must be
  balanced (docs/validation.md, "Well-being design": the default with the lowest bias).
  "new_joiners" is the same trial without that reading (matched within the trial month); it is
  biased when a fall before time zero decides who starts, and is kept for the benchmark.
  "joined_by_last_reading" is the earlier definition (anyone who joined by their last reading is
  a participant, baseline = first reading): it lets participation after the baseline decide who
  is compared (immortal-time bias) and is kept only to show that bias in bench/validate_wellbeing.py.
* ``baseline_lookback_days`` = 91: a baseline reading counts if it is at most 91 days
  before time zero (Star readings come every 3-6 months, reference/methods.md section 3).
* ``follow_up_days`` = 183, ``follow_up_tolerance_days`` = 91: the outcome is the reading
  nearest 183 days (6 months) after the baseline, within +/- 91 days, and after time zero; the
  same rule for participants and comparison people, so follow-up is aligned.
* ``trajectory_se`` = "person_cluster": standard errors of the trajectory models robust to
  any correlation of one person's readings (CR1 sandwich on the person; Liang & Zeger 1986),
  because readings of one occasion share their hours across up to 10 areas and the areas
  have their own person-level levels; "model" is the REML model-based SE.
* ``min_model_people`` = 20: ours; below it a mixed model is not attempted (the variance of
  the person intercept is not estimable with a handful of people).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from models.wellbeing.scales import default_reliability, default_sem

#: designs whose per-area and reliable-change rows are estimated on their instrument's matched sample (the
#: ``mean_of_areas`` comparison's ``match()``), so they have no balance or overlap of their own
SHARED_MATCH_DESIGNS = ("prior_reading", "new_joiners")


def _check_keys(values: dict[str, float], what: str) -> dict[str, float]:
    for key in values:
        if not key or key.count(".") > 1:
            raise ValueError(f"{what}: keys are '<version>' or '<version>.<area>', got {key!r}")
    return values


class WellbeingSettings(BaseModel):
    """All parameters of the well-being change, reliable change, trajectory and comparison analyses."""

    model_config = ConfigDict(extra="forbid")

    baseline_rule: Literal["first", "lower_of_first_two"] = Field(
        "first", description="Baseline reading: the first, or the worse of the first two (Triangle's distance travelled uses the first)."
    )
    reliability: dict[str, float] = Field(
        default_factory=default_reliability,
        description="Reliability r for the RCI by '<version>' or '<version>.<area>' (default: WEMWBS 0.89, Tennant et al. 2007).",
    )
    sem: dict[str, float] = Field(
        default_factory=default_sem,
        description="Published standard error of measurement, used instead of SD1*sqrt(1-r) (default: SWEMWBS 1.03, Shah et al. 2018).",
    )
    rci_sd: dict[str, float] = Field(
        default_factory=dict,
        description="SD1 for the RCI (e.g. a published norm SD); default: the SD of the baseline readings in the data.",
    )
    rci_z: float = Field(1.96, gt=0, description="|RCI| above this is reliable change (Jacobson & Truax 1991: 1.96).")
    min_paired_n: int = Field(30, ge=1, description="Fewer people with paired readings than this are flagged (Warwick: 30).")
    period: Literal["month", "quarter", "year"] = Field("year", description="Period of the baseline reading in the change table.")
    covariates: tuple[str, ...] = Field(
        ("age", "sex", "imd_decile"),
        description="Covariates: 'age' (years at the baseline reading) or any staging.persons column.",
    )
    hours_window_months: int | None = Field(
        None, ge=1, le=240, description="Hours counted in the N months up to each reading; None: all hours up to it."
    )
    hours_unit: float = Field(10.0, gt=0, description="Hours per unit of the giving/receiving coefficients (10).")
    exchange_kinds: tuple[str, ...] = Field(("exchange", "group"), description="Exchange kinds that count as time given/received.")
    member_roles: tuple[str, ...] = Field(
        ("community", "service_user", "patient", "prisoner"),
        description="Member roles that make a person a participant and whose hours count.",
    )
    comparison_method: Literal["match", "ipw"] = Field("match", description="Comparison engine method.")
    caliper: float | None = Field(0.2, gt=0, description="Matching caliper, SDs of the logit propensity score (Austin 2011).")
    seed: int = Field(0, description="Seed for the comparison engine's tie-breaking.")
    workers: int = Field(
        2, ge=1, le=3,
        description="Comparisons (each instrument's and the pooled one) run at the same time, each in its own thread "
                    "(numpy's fits, sorts and searches release Python's lock). The figures do not depend on it "
                    "(docs/benchmarks.md); 1 runs them one by one.")
    design: Literal["prior_reading", "new_joiners", "joined_by_last_reading"] = Field(
        "prior_reading", description="Comparison design: the target trial with time zero at joining, matched also on the "
                                     "change from the reading before the baseline (default); the same without it "
                                     "(new_joiners); or the earlier, biased definition (participant = joined by the last "
                                     "reading). The last two for benchmarks only.")
    baseline_lookback_days: int = Field(91, ge=0, le=730, description="Baseline: the last reading at most this many days "
                                                                       "before time zero (91).")
    follow_up_days: int = Field(183, ge=1, le=1826, description="Outcome: the reading nearest this many days after the "
                                                                 "baseline (183) ...")
    follow_up_tolerance_days: int = Field(61, ge=0, le=730, description="... within this many days either side (61).")
    trajectory_se: Literal["person_cluster", "model"] = Field(
        "person_cluster", description="Trajectory-model SEs: clustered on the person (default) or REML model-based.")
    min_model_people: int = Field(20, ge=3, description="Fewest people for a mixed model to be fitted (ours).")

    @field_validator("covariates")
    @classmethod
    def _not_a_model_term(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        """The comparison names its own terms: statsmodels' intercept ``const``, the indicator ``participant`` and
        the outcome ``improvement``; a covariate of that name would clash with them mid-run."""
        clash = sorted({"const", "participant", "improvement"} & set(v))
        if clash:
            raise ValueError(f"covariates cannot take the name of a model term: {clash}; rename the column")
        return v

    @field_validator("reliability")
    @classmethod
    def _reliability(cls, v: dict[str, float]) -> dict[str, float]:
        for key, r in _check_keys(v, "reliability").items():
            if not 0 <= r < 1:
                raise ValueError(f"reliability.{key}: must be in [0, 1), got {r}")
        return v

    @field_validator("sem", "rci_sd")
    @classmethod
    def _positive(cls, v: dict[str, float], info) -> dict[str, float]:
        for key, x in _check_keys(v, info.field_name).items():
            if not x > 0:
                raise ValueError(f"{info.field_name}.{key}: must be positive, got {x}")
        return v

    def lookup(self, field: str, version: str, area: str) -> float | None:
        """``<version>.<area>`` if set, else ``<version>``, else None."""
        values = getattr(self, field)
        return values.get(f"{version}.{area}", values.get(version))
