"""Readmission and reoffending designs through the real pipeline code, against the generator's truth.

    python -m bench.validate_designs --persons 20000 --reps 200 --first-seed 1000 \
        [--max-minutes 40] [--out build/validate_designs.csv]
    python -m bench.validate_designs --from-csv PART1.csv PART2.csv [--out build/validate_designs.csv]

(``--from-csv``: summarise the rows of runs already made, e.g. a run stopped by ``--max-minutes``
and its continuation with the following seeds, without running anything.)

Each replication r (seed first_seed + r) runs, for two scenarios:

* ``null``: ``data.generate --or-readmit 1 --or-reoffend 1`` (no effect at all);
* ``effect``: the generator's own effects (OR 0.7 readmission, 0.75 reoffending);

the generator (``data.synthetic``: peer visiting planned 1-14 days after discharge and
justice programmes 0-90 days after the index event, prevented by an earlier event), the
ingest (``pipelines.ingest.stage.ingest_source``: contract checks, pseudonymisation, staging
tables), the core SQL (``build_index_discharges``, ``build_justice_cohort``) and the model
functions (``models.readmission.effects``, ``models.reoffending.effects.compare_programme``)
for each design: ``exposure_window`` (the old definition), ``risk_set`` (the new default) and
``landmark``, and for readmission also ``clone_censor_weight`` (``--ccw-bootstrap`` replicates). Only the ``any`` / ``any_participation`` comparison is run (the others use the
same code). Dagster is skipped to save time; the assets call exactly these functions.

Truth: the null scenario's is 0 for every design. In the effect scenario the risk-set truth is
``realised.<outcome>.att_expected_risk_difference`` of that replication's truth.json (the mean
over participants of p1 - p0, the outcome counted from each participant's start day). The old
definition has no well-defined estimand (its participants are selected on the outcome); its
bias is shown against the same figure. The landmark design targets a different quantity
(readmission on days 14-29 among those at risk on day 14) that the truth file does not give,
so its effect-scenario coverage is not reported. Nor is clone–censor–weight's: it targets "start
within 14 days vs. not" over all discharges, which truth.json does not give either.

Writes one CSV row per replication, scenario, outcome and design, and prints the Markdown
tables for docs/validation.md (section "Readmission and reoffending designs (issue 15)").

``--later-events``: reoffending only, on the generator's later-events scenario (``data.synthetic.LaterEvents``:
programmes recruit mostly at a person's later index events, risk rising with each), the risk-set design on each
person's first final index event (``index_events: first``, the earlier rule) and on every final index event
(``all``, the default), the latter with the default covariates and with ``earlier_index_events`` left out, entered
linearly or matched exactly (:data:`LATER_VARIANTS`; ``--later-variants`` runs some of them). Truth: the participants' expected risk difference at each participant's first event with
participation (``realised.reoffending.first_participating_event``, the estimand of ``all``); ``truth_own`` is each
rule's own cohort's (the first-event cohort's for ``first``), reported as bias_own and coverage_own_pct.

``--history``: reoffending only, the risk-set design matched on each record of criminal history in
turn (:data:`HISTORY`): the persons file's ``prior_convictions`` (in the generator counted before the
window, so it never holds the outcome), the cohort's ``proven_offences_to_index`` counted from the
offences file at the index date (the default), the same file's offences counted at the extract date
(``convictions_at_extract``, as an undated column supplied with the extract would be: it holds the
follow-up's convictions, the outcome), and none (docs/validation.md, "Criminal history from the
offences file").
"""

from __future__ import annotations

import argparse
import datetime as dt
import platform
import time
from pathlib import Path

import numpy as np
import pandas as pd

from bench import tables
from bench.synthetic import ingested, replications
from data.synthetic import Effects, LaterEvents
from data.synthetic.truth import LATER_EVENTS_ON
from models.readmission import ReadmissionSettings, build_index_discharges, discharges_frame
from models.readmission.diagnosis import diagnosis_case_mix
from models.readmission.effects import comparison_columns, compare
from models.reoffending import ReoffendingSettings, build_justice_cohort, read_cohort
from models.reoffending.effects import compare_programme
from models.reoffending.cohort import EARLIER
from models.reoffending.prepare import ANY, analysis_frame

KEY = b"validate-designs-key-0123456789abcdef"
SOURCES = ("persons", "timebank_members", "timebank_exchanges", "programme_enrolments", "hospital_spells",
           "justice_events", "offences")
DESIGNS = ("exposure_window", "risk_set", "landmark")
READMISSION_DESIGNS = (*DESIGNS, "clone_censor_weight")
NO_TRUTH = ("landmark", "clone_censor_weight")  # designs whose effect-scenario estimand truth.json does not give
SCENARIOS = {"null": Effects(or_readmit=1.0, or_reoffend=1.0), "effect": Effects()}
#: ``--history``: the criminal-history covariate matched on (None: none).
HISTORY = ("prior_convictions", "proven_offences_to_index", "convictions_at_extract", None)


