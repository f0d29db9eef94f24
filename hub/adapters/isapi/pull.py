"""Pull Hikvision ISAPI terminals: incremental by serialNo with a gate, exactly once.

The gate: the log's total (AcsEventTotalNum) and its newest serialNo are asked first; both
as at the last pull means nothing new, and nothing more is read (a full log that overwrites
its oldest entries keeps its total but not its newest serial). Otherwise the log is searched
from the newest time already read (less a margin), page by page as the firmware pages, and
only events after the last serialNo are kept. When fewer turn up than the count says
arrived (the terminal's clock was set back, so new events carry older times), the whole log
is searched; when the newest serial went backwards (the log was cleared), everything is read
again. Punches, the events that are not punches, and the new cursor are written in one
transaction: a link lost mid-page or a hub killed mid-write leaves the cursor where it was,
and the next pull reads the same events again, which the identity rule stores once.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from uuid import uuid4

from sqlalchemy import Engine, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from hub.adapters.isapi.client import IsapiClient, IsapiFailure
from hub.adapters.isapi.normalise import event_row, local_naive, punch_of
from hub.adapters.pulls import PullResult
from hub.fleet import health
from hub.fleet.registry import RegistryError, login_of
from hub.i18n import tr
from hub.protocols import isapi
from hub.punch import PunchFlag, Source
from hub.store import runs
from hub.store.models import Device, DeviceEvent, Site
from hub.store.sites import SiteTree
from hub.times import zone

EPOCH = datetime(2000, 1, 1, tzinfo=UTC)
MARGIN = timedelta(minutes=10)  # events stamped in the same minutes as the newest one read
AHEAD = timedelta(days=2)  # a terminal clock this far ahead still has its events read
MAX_PAGES = 20_000  # 600,000 events: more than any terminal holds


@dataclass(frozen=True)
class IsapiTarget:
    id: int
    serial: str
    host: str
    port: int
    username: str
    password: str
    tz: str
    last_record_count: int | None
    last_seq: int | None
    last_newest_local: datetime | None
    problem: str | None = None  # why it cannot be pulled as registered (no login kept)
    pin: str | None = None  # SHA-256 of its TLS certificate, when IT pinned one (HTTPS)


def load_targets(engine: Engine, device: str | None = None, site: str | None = None) -> list[IsapiTarget]:
    """Enabled ISAPI terminals (one by serial or name, or an office and its units)."""
    with Session(engine) as s:
        q = select(Device).where(Device.kind == "hik-isapi", Device.enabled.is_(True))
        if device:
            q = q.where((Device.serial == device) | (Device.name == device))
        if site:
            code = s.scalar(select(Site.id).where(Site.code == site))
            q = q.where(Device.site_id.in_(SiteTree.load(s).subtree(code) if code else [-1]))
        out = []
        for d in s.scalars(q.order_by(Device.serial)):
            try:
                user, password, problem = *login_of(d), None
            except RegistryError as exc:  # (reported by its pull: the others still go)
                user, password, problem = "", "", str(exc)
            out.append(IsapiTarget(d.id, d.serial, d.host or "", d.port or 80, user, password, d.tz,
                                   d.last_record_count, d.last_seq, d.last_newest_local, problem,
                                   (d.capabilities or {}).get("tls_sha256")))
        return out


Factory = Callable[[IsapiTarget], IsapiClient]


def default_client(t: IsapiTarget) -> IsapiClient:
    return IsapiClient(t.host, t.port, t.username, t.password, pin_sha256=t.pin)


def client_of(d: Device) -> IsapiClient:
    """A client for a registered terminal (its login, its pinned certificate)."""
    user, password = login_of(d)
    return IsapiClient(d.host or "", d.port or 80, user, password,
                       pin_sha256=(d.capabilities or {}).get("tls_sha256"))


def pull_one(engine: Engine, t: IsapiTarget, full: bool = False, client: Factory = default_client,
             tolerance_s: float = 120.0) -> PullResult:
    started = time.monotonic()
    res = PullResult(t.serial, t.id, mode="full" if full else "tail")
    try:
        if t.problem:
            raise IsapiFailure(t.problem)
        with client(t) as c:
            _pull(engine, c, t, full, res, tolerance_s)
    except (IsapiFailure, isapi.IsapiError, RegistryError) as exc:
        res.error = str(exc)
        with engine.begin() as conn:
            health.failed(conn, t.id, res.error)
    res.seconds = time.monotonic() - started
    return res


def _pull(engine: Engine, c: IsapiClient, t: IsapiTarget, full: bool, res: PullResult, tolerance_s: float) -> None:
    info = c.device_info()
    if info["serialNumber"] != t.serial:
        raise IsapiFailure(tr(f"alamat {t.host}:{t.port} menjawab sebagai terminal {info['serialNumber']}, bukan "
                              f"{t.serial}; periksa alamat IP terminal ini",
                              f"{t.host}:{t.port} answers as terminal {info['serialNumber']}, not {t.serial}; "
                              "check this terminal's IP address"))
    res.clock_offset_s = (c.get_time() - datetime.now(UTC)).total_seconds()
    suspect = abs(res.clock_offset_s) > tolerance_s
    if suspect:  # its stamps are doubtful: held for a reviewer (CLOCK_SUSPECT), as on ZK terminals
        res.notes.append(tr(f"jam terminal selisih {res.clock_offset_s:+.0f} s (batas {tolerance_s:.0f} s)",
                            f"terminal clock off by {res.clock_offset_s:+.0f} s (limit {tolerance_s:.0f} s)"))
    end = datetime.now(UTC) + AHEAD
    total = c.total(EPOCH, end)
    newest = c.newest(EPOCH, end)
    top = newest.serial_no if newest else 0
    res.record_count = total
    if full or t.last_record_count is None:  # what it is and can hold, for the fleet page
        try:
            facts = {"model": info.get("model"), "firmware": info.get("firmwareVersion"), "capacity": c.capacity(),
                     "counts": {"records": total, "users": c.user_count()}}
        except IsapiFailure as exc:  # (older firmware lacks capabilities: the pull goes on)
            facts = {"model": info.get("model"), "firmware": info.get("firmwareVersion"), "note": str(exc)[:200]}
        with engine.begin() as conn:  # (merged: what IT set there, the listening key's hash, stays)
            have = conn.scalar(select(Device.capabilities).where(Device.id == t.id)) or {}
            conn.execute(update(Device).where(Device.id == t.id).values(capabilities={**have, **facts}))
    cleared = t.last_seq is not None and top < t.last_seq
    if not full and not cleared and total == t.last_record_count and top == (t.last_seq or 0):
        res.mode = "unchanged"
        with engine.begin() as conn:
            health.succeeded(conn, t.id, last_clock_offset_s=res.clock_offset_s)
        return
    cursor = 0 if (full or cleared) else (t.last_seq or 0)
    since = EPOCH
    if cursor and t.last_newest_local is not None:
        since = t.last_newest_local.replace(tzinfo=zone(t.tz)) - MARGIN
    fresh = [e for e in _read(c, since, end) if e.serial_no > cursor]
    expected = top - cursor if cursor else None  # serials are consecutive on the terminal
    if expected is not None and since != EPOCH and len(fresh) < min(expected, total):
        # new events older than the newest read (a clock set back): read the whole log
        res.notes.append(tr("jam terminal mundur: seluruh log dibaca", "terminal clock went back: whole log read"))
        fresh = [e for e in _read(c, EPOCH, end) if e.serial_no > cursor]
    res.mode = "full" if (full or cleared or not cursor) else "tail"
    res.log_cleared = cleared
    _store(engine, t, fresh, total, top, res, int(PunchFlag.CLOCK_SUSPECT) if suspect else 0)


def _read(c: IsapiClient, since: datetime, end: datetime) -> list[isapi.Event]:
    """Every event from `since`, page by page as the terminal pages (its cap, MORE/OK)."""
    search_id, position, out = uuid4().hex, 0, []
    for _ in range(MAX_PAGES):
        page = c.search(search_id, position, since, end)
        out.extend(page.events)
        position += len(page.events)
        if not page.more or not page.events:
            return out
    raise IsapiFailure(tr("log terminal tidak habis dibaca (lebih dari 600.000 peristiwa)",
                          "the terminal's log did not end (over 600,000 events)"))


def _store(engine: Engine, t: IsapiTarget, fresh: list[isapi.Event], total: int, top: int, res: PullResult,
           flags: int) -> None:
    punches = [p for e in fresh if (p := punch_of(t.id, t.tz, e, flags)) is not None]
    others = [event_row(t.id, t.tz, e) for e in fresh if e.verify is None]
    newest = max(fresh, key=lambda e: (e.time, e.serial_no), default=None)
    with engine.begin() as conn:
        stored = runs.record(conn, t.id, Source.ISAPI, "pull", punches,
                             details={"mode": res.mode, "events": len(fresh), "not_punches": len(others),
                                      "record_count": total, "newest_serial": top})
        if others:
            insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
            conn.execute(insert(DeviceEvent).on_conflict_do_nothing(), others)
        facts: dict[str, object] = {"last_record_count": total, "last_seq": top,
                                    "last_clock_offset_s": res.clock_offset_s}
        if newest is not None:  # (after a full read the log's own newest; else never backwards)
            local = local_naive(newest.time, t.tz)
            facts["last_newest_local"] = local if res.mode == "full" else max(local, t.last_newest_local or local)
        health.succeeded(conn, t.id, **facts)
    res.seen, res.new, res.duplicate = len(fresh), stored.new, stored.duplicate



def pull_many(engine: Engine, targets: list[IsapiTarget], full: bool = False, client: Factory = default_client,
              done: Callable[[PullResult], None] | None = None, tolerance_s: float = 120.0,
              workers: int = 8) -> list[PullResult]:
    """Several terminals at once (each waits on its own HTTP round trips); results in the
    order of `targets`. One terminal's failure is its own result, never the others'."""
    if not targets:
        return []
    with ThreadPoolExecutor(max_workers=max(1, min(workers, len(targets))), thread_name_prefix="isapi") as pool:
        futures = [pool.submit(pull_one, engine, t, full, client, tolerance_s) for t in targets]
        if done:
            for f in as_completed(futures):
                done(f.result())
        return [f.result() for f in futures]
