"""Side by side with psmpy, and our matching at 1,000,000 people.

Run:  .venv/bin/python -m bench.compare_psmpy [--sizes 2000 5000 10000 20000] [--cohorts 3]
      [--big 1000000] [--timeout 600] [--out docs/benchmarks-comparison.md]

For each size, cohorts from the validation DGP (``bench.validate_comparison``,
scenario "main", seeds 7, 8, ...) are matched 1:1 without replacement with a caliper of
0.2 SD of the logit score by

* psmpy 0.3.16: ``PsmPy(...).logistic_ps(balance=False)`` then
  ``kdtree_matched(matcher="propensity_logit", replacement=False, caliper=c)``,
  with c = 0.2 x pooled SD of psmpy's own logit score (psmpy's caliper is
  absolute). psmpy runs in a child process with a time limit, since its
  matching is quadratic (it queries every control for every participant and
  removes used controls from Python lists).
* ours: ``estimate_effect(..., "binary")`` with the defaults, timed end to end
  (propensity model, matching, balance, effects, results object), so it does
  more work than the psmpy call it is compared with.

Balance is scored the same way for both: mean |SMD| over age, IMD decile,
prior use and sex after matching, SMD as in ``models.comparison.balance`` (pooled
SD of the groups before matching).

Our ``match_nearest`` is also run on psmpy's own scores, caliper and order
(``order="data"``) to check that it returns exactly psmpy's pairs.

Then ``match_nearest`` alone and ``estimate_effect`` end to end are timed at
``--big`` people.
"""

from __future__ import annotations

import argparse
import datetime as dt
import multiprocessing as mp
import platform
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from bench.validate_comparison import COVARIATES, SCENARIOS, simulate
from models.comparison import balance_table, build_design, estimate_effect, fit_propensity, match_nearest
from models.comparison.matching import pooled_sd

NUMERIC = ["age", "imd_decile", "prior", "male"]


def cohort(n: int, seed: int = 7) -> pd.DataFrame:
    df = simulate(n, np.random.default_rng(seed), SCENARIOS["main"])
    df["male"] = (df["sex"] == "male").astype(int)
    df["pid"] = np.arange(n)
    return df


def mean_abs_smd(before: pd.DataFrame, after: pd.DataFrame, treat: str = "participant") -> float:
    tab = balance_table(
        before[NUMERIC], before[treat].to_numpy(), after[NUMERIC], after[treat].to_numpy(), np.ones(len(after))
    )
    return float(np.mean(np.abs(tab["smd_after"])))


def _psmpy_worker(n: int, seed: int, q) -> None:
    warnings.simplefilter("ignore")
    import matplotlib

    matplotlib.use("Agg")
    from psmpy import PsmPy

    df = cohort(n, seed)
    data = df[["pid", "participant", *NUMERIC]].copy()
    t0 = time.perf_counter()
    psm = PsmPy(data, treatment="participant", indx="pid", exclude=[])
    psm.logistic_ps(balance=False)
    pdata = psm.predicted_data
    cal = 0.2 * pooled_sd(pdata["propensity_logit"].to_numpy(), pdata["participant"].to_numpy() == 1)
    psm.kdtree_matched(matcher="propensity_logit", replacement=False, caliper=cal)
    secs = time.perf_counter() - t0
    matched = df.set_index("pid").loc[psm.df_matched["pid"]].reset_index()
    ids = psm.matched_ids
    q.put(
        {
            "seconds": secs,
            "n_matched": int((matched["participant"] == 1).sum()),
            "mean_abs_smd": mean_abs_smd(df, matched),
            "logit": pdata.set_index("pid").loc[df["pid"], "propensity_logit"].to_numpy(),
            "caliper": cal,
            "pairs": set(zip(ids.iloc[:, 0].astype(int), ids["matched_ID"].astype(int))),
        }
    )


def run_psmpy(n: int, seed: int, timeout: float) -> dict:
    ctx = mp.get_context("fork")
    q = ctx.Queue()
    p = ctx.Process(target=_psmpy_worker, args=(n, seed, q))
    t0 = time.perf_counter()
    p.start()
    out = None
    try:
        out = q.get(timeout=timeout)  # read before join: a large result would block the child's exit
    except Exception:  # noqa: BLE001 - queue.Empty on timeout
        pass
    p.join(5)
    if p.is_alive():
        p.terminate()  # only the child this function started
        p.join()
    if out is None:
        note = f"did not finish in {timeout:.0f} s" if p.exitcode in (None, -15) else (
            f"failed (exit code {p.exitcode}) after {time.perf_counter() - t0:.0f} s")
        return {"seconds": float("nan"), "n_matched": None, "mean_abs_smd": float("nan"), "note": note}
    out["note"] = ""
    return out


