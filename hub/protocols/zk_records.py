"""Attendance-buffer parsing for ZK terminals: every record size, in linear time.

pyzk 0.9 parses the log one record at a time and, for 8- and 16-byte records, scans the
whole user list for each record (quadratic on big sites). Here the buffer is unpacked with
struct.iter_unpack and uid -> user_id goes through a dict built once. A record whose date
cannot exist (e.g. 31 February) is kept with `time_error` set, never dropped, never fatal.
Byte layouts: reference/zk-protocol.md §3.8.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from hub.protocols.zk import ZkRecordError

# Known record sizes and their layouts; 49 is 40 + 9 SpeedFace bytes (pyzk PR #222).
KNOWN_SIZES = (8, 16, 40, 49)
_FMT = {8: "<HBIB", 16: "<IIBB2xI", 40: "<H24sBIBI4s", 49: "<H24sBIBI4s9s"}
# A time that cannot be a date is stored at this origin + its raw value in seconds, so it
# stays unique and stable across pulls yet far outside any plausible date (flagged).
IMPOSSIBLE_ORIGIN = datetime(1, 1, 1)


@dataclass(slots=True)
class ZkLogRecord:
    """One attendance record as the terminal stored it."""

    index: int
    pin: str
    uid: int | None
    time_raw: int
    local_time: datetime
    state: int
    verify: int
    workcode: int = 0
    time_error: str | None = None


@dataclass
class ParsedLog:
    record_size: int
    records: list[ZkLogRecord] = field(default_factory=list)
    impossible_dates: int = 0


def decode_time(value: int) -> tuple[datetime, str | None]:
    """ZK time (§3.6) -> (datetime, None), or (stand-in datetime, reason) if impossible."""
    t, second = divmod(value, 60)
    t, minute = divmod(t, 60)
    t, hour = divmod(t, 24)
    t, day = divmod(t, 31)
    year, month = divmod(t, 12)
    try:
        return datetime(year + 2000, month + 1, day + 1, hour, minute, second), None
    except ValueError as exc:
        return (IMPOSSIBLE_ORIGIN + timedelta(seconds=value),
                f"{year + 2000:04d}-{month + 1:02d}-{day + 1:02d} {hour:02d}:{minute:02d}:"
                f"{second:02d}: {exc}")


def record_size_of(total_bytes: int, count: int) -> int:
    """The per-record size a buffer of `total_bytes` holding `count` records implies."""
    if count <= 0:
        raise ZkRecordError(f"terminal reports {count} records but sent {total_bytes} bytes")
    size, rest = divmod(total_bytes, count)
    if rest:
        raise ZkRecordError(
            f"attendance buffer of {total_bytes} bytes is not a whole number of "
            f"{count} records ({total_bytes / count:.2f} bytes each)")
    if size not in KNOWN_SIZES:
        raise ZkRecordError(
            f"unknown attendance record size {size} bytes ({count} records, {total_bytes} "
            f"bytes); known sizes: {', '.join(map(str, KNOWN_SIZES))}")
    return size


def split_buffer(buffer: bytes) -> bytes:
    """Strip the u32 size prefix of a 1503/1504 buffer, checking it against the data."""
    if len(buffer) < 4:
        raise ZkRecordError(f"attendance buffer too short for its size prefix: {len(buffer)} bytes")
    (declared,) = struct.unpack_from("<I", buffer)
    payload = buffer[4:]
    if declared != len(payload):
        raise ZkRecordError(
            f"attendance buffer says {declared} bytes but carries {len(payload)} (offset 0)")
    return payload


def parse_attendance(payload: bytes, count: int | None = None, *, record_size: int | None = None,
                     users_by_uid: Mapping[int, str] | Callable[[], Mapping[int, str]]
                     | None = None, encoding: str = "utf-8") -> ParsedLog:
    """Parse the records of an attendance buffer (size prefix already removed).

    Give `count` (from GET_FREE_SIZES) or `record_size`. `users_by_uid` maps the terminal's
    internal uid to the user id (PIN) people know; 8-byte records carry only the uid. It may
    be a function returning the map, called only if a record needs it (the user list is a
    download of its own).
    """
    if record_size is None:
        record_size = record_size_of(len(payload), count or 0)
    elif record_size not in KNOWN_SIZES:
        raise ZkRecordError(f"unknown attendance record size {record_size} bytes")
    if len(payload) % record_size:
        raise ZkRecordError(
            f"attendance buffer of {len(payload)} bytes is cut inside record "
            f"{len(payload) // record_size} (records are {record_size} bytes)")
    loaded: list[Mapping[int, str]] = []

    def users() -> Mapping[int, str]:
        if not loaded:
            source = users_by_uid() if callable(users_by_uid) else users_by_uid
            loaded.append(source or {})
        return loaded[0]

    if record_size == 8:
        users()
    out = ParsedLog(record_size)
    append = out.records.append
    rows = struct.iter_unpack(_FMT[record_size], payload)
    for index, row in enumerate(rows):
        if record_size == 8:
            uid, verify, t, state = row
            pin = loaded[0].get(uid) or str(uid)
            workcode = 0
        elif record_size == 16:
            # The u32 is the user id itself (manual TExtendAttLog); no uid on the record.
            user_id, t, state, verify, workcode = row
            uid = None
            pin = str(user_id)
        else:
            uid, raw_id, verify, t, state, workcode = row[:6]
            pin = raw_id.split(b"\x00", 1)[0].decode(encoding, errors="replace").strip()
            if not pin:
                pin = users().get(uid) or str(uid)
        local, err = decode_time(t)
        if err:
            out.impossible_dates += 1
        append(ZkLogRecord(index, pin, uid, t, local, state, verify, workcode, err))
    return out


def parse_attendance_buffer(buffer: bytes, count: int,
                            users_by_uid: Mapping[int, str] | None = None,
                            encoding: str = "utf-8") -> ParsedLog:
    """Parse a whole 1503/1504 buffer (with its u32 size prefix)."""
    payload = split_buffer(buffer)
    return parse_attendance(payload, count, users_by_uid=users_by_uid, encoding=encoding)
