"""The settings a table was built with: recorded as read, compared in the settings file's terms."""

import duckdb
import pytest

from models.readmission.settings import ReadmissionSettings
from models.settings_used import Reading, differences, record, recorded


def test_a_reading_records_the_fields_and_properties_a_build_reads_and_nothing_else():
    settings = ReadmissionSettings()
    reading = Reading(settings)
    assert (reading.window_max_days, reading.follow_up_days, reading.index_admission_methods[0]) == (29, 29, "emergency")
    assert reading.model_dump()["window_max_days"] == 29  # a method: handed through, not recorded
    assert reading.used == {"window_max_days": 29, "follow_up_days": 29,
                            "index_admission_methods": ["emergency", "elective", "maternity", "other"]}
    with pytest.raises(AttributeError, match="read-only"):
        reading.window_max_days = 13


def test_differences_name_the_changed_keys_of_the_settings_file():
    con = duckdb.connect()
    assert differences(con, "core.index_discharges", ReadmissionSettings()) == []  # nothing recorded: nothing to refuse
    reading = Reading(ReadmissionSettings())
    reading.follow_up_days, reading.window_max_days, reading.caliper  # noqa: B018 - the build's reads
    record(con, "core.index_discharges", "run-1", "readmission", reading.used)
    assert recorded(con, "core.index_discharges") == ("readmission", {"follow_up_days": 29, "window_max_days": 29,
                                                                     "caliper": 0.2})
    now = ReadmissionSettings(window_max_days=13, enrolment_days_after_discharge=13, caliper=0.1)
    # the property follow_up_days changed with the window, but the key that changed is named
    assert differences(con, "core.index_discharges", now) == [
        "readmission.caliper: 0.2 when core.index_discharges was built, 0.1 now",
        "readmission.window_max_days: 29 when core.index_discharges was built, 13 now"]
    assert differences(con, "core.index_discharges", ReadmissionSettings(enrolment_days_after_discharge=13)) == []
    record(con, "core.index_discharges", "run-2", "readmission", {"window_max_days": 13})  # the latest build replaces
    assert differences(con, "core.index_discharges", now) == []


def test_a_field_this_version_no_longer_has_is_a_difference():
    """A table built by older code under a setting since replaced (comparison_excludes_programmes became
    programme_exclusion) rests on a rule nobody can set now: named, so the table is built again."""
    con = duckdb.connect()
    record(con, "marts.readmission_before_after", "run-1", "readmission",
           {"comparison_excludes_programmes": True, "before_days": 365})
    assert differences(con, "marts.readmission_before_after", ReadmissionSettings()) == [
        "readmission.comparison_excludes_programmes: true when marts.readmission_before_after was built, "
        "no longer a setting"]
