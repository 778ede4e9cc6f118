"""Real runs for the page tests: synthetic inputs, ingest, every model, the pages, in one Dagster run.

Social value is valued with the demo's impact map (data/demo/impact_map.yaml) in a run that
is not in demo mode (a real key). Two untrusted funder names are added to the grants file:
a script tag and a spreadsheet formula. ``hardening_run`` is the same on the hardening tests' small input.
"""


import os
import subprocess
import sys
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from pipelines.assets.diagnostics import diagnostics_assets
from pipelines.assets.pages import page_assets
from pipelines.assets.readmission import readmission_assets
from pipelines.assets.reciprocity import reciprocity_assets
from pipelines.assets.reoffending import reoffending_assets
from pipelines.assets.social_value import social_value_assets
from pipelines.assets.wellbeing import wellbeing_assets
from pipelines.assets.coverage import coverage_assets
from pipelines.assets.effect_register import effect_register_assets
from pipelines.ingest.assets import ingest_assets
from pipelines.provenance_assets import run_record
from pipelines.resources import Settings, Warehouse
from tests.conftest import KEY, append_rows
from tests.hardening.runs import SECRET_KEY, generate_inputs

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = "<script>alert(1)</script>"
FORMULA = "=HYPERLINK(\"http://x\",\"y\")"


def full_run(base: Path, inputs: Path, key: str) -> tuple[Path, Path, Path]:
    """Every asset, ingest to pages, in one in-process Dagster run on ``inputs`` with pseudonym key ``key`` (not demo
    mode; the demo's impact map values social value); (site folder, warehouse path, input folder)."""
    previous = os.environ.get("OUTCOMES_PSEUDONYM_KEY")
    os.environ["OUTCOMES_PSEUDONYM_KEY"] = key
    site, warehouse = base / "site", base / "warehouse.duckdb"
    config = base / "config.yaml"
    config.write_text(f"social_value:\n  impact_map: {ROOT / 'data' / 'demo' / 'impact_map.yaml'}\n  draws: 500\n")
    resources = {"warehouse": Warehouse(path=str(warehouse)),
                 "settings": Settings(input_dir=str(inputs), output_dir=str(site), config_path=str(config), demo=False)}
    try:
        result = dg.materialize([*ingest_assets, run_record, *readmission_assets, *reoffending_assets, *wellbeing_assets,
                                 *reciprocity_assets, *social_value_assets, *diagnostics_assets, *effect_register_assets,
                                 *coverage_assets, *page_assets],
                                resources=resources, raise_on_error=False)
    finally:
        if previous is None:
            os.environ.pop("OUTCOMES_PSEUDONYM_KEY")
        else:
            os.environ["OUTCOMES_PSEUDONYM_KEY"] = previous
    failures = [e.step_key for e in result.all_events if e.is_step_failure]
    assert result.success, failures
    return site, warehouse, inputs


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory):
    """(site folder, warehouse path, input folder) of one full run on 1,500 synthetic people."""
    base = tmp_path_factory.mktemp("demo")
    inputs = base / "inputs"
    subprocess.run([sys.executable, "-m", "data.generate", "--persons", "1500", "--seed", "7", "--out", str(inputs), "--quiet"],
                   check=True, cwd=ROOT)
    append_rows(inputs / "grants.csv", f"G901,{SCRIPT},TB01,5000,2023-01-01,2023-12-31",
                f"G902,\"{FORMULA.replace(chr(34), chr(34) * 2)}\",TB02,6000,2023-01-01,2023-12-31")
    return full_run(base, inputs, KEY.decode())


@pytest.fixture(scope="session")
def hardening_run(tmp_path_factory):
    """The same, on the hardening tests' input (tests/hardening/runs.py: 300 persons, seed 3, hostile text), with their
    secret key: small groups, where disclosure control bites on most tables."""
    base = tmp_path_factory.mktemp("hardening")
    generate_inputs(base / "inputs")
    return full_run(base, base / "inputs", SECRET_KEY)


@pytest.fixture(scope="session")
def empty_warehouse(demo_run, tmp_path_factory):
    """A warehouse whose marts exist with their real columns but no rows (every source supplied empty)."""
    _, full, _ = demo_run
    path = tmp_path_factory.mktemp("empty") / "warehouse.duckdb"
    con = duckdb.connect(str(path))
    con.execute(f"ATTACH '{full}' AS src (READ_ONLY)")
    con.execute("CREATE SCHEMA marts; CREATE SCHEMA meta")
    for schema, table in con.execute("SELECT schema_name, table_name FROM duckdb_tables() WHERE database_name = 'src' "
                                     "AND schema_name IN ('marts', 'meta')").fetchall():
        con.execute(f"CREATE TABLE {schema}.{table} AS SELECT * FROM src.{schema}.{table} LIMIT 0")
    con.execute("DETACH src")
    yield con
    con.close()
