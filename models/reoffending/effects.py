"""Justice Data Lab style effects, Kaplan-Meier curves and avoided reoffending.

For each programme label (``any_participation`` first, then each programme and time bank)
its participants are matched to non-participants by the shared comparison engine, from the
time zero of ``settings.design`` (default ``risk_set``: each participant's own start day,
exactly matched on it, against people still at risk and not yet started that day;
:func:`models.reoffending.prepare.programme_subset`, docs/methods.md "Target trials"), with
settings ``method``, ``caliper``, ``ratio``, ``replace``, ``exact``, ``seed`` and intervals
clustered on the matched set and the person. One :func:`models.comparison.match` serves the
three outcomes (binary, count, time to event), each counted from the trial day. Measures:

* ``binary_rate``: share with a proven reoffence, risk difference (JDL one-year rate);
* ``frequency``: reoffences per person, mean difference;
* ``days_to_first_reoffence``: mean days from the index event to the first proven reoffence
  *among reoffenders* in the matched sample (the JDL's presentation), mean difference with the
  engine's cluster-robust interval (:func:`models.comparison.compute_effects` on that subset,
  clustered on matched sets). Conditioning on reoffending makes this descriptive, hence also:
* ``time_to_first_reoffence``: the engine's weighted Cox hazard ratio on everyone matched,
  censored at the end of follow-up.

Anything that cannot be estimated (no final cohort, no participants, too few to match, no
reoffences) gives rows with ``estimable`` false and ``not_estimable_reason`` =
"not estimable: <reason>", never an exception.

Survival: Kaplan-Meier curves (statsmodels ``SurvfuncRight``, matching weights as frequency
weights) of time to the first proven reoffence, for the participants and the matched
comparison group, with log-log 95% pointwise intervals whose variance is clustered on the
person (:func:`models.comparison.survival.km_curve`): a comparison person reused by several
matched sets (matching with replacement, the default) or in several sequential trials counts
once, not once per row as Greenwood's formula on the weighted counts would count them (its
bands covered a matched comparison group's survival in 82.5% of 200 simulated samples, the
clustered ones in 96.5%). Without clusters :func:`km_curve` gives Greenwood's band (lifelines'
default).

Avoided: (comparison value - participant value) x n matched participants for the binary rate
(reoffenders avoided) and the frequency (reoffences avoided), the interval scaled the same way.
Only estimable effects give avoided rows. :func:`social_value_outputs` hands them to the
social-value model under its keys (``avoided_proven_reoffences``, ``avoided_reoffenders``,
``...@<time bank or programme>``).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats
from statsmodels.duration.survfunc import SurvfuncRight

from models.comparison import (
    ComparisonError,
    estimand_label,
    matched_share_note,
    km_curve as clustered_km_curve,
    compute_effects,
    estimate,
    jdl_statement,
    match,
    verdict,
    verdict_statement,
)
from models.comparison.counts import comparison_people
from models.comparison.diagnostics import release_rows
from models.social_value.model_outputs import adverse_events_avoided
from models.time_zero import ROUTE

from .cox import cox_programme
from .prepare import ANY, analysis_frame, design_rows, design_sentence, follow_up_sentence, programme_labels
from .settings import ReoffendingSettings
from .tables import EFFECTS, SURVIVAL, empty_frame
from schemas.marts import mart

Z95 = float(stats.norm.ppf(0.975))
MEASURES = ("binary_rate", "frequency", "days_to_first_reoffence", "time_to_first_reoffence")
EFFECT_MEASURE = {
    "binary_rate": "risk_difference",
    "frequency": "mean_difference",
    "days_to_first_reoffence": "mean_difference",
    "time_to_first_reoffence": "hazard_ratio",
}
VALUE_UNIT = {
    "binary_rate": "share of people with a proven reoffence",
    "frequency": "proven reoffences per person",
    "days_to_first_reoffence": "mean days to first proven reoffence, reoffenders only",
    "time_to_first_reoffence": "share of people with a proven reoffence (hazard ratio over follow-up)",
}


@dataclass
class ReoffendingComparison:
    """The three marts from one matching per programme (and the Cox mart from the same rows), plus the engine
    results for reuse."""

    effects: pd.DataFrame
    survival: pd.DataFrame
    avoided: pd.DataFrame
    results: dict = field(default_factory=dict)  # programme -> {"binary": ComparisonResults, ...}
    cox: pd.DataFrame | None = None  # marts.reoffending_cox's rows when asked for (``compare_reoffending(cox=True)``)


def _design_text(s: ReoffendingSettings) -> str:
    if s.method == "ipw":
        return "ATT inverse-probability weighting of non-participants"
    cal = f"caliper {s.caliper} SD of the logit score" if s.caliper is not None else "no caliper"
    rep = "with" if s.replace else "without"
    ex = f", exact on {', '.join(s.exact)}" if s.exact else ""
    return f"1:{s.ratio} nearest-neighbour matching on the propensity score, {rep} replacement, {cal}{ex}"


def _periods(df: pd.DataFrame) -> str | None:
    if df.empty:
        return None
    order = df.sort_values("period_start")["cohort_period"]
    first, last = order.iloc[0], order.iloc[-1]
    return first if first == last else f"{first} to {last}"


def _blank_row(programme: str, measure: str, settings: ReoffendingSettings, reason: str, **extra) -> dict:
    row = {c.name: None for c in EFFECTS}
    row.update(
        programme=programme, measure=measure, effect_measure=EFFECT_MEASURE[measure], value_unit=VALUE_UNIT[measure],
        verdict="not estimable", estimable=False, not_estimable_reason=f"not estimable: {reason}",
        method=_design_text(settings), below_minimum=None,
    )
    row.update(extra)
    return row


def _warnings(res, settings: ReoffendingSettings, notes: list[str]) -> list[str]:
    out = [w for w in res.warnings if "Justice Data Lab minimum" not in w]
    if res.n_matched < settings.min_matched:
        out.append(f"matched cohort of {res.n_matched} participants is under the minimum of {settings.min_matched} "
                   "(Justice Data Lab: 60); treat the result with caution")
    return [*notes, *out]


def _row_from_result(programme, measure, res, settings, notes, common) -> dict:
    est, lo, hi = res.estimate, res.ci_low, res.ci_high
    tv, cv = res.treated_value, res.comparison_value
    md = res.matched_data
    tb = md["_treated"].to_numpy() == 1
    n_comparison = comparison_people(md)  # people, every measure of this matching (the engine counts trial rows)
    row = {
        **common,
        "programme": programme, "measure": measure, "effect_measure": EFFECT_MEASURE[measure],
        "value_unit": VALUE_UNIT[measure], "participant_value": tv, "comparison_value": cv,
        "difference": tv - cv, "estimate": est, "ci_low": lo, "ci_high": hi, "p_value": res.p_value,
        "verdict": res.verdict, "verdict_statement": res.verdict_statement,
        "n_matched": res.n_matched, "n_comparison": n_comparison,
        "n_outcome_participants": int(tb.sum()), "n_outcome_comparison": n_comparison,
        "below_minimum": bool(res.n_matched < settings.min_matched),
        "max_abs_smd": float(np.nanmax(np.abs(res.balance["smd_after"]))) if len(res.balance) else None,
        "warnings": " | ".join(_warnings(res, settings, notes)) or None,
        "estimable": True, "not_estimable_reason": None,
    }
    if measure == "binary_rate":
        row["per_100_statement"] = jdl_statement("binary", tv, cv, "reoffended")
    elif measure == "frequency":
        row["per_100_statement"] = jdl_statement("count", tv, cv, "proven reoffences")
    else:
        row["per_100_statement"] = jdl_statement("time_to_event", tv, cv, f"reoffended within {settings.follow_up_days} days")
    if np.isfinite(tv) and np.isfinite(cv):  # what the rates count (not the MoJ bulletin's window)
        row["per_100_statement"] += " " + follow_up_sentence(settings)
    if not (np.isfinite(est) and np.isfinite(lo) and np.isfinite(hi)):
        row["estimable"] = False
        row["verdict"] = "not estimable"
        if measure == "time_to_first_reoffence":
            reason = "no proven reoffence among the matched participants or among their comparison group, so no hazard ratio"
        elif tv == 0 and cv == 0:
            reason = "nobody in the matched sample has a proven reoffence, so there is no variation to test"
        else:
            reason = "no variation in the outcome within the matched sample, so no interval"
        row["not_estimable_reason"] = f"not estimable: {reason}"
        row["verdict_statement"] = None
        if measure == "time_to_first_reoffence":
            row["estimate"] = row["ci_low"] = row["ci_high"] = row["p_value"] = None
    return row


def _time_zero_words(settings: ReoffendingSettings) -> str:
    """What the durations are counted from (:func:`.prepare.design_rows`: offences on days max(k, 1)..365 of trial
    day k, the duration from day max(k, 1) - 1): the index event only when every time zero is the index date."""
    if settings.design == "risk_set":
        return "time zero (the day each participant started, or the index event if they started before it)"
    if settings.design == "landmark":
        return f"time zero (day {settings.landmark} after the index event)"
    return "the index event"


def _days_row(programme, res, matched, settings, notes, common) -> dict:
    """JDL time to first reoffence: mean days among reoffenders in the matched sample."""
    md = res.matched_data
    mask = md["reoffended"].to_numpy() == 1
    reo = md[mask]
    tb = reo["_treated"].to_numpy() == 1
    n1, n0 = int(tb.sum()), comparison_people(md, mask)
    base = {**common, "n_matched": res.n_matched, "n_comparison": comparison_people(md),
            "n_outcome_participants": n1, "n_outcome_comparison": n0,
            "below_minimum": bool(res.n_matched < settings.min_matched),
            "max_abs_smd": float(np.nanmax(np.abs(res.balance["smd_after"]))) if len(res.balance) else None,
            "warnings": " | ".join(_warnings(res, settings, notes)) or None}
    if n1 < 2 or n0 < 2:
        return _blank_row(programme, "days_to_first_reoffence", settings,
                          f"fewer than 2 reoffenders in a group of the matched sample ({n1} participants, {n0} comparison)",
                          **base)
    y = reo["duration"].to_numpy(dtype=float)
    w = reo["_weight"].to_numpy(dtype=float)
    clusters = [c[mask] for c in matched.clusters()]  # matched set and person, as for the other measures
    measures, tv, cv = compute_effects("continuous", y, tb.astype(float), w, clusters)
    m = measures[0]
    lo, hi = m.interval()
    v = verdict(lo, hi, 0.0)
    row = {
        **base, "programme": programme, "measure": "days_to_first_reoffence", "effect_measure": "mean_difference",
        "value_unit": VALUE_UNIT["days_to_first_reoffence"], "participant_value": tv, "comparison_value": cv,
        "difference": tv - cv, "estimate": m.estimate, "ci_low": lo, "ci_high": hi, "p_value": m.p_value,
        "verdict": v, "verdict_statement": verdict_statement(v, "mean_difference", m.estimate, lo, hi),
        "per_100_statement": (
            f"Among people who reoffended, the first proven reoffence came {cv:.0f} days after {_time_zero_words(settings)} on "
            f"average in the comparison group and {tv:.0f} days among participants."),
        "estimable": bool(np.isfinite(lo) and np.isfinite(hi)),
        "not_estimable_reason": None if np.isfinite(lo) and np.isfinite(hi)
        else "not estimable: no variation in days to first reoffence, so no interval",
    }
    if not row["estimable"]:
        row["verdict"] = "not estimable"
    return row


def km_curve(duration, event, weights, follow_up_days: int, clusters=None) -> pd.DataFrame:
    """Kaplan-Meier rows (time 0, each event time, end of follow-up) with log-log 95% limits.

    ``clusters``: a label per row (the person) when rows are not independent people (a control reused by
    several matched sets, a person in several trials): the variance of log S is then the cluster-robust one of
    :func:`models.comparison.survival.km_curve` (each row's influence value summed within its cluster; Andersen et
    al. 1993, IV.3), so a person counts once. Without: Greenwood's variance on the weighted counts."""
    duration = np.asarray(duration, dtype=float)
    event = np.asarray(event, dtype=float)
    weights = np.asarray(weights, dtype=float)
    total = float(weights.sum())
    rows = [{"time_days": 0, "n_at_risk": total, "n_events": 0.0, "survival": 1.0, "ci_low": 1.0, "ci_high": 1.0}]
    if len(duration) == 0:
        return pd.DataFrame(rows)
    sf = SurvfuncRight(duration, event, freq_weights=weights)
    n_risk, n_events = np.asarray(sf.n_risk, dtype=float), np.asarray(sf.n_events, dtype=float)
    if clusters is None:
        # Greenwood on the (weighted) counts. Not sf.surv_prob_se: with freq_weights statsmodels
        # returns Tsiatis' sqrt(sum d / n^2), the standard error of -log S rather than of S.
        with np.errstate(divide="ignore", invalid="ignore"):
            variance = np.cumsum(np.where(n_risk > n_events, n_events / (n_risk * (n_risk - n_events)), np.inf))
    else:
        clustered = clustered_km_curve(duration, event, weights, clusters=[np.asarray(clusters)])
        se_log = clustered.set_index("time")["se_log"].reindex(np.asarray(sf.surv_times, dtype=float))
        variance = se_log.to_numpy(dtype=float) ** 2
    for t, nr, ne, s, var in zip(sf.surv_times, n_risk, n_events, sf.surv_prob, variance):
        if 0 < s < 1 and np.isfinite(var) and var > 0:
            sig = np.sqrt(var) / abs(np.log(s))  # SE of log(-log S)
            lo, hi = s ** np.exp(Z95 * sig), s ** np.exp(-Z95 * sig)
        else:
            lo = hi = s
        rows.append({"time_days": int(t), "n_at_risk": float(nr), "n_events": float(ne), "survival": float(s),
                     "ci_low": float(lo), "ci_high": float(hi)})
    last = rows[-1]
    if last["time_days"] < follow_up_days:
        at_risk = float(weights[duration >= follow_up_days].sum())
        rows.append({**last, "time_days": int(follow_up_days), "n_at_risk": at_risk, "n_events": 0.0})
    return pd.DataFrame(rows)


