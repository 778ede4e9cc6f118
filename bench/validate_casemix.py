"""Readmission: the old matching default against the case-mix default, on the generator's case-mix scenario.

    python -m bench.validate_casemix --persons 10000 --reps 100 --first-seed 5000 [--max-minutes 60] \
        [--out build/validate_casemix.csv]
    python -m bench.validate_casemix --from-csv PART1.csv PART2.csv

Each replication r (seed first_seed + r) generates, for each scenario, an extract with the generator's
``--case-mix 1`` (data/synthetic/truth.py ``CaseMix``: peer visiting offered after elective, short, orthopaedic
or surgical stays; time-bank members' stays shorter and less often "other"; method, length of stay and specialty
also in the readmission model) and, for ``plain-*``, without it:

* ``casemix-null``: case mix on, ``--or-readmit 1`` (no effect);
* ``casemix-effect``: case mix on, the generator's OR 0.7;
* ``plain-null``: case mix off, no effect;
* ``plain-effect``: case mix off, OR 0.7 (the generator of docs/validation.md's design runs: does the larger
  default cost anything where case mix does not confound?);
* ``dx-null``, ``dx-effect``: case mix on with the spells' primary diagnoses (``--diagnoses``), whose ICD-10
  chapter then also drives the peer-visiting offer and readmission (truth.CASEMIX_DIAGNOSIS_*), OR 1 and 0.7.

It ingests the extract (``pipelines.ingest.stage.ingest_source``), builds ``core.index_discharges``
(``build_index_discharges``) and runs the ``any`` comparison of the risk-set design
(``models.readmission.effects.design_rows``, ``pool_covariates``, ``run_comparison``) with each variant of
:data:`VARIANTS`: the old default (age, sex, IMD decile, prior emergency admissions; no exact column; no pooling)
and the case-mix default (exact admission method; plus specialty, the diagnosis chapter, length-of-stay band, discharge
year; rare levels pooled), the chapter left out as ``readmission_effects`` leaves it out
(``models.readmission.diagnosis.diagnosis_case_mix``: always in the scenarios without diagnoses); in the ``dx-*``
scenarios, instead of the old default, the case-mix default without the chapter (specialty standing in for it), and
with ``--dx-variants`` also ``exact on chapter``: the chapter matched exactly beside admission method and left out of
the score. ``--variants`` / ``--dx-variants`` ``"score per route"``: the case-mix default with ``score_by_route``
(a propensity score for trial day 0 and one for later days; docs/validation.md, "A propensity score per route").
``lost_exact`` counts the participants dropped for an exact stratum (trial day × the exact columns) without
comparison discharges; ``--paired A B`` prints variant A against B paired by seed (:func:`paired`).
Truth: 0 under the null, else the replication's ``realised.readmission.att_expected_risk_difference``.
Summary columns as bench/validate_designs.py (bias, empirical SE, Monte Carlo SE of the bias, coverage, share
significant).
"""

from __future__ import annotations

import argparse
import datetime as dt
import platform
import re
import time
from pathlib import Path

import numpy as np
import pandas as pd

from bench import tables
from bench.synthetic import ingested, replications
from data.synthetic import CaseMix, Effects
from models.comparison import ComparisonError
from models.readmission import ReadmissionSettings, build_index_discharges, discharges_frame
from models.readmission.diagnosis import DIAGNOSIS_CHAPTER, diagnosis_case_mix
from models.readmission.effects import design_rows, pool_covariates, run_comparison

KEY = b"validate-casemix-key-0123456789abcdef"
SOURCES = ("persons", "timebank_members", "timebank_exchanges", "programme_enrolments", "hospital_spells")
#: scenario: (effects, case mix, the spells carry primary diagnoses)
SCENARIOS = {"casemix-null": (Effects(or_readmit=1.0), CaseMix(1.0), False),
             "casemix-effect": (Effects(), CaseMix(1.0), False),
             "plain-null": (Effects(or_readmit=1.0), CaseMix(), False),
             "plain-effect": (Effects(), CaseMix(), False),
             "dx-null": (Effects(or_readmit=1.0), CaseMix(1.0), True),
             "dx-effect": (Effects(), CaseMix(1.0), True)}
OLD = {"matching_covariates": ("age", "sex", "imd_decile", "prior_emergency_12m"), "matching_exact": (),
       "min_level_count": 0}
