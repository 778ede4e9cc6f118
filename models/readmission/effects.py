"""Participants' discharges against matched comparison discharges, from a stated time zero.

The unit is the index discharge with full follow-up (as in the NHS indicator). Participation
can start after the discharge (peer visiting 0-14 days later), so the comparison is a target
trial (docs/methods.md, "Target trials") built by :mod:`models.time_zero`:

* ``risk_set`` (default): one sequential trial per day *k* on which participants start. Time
  zero is day *k*: 0 for time-bank activity in the 90 days before discharge (known at
  discharge), the enrolment day for a programme start (``programme_start_day``). Participants
  starting that day are matched, exactly on *k*, to discharges still at risk (no readmission
  on days 0..k-1) and not yet enrolled by day *k*; a comparison discharge can serve on several
  days and start later.
* ``landmark``: time zero on day L (``settings.landmark``, default 14) among discharges not
  readmitted before it; participants started by day L.
* ``exposure_window``: the old, biased definition (any start within 14 days, follow-up from
  day 0), kept only to show the bias.
* ``clone_censor_weight``: every discharge cloned at discharge into "start within 14 days" and
  "do not", censored on deviation, weighted (:mod:`.clone_censor`); no matching.

The outcome is a readmission on day *k* (or L) to ``window_max_days`` (29) after discharge,
for both groups. Comparisons: ``any`` (either route), ``timebank`` (time-bank activity; a
discharge whose programme start comes on or before its time zero is left out) and
``programme`` (enrolment; discharges with time-bank activity before discharge are left out,
being exposed by the other route at time zero). Covariates are fixed at discharge, before
every time zero. Intervals are clustered on the matched set and on the person (several
discharges per person, several trial rows per discharge): the engine's ``cluster``.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd

from models.comparison import ComparisonError, estimand_label, estimate_effect, jdl_statement, matched_share_note
from models.comparison.design import is_text, text_as_category
from models.comparison.diagnostics import MATCHED_READ, SCORES_READ, release_rows
from models.time_zero import ROUTE, DesignWords, covariate_words, routes, trial_frame
from models.time_zero import design_sentence as sentence

from .clone_censor import ccw_row
from .diagnosis import DIAGNOSIS_CHAPTER, diagnosis_case_mix
from .settings import ReadmissionSettings
from .tables import READMISSION_EFFECTS, empty_frame
from schemas.marts import mart

OUTCOME = "readmitted_within_30_days"
#: The rates are per discharge (a person discharged twice is two units): "for every 100 ... discharges".
PER_100 = ("comparison discharges", "participant discharges")
COMPARISONS = ("any", "timebank", "programme")
_MEASURES = {"risk_difference": "rd", "odds_ratio": "or", "risk_ratio": "rr"}
_WHO = {"any": "people with time-bank activity in the 90 days before discharge or a programme start after it",
        "timebank": "people with time-bank activity in the 90 days before discharge",
        "programme": "people who started a programme after discharge"}


def units(discharges: pd.DataFrame, comparison: str) -> pd.DataFrame:
    """Discharges with ``start`` (day participation starts), ``event`` (day of readmission) and
    ``blocked`` (day exposure by the route not compared begins) for one comparison."""
    tb = discharges["exposed_timebank"].fillna(False).astype(bool).to_numpy()
    prog = pd.to_numeric(discharges["programme_start_day"], errors="coerce").to_numpy(dtype=float)
    readmitted = discharges["readmitted"].fillna(False).astype(bool).to_numpy()
    days = pd.to_numeric(discharges["days_to_readmission"], errors="coerce").to_numpy(dtype=float)
    start = {"any": np.where(tb, 0.0, prog), "timebank": np.where(tb, 0.0, np.nan), "programme": np.where(tb, np.nan, prog)}
    blocked = {"any": np.full(len(tb), np.nan), "timebank": np.where(tb, np.nan, prog), "programme": np.where(tb, 0.0, np.nan)}
    return discharges.assign(start=start[comparison], event=np.where(readmitted, days, np.nan),
                             blocked=blocked[comparison]).reset_index(drop=True)


#: the columns of a discharge :func:`units` reads
UNIT_COLUMNS = ("exposed_timebank", "programme_start_day", "readmitted", "days_to_readmission")


def read_columns(settings: ReadmissionSettings) -> list[str]:
    """The columns of a discharge :func:`readmission_effects` reads (every design): the ids,
    :data:`UNIT_COLUMNS`, the covariates and the exact columns."""
    return list(dict.fromkeys(["discharge_id", "person_id", *UNIT_COLUMNS, *settings.compared_columns]))


def comparison_columns(discharges: pd.DataFrame, settings: ReadmissionSettings) -> pd.DataFrame:
    """The columns the matched comparison reads (ids, :data:`UNIT_COLUMNS`, covariates, exact columns):
    the trial frames repeat each discharge on every trial day, so they carry no other column, and
    the ids and text covariates are categorical (the same values held as integer codes, so the engine's
    clustering on the person, the count of discharges and the coding of a covariate such as ``sex``
    read integers, not millions of strings), and integer covariates take the narrowest integer type that
    holds their values (the engine reads them as floats, the same numbers). A text covariate's categories
    are its sorted values, the reference-first order the engine gives text
    (:func:`models.comparison.design.build_design`)."""
    frame = discharges[[c for c in read_columns(settings) if c in discharges.columns]]
    frame = text_as_category(frame, [c for c in settings.compared_columns if c in frame.columns])
    frame = frame.astype({c: "category" for c in ("discharge_id", "person_id") if c in frame.columns})
    for c in settings.compared_columns:
        if c in frame.columns and frame[c].dtype.kind in "iu":
            frame[c] = pd.to_numeric(frame[c], downcast="integer")  # the same values, in the fewest bytes
    return frame


#: the route column of the risk-set ``any`` comparison's rows (:func:`design_rows`): trial day 0 (time-bank activity
#: before discharge, or a programme start on the discharge day: the same trial) or later (programme starts). Balance
#: is checked within each route; under ``score_by_route`` each also has its own propensity score
SCORE_GROUP = ROUTE


def design_rows(discharges: pd.DataFrame, settings: ReadmissionSettings, comparison: str) -> pd.DataFrame:
    """The rows to match for one comparison: ``treated``, ``trial_day`` and the outcome ``readmitted``
    counted from ``trial_day``; the risk-set ``any`` comparison's rows also carry their route (:data:`SCORE_GROUP`)."""
    unit_rows = units(discharges, comparison)
    # the trial rows repeat each discharge on every trial day: they carry neither the routes units() has
    # read into start and blocked nor the readmission flag counted again from trial_day below
    read = [c for c in ("exposed_timebank", "programme_start_day", "readmitted")
            if c not in settings.compared_columns]
    rows = trial_frame(unit_rows.drop(columns=read), settings.design, "start", "event",
                       landmark_day=settings.landmark, blocked="blocked")
    event = rows["event"].to_numpy(dtype=float)
    rows["readmitted"] = (~np.isnan(event) & (event >= rows["trial_day"].to_numpy())).astype(np.int8)
    for day_or_flag in ("trial_day", "treated"):  # the same values in the fewest bytes: millions of rows
        rows[day_or_flag] = pd.to_numeric(rows[day_or_flag], downcast="integer")
    if comparison == "any" and settings.design == "risk_set":
        rows[SCORE_GROUP] = routes(rows["trial_day"].to_numpy())
    return rows