def readmission_rows(con, truth: dict, as_of: dt.date, ccw_bootstrap: int, designs: tuple[str, ...]) -> list[dict]:
    """One row per readmission design, each through :func:`models.readmission.effects.compare` on the settings
    :func:`~models.readmission.effects.readmission_effects` would use (the diagnosis chapter left out when the
    spells give none; rare levels pooled): the marts' own path, Dagster aside."""
    base = ReadmissionSettings(programme_ids=("peer_visiting_after_discharge",))
    build_index_discharges(con, base, as_of=as_of, run_id="bench")
    discharges = discharges_frame(con)
    base, _ = diagnosis_case_mix(discharges, base)
    compared = comparison_columns(discharges, base)
    target = truth["realised"]["readmission"]["att_expected_risk_difference"]
    out = []
    for design in (d for d in READMISSION_DESIGNS if d in designs):
        settings = base.model_copy(update={"design": design, "ccw_bootstrap": ccw_bootstrap})
        row, _ = compare(discharges if design == "clone_censor_weight" else compared, settings, "any")
        if row is None or row["status"] != "estimated":
            out.append({"outcome": "readmission", "design": design,
                        "error": row["warnings"] if row else "no participants"})
            continue
        out.append({"outcome": "readmission", "design": design, "estimate": row["risk_difference"],
                    "ci_low": row["rd_ci_low"], "ci_high": row["rd_ci_high"], "n_treated": row["n_treated"],
                    "n_matched": row["n_matched"], "truth_risk_set": target})
    return out


def reoffending_rows(con, truth: dict, as_of: dt.date, designs: tuple[str, ...], history: bool = False) -> list[dict]:
    if not set(designs) & set(DESIGNS):
        return []
    base = ReoffendingSettings(exclude_programmes=("peer_visiting_after_discharge",))
    build_justice_cohort(con, base, as_of=as_of, run_id="bench")
    cohort = read_cohort(con)
    if history:
        at_extract = con.execute("SELECT person_id, count(*) AS convictions_at_extract FROM staging.offences "
                                 "WHERE NOT is_breach AND proven_on <= ? GROUP BY person_id", [as_of]).df()
        cohort = cohort.merge(at_extract, on="person_id", how="left").fillna({"convictions_at_extract": 0})
    demographics = tuple(c for c in base.covariates if c != "proven_offences_to_index")
    variants = ([(f"risk_set, history {h or 'none'}", {"design": "risk_set", "covariates": demographics + ((h,) if h else ())})
                 for h in HISTORY] if history else
                [(d, {"design": d}) for d in DESIGNS if d in designs])
    out = []
    for design, update in variants:
        settings = base.model_copy(update=update)
        df = analysis_frame(cohort, settings)
        rows, _, _, res = compare_programme(df, ANY, settings, None)
        b = next(r for r in rows if r["measure"] == "binary_rate")
        if not res:
            out.append({"outcome": "reoffending", "design": design, "error": b["not_estimable_reason"]})
            continue
        out.append({"outcome": "reoffending", "design": design, "estimate": b["estimate"], "ci_low": b["ci_low"],
                    "ci_high": b["ci_high"], "n_treated": res["binary"].n_treated, "n_matched": b["n_matched"],
                    "truth_risk_set": truth["realised"]["reoffending"]["att_expected_risk_difference"]})
    return out


#: ``--later-events``: name -> (design label, index_events, how earlier_index_events enters): the bands (0, 1, 2,
#: 3 or more, a category) in the propensity score (the default), left out (the comparison before it was added), the
#: uncapped count entered linearly (the sensitivity analysis of docs/methods.md, "Amendment: earlier index events as a
#: covariate"), or the bands in the score and matched exactly (tried after the balance table, docs/validation.md).
LATER_VARIANTS = {
    "first": ("risk_set, index events first", "first", "banded"),
    "without": ("risk_set, index events all, without earlier_index_events", "all", None),
    "banded": ("risk_set, index events all", "all", "banded"),
    "linear": ("risk_set, index events all, earlier_index_events linear", "all", "linear"),
    "exact": ("risk_set, index events all, exact on earlier_index_events", "all", "exact"),
}
EARLIER_COUNT = "earlier_index_events_count"