def _survival_rows(programme: str, res, follow_up_days: int) -> pd.DataFrame:
    md = res.matched_data
    parts = []
    for group, flag in (("participants", 1), ("matched_comparison", 0)):
        g = md[md["_treated"] == flag]
        # clustered on the person: a reused control, or a person in several trials, counts once
        curve = km_curve(g["duration"], g["event"], g["_weight"], follow_up_days, clusters=g["person_id"].to_numpy())
        curve.insert(0, "group", group)
        curve.insert(0, "programme", programme)
        parts.append(curve)
    return pd.concat(parts, ignore_index=True)


#: avoided measure -> (social-value output id, unit, effect measure it comes from)
AVOIDED_OUTPUTS = {
    "reoffenders_avoided": ("avoided_reoffenders", "person", "binary_rate"),
    "reoffences_avoided": ("avoided_proven_reoffences", "reoffence", "frequency"),
}


def output_key(output_id: str, programme: str) -> str:
    """The social-value model's key: bare for any_participation, else ``<id>@<time bank or programme>``."""
    if programme == ANY:
        return output_id
    return f"{output_id}@{programme.removeprefix('timebank:')}"


def _avoided_rows(programme: str, rows: dict) -> list[dict]:
    out = []
    for name, (output_id, unit, measure) in AVOIDED_OUTPUTS.items():
        r = rows.get(measure)
        if not r or not r["estimable"]:
            continue
        n = int(r["n_matched"])
        out.append({
            "programme": programme, "measure": name,
            "estimate": -r["estimate"] * n, "ci_low": -r["ci_high"] * n, "ci_high": -r["ci_low"] * n,
            "per_participant": -r["estimate"], "comparison_rate": r["comparison_value"],
            "participant_rate": r["participant_value"], "n": n, "verdict": r["verdict"],
            "output_key": output_key(output_id, programme), "unit": unit,
        })
    return out


