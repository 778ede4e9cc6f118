"""Human labels for the pages: area names for ONS codes, domain words in title case, numbers, plurals.

Area names come from the ONS release "Local Authority Districts (April 2020) Names and Codes
in the United Kingdom" (Open Government Licence v3.0), shipped in ``data/reference/ons/``.
"""

from __future__ import annotations

import csv
import math
import re
from functools import lru_cache
from pathlib import Path

from schemas.star_names import registry_areas

LAD_FILE = Path(__file__).resolve().parents[1] / "data" / "reference" / "ons" / "lad_april_2020_names_codes_uk.csv"
#: Domain words whose capitals are not title case.
WORDS = {"sroi": "SROI", "wemwbs": "WEMWBS", "swemwbs": "SWEMWBS", "tb01": "TB01", "and": "and", "of": "of", "a": "a",
         "ae": "A&E", "gp": "GP", "imd": "IMD", "id": "ID", "ons4": "ONS4", "to": "to", "in": "in", "on": "on",
         "hes": "HES", "apc": "APC", "timeoverflow": "TimeOverflow",
         "wellby": "WELLBY"}  # the well-being-adjusted life year (HM Treasury, Wellbeing Guidance for Appraisal, 2021)  # the mapping presets' names (file notes)

#: A snake_case token (TB01_help_given too) outside a dotted name (marts.readmission_effects) or a file name's stem.
SNAKE = re.compile(r"(?<![\w./-])[A-Za-z][A-Za-z0-9]*(?:_[A-Za-z0-9]+)+\b(?!\.\w)")
#: Model covariates, terms and settings whose words are not their title case.
NAMES = {"imd_decile": "IMD decile", "prior_emergency_12m": "Emergency admissions in the prior 12 months",
         "prior_convictions": "Prior convictions", "proven_offences_to_index": "Proven offences to the index date", "event_type": "Event type", "hours_given": "Hours given",
         "hours_received": "Hours received", "given_minus_received": "Hours given minus received",
         "mean_of_areas": "Mean of areas", "drop_off": "Drop-off", "matched_comparison": "Matched comparison",
         "any_participation": "Any participation", "small_n": "Small n", "n_paired": "n paired",
         "n_improved": "n improved", "pct_improved": "% improved", "not_future": "Not in the future",
         "duplicate_row": "Duplicate row", "unknown_reference": "Unknown reference", "ph_violated": "PH violated",
         "at_least_one_area": "At least one area",
         "no_participation": "No participation", "pre_change": "Change before the baseline",
         "months_from_first_reading": "Months from first reading", "months_between": "Months between readings",
         "star_version": "Star version"}
#: A model's design column for one level of a covariate, as patsy and the engine name it ('sex[male]',
#: 'event_type[T.community_sentence]'): written 'sex: male', 'Event type: community sentence'.
TERM = re.compile(r"(?<![\w./-])([A-Za-z][A-Za-z0-9_]*)\[(?:T\.)?([^\[\]]+)\]")
#: Words of column headings that are abbreviations.
HEADING_WORDS = {"ci": "95% CI", "smd": "SMD", "vr": "variance ratio", "sd": "SD", "se": "SE", "pv": "PV", "npv": "NPV",
                 "sroi": "SROI", "id": "ID", "pct": "%", "ph": "PH", "km": "KM", "imd": "IMD", "998": "99.8%",
                 "95": "95%", "abs": "absolute", "n": "n", "p": "p", "sha256": "SHA-256", "tb": "TB"}


#: A reoffending programme label for one time bank ("timebank:TB01"): "Time bank TB01" on the pages.
TIMEBANK_PROGRAMME = re.compile(r"(?<![\w./-])timebank:(\w+)")


#: The readmission comparisons (models.readmission.effects.COMPARISONS) as a reader says them: 'any' is time-bank
#: activity in the 90 days before discharge or a programme start after it, 'timebank' the time-bank activity alone (a
#: discharge whose programme start comes first left out), 'programme' a programme start alone (a discharge with
#: time-bank activity before it left out). The CSVs keep the mart's words ('readmission: timebank').
READMISSION_COMPARISONS = {"any": "Any participation", "timebank": "Time-bank members",
                           "programme": "Programme participants"}
#: A readmission result's comparison after its outcome ('readmission: any', 'Readmission within 30 days: timebank').
READMISSION_RESULT = re.compile(r"(?<![\w-])((?:[Rr]eadmission)(?: within \d+ days)?): (any|timebank|programme)(?![\w-])")
#: The well-being results of the diagnostics marts ('wellbeing: all / mean_of_areas'), as the pages spell them.
WELLBEING_RESULT = re.compile(r"(?<![\w-])wellbeing: ")


