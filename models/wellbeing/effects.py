"""Participants' change in well-being against a matched comparison group (the comparison engine).

The default design (``design = "prior_reading"``) is the target trial of docs/methods.md
("Well-being"), built in SQL as ``core.wellbeing_trials``: one trial per calendar month in
which someone started taking part; participants started that month and have a baseline
reading at most ``baseline_lookback_days`` before starting (time zero = the start);
comparison people had a reading in the same window up to the month's first day and had not
started by then (a person starting later that month is in both arms, as a comparison person
at the month's start and a participant from their own start, but never their own comparison:
:func:`own_comparison_rows`). The outcome is the **improvement** from the baseline to the reading nearest
``follow_up_days`` after it (+/- ``follow_up_tolerance_days``, after time zero), lower-is-better
items reflected so a positive value is always better. Matching is exact on the calendar year of
the trial and on whether there is a reading in the ``baseline_lookback_days`` before the
baseline (for a participant, typically the referral before the intake), and on covariates
measured at or before time zero: the baseline, the change from that earlier reading to the
baseline (``pre_change``, 0 without one: a fall between referral and intake is what stops a
referral becoming a start), age at time zero, months from the first reading on the instrument
to the baseline, and the configured person covariates; comparison strata without a participant
are left out. ``design = "new_joiners"`` is the same trial matched within the trial month on the
baseline, age, months from the first reading and the person covariates only: when a fall
before time zero decides who starts, its comparison people regress to their mean and it
overstates the effect (docs/validation.md), so it is kept for the benchmark. A person can be a comparison person in several monthly trials (and a participant
later), so every interval is clustered two-way on the matched set and the person
(Cameron, Gelbach & Miller 2011; the engine's ``cluster=``). The engine's defaults apply
(ties kept, Abadie-Imbens bias correction for a continuous outcome, ``estimand`` "ATT" when at
least 95% of participants are matched, else "effect on the matched participants").

Rows: per instrument, the **headline** ``mean_of_areas`` (mean improvement per area over the
person's areas: Outcomes Star distance travelled, reference/methods.md section 3); per area
(on the same matched sample: the engine's ``match()`` once, ``estimate()`` per outcome); for instruments with an
RCI, ``reliable_improvement`` (``area = at_least_one_area``: the person rule of :mod:`.change`, a risk difference; its
false-positive rate grows with the number of areas, see ``change.rule_false_positive_rate``,
so it is never the headline); and one pooled over instruments on the 1-10 equivalent scale
with exact matching on the instrument too (``star_version = all``).

``design = "joined_by_last_reading"`` is the earlier comparison (anyone who joined by their
last reading against everyone else, baseline = first reading, matched on the baseline, the
months between the readings and the person covariates). Participation after the baseline
decides the arms there and ``months_between`` is measured after it: it is biased, and kept
only so bench/validate_wellbeing.py can show the bias.

Every match goes through :func:`models.comparison.estimate_effect`; this module does no
matching of its own. A comparison the engine refuses (too few people, no overlap) is a row
with ``status`` saying why, not an error. ``workers`` comparisons (each instrument's, the pooled one)
run at the same time, each in its own thread, the pooled one (the largest) first; the rows keep their order
and the figures do not depend on it (test).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import duckdb
import numpy as np
import pandas as pd

from models.comparison import ComparisonError, estimate, estimate_effect, match
from models.comparison.design import text_as_category
from models.comparison.counts import comparison_people as counted_people
from models.time_zero import covariate_words
from models.wellbeing.change import AT_LEAST_ONE_AREA
from models.wellbeing.journeys import person_covariates
from models.wellbeing.settings import SHARED_MATCH_DESIGNS, WellbeingSettings
from models.wellbeing.tables import (
    ALL,
    EFFECTS,
    JOURNEYS,
    PEOPLE,
    READINGS,
    TRIALS,
    empty,
    table_exists,
)
from schemas.marts import mart

MEAN_OF_AREAS = "mean_of_areas"
OUTCOME = "improvement"
RELIABLE = "reliable_improvement"


def comparison_frames(con: duckdb.DuckDBPyConnection, settings: WellbeingSettings) -> tuple[pd.DataFrame, list[str]]:
    """The earlier design (``design = "joined_by_last_reading"``): person x version x area rows of paired people with their covariates."""
    covs, _ = person_covariates(con, settings)
    if not (table_exists(con, JOURNEYS) and table_exists(con, PEOPLE)):
        return pd.DataFrame(), covs
    extra = "".join(f', p."{c}"' for c in covs if c != "age")
    frame = con.execute(f"""
        SELECT j.person_id, j.star_version, j.area, p.participant::INTEGER AS participant, j.improvement,
               CASE WHEN j.higher_is_better THEN j.baseline_score
                    ELSE s.scale_min + s.scale_max - j.baseline_score END AS baseline,
               s.scale_min, s.scale_max, j.months_between, j.age{extra}
        FROM {JOURNEYS} j JOIN {PEOPLE} p USING (person_id)
        JOIN (SELECT DISTINCT star_version, area, scale_min, scale_max FROM {READINGS}) s USING (star_version, area)
        WHERE j.paired
    """).df()
    return frame, covs


def trial_frames(con: duckdb.DuckDBPyConnection, settings: WellbeingSettings) -> tuple[pd.DataFrame, list[str]]:
    """core.wellbeing_trials rows with a follow-up reading (person x version x trial x area), with the covariates;
    ``person_id`` is the person's rank (0, 1, ... in the order of the identifiers): it only groups a person's rows and
    clusters the variances, and integers cost a fraction of the 64-character text in 2M rows at 1M persons."""
    covs, _ = person_covariates(con, settings)
    if not (table_exists(con, TRIALS) and table_exists(con, PEOPLE)):
        return pd.DataFrame(), covs
    extra = "".join(f', p."{c}"' for c in covs if c != "age")
    frame = con.execute(f"""
        SELECT p.person_rank AS person_id, t.star_version, strftime(t.trial_month, '%Y-%m') AS trial_month, t.area,
               t.participant::INTEGER AS participant, t.improvement, t.baseline_oriented AS baseline,
               s.scale_min, s.scale_max, t.months_from_first_reading, t.age_at_time_zero AS age,
               t.prior_on IS NOT NULL AS has_prior, coalesce(t.baseline_oriented - t.prior_oriented, 0) AS pre_change,
               t.s_diff IS NOT NULL AS has_rci, coalesce(t.reliable_improvement, FALSE) AS ri,
               coalesce(t.reliable_deterioration, FALSE) AS rd{extra}
        FROM {TRIALS} t JOIN (SELECT *, row_number() OVER (ORDER BY person_id) - 1 AS person_rank FROM {PEOPLE}) p
          ON p.person_id = t.person_id
        JOIN (SELECT DISTINCT star_version, area, scale_min, scale_max FROM {READINGS}) s USING (star_version, area)
        WHERE t.improvement IS NOT NULL
        ORDER BY t.star_version, t.trial_month, p.person_rank, t.area
    """).df()
    return frame, covs


def _interpretation(lo: float, hi: float) -> str:
    if np.isfinite(lo) and lo > 0:
        return "improvement"
    if np.isfinite(hi) and hi < 0:
        return "deterioration"
    return "inconclusive"


def _not_estimated(base: dict, reason: str) -> dict:
    return {**base, "status": f"not estimated: {reason}", "interpretation": "not estimated"}


def _fields(res, notes=()) -> dict:
    """The effects-row fields of one engine result."""
    rec = res.to_record()
    return {
        "measure": rec["measure"], "estimate": rec["estimate"], "ci_low": rec["ci_low"], "ci_high": rec["ci_high"],
        "p_value": rec["p_value"], "treated_value": rec["treated_value"], "comparison_value": rec["comparison_value"],
        "n_treated": rec["n_treated"], "n_control": rec["n_control"], "n_matched": rec["n_matched"],
        "n_control_matched": rec["n_control_matched"], "n_balance_flags": rec["n_balance_flags"],
        "max_abs_smd_after": rec["max_abs_smd_after"], "verdict": rec["verdict"],
        "interpretation": _interpretation(rec["ci_low"], rec["ci_high"]), "status": "estimated",
        "warnings": " | ".join([rec["warnings"], *notes]).strip(" |"),
        "share_participants_matched": rec["share_participants_matched"], "estimand": rec["estimand"],
    }


def _compare(df: pd.DataFrame, covariates: list[str], settings: WellbeingSettings, exact=None) -> tuple[dict, object]:
    """The earlier design's row of one comparison, and its ComparisonResults (None when not estimated)."""
    base = {"outcome": OUTCOME, "method": settings.comparison_method, "covariates": ", ".join(covariates),
            "n_treated": int(df["participant"].sum()), "n_control": int((1 - df["participant"]).sum())}
    if base["n_treated"] < 2 or base["n_control"] < 2:
        return _not_estimated(base, f"{base['n_treated']} participants and {base['n_control']} comparison people "
                                    "with paired readings (the engine needs at least 2 of each)"), None
    usable = [c for c in covariates if df[c].nunique(dropna=True) > 1]
    try:
        res = estimate_effect(df, "participant", OUTCOME, usable, "continuous", method=settings.comparison_method,
                              caliper=settings.caliper, seed=settings.seed, exact=exact)
    except (ComparisonError, ValueError, np.linalg.LinAlgError) as err:
        return _not_estimated(base, str(err)), None
    return {**base, "covariates": ", ".join(usable), **_fields(res)}, res


