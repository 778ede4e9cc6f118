"""Platform exports map onto the contract and then ingest cleanly."""

from __future__ import annotations

import csv

from pipelines.ingest.platforms import convert
from tests.conftest import FIXTURES, ingest_all


def rows(path):
    with open(path) as handle:
        return list(csv.DictReader(handle))


def test_timeoverflow_transfer_direction_and_hours(tmp_path):
    out = rows(convert("timeoverflow", FIXTURES / "platforms" / "timeoverflow_transfers.csv", "TB01", tmp_path))
    # Ana received 1:30 of company from Joan: Joan gave, Ana received.
    assert (out[0]["giver_id"], out[0]["receiver_id"], float(out[0]["hours"]), out[0]["kind"]) == ("M002", "M001", 1.5, "exchange")
    assert float(out[1]["hours"]) == 0.75
    assert (out[2]["receiver_id"], out[2]["giver_id"], out[2]["kind"]) == ("org-TB01", "M001", "system_credit")


def test_community_weaver_history_ingests(inputs, warehouse):
    convert("community_weaver", FIXTURES / "platforms" / "exchange_history.csv", "TB01", inputs)
    report = ingest_all(warehouse, inputs)["timebank_exchanges"]
    assert (report.rows_read, report.rows_staged, report.rows_quarantined) == (6, 6, 0)
    assert warehouse.execute("SELECT hours FROM staging.timebank_exchanges WHERE exchange_id = '9001'").fetchone() == (1.25,)
