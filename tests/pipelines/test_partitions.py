"""Quarterly partitions (pipelines/assets/quarterly.py, docs/partitions.md).

By hand, on tests/fixtures/valid: TB01's log is X001 M002->M001 2 h (2023-03-01), X002
M001->M002 1.5 h (04-01), X003 M001->M003 1 h (05-01), X004 M003->M002 0.75 h (06-01) and a
1 h donation to the pot (07-01); TB02 has one member (joined 2023-05-01) and no exchanges.
The window is 2023-01-01 (first join) to 2023-07-01 (last exchange), so 2023-Q3 is cut to
one day and 2023-Q4 is outside it. The equality test runs the real pipeline on a generated
sample: four quarterly partitions, one run each and as one CLI range run, against one
unpartitioned run.
"""

import datetime as dt
import os
import shutil
import subprocess
import sys
from pathlib import Path

import dagster as dg
import duckdb
import pandas as pd
import pytest

from models.readmission.rates import readmission_rates_by_quarter
from models.reciprocity import ReciprocitySettings, timebank_activity, timebank_activity_periods
from pipelines.assets.quarterly import (
    RATES_TABLE,
    TIMEBANK_TABLE,
    first_quarter,
    quarterly_assets,
    quarterly_job,
    quarters,
)
from pipelines.assets.publication import aggregate_only
from pipelines.assets.readmission import index_discharges_asset, mart_assets
from pipelines.assets.reciprocity import timebank_activity as timebank_activity_asset
from pipelines.definitions import all_assets_job, defs
from pipelines.quarterly_definitions import defs as quarterly_defs
from pipelines.ingest.assets import ingest_assets
from pipelines.resources import Settings, Warehouse
from tests.conftest import FIXTURES, ingest_all

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
FOUR = ["2023-01-01", "2023-04-01", "2023-07-01", "2023-10-01"]


# --- the library functions, by hand -------------------------------------------------------------

@pytest.fixture
def staged(warehouse):
    ingest_all(warehouse, FIXTURES / "valid")
    return warehouse


def test_one_quarter_of_time_bank_activity_by_hand(staged):
    q2 = timebank_activity_periods(staged, start=dt.date(2023, 4, 1), end=dt.date(2023, 7, 1), run_id="r")
    assert list(q2["timebank_id"]) == ["TB01", "TB02"] and set(q2["period_label"]) == {"2023-Q2"}
    tb01 = q2.iloc[0]
    # X002 + X003 + X004 = 3.25 h; M001, M002, M003 all traded in Q2. M001 gave 2.5 and received nothing
    # (X001 is in Q1), M002 only received, M003 gave 0.75 and received 1: one two-way member of three.
    assert (tb01["hours_exchanged"], tb01["exchanges"], tb01["trading_members"], tb01["two_way_members"]) == (3.25, 3, 3, 1)
    assert tb01["two_way_share"] == pytest.approx(1 / 3)
    assert (tb01["members"], tb01["active_members"]) == (3, 3)  # M004 is the pot (system): not a member
    assert q2.iloc[1]["members"] == 1 and q2.iloc[1]["hours_total"] == 0
    q3 = timebank_activity_periods(staged, start=dt.date(2023, 7, 1), end=dt.date(2023, 10, 1), run_id="r")
    assert q3.iloc[0]["hours_donated_pot"] == 1.0 and q3.iloc[0]["hours_exchanged"] == 0
    assert (q3.iloc[0]["period_end"], q3.iloc[0]["period_complete"]) == (pd.Timestamp("2023-07-01"), False)
    assert timebank_activity_periods(staged, start=dt.date(2023, 10, 1), end=dt.date(2024, 1, 1), run_id="r").empty


def test_periods_equal_the_full_mart_rows(staged):
    s = ReciprocitySettings(as_of=dt.date(2024, 3, 31))  # retention and activity relative to a later date
    full = timebank_activity(staged, s, run_id="full")
    periods = timebank_activity_periods(staged, s, start=dt.date(2022, 1, 1), end=dt.date(2024, 1, 1), run_id="p")
    expected = full[full["period_type"] == "quarter"].reset_index(drop=True)
    pd.testing.assert_frame_equal(periods.drop(columns="run_id"), expected.drop(columns="run_id"))


