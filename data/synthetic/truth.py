"""The known answers: injected effects, outcome models, definitions, and ``truth.json``.

Every number a downstream test may check against lives here, in one place: the effect
sizes (overridable from the CLI), the conditional outcome models the effects act in, the
exact definitions of "participant" and of each outcome the simulation used, and the
realised figures of one run (rates, counts, and the participants' expected risk
differences from both simulated potential outcomes).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np


@dataclass(frozen=True)
class Effects:
    """Injected causal effects (defaults match the project brief)."""

    or_readmit: float = 0.7  # odds ratio, 30-day emergency readmission, participants' discharges
    or_reoffend: float = 0.75  # odds ratio, proven reoffending within 365 days
    star_per_10h_given: float = 0.3  # Star points per 10 hours given, on a 1-10 scale
    star_per_10h_received: float = 0.1  # Star points per 10 hours received, on a 1-10 scale
    contacts_rr: float = 0.85  # rate ratio on GP and A&E contacts per person-year after joining


@dataclass(frozen=True)
class Crisis:
    """Opt-in scenario "crisis before joining" (an Ashenfelter dip; Ashenfelter 1978, Rev Econ Stat 60:47; Heckman &
    Smith 1999, Econ J 109:313): a share of joiners join just after a transient rise in their service use.

    Of the persons who ever join a time bank (first ``joined_on``, any bank), each is, with probability ``share``,
    in crisis over the ``days`` days before joining, [J - days, J - 1] (within the data window and their life): every
    service but ``other`` is used at ``rate_ratio`` x their usual rate then, and at the usual rate before and
    after; with ``admissions_rr`` > 1 they also have extra emergency admissions then, at (admissions_rr - 1) x their
    usual rate of a non-maternity emergency admission (hospital.CrisisAdmissions; stays like any other: a length of
    stay, readmissions, a higher prior_emergency_12m afterwards). Joining itself changes nothing through this: the crisis comes before J in both potential outcomes, so
    the effect of joining is ``Effects.contacts_rr``'s alone. Off by default (share 0): the data of every seed are
    then those of the generator without the scenario, byte for byte, and truth.json does not mention it."""

    share: float = 0.0  # share of joiners in crisis before joining
    days: int = 90  # length of the crisis, ending the day before joining
    rate_ratio: float = 3.0  # service-use rate in crisis / usual rate (every service but "other")
    admissions_rr: float = 1.0  # emergency-admission rate in crisis / usual rate (1: admissions untouched)

    @property
    def on(self) -> bool:
        return self.share > 0 and self.days > 0 and (self.rate_ratio != 1 or self.admissions_rr != 1)

    @property
    def admissions(self) -> bool:
        """The crisis also raises emergency admissions (hospital.CrisisAdmissions)."""
        return self.on and self.admissions_rr != 1


@dataclass(frozen=True)
class LaterEvents:
    """Opt-in scenario "referred at a later index event": justice programmes recruit people at a later index event
    rather than their first, and reoffending risk rises with each earlier index event.

    At an index event of order k (0 = the person's first in the window), every justice programme's choice (prison
    time bank, prison projects, peer jury, community time bank) gets ``uptake_first`` added to its log-odds when k = 0
    and ``uptake_later`` when k >= 1; the reoffending model's linear predictor gets ``risk_per_event`` x min(k, 3) in
    both potential outcomes (the participation odds ratio is unchanged). An analysis of each person's first index
    event only then leaves most participants out, and counts them as comparison people at their first event.
    Off by default (all 0): the data of every seed are then those of the generator without the scenario, byte for
    byte, and truth.json does not mention it."""

    uptake_first: float = 0.0  # log-odds added to each justice programme's choice at a person's first index event
    uptake_later: float = 0.0  # ... at their later index events
    risk_per_event: float = 0.0  # log-odds of reoffending added per earlier index event (at most 3)

    @property
    def on(self) -> bool:
        return any(v != 0 for v in (self.uptake_first, self.uptake_later, self.risk_per_event))


#: ``--later-events`` (data.generate, bench.validate_designs): few referred at a first event, more at later ones,
#: risk +0.3 on the log-odds scale per earlier index event.
LATER_EVENTS_ON = LaterEvents(uptake_first=-1.5, uptake_later=1.0, risk_per_event=0.3)


@dataclass(frozen=True)
class CaseMix:
    """Opt-in scenario "selection on case mix" (referee review, 2026-12-05): the routes into participation select on
    the hospital stay itself, and the stay also predicts readmission, as NHS Digital's indicator assumes when it
    standardises on method of admission and diagnosis/procedure (I02040 v3).

    With ``strength`` s > 0 (1 = the terms below as written; every term is multiplied by s):

    * readmission risk (both potential outcomes) gains :data:`CASEMIX_READMIT`'s terms on the logit scale: admission
      method (emergency, other against elective), length of stay (log(1 + days) - log 4) and specialty;
    * peer visiting is offered more after elective, short, orthopaedic or surgical stays and less after "other",
      long, geriatric or mental-health stays (:data:`CASEMIX_ENROL`, added to the offer's logit);
    * time-bank members (activity in the 90 days before the admission) have shorter stays: each non-maternity stay's
      length is multiplied by 1 - 0.4 s (rounded down), and s / 2 of their "other" admissions are
      elective instead (one uniform per stay from the stream "casemix").

    None of it is an effect of participation: ``Effects.or_readmit`` is still the only one (none with 1). Off by
    default (strength 0): the data of every seed are those of the generator without the scenario, byte for byte,
    and truth.json does not mention it."""

    strength: float = 0.0

    @property
    def on(self) -> bool:
        return self.strength > 0


@dataclass(frozen=True)
class Config:
    persons: int
    seed: int
    out: Path
    fmt: str = "csv"
    start: str = "2022-01-01"
    end: str = "2025-12-31"
    effects: Effects = field(default_factory=Effects)
    crisis: Crisis = field(default_factory=Crisis)
    later_events: LaterEvents = field(default_factory=LaterEvents)
    case_mix: CaseMix = field(default_factory=CaseMix)
    #: hospital spells carry a primary diagnosis (data/synthetic/diagnoses.py; its own stream, so every other column
    #: and file is as without it); under case mix its chapter confounds (CASEMIX_DIAGNOSIS_*)
    diagnoses: bool = False


# Conditional (covariate-adjusted) outcome models on the logit scale. Covariates are what
# the pipeline can compute from the files: age in years at the discharge/event, sex, IMD
# decile, prior emergency admissions, prior_convictions. Nothing unobserved enters them.
READMIT_MODEL = {
    "intercept": -2.45,
    "per_decade_over_65": 0.12,  # (age - 65) / 10
    "male": 0.10,  # sex == "male"
    "deprivation": 0.30,  # (5.5 - imd_decile) / 4.5, i.e. +1 = decile 1
    "per_prior_emergency_admission": 0.35,  # min(prior_emergency_12m, 6)
}
REOFFEND_MODEL = {
    "intercept": -1.35,
    "per_decade_over_30": -0.22,  # (age - 30) / 10
    "male": 0.25,
    "deprivation": 0.30,  # (5.5 - imd_decile) / 4.5
    "per_log1p_prior_conviction": 0.45,  # log(1 + prior_convictions)
}

#: CaseMix scenario, readmission logit terms (x strength): admission method against elective, log(1 + length of stay)
#: centred at 3 days, specialty against the others.
CASEMIX_READMIT = {
    "emergency": 0.25, "other": 0.5, "per_log_los": 0.35,
    "specialty": {"geriatric_medicine": 0.3, "mental_health": 0.3, "respiratory": 0.2, "orthopaedics": -0.4,
                  "general_surgery": -0.25},
}
#: CaseMix scenario, peer-visiting offer logit terms (x strength): admission method against emergency, log(1 + length of
#: stay) centred at 3 days, specialty against the others.
CASEMIX_ENROL = {
    "elective": 0.8, "other": -0.8, "per_log_los": -0.7,
    "specialty": {"orthopaedics": 0.7, "general_surgery": 0.5, "geriatric_medicine": -0.4, "mental_health": -0.6},
}

#: CaseMix scenario with diagnoses (``Config.diagnoses``), readmission logit terms (x strength) by the ICD-10 chapter of
#: the stay's first spell against the others: respiratory, endocrine, genitourinary and mental-health admissions are
#: readmitted more, symptom-only (R codes) and injury admissions less.
CASEMIX_DIAGNOSIS_READMIT = {"X": 0.8, "IV": 0.6, "XIV": 0.6, "V": 0.4, "XVIII": -0.8, "XIX": -0.5}
#: ... and peer-visiting offer logit terms: offered more after symptom-only and injury stays, less after respiratory,
#: endocrine, genitourinary and mental-health ones. Both vary within specialty (general and geriatric medicine), so
#: specialty carries only part of them. Time-bank members' stays are redrawn away from :data:`CASEMIX_DIAGNOSIS_SICKER`
#: too (data/synthetic/diagnoses.py ``draw``).
CASEMIX_DIAGNOSIS_ENROL = {"XVIII": 1.5, "XIX": 0.8, "X": -1.5, "IV": -1.0, "XIV": -1.0, "V": -1.0}
#: Chapters a time-bank member's stay leaves with probability s / 2 (one more chapter draw from its specialty's row).
CASEMIX_DIAGNOSIS_SICKER = ("X", "IV", "XIV", "V")

READMIT_PRIOR_CAP = 6
ACTIVE_WINDOW_DAYS = 90  # time-bank activity before discharge
ENROL_AFTER_DISCHARGE_DAYS = 14
REOFFEND_JOIN_AFTER_DAYS = 90

DEFINITIONS = {
    "index_discharge": (
        "The last spell of a continuous stay (a spell whose destination is 'transfer' continues in the "
        "next spell, admitted the same day at another provider): the pipeline's default NHS rules. Counted when: "
        "discharge_destination is home or other (not died, not transfer); the stay's first spell has "
        "admission_method emergency, elective or other (not maternity); not an elective day case (elective and "
        "admitted_on == discharged_on); no spell in obstetrics. Mental-health and cancer stays count. "
        "Full follow-up: discharged_on + 30 <= end."
    ),
    "readmission": (
        "An emergency admission (admission_method emergency, specialty not obstetrics, cancer false) with "
        "admitted_on 1-29 days after the index discharged_on (NHS 0-29 days; the simulation never places one on "
        "day 0 or day 30, so 0-29 and 0-30 windows agree)."
    ),
    "readmission_participant": (
        "For an index discharge on day d: (a) one of the person's time-bank members (any time bank) is giver or "
        "receiver of an exchange of kind exchange, group or donation (not system_credit) with exchanged_on in "
        "[d - 90, d] (start day 0); or (b) the person has a programme_enrolments row with programme_id "
        "peer_visiting_after_discharge and started_on in [d, d + 14] (start day = started_on - d) and was not "
        "readmitted before that day. A readmission before the planned start prevents the start. start_on in "
        "truth/readmission_discharges is d + the start day."
    ),
    "readmission_estimand": (
        "Effect on participants from their own start day (the risk-set design's target): p0/p1 and y0/y1 in "
        "truth/readmission_discharges are the risk and outcome of readmission on days start..29 given no "
        "readmission before the start, without/with the programme (for non-participants: from day 0). The "
        "programme acts only from its start day. att_expected_risk_difference = mean over participants of p1 - p0."
    ),
    "prior_emergency_12m": (
        "Number of the person's spells with admission_method emergency and admitted_on in [a - 365, a - 1], "
        "where a is admitted_on of the first spell of the index stay. Spells before --start do not exist. "
        "The outcome model uses min(count, 6)."
    ),
    "justice_index_event": (
        "Every justice_events row is simulated as an index event with its own follow-up; the headline cohort "
        "is each person's first event in the file. Full follow-up: event_date + 365 + 182 <= end."
    ),
    "proven_reoffence": (
        "An offences row with is_breach false, offence_date in [e + 1, e + 365] and proven_on <= e + 365 + 182 "
        "(1-year follow-up plus 6-month waiting period). The simulation places a reoffender's first reoffence "
        "in [e + 1, e + 360] proven by e + 515, and a non-reoffender's next offence after e + 375, so 12-month and "
        "6-month calendar variants agree. Breaches never count."
    ),
    "reoffending_participant": (
        "For an event on day e: a timebank_members row of the person with joined_on <= e + 90 and "
        "(left_on empty or left_on >= e), or a programme_enrolments row with programme_id in youth_court_jury, "
        "prison_bike_repair, prison_listeners and started_on <= e + 90 and (ended_on empty or ended_on >= e), "
        "with no proven reoffence committed before the start day max(0, earliest start - e); a reoffence before "
        "the planned start prevents the start. peer_visiting_after_discharge does not count."
    ),
    "reoffending_estimand": (
        "Effect on participants from their own start day: p0/p1 and y0/y1 in truth/reoffending_events are the "
        "risk and outcome of a proven reoffence committed on days max(start, 1)..365 given none before the start, "
        "without/with participation (non-participants: from day 1). Participation acts only from its start day."
    ),
    "age": "(discharged_on - birth_date) / 365.25 for readmission, (event_date - birth_date) / 365.25 for reoffending, in years, continuous.",
    "hours_given": (
        "Sum of hours where one of the person's members is giver_id, kind exchange or group, exchanged_on <= the "
        "reading date (donations and system credits are transfers, not time given)."
    ),
    "hours_received": "Sum of hours where one of the person's members is receiver_id, kind exchange.",
    "star_effect": (
        "Structural: each reading's latent score = baseline + drift x months since the person's first reading "
        "+ g x hours_given/10 + r x hours_received/10 + noise, with g and r scaled from the 1-10 values by "
        "(scale_max - scale_min)/9 for each version; the observed score is rounded and clipped to the scale. "
        "So the expected distance travelled between two readings gains g per 10 hours given between them "
        "(less at the scale ends, where clipping bites: hours are heavy-tailed, so realised.star.<version> also "
        "gives the fit restricted to people with under 60 hours given and received between first and last reading, "
        "where a linear fit recovers the structural value)."
    ),
    "contacts_effect": (
        "Each person's GP and A&E contact rate is multiplied by contacts_rr from their first joined_on "
        "(person-linked membership, any time bank) onwards; mental_health, social_care and other are unaffected. "
        "Rates are constant in time otherwise (seasonal only), so a within-person before/after comparison "
        "(or a difference-in-differences against non-members) recovers contacts_rr. Rates also depend on a "
        "persistent unobserved frailty that drives joining, so a cross-sectional comparison on demographics "
        "alone is biased."
    ),
}

#: Written into truth.json's definitions only when the later-events scenario is on (:class:`LaterEvents`).
LATER_EVENTS_DEFINITION = (
    "Referred at a later index event (opt-in; later_events in truth.json gives uptake_first, uptake_later, "
    "risk_per_event): at a person's index event of order k (0 = first in the window), each justice programme's choice "
    "has uptake_first (k = 0) or uptake_later (k >= 1) added to its log-odds, and the reoffending linear predictor "
    "has risk_per_event x min(k, 3) added in both potential outcomes. realised.reoffending.first_participating_event "
    "gives the participants' expected risk difference at each participant's first event with participation and full "
    "follow-up (the estimand of index_events: all); realised.reoffending keeps the first-event cohort."
)

#: Written into truth.json's definitions only when the case-mix scenario is on (:class:`CaseMix`).
CASEMIX_DEFINITION = (
    "Selection on case mix (opt-in; case_mix in truth.json gives strength s): the readmission logit of every index "
    "discharge adds s x case_mix_terms.readmission (admission method of the stay's first spell against elective, "
    "per_log_los x (log(1 + length of stay) - log 4) with the continuous stay's length in days, the last spell's "
    "specialty); the peer-visiting offer's logit adds s x case_mix_terms.enrolment (method against emergency, length, "
    "specialty); a stay admitted with time-bank activity in the 90 days before has its length multiplied by "
    "1 - 0.4 s (rounded down) and, if 'other', is elective with probability s / 2. No term is an effect of taking "
    "part: the true effect is or_readmit's alone, and p0/p1 include the case-mix terms."
)

#: Written into truth.json's definitions only when the crisis scenario is on (:class:`Crisis`).
CRISIS_DEFINITION = (
    "Crisis before joining (opt-in; crisis in truth.json gives share, days, rate_ratio): each person who ever joins "
    "(first joined_on, any time bank) is, with probability share, in crisis over [J - days, J - 1] (clipped to the "
    "data window and to the day before death): their gp, ae, mental_health and social_care rates are multiplied by "
    "rate_ratio on those days, on top of their usual contacts (extra Poisson(rate x (rate_ratio - 1) x days / 365.25) "
    "contacts placed by the service's seasonal profile). The crisis precedes joining in both potential outcomes, so "
    "the effect of joining on contacts is contacts_effect's alone (none with contacts_rr 1); a before/after "
    "comparison whose before window holds [J - days, J - 1] sees the participants' use fall after joining without "
    "any effect (an Ashenfelter dip). realised.contacts.crisis gives the persons in crisis and their extra contacts."
    " With admissions_rr > 1 the same persons also have extra emergency admissions over the same days, at "
    "(admissions_rr - 1) x their usual hospital admission rate x 0.58 (the emergency share of non-maternity stays), "
    "as hospital stays like any other (length of stay, readmission, prior_emergency_12m); "
    "realised.readmission.crisis_admissions counts them."
)

SELECTION = {
    "timebank_membership": [
        "age", "imd_decile", "long_term_condition", "prior_convictions",
        "frailty (latent; drives emergency admissions, so prior_emergency_12m is its observable proxy)",
    ],
    "peer_visiting_after_discharge": [
        "age", "imd_decile", "prior_emergency_12m", "discharging provider (RXX01, RXX02 only)",
    ],
    "justice_programmes_and_prison_timebank": [
        "age", "imd_decile", "prior_convictions", "event_type",
    ],
    "note": (
        "Readmission and reoffending depend only on the covariates in READMIT_MODEL / REOFFEND_MODEL "
        "plus participation, so adjusting for age, sex, imd_decile, prior_emergency_12m (readmission) or "
        "prior_convictions (reoffending) removes the confounding; the naive comparison does not."
    ),
}


def odds_ratio(p1: float, p0: float) -> float:
    return float((p1 / (1 - p1)) / (p0 / (1 - p0))) if 0 < p0 < 1 and 0 < p1 < 1 else float("nan")


def potential_outcome_summary(rows: dict[str, np.ndarray], mask: np.ndarray) -> dict:
    """Rates and participants' expected effects from both simulated potential outcomes."""
    a = rows["participant"][mask]
    y = rows["outcome"][mask]
    p0, p1 = rows["p0"][mask], rows["p1"][mask]
    y0, y1 = rows["y0"][mask], rows["y1"][mask]
    n, n1 = int(mask.sum()), int(a.sum())
    out = {
        "n": n,
        "n_participant": n1,
        "n_nonparticipant": n - n1,
        "rate": float(y.mean()) if n else float("nan"),
        "rate_participant": float(y[a].mean()) if n1 else float("nan"),
        "rate_nonparticipant": float(y[~a].mean()) if n > n1 else float("nan"),
    }
    out["naive_risk_difference"] = out["rate_participant"] - out["rate_nonparticipant"]
    if n1:
        out["att_expected_risk_difference"] = float(np.mean(p1[a] - p0[a]))
        out["att_sample_risk_difference"] = float(np.mean(y1[a].astype(float) - y0[a]))
        out["att_expected_risk_treated"] = float(np.mean(p1[a]))
        out["att_expected_risk_untreated"] = float(np.mean(p0[a]))
        out["att_marginal_odds_ratio"] = odds_ratio(out["att_expected_risk_treated"], out["att_expected_risk_untreated"])
    return out


def write_truth(cfg: Config, realised: dict, path: Path) -> dict:
    truth = {
        "generator": "data.generate",
        "seed": cfg.seed,
        "persons": cfg.persons,
        "start": cfg.start,
        "end": cfg.end,
        "format": cfg.fmt,
        "effects": asdict(cfg.effects),
        **({"crisis": asdict(cfg.crisis)} if cfg.crisis.on else {}),
        **({"later_events": asdict(cfg.later_events)} if cfg.later_events.on else {}),
        **({"case_mix": asdict(cfg.case_mix),
            "case_mix_terms": {"readmission": CASEMIX_READMIT, "enrolment": CASEMIX_ENROL,
                               "timebank_los_factor": 1 - 0.4 * cfg.case_mix.strength}} if cfg.case_mix.on else {}),
        **({"diagnoses": {"column": "hospital_spells.primary_diagnosis",
                          **({"case_mix_terms": {"readmission": CASEMIX_DIAGNOSIS_READMIT,
                                                 "enrolment": CASEMIX_DIAGNOSIS_ENROL,
                                                 "timebank_leaves_with_probability_s_over_2": CASEMIX_DIAGNOSIS_SICKER}}
                             if cfg.case_mix.on else {})}}
           if cfg.diagnoses else {}),
        "effect_scale": {
            "or_readmit": "conditional odds ratio (given the READMIT_MODEL covariates), applied to participants' index discharges",
            "or_reoffend": "conditional odds ratio (given the REOFFEND_MODEL covariates), applied to participants' justice events",
            "star": "points per 10 hours on a 1-10 scale; multiply by (scale_max - scale_min)/9 for other scales",
            "contacts_rr": "multiplicative rate ratio, GP and A&E contacts",
        },
        "estimand_note": (
            "The OR is conditional on covariates. A matched comparison estimates the ATT on the risk scale, which "
            "differs from (and is not collapsible to) the conditional OR; compare matched risk differences with "
            "realised.<outcome>.att_expected_risk_difference (mean of p1 - p0 over participants' eligible "
            "discharges/events with full follow-up, outcome counted from each participant's own start day: the "
            "risk-set design's estimand, definitions readmission_estimand / reoffending_estimand), and marginal "
            "ORs with att_marginal_odds_ratio."
        ),
        "outcome_models": {"readmission": READMIT_MODEL, "reoffending": REOFFEND_MODEL},
        "selection_covariates": SELECTION,
        "definitions": {**DEFINITIONS, **({"crisis_before_joining": CRISIS_DEFINITION} if cfg.crisis.on else {}),
                        **({"later_events": LATER_EVENTS_DEFINITION} if cfg.later_events.on else {}),
                        **({"case_mix_selection": CASEMIX_DEFINITION} if cfg.case_mix.on else {})},
        "windows": {
            "readmission_days": 30,
            "active_before_discharge_days": ACTIVE_WINDOW_DAYS,
            "enrol_after_discharge_days": ENROL_AFTER_DISCHARGE_DAYS,
            "reoffending_follow_up_days": 365,
            "reoffending_waiting_days": 182,
            "reoffending_join_after_event_days": REOFFEND_JOIN_AFTER_DAYS,
        },
        "files": {
            f"truth/readmission_discharges.{cfg.fmt}": (
                "one row per index discharge (incomplete follow-up included, flagged): age, prior_emergency_12m, "
                "via_timebank, via_programme, participant, p0/p1 (risk without/with participation), y0/y1 (both "
                "potential outcomes, common random number), readmitted (as the spells show), follow_up_complete"),
            f"truth/reoffending_events.{cfg.fmt}": (
                "one row per justice event: event_order (1 = first), participant, p0/p1, y0/y1, reoffended (as the "
                "offences show), follow_up_complete"),
        },
        "realised": realised,
    }
    truth = _plain(truth)
    path.write_text(json.dumps(truth, indent=2, allow_nan=False) + "\n")
    return truth


def _plain(x):
    """JSON-safe copy: numpy scalars to Python, NaN to null, paths to strings."""
    if isinstance(x, dict):
        return {str(k): _plain(v) for k, v in x.items()}
    if isinstance(x, (list, tuple, np.ndarray)):
        return [_plain(v) for v in x]
    if isinstance(x, (bool, np.bool_)):
        return bool(x)
    if isinstance(x, (int, np.integer)):
        return int(x)
    if isinstance(x, (float, np.floating)):
        return None if np.isnan(x) else float(x)
    if isinstance(x, Path):
        return str(x)
    return x
