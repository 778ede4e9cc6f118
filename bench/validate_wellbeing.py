"""Well-being validation through the real pipeline code: generator -> ingest -> core -> models.

    python -m bench.validate_wellbeing [--persons 20000] [--seeds 11-40] [--null] [--out FILE.jsonl]
        [--designs prior_reading,new_joiners,joined_by_last_reading] [--no-model]

For each seed: generate the inputs (window 2021-2024, nothing future-dated; ``--null`` sets the
injected Star effects of hours given and received to 0), ingest the sources the well-being
models need (``pipelines.ingest.stage.ingest_source``, as the ingest assets do), build the core
tables (``write_core``: ``build_core`` computes them, the one writer writes them) and compute, as the assets do:

* **the matched comparison** (``effects_table``), under the default target-trial design
  (``prior_reading``), the same trial without the reading before the baseline (``new_joiners``)
  and the earlier definition (``joined_by_last_reading``; choose with ``--designs``): the headline
  mean improvement per area for the Recovery Star (1-10) and the Well-being Star (1-5), and
  the pooled row (1-10 equivalent), against the generator's truth for the target trial
  (``realised.star.target_trial``: the members read at referral and intake; the pooled truth
  is their participant-weighted mean on the 1-10 equivalent);
* **the trajectory model** (``model_table``) with model-based and person-clustered SEs:
  whether the 95% interval of the giving coefficient covers the injected value (Recovery Star
  1-10, Well-being Star 1-5 with the generator's expected slope, pooled Outcomes Stars on the
  1-10 equivalent) and whether giving minus receiving covers its injected difference.

Writes one JSON line per seed (``--out``) and prints bias and its Monte Carlo SE, empirical SD,
mean SE, coverage and its Monte Carlo SE, and participants (matched) per seed for
docs/validation.md ("Well-being design (issue 15)"). ``--summarise FILE.jsonl ...`` prints the
table of earlier runs without running anything.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import duckdb
import numpy as np

from models import wellbeing as wb
from models.wellbeing.effects import effects_results
from pipelines.ingest.pseudonymise import register_pseudonym_macro
from pipelines.ingest.stage import ingest_source
from schemas.raw import SOURCES

REPO = Path(__file__).resolve().parents[1]
NEEDED = ("persons", "timebank_members", "timebank_exchanges", "programme_enrolments", "star_readings")
KEY = b"validation-key-not-secret-0123456789"
DESIGNS = ("prior_reading", "new_joiners", "joined_by_last_reading")
VERSIONS = ("recovery_star", "wellbeing_star")
Z95 = 1.959963984540054


def _generate(seed: int, persons: int, out: Path, null: bool, generator: Path = REPO) -> dict:
    effects = ["--star-given", "0", "--star-received", "0"] if null else []
    subprocess.run([sys.executable, "-m", "data.generate", "--persons", str(persons), "--seed", str(seed), "--out",
                    str(out), "--quiet", "--start", "2021-01-01", "--end", "2024-12-31", *effects], check=True,
                   cwd=generator)
    return json.loads((out / "truth.json").read_text())


def effect_truth(truth: dict) -> dict:
    """(version or 'all') -> the target-trial truth on the version's scale (pooled: 1-10, participant-weighted)."""
    tt = truth["realised"]["star"]["target_trial"]
    out = {v: tt[v]["mean_area_effect"] for v in VERSIONS if tt.get(v, {}).get("mean_area_effect") is not None}
    n = {v: tt[v]["n_participants"] for v in out}
    if n and sum(n.values()):
        out["all"] = sum(tt[v]["mean_area_effect_1_10"] * n[v] for v in n) / sum(n.values())
    return out


