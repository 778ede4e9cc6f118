"""Small-sample check of the comparison engine's intervals: normal (1.96) against t on G - 1 df.

Run:  PYTHONPATH=. .venv/bin/python -m bench.validate_small_samples [--reps 400] [--sizes 10 20 30 60]
      [--seed 20270101] [--out docs/validation.md]

Time banks are small: a well-being comparison can rest on a dozen matched participants. The
engine's cluster-robust variance is a sum over G clusters (matched sets; the person under
weighting), so its intervals use t on G - 1 degrees of freedom (models/comparison/effects.py).
This bench measures, on the same replications, the coverage of the 95% interval and the rate of
p < 0.05 with the normal critical value (the rule before) and with t(G - 1) (the rule now): the
estimate and SE are the engine's and do not depend on the rule, so the two columns differ only in
the critical value.

Data: the data-generating process of ``bench/validate_comparison.py`` (scenario "main":
participation and outcomes depend on age, deprivation, prior service use and sex), with exactly
``n1`` participants and a comparison pool of ``5 n1`` non-participants drawn from it (a time
bank's members against a local pool five times their number). Two scenarios on the same
people: "effect" (the bench's effects: log-odds -0.5, rate ratio 0.75, +1.5 + 0.5 prior, hazard
ratio 0.7; truths are its population effects on the participants, ``true_values``) and "null"
(Y(1) = Y(0); truth 0, or 1 for the hazard ratio). Designs: the engine's defaults, 1:1 nearest
neighbour on the logit, caliper 0.2 SD, without replacement (the readmission, reoffending and
well-being default), and ATT weighting (``method="ipw"``).
"""

from __future__ import annotations

import argparse
import datetime as dt
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats
from scipy.special import expit

from bench.report import write_section
from bench.validate_comparison import COUNT_RR, HR, LOG_OR, SCENARIOS, _h_tte, _lp_bin, _mu_cnt, covariates, true_values
from models.comparison import ComparisonError, estimate, match

OUTCOMES = {  # outcome type -> (headline measure, column, extra arguments)
    "binary": ("risk_difference", "y_bin", {}),
    "count": ("mean_difference", "y_cnt", {}),
    "continuous": ("mean_difference", "y_cont", {}),
    "time_to_event": ("hazard_ratio", "tte_time", {"event": "tte_event"}),
}
DESIGNS = {"match 1:1": dict(method="match"), "ipw": dict(method="ipw")}
POOL = 5
SECTION = "small-samples"


def cohort(n1: int, rng: np.random.Generator, a0: float = SCENARIOS["main"]) -> pd.DataFrame:
    """``n1`` participants and ``POOL * n1`` non-participants, with outcomes under both scenarios."""
    n0 = POOL * n1
    parts = []
    have1 = have0 = 0
    while have1 < n1 or have0 < n0:
        c = covariates(max(20 * n1, 200), rng, a0)
        t = rng.random(len(c["ps"])) < c["ps"]
        take = np.flatnonzero(t)[: n1 - have1].tolist() + np.flatnonzero(~t)[: n0 - have0].tolist()
        have1 += int(t[take].sum())
        have0 += int((~t[take]).sum())
        parts.append(pd.DataFrame({k: np.asarray(v)[take] for k, v in c.items()}).assign(participant=t[take].astype(int)))
    c = pd.concat(parts, ignore_index=True)
    n = len(c)
    t = c["participant"].to_numpy() == 1
    lp, mu, h = _lp_bin(c), _mu_cnt(c), _h_tte(c)
    y0_cont = 22 - 0.03 * (c["age"] - 50) - 1.0 * c["dep"] - 0.8 * c["prior"] + rng.normal(0, 3.5, n)
    u_bin, frailty, u_tte = rng.random(n), rng.gamma(2.0, 0.5, n), rng.exponential(1.0, n)
    out = pd.DataFrame({"participant": t.astype(int), "age": c["age"], "imd_decile": c["imd"], "prior": c["prior"],
                        "sex": np.where(c["male"], "male", "female")})
    for scen, eff in (("effect", 1.0), ("null", 0.0)):
        tt = t & (eff > 0)
        out[f"y_bin_{scen}"] = (u_bin < expit(lp + LOG_OR * tt)).astype(int)
        out[f"y_cnt_{scen}"] = rng.poisson(mu * np.where(tt, COUNT_RR, 1.0) * frailty)
        out[f"y_cont_{scen}"] = y0_cont + tt * (1.5 + 0.5 * c["prior"])
        T = u_tte / (h * np.where(tt, HR, 1.0))
        out[f"tte_time_{scen}"] = np.minimum(T, 1.0)
        out[f"tte_event_{scen}"] = (T <= 1.0).astype(int)
    return out