NO_CHAPTER = {"matching_covariates": tuple(c for c in ReadmissionSettings().matching_covariates if c != DIAGNOSIS_CHAPTER)}
#: the case-mix default with a propensity score per route (docs/validation.md, "A propensity score per route")
ROUTE_SCORE = {"score_by_route": True}
VARIANTS = {"old default": OLD, "case-mix default": {}, "score per route": ROUTE_SCORE}
#: the chapter matched exactly beside admission method instead of entering the score (the pre-registered comparison
#: of docs/validation.md, "Exact matching on the chapter")
EXACT_CHAPTER = {**NO_CHAPTER, "matching_exact": (*ReadmissionSettings().matching_exact, DIAGNOSIS_CHAPTER)}
DX_VARIANTS = {"case-mix default, no chapter": NO_CHAPTER, "case-mix default": {}, "exact on chapter": EXACT_CHAPTER,
               "score per route": ROUTE_SCORE}
#: the participants an exact stratum without comparison discharges drops (models.comparison.sample's warning)
LOST_EXACT = re.compile(r"^(\d+) participants are in exact strata with no comparison people")


def replicate(scenario: str, seed: int, persons: int, dx_variants=("case-mix default, no chapter", "case-mix default"),
              variants=("old default", "case-mix default")) -> list[dict]:
    effects, case_mix, diagnoses = SCENARIOS[scenario]
    base = ReadmissionSettings(programme_ids=("peer_visiting_after_discharge",))
    out = []
    with ingested(persons, seed, effects, SOURCES, KEY, case_mix=case_mix, diagnoses=diagnoses) as (con, truth, as_of, _):
        build_index_discharges(con, base, as_of=as_of, run_id="bench")
        discharges = discharges_frame(con)
        target = 0.0 if effects.or_readmit == 1 else truth["realised"]["readmission"]["att_expected_risk_difference"]
        for variant, update in ({v: DX_VARIANTS[v] for v in dx_variants} if diagnoses
                                else {v: VARIANTS[v] for v in variants}).items():
            settings, _ = diagnosis_case_mix(discharges, base.model_copy(update=update))
            rows = design_rows(discharges, settings, "any")
            rows, covs, _ = pool_covariates(rows, settings)
            row = {"scenario": scenario, "seed": seed, "variant": variant, "truth": target,
                   "n_participants": int(rows["treated"].sum())}
            try:
                res = run_comparison(rows, settings, covariates=covs)
            except ComparisonError as err:
                out.append({**row, "error": str(err)})
                continue
            rd = res.effects.loc["risk_difference"]
            smd = np.abs(res.balance["smd_after"]).max() if len(res.balance) else np.nan
            chapter = res.balance[res.balance["source"] == DIAGNOSIS_CHAPTER] if "source" in res.balance else res.balance[:0]
            out.append({**row, "estimate": rd["estimate"], "ci_low": rd["ci_low"], "ci_high": rd["ci_high"],
                        "n_treated": res.n_treated, "n_matched": res.n_matched, "max_abs_smd": smd,
                        "n_dropped_support": res.n_dropped_support, "n_dropped_caliper": res.n_dropped_caliper,
                        "lost_exact": sum(int(m[1]) for w in res.warnings if (m := LOST_EXACT.match(w))),
                        "chapter_in_model": DIAGNOSIS_CHAPTER in covs,
                        "max_abs_smd_chapter": np.abs(chapter["smd_after"]).max() if len(chapter) else np.nan})
    return out


def summarise(df: pd.DataFrame) -> pd.DataFrame:
    ok = df[df["error"].isna()] if "error" in df else df
    out = []
    for (scenario, variant), g in ok.groupby(["scenario", "variant"], sort=False):
        err = g["estimate"] - g["truth"]
        sig = (g["ci_high"] < 0) | (g["ci_low"] > 0)
        out.append({"scenario": scenario, "variant": variant, "reps": len(g), "mean_truth": g["truth"].mean(),
                    "mean_estimate": g["estimate"].mean(), "bias": err.mean(),
                    "mc_se_bias": err.std(ddof=1) / np.sqrt(len(g)), "empirical_se": g["estimate"].std(ddof=1),
                    "mean_ci_width": (g["ci_high"] - g["ci_low"]).mean(),
                    "coverage_pct": 100 * ((g["ci_low"] <= g["truth"]) & (g["truth"] <= g["ci_high"])).mean(),
                    "significant_pct": 100 * sig.mean(), "mean_n_participants": g["n_treated"].mean(),
                    "share_matched": (g["n_matched"] / g["n_treated"]).mean(),
                    "mean_max_abs_smd": g["max_abs_smd"].mean(),
                    **({"lost_exact_pct": 100 * (g["lost_exact"] / g["n_participants"]).mean()} if "lost_exact" in g else {}),
                    **({"chapter_in_model_pct": 100 * g["chapter_in_model"].mean()} if "chapter_in_model" in g else {}),
                    "failures": int(((df["scenario"] == scenario) & (df["variant"] == variant)
                                     & df["error"].notna()).sum()) if "error" in df else 0})
    return pd.DataFrame(out)


