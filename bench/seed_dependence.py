"""Issue 15: does the seed change the result? The engine before and after, on one cohort, 50 seeds.

Run:  .venv/bin/python -m bench.seed_dependence --before DIR [--n 1500] [--seed 7] [--out docs/validation.md]

One "limited overlap" cohort of ``bench/validate_engine_defaults.py`` whose covariates are
coarse (age in 10-year bands, as extracts often give it), so many people share a propensity
score and ties between controls are common. The count outcome with an effect is estimated with
seeds 0-49 by the engine before issue 15 (``--before``: see ``bench/validate_engine_defaults.py``)
and after, with the default 1:1 matching and with ``replace=True``. Reported per engine and
design: the share of participants kept, the smallest and largest estimate, the spread as a
share of the mean, and how many of the 50 seeds gave a significant verdict.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from bench.report import write_section
from bench.validate_engine_defaults import COVARIATES, SCENARIOS, simulate
from models.comparison import estimate_effect

SECTION = "comparison-engine-seeds"
DESIGNS = {"1:1 without replacement (default)": {}, "1:1 with replacement": {"replace": True}}


def cohort(n: int, seed: int) -> pd.DataFrame:
    d = simulate(n, np.random.default_rng(seed), SCENARIOS["limited overlap"])
    return d.assign(age=(d["age"] // 10) * 10)


def spread(engine, df: pd.DataFrame, kw: dict) -> dict:
    est, sig, kept = [], 0, []
    for s in range(50):
        r = engine(df, "participant", "cnt_effect", COVARIATES, "count", seed=s, **kw)
        est.append(r.estimate)
        sig += r.verdict != "inconclusive"
        kept.append(r.n_matched / r.n_treated)
    est = np.array(est)
    return {"share kept %": 100 * np.mean(kept), "smallest estimate": est.min(), "largest estimate": est.max(),
            "spread % of mean": 100 * (est.max() - est.min()) / abs(est.mean()),
            "significant (of 50 seeds)": sig}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--before", required=True)
    ap.add_argument("--n", type=int, default=1500)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--out", default="docs/validation.md")
    args = ap.parse_args(argv)
    warnings.simplefilter("ignore")
    sys.path.insert(0, args.before)
    old = importlib.import_module("oldcomparison")
    df = cohort(args.n, args.seed)
    rows = []
    for label, engine in (("before", old.estimate_effect), ("after", estimate_effect)):
        for design, kw in DESIGNS.items():
            rows.append({"engine": label, "design": design, **spread(engine, df, kw)})
    table = pd.DataFrame(rows)
    print(table.round(4).to_string(index=False), file=sys.stderr)
    cols = list(table.columns)
    fmt = lambda v: f"{v:.4f}" if isinstance(v, float) else str(v)
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    lines += ["| " + " | ".join(fmt(v) for v in r) + " |" for r in table.itertuples(index=False)]
    text = f"""### Does the seed change the result? (issue 15)

`bench/seed_dependence.py --n {args.n} --seed {args.seed}`: one limited-overlap cohort
({int(df['participant'].sum())} participants of {len(df)}; age in 10-year bands, so many ties), count outcome with
an effect, estimated with seeds 0-49.

{chr(10).join(lines)}
"""
    write_section(Path(args.out), SECTION, text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
