"""Realtime punches (REG_EVENT / EF_ATTLOG): stored within seconds of the finger or face.

One thread per terminal keeps the hub's one session to it open (hub.adapters.zk.sessions),
registers for attendance events and stores each event's punch at once. Pulls, clock syncs
and roster pushes borrow that session between two waits, so a terminal that keeps one
session at a time is never asked for a second.

Live events only make punches arrive sooner: the log still holds every punch. After every
(re)connect the listener reads the log's new tail through its session (count-gated: one
size query when nothing changed), so punches made while it was away are stored then, and
the identity constraint absorbs what arrives both ways. A lost session is retried with
backoff (reconnect_s doubling up to backoff_max_s); meanwhile the scheduled poll runs.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from sqlalchemy import Engine

from hub.adapters.zk.coordinator import Puller, Target, default_client, load_targets
from hub.adapters.zk.normalise import live_punch
from hub.adapters.zk.sessions import SESSIONS, SessionManager
from hub.config import PullSettings
from hub.fleet import health
from hub.messages import msg
from hub.protocols import zk as codec
from hub.punch import Punch, PunchFlag, Source
from hub.store import runs
from hub.store.ingest import ingest_punches
from hub.times import local_now

log = logging.getLogger(__name__)


class LiveListener(threading.Thread):
    """Listens to one terminal until stop(); `stored` counts punches it added."""

    def __init__(self, engine: Engine, target: Target, settings: PullSettings,
                 client_factory: Callable = default_client, reconnect_s: float = 2.0,
                 on_punch: Callable[[Punch], None] | None = None,
                 sessions: SessionManager = SESSIONS, backoff_max_s: float = 60.0,
                 catch_up: bool = True) -> None:
        super().__init__(name=f"zk-live-{target.serial}", daemon=True)
        self.engine, self.target, self.settings = engine, target, settings
        self.client_factory, self.reconnect_s, self.on_punch = client_factory, reconnect_s, on_punch
        self.sessions, self.backoff_max_s, self.catch_up = sessions, backoff_max_s, catch_up
        self._halt = threading.Event()
        self.connected = threading.Event()
        self.stored = 0
        self.sessions_opened = 0
        self.caught_up = 0  # punches stored by the tail read after a (re)connect
        self.errors: list[str] = []
        self.last_error: str | None = None
        self.backoff_s = 0.0

    def stop(self, timeout: float = 5.0) -> None:
        self._halt.set()
        self.join(timeout)

    def run(self) -> None:
        delay = self.reconnect_s
        while not self._halt.is_set():
            began = time.monotonic()
            try:
                self._session()
            except Exception as exc:  # noqa: BLE001 - any failure: reconnect, never die
                self.last_error = f"{exc.__class__.__name__}: {exc}"
                self.errors.append(self.last_error)
                del self.errors[:-20]
                log.info("live %s: %s; reconnecting in %.1f s", self.target.serial, exc, delay)
            self.connected.clear()
            # a session that lasted resets the backoff; quick failures double it
            delay = self.reconnect_s if time.monotonic() - began > 60 else delay
            self.backoff_s = delay
            if not self._halt.is_set():
                with contextlib.suppress(Exception), self.engine.begin() as conn:  # the store may be down
                    health.failed(conn, self.target.id, msg("live.lost", detail=self.last_error, delay=round(delay, 1))
                                  if self.last_error else msg("live.ended"), backoff_s=delay)
            self._halt.wait(delay)
            delay = min(self.backoff_max_s, delay * 2)

    def _session(self) -> None:
        t = self.target
        line = self.sessions.line(t.id)
        client = self.sessions.open_held(t, self.settings, self.client_factory,
                                         prepare=lambda c: c.z.reg_event(codec.EF_ATTLOG))
        self.sessions_opened += 1
        source = {"tcp": Source.ZK_TCP, "udp": Source.ZK_UDP}.get(client.transport,
                                                                    Source.ZK_SERIAL)
        run_id: int | None = None
        try:
            with line.listen_turn():
                offset = (client.get_time() - local_now(t.tz)).total_seconds()
            flags = int(PunchFlag.CLOCK_SUSPECT) if abs(offset) > \
                self.settings.clock_tolerance_s else 0
            with self.engine.begin() as conn:
                run_id = runs.open_run(conn, t.id, str(source), "live", {"clock_offset_s": offset})
                health.succeeded(conn, t.id, last_clock_offset_s=offset)
            self.backoff_s = 0.0
            self.connected.set()
            if self.catch_up:
                self._catch_up()
            seen = new = 0
            while not self._halt.is_set():
                with line.listen_turn():
                    if line.held is not client:
                        raise ConnectionError("the session broke while lent to other work")
                    pkt = client.z.next_event(0.25)  # short: others may be waiting their turn
                if pkt is None or pkt.session != codec.EF_ATTLOG:
                    continue
                try:
                    ev = codec.decode_att_event(pkt.data, client.encoding)
                except codec.ZkProtocolError as exc:
                    self.errors.append(f"event: {exc}")
                    continue
                punch = live_punch(t, str(source), ev, flags)
                with self.engine.begin() as conn:
                    result = ingest_punches(conn, [punch], run_id)
                    seen += result.seen
                    new += result.new
                    runs.count_into(conn, run_id, seen, new)
                self.stored += result.new
                if self.on_punch:
                    self.on_punch(punch)
        finally:
            with line.listen_turn(patience_s=2.0):  # not while it is lent out
                if self._halt.is_set() and line.held is client:
                    with contextlib.suppress(Exception):  # leaving anyway
                        client.z.reg_event(0)
                line.drop_held(client)
            if run_id is not None:
                with contextlib.suppress(Exception), self.engine.begin() as conn:
                    runs.end_run(conn, run_id, "ok" if self._halt.is_set() else "error",
                                 None if self._halt.is_set() else msg("live.lost", detail=self.last_error,
                                                                      delay=round(self.backoff_s or 0, 1))
                                 if self.last_error else msg("live.ended"))

    def _catch_up(self) -> None:
        """What the terminal logged while no session listened: the log's new tail, read
        through the held session."""
        settings = replace(self.settings, retries=0, auto_sync_time=False, clear_after_pull=False)
        res = Puller(self.engine, settings, self.client_factory, sessions=self.sessions).pull(self.target)
        if res.error:
            raise ConnectionError(f"catching up failed: {res.error}")
        self.caught_up += res.new


class LiveSupervisor:
    """A live listener for every enabled ZK terminal of the store; `refresh()` follows the
    registry (new terminals get one, disabled or removed ones lose theirs)."""

    def __init__(self, engine: Engine, settings: PullSettings,
                 client_factory: Callable = default_client, reconnect_s: float = 2.0,
                 sessions: SessionManager = SESSIONS, refresh_s: float = 60.0,
                 on_punch: Callable[[Punch], None] | None = None) -> None:
        self.engine, self.settings, self.client_factory = engine, settings, client_factory
        self.reconnect_s, self.sessions, self.refresh_s = reconnect_s, sessions, refresh_s
        self.on_punch = on_punch
        self.listeners: dict[int, LiveListener] = {}
        self._halt = threading.Event()
        self._thread: threading.Thread | None = None

    def refresh(self) -> None:
        targets = {t.id: t for t in load_targets(self.engine)}
        for dev_id in [d for d in self.listeners if d not in targets]:
            self.listeners.pop(dev_id).stop()
        for dev_id, t in targets.items():
            known = self.listeners.get(dev_id)
            if known is not None and known.is_alive() and _same_address(known.target, t):
                continue
            if known is not None:
                known.stop()
            li = LiveListener(self.engine, t, self.settings, self.client_factory,
                              self.reconnect_s, on_punch=self.on_punch, sessions=self.sessions,
                              backoff_max_s=self.settings.live_backoff_max_s)
            self.listeners[dev_id] = li
            li.start()

    def start(self) -> LiveSupervisor:
        self.refresh()
        self._thread = threading.Thread(target=self._loop, name="zk-live-supervisor", daemon=True)
        self._thread.start()
        return self

    def _loop(self) -> None:
        while not self._halt.wait(self.refresh_s):
            try:
                self.refresh()
            except Exception:  # noqa: BLE001 - the database may be away for a moment
                log.exception("live: refreshing the terminal list failed")

    def stop(self) -> None:
        self._halt.set()
        for li in self.listeners.values():
            li._halt.set()  # noqa: SLF001 - all at once, then wait for each
        for li in self.listeners.values():
            li.stop()
        if self._thread is not None:
            self._thread.join(5)

    def status(self) -> dict[str, Any]:
        live = [li for li in self.listeners.values() if li.connected.is_set()]
        return {"terminals": len(self.listeners), "connected": len(live),
                "stored": sum(li.stored for li in self.listeners.values())}


def _same_address(a: Target, b: Target) -> bool:
    return (a.kind, a.host, a.port, a.serial_line, a.baud, a.comm_key) == \
        (b.kind, b.host, b.port, b.serial_line, b.baud, b.comm_key)