def words(text: str) -> str:
    """Every snake_case token in ``text`` in words: a name from ``NAMES``, else title case
    ('well-being: recovery_star / mean_of_areas' -> 'well-being: Recovery Star / Mean of areas'), a time bank's
    programme label in words ('reoffending: timebank:TB01' -> 'reoffending: Time bank TB01') and a covariate level's
    design column ('event_type[community_sentence]' -> 'Event type: community sentence', :data:`TERM`)."""
    text = READMISSION_RESULT.sub(lambda m: f"{m.group(1)}: {READMISSION_COMPARISONS[m.group(2)]}", str(text))
    text = WELLBEING_RESULT.sub("well-being: ", text)
    text = TIMEBANK_PROGRAMME.sub(r"Time bank \1", text)
    text = TERM.sub(lambda m: f"{_name(m.group(1))}: {m.group(2).replace('_', ' ')}", text)
    return SNAKE.sub(lambda m: _name(m.group(0)), text)


def _name(token: str) -> str:
    """One name in words: :data:`NAMES`, else a snake_case token in title case, else as it is ('sex', 'age')."""
    return NAMES.get(token, title(token) if "_" in token else token)


#: Columns whose heading is not their name in words: the words a commissioner uses for what they hold (the CSVs keep
#: the names), and the pages' own spelling of a compound ("two-way", "co-production").
HEADINGS = {"timebank_id": "Time bank", "grant_id": "Grant", "period_label": "Period", "persons": "People",
            # the run (its Dagster run identifier) that wrote the figures: "Run ID" named the code, not the thing
            "run_id": "Run", "config_sha256": "Configuration SHA-256",
            # the impact map's unit cost: the SROI guide's "financial proxy" (its name in the proxy library), its value
            # in the reporting year's prices, and the present value of the outcome
            "proxy_id": "Financial proxy", "proxy_value_reporting": "Proxy value (£, reporting-year prices)",
            "pv": "Present value",
            # the before/after comparison's placebo: the same difference-in-differences a year earlier
            "pretrend_did": "Difference a year earlier",
            # the people who took part are "participants" on every page (:data:`PARTICIPANTS`): the balance table read
            # "n treated before" beside the overlap table's "Participants before" for the same people
            "n_treated_before": "Participants before", "n_treated_after": "Participants after",
            "n_comparison_before": "Comparison before", "n_comparison_after": "Comparison after",
            "share_treated_in_support": "Share of participants in common support",
            "n_treated_outside_support": "Participants outside common support", "n_participants": "Participants",
            # a Cox model's people: everyone analysed, participants and others ("N" beside "n participants")
            "n": "People analysed",
            # the evaluator's reoffending measures: the estimate with its interval, the role with its Holm-adjusted p
            "estimate_95_interval": "Estimate (95% interval)", "role_holm_p": "Role, Holm p",
            # a time bank's share over its trading members: the funder's "at a glance" gives a share over its grants'
            # active members, and "two-way share" named both (47-60% there, 50-64% here on the demo)
            "two_way_share": "Two-way share of trading members"}
#: The one word the pages use for the people who took part (the statistical literature's and the CSVs' "treated":
#: ``n_treated_before``, ``share_treated_in_support``, a model's ``treated`` term). A test holds every heading to it.
PARTICIPANTS = "participants"
HEADING_PHRASES = {"two_way": "two-way", "coproduction": "co-production"}


def heading(column: str) -> str:
    """A column name as a heading: 'ci_low_pct' -> '95% CI low %', 'n_matched' -> 'n matched', 'lower_998' -> 'Lower 99.8%',
    'timebank_id' -> 'Time bank' (:data:`HEADINGS`)."""
    if str(column) in HEADINGS:
        return HEADINGS[str(column)]
    name = str(column)
    for phrase, spelled in HEADING_PHRASES.items():
        name = re.sub(rf"(?<![a-z]){phrase}(?![a-z])", spelled, name)
    parts = [HEADING_WORDS.get(w, w) for w in name.replace("_", " ").split()]
    text = " ".join(parts).replace(" %", " (%)") if parts else ""
    return text if text[:1] in ("n", "p") and len(parts) > 1 and parts[0] in ("n", "p") else text[:1].upper() + text[1:]


@lru_cache(maxsize=1)
def lad_names() -> dict[str, str]:
    with LAD_FILE.open(newline="", encoding="utf-8") as handle:
        return {row["LAD20CD"]: row["LAD20NM"] for row in csv.DictReader(handle)}