RARE = 5  # a category level with fewer people than this in either arm is merged into the commonest level


def merge_rare_levels(df: pd.DataFrame, covariates: list[str]) -> tuple[pd.DataFrame, list[str]]:
    """Categorical covariate levels with fewer than RARE participants or comparison people merged into the
    commonest level (the engine's own advice against separation), and a warning for each merge."""
    out, notes = df.copy(), []
    for c in covariates:
        s = out[c]
        if pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s):
            continue
        counts = pd.crosstab(s.fillna("missing"), out["participant"])
        if counts.shape[1] < 2:
            continue
        rare = [lv for lv in counts.index if counts.loc[lv].min() < RARE]
        common = counts.sum(axis=1).idxmax()
        rare = [lv for lv in rare if lv != common]
        if rare:
            out[c] = s.fillna("missing").where(~s.fillna("missing").isin(rare), common)
            notes.append(f"{c}: levels {sorted(map(str, rare))} (fewer than {RARE} people in an arm) merged into {common!r}")
    return out, notes


def comparison_people(m) -> dict:
    """``n_control`` and ``n_control_matched`` of a trial-design row as people, the mart's definition ("comparison
    people with paired readings", "comparison people used"): a person not yet started is a comparison row in
    every monthly trial whose lookback holds a reading, and can be matched in several, so the engine's counts
    (analysed rows, distinct rows used) count person-trials. ``m``: the :class:`~models.comparison.MatchedSample`."""
    analysed = m.df.iloc[m.rows]
    pool = analysed.loc[analysed["participant"].to_numpy() == 0, "person_id"]
    used = counted_people(m.matched_columns(["person_id", "_treated", "_weight"]))
    return {"n_control": int(pool.nunique()), "n_control_matched": used}


