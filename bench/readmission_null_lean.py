"""Why the risk-set readmission estimate leans towards harm under the null: deaths, or the covariates?

    python -m bench.readmission_null_lean --persons 10000 --seeds 4000-4011 [--out build/readmission_null_lean.csv]

For each seed: ``data.generate`` with no effect (``--or-readmit 1``), the ingest, the core SQL
and ``models.readmission.effects`` with the default ``risk_set`` design, ``any`` comparison
(as ``bench/validate_designs.py``). The generator's people (``data.synthetic.people``, the same
random stream) give each person's day of death, which the extract does not hold for deaths
outside hospital. On the same matched rows the risk difference is then recomputed

* ``estimate``: the pipeline's;
* ``dead_before_day_k``: the share of matched comparison rows (weighted) whose person died
  before the trial day k, when they could no longer start or be readmitted, but the
  pipeline kept them "at risk";
* ``estimate_oracle``: the design rebuilt with those rows out of every risk set (a unit is at
  risk on day k only if alive and not readmitted), then matched and estimated the same way;
* ``expected_difference``: on the pipeline's matched rows, the weighted mean of each row's
  *true* risk of readmission from its trial day k given no readmission before it (the
  generator's p0 for that discharge, ``truth/readmission_discharges``, carried to day k with the
  generator's Beta(1, 2) readmission-day law), participants minus comparison. Under the null
  it is what the estimate would be with no outcome noise: non-zero means the matched groups
  differ in true risk (covariates measured differently from the generator's, residual
  confounding); zero with a biased estimate means the outcome itself is selected;
* ``estimate_bias_corrected``: the same comparison with the engine's Abadie-Imbens bias
  correction (``bias_correction=True``; off by default for binary outcomes).

Prints one row per seed and the means with their SEs over seeds.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

from bench.synthetic import ingested
from data.synthetic import Config, Effects
from data.synthetic.common import NEVER, stream, to_day
from data.synthetic.people import simulate_people
from models.readmission import ReadmissionSettings, build_index_discharges, discharges_frame
from models.readmission.effects import run_comparison, units
from models.time_zero import sequential_trials

KEY = b"readmission-null-lean-key-0123456789abcdef"
SOURCES = ("persons", "timebank_members", "timebank_exchanges", "programme_enrolments", "hospital_spells")


def death_dates(cfg: Config, con) -> pd.Series:
    """Day of death (date) by pseudonymised person id, from the generator's own people stream."""
    people = simulate_people(cfg.persons, to_day(cfg.start), to_day(cfg.end), stream(cfg.seed, "people"))
    width = max(7, len(str(cfg.persons)))
    dead = np.flatnonzero(people.death < NEVER)
    raw = pd.DataFrame({"raw": [f"P{i + 1:0{width}d}" for i in dead], "day": people.death[dead]})
    con.register("_raw_dead", raw)
    ids = con.execute("SELECT raw, pseudonym(raw) AS person_id FROM _raw_dead").df()
    raw = raw.merge(ids, on="raw")
    return pd.Series(pd.to_datetime(raw["day"], unit="D").dt.date.to_numpy(), index=raw["person_id"].to_numpy())


def _survival(k: np.ndarray) -> np.ndarray:
    """P(readmission day >= k | readmitted): the generator's Beta(1, 2) day law (data.synthetic.hospital)."""
    return np.where(k <= 1, 1.0, (1.0 - (np.maximum(k, 1) - 1) / 29.0) ** 2)


def true_risk(cfg: Config, con, discharges: pd.DataFrame) -> pd.Series:
    """Each discharge's true readmission risk from day 0 (the generator's p0), by discharge_id."""
    t = pd.read_csv(cfg.out / "truth" / "readmission_discharges.csv", usecols=["person_id", "discharged_on", "start_on",
                                                                              "p0"])
    con.register("_truth", t[["person_id"]].drop_duplicates())
    ids = con.execute("SELECT person_id AS raw, pseudonym(person_id) AS pid FROM _truth").df()
    t = t.merge(ids, left_on="person_id", right_on="raw").drop(columns=["person_id", "raw"])
    s = (pd.to_datetime(t["start_on"]) - pd.to_datetime(t["discharged_on"])).dt.days.fillna(0).to_numpy()
    sv = _survival(s)
    t["p0_day0"] = t["p0"] / (sv + t["p0"] * (1 - sv))  # p0 in the truth file is from the start day
    d = discharges[["discharge_id", "person_id", "discharged_on"]].assign(
        discharged_on=lambda x: pd.to_datetime(x["discharged_on"]).dt.strftime("%Y-%m-%d"))
    m = d.merge(t.rename(columns={"pid": "person_id"}), on=["person_id", "discharged_on"], how="left")
    return m.set_index("discharge_id")["p0_day0"]


