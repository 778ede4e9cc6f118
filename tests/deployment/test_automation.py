"""The input-folder sensor and the quarterly schedule: real ticks on a real folder, and their registration."""

from __future__ import annotations

import datetime as dt
import os
import time

import dagster as dg
import pytest

from pipelines.automation import QUIET_SECONDS, input_files_sensor, quarterly_refresh
from pipelines.definitions import defs
from pipelines.resources import Settings
from tests.conftest import append_rows


def tick(folder, cursor=None):
    context = dg.build_sensor_context(cursor=cursor, resources={"settings": Settings(input_dir=str(folder))})
    return input_files_sensor(context)


def age(path, seconds=QUIET_SECONDS + 5):
    """Make a file look as if it was written ``seconds`` ago (the sensor waits for fresh files)."""
    then = time.time() - seconds
    os.utime(path, (then, then))


@pytest.fixture
def settled(inputs):
    for path in inputs.iterdir():
        age(path)
    return inputs


def test_first_tick_launches_then_unchanged_folder_skips(settled):
    first = tick(settled)
    assert isinstance(first, dg.SensorResult)
    [request] = first.run_requests
    assert request.tags == {"outcomes/trigger": "input_files", "outcomes/changed_files": "11"}
    second = tick(settled, cursor=first.cursor)
    assert isinstance(second, dg.SkipReason)
    assert second.skip_message.startswith("no new or changed files")


def test_changed_new_and_removed_files_each_launch_a_new_run(settled):
    cursor = tick(settled).cursor
    seen = {tick(settled).run_requests[0].run_key}

    append_rows(settled / "grants.csv", "G9,F,TB01,10,2023-01-01,2023-12-31")
    age(settled / "grants.csv")
    changed = tick(settled, cursor)
    assert [r.tags["outcomes/changed_files"] for r in changed.run_requests] == ["1"]

    (settled / "persons_2025q1.csv").write_text((settled / "persons.csv").read_text())
    age(settled / "persons_2025q1.csv")
    added = tick(settled, changed.cursor)
    assert len(added.run_requests) == 1

    (settled / "offences.csv").unlink()
    removed = tick(settled, added.cursor)
    assert len(removed.run_requests) == 1

    keys = {r.run_key for result in (changed, added, removed) for r in result.run_requests}
    assert len(keys | seen) == 4  # a distinct run key per folder state
    assert isinstance(tick(settled, removed.cursor), dg.SkipReason)


def test_waits_for_a_file_still_being_written(settled):
    cursor = tick(settled).cursor
    append_rows(settled / "grants.csv", "G9,F,TB01,10,2023-01-01,2023-12-31")  # modified just now
    waiting = tick(settled, cursor)
    assert isinstance(waiting, dg.SkipReason) and "settle" in waiting.skip_message
    age(settled / "grants.csv")
    assert len(tick(settled, cursor).run_requests) == 1  # the cursor was not advanced while waiting


def test_files_the_ingest_ignores_do_not_trigger(settled):
    cursor = tick(settled).cursor
    (settled / "notes.txt").write_text("not a source\n")
    (settled / "persons.bak").write_text("old copy\n")
    age(settled / "notes.txt")
    age(settled / "persons.bak")
    assert isinstance(tick(settled, cursor), dg.SkipReason)


def test_empty_or_missing_folder_skips(tmp_path):
    assert "no input files" in tick(tmp_path).skip_message
    assert "no input files" in tick(tmp_path / "absent").skip_message


def test_quarterly_schedule_requests_the_full_job():
    assert quarterly_refresh.cron_schedule == "0 6 1 1,4,7,10 *"
    assert quarterly_refresh.execution_timezone == "Europe/London"
    context = dg.build_schedule_context(scheduled_execution_time=dt.datetime(2026, 4, 1, 6, 0))
    [request] = quarterly_refresh.evaluate_tick(context).run_requests
    assert request.tags["outcomes/trigger"] == "quarterly_schedule"


def test_both_are_registered_stopped_and_target_the_full_job():
    sensor = defs.resolve_sensor_def("input_files_sensor")
    schedule = defs.resolve_schedule_def("quarterly_refresh")
    assert sensor.default_status == dg.DefaultSensorStatus.STOPPED
    assert schedule.default_status == dg.DefaultScheduleStatus.STOPPED
    job = defs.resolve_job_def("all_assets_job")
    assert sensor.job_name == schedule.job_name == job.name
    repo = defs.get_repository_def()
    assert {s.name for s in repo.sensor_defs} >= {"input_files_sensor"}
    assert {s.name for s in repo.schedule_defs} >= {"quarterly_refresh"}
