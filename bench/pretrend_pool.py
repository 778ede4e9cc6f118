"""The pre-trend check's own comparison pool (docs/validation.md, "The pre-trend check's own comparison pool", written
before the run): on the same generated warehouse, per seed, the before/after rows under the default
``programme_exclusion`` (comparison_before_window) with three pools for the check:

* ``A``: the check on the estimate's rows (this checkout, the current check);
* ``B``: the check applying the programme rule to its own "before" year (``models/readmission/before_after.py`` of
  ``--candidate-commit``, loaded from git beside the current one; it was not adopted);
* ``C``: no programme rule in the check (B's check under ``programme_exclusion: none``, whose rows are the
  estimate's plus every enrolled person; only its ``pretrend_*`` columns are read).

Scenarios (bench/validate_before_after.py ``SCENARIOS``): ``null_adm`` (no effect) with the admissions row at
washout 90 (the default) and 0, and the contact rows at washout 0; ``dip_adm`` (30% of joiners in crisis over the
90 days before joining, contacts and admissions; no effect) at washout 0, where the check should warn.

    PYTHONPATH=. .venv/bin/python -m bench.pretrend_pool --first-seed 7000 --last-seed 7070 --stop-at 03:40

Writes build/pretrend_pool.csv after every seed and, at the end, build/pretrend_pool_summary.csv and the Markdown
table of the results. ``--stop-at HH:MM`` (UTC) starts no new seed after that time; every seed runs every scenario.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd

from bench import tables
from bench.synthetic import ingested, seeds_until
from bench.validate_before_after import KEY, SCENARIOS, SERVICES, SETTINGS, SOURCES, old_pool
from models.readmission import before_after as ba

RUNS = {"null_adm": ((90, False), (0, True)), "dip_adm": ((0, True),)}  # scenario -> (washout, contacts too)
ESTIMATE = ("did", "ci_low", "ci_high", "n_matched", "n_participants", "n_comparison")
PRETREND = ("pretrend_did", "pretrend_ci_low", "pretrend_ci_high", "pretrend_n_matched")


def rows_of(module, con, s, as_of, contacts: bool) -> pd.DataFrame:
    """The admissions row and (``contacts``) the contact rows of ``module``'s marts, one frame keyed by ``outcome``."""
    out = [module.admissions_before_after(con, s, as_of=as_of)[0]]
    if contacts:
        out.append(module.service_use_change(con, s, as_of=as_of)[0].rename(columns={"service": "outcome"}))
    return pd.concat(out, ignore_index=True).set_index("outcome")


def replicate(scenario: str, seed: int, persons: int, candidate) -> list[dict]:
    fx, cr = SCENARIOS[scenario]
    rows = []
    with ingested(persons, seed, fx, SOURCES, KEY, cr) as (con, _, as_of, _cfg):
        for washout, contacts in RUNS[scenario]:
            s = SETTINGS.model_copy(update={"washout_days": washout})
            got = {"A": rows_of(ba, con, s, as_of, contacts), "B": rows_of(candidate, con, s, as_of, contacts),
                   "C": rows_of(candidate, con, s.model_copy(update={"programme_exclusion": "none"}), as_of, contacts)}
            a, b = got["A"], got["B"]
            # the estimate must be A's, to the last digit (C's estimate is another rule's and is not used)
            diff = float(np.nanmax(np.abs(b[list(ESTIMATE)].to_numpy(float) - a[list(ESTIMATE)].to_numpy(float))))
            for cand, r in got.items():
                for outcome in r.index:
                    e = (b if cand == "C" else r).loc[outcome]
                    rows.append({"scenario": scenario, "seed": seed, "washout": washout, "outcome": outcome,
                                 "candidate": cand, "status": e["status"], **{k: e[k] for k in ESTIMATE},
                                 "pretrend_status": r.loc[outcome, "pretrend_status"],
                                 **{k: r.loc[outcome, k] for k in PRETREND}, "estimate_diff_vs_A": diff})
    return rows


def summarise(df: pd.DataFrame) -> pd.DataFrame:
    """Per scenario, washout, outcome and candidate: the placebo's mean with its Monte Carlo SE, its paired difference
    from A (same seed), the share of seeds in which the check failed, and the estimate (truth 0 for admissions in
    both scenarios) with its Monte Carlo SE and coverage of 0."""
    ok = df[df["pretrend_status"] == "estimated"]
    base = ok[ok["candidate"] == "A"].set_index(["scenario", "washout", "outcome", "seed"])["pretrend_did"]
    out = []
    for (scenario, washout, outcome, cand), g in ok.groupby(["scenario", "washout", "outcome", "candidate"], sort=False):
        n = len(g)
        paired = (g.set_index(["scenario", "washout", "outcome", "seed"])["pretrend_did"] - base).dropna()
        failed = (g["pretrend_ci_low"] > 0) | (g["pretrend_ci_high"] < 0)
        out.append({
            "scenario": scenario, "washout": washout, "outcome": outcome, "candidate": cand, "reps": n,
            "placebo": g["pretrend_did"].mean(), "placebo_mcse": g["pretrend_did"].std(ddof=1) / np.sqrt(n),
            "paired_vs_A": paired.mean(), "paired_mcse": paired.std(ddof=1) / np.sqrt(len(paired)),
            "check_failed_pct": 100 * failed.mean(), "check_failed_mcse": 100 * np.sqrt(failed.mean() * (1 - failed.mean()) / n),
            "positive_failed_pct": 100 * (g["pretrend_ci_low"] > 0).mean(),
            "pretrend_n_matched": g["pretrend_n_matched"].mean(),
            "estimate": g["did"].mean(), "estimate_mcse": g["did"].std(ddof=1) / np.sqrt(n),
            "covers_0_pct": 100 * ((g["ci_low"] <= 0) & (g["ci_high"] >= 0)).mean(),
            "max_estimate_diff_vs_A": g["estimate_diff_vs_A"].max(),
        })
    return pd.DataFrame(out)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.pretrend_pool", description=__doc__.splitlines()[0])
    ap.add_argument("--first-seed", type=int, default=7000)
    ap.add_argument("--last-seed", type=int, default=7070, help="inclusive")
    ap.add_argument("--persons", type=int, default=20000)
    ap.add_argument("--candidate-commit", default="cf72a48", help="the code whose check applies the rule to its own "
                                                                    "before year (B)")
    ap.add_argument("--scenarios", nargs="+", choices=tuple(RUNS), default=list(RUNS))
    ap.add_argument("--stop-at", default=None, help="HH:MM UTC: start no new seed after it")
    ap.add_argument("--out", type=Path, default=Path("build/pretrend_pool.csv"))
    a = ap.parse_args(argv)
    a.out.parent.mkdir(parents=True, exist_ok=True)
    candidate = old_pool(a.candidate_commit)
    t0, rows = time.perf_counter(), []
    for seed in seeds_until(a.first_seed, a.last_seed, a.stop_at):
        for scenario in a.scenarios:
            rows += replicate(scenario, seed, a.persons, candidate)
        pd.DataFrame(rows).to_csv(a.out, index=False)
        print(f"seed {seed} done at {time.perf_counter() - t0:.0f}s", flush=True)
    summary = summarise(pd.DataFrame(rows))
    summary.to_csv(a.out.with_name(a.out.stem + "_summary.csv"), index=False)
    print(tables.markdown(summary))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
