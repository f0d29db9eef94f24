"""Bulk ingest of canonical punches: one transaction, duplicates ignored by identity.

This is the hot path of every adapter, so it talks to the DB-API cursor directly:
SQLite gets `INSERT OR IGNORE` through executemany, PostgreSQL gets COPY into a temporary
table followed by one `INSERT … SELECT … ON CONFLICT DO NOTHING`. Both count what was new
from the database itself, so "new + duplicate == seen" holds whatever arrived before.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from operator import itemgetter
from typing import Any

import orjson
import psycopg
from sqlalchemy import Connection, Engine, select, update
from sqlalchemy.exc import DBAPIError

from hub.gc_pause import gc_paused
from hub.punch import EARLIEST_PLAUSIBLE, Punch, PunchFlag, to_utc
from hub.store.models import Device, PinMapping, RawPunch, utcnow
from hub.times import sqlite_dt

PLAUSIBLE_FUTURE = timedelta(days=2)
_N = "\\N"  # NULL in COPY's text format
COLUMNS = (
    "device_id", "source", "pin", "employee_id", "local_time", "tz", "utc_time", "state",
    "verify", "work_code", "device_seq", "raw", "received_at", "ingest_run_id", "flags",
)
# What a row built per punch carries; received_at and ingest_run_id are the same for a
# whole call and go into the statement once.
ROW_COLUMNS = tuple(c for c in COLUMNS if c not in ("received_at", "ingest_run_id"))
# The columns every insert names: a row's, then the call's two.
_TARGET = ",".join((*ROW_COLUMNS, "received_at", "ingest_run_id"))


def _sqlite_call_values(received: datetime, run_id: int | None) -> str:
    """The call's values as SQL literals we made ourselves (a timestamp and an int), which
    spares binding them on every row."""
    return f"'{sqlite_dt(received)}',{'NULL' if run_id is None else int(run_id)}"


@dataclass
class IngestResult:
    seen: int = 0
    new: int = 0
    duplicate: int = 0
    unknown_pin: int = 0
    out_of_range: int = 0
    new_ids_by_device: dict[int, int] = field(default_factory=dict)
    unknown_pins: Counter[str] = field(default_factory=Counter)  # PIN -> punches, for the import report

    def __iadd__(self, other: IngestResult) -> IngestResult:
        self.seen += other.seen
        self.new += other.new
        self.duplicate += other.duplicate
        self.unknown_pin += other.unknown_pin
        self.out_of_range += other.out_of_range
        self.unknown_pins.update(other.unknown_pins)
        return self


class UtcOffsets:
    """Local wall clock -> UTC with the zone's offset looked up once per (zone, day).

    ZoneInfo arithmetic per punch dominated ingest time; Indonesian zones have had a
    fixed offset since 1964, and caching per day stays right for zones with DST too
    (except for the hour around a transition, which these zones never have).
    """

    def __init__(self) -> None:
        self.cache: dict[tuple[str, int], timedelta] = {}
        # local hour (hour_key) -> its text "YYYY-MM-DD HH:"
        self.local_hours: dict[int, str] = {}
        # (zone, local hour_key) -> the UTC hour's text, where the offset is whole hours
        self.hours: dict[tuple[str, int], str] = {}

    def __call__(self, local_time: datetime, tz: str) -> datetime:
        key = (tz, local_time.toordinal())
        offset = self.cache.get(key)
        if offset is None:
            offset = local_time - to_utc(local_time, tz)
            self.cache[key] = offset
        return local_time - offset

    def remember_hour(self, tz: str, local: datetime, local_text: str, utc_text: str) -> None:
        offset = self.cache.get((tz, local.toordinal()))
        if offset is not None and not offset.total_seconds() % 3600 and \
                local_text[13:] == utc_text[13:]:
            self.hours[(tz, hour_key(local))] = utc_text[:14]


def hour_key(value: datetime) -> int:
    """The hour a time falls in, as one int (a cheap dict key)."""
    return value.toordinal() * 24 + value.hour


# "MM:SS.000000" for every minute and second of an hour: a whole-second time's text is its
# hour's text plus one of these (datetime.isoformat costs 0.5 µs a call).
_MINUTE_SECOND = tuple(f"{m:02d}:{s:02d}.000000" for m in range(60) for s in range(60))


_JSON = json.JSONEncoder(separators=(",", ":"), default=str, ensure_ascii=False)
# orjson is ten times faster than json on the small dicts adapters keep as `raw`; the
# options make its text what json.dumps(separators=(",", ":"), default=str) gives.
_ORJSON_OPTS = (orjson.OPT_NON_STR_KEYS | orjson.OPT_PASSTHROUGH_DATETIME
                | orjson.OPT_PASSTHROUGH_DATACLASS)


class PinResolver:
    """PIN -> employee per device: device-specific mappings win over the device's group."""

    def __init__(self, conn: Connection, device_ids: Iterable[int]):
        ids = sorted(set(device_ids))
        self.by_device: dict[int, dict[str, int]] = {}
        if not ids:
            return
        groups = dict(conn.execute(select(Device.id, Device.pin_group)
                                   .where(Device.id.in_(ids))).all())
        rows = conn.execute(select(PinMapping.pin_group, PinMapping.device_id, PinMapping.pin,
                                   PinMapping.employee_id)
                            .where((PinMapping.pin_group.in_(set(groups.values())))
                                   | (PinMapping.device_id.in_(ids)))).all()
        # A closed mapping (valid_to set) still names who punched while it was open; the
        # PIN is never handed to anyone else, so it resolves old punches right.
        by_group: dict[str, dict[str, int]] = {}
        per_device: dict[int, dict[str, int]] = {}
        for group, dev, pin, emp in rows:
            if dev is not None:
                per_device.setdefault(dev, {})[pin] = emp
            else:
                by_group.setdefault(group, {})[pin] = emp
        for dev in ids:
            shared = by_group.get(groups.get(dev, ""), {})
            own = per_device.get(dev)
            self.by_device[dev] = {**shared, **own} if own else shared

    def __call__(self, device_id: int, pin: str) -> int | None:
        return self.by_device.get(device_id, {}).get(pin)

    @classmethod
    def of_device(cls, conn: Connection, device_id: int) -> dict[str, int]:
        """PIN -> employee on one terminal (the roster sync's read-back uses the same rule)."""
        return cls(conn, [device_id]).by_device.get(device_id, {})