def same_matches_as_psmpy(n: int, seed: int, ps: dict) -> bool:
    """Our matcher, given psmpy's scores, caliper and treated order, finds exactly psmpy's pairs."""
    df = cohort(n, seed)
    t = df["participant"].to_numpy() == 1
    lg = ps["logit"]
    m = match_nearest(lg[t], lg[~t], caliper_width=ps["caliper"], order="data")
    pid = df["pid"].to_numpy()
    ours = set(zip(pid[t][m.pairs_treated].tolist(), pid[~t][m.pairs_control].tolist()))
    return ours == ps["pairs"]


def run_ours(n: int, seed: int) -> dict:
    df = cohort(n, seed)
    t0 = time.perf_counter()
    res = estimate_effect(df, "participant", "y_bin", COVARIATES, "binary")
    secs = time.perf_counter() - t0
    return {"seconds": secs, "n_matched": res.n_matched, "mean_abs_smd": mean_abs_smd(df, res.matched_data),
            "n_treated": res.n_treated}


def big_timing(n: int) -> dict:
    df = cohort(n, seed=11)
    out = {"n": n, "n_treated": int(df["participant"].sum())}
    t0 = time.perf_counter()
    res = estimate_effect(df, "participant", "y_bin", COVARIATES, "binary")
    out["estimate_effect_s"] = time.perf_counter() - t0
    out["n_matched"] = res.n_matched
    out["max_abs_smd_after"] = float(np.abs(res.balance["smd_after"]).max())
    del res
    # matching alone, on everyone's logit scores (the propensity model is refit outside the timer)
    des = build_design(df, COVARIATES)
    ps = fit_propensity(des.X, df["participant"].to_numpy(), des.binary)
    t = df["participant"].to_numpy() == 1
    width = 0.2 * pooled_sd(ps.logit, t)
    for label, kw in (("match_without_replacement_s", {}), ("match_with_replacement_s", {"replace": True}),
                      ("match_1to2_without_replacement_s", {"ratio": 2})):
        t0 = time.perf_counter()
        m = match_nearest(ps.logit[t], ps.logit[~t], caliper_width=width, **kw)
        out[label] = time.perf_counter() - t0
        out[label.replace("_s", "_n_sets")] = len(m.matched_treated)
    return out


