"""A provider spell still open at the end of a HES extract is quarantined as not finished, not as an unmapped code.

HES writes the discharge fields only on a spell's last episode (HES Data Dictionary, disdate: "only
present in the record for the last episode of a spell"); every other episode, and the last finished
episode of a spell that had not ended when the year closed, has DISMETH 8 ("not applicable: patient
still in hospital", NHS Data Dictionary Discharge Method) and DISDEST 98 ("not applicable: hospital
provider spell not finished at episode end", NHS Data Dictionary Discharge Destination). Every HES
year has such spells (patients in hospital on 31 March). The preset quarantined them as
unmapped_value on discharge_destination with value 98, "a code the mapping lists", which invites
an evaluator to map 98; now they are spell_not_finished, a rule on the spell (group.keep), since
only the spell's last episode shows it.

tests/fixtures/extracts/hes_apc/hes_apc_open_spells.txt: A01 a finished spell; B02 a one-episode
spell open at the year's end; C03 a two-episode spell open at the year's end; D04 the 2023-24 part
of a spell admitted in 2022-23 (staged from its last episode); E05 a finished spell whose DISDEST 99
(not known) is still unmapped_value.
"""

from __future__ import annotations

import shutil

from pipelines.ingest.stage import ingest_source
from schemas.mapping import MappingUse
from tests.conftest import AS_OF, FIXTURES, KEY


def test_spells_open_at_the_end_of_the_extract_are_quarantined_as_not_finished(tmp_path, warehouse):
    folder = tmp_path / "in" / "hospital_spells"
    folder.mkdir(parents=True)
    shutil.copy(FIXTURES / "extracts" / "hes_apc" / "hes_apc_open_spells.txt", folder / "hes_apc_open_spells.txt")
    report = ingest_source(warehouse, "hospital_spells", folder.parent, run_id="r", as_of=AS_OF.replace(year=2025),
                           key=KEY, mappings=[MappingUse(use="hes_apc_episodes", files="hes_apc*")])
    staged = warehouse.execute("SELECT provider_id, admitted_on::VARCHAR, discharged_on::VARCHAR, specialty "
                               "FROM staging.hospital_spells ORDER BY 1").fetchall()
    assert staged == [("RXX01", "2024-01-01", "2024-01-05", "general_medicine"),
                      ("RXX03", "2023-03-28", "2023-04-06", "geriatric_medicine")]
    quarantined = warehouse.execute(
        "SELECT source_line, rule, \"column\", value FROM quarantine.hospital_spells ORDER BY source_line").fetchall()
    assert quarantined == [(3, "spell_not_finished", "discharged_on", "DISMETH 8, DISDEST 98"),
                           (4, "spell_not_finished", "discharged_on", "DISMETH 8, DISDEST 98"),
                           (7, "unmapped_value", "discharge_destination", "99")]
    # 6 episodes, C03's two make one spell: 5 spells, 2 staged and 3 quarantined.
    assert (report.rows_read, report.rows_staged, report.rows_quarantined) == (5, 2, 3)
