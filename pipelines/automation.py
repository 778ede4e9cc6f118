"""Operations: a sensor on the input folder and a quarterly schedule, both off by default.

``input_files_sensor`` looks at every file the ingest would read (``discover`` for each
source) under the ``settings`` resource's input folder. Its cursor is the folder's
fingerprint: each file's path, size and modification time. A new, changed or removed file
launches ``all_assets_job`` (ingest and everything downstream); an unchanged folder gives a
skip. A file modified in the last ``QUIET_SECONDS`` is taken to be still arriving, and the
sensor waits for it rather than ingesting half a copy.

``quarterly_refresh`` reruns everything at 06:00 on the first day of each quarter, for
extracts that are replaced in place without a sensor watching.

Both are STOPPED until someone turns them on in the UI (Automation tab) or with
``dagster sensor start`` / ``dagster schedule start``; they need the daemon.
"""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path

import dagster as dg

from pipelines.ingest.readers import discover
from pipelines.resources import Settings
from schemas.raw import SOURCES

JOB_NAME = "all_assets_job"
QUIET_SECONDS = 60


def input_fingerprint(input_dir: str | Path) -> dict[str, list[int]]:
    """``{path relative to the folder: [size in bytes, mtime in ns]}`` for every ingestable file."""
    root = Path(input_dir)
    files = sorted({p for source in SOURCES for p in discover(root, source)})
    return {p.relative_to(root).as_posix(): [p.stat().st_size, p.stat().st_mtime_ns] for p in files}


def _changes(before: dict[str, list[int]], now: dict[str, list[int]]) -> list[str]:
    new = [f"new {name}" for name in now if name not in before]
    changed = [f"changed {name}" for name in now if name in before and before[name] != now[name]]
    removed = [f"removed {name}" for name in before if name not in now]
    return new + changed + removed


@dg.sensor(
    name="input_files_sensor",
    job_name=JOB_NAME,
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.STOPPED,
    description="Launches the ingest and everything downstream when a file in the input folder "
    "(OUTCOMES_INPUT_DIR) is added, changed or removed.",
)
def input_files_sensor(context: dg.SensorEvaluationContext, settings: Settings) -> dg.SensorResult | dg.SkipReason:
    now = input_fingerprint(settings.input_dir)
    if not now:
        return dg.SkipReason(f"no input files under {settings.input_dir}")
    before = json.loads(context.cursor) if context.cursor else {}
    changes = _changes(before, now)
    if not changes:
        return dg.SkipReason(f"no new or changed files under {settings.input_dir}")
    newest = max(mtime for _, mtime in now.values()) / 1e9
    if time.time() - newest < QUIET_SECONDS:
        return dg.SkipReason(f"waiting for files to settle: one was modified less than {QUIET_SECONDS} s ago")
    cursor = json.dumps(now, sort_keys=True)
    context.log.info(f"{len(changes)} change(s) under {settings.input_dir}: " + "; ".join(changes))
    return dg.SensorResult(
        run_requests=[
            dg.RunRequest(
                run_key=hashlib.sha256(cursor.encode()).hexdigest()[:16],
                tags={"outcomes/trigger": "input_files", "outcomes/changed_files": str(len(changes))},
            )
        ],
        cursor=cursor,
    )


quarterly_refresh = dg.ScheduleDefinition(
    name="quarterly_refresh",
    job_name=JOB_NAME,
    cron_schedule="0 6 1 1,4,7,10 *",
    execution_timezone="Europe/London",
    default_status=dg.DefaultScheduleStatus.STOPPED,
    tags={"outcomes/trigger": "quarterly_schedule"},
    description="Reruns the ingest and everything downstream at 06:00 on the first day of each quarter.",
)

sensors = [input_files_sensor]
schedules = [quarterly_refresh]
