"""marts.member_reciprocity on the hand-computed log (see test_reciprocity_fixtures.py)."""

from __future__ import annotations

import datetime as dt
import math

import duckdb
import pandas as pd
import pytest

from models.mart_writer import write_mart
from models.reciprocity import MEMBER_COLUMNS, MEMBER_TABLE, ReciprocitySettings, member_reciprocity
from tests.models.test_reciprocity_fixtures import WINDOW, load


@pytest.fixture
def con():
    c = duckdb.connect()
    yield c
    c.close()


def write(con, settings, run_id="r1") -> int:
    """The model's rows, written as the asset writes them."""
    return write_mart(con, MEMBER_TABLE, member_reciprocity(con, settings), run_id)


def _rows(con, table=MEMBER_TABLE):
    df = con.execute(f"SELECT * FROM {table}").df()
    return {r.member_id: r for r in df.itertuples(index=False)}


def test_every_member_measure(con):
    load(con)
    assert write(con, WINDOW) == 11
    m = _rows(con)
    assert set(m) == {"A", "B", "X", "Y", "Z", "P", "Q", "E", "S", "O", "M"}
    expect = {
        # member: given, received, donated, pot, family, G, R, b, partners, two_way
        "A": (2, 2, 1, 1, 0, 2, 2, 1.0, 1, True),
        "B": (2, 2, 0.5, 0, 0.5, 2, 2, 1.0, 1, True),
        "X": (2, 1, 0, 0, 0, 2, 1, 2 / 3, 2, True),
        "Y": (0.5, 2, 0, 0, 0, 0.5, 2, 0.4, 2, True),
        "Z": (1, 0.5, 0, 0, 0, 1, 0.5, 2 / 3, 2, True),
        "P": (4, 0, 0, 0, 0, 3, 0, 0.0, 1, False),  # pure giver (4 includes the hour to O)
        "Q": (0, 3, 0, 0, 0, 0, 3, 0.0, 1, False),  # pure receiver
        "E": (0, 0, 0, 0, 0, 0, 0, 0.0, 0, False),  # no trade: b = 0 by convention
    }
    for k, (given, received, donated, pot, family, g, r, b, partners, two_way) in expect.items():
        row = m[k]
        assert row.hours_given == pytest.approx(given), k
        assert row.hours_received == pytest.approx(received), k
        assert row.hours_donated == pytest.approx(donated), k
        assert row.hours_donated_pot == pytest.approx(pot), k
        assert row.hours_donated_family == pytest.approx(family), k
        assert row.reciprocal_hours_given == pytest.approx(g), k
        assert row.reciprocal_hours_received == pytest.approx(r), k
        assert row.balance_index == pytest.approx(b), k
        assert row.trading_partners == partners, k
        assert bool(row.two_way) is two_way, k
        assert row.give_receive_log_ratio == pytest.approx(math.log((g + 1) / (r + 1))), k
        assert bool(row.reciprocity_eligible)
    # P's system credit and X's family donation are received transfers, not exchanges.
    assert m["P"].hours_system_credited == 1 and m["X"].hours_donation_received == 0.5
    assert m["X"].hours_received == 1


def test_dates_and_active_status(con):
    load(con)
    write(con, WINDOW)
    m = _rows(con)
    assert str(m["A"].first_exchange_on)[:10] == "2024-01-10"
    assert str(m["A"].last_exchange_on)[:10] == "2024-02-10"
    assert str(m["X"].last_exchange_on)[:10] == "2024-09-01"
    assert str(m["Q"].first_exchange_on)[:10] == "2024-04-01"
    # the donation (05-01) and the system credit do not count as exchanges
    assert str(m["P"].first_exchange_on)[:10] == "2024-04-01" and str(m["P"].last_exchange_on)[:10] == "2024-06-01"
    assert pd.isna(m["E"].first_exchange_on)
    active = {k for k, r in m.items() if r.is_active}
    assert active == {"A", "B", "X", "Y", "Z", "P", "Q", "O"}  # an exchange in the 12 months to as_of
    # 4 months: after 2024-08-31 only X and Y (2024-09-01) traded; 3 months: nobody.
    write(con, WINDOW.model_copy(update={"active_months": 4}))
    assert {k for k, r in _rows(con).items() if r.is_active} == {"X", "Y"}
    write(con, WINDOW.model_copy(update={"active_months": 3}))
    assert not any(r.is_active for r in _rows(con).values())


def test_system_and_organisation_accounts_kept_in_totals_only(con):
    load(con)
    write(con, WINDOW)
    m = _rows(con)
    for k in ("S", "O"):
        assert not m[k].reciprocity_eligible
        for col in ("reciprocal_hours_given", "reciprocal_hours_received", "balance_index", "trading_partners"):
            assert pd.isna(getattr(m[k], col)), (k, col)
    assert m["S"].hours_donation_received == 1  # the goodwill pot
    assert m["O"].hours_received == 1  # kept in hour totals


def test_run_id_window_and_columns(con):
    load(con)
    write(con, WINDOW, "run-42")
    cols = con.execute("DESCRIBE marts.member_reciprocity").df()
    assert list(cols["column_name"]) == list(MEMBER_COLUMNS)
    assert dict(zip(cols["column_name"], cols["column_type"])) == MEMBER_COLUMNS
    assert con.execute("SELECT DISTINCT run_id FROM marts.member_reciprocity").fetchall() == [("run-42",)]
    # A window on Q1 only: X gave 1 and received 1 (E3, E5) → b = 1.
    q1 = WINDOW.model_copy(update={"window_end": dt.date(2024, 3, 31)})
    assert member_reciprocity(con, q1).to_pandas().set_index("member_id").loc["X", "balance_index"] == pytest.approx(1.0)


@pytest.mark.parametrize("setup", ["absent", "empty"])
def test_absent_or_empty_inputs_give_an_empty_table(con, setup):
    if setup == "empty":
        load(con, members=[], exchanges=[])
    write(con, ReciprocitySettings())
    cols = con.execute("DESCRIBE marts.member_reciprocity").df()
    assert list(cols["column_name"]) == list(MEMBER_COLUMNS)
    assert con.execute("SELECT count(*) FROM marts.member_reciprocity").fetchall()[0][0] == 0


def test_members_without_exchanges(con):
    load(con, exchanges=None)
    write(con, ReciprocitySettings())
    m = _rows(con)
    assert len(m) == 11 and m["A"].hours_given == 0 and m["A"].balance_index == 0 and not m["A"].is_active


@pytest.mark.filterwarnings("error::DeprecationWarning")
@pytest.mark.parametrize("setup", ["hand_log", "empty"])
def test_no_deprecation_warning(con, setup):
    """`make demo`'s log showed DuckDB's 'fetch_arrow_table() is deprecated' from this model (pytest ignores
    DeprecationWarning by default, so nothing else caught it)."""
    load(con, **({} if setup == "hand_log" else {"members": [], "exchanges": []}))
    assert member_reciprocity(con, WINDOW if setup == "hand_log" else ReciprocitySettings()).num_rows == (11 if setup == "hand_log" else 0)
