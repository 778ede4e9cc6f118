"""Participants' distance travelled against a matched comparison group (the comparison engine).

Who is compared: people with paired readings on an instrument. Participants are time-bank
members and programme enrolees (``core.wellbeing_people.participant``); the comparison
group is everyone else with paired readings on the same instrument, e.g. a waiting list.

The outcome is the **improvement**: latest minus baseline with lower-is-better items
reflected, so a positive value is always better. One comparison per instrument on the mean
improvement over the person's paired areas (``area = mean_of_areas``), one per instrument
and area, and one pooled over instruments on the 1-10 equivalent scale with exact matching
on the instrument (``star_version = all``). Covariates: the baseline (same scale as the
outcome), the months between the readings, and the configured person covariates.

Every comparison goes through :func:`models.comparison.estimate_effect`; this module does
no matching of its own. A comparison the engine refuses (too few people, no overlap) is a
row with ``status`` saying why, not an error.
"""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd

from models.comparison import ComparisonError, estimate_effect
from models.wellbeing.journeys import person_covariates
from models.wellbeing.settings import WellbeingSettings
from models.wellbeing.tables import (
    ALL,
    EFFECTS,
    JOURNEYS,
    PEOPLE,
    READINGS,
    SCHEMAS,
    empty,
    table_exists,
)

MEAN_OF_AREAS = "mean_of_areas"
OUTCOME = "improvement"


def comparison_frames(con: duckdb.DuckDBPyConnection, settings: WellbeingSettings) -> tuple[pd.DataFrame, list[str]]:
    """Person x version x area rows of paired people with their covariates, and the covariate names."""
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


def _interpretation(lo: float, hi: float) -> str:
    if np.isfinite(lo) and lo > 0:
        return "improvement"
    if np.isfinite(hi) and hi < 0:
        return "deterioration"
    return "inconclusive"


def _compare(df: pd.DataFrame, covariates: list[str], settings: WellbeingSettings, exact=None) -> tuple[dict, object]:
    """The effects row of one comparison, and its ComparisonResults (None when not estimated)."""
    base = {"outcome": OUTCOME, "method": settings.comparison_method, "covariates": ", ".join(covariates),
            "n_treated": int(df["participant"].sum()), "n_control": int((1 - df["participant"]).sum())}
    if base["n_treated"] < 2 or base["n_control"] < 2:
        reason = (f"not estimated: {base['n_treated']} participants and {base['n_control']} comparison people "
                  "with paired readings (the engine needs at least 2 of each)")
        return {**base, "status": reason, "interpretation": "not estimated"}, None
    usable = [c for c in covariates if df[c].nunique(dropna=True) > 1]
    try:
        res = estimate_effect(df, "participant", OUTCOME, usable, "continuous", method=settings.comparison_method,
                              caliper=settings.caliper, seed=settings.seed, exact=exact)
    except (ComparisonError, ValueError, np.linalg.LinAlgError) as err:
        return {**base, "status": f"not estimated: {err}", "interpretation": "not estimated"}, None
    rec = res.to_record()
    return {
        **base, "covariates": ", ".join(usable), "measure": rec["measure"], "estimate": rec["estimate"],
        "ci_low": rec["ci_low"], "ci_high": rec["ci_high"], "p_value": rec["p_value"],
        "treated_value": rec["treated_value"], "comparison_value": rec["comparison_value"],
        "n_treated": rec["n_treated"], "n_control": rec["n_control"], "n_matched": rec["n_matched"],
        "n_control_matched": rec["n_control_matched"], "n_balance_flags": rec["n_balance_flags"],
        "max_abs_smd_after": rec["max_abs_smd_after"], "verdict": rec["verdict"],
        "interpretation": _interpretation(rec["ci_low"], rec["ci_high"]), "status": "estimated",
        "warnings": rec["warnings"],
    }, res


def effects_results(con: duckdb.DuckDBPyConnection, settings: WellbeingSettings) -> tuple[pd.DataFrame, dict]:
    """marts.wellbeing_effects rows (one per comparison attempted) and the engine results of those estimated,
    keyed by (star_version, area)."""
    frame, covs = comparison_frames(con, settings)
    cols = [c for c in SCHEMAS[EFFECTS] if c != "run_id"]
    if frame.empty:
        return empty(EFFECTS).drop(columns="run_id"), {}
    covariates = ["baseline", "months_between", *covs]
    rows, results = [], {}

    def add(version: str, area: str, data: pd.DataFrame, exact=None) -> None:
        row, res = _compare(data.reset_index(drop=True), covariates, settings, exact=exact)
        rows.append({"star_version": version, "area": area, **row})
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
    return pd.DataFrame(rows).reindex(columns=cols), results


def effects_table(con: duckdb.DuckDBPyConnection, settings: WellbeingSettings) -> pd.DataFrame:
    """marts.wellbeing_effects: one row per comparison attempted."""
    return effects_results(con, settings)[0]