def run(reps: int, sizes: list[int], seed: int) -> pd.DataFrame:
    truth = true_values(seed, SCENARIOS["main"])
    rng = np.random.default_rng(seed + 1)
    outcome_cols = [f"{col}_{s}" for _, col, _ in OUTCOMES.values() for s in ("effect", "null")]
    outcome_cols += [f"tte_event_{s}" for s in ("effect", "null")]
    rec = []
    for n1 in sizes:
        for r in range(reps):
            d = cohort(n1, rng)
            for dname, design in DESIGNS.items():
                try:
                    m = match(d, "participant", ["age", "imd_decile", "prior", "sex"], outcomes=outcome_cols, **design)
                except ComparisonError:
                    rec.append(dict(n1=n1, rep=r, design=dname, failed=True))
                    continue
                for otype, (measure, col, extra) in OUTCOMES.items():
                    for scen in ("effect", "null"):
                        kw = {k: f"{v}_{scen}" for k, v in extra.items()}
                        with warnings.catch_warnings():
                            warnings.simplefilter("ignore")
                            res = estimate(m, f"{col}_{scen}", otype, **kw)
                        true = truth[(otype, measure)] if scen == "effect" else (1.0 if measure == "hazard_ratio" else 0.0)
                        # G - 1: matched sets, or the people in the variance under weighting (everyone in the
                        # propensity model when its term is added, i.e. but for time to event)
                        g = (res.df + 1 if dname != "ipw" else
                             len(m.treated) if otype != "time_to_event" else len(m.local))
                        rec.append(dict(n1=n1, rep=r, design=dname, failed=False, outcome=otype, scenario=scen,
                                        estimate=res.estimate, se=res.se, df=res.df, g_minus_1=g - 1,
                                        n_matched=res.n_matched, ratio=measure == "hazard_ratio", truth=true))
    return pd.DataFrame(rec)


def summarise(rec: pd.DataFrame) -> pd.DataFrame:
    ok = rec[~rec["failed"]].copy()
    ok = ok[np.isfinite(ok["estimate"]) & np.isfinite(ok["se"]) & (ok["se"] > 0)]
    with np.errstate(divide="ignore", invalid="ignore"):
        b = np.where(ok["ratio"], np.log(ok["estimate"].clip(lower=1e-300)), ok["estimate"])
        tr = np.where(ok["ratio"], np.log(ok["truth"]), ok["truth"])
    null = 0.0  # no effect: a difference of 0, a log ratio of 0
    z, tq, tg = stats.norm.ppf(0.975), stats.t.ppf(0.975, ok["df"]), stats.t.ppf(0.975, ok["g_minus_1"])
    dev = np.abs(b - tr) / ok["se"]
    ok["cover_z"], ok["cover_t"], ok["cover_g"] = dev <= z, dev <= tq, dev <= tg
    stat = np.abs(b - null) / ok["se"]
    ok["reject_z"], ok["reject_t"] = stat > z, stat > tq
    g = ok.groupby(["scenario", "outcome", "design", "n1"], sort=False)
    out = g.agg(reps=("estimate", "size"), n_matched=("n_matched", "mean"),
                clusters=("g_minus_1", lambda s: float(np.mean(s + 1))), df=("df", "mean"),
                cover_z=("cover_z", "mean"), cover_g=("cover_g", "mean"), cover_t=("cover_t", "mean"),
                reject_z=("reject_z", "mean"), reject_t=("reject_t", "mean")).reset_index()
    tried = rec.groupby(["design", "n1"])["rep"].nunique().rename("tried")
    return out.join(tried, on=["design", "n1"])


