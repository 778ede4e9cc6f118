"""The SROI's well-being quantity against the generator's truth, through the real pipeline code.

    python -m bench.validate_sroi_wellbeing [--persons 20000] [--seeds 241-270] [--null] [--out FILE.jsonl]
    python -m bench.validate_sroi_wellbeing --summarise FILE.jsonl ...

For each seed, as bench/validate_wellbeing.py does (the same generator, ingest and core tables; ``--null`` sets the
injected Star effects of hours to 0), compute both well-being quantities the impact map has valued:

* **matched** (the impact map now): ``wellbeing_matched_change`` from ``models.wellbeing.effects.model_outputs`` on
  ``marts.wellbeing_effects`` (default design): matched participants x the matched mean difference in improvement per
  area, 1-10 equivalent. Its truth: the same participants x their mean individual effect in the generator
  (``truth/star_trial_effects.csv``, the participants the comparison kept: ``kept_truth``).
* **reliable** (the impact map before): ``reliable_wellbeing_improvement`` from ``marts.wellbeing_reliable_improvement``
  (members with a reliable improvement, gross), valued as the demo map did (x (1 - 25% deadweight)) and as the
  example map did (deadweight from the unmatched comparison rate). Its truth under the null is 0.

and the SROI Monte Carlo on a one-outcome map (the matched quantity, WELLBY at the shipped proxy, no other
discount): whether its 95% interval of the ratio covers the ratio at the true quantity.

Prints bias, its Monte Carlo SE (SD of the errors / sqrt(seeds)), empirical SD, mean SE and coverage, for
docs/validation.md ("SROI: the well-being quantity").
"""

from __future__ import annotations

import argparse
import json
import time
from decimal import Decimal

import numpy as np

from bench.validate_wellbeing import Z95, kept_truth, read_records, run_seeds, staged_seed
from models import wellbeing as wb
from models.social_value import evaluate, parse_impact_map, resolve, simulate
from models.wellbeing.change import model_outputs as reliable_outputs
from models.wellbeing.effects import MATCHED_CHANGE, effects_results
from models.wellbeing.effects import model_outputs as matched_outputs

SCALE = Decimal("0.81")  # life-satisfaction points per Star point (1-10 equivalent): docs/social-value.md
INVESTMENT = 100000
DRAWS = 2000


def one_outcome_map() -> dict:
    return {"price_year": 2024, "investment": INVESTMENT, "monte_carlo": {"draws": DRAWS, "seed": 1},
            "outcomes": [{"id": "better_wellbeing", "stakeholder": "members", "proxy": "wellby", "duration": 1,
                          "discount": "health",
                          "quantity": {"model_output": MATCHED_CHANGE, "scale": float(SCALE)}}]}


def sroi(output: dict, true_quantity: float) -> dict:
    """Ratio at the estimate, its Monte Carlo interval, and the ratio at the true quantity (the same map)."""
    impact_map = parse_impact_map(one_outcome_map())
    resolved = resolve(impact_map, {MATCHED_CHANGE: output})
    ratio = float(evaluate(resolved).scopes["overall"].ratio)
    low, high = simulate(resolved).interval()
    truth = resolve(impact_map, {MATCHED_CHANGE: {"estimate": true_quantity, "estimand": "net"}})
    true_ratio = float(evaluate(truth).scopes["overall"].ratio)
    return {"ratio": ratio, "ratio_ci_low": low, "ratio_ci_high": high, "true_ratio": true_ratio,
            "covered": bool(low <= true_ratio <= high)}