#: the level rare levels of a text covariate are pooled into (:func:`pool_rare_levels`)
POOLED = "other (pooled)"


def pool_rare_levels(frame: pd.DataFrame, covariates: list[str], treated: np.ndarray, unit: np.ndarray,
                     min_count: int) -> tuple[pd.DataFrame, list[str], list[str]]:
    """(frame, covariates kept, notes): each text covariate's levels held by fewer than ``min_count`` participant
    discharges or fewer than ``min_count`` comparison discharges (distinct ``unit`` values among the rows with
    ``treated`` 0: a discharge repeats on every trial day it is at risk) pooled into :data:`POOLED`; the pool, when
    itself below ``min_count`` in either group, joins the commonest level (most discharges). A covariate left with
    one level is dropped from the covariates (it cannot predict participation; the engine refuses a constant
    covariate). Missing values are left as they are (the engine's ``(missing)`` level); numeric covariates are
    untouched; ``min_count`` 0 pools nothing. Counting discharges, not rows, keeps the rule the same for every
    design. A pooled covariate is replaced in ``frame`` itself (a category column: its integer codes remapped, no copy of the other columns)."""
    if min_count <= 0:  # no pooling
        return frame, list(covariates), []
    t = np.asarray(treated).astype(bool)
    _, first_c = np.unique(np.asarray(unit)[~t], return_index=True)  # each comparison discharge once (its first row)
    control_rows = np.flatnonzero(~t)[first_c]
    kept, notes = [], []
    for cov in covariates:
        col = frame[cov]
        if isinstance(col.dtype, pd.CategoricalDtype):
            codes, cats = col.cat.codes.to_numpy(), list(col.cat.categories)
        elif is_text(col):
            codes, cats = pd.factorize(col, sort=True)
            cats = list(cats)
        else:
            kept.append(cov)
            continue
        k = len(cats)
        n_t = np.bincount(codes[t & (codes >= 0)], minlength=k)
        c_codes = codes[control_rows]
        n_c = np.bincount(c_codes[c_codes >= 0], minlength=k)
        present = (n_t + n_c) > 0
        rare = present & ((n_t < min_count) | (n_c < min_count))
        label = list(cats)
        if rare.any():
            common = np.flatnonzero(present & ~rare)
            into = POOLED
            if (n_t[rare].sum() < min_count or n_c[rare].sum() < min_count) and len(common):
                into = cats[common[np.argmax((n_t + n_c)[common])]]  # the commonest level, ties to the first
            for i in np.flatnonzero(rare):
                label[i] = into
            new_cats = sorted({label[i] for i in np.flatnonzero(present)}, key=str)
            where = {c: j for j, c in enumerate(new_cats)}
            remap = np.array([where.get(label[i], -1) for i in range(k)] + [-1], dtype=np.int64)  # [-1]: missing
            frame[cov] = pd.Categorical.from_codes(remap[codes], categories=new_cats)
            notes.append(f"{cov}: levels {sorted(str(cats[i]) for i in np.flatnonzero(rare))} (fewer than {min_count} "
                         f"participant or comparison discharges) pooled into {into!r}")
        if len({label[i] for i in np.flatnonzero(present)}) < 2:
            notes.append(f"{cov}: one level among the discharges compared, left out of the covariates")
            continue
        kept.append(cov)
    return frame, kept, notes