def _match_trials(df: pd.DataFrame, covariates: list[str], settings: WellbeingSettings, exact: list[str]):
    """(base row, MatchedSample or None, notes): one match of the person-trial rows, for every outcome; variances
    clustered on the person too (``cluster="person_id"``), since a person can be in several monthly trials.

    Each pass of the own-person rule (:func:`own_comparison_rows`) runs the whole match again: the rows it leaves
    out were in the one propensity model of every exact stratum, so the next pass has other scores (every row's)
    and another caliper; reusing the fit, re-matching only the strata that held an own pair, or skipping own rows
    inside the nearest-neighbour search would each give another result (test; docs/benchmarks.md, "eleventh
    session")."""
    base = {"outcome": OUTCOME, "method": settings.comparison_method, "covariates": ", ".join(covariates),
            "n_treated": int(df["participant"].sum()), "n_control": int((1 - df["participant"]).sum())}
    if base["n_treated"] < 2 or base["n_control"] < 2:
        return _not_estimated(base, f"{base['n_treated']} participants and {base['n_control']} comparison person-trials "
                                    "with a follow-up reading (the engine needs at least 2 of each)"), None, []
    base["n_control"] = int(df.loc[df["participant"].to_numpy() == 0, "person_id"].nunique())  # people (the mart's n)
    df, notes = merge_rare_levels(df, covariates)
    usable = [c for c in covariates if df[c].nunique(dropna=True) > 1]
    base["covariates"] = ", ".join(usable)
    df = text_as_category(df, usable)
    try:
        while True:
            m = match(df, "participant", usable, method=settings.comparison_method, caliper=settings.caliper,
                      exact=exact, seed=settings.seed, cluster="person_id", outcomes=[OUTCOME])
            own = own_comparison_rows(m)
            if not len(own):
                break
            df = df.drop(index=df.index[own]).reset_index(drop=True)  # each pass drops at least one row: it ends
    except (ComparisonError, ValueError, np.linalg.LinAlgError) as err:
        return _not_estimated(base, str(err)), None, notes
    return base, m, notes


