"""ZK access-control, operation-log, face and single-template payloads: a pure codec, no I/O.

Layouts from zkproto (adrobinoga/zk-protocol `sections/access.md`, `data-user.md`,
`data-record.md`), whose examples are captures; face entries from pyzk #259. Every decoder
raises a ZkProtocolError subclass saying what was wrong and where.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from hub.protocols.zk import ZkArgumentError, ZkRecordError

# Operation codes of the operation log, as the ZKTeco SDK appendix numbers them (the same
# OpType that ADMS OPLOG lines carry). Only what the simulated units write is named.
OP_ENROLL_FINGER = 6
OP_DELETE_USER = 9
OP_DELETE_FINGER = 10
OP_CLEAR_DATA = 13
OP_CLEAR_ADMIN = 24
OP_ENROLL_USER = 30
OPLOG_SIZE = 16

TZ_COUNT = 50  # time zones 1..50
GROUP_COUNT = 99  # groups 1..99
ULG_COUNT = 10  # unlock combinations 1..10
TZ_REPLY_TAIL = b"\xa7\x1c"  # the two bytes that close every captured TZ_RRQ reply (meaning unknown)

FACE_ENTRY = 2576  # pyzk #259: every face comes back as a fixed 2576-byte entry
FACE_ALL = 50  # face index meaning "all faces of the user" (SDK face index 50)

# per-user verify modes (VERIFY_WRQ): 0 = the group's; 0x80 | style otherwise
VERIFY_GROUP = 0
VERIFY_STYLES = range(0, 15)  # FP+PW+RF .. FP&RF+PIN (zkproto tables)


def _need(data: bytes, size: int, what: str) -> None:
    if len(data) < size:
        raise ZkArgumentError(f"{what} needs {size} bytes, got {len(data)}", 0)


def parse_index(data: bytes, what: str, low: int, high: int) -> int:
    """A small index argument: a number in the first bytes (little endian, up to 4), the
    rest padding (zkproto sends `nn 00 00 00`, some clients a single byte)."""
    _need(data, 1, what)
    value = int.from_bytes(data[:4], "little")
    if not low <= value <= high:
        raise ZkArgumentError(f"{what} {value} outside {low}..{high}", 0)
    return value


# --- time zones (CMD_TZ_RRQ 27 / CMD_TZ_WRQ 28) ------------------------------------------
Window = tuple[int, int, int, int]  # start hour, start minute, end hour, end minute
ALL_DAY: Window = (0, 0, 23, 59)
CLOSED: Window = (0, 0, 0, 0)


@dataclass(frozen=True, slots=True)
class TimeZone:
    index: int
    days: tuple[Window, ...]  # Sunday first, 7 windows; start after end closes the day

    def __post_init__(self) -> None:
        if len(self.days) != 7:
            raise ZkRecordError(f"time zone {self.index} needs 7 day windows, got {len(self.days)}")
        for i, (sh, sm, eh, em) in enumerate(self.days):
            if not (0 <= sh <= 23 and 0 <= eh <= 23 and 0 <= sm <= 59 and 0 <= em <= 59):
                raise ZkRecordError(f"time zone {self.index} day {i}: {sh}:{sm}-{eh}:{em} is not a time window")


def _days(raw: bytes) -> tuple[Window, ...]:
    return tuple(tuple(raw[i:i + 4]) for i in range(0, 28, 4))  # type: ignore[misc]


def encode_tz_reply(tz: TimeZone) -> bytes:
    return struct.pack("<H", tz.index) + b"".join(bytes(d) for d in tz.days) + TZ_REPLY_TAIL


def decode_tz_reply(data: bytes) -> TimeZone:
    _need(data, 30, "TZ_RRQ reply")
    return TimeZone(struct.unpack_from("<H", data)[0], _days(data[2:30]))


def encode_tz_write(tz: TimeZone) -> bytes:
    return struct.pack("<I", tz.index) + b"".join(bytes(d) for d in tz.days)


def parse_tz_write(data: bytes) -> TimeZone:
    _need(data, 32, "TZ_WRQ")
    index = struct.unpack_from("<I", data)[0]
    if not 1 <= index <= TZ_COUNT:
        raise ZkArgumentError(f"time zone {index} outside 1..{TZ_COUNT}", 0)
    try:
        return TimeZone(index, _days(data[4:32]))
    except ZkRecordError as exc:
        raise ZkArgumentError(str(exc), 4) from None


# --- groups (CMD_GRPTZ_RRQ 25 / WRQ 26) --------------------------------------------------
@dataclass(frozen=True, slots=True)
class GroupTZ:
    group: int
    tzs: tuple[int, int, int] = (1, 0, 0)
    verify: int = 0  # verify style 0..14 (zkproto table)
    holidays: bool = False


def encode_group(g: GroupTZ) -> bytes:
    return struct.pack("<BHHHB", g.group, *g.tzs, (g.verify & 0x7F) | (0x80 if g.holidays else 0))


def decode_group(data: bytes) -> GroupTZ:
    _need(data, 8, "group settings")
    group, t1, t2, t3, vh = struct.unpack_from("<BHHHB", data)
    if not 1 <= group <= GROUP_COUNT:
        raise ZkArgumentError(f"group {group} outside 1..{GROUP_COUNT}", 0)
    for t in (t1, t2, t3):
        if t > TZ_COUNT:
            raise ZkArgumentError(f"group {group} names time zone {t}, beyond {TZ_COUNT}", 1)
    if vh & 0x7F not in VERIFY_STYLES:
        raise ZkArgumentError(f"group {group}: verify style {vh & 0x7F} is not 0..14", 7)
    return GroupTZ(group, (t1, t2, t3), vh & 0x7F, bool(vh & 0x80))


# --- a user's group and time zones (21/22, 23/24) ----------------------------------------
def parse_user_group_write(data: bytes) -> tuple[int, int]:
    """USERGRP_WRQ: user sn (u32, zkproto: 1 byte + 3 zeros), group u8."""
    _need(data, 5, "USERGRP_WRQ")
    uid, group = struct.unpack_from("<IB", data)
    if not 1 <= group <= GROUP_COUNT:
        raise ZkArgumentError(f"group {group} outside 1..{GROUP_COUNT}", 4)
    return uid, group


@dataclass(frozen=True, slots=True)
class UserTZ:
    own: bool  # False: the user follows the group's time zones
    tzs: tuple[int, int, int] = (0, 0, 0)

    @property
    def record(self) -> bytes:
        """Bytes 40..47 of the 72-byte user record (flag, tz1..3)."""
        return struct.pack("<4H", int(self.own), *self.tzs)

    @classmethod
    def from_record(cls, raw: bytes) -> UserTZ:
        flag, t1, t2, t3 = struct.unpack("<4H", raw[:8].ljust(8, b"\x00"))
        return cls(bool(flag), (t1, t2, t3))


def encode_user_tz_reply(u: UserTZ) -> bytes:
    return u.record


def encode_user_tz_write(uid: int, u: UserTZ) -> bytes:
    return struct.pack("<5I", uid, int(u.own), *u.tzs)


def parse_user_tz_write(data: bytes) -> tuple[int, UserTZ]:
    _need(data, 20, "USERTZ_WRQ")
    uid, flag, t1, t2, t3 = struct.unpack_from("<5I", data)
    for t in (t1, t2, t3):
        if t > TZ_COUNT:
            raise ZkArgumentError(f"user {uid}: time zone {t} beyond {TZ_COUNT}", 8)
    return uid, UserTZ(bool(flag), (t1, t2, t3))


# --- unlock combinations (29/30) ----------------------------------------------------------
@dataclass(frozen=True, slots=True)
class UnlockCombo:
    index: int
    groups: tuple[int, ...]  # up to 5 groups that must verify together


def encode_ulg(c: UnlockCombo) -> bytes:
    groups = tuple(c.groups) + (0,) * (5 - len(c.groups))
    return struct.pack("<6BH", c.index, *groups, len(c.groups))


def decode_ulg(data: bytes) -> UnlockCombo:
    _need(data, 8, "unlock combination")
    index, *groups, count = struct.unpack_from("<6BH", data)
    if not 1 <= index <= ULG_COUNT:
        raise ZkArgumentError(f"unlock combination {index} outside 1..{ULG_COUNT}", 0)
    if count > 5 or any(g > GROUP_COUNT for g in groups):
        raise ZkArgumentError(f"unlock combination {index}: {count} groups of {groups} is not valid", 1)
    return UnlockCombo(index, tuple(groups[:count]))


# --- verify modes (79/80) -------------------------------------------------------------------
def encode_verify(uid: int, mode: int) -> bytes:
    return struct.pack("<HB21x", uid, mode)


def decode_verify(data: bytes) -> tuple[int, int]:
    _need(data, 3, "verify info")
    uid, mode = struct.unpack_from("<HB", data)
    if mode != VERIFY_GROUP and (mode & 0x80 == 0 or mode & 0x7F not in VERIFY_STYLES):
        raise ZkArgumentError(f"verify mode {mode:#04x} for uid {uid} is not 0 or 0x80..0x8e", 2)
    return uid, mode


# --- operation log (1503 with cmd 34, fct 4) ------------------------------------------------
@dataclass(frozen=True, slots=True)
class OpLogEntry:
    op: int
    time_raw: int
    params: tuple[int, int, int, int] = (0, 0, 0, 0)
    admin: int = 0
    state: int = 0


def encode_oplog(e: OpLogEntry) -> bytes:
    return struct.pack("<HBBI4H", e.admin, e.op, e.state, e.time_raw, *e.params)


def decode_oplog(payload: bytes) -> list[OpLogEntry]:
    if len(payload) % OPLOG_SIZE:
        raise ZkRecordError(f"operation log of {len(payload)} bytes is not a whole number of 16-byte entries")
    return [OpLogEntry(op, t, (p1, p2, p3, p4), admin, state)
            for admin, op, state, t, p1, p2, p3, p4 in struct.iter_unpack("<HBBI4H", payload)]


# --- single-template upload (PREPARE_DATA, DATA, CHECKSUM_BUFFER 119, TMP_WRITE 87) ----------
@dataclass(frozen=True, slots=True)
class TmpWrite:
    uid: int
    fid: int
    flag: int
    size: int


def encode_tmp_write(w: TmpWrite) -> bytes:
    return struct.pack("<HBBH", w.uid, w.fid, w.flag, w.size)


def parse_tmp_write(data: bytes) -> TmpWrite:
    _need(data, 6, "TMP_WRITE")
    w = TmpWrite(*struct.unpack_from("<HBBH", data))
    if not 0 <= w.fid <= 9:
        raise ZkArgumentError(f"TMP_WRITE finger {w.fid} is not 0..9", 2)
    if w.flag not in (0, 1, 3):
        raise ZkArgumentError(f"TMP_WRITE flag {w.flag} is not 0 (invalid), 1 (valid) or 3 (duress)", 3)
    return w


def buffer_checksum(data: bytes) -> int:
    """What our units answer to CHECKSUM_BUFFER: the algorithm of real firmware is unknown
    (zkproto), so no client can check it; a sum of the bytes keeps the answer stable."""
    return sum(data) & 0xFFFFFFFF


# --- face templates (150) -------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Face:
    uid: int
    face_id: int
    template: bytes
    valid: int = 1


def encode_face(f: Face) -> bytes:
    """One fixed 2576-byte entry: u16 size (template + 6), u16 uid, u8 face id, u8 valid
    (pyzk #259 reads "256 + face id" there), template, zero padding."""
    if len(f.template) + 6 > FACE_ENTRY:
        raise ZkRecordError(f"face template of uid {f.uid} is {len(f.template)} bytes; at most {FACE_ENTRY - 6}")
    return struct.pack("<HHBB", len(f.template) + 6, f.uid, f.face_id, f.valid) + f.template.ljust(
        FACE_ENTRY - 6, b"\x00")


def decode_faces(data: bytes) -> list[Face]:
    if len(data) % FACE_ENTRY:
        raise ZkRecordError(f"face data of {len(data)} bytes is not a whole number of {FACE_ENTRY}-byte entries")
    out = []
    for off in range(0, len(data), FACE_ENTRY):
        size, uid, face_id, valid = struct.unpack_from("<HHBB", data, off)
        if not 6 <= size <= FACE_ENTRY:
            raise ZkRecordError(f"face entry at {off} claims {size} bytes", off)
        out.append(Face(uid, face_id, bytes(data[off + 6:off + size]), valid))
    return out


def parse_face_request(data: bytes) -> tuple[int, int]:
    """150: `i16 uid, i8 face index` (50 = every face of the user)."""
    _need(data, 3, "face request")
    uid, index = struct.unpack_from("<HB", data)
    return uid, index