def design_sentence(settings: ReadmissionSettings, comparison: str, covariates: list[str]) -> str:
    """One plain sentence: when follow-up starts and who the comparison people are (matched exactly on the ``exact``
    columns, then on the covariates)."""
    on, how = covariate_words(covariates), "matched on"
    if settings.readmission_exact:
        on, how = f"{covariate_words(list(settings.readmission_exact))} and on {on}", "matched exactly on"
    words = DesignWords(
        started=f"{_WHO[comparison]}; day 0 for time-bank members", end_note=" after discharge",
        pool="discharges as long ago that were not yet readmitted or enrolled that day", index="discharge",
        units="discharges not readmitted before", started_by=f"{_WHO[comparison]} by that day",
        first_day="on the discharge day")
    text = sentence(settings.design, words, on=on, end=settings.window_max_days, landmark_day=settings.landmark,
                    grace_days=settings.enrolment_days_after_discharge, how=how)
    if settings.score_by_route and comparison == "any" and settings.design == "risk_set":
        text += (" The score is fitted separately for the discharge day (time-bank route) and for later days "
                 "(programme starts).")
    if "specialty" in covariates and DIAGNOSIS_CHAPTER not in [*covariates, *settings.readmission_exact]:
        text += " Specialty stands in for the diagnosis (no ICD-10 chapter of the primary diagnosis is compared)."
    return text


