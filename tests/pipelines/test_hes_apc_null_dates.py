"""HES APC's placeholder dates are not dates: the preset quarantines them, never stages them.

HES writes a date the provider left empty or got wrong as a fixed placeholder, not as an empty
field: from 2012-13 1800-01-01 ("null date submitted") and 1801-01-01 ("invalid date
submitted"), before it 1600-01-01 and 1582-10-15. The Health Foundation's HES pipeline turns
all four into missing values before anything else (HFAnalyticsLab/HES_pipeline src/clean.R,
parse_HES: convert_to_NA(..., "1800-01-01") and the same for "1801-01-01", "1600-01-01" and
"1582-10-15" on ADMIDATE, DISDATE, EPISTART, EPIEND, ...). Read as dates, an admission on
1801-01-01 passes every contract rule (it is not in the future and precedes the discharge), and
the episodes of different spells that share the placeholder were grouped into one spell.

tests/fixtures/extracts/hes_apc/hes_apc_null_dates.txt (pipe-delimited, as DARS delivers HES):
A01 a clean spell; B02 two separate spells both with ADMIDATE 1801-01-01; C03 1800-01-01;
D04 1600-01-01 and E05 1582-10-15 (before 2012-13); F06 a DISDATE of 1800-01-01 on the
spell's last episode; G07 a two-episode spell whose first episode has DISDATE 1800-01-01, as
HES writes DISDATE only on the last episode of a spell (HES Data Dictionary, disdate): kept.
"""

from __future__ import annotations

import shutil

from pipelines.ingest.stage import ingest_source
from schemas.mapping import MappingUse
from tests.conftest import AS_OF, FIXTURES, KEY

HES = [MappingUse(use="hes_apc_episodes", files="hes_apc*")]


def test_placeholder_dates_are_quarantined_with_their_rule_not_staged(tmp_path, warehouse):
    folder = tmp_path / "in" / "hospital_spells"
    folder.mkdir(parents=True)
    shutil.copy(FIXTURES / "extracts" / "hes_apc" / "hes_apc_null_dates.txt", folder / "hes_apc_null_dates.txt")
    report = ingest_source(warehouse, "hospital_spells", folder.parent, run_id="r", as_of=AS_OF, key=KEY, mappings=HES)
    staged = warehouse.execute(
        "SELECT provider_id, admitted_on::VARCHAR, discharged_on::VARCHAR FROM staging.hospital_spells ORDER BY 1").fetchall()
    assert staged == [("RXX01", "2023-01-01", "2023-01-05"), ("RXX03", "2023-06-01", "2023-06-06")]
    quarantined = warehouse.execute(
        "SELECT source_line, rule, \"column\", value FROM quarantine.hospital_spells ORDER BY source_line").fetchall()
    assert quarantined == [
        (3, "hes_null_date", "admitted_on", "1801-01-01"),
        (4, "hes_null_date", "admitted_on", "1801-01-01"),
        (5, "hes_null_date", "admitted_on", "1800-01-01"),
        (6, "hes_null_date", "admitted_on", "1600-01-01"),
        (7, "hes_null_date", "admitted_on", "1582-10-15"),
        (8, "hes_null_date", "discharged_on", "1800-01-01"),
    ]
    # Every episode accounted for: 9 episodes, G07's two make one spell; 2 staged + 6 quarantined.
    assert (report.rows_read, report.rows_staged, report.rows_quarantined) == (8, 2, 6)