def own_comparison_rows(m) -> np.ndarray:
    """Positions (in ``m.df``) of comparison rows that the matching put in a set with their own person's participant row.

    A person starting on the 15th is a comparison person at the month's first day too (not started by then), with
    the same readings and covariates as their participant row, so that row was their nearest match: a person
    compared with themselves (a difference of 0; 1 of 13 matched sets for one instrument on the demo). Such rows are
    left out and the matching is run again, until none is (:func:`_match_trials`); the row stays a comparison for no
    one, a small loss against keeping a pair of one person. Weighting has no sets: none."""
    if m.method != "match":
        return np.empty(0, dtype=np.int64)
    sample = m.matched_columns(["_row", "_treated", "_pair", "person_id"])
    treated = sample.loc[sample["_treated"].to_numpy() == 1, ["_pair", "person_id"]].drop_duplicates()
    controls = sample.loc[sample["_treated"].to_numpy() == 0, ["_row", "_pair", "person_id"]]
    return np.unique(controls.merge(treated, on=["_pair", "person_id"])["_row"].to_numpy())


def _estimate(m, outcome: str, outcome_type: str, notes=()):
    """(fields, ComparisonResults) of one outcome on the matched sample, or (reason, None) when it cannot be
    estimated there (e.g. the outcome is missing for someone analysed: an area not read at follow-up)."""
    if m.df[outcome].iloc[m.rows].isna().any():
        return "not read for everyone in the matched sample", None
    try:
        res = estimate(m, outcome, outcome_type)
    except (ComparisonError, ValueError, np.linalg.LinAlgError) as err:
        return str(err), None
    return _fields(res, notes), res


def design_sentence(settings: WellbeingSettings, covariates: list[str]) -> str:
    """One plain sentence: when follow-up starts and who the comparison people are (contract 2 of the brief)."""
    on = covariate_words(covariates)
    if settings.design == "joined_by_last_reading":
        return ("Benchmark only, biased: follow-up runs from each person's first reading to their last; participants "
                "are everyone who joined by their last reading, compared with everyone else, matched on " + on + ".")
    start = (f"Follow-up starts on the day each participant joined or enrolled, from their last reading in the "
             f"{settings.baseline_lookback_days} days before, to the reading nearest {settings.follow_up_days} days "
             f"after it; ")
    if settings.design == "new_joiners":
        return (start + f"each is compared with people read in the {settings.baseline_lookback_days} days before the "
                f"first day of that month who had not joined or enrolled by then, followed the same way, matched on {on}.")
    return (start + f"each is compared with people who had not joined or enrolled by the first day of a month in the "
            f"same year (such as people referred who did not start), read in the {settings.baseline_lookback_days} "
            f"days before it and followed the same way; a participant read twice before starting (a referral and an "
            f"intake) only with people also read twice; matched on {on}.")


def effects_results(con: duckdb.DuckDBPyConnection, settings: WellbeingSettings) -> tuple[pd.DataFrame, dict]:
    """marts.wellbeing_effects rows (one per comparison attempted) and the engine results of the matches,
    keyed by (star_version, area)."""
    if settings.design in SHARED_MATCH_DESIGNS:
        rows, results = _trial_design(con, settings)
    else:
        rows, results = _earlier_design(con, settings)
    if not rows:
        return empty(EFFECTS).drop(columns="run_id"), {}
    out = mart(EFFECTS).frame(rows)
    out["design"] = settings.design
    return out, results