def later_event_rows(con, truth: dict, as_of: dt.date, variants=tuple(LATER_VARIANTS)) -> list[dict]:
    """``--later-events``: the risk-set design under each index-event rule and form of the earlier index events
    (:data:`LATER_VARIANTS`; module docstring)."""
    base = ReoffendingSettings(exclude_programmes=("peer_visiting_after_discharge",))
    build_justice_cohort(con, base, as_of=as_of, run_id="bench")
    cohort = read_cohort(con)
    real = truth["realised"]["reoffending"]
    target = real["first_participating_event"]["att_expected_risk_difference"]
    others = tuple(c for c in base.covariates if c != EARLIER)
    out = []
    for design, rule, form in (LATER_VARIANTS[v] for v in variants):
        covariates = {None: others, "banded": base.covariates, "exact": base.covariates,
                      "linear": (*others, EARLIER_COUNT)}[form]
        exact = (EARLIER,) if form == "exact" else ()
        settings = base.model_copy(update={"index_events": rule, "covariates": covariates, "exact": exact})
        df = analysis_frame(cohort, settings)
        if form == "linear":  # the frame is in (index date, person) order: a person's rows before this one
            df[EARLIER_COUNT] = df.groupby("person_id", sort=False).cumcount().astype(float)
        rows, _, _, res = compare_programme(df, ANY, settings, None)
        b = next(r for r in rows if r["measure"] == "binary_rate")
        if not res:
            out.append({"outcome": "reoffending", "design": design, "error": b["not_estimable_reason"]})
            continue
        balance = res["binary"].balance
        level = balance[balance["covariate"].astype(str).str.startswith("earlier_index_events")] \
            if "covariate" in balance else balance.iloc[0:0]
        out.append({"outcome": "reoffending", "design": design, "estimate": b["estimate"], "ci_low": b["ci_low"],
                    "ci_high": b["ci_high"], "n_treated": res["binary"].n_treated, "n_matched": b["n_matched"],
                    "truth_risk_set": target,
                    "truth_own": real.get("att_expected_risk_difference") if rule == "first" else target,
                    "max_abs_smd": b["max_abs_smd"],
                    "earlier_max_abs_smd": float(level["smd_after"].abs().max()) if len(level) else np.nan})
    return out


LATER_SOURCES = ("persons", "timebank_members", "programme_enrolments", "justice_events", "offences")


def replicate(scenario: str, seed: int, persons: int, ccw_bootstrap: int,
              designs: tuple[str, ...] = READMISSION_DESIGNS, history: bool = False, later_events: bool = False,
              readmission_only: bool = False, later_variants: tuple[str, ...] = tuple(LATER_VARIANTS)) -> list[dict]:
    if later_events:
        with ingested(persons, seed, SCENARIOS[scenario], LATER_SOURCES, KEY, later_events=LATER_EVENTS_ON) as (
                con, truth, as_of, _):
            return [{"scenario": scenario, "seed": seed, **r} for r in later_event_rows(con, truth, as_of, later_variants)]
    justice = not readmission_only and bool(set(designs) & set(DESIGNS))  # reoffending needs the justice extracts
    sources = [s for s in SOURCES if justice or s not in ("justice_events", "offences")]
    with ingested(persons, seed, SCENARIOS[scenario], sources, KEY) as (con, truth, as_of, _):
        rows = ([] if history else readmission_rows(con, truth, as_of, ccw_bootstrap, designs)) \
            + (reoffending_rows(con, truth, as_of, designs, history) if justice else [])
    return [{"scenario": scenario, "seed": seed, **r} for r in rows]


def summarise(df: pd.DataFrame) -> pd.DataFrame:
    ok = df[df["error"].isna()] if "error" in df else df
    out = []
    for (scenario, outcome, design), g in ok.groupby(["scenario", "outcome", "design"], sort=False):
        truth = np.zeros(len(g)) if scenario == "null" else g["truth_risk_set"].to_numpy()
        covered = (g["ci_low"] <= truth) & (truth <= g["ci_high"])
        significant = (g["ci_high"] < 0) | (g["ci_low"] > 0)
        show = scenario == "null" or design not in NO_TRUTH
        own = {}
        if "truth_own" in g and g["truth_own"].notna().any():
            t_own = np.zeros(len(g)) if scenario == "null" else g["truth_own"].to_numpy(dtype=float)
            own = {"mean_truth_own": float(np.mean(t_own)), "bias_own": float(np.mean(g["estimate"] - t_own)),
                   "coverage_own_pct": 100 * float(((g["ci_low"] <= t_own) & (t_own <= g["ci_high"])).mean())}
        out.append({
            "scenario": scenario, "outcome": outcome, "design": design, "reps": len(g),
            "mean_truth": float(np.mean(truth)) if show else np.nan,
            "mean_estimate": float(g["estimate"].mean()),
            "bias": float(np.mean(g["estimate"] - truth)) if show else np.nan,
            "empirical_se": float(g["estimate"].std(ddof=1)) if len(g) > 1 else np.nan,
            "bias_mcse": float(g["estimate"].std(ddof=1) / np.sqrt(len(g))) if len(g) > 1 else np.nan,
            "mean_ci_width": float((g["ci_high"] - g["ci_low"]).mean()),
            "coverage_pct": 100 * float(covered.mean()) if show else np.nan,
            "significant_pct": 100 * float(significant.mean()),
            "mean_n_participants": float(g["n_treated"].mean()),
            "share_matched": float((g["n_matched"] / g["n_treated"]).mean()),
            "failures": int((df["error"].notna() & (df["scenario"] == scenario) & (df["outcome"] == outcome)
                             & (df["design"] == design)).sum()) if "error" in df else 0,
            **own,
        })
    return pd.DataFrame(out)


