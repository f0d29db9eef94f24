"""The cycle collector is paused while bulk work runs and comes back as it was."""

from __future__ import annotations

import gc
import threading

import pytest

from hub.gc_pause import gc_paused


@pytest.fixture(autouse=True)
def _restore_gc():
    was = gc.isenabled()
    yield
    (gc.enable if was else gc.disable)()


def test_paused_inside_and_back_after_even_on_error() -> None:
    gc.enable()
    with gc_paused():
        assert not gc.isenabled()
    assert gc.isenabled()
    with pytest.raises(ZeroDivisionError), gc_paused():
        1 / 0  # noqa: B018
    assert gc.isenabled()


def test_a_collector_switched_off_by_the_caller_stays_off() -> None:
    gc.disable()
    with gc_paused():
        pass
    assert not gc.isenabled()


def test_back_only_when_the_last_thread_leaves() -> None:
    gc.enable()
    inside, leave_first, seen = threading.Event(), threading.Event(), []

    def first() -> None:
        with gc_paused():
            inside.set()
            leave_first.wait(5)

    t = threading.Thread(target=first)
    t.start()
    inside.wait(5)
    with gc_paused():
        leave_first.set()
        t.join(5)
        seen.append(gc.isenabled())  # the first thread left; this one is still inside
    assert seen == [False]
    assert gc.isenabled()
