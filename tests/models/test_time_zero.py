"""Sequential trials, landmark and the old exposure window on a five-unit table checked by hand.

Units (days after the index event; NaN = none):

    unit  start  event  blocked   story
    A       0     NaN    NaN      time-bank member at discharge, never readmitted
    B      10       3    NaN      would have enrolled on day 10 but was readmitted on day 3
    C       5      20    NaN      enrolled on day 5, readmitted on day 20
    D     NaN       7    NaN      never enrolled, readmitted on day 7
    E     NaN     NaN      2      exposed by another route from day 2
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from models.time_zero import exposure_window, landmark, sequential_trials, trial_frame

UNITS = pd.DataFrame({
    "unit": list("ABCDE"),
    "start": [0, 10, 5, np.nan, np.nan],
    "event": [np.nan, 3, 20, 7, np.nan],
    "blocked": [np.nan, np.nan, np.nan, np.nan, 2],
})


def members(rows: pd.DataFrame, day: int) -> dict[str, int]:
    trial = rows[rows.trial_day == day]
    return dict(zip(trial.unit, trial.treated))


def test_sequential_trials_by_hand():
    rows = sequential_trials(UNITS, "start", "event", "blocked")
    # trials only on days someone at risk starts: 0 (A) and 5 (C); never 10 (B was readmitted first)
    assert sorted(rows.trial_day.unique()) == [0, 5]
    # day 0: A starts; B, C, D, E not yet started and not yet readmitted
    assert members(rows, 0) == {"A": 1, "B": 0, "C": 0, "D": 0, "E": 0}
    # day 5: C starts; B (readmitted day 3) is no longer at risk, A already started, E blocked since day 2;
    # D (readmitted day 7) is still at risk on day 5
    assert members(rows, 5) == {"C": 1, "D": 0}


def test_a_person_readmitted_before_their_start_is_never_a_participant():
    rows = sequential_trials(UNITS, "start", "event", "blocked")
    b = rows[rows.unit == "B"]
    # B is a comparison unit only while at risk (the day-0 trial, before its readmission on day 3)
    assert list(b.trial_day) == [0] and list(b.treated) == [0]


def test_an_event_on_the_start_day_counts_as_outcome_not_exclusion():
    units = pd.DataFrame({"unit": ["X", "Y"], "start": [4, np.nan], "event": [4, 4]})
    rows = sequential_trials(units, "start", "event")
    assert members(rows, 4) == {"X": 1, "Y": 0}


def test_other_route_before_own_start_excludes_but_the_same_day_does_not():
    units = pd.DataFrame({"unit": ["P", "Q", "R"], "start": [3, 3, np.nan], "event": [np.nan] * 3,
                          "blocked": [1, 3, np.nan]})
    rows = sequential_trials(units, "start", "event", "blocked")
    assert members(rows, 3) == {"Q": 1, "R": 0}


def test_landmark_by_hand():
    rows = landmark(UNITS, "start", "event", 6, "blocked")
    # at risk on day 6: A, C, D (B readmitted day 3); E blocked from day 2; started by day 6: A, C
    assert dict(zip(rows.unit, rows.treated)) == {"A": 1, "C": 1, "D": 0}
    assert (rows.trial_day == 6).all()


def test_old_exposure_window_counts_the_immortal_starter():
    rows = exposure_window(UNITS, "start", "event", "blocked")
    # the old definition makes B a participant although it was readmitted before it started
    assert dict(zip(rows.unit, rows.treated)) == {"A": 1, "B": 1, "C": 1, "D": 0}
    assert (rows.trial_day == 0).all()


def test_trial_frame_dispatches_and_rejects_unknown_designs():
    assert len(trial_frame(UNITS, "risk_set", "start", "event", landmark_day=6, blocked="blocked")) == 7
    with pytest.raises(ValueError, match="design must be one of"):
        trial_frame(UNITS, "naive", "start", "event", landmark_day=6)


def test_no_starter_gives_an_empty_typed_frame():
    rows = sequential_trials(UNITS.assign(start=np.nan), "start", "event")
    assert rows.empty and {"trial_day", "treated"} <= set(rows.columns)


def test_every_outcomes_design_sentence_writes_its_covariates_in_the_same_words():
    """The readmission and reoffending sentences read "matched on age, sex, imd decile" where the well-being one read
    "IMD decile": three copies of the covariates' words, two without it."""
    from models.readmission.clone_censor import design_sentence as clone_censor
    from models.readmission.effects import design_sentence as readmission
    from models.readmission.settings import ReadmissionSettings
    from models.reoffending.prepare import design_sentence as reoffending
    from models.reoffending.settings import ReoffendingSettings

    sentences = [readmission(ReadmissionSettings(), "any", ["age", "imd_decile", "prior_emergency_12m"]),
                 clone_censor(ReadmissionSettings(), ["age", "imd_decile", "prior_emergency_12m"]),
                 reoffending(ReoffendingSettings(), ["age", "imd_decile", "prior_convictions"])]
    assert all("age, IMD decile, " in s and "imd" not in s for s in sentences), sentences
    assert all("prior emergency admissions" in s for s in sentences[:2])
