"""The ICD-10 chapter of a spell's primary diagnosis, and whether the readmission case mix can use it.

Chapters are the WHO's (ICD-10 Volume 1, Tabular list, Fifth edition 2016, "Chapters" table; the same blocks in the
ICD-10 Version:2019 browser, icd.who.int/browse10/2019/en): each chapter is a range of three-character categories,
letter and two digits, first and last inclusive. HES derives the same field from diag_01 ("Primary diagnosis
chapter": chapters I to XXII; HES Data Dictionary, Admitted Patient Care). A code is read by its first three
characters, upper-cased, whatever follows (I21.9, I219, R69X); a category inside no chapter (D49, E95, H99, K95,
P97, U99, Y99: not ICD-10 categories) has no chapter, as an empty code has none.

The NHS readmission indicator standardises on "method of admission and diagnosis/procedure" (I02040 v3, technical
description): the chapter is the coarsest diagnosis grouping, so it enters the comparison as one categorical
covariate, its rare chapters pooled by ``min_level_count`` like any text covariate's levels.
"""

from __future__ import annotations

import pandas as pd

from .settings import ReadmissionSettings

#: (chapter, first category, last category, title): WHO ICD-10 (2016 / 2019) chapters I-XXII.
CHAPTERS = (
    ("I", "A00", "B99", "Certain infectious and parasitic diseases"),
    ("II", "C00", "D48", "Neoplasms"),
    ("III", "D50", "D89", "Diseases of the blood and blood-forming organs and certain disorders involving the immune mechanism"),
    ("IV", "E00", "E90", "Endocrine, nutritional and metabolic diseases"),
    ("V", "F00", "F99", "Mental and behavioural disorders"),
    ("VI", "G00", "G99", "Diseases of the nervous system"),
    ("VII", "H00", "H59", "Diseases of the eye and adnexa"),
    ("VIII", "H60", "H95", "Diseases of the ear and mastoid process"),
    ("IX", "I00", "I99", "Diseases of the circulatory system"),
    ("X", "J00", "J99", "Diseases of the respiratory system"),
    ("XI", "K00", "K93", "Diseases of the digestive system"),
    ("XII", "L00", "L99", "Diseases of the skin and subcutaneous tissue"),
    ("XIII", "M00", "M99", "Diseases of the musculoskeletal system and connective tissue"),
    ("XIV", "N00", "N99", "Diseases of the genitourinary system"),
    ("XV", "O00", "O99", "Pregnancy, childbirth and the puerperium"),
    ("XVI", "P00", "P96", "Certain conditions originating in the perinatal period"),
    ("XVII", "Q00", "Q99", "Congenital malformations, deformations and chromosomal abnormalities"),
    ("XVIII", "R00", "R99", "Symptoms, signs and abnormal clinical and laboratory findings, not elsewhere classified"),
    ("XIX", "S00", "T98", "Injury, poisoning and certain other consequences of external causes"),
    ("XX", "V01", "Y98", "External causes of morbidity and mortality"),
    ("XXI", "Z00", "Z99", "Factors influencing health status and contact with health services"),
    ("XXII", "U00", "U85", "Codes for special purposes"),
)
#: the covariate of core.index_discharges
DIAGNOSIS_CHAPTER = "diagnosis_chapter"


def chapter_of(code: str | None) -> str | None:
    """The chapter ('I' ... 'XXII') of an ICD-10 code as given; None for no code or a category in no chapter."""
    if not code:
        return None
    category = code.strip()[:3].upper()
    return next((ch for ch, first, last, _ in CHAPTERS if first <= category <= last), None)


def chapter_sql(code: str) -> str:
    """SQL for :func:`chapter_of` of the text expression ``code`` (three-character categories compare as text)."""
    category = f"upper(left(trim({code}), 3))"
    whens = " ".join(f"WHEN {category} BETWEEN '{first}' AND '{last}' THEN '{ch}'" for ch, first, last, _ in CHAPTERS)
    return f"CASE {whens} END"


def diagnosis_case_mix(discharges: pd.DataFrame, settings: ReadmissionSettings) -> tuple[ReadmissionSettings, list[str]]:
    """(settings, notes): ``settings`` unchanged when they do not name :data:`DIAGNOSIS_CHAPTER` or when at least
    ``min_diagnosis_share`` of ``discharges`` have a chapter; otherwise without it (in the covariates and the exact
    columns), with a note that specialty stands in for the diagnosis. So an extract without diagnoses is compared as
    before the column existed, figure for figure."""
    if DIAGNOSIS_CHAPTER not in settings.compared_columns:
        return settings, []
    share = float(discharges[DIAGNOSIS_CHAPTER].notna().mean()) if len(discharges) and DIAGNOSIS_CHAPTER in discharges else 0.0
    if share >= settings.min_diagnosis_share:
        return settings, []
    drop = lambda names: tuple(c for c in names if c != DIAGNOSIS_CHAPTER)  # noqa: E731
    kept = settings.model_copy(update={f: drop(getattr(settings, f)) for f in ("matching_covariates", "matching_exact", "exact")})
    given = ("no discharge has a primary diagnosis with an ICD-10 chapter" if share == 0 else
             f"only {share:.0%} of the discharges have a primary diagnosis with an ICD-10 chapter "
             f"(min_diagnosis_share {settings.min_diagnosis_share:.0%})")
    return kept, [f"{DIAGNOSIS_CHAPTER} left out: {given}; specialty stands in for the diagnosis the NHS indicator "
                  "standardises on"]
