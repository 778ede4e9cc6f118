"""The analysis frame shared by the comparison, the survival curves and the Cox model.

* One row per person: their first index event among the final cohorts
  (:func:`models.reoffending.cohort.analysis_cohort`).
* Outcomes: ``reoffended`` (0/1), ``reoffences`` (count), ``duration`` (days to the first
  proven reoffence, or ``follow_up_days`` when there was none: everyone in a final cohort is
  followed for the whole year, so censoring only happens at its end) and ``event`` (0/1).
* Groups compared: for a programme label, its participants (``treated`` = 1) against
  everyone who took part in nothing (``treated`` = 0); people in other programmes only are
  left out. ``any_participation`` compares all participants with the same pool.
* Covariates: those named in the settings that exist, are not all missing and vary in the
  rows analysed; the others are left out with a note (never silently).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .cohort import analysis_cohort
from .settings import ReoffendingSettings

ANY = "any_participation"


def analysis_frame(cohort: pd.DataFrame, settings: ReoffendingSettings) -> pd.DataFrame:
    """The analysis cohort with the outcome columns the comparison engine needs."""
    df = analysis_cohort(cohort)
    if df.empty:
        for c, dtype in (("reoffended", int), ("reoffences", float), ("duration", float), ("event", int)):
            df[c] = pd.Series(dtype=dtype)
        return df
    df["reoffended"] = df["reoffended"].astype(bool).astype(int)
    df["reoffences"] = df["reoffences"].astype(float)
    days = pd.to_numeric(df["days_to_first_reoffence"], errors="coerce")
    df["event"] = df["reoffended"]
    df["duration"] = np.where(df["reoffended"] == 1, days, float(settings.follow_up_days)).astype(float)
    df["programmes"] = df["programmes"].map(lambda v: list(v) if v is not None and not isinstance(v, float) else [])
    return df


def programme_labels(df: pd.DataFrame) -> list[str]:
    """``any_participation`` then every programme label held by a participant, sorted."""
    labels = sorted({p for ps in df.get("programmes", pd.Series(dtype=object)) for p in ps}) if len(df) else []
    return [ANY, *labels]


def programme_subset(df: pd.DataFrame, programme: str) -> pd.DataFrame:
    """Participants of ``programme`` (treated 1) and non-participants (treated 0)."""
    if df.empty:
        out = df.copy()
        out["treated"] = pd.Series(dtype=int)
        return out
    part = df["participant"].astype(bool)
    if programme == ANY:
        treated = part
    else:
        treated = df["programmes"].map(lambda ps: programme in ps)
    keep = treated | ~part
    out = df.loc[keep].copy()
    out["treated"] = treated[keep].astype(int)
    return out.reset_index(drop=True)


@dataclass
class Covariates:
    used: list[str]
    exact: list[str]
    categorical: list[str]
    notes: list[str] = field(default_factory=list)


def usable_covariates(df: pd.DataFrame, settings: ReoffendingSettings) -> Covariates:
    """The configured covariates that can enter a model on ``df`` (see module docstring)."""
    used, notes = [], []
    for c in settings.covariates:
        if c not in df.columns:
            notes.append(f"covariate {c!r} is not a column of the cohort (persons columns and age, sex, imd_decile, "
                         f"area_code, event_type); left out")
            continue
        s = df[c]
        if len(df) and s.isna().all():
            notes.append(f"covariate {c!r} is missing for everyone analysed; left out")
            continue
        if len(df) and s.dropna().astype(str).nunique() < 2:
            notes.append(f"covariate {c!r} takes one value only among the people analysed; left out")
            continue
        used.append(c)
    return Covariates(
        used=used,
        exact=[c for c in settings.exact if c in used],
        categorical=[c for c in settings.categorical if c in used],
        notes=notes,
    )


def model_frame(df: pd.DataFrame, covariates: list[str]) -> pd.DataFrame:
    """The covariate columns with types the comparison engine codes predictably.

    DuckDB's nullable integers and booleans arrive as pandas extension dtypes; they become
    float (numeric) and object True/False/None (boolean), so missing values follow the engine's
    rule instead of failing a cast.
    """
    out = df.copy()
    for c in covariates:
        s = out[c]
        if pd.api.types.is_bool_dtype(s.dtype) and s.isna().any():
            out[c] = s.astype(object).where(s.notna(), None)
        elif pd.api.types.is_bool_dtype(s.dtype):
            out[c] = s.astype(bool)
        elif pd.api.types.is_numeric_dtype(s.dtype):
            out[c] = pd.to_numeric(s, errors="coerce").astype(float)
        else:
            out[c] = s.astype(object).where(s.notna(), None)
    return out
