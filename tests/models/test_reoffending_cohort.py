"""core.justice_cohort from a hand-checkable input folder: one person per rule.

Every index event is 2023-01-10 (a Tuesday in 2023-Q1) unless a test says otherwise, so day 365
is 2024-01-10 and the proof deadline (365 + 183 days) is 2024-07-11.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from models.reoffending import ReoffendingSettings, build_justice_cohort, read_cohort
from models.reoffending.prepare import history_note, usable_covariates
from tests.conftest import AS_OF, KEY, ingest_all

SOURCES = ["persons", "justice_events", "offences", "programme_enrolments", "timebank_members"]
INDEX = dt.date(2023, 1, 10)


def day(n: int) -> str:
    return (INDEX + dt.timedelta(days=n)).isoformat()


DEADLINE = day(365 + 183)  # 2024-07-11

PERSONS = """person_id,birth_date,sex,area_code,imd_decile,prior_convictions,housing
P01,1990-01-10,male,E1,1,2,rented
P02,1985-06-30,female,E1,2,0,owned
P03,1970-03-01,male,E2,3,5,homeless
P04,2000-12-31,male,E2,4,1,rented
P05,1995-01-11,female,E1,5,0,rented
P06,1980-01-01,male,E2,6,3,owned
P07,1975-05-05,female,E1,7,1,rented
P08,1991-01-01,male,E1,8,0,owned
P09,1992-01-01,male,E2,9,0,owned
P10,1993-01-01,female,E2,10,2,rented
P11,1994-01-01,male,E1,1,4,homeless
P12,1996-01-01,female,E1,2,0,rented
P13,1997-01-01,male,E2,3,1,owned
"""

EVENTS = f"""person_id,event_type,event_date
P01,custody_release,{INDEX}
P02,custody_release,{INDEX}
P03,community_sentence,{INDEX}
P04,community_sentence,{INDEX}
P05,caution,{INDEX}
P06,caution,2023-02-15
P06,custody_release,2023-01-20
P06,community_sentence,2023-08-01
P07,caution,{INDEX}
P07,community_sentence,{INDEX}
P08,youth_court,{INDEX}
P09,youth_court,{INDEX}
P10,caution,{INDEX}
P11,caution,{INDEX}
P12,caution,{INDEX}
P13,caution,{INDEX}
"""

OFFENCES = f"""offence_id,person_id,offence_date,proven_on,offence_group,is_breach
O01,P01,{day(365)},2024-02-01,theft,false
O02,P02,{day(366)},2024-02-01,theft,false
O03,P02,{day(0)},2023-01-20,theft,false
O04,P03,2023-06-01,{DEADLINE},violence,false
O05,P04,2023-06-01,{day(365 + 184)},violence,false
O06,P05,2023-03-01,2023-03-10,other,true
O07,P05,2023-02-01,2023-02-20,theft,false
O08,P05,2023-05-01,2023-06-01,drugs,false
O09,P06,2023-02-01,2023-02-10,theft,false
O10,P03,2019-05-01,2019-08-01,theft,false
O11,P03,2022-10-01,{day(0)},violence,false
O12,P03,2022-01-01,2022-02-01,other,true
O13,P03,2022-12-01,{day(1)},drugs,false
"""

ENROLMENTS = f"""person_id,programme_id,started_on,ended_on
P08,youth_court_jury,{day(90)},
P09,youth_court_jury,{day(91)},
P10,prison_bike_repair,2022-06-01,{day(-1)}
P13,peer_visiting_after_discharge,{day(-10)},{day(20)}
"""

MEMBERS = """member_id,timebank_id,person_id,role,joined_on,left_on
M01,TB01,P11,community,2022-06-01,
M02,TB01,P12,staff,2022-06-01,
M03,TB01,,system,2022-01-01,
"""


def write_inputs(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in (("persons", PERSONS), ("justice_events", EVENTS), ("offences", OFFENCES),
                       ("programme_enrolments", ENROLMENTS), ("timebank_members", MEMBERS)):
        (folder / f"{name}.csv").write_text(text)
    return folder


def pid(raw: str) -> str:
    """The pseudonym ingest gives a raw identifier under the test key."""
    return hmac.new(KEY, raw.encode(), hashlib.sha256).hexdigest()


@pytest.fixture
def justice_warehouse(tmp_path):
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    reports = ingest_all(con, write_inputs(tmp_path / "in"), sources=SOURCES)
    assert all(r.rows_quarantined == 0 for r in reports.values()), {s: r.rules_broken for s, r in reports.items()}
    yield con
    con.close()


def cohort(con, settings=None, as_of=AS_OF):
    build_justice_cohort(con, settings or ReoffendingSettings(), as_of=as_of, run_id="run-1")
    df = read_cohort(con)
    df["who"] = df["person_id"].map({pid(f"P{i:02d}"): f"P{i:02d}" for i in range(1, 14)})
    return df


def row(df, who, period="2023-Q1"):
    got = df[(df["who"] == who) & (df["cohort_period"] == period)]
    assert len(got) == 1, (who, period, len(got))
    return got.iloc[0]


def test_pseudonyms_match_ingest(justice_warehouse):
    ids = {r[0] for r in justice_warehouse.execute("SELECT person_id FROM staging.persons").fetchall()}
    assert pid("P01") in ids


def test_day_365_counts_day_366_and_day_0_do_not(justice_warehouse):
    df = cohort(justice_warehouse)
    p1 = row(df, "P01")
    assert (p1.reoffended, p1.reoffences, p1.days_to_first_reoffence) == (True, 1, 365)
    assert p1.follow_up_end.date() == dt.date(2024, 1, 10)
    p2 = row(df, "P02")
    assert (p2.reoffended, p2.reoffences, p2.proven_after_waiting) == (False, 0, 0)


def test_proof_on_the_deadline_counts_a_day_later_does_not(justice_warehouse):
    df = cohort(justice_warehouse)
    p3, p4 = row(df, "P03"), row(df, "P04")
    assert p3.proof_deadline.date().isoformat() == DEADLINE == "2024-07-11"
    assert (p3.reoffended, p3.reoffences) == (True, 1)
    assert (p4.reoffended, p4.reoffences, p4.proven_after_waiting) == (False, 0, 1)


def test_breaches_never_count(justice_warehouse):
    p5 = row(cohort(justice_warehouse), "P05")
    assert (p5.reoffences, p5.breaches_in_window) == (2, 1)
    assert p5.first_reoffence_date.date() == dt.date(2023, 2, 1) and p5.days_to_first_reoffence == 22


def test_first_event_in_period_is_the_index_and_next_period_is_a_new_cohort(justice_warehouse):
    df = cohort(justice_warehouse)
    p6 = row(df, "P06")
    assert (p6.index_date.date(), p6.event_type, p6.events_in_period) == (dt.date(2023, 1, 20), "custody_release", 2)
    # The offence of 2023-02-01 is day 12 after the first event (before the second one).
    assert (p6.reoffences, p6.days_to_first_reoffence) == (1, 12)
    q3 = row(df, "P06", "2023-Q3")
    assert q3.event_type == "community_sentence" and q3.period_start.date() == dt.date(2023, 7, 1)
    assert (q3.reoffences, bool(q3.is_final)) == (0, False)  # 2023-09-30 + 548 days is after 2025-01-01


def test_same_day_tie_goes_to_the_type_listed_first(justice_warehouse):
    assert row(cohort(justice_warehouse), "P07").event_type == "community_sentence"
    reordered = ReoffendingSettings(index_event_types=("caution", "community_sentence", "custody_release", "youth_court"))
    p7 = row(cohort(justice_warehouse, reordered), "P07")
    assert (p7.event_type, p7.events_in_period) == ("caution", 2)


def test_participation_window_and_roles(justice_warehouse):
    df = cohort(justice_warehouse)
    part = {w: (bool(r.participant), list(r.programmes)) for w, r in df[df.cohort_period == "2023-Q1"].set_index("who").iterrows()}
    assert part["P08"] == (True, ["youth_court_jury"])  # starts on day 90
    assert part["P09"] == (False, [])  # starts on day 91
    assert part["P10"] == (False, [])  # ended the day before the index event
    assert part["P11"] == (True, ["timebank:TB01"])  # member since before the event, still a member
    assert part["P12"] == (False, [])  # staff account: not a participant
    assert part["P13"] == (True, ["peer_visiting_after_discharge"])
    narrower = ReoffendingSettings(participation_window_days=30, exclude_programmes=("peer_visiting_after_discharge",),
                                   include_timebanks=False)
    df2 = cohort(justice_warehouse, narrower)
    assert not df2[df2.who.isin(["P08", "P11", "P13"])]["participant"].any()


def test_covariates_come_from_extra_persons_columns(justice_warehouse):
    p3 = row(cohort(justice_warehouse), "P03")
    assert p3.housing == "homeless" and p3.prior_convictions == 5 and p3.imd_decile == 3 and p3.sex == "male"
    assert p3.age == pytest.approx((INDEX - dt.date(1970, 3, 1)).days / 365.25)


def test_criminal_history_is_counted_at_each_index_date(justice_warehouse):
    """P03: proven 2019 and on the index day (the index offence) count; a breach and an offence committed before the
    index but proven the day after do not. P06's second cohort counts the offence proven between its two index dates;
    P02's offence proven 10 days after its index does not count at the index."""
    df = cohort(justice_warehouse)
    assert row(df, "P03").proven_offences_to_index == 2
    assert row(df, "P06").proven_offences_to_index == 0 and row(df, "P06", "2023-Q3").proven_offences_to_index == 1
    assert row(df, "P02").proven_offences_to_index == 0 and row(df, "P01").proven_offences_to_index == 0
    assert (df["history_from"].dt.date == dt.date(2019, 8, 1)).all()  # the file's earliest proven_on (O10)
    year = cohort(justice_warehouse, ReoffendingSettings(history_years=1))
    p3 = row(year, "P03")  # 2019's offence is outside the year before the index date; the index day's is inside
    assert p3.proven_offences_to_index == 1 and p3.history_from.date() == INDEX - dt.timedelta(days=364)  # 365 days


