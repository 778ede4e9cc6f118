"""Emergency admissions before/after under no effect: does leaving out comparison persons enrolled in a programme
by J (peer visiting follows an admission) bias the difference-in-differences? Paired by seed: the default pool
against ``comparison_excludes_programmes=False``, each with washout 90 (default) and 0.

    PYTHONPATH=. .venv/bin/python -m bench.before_after_enrolled null_adm 7000 7040

Writes build/excl_<scenario>_<first seed>.csv after every seed (docs/validation.md, "Emergency admissions under a
crisis: results").
"""

import sys

import pandas as pd

from bench.synthetic import ingested
from bench.validate_before_after import KEY, SCENARIOS, SETTINGS, SOURCES
from models.readmission import before_after as ba


def main(argv=None) -> int:
    sc, first, last = (argv or sys.argv[1:])[:3]
    seeds = range(int(first), int(last))
    pools = {"default": SETTINGS, "keep_enrolled": SETTINGS.model_copy(update={"comparison_excludes_programmes": False}),
             "default_w0": SETTINGS.model_copy(update={"washout_days": 0}),
             "keep_enrolled_w0": SETTINGS.model_copy(update={"washout_days": 0, "comparison_excludes_programmes": False})}
    rows = []
    for seed in seeds:
        fx, cr = SCENARIOS[sc]
        with ingested(20000, seed, fx, SOURCES, KEY, cr) as (con, _, as_of, cfg):
            for name, s in pools.items():
                r = ba.admissions_before_after(con, s, as_of=as_of)[0].iloc[0]
                rows.append({"seed": seed, "pool": name, "did": r.did, "lo": r.ci_low, "hi": r.ci_high,
                             "pb": r.participant_before, "pa": r.participant_after, "cb": r.comparison_before,
                             "ca": r.comparison_after, "ncomp": r.n_comparison, "pt": r.pretrend_did,
                             "ptlo": r.pretrend_ci_low, "pthi": r.pretrend_ci_high})
        pd.DataFrame(rows).to_csv(f"build/excl_{sc}_{seeds.start}.csv", index=False)
        print(seed, flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
