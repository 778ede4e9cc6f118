"""The analysis frame shared by the comparison, the survival curves and the Cox model.

* One row per person and final index event (:func:`models.reoffending.cohort.analysis_cohort`,
  ``settings.index_events`` = ``all``; ``first``: each person's earliest final index event only, the
  earlier rule). For a programme label, a person's rows after their first row whose participation
  window holds a start of it are left out (:func:`until_treated`): a participant is analysed once,
  at that index event, and their earlier index events are comparison units.
* Outcomes: ``reoffended`` (0/1), ``reoffences`` (count), ``duration`` (days to the first
  proven reoffence, or ``follow_up_days`` when there was none: everyone in a final cohort is
  followed for the whole year, so censoring only happens at its end) and ``event`` (0/1).
* Groups compared (:func:`programme_subset`), from a stated time zero (``settings.design``,
  :mod:`models.time_zero`, docs/methods.md "Target trials"). For a programme label, a
  person's start day is the day that programme started, counted from the index date (0 when
  it started on or before it); ``any_participation`` takes the earliest start. ``risk_set``
  (default): one trial per start day *k*; participants starting on day *k* against people with
  no reoffence committed before day *k* who had not started by then (they may start later).
  People whose participation in *another* programme began before their own time zero are left
  out of that programme's comparison. ``landmark``: time zero on day L among people with no
  reoffence before it. ``exposure_window``: the old, biased definition (follow-up from day 1).
  Outcomes are counted from ``trial_day`` (offences on days max(k, 1)..follow_up_days):
  ``reoffended``, ``reoffences``, ``duration`` (days from max(k, 1) - 1 to the first
  reoffence, or to the end of follow-up) and ``event``; under ``risk_set`` each row's ``route`` too (day 0 or days
  1+, :func:`models.time_zero.routes`), within which balance is checked. A unit (person and index event) can appear
  in several trials and a person through several units: intervals cluster on ``person_id``, and the
  covariates of a trial row are its unit's (``unit``), measured at that index event.
* Covariates: those named in the settings that exist, are not all missing and vary in the
  rows analysed (``earlier_index_events``, banded 0/1/2/3 or more by :func:`.cohort.analysis_cohort`, is 0 for
  every unit under ``index_events: first`` and so left out there); the others are left out with a note (never silently). Criminal history counted
  from the offences file gets a note when the file reaches back too little (:func:`history_note`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import chain

import numpy as np
import pandas as pd

from models.comparison.design import text_as_category
from models.time_zero import ROUTE, DesignWords, covariate_words, routes, trial_frame
from models.time_zero import design_sentence as sentence

from .cohort import EARLIER, analysis_cohort
from .settings import ReoffendingSettings

ANY = "any_participation"
HISTORY = "proven_offences_to_index"
#: Columns of core.justice_cohort measured at the index date that a comparison can match on; the persons file's
#: columns (sex, area_code, imd_decile and any further one) join them.
MEASURED_AT_INDEX = ("age", "event_type", "events_in_period", HISTORY, EARLIER)
#: Without ``history_years``, a history reaching back less than this before an analysed index event gets a note.
#: Our choice: the MoJ and the Justice Data Lab read criminal history from the whole Police National Computer
#: record; under ten years is a short part of most adult records.
SHORT_HISTORY_YEARS = 10


def analysis_frame(cohort: pd.DataFrame, settings: ReoffendingSettings) -> pd.DataFrame:
    """The analysis cohort with the outcome columns the comparison engine needs."""
    df = analysis_cohort(cohort, settings.index_events)
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
    df["programme_start_days"] = df["programme_start_days"].map(
        lambda v: list(v) if v is not None and not isinstance(v, float) else [])
    df["reoffence_days"] = df["reoffence_days"].map(lambda v: list(v) if v is not None and not isinstance(v, float) else [])
    return df


def programme_labels(df: pd.DataFrame) -> list[str]:
    """``any_participation`` then every programme label held by a participant, sorted."""
    labels = sorted({p for ps in df.get("programmes", pd.Series(dtype=object)) for p in ps}) if len(df) else []
    return [ANY, *labels]


def start_days(df: pd.DataFrame, programme: str) -> tuple[np.ndarray, np.ndarray]:
    """(own start day, earliest start day of any other programme) per row; NaN = none.

    A row's ``programmes`` are distinct labels, each with its start day at the same position of
    ``programme_start_days`` (the cohort groups them by programme)."""
    own, other = np.full(len(df), np.nan), np.full(len(df), np.nan)
    counts = np.fromiter(map(len, df["programmes"]), dtype=np.int64, count=len(df))
    owner = np.repeat(np.arange(len(df)), counts)
    labels = np.fromiter(chain.from_iterable(df["programmes"]), dtype=object, count=len(owner))
    days = np.fromiter(chain.from_iterable(df["programme_start_days"]), dtype=float, count=len(owner))
    if programme == ANY:
        np.fmin.at(own, owner, days)
        return own, other
    mine = labels == programme
    own[owner[mine]] = days[mine]
    np.fmin.at(other, owner[~mine], days[~mine])
    return own, other


def programme_subset(df: pd.DataFrame, programme: str, settings: ReoffendingSettings) -> pd.DataFrame:
    """The design rows of one programme label (module docstring): the person, the configured
    covariates, ``treated``, ``trial_day`` and the outcomes counted from ``trial_day``."""
    return design_rows(df, programme, settings)[0]


def design_rows(df: pd.DataFrame, programme: str, settings: ReoffendingSettings) -> tuple[pd.DataFrame, Covariates]:
    """:func:`programme_subset` and its :func:`usable_covariates`.

    The rows repeat units (one row per trial a person's index event is in), so everything that depends on
    the unit only is done once per unit: the covariates are read (:func:`usable_covariates`: the
    distinct values are the same on the units as on their rows) and coded for the engine
    (:func:`engine_columns`) on the units in a trial, then their rows are taken from those; ``unit``
    numbers the unit of each row (0, 1, ... in the order of the analysis frame's rows), the key of its
    covariates (a person's age and criminal history differ between their index events). The rows keep
    only what the comparison and the Cox model read."""
    present_covariates = [c for c in settings.covariates if c in df.columns]
    if df.empty:
        out = df[["person_id", *present_covariates]].copy() if "person_id" in df.columns else df.copy()
        for c, dtype in (("reoffended", int), ("reoffences", float), ("duration", float), ("event", int),
                         ("treated", int), ("trial_day", int), ("unit", np.int32)):
            out[c] = pd.Series(dtype=dtype)
        return out, usable_covariates(out, settings)
    own, other = start_days(df, programme)
    first = pd.to_numeric(df["days_to_first_reoffence"], errors="coerce").to_numpy(dtype=float)
    kept = np.flatnonzero(until_treated(df, own))
    units = pd.DataFrame({"unit": kept, "start": own[kept],
                          "event_day": np.where(df["reoffended"].to_numpy() == 1, first, np.nan)[kept],
                          "blocked": other[kept]})
    trials = trial_frame(units, settings.design, "start", "event_day", landmark_day=settings.landmark, blocked="blocked")
    # the four columns read below, each its own array (a column of the frame is a view of its dtype's block) and the
    # flags and days as small integer types (a trial frame has millions of rows; 0/1 flags, days up to 3650), so the
    # trial frame is not held while the rows are built
    unit = trials["unit"].to_numpy(copy=True)
    trial_day = trials["trial_day"].to_numpy().astype(np.int16)
    treated = trials["treated"].to_numpy().astype(np.int8)
    day = trials["event_day"].to_numpy(dtype=float, copy=True)
    del trials
    present, _, at = distinct_codes(unit)
    people = df.iloc[present]  # the units (person and index event) in some trial
    rows = engine_columns(people, present_covariates).take(at)  # the units' rows, one per trial they are in
    rows.index = pd.RangeIndex(len(rows))
    rows["unit"] = at.astype(np.int32)  # the row's unit among ``people``: its covariates are that index event's
    del at
    rows["trial_day"] = trial_day
    rows["treated"] = treated
    k = trial_day.astype(float)
    k1 = np.maximum(k, 1.0)
    hit = ~np.isnan(day) & (day >= k)
    rows["reoffended"] = hit.astype(np.int8)
    rows["event"] = hit.astype(np.int8)
    rows["reoffences"] = reoffences_from(df["reoffence_days"], unit, k)
    rows["duration"] = np.where(hit, day - k1 + 1, settings.follow_up_days - k1 + 1).astype(float)
    if settings.design == "risk_set":
        rows[ROUTE] = routes(trial_day)
    return rows, usable_covariates(people, settings)


def until_treated(df: pd.DataFrame, own: np.ndarray) -> np.ndarray:
    """Per row of ``df``: whether it is analysed for a programme whose start day per row is ``own`` (NaN: the row's
    participation window holds no start of it). A person's rows up to and including their first row with a start
    (by index date) are; their later rows are not (they had started: no longer eligible as comparison units, and
    analysed as participants once only). Every row of a person without a start is."""
    if len(df) == 0:
        return np.zeros(0, bool)
    person = pd.factorize(df["person_id"])[0]
    day = pd.to_datetime(df["index_date"]).to_numpy().astype("datetime64[D]").astype(np.int64)
    started = ~np.isnan(own)
    first = np.full(person.max() + 1, np.iinfo(np.int64).max)
    np.minimum.at(first, person[started], day[started])
    return day <= first[person]


def engine_columns(people: pd.DataFrame, covariates: list[str]) -> pd.DataFrame:
    """``person_id`` and the covariates of ``people``, typed for the comparison engine
    (:func:`model_frame`); the text columns (and ``person_id``) as categoricals whose levels are
    the sorted values, so that a row costs a small code, not a string, and the engine reads
    the same levels in the same order (reference first)."""
    return text_as_category(model_frame(people[["person_id", *covariates]], covariates), ["person_id", *covariates])


def reoffences_from(reoffence_days: pd.Series, unit: np.ndarray, day: np.ndarray) -> np.ndarray:
    """Per trial row: how many of its unit's reoffence days are on or after the row's ``day``.

    One pass over all the days: each (unit, day) pair becomes one integer key, ordered as the
    pairs are, so a sorted search counts a unit's days before ``day``."""
    lists = [v if v is not None else [] for v in reoffence_days]
    owner = np.repeat(np.arange(len(lists)), [len(v) for v in lists])
    days = np.fromiter((float(d) for v in lists for d in v), dtype=float, count=len(owner))
    owner, days = owner[~np.isnan(days)], days[~np.isnan(days)]  # a missing day is never on or after
    per_unit = np.bincount(owner, minlength=len(lists))
    values = np.unique(np.concatenate([days, pd.unique(day)]))  # trial rows share a few days: hash them first
    width = len(values)
    keys = np.sort(owner * width + np.searchsorted(values, days))
    before = np.searchsorted(keys, unit * width + np.searchsorted(values, day), side="left") - (np.cumsum(per_unit) - per_unit)[unit]
    return (per_unit[unit] - before).astype(float)


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
                         f"area_code, event_type, proven_offences_to_index, earlier_index_events); left out")
            continue
        s = df[c]
        if len(df) and s.isna().all():
            notes.append(f"covariate {c!r} is missing for everyone analysed; left out")
            continue
        if len(df) and _one_value(s):
            notes.append(f"covariate {c!r} takes one value only among the people analysed; left out")
            continue
        used.append(c)
    if HISTORY in used and (note := history_note(df, settings)):
        notes.append(note)
    return Covariates(
        used=used,
        exact=[c for c in settings.exact if c in used],
        categorical=[c for c in settings.categorical if c in used],
        notes=notes,
    )


def history_note(df: pd.DataFrame, settings: ReoffendingSettings) -> str | None:
    """A note when ``proven_offences_to_index`` counts less history than it should for the rows of ``df``.

    With ``history_years``: when the offences file starts after some rows' look-back began (their history
    is shorter than everyone else's). Without: when it starts less than :data:`SHORT_HISTORY_YEARS` before an
    analysed index event, since then a later index event counts more history than an earlier one, and an
    extract that starts at the cohort window counts almost none (a count of 0 or 1 for nearly everyone)."""
    if "history_from" not in df or df["history_from"].isna().all():
        return None
    index, since = pd.to_datetime(df["index_date"]), pd.to_datetime(df["history_from"])
    first = since.min().date().isoformat()
    days = (index - since).dt.days
    if settings.history_years is not None:
        short = int((days < round(settings.history_years * 365.25) - 1).sum())
        if not short:
            return None
        return (f"criminal history: the offences file starts on {first}, less than history_years "
                f"({settings.history_years:g}) before {short} of {len(df)} index events analysed; their history "
                f"is shorter than the others'")
    shortest, longest = days.min() / 365.25, days.max() / 365.25
    if shortest >= SHORT_HISTORY_YEARS:
        return None
    advice = (f"set reoffending.history_years to {int(shortest)} or less so every index event counts the same span, "
              if shortest >= 1 else "")
    return (f"criminal history: the offences file starts on {first}, {shortest:.1f} years before the earliest index "
            f"event analysed and {longest:.1f} before the latest, so later events count more history; {advice}"
            f"or supply a longer offences history")


def _one_value(s: pd.Series) -> bool:
    """``s.dropna().astype(str).nunique() < 2``, read from the distinct values first: two distinct
    texts among them settle it; otherwise the whole column is cast (values equal as numbers,
    e.g. 1 and 1.0, can still read differently)."""
    values = s.dropna()
    return values.drop_duplicates().astype(str).nunique() < 2 and values.astype(str).nunique() < 2


def distinct_codes(codes: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``np.unique(codes, return_index=True, return_inverse=True)`` for non-negative integer codes
    (persons, units), by counting instead of sorting: the distinct codes in ascending order, the
    first position of each and each position's index among them."""
    codes = np.asarray(codes, dtype=np.int64)
    if len(codes) == 0:
        return codes, np.zeros(0, np.int64), np.zeros(0, np.int64)
    seen = np.bincount(codes) > 0
    rank = np.cumsum(seen) - 1
    inverse = rank[codes]
    first = np.empty(int(seen.sum()), dtype=np.int64)
    first[inverse[::-1]] = np.arange(len(codes) - 1, -1, -1)  # the last write is the first position
    return np.flatnonzero(seen), first, inverse


def person_codes(person: pd.Series) -> np.ndarray:
    """Integer codes of the person ids in their sorted order (a categorical's own codes: its levels
    are sorted, :func:`engine_columns`)."""
    if isinstance(person.dtype, pd.CategoricalDtype) and person.cat.categories.is_monotonic_increasing:
        return person.cat.codes.to_numpy()
    return pd.factorize(person, sort=True)[0]


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


def design_sentence(settings: ReoffendingSettings, covariates: list[str], how: str = "matched on") -> str:
    """One plain sentence: when follow-up starts and who the comparison people are (``how``: "matched on" for the
    matched comparison, the Cox model's words for its rows, :mod:`.cox`)."""
    every = settings.index_events == "all"
    words = DesignWords(
        started="the index date if they started before it",
        end_note=" after the index date, so the rates are not the MoJ bulletin's (a year from the index event)",
        pool=("people at an index event as long ago (a participant's own earlier index events included) who had not "
              "reoffended or started by that day" if every else
              "people whose index event was as long ago, who had not reoffended or started by that day"),
        index="the index date", units="people who had not reoffended by", started_by="started by that day",
        first_day="the day after the index date")
    text = sentence(settings.design, words, on=covariate_words(covariates) or "no covariates",
                    end=settings.follow_up_days, landmark_day=settings.landmark,
                    grace_days=settings.participation_window_days, how=how)
    if not every:
        text += (" Only each person's first final index event is analysed (the earlier rule): people referred at a "
                 "later index event count as comparison people at their first.")
    return text


def follow_up_sentence(settings: ReoffendingSettings) -> str:
    """What the rates of a matched comparison count, for its per-100 sentences: the days after the index date the
    offences are counted on, and that they are therefore not the MoJ bulletin's one-year rates (day 1 to day 365
    after the index event, over a whole cohort)."""
    end = settings.follow_up_days
    if settings.design == "risk_set":
        days = (f"from each participant's start (the index date if they started before it; the same day after their "
                f"own index date for the comparison group) to day {end} after the index date")
    elif settings.design == "landmark":
        days = f"from day {settings.landmark} to day {end} after the index date"
    else:
        days = f"from the day after the index date to day {end}"
    return f"Follow-up runs {days}, among matched groups, so these are not MoJ bulletin proven reoffending rates."
