"""One session per terminal: every conversation this process has with a ZK terminal.

Real units keep one TCP session at a time: a second CONNECT ends the first or is refused
(hub.simulator.zk.server documents the evidence). So the hub holds at most one per
terminal. A live listener keeps its session open and lends it to whatever else needs the
terminal meanwhile (a pull, a clock sync, a roster push, a harvest); without a live
session the work opens a session, uses it and closes it, and anyone else wanting the same
terminal waits for their turn instead of opening a second one.

A lent session that fails on the wire is closed: its reader may be out of step with the
terminal, and the listener that held it reconnects.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from typing import Any

from zk.exception import ZKNetworkError

BROKEN = (OSError, ZKNetworkError)  # TimeoutError and ConnectionError are OSErrors


class Line:
    """The hub's one line to one terminal: whose turn it is, and the held session."""

    def __init__(self) -> None:
        self.turn = threading.Lock()
        self._cond = threading.Condition()
        self.waiting = 0  # others queued for a turn (a live listener steps aside for them)
        self.held: Any = None  # the live listener's connected client, lent to others
        self.opened = 0  # sessions this process opened to the terminal
        self.lent = 0  # times the held session was lent to other work

    @contextlib.contextmanager
    def claim(self) -> Iterator[None]:
        """A turn for one piece of work; a listener between two waits lets it go first."""
        with self._cond:
            self.waiting += 1
        try:
            self.turn.acquire()
        finally:
            with self._cond:
                self.waiting -= 1
                self._cond.notify_all()
        try:
            yield
        finally:
            self.turn.release()

    @contextlib.contextmanager
    def listen_turn(self, patience_s: float = 30.0) -> Iterator[None]:
        """The listener's turn: after anyone queued has had theirs."""
        with self._cond:
            self._cond.wait_for(lambda: self.waiting == 0, patience_s)
        with self.turn:
            yield

    def drop_held(self, client: Any) -> None:
        """Forget and close the held session (it broke, or its listener stops)."""
        if self.held is client:
            self.held = None
        with contextlib.suppress(Exception):  # closing a broken session: nothing to save
            client.close()


class SessionManager:
    """The lines of this process, one per terminal (keyed by device id)."""

    def __init__(self) -> None:
        self._lines: dict[int, Line] = {}
        self._lock = threading.Lock()

    def line(self, device_id: int) -> Line:
        with self._lock:
            return self._lines.setdefault(device_id, Line())

    def live_count(self) -> int:
        with self._lock:
            return sum(1 for line in self._lines.values() if line.held is not None)

    @contextlib.contextmanager
    def session(self, target: Any, settings: Any, factory: Callable[[Any, Any], Any]) -> Iterator[Any]:
        """A connected client for `target` for the duration of the block: the held live
        session when there is one, else a session opened now and closed afterwards."""
        line = self.line(target.id)
        with line.claim():
            held = line.held
            if held is not None:
                line.lent += 1
                try:
                    yield held
                except BROKEN:
                    line.drop_held(held)
                    raise
                return
            with factory(target, settings) as client:
                line.opened += 1
                yield client

    def open_held(self, target: Any, settings: Any, factory: Callable[[Any, Any], Any],
                  prepare: Callable[[Any], None] | None = None) -> Any:
        """Connect and keep the session as the terminal's held one (a live listener);
        `prepare` runs on it first (registering for events) within the same turn."""
        line = self.line(target.id)
        with line.claim():
            client = factory(target, settings)
            client.__enter__()
            line.opened += 1
            try:
                if prepare is not None:
                    prepare(client)
            except BaseException:
                line.drop_held(client)
                raise
            line.held = client
            return client


SESSIONS = SessionManager()  # this process's lines
