"""marts.reoffending_rates on the hand fixture, and the Wilson interval checked by hand."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pytest

from models.reoffending import ReoffendingSettings, build_justice_cohort, reoffending_rates, wilson_interval, write_mart
from models.reoffending.rates import rate_check
from models.reoffending.tables import RATES
from tests.conftest import AS_OF
from tests.models.test_reoffending_cohort import justice_warehouse  # noqa: F401  (fixture)


def test_wilson_by_hand():
    # 3 of 10, z = 1.959964: p = 0.3, z^2 = 3.841459, denominator 1 + z^2/10 = 1.3841459,
    # centre = (0.3 + 0.1920729) / 1.3841459 = 0.3555064,
    # half = 1.959964 * sqrt(0.021 + 0.0096036) / 1.3841459 = 0.2477173  ->  [0.1077891, 0.6032237]
    z = 1.959964
    p, n = 0.3, 10
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    assert (round(centre - half, 4), round(centre + half, 4)) == (0.1078, 0.6032)
    low, high = wilson_interval([3], [10])
    assert (round(float(low[0]), 4), round(float(high[0]), 4)) == (0.1078, 0.6032)


def test_wilson_edges():
    low, high = wilson_interval([0, 10, 0, 28], [10, 10, 0, 100])
    assert low[0] == 0 and round(float(high[0]), 4) == 0.2775  # 0/10: [0, z^2/(n + z^2)]
    assert high[1] == 1 and round(float(low[1]), 4) == 0.7225
    assert np.isnan(low[2]) and np.isnan(high[2])  # no people: no interval
    # 28 of 100: denominator 1.0384146, centre (0.28 + 0.0192073) / 1.0384146 = 0.2881396,
    # half 1.959964 * sqrt(0.002016 + 0.0000960) / 1.0384146 = 0.0867432  ->  [0.2014, 0.3749]
    assert (round(float(low[3]), 4), round(float(high[3]), 4)) == (0.2014, 0.3749)


def _rates(con, settings=None):
    build_justice_cohort(con, settings or ReoffendingSettings(), as_of=AS_OF, run_id="run-1")
    return reoffending_rates(con)


def pick(df, period, programme, event_type="all"):
    got = df[(df.cohort_period == period) & (df.programme == programme) & (df.event_type == event_type)]
    assert len(got) == 1, (period, programme, event_type)
    return got.iloc[0]


def test_rates_by_hand(justice_warehouse):  # noqa: F811
    df = _rates(justice_warehouse)
    q1 = pick(df, "2023-Q1", "all_people")
    # 13 people in Q1; reoffenders P01, P03, P05, P06; reoffences 1 + 1 + 2 + 1 = 5
    assert (q1.persons, q1.reoffenders, q1.reoffences, q1.status) == (13, 4, 5, "final")
    assert q1.binary_rate == pytest.approx(4 / 13)
    assert q1.frequency == pytest.approx(5 / 13)
    assert q1.reoffences_per_reoffender == pytest.approx(5 / 4)
    low, high = wilson_interval([4], [13])
    assert (q1.ci_low, q1.ci_high) == (pytest.approx(low[0]), pytest.approx(high[0]))
    caution = pick(df, "2023-Q1", "all_people", "caution")  # P05, P10, P11, P12, P13
    assert (caution.persons, caution.reoffenders, caution.reoffences) == (5, 1, 2)
    part = pick(df, "2023-Q1", "any_participation")  # P08, P11, P13
    assert (part.persons, part.reoffenders) == (3, 0)
    assert np.isnan(part.reoffences_per_reoffender)
    assert pick(df, "2023-Q1", "no_participation").persons == 10
    assert pick(df, "2023-Q1", "timebank:TB01").persons == 1
    q3 = pick(df, "2023-Q3", "all_people")
    assert (q3.persons, q3.status) == (1, "provisional")


def test_overall_row_pools_final_cohorts_only(justice_warehouse):  # noqa: F811
    df = _rates(justice_warehouse)
    overall = pick(df, "all", "all_people")
    assert (overall.persons, overall.reoffenders, overall.reoffences, overall.status) == (13, 4, 5, "final")
    assert overall.period_start.date() == dt.date(2023, 1, 1) and overall.period_end.date() == dt.date(2023, 3, 31)
    write_mart(justice_warehouse, "marts.reoffending_rates", df, "run-1")
    assert rate_check(justice_warehouse)["ok"]


def test_rates_mart_is_written_with_its_columns(justice_warehouse):  # noqa: F811
    df = _rates(justice_warehouse)
    n = write_mart(justice_warehouse, "marts.reoffending_rates", df, "run-1")
    assert n == len(df) > 0
    cols = justice_warehouse.execute("DESCRIBE marts.reoffending_rates").fetchall()
    assert [(c[0], c[1]) for c in cols] == [(c.name, c.type) for c in RATES]
    assert justice_warehouse.execute("SELECT DISTINCT run_id FROM marts.reoffending_rates").fetchall() == [("run-1",)]


def test_empty_cohort_gives_an_empty_rates_table():
    import duckdb

    con = duckdb.connect()
    df = _rates(con)
    assert df.empty
    assert write_mart(con, "marts.reoffending_rates", df, "r") == 0
    assert [c[0] for c in con.execute("DESCRIBE marts.reoffending_rates").fetchall()] == [c.name for c in RATES]
