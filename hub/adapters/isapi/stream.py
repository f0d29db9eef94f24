"""Live events by arming (alertStream): the hub holds GET /ISAPI/Event/notification/alertStream
open to each Hikvision terminal set to `stream` and stores every access event as it comes,
for terminals that cannot reach the hub (HTTP listening needs the reverse). A lost stream is
opened again after a growing wait; what went by meanwhile is read by the count-gated pull.
Only the scheduling leader watches (as only it holds the ZK live sessions)."""

from __future__ import annotations

import logging
import threading
from typing import Any

from sqlalchemy import Engine

from hub.adapters.isapi.client import IsapiFailure
from hub.adapters.isapi.listen import keep
from hub.adapters.isapi.pull import IsapiTarget, default_client, load_targets
from hub.fleet import health
from hub.protocols import isapi
from hub.store.models import Device

log = logging.getLogger("hub.isapi")
PATH = "/ISAPI/Event/notification/alertStream"
BACKOFF = (1.0, 2.0, 5.0, 10.0, 30.0, 60.0)


class Watcher(threading.Thread):
    def __init__(self, engine: Engine, target: IsapiTarget) -> None:
        super().__init__(daemon=True, name=f"isapi-stream-{target.serial}")
        self.engine, self.target = engine, target
        self.halt = threading.Event()
        self.stored = 0
        self.connects = 0

    def stop(self) -> None:
        self.halt.set()

    def run(self) -> None:
        failures = 0
        while not self.halt.is_set():
            try:
                self._watch()
                failures = 0
            except Exception as exc:  # noqa: BLE001 - whatever broke the stream, it is opened again
                failures += 1
                wait = BACKOFF[min(failures, len(BACKOFF)) - 1]
                log.info("Hikvision %s: alertStream lost (%s); again in %.0f s", self.target.serial, exc, wait)
                with self.engine.begin() as conn:
                    health.waiting(conn, self.target.id, wait)
                self.halt.wait(wait)

    def _watch(self) -> None:
        t = self.target
        with default_client(t) as c, c.http.stream("GET", PATH, timeout=None) as r:
            if c.pin:
                c.check_pin(r)
            if r.status_code != 200:
                raise IsapiFailure(f"alertStream {r.status_code}")
            self.connects += 1
            with self.engine.begin() as conn:
                health.succeeded(conn, t.id, backoff_s=None)
            reader = isapi.PartReader(isapi.boundary_of(r.headers.get("content-type", "")))
            for chunk in r.iter_raw():
                if self.halt.is_set():
                    return
                for part in reader.feed(chunk):
                    ev = isapi.notification_event(part)
                    if ev is not None:
                        keep(self.engine, t.id, t.tz, ev)
                        self.stored += 1
            raise IsapiFailure("alertStream ended")


class StreamSupervisor:
    """A watcher for every enabled Hikvision terminal whose live mode is `stream`."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.watchers: dict[str, Watcher] = {}

    def start(self) -> StreamSupervisor:
        from sqlalchemy import select  # noqa: PLC0415
        from sqlalchemy.orm import Session  # noqa: PLC0415

        with Session(self.engine) as s:
            armed = {d.serial for d in s.scalars(select(Device).where(Device.kind == "hik-isapi",
                                                                       Device.enabled.is_(True)))
                     if (d.capabilities or {}).get("live") == "stream"}
        for t in load_targets(self.engine):
            if t.serial in armed and not t.problem:
                self.watchers[t.serial] = w = Watcher(self.engine, t)
                w.start()
        return self

    def stop(self) -> None:
        for w in self.watchers.values():
            w.stop()

    def status(self) -> dict[str, Any]:
        return {s: {"connects": w.connects, "stored": w.stored, "alive": w.is_alive()}
                for s, w in self.watchers.items()}
