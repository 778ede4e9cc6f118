"""The raw data contract: one pandera model per input source.

This module is the single source of truth for what each input file must hold.
`docs/data-contract.md` is generated from it (`python -m schemas.contract_doc`), and the
warehouse ingest compiles the same models to SQL (`schemas.sql`), so a rule is written
once and enforced the same way on a 20-row fixture (pandera) and a 10M-row extract (DuckDB).

Column-level rules are pandera fields. Field metadata carries what pandera has no word for:
- ``pseudonymise``: the value identifies a person or a record about one; it is replaced by
  a keyed hash (HMAC-SHA256) at ingest and never stored raw.
- ``not_future``: a date that cannot lie after the run's as-of date.
- ``references``: ``"source.column"`` the value must exist in (among staged rows), when
  that source is supplied.
- ``clear``: the column is an optional covariate, so a value that breaks its type or a check
  costs the value, not the row: the row is staged with the column empty and the value is
  recorded in ``quarantine.cleared_values`` (file, line, column, rule). Only for a column that
  is optional and no identifier, key, event or window date, or outcome (``schemas.contract``
  refuses the others); every other rule quarantines the row.
Table-level rules live in each model's ``Config.metadata``:
- ``key``: the record identifier; a repeated key with identical content is a duplicate, a
  repeated key with different content is a conflict.
- ``natural_key``: columns that identify one observation in a source without an id; rows
  that share them but disagree are a conflict.
- ``order``: ``(earlier, later)`` date pairs that must not be reversed.
- ``extra_columns``: ``"keep"`` (persons: further columns are covariates) or ``"drop"``.
"""

from __future__ import annotations

from typing import Optional

import pandas as pd
import pandera.pandas as pa
from pandera import extensions
from pandera.typing import Series

SEXES = ["female", "male", "other", "unknown"]
MEMBER_ROLES = ["community", "service_user", "patient", "prisoner", "staff", "organisation", "system"]
EXCHANGE_KINDS = ["exchange", "group", "donation", "system_credit"]
ADMISSION_METHODS = ["emergency", "elective", "maternity", "other"]
DISCHARGE_DESTINATIONS = ["home", "transfer", "died", "other"]
JUSTICE_EVENT_TYPES = ["custody_release", "community_sentence", "caution", "youth_court"]
SERVICES = ["gp", "ae", "mental_health", "social_care", "other"]

#: An ICD-10 diagnosis code as extracts give it: a letter and two digits (the three-character category, WHO ICD-10
#: Volume 1), then optionally a full stop (ICD-10 writes one, HES does not store it: HES Data Dictionary, diag_nn) and
#: a fourth character, a digit or HES's filler X or - for a three-character code (DIAG_4_01 "R69X"), and up to two
#: more (HES diag_nn is up to six characters, "annnna": a fifth digit or a dagger/asterisk letter). Letters of either
#: case. The chapter is the readmission model's to derive (models/readmission/diagnosis.py), not the contract's.
ICD10_CODE = r"[A-Za-z][0-9]{2}(\.?[0-9Xx-][0-9A-Za-z]{0,2})?"


if not hasattr(pa.Check, "icd10_code"):  # registered once per process (a module reload would register it twice)
    @extensions.register_check_method(statistics=["pattern"], supported_types=pd.Series)
    def icd10_code(series: pd.Series, *, pattern: str) -> pd.Series:
        """The value is an ICD-10 code (:data:`ICD10_CODE`); rule ``icd10_code`` in ``quarantine.cleared_values``."""
        return series.str.fullmatch(pattern)


PERSON = {"pseudonymise": True, "references": "persons.person_id"}
EVENT_DATE = {"not_future": True}
COVARIATE = {"clear": True}


class Persons(pa.DataFrameModel):
    """People who may appear in any service record; one row each."""

    person_id: Series[str] = pa.Field(metadata={"pseudonymise": True}, description="Person identifier, as in the linked extracts.")
    birth_date: Series[pd.Timestamp] = pa.Field(metadata=EVENT_DATE, description="Date of birth.")
    sex: Series[str] = pa.Field(isin=SEXES, description="Sex as recorded.")
    area_code: Series[str] = pa.Field(nullable=True, description="Area of residence (e.g. ONS local authority or LSOA code).")
    imd_decile: Series[int] = pa.Field(in_range={"min_value": 1, "max_value": 10}, nullable=True, metadata=COVARIATE, description="Index of Multiple Deprivation decile, 1 = most deprived.")
    died_on: Optional[Series[pd.Timestamp]] = pa.Field(nullable=True, metadata=EVENT_DATE, description="Date of death, where the extract links one (e.g. ONS death registrations); empty when alive or not known. Hospital spells record only deaths in hospital; a comparison person who died elsewhere looks like one who stopped using services. Never a covariate: it is recorded after the fact.")

    class Config:
        metadata = {"key": "person_id", "extra_columns": "keep", "order": [("birth_date", "died_on")]}


