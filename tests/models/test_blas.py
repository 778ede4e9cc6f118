"""The models' matrix products run on one BLAS thread, and the limit is put back only when no block is left."""

import threading

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_info, threadpool_limits

from models.blas import one_blas_thread
from models.comparison import match


def blas_threads() -> set[int]:
    return {lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"}


def test_overlapping_blocks_in_two_threads_keep_one_thread_until_the_last_leaves():
    """A enters, B enters, A leaves: B is still inside, so BLAS must stay on one thread (a plain
    ``threadpool_limits`` per block would put A's saved two threads back under B); B leaves: two again."""
    seen = {}
    a_inside, b_inside, a_left, b_may_leave = (threading.Event() for _ in range(4))

    def a():
        with one_blas_thread():
            a_inside.set()
            b_inside.wait(5)
        a_left.set()

    def b():
        a_inside.wait(5)
        with one_blas_thread():
            b_inside.set()
            a_left.wait(5)
            seen["after A left"] = blas_threads()
            b_may_leave.wait(5)

    with threadpool_limits(limits=2, user_api="blas"):  # two threads before, as on the two-core machine
        ta, tb = threading.Thread(target=a), threading.Thread(target=b)
        ta.start(), tb.start()
        a_left.wait(5)
        b_may_leave.set()
        ta.join(5), tb.join(5)
        assert seen["after A left"] == {1}
        assert blas_threads() == {2}


def test_a_plain_limit_in_the_main_thread_still_restores_after_a_worker_thread_used_one():
    """A pool worker that stays alive after its block must not keep threadpoolctl's control: the main thread's own
    ``threadpool_limits`` block, around it, puts back two threads when it ends."""
    from concurrent.futures import ThreadPoolExecutor

    @one_blas_thread()
    def fit():
        return blas_threads()

    with threadpool_limits(limits=2, user_api="blas"), ThreadPoolExecutor(1) as pool:
        with threadpool_limits(limits=1, user_api="blas"):
            assert pool.submit(fit).result() == {1}
        assert blas_threads() == {2}


def test_the_installed_openblas_runs_one_pool_for_the_process():
    """models.blas counts blocks across threads because the limit of a pthreads OpenBLAS is process-wide; an OpenMP
    build limits each thread on its own, and the count would then be wrong."""
    layers = {lib["threading_layer"] for lib in threadpool_info() if lib["internal_api"] == "openblas"}
    assert layers == {"pthreads"}


def test_the_engine_matches_on_one_thread_and_puts_the_limit_back(monkeypatch):
    """Seen from inside ``match`` (its design step), BLAS is on one thread; after it, on two as before."""
    import models.comparison.sample as sample

    inside = []
    build = sample.build_design

    def observed(*args, **kwargs):
        inside.append(blas_threads())
        return build(*args, **kwargs)

    monkeypatch.setattr(sample, "build_design", observed)
    rng = np.random.default_rng(3)
    df = pd.DataFrame({"t": np.r_[np.ones(40), np.zeros(160)].astype(int), "age": rng.normal(50, 10, 200)})
    with threadpool_limits(limits=2, user_api="blas"):
        matched = match(df, "t", ["age"])
        assert inside and all(n == {1} for n in inside)
        assert blas_threads() == {2}
    assert matched.n_treated == 40
