"""Bulk ingest of canonical punches: one transaction, duplicates ignored by identity.

This is the hot path of every adapter, so it talks to the DB-API cursor directly:
SQLite gets `INSERT OR IGNORE` through executemany, PostgreSQL gets COPY into a temporary
table followed by one `INSERT … SELECT … ON CONFLICT DO NOTHING`. Both count what was new
from the database itself, so "new + duplicate == seen" holds whatever arrived before.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import Connection, Engine, select, update

from hub.punch import Punch, PunchFlag, plausible, to_utc
from hub.store.models import Device, PinMapping, RawPunch, utcnow

COLUMNS = (
    "device_id", "source", "pin", "employee_id", "local_time", "tz", "utc_time", "state",
    "verify", "work_code", "device_seq", "raw", "received_at", "ingest_run_id", "flags",
)


@dataclass
class IngestResult:
    seen: int = 0
    new: int = 0
    duplicate: int = 0
    unknown_pin: int = 0
    out_of_range: int = 0
    new_ids_by_device: dict[int, int] = field(default_factory=dict)

    def __iadd__(self, other: IngestResult) -> IngestResult:
        self.seen += other.seen
        self.new += other.new
        self.duplicate += other.duplicate
        self.unknown_pin += other.unknown_pin
        self.out_of_range += other.out_of_range
        return self


def sqlite_dt(value: datetime) -> str:
    """The exact text SQLAlchemy's SQLite DateTime stores, so identities compare equal."""
    return (f"{value.year:04d}-{value.month:02d}-{value.day:02d} "
            f"{value.hour:02d}:{value.minute:02d}:{value.second:02d}.{value.microsecond:06d}")


class PinResolver:
    """PIN -> employee for a set of devices (device-specific mappings win over groups)."""

    def __init__(self, conn: Connection, device_ids: Iterable[int], day: date | None = None):
        ids = sorted(set(device_ids))
        self.map: dict[tuple[int, str], int] = {}
        if not ids:
            return
        groups = dict(conn.execute(select(Device.id, Device.pin_group)
                                   .where(Device.id.in_(ids))).all())
        by_group: dict[str, dict[str, int]] = {}
        names = set(groups.values())
        rows = conn.execute(select(PinMapping.pin_group, PinMapping.device_id, PinMapping.pin,
                                   PinMapping.employee_id, PinMapping.valid_to)
                            .where((PinMapping.pin_group.in_(names))
                                   | (PinMapping.device_id.in_(ids)))).all()
        per_device: dict[int, dict[str, int]] = {}
        for group, dev, pin, emp, valid_to in rows:
            # A closed mapping still names who punched before it closed; the PIN is
            # never handed to anyone else, so keeping it resolves old punches right.
            del valid_to
            if dev is not None:
                per_device.setdefault(dev, {})[pin] = emp
            else:
                by_group.setdefault(group, {})[pin] = emp
        for dev in ids:
            merged = dict(by_group.get(groups.get(dev, ""), {}))
            merged.update(per_device.get(dev, {}))
            for pin, emp in merged.items():
                self.map[(dev, pin)] = emp

    def __call__(self, device_id: int, pin: str) -> int | None:
        return self.map.get((device_id, pin))


def _rows(punches: Sequence[Punch], resolver: PinResolver, run_id: int | None,
          result: IngestResult, now: datetime, sqlite: bool) -> list[tuple]:
    out = []
    dt = sqlite_dt if sqlite else (lambda v: v)
    received = dt(now)
    for p in punches:
        emp = resolver(p.device_id, p.pin)
        flags = int(p.flags)
        if emp is None:
            flags |= PunchFlag.UNKNOWN_PIN
            result.unknown_pin += 1
        if not plausible(p.local_time, now):
            flags |= PunchFlag.OUT_OF_RANGE
            result.out_of_range += 1
        try:
            utc = p.utc_time or to_utc(p.local_time, p.tz)
        except (OverflowError, ValueError):
            utc = p.local_time
            flags |= PunchFlag.OUT_OF_RANGE
        out.append((
            p.device_id, str(p.source), p.pin, emp, dt(p.local_time), p.tz, dt(utc),
            str(p.state), str(p.verify), p.work_code, p.device_seq,
            json.dumps(p.raw, default=str, separators=(",", ":")), received, run_id, flags,
        ))
    return out


def ingest_punches(bind: Engine | Connection, punches: Iterable[Punch],
                   run_id: int | None = None, batch_size: int = 20000) -> IngestResult:
    """Store punches; returns how many were new and how many were already there.

    Runs in one transaction per call when given an Engine; with a Connection it joins the
    caller's transaction (the caller commits). Nothing is stored if anything fails.
    """
    if isinstance(bind, Engine):
        with bind.begin() as conn:
            return ingest_punches(conn, punches, run_id, batch_size)
    conn = bind
    items = punches if isinstance(punches, list) else list(punches)
    result = IngestResult(seen=len(items))
    if not items:
        return result
    resolver = PinResolver(conn, {p.device_id for p in items})
    now = utcnow()
    sqlite = conn.dialect.name == "sqlite"
    for start in range(0, len(items), batch_size):
        chunk = items[start:start + batch_size]
        rows = _rows(chunk, resolver, run_id, result, now, sqlite)
        result.new += (_insert_sqlite if sqlite else _insert_postgres)(conn, rows)
    result.duplicate = result.seen - result.new
    return result


def _insert_sqlite(conn: Connection, rows: list[tuple]) -> int:
    dbapi = conn.connection.driver_connection
    before = dbapi.total_changes
    placeholders = ",".join("?" * len(COLUMNS))
    cur = dbapi.cursor()
    cur.executemany(
        f"INSERT OR IGNORE INTO raw_punches ({','.join(COLUMNS)}) VALUES ({placeholders})",
        rows)
    cur.close()
    return dbapi.total_changes - before


def _insert_postgres(conn: Connection, rows: list[tuple]) -> int:
    dbapi = conn.connection.driver_connection
    cols = ",".join(COLUMNS)
    with dbapi.cursor() as cur:
        # No constraints or defaults on the staging table: it only carries the batch.
        cur.execute(f"CREATE TEMP TABLE IF NOT EXISTS _ingest ON COMMIT DELETE ROWS AS "
                    f"SELECT {cols} FROM raw_punches WITH NO DATA")
        cur.execute("TRUNCATE _ingest")
        with cur.copy(f"COPY _ingest ({cols}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        cur.execute(
            f"INSERT INTO raw_punches ({cols}) SELECT {cols} FROM _ingest "
            "ON CONFLICT ON CONSTRAINT uq_raw_punches_identity DO NOTHING")
        return cur.rowcount


def resolve_unknown_pins(bind: Engine | Connection) -> int:
    """Attach employees to punches whose PIN was unknown when they arrived.

    employee_id is derived, not raw: filling it in later keeps the device's own fields
    untouched. Returns how many punches were resolved.
    """
    if isinstance(bind, Engine):
        with bind.begin() as conn:
            return resolve_unknown_pins(conn)
    conn = bind
    pending = conn.execute(
        select(RawPunch.id, RawPunch.device_id, RawPunch.pin, RawPunch.flags)
        .where(RawPunch.employee_id.is_(None))).all()
    if not pending:
        return 0
    resolver = PinResolver(conn, {r.device_id for r in pending})
    done = 0
    for r in pending:
        emp = resolver(r.device_id, r.pin)
        if emp is not None:
            conn.execute(update(RawPunch).where(RawPunch.id == r.id).values(
                employee_id=emp, flags=r.flags & ~int(PunchFlag.UNKNOWN_PIN)))
            done += 1
    return done
