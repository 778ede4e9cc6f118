"""Warnings silenced in one comparison thread are not left silenced for the rest of the run."""

import threading
import warnings

from models.silenced import silenced


def test_two_threads_leave_the_filters_as_they_were():
    """Thread A is inside the block when thread B asks to enter. Without one lock B would save A's "ignore" and
    put it back after A had left, silencing every later warning of the process; with it B waits for A."""
    before = list(warnings.filters)
    a_inside, a_may_leave, b_entered = threading.Event(), threading.Event(), threading.Event()

    def a():
        with silenced():
            a_inside.set()
            a_may_leave.wait(5)

    def b():
        a_inside.wait(5)
        with silenced():
            b_entered.set()

    ta, tb = threading.Thread(target=a), threading.Thread(target=b)
    ta.start(), tb.start()
    assert not b_entered.wait(0.5)  # B waits while A is inside
    a_may_leave.set()
    ta.join(5), tb.join(5)
    assert b_entered.is_set()
    assert warnings.filters == before
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        warnings.warn("still heard", UserWarning)
    assert [str(w.message) for w in seen] == ["still heard"]