def area(code: str) -> str:
    """'E06000001' -> 'Hartlepool (E06000001)'; an unknown code as it is."""
    name = lad_names().get(str(code))
    return f"{name} ({code})" if name else str(code)


#: Outcomes Star areas in the words of the Stars themselves (Triangle Consulting: Recovery Star, Well-being Star,
#: Justice Star), where the snake_case name drops an "and" or a hyphen ("drugs_alcohol" read "Drugs Alcohol"); a
#: Star's areas in its own sentence case.
STAR_AREAS = {"trust_hope": "Trust and hope", "identity_self_esteem": "Identity and self-esteem",
              "physical_health_self_care": "Physical health and self-care",
              "work_volunteering_activities": "Work, volunteering and other activities",
              "family_friends": "Family and friends", "looking_after_yourself": "Looking after yourself",
              "crime_free_life": "Crime-free life", "living_skills_self_care": "Living skills and self-care",
              "mental_health_wellbeing": "Mental health and well-being", "friends_community": "Friends and community",
              "relationships_family": "Relationships and family", "parenting_caring": "Parenting and caring",
              "drugs_alcohol": "Drugs and alcohol", "positive_use_of_time": "Positive use of time",
              "managing_strong_feelings": "Managing strong feelings"}


@lru_cache(maxsize=1)
def star_areas() -> frozenset[str]:
    """Every area of every instrument in the scale registry (data/reference/star_versions.yaml)."""
    return frozenset(a for areas in registry_areas().values() for a in areas)


def title(value: str) -> str:
    """A snake_case domain value in title case: 'recovery_star' -> 'Recovery Star'; Star areas as the Star names them
    ('trust_hope' -> 'Trust and hope'), in its own sentence case ('managing_mental_health' -> 'Managing mental health':
    it read 'Managing Mental Health' in the column where 'Crime-free life' stood)."""
    if str(value) in STAR_AREAS:
        return STAR_AREAS[str(value)]
    if str(value) in NAMES:  # a name of its own ("At least one area": the well-being table read "At Least One Area")
        return NAMES[str(value)]
    if str(value) in star_areas():
        text = str(value).replace("_", " ")
        return text[:1].upper() + text[1:]
    words = str(value).replace("_", " ").split()
    out = [WORDS.get(w.lower(), w if any(c.isupper() for c in w) else w.capitalize()) for w in words]
    if out:
        out[0] = out[0][:1].upper() + out[0][1:]
    return " ".join(out)


def plural(n: float, word: str, words: str | None = None) -> str:
    """'1 time bank', '3 time banks', '1,200 hours'."""
    shown = f"{n:,.0f}" if isinstance(n, (int, float)) and not isinstance(n, bool) else str(n)
    return f"{shown} {word if n == 1 else (words or word + 's')}"


def money(value: float | None, pence: bool = False) -> str:
    """'£75,100' (or '£75,100.50' with ``pence``), the sign before the pound sign as :func:`pounds` writes it
    ('−£85,113': the impact map's summary read '£-85,113'); '–' for nothing."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    text = f"{abs(value):,.2f}" if pence else f"{abs(value):,.0f}"
    return f"−£{text}" if value < 0 and text.strip("0.,") else f"£{text}"


def pounds(value: float) -> str:
    """An amount in pounds and pence, the sign before the pound sign: '£0.05', '−£0.21' (it read '£-0.21')."""
    return f"−£{-value:,.2f}" if round(value, 2) < 0 else f"£{abs(value) if round(value, 2) == 0 else value:,.2f}"


def pct(value: float | None, places: int = 1) -> str:
    """A share (0-1) as a percentage: 0.0648 -> '6.5%'."""
    if value is None or isinstance(value, str) or math.isnan(value):
        return "–" if not isinstance(value, str) else value
    return f"{100 * value:.{places}f}%"


def unrounded(of: str) -> str:
    """Said beside a difference shown with the two rounded figures it is the difference of: the difference, and its
    interval, are worked out from the unrounded ``of`` ("rates", "means"), so it can differ in its last digit from the
    figures' (7.4% against 6.5% beside +1.0 points), as official statistics say of figures computed before rounding."""
    return f"from the unrounded {of}"


#: The same, under a table that shows two rounded figures beside their difference.
ROUNDING_NOTE = ("Each difference is worked out from the unrounded figures, so it can differ in its last digit from the "
                 "difference of the two rounded figures shown.")
