"""Step hooks: each step's freed memory handed back to the kernel when the step ends (``pipelines.memory``).

Steps run one after another in one process (``in_process_executor``); without this, the memory a step freed stays
with the process through every later step, and a run's peak is a step's own plus what came before it. The hook sits
on every asset (``AssetsDefinition.with_hooks``), not on one job, so every run has it: ``all_assets_job``, the UI's
"Materialize all" (Dagster's implicit asset job) and the quarterly location's job.

One hook for a step that succeeded and one that failed alike (Dagster's ``HookDefinition``, whose function sees the
step's events and says it ran): before, a success hook and a failure hook, one of which Dagster skipped after every
step, wrote a HOOK_SKIPPED line per step (43 in a run) on the run's page.
"""

from __future__ import annotations

import dagster as dg

from pipelines import memory

RELEASE = "release_memory_after_step"


def _release(context: dg.HookContext, events: list) -> dg.HookExecutionResult:
    memory.release_freed()
    return dg.HookExecutionResult(hook_name=RELEASE, is_skipped=False)


#: the hooks every asset carries
STEP_HOOKS = {dg.HookDefinition(name=RELEASE, hook_fn=_release)}


def with_step_hooks(assets: list) -> list:
    """Every asset definition with :data:`STEP_HOOKS` (specs without a step are left as they are)."""
    return [a.with_hooks(STEP_HOOKS) if isinstance(a, dg.AssetsDefinition) else a for a in assets]
