"""Write a seeded synthetic input folder with known effects and a truth file.

    python -m data.generate --persons 2000 --seed 7 --out data/sample [--format csv|parquet]
        [--start 2022-01-01 --end 2025-12-31] [--or-readmit 0.7 --or-reoffend 0.75
        --star-given 0.3 --star-received 0.1 --contacts-rr 0.85] [--bad-rows 0.01]
        [--crisis-share 0.3 --crisis-days 90 --crisis-rr 3 [--crisis-admissions-rr 3]] [--case-mix 1] [--diagnoses]

``--crisis-share`` switches on the crisis-before-joining scenario (an Ashenfelter dip; data/synthetic/truth.py,
``Crisis``); at its default 0 the files are those of the generator without it, byte for byte. ``--case-mix``
likewise switches on selection on case mix (peer visiting and time-bank members' stays differ in admission method,
length of stay and specialty, which also predict readmission; ``CaseMix``), off at 0. ``--diagnoses`` gives the
hospital spells a primary diagnosis (ICD-10, data/synthetic/diagnoses.py) from a stream of its own: every other
column and file is as without it, byte for byte; with ``--case-mix`` its chapter also confounds (readmission and the
peer-visiting offer depend on it).

``--bad-rows`` appends that share of realistic bad rows to each CSV source (data/synthetic/mess.py),
so the ingest's quarantine has something to catch; the demo uses 1%.

The simulation lives in data/synthetic/; its effects and definitions in data/synthetic/truth.py.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import replace
from pathlib import Path

from data.synthetic import CaseMix, Config, Crisis, Effects, generate
from data.synthetic.mess import spoil
from data.synthetic.truth import LATER_EVENTS_ON


def main(argv: list[str] | None = None) -> int:
    d = Effects()
    ap = argparse.ArgumentParser(prog="python -m data.generate", description=__doc__.splitlines()[0])
    ap.add_argument("--persons", type=int, required=True, help="number of people in the linked population")
    ap.add_argument("--seed", type=int, required=True)
    ap.add_argument("--out", type=Path, required=True, help="output folder (created if missing)")
    ap.add_argument("--format", choices=("csv", "parquet"), default="csv")
    ap.add_argument("--start", default="2022-01-01", help="first day of the data window (YYYY-MM-DD)")
    ap.add_argument("--end", default="2025-12-31", help="last day of the data window (YYYY-MM-DD)")
    ap.add_argument("--or-readmit", type=float, default=d.or_readmit, help="odds ratio, 30-day readmission")
    ap.add_argument("--or-reoffend", type=float, default=d.or_reoffend, help="odds ratio, 1-year proven reoffending")
    ap.add_argument("--star-given", type=float, default=d.star_per_10h_given, help="Star points (1-10) per 10 h given")
    ap.add_argument("--star-received", type=float, default=d.star_per_10h_received, help="Star points (1-10) per 10 h received")
    ap.add_argument("--contacts-rr", type=float, default=d.contacts_rr, help="GP/A&E rate ratio after joining")
    c = Crisis()
    ap.add_argument("--crisis-share", type=float, default=c.share,
                    help="share of joiners in crisis just before joining (an Ashenfelter dip; 0 = off)")
    ap.add_argument("--crisis-days", type=int, default=c.days, help="days of crisis, ending the day before joining")
    ap.add_argument("--crisis-rr", type=float, default=c.rate_ratio,
                    help="service-use rate ratio in crisis (gp, ae, mental_health, social_care)")
    ap.add_argument("--crisis-admissions-rr", type=float, default=c.admissions_rr,
                    help="emergency-admission rate ratio in crisis (1 = admissions untouched)")
    ap.add_argument("--later-events", action="store_true",
                    help="justice programmes recruit at later index events, risk rising with each (truth.LaterEvents)")
    ap.add_argument("--case-mix", type=float, default=CaseMix().strength,
                    help="strength of selection on case mix (admission method, length of stay, specialty; 1 = as "
                         "documented, 0 = off)")
    ap.add_argument("--diagnoses", action="store_true",
                    help="hospital spells carry a primary diagnosis (ICD-10); with --case-mix its chapter confounds")
    ap.add_argument("--bad-rows", type=float, default=0.0,
                    help="share of bad rows to append to each source (CSV only; quarantined at ingest)")
    ap.add_argument("--quiet", action="store_true")
    a = ap.parse_args(argv)
    if a.persons < 1:
        ap.error("--persons must be at least 1")
    if not 0 <= a.bad_rows < 0.5 or (a.bad_rows and a.format != "csv"):
        ap.error("--bad-rows must be in [0, 0.5) and needs --format csv")
    fx = Effects(a.or_readmit, a.or_reoffend, a.star_given, a.star_received, a.contacts_rr)
    if not 0 <= a.crisis_share <= 1 or a.crisis_days < 0 or a.crisis_rr < 1 or a.crisis_admissions_rr < 1:
        ap.error("--crisis-share must be in [0, 1], --crisis-days >= 0, --crisis-rr and --crisis-admissions-rr >= 1")
    if a.case_mix < 0:
        ap.error("--case-mix must be 0 (off) or more")
    cfg = Config(a.persons, a.seed, a.out, a.format, a.start, a.end, fx,
                 crisis=Crisis(a.crisis_share, a.crisis_days, a.crisis_rr, a.crisis_admissions_rr),
                 case_mix=CaseMix(a.case_mix), diagnoses=a.diagnoses)
    if a.later_events:
        cfg = replace(cfg, later_events=LATER_EVENTS_ON)
    t0 = time.perf_counter()
    truth = generate(cfg)
    bad = spoil(a.out, a.bad_rows, a.seed) if a.bad_rows else {}
    if not a.quiet:
        for source, n in truth["realised"]["rows"].items():
            print(f"{source:26s} {n:>12,d}" + (f"  + {bad[source]} bad" if source in bad else ""))
        print(f"wrote {a.out} in {time.perf_counter() - t0:.1f}s (truth.json, truth/)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
