"""How a pipeline process takes memory: numpy without transparent huge pages, glibc's malloc keeping what is freed.

The model steps build and drop arrays of millions of rows (trial rows, design matrices, matched
samples), many of them in worker threads. With the defaults two things make that slow:

* numpy advises the kernel to back every array of 4 MB or more with transparent huge pages
  (numpy, "Global state": ``NUMPY_MADVISE_HUGEPAGE``). Where the kernel's huge-page policy is
  ``madvise`` with ``defrag`` on ``madvise``, a first touch of such an array waits for the kernel to
  compact memory into 2 MB pages: a new 600 MB array took 3.6 s to fill, against 0.5 s without;
* glibc's malloc gives every allocation above 32 MB (and, in a worker thread, above 64 MB)
  its own ``mmap`` and returns it on ``free``, so the next array of that size is new memory again,
  faulted in page by page (glibc manual, "Memory Allocation Tunables").

:data:`NUMPY_HUGEPAGE` turns numpy's advice off and :data:`MALLOC_TUNABLES` make malloc keep freed
memory for reuse: one arena (``glibc.malloc.arena_max``, so worker threads allocate from the same
heap), blocks up to 256 MiB from that heap rather than their own ``mmap``
(``glibc.malloc.mmap_threshold``), and freed memory kept (``glibc.malloc.trim_threshold``). Blocks
above 256 MiB (whole design matrices) still get their own ``mmap``: kept in the one heap they left holes
that raised the peak at 3M persons from 12.2 to 14.7 GiB, against 12.8 GiB this way. At 1M persons the
whole run took 149–181 s against 191–246 s with the defaults (0.70–0.86 of it in pairs run in the same hour),
with every mart identical and the peak at 4.3–4.6 GiB (docs/benchmarks.md).

Within a step that is what makes it fast; across steps it would add up, since what one step freed stays with the
process while the next one runs (at 3M persons a step held 6.8 GiB alone and 9.6 GiB in the run).
:func:`release_freed` hands it back (glibc's ``malloc_trim(0)``, which also returns free pages inside the heap) and
every asset calls it when its step ends (``pipelines.hooks``), in whichever job runs it, so a step's memory is its own.

Both settings are read when a process starts (the tunables by the dynamic loader, numpy's flag when numpy is
imported), so they are set in the environment of the process that runs the pipeline:

* ``python -m pipelines.run`` (``make demo``, ``make run``) executes itself again with them;
* ``python -m pipelines.memory COMMAND ...`` runs another command with them (``make ui``: the Dagster
  UI, whose runs inherit its environment);
* the container image sets them (``deploy/Dockerfile``), and ``bench.pipeline`` passes them to its run.

A setting already in the environment is kept, so an operator can still choose otherwise. Only on Linux:
elsewhere ``pipelines.run`` runs as it is (the tunables are glibc's). Long-running services started through
the launcher (the webserver, the daemon, code servers) also keep the memory they free, so each holds
on to its own peak.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
from collections.abc import Mapping

#: numpy's flag (numpy "Global state", "madvise hugepage on Linux")
NUMPY_HUGEPAGE = {"NUMPY_MADVISE_HUGEPAGE": "0"}
#: glibc tunables (glibc manual, "Memory Allocation Tunables"): name -> value
MALLOC_TUNABLES = {
    "glibc.malloc.arena_max": "1",
    "glibc.malloc.mmap_threshold": str(256 * 2**20),  # 256 MiB: columns of millions of rows come from the heap
    "glibc.malloc.trim_threshold": str(2**36),  # 64 GiB: freed memory stays with the process
}
TUNABLES = "GLIBC_TUNABLES"
#: set in the environment of a process :func:`execute_with_settings` started, so it never starts another
STARTED = "OUTCOMES_MEMORY_SETTINGS_APPLIED"


def environment(base: Mapping[str, str]) -> dict[str, str]:
    """``base`` with :data:`NUMPY_HUGEPAGE` and :data:`MALLOC_TUNABLES` added; a variable or tunable
    ``base`` already sets keeps its value."""
    env = {**NUMPY_HUGEPAGE, **base}
    given = [t for t in base.get(TUNABLES, "").split(":") if t]
    named = {t.split("=", 1)[0] for t in given}
    env[TUNABLES] = ":".join([*given, *(f"{k}={v}" for k, v in MALLOC_TUNABLES.items() if k not in named)])
    return env


def release_freed() -> bool:
    """Give the memory this process has freed back to the kernel: glibc's ``malloc_trim(0)`` (malloc_trim(3): free
    pages anywhere in the heap are released, not only at its top). Whether any was released; False off glibc."""
    if sys.platform != "linux":
        return False
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return False
    return bool(libc.malloc_trim(0))


def is_set(env: Mapping[str, str]) -> bool:
    """Whether ``env`` already names every setting (with :func:`environment`'s values or the operator's)."""
    return dict(env) == environment(env)


def execute_with_settings(argv: list[str]) -> None:
    """Replace this process by ``argv`` run with :func:`environment`, once (Linux only; elsewhere, when the
    settings are already there, and in the process this started, return and let the caller go on)."""
    if sys.platform != "linux" or is_set(os.environ) or STARTED in os.environ:
        return
    _execute(argv, {**environment(os.environ), STARTED: "1"})


def _execute(argv: list[str], env: dict[str, str]) -> None:
    """``os.execvpe`` with the signals Python ignores at start-up (SIGPIPE, SIGXFSZ) back to their defaults,
    as ``subprocess`` does for its children: a command such as ``yes | head -1`` then ends quietly."""
    for name in ("SIGPIPE", "SIGXFSZ"):
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), signal.SIG_DFL)
    os.execvpe(argv[0], argv, env)


def main() -> int:
    """``python -m pipelines.memory COMMAND [ARGS...]``: run COMMAND with the settings (returns only when
    there is no command to run)."""
    if len(sys.argv) < 2 or sys.argv[1] in ("-h", "--help"):
        print("usage: python -m pipelines.memory COMMAND [ARGS...]", file=sys.stderr)
        return 2
    try:
        _execute(sys.argv[1:], environment(os.environ))
    except OSError as err:
        print(f"pipelines.memory: cannot run {sys.argv[1]!r}: {err.strerror}", file=sys.stderr)
        return 127
    return 0  # not reached: the command has replaced this process


if __name__ == "__main__":
    sys.exit(main())