def _trial_design(con: duckdb.DuckDBPyConnection, settings: WellbeingSettings) -> tuple[list[dict], dict]:
    frame, covs = trial_frames(con, settings)
    if frame.empty:
        return [], {}
    frame["trial_year"] = frame["trial_month"].str[:4]
    covariates = ["baseline", "age", "months_from_first_reading", *[c for c in covs if c != "age"]]
    exact = ["trial_month"]
    if settings.design == "prior_reading":
        covariates[1:1] = ["pre_change"]
        exact = ["trial_year", "has_prior"]
    sentence = design_sentence(settings, covariates)
    keys = ["person_id", "star_version", "trial_month", "participant"]
    people = (frame.groupby(keys, sort=True)
              .agg(improvement=("improvement", "mean"), baseline=("baseline", "mean"),
                   pre_change=("pre_change", "mean"), has_prior=("has_prior", "first"), trial_year=("trial_year", "first"),
                   scale_min=("scale_min", "first"), scale_max=("scale_max", "first"), has_rci=("has_rci", "any"),
                   ri=("ri", "any"), rd=("rd", "any"),
                   **{c: (c, "first") for c in ["months_from_first_reading", "age", *[c for c in covs if c != "age"]]})
              .reset_index())
    people[RELIABLE] = np.where(people["has_rci"], (people["ri"] & ~people["rd"]).astype(float), np.nan)
    areas = frame.pivot_table(index=keys, columns="area", values="improvement", aggfunc="first")
    areas.columns = [f"area:{a}" for a in areas.columns]
    people = people.merge(areas.reset_index(), on=keys, how="left")
    version_areas = {v: sorted(a.unique()) for v, a in frame.groupby("star_version", sort=True)["area"]}
    frame = areas = None  # the trial rows (2M at 1M persons) are not read again: freed before the comparisons run

    def compare(version, data, exact, headline, areas):
        """(rows, results) of one comparison: an instrument's rows, or the pooled one's."""
        rows, results = [], {}

        def row(area, fields, outcome=OUTCOME, headline=False):
            rows.append({"star_version": version, "area": area, "design_sentence": sentence, "headline": headline,
                         **fields, "outcome": outcome})

        if settings.design == "prior_reading":  # no comparison pool where no participant could be matched
            data = data[data.groupby(exact)["participant"].transform("max") == 1]
        base, m, notes = _match_trials(data.reset_index(drop=True), covariates, settings, exact)
        if m is None:
            row(MEAN_OF_AREAS, base, headline=headline)
            return rows, results
        people = comparison_people(m)  # people, not person-trials: the same for every outcome of this match
        base = {**base, "n_control": people["n_control"]}
        got, res = _estimate(m, OUTCOME, "continuous", notes)
        if res is None:
            row(MEAN_OF_AREAS, _not_estimated(base, got), headline=headline)
            return rows, results
        row(MEAN_OF_AREAS, {**base, **got, **people}, headline=headline)
        results[(version, MEAN_OF_AREAS)] = res
        for area in areas:
            got, res = _estimate(m, f"area:{area}", "continuous", notes)
            row(area, {**base, **got, **people} if res is not None else _not_estimated(base, got))
        if areas and data["has_rci"].all():
            got, res = _estimate(m, RELIABLE, "binary", notes)
            row(AT_LEAST_ONE_AREA, {**base, **got, **people} if res is not None else _not_estimated(base, got),
                outcome=RELIABLE)
        return rows, results

    jobs = [(version, g, exact, True, version_areas[version]) for version, g in people.groupby("star_version", sort=True)]
    if people["star_version"].nunique() > 1:
        span = people["scale_max"] - people["scale_min"]
        pooled = people.assign(improvement=people["improvement"] * 9 / span, pre_change=people["pre_change"] * 9 / span,
                               baseline=1 + 9 * (people["baseline"] - people["scale_min"]) / span)
        jobs.append((ALL, pooled, ["star_version", *exact], False, []))
    # the pooled comparison, the largest, starts first; the rows keep the order of ``jobs``
    with ThreadPoolExecutor(settings.workers) as pool:
        done = list(pool.map(lambda job: compare(*job), jobs[::-1]))[::-1]
    rows, results = [], {}
    for job_rows, job_results in done:
        rows += job_rows
        results.update(job_results)
    return rows, results


def _earlier_design(con: duckdb.DuckDBPyConnection, settings: WellbeingSettings) -> tuple[list[dict], dict]:
    frame, covs = comparison_frames(con, settings)
    if frame.empty:
        return [], {}
    covariates = ["baseline", "months_between", *covs]
    sentence = design_sentence(settings, covariates)
    rows, results = [], {}

    def add(version: str, area: str, data: pd.DataFrame, exact=None) -> None:
        row, res = _compare(data.reset_index(drop=True), covariates, settings, exact=exact)
        rows.append({"star_version": version, "area": area, "design_sentence": sentence,
                     "headline": area == MEAN_OF_AREAS and version != ALL, **row})
        if res is not None:
            results[(version, area)] = res

    keys = ["person_id", "star_version"]
    person_cols = ["participant", *covs]
    means = (frame.groupby(keys, sort=True)
             .agg(improvement=("improvement", "mean"), baseline=("baseline", "mean"),
                  months_between=("months_between", "mean"), scale_min=("scale_min", "first"),
                  scale_max=("scale_max", "first"), **{c: (c, "first") for c in person_cols})
             .reset_index())
    for version, g in means.groupby("star_version", sort=True):
        add(version, MEAN_OF_AREAS, g)
        for area, a in frame[frame["star_version"] == version].groupby("area", sort=True):
            add(version, area, a)
    if means["star_version"].nunique() > 1:
        pooled = means.assign(
            improvement=means["improvement"] * 9 / (means["scale_max"] - means["scale_min"]),
            baseline=1 + 9 * (means["baseline"] - means["scale_min"]) / (means["scale_max"] - means["scale_min"]),
        )
        add(ALL, MEAN_OF_AREAS, pooled, exact=["star_version"])
    return rows, results


