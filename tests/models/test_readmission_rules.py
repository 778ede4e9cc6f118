"""Index discharges and readmissions on a hand-checkable fixture (tests/fixtures/readmission/).

One person per rule (see the CSVs): A01 readmitted on day 29, B02 back on day 30 (not a
readmission), C03 back the same day (day 0), D04 a three-spell transfer chain, E05 dies in
the readmitting spell, F06 obstetrics, G07 cancer, H08 a same-day elective day case, I09 two
discharges before one readmission, J10 a readmission that is not itself an index discharge
(when mental health is excluded), K11/L12/M13 follow-up at the data end, N14 overlapping spells.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import shutil
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from models.readmission import ReadmissionSettings, build_index_discharges, discharges_frame, readmission_rates
from tests.conftest import KEY, ingest_all

FIXTURE = Path(__file__).parents[1] / "fixtures" / "readmission"
AS_OF = dt.date(2025, 1, 1)


def pid(raw: str) -> str:
    """The pseudonym ingest gives a raw identifier under the test key."""
    return hmac.new(KEY, raw.encode(), hashlib.sha256).hexdigest()


@pytest.fixture(scope="module")
def con(tmp_path_factory):
    folder = tmp_path_factory.mktemp("readmission_inputs")
    for f in FIXTURE.glob("*.csv"):
        shutil.copy(f, folder)
    c = duckdb.connect(str(tmp_path_factory.mktemp("wh") / "w.duckdb"))
    reports = ingest_all(c, folder)
    assert reports["hospital_spells"].rows_quarantined == 0 and reports["hospital_spells"].rows_staged == 31
    yield c
    c.close()


def build(con, **settings):
    report = build_index_discharges(con, ReadmissionSettings(**settings), as_of=AS_OF, run_id="t")
    rows = con.execute("SELECT * FROM core.index_discharges").df()
    return report, {r.discharge_id: r for r in rows.itertuples()}


@pytest.fixture(scope="module")
def default(con):
    return build(con)


def spell(index: dict, raw: str):
    return index[pid(raw)]


def test_counts_and_overlaps_are_reported(default):
    report, index = default
    assert report.spells == 31
    assert (report.overlapping_spells_excluded, report.persons_with_overlapping_spells) == (2, 1)
    assert report.index_discharges == 23 and len(index) == 23
    assert report.with_full_follow_up == 21 and report.readmissions == 7
    assert report.follow_up_end == dt.date(2024, 12, 12)


def test_day_29_is_a_readmission_and_day_30_is_not(default):
    _, index = default
    a1 = spell(index, "SA1")
    assert a1.readmitted and a1.days_to_readmission == 29 and a1.readmission_id == pid("SA2")
    b1 = spell(index, "SB1")
    assert not b1.readmitted and pd.isna(b1.days_to_readmission) and b1.readmission_id is None


def test_same_day_emergency_admission_is_day_0(default):
    _, index = default
    c1 = spell(index, "SC1")
    assert c1.readmitted and c1.days_to_readmission == 0


def test_transfer_chain_is_one_continuous_spell(con, default):
    _, index = default
    assert pid("SD1") not in index and pid("SD2") not in index  # not index discharges
    chain = spell(index, "SD3")
    assert chain.n_spells == 3 and chain.provider_id == "RXX03" and chain.specialty == "geriatric_medicine"
    assert chain.admitted_on.date() == dt.date(2023, 4, 1) and chain.admission_method == "emergency"
    # the same-day continuation is not a day-0 readmission; SD4 on day 8 is
    assert chain.readmitted and chain.days_to_readmission == 8 and chain.readmission_id == pid("SD4")
    assert spell(index, "SD4").prior_emergency_12m == 1  # the chain counts once
    assert con.execute("SELECT count(*) FROM core.continuous_spells").fetchone()[0] == 27


def test_death_is_no_index_but_is_a_readmission(default):
    _, index = default
    assert pid("SE1") not in index
    assert spell(index, "SE0").readmitted and spell(index, "SE0").days_to_readmission == 6


def test_obstetrics_is_neither_index_nor_readmission(default):
    _, index = default
    assert pid("SF1") not in index and pid("SF3") not in index
    assert not spell(index, "SF2").readmitted


def test_cancer_spell_is_no_readmission(default):
    _, index = default
    assert not spell(index, "SG1").readmitted
    assert pid("SG2") in index  # cancer is not a denominator exclusion by default


def test_cancer_index_exclusion_is_configurable(con):
    _, index = build(con, exclude_cancer_index=True)
    assert pid("SG2") not in index


def test_same_day_elective_is_a_day_case(default):
    _, index = default
    assert pid("SH1") not in index
    assert not spell(index, "SH2").readmitted  # no earlier index discharge to attribute it to


def test_readmission_goes_to_the_most_recent_discharge(default):
    _, index = default
    assert not spell(index, "SI1").readmitted  # SI3 is 17 days after SI1, but SI2 is more recent
    i2 = spell(index, "SI2")
    assert i2.readmitted and i2.days_to_readmission == 8 and i2.readmission_id == pid("SI3")


def test_readmission_can_itself_be_an_index_discharge(default):
    _, index = default
    assert spell(index, "SJ1").readmission_id == pid("SJ2")
    assert spell(index, "SJ2").readmission_id == pid("SJ3") and spell(index, "SJ2").days_to_readmission == 4
    assert spell(index, "SJ3").prior_emergency_12m == 2


def test_a_discharge_has_at_most_one_readmission(con):
    # Excluding mental health from the denominator, SJ2 is a readmission of SJ1 but no index
    # discharge, so SJ3 also belongs to SJ1; SJ1 keeps only its first readmission.
    report, index = build(con, excluded_index_specialties=("obstetrics", "mental_health"))
    j1 = spell(index, "SJ1")
    assert j1.readmission_id == pid("SJ2") and j1.days_to_readmission == 2
    assert pid("SJ2") not in index
    assert report.readmissions == 6
    assert con.execute("SELECT count(*) FROM core.index_discharges WHERE readmission_id IS NOT NULL "
                       "GROUP BY discharge_id HAVING count(*) > 1").fetchall() == []


def test_window_is_configurable(con):
    _, index = build(con, window_max_days=27)
    assert not spell(index, "SA1").readmitted
    _, index = build(con, window_max_days=30)
    assert spell(index, "SB1").readmitted


def test_full_follow_up_rule(default):
    _, index = default
    assert spell(index, "SL1").full_follow_up  # 2024-11-13 + 29 = 2024-12-12, the data end
    assert not spell(index, "SM1").full_follow_up  # 2024-11-14 + 29 is past it
    assert not spell(index, "SK1").full_follow_up


def test_overlapping_spells_are_left_out(default):
    _, index = default
    assert pid("SN1") not in index and pid("SN2") not in index
    assert not spell(index, "SN3").readmitted


def test_exposure(default):
    _, index = default
    a1 = spell(index, "SA1")  # exchange exactly 90 days before discharge
    assert a1.exposed and a1.exposed_timebank and a1.timebank_id == "TB01"
    assert not spell(index, "SA2").exposed
    assert not spell(index, "SB1").exposed  # 91 days before
    assert not spell(index, "SC1").exposed  # system credit only
    assert not spell(index, "SD3").exposed  # staff account
    i2 = spell(index, "SI2")  # enrolment exactly 14 days after discharge
    assert i2.exposed_programme and i2.programme_id == "peer_visiting_after_discharge" and not i2.exposed_timebank
    assert not spell(index, "SI1").exposed
    assert not spell(index, "SG1").exposed and spell(index, "SG2").exposed  # 15 and 4 days


def test_covariates(default):
    _, index = default
    assert spell(index, "SA1").age == 73  # born 1950-01-05, discharged 2023-01-05: birthday counts
    assert spell(index, "SB1").age == 72  # born 1950-01-06
    a2 = spell(index, "SA2")
    assert a2.prior_emergency_12m == 1 and a2.quarter == "2023Q1" and a2.sex == "female" and a2.imd_decile == 2


def test_rates_with_wilson_interval(con):
    build(con)
    rates = readmission_rates(con)
    overall = rates[rates["dimension"] == "overall"].iloc[0]
    assert (overall["value"], overall["discharges"], overall["readmissions"]) == ("all", 21, 7)
    # Wilson by hand: p = 1/3, n = 21, z = 1.959964, z2 = 3.841459
    # centre = (1/3 + 3.841459/42) / (1 + 3.841459/21) = 0.424796 / 1.182927 = 0.359106
    # half = 1.959964/1.182927 * sqrt((2/9)/21 + 3.841459/1764) = 1.656880 * 0.112959 = 0.187160
    assert overall["rate"] == pytest.approx(1 / 3)
    assert overall["ci_low"] == pytest.approx(0.171946, abs=5e-6)
    assert overall["ci_high"] == pytest.approx(0.546266, abs=5e-6)
    by = {(r.dimension, r.value): (r.discharges, r.readmissions) for r in rates.itertuples()}
    assert by[("provider", "RXX03")] == (3, 1)  # the chain is the discharging provider's
    assert by[("timebank", "TB01")] == (1, 1)
    assert by[("exposure", "participant")] == (4, 2)
    assert by[("quarter", "2024Q4")] == (1, 0)
    assert set(rates["dimension"]) == {"overall", "exposure", "timebank", "programme", "provider", "area", "quarter"}


def test_wilson_matches_statsmodels():
    from statsmodels.stats.proportion import proportion_confint

    from models.readmission import wilson_interval

    lo, hi = wilson_interval([0, 3, 50], [10, 7, 50])
    for i, (x, n) in enumerate([(0, 10), (3, 7), (50, 50)]):
        assert (lo[i], hi[i]) == pytest.approx(proportion_confint(x, n, method="wilson"), abs=1e-12)


def test_discharges_frame_is_full_follow_up_only(con):
    build(con)
    frame = discharges_frame(con)
    assert len(frame) == 21 and frame["full_follow_up"].all()


def test_length_of_stay_band_and_year_of_the_continuous_spell(default):
    """Length of stay is the continuous spell's (first admission to last discharge): D04's three-spell transfer chain
    runs 2023-04-01 to 2023-04-12, 11 days, band 7-20; A01's SA1 4 days (3-6), C03's SC1 2 days (1-2)."""
    _, index = default
    d = spell(index, "SD3")
    assert (d.length_of_stay, d.length_of_stay_band, d.discharge_year) == (11, "7-20", "2023")
    assert (spell(index, "SA1").length_of_stay, spell(index, "SA1").length_of_stay_band) == (4, "3-6")
    assert (spell(index, "SC1").length_of_stay, spell(index, "SC1").length_of_stay_band) == (2, "1-2")


def test_length_of_stay_bands_are_a_setting(con):
    from models.readmission.spells import los_band_label

    assert [los_band_label(d, (1, 3, 7, 21)) for d in (0, 1, 2, 3, 6, 7, 20, 21, 90)] == [
        "0", "1-2", "1-2", "3-6", "3-6", "7-20", "7-20", "21+", "21+"]
    assert [los_band_label(d, (1, 2, 10)) for d in (0, 1, 2, 9, 10)] == ["0", "1", "2-9", "2-9", "10+"]
    _, index = build(con, length_of_stay_bands=(2, 10))
    assert spell(index, "SD3").length_of_stay_band == "10+" and spell(index, "SC1").length_of_stay_band == "2-9"
    with pytest.raises(ValueError, match="length_of_stay_bands"):
        ReadmissionSettings(length_of_stay_bands=(3, 3))
    with pytest.raises(ValueError, match="length_of_stay_bands"):
        ReadmissionSettings(length_of_stay_bands=(0, 7))
