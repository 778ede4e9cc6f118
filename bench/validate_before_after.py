"""The before/after design (matched difference-in-differences) through the real pipeline code, against the
generator's truth, with the old comparison pool and the new.

    python -m bench.validate_before_after --persons 20000 --reps 10 --first-seed 5000 \
        [--old-commit dfc97d7 | --old-commit ''] [--scenarios null effect dip] [--washout 90]
        [--max-minutes 15] [--admissions] [--oracle] [--out build/validate_before_after.csv]

Each replication r (seed first_seed + r) runs, for each scenario of ``--scenarios`` (default null and effect):

* ``null``: ``data.generate --contacts-rr 1`` (joining changes no contact rate);
* ``effect``: the generator's default, GP and A&E contact rates x 0.85 from the day a person first joins;
* ``dip``: ``--contacts-rr 1 --crisis-share 0.3 --crisis-days 90 --crisis-rr 3``: no effect of joining, but
  30% of joiners are in crisis over the 90 days before joining, every service but "other" at 3x their rate
  (an Ashenfelter dip; data/synthetic/truth.py ``Crisis``);
* ``null_adm``: ``--or-readmit 1 --contacts-rr 1``: joining changes no admission and no contact;
* ``dip_adm``: ``null_adm`` with the crisis of ``dip`` raising emergency admissions too
  (``--crisis-admissions-rr 3``: extra emergency admissions at 2x the usual rate over the same days);
* ``programme_adm``: ``--or-readmit 0.4 --contacts-rr 1``: a strong effect on the 30-day readmission of every
  participating discharge, by time-bank activity or peer visiting (bench/before_after_enrolled.py);

the generator (``data.synthetic``), the ingest (``pipelines.ingest.stage.ingest_source``) and
``service_use_change`` (the function the ``marts/service_use_change`` asset calls; Dagster is skipped) for GP
and A&E, once with the comparison pool of this checkout ("new": not joined or enrolled by the pseudo join
date, later joiners kept as comparisons, intention to treat) and once with ``models/readmission/before_after.py``
of ``--old-commit`` ("old": never a member, never enrolled; an empty ``--old-commit`` leaves it out), loaded from
git beside the new one, and, for each ``--washout`` k, once more with the new pool and ``washout_days`` k ("new_wk").
All see the same warehouse, settings (but the washout) and seed. Each new-pool row also records the pre-trend
check (``pretrend_*``: the placebo DiD of the before window against the year before it).

Truth (per person-year, the mart's unit). The generator (``data/synthetic/services.py``) gives each person a
constant yearly rate per service (``_rates``, at the start of the data); the contacts of a person who first
joins on day J are Poisson(rate x days / 365.25) over [start, J - 1] and Poisson(rate x rr x days / 365.25) over
[J, last] (last = the day before death, or the end), each placed on days of its segment by the winter profile;
a never-joiner has one segment [start, last]. So the expected count in a window W lying in segment S is
rate_S x |S| / 365.25 x w(W) / w(S), w the summed seasonal day weights. A person in crisis (``crisis_windows``,
the generator's own draw) has one more segment, their crisis days C, with rate x (rate_ratio - 1), as joiners and
had they never joined alike (the crisis precedes joining). A person's expected change at index date J is
(E[after window] - E[before window]) x 365.25 / 365, the before window ending ``washout_days`` before J.

* ``truth``: the mean over the eligible participants (the participant rows of ``person_frame``) of their
  expected change as they joined minus their expected change had they never joined: the effect of joining vs
  never joining on the participants. With rr = 0.85 it is close to -0.15 x their mean rate; with rr = 1 it is
  not exactly 0, because splitting a person's contacts at J into two seasonally placed segments moves a little
  of the expected count between windows (a generator artefact of at most a few per cent of the rate).
* ``dilution``: the weighted mean, over the matched comparison rows of the new pool, of the same quantity for
  them (their expected change with their real first join date, if any, minus as never-joiners): what the
  comparison persons who join later (most within their after window) take off the estimate under intention to
  treat. ``truth - dilution`` is what the new pool's contrast "joining at J vs not having joined by J" is
  expected to give on its matched sample (``itt_target``). The matched sample is the one ``did_rows`` draws
  (``models.comparison.match`` with the same arguments, deterministic). The old pool's comparison persons
  never join: its dilution is 0.
* ``expected_did`` (new pool only): the matched participants' mean expected change as they joined minus the
  matched comparison rows' (weighted) mean expected change as they lived: what the estimator should give on
  that sample if it were unbiased for it. ``expected_did - itt_target`` is the part of the bias that lies in
  the generator (the two groups' expected changes differ without any joining, e.g. through the seasonal split
  or deaths), the rest is the estimator's. ``expected_did_alive``: the same over the rows of people alive
  through their after window. ``dead_comparison_pct`` is the weighted share of matched comparison rows whose
  person dies before their after window ends (participants are alive on their join date): 55% of the
  generator's deaths are outside hospital, which only the persons file's ``died_on`` records, so it is 0 for a
  pool that reads ``died_on`` and about 6% for one that reads the spells only (``--old-commit`` before it).

* ``expected_did_no_comparison_crisis`` (new pool only): ``expected_did`` with the comparison rows' crisis
  segment removed (the participants' kept): if it equals the truth, what ``expected_did`` leaves over is the
  comparison persons' own crisis, before they join later, falling in their after window.
  ``matched_comparison_crisis_in_after_pct``: the weighted share of matched comparison rows with such a crisis.
* ``--oracle``: each new pool once more without those comparison rows (pool "<name>_oracle"): an experiment
  that reads the generator (no design can see a crisis that has not yet happened).
* ``--admissions``: each new pool's ``admissions_before_after`` (service "emergency_admissions"), whose truth is
  0 when ``or_readmit`` is 1 and otherwise the first-order effect on the matched participants
  (:func:`admissions_truth`).

The people are mapped from the warehouse's pseudonyms to the generator's rows by the same HMAC as the ingest,
and the generator's people are rebuilt from the seed (``simulate_people``). Writes one CSV row per replication,
scenario, service and pool, and prints the Markdown table for docs/validation.md (section "Before/after
design").
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import hmac
import importlib.util
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from bench import tables
from bench.synthetic import ingested, replications
from data.synthetic import Config, Crisis, Effects
from data.synthetic.common import NEVER, Calendar, stream, to_day
from data.synthetic.people import simulate_people
from data.synthetic.services import IN_CRISIS, _rates, crisis_windows
from data.synthetic.services import SERVICES as GEN_SERVICES
from models.comparison import match
from models.readmission import ReadmissionSettings
from models.readmission import before_after as new_pool
from models.readmission.before_after import _window, chains, did_rows, person_frame

KEY = b"validate-before-after-key-0123456789"
YEAR = 365.25
SOURCES = ("persons", "timebank_members", "programme_enrolments", "hospital_spells", "service_contacts")
SERVICES = ("gp", "ae", "mental_health", "social_care")  # the generator changes gp and ae on joining, not the others
AFFECTED = {"gp": "winter", "ae": "winter"}  # service -> seasonal profile of its contact days (services.py)
SCENARIOS = {"null": (Effects(contacts_rr=1.0), Crisis()), "effect": (Effects(), Crisis()),
             "dip": (Effects(contacts_rr=1.0), Crisis(share=0.3, days=90, rate_ratio=3.0)),
             # emergency admissions too (--admissions): no effect on any admission (or_readmit 1) nor contact; the
             # crisis raises contacts and emergency admissions alike (3x over the 90 days before joining)
             "null_adm": (Effects(or_readmit=1.0, contacts_rr=1.0), Crisis()),
             "dip_adm": (Effects(or_readmit=1.0, contacts_rr=1.0), Crisis(share=0.3, days=90, rate_ratio=3.0,
                                                                          admissions_rr=3.0)),
             # a strong effect on the 30-day readmission of every participating discharge, by time-bank activity or
             # by peer visiting (one odds ratio for both), no effect on contacts: what keeping the enrolled dilutes
             "programme_adm": (Effects(or_readmit=0.4, contacts_rr=1.0), Crisis())}
ADMISSIONS = "emergency_admissions"
SETTINGS = ReadmissionSettings(services=SERVICES)
REPO = Path(__file__).resolve().parents[1]


def old_pool(commit: str):
    """``models/readmission/before_after.py`` of ``commit``, imported as a sibling of the current module."""
    text = subprocess.run(["git", "-C", str(REPO), "show", f"{commit}:models/readmission/before_after.py"],
                          check=True, capture_output=True, text=True).stdout
    path = Path(tempfile.mkdtemp()) / "before_after_old.py"
    path.write_text(text)
    spec = importlib.util.spec_from_file_location("models.readmission.before_after_old", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def expected_change(cal: Calendar, profile: str, rate: np.ndarray, rr: float, join: np.ndarray, last: np.ndarray,
                    index: np.ndarray, before: int, after: int, washout: int,
                    crisis: tuple[np.ndarray, np.ndarray, np.ndarray]) -> np.ndarray:
    """Expected change (after - before) per person-year at ``index`` of people with yearly ``rate`` of a service
    whose contact days follow the seasonal ``profile``, first joining on ``join`` (NEVER: never) and in the data
    until ``last``, with ``crisis`` = (first day, last day, extra yearly rate) of their crisis days, as the
    generator draws their contacts (see the module docstring); the before window ends ``washout`` days before
    ``index``."""
    cum = cal._cum[profile]

    def w(lo, hi):  # summed day weights of [lo, hi] within the data, 0 when empty
        lo, hi = np.clip(lo, cal.start, cal.end + 1), np.clip(hi, cal.start - 1, cal.end)
        return np.where(hi >= lo, cum[hi + 1 - cal.start] - cum[lo - cal.start], 0.0)

    segments = ((cal.start, np.minimum(join - 1, last), rate), (np.maximum(join, cal.start), last, rr * rate),
                crisis)

    def count(a, b):
        total = 0.0
        for lo, hi, r in segments:
            lo = np.broadcast_to(lo, a.shape)
            share = w(np.maximum(lo, a), np.minimum(hi, b)) / np.where(hi >= lo, w(lo, hi), 1.0)
            total = total + r * np.maximum(hi - lo + 1, 0) / 365.25 * share
        return total

    return (count(index, index + after - 1) - count(index - washout - before, index - washout - 1)) * 365.25 / after


def person_truth(con, cfg: Config, rr: float, s: ReadmissionSettings) -> dict[str, np.ndarray]:
    """For every person of the new pool's frame (rows of ``person_frame`` under settings ``s``): ``treated``, and per
    service their expected change as they (will) join minus as never-joiners, at their (pseudo) join date."""
    start, end = _window(con, s, dt.date.fromisoformat(cfg.end), "staging.service_contacts", ("contact_on",))
    events = "SELECT person_id, contact_on AS d, service AS label FROM staging.service_contacts"
    frame, per_service, counts = person_frame(con, s, start, end, events, SERVICES)
    ids = con.execute("SELECT person_id FROM staging.persons ORDER BY person_id").df()["person_id"]
    width = max(7, len(str(cfg.persons)))
    row_of = {hmac.new(KEY, f"P{g + 1:0{width}d}".encode(), hashlib.sha256).hexdigest(): g for g in range(cfg.persons)}
    gen = ids.map(row_of).to_numpy()  # rank - 1 -> generator row
    joins = con.execute(
        "SELECT person_id, min(joined_on) AS j FROM staging.timebank_members WHERE person_id IS NOT NULL "
        "AND list_contains($roles::VARCHAR[], role) GROUP BY person_id", {"roles": list(s.member_roles)}).df()
    first = ids.map(dict(zip(joins["person_id"], joins["j"]))).to_numpy(dtype="datetime64[D]").astype(np.int64)
    first = np.where(ids.isin(joins["person_id"]).to_numpy(), first, NEVER)
    # the new pool's draw, reproduced: one date per person in person_id order from the eligible joiners' dates
    treated = frame["treated"].to_numpy() == 1
    k = frame["person"].to_numpy() - 1
    joined = np.sort(first[k[treated]]).astype("datetime64[D]")
    draws = np.random.default_rng(s.seed).choice(joined, size=len(ids)).astype(np.int64)
    index = np.where(treated, first[k], draws[k])
    cal = Calendar(to_day(cfg.start), to_day(cfg.end))
    people = simulate_people(cfg.persons, cal.start, cal.end, stream(cfg.seed, "people"))
    g = gen[k]
    rates = _rates(people, g, cal.start, np.zeros(people.n, dtype=bool))  # service users' x6 is mental health's only
    last = np.minimum(people.death[g] - 1, cal.end)
    first_gen = np.full(cfg.persons, NEVER)
    first_gen[gen] = first  # every person's first join, in the generator's rows, for its crisis draw
    c_lo, c_hi = crisis_windows(first_gen, np.minimum(people.death - 1, cal.end), cal, cfg.crisis, cfg.seed)
    effect, factual, factual_nc = {}, {}, {}
    for v in SERVICES:
        rate, profile, r = rates[:, GEN_SERVICES.index(v)], AFFECTED.get(v, "flat"), rr if v in AFFECTED else 1.0
        boost = cfg.crisis.rate_ratio - 1 if cfg.crisis.on and GEN_SERVICES.index(v) in IN_CRISIS else 0.0
        args = (s.before_days, s.after_days, s.washout_days, (c_lo[g], c_hi[g], boost * rate))
        factual[v] = expected_change(cal, profile, rate, r, first[k], last, index, *args)
        effect[v] = factual[v] - expected_change(cal, profile, rate, r, np.full(len(k), NEVER), last, index, *args)
        # the same, with no crisis for the comparison rows (item: where the washout's residual comes from)
        no_crisis = (c_lo[g], np.where(treated, c_hi[g], c_lo[g] - 1), boost * rate)
        factual_nc[v] = expected_change(cal, profile, rate, r, first[k], last, index, *args[:3], no_crisis)
    # comparison rows whose own crisis days (before they join, later) overlap their after window
    crisis_in_after = (~treated) & (c_hi[g] >= c_lo[g]) & (c_hi[g] >= index) & (c_lo[g] <= index + s.after_days - 1)
    in_after = (~treated) & (first[k] <= index + s.after_days - 1)
    assert int(in_after.sum()) == counts["comparison_joined_in_after"], "the reproduced draw disagrees"
    alive = last >= index + s.after_days - 1  # in the data through the after window (most deaths are not)
    return {"treated": treated, "weight": matched_weights(frame, s), "effect": effect, "factual": factual,
            "factual_nc": factual_nc, "alive": alive, "crisis_in_after": crisis_in_after, "frame": frame,
            "per_service": per_service, "index": index, "first": first[k], "gen_row": g}


def admissions_truth(con, cfg: Config, s: ReadmissionSettings) -> float:
    """The truth of ``admissions_before_after`` under settings ``s``: the mean over its matched participants of the
    first-order effect of joining on their emergency admissions per person-year, the sum of p1 - p0 over their
    index discharges (truth/readmission_discharges) that the generator counts as participating, discharged in
    [J, J + after - 1]. 0 when or_readmit is 1 (p1 = p0: joining changes no admission). Knock-on stays of a
    prevented readmission are ignored."""
    if cfg.effects.or_readmit == 1.0:
        return 0.0
    treated, w, effect = admissions_first_order(con, cfg, s, lead=0)
    return float(np.average(effect[treated], weights=w[treated]))


def admissions_first_order(con, cfg: Config, s: ReadmissionSettings, lead: int) -> tuple[np.ndarray, ...]:
    """For every row of ``admissions_before_after``'s frame under settings ``s`` (participants at J, comparison
    persons at their pseudo date, the draw reproduced): ``treated``, the row's weight in the matched sample, and the
    first-order effect on its emergency admissions per person-year: the sum of p1 - p0 over the person's index
    discharges that the generator counts as participating (time-bank activity in the 90 days before, or peer
    visiting), discharged in [J - lead, J + after - 1] (``lead`` 29: every discharge whose 30-day window reaches the
    after window)."""
    start, end = _window(con, s, dt.date.fromisoformat(cfg.end), "staging.hospital_spells",
                         ("admitted_on", "discharged_on"))
    events = (f"SELECT person_id, admitted_on AS d, '{ADMISSIONS}' AS label FROM {chains(con, s)} "
              "WHERE admission_method = 'emergency'")
    frame, _, _ = person_frame(con, s, start, end, events, (ADMISSIONS,))
    w = matched_weights(frame, s)
    ids = con.execute("SELECT person_id FROM staging.persons ORDER BY person_id").df()["person_id"]
    width = max(7, len(str(cfg.persons)))
    row_of = {hmac.new(KEY, f"P{g + 1:0{width}d}".encode(), hashlib.sha256).hexdigest(): g for g in range(cfg.persons)}
    gen = ids.map(row_of).to_numpy()
    joins = con.execute(
        "SELECT person_id, min(joined_on) AS j FROM staging.timebank_members WHERE person_id IS NOT NULL "
        "AND list_contains($roles::VARCHAR[], role) GROUP BY person_id", {"roles": list(s.member_roles)}).df()
    first = ids.map(dict(zip(joins["person_id"], joins["j"]))).to_numpy(dtype="datetime64[D]").astype(np.int64)
    treated = frame["treated"].to_numpy() == 1
    k = frame["person"].to_numpy() - 1
    # person_frame's draw, reproduced: one date per person in person_id order from the eligible participants' dates
    draws = np.random.default_rng(s.seed).choice(np.sort(first[k[treated]]), size=len(ids))
    index = np.where(treated, first[k], draws[k])
    d = pd.read_csv(Path(cfg.out) / "truth" / "readmission_discharges.csv",
                    usecols=["person_id", "discharged_on", "participant", "p0", "p1"])
    d = d[d["participant"].astype(str).str.lower() == "true"]
    effect_by_gen: dict[int, list] = {}
    day = pd.to_datetime(d["discharged_on"]).to_numpy().astype("datetime64[D]").astype(np.int64)
    for pid_, di, e in zip(d["person_id"], day, (d["p1"] - d["p0"]).to_numpy()):
        effect_by_gen.setdefault(int(pid_[1:]) - 1, []).append((di, e))
    eff = np.zeros(k.size)
    for i, (gi, j) in enumerate(zip(gen[k], index)):
        eff[i] = sum(e for di, e in effect_by_gen.get(int(gi), ()) if j - lead <= di <= j + s.after_days - 1)
    return treated, w, eff * YEAR / s.after_days


def oracle_rows(who: dict, s: ReadmissionSettings) -> list:
    """The new pool's rows re-estimated without the comparison rows whose own crisis overlaps their after window
    (an experiment that looks at the generator: no design can see a crisis that has not happened yet)."""
    keep = ~who["crisis_in_after"]
    frame = who["frame"][keep].reset_index(drop=True)
    counts = {v: c[keep].reset_index(drop=True) for v, c in who["per_service"].items()}
    return did_rows(frame, s, "service", counts)


def matched_weights(frame: pd.DataFrame, s: ReadmissionSettings) -> np.ndarray:
    """Each frame row's weight in the new pool's matched sample (0 if not in it): ``did_rows``'s call of
    :func:`models.comparison.match`, whose draw is deterministic."""
    md = match(frame, "treated", list(s.before_after_covariates), method=s.method, caliper=s.caliper, ratio=s.ratio,
               replace=s.replace, exact=list(s.exact) or None, seed=s.seed, cluster="person").matched_data
    return np.bincount(md["_row"].to_numpy(), weights=md["_weight"].to_numpy(), minlength=len(frame))


def _row(scenario, seed, pool, r, counts, **extra) -> dict:
    return {"scenario": scenario, "seed": seed, "service": r["service"] if "service" in r else r["outcome"],
            "pool": pool, "status": r["status"], "estimate": r["did"], "ci_low": r["ci_low"], "ci_high": r["ci_high"],
            "pretrend_did": r.get("pretrend_did", np.nan), "pretrend_ci_low": r.get("pretrend_ci_low", np.nan),
            "pretrend_ci_high": r.get("pretrend_ci_high", np.nan), "n_participants": r["n_participants"],
            "n_matched": r["n_matched"], "n_comparison": r["n_comparison"],
            "comparison_joined_in_after": counts.get("comparison_joined_in_after", 0),
            "persons_in_both_groups": counts.get("persons_in_both_groups", 0), **extra}


def replicate(scenario: str, seed: int, persons: int, pools: dict, admissions: bool = False,
              oracle: bool = False) -> list[dict]:
    """One replication: ``pools`` maps a name to (module, settings); the truth is per settings of the new pool.
    ``admissions``: also ``admissions_before_after`` of each new pool (service "emergency_admissions");
    ``oracle``: also each new pool re-estimated without the comparison rows whose crisis overlaps their after
    window (pool "<name>_oracle")."""
    effects, crisis = SCENARIOS[scenario]
    with ingested(persons, seed, effects, SOURCES, KEY, crisis) as (con, _, as_of, cfg):
        truth_by_washout: dict[int, dict] = {}
        rows = []
        for pool, (module, settings) in pools.items():
            if settings.washout_days not in truth_by_washout:
                truth_by_washout[settings.washout_days] = person_truth(con, cfg, effects.contacts_rr, settings)
            who = truth_by_washout[settings.washout_days]
            frame, counts = module.service_use_change(con, settings, as_of=as_of)
            new = module is new_pool
            t, w, a = who["treated"], who["weight"], who["alive"]
            for r in frame.to_dict("records"):
                eff, fact, fnc = who["effect"][r["service"]], who["factual"][r["service"]], who["factual_nc"][r["service"]]
                truth = np.average(eff[t], weights=w[t])  # the matched participants (weight 1 each)
                dilution = np.average(eff[~t], weights=w[~t]) if new else 0.0
                expected = np.average(fact[t], weights=w[t]) - np.average(fact[~t], weights=w[~t])
                alive = np.average(fact[t & a], weights=w[t & a]) - np.average(fact[~t & a], weights=w[~t & a])
                no_comp_crisis = np.average(fact[t], weights=w[t]) - np.average(fnc[~t], weights=w[~t])
                rows.append(_row(scenario, seed, pool, r, counts, truth=truth, dilution=dilution,
                                 itt_target=truth - dilution, expected_did=expected if new else np.nan,
                                 expected_did_alive=alive if new else np.nan,
                                 expected_did_no_comparison_crisis=no_comp_crisis if new else np.nan,
                                 matched_comparison_crisis_in_after=np.average(who["crisis_in_after"][~t], weights=w[~t]),
                                 dead_comparison_share=np.average(~a[~t], weights=w[~t]) if new else np.nan))
            if new and oracle:
                for r in oracle_rows(who, settings):
                    eff = who["effect"][r["service"]]
                    truth = np.average(eff[t], weights=w[t])
                    rows.append(_row(scenario, seed, pool + "_oracle", r, counts, truth=truth, dilution=np.nan,
                                     itt_target=np.nan))
            if new and admissions:
                adm, adm_counts = module.admissions_before_after(con, settings, as_of=as_of)
                truth = admissions_truth(con, cfg, settings)
                for r in adm.to_dict("records"):
                    rows.append(_row(scenario, seed, pool, {**r, "service": ADMISSIONS}, adm_counts, truth=truth,
                                     dilution=np.nan, itt_target=np.nan))
    return rows


def summarise(df: pd.DataFrame) -> pd.DataFrame:
    ok = df[df["status"] == "estimated"]
    out = []
    for (scenario, service, pool), g in ok.groupby(["scenario", "service", "pool"], sort=False):
        est, lo, hi = g["estimate"], g["ci_low"], g["ci_high"]
        out.append({
            "scenario": scenario, "service": service, "pool": pool, "reps": len(g),
            "mean_truth": g["truth"].mean(), "mean_estimate": est.mean(), "bias": (est - g["truth"]).mean(),
            "empirical_se": est.std(ddof=1) if len(g) > 1 else np.nan, "mean_ci_width": (hi - lo).mean(),
            "coverage_pct": 100 * ((lo <= g["truth"]) & (g["truth"] <= hi)).mean(),
            "significant_pct": 100 * ((hi < 0) | (lo > 0)).mean(),
            "bias_mcse": (est - g["truth"]).std(ddof=1) / np.sqrt(len(g)) if len(g) > 1 else np.nan,
            "mean_dilution": g["dilution"].mean(), "mean_expected_did": g["expected_did"].mean(),
            "mean_expected_did_alive": g["expected_did_alive"].mean(),
            "mean_expected_did_no_comparison_crisis": g.get("expected_did_no_comparison_crisis", pd.Series(np.nan)).mean(),
            "matched_comparison_crisis_in_after_pct": 100 * g.get("matched_comparison_crisis_in_after",
                                                                   pd.Series(np.nan)).mean(),
            "dead_comparison_pct": 100 * g["dead_comparison_share"].mean(),
            "coverage_itt_pct": 100 * ((lo <= g["itt_target"]) & (g["itt_target"] <= hi)).mean(),
            "mean_n_participants": g["n_participants"].mean(), "share_matched": (g["n_matched"] / g["n_participants"]).mean(),
            "mean_n_comparison": g["n_comparison"].mean(),
            "mean_joined_in_after": g["comparison_joined_in_after"].mean() if pool != "old" else np.nan,
            "mean_pretrend_did": g["pretrend_did"].mean(),
            "pretrend_failed_pct": 100 * ((g["pretrend_ci_high"] < 0) | (g["pretrend_ci_low"] > 0)).mean()
            if g["pretrend_did"].notna().any() else np.nan,
            "failures": int(((df["status"] != "estimated") & (df["scenario"] == scenario) & (df["service"] == service)
                             & (df["pool"] == pool)).sum()),
        })
    return pd.DataFrame(out)


def markdown(summary: pd.DataFrame) -> str:
    return tables.markdown(summary, one=("mean_joined_in_after",))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.validate_before_after", description=__doc__.splitlines()[0])
    ap.add_argument("--persons", type=int, default=20000)
    ap.add_argument("--reps", type=int, default=10)
    ap.add_argument("--first-seed", type=int, default=5000)
    ap.add_argument("--old-commit", default="dfc97d7", help="commit whose before_after.py is the old pool ('': none)")
    ap.add_argument("--scenarios", nargs="+", choices=tuple(SCENARIOS), default=["null", "effect"])
    ap.add_argument("--washout", type=int, nargs="*", default=[],
                    help="also run the new pool with these washout_days (pool new_w<k>)")
    ap.add_argument("--max-minutes", type=float, default=None, help="stop starting new replications after this")
    ap.add_argument("--admissions", action="store_true", help="also marts.readmission_before_after (new pools)")
    ap.add_argument("--oracle", action="store_true",
                    help="also the new pools without comparison rows whose crisis overlaps their after window")
    ap.add_argument("--out", type=Path, default=Path("build/validate_before_after.csv"))
    a = ap.parse_args(argv)
    a.out.parent.mkdir(parents=True, exist_ok=True)
    pools = {**({"old": (old_pool(a.old_commit), SETTINGS)} if a.old_commit else {}), "new": (new_pool, SETTINGS),
             **{f"new_w{k}": (new_pool, SETTINGS.model_copy(update={"washout_days": k})) for k in a.washout}}
    t0 = time.perf_counter()
    rows: list[dict] = []
    done = 0
    for r in replications(a.reps, a.max_minutes):
        for scenario in a.scenarios:
            rows += replicate(scenario, a.first_seed + r, a.persons, pools, a.admissions, a.oracle)
        done += 1
        pd.DataFrame(rows).to_csv(a.out, index=False)
        print(f"replication {done} done at {time.perf_counter() - t0:.0f}s", flush=True)
    summary = summarise(pd.DataFrame(rows))
    summary.to_csv(a.out.with_name(a.out.stem + "_summary.csv"), index=False)
    print(f"\n{done} replications per scenario ({a.persons} persons, seeds {a.first_seed}-{a.first_seed + done - 1}), "
          f"{time.perf_counter() - t0:.0f} s, {dt.date.today()}, Python {platform.python_version()}\n")
    print(markdown(summary))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