def _rows(punches: Sequence[Punch], resolver: PinResolver,
          result: IngestResult, now: datetime, utc_of: UtcOffsets,
          no_employee: int | None = None) -> list[tuple]:
    """Rows for ROW_COLUMNS: the hot loop of every ingest, so names are bound locally, the PIN
    map of the last device is kept, and the UTC offset is read from its cache inline.

    Times are ISO text (sqlite_dt), on both databases: SQLite stores exactly that text, and
    PostgreSQL's COPY reads it as it is, with no per-value dumper (half the cost of a row).
    An unknown PIN's employee is `no_employee` (see _SqliteShape)."""
    out: list[tuple] = []
    append = out.append
    latest = now + PLAUSIBLE_FUTURE
    maps = resolver.by_device
    empty: dict[str, int] = {}
    dumps, opts = orjson.dumps, _ORJSON_OPTS
    unknown = int(PunchFlag.UNKNOWN_PIN)
    out_of_range = int(PunchFlag.OUT_OF_RANGE)
    offsets = utc_of.cache
    hours, local_hours = utc_of.hours, utc_of.local_hours
    minute_second = _MINUTE_SECOND
    n_unknown = n_range = 0
    last_dev, pins = None, empty
    for p in punches:
        local = p.local_time
        dev = p.device_id
        if dev != last_dev:
            last_dev, pins = dev, maps.get(dev, empty)
        emp = pins.get(p.pin)
        flags = int(p.flags)
        if emp is None:
            flags |= unknown
            n_unknown += 1
            result.unknown_pins[p.pin] += 1
            emp = no_employee
        if not EARLIEST_PLAUSIBLE <= local <= latest:
            flags |= out_of_range
            n_range += 1
        utc = p.utc_time
        hk = local.toordinal() * 24 + local.hour  # hour_key(local), inline
        if local.microsecond:
            local_v = local.isoformat(" ", "microseconds")
            tail = local_v[14:]
        else:
            tail = minute_second[local.minute * 60 + local.second]
            prefix = local_hours.get(hk)
            if prefix is None:
                prefix = local_hours[hk] = local.isoformat(" ", "microseconds")[:14]
            local_v = prefix + tail
        utc_v: str | None
        if utc is None:
            # Same zone, same local hour -> same UTC hour: the text of the UTC time is the
            # cached hour before the local minutes (zones a whole hour off UTC).
            utc_v = hours.get((p.tz, hk))
            if utc_v is not None:
                utc_v += tail
            else:
                offset = offsets.get((p.tz, local.toordinal()))
                if offset is not None:
                    utc = local - offset
                else:
                    try:
                        utc = utc_of(local, p.tz)
                    except (OverflowError, ValueError):
                        utc = local
                        flags |= out_of_range
                utc_v = utc.isoformat(" ", "microseconds")
                utc_of.remember_hour(p.tz, local, local_v, utc_v)
        else:
            utc_v = utc.isoformat(" ", "microseconds")
        try:
            raw = dumps(p.raw, default=str, option=opts).decode()
        except TypeError:
            raw = _JSON.encode(p.raw)
        append((dev, str(p.source), p.pin, emp, local_v, p.tz, utc_v, str(p.state),
                str(p.verify), p.work_code, p.device_seq, raw, flags))
    result.unknown_pin += n_unknown
    result.out_of_range += n_range
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
    with gc_paused():  # rows are short-lived and acyclic: reference counting frees them
        return _ingest(bind, punches, run_id, batch_size)