#: Columns of ``persons`` recorded after the fact: never a covariate, whatever a settings file names.
RECORDED_AFTER = ("died_on",)


class TimebankMembers(pa.DataFrameModel):
    """Accounts in a time bank: people, staff, organisations and the system (goodwill pot)."""

    member_id: Series[str] = pa.Field(metadata={"pseudonymise": True}, description="Member account identifier.")
    timebank_id: Series[str] = pa.Field(description="Time bank the account belongs to.")
    person_id: Series[str] = pa.Field(nullable=True, metadata=PERSON, description="Linked person; empty when the member is not linked to service records.")
    role: Series[str] = pa.Field(isin=MEMBER_ROLES, description="Kind of account.")
    joined_on: Series[pd.Timestamp] = pa.Field(metadata=EVENT_DATE, description="Date the account opened.")
    left_on: Series[pd.Timestamp] = pa.Field(nullable=True, description="Date the account closed, if it has.")

    class Config:
        metadata = {"key": "member_id", "order": [("joined_on", "left_on")]}


class TimebankExchanges(pa.DataFrameModel):
    """The time-bank log: one row per transfer of hours from a giver to a receiver."""

    exchange_id: Series[str] = pa.Field(description="Exchange identifier of the time-bank platform (a record id, not a person's: kept as given).")
    timebank_id: Series[str] = pa.Field(description="Time bank the exchange was logged in.")
    giver_id: Series[str] = pa.Field(metadata={"pseudonymise": True, "references": "timebank_members.member_id"}, description="Member who gave the time (earns the credit).")
    receiver_id: Series[str] = pa.Field(metadata={"pseudonymise": True, "references": "timebank_members.member_id"}, description="Member who received the time (spends the credit).")
    hours: Series[float] = pa.Field(gt=0, le=24, description="Hours exchanged, in (0, 24].")
    exchanged_on: Series[pd.Timestamp] = pa.Field(metadata=EVENT_DATE, description="Date of the exchange.")
    category: Series[str] = pa.Field(nullable=True, description="Kind of help (befriending, transport, ...).")
    kind: Series[str] = pa.Field(isin=EXCHANGE_KINDS, description="exchange, group activity, donation of hours, or a system credit.")

    class Config:
        metadata = {"key": "exchange_id"}


class ProgrammeEnrolments(pa.DataFrameModel):
    """Co-produced programmes outside the time bank (peer visiting after discharge, youth-court jury, prison projects)."""

    person_id: Series[str] = pa.Field(metadata=PERSON, description="Person enrolled.")
    programme_id: Series[str] = pa.Field(description="Programme identifier.")
    started_on: Series[pd.Timestamp] = pa.Field(metadata=EVENT_DATE, description="Enrolment date.")
    ended_on: Series[pd.Timestamp] = pa.Field(nullable=True, description="Date the enrolment ended, if it has.")

    class Config:
        metadata = {"natural_key": ["person_id", "programme_id", "started_on"], "order": [("started_on", "ended_on")]}


class StarReadings(pa.DataFrameModel):
    """Outcomes Star and well-being scale readings, long form (one row per area).

    Wide files (one column per area, beside person_id, star_version and assessed_on) are
    accepted and unpivoted at ingest. Versions, their areas and scale ranges are in
    ``data/reference/star_versions.yaml``; scores are stored, never the scale wording.
    """

    person_id: Series[str] = pa.Field(metadata=PERSON, description="Person assessed.")
    star_version: Series[str] = pa.Field(description="Instrument id from the scale registry (e.g. wellbeing_star, swemwbs).")
    assessed_on: Series[pd.Timestamp] = pa.Field(metadata=EVENT_DATE, description="Date of the reading.")
    area: Series[str] = pa.Field(description="Area (outcome domain) of the version; 'total' for WEMWBS/SWEMWBS.")
    score: Series[float] = pa.Field(description="Score, within the version's scale range.")

    class Config:
        metadata = {"natural_key": ["person_id", "star_version", "area", "assessed_on"], "scale_registry": True}


class HospitalSpells(pa.DataFrameModel):
    """Hospital provider spells (HES APC-like), one row per spell."""

    spell_id: Series[str] = pa.Field(metadata={"pseudonymise": True}, description="Spell identifier.")
    person_id: Series[str] = pa.Field(metadata=PERSON, description="Patient.")
    provider_id: Series[str] = pa.Field(description="Provider (trust) code.")
    admitted_on: Series[pd.Timestamp] = pa.Field(metadata=EVENT_DATE, description="Admission date.")
    discharged_on: Series[pd.Timestamp] = pa.Field(metadata=EVENT_DATE, description="Discharge date (not before admission).")
    admission_method: Series[str] = pa.Field(isin=ADMISSION_METHODS, description="How the patient was admitted.")
    discharge_destination: Series[str] = pa.Field(isin=DISCHARGE_DESTINATIONS, description="Where the patient went; 'transfer' chains spells.")
    specialty: Series[str] = pa.Field(description="Main specialty (e.g. general_medicine, obstetrics).")
    cancer: Series[bool] = pa.Field(description="Cancer diagnosis or chemotherapy coded in the spell.")
    primary_diagnosis: Optional[Series[str]] = pa.Field(nullable=True, icd10_code={"pattern": ICD10_CODE}, metadata=COVARIATE, description="Primary diagnosis of the spell, an ICD-10 code as the extract gives it (I21.9, I219, R69X): HES APC's DIAG_4_01 of the spell's first episode. Optional: without it (or with too few filled, `readmission.min_diagnosis_share`) specialty stands in for the diagnosis in the readmission case mix; with it the readmission model derives the ICD-10 chapter (I to XXII) and balances it.")

    class Config:
        metadata = {"key": "spell_id", "order": [("admitted_on", "discharged_on")]}


