"""Materialise every asset headless: ``python -m pipelines.run`` (``make run`` / ``make demo``).

Paths and settings come from OUTCOMES_INPUT_DIR, OUTCOMES_CONFIG, OUTCOMES_WAREHOUSE,
OUTCOMES_OUTPUT_DIR and OUTCOMES_PSEUDONYM_KEY (OUTCOMES_DEMO=1 for the demo). The run is
recorded in DAGSTER_HOME, so it shows in `make ui` afterwards.
"""

from __future__ import annotations

import sys

import dagster as dg

from pipelines.definitions import all_assets_job, defs
from pipelines.ingest.pseudonymise import DEMO_WARNING
from pipelines.resources import Settings, Warehouse


def main() -> int:
    settings, warehouse = Settings(), Warehouse()
    if settings.demo:
        print(f"\n*** {DEMO_WARNING} ***\n", file=sys.stderr)
    job = defs.resolve_job_def(all_assets_job.name)
    with dg.DagsterInstance.get() as instance:
        result = job.execute_in_process(instance=instance, raise_on_error=False)
    failed = [e for e in result.all_events if e.is_step_failure]
    failed_checks = [c for c in result.get_asset_check_evaluations() if not c.passed]
    print(f"Run {result.run_id}: {'succeeded' if result.success else 'FAILED'}")
    for event in failed:
        print(f"  step failed: {event.step_key}: {event.event_specific_data.error.message.strip()}")
    for ev in failed_checks:
        level = "warning" if ev.severity == dg.AssetCheckSeverity.WARN else "check failed"
        print(f"  {level}: {ev.asset_key.to_user_string()} {ev.check_name}")
    print(f"Inputs:    {settings.input_dir}")
    print(f"Warehouse: {warehouse.path}")
    print(f"Outputs:   {settings.output_dir}")
    return 0 if result.success else 1


if __name__ == "__main__":
    sys.exit(main())