def social_value_outputs(avoided: pd.DataFrame) -> dict[str, dict]:
    """marts.reoffending_avoided as the social-value model's ``model_outputs`` mapping.

    Net estimates (already the difference from the matched comparison group), adverse events
    (``lower_is_better``). The rates are passed only for ``avoided_reoffenders``, where they are
    proportions; for reoffences they are reoffences per person, which the interface's
    ``comparison_rate`` (a proportion, for deadweight) cannot hold.
    """
    return {r.output_key: adverse_events_avoided(r, rates=r.measure == "reoffenders_avoided")
            for r in avoided.itertuples(index=False)}


def compare_programme(df: pd.DataFrame, programme: str, settings: ReoffendingSettings, periods: str | None,
                      rows=None):
    """Effects rows, survival rows, avoided rows and engine results for one programme label.

    One matching (:func:`models.comparison.match`) serves every outcome. ``rows``: the programme's
    :func:`.prepare.design_rows` when the caller has built them already."""
    sub, cov = rows if rows is not None else design_rows(df, programme, settings)
    n_t = int(sub["treated"].sum()) if len(sub) else 0
    n_c = int(len(sub) - n_t)
    common = {"n_participants": n_t, "n_comparison_pool": n_c, "cohort_periods": periods,
              "method": _design_text(settings), "design": settings.design, "estimand": None,
              "share_participants_matched": None}

    def blank(reason, notes=()):
        return [_blank_row(programme, m, settings, reason, **common,
                           warnings=" | ".join(notes) or None) for m in MEASURES], None, [], {}

    if df.empty:
        return blank("no final cohort: no index event whose follow-up and waiting period had ended by the as-of date")
    if n_t == 0:
        return blank("no participants in the final cohorts")
    if n_c == 0:
        return blank("no non-participants to form a comparison group")
    common["covariates"] = ", ".join(cov.used) or None
    common["design_sentence"] = design_sentence(settings, cov.used)
    if not cov.used:
        return blank("no usable covariate to match on", cov.notes)
    notes = list(cov.notes)
    if settings.design == "exposure_window":
        notes.append("design exposure_window counts participation that starts after follow-up has begun: immortal "
                     "time biases the estimate towards benefit")
    try:
        matched = match(sub, "treated", cov.used, method=settings.method, caliper=settings.caliper,
                        ratio=settings.ratio, replace=settings.replace, exact=["trial_day", *cov.exact],
                        seed=settings.seed, cluster="person_id", categorical=cov.categorical or None,
                        outcomes=["reoffended", "reoffences", "duration", "event"],
                        balance_groups=ROUTE if ROUTE in sub.columns else None)
        # no marts read the unadjusted comparisons of every trial row: left out (at 3M persons the hazard ratio on
        # every trial row set the step's peak)
        rb = estimate(matched, "reoffended", "binary", outcome_label="reoffended", unadjusted=False)
        # the other two keep no rows of their own: they are given rb's below (one matching, one sample)
        rc = estimate(matched, "reoffences", "count", outcome_label="proven reoffences", matched_columns=(),
                      score_columns=(), unadjusted=False)
        rt = estimate(matched, "duration", "time_to_event", event="event", matched_columns=(), score_columns=(),
                      unadjusted=False)
    except ComparisonError as err:
        return blank(str(err), notes)
    except (ValueError, ArithmeticError, np.linalg.LinAlgError) as err:  # numerical failure: say so, never crash
        return blank(f"the comparison failed ({type(err).__name__}: {err})", notes)
    # one matching: the three results describe the same sample, so they keep one copy of its rows
    # (a propensity-score row per trial row is kept for the diagnostics of every programme)
    rc.propensity_scores = rt.propensity_scores = rb.propensity_scores
    rc.matched_data = rt.matched_data = rb.matched_data
    share = rb.n_matched / rb.n_treated if rb.n_treated else np.nan
    common.update(share_participants_matched=share, estimand=estimand_label(rb.n_matched, rb.n_treated))
    if note := matched_share_note(rb.n_matched, rb.n_treated):
        notes.append(note)
    rows = {
        "binary_rate": _row_from_result(programme, "binary_rate", rb, settings, notes, common),
        "frequency": _row_from_result(programme, "frequency", rc, settings, notes, common),
        "days_to_first_reoffence": _days_row(programme, rb, matched, settings, notes, common),
        "time_to_first_reoffence": _row_from_result(programme, "time_to_first_reoffence", rt, settings, notes, common),
    }
    survival = _survival_rows(programme, rb, settings.follow_up_days)
    return [rows[m] for m in MEASURES], survival, _avoided_rows(programme, rows), {"binary": rb, "count": rc, "time": rt}


