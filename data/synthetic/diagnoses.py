"""Primary diagnoses of the synthetic hospital spells (opt-in, ``--diagnoses``): an ICD-10 code per spell, written
as HES APC writes DIAG_4_01 (four characters, no full stop, a three-character code filled with X).

A spell's chapter is drawn from its specialty's row of :data:`CHAPTER_WEIGHTS` (a cancer spell's is Neoplasms,
chapter II, with probability :data:`CANCER_PRIMARY`), then a code uniformly from that chapter's :data:`CODES`:
common admission diagnoses, so general and geriatric medicine mix circulatory, respiratory, digestive and symptom
codes while cardiology is mostly circulatory. Every draw comes from its own stream ("diagnosis"), never from the
hospital's, so turning diagnoses on adds the column and changes nothing else in any file. Under the case-mix
scenario (truth.CaseMix) the chapter of a stay's first spell also enters the readmission and peer-visiting offer
logits (truth.CASEMIX_DIAGNOSIS_READMIT, truth.CASEMIX_DIAGNOSIS_ENROL): a confounder that specialty only partly
carries.
"""

from __future__ import annotations

import numpy as np

from .common import choose_rows

#: Chapters drawn (WHO ICD-10 chapter numbers) and a few common codes of each, HES DIAG_4_01 style.
CODES = {
    "I": ("A419", "A099", "B349"), "II": ("C189", "C349", "C509"), "IV": ("E119", "E871", "E86X"),
    "V": ("F329", "F209", "F102", "F03X"), "VI": ("G409", "G459", "G35X"), "IX": ("I219", "I500", "I489", "I639"),
    "X": ("J189", "J441", "J22X", "J459"), "XI": ("K358", "K802", "K922", "K573"), "XII": ("L031", "L024"),
    "XIII": ("M169", "M179", "M545"), "XIV": ("N390", "N179", "N200"), "XV": ("O809", "O701"),
    "XVIII": ("R074", "R104", "R55X", "R69X"), "XIX": ("S720", "S060", "T814", "S525"),
}
CHAPTERS = tuple(CODES)
ALL_CODES = tuple(code for chapter in CHAPTERS for code in CODES[chapter])
#: the chapter (index into CHAPTERS) of each code of ALL_CODES
CODE_CHAPTER = np.array([i for i, chapter in enumerate(CHAPTERS) for _ in CODES[chapter]])
_FIRST = np.cumsum([0, *(len(CODES[c]) for c in CHAPTERS)])[:-1]
_COUNT = np.array([len(CODES[c]) for c in CHAPTERS])

# Chapter weights by specialty (rows in hospital.SPECIALTIES order), columns in CHAPTERS order:
#              I     II    IV    V     VI    IX    X     XI    XII   XIII  XIV   XV    XVIII XIX
CHAPTER_WEIGHTS = np.array([
    [0.06, 0.00, 0.09, 0.00, 0.05, 0.16, 0.20, 0.12, 0.03, 0.00, 0.07, 0.00, 0.22, 0.00],  # general_medicine
    [0.00, 0.00, 0.00, 0.00, 0.00, 0.00, 0.00, 0.55, 0.10, 0.00, 0.10, 0.00, 0.20, 0.05],  # general_surgery
    [0.05, 0.00, 0.06, 0.05, 0.08, 0.14, 0.20, 0.05, 0.00, 0.00, 0.10, 0.00, 0.15, 0.12],  # geriatric_medicine
    [0.00, 0.00, 0.00, 0.00, 0.00, 0.85, 0.00, 0.00, 0.00, 0.00, 0.00, 0.00, 0.15, 0.00],  # cardiology
    [0.00, 0.00, 0.00, 0.00, 0.00, 0.10, 0.80, 0.00, 0.00, 0.00, 0.00, 0.00, 0.10, 0.00],  # respiratory
    [0.00, 0.00, 0.00, 0.00, 0.00, 0.00, 0.00, 0.00, 0.00, 0.50, 0.00, 0.00, 0.00, 0.50],  # orthopaedics
    [0.00, 0.00, 0.00, 0.00, 0.00, 0.00, 0.00, 0.00, 0.00, 0.00, 0.00, 1.00, 0.00, 0.00],  # obstetrics
    [0.00, 0.00, 0.00, 0.95, 0.00, 0.00, 0.00, 0.00, 0.00, 0.00, 0.00, 0.00, 0.00, 0.05],  # mental_health
])
NEOPLASMS = CHAPTERS.index("II")
CANCER_PRIMARY = 0.6  # share of cancer spells whose primary diagnosis is the neoplasm


def draw(rng: np.random.Generator, specialty: np.ndarray, cancer: np.ndarray, member: np.ndarray | None = None,
         strength: float = 0.0, sicker: tuple[str, ...] = ()) -> np.ndarray:
    """Codes (indices into :data:`ALL_CODES`) for spells of these specialties and cancer flags; three uniforms a
    spell from ``rng``, whatever the spell. With ``member`` (the case-mix scenario: the stay's person had time-bank
    activity in the 90 days before it), a member's stay drawn in one of the ``sicker`` chapters is drawn again from
    its specialty's row with probability ``strength`` / 2 (two more uniforms a spell, for every spell)."""
    chapter = choose_rows(rng, CHAPTER_WEIGHTS, specialty)
    if member is not None:
        again = choose_rows(rng, CHAPTER_WEIGHTS, specialty)
        leave = np.asarray(member, bool) & np.isin(chapter, [CHAPTERS.index(c) for c in sicker])
        chapter = np.where(leave & (rng.random(chapter.size) < strength / 2), again, chapter)
    chapter = np.where(np.asarray(cancer, bool) & (rng.random(chapter.size) < CANCER_PRIMARY), NEOPLASMS, chapter)
    within = np.minimum(np.floor(rng.random(chapter.size) * _COUNT[chapter]).astype(np.int64), _COUNT[chapter] - 1)
    return _FIRST[chapter] + within


def chapter_logit(terms: dict, strength: float, codes: np.ndarray) -> np.ndarray:
    """The case-mix scenario's logit terms (``terms``: chapter -> log-odds) of stays whose first spell has ``codes``."""
    beta = np.array([terms.get(chapter, 0.0) for chapter in CHAPTERS])
    return strength * beta[CODE_CHAPTER[codes]]