class JusticeEvents(pa.DataFrameModel):
    """Index events for reoffending cohorts."""

    person_id: Series[str] = pa.Field(metadata=PERSON, description="Person.")
    event_type: Series[str] = pa.Field(isin=JUSTICE_EVENT_TYPES, description="Custody release, community sentence, caution or youth-court disposal.")
    event_date: Series[pd.Timestamp] = pa.Field(metadata=EVENT_DATE, description="Date of the event (start of follow-up).")

    class Config:
        metadata = {}


class Offences(pa.DataFrameModel):
    """Proven offences (PNC-like): when committed and when proven by conviction or caution. Include each person's
    offences before their index events as well as after: those proven by an index date are the criminal history
    the reoffending comparison matches on (``proven_offences_to_index``)."""

    offence_id: Series[str] = pa.Field(metadata={"pseudonymise": True}, description="Offence identifier.")
    person_id: Series[str] = pa.Field(metadata=PERSON, description="Offender.")
    offence_date: Series[pd.Timestamp] = pa.Field(metadata=EVENT_DATE, description="Date the offence was committed.")
    proven_on: Series[pd.Timestamp] = pa.Field(metadata=EVENT_DATE, description="Date of conviction or caution (not before the offence).")
    offence_group: Series[str] = pa.Field(nullable=True, description="Offence group.")
    is_breach: Series[bool] = pa.Field(description="Breach of an order (not counted as a proven reoffence).")

    class Config:
        metadata = {"key": "offence_id", "order": [("offence_date", "proven_on")]}


class ServiceContacts(pa.DataFrameModel):
    """Contacts with other services (GP, A&E, mental health, social care)."""

    person_id: Series[str] = pa.Field(metadata=PERSON, description="Person.")
    service: Series[str] = pa.Field(isin=SERVICES, description="Service contacted.")
    contact_on: Series[pd.Timestamp] = pa.Field(metadata=EVENT_DATE, description="Date of contact.")

    class Config:
        metadata = {}


class Grants(pa.DataFrameModel):
    """Grants to time banks: what each funder paid, for which period."""

    grant_id: Series[str] = pa.Field(description="Grant identifier.")
    funder: Series[str] = pa.Field(description="Funder name.")
    timebank_id: Series[str] = pa.Field(description="Time bank funded.")
    amount: Series[float] = pa.Field(ge=0, description="Amount in GBP.")
    period_start: Series[pd.Timestamp] = pa.Field(description="First day the grant covers.")
    period_end: Series[pd.Timestamp] = pa.Field(description="Last day the grant covers.")

    class Config:
        metadata = {"key": "grant_id", "order": [("period_start", "period_end")]}


class CoproductionAssessments(pa.DataFrameModel):
    """Co-production self-assessment: 5 domains x 4 items, each scored 1-5."""

    timebank_id: Series[str] = pa.Field(description="Time bank assessed.")
    assessed_on: Series[pd.Timestamp] = pa.Field(metadata=EVENT_DATE, description="Date of the assessment.")
    domain: Series[str] = pa.Field(description="Domain of the framework.")
    item: Series[str] = pa.Field(description="Item within the domain.")
    score: Series[int] = pa.Field(in_range={"min_value": 1, "max_value": 5}, description="Score 1-5.")

    class Config:
        metadata = {"natural_key": ["timebank_id", "assessed_on", "domain", "item"]}


# Ingest order: a source comes after every source it references.
SOURCES: dict[str, type[pa.DataFrameModel]] = {
    "persons": Persons,
    "timebank_members": TimebankMembers,
    "timebank_exchanges": TimebankExchanges,
    "programme_enrolments": ProgrammeEnrolments,
    "star_readings": StarReadings,
    "hospital_spells": HospitalSpells,
    "justice_events": JusticeEvents,
    "offences": Offences,
    "service_contacts": ServiceContacts,
    "grants": Grants,
    "coproduction_assessments": CoproductionAssessments,
}

# Sources people keep by hand in spreadsheets, accepted as XLSX too.
XLSX_SOURCES = {"grants", "coproduction_assessments", "star_readings"}