def pool_covariates(rows: pd.DataFrame, settings: ReadmissionSettings) -> tuple[pd.DataFrame, list[str], list[str]]:
    """:func:`pool_rare_levels` of the design rows of one comparison (``treated``, ``discharge_id``) for the matching
    covariates: (rows, covariates kept, notes for the warnings)."""
    if not len(rows):
        return rows, list(settings.matching_covariates), []
    return pool_rare_levels(rows, list(settings.matching_covariates), rows["treated"].to_numpy(),
                            rows["discharge_id"].to_numpy(), settings.min_level_count)


def covariates_column(settings: ReadmissionSettings, covariates: list[str]) -> str:
    """The mart's ``covariates``: the exact columns, then the covariates of the score (what matching balanced)."""
    return ", ".join(dict.fromkeys([*settings.readmission_exact, *covariates]))


def run_comparison(df: pd.DataFrame, settings: ReadmissionSettings, treatment: str = "treated", covariates=None, **kw):
    """estimate_effect with the readmission settings on design rows (for notebooks; raises ComparisonError)."""
    covs = list(settings.matching_covariates if covariates is None else covariates)
    return estimate_effect(
        df, treatment, "readmitted", covs, "binary", method=settings.method, caliper=settings.caliper,
        ratio=settings.ratio, replace=settings.replace, exact=["trial_day", *settings.readmission_exact],
        seed=settings.seed, cluster="person_id", outcome_label=f"were readmitted {settings.readmitted_within}",
        score_groups=SCORE_GROUP if settings.score_by_route and SCORE_GROUP in df.columns else None,
        balance_groups=SCORE_GROUP if SCORE_GROUP in df.columns else None, **kw,
    )


def _design_columns(settings, comparison, covs, n_matched, n_treated) -> dict:
    share = n_matched / n_treated if n_treated else np.nan
    return {"design": settings.design, "design_sentence": design_sentence(settings, comparison, covs),
            "estimand": estimand_label(n_matched, n_treated), "share_participants_matched": share}


def _row_from(res, comparison: str, n: int, covs: list[str], settings, extra_warnings: list[str]) -> dict:
    row = {
        "comparison": comparison, "outcome": OUTCOME, "method": res.method, "status": "estimated",
        "n_discharges": n, "n_treated": res.n_treated, "n_matched": res.n_matched,
        "n_control_matched": res.n_control_matched, "participant_rate": res.treated_value,
        "comparison_rate": res.comparison_value, "verdict": res.verdict,
        "jdl_statement": jdl_statement("binary", res.treated_value, res.comparison_value,
                                       f"were readmitted {settings.readmitted_within}", per=PER_100),
        "max_abs_smd_after": float(np.nanmax(np.abs(res.balance["smd_after"]))) if len(res.balance) else np.nan,
        "n_balance_flags": int(res.balance["flag"].sum()) if len(res.balance) else 0,
        "covariates": covariates_column(settings, covs), "warnings": " | ".join([*res.warnings, *extra_warnings]),
        **_design_columns(settings, comparison, covs, res.n_matched, res.n_treated),
    }
    for measure, short in _MEASURES.items():
        if measure in res.effects.index:
            e = res.effects.loc[measure]
            row[measure] = e["estimate"]
            row[f"{short}_ci_low"], row[f"{short}_ci_high"], row[f"{short}_p_value"] = e["ci_low"], e["ci_high"], e["p_value"]
    return row


