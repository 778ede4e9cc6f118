"""The provenance section names the impact map a demo run valued (its settings name none)."""

from __future__ import annotations

import duckdb

from dashboards.provenance import sections
from models.config import OutcomesConfig
from models.disclosure import DisclosureRule
from pipelines.provenance import record_run


def _configuration(tmp_path, demo: bool, config: OutcomesConfig) -> str:
    with duckdb.connect(str(tmp_path / f"w{demo}.duckdb")) as con:
        record_run(con, "R1", config, demo=demo, input_dir=str(tmp_path))
        (section, *_) = sections(con, ["R1"], DisclosureRule())
    return section.html


def test_a_demo_run_says_which_impact_map_it_valued(tmp_path):
    """In demo mode the configuration reads impact_map: null, and the demo's own map was valued: said beside it."""
    shown = _configuration(tmp_path, True, OutcomesConfig())
    assert "&quot;impact_map&quot;: null" in shown
    assert "the demo's own impact map was valued (<code>data/demo/impact_map.yaml</code>)" in shown
    assert "demo's own impact map" not in _configuration(tmp_path, False, OutcomesConfig())
    named = OutcomesConfig.model_validate({"social_value": {"impact_map": str(tmp_path / "map.yaml")}})
    assert "demo's own impact map" not in _configuration(tmp_path, True, named)
