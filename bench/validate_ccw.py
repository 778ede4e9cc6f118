"""Clone–censor–weight (models/clone_censor_weight.py) on a simulation whose strategy risks are known.

    python -m bench.validate_ccw [--reps 500 --units 2000 --bootstrap 200 --limit-units 400000 --limit-reps 5]
                                 [--truncate Q --section NAME] [--csv build/validate_ccw_sim.csv] [--out docs/validation.md]

Each replication draws ``units`` discharges (two per person, independent) with a covariate
x ~ N(0, 1). With probability expit(x − 0.5) a start is planned on a day uniform on 1…14;
the daily readmission hazard on days 0…29 is 0.006·exp(0.5x), multiplied by ``hr`` from the
start day on; a readmission before the planned day prevents the start (a start on day k
comes before a readmission on day k). Scenarios: ``null`` (hr = 1) and ``effect`` (hr = 0.5).

Truth, by simulating 400,000 discharges under each strategy: "start within 14 days" = every
discharge plans a start on a day uniform on 1…14 (started unless readmitted before it);
"do not start" = nobody starts. In ``null`` both are equal (truth 0). In ``effect`` this
"everyone plans" strategy is one reading of "start within 14 days"; the estimator's start arm
counts the grace-period readmissions of the natural course (Maringe et al. 2020), so a bias
towards 0 is expected and shown, not hidden.

The estimator's limit, what it estimates: the mean of ``--limit-reps`` fits without bootstrap on ``--limit-units``
discharges each. The intervals are judged by whether they cover it, and how wide they are against the estimates'
spread (the rules pre-registered in docs/validation.md, "Clone-censor-weight's intervals"); the results go to that
section of ``--out``.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd

from bench.report import write_section
from models.clone_censor_weight import clone_censor_weight

GRACE, HORIZON = 14, 29
SCENARIOS = {"null": 1.0, "effect": 0.5}
SECTION = "ccw-intervals"  # its section of docs/validation.md (bench.report)


def simulate(rng: np.random.Generator, n: int, hr: float, plan_all: bool | None = None) -> pd.DataFrame:
    """Discharges; ``plan_all`` True / False forces everyone / no one to plan a start (the strategies)."""
    x = rng.normal(size=n)
    planned = rng.random(n) < 1 / (1 + np.exp(-(x - 0.5))) if plan_all is None else np.full(n, plan_all)
    plan = np.where(planned, rng.integers(1, GRACE + 1, n), np.inf)
    days = np.arange(HORIZON + 1)[None, :]
    hazard = 0.006 * np.exp(0.5 * x)[:, None] * np.where(days >= plan[:, None], hr, 1.0)
    hit = rng.random((n, HORIZON + 1)) < hazard
    event = np.where(hit.any(axis=1), hit.argmax(axis=1), np.nan)
    start = np.where(np.isfinite(plan) & ~(event < plan), plan, np.nan)
    return pd.DataFrame({"start": start, "event": event, "person_id": np.arange(n) // 2, "x": x})


def truth(hr: float, seed: int = 99, n: int = 400_000) -> float:
    """Risk difference of the two strategies (0 when hr = 1); the same random numbers for both."""
    if hr == 1:
        return 0.0
    risk = lambda plan_all: simulate(np.random.default_rng(seed), n, hr, plan_all)["event"].notna().mean()  # noqa: E731
    return float(risk(True) - risk(False))


def limit(hr: float, units: int, reps: int, first_seed: int, truncate: float | None = None) -> tuple[float, float]:
    """What the estimator estimates: the mean risk difference of ``reps`` fits (no bootstrap) on ``units``
    discharges each, and its Monte Carlo SE."""
    fits = [clone_censor_weight(simulate(np.random.default_rng(first_seed + r), units, hr), start="start", event="event",
                                cluster="person_id", covariates=["x"], grace=GRACE, horizon=HORIZON,
                                truncate=truncate, bootstrap=0).risk_difference for r in range(reps)]
    return float(np.mean(fits)), float(np.std(fits, ddof=1) / np.sqrt(reps)) if reps > 1 else float("nan")


def summarise(df: pd.DataFrame) -> pd.DataFrame:
    """One row per scenario: bias and coverage against the causal truth and against the estimator's limit, and the
    intervals' width against the estimates' spread (the pre-registered rules, docs/validation.md)."""
    rows = []
    for scenario, g in df.groupby("scenario", sort=False):
        sd = g.estimate.std(ddof=1)
        covers = lambda x: float(((g.ci_low <= x) & (x <= g.ci_high)).mean() * 100)  # noqa: E731
        rows.append({
            "scenario": scenario, "reps": len(g), "truth": g.truth.iloc[0], "limit": g.limit.iloc[0],
            "limit_mc_se": g.limit_mc_se.iloc[0], "mean": g.estimate.mean(), "sd": sd,
            "bias_vs_limit": g.estimate.mean() - g.limit.iloc[0],
            "bias_mc_se": float(np.hypot(sd / np.sqrt(len(g)), g.limit_mc_se.iloc[0])),
            "cover_truth": covers(g.truth.iloc[0]), "cover_limit": covers(g.limit.iloc[0]),
            "width_ratio": (g.ci_high - g.ci_low).mean() / (3.92 * sd),
            "significant": float(((g.ci_high < 0) | (g.ci_low > 0)).mean() * 100),
        })
    return pd.DataFrame(rows)


def to_markdown(tab: pd.DataFrame, args: argparse.Namespace, minutes: float) -> str:
    """The results table and each pre-registered rule's verdict."""
    lines = [f"`python -m bench.validate_ccw --reps {args.reps} --units {args.units} --bootstrap {args.bootstrap} "
             f"--first-seed {args.first_seed} --limit-units {args.limit_units} --limit-reps {args.limit_reps}"
             f"{f' --truncate {args.truncate}' if args.truncate else ''}` "
             f"({minutes:.0f} minutes):", "",
             "| scenario | reps | causal truth | limit (MC SE) | mean estimate | bias vs limit (MC SE) | SD of estimates "
             "| covers truth % | covers limit % | width / (3.92 SD) | significant % |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in tab.itertuples():
        lines.append(f"| {r.scenario} | {r.reps} | {r.truth:+.4f} | {r.limit:+.4f} ({r.limit_mc_se:.4f}) | {r.mean:+.4f} | "
                     f"{r.bias_vs_limit:+.4f} ({r.bias_mc_se:.4f}) | {r.sd:.4f} | {r.cover_truth:.1f} | "
                     f"{r.cover_limit:.1f} | {r.width_ratio:.2f} | {r.significant:.1f} |")
    by = tab.set_index("scenario")
    verdict = lambda ok: "met" if ok else "**not met**"  # noqa: E731
    null, effect = by.loc["null"], by.loc["effect"]
    lines += ["", "Rules (written before the run, above):", "",
              f"1. `null` covers 0 in 93–97%: {null.cover_truth:.1f}%, {verdict(93 <= null.cover_truth <= 97)}.",
              f"2. `effect` covers its limit in 93–97%: {effect.cover_limit:.1f}%, "
              f"{verdict(93 <= effect.cover_limit <= 97)}.",
              f"3. Width / (3.92 SD) in 0.90–1.15: `null` {null.width_ratio:.2f}, `effect` {effect.width_ratio:.2f}, "
              f"{verdict(all(0.90 <= x <= 1.15 for x in tab.width_ratio))}.",
              f"4. Mean within 2 MC SE of the limit: `null` {null.bias_vs_limit / null.bias_mc_se:+.1f} SE, `effect` "
              f"{effect.bias_vs_limit / effect.bias_mc_se:+.1f} SE; `null`'s limit {null.limit:+.4f}: "
              f"{verdict(all(abs(t.bias_vs_limit) <= 2 * t.bias_mc_se for t in tab.itertuples()) and abs(null.limit) <= 0.005)}."]
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.validate_ccw", description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=500)
    ap.add_argument("--units", type=int, default=2000)
    ap.add_argument("--bootstrap", type=int, default=200)
    ap.add_argument("--first-seed", type=int, default=6000)
    ap.add_argument("--limit-units", type=int, default=400_000, help="discharges per fit of the estimator's limit")
    ap.add_argument("--limit-reps", type=int, default=5, help="fits averaged for the limit")
    ap.add_argument("--truncate", type=float, default=None, help="cap the weights at this quantile (ccw_truncate)")
    ap.add_argument("--section", default=SECTION, help="the section of --out written")
    ap.add_argument("--csv", type=Path, default=Path("build/validate_ccw_sim.csv"), help="one row per replication")
    ap.add_argument("--out", default="docs/validation.md", help="markdown report path; '' to skip")
    a = ap.parse_args(argv)
    t0 = time.perf_counter()
    rows = []
    for scenario, hr in SCENARIOS.items():
        true_rd = truth(hr)
        lim, lim_se = limit(hr, a.limit_units, a.limit_reps, 9000, a.truncate)
        for r in range(a.reps):
            frame = simulate(np.random.default_rng(a.first_seed + r), a.units, hr)
            res = clone_censor_weight(frame, start="start", event="event", cluster="person_id", covariates=["x"],
                                      grace=GRACE, horizon=HORIZON, truncate=a.truncate, bootstrap=a.bootstrap, seed=r)
            rows.append({"scenario": scenario, "seed": a.first_seed + r, "truth": true_rd, "limit": lim,
                         "limit_mc_se": lim_se, "estimate": res.risk_difference, "ci_low": res.rd_ci_low,
                         "ci_high": res.rd_ci_high, "max_weight": res.max_weight})
    df = pd.DataFrame(rows)
    a.csv.parent.mkdir(parents=True, exist_ok=True)
    df.to_csv(a.csv, index=False)
    text = to_markdown(summarise(df), a, (time.perf_counter() - t0) / 60)
    print(text)
    if a.out:
        write_section(Path(a.out), a.section, text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
