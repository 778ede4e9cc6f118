"""marts.timebank_activity: every measure against the hand computation in test_reciprocity_fixtures.py."""

from __future__ import annotations

import datetime as dt

import duckdb
import pandas as pd
import pytest

from models.reciprocity import (
    INDEX_COMPONENTS,
    ReciprocitySettings,
    timebank_activity,
    timebank_activity_columns,
)
from tests.models.test_reciprocity_fixtures import WINDOW, load


@pytest.fixture
def con():
    c = duckdb.connect()
    yield c
    c.close()


def _row(df, tb, label):
    rows = df[(df["timebank_id"] == tb) & (df["period_label"] == label)]
    assert len(rows) == 1, (tb, label)
    return rows.iloc[0]


def test_overall_row_every_measure(con):
    load(con)
    df = timebank_activity(con, WINDOW, run_id="r1")
    o = _row(df, "TB1", "overall")
    exact = {
        "members": 8, "active_members": 7, "trading_members": 7, "exchanges": 8,
        "two_way_members": 5, "beneficiary_members": 3, "beneficiary_givers": 2,
        "network_edges": 6, "reciprocated_edges": 2, "joiners": 6,
        "retention_6m_eligible": 6, "retention_6m_retained": 2,
        "retention_12m_eligible": 0, "retention_12m_retained": 0, "joiners_with_exchange": 5,
    }
    for col, v in exact.items():
        assert o[col] == v, col
    approx = {
        "hours_total": 14.0, "hours_exchanged": 11.5, "hours_group": 0.5, "hours_system_credit": 1.0,
        "hours_donated_pot": 1.0, "hours_donated_family": 0.5, "hours_per_active_member": 11.5 / 7,
        "two_way_share": 5 / 7, "mean_balance_index": 8 / 15, "beneficiary_contribution_share": 2 / 3,
        "dyadic_reciprocity": 1 / 3, "reciprocal_hours": 10.5, "reciprocated_hours": 4.0,
        "weighted_reciprocity": 8 / 21, "circulating_hours": 3.5, "generalised_reciprocity": 1 / 3,
        "gini_hours_given": 64 / 161, "retention_6m": 2 / 6, "median_days_to_first_exchange": 47.0,
    }
    for col, v in approx.items():
        assert o[col] == pytest.approx(v), col
    assert pd.isna(o["retention_12m"])  # nobody's 12 months have elapsed
    # Reciprocity index with equal weights: the mean of the five components.
    comps = [5 / 7, 8 / 15, 8 / 21, 1 / 3, 2 / 3]
    assert o["reciprocity_index"] == pytest.approx(sum(comps) / 5)
    assert o["index_coverage"] == 1.0


def test_quarter_rows(con):
    load(con)
    df = timebank_activity(con, WINDOW, run_id="r1")
    tb1 = df[df["timebank_id"] == "TB1"]
    assert list(tb1["period_label"]) == ["2024-Q1", "2024-Q2", "2024-Q3", "2024-Q4", "overall"]
    assert list(tb1["period_type"]) == ["quarter"] * 4 + ["overall"]
    q1 = _row(df, "TB1", "2024-Q1")
    assert (q1["members"], q1["active_members"], q1["trading_members"], q1["two_way_members"]) == (8, 5, 5, 5)
    assert q1["mean_balance_index"] == pytest.approx(13 / 15)
    assert q1["reciprocal_hours"] == pytest.approx(6.5)
    assert q1["weighted_reciprocity"] == pytest.approx(4 / 6.5)
    assert q1["generalised_reciprocity"] == pytest.approx(2.5 / 6.5)
    assert q1["dyadic_reciprocity"] == pytest.approx(2 / 5)
    assert q1["beneficiary_contribution_share"] == pytest.approx(1 / 3)
    q2 = _row(df, "TB1", "2024-Q2")
    # P→Q (3h) is the only eligible edge; P→O, the credit and the donations are totals only.
    assert (q2["network_edges"], q2["trading_members"], q2["two_way_members"]) == (1, 2, 0)
    assert q2["hours_total"] == pytest.approx(6.5) and q2["hours_exchanged"] == pytest.approx(4.0)
    assert q2["active_members"] == 7  # rolling 12 months to 2024-06-30
    q4 = _row(df, "TB1", "2024-Q4")
    assert q4["hours_total"] == 0 and q4["trading_members"] == 0 and q4["active_members"] == 7
    assert pd.isna(q4["two_way_share"]) and pd.isna(q4["weighted_reciprocity"])
    # The member-free time bank still gets its rows (TB2's member joined in May).
    assert list(df[df["timebank_id"] == "TB2"]["members"]) == [0, 1, 1, 1, 1]
    assert (df["run_id"] == "r1").all() and (df["as_of"] == pd.Timestamp("2024-12-31")).all()
    assert df["period_complete"].all()


def test_default_window_is_the_data_range_and_partial_periods_are_flagged(con):
    load(con)
    df = timebank_activity(con, ReciprocitySettings(), run_id="r1")
    # earliest date: joined 2023-06-01; latest: exchange 2024-09-01
    assert df["period_start"].min() == pd.Timestamp("2023-06-01")
    assert df["period_end"].max() == pd.Timestamp("2024-09-01")
    tb1 = df[df["timebank_id"] == "TB1"].set_index("period_label")
    assert not tb1.loc["2023-Q2", "period_complete"] and not tb1.loc["2024-Q3", "period_complete"]
    assert tb1.loc["2024-Q1", "period_complete"]
    assert tb1.loc["overall", "hours_total"] == pytest.approx(14.0)


