"""The fleet poller: every ZK terminal pulled concurrently, incrementally, without loss.

Per terminal: connect (retries with exponential backoff, socket timeouts so a dead unit
costs only its own thread), read the clock, read the counters, then
- count and newest record unchanged -> nothing downloaded;
- count grew and the previous newest record is still in place -> only the new tail;
- anything else (log cleared, replaced, first pull, --full) -> the whole log.
Punches, the run record and the device's bookkeeping are written in ONE transaction, so a
hub killed mid-write leaves either everything or nothing; the next pull re-reads and the
store's identity constraint absorbs whatever was already there.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, insert, select, update
from sqlalchemy.exc import SQLAlchemyError
from zk.exception import ZKError

from hub.adapters.zk.client import ZkClient, ZkClientError
from hub.adapters.zk.normalise import to_punches
from hub.adapters.zk.sessions import SESSIONS, SessionManager
from hub.adapters.zk.shards import process_count, pull_in_processes
from hub.adapters.zk.targets import PullResult, Target
from hub.config import PullSettings
from hub.fleet import health
from hub.gc_pause import gc_paused
from hub.i18n import tr
from hub.messages import msg, stored
from hub.protocols.zk import ZkProtocolError
from hub.protocols.zk_codes import zk_state, zk_verify
from hub.protocols.zk_records import ParsedLog
from hub.punch import PunchFlag, Source
from hub.store import runs
from hub.store.ingest import ingest_punches
from hub.store.models import Device, DeviceOutage, RawPunch, Site, utcnow
from hub.times import in_windows, local_now, parse_windows

log = logging.getLogger(__name__)

ZK_KINDS = ("zk-tcp", "zk-udp", "zk-auto", "zk-serial")
TRANSPORTS = {"zk-tcp": "tcp", "zk-udp": "udp", "zk-auto": "auto", "zk-serial": "serial"}
NETWORK_ERRORS = (ZKError, OSError, ZkClientError, TimeoutError)


ClientFactory = Callable[[Target, PullSettings], Any]


def default_client(target: Target, settings: PullSettings) -> Any:
    if target.kind == "zk-serial":
        from hub.adapters.zk.serial import SerialZkClient

        return SerialZkClient(target.serial_line or "", baud=target.baud or 115200,
                              comm_key=target.comm_key, timeout=settings.timeout_s)
    return ZkClient(target.host or "127.0.0.1", target.port or 4370,
                    transport=TRANSPORTS[target.kind], comm_key=target.comm_key,
                    timeout=settings.timeout_s)


def load_targets(engine: Engine, device: str | None = None, site: str | None = None,
                 include_disabled: bool = False) -> list[Target]:
    from sqlalchemy.orm import Session

    with Session(engine) as s:
        q = select(Device).where(Device.kind.in_(ZK_KINDS)).order_by(Device.serial)
        if device:
            q = q.where((Device.serial == device) | (Device.name == device))
        elif not include_disabled:
            q = q.where(Device.enabled.is_(True))
        if site:
            q = q.join(Site, Device.site_id == Site.id).where(Site.code == site)
        return [Target.of(d) for d in s.scalars(q)]


def _local_now(tz: str) -> datetime:
    return local_now(tz).replace(microsecond=0)


def in_working_hours(spec: str, local: datetime) -> bool:
    """`spec` like "06:00-18:00" (comma-separated windows allowed; may cross midnight)."""
    return in_windows(local.time(), parse_windows(spec))


class Puller:
    """Pulls one or many terminals into the store."""

    def __init__(self, engine: Engine, settings: PullSettings,
                 client_factory: ClientFactory = default_client,
                 sleep: Callable[[float], None] = time.sleep,
                 sessions: SessionManager = SESSIONS) -> None:
        self.engine = engine
        self.settings = settings
        self.client_factory = client_factory
        self.sessions = sessions
        self.sleep = sleep
        self.stop = threading.Event()
        # Terminals download all at once but write a few at a time: more concurrent bulk
        # writes only contend for the same index pages (measured with bench/poll_fleet.py).
        self.writers = threading.BoundedSemaphore(max(1, settings.writers))

    # --- one terminal -------------------------------------------------------------------
    def pull(self, target: Target, full: bool = False) -> PullResult:
        with gc_paused():  # a whole log is tens of thousands of short-lived objects
            return self._pull(target, full)

    def _pull(self, target: Target, full: bool) -> PullResult:
        res = PullResult(target.serial, target.id)
        started = time.monotonic()
        try:
            run_id = self._open_run(target)
        except SQLAlchemyError as exc:
            res.error = msg("pull.db_unavailable", cls=exc.__class__.__name__)
            res.seconds = time.monotonic() - started
            return res
        attempts = 1 + max(0, self.settings.retries)
        for attempt in range(attempts):
            res.attempts = attempt + 1
            try:
                self._pull_once(target, full, run_id, res, started)
                res.error = None
                break
            except NETWORK_ERRORS as exc:
                res.error = msg("pull.comm_failed", detail=exc)
            except ZkProtocolError as exc:
                res.error = msg("pull.unreadable", detail=exc)
                break
            except SQLAlchemyError as exc:
                res.error = msg("pull.db_write", detail=f"{exc.__class__.__name__}: {exc}")
                break
            if attempt + 1 < attempts and not self.stop.is_set():
                self.sleep(min(8.0, 0.25 * 2 ** attempt))
        res.seconds = time.monotonic() - started
        if res.error:
            self._fail_run(target, run_id, res)
        return res

    def _open_run(self, target: Target) -> int:
        source = Source.ZK_SERIAL if target.kind == "zk-serial" else Source.ZK_TCP
        with self.engine.begin() as conn:
            return runs.open_run(conn, target.id, str(source), "pull")

    def _fail_run(self, target: Target, run_id: int, res: PullResult) -> None:
        try:
            with self.engine.begin() as conn:
                runs.end_run(conn, run_id, "error", res.error, res.seconds, self._details(res))
                health.failed(conn, target.id, res.error or "")
        except SQLAlchemyError:
            log.warning("could not record the failed pull of %s", target.serial)

    @staticmethod
    def _details(res: PullResult) -> dict[str, Any]:
        return {"mode": res.mode, "record_count": res.record_count,
                "log_cleared": res.log_cleared, "clock_offset_s": res.clock_offset_s,
                "clock_synced": res.clock_synced, "cleared_terminal": res.cleared_terminal,
                "attempts": res.attempts, "impossible_dates": res.impossible_dates,
                "notes": res.notes}

    def _pull_once(self, target: Target, full: bool, run_id: int, res: PullResult,
                   started: float) -> None:
        res.notes = []
        res.log_cleared = False
        tolerance = self.settings.clock_tolerance_s
        with self.sessions.session(target, self.settings, self.client_factory) as client:
            source = {"tcp": Source.ZK_TCP, "udp": Source.ZK_UDP}.get(client.transport,
                                                                        Source.ZK_SERIAL)
            device_time = client.get_time()
            offset = (device_time - _local_now(target.tz)).total_seconds()
            res.clock_offset_s = offset
            suspect = abs(offset) > tolerance
            if suspect:
                res.notes.append(tr(f"jam terminal selisih {offset:+.0f} s (batas {tolerance} s)",
                                    f"terminal clock off by {offset:+.0f} s (limit {tolerance} s)"))
            caps = None
            if full or not target.has_capabilities:
                info = client.info()
                sizes = info.sizes
                count = sizes["records"]
                caps = info
            else:
                count = client.sizes().records
            res.record_count = count
            parsed, newest = self._read(client, target, count, full, res)
            flags = int(PunchFlag.CLOCK_SUSPECT) if suspect else 0
            punches = to_punches(parsed.records, target, str(source), flags)
            res.impossible_dates = parsed.impossible_dates
            res.seen = len(punches)
            capabilities = (caps.capabilities(parsed.record_size or None, None)
                            if caps is not None else None)
            with self.writers, self.engine.begin() as conn:
                result = ingest_punches(conn, punches, run_id)
                lost = _lost_span(res.log_cleared, target.last_newest_local, parsed, device_time)
                if lost is not None:
                    # Records after the newest one we had may have gone with the log: those
                    # days hold no trustworthy data from this terminal (no absence from it).
                    conn.execute(insert(DeviceOutage).values(
                        device_id=target.id, start_local=lost[0], end_local=lost[1], kind="cleared",
                        note=stored(res.notes[-1]) if res.notes else "", created_by="pull",
                        created_at=utcnow()))
                res.new, res.duplicate = result.new, result.duplicate
                values: dict[str, Any] = {"last_clock_offset_s": offset, "last_record_count": count,
                                          "last_newest_local": newest}
                if capabilities:
                    values["capabilities"] = capabilities
                health.succeeded(conn, target.id, **values)
                res.seconds = time.monotonic() - started
                runs.finish_run(conn, run_id, result, seconds=res.seconds, details=self._details(res),
                                source=str(source))
            notes_at_commit = len(res.notes)
            # What is stored stays stored: the bookkeeping now matches the terminal.
            target.last_record_count, target.last_newest_local = count, newest
            # After the commit nothing may undo or repeat the pull: failures become notes.
            try:
                if suspect and self.settings.auto_sync_time:
                    client.set_time(_local_now(target.tz))
                    res.clock_synced = True
                if self.settings.clear_after_pull and count:
                    self._maybe_clear(client, target, count, res)
            except (*NETWORK_ERRORS, ZkProtocolError, SQLAlchemyError) as exc:
                res.notes.append(tr(f"setelah tarik: {exc}", f"after the pull: {exc}"))
            if res.clock_synced or res.cleared_terminal or len(res.notes) != notes_at_commit:
                with contextlib.suppress(SQLAlchemyError), self.engine.begin() as conn:
                    runs.note(conn, run_id, self._details(res))

    def _read(self, client: Any, target: Target, count: int, full: bool,
              res: PullResult) -> tuple[ParsedLog, datetime | None]:
        prev, prev_newest = target.last_record_count, target.last_newest_local
        if count == 0:
            res.mode = "empty"
            if prev:
                res.log_cleared = True
                res.notes.append(msg("pull.log_cleared", before=prev))
            return ParsedLog(0), None
        if not full and prev and prev_newest is not None and count >= prev:
            tail = client.read_attendance_from(count, prev - 1)
            if tail.records and tail.records[0].local_time == prev_newest:
                newest = tail.records[-1].local_time
                tail.records = tail.records[1:]
                tail.impossible_dates = sum(1 for r in tail.records if r.time_error)
                res.mode = "unchanged" if count == prev else "tail"
                return tail, newest
            res.notes.append(tr("catatan terbaru sebelumnya tidak lagi di tempatnya: log dibaca "
                                "ulang seluruhnya", "the previous newest record moved: "
                                "re-reading the whole log"))
        elif prev and count < prev:
            res.log_cleared = True
            res.notes.append(msg("pull.log_shrank", before=prev, after=count))
        res.mode = "full"
        parsed = client.read_attendance(count)
        newest = parsed.records[-1].local_time if parsed.records else None
        return parsed, newest

    def _maybe_clear(self, client: Any, target: Target, count: int, res: PullResult) -> None:
        """Clear the terminal's log only outside working hours and only when every record it
        holds is read back from the store; the terminal is disabled meanwhile so no punch
        can land between the check and the clear."""
        if in_working_hours(self.settings.working_hours, _local_now(target.tz)):
            res.notes.append(tr("log tidak dihapus: jam kerja", "log not cleared: working hours"))
            return
        client.disable()
        try:
            if client.sizes().records != count:
                res.notes.append(tr("log tidak dihapus: ada catatan baru",
                                    "log not cleared: new records arrived"))
                return
            records = client.read_attendance(count).records
            wanted = {(r.pin, r.local_time, str(zk_state(r.state)), str(zk_verify(r.verify)))
                      for r in records}
            with self.engine.connect() as conn:
                stored = {(p, t, s, v) for p, t, s, v in conn.execute(
                    select(RawPunch.pin, RawPunch.local_time, RawPunch.state, RawPunch.verify)
                    .where(RawPunch.device_id == target.id))}
            missing = wanted - stored
            if missing:
                res.notes.append(tr(f"log tidak dihapus: {len(missing)} catatan belum ada di "
                                    "basis data", f"log not cleared: {len(missing)} records are "
                                    "not in the store"))
                return
            client.clear_attendance()
            res.cleared_terminal = True
            with self.engine.begin() as conn:
                conn.execute(update(Device).where(Device.id == target.id).values(
                    last_record_count=0, last_newest_local=None))
            target.last_record_count, target.last_newest_local = 0, None
            res.notes.append(tr(f"log terminal dihapus setelah {count} catatan dicocokkan",
                                f"terminal log cleared after {count} records were verified"))
        finally:
            client.enable()

    # --- the fleet ----------------------------------------------------------------------
    def _processes(self, targets: int) -> int:
        """Worker processes for this pull: only with the real client (test doubles and
        in-memory databases live in this process only), and never while this process holds
        live sessions (a worker would open a second session to a terminal)."""
        database = self.engine.url.database or ""
        if self.sessions.live_count():
            return 1
        if self.client_factory is not default_client or database in ("", ":memory:") \
                or self.engine.url.get_backend_name() == "sqlite" and "mode=memory" in database:
            return 1
        return process_count(self.settings, targets)

    def pull_many(self, targets: list[Target], full: bool = False,
                  on_done: Callable[[PullResult], None] | None = None) -> list[PullResult]:
        # Processes pay off when whole logs move: a full pull, or terminals never pulled.
        # Incremental polls read tails only and stay in this process (no start-up cost).
        bulky = full or any(t.last_record_count is None for t in targets)
        processes = self._processes(len(targets)) if bulky else 1
        if processes > 1:
            from hub.config import get_settings

            # (each worker process builds a Puller of this class: the shards module does
            # not import this one, it is handed the class)
            return pull_in_processes(self.engine, get_settings(), self.settings, targets, full,
                                     processes, on_done, type(self))
        results: list[PullResult] = []
        workers = max(1, min(self.settings.concurrency, len(targets) or 1))
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="zk-pull") as pool:
            futures = {pool.submit(self.pull, t, full): t for t in targets}
            for fut in as_completed(futures):
                t = futures[fut]
                try:
                    r = fut.result()
                except Exception as exc:  # noqa: BLE001 - one terminal never stops the run
                    r = PullResult(t.serial, t.id, error=f"{exc.__class__.__name__}: {exc}")
                results.append(r)
                if on_done:
                    on_done(r)
        results.sort(key=lambda r: r.serial)
        return results


def pull_fleet(engine: Engine, settings: PullSettings, device: str | None = None,
               site: str | None = None, full: bool = False,
               on_done: Callable[[PullResult], None] | None = None,
               client_factory: ClientFactory = default_client) -> list[PullResult]:
    targets = load_targets(engine, device, site)
    return Puller(engine, settings, client_factory).pull_many(targets, full, on_done)


def _lost_span(cleared: bool, newest_before: datetime | None, parsed: ParsedLog,
               device_time: datetime) -> tuple[datetime, datetime] | None:
    """When a terminal's log was cleared: from the newest record the hub had to the first
    record the terminal kept since (or now). None when the log still reaches back past it."""
    if not cleared or newest_before is None:
        return None
    first = parsed.records[0].local_time if parsed.records else None
    if first is not None and first <= newest_before:
        return None
    return newest_before, first or device_time