class _SqliteShape:
    """How SQLite rows avoid binding None, which costs Python's sqlite3 driver three times an
    int (it looks for an adapter first): a column NULL on every row of a chunk is left out
    of the insert (the column's default is NULL), and an unknown employee is bound as 0 and
    turned back into NULL by the statement (0 is no employee's id: SQLite numbers rows from
    1; should a store hold one anyway, None is bound as it is)."""

    OFTEN_NULL = tuple(ROW_COLUMNS.index(c) for c in ("work_code", "device_seq"))
    EMPLOYEE = ROW_COLUMNS.index("employee_id")

    def __init__(self, resolver: PinResolver) -> None:
        maps = {id(m): m for m in resolver.by_device.values()}.values()
        self.no_employee: int | None = None if any(0 in m.values() for m in maps) else 0

    def trim(self, rows: list[tuple]) -> tuple[list[tuple], tuple[int, ...]]:
        """(rows without the columns that are NULL throughout, the kept positions)."""
        drop = [i for i in self.OFTEN_NULL
                if list(map(itemgetter(i), rows)).count(None) == len(rows)]
        if not drop:
            return rows, tuple(range(len(ROW_COLUMNS)))
        keep = tuple(i for i in range(len(ROW_COLUMNS)) if i not in drop)
        return list(map(itemgetter(*keep), rows)), keep

    def names(self, keep: tuple[int, ...]) -> str:
        return ",".join(ROW_COLUMNS[i] for i in keep)

    def values(self, keep: tuple[int, ...]) -> str:
        """The VALUES placeholders for `keep`: the employee's turns 0 back into NULL."""
        return ",".join("NULLIF(?,0)" if i == self.EMPLOYEE and self.no_employee == 0 else "?"
                        for i in keep)

    def select(self) -> str:
        """The staged columns as the merge reads them."""
        return ",".join("NULLIF(employee_id,0)" if c == "employee_id" and self.no_employee == 0
                        else c for c in ROW_COLUMNS)


def _ingest(conn: Connection, punches: Iterable[Punch], run_id: int | None,
            batch_size: int) -> IngestResult:
    items = punches if isinstance(punches, list) else list(punches)
    result = IngestResult(seen=len(items))
    if not items:
        return result
    resolver = PinResolver(conn, {p.device_id for p in items})
    now = utcnow()
    sqlite = conn.dialect.name == "sqlite"
    utc_of = UtcOffsets()
    chunks = [items[i:i + batch_size] for i in range(0, len(items), batch_size)]
    try:
        if not sqlite:
            for chunk in chunks:
                rows = _rows(chunk, resolver, result, now, utc_of)
                result.new += _insert_postgres(conn, rows, now, run_id)
        elif len(chunks) == 1:
            shape = _SqliteShape(resolver)
            rows = _rows(chunks[0], resolver, result, now, utc_of, shape.no_employee)
            result.new += _insert_sqlite(conn, *shape.trim(rows), shape, now, run_id)
        else:
            result.new += _pipeline_sqlite(conn, chunks, resolver, result, now, run_id, utc_of)
    except conn.dialect.dbapi.Error as exc:  # type: ignore[union-attr]
        # The driver is used directly here: its errors reach callers as SQLAlchemy's, the
        # same classes (IntegrityError, OperationalError …) any other write raises.
        raise DBAPIError.instance("ingest_punches", None, exc,
                                  conn.dialect.dbapi.Error,  # type: ignore[union-attr]
                                  dialect=conn.dialect) from exc
    result.duplicate = result.seen - result.new
    return result