def kept_truth(con: duckdb.DuckDBPyConnection, truth_dir: Path, results: dict) -> dict:
    """(version or 'all') -> (truth, participants found in the truth file, participants kept): the mean individual
    effect (``truth/star_trial_effects.csv``) of the participants the comparison kept, the estimand the engine
    reports ("effect on the matched participants"); 'all' on the 1-10 equivalent, as the pooled row."""
    if not (truth_dir / "star_trial_effects.csv").exists():  # a generator from before the file was written
        return {}
    register_pseudonym_macro(con, KEY)
    # the comparison's person_id is the person's rank among core.wellbeing_people (effects.trial_frames)
    effects = con.execute("SELECT p.person_rank AS person_id, e.star_version, e.effect, e.effect_1_10 "
                          "FROM read_csv(?, header = true) e JOIN (SELECT person_id, row_number() OVER "
                          "(ORDER BY person_id) - 1 AS person_rank FROM core.wellbeing_people) p "
                          "ON p.person_id = pseudonym(e.person_id)", [str(truth_dir / "star_trial_effects.csv")]).df()
    out = {}
    for (version, area), res in results.items():
        if area != "mean_of_areas":
            continue
        kept = res.matched_data.loc[res.matched_data["_treated"] == 1, ["person_id", "star_version"]]
        found = kept.merge(effects, on=["person_id", "star_version"])
        if len(found):
            out[version] = (float(found["effect_1_10" if version == "all" else "effect"].mean()), len(found), len(kept))
    return out


def staged_seed(seed: int, persons: int, tmp: Path, null: bool,
                generator: Path = REPO) -> tuple[duckdb.DuckDBPyConnection, dict]:
    """Generate one seed's inputs and ingest the sources the well-being models need: (warehouse, truth.json)."""
    out = tmp / f"in{seed}"
    truth = _generate(seed, persons, out, null, generator)
    con = duckdb.connect(str(tmp / f"w{seed}.duckdb"))
    for source in (s for s in SOURCES if s in NEEDED):
        ingest_source(con, source, out, run_id="validate", as_of=dt.date(2025, 1, 1), key=KEY)
    return con, truth


def one_seed(seed: int, persons: int, tmp: Path, null: bool, designs=DESIGNS, model: bool = True,
             generator: Path = REPO) -> dict:
    con, truth = staged_seed(seed, persons, tmp, null, generator)
    rec = {"seed": seed, "persons": persons, "null": null, "effects": {}, "model": {}}
    targets = effect_truth(truth)
    for design in designs:
        settings = wb.WellbeingSettings(design=design)
        wb.write_core(con, settings, "validate")
        e, results = effects_results(con, settings)
        kept = kept_truth(con, tmp / f"in{seed}" / "truth", results)
        for version, target in targets.items():
            r = e[(e.star_version == version) & (e.area == "mean_of_areas") & (e.outcome == "improvement")]
            if len(r) and r.iloc[0].status == "estimated":
                r = r.iloc[0]
                rec["effects"][f"{design}/{version}"] = {
                    "truth": target, "estimate": float(r.estimate), "se": float((r.ci_high - r.ci_low) / (2 * Z95)),
                    "covered": bool(r.ci_low <= target <= r.ci_high), "n_treated": int(r.n_treated),
                    "n_matched": int(r.n_matched)}
                if version in kept:
                    t, found, n_kept = kept[version]
                    rec["effects"][f"{design}/{version}"].update(
                        truth_kept=t, covered_kept=bool(r.ci_low <= t <= r.ci_high), kept_found=found, kept=n_kept)
    if not model:
        con.close()
        return rec
    given = truth["effects"]["star_per_10h_given"]
    received = truth["effects"].get("star_per_10h_received", 0.1)
    star = truth["realised"]["star"]
    targets = {("version", "recovery_star", "hours_given"): star["recovery_star"]["expected_points_per_10h_given"],
               ("version", "wellbeing_star", "hours_given"): star["wellbeing_star"]["expected_points_per_10h_given"],
               ("stars", "outcomes_stars", "hours_given"): given,
               ("stars", "outcomes_stars", "given_minus_received"): given - received}
    for se in ("model", "person_cluster"):
        model = wb.model_table(con, wb.WellbeingSettings(trajectory_se=se))
        for (scope, version, term), target in targets.items():
            r = model[(model.scope == scope) & (model.star_version == version) & (model.area == "all")
                      & (model.term == term)].iloc[0]
            rec["model"][f"{se}/{version}/{term}"] = {"truth": target, "estimate": float(r.estimate), "se": float(r.se),
                                                     "covered": bool(r.ci_low <= target <= r.ci_high)}
    con.close()
    return rec


