"""Community Weaver exports map onto the contract and then ingest cleanly (TimeOverflow: test_timeoverflow_presets)."""

from __future__ import annotations

from pipelines.ingest.platforms import convert
from tests.conftest import FIXTURES, ingest_all


def test_community_weaver_history_ingests(inputs, warehouse):
    convert("community_weaver", FIXTURES / "platforms" / "exchange_history.csv", "TB01", inputs)
    report = ingest_all(warehouse, inputs)["timebank_exchanges"]
    assert (report.rows_read, report.rows_staged, report.rows_quarantined) == (6, 6, 0)
    assert warehouse.execute("SELECT hours FROM staging.timebank_exchanges WHERE exchange_id = '9001'").fetchone() == (1.25,)
