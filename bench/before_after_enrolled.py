"""Emergency admissions before/after: which programme rule should the comparison pool use? Paired by seed, the four
``programme_exclusion`` rules (comparison_at_join, the old default; none; comparison_before_window;
both_before_window) on the same warehouse, through the generator, the ingest and ``admissions_before_after``, under
the scenarios given (default the pre-registered null_adm, effect and programme_adm; bench/validate_before_after.py
``SCENARIOS``), with the default washout (90 days).

    PYTHONPATH=. .venv/bin/python -m bench.before_after_enrolled --first-seed 7000 --last-seed 7039 --stop-at 01:00

Per seed, scenario and rule: the estimate and interval, the truth (``admissions_truth``: the first-order effect of
joining on the matched participants), the ``dilution`` (the weighted mean over the matched comparison rows of the
first-order effect p1 - p0 on their participating discharges whose 30-day window reaches the after window, per
person-year: what enrolling or joining takes off the comparison's after rate; ``admissions_first_order`` with
lead 29), the group rates, the eligible counts and the pre-trend check (placebo DiD and whether its interval
excludes 0). Writes build/programme_rule.csv after every seed, and at the end
build/programme_rule_summary.csv and the Markdown tables of docs/validation.md ("The programme rule of the
comparison pool: results"). ``--stop-at HH:MM`` (UTC) starts no new seed after that time; every seed runs every
scenario, so the seeds completed are the same for all.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd

from bench import tables
from bench.synthetic import ingested, seeds_until
from bench.validate_before_after import (KEY, SCENARIOS, SETTINGS, SOURCES, admissions_first_order,
                                         admissions_truth)
from models.readmission import before_after as ba

RULES = ("comparison_at_join", "none", "comparison_before_window", "both_before_window")
PRE_REGISTERED = ("null_adm", "effect", "programme_adm")


def replicate(scenario: str, seed: int, persons: int) -> list[dict]:
    """Every rule's admissions row on one generated warehouse, with its truth and dilution."""
    fx, cr = SCENARIOS[scenario]
    rows = []
    with ingested(persons, seed, fx, SOURCES, KEY, cr) as (con, _, as_of, cfg):
        for rule in RULES:
            s = SETTINGS.model_copy(update={"programme_exclusion": rule})
            frame, counts = ba.admissions_before_after(con, s, as_of=as_of)
            r = frame.iloc[0]
            treated, w, eff = admissions_first_order(con, cfg, s, lead=29)
            rows.append({"scenario": scenario, "seed": seed, "rule": rule, "status": r.status, "did": r.did,
                         "ci_low": r.ci_low, "ci_high": r.ci_high, "truth": admissions_truth(con, cfg, s),
                         "dilution": float(np.average(eff[~treated], weights=w[~treated])),
                         "participant_before": r.participant_before, "participant_after": r.participant_after,
                         "comparison_before": r.comparison_before, "comparison_after": r.comparison_after,
                         "n_participants": r.n_participants, "n_comparison": r.n_comparison,
                         "n_matched": r.n_matched, "participants_joined": counts["participants_joined"],
                         "pretrend_did": r.pretrend_did, "pretrend_ci_low": r.pretrend_ci_low,
                         "pretrend_ci_high": r.pretrend_ci_high})
    return rows


def summarise(df: pd.DataFrame) -> pd.DataFrame:
    """Per scenario and rule: bias with its Monte Carlo SE, coverage, share significant, interval width, dilution,
    group rates, counts, and the paired difference from comparison_at_join (same seed) with its Monte Carlo SE."""
    ok = df[df["status"] == "estimated"]
    base = ok[ok["rule"] == "comparison_at_join"].set_index(["scenario", "seed"])["did"]
    out = []
    for (scenario, rule), g in ok.groupby(["scenario", "rule"], sort=False):
        err = g["did"] - g["truth"]
        paired = (g.set_index(["scenario", "seed"])["did"] - base).dropna()
        n = len(g)
        out.append({
            "scenario": scenario, "rule": rule, "reps": n, "seeds": f"{g['seed'].min()}–{g['seed'].max()}",
            "mean_truth": g["truth"].mean(), "mean_estimate": g["did"].mean(), "bias": err.mean(),
            "bias_mcse": err.std(ddof=1) / np.sqrt(n), "empirical_se": g["did"].std(ddof=1),
            "mean_ci_width": (g["ci_high"] - g["ci_low"]).mean(),
            "coverage_pct": 100 * ((g["ci_low"] <= g["truth"]) & (g["truth"] <= g["ci_high"])).mean(),
            "significant_pct": 100 * ((g["ci_high"] < 0) | (g["ci_low"] > 0)).mean(),
            "paired_vs_at_join": paired.mean(), "paired_mcse": paired.std(ddof=1) / np.sqrt(len(paired)),
            "mean_dilution": g["dilution"].mean(), "mean_pretrend_did": g["pretrend_did"].mean(),
            "pretrend_mcse": g["pretrend_did"].std(ddof=1) / np.sqrt(n),
            "pretrend_failed_pct": 100 * ((g["pretrend_ci_high"] < 0) | (g["pretrend_ci_low"] > 0)).mean(),
            "comparison_before": g["comparison_before"].mean(), "comparison_after": g["comparison_after"].mean(),
            "participant_before": g["participant_before"].mean(), "participant_after": g["participant_after"].mean(),
            "mean_n_participants": g["n_participants"].mean(), "mean_n_comparison": g["n_comparison"].mean(),
            "share_matched": (g["n_matched"] / g["n_participants"]).mean(),
            "failures": int(((df["status"] != "estimated") & (df["scenario"] == scenario) & (df["rule"] == rule)).sum()),
        })
    return pd.DataFrame(out)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.before_after_enrolled", description=__doc__.splitlines()[0])
    ap.add_argument("--first-seed", type=int, default=7000)
    ap.add_argument("--last-seed", type=int, default=7039, help="inclusive")
    ap.add_argument("--persons", type=int, default=20000)
    ap.add_argument("--scenarios", nargs="+", choices=tuple(SCENARIOS), default=list(PRE_REGISTERED))
    ap.add_argument("--stop-at", default=None, help="HH:MM UTC: start no new seed after it")
    ap.add_argument("--out", type=Path, default=Path("build/programme_rule.csv"))
    a = ap.parse_args(argv)
    a.out.parent.mkdir(parents=True, exist_ok=True)
    t0, rows = time.perf_counter(), []
    for seed in seeds_until(a.first_seed, a.last_seed, a.stop_at):
        for scenario in a.scenarios:
            rows += replicate(scenario, seed, a.persons)
        pd.DataFrame(rows).to_csv(a.out, index=False)
        print(f"seed {seed} done at {time.perf_counter() - t0:.0f}s", flush=True)
    summary = summarise(pd.DataFrame(rows))
    summary.to_csv(a.out.with_name(a.out.stem + "_summary.csv"), index=False)
    print(tables.markdown(summary))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
