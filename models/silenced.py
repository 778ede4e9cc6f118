"""Warnings silenced around a numerical fit, safely while comparisons run in threads.

``warnings.catch_warnings`` saves the process's warning filters on entry and puts them back on exit
(Python 3.11: "not thread-safe"). Two threads inside it at once can leave the other's ``"ignore"`` in
place for the rest of the run (A enters, B enters and saves A's ignore, A leaves, B leaves and restores
it), silencing every later warning of the process. The readmission, reoffending and well-being
comparisons run in threads (``workers``), so every silenced fit takes one lock.
"""

from __future__ import annotations

import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager

_LOCK = threading.RLock()


@contextmanager
def silenced() -> Iterator[None]:
    """Every warning ignored inside the block, the filters as they were after it, one thread at a time."""
    with _LOCK, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield
