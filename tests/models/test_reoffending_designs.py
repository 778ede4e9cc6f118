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


def several_events() -> pd.DataFrame:
    """P1-P6 above (index date 2023-01-10), and two people with three final index events each:

        person  index date   age  history  programmes (start day)   reoffences on days
        P7      2023-01-10   30   2        -                        20
        P7      2023-07-10   30.5 3        X (10)                   200
        P7      2024-01-10   31   4        X (0, still a member)    -
        P8      2023-01-10   40   1        -                        -
        P8      2023-07-10   40.5 1        -                        -
        P8      2024-01-10   41   1        Y (0)                    -

    P7 is referred at their second index event: the earlier rule (each person's first event) analysed them as a
    comparison person at the first, with its day-20 reoffence."""
    base = cohort().assign(proven_offences_to_index=1)
    rows = []
    for person, date, age, history, programmes, starts, days in (
            ("P7", "2023-01-10", 30.0, 2, [], [], [20]), ("P7", "2023-07-10", 30.5, 3, ["X"], [10], [200]),
            ("P7", "2024-01-10", 31.0, 4, ["X"], [0], []), ("P8", "2023-01-10", 40.0, 1, [], [], []),
            ("P8", "2023-07-10", 40.5, 1, [], [], []), ("P8", "2024-01-10", 41.0, 1, ["Y"], [0], [])):
        rows.append({**base.iloc[0].to_dict(), "person_id": person, "index_date": pd.Timestamp(date),
                     "period_start": pd.Timestamp(date).to_period("Q").start_time, "age": age,
                     "proven_offences_to_index": history, "participant": bool(programmes), "programmes": programmes,
                     "programme_start_days": starts, "reoffended": bool(days), "reoffences": len(days),
                     "reoffence_days": days, "days_to_first_reoffence": days[0] if days else pd.NA})
    return pd.concat([base, pd.DataFrame(rows)], ignore_index=True)


def event_table(rows: pd.DataFrame, frame: pd.DataFrame) -> dict:
    """(person, age at the unit's index event, trial day) -> (treated, reoffended, duration)."""
    return {(r.person_id, r.age, r.trial_day): (r.treated, r.reoffended, r.duration) for r in rows.itertuples()}


def test_every_index_event_is_a_unit_until_the_person_starts():
    s = ReoffendingSettings(covariates=("age", "proven_offences_to_index"))
    df = analysis_frame(several_events(), s)
    assert len(df) == 12 and list(df.columns).count("person_id") == 1
    got = event_table(programme_subset(df, "X", s), df)
    p7 = {k: v for k, v in got.items() if k[0] == "P7"}
    # P7: the first event is a comparison unit in trials 0 and 10 (its day-20 reoffence: at risk on day 10, not on
    # day 30; durations 20 and 20 - 10 + 1); the second event is a comparison unit on day 0 (not started yet) and
    # treated on day 10 (follow-up days 10..365: 200 - 10 + 1); the third is left out (started at the second)
    assert p7 == {("P7", 30.0, 0): (0, 1, 20.0), ("P7", 30.0, 10): (0, 1, 11.0),
                  ("P7", 30.5, 0): (0, 1, 200.0), ("P7", 30.5, 10): (1, 1, 191.0)}
    p8 = {k for k in got if k[0] == "P8"}
    # P8: its first two events are comparison units in each trial (days 0, 10, 30); its third is in programme Y from
    # day 0 (left out of X's comparison, as P6)
    assert p8 == {("P8", a, k) for a in (40.0, 40.5) for k in (0, 10, 30)}
    # any participation: P8 is treated at the third event, its first two are comparison units
    anyp = event_table(programme_subset(df, ANY, s), df)
    assert anyp[("P8", 41.0, 0)][0] == 1 and anyp[("P8", 40.0, 0)][0] == 0 and ("P7", 31.0, 0) not in anyp


def test_the_earlier_rule_keeps_each_persons_first_event():
    s = ReoffendingSettings(covariates=("age", "proven_offences_to_index"), index_events="first")
    df = analysis_frame(several_events(), s)
    assert len(df) == 8 and not df["person_id"].duplicated().any()
    got = event_table(programme_subset(df, "X", s), df)
    # P7 is only a comparison person, at the first event (with its day-20 reoffence); never a participant
    assert {k: v for k, v in got.items() if k[0] == "P7"} == {("P7", 30.0, 0): (0, 1, 20.0)}
    with pytest.raises(ValueError, match="index_events"):
        ReoffendingSettings(index_events="latest")


def test_cox_and_matching_read_each_units_covariates():
    """A person's covariates differ between their index events: the Cox design spreads each trial row's own unit's row
    (keyed on the person it would give P7's first-event age to the second event's rows) and the matched rows carry
    each event's age; intervals cluster on the person."""
    from models.reoffending.cox import cox_design
    from models.reoffending.prepare import design_rows

    s = ReoffendingSettings(covariates=("age", "proven_offences_to_index"))
    sub, cov = design_rows(analysis_frame(several_events(), s), ANY, s)
    assert sub.groupby("person_id", observed=True)["unit"].nunique()[["P7", "P8"]].tolist() == [2, 3]
    spread, _ = cox_design(sub, cov.used, [])
    got = spread.to_frame()
    assert len(spread.base) == sub["unit"].nunique()
    np.testing.assert_array_equal(got["age"].to_numpy(), sub["age"].to_numpy())
    np.testing.assert_array_equal(got["proven_offences_to_index"].to_numpy(), sub["proven_offences_to_index"].to_numpy())


def test_the_sentences_say_the_rates_are_not_the_moj_bulletins():
    from models.reoffending.prepare import design_sentence, follow_up_sentence

    s = ReoffendingSettings()
    assert design_sentence(s, ["age"]) == (
        "Follow-up starts on the day each participant started (the index date if they started before it) and runs to "
        "day 365 after the index date, so the rates are not the MoJ bulletin's (a year from the index event); each is "
        "compared with people at an index event as long ago (a participant's own earlier index events included) who "
        "had not reoffended or started by that day, matched on age.")
    first = design_sentence(s.model_copy(update={"index_events": "first"}), ["age"])
    assert first.endswith("Only each person's first final index event is analysed (the earlier rule): people referred "
                          "at a later index event count as comparison people at their first.")
    assert follow_up_sentence(s.model_copy(update={"design": "landmark"})) == (
        "Follow-up runs from day 90 to day 365 after the index date, among matched groups, so these are not MoJ "
        "bulletin proven reoffending rates.")
    assert "from the day after the index date to day 365" in follow_up_sentence(
        s.model_copy(update={"design": "exposure_window"}))


def test_risk_set_rows_carry_their_route_and_landmark_rows_none():
    rows = design("X")
    assert (rows["route"] == "day 0").tolist() == (rows["trial_day"] == 0).tolist()
    assert list(rows["route"].cat.categories) == ["day 0", "days 1+"]
    assert "route" not in design("X", design="landmark", landmark_day=45)



def test_the_risk_set_comparison_checks_balance_within_each_route():
    """The engine's within-group balance (its own test: tests/models/test_comparison_score_groups.py) is asked for
    on the routes under risk_set; landmark and the old window have one trial day, so no route."""
    for design, groups in (("risk_set", "route"), ("landmark", None)):
        settings = SETTINGS.model_copy(update={"design": design, "landmark_day": 45 if design == "landmark" else None})
        comp = compare_reoffending(make_cohort(n=600, seed=5), settings)
        assert comp.results[ANY]["binary"].settings["balance_groups"] == groups