def compare(compared: pd.DataFrame, settings: ReadmissionSettings, comparison: str,
            keep_rows: bool = False) -> tuple[dict | None, object]:
    """One comparison (any / timebank / programme): its mart row (None: no participants by this route)
    and its results object (None when not estimated). ``compared``: :func:`comparison_columns` of the
    discharges (the discharges themselves for ``clone_censor_weight``, which reads them whole).
    ``keep_rows``: the results keep their person-level rows; otherwise they keep their balance and overlap rows
    only (:func:`models.comparison.diagnostics.release_rows`), so that one comparison's rows are held at a time."""
    if settings.design == "clone_censor_weight":
        cloned = units(compared, comparison)
        started = (cloned["start"] <= settings.enrolment_days_after_discharge).to_numpy()
        if not started.any():
            return None, None  # no participants by this route: nothing to report
        # no matching: the exact columns enter the weights' model as covariates
        cloned, covs, notes = pool_rare_levels(
            cloned, list(settings.compared_columns), started,
            cloned["discharge_id"].to_numpy(), settings.min_level_count)
        return ccw_row(cloned, settings, comparison, OUTCOME, covs, notes), None
    df = design_rows(compared, settings, comparison)
    n_t = int(df["treated"].sum())
    n_units = int(df["discharge_id"].nunique()) if len(df) else 0
    df, covs, pooled = pool_covariates(df, settings)
    reported = covariates_column(settings, covs)
    # counted into treated and readmitted, or (the discharge id) into n_units
    for read in ("start", "event", "blocked", "days_to_readmission", "discharge_id"):
        if read in df.columns and read not in (*covs, *settings.readmission_exact):
            del df[read]  # in place: the engine's input (and matched data) carry only what it reads
    extra = list(pooled)
    if settings.design == "exposure_window":
        extra.append("design exposure_window counts participation that starts after follow-up has begun: "
                     "immortal time biases the estimate towards benefit")
    try:
        # the results keep of the person-level rows only what the diagnostics read (millions of rows)
        res = run_comparison(df, settings, covariates=covs, matched_columns=MATCHED_READ, score_columns=SCORES_READ)
    except ComparisonError as err:
        if n_t == 0:
            return None, None  # no participants by this route: nothing to report
        return {
            "comparison": comparison, "outcome": OUTCOME, "method": settings.method, "status": "not estimated",
            "n_discharges": n_units, "n_treated": n_t, "n_matched": 0, "n_control_matched": 0,
            "participant_rate": float(df.loc[df["treated"] == 1, "readmitted"].mean()),
            "comparison_rate": np.nan, "verdict": "not estimated", "jdl_statement": None,
            "covariates": reported, "warnings": " | ".join([str(err), *extra]),
            **_design_columns(settings, comparison, covs, 0, n_t),
        }, None
    if note := matched_share_note(res.n_matched, res.n_treated):
        extra.append(note)
    return _row_from(res, comparison, n_units, covs, settings, extra), res if keep_rows else release_rows(res)


def readmission_effects(discharges: pd.DataFrame, settings: ReadmissionSettings,
                        keep_rows: bool = False) -> tuple[pd.DataFrame, dict]:
    """One row per comparison (any / timebank / programme); results objects for metadata and diagnostics
    (with their person-level rows when ``keep_rows``, as :func:`compare`).

    ``discharges``: full-follow-up rows of core.index_discharges (plus person covariates). The diagnosis chapter
    is compared only when enough of them have one (:func:`.diagnosis.diagnosis_case_mix`, whose note then joins
    every row's warnings).
    No discharges: an empty table. Too few to compare: a row with status ``not estimated``
    and the reason in ``warnings``. ``settings.workers`` comparisons run at the same time, each
    in a thread on its own trial rows, so the figures are the same for any number of workers (test).
    """
    if discharges.empty:
        return empty_frame(READMISSION_EFFECTS), {}
    settings, notes = diagnosis_case_mix(discharges, settings)
    compared = discharges if settings.design == "clone_censor_weight" else comparison_columns(discharges, settings)
    with ThreadPoolExecutor(settings.workers) as pool:  # map keeps the comparisons' order
        done = list(pool.map(lambda comparison: compare(compared, settings, comparison, keep_rows), COMPARISONS))
    rows = [{**row, "warnings": " | ".join(filter(None, [row.get("warnings"), *notes]))} for row, _ in done if row is not None]
    results = {comparison: res for comparison, (_, res) in zip(COMPARISONS, done) if res is not None}
    if not rows:
        return empty_frame(READMISSION_EFFECTS), results
    return mart("marts.readmission_effects").frame(rows), results