def _rows_yielding(chunk: list[Punch], resolver: PinResolver, result: IngestResult,
                   now: datetime, utc_of: UtcOffsets, shape: _SqliteShape,
                   step: int = 1000) -> tuple[list[tuple], tuple[int, ...]]:
    """_rows in slices, offering the GIL between them: the thread merging in SQLite gets it
    back within a slice (~2 ms) instead of the interpreter's 5 ms switch interval. Returns
    the trimmed rows and their columns (_SqliteShape.trim)."""
    out: list[tuple] = []
    for i in range(0, len(chunk), step):
        out += _rows(chunk[i:i + step], resolver, result, now, utc_of, shape.no_employee)
        time.sleep(0)
    return shape.trim(out)


def _pipeline_sqlite(conn: Connection, chunks: list[list[Punch]], resolver: PinResolver,
                     result: IngestResult, now: datetime, run_id: int | None,
                     utc_of: UtcOffsets) -> int:
    """Many chunks: each is staged in a temporary table, then merged by one INSERT … SELECT.

    The merge (index upkeep, most of the work) runs inside SQLite without the GIL, so a
    helper thread builds the next chunk's rows meanwhile, on the other core. The helper
    stays idle while rows are staged: two threads taking turns with the GIL on every row
    would stall both.
    """
    dbapi = conn.connection.driver_connection
    cols = ",".join(ROW_COLUMNS)
    constants = _sqlite_call_values(now, run_id)
    cur = dbapi.cursor()
    new = 0
    try:
        # Untyped columns: values are stored as bound, with no affinity conversion tried on
        # every row (raw_punches applies its own once, in the merge).
        cur.execute(f"CREATE TEMP TABLE IF NOT EXISTS _ingest_stage ({cols})")
        cur.execute("DELETE FROM _ingest_stage")
        shape = _SqliteShape(resolver)
        with ThreadPoolExecutor(1, thread_name_prefix="ingest-rows") as pool:
            pending = pool.submit(_rows_yielding, chunks[0], resolver, result, now, utc_of,
                                  shape)
            for k in range(len(chunks)):
                rows, keep = pending.result()
                cur.executemany(f"INSERT INTO _ingest_stage ({shape.names(keep)}) VALUES "
                                f"({','.join('?' * len(keep))})", rows)
                del rows
                if k + 1 < len(chunks):
                    pending = pool.submit(_rows_yielding, chunks[k + 1], resolver, result, now,
                                          utc_of, shape)
                # rowid order is arrival order: the merge keeps it.
                cur.execute(f"INSERT OR IGNORE INTO raw_punches ({_TARGET}) "
                            f"SELECT {shape.select()},{constants} FROM _ingest_stage ORDER BY rowid")
                new += cur.rowcount
                cur.execute("DELETE FROM _ingest_stage")
    finally:
        cur.close()
    return new


def _insert_sqlite(conn: Connection, rows: list[tuple], keep: tuple[int, ...],
                   shape: _SqliteShape, received: datetime, run_id: int | None) -> int:
    dbapi = conn.connection.driver_connection
    before = dbapi.total_changes
    constants = _sqlite_call_values(received, run_id)
    # Rows go in as they came: adapters deliver a terminal's log in time order, which keeps
    # the indexes' inserts near their right edge (sorting by identity scattered them).
    cur = dbapi.cursor()
    cur.executemany(
        f"INSERT OR IGNORE INTO raw_punches ({shape.names(keep)},received_at,ingest_run_id) "
        f"VALUES ({shape.values(keep)},{constants})", rows)
    cur.close()
    return dbapi.total_changes - before


