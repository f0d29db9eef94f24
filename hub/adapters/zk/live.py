"""Realtime punches (REG_EVENT / EF_ATTLOG): stored within seconds of the finger or face.

One thread per terminal keeps a session open, registers for attendance events, ACKs each
event packet and stores its punch at once. It reconnects after a drop or a restart of the
terminal (pyzk's live_capture stops silently there, and crashes on event sizes it does not
know; this listener parses with hub.protocols.zk and keeps going). Live events only make
punches arrive sooner: the log still holds every punch, and the next pull stores whatever
a dropped session missed, the identity constraint absorbing what arrived both ways.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, insert, update

from hub.adapters.zk.coordinator import Target, default_client
from hub.config import PullSettings
from hub.protocols import zk as codec
from hub.punch import Punch, PunchFlag, Source, zk_state, zk_verify
from hub.store.ingest import ingest_punches
from hub.store.models import IngestRun, utcnow

log = logging.getLogger(__name__)


class LiveListener(threading.Thread):
    """Listens to one terminal until stop(); `stored` counts punches it added."""

    def __init__(self, engine: Engine, target: Target, settings: PullSettings,
                 client_factory: Callable = default_client, reconnect_s: float = 2.0,
                 on_punch: Callable[[Punch], None] | None = None) -> None:
        super().__init__(name=f"zk-live-{target.serial}", daemon=True)
        self.engine, self.target, self.settings = engine, target, settings
        self.client_factory, self.reconnect_s, self.on_punch = client_factory, reconnect_s, on_punch
        self._halt = threading.Event()
        self.connected = threading.Event()
        self.stored = 0
        self.sessions = 0
        self.errors: list[str] = []

    def stop(self, timeout: float = 5.0) -> None:
        self._halt.set()
        self.join(timeout)

    def run(self) -> None:
        while not self._halt.is_set():
            try:
                self._session()
            except Exception as exc:  # noqa: BLE001 - any failure: reconnect, never die
                self.errors.append(f"{exc.__class__.__name__}: {exc}")
                log.info("live %s: %s; reconnecting", self.target.serial, exc)
            self.connected.clear()
            self._halt.wait(self.reconnect_s)

    def _session(self) -> None:
        t = self.target
        with self.client_factory(t, self.settings) as client:
            z = client.z
            source = {"tcp": Source.ZK_TCP, "udp": Source.ZK_UDP}.get(client.transport,
                                                                        Source.ZK_SERIAL)
            offset = (client.get_time() - datetime.now(ZoneInfo(t.tz)).replace(
                tzinfo=None)).total_seconds()
            flags = int(PunchFlag.CLOCK_SUSPECT) if abs(offset) > \
                self.settings.clock_tolerance_s else 0
            with self.engine.begin() as conn:
                run_id = conn.execute(insert(IngestRun).values(
                    device_id=t.id, source=str(source), kind="live", started_at=utcnow(),
                    status="running", details={"clock_offset_s": offset})
                    .returning(IngestRun.id)).scalar_one()
            z.reg_event(codec.EF_ATTLOG)
            self.sessions += 1
            self.connected.set()
            seen = new = 0
            try:
                while not self._halt.is_set():
                    # 0.5 s at a time: look at the stop flag between waits
                    pkt = z.next_event(0.5)
                    if pkt is None or pkt.session != codec.EF_ATTLOG:
                        continue
                    try:
                        ev = codec.decode_att_event(pkt.data, client.encoding)
                    except codec.ZkProtocolError as exc:
                        self.errors.append(f"event: {exc}")
                        continue
                    punches = [Punch(t.id, str(source), ev.user_id, ev.when, t.tz,
                                     zk_state(ev.state), zk_verify(ev.verify),
                                     raw={"live": True, "state": ev.state, "verify": ev.verify},
                                     flags=flags)]
                    with self.engine.begin() as conn:
                        result = ingest_punches(conn, punches, run_id)
                        seen += result.seen
                        new += result.new
                        conn.execute(update(IngestRun).where(IngestRun.id == run_id).values(
                            records_seen=seen, new=new, duplicate=seen - new))
                    self.stored += result.new
                    for p in punches:
                        if self.on_punch:
                            self.on_punch(p)
            finally:
                with self.engine.begin() as conn:
                    conn.execute(update(IngestRun).where(IngestRun.id == run_id).values(
                        status="ok" if self._halt.is_set() else "error", finished_at=utcnow(),
                        error=None if self._halt.is_set() else "session ended"))
                if self._halt.is_set():
                    with contextlib.suppress(Exception):  # leaving anyway
                        z.reg_event(0)
