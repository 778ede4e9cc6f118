"""The numpy and malloc settings of a pipeline process (pipelines/memory.py): what they are, that an
operator's own values win, and that a real process started through them runs with them."""

from __future__ import annotations

import glob
import os
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest

from pipelines.memory import MALLOC_TUNABLES, STARTED, TUNABLES, environment, is_set

REPO = Path(__file__).resolve().parents[2]
LOADERS = glob.glob("/lib64/ld-linux-*.so.*") + glob.glob("/lib/ld-linux-*.so.*")


def test_the_settings_are_added_to_an_empty_environment():
    env = environment({})
    assert env == {"NUMPY_MADVISE_HUGEPAGE": "0",
                   TUNABLES: "glibc.malloc.arena_max=1:glibc.malloc.mmap_threshold=268435456:"
                             "glibc.malloc.trim_threshold=68719476736"}
    assert is_set(env) and not is_set({}) and not is_set({"NUMPY_MADVISE_HUGEPAGE": "0"})


def test_an_operators_own_values_are_kept_and_the_rest_added():
    env = environment({"NUMPY_MADVISE_HUGEPAGE": "1", TUNABLES: "glibc.malloc.arena_max=4:glibc.malloc.check=0",
                       "PATH": "/bin"})
    assert env["NUMPY_MADVISE_HUGEPAGE"] == "1" and env["PATH"] == "/bin"
    assert env[TUNABLES] == ("glibc.malloc.arena_max=4:glibc.malloc.check=0:"
                             "glibc.malloc.mmap_threshold=268435456:glibc.malloc.trim_threshold=68719476736")
    assert is_set(env) and environment(env) == env  # applying them twice changes nothing


def _without_settings() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k not in ("NUMPY_MADVISE_HUGEPAGE", TUNABLES, STARTED)}


def _through_launcher(*command: str) -> str:
    done = subprocess.run([sys.executable, "-m", "pipelines.memory", *command], cwd=REPO, env=_without_settings(),
                          capture_output=True, text=True, timeout=120, check=True)
    return done.stdout


def test_a_command_started_through_the_launcher_has_numpy_without_huge_page_advice():
    out = _through_launcher(sys.executable, "-c", "import numpy._core.multiarray as m; print(m._get_madvise_hugepage())")
    assert out.strip() == "False"


@pytest.mark.skipif(sys.platform != "linux" or not LOADERS, reason="glibc's dynamic loader lists the tunables")
def test_glibc_reads_every_tunable_the_launcher_sets():
    # the loader prints the values it parsed: a misspelt name or a value out of range would show its default
    listed = dict(line.split(": ", 1) for line in _through_launcher(LOADERS[0], "--list-tunables").splitlines()
                  if ": " in line)
    for name, value in MALLOC_TUNABLES.items():
        assert int(listed[name].split()[0], 16) == int(value), name


