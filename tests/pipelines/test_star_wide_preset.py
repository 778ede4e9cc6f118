"""Star readings exported wide with areas named in words (preset star_wide_readings; layout assumed, see the preset).

The fixture has 3 rows: A01 (3 areas filled, 1 empty), B02 (2 recovery star areas and
'Motivation', not an area of the Recovery Star) and C03 (a version not in the registry).
Readings made: 3 + 3 + 1 = 7; staged 5; quarantined 2 (one unknown area, one unknown version).
"""

from __future__ import annotations

import shutil

from pipelines.ingest.stage import ingest_source
from schemas.mapping import MappingUse
from tests.conftest import AS_OF, FIXTURES, KEY

PERSONS = "person_id,birth_date,sex,area_code,imd_decile\nA01,1950-01-01,female,,\nB02,1960-01-01,male,,\nC03,1970-01-01,female,,\n"


def test_wide_star_readings_are_long_with_registry_names_and_unknown_names_quarantined(tmp_path, warehouse):
    folder = tmp_path / "in"
    (folder / "star_readings").mkdir(parents=True)
    (folder / "persons.csv").write_text(PERSONS)
    shutil.copy(FIXTURES / "extracts" / "star" / "star_wide_readings.csv", folder / "star_readings")
    ingest_source(warehouse, "persons", folder, run_id="r", as_of=AS_OF, key=KEY)
    report = ingest_source(warehouse, "star_readings", folder, run_id="r", as_of=AS_OF.replace(year=2025), key=KEY,
                           mappings=[MappingUse(use="star_wide_readings")])
    assert (report.rows_read, report.rows_staged, report.rows_quarantined) == (7, 5, 2)
    assert warehouse.execute("SELECT star_version, assessed_on::VARCHAR, area, score FROM staging.star_readings "
                             "ORDER BY assessed_on, area").fetchall() == [
        ("recovery_star", "2024-01-10", "managing_mental_health", 3.0),
        ("recovery_star", "2024-01-10", "physical_health_self_care", 4.0),
        ("recovery_star", "2024-01-10", "trust_hope", 5.0),
        ("recovery_star", "2024-01-12", "managing_mental_health", 6.0),
        ("recovery_star", "2024-01-12", "trust_hope", 9.0)]
    assert warehouse.execute("SELECT source_line, \"column\", rule, value FROM quarantine.star_readings ORDER BY source_line").fetchall() == [
        (3, "area", "unknown_area", "motivation"), (4, "star_version", "unknown_star_version", "Family Star Plus")]
