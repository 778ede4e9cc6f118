"""Far-out comparison people: bias and 95% coverage when the propensity fit scores some of the pool below 1e-9.

Run:  PYTHONPATH=. .venv/bin/python -m bench.validate_farout [--reps 1000] [--n 2000] [--seed 20261206]
      [--out docs/validation.md]

The propensity fit keeps a converged, non-drifting fit whose scores within 1e-9 of 0 or 1 are all on the side
their group can hold (comparison people near 0, participants near 1; ``models/comparison/propensity.py``). This
bench checks such fits across replications (design and decision rule pre-registered in docs/validation.md,
"Far-out comparison people"):

    the process of bench/validate_comparison.py ("main"), plus proven offences, heavy-tailed for a prolific 3%:
    offences = 50 + floor(20 Lomax(2)) if prolific, else Poisson(1.5)
    P(participant) = expit(-1.8 + 0.03 (age-50) + 0.4 dep + 0.35 prior + 0.2 male - 0.5 offences)
    binary: Y(0) log-odds of that bench + 0.3 log(1 + offences), Y(1) log-odds - 0.5
    time:   hazard of that bench x (1 + offences)^0.3, x 0.7 if participant, censored at 1 year

The prolific (about 3.5% of the comparison pool) are far from every participant: their fitted scores fall below
1e-9. Each cohort is estimated with them ("in") and without them ("removed"), by the reoffending models' matching
(1:1 with replacement, caliper 0.2 SD), the engine's default matching (1:1 without replacement) and ATT weighting.
The truth is the population effect on the participants (PATT, as bench/validate_comparison.py computes it).

Negative control: the same cohorts with a numeric ``stage`` covariate, +1 for 10% of participants, -1 for 10% of
comparison people, 0 otherwise: quasi-complete separation whose extreme scores all lie on the sides a group can
hold, so the maximum-likelihood fit does not exist and must be refused.
"""

from __future__ import annotations

import argparse
import datetime as dt
import platform
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.special import expit

from bench.report import write_section
from bench.synthetic import replications
from bench.validate_comparison import HR, LOG_OR, _h_tte, _lp_bin, covariates
from models.comparison import ComparisonError, estimate, match
from models.comparison.effects import cox_binary
from models.comparison.propensity import EXTREME_LOGIT

A0, OFFENCES, PROLIFIC, FLOOR = -1.8, -0.5, 0.03, 50
COVARIATES = ["age", "imd_decile", "prior", "sex", "offences"]
METHODS = {"match 1:1 repl.": dict(replace=True), "match 1:1": {}, "ipw": dict(method="ipw")}
OUTCOMES = {"binary": ("risk_difference", "y_bin", {}),
            "time_to_event": ("hazard_ratio", "tte_time", {"event": "tte_event"})}
SECTION = "comparison-farout"


def draw(n: int, rng: np.random.Generator) -> dict:
    """Covariates, offences and the true propensity score of ``n`` people (module docstring)."""
    c = covariates(n, rng)
    c["prolific"] = rng.random(n) < PROLIFIC
    c["offences"] = np.where(c["prolific"], FLOOR + np.floor(20 * rng.pareto(2.0, n)), rng.poisson(1.5, n))
    c["ps"] = expit(A0 + 0.03 * (c["age"] - 50) + 0.4 * c["dep"] + 0.35 * c["prior"] + 0.2 * c["male"]
                    + OFFENCES * c["offences"])
    return c


def _lp(c):
    return _lp_bin(c) + 0.3 * np.log1p(c["offences"])


def _h(c):
    return _h_tte(c) * np.exp(0.3 * np.log1p(c["offences"]))


def simulate(n: int, rng: np.random.Generator) -> pd.DataFrame:
    """One cohort, with the negative control's ``stage``."""
    c = draw(n, rng)
    t = rng.random(n) < c["ps"]
    T = rng.exponential(1 / (_h(c) * np.where(t, HR, 1.0)))
    u = rng.random(n)
    return pd.DataFrame({
        "participant": t.astype(int), "age": c["age"], "imd_decile": c["imd"], "prior": c["prior"],
        "sex": np.where(c["male"], "male", "female"), "offences": c["offences"], "prolific": c["prolific"],
        "stage": np.where(t & (u < 0.1), 1, np.where(~t & (u < 0.1), -1, 0)),
        "y_bin": (rng.random(n) < expit(_lp(c) + LOG_OR * t)).astype(int),
        "tte_time": np.minimum(T, 1.0), "tte_event": (T <= 1.0).astype(int),
    })