def one_seed(seed: int, persons: int, tmp, null: bool) -> dict:
    con, truth = staged_seed(seed, persons, tmp, null)
    settings = wb.WellbeingSettings()
    wb.write_core(con, settings, "validate")
    effects, results = effects_results(con, settings)
    rec = {"seed": seed, "persons": persons, "null": null}
    matched = matched_outputs(effects).get(MATCHED_CHANGE)
    kept = kept_truth(con, tmp / f"in{seed}" / "truth", results)
    if matched is not None and "all" in kept:
        t, _found, _n_kept = kept["all"]
        true_q = t * matched["n"]
        rec["matched"] = {"estimate": matched["estimate"], "truth": true_q, "n": matched["n"],
                          "se": (matched["ci_high"] - matched["ci_low"]) / (2 * Z95),
                          "covered": bool(matched["ci_low"] <= true_q <= matched["ci_high"]),
                          "sroi": sroi(matched, true_q)}
    reliable = reliable_outputs(wb.reliable_table(con, settings))
    ri, rd = reliable.get("reliable_wellbeing_improvement"), reliable.get("reliable_wellbeing_deterioration")
    if ri is not None:
        part, comp = ri["participant_rate"], ri["comparison_rate"]
        dw = None if comp is None else min(1.0, comp / part) if part else 1.0
        rec["reliable"] = {"improved": ri["estimate"], "deteriorated": rd["estimate"] if rd else None, "n": ri["n"],
                           "participant_rate": part, "comparison_rate": comp,
                           "demo_valued": ri["estimate"] * 0.75,
                           "example_valued": None if dw is None else ri["estimate"] * (1 - dw)}
    con.close()
    return rec


def summarise(records: list[dict]) -> str:
    null = records[0]["null"]
    lines = [f"{len(records)} seeds ({records[0]['seed']}-{records[-1]['seed']}), {records[0]['persons']} persons, "
             f"{'null' if null else 'injected'} effects",
             "| quantity | seeds | mean truth | mean estimate | bias (MC SE) | empirical SD | mean SE | coverage (MC SE) |",
             "|---|---|---|---|---|---|---|---|"]

    def row(name, est, tru, se=None, cov=None):
        n = len(est)
        err = est - tru
        sd = err.std(ddof=1)
        cells = [name, str(n), f"{tru.mean():.2f}", f"{est.mean():.2f}", f"{err.mean():+.2f} ({sd / np.sqrt(n):.2f})",
                 f"{est.std(ddof=1):.2f}", f"{se.mean():.2f}" if se is not None else "",
                 f"{cov}/{n} ({100 * cov / n:.0f}% ± {100 * np.sqrt(cov / n * (1 - cov / n) / n):.0f})"
                 if cov is not None else ""]
        lines.append("| " + " | ".join(cells) + " |")

    m = [r["matched"] for r in records if "matched" in r]
    if m:
        row("matched change, person-points (1-10)", np.array([x["estimate"] for x in m]),
            np.array([x["truth"] for x in m]), np.array([x["se"] for x in m]), sum(x["covered"] for x in m))
        s = [x["sroi"] for x in m]
        row("SROI ratio, matched (one-outcome map, ×1000)", 1000 * np.array([x["ratio"] for x in s]),
            1000 * np.array([x["true_ratio"] for x in s]), None, sum(x["covered"] for x in s))
    rel = [r["reliable"] for r in records if "reliable" in r]
    if rel and null:
        zero = np.zeros(len(rel))
        row("reliable improvers (gross count)", np.array([x["improved"] for x in rel]), zero)
        row("reliable deteriorators (gross count)", np.array([x["deteriorated"] for x in rel]), zero)
        row("before: demo map's quantity (improvers × 0.75)", np.array([x["demo_valued"] for x in rel]), zero)
        ex = np.array([x["example_valued"] for x in rel if x["example_valued"] is not None])
        if len(ex) > 1:
            row("before: example map's (from_comparison, unmatched)", ex, np.zeros(len(ex)))
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--persons", type=int, default=20000)
    parser.add_argument("--seeds", default="241-270")
    parser.add_argument("--null", action="store_true", help="inject no Star effect of hours")
    parser.add_argument("--out", type=__import__("pathlib").Path)
    parser.add_argument("--summarise", type=__import__("pathlib").Path, nargs="+")
    args = parser.parse_args()
    if args.summarise:
        records = read_records(args.summarise)
        for null in (True, False):
            part = [r for r in records if r["null"] == null]
            if part:
                print(summarise(part))
        return
    t0 = time.perf_counter()
    records = run_seeds(args.seeds, lambda seed, tmp: one_seed(seed, args.persons, tmp, args.null), args.out)
    print(summarise(records))
    print(f"total {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