def test_final_only_once_follow_up_and_waiting_have_elapsed(justice_warehouse):
    last = dt.date(2023, 3, 31) + dt.timedelta(days=365 + 183)
    assert bool(row(cohort(justice_warehouse, as_of=last), "P01").is_final)
    assert not bool(row(cohort(justice_warehouse, as_of=last - dt.timedelta(days=1)), "P01").is_final)


def test_events_after_the_as_of_date_are_left_out(justice_warehouse):
    df = cohort(justice_warehouse, as_of=dt.date(2023, 1, 15))
    assert set(df.who) == {f"P{i:02d}" for i in range(1, 14) if i != 6}
    # nothing proven after the as-of date is counted
    assert row(df, "P05").reoffences == 0


def test_windows_are_settings(justice_warehouse):
    short = ReoffendingSettings(follow_up_days=100, waiting_days=0)
    df = cohort(justice_warehouse, short)
    assert row(df, "P05").reoffences == 1  # 2023-05-01 is day 111: outside a 100-day follow-up
    assert row(df, "P01").reoffences == 0
    assert row(df, "P06").reoffences == 1


def test_empty_sources_give_an_empty_cohort(tmp_path):
    con = duckdb.connect()
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "persons.csv").write_text(PERSONS)
    ingest_all(con, folder, sources=SOURCES)  # the other sources are not supplied: empty staging tables
    df = cohort(con)
    assert df.empty and "age" in df.columns and "housing" in df.columns
    bare = duckdb.connect()  # no staging tables at all
    assert build_justice_cohort(bare, ReoffendingSettings(), as_of=AS_OF, run_id="r") == 0


