"""``earlier_index_events``: each unit's count of the person's earlier final index events, banded 0, 1, 2, 3 or more
(docs/methods.md, "Amendment: earlier index events as a covariate"), checked by hand.

The six people of test_reoffending_designs (one index event each, 2023-01-10) and P7 and P8 with three each
(2023-01-10, 2023-07-10, 2024-01-10; P7 referred to X at the second), plus, where a test says so, P9 with five
(a quarter apart, from 2022-04-10, so interleaved with P7's and P8's):

    person  index dates                                  earlier_index_events
    P1-P6   2023-01-10                                   0
    P7, P8  2023-01-10, 2023-07-10, 2024-01-10           0, 1, 2
    P9      2022-04-10, 2022-07-10, ..., 2023-04-10       0, 1, 2, 3 or more, 3 or more
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from models.reoffending import ReoffendingSettings, compare_reoffending, read_cohort
from models.reoffending.cohort import EARLIER, EARLIER_BANDS, analysis_cohort, build_justice_cohort
from models.reoffending.prepare import ANY, MEASURED_AT_INDEX, analysis_frame, design_rows
from tests.models.test_reoffending_cohort import justice_warehouse, pid  # noqa: F401 (the fixture)
from tests.models.test_reoffending_designs import several_events

COVARIATES = ("age", "proven_offences_to_index", EARLIER)


def with_p9(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` and P9's five index events, a quarter apart from 2022-04-10, none with a programme."""
    base = frame[frame["person_id"] == "P5"].iloc[0].to_dict()
    dates = pd.date_range("2022-04-10", periods=5, freq=pd.DateOffset(months=3))
    rows = [{**base, "person_id": "P9", "index_date": d, "period_start": d.to_period("Q").start_time, "age": 50.0 + i}
            for i, d in enumerate(dates)]
    return pd.concat([frame, pd.DataFrame(rows)], ignore_index=True)


def bands(df: pd.DataFrame, person: str) -> list[str]:
    return df.loc[df["person_id"] == person, EARLIER].astype(str).tolist()


def test_each_unit_counts_the_persons_earlier_final_index_events():
    df = analysis_frame(with_p9(several_events()), ReoffendingSettings(covariates=COVARIATES))
    assert bands(df, "P7") == bands(df, "P8") == ["0", "1", "2"]
    assert bands(df, "P9") == ["0", "1", "2", "3 or more", "3 or more"]
    assert all(bands(df, p) == ["0"] for p in ("P1", "P2", "P3", "P4", "P5", "P6"))
    assert list(df[EARLIER].cat.categories) == list(EARLIER_BANDS)  # reference level "0" first
    # the frame is in (index date, person) order: P9's third event (2022-10-10) comes before P7's first
    assert df["index_date"].is_monotonic_increasing


def test_a_provisional_event_is_not_counted_and_the_first_rule_gives_zero():
    frame = several_events()
    late = frame["index_date"] == pd.Timestamp("2024-01-10")
    frame.loc[late & (frame["person_id"] == "P8"), "is_final"] = False  # P8's third event is not final yet
    df = analysis_cohort(frame, "all")
    assert bands(df, "P8") == ["0", "1"] and bands(df, "P7") == ["0", "1", "2"]
    first = analysis_cohort(frame, "first")
    assert (first[EARLIER].astype(str) == "0").all() and len(first) == 8
    assert EARLIER in analysis_cohort(frame.iloc[0:0], "all").columns  # an empty cohort has the column too


def test_design_rows_carry_each_units_own_band():
    """Programme X: P7's first event is a comparison unit (band 0) in trials 0 and 10, its second is a comparison unit
    on day 0 and treated on day 10 (band 1), its third is left out; P8's first two events are comparison units with
    bands 0 and 1."""
    s = ReoffendingSettings(covariates=COVARIATES)
    rows, cov = design_rows(analysis_frame(several_events(), s), "X", s)
    assert EARLIER in cov.used
    got = {(r.person_id, r.age, r.trial_day): (r.treated, str(getattr(r, EARLIER)))
           for r in rows.itertuples() if r.person_id in ("P7", "P8")}
    assert {k: v for k, v in got.items() if k[0] == "P7"} == {
        ("P7", 30.0, 0): (0, "0"), ("P7", 30.0, 10): (0, "0"), ("P7", 30.5, 0): (0, "1"), ("P7", 30.5, 10): (1, "1")}
    assert {v[1] for k, v in got.items() if k[0] == "P8" and k[1] == 40.0} == {"0"}
    assert {v[1] for k, v in got.items() if k[0] == "P8" and k[1] == 40.5} == {"1"}


