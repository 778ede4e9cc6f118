"""marts.effect_register materialises in a Dagster run from the effects marts, and passes its publication check
(declared on the asset and evaluated inside it)."""

from __future__ import annotations

import dagster as dg
import duckdb
import numpy as np
import pytest

from models.comparison.register import REGISTER_COLUMNS
from pipelines.assets.effect_register import effect_register_assets
from pipelines.resources import Settings, Warehouse
from tests.models.test_comparison_register import readmission, reoffending, wellbeing


def register_inputs(tmp_path):
    """A warehouse holding the three effects marts, and the resources that run the register on it."""
    path = tmp_path / "w.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute("CREATE SCHEMA marts")
        for name, frame in (("readmission_effects", readmission()), ("reoffending_effects", reoffending()),
                            ("wellbeing_effects", wellbeing())):
            con.register("f", frame.assign(run_id="earlier"))
            con.execute(f"CREATE TABLE marts.{name} AS SELECT * FROM f")
            con.unregister("f")
    config = tmp_path / "config.yaml"
    config.write_text("effects:\n  primary_outcome:\n    '*': readmission:readmitted_within_30_days\n"
                      "    P1: reoffending:binary_rate\n")
    resources = {"warehouse": Warehouse(path=str(path)),
                 "settings": Settings(input_dir=str(tmp_path), output_dir=str(tmp_path / "out"),
                                      config_path=str(config), demo=True)}
    return resources, path


@pytest.fixture()
def run(tmp_path):
    resources, path = register_inputs(tmp_path)
    return dg.materialize(effect_register_assets, resources=resources), path


def test_register_materialises_with_roles_and_adjusted_p_values(run):
    result, path = run
    assert result.success
    checks = {e.check_name: e.passed for e in result.get_asset_check_evaluations()}
    assert checks == {"aggregate_only": True}
    with duckdb.connect(str(path), read_only=True) as con:
        cols = [r[0] for r in con.execute("SELECT column_name FROM information_schema.columns WHERE table_schema = "
                                          "'marts' AND table_name = 'effect_register' ORDER BY ordinal_position").fetchall()]
        assert cols == [*REGISTER_COLUMNS, "run_id"]
        reg = con.execute("SELECT * FROM marts.effect_register").df()
    assert len(reg) == 8 and set(reg["run_id"]) == {result.run_id}
    assert (reg["n_comparisons"] == 7).all()
    primary = reg.loc[reg["analysis_role"] == "primary", ["programme", "outcome"]].values.tolist()
    assert sorted(primary) == [["P1", "binary_rate"], ["any", "readmitted_within_30_days"],
                               ["programme", "readmitted_within_30_days"],
                               ["timebank", "readmitted_within_30_days"]]
    # not estimated: kept, with empty p-values
    gap = reg[reg["programme"] == "programme"].iloc[0]
    assert np.isnan(gap["p_value"]) and np.isnan(gap["p_value_holm"]) and gap["verdict"] == "not estimated"
    assert (reg["p_value_holm"].dropna() >= reg.loc[reg["p_value_holm"].notna(), "p_value"] - 1e-12).all()
