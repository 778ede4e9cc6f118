"""The benchmark's per-step memory: a child that holds 300 MB for a second is seen holding it."""

import math
import subprocess
import sys
import time

from bench.pipeline import MemorySampler

HOLD = "import time; block = bytearray(300 * 1024 * 1024); time.sleep(1.5)"


def test_sampler_sees_the_memory_a_child_holds_and_stops_when_it_exits():
    before = time.time()
    child = subprocess.Popen([sys.executable, "-c", HOLD])
    sampler = MemorySampler(child.pid, interval=0.05)
    child.wait()
    sampler._thread.join(timeout=5)  # it stops by itself when the process is gone
    assert not sampler._thread.is_alive()
    sampler.stop()
    assert sampler.peak_between(before, time.time()) > 300 * 1024 * 1024
    assert math.isnan(sampler.peak_between(0, before - 10))
