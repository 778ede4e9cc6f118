"""The one mart writer: typed, refuses undeclared shapes, atomic, and takes frames or relations."""

import duckdb
import numpy as np
import pandas as pd
import pytest

from models.mart_writer import write_mart, write_mart_set
from schemas.marts import mart

RATES = "marts.readmission_rates"


def _rates(n: int = 2) -> pd.DataFrame:
    return pd.DataFrame({
        "dimension": ["overall", "exposure"][:n], "value": ["all", "participant"][:n], "discharges": [10, 4][:n],
        "readmissions": [2, 1][:n], "rate": [0.2, np.nan][:n], "ci_low": [0.05, None][:n], "ci_high": [0.5, 0.7][:n],
    })


def _types(con, table):
    schema, name = table.split(".")
    return dict(con.execute("SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = ? "
                            "AND table_name = ? ORDER BY ordinal_position", [schema, name]).fetchall())


def test_writes_declared_types_and_run_id():
    con = duckdb.connect()
    assert write_mart(con, RATES, _rates(), "run-1") == 2
    assert _types(con, RATES) == {c.name: c.type for c in mart(RATES).columns}
    rows = con.execute(f"SELECT dimension, rate, ci_low, run_id FROM {RATES} ORDER BY dimension DESC").fetchall()
    assert rows == [("overall", 0.2, 0.05, "run-1"), ("exposure", None, None, "run-1")]


def test_none_gives_an_empty_typed_table():
    con = duckdb.connect()
    assert write_mart(con, RATES, None, "run-1") == 0
    assert list(_types(con, RATES)) == mart(RATES).column_names()


def test_refuses_missing_and_undeclared_columns_naming_them():
    con = duckdb.connect()
    with pytest.raises(ValueError, match=r"marts.readmission_rates.*missing \['rate'\].*not declared \['extra'\]"):
        write_mart(con, RATES, _rates().drop(columns="rate").assign(extra=1), "run-1")
    with pytest.raises(KeyError, match="marts.nowhere is not declared"):
        write_mart(con, "marts.nowhere", _rates(), "run-1")


def test_a_failed_write_leaves_the_previous_table_whole():
    con = duckdb.connect()
    write_mart(con, RATES, _rates(), "run-1")
    bad = _rates().assign(discharges=["ten", "four"])  # not castable to BIGINT
    with pytest.raises(duckdb.ConversionException):
        write_mart(con, RATES, bad, "run-2")
    assert con.execute(f"SELECT count(*), min(run_id) FROM {RATES}").fetchone() == (2, "run-1")


def test_relation_and_templated_columns():
    con = duckdb.connect()
    con.execute("CREATE TABLE src AS SELECT 'overall' AS dimension, 'all' AS value, 3 AS discharges, "
                "1 AS readmissions, 0.33 AS rate, 0.1 AS ci_low, 0.7 AS ci_high")
    assert write_mart(con, RATES, con.table("src"), "run-r") == 1
    assert con.execute(f"SELECT run_id, discharges FROM {RATES}").fetchone() == ("run-r", 3)
    activity = mart("marts.timebank_activity")
    names = [c.name.replace("{months}", h) for h in ("6", "12") for c in activity.columns if "{months}" in c.name]
    resolved = activity.resolve([c.name for c in activity.plain_columns()] + names)
    assert [c.name for c in resolved if c.name.startswith("retention_")] == names
    with pytest.raises(ValueError, match="not declared \\['retention_x'\\]"):
        activity.resolve([c.name for c in activity.plain_columns()] + ["retention_x"])



PEOPLE = "core.wellbeing_people"


def _people(con, n: int):
    """core.wellbeing_people rows with one covariate column (``ethnicity``) after the declared ones."""
    return con.sql(f"SELECT 'p' || i AS person_id, true AS participant, 'tb1' AS timebank_id, NULL::DATE AS first_joined_on, "
                   "NULL::DATE AS first_enrolled_on, DATE '2024-01-01' AS first_reading_on, "
                   "DATE '2024-06-01' AS last_reading_on, DATE '1970-01-01' AS birth_date, 'F' AS sex, "
                   f"3::BIGINT AS imd_decile, 'x' AS ethnicity FROM range({n}) t(i)")


def test_a_set_is_written_whole_or_not_at_all():
    con = duckdb.connect()
    assert write_mart_set(con, {PEOPLE: _people(con, 3), RATES: _rates()}, "run-1") == {PEOPLE: 3, RATES: 2}
    # the covariate column takes its staged type and stays before run_id (a plain column, never a covariate)
    assert list(_types(con, PEOPLE).items())[-2:] == [("ethnicity", "VARCHAR"), ("run_id", "VARCHAR")]
    bad = _rates().assign(discharges=["ten", "four"])  # the second table fails: the first is not replaced either
    with pytest.raises(duckdb.ConversionException):
        write_mart_set(con, {PEOPLE: _people(con, 5), RATES: bad}, "run-2")
    assert con.execute(f"SELECT count(*), min(run_id) FROM {PEOPLE}").fetchone() == (3, "run-1")
    assert con.execute(f"SELECT count(*), min(run_id) FROM {RATES}").fetchone() == (2, "run-1")
