"""HES APC episodes read through the shipped preset give the same readmission marts as their contract-form twin.

tests/fixtures/extracts/hes_apc/hes_apc_episodes.csv holds the 31 spells of
tests/fixtures/readmission/hospital_spells.csv written as HES APC episodes (NHS Data
Dictionary codes): three spells have two episodes (a transfer out split in two; a spell
admitted under general medicine and discharged from geriatric medicine; a cancer code in the
second episode only), plus one unfinished episode and one regular day attender, which the
preset quarantines. hospital_spells_contract_twin.csv is the same 31 spells in contract form.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from pipelines.assets.readmission import readmission_assets
from pipelines.ingest.assets import ingest_assets
from pipelines.resources import Settings, Warehouse

FIXTURES = Path(__file__).parents[1] / "fixtures"
HES = FIXTURES / "extracts" / "hes_apc"
CONFIG = "ingest:\n  max_quarantined_share: 0.1\n"
MAPPING = "mappings:\n  hospital_spells:\n    - use: hes_apc_episodes\n      files: '*hes_apc*'\n"


def _run(tmp_path: Path, name: str, spells: Path, config: str):
    inputs = tmp_path / name / "in"
    shutil.copytree(FIXTURES / "readmission", inputs)
    (inputs / "hospital_spells.csv").unlink()
    shutil.copy(spells, inputs / ("hospital_spells_" + spells.name))
    (tmp_path / name / "config.yaml").write_text(config)
    warehouse = tmp_path / name / "w.duckdb"
    resources = {
        "warehouse": Warehouse(path=str(warehouse)),
        "settings": Settings(input_dir=str(inputs), output_dir=str(tmp_path / name / "out"),
                             config_path=str(tmp_path / name / "config.yaml"), demo=True),
    }
    result = dg.materialize([*ingest_assets, *readmission_assets], resources=resources, raise_on_error=False)
    assert result.success
    return duckdb.connect(str(warehouse), read_only=True)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("hes")
    mp = pytest.MonkeyPatch()
    mp.delenv("OUTCOMES_PSEUDONYM_KEY", raising=False)
    hes = _run(tmp, "hes", HES / "hes_apc_episodes.csv", CONFIG + MAPPING)
    twin = _run(tmp, "twin", HES / "hospital_spells_contract_twin.csv", CONFIG)
    yield hes, twin
    hes.close(), twin.close()
    mp.undo()


def _rows(con, sql):
    return sorted(con.execute(sql).fetchall(), key=repr)


def test_same_spells_as_the_contract_twin(runs):
    hes, twin = runs
    columns = "person_id, provider_id, admitted_on, discharged_on, admission_method, discharge_destination, specialty, cancer"
    spells = _rows(hes, f"SELECT {columns} FROM staging.hospital_spells")
    assert len(spells) == 31 and spells == _rows(twin, f"SELECT {columns} FROM staging.hospital_spells")


def test_same_readmission_rates_as_the_contract_twin(runs):
    hes, twin = runs
    sql = "SELECT * EXCLUDE (run_id) FROM marts.readmission_rates"
    assert _rows(hes, sql) == _rows(twin, sql)
    assert hes.execute("SELECT discharges, readmissions FROM marts.readmission_rates WHERE dimension = 'overall'").fetchone() == (21, 7)


def test_episodes_that_make_no_spell_are_quarantined_with_their_rule(runs):
    hes, _ = runs
    assert hes.execute("SELECT source_line, rule, value FROM quarantine.hospital_spells ORDER BY source_line").fetchall() == [
        (36, "unfinished_episode", "1"), (37, "regular_attender", "3")]
    read, staged, quarantined, mapping, notes = hes.execute(
        "SELECT rows_read, rows_staged, rows_quarantined, mapping, notes FROM meta.input_files WHERE source = 'hospital_spells'").fetchone()
    assert (read, staged, quarantined, mapping) == (33, 31, 2, "hes_apc_episodes")
    assert "36 input row(s) became 33" in notes  # 34 episodes make 31 spells; 2 quarantined


def test_primary_diagnosis_is_the_first_episodes_diag_4_01(runs):
    """G07's spell of 2023-07-10 has two episodes, R104 then C182 (the cancer code): the spell's primary diagnosis is
    the first episode's, as given; every other spell's only or first episode has R69X. The twin has no such column."""
    hes, twin = runs
    rows = dict(hes.execute("SELECT admitted_on::VARCHAR || ' ' || cancer::VARCHAR, primary_diagnosis FROM staging.hospital_spells "
                            "WHERE primary_diagnosis <> 'R69X'").fetchall())
    assert rows == {"2023-07-10 true": "R104"}
    assert hes.execute("SELECT count(*), count(primary_diagnosis) FROM staging.hospital_spells").fetchone() == (31, 31)
    assert twin.execute("SELECT count(primary_diagnosis) FROM staging.hospital_spells").fetchone() == (0,)
