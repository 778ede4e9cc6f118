"""One BLAS thread for the models' matrix products: the same last bits for any number of cores, and no oversubscription.

OpenBLAS, under numpy, splits a matrix product over as many threads as the machine has cores, and each thread's
partial sums are added in an order that depends on that count: a propensity fit's logits, and so an overlap row's
pooled SD and caliper width, moved by up to 8e-15 of their value between one thread and two at 1M persons (1.5e-16
in the demo; docs/benchmarks.md, "The well-being effects step and its own-person rule"). On one thread they are the
same whatever the cores, though not across CPU types (OpenBLAS picks its kernels by CPU, and they sum differently).
The comparisons also run in ``workers`` Python threads, so on two cores two BLAS threads per Python thread fought
for the same cores (one thread: 20-30% less CPU time).

The OpenBLAS of numpy's and scipy's wheels runs one pool of threads for the process (threadpoolctl reports its
threading layer as "pthreads"; tests/models/test_blas.py checks it), so its limit is process-wide, not per thread:
blocks entered at once by several threads (or nested) share one count, the first in sets one thread, the last out
puts back what was there. threadpoolctl lets only one thread set that limit ("the controlling thread"; calls from
any other are silently ignored); each change here, under one lock, first takes control and then gives it up, so no
thread holds it outside a block. A plain ``threadpool_limits`` running meanwhile in another thread is overridden.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

import numpy  # noqa: F401  (loads numpy's OpenBLAS)
import scipy.linalg  # noqa: F401  (loads scipy's, a second library)
from threadpoolctl import OpenBLASController, ThreadpoolController

# Finds the loaded BLAS libraries (numpy's and scipy's) once: a lookup costs milliseconds, a limit 10 microseconds.
_CONTROLLER = ThreadpoolController()
_LOCK = threading.Lock()
_inside = 0
_limiter = None


@contextmanager
def one_blas_thread() -> Iterator[None]:
    """BLAS runs on one thread inside the block (also a decorator); what it was is restored when no block is left."""
    global _inside, _limiter
    with _LOCK:
        if _inside == 0:
            _limiter = _controlled(lambda: _CONTROLLER.limit(limits=1, user_api="blas"))
        _inside += 1
    try:
        yield
    finally:
        with _LOCK:
            _inside -= 1
            if _inside == 0:
                _controlled(_limiter.restore_original_limits)
                _limiter = None


def _controlled(change):
    """``change()`` made as threadpoolctl's controlling thread, and control given up after it (module docstring)."""
    OpenBLASController.clear_controlling_thread(force=True)
    try:
        return change()
    finally:
        OpenBLASController.clear_controlling_thread(force=True)
