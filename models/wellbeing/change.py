"""Distance travelled: the change, snapshot, transitions and reliable-improvement marts.

Each function reads ``core.star_journeys`` (built by :func:`models.wellbeing.journeys.build_core`)
and returns a frame with the columns of its mart (``models.wellbeing.tables.SCHEMAS``), without
``run_id`` (the writer stamps it). No person identifier leaves these functions.

Grouping levels are marked with the word ``all`` (every time bank, every period); people
with readings who are not time-bank members are in time bank ``none``.
"""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd
from scipy import stats

from models.wellbeing import scales
from models.wellbeing.settings import WellbeingSettings
from models.wellbeing.stats import paired_change, wilson
from models.wellbeing.tables import (ALL, CHANGE, JOURNEYS, NO_TIMEBANK, RELIABLE, SCHEMAS, SNAPSHOT, TRANSITIONS,
                                     empty, table_exists)
from schemas.marts import mart

AT_LEAST_ONE_AREA = "at_least_one_area"


def period_sql(column: str, period: str) -> str:
    """SQL for the period of a date column: '2023' (year), '2023-Q1' (quarter) or '2023-01' (month)."""
    if period == "year":
        return f"strftime({column}, '%Y')"
    if period == "quarter":
        return f"year({column})::VARCHAR || '-Q' || quarter({column})::VARCHAR"
    return f"strftime({column}, '%Y-%m')"


JOURNEY_COLUMNS = ("person_id", "star_version", "area", "timebank_id", "participant", "period", "higher_is_better",
                   "score_scale", "n_readings", "baseline_on", "baseline_score", "baseline_stage", "baseline_stage_order",
                   "latest_score", "latest_stage", "latest_stage_order", "paired", "change", "improvement",
                   "months_between", "outcome", "s_diff", "rci_threshold", "reliable_improvement",
                   "reliable_deterioration")


def journeys(con: duckdb.DuckDBPyConnection, settings: WellbeingSettings, columns: tuple[str, ...] | None = None
             ) -> pd.DataFrame:
    """core.star_journeys as a frame (in its order), with ``period`` (of the baseline reading) added; only ``columns``
    when given (a mart that needs four of the 30 columns does not fetch the rest); empty if absent."""
    if not table_exists(con, JOURNEYS):
        return pd.DataFrame(columns=list(columns or JOURNEY_COLUMNS))
    period = f"{period_sql('baseline_on', settings.period)} AS period"
    picked = "*, " + period if columns is None else ", ".join(period if c == "period" else f'"{c}"' for c in columns)
    return con.execute(f"SELECT {picked} FROM {JOURNEYS}").df()


def _expand(frame: pd.DataFrame, columns: tuple[str, ...]) -> pd.DataFrame:
    """The frame once per subset of ``columns`` replaced by ``all`` (grouping sets)."""
    out = []
    for mask in range(1 << len(columns)):
        f = frame.copy()
        for i, c in enumerate(columns):
            if mask >> i & 1:
                f[c] = ALL
        out.append(f)
    return pd.concat(out, ignore_index=True)


def _pct(k, n) -> float:
    return float(100.0 * k / n) if n else float("nan")


def _bool(s: pd.Series) -> pd.Series:
    return s.astype("boolean").fillna(False).astype(bool)


def _mean(values: np.ndarray) -> float:
    """pandas' ``Series.mean()`` (missing values skipped, NaN when none is left) on an array, to the bit: the sum of the
    values with the missing ones as 0, over the count of the others."""
    present = ~np.isnan(values)
    n = int(present.sum())
    return float(np.where(present, values, 0.0).sum() / n) if n else np.nan


