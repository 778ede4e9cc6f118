"""Materialise every asset headless: ``python -m pipelines.run`` (``make run`` / ``make demo``).

Paths and settings come from OUTCOMES_INPUT_DIR, OUTCOMES_CONFIG, OUTCOMES_WAREHOUSE,
OUTCOMES_OUTPUT_DIR and OUTCOMES_PSEUDONYM_KEY (OUTCOMES_DEMO=1 for the demo). The run is
recorded in DAGSTER_HOME, so it shows in `make ui` afterwards.

Before anything runs, ``pipelines.preflight`` checks the settings, the key and the folders;
a mistake stops here with one message and exit code 2. During the run the terminal shows one
progress line (``pipelines.progress``); Dagster's full log goes to
``<warehouse>.logs/<run id>.log``. At the end: the headline figures, each check warning in
plain words, a note on each input file not read as written (not UTF-8), the log file and the path of ``index.html``. Exit code 0 when the run succeeded,
1 when a step or a blocking check failed.
"""

from __future__ import annotations

import logging
import os
import sys
import time
import uuid
import warnings
from pathlib import Path

from pipelines.memory import execute_with_settings


#: A new DAGSTER_HOME's settings (the Makefile's ``setup`` writes the same): no usage statistics sent, and no telemetry
#: banner on the first run; a run launched from the UI logs to `make ui`'s terminal at INFO (its steps' own messages and
#: warnings), not at Dagster's default DEBUG, which wrote every event of every step there (about 400 lines for
#: "Materialize all"; the run's page shows them). The run's event log, and this module's own loggers, are unchanged.
#: One run at a time from the queue (the UI's, the sensor's, the schedule's): a second "Materialize all" waits, queued,
#: for the first to finish. Before, the two ran together on the one DuckDB file, their steps in turn (the pool
#: ``warehouse`` has no limit on this instance), each step waiting up to ``wait_seconds`` for the other's to let go.
#: No first-visit dialog (``nux``): before, the UI opened with Dagster's "Join the Dagster community" over the asset graph
#: and its "Materialize all", asking for an e-mail address for its newsletter.
DAGSTER_YAML = ("telemetry:\n  enabled: false\nnux:\n  enabled: false\npython_logs:\n  python_log_level: INFO\n"
                "concurrency:\n  runs:\n    max_concurrent_runs: 1\n")


def log_path(warehouse_path: str, run_id: str) -> Path:
    """``<warehouse>.logs/<run id>.log``: next to the warehouse, never in the published output folder."""
    return Path(f"{warehouse_path}.logs") / f"{run_id}.log"


def _instance():
    """The DAGSTER_HOME instance (created when the folder is missing), or an ephemeral one when it is unset."""
    import dagster as dg

    home = os.environ.get("DAGSTER_HOME")
    if not home:
        return dg.DagsterInstance.ephemeral()
    Path(home).mkdir(parents=True, exist_ok=True)
    config = Path(home) / "dagster.yaml"
    if not config.exists():
        config.write_text(DAGSTER_YAML)
    return dg.DagsterInstance.get()


def main() -> int:
    # imported here, not above: `python -m pipelines.run` first executes itself again with the memory
    # settings (pipelines.memory), before anything heavy (dagster, duckdb) has been imported for nothing
    from pipelines.ingest.pseudonymise import DEMO_WARNING
    from pipelines.preflight import PreflightError, check
    from pipelines.resources import Settings, Warehouse

    settings, warehouse = Settings(), Warehouse()
    try:
        check(settings.input_dir, settings.output_dir, settings.config_path, settings.demo, warehouse.path)
    except PreflightError as err:
        print(err, file=sys.stderr)
        return 2
    if settings.demo:
        print(f"*** {DEMO_WARNING} ***", file=sys.stderr)

    run_id = str(uuid.uuid4())
    log_file = log_path(warehouse.path, run_id)
    from pipelines import progress, summary

    handler = progress.file_handler(log_file)
    # Python warnings (library deprecations, fits that did not converge) go to the log, not the terminal.
    logging.captureWarnings(True)
    logging.getLogger("py.warnings").addHandler(handler)
    logging.getLogger("py.warnings").propagate = False
    with warnings.catch_warnings():
        warnings.simplefilter("default")
        from pipelines.definitions import all_assets_job, defs

        job = defs.resolve_job_def(all_assets_job.name)
        tracker = progress.RunProgress.for_job(job)
        job = job.with_logger_defs({"progress": tracker.logger_def(), "log_file": progress.file_logger(handler)})
        print(f"Running {tracker.total} asset groups; full log: {log_file}")
        started, began = time.monotonic(), time.time()
        with _instance() as instance:
            result = job.execute_in_process(run_config={"loggers": {"progress": {}, "log_file": {}}},
                                            instance=instance, raise_on_error=False, run_id=run_id)
        tracker.finish()
    handler.close()

    print(f"Run {run_id}: {'succeeded' if result.success else 'FAILED'}")
    print(f"Time:      {progress.elapsed(time.monotonic() - started)}")
    for line in summary.step_failures(result, job):
        print(f"  {line}")
    if result.success:
        print("Headline figures:")
        for line in summary.headlines(settings.output_dir):
            print(f"  {line}")
    for line in summary.check_warnings(result, job.asset_layer.asset_graph):
        print(f"  {line}")
    for line in summary.file_notes(result):
        print(f"  {line}")
    earlier = summary.earlier_pages(settings.output_dir, began)
    if earlier:
        print(f"  Not rebuilt by this run, so still an earlier run's figures: {', '.join(earlier)}")
    print(f"Full log:  {log_file}")
    print(f"Warehouse: {warehouse.path}")
    index = Path(settings.output_dir) / "index.html"
    if not index.exists():
        print(f"No pages written: {index} is missing.")
    else:
        print(f"Open:      {index}" + (" (an earlier run's page)" if index.name in earlier else ""))
    return 0 if result.success else 1


if __name__ == "__main__":
    execute_with_settings([sys.executable, *sys.orig_argv[1:]])  # numpy and malloc settings (pipelines.memory)
    sys.exit(main())
