"""Would a person-cluster bootstrap make the trajectory model's intervals cover? (issue 15)

    python -m bench.wellbeing_bootstrap [--persons 20000] [--seeds 302-311] [--reps 100] [--null] [--out FILE.jsonl]

For each seed of the injected scenario (or the null one, ``--null``:
``bench.validate_wellbeing.staged_seed``, then ``build_core`` with the default settings), the
per-version trajectory model (``version`` scope,
``fit_trajectory`` exactly as ``model_table`` calls it) of the Recovery Star and the Well-being
Star is fitted once, then ``--reps`` times on a person-cluster bootstrap sample (Davison &
Hinkley 1997, *Bootstrap Methods and their Application*, section 3.8: people drawn with
replacement, all their readings kept, each draw a new person; ``numpy.random.default_rng(seed)``,
so deterministic). Per seed and version it records the giving coefficient, its CR1 person-
clustered SE (the default), the bootstrap SE and the 2.5-97.5% percentile interval, and whether
each interval (Wald with either SE; percentile) holds the generator's expected slope. A draw
whose design is rank-deficient is not fitted and is counted. Prints empirical SD of the estimate
across seeds against the mean of each SE, and coverage, for docs/validation.md.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

from bench.validate_wellbeing import VERSIONS, Z95, read_records, run_seeds, staged_seed
from models import wellbeing as wb
from models.wellbeing.trajectories import TERMS, model_frame


def giving(data: pd.DataFrame, covs: list[str], settings: wb.WellbeingSettings) -> tuple[float, float] | None:
    """(estimate, CR1 SE) of hours_given in the per-version model of ``data``; None when not fitted."""
    rows, _ = wb.fit_trajectory(data, "score_oriented", covs, "area", settings)
    row = next(r for r in rows if r["term"] == "hours_given")
    return (row["estimate"], row["se"]) if "estimate" in row else None


def bootstrap(data: pd.DataFrame, covs: list[str], settings: wb.WellbeingSettings, reps: int,
              rng: np.random.Generator) -> tuple[np.ndarray, int]:
    """Giving coefficients of ``reps`` person-cluster bootstrap samples, and how many were not fitted."""
    data = data.sort_values("person_id", kind="stable")
    ids = data["person_id"].to_numpy()
    starts = np.flatnonzero(np.r_[True, ids[1:] != ids[:-1]])
    sizes = np.diff(np.r_[starts, len(ids)])
    out, failed = [], 0
    for _ in range(reps):
        pick = rng.integers(0, len(starts), len(starts))
        n = sizes[pick]
        rows = np.repeat(starts[pick], n) + np.arange(n.sum()) - np.repeat(np.cumsum(n) - n, n)
        sample = data.iloc[rows].assign(person_id=np.repeat(np.arange(len(pick)), n))
        fit = giving(sample, covs, settings)
        if fit is None:
            failed += 1
        else:
            out.append(fit[0])
    return np.array(out), failed


def one_seed(seed: int, persons: int, reps: int, tmp: Path, null: bool) -> dict:
    con, truth = staged_seed(seed, persons, tmp, null)
    settings = wb.WellbeingSettings()
    wb.write_core(con, settings, "validate")
    frame, covs = model_frame(con, settings)
    con.close()
    rec = {"seed": seed, "persons": persons, "reps": reps, "null": null}
    for version in VERSIONS:
        data = frame[frame["star_version"] == version].dropna(subset=["score_oriented", *TERMS, *covs])
        target = truth["realised"]["star"][version]["expected_points_per_10h_given"]
        est, se = giving(data, covs, settings)
        draws, failed = bootstrap(data, covs, settings, reps, np.random.default_rng(seed))
        boot_se = float(draws.std(ddof=1))
        low, high = np.percentile(draws, [2.5, 97.5])
        rec[version] = {"truth": target, "estimate": est, "cr1_se": se, "boot_se": boot_se, "not_fitted": failed,
                        "percentile": [float(low), float(high)], "covered_cr1": bool(abs(est - target) <= Z95 * se),
                        "covered_boot_se": bool(abs(est - target) <= Z95 * boot_se),
                        "covered_percentile": bool(low <= target <= high)}
    return rec


def summarise(records: list[dict]) -> str:
    lines = ["| version | seeds | mean estimate − truth | empirical SD | mean CR1 SE | mean bootstrap SE "
             "| covered: CR1 | bootstrap SE | percentile |", "|---|---|---|---|---|---|---|---|---|"]
    for version in VERSIONS:
        rows = [r[version] for r in records]
        n = len(rows)
        err = np.array([x["estimate"] - x["truth"] for x in rows])
        cov = {k: sum(x[f"covered_{k}"] for x in rows) for k in ("cr1", "boot_se", "percentile")}
        lines.append(f"| {version} | {n} | {err.mean():+.3f} | {err.std(ddof=1):.3f} | "
                     f"{np.mean([x['cr1_se'] for x in rows]):.3f} | {np.mean([x['boot_se'] for x in rows]):.3f} | "
                     + " | ".join(f"{c}/{n}" for c in cov.values()) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--persons", type=int, default=20000)
    parser.add_argument("--seeds", default="302-311")
    parser.add_argument("--reps", type=int, default=100)
    parser.add_argument("--null", action="store_true", help="inject no Star effect of hours")
    parser.add_argument("--out", type=Path, help="append one JSON line per seed here")
    parser.add_argument("--summarise", type=Path, nargs="+", help="only print the table of these JSON-lines files")
    args = parser.parse_args()
    if args.summarise:
        print(summarise(read_records(args.summarise)))
        return
    print(summarise(run_seeds(args.seeds, lambda seed, tmp: one_seed(seed, args.persons, args.reps, tmp, args.null),
                              args.out)))


if __name__ == "__main__":
    main()