def change_table(con: duckdb.DuckDBPyConnection, settings: WellbeingSettings) -> pd.DataFrame:
    """marts.wellbeing_change: per version x area x time bank x period (and ``all`` levels).

    Each group is read as positions into column arrays (pandas' per-group frame indexing was most of the time at 100,000
    persons; issue 18)."""
    j = journeys(con, settings, tuple(dict.fromkeys((*PERSON_VERSION_COLUMNS, "area", "rci_threshold", "score_scale",
                                                     "higher_is_better", "change", "baseline_score", "latest_score",
                                                     "months_between"))))
    if j.empty:
        return empty(CHANGE).drop(columns="run_id")
    j = j.assign(paired=_bool(j["paired"]), reliable_improvement=_bool(j["reliable_improvement"]),
                 reliable_deterioration=_bool(j["reliable_deterioration"]),
                 has_rci=j["s_diff"].notna() & _bool(j["paired"]))
    rows = []
    keys = ["star_version", "area", "timebank_id", "period"]
    e = _expand(j[[*keys, "paired", "change", "has_rci", "rci_threshold", "outcome", "score_scale", "higher_is_better",
                   "n_readings", "baseline_score", "latest_score", "months_between", "reliable_improvement",
                   "reliable_deterioration"]], ("timebank_id", "period"))
    col = {c: e[c].to_numpy() for c in ("paired", "has_rci", "outcome", "score_scale", "higher_is_better", "n_readings",
                                         "reliable_improvement", "reliable_deterioration")}
    num = {c: e[c].to_numpy(dtype=float) for c in ("change", "rci_threshold", "baseline_score", "latest_score",
                                                   "months_between")}
    for key, at in e.groupby(keys, sort=True).indices.items():
        p = at[col["paired"][at]]
        stats = paired_change(num["change"][p])
        rci = at[col["has_rci"][at]]
        thresholds = num["rci_threshold"][at]
        thresholds = thresholds[~np.isnan(thresholds)]
        outcome = col["outcome"][p]
        rows.append({
            **dict(zip(keys, key)),
            "score_scale": col["score_scale"][at[0]], "higher_is_better": bool(col["higher_is_better"][at[0]]),
            "baseline_rule": settings.baseline_rule,
            "n_people": len(at), "n_single_reading": int((col["n_readings"][at] == 1).sum()),
            "mean_baseline": _mean(num["baseline_score"][at]),
            **stats,
            "small_n": stats["n_paired"] < settings.min_paired_n,
            "mean_baseline_paired": _mean(num["baseline_score"][p]) if len(p) else np.nan,
            "mean_latest": _mean(num["latest_score"][p]) if len(p) else np.nan,
            "mean_months": _mean(num["months_between"][p]) if len(p) else np.nan,
            **_outcomes((outcome == "improved").sum(), (outcome == "same").sum(), (outcome == "worse").sum(), len(p)),
            "n_rci": len(rci), "rci_threshold": float(thresholds[0]) if len(thresholds) else np.nan,
            **_reliable(int(col["reliable_improvement"][rci].sum()), int(col["reliable_deterioration"][rci].sum()),
                        len(rci)),
        })
    rows += _any_area_rows(j, settings)
    return mart(CHANGE).frame(rows).sort_values(keys, ignore_index=True)


def _outcomes(improved: int, same: int, worse: int, n: int) -> dict:
    return {"n_improved": int(improved), "n_same": int(same), "n_worse": int(worse),
            "pct_improved": _pct(improved, n), "pct_same": _pct(same, n), "pct_worse": _pct(worse, n)}


def _reliable(ri: int, rd: int, n: int) -> dict:
    return {"n_reliable_improvement": ri, "n_reliable_deterioration": rd,
            "pct_reliable_improvement": _pct(ri, n), "pct_reliable_deterioration": _pct(rd, n)}


#: the journey columns :func:`person_version` reads
PERSON_VERSION_COLUMNS = ("person_id", "star_version", "timebank_id", "participant", "period", "n_readings", "paired",
                          "outcome", "s_diff", "reliable_improvement", "reliable_deterioration")