def test_under_the_first_rule_it_is_left_out_with_a_note():
    s = ReoffendingSettings(covariates=COVARIATES, index_events="first")
    _, cov = design_rows(analysis_frame(several_events(), s), "X", s)
    assert EARLIER not in cov.used
    assert f"covariate {EARLIER!r} takes one value only among the people analysed; left out" in cov.notes


def test_it_is_a_default_covariate_that_preflight_accepts():
    assert EARLIER in ReoffendingSettings().covariates
    assert EARLIER in MEASURED_AT_INDEX  # pipelines/preflight.py reads the names it accepts from here


def test_counted_from_the_duckdb_cohort(justice_warehouse):  # noqa: F811 (the fixture)
    """P06 (test_reoffending_cohort) has index events in 2023-Q1 and 2023-Q3; once both are final their bands are
    0 and 1; every one-event person's is 0. Before Q3 is final, P06 has one final unit, band 0."""
    settings = ReoffendingSettings()
    late = dt.date(2023, 9, 30) + dt.timedelta(days=365 + 183)
    build_justice_cohort(justice_warehouse, settings, as_of=late, run_id="r")
    df = analysis_cohort(read_cohort(justice_warehouse), "all")
    p06 = df[df["person_id"] == pid("P06")]
    assert p06["cohort_period"].tolist() == ["2023-Q1", "2023-Q3"] and bands(df, pid("P06")) == ["0", "1"]
    assert (df.loc[df["person_id"] != pid("P06"), EARLIER].astype(str) == "0").all()
    build_justice_cohort(justice_warehouse, settings, as_of=late - dt.timedelta(days=1), run_id="r")
    assert bands(analysis_cohort(read_cohort(justice_warehouse), "all"), pid("P06")) == ["0"]


def repeat_contacts(n: int = 900, seed: int = 3) -> pd.DataFrame:
    """People with one to four final index events a quarter apart; participation (started by the index date) is
    likelier at a repeat event, as is reoffending (the confounding the covariate is for)."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        for k in range(rng.integers(1, 5)):
            date = pd.Timestamp("2022-01-10") + pd.DateOffset(months=3 * k)
            part = rng.random() < (0.08 if k == 0 else 0.3)
            reo = rng.random() < 0.25 + 0.1 * min(k, 3)
            day = int(rng.integers(1, 366)) if reo else None
            rows.append({"person_id": f"q{i:04d}", "cohort_period": f"{date.year}-Q{date.quarter}",
                         "period_start": date.to_period("Q").start_time, "index_date": date, "is_final": True,
                         "participant": part, "programmes": ["TB"] if part else [],
                         "programme_start_days": [0] if part else [], "reoffended": reo, "reoffences": int(reo),
                         "reoffence_days": [day] if reo else [], "days_to_first_reoffence": day if reo else pd.NA,
                         "age": float(rng.uniform(18, 60)), "sex": str(rng.choice(["female", "male"])),
                         "proven_offences_to_index": k + int(rng.integers(0, 3)), "event_type": "caution"})
            if part:
                break  # the later events of a participant are not analysed anyway
    return pd.DataFrame(rows)


def test_the_bands_are_in_the_balance_table_and_the_cox_terms():
    s = ReoffendingSettings(covariates=COVARIATES, min_matched=1)
    comp = compare_reoffending(repeat_contacts(), s, cox=True)
    balance = comp.results[ANY]["binary"].balance
    levels = [c for c in balance["covariate"].astype(str) if c.startswith(EARLIER)]
    assert len(levels) == 3 and all("3 or more" in c or c.endswith(("[1]", "[2]")) for c in levels), levels
    assert np.isfinite(balance.loc[balance["covariate"].isin(levels), "smd_after"]).all()
    row = comp.effects[(comp.effects.programme == ANY) & (comp.effects.measure == "binary_rate")].iloc[0]
    assert EARLIER in row.covariates and "earlier index events" in row.design_sentence
    terms = comp.cox.loc[comp.cox.programme == ANY, "term"].astype(str)
    assert terms.str.startswith(EARLIER).sum() == 3


@pytest.mark.parametrize("count, band", [(0, "0"), (2, "2"), (3, "3 or more"), (7, "3 or more")])
def test_band_edges(count, band):
    from models.reoffending.cohort import earlier_index_events

    person = pd.Series(["a"] * (count + 1))
    assert str(earlier_index_events(person)[-1]) == band