def test_readmission_rates_by_quarter_by_hand():
    con = duckdb.connect()
    con.execute("CREATE SCHEMA core")
    con.execute("""CREATE TABLE core.index_discharges AS SELECT * FROM (VALUES
        (DATE '2024-01-10', '2024Q1', true, true, true, 'TB01', NULL, 'RX1', 'E01'),
        (DATE '2024-02-10', '2024Q1', true, false, false, NULL, NULL, 'RX1', NULL),
        (DATE '2024-03-10', '2024Q1', false, false, false, NULL, NULL, 'RX1', 'E01'),
        (DATE '2024-04-10', '2024Q2', true, false, false, NULL, NULL, 'RX2', 'E01'))
        t(discharged_on, quarter, full_follow_up, readmitted, exposed, timebank_id, programme_id, provider_id, area_code)""")
    q1 = readmission_rates_by_quarter(con, dt.date(2024, 1, 1), dt.date(2024, 4, 1))
    rows = {(r.dimension, r.value): (r.discharges, r.readmissions) for r in q1.itertuples()}
    # The third discharge has no full follow-up: out. One of two readmitted.
    assert rows == {("overall", "all"): (2, 1), ("exposure", "participant"): (1, 1),
                    ("exposure", "non_participant"): (1, 0), ("timebank", "TB01"): (1, 1),
                    ("provider", "RX1"): (2, 1), ("area", "E01"): (1, 1), ("area", "(missing)"): (1, 0)}
    overall = q1[q1["dimension"] == "overall"].iloc[0]
    assert (overall["quarter"], overall["quarter_start"], overall["rate"]) == ("2024Q1", pd.Timestamp("2024-01-01"), 0.5)
    assert (overall["ci_low"], overall["ci_high"]) == pytest.approx((0.0945, 0.9055), abs=1e-4)  # Wilson, 1 of 2
    assert readmission_rates_by_quarter(con, dt.date(2024, 7, 1), dt.date(2024, 10, 1)).empty


# --- the Dagster side ----------------------------------------------------------------------------

def test_quarterly_partitions_and_jobs():
    keys = quarters.get_partition_keys(current_time=dt.datetime(2024, 5, 15))
    assert keys[:2] == ["2014-01-01", "2014-04-01"] and keys[-1] == "2024-04-01"  # the quarter in progress too
    assert first_quarter("2010-04-01") == "2010-04-01"
    with pytest.raises(ValueError, match="first day of a quarter"):
        first_quarter("2010-02-01")
    assert quarterly_defs.resolve_job_def(quarterly_job.name).partitions_def == quarters
    unpartitioned = defs.resolve_job_def(all_assets_job.name)
    assert unpartitioned.partitions_def is None
    selected = unpartitioned.asset_layer.selected_asset_keys
    assert dg.AssetKey(["marts", "timebank_activity"]) in selected
    assert not {a.key for a in quarterly_assets} & selected
    # Not in the main location at all, so its "Materialize all" is one unpartitioned run.
    assert not {a.key for a in quarterly_assets} & set(defs.resolve_asset_graph().get_all_asset_keys())


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    """A generated sample (300 persons), ingested and measured by one unpartitioned run."""
    tmp = tmp_path_factory.mktemp("partitions")
    subprocess.run([sys.executable, "-m", "data.generate", "--persons", "300", "--seed", "3", "--out", str(tmp / "in")],
                   cwd=REPO, check=True, capture_output=True)
    warehouse = tmp / "w.duckdb"
    result = dg.materialize([*ingest_assets, timebank_activity_asset, index_discharges_asset, mart_assets["marts.readmission_rates"]],
                            resources=_resources(tmp, warehouse))
    assert result.success
    shutil.copy(warehouse, tmp / "cli.duckdb")  # the CLI backfill starts from the same unpartitioned state
    return tmp, warehouse


def _resources(tmp: Path, warehouse: Path) -> dict:
    return {"warehouse": Warehouse(path=str(warehouse)),
            "settings": Settings(input_dir=str(tmp / "in"), output_dir=str(tmp / "out"), config_path="", demo=True)}


def _assert_same_as_unpartitioned(path: Path) -> pd.DataFrame:
    """The quarterly tables equal the unpartitioned marts' rows for FOUR, every column but run_id."""
    with duckdb.connect(str(path), read_only=True) as con:
        parts = con.execute(f"SELECT * FROM {TIMEBANK_TABLE} ORDER BY timebank_id, period_start").df()
        full = con.execute("SELECT * FROM marts.timebank_activity WHERE period_type = 'quarter' "
                           "AND period_label BETWEEN '2023-Q1' AND '2023-Q4' ORDER BY timebank_id, period_start").df()
        rates = con.execute(f"SELECT quarter AS value, discharges, readmissions, rate, ci_low, ci_high FROM {RATES_TABLE} "
                            "WHERE dimension = 'overall' ORDER BY quarter").df()
        full_rates = con.execute("SELECT value, discharges, readmissions, rate, ci_low, ci_high FROM marts.readmission_rates "
                                 "WHERE dimension = 'quarter' AND value BETWEEN '2023Q1' AND '2023Q4' ORDER BY value").df()
        by_dimension = con.execute(f"SELECT quarter, dimension, sum(discharges) FROM {RATES_TABLE} "
                                   "WHERE dimension IN ('overall', 'exposure', 'provider', 'area') GROUP BY ALL").fetchall()
    assert len(full) == 16 and full["hours_exchanged"].sum() > 0  # 4 time banks x 4 quarters, with activity
    assert (parts["quarter_start"].dt.strftime("%Y-%m-%d").unique().tolist()) == FOUR
    pd.testing.assert_frame_equal(parts.drop(columns=["quarter_start", "run_id"]), full.drop(columns="run_id"),
                                  check_exact=False, rtol=0, atol=1e-9)
    assert len(full_rates) == 4 and full_rates["discharges"].sum() > 0
    pd.testing.assert_frame_equal(rates, full_rates, check_exact=False, rtol=0, atol=1e-9)
    # Every discharge has one exposure, provider and area: each breakdown adds up to the quarter's total.
    totals = {q: n for q, d, n in by_dimension if d == "overall"}
    assert all(n == totals[q] for q, _, n in by_dimension)
    return parts