def effects_table(con: duckdb.DuckDBPyConnection, settings: WellbeingSettings) -> pd.DataFrame:
    """marts.wellbeing_effects: one row per comparison attempted."""
    return effects_results(con, settings)[0]


#: the social-value key of the matched change in well-being (docs/social-value.md, "Better well-being")
MATCHED_CHANGE = "wellbeing_matched_change"
#: the key of the matched change in ONS life satisfaction (0-10): already in WELLBY units
MATCHED_LIFE_SATISFACTION = "life_satisfaction_matched_change"
TEN_POINT_SPAN = 9.0  # the 1-10 equivalent of the pooled row


def _spans() -> dict[str, float]:
    from models.wellbeing import scales
    return {v: float(s["scale_max"]) - float(s["scale_min"]) for v, s in scales.registry().items()}


def model_outputs(frame: pd.DataFrame) -> dict[str, dict]:
    """marts.wellbeing_effects as the social-value model's output mapping: the **net matched** change in well-being,
    summed over the matched participants.

    ``wellbeing_matched_change``: the matched mean difference in improvement per area (``mean_of_areas``: participants
    minus their matched comparison people, a deterioration negative) on the 1-10 equivalent (``x 9 / (max - min)``),
    times the participants it describes (``n_matched``): person-points of the Star for one follow-up. The pooled row
    (``all``) when there is one, else the one instrument's headline row. ``wellbeing_matched_change.<version>``: each
    instrument's. ``life_satisfaction_matched_change``: the ONS life-satisfaction item's (0-10) matched difference times
    its matched participants, already in WELLBY units. A row not estimated gives nothing (the calculator then says the
    model has no results). Net (``deadweight`` is the matched comparison's), may be negative (a harm is valued as one).
    """
    out: dict[str, dict] = {}
    if frame is None or frame.empty:
        return out
    spans = _spans()
    estimated = frame["estimate"].notna() & (frame["status"] == "estimated" if "status" in frame else True)
    rows = frame[estimated & (frame["outcome"] == OUTCOME)]

    def record(r, factor: float, unit: str) -> dict:
        n = int(r["n_matched"])
        return {"estimate": float(r["estimate"]) * factor * n, "ci_low": float(r["ci_low"]) * factor * n,
                "ci_high": float(r["ci_high"]) * factor * n, "n": n, "estimand": "net",
                "direction": "higher_is_better", "comparison": "matched", "unit": unit,
                "effect_per_person": float(r["estimate"]) * factor, "engine_estimand": r.get("estimand"),
                "design": r.get("design")}

    means = rows[rows["area"] == MEAN_OF_AREAS]
    for r in means.to_dict("records"):
        version = r["star_version"]
        span = TEN_POINT_SPAN if version == ALL else spans.get(version)
        if not span:
            continue
        out[f"{MATCHED_CHANGE}.{version}"] = record(r, TEN_POINT_SPAN / span, "person-points (1-10 equivalent)")
    versions = [v for v in means["star_version"] if v != ALL]
    if f"{MATCHED_CHANGE}.{ALL}" in out:
        out[MATCHED_CHANGE] = out[f"{MATCHED_CHANGE}.{ALL}"]
    elif len(versions) == 1 and frame.loc[frame["area"] == MEAN_OF_AREAS, "star_version"].nunique() == 1:
        out[MATCHED_CHANGE] = out[f"{MATCHED_CHANGE}.{versions[0]}"]
    ls = rows[(rows["star_version"] == "ons4") & (rows["area"] == "life_satisfaction")]
    if len(ls):
        out[MATCHED_LIFE_SATISFACTION] = record(ls.iloc[0].to_dict(), 1.0, "person-points of life satisfaction (0-10)")
    return out