def released(results: dict) -> dict:
    """A programme's results (``{"binary", "count", "time"}``, one matched sample) with its person-level rows dropped
    and its balance and overlap rows counted once (:func:`~models.comparison.diagnostics.release_rows`), shared by the
    three as the rows were."""
    binary = release_rows(results["binary"])
    for res in results.values():
        res.matched_data = res.propensity_scores = None
        res.described = binary.described
    return results


def compare_reoffending(cohort: pd.DataFrame, settings: ReoffendingSettings, *, cox: bool = False,
                        keep_rows: bool = False) -> ReoffendingComparison:
    """Effects, survival and avoided reoffending for every programme label (module docstring).

    ``keep_rows``: the engine results keep their person-level rows (``matched_data``, ``propensity_scores``);
    otherwise each programme's results keep only their balance and overlap rows once the programme is done
    (:func:`models.comparison.diagnostics.release_rows`, the same diagnostics rows), so a propensity score per trial
    row is not held for every programme until the last one ends (at 1M persons about 0.3 GiB for each large one).

    ``cox``: also the Cox model's rows (:func:`.cox.cox_programme`), fitted on the same design rows
    of each programme, so the trial rows are built once for both (``ReoffendingComparison.cox``).
    ``settings.workers`` programme labels are compared at the same time, each in a thread; each
    reads the shared analysis frame and builds its own rows, so the figures are the same for any
    number of workers (test)."""
    df = analysis_frame(cohort, settings)
    periods = _periods(df)

    def compared(programme):  # one programme label, from its design rows to its Cox rows
        built = design_rows(df, programme, settings)
        out = compare_programme(df, programme, settings, periods, built)
        if out[3] and not keep_rows:  # before the Cox fit: its score rows (one per trial row) are not held through it
            released(out[3])
        cox_rows = cox_programme(df, programme, settings, built) if cox else []
        return *out, cox_rows

    labels = programme_labels(df)
    effects, survival, avoided, results, cox_rows = [], [], [], {}, []
    with ThreadPoolExecutor(settings.workers) as pool:  # map keeps the labels' order
        done = list(pool.map(compared, labels))
    for programme, (rows, surv, avo, res, cox_part) in zip(labels, done):
        cox_rows += cox_part
        effects += rows
        if surv is not None:
            survival.append(surv)
        avoided += avo
        if res:
            results[programme] = res
    cols = lambda spec: [c.name for c in spec if c.name != "run_id"]  # noqa: E731
    eff = mart("marts.reoffending_effects").frame(effects)
    surv = pd.concat(survival, ignore_index=True)[cols(SURVIVAL)] if survival else empty_frame(SURVIVAL).drop(columns="run_id")
    avo = mart("marts.reoffending_avoided").frame(avoided)
    return ReoffendingComparison(eff, surv, avo, results, mart("marts.reoffending_cox").frame(cox_rows) if cox else None)