def summarise(records: list[dict]) -> str:
    lines = [f"{len(records)} seeds, {records[0]['persons']} persons, {'null' if records[0]['null'] else 'injected'} effects",
             "| part | key | seeds | mean truth | mean estimate | bias (MC SE) | empirical SD | mean SE | coverage (MC SE) "
             "| participants (matched) | mean truth (kept) | bias (kept) | coverage (kept) |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for part in ("effects", "model"):
        keys = sorted({k for r in records for k in r[part]})
        for k in keys:
            rows = [r[part][k] for r in records if k in r[part]]
            est = np.array([x["estimate"] for x in rows])
            tru = np.array([x["truth"] for x in rows])
            se = np.array([x["se"] for x in rows])
            cov = sum(x["covered"] for x in rows)
            n = len(rows)
            sd = (est - tru).std(ddof=1) if n > 1 else float("nan")
            share = cov / n
            people = (f"{np.mean([x['n_treated'] for x in rows]):.0f} ({np.mean([x['n_matched'] for x in rows]):.0f})"
                      if "n_treated" in rows[0] else "")
            lines.append(f"| {part} | {k} | {n} | {tru.mean():.3f} | {est.mean():.3f} | {(est - tru).mean():+.3f} "
                         f"({sd / np.sqrt(n):.3f}) | {est.std(ddof=1) if n > 1 else float('nan'):.3f} | {se.mean():.3f} | "
                         f"{cov}/{n} ({100 * share:.0f}% ± {100 * np.sqrt(share * (1 - share) / n):.0f}) | {people} | "
                         f"{_kept(rows)} |")
    return "\n".join(lines)


def _kept(rows: list[dict]) -> str:
    """Mean truth, bias and coverage against the truth among the participants kept (seeds that recorded it)."""
    rows = [x for x in rows if "truth_kept" in x]
    if not rows:
        return " | "
    n = len(rows)
    tru = np.array([x["truth_kept"] for x in rows])
    bias = np.array([x["estimate"] for x in rows]) - tru
    cov = sum(x["covered_kept"] for x in rows)
    return (f"{tru.mean():.3f} | {bias.mean():+.3f} ({bias.std(ddof=1) / np.sqrt(n) if n > 1 else float('nan'):.3f}) | "
            f"{cov}/{n} ({100 * cov / n:.0f}% ± {100 * np.sqrt(cov / n * (1 - cov / n) / n):.0f})")


def read_records(files: list[Path]) -> list[dict]:
    """The records of earlier runs: one JSON object per line of each file."""
    return [json.loads(line) for f in files for line in f.read_text().splitlines() if line]


def run_seeds(seeds: str, one: Callable[[int, Path], dict], out: Path | None) -> list[dict]:
    """``one(seed, scratch directory)`` for each seed of ``FIRST-LAST``, each record appended to ``out`` as it ends."""
    first, last = map(int, seeds.split("-"))
    records = []
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        for seed in range(first, last + 1):
            records.append(one(seed, Path(tmp)))
            if out:
                with out.open("a") as fh:
                    fh.write(json.dumps(records[-1]) + "\n")
            print(f"seed {seed} done ({time.perf_counter() - t0:.0f} s)", file=sys.stderr, flush=True)
    return records


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--persons", type=int, default=20000)
    parser.add_argument("--seeds", default="11-40")
    parser.add_argument("--null", action="store_true", help="inject no Star effect of hours")
    parser.add_argument("--out", type=Path, help="append one JSON line per seed here")
    parser.add_argument("--designs", default=",".join(DESIGNS), help="comparison designs, comma-separated")
    parser.add_argument("--no-model", action="store_true", help="skip the trajectory model")
    parser.add_argument("--generator-dir", type=Path, default=REPO,
                        help="run data.generate from here, e.g. an earlier commit's data/ and schemas/ "
                             "(git archive COMMIT data schemas | tar -x -C DIR)")
    parser.add_argument("--summarise", type=Path, nargs="+", help="only print the table of these JSON-lines files")
    args = parser.parse_args()
    if args.summarise:
        print(summarise(read_records(args.summarise)))
        return
    t0 = time.perf_counter()
    records = run_seeds(args.seeds, lambda seed, tmp: one_seed(
        seed, args.persons, tmp, args.null, tuple(args.designs.split(",")), not args.no_model, args.generator_dir), args.out)
    print(summarise(records))
    print(f"total {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