def person_version(j: pd.DataFrame) -> pd.DataFrame:
    """One row per person x version: moved in at least one area, and the reliable-change rule.

    Reliable improvement of a person (the NHS Talking Therapies / IAPT convention for several
    measures): reliable improvement in at least one area with an RCI and reliable
    deterioration in none.
    """
    j = j.assign(paired=_bool(j["paired"]), ri=_bool(j["reliable_improvement"]), rd=_bool(j["reliable_deterioration"]),
                 has_rci=j["s_diff"].notna() & _bool(j["paired"]))
    j = j.assign(imp=j["paired"] & (j["outcome"] == "improved"), wor=j["paired"] & (j["outcome"] == "worse"),
                 sam=j["paired"] & (j["outcome"] == "same"))
    # the earliest period as the least of its sorted level's codes: pandas has no fast minimum of text
    periods = pd.Categorical(j["period"], categories=sorted(j["period"].dropna().unique()))
    j = j.assign(period_code=np.where(periods.codes >= 0, periods.codes, np.nan))
    g = j.groupby(["person_id", "star_version"], sort=False)
    pv = g.agg(timebank_id=("timebank_id", "first"), participant=("participant", "first"), period=("period_code", "min"),
               n_readings=("n_readings", "max"), paired=("paired", "any"), improved=("imp", "any"), worse=("wor", "any"),
               n_paired_areas=("paired", "sum"), n_same_areas=("sam", "sum"), has_rci=("has_rci", "any"),
               ri=("ri", "any"), rd=("rd", "any")).reset_index()
    pv["period"] = pd.Categorical.from_codes(pv["period"].fillna(-1).astype(int), periods.categories).astype(object)
    pv["same"] = pv["paired"] & (pv["n_paired_areas"] == pv["n_same_areas"])
    pv["reliable_improvement"] = pv["has_rci"] & pv["ri"] & ~pv["rd"]
    pv["reliable_deterioration"] = pv["has_rci"] & pv["rd"]
    return pv


def _any_area_rows(j: pd.DataFrame, settings: WellbeingSettings) -> list[dict]:
    pv = person_version(j)
    rows = []
    keys = ["star_version", "timebank_id", "period"]
    for key, g in _expand(pv, ("timebank_id", "period")).groupby(keys, sort=True):
        p = g[g["paired"]]
        n_rci = int(g["has_rci"].sum())
        rows.append({
            **dict(zip(keys, key)), "area": AT_LEAST_ONE_AREA,
            "score_scale": scales.metric_scale(key[0]), "higher_is_better": True, "baseline_rule": settings.baseline_rule,
            "n_people": len(g), "n_single_reading": int((g["n_readings"] == 1).sum()), "n_paired": len(p),
            "small_n": len(p) < settings.min_paired_n,
            **_outcomes(int(p["improved"].sum()), int(p["same"].sum()), int(p["worse"].sum()), len(p)),
            "n_rci": n_rci,
            **_reliable(int(g["reliable_improvement"].sum()), int(g["reliable_deterioration"].sum()), n_rci),
        })
    return rows


def snapshot_table(con: duckdb.DuckDBPyConnection, settings: WellbeingSettings) -> pd.DataFrame:
    """marts.wellbeing_snapshot: the stage of everyone's baseline reading (single readings included)."""
    j = journeys(con, settings, ("star_version", "area", "timebank_id", "baseline_stage"))
    j = j[j["baseline_stage"].notna()] if len(j) else j
    if j.empty:
        return empty(SNAPSHOT).drop(columns="run_id")
    stages = scales.stage_frame()[["star_version", "area", "stage", "stage_order"]]
    counts = (_expand(j, ("timebank_id",)).groupby(["star_version", "area", "timebank_id", "baseline_stage"])
              .size().rename("n").reset_index().rename(columns={"baseline_stage": "stage"}))
    groups = counts[["star_version", "area", "timebank_id"]].drop_duplicates()
    full = groups.merge(stages, on=["star_version", "area"]).merge(
        counts, on=["star_version", "area", "timebank_id", "stage"], how="left")
    full["n"] = full["n"].fillna(0).astype(int)
    full["n_people"] = full.groupby(["star_version", "area", "timebank_id"])["n"].transform("sum")
    full["pct"] = 100.0 * full["n"] / full["n_people"]
    cols = [c for c in SCHEMAS[SNAPSHOT] if c != "run_id"]
    return full[cols].sort_values(["star_version", "area", "timebank_id", "stage_order"], ignore_index=True)