def to_markdown(rows: list[dict], big: dict, args) -> str:
    today = dt.date.today().isoformat()
    lines = [
        "| n | cohorts | participants | psmpy s | ours s | psmpy / ours | psmpy matched | ours matched "
        "| psmpy mean abs SMD | ours mean abs SMD | our matcher on psmpy's scores = psmpy's pairs | note |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        ratio = r["psmpy_s"] / r["ours_s"] if np.isfinite(r["psmpy_s"]) else float("nan")
        lines.append(
            f"| {r['n']:,} | {r['cohorts']} | {r['n_treated']:.0f} | {r['psmpy_s']:.2f} | {r['ours_s']:.3f} "
            f"| {ratio:,.0f}x | {r['psmpy_matched']:.0f} | {r['ours_matched']:.0f} | {r['psmpy_smd']:.4f} "
            f"| {r['ours_smd']:.4f} | {r['identical']} | {r['note']} |"
        )
    ok = [r for r in rows if np.isfinite(r["psmpy_s"])] or rows
    f, l = ok[0], ok[-1]
    growth = {
        "psmpy": l["psmpy_s"] / f["psmpy_s"],
        "psmpy_exp": np.log(l["psmpy_s"] / f["psmpy_s"]) / np.log(l["n"] / f["n"]) if l is not f else float("nan"),
        "ours": l["ours_s"] / f["ours_s"],
    }
    b = big
    big_md = f"""| step ({b['n']:,} people, {b['n_treated']:,} participants) | seconds |
|---|---|
| `estimate_effect` end to end (propensity fit, 1:1 greedy matching, balance, effects, results) | {b['estimate_effect_s']:.1f} |
| `match_nearest` alone, 1:1 without replacement (greedy, union-find) | {b['match_without_replacement_s']:.2f} |
| `match_nearest` alone, 1:1 with replacement (vectorised searchsorted) | {b['match_with_replacement_s']:.2f} |
| `match_nearest` alone, 1:2 without replacement | {b['match_1to2_without_replacement_s']:.2f} |

End to end: {b['n_matched']:,} participants matched; largest |SMD| after matching {b['max_abs_smd_after']:.3f}."""
    return f"""# Benchmarks: comparison engine

Generated by `bench/compare_psmpy.py` on {today} (Python {platform.python_version()}, {platform.machine()},
2 shared cores; other work was running on the machine, so times are indicative). Rerun with

    .venv/bin/python -m bench.compare_psmpy --sizes {' '.join(map(str, args.sizes))} --cohorts {args.cohorts} --big {args.big}

## psmpy 0.3.16 against `models.comparison`

Cohorts from the validation DGP (`bench/validate_comparison.py`, scenario "main", about 16%
participants; seeds 7, 8, 9, ...; {args.cohorts} cohorts per size up to {args.multi_max:,} people, one
above, because psmpy is slow). Both do 1:1 nearest-neighbour matching on the logit of the propensity
score without replacement, caliper 0.2 SD of the logit. psmpy: `logistic_ps(balance=False)` +
`kdtree_matched(...)`, timed together (its propensity model is scikit-learn's L2-penalised liblinear
logistic regression; its caliper is absolute, so it gets 0.2 x the pooled SD of its own logit).
Ours: `estimate_effect(df, "participant", "y_bin", covariates, "binary")` end to end, which also
computes the balance table, all effect measures with cluster-robust intervals and the results
object. Mean |SMD| over age, IMD decile, prior use and sex after matching, computed identically for
both (pooled SD of the groups before matching). Columns are means over the cohorts. psmpy ran in a
child process with a {args.timeout:.0f} s limit.

{chr(10).join(lines)}

* **Speed.** psmpy's matcher asks the KD-tree for the distance to every control for every
  participant (k = number of controls) and removes used controls from Python lists, so time and
  memory grow at least quadratically: from {rows[0]['n']:,} to {rows[-1]['n']:,} people its time grew
  {growth['psmpy']:.0f}-fold (about n^{growth['psmpy_exp']:.1f}), ours {growth['ours']:.0f}-fold. Ours sorts
  once and uses binary search plus union-find "next available" pointers, O(n log n).
* **Same matches.** Given psmpy's own scores, caliper and processing order (data order,
  `order="data"`), `match_nearest` returns exactly psmpy's pairs (last column), so the matchers
  agree and the differences come from the inputs.
* **Balance.** Both stay well inside the JDL "good" band (mean |SMD| < 0.05); psmpy's was similar
  or lower. Two things differ: the order (psmpy goes through participants in data order, which
  drops a few more hard-to-match participants; ours defaults to highest score first, as MatchIt
  does, and keeps more of them: see the matched counts) and the propensity model (psmpy's is
  penalised). Users who prefer psmpy's behaviour can pass `order="data"` or `order="random"`.

## Matching at scale

{big_md}
"""


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[2000, 5000, 10000, 20000])
    ap.add_argument("--cohorts", type=int, default=3, help="cohorts per size up to --multi-max people")
    ap.add_argument("--multi-max", type=int, default=10000)
    ap.add_argument("--big", type=int, default=1_000_000)
    ap.add_argument("--timeout", type=float, default=600)
    ap.add_argument("--out", default="docs/benchmarks-comparison.md")
    args = ap.parse_args(argv)
    warnings.simplefilter("ignore")
    rows = []
    for n in args.sizes:
        k = args.cohorts if n <= args.multi_max else 1
        ours, theirs, same, notes = [], [], [], set()
        for seed in range(7, 7 + k):
            ours.append(run_ours(n, seed))
            ps = run_psmpy(n, seed, args.timeout)
            if ps["note"]:
                notes.add(ps["note"])
            else:
                theirs.append(ps)
                same.append(same_matches_as_psmpy(n, seed, ps))
            print(f"n={n} seed={seed}: ours {ours[-1]}; psmpy {ps['seconds']:.2f}s {ps['n_matched']} "
                  f"{ps['mean_abs_smd']:.4f} same={same[-1] if same else None}", file=sys.stderr)
        avg = lambda rs, key: float(np.mean([r[key] for r in rs])) if rs else float("nan")  # noqa: E731
        rows.append({
            "n": n, "cohorts": k, "n_treated": avg(ours, "n_treated"),
            "ours_s": avg(ours, "seconds"), "ours_matched": avg(ours, "n_matched"), "ours_smd": avg(ours, "mean_abs_smd"),
            "psmpy_s": avg(theirs, "seconds"), "psmpy_matched": avg(theirs, "n_matched"),
            "psmpy_smd": avg(theirs, "mean_abs_smd"),
            "identical": ("yes" if all(same) else f"{sum(same)}/{len(same)}") if same else "-",
            "note": "; ".join(sorted(notes)),
        })
    big = big_timing(args.big)
    print(big, file=sys.stderr)
    if args.out:
        out = Path(args.out)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(to_markdown(rows, big, args))
        print(f"wrote {out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