def test_months_and_excluded_roles_are_settings(con):
    load(con)
    monthly = timebank_activity(con, WINDOW.model_copy(update={"period": "month"}), run_id="r1")
    assert (monthly["timebank_id"] == "TB1").sum() == 13  # 12 months + overall
    assert _row(monthly, "TB1", "2024-03")["circulating_hours"] == pytest.approx(2.5)
    # Counting organisations as partners puts P→O into the network (a seventh edge).
    wide = WINDOW.model_copy(update={"excluded_roles": ("system",)})
    o = _row(timebank_activity(con, wide, run_id="r1"), "TB1", "overall")
    assert o["network_edges"] == 7 and o["members"] == 9


def test_retention_fixture(con):
    """Joiners R1..R5, partner K (joined 2022); window 2023-01-01..2024-06-30 = as_of.

        R1 joined 2023-01-10, trades 2023-02-01 and 2024-02-01: retained at 6 and 12 months
        R2 joined 2023-01-20, trades 2023-03-01 and 2023-09-01: retained at 6 (due 07-20), not 12 (due 2024-01-20)
        R3 joined 2023-02-01, trades 2023-02-05 only: neither
        R4 joined 2024-03-01, trades 2024-03-10: 6 months not yet elapsed (due 2024-09-01)
        R5 joined 2023-03-01, never trades: eligible at 6 and 12, retained at neither
        6 months: eligible R1 R2 R3 R5 = 4, retained R1 R2 → 1/2
        12 months: eligible R1 R2 R3 R5 = 4 (R5 due 2024-03-01), retained R1 → 1/4
        days to first exchange: R1 22, R2 40, R3 4, R4 9 → median 15.5
    """
    members = [("K", "T", None, "community", "2022-01-01", None)] + [
        (f"R{i}", "T", None, "community", d, None)
        for i, d in enumerate(["2023-01-10", "2023-01-20", "2023-02-01", "2024-03-01", "2023-03-01"], start=1)
    ]
    ex = [
        ("1", "T", "R1", "K", 1.0, "2023-02-01", None, "exchange"),
        ("2", "T", "K", "R1", 1.0, "2024-02-01", None, "exchange"),
        ("3", "T", "R2", "K", 1.0, "2023-03-01", None, "exchange"),
        ("4", "T", "K", "R2", 1.0, "2023-09-01", None, "exchange"),
        ("5", "T", "R3", "K", 1.0, "2023-02-05", None, "exchange"),
        ("6", "T", "R4", "K", 1.0, "2024-03-10", None, "exchange"),
    ]
    load(con, members=members, exchanges=ex)
    s = ReciprocitySettings(window_start=dt.date(2023, 1, 1), window_end=dt.date(2024, 6, 30))
    o = _row(timebank_activity(con, s, run_id="r"), "T", "overall")
    assert (o["joiners"], o["retention_6m_eligible"], o["retention_6m_retained"]) == (5, 4, 2)
    assert (o["retention_12m_eligible"], o["retention_12m_retained"]) == (4, 1)
    assert o["retention_6m"] == 0.5 and o["retention_12m"] == 0.25
    assert o["median_days_to_first_exchange"] == 15.5 and o["joiners_with_exchange"] == 4
    # active at 2024-06-30 (after 2023-06-30): K, R1, R2, R4
    assert o["active_members"] == 4
    q1 = _row(timebank_activity(con, s, run_id="r"), "T", "2023-Q1")
    assert (q1["joiners"], q1["retention_12m_eligible"], q1["retention_12m_retained"]) == (4, 4, 1)


@pytest.mark.parametrize("setup", ["absent", "empty", "members only"])
def test_absent_or_empty_inputs(con, setup):
    if setup == "empty":
        load(con, members=[], exchanges=[])
    if setup == "members only":
        load(con, exchanges=None)
    df = timebank_activity(con, ReciprocitySettings(), run_id="r1")
    assert list(df.columns) == timebank_activity_columns()
    if setup == "members only":
        assert set(df["timebank_id"]) == {"TB1", "TB2"}
        assert (df["hours_total"] == 0).all() and df["weighted_reciprocity"].isna().all()
        assert _row(df, "TB1", "overall")["members"] == 8
    else:
        assert df.empty


def test_columns_and_types(con):
    load(con)
    df = timebank_activity(con, WINDOW, run_id="r1")
    assert list(df.columns) == timebank_activity_columns(WINDOW)
    for c in INDEX_COMPONENTS:
        assert df[c].dropna().between(0, 1).all(), c
    assert df["members"].dtype == "int64" and df["hours_total"].dtype == "float64"
    # Custom horizons name their own columns.
    s = WINDOW.model_copy(update={"retention_months": (3,)})
    assert "retention_3m" in timebank_activity(con, s, run_id="r").columns


def test_accounts_missing_from_the_member_table_are_kept_as_people(con):
    # The contract forbids it; if it happens no hours are lost: U is treated as a person.
    ex = [("1", "T", "K", "U", 2.0, "2024-01-05", None, "exchange"),
          ("2", "T", "U", "K", 1.0, "2024-01-06", None, "exchange")]
    load(con, members=[("K", "T", None, "community", "2023-01-01", None)], exchanges=ex)
    o = _row(timebank_activity(con, WINDOW, run_id="r"), "T", "overall")
    assert o["hours_total"] == 3 and o["trading_members"] == 2 and o["two_way_members"] == 2
    assert o["members"] == 1  # membership needs a member-table row
    assert o["weighted_reciprocity"] == pytest.approx(2 / 3)  # min(2,1)·2 / 3
