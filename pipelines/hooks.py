"""Step hooks: each step's freed memory handed back to the kernel when the step ends (``pipelines.memory``).

Steps run one after another in one process (``in_process_executor``); without this, the memory a step freed stays
with the process through every later step, and a run's peak is a step's own plus what came before it. The hooks sit
on every asset (``AssetsDefinition.with_hooks``), not on one job, so every run has them: ``all_assets_job``, the UI's
"Materialize all" (Dagster's implicit asset job) and the quarterly location's job.
"""

from __future__ import annotations

import dagster as dg

from pipelines import memory


@dg.success_hook(name="release_memory_after_success")
def _after_success(context: dg.HookContext) -> None:
    memory.release_freed()


@dg.failure_hook(name="release_memory_after_failure")
def _after_failure(context: dg.HookContext) -> None:
    memory.release_freed()


#: the hooks every asset carries
STEP_HOOKS = {_after_success, _after_failure}


def with_step_hooks(assets: list) -> list:
    """Every asset definition with :data:`STEP_HOOKS` (specs without a step are left as they are)."""
    return [a.with_hooks(STEP_HOOKS) if isinstance(a, dg.AssetsDefinition) else a for a in assets]
