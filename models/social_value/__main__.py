"""Command line: evaluate an impact map and print JSON.

    python -m models.social_value PATH.yaml [--model-outputs OUTPUTS.json]
        [--proxies TABLE.csv ...] [--deflators DEFLATORS.csv]
        [--sensitivity] [--monte-carlo N] [--seed S]

Without ``--model-outputs`` only fixed quantities can be evaluated (no pipeline
run); a model-output quantity is then an error naming the outcome. Output: pv,
npv, ratio, net_ratio, payback_months (overall) and every scope, and each
outcome's yearly impacts. Exit status 2 on bad input, with the message on
standard error.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from models.social_value.arithmetic import penny
from models.social_value.errors import SocialValueError
from models.social_value.impact_map import load_impact_map
from models.social_value.outputs import run_social_value


def _money(value) -> float:
    return float(penny(value))


def build_report(args: argparse.Namespace) -> dict:
    impact_map = load_impact_map(args.path)
    outputs = None
    if args.model_outputs:
        try:
            outputs = json.loads(Path(args.model_outputs).read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as err:
            raise SocialValueError(f"cannot read model outputs: {err}", source=args.model_outputs) from err
    run = run_social_value(
        impact_map,
        outputs,
        extra_proxy_tables=args.proxies or (),
        deflators=args.deflators,
        monte_carlo=args.monte_carlo > 0,
        n_draws=args.monte_carlo or None,
        seed=args.seed,
        sensitivity=args.sensitivity,
    )
    overall = run.result.overall.as_dict()
    report = {
        "name": run.resolved.name,
        "price_year": run.resolved.price_year,
        **{k: overall[k] for k in ("pv", "investment_pv", "npv", "ratio", "net_ratio", "payback_months", "year1_impact")},
        # the base case in pv and ratio; the other case beside it (docs/social-value.md, "Base case")
        "base_case": run.resolved.base_case,
        **{k: _number(run.social_value[k].iloc[0])
           for k in ("pv_point_estimate", "ratio_point_estimate", "pv_evidenced", "ratio_evidenced")},
        "scopes": [run.result.scopes[s].as_dict() for s in run.resolved.scopes],
        "outcomes": [
            {
                "id": o.id,
                "scope": o.scope,
                "year1_impact": _money(o.year1_impact),
                "pv": _money(o.pv),
                "yearly_impacts": [
                    {
                        "year": y.year,
                        "impact": _money(y.impact),
                        "discount_factor": round(float(y.discount_factor), 6),
                        "present_value": _money(y.present_value),
                    }
                    for y in o.years
                ],
            }
            for o in run.result.outcomes.values()
        ],
    }
    if run.monte_carlo is not None:
        mc = run.monte_carlo
        report["monte_carlo"] = {
            "n_draws": mc.n_draws,
            "seed": mc.seed,
            "ratio_ci": {s: [round(v, 4) for v in mc.interval(s)] for s in run.resolved.scopes if run.resolved.investment.get(s)},
        }
    if args.sensitivity:
        frame = run.social_value_sensitivity
        report["sensitivity"] = json.loads(frame.to_json(orient="records"))
    return report


def _number(v) -> float | None:
    return None if v is None or v != v else float(v)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m models.social_value", description="Evaluate an SROI impact map.")
    parser.add_argument("path", help="impact map YAML")
    parser.add_argument("--model-outputs", help="JSON mapping output id -> {estimate, ci_low, ci_high, ...}")
    parser.add_argument("--proxies", action="append", help="an extra proxy table CSV (repeatable)")
    parser.add_argument("--deflators", help="a deflator table CSV replacing the map's")
    parser.add_argument("--sensitivity", action="store_true", help="add switching values and tornado data")
    parser.add_argument("--monte-carlo", type=int, default=0, metavar="N", help="run N Monte Carlo draws")
    parser.add_argument("--seed", type=int, default=None, help="Monte Carlo seed (default: the map's)")
    args = parser.parse_args(argv)
    try:
        report = build_report(args)
    except SocialValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    json.dump(report, sys.stdout, indent=2)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