def test_the_launcher_without_a_command_says_how_to_use_it():
    done = subprocess.run([sys.executable, "-m", "pipelines.memory"], cwd=REPO, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 2 and "usage: python -m pipelines.memory COMMAND" in done.stderr


def test_the_launcher_names_a_command_it_cannot_run():
    done = subprocess.run([sys.executable, "-m", "pipelines.memory", "no-such-command-here"], cwd=REPO,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 127
    assert done.stderr.strip() == "pipelines.memory: cannot run 'no-such-command-here': No such file or directory"


def test_a_launched_command_gets_the_default_broken_pipe_signal():
    # Python ignores SIGPIPE; a command started with it still ignored would complain when its reader stops
    done = subprocess.run([sys.executable, "-m", "pipelines.memory", "sh", "-c", "yes | head -1"], cwd=REPO,
                          env=_without_settings(), capture_output=True, text=True, timeout=120)
    assert (done.returncode, done.stdout, done.stderr) == (0, "y\n", "")


@pytest.mark.skipif(sys.platform != "linux", reason="the process is replaced on Linux only")
def test_a_process_replaces_itself_once_with_the_settings():
    # what `python -m pipelines.run` does first: without the settings it runs again with them; with them it goes on
    code = ("import sys; from pipelines.memory import execute_with_settings; "
            "execute_with_settings([sys.executable, '-c', 'import os; print(\"replaced\", os.environ[\"GLIBC_TUNABLES\"])']); "
            "print('went on')")
    env = _without_settings()
    first = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert first.stdout.strip() == "replaced " + environment({})[TUNABLES]
    again = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=environment(env), capture_output=True, text=True,
                           timeout=120)
    assert again.stdout.strip() == "went on"


@pytest.mark.skipif(sys.platform != "linux", reason="the process is replaced on Linux only")
def test_python_m_pipelines_run_runs_again_with_the_settings_before_anything_else(tmp_path):
    # a sitecustomize prints the settings each time the interpreter starts: twice, the second time with them
    (tmp_path / "sitecustomize.py").write_text(
        "import os, sys\nprint('START', os.environ.get('GLIBC_TUNABLES'), os.environ.get('NUMPY_MADVISE_HUGEPAGE'), "
        "file=sys.stderr)\n")
    env = {**{k: v for k, v in _without_settings().items() if not k.startswith("OUTCOMES_")},
           "PYTHONPATH": str(tmp_path), "OUTCOMES_INPUT_DIR": str(tmp_path / "missing"),
           "OUTCOMES_WAREHOUSE": str(tmp_path / "w.duckdb"), "OUTCOMES_OUTPUT_DIR": str(tmp_path / "site")}
    done = subprocess.run([sys.executable, "-m", "pipelines.run"], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=300)
    starts = [line for line in done.stderr.splitlines() if line.startswith("START")]
    assert starts == ["START None None", f"START {environment({})[TUNABLES]} 0"]
    assert done.returncode == 2  # then the preflight refuses the missing input folder, as without the settings


FREED = """
import numpy as np
from pipelines import memory

def rss_mib():
    return int(next(l for l in open('/proc/self/status') if l.startswith('VmRSS')).split()[1]) // 1024

blocks = [np.ones(1 << 17) for _ in range(400)]  # 400 blocks of 1 MiB: from the heap, under the mmap threshold
del blocks
kept = rss_mib()
released = memory.release_freed()
print(kept, rss_mib(), released)
"""


@pytest.mark.skipif(sys.platform != "linux", reason="glibc's malloc_trim")
def test_a_step_s_freed_memory_goes_back_to_the_kernel_when_released():
    """With the run's settings malloc keeps what a step frees (trim_threshold 64 GiB): 400 MiB freed stays resident
    until :func:`release_freed`, which the jobs call after every step (pipelines.hooks)."""
    out = subprocess.run([sys.executable, "-c", FREED], env={**environment(_without_settings()), "PYTHONPATH": str(REPO)},
                         cwd=REPO, capture_output=True, text=True, check=True).stdout.split()
    kept, after, released = int(out[0]), int(out[1]), out[2]
    assert released == "True" and kept - after > 300, out


def test_every_asset_of_both_locations_carries_the_release_hooks():
    """On the assets, not on one job: the UI's "Materialize all" (the implicit asset job) and the quarterly job
    run them too."""
    from pipelines.definitions import defs
    from pipelines.hooks import STEP_HOOKS
    from pipelines.quarterly_definitions import defs as quarterly

    assets = [a for d in (defs, quarterly) for a in d.assets if isinstance(a, dg.AssetsDefinition)]
    assert len(assets) > 40 and all(a.hook_defs == STEP_HOOKS for a in assets)
    assert {h.name for h in STEP_HOOKS} == {"release_memory_after_step"}


def test_a_run_of_the_main_location_s_assets_runs_the_release_hook_after_each_step(tmp_path):
    """A real run of an asset taken from the main location, in a job built from the assets alone (as the UI's
    "Materialize all" is): the hook completes after the step."""
    from pipelines.definitions import defs
    from tests.pipelines.test_effect_register_asset import register_inputs

    resources, _ = register_inputs(tmp_path)
    register = [a for a in defs.assets if dg.AssetKey(["marts", "effect_register"]) in getattr(a, "keys", ())]
    result = dg.materialize(register, resources=resources)
    assert result.success
    hooks = [e for e in result.all_events if e.event_type == dg.DagsterEventType.HOOK_COMPLETED]
    assert [(e.step_key, e.message.split('"')[1]) for e in hooks] == [
        ("marts__effect_register", "release_memory_after_step")]
    # before, the failure hook's HOOK_SKIPPED after every step: 43 lines on the page of a run that succeeded
    assert not [e for e in result.all_events if e.event_type == dg.DagsterEventType.HOOK_SKIPPED]


def test_the_release_hook_runs_after_a_step_that_failed_too(monkeypatch):
    from pipelines import hooks, memory

    released = []
    monkeypatch.setattr(memory, "release_freed", lambda: released.append(True))

    @dg.asset
    def broken():
        raise dg.Failure(description="broken on purpose")

    result = dg.materialize(hooks.with_step_hooks([broken]), raise_on_error=False)
    assert not result.success and released == [True]
    [hook] = [e for e in result.all_events if e.event_type == dg.DagsterEventType.HOOK_COMPLETED]
    assert hook.step_key == "broken" and not [e for e in result.all_events
                                              if e.event_type == dg.DagsterEventType.HOOK_SKIPPED]