def test_settings_reject_bad_values():
    with pytest.raises(ValueError, match="index_event_types"):
        ReoffendingSettings(index_event_types=("parole",))
    with pytest.raises(ValueError, match="exact names columns that are not in covariates"):
        ReoffendingSettings(exact=("housing",))
    with pytest.raises(ValueError):
        ReoffendingSettings(follow_up_days=0)
    with pytest.raises(ValueError, match="outcome or identifier"):
        ReoffendingSettings(covariates=("age", "reoffended"))
    assert ReoffendingSettings.model_validate({"covariates": ["age", "housing"], "follow_up_days": 730}).follow_up_days == 730


def _history_frame(index_dates: list[str], history_from: str) -> pd.DataFrame:
    return pd.DataFrame({"index_date": pd.to_datetime(index_dates), "history_from": pd.Timestamp(history_from),
                         "proven_offences_to_index": [0, 1, 2][: len(index_dates)]})


def test_a_short_offences_history_is_said_in_the_notes():
    """An extract that starts at the cohort window counts almost no history: the comparison says so, and names
    the look-back that would count the same span for everyone."""
    short = _history_frame(["2022-03-01", "2024-06-30"], "2019-03-01")
    note = history_note(short, ReoffendingSettings())
    assert note == ("criminal history: the offences file starts on 2019-03-01, 3.0 years before the earliest index "
                    "event analysed and 5.3 before the latest, so later events count more history; set "
                    "reoffending.history_years to 3 or less so every index event counts the same span, or supply a "
                    "longer offences history")
    assert note in usable_covariates(short, ReoffendingSettings(covariates=("proven_offences_to_index",))).notes
    assert history_note(_history_frame(["2022-03-01"], "2012-01-01"), ReoffendingSettings()) is None  # over ten years
    assert history_note(short, ReoffendingSettings(history_years=3)) is None  # 2019-03-01 is 3 years before
    assert history_note(short, ReoffendingSettings(history_years=4)) == (
        "criminal history: the offences file starts on 2019-03-01, less than history_years (4) before 1 of 2 index "
        "events analysed; their history is shorter than the others'")
    none = _history_frame(["2022-03-01"], "2022-01-01")
    assert "set reoffending.history_years" not in history_note(none, ReoffendingSettings())
