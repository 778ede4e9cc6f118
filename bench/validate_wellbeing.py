"""Coverage of the well-being trajectory model against the synthetic generator's injected effects.

    python -m bench.validate_wellbeing [--persons 8000] [--seeds 11-30]

For each seed: generate the inputs (window 2021-2024, nothing future-dated), ingest the
sources the model needs, build the Star journeys and fit every trajectory model; then
check whether the 95% interval of the giving coefficient covers the injected value
(Recovery Star on its 1-10 scale, Well-being Star on 1-5 with the generator's expected
slope, pooled Outcomes Stars on the 1-10 equivalent) and whether giving minus receiving
covers its injected difference (pooled). Prints the counts and mean estimates for
docs/outputs-wellbeing.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import duckdb
import numpy as np

from models import wellbeing as wb
from pipelines.ingest.stage import ingest_source
from schemas.raw import SOURCES

REPO = Path(__file__).resolve().parents[1]
NEEDED = ("persons", "timebank_members", "timebank_exchanges", "programme_enrolments", "star_readings")
KEY = b"validation-key-not-secret-0123456789"


def one_seed(seed: int, persons: int, tmp: Path) -> dict:
    out = tmp / f"in{seed}"
    subprocess.run([sys.executable, "-m", "data.generate", "--persons", str(persons), "--seed", str(seed), "--out",
                    str(out), "--quiet", "--start", "2021-01-01", "--end", "2024-12-31"], check=True, cwd=REPO)
    truth = json.loads((out / "truth.json").read_text())
    con = duckdb.connect(str(tmp / f"w{seed}.duckdb"))
    for source in (s for s in SOURCES if s in NEEDED):
        ingest_source(con, source, out, run_id="validate", as_of=dt.date(2025, 1, 1), key=KEY)
    settings = wb.WellbeingSettings()
    wb.build_core(con, settings, "validate")
    model = wb.model_table(con, settings)
    con.close()

    def term(scope, version, name):
        r = model[(model.scope == scope) & (model.star_version == version) & (model.area == "all") & (model.term == name)]
        return r.iloc[0]

    given = truth["effects"]["star_per_10h_given"]
    received = truth["effects"].get("star_per_10h_received", 0.1)
    star = truth["realised"]["star"]
    checks = {
        "recovery_star": (term("version", "recovery_star", "hours_given"), star["recovery_star"]["expected_points_per_10h_given"]),
        "wellbeing_star": (term("version", "wellbeing_star", "hours_given"), star["wellbeing_star"]["expected_points_per_10h_given"]),
        "pooled_stars": (term("stars", "outcomes_stars", "hours_given"), given),
        "pooled_given_minus_received": (term("stars", "outcomes_stars", "given_minus_received"), given - received),
    }
    return {k: (float(r.estimate), bool(r.ci_low <= target <= r.ci_high), target) for k, (r, target) in checks.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--persons", type=int, default=8000)
    parser.add_argument("--seeds", default="11-30")
    args = parser.parse_args()
    first, last = map(int, args.seeds.split("-"))
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for seed in range(first, last + 1):
            results.append(one_seed(seed, args.persons, Path(tmp)))
            print(f"seed {seed}: " + ", ".join(f"{k} {v[0]:.3f}{'' if v[1] else ' (missed)'}" for k, v in results[-1].items()),
                  file=sys.stderr, flush=True)
    print(f"{len(results)} seeds, {args.persons} persons")
    for k in results[0]:
        covered = sum(r[k][1] for r in results)
        print(f"{k}: covered {covered} of {len(results)}; mean estimate {np.mean([r[k][0] for r in results]):.3f}; "
              f"target {results[0][k][2]:.3f}")


if __name__ == "__main__":
    main()
