"""Reoffending designs on six people checked by hand (days after the index date).

    person  programmes (start day)   reoffences on days   story
    P1      X (0)                    100, 200             in the prison project at release
    P2      X (30)                   10                   would have started on day 30, reoffended on day 10
    P3      X (30)                   50                   started on day 30, reoffended on day 50
    P4      -                        40
    P5      -                        -
    P6      Y (0)                    -                    in another programme from release
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from models.reoffending import ReoffendingSettings, compare_reoffending
from models.reoffending.prepare import ANY, analysis_frame, programme_subset
from tests.models.test_reoffending_cox import SETTINGS, make_cohort

PEOPLE = {
    "P1": (["X"], [0], [100, 200]),
    "P2": (["X"], [30], [10]),
    "P3": (["X"], [30], [50]),
    "P4": ([], [], [40]),
    "P5": ([], [], []),
    "P6": (["Y"], [0], []),
}


def cohort() -> pd.DataFrame:
    rows = []
    for person, (programmes, starts, days) in PEOPLE.items():
        rows.append({
            "person_id": person, "cohort_period": "2023-Q1", "period_start": pd.Timestamp("2023-01-01"),
            "index_date": pd.Timestamp("2023-01-10"), "is_final": True, "participant": bool(programmes),
            "programmes": programmes, "programme_start_days": starts, "reoffended": bool(days),
            "reoffences": len(days), "reoffence_days": days,
            "days_to_first_reoffence": days[0] if days else pd.NA, "age": 30.0, "sex": "male",
        })
    return pd.DataFrame(rows)


def design(programme: str, **settings) -> pd.DataFrame:
    s = ReoffendingSettings(**settings)
    return programme_subset(analysis_frame(cohort(), s), programme, s)


def table(rows: pd.DataFrame) -> dict:
    return {(r.person_id, r.trial_day): (r.treated, r.reoffended, r.reoffences, r.duration) for r in rows.itertuples()}


def test_risk_set_by_hand():
    got = table(design("X"))
    assert got == {
        # day 0: P1 started at release; comparison P2-P5 (P6 is in programme Y from day 0: left out)
        ("P1", 0): (1, 1, 2, 100.0), ("P2", 0): (0, 1, 1, 10.0), ("P3", 0): (0, 1, 1, 50.0),
        ("P4", 0): (0, 1, 1, 40.0), ("P5", 0): (0, 0, 0, 365.0),
        # day 30: P3 starts; P2 reoffended on day 10, before it would have started: never a participant;
        # follow-up and counts run from day 30 (duration 50 - 30 + 1, 365 - 30 + 1)
        ("P3", 30): (1, 1, 1, 21.0), ("P4", 30): (0, 1, 1, 11.0), ("P5", 30): (0, 0, 0, 336.0),
    }


def test_any_participation_takes_the_earliest_start():
    got = table(design(ANY))
    assert {k for k, v in got.items() if v[0] == 1} == {("P1", 0), ("P6", 0), ("P3", 30)}


def test_landmark_and_the_old_window():
    landmark = table(design("X", design="landmark", landmark_day=45))
    # at risk on day 45: P1 (day 100), P3 (day 50), P5; outcomes counted from day 45
    assert landmark == {("P1", 45): (1, 1, 2, 56.0), ("P3", 45): (1, 1, 1, 6.0), ("P5", 45): (0, 0, 0, 321.0)}
    old = table(design("X", design="exposure_window"))
    # the old definition counts P2 as a participant, with its day-10 reoffence in follow-up
    assert old[("P2", 0)] == (1, 1, 1, 10.0) and ("P6", 0) not in old


def test_effects_carry_the_design_columns():
    comp = compare_reoffending(make_cohort(n=600, seed=5), SETTINGS)
    row = comp.effects[comp.effects.programme == "any_participation"].iloc[0]
    assert row.design == "risk_set" and row.design_sentence.startswith("Follow-up starts on the day each participant")
    assert 0 < row.share_participants_matched <= 1
    assert row.share_participants_matched == pytest.approx(row.n_matched / row.n_participants)
    assert row.estimand in ("ATT", "effect on the matched participants")
    assert np.isfinite(row.ci_low) and np.isfinite(row.ci_high)


@pytest.mark.parametrize("design", ["risk_set", "landmark"])
def test_a_participation_window_reaching_past_the_follow_up_is_refused(design):
    """follow_up_days 60 with the default participation window of 90 days: a time zero past the follow-up left
    nothing to follow ('duration must be > 0' on every row, exit 0); refused with the keys named. Under risk_set a
    landmark_day does not change the trials, so it does not let the settings through either."""
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match=rf"design {design}: .*participation_window_days \(90\).*follow_up_days 60"):
        ReoffendingSettings(follow_up_days=60, design=design)
    assert ReoffendingSettings(follow_up_days=60, design=design, participation_window_days=30).follow_up_days == 60
    assert ReoffendingSettings(follow_up_days=60, design="exposure_window").follow_up_days == 60
    if design == "risk_set":
        with pytest.raises(ValidationError, match="landmark_day does not apply to risk_set"):
            ReoffendingSettings(follow_up_days=60, design=design, landmark_day=30)
        # the last trial on day 60 is followed for one day (duration follow_up_days - k + 1): allowed
        assert ReoffendingSettings(follow_up_days=60, design=design, participation_window_days=60).follow_up_days == 60
    else:
        assert ReoffendingSettings(follow_up_days=60, design=design, landmark_day=30).landmark == 30
