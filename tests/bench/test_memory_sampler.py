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


def test_a_child_reports_its_peak_memory_and_cpu_seconds():
    """The lines the benchmark's child prints (REPORT) read back as KiB and CPU seconds: a child that holds
    200 MB and counts for a while reports at least that memory and more CPU than an idle one."""
    from bench.pipeline import REPORT, reported

    def run(code):
        return reported(subprocess.run([sys.executable, "-c", code + "\n" + REPORT], capture_output=True, text=True,
                                       check=True).stdout)

    peak, busy = run("block = bytearray(200 * 1024 * 1024); n = sum(range(20_000_000))")
    _, idle = run("pass")
    assert peak > 200 * 1024 and busy > idle + 0.2
    assert reported("no figures here")[0] == 0 and math.isnan(reported("")[1])