def expected_difference(md: pd.DataFrame, p0: pd.Series) -> tuple[float, float]:
    """Participants minus comparison, weighted, of the true risk from the trial day; share matched to truth."""
    base = md["discharge_id"].map(p0).to_numpy(dtype=float)
    sv = _survival(md["trial_day"].to_numpy(dtype=float))
    risk = base * sv / (1 - base * (1 - sv))
    ok = np.isfinite(risk)
    w, t = md["_weight"].to_numpy(dtype=float), md["_treated"].to_numpy() == 1
    g = lambda m: float(np.sum((w * risk)[m & ok]) / np.sum(w[m & ok]))  # noqa: E731
    return g(t) - g(~t), float(ok.mean())


def rows_for(discharges: pd.DataFrame, died: pd.Series | None) -> pd.DataFrame:
    """Risk-set rows of the ``any`` comparison; with ``died``, a death before day k ends the risk set."""
    u = units(discharges, "any")
    rows = sequential_trials(u, "start", "event", "blocked")
    if died is not None:
        off = (pd.to_datetime(rows["person_id"].map(died)) - pd.to_datetime(rows["discharged_on"])).dt.days
        rows = rows[~(off.notna() & (off < rows["trial_day"]) & (rows["treated"] == 0))]
    e = rows["event"].to_numpy(dtype=float)
    return rows.assign(readmitted=(~np.isnan(e) & (e >= rows["trial_day"].to_numpy())).astype(int))


def one_seed(seed: int, persons: int) -> dict:
    with ingested(persons, seed, Effects(or_readmit=1.0, or_reoffend=1.0), SOURCES, KEY) as (con, _, as_of, cfg):
        settings = ReadmissionSettings(programme_ids=("peer_visiting_after_discharge",))
        build_index_discharges(con, settings, as_of=as_of, run_id="bench")
        discharges = discharges_frame(con)
        died = death_dates(cfg, con)
        p0 = true_risk(cfg, con, discharges)
    res = run_comparison(rows_for(discharges, None), settings)
    md = res.matched_data
    c = md[md["_treated"] == 0]
    off = (pd.to_datetime(c["person_id"].map(died)) - pd.to_datetime(c["discharged_on"])).dt.days
    gone = (off.notna() & (off < c["trial_day"])).to_numpy()
    oracle = run_comparison(rows_for(discharges, died), settings)
    expected, linked = expected_difference(md, p0)
    corrected = run_comparison(rows_for(discharges, None), settings, bias_correction=True)
    return {"seed": seed, "n_participants": res.n_treated, "estimate": res.estimate,
            "dead_before_day_k_pct": 100 * float(np.sum(c["_weight"][gone]) / np.sum(c["_weight"])),
            "comparison_rate": res.comparison_value, "estimate_oracle": oracle.estimate,
            "comparison_rate_oracle": oracle.comparison_value, "expected_difference": expected,
            "share_linked_to_truth": linked, "estimate_bias_corrected": corrected.estimate}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.readmission_deaths", description=__doc__.splitlines()[0])
    ap.add_argument("--persons", type=int, default=10000)
    ap.add_argument("--seeds", default="4000-4011")
    ap.add_argument("--out", type=Path, default=Path("build/readmission_null_lean.csv"))
    a = ap.parse_args(argv)
    lo, hi = (int(x) for x in a.seeds.split("-"))
    a.out.parent.mkdir(parents=True, exist_ok=True)
    rows = []
    for seed in range(lo, hi + 1):
        rows.append(one_seed(seed, a.persons))
        pd.DataFrame(rows).to_csv(a.out, index=False)
        print(rows[-1], flush=True)
    df = pd.DataFrame(rows)
    diff = df["estimate"] - df["estimate_oracle"]
    se = lambda x: 100 * x.std(ddof=1) / np.sqrt(len(x))  # noqa: E731
    print(f"\nexpected difference in true risk (matched participants - comparison) "
          f"{100 * df['expected_difference'].mean():+.3f} points (SE {se(df['expected_difference']):.3f}); estimate "
          f"{100 * df['estimate'].mean():+.3f} (SE {se(df['estimate']):.3f}); rows linked to truth "
          f"{100 * df['share_linked_to_truth'].mean():.1f}%; bias-corrected estimate "
          f"{100 * df['estimate_bias_corrected'].mean():+.3f} (SE {se(df['estimate_bias_corrected']):.3f})")
    print(f"{len(df)} seeds, {a.persons} persons: pipeline mean {100 * df['estimate'].mean():+.2f} points, "
          f"oracle (deaths leave the risk set) {100 * df['estimate_oracle'].mean():+.2f}; paired difference "
          f"{100 * diff.mean():+.2f} points (SE {100 * diff.std(ddof=1) / np.sqrt(len(df)):.2f}); matched comparison "
          f"rows dead before their trial day {df['dead_before_day_k_pct'].mean():.2f}%")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
