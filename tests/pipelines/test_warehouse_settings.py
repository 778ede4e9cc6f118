"""The config's ``warehouse:`` section reaches every writing connection (real DuckDB file)."""

import pytest

from models.config import ConfigError, load_config
from pipelines.resources import Warehouse


def test_memory_limit_and_temp_directory_apply_to_the_connection(tmp_path, monkeypatch):
    spill = tmp_path / "spill"
    config = tmp_path / "settings.yaml"
    config.write_text(f"warehouse:\n  memory_limit: 1.5GiB\n  temp_directory: {spill}\n")
    monkeypatch.setenv("OUTCOMES_CONFIG", str(config))
    with Warehouse(path=str(tmp_path / "w.duckdb")).connect() as con:
        limit, temp = con.execute("SELECT current_setting('memory_limit'), current_setting('temp_directory')").fetchone()
    assert limit == "1.5 GiB"
    assert temp == str(spill)


def test_default_memory_limit_is_4gb(tmp_path, monkeypatch):
    monkeypatch.delenv("OUTCOMES_CONFIG", raising=False)
    with Warehouse(path=str(tmp_path / "w.duckdb")).connect() as con:
        limit, temp = con.execute("SELECT current_setting('memory_limit'), current_setting('temp_directory')").fetchone()
    assert limit == "3.7 GiB"  # 4 GB (10^9 bytes) shown in GiB
    assert temp.endswith("w.duckdb.tmp")


def test_a_malformed_memory_limit_names_the_field(tmp_path):
    config = tmp_path / "settings.yaml"
    config.write_text("warehouse:\n  memory_limit: lots\n")
    with pytest.raises(ConfigError, match="warehouse.memory_limit"):
        load_config(config)



@pytest.mark.parametrize("section, field, name", [("readmission", "funnel_covariates", "const"),
                                                  ("readmission", "matching_covariates", "treated"),
                                                  ("reoffending", "covariates", "const"),
                                                  ("wellbeing", "covariates", "const")])
def test_a_covariate_named_like_a_model_term_is_refused_on_load(tmp_path, section, field, name):
    """A funnel covariate called 'const' used to stop the readmission step mid-run (pandas: cannot insert const, already
    exists); now the settings name the field before the run starts."""
    path = tmp_path / "config.yaml"
    path.write_text(f"{section}:\n  {field}: [age, {name}]\n")
    with pytest.raises(ConfigError, match=rf"{section}\.{field}\n.*cannot .*{name}"):
        load_config(path)