def transitions_table(con: duckdb.DuckDBPyConnection, settings: WellbeingSettings) -> pd.DataFrame:
    """marts.wellbeing_transitions: baseline stage x latest stage counts of people with paired readings.

    The full matrix of each version and area is given (zero cells included), for every time
    bank with paired readings and for ``all``.
    """
    j = journeys(con, settings, ("star_version", "area", "timebank_id", "paired", "baseline_stage", "latest_stage"))
    if len(j):
        j = j[_bool(j["paired"]) & j["baseline_stage"].notna() & j["latest_stage"].notna()]
    if j.empty:
        return empty(TRANSITIONS).drop(columns="run_id")
    stages = scales.stage_frame()[["star_version", "area", "stage", "stage_order"]]
    keys = ["star_version", "area", "timebank_id"]
    counts = (_expand(j, ("timebank_id",)).groupby([*keys, "baseline_stage", "latest_stage"]).size()
              .rename("n").reset_index())
    groups = counts[keys].drop_duplicates()
    b = stages.rename(columns={"stage": "baseline_stage", "stage_order": "baseline_stage_order"})
    lt = stages.rename(columns={"stage": "latest_stage", "stage_order": "latest_stage_order"})
    full = groups.merge(b, on=["star_version", "area"]).merge(lt, on=["star_version", "area"])
    full = full.merge(counts, on=[*keys, "baseline_stage", "latest_stage"], how="left")
    full["n"] = full["n"].fillna(0).astype(int)
    full["n_baseline_stage"] = full.groupby([*keys, "baseline_stage"])["n"].transform("sum")
    full["pct_of_baseline_stage"] = np.where(full["n_baseline_stage"] > 0,
                                             100.0 * full["n"] / full["n_baseline_stage"].where(full["n_baseline_stage"] > 0, 1),
                                             np.nan)
    full["movement"] = np.select(
        [full["latest_stage_order"] > full["baseline_stage_order"], full["latest_stage_order"] == full["baseline_stage_order"]],
        ["forward", "same"], "back")
    cols = [c for c in SCHEMAS[TRANSITIONS] if c != "run_id"]
    return full[cols].sort_values([*keys, "baseline_stage_order", "latest_stage_order"], ignore_index=True)


RELIABLE_DEFINITION = (
    "People with paired readings on an instrument with a reliability or SEM configured; reliable improvement "
    "= RCI (Jacobson & Truax 1991, direction-aware) above {z} in at least one area and below -{z} in none "
    "(NHS Talking Therapies convention); across instruments, the same rule over all the person's areas. "
    "Under no true change it flags {fpr} of people with {k} independent area(s) (more with more areas: "
    "{fpr10} with 10), so it is a count of people, not evidence of an effect; comparison_rate is the unmatched "
    "rate of everyone else (descriptive): the matched effect is marts.wellbeing_effects."
)


def rule_false_positive_rate(areas: int, z: float = 1.96) -> float:
    """Share of people the rule "reliable improvement in at least one of ``areas`` areas and reliable
    deterioration in none" flags when nothing changes and the areas' measurement errors are independent
    and normal: each area crosses +z with probability a = 1 - Phi(z) and -z with a, so
    P = (1 - a)^k - (1 - 2a)^k (no deterioration, minus neither). k = 10, z = 1.96: 0.178."""
    a = float(stats.norm.sf(z))
    return (1 - a) ** areas - (1 - 2 * a) ** areas