def markdown(summary: pd.DataFrame) -> str:
    cols = ["scenario", "outcome", "design", "reps", "mean_truth", "mean_estimate", "bias", "empirical_se",
            "mean_ci_width", "coverage_pct", "significant_pct", "mean_n_participants", "share_matched"]
    if "bias_own" in summary:  # --later-events: each rule against its own cohort's truth as well
        cols[cols.index("bias") + 1:cols.index("bias") + 1] = ["bias_mcse"]
        cols[cols.index("coverage_pct") + 1:cols.index("coverage_pct") + 1] = ["mean_truth_own", "bias_own",
                                                                                "coverage_own_pct"]
    return tables.markdown(summary, cols)


def report(df: pd.DataFrame, heading: str, out: Path) -> None:
    """Print the heading and the Markdown table of ``df``'s rows; write the summary CSV next to ``out``."""
    if "error" not in df:
        df["error"] = None
    summary = summarise(df)
    print(heading + "\n")
    print(markdown(summary))
    summary.to_csv(out.with_name(out.stem + "_summary.csv"), index=False)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.validate_designs", description=__doc__.splitlines()[0])
    ap.add_argument("--persons", type=int, default=20000)
    ap.add_argument("--reps", type=int, default=200)
    ap.add_argument("--first-seed", type=int, default=1000)
    ap.add_argument("--ccw-bootstrap", type=int, default=200, help="clone-censor-weight bootstrap replicates")
    ap.add_argument("--designs", nargs="+", choices=READMISSION_DESIGNS, default=list(READMISSION_DESIGNS),
                    help="run only these designs (reoffending has all but clone_censor_weight)")
    ap.add_argument("--history", action="store_true",
                    help="reoffending only: the risk-set design matched on each criminal-history covariate in turn")
    ap.add_argument("--later-events", action="store_true",
                    help="reoffending only: the later-events scenario, index_events first against all")
    ap.add_argument("--readmission-only", action="store_true", help="run the readmission designs only")
    ap.add_argument("--later-variants", nargs="+", choices=list(LATER_VARIANTS), default=list(LATER_VARIANTS),
                    help="--later-events: run only these forms of the comparison (LATER_VARIANTS)")
    ap.add_argument("--max-minutes", type=float, default=None, help="stop starting new replications after this")
    ap.add_argument("--out", type=Path, default=Path("build/validate_designs.csv"))
    ap.add_argument("--from-csv", type=Path, nargs="+", default=None, help="summarise these runs' rows instead")
    a = ap.parse_args(argv)
    a.out.parent.mkdir(parents=True, exist_ok=True)
    if a.from_csv:
        # keep_default_na=False: the scenario "null" is not a missing value
        df = pd.concat([pd.read_csv(f, keep_default_na=False, na_values=[""]) for f in a.from_csv], ignore_index=True)
        if df.duplicated(["scenario", "seed", "outcome", "design"]).any():
            raise SystemExit("the runs overlap: a seed appears twice")
        report(df, f"{df['seed'].nunique()} replications per scenario (seeds {df['seed'].min()}-{df['seed'].max()}), "
                   f"from {len(a.from_csv)} runs", a.out)
        return 0
    t0 = time.perf_counter()
    rows: list[dict] = []
    done = 0
    for r in replications(a.reps, a.max_minutes):
        for scenario in SCENARIOS:
            rows += replicate(scenario, a.first_seed + r, a.persons, a.ccw_bootstrap, tuple(a.designs), a.history,
                              a.later_events, a.readmission_only, tuple(a.later_variants))
        done += 1
        pd.DataFrame(rows).to_csv(a.out, index=False)
        print(f"replication {done} done at {time.perf_counter() - t0:.0f}s", flush=True)
    report(pd.DataFrame(rows), f"\n{done} replications per scenario ({a.persons} persons, seeds {a.first_seed}-"
           f"{a.first_seed + done - 1}), {time.perf_counter() - t0:.0f} s, {dt.date.today()}, "
           f"Python {platform.python_version()}", a.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
