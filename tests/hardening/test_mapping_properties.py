"""Properties of extracts read through a mapping: nothing lost, and nobody credited for an unknown account."""

from __future__ import annotations

import csv
import tempfile
from pathlib import Path

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipelines.ingest.readers import SourceFileError
from pipelines.ingest.stage import ingest_source
from schemas.mapping import MappingUse
from tests.conftest import AS_OF, KEY

USES = [MappingUse(use="timeoverflow_transfers", parameters={"timebank_id": "TB01", "organisation": "Banc de Temps"})]
ACCOUNTS = st.one_of(
    st.sampled_from(["Ana Garcia (1)", "Joan Puig (2)", "Banc de Temps", "The user isn't active", "L'usuari ja no existeix",
                     "El usuario no está activo", "Somebody", ""]),
    st.text(max_size=15),
)
QUANTITIES = st.one_of(st.sampled_from(["1:30", "0:45", "25:00", "0:00", "1.5", "", "2:75"]), st.text(max_size=6))
DATES = st.one_of(st.dates(AS_OF.replace(year=2020), AS_OF).map(lambda d: f"{d} 10:15:00 +0100"), st.text(max_size=12))


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(DATES, ACCOUNTS, ACCOUNTS, st.text(max_size=10), QUANTITIES), min_size=1, max_size=15))
def test_every_row_is_staged_or_quarantined_and_only_known_accounts_are_credited(rows):
    with tempfile.TemporaryDirectory(prefix="prop-map-") as tmp:
        folder = Path(tmp)
        (folder / "timebank_exchanges").mkdir()
        with open(folder / "timebank_exchanges" / "transfers.csv", "w", newline="", encoding="utf-8") as handle:
            out = csv.writer(handle)
            out.writerow(["Date", "From", "To", "Post", "Quantity"])
            out.writerows(rows)
        with duckdb.connect(str(folder / "w.duckdb")) as con:
            report = ingest_source(con, "timebank_exchanges", folder, run_id="p", as_of=AS_OF, key=KEY, mappings=USES)
            assert report.rows_read == report.rows_staged + report.rows_quarantined
            known = {con.execute("SELECT pseudonym(?)", [x]).fetchone()[0] for x in ("1", "2", "org-TB01")}
            accounts = con.execute("SELECT giver_id FROM staging.timebank_exchanges UNION SELECT receiver_id FROM staging.timebank_exchanges").fetchall()
    assert {a for (a,) in accounts} <= known | {None}


def test_a_bad_mapping_of_your_own_fails_the_source_naming_file_and_key(tmp_path):
    (tmp_path / "service_contacts").mkdir()
    (tmp_path / "service_contacts" / "x.csv").write_text("a,b\n1,2\n")
    mapping = tmp_path / "mine.yaml"
    mapping.write_text("source: service_contacts\ndescription: x\ncolumns: {p: a}\noutput: {person_id: p, service: \"'gp'\", "
                       "contact_on: \"__import__('os')\"}\n")
    with duckdb.connect() as con, pytest.raises(SourceFileError) as err:
        ingest_source(con, "service_contacts", tmp_path, run_id="r", as_of=AS_OF, key=KEY,
                      mappings=[MappingUse(use="mine.yaml")], mapping_base=tmp_path)
    assert str(mapping) in str(err.value) and "output.contact_on" in str(err.value) and "[rule: mapping]" in str(err.value)