def _insert_postgres(conn: Connection, rows: list[tuple], received: datetime,
                     run_id: int | None) -> int:
    dbapi = conn.connection.driver_connection
    with dbapi.cursor() as cur:
        fresh = _fresh_rows(cur, rows)
        if fresh is not None:
            # Nothing stored can clash: COPY straight into the table. A writer that slipped
            # in meanwhile makes it fail on the identity; then the checked path below runs.
            cur.execute("SAVEPOINT ingest_fresh")
            try:
                _copy(cur, "raw_punches", _TARGET, fresh, (sqlite_dt(received), run_id))
            except psycopg.errors.UniqueViolation:
                cur.execute("ROLLBACK TO SAVEPOINT ingest_fresh")
            else:
                cur.execute("RELEASE SAVEPOINT ingest_fresh")
                return len(fresh)
        cols = ",".join(ROW_COLUMNS)
        # No constraints or defaults on the staging table: it only carries the batch.
        cur.execute(f"CREATE TEMP TABLE IF NOT EXISTS _ingest_rows ON COMMIT DELETE ROWS AS "
                    f"SELECT {cols} FROM raw_punches WITH NO DATA")
        cur.execute("TRUNCATE _ingest_rows")
        _copy(cur, "_ingest_rows", cols, rows, ())
        cur.execute(
            f"INSERT INTO raw_punches ({_TARGET}) SELECT {cols},%s,%s FROM _ingest_rows "
            "ON CONFLICT ON CONSTRAINT uq_raw_punches_identity DO NOTHING", (received, run_id))
        return cur.rowcount


def _copy(cur: Any, table: str, columns: str, rows: list[tuple], tail: tuple) -> None:
    """COPY rows (ROW_COLUMNS, then `tail` on every row) into `table`.

    The text is written here, one f-string per row: psycopg's per-value dumpers cost more
    than the rest of a pull's work on a row. That text is right as long as no value holds
    a backslash, tab or line break; the counts prove it, else psycopg escapes every value."""
    end = "".join(f"\t{_N if v is None else v}" for v in tail) + "\n"
    lines = [f"{dev}\t{src}\t{pin}\t{_N if emp is None else emp}\t{local}\t{tz}\t"
             f"{_N if utc is None else utc}\t{st}\t{vf}\t{_N if wc is None else wc}\t"
             f"{_N if seq is None else seq}\t{raw}\t{flags}{end}"
             for dev, src, pin, emp, local, tz, utc, st, vf, wc, seq, raw, flags in rows]
    text = "".join(lines)
    del lines
    nulls = tail.count(None) * len(rows) + sum([row.count(None) for row in rows])
    tabs = (len(ROW_COLUMNS) + len(tail) - 1) * len(rows)
    clean = (text.count("\\") == nulls and text.count("\t") == tabs
             and text.count("\n") == len(rows) and "\r" not in text)
    with cur.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
        if clean:
            copy.write(text)
        else:
            for row in rows:
                copy.write_row((*row, *tail))


# Positions in ROW_COLUMNS of the identity (device, local time, pin, state, verify).
_IDENTITY = tuple(ROW_COLUMNS.index(c) for c in ("device_id", "local_time", "pin", "state",
                                                   "verify"))


def _fresh_rows(cur: Any, rows: list[tuple]) -> list[tuple] | None:
    """The batch without its inner repeats when no stored punch can share an identity with
    it (the device holds nothing between its first and last local time), else None.

    A log read past what was stored, the usual pull, is all new: it then skips the staging
    table and the conflict check, which are half the database's work per row."""
    dev_i, local_i = _IDENTITY[0], _IDENTITY[1]
    devices = set(map(itemgetter(dev_i), rows))
    if len(devices) > 8:
        return None
    # Times are ISO text: their order is the times' order.
    if len(devices) == 1:  # the usual call: one terminal's log
        times = list(map(itemgetter(local_i), rows))
        spans = {devices.pop(): (min(times), max(times))}
    else:
        spans = {}
        for dev in devices:
            times = [row[local_i] for row in rows if row[dev_i] == dev]
            spans[dev] = (min(times), max(times))
    for dev, (lo, hi) in spans.items():
        cur.execute("SELECT EXISTS (SELECT 1 FROM raw_punches WHERE device_id = %s AND "
                    "local_time >= %s::timestamp AND local_time <= %s::timestamp)",
                    (dev, lo, hi))
        if cur.fetchone()[0]:
            return None
    keys = list(map(itemgetter(*_IDENTITY), rows))
    if len(set(keys)) == len(rows):
        return rows
    seen: set[tuple] = set()
    fresh = []
    for key, row in zip(keys, rows, strict=True):
        if key not in seen:
            seen.add(key)
            fresh.append(row)
    return fresh


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