def test_four_partition_runs_equal_one_unpartitioned_run_and_a_rerun_replaces_its_slice(sample):
    tmp, warehouse = sample
    for key in FOUR:
        result = dg.materialize(quarterly_assets, resources=_resources(tmp, warehouse), partition_key=key)
        checks = result.get_asset_check_evaluations()
        assert result.success and len(checks) == 2 and all(c.passed for c in checks)  # aggregate_only, partitioned
    before = _assert_same_as_unpartitioned(warehouse)
    assert before["run_id"].nunique() == 4  # one run per quarter
    rerun = dg.materialize(quarterly_assets, resources=_resources(tmp, warehouse), partition_key="2023-04-01")
    after = _assert_same_as_unpartitioned(warehouse)  # no duplicates, same numbers
    changed = after.loc[after["run_id"] != before["run_id"], "quarter_start"].dt.strftime("%Y-%m-%d").unique()
    assert list(changed) == ["2023-04-01"] and set(after.loc[after["run_id"] == rerun.run_id, "period_label"]) == {"2023-Q2"}
    with duckdb.connect(str(warehouse)) as con:
        window = (dt.date(2023, 4, 1), dt.date(2023, 7, 1))
        assert aggregate_only(con, RATES_TABLE, rerun.run_id, window).passed
        assert not aggregate_only(con, RATES_TABLE, "another-run", window).passed  # the quarter is not its
        con.execute(f"UPDATE {RATES_TABLE} SET run_id = 'unrecorded' WHERE quarter_start = DATE '2023-01-01'")
        failed = aggregate_only(con, RATES_TABLE, rerun.run_id, window)
        assert not failed.passed and failed.metadata["rows_of_unrecorded_runs"].value > 0
        con.execute(f"UPDATE {RATES_TABLE} SET run_id = ? WHERE quarter_start = DATE '2023-01-01' AND dimension = 'overall'",
                    [rerun.run_id])  # that quarter now mixes two runs
        mixed = aggregate_only(con, RATES_TABLE, rerun.run_id, window)
        assert not mixed.passed and mixed.metadata["slices_from_several_runs"].value == 1


def test_cli_backfill_of_a_partition_range_in_one_run(sample, tmp_path):
    tmp, _ = sample
    (tmp_path / "dagster.yaml").touch()
    env = {**os.environ, "DAGSTER_HOME": str(tmp_path), "OUTCOMES_WAREHOUSE": str(tmp / "cli.duckdb"),
           "OUTCOMES_INPUT_DIR": str(tmp / "in"), "OUTCOMES_CONFIG": ""}
    command = [str(BIN / "dagster"), "asset", "materialize", "-m", "pipelines.quarterly_definitions",
               "--select", "marts/timebank_activity_quarterly,marts/readmission_rates_quarterly",
               "--partition-range", f"{FOUR[0]}...{FOUR[-1]}"]
    done = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    parts = _assert_same_as_unpartitioned(tmp / "cli.duckdb")
    assert parts["run_id"].nunique() == 1  # the four quarters in one run
    with dg.DagsterInstance.from_config(str(tmp_path)) as instance:
        records = instance.fetch_materializations(dg.AssetKey(["marts", "timebank_activity_quarterly"]), limit=10).records
        assert sorted(r.partition_key for r in records) == FOUR  # the UI shows four materialised quarters


def test_importing_the_quarterly_assets_warns_nothing():
    """Before: BackfillPolicy.single_run()'s BetaWarning was silenced only in pipelines.quarterly_definitions, so a test
    (or a notebook) importing pipelines.assets.quarterly printed it, twice, in `make test`'s summary."""
    code = ("import warnings, dagster as dg; warnings.simplefilter('error', dg.BetaWarning); "
            "import pipelines.assets.quarterly, pipelines.quarterly_definitions")
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0 and "Warning" not in done.stderr, done.stderr[-2000:]