def paired(df: pd.DataFrame, a: str, b: str) -> pd.DataFrame:
    """Variant ``a`` against ``b`` on the seeds where both estimated, by scenario: each one's bias, its Monte Carlo SE
    and coverage, the paired difference of the errors (a − b) with its SE, and the reduction of |bias|
    ``|bias a| − |bias b|`` with its paired SE (SD over seeds of sign(bias a)·error a − sign(bias b)·error b, over
    √seeds: the delta method's SE of the difference of absolute means)."""
    ok = df[df["error"].isna()] if "error" in df else df
    out = []
    for scenario, g in ok.groupby("scenario", sort=False):
        w = g.pivot_table(index="seed", columns="variant", values=["estimate", "truth", "ci_low", "ci_high"])
        w = w.dropna()
        n = len(w)
        err = {v: w["estimate"][v] - w["truth"][v] for v in (a, b)}
        cover = {v: 100 * ((w["ci_low"][v] <= w["truth"][v]) & (w["truth"][v] <= w["ci_high"][v])).mean() for v in (a, b)}
        bias = {v: err[v].mean() for v in (a, b)}
        d = err[a] - err[b]
        da = np.sign(bias[a]) * err[a] - np.sign(bias[b]) * err[b]
        out.append({"scenario": scenario, "seeds": n, "a": a, "b": b,
                    "bias_a": bias[a], "mc_se_a": err[a].std(ddof=1) / np.sqrt(n), "coverage_a_pct": cover[a],
                    "bias_b": bias[b], "mc_se_b": err[b].std(ddof=1) / np.sqrt(n), "coverage_b_pct": cover[b],
                    "diff_a_minus_b": d.mean(), "se_diff": d.std(ddof=1) / np.sqrt(n),
                    "abs_bias_reduction": abs(bias[a]) - abs(bias[b]), "se_abs_reduction": da.std(ddof=1) / np.sqrt(n)})
    return pd.DataFrame(out)


def markdown(summary: pd.DataFrame) -> str:
    return tables.markdown(summary, three=("share_matched", "mean_max_abs_smd"))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.validate_casemix", description=__doc__.splitlines()[0])
    ap.add_argument("--persons", type=int, default=10000)
    ap.add_argument("--reps", type=int, default=100)
    ap.add_argument("--first-seed", type=int, default=5000)
    ap.add_argument("--scenarios", nargs="+", choices=list(SCENARIOS), default=list(SCENARIOS))
    ap.add_argument("--dx-variants", nargs="+", choices=list(DX_VARIANTS),
                    default=["case-mix default, no chapter", "case-mix default"],
                    help="the variants of the dx-* scenarios")
    ap.add_argument("--variants", nargs="+", choices=list(VARIANTS), default=["old default", "case-mix default"],
                    help="the variants of the scenarios without diagnoses")
    ap.add_argument("--paired", nargs=2, metavar=("A", "B"), default=None,
                    help="also print variant A against B paired by seed (see paired())")
    ap.add_argument("--max-minutes", type=float, default=None)
    ap.add_argument("--out", type=Path, default=Path("build/validate_casemix.csv"))
    ap.add_argument("--from-csv", type=Path, nargs="+", default=None)
    a = ap.parse_args(argv)
    a.out.parent.mkdir(parents=True, exist_ok=True)
    if a.from_csv:
        df = pd.concat([pd.read_csv(f) for f in a.from_csv], ignore_index=True)
        if "error" not in df:
            df["error"] = None
        print(markdown(summarise(df)))
        if a.paired:
            print("\n" + tables.markdown(paired(df, *a.paired)))
        return 0
    t0, rows, done = time.perf_counter(), [], 0
    for r in replications(a.reps, a.max_minutes):
        for scenario in a.scenarios:
            rows += replicate(scenario, a.first_seed + r, a.persons, a.dx_variants, a.variants)
        done += 1
        pd.DataFrame(rows).to_csv(a.out, index=False)
        print(f"replication {done} done at {time.perf_counter() - t0:.0f}s", flush=True)
    df = pd.DataFrame(rows)
    if "error" not in df:
        df["error"] = None
    print(f"\n{done} replications per scenario ({a.persons} persons, seeds {a.first_seed}-{a.first_seed + done - 1}), "
          f"{time.perf_counter() - t0:.0f} s, {dt.date.today()}, Python {platform.python_version()}\n")
    print(markdown(summarise(df)))
    if a.paired:
        print("\n" + tables.markdown(paired(df, *a.paired)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