def reliable_table(con: duckdb.DuckDBPyConnection, settings: WellbeingSettings) -> pd.DataFrame:
    """marts.wellbeing_reliable_improvement: people with reliable improvement, with Wilson-based intervals.

    For participants (time-bank members and programme enrolees) overall and per time bank,
    over all instruments and per instrument, with the comparison group's rate (people with
    readings who are not participants) beside them, in the form the social-value model
    reads (``models.social_value.model_outputs``: estimand gross, direction, rates, n).
    """
    j = journeys(con, settings, (*PERSON_VERSION_COLUMNS, "area"))
    if j.empty:
        return empty(RELIABLE).drop(columns="run_id")
    pv = person_version(j)
    pv = pv[pv["has_rci"]]
    if pv.empty:
        return empty(RELIABLE).drop(columns="run_id")
    # Across instruments: a person improves reliably if some area does and none deteriorates reliably.
    pa = pv.groupby("person_id", sort=False).agg(timebank_id=("timebank_id", "first"), participant=("participant", "first"),
                                                 ri=("ri", "any"), rd=("rd", "any")).reset_index()
    pa["star_version"] = ALL
    pa["reliable_improvement"] = pa["ri"] & ~pa["rd"]
    pa["reliable_deterioration"] = pa["rd"]
    people = pd.concat([pa, pv], ignore_index=True)
    people["participant"] = _bool(people["participant"])
    rows = []
    areas = j.groupby("star_version")["area"].nunique()
    for version, g in people.groupby("star_version", sort=True):
        k = int(areas.max() if version == ALL else areas[version])
        definition = RELIABLE_DEFINITION.format(z=settings.rci_z, k=k, fpr=f"{rule_false_positive_rate(k, settings.rci_z):.1%}",
                                                fpr10=f"{rule_false_positive_rate(10, settings.rci_z):.1%}")
        comp = g[~g["participant"]]
        part = g[g["participant"]]
        scopes = [(ALL, part)] + [(tb, s) for tb, s in part.groupby("timebank_id", sort=True) if tb != NO_TIMEBANK]
        for tb, s in scopes:
            n = len(s)
            if n == 0:
                continue
            for measure, flag, direction in (("reliable_wellbeing_improvement", "reliable_improvement", "higher_is_better"),
                                             ("reliable_wellbeing_deterioration", "reliable_deterioration", "lower_is_better")):
                k = int(s[flag].sum())
                share, lo, hi = wilson(k, n)
                comp_rate = float(comp[flag].mean()) if len(comp) else np.nan
                common = {"star_version": version, "timebank_id": tb, "n": n, "n_events": k, "participant_rate": share,
                          "comparison_rate": comp_rate, "comparison_n": len(comp),
                          "small_n": n < settings.min_paired_n, "estimand": "gross", "direction": direction,
                          "definition": definition}
                rows.append({**common, "measure": measure, "estimate": float(k), "ci_low": n * lo, "ci_high": n * hi,
                             "unit": "people"})
                rows.append({**common, "measure": f"{measure}_share", "estimate": share, "ci_low": lo, "ci_high": hi,
                             "unit": "proportion"})
    if not rows:  # readings, but no participant with a reliable-change rule: the empty mart, with its columns
        return empty(RELIABLE).drop(columns="run_id")
    out = mart(RELIABLE).frame(rows)
    out["output_key"] = [
        m + ("" if v == ALL else f".{v}") + ("" if tb == ALL else f"@{tb}")
        for m, v, tb in zip(out["measure"], out["star_version"], out["timebank_id"])
    ]
    return out.sort_values(["star_version", "timebank_id", "measure"], ignore_index=True)


def model_outputs(frame: pd.DataFrame) -> dict[str, dict]:
    """marts.wellbeing_reliable_improvement rows as the social-value model's output mapping: gross counts (descriptive),
    their ``comparison_rate`` the unmatched rate of everyone else (``comparison: unmatched``, which ``deadweight:
    from_comparison`` refuses). Value well-being from :func:`models.wellbeing.effects.model_outputs` (net, matched)."""
    keep = ["estimate", "ci_low", "ci_high", "n", "participant_rate", "comparison_rate", "estimand", "direction", "unit"]
    out = {}
    for r in frame.to_dict("records"):
        rec = {k: r[k] for k in keep}
        rec["comparison"] = "unmatched"  # everyone else with readings: from_comparison refuses it
        rec["n"] = int(rec["n"])
        rec = {k: (None if isinstance(v, float) and np.isnan(v) else v) for k, v in rec.items()}
        out[r["output_key"]] = rec
    return out
