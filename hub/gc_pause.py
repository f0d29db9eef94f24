"""Python's cycle collector paused while bulk work runs.

A full pull or a big ingest allocates millions of short-lived objects (records, punches,
rows) that reference counting frees and that form no cycles. The cycle collector still
runs every 700 allocations and walks the survivors again and again: measured with
bench/poll_fleet.py it took a third of a pull worker's CPU. While any thread is inside
`gc_paused()` the collector is off; it comes back, as it was, when the last one leaves, and
catches any cycle made meanwhile on its next run.
"""

from __future__ import annotations

import contextlib
import gc
import threading
from collections.abc import Iterator

_lock = threading.Lock()
_inside = 0
_was_enabled = False


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    global _inside, _was_enabled
    with _lock:
        if _inside == 0:
            _was_enabled = gc.isenabled()
            gc.disable()
        _inside += 1
    try:
        yield
    finally:
        with _lock:
            _inside -= 1
            if _inside == 0 and _was_enabled:
                gc.enable()