def to_markdown(tab: pd.DataFrame, args, seconds: float) -> str:
    lines = [
        "## Small samples: normal against t intervals (10-60 matched participants)",
        "",
        f"`bench/validate_small_samples.py` (seed {args.seed}, {args.reps} replications per size, "
        f"{dt.date.today().isoformat()}, {seconds / 60:.1f} min). Participants {', '.join(map(str, args.sizes))} with "
        f"a pool {POOL} times their number, the data-generating process of the first study (module docstring). "
        "Coverage: share of 95% intervals containing the truth, \"z\" with 1.96 (the rule before), \"t(G-1)\" "
        "with t(0.975, G - 1), \"t(df)\" with the engine's df (the rule now: G - 1 for matched sets, the "
        "Welch-Satterthwaite df of the two groups' parts when no cluster holds both, as under weighting), on the "
        "same replications (the estimate and SE do not depend on the rule). "
        "\"p<0.05\": share of replications with p < 0.05 against no effect: under the null the false-positive rate "
        "(aim 5%), under the effect the power, \"z\" and the rule now. G: clusters (matched pairs under 1:1 "
        "matching; people under weighting), df: the engine's (means); n matched: participants kept (mean). Monte "
        f"Carlo SE of a coverage near 95% with {args.reps} replications: "
        f"{100 * np.sqrt(0.95 * 0.05 / args.reps):.1f} points. Replications where an outcome could not be estimated (no event in a group, "
        "no variation) are left out of that row (reps < tried).",
        "",
    ]
    for scen in ("null", "effect"):
        lines += [f"### {'Null (no effect; truth 0, or HR 1)' if scen == 'null' else 'Effect (truth: the population effect on participants)'}", "",
                  "| outcome (headline) | design | participants | n matched | G | df | reps/tried | coverage z | coverage t(G-1) | coverage t(df) | p<0.05 z | p<0.05 t(df) |",
                  "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
        for _, r in tab[tab["scenario"] == scen].iterrows():
            lines.append(f"| {r.outcome} ({OUTCOMES[r.outcome][0]}) | {r.design} | {r.n1} | {r.n_matched:.1f} | "
                         f"{r.clusters:.0f} | {r.df:.1f} | {r.reps}/{r.tried} | {100 * r.cover_z:.1f}% | "
                         f"{100 * r.cover_g:.1f}% | {100 * r.cover_t:.1f}% | "
                         f"{100 * r.reject_z:.1f}% | {100 * r.reject_t:.1f}% |")
        lines.append("")
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--reps", type=int, default=400)
    ap.add_argument("--sizes", type=int, nargs="+", default=[10, 20, 30, 60])
    ap.add_argument("--seed", type=int, default=20270101)
    ap.add_argument("--out", default="docs/validation.md", help="markdown report path; '' to skip")
    ap.add_argument("--csv", default="", help="also write the per-replication records here")
    ap.add_argument("--from-csv", nargs="+", default=[], help="summarise these records (from --csv runs) instead of running")
    ap.add_argument("--minutes", type=float, default=None, help="with --from-csv: the runs' total time, for the report")
    args = ap.parse_args(argv)
    t0 = time.time()
    if args.from_csv:
        # "null" (a scenario) is not a missing value
        rec = pd.concat([pd.read_csv(p, keep_default_na=False, na_values=[""]) for p in args.from_csv], ignore_index=True)
        args.sizes = sorted(rec["n1"].unique().tolist())
        args.reps = int(rec.groupby("n1")["rep"].nunique().min())
        seconds = 60 * args.minutes if args.minutes else time.time() - t0
    else:
        rec = run(args.reps, args.sizes, args.seed)
        seconds = time.time() - t0
    if args.csv:
        rec.to_csv(args.csv, index=False)
    text = to_markdown(summarise(rec), args, seconds)
    print(text)
    if args.out:
        write_section(Path(args.out), SECTION, text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