def true_values(seed: int) -> dict:
    """PATT of the two headline measures, as bench/validate_comparison.true_values computes them."""
    rng = np.random.default_rng(seed)
    c = draw(2_000_000, rng)
    ps = c["ps"]
    m0, m1 = (ps * expit(_lp(c))).sum() / ps.sum(), (ps * expit(_lp(c) + LOG_OR)).sum() / ps.sum()
    ct = draw(3_000_000, rng)
    h0 = _h(ct)[rng.random(len(ct["ps"])) < ct["ps"]][:300_000]
    T0, T1 = rng.exponential(1 / h0), rng.exponential(1 / (HR * h0))
    times, events = np.minimum(np.r_[T0, T1], 1.0), (np.r_[T0, T1] <= 1.0).astype(float)
    beta, _, _ = cox_binary(times, events, np.r_[np.zeros(len(h0)), np.ones(len(h0))], np.ones(2 * len(h0)),
                            [np.arange(2 * len(h0))])
    return {"binary": m1 - m0, "time_to_event": float(np.exp(beta))}


def run(reps: int, n: int, seed: int, max_minutes: float | None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(estimates: one row per replication x version x method x outcome, or a refusal; negative control rows)."""
    rng = np.random.default_rng(seed)
    rec, neg = [], []
    outcomes = ["y_bin", "tte_time", "tte_event"]
    for r in replications(reps, max_minutes):
        df = simulate(n, rng)
        for version, data in (("in", df), ("removed", df[~df["prolific"]])):
            for mname, kw in METHODS.items():
                base = dict(rep=r, version=version, method=mname)
                try:
                    m = match(data, "participant", COVARIATES, outcomes=outcomes, **kw)
                except ComparisonError as err:
                    rec.append(dict(base, kept=False, error=str(err)[:80]))
                    continue
                s = m.propensity_scores
                far = int(((s["_treated"] == 0) & (s["_logit"] < -EXTREME_LOGIT)).sum())
                for otype, (measure, col, extra) in OUTCOMES.items():
                    row = estimate(m, col, otype, unadjusted=False, **extra).effects.loc[measure]
                    rec.append(dict(base, kept=True, outcome=otype, n_far=far, n_pool=int((s["_treated"] == 0).sum()),
                                    n_matched=m.n_matched, estimate=row.estimate, se=row.se, lo=row.ci_low,
                                    hi=row.ci_high))
        try:
            match(df, "participant", COVARIATES + ["stage"], outcomes=outcomes)
            neg.append(dict(rep=r, refused=False, error=""))
        except ComparisonError as err:
            neg.append(dict(rep=r, refused=True, error=str(err).split(", so ")[0].split(": ", 1)[-1]))
    return pd.DataFrame(rec), pd.DataFrame(neg)


def summarise(rec: pd.DataFrame, truth: dict) -> pd.DataFrame:
    """One row per version x method x outcome: kept share, bias, MC SE, SEs, coverage, agreement with "removed",
    and the pre-registered verdict (rules 1-5 of docs/validation.md) for the "in" rows."""
    tried = rec.groupby(["version", "method"])["rep"].nunique()
    ok = rec[rec["kept"]].copy()
    ratio = ok["outcome"] == "time_to_event"
    ok["b"] = np.where(ratio, np.log(ok["estimate"]), ok["estimate"])
    ok["target"] = np.where(ratio, np.log(ok["outcome"].map(truth)), ok["outcome"].map(truth))
    ok["cover"] = (ok["lo"] <= ok["outcome"].map(truth)) & (ok["hi"] >= ok["outcome"].map(truth))
    key = ["method", "outcome", "rep"]
    pair = ok[ok["version"] == "in"].merge(ok[ok["version"] == "removed"][key + ["b"]], on=key, suffixes=("", "_out"))
    pair["gap"] = (pair["b"] - pair["b_out"]).abs() / pair["se"]
    rows = []
    for (version, mname, otype), g in ok.groupby(["version", "method", "outcome"], sort=False):
        p = pair[(pair["method"] == mname) & (pair["outcome"] == otype)] if version == "in" else None
        n_rep = int(tried[(version, mname)])
        bias, mcse, mean_se = g["b"].mean() - g["target"].iloc[0], g["b"].std(ddof=1) / np.sqrt(len(g)), g["se"].mean()
        row = {
            "version": version, "method": mname,
            "measure": OUTCOMES[otype][0] + (" (log)" if otype == "time_to_event" else ""),
            "truth": g["target"].iloc[0], "kept %": 100 * len(g) / n_rep, "far-out %": 100 * (g["n_far"] > 0).mean(),
            "mean far-out": g["n_far"].mean(), "mean matched": g["n_matched"].mean(),
            "bias": bias, "MC SE": mcse, "empirical SE": g["b"].std(ddof=1), "mean SE": mean_se,
            "coverage %": 100 * g["cover"].mean(), "reps": len(g),
            "gap <= 0.1 SE %": 100 * (p["gap"] <= 0.1).mean() if p is not None else np.nan,
            "max gap / SE": p["gap"].max() if p is not None else np.nan,
        }
        if version == "in":
            rules = [row["far-out %"] >= 90, row["kept %"] >= 95, abs(bias) <= max(2 * mcse, 0.1 * mean_se),
                     93 <= row["coverage %"] <= 97, row["gap <= 0.1 SE %"] >= 95]
            failed = [str(i + 1) for i, held in enumerate(rules) if not held]
            row["verdict"] = f"fail (rule {', '.join(failed)})" if failed else "pass"
        else:
            row["verdict"] = "(reference)"
        rows.append(row)
    return pd.DataFrame(rows)


def _cell(col: str, v) -> str:
    if isinstance(v, str):
        return v
    if col in ("reps",):
        return str(int(v))
    if np.isnan(v):
        return "–"
    if col.endswith("%") or col.startswith("mean far") or col.startswith("mean matched"):
        return f"{v:.1f}"
    return f"{v:+.4f}" if col in ("bias",) else f"{v:.4f}"


def to_markdown(tab: pd.DataFrame, neg: pd.DataFrame, truth: dict, args, seconds: float) -> str:
    cols = list(tab.columns)
    table = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    table += ["| " + " | ".join(_cell(c, r[c]) for c in cols) + " |" for _, r in tab.iterrows()]
    reasons = "; ".join(f"{k} ({v})" for k, v in neg.loc[neg["refused"], "error"].value_counts().items())
    return "\n".join([
        "### Results (far-out comparison people)", "",
        f"`bench/validate_farout.py --reps {args.reps} --n {args.n} --seed {args.seed}` on "
        f"{dt.date.today().isoformat()} (Python {platform.python_version()}, 2 shared cores, {seconds / 60:.1f} min). "
        f"True PATT: risk difference {truth['binary']:.4f}, hazard ratio {truth['time_to_event']:.4f} "
        f"(log {np.log(truth['time_to_event']):.4f}). Columns: kept % = replications whose fit was kept; far-out % = "
        "kept replications with at least one comparison person scored below 1e-9 (logit < -20.7), mean far-out = "
        "how many (mean); bias, MC SE (empirical SE / sqrt(reps)), SEs and truth on the log scale for the hazard "
        "ratio; coverage % of the engine's 95% interval; gap = |estimate in - estimate removed| / SE(in), paired "
        f"by replication. Monte Carlo SE of a coverage near 95%: {100 * np.sqrt(0.95 * 0.05 / len(neg)):.2f} points.",
        "", *table, "",
        f"Negative control (`stage` quasi-complete separation): refused in {int(neg['refused'].sum())} of {len(neg)} "
        f"replications" + (f"; the reasons given: {reasons}." if reasons else "."),
    ])


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--reps", type=int, default=1000)
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=20261206)
    ap.add_argument("--minutes", type=float, default=None, help="start no replication after this many minutes")
    ap.add_argument("--out", default="docs/validation.md", help="markdown report path; '' to skip")
    args = ap.parse_args(argv)
    warnings.simplefilter("ignore")
    t0 = time.perf_counter()
    truth = true_values(args.seed + 10_000_000)
    rec, neg = run(args.reps, args.n, args.seed, args.minutes)
    tab = summarise(rec, truth)
    text = to_markdown(tab, neg, truth, args, time.perf_counter() - t0)
    print(text)
    if args.out:
        write_section(Path(args.out), SECTION, text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
