"""The ZKTeco standalone binary protocol (port 4370, TCP and UDP): a pure codec, no I/O.

Byte layouts follow /shared/reference/zk-protocol.md (section numbers in comments). Every
decoder raises a ZkProtocolError subclass that says what was wrong and where; nothing else
escapes a decoder, whatever the input.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime

# --- command and reply codes (§2) -------------------------------------------------------
CMD_DB_RRQ = 7
CMD_USER_WRQ = 8
CMD_USERTEMP_RRQ = 9
CMD_USERTEMP_WRQ = 10
CMD_OPTIONS_RRQ = 11
CMD_OPTIONS_WRQ = 12
CMD_ATTLOG_RRQ = 13
CMD_CLEAR_DATA = 14
CMD_CLEAR_ATTLOG = 15
CMD_DELETE_USER = 18
CMD_DELETE_USERTEMP = 19
CMD_CLEAR_ADMIN = 20
CMD_USERGRP_RRQ = 21
CMD_USERGRP_WRQ = 22
CMD_USERTZ_RRQ = 23
CMD_USERTZ_WRQ = 24
CMD_GRPTZ_RRQ = 25
CMD_GRPTZ_WRQ = 26
CMD_TZ_RRQ = 27
CMD_TZ_WRQ = 28
CMD_ULG_RRQ = 29
CMD_ULG_WRQ = 30
CMD_UNLOCK = 31
CMD_CLEAR_ACC = 32
CMD_CLEAR_OPLOG = 33
CMD_OPLOG_RRQ = 34
CMD_GET_FREE_SIZES = 50
CMD_ENABLE_CLOCK = 57
CMD_STARTVERIFY = 60
CMD_STARTENROLL = 61
CMD_CANCELCAPTURE = 62
CMD_STATE_RRQ = 64
CMD_WRITE_LCD = 66
CMD_CLEAR_LCD = 67
CMD_GET_PINWIDTH = 69
CMD_DOORSTATE_RRQ = 75
CMD_VERIFY_WRQ = 79
CMD_VERIFY_RRQ = 80
CMD_TMP_WRITE = 87
CMD_GET_USERTEMP = 88
CMD_SAVE_USERTEMPS = 110
CMD_CHECKSUM_BUFFER = 119
CMD_DEL_USER_TEMP = 134
CMD_GET_USERFACE = 150  # pyzk #259 (DG288 / iFace 702): pack('hb', uid, 50) reads a user's faces
CMD_GET_TIME = 201
CMD_SET_TIME = 202
CMD_REG_EVENT = 500
CMD_CONNECT = 1000
CMD_EXIT = 1001
CMD_ENABLEDEVICE = 1002
CMD_DISABLEDEVICE = 1003
CMD_RESTART = 1004
CMD_POWEROFF = 1005
CMD_SLEEP = 1006
CMD_RESUME = 1007
CMD_REFRESHDATA = 1013
CMD_REFRESHOPTION = 1014
CMD_TESTVOICE = 1017
CMD_GET_VERSION = 1100
CMD_CHANGE_SPEED = 1101
CMD_AUTH = 1102
CMD_PREPARE_DATA = 1500
CMD_DATA = 1501
CMD_FREE_DATA = 1502
CMD_PREPARE_BUFFER = 1503
CMD_READ_BUFFER = 1504

CMD_ACK_OK = 2000
CMD_ACK_ERROR = 2001
CMD_ACK_DATA = 2002
CMD_ACK_RETRY = 2003
CMD_ACK_REPEAT = 2004
CMD_ACK_UNAUTH = 2005
CMD_ACK_UNKNOWN = 0xFFFF
CMD_ACK_ERROR_CMD = 0xFFFD
CMD_ACK_ERROR_INIT = 0xFFFC
CMD_ACK_ERROR_DATA = 0xFFFB

# event masks / codes (§2, §3.12)
EF_ATTLOG = 1
EF_FINGER = 2
EF_ENROLLUSER = 4
EF_ENROLLFINGER = 8
EF_BUTTON = 0x10
EF_UNLOCK = 0x20
EF_VERIFY = 0x80
EF_FPFTR = 0x100
EF_ALARM = 0x200

# data-type codes used as the fct argument of 1503 (§2)
FCT_ATTLOG = 1
FCT_FINGERTMP = 2
FCT_OPLOG = 4
FCT_USER = 5

TCP_MAGIC = b"\x50\x50\x82\x7d"
HEADER_SIZE = 8
TCP_TOP_SIZE = 8
# Biggest ZK packet (header + data) the stream parser accepts: a 1504 chunk of 0xFFC0 bytes
# sent as one DATA packet plus its header, with room to spare. Anything longer is garbage.
MAX_PACKET = 0x10000 + HEADER_SIZE
USER_SIZES = (28, 72)
ATT_SIZES = (8, 16, 40, 49)
RT_ATT_SIZES = (10, 12, 32)


# --- errors -----------------------------------------------------------------------------
class ZkProtocolError(ValueError):
    """Malformed ZK input: `what` was wrong at byte offset `where` (None when not positional)."""

    def __init__(self, what: str, where: int | None = None) -> None:
        self.what = what
        self.where = where
        super().__init__(what if where is None else f"{what} (byte {where})")


class ZkFrameError(ZkProtocolError):
    """The TCP wrapper or the 8-byte header is broken."""


class ZkChecksumError(ZkProtocolError):
    """The packet checksum does not match its bytes."""


class ZkRecordError(ZkProtocolError):
    """A user, attendance, template or event record is malformed."""


class ZkArgumentError(ZkProtocolError):
    """A command's argument bytes are malformed."""


# --- checksum, header, packets (§1.1-1.3) -----------------------------------------------
def checksum(data: bytes) -> int:
    """Internet checksum (RFC 1071) over little-endian u16 words; odd byte padded with 0."""
    if len(data) % 2:
        data += b"\x00"
    total = sum(memoryview(data).cast("H")) if data else 0
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


@dataclass(frozen=True, slots=True)
class Packet:
    command: int
    session: int
    reply: int
    data: bytes = b""
    checksum: int = 0
    checksum_ok: bool = True


def pack_packet(command: int, session: int, reply: int, data: bytes = b"") -> bytes:
    """An 8-byte header with a correct checksum, followed by the data (no TCP wrapper)."""
    head = struct.pack("<4H", command & 0xFFFF, 0, session & 0xFFFF, reply & 0xFFFF)
    chk = checksum(head + data)
    return struct.pack("<4H", command & 0xFFFF, chk, session & 0xFFFF, reply & 0xFFFF) + data


def unpack_packet(raw: bytes, offset: int = 0) -> Packet:
    """Parse header + data; a wrong checksum is reported in `checksum_ok`, not raised
    (firmware at most ignores such packets, §1.3)."""
    if len(raw) < HEADER_SIZE:
        raise ZkFrameError(f"packet shorter than the 8-byte header ({len(raw)} bytes)", offset)
    command, chk, session, reply = struct.unpack_from("<4H", raw)
    data = bytes(raw[HEADER_SIZE:])
    zeroed = struct.pack("<4H", command, 0, session, reply) + data
    return Packet(command, session, reply, data, chk, checksum(zeroed) == chk)


def tcp_wrap(packet: bytes) -> bytes:
    """Prefix a ZK packet with the TCP wrapper 50 50 82 7d + u32 length (§1.2)."""
    return TCP_MAGIC + struct.pack("<I", len(packet)) + packet


def tcp_packet(command: int, session: int, reply: int, data: bytes = b"") -> bytes:
    return tcp_wrap(pack_packet(command, session, reply, data))


@dataclass(frozen=True, slots=True)
class StreamError:
    """Bad bytes found in a TCP stream: reported to the caller, never raised."""

    error: ZkProtocolError
    skipped: int  # bytes discarded to resynchronise

    def __str__(self) -> str:
        return f"{self.error} ({self.skipped} bytes skipped)"


class TcpReassembler:
    """Turns arbitrary TCP byte chunks into whole ZK packets.

    feed() returns Packets and StreamErrors in stream order. Garbage before a wrapper magic,
    impossible lengths and oversized packets become StreamErrors; the parser then resyncs
    on the next magic. An incomplete packet waits for more bytes.
    """

    def __init__(self, max_packet: int = MAX_PACKET) -> None:
        self.max_packet = max_packet
        self._buf = bytearray()
        self._consumed = 0  # stream offset of _buf[0], for error positions

    @property
    def pending(self) -> int:
        return len(self._buf)

    def feed(self, chunk: bytes) -> list[Packet | StreamError]:
        self._buf += chunk
        out: list[Packet | StreamError] = []
        while True:
            item = self._next()
            if item is None:
                return out
            out.append(item)

    def _drop(self, n: int) -> None:
        del self._buf[:n]
        self._consumed += n

    def _next(self) -> Packet | StreamError | None:
        buf = self._buf
        if not buf:
            return None
        pos = buf.find(TCP_MAGIC)
        if pos != 0:
            # keep a possible magic prefix at the end of the buffer for the next chunk
            if pos < 0:
                keep = next((k for k in (3, 2, 1) if buf.endswith(TCP_MAGIC[:k])), 0)
                garbage = len(buf) - keep
                if garbage == 0:
                    return None
            else:
                garbage = pos
            where = self._consumed
            self._drop(garbage)
            return StreamError(ZkFrameError("bytes outside a 50 50 82 7d TCP frame", where), garbage)
        if len(buf) < TCP_TOP_SIZE:
            return None
        (length,) = struct.unpack_from("<I", buf, 4)
        if length < HEADER_SIZE or length > self.max_packet:
            where = self._consumed + 4
            self._drop(len(TCP_MAGIC))
            what = (f"TCP frame length {length} is below the 8-byte ZK header" if length < HEADER_SIZE
                    else f"TCP frame length {length} exceeds the {self.max_packet}-byte limit")
            return StreamError(ZkFrameError(what, where), len(TCP_MAGIC))
        if len(buf) < TCP_TOP_SIZE + length:
            return None
        raw = bytes(buf[TCP_TOP_SIZE:TCP_TOP_SIZE + length])
        self._drop(TCP_TOP_SIZE + length)
        return unpack_packet(raw)


def iter_tcp_packets(stream: bytes) -> Iterator[Packet]:
    """All packets of a complete TCP byte string; raises on the first framing problem."""
    r = TcpReassembler()
    for item in r.feed(stream):
        if isinstance(item, StreamError):
            raise item.error
        yield item
    if r.pending:
        raise ZkFrameError(f"stream ends inside a packet ({r.pending} bytes left)", len(stream) - r.pending)


# --- comm key (§3.1) --------------------------------------------------------------------
def make_commkey(key: int, session: int, ticks: int = 50) -> bytes:
    """The 4-byte AUTH argument, as commpro.c MakeKey / pyzk make_commkey computes it."""
    k = int(f"{key & 0xFFFFFFFF:032b}"[::-1], 2)
    k = (k + session) & 0xFFFFFFFF  # pyzk would crash on overflow; a device wraps
    b = struct.pack("<I", k)
    b = bytes((b[0] ^ 0x5A, b[1] ^ 0x4B, b[2] ^ 0x53, b[3] ^ 0x4F))
    b = b[2:4] + b[0:2]
    t = ticks & 0xFF
    return bytes((b[0] ^ t, b[1] ^ t, t, b[3] ^ t))


def check_commkey(received: bytes, key: int, session: int) -> bool:
    """Server-side check: recompute with the client's ticks byte, compare bytes 0, 1, 3."""
    if len(received) < 4:
        return False
    expect = make_commkey(key, session, received[2])
    return expect[0] == received[0] and expect[1] == received[1] and expect[3] == received[3]


# --- time (§3.6) ------------------------------------------------------------------------
def encode_time(t: datetime) -> int:
    if not 2000 <= t.year <= 2099:
        raise ZkRecordError(f"year {t.year} outside 2000-2099, which ZK time cannot hold")
    return ((t.year % 100) * 12 * 31 + (t.month - 1) * 31 + t.day - 1) * 86400 \
        + (t.hour * 60 + t.minute) * 60 + t.second


def decode_time(value: int, where: int | None = None) -> datetime:
    """ZK time to a naive datetime; impossible dates (e.g. 31 February) raise ZkRecordError."""
    t = value
    second = t % 60
    t //= 60
    minute = t % 60
    t //= 60
    hour = t % 24
    t //= 24
    day = t % 31 + 1
    t //= 31
    month = t % 12 + 1
    year = t // 12 + 2000
    try:
        return datetime(year, month, day, hour, minute, second)
    except ValueError as exc:
        raise ZkRecordError(f"impossible date in ZK time {value:#010x}: {exc}", where) from None


def encode_rt_time(t: datetime) -> bytes:
    """The 6-byte realtime form [Y-2000, M, D, h, m, s] (§3.12)."""
    if not 2000 <= t.year <= 2255:
        raise ZkRecordError(f"year {t.year} outside what a realtime event can hold")
    return bytes((t.year - 2000, t.month, t.day, t.hour, t.minute, t.second))


def decode_rt_time(raw: bytes, where: int | None = None) -> datetime:
    if len(raw) < 6:
        raise ZkRecordError(f"realtime time needs 6 bytes, got {len(raw)}", where)
    y, mo, d, h, mi, s = raw[:6]
    try:
        return datetime(2000 + y, mo, d, h, mi, s)
    except ValueError as exc:
        raise ZkRecordError(f"impossible realtime date {raw[:6].hex()}: {exc}", where) from None


# --- helpers ----------------------------------------------------------------------------
def _cstr(raw: bytes, encoding: str) -> str:
    return raw.split(b"\x00", 1)[0].decode(encoding, errors="replace")


def _fit(text: str, size: int, what: str, encoding: str) -> bytes:
    raw = text.encode(encoding)
    if len(raw) > size:
        raise ZkRecordError(f"{what} {text!r} is {len(raw)} bytes, the record holds {size}")
    return raw


def _need(data: bytes, size: int, what: str, where: int | None = None) -> None:
    if len(data) < size:
        raise ZkArgumentError(f"{what} needs {size} bytes, got {len(data)}", where)


# --- users (§3.7) -----------------------------------------------------------------------
@dataclass(slots=True)
class User:
    uid: int
    user_id: str
    name: str = ""
    privilege: int = 0
    password: str = ""
    card: int = 0
    group: int = 0
    # 28-byte: u16 timezone bitmap; 72-byte: bytes 40..47 (tz flag + 3 tz, kept verbatim)
    tz: bytes = field(default=b"")


def encode_user(u: User, size: int, encoding: str = "utf-8") -> bytes:
    if not 0 <= u.uid <= 0xFFFF:
        raise ZkRecordError(f"uid {u.uid} outside 0..65535")
    if not 0 <= u.privilege <= 0xFF or not 0 <= u.card <= 0xFFFFFFFF or not 0 <= u.group <= 0xFF:
        raise ZkRecordError(f"privilege/card/group out of range for uid {u.uid}")
    if size == 28:
        if not u.user_id.isdigit() or int(u.user_id) > 0xFFFFFFFF:
            raise ZkRecordError(f"user_id {u.user_id!r} must be a number below 2^32 in a 28-byte record")
        tz = struct.unpack("<H", u.tz[:2].ljust(2, b"\x00"))[0]
        return struct.pack("<HB5s8sIxBHI", u.uid, u.privilege, _fit(u.password, 5, "password", encoding),
                           _fit(u.name, 8, "name", encoding), u.card, u.group, tz, int(u.user_id))
    if size == 72:
        return struct.pack("<HB8s24sIB8s24s", u.uid, u.privilege, _fit(u.password, 8, "password", encoding),
                           _fit(u.name, 24, "name", encoding), u.card, u.group, u.tz[:8].ljust(8, b"\x00"),
                           _fit(u.user_id, 24, "user_id", encoding))
    raise ZkRecordError(f"user record size {size} is not 28 or 72")


def decode_user(raw: bytes, size: int | None = None, encoding: str = "utf-8", where: int | None = None) -> User:
    size = size or len(raw)
    if size not in USER_SIZES:
        raise ZkRecordError(f"user record size {size} is not 28 or 72", where)
    if len(raw) < size:
        raise ZkRecordError(f"user record truncated: {len(raw)} of {size} bytes", where)
    if size == 28:
        uid, priv, pw, name, card, group, tz, user_id = struct.unpack_from("<HB5s8sIxBHI", raw)
        return User(uid, str(user_id), _cstr(name, encoding), priv, _cstr(pw, encoding), card, group,
                    struct.pack("<H", tz))
    uid, priv, pw, name, card, group, tz, user_id = struct.unpack_from("<HB8s24sIB8s24s", raw)
    return User(uid, _cstr(user_id, encoding), _cstr(name, encoding), priv, _cstr(pw, encoding), card, group, tz)


# --- attendance records (§3.8) ----------------------------------------------------------
@dataclass(slots=True)
class AttRecord:
    """One log entry. `time_raw` is the ZK time value (it may hold an impossible date)."""

    uid: int
    user_id: str
    time_raw: int
    state: int = 0  # 0 check-in, 1 check-out, 2 break-out, 3 break-in, 4 OT-in, 5 OT-out
    verify: int = 1  # 0 password, 1 fingerprint, 2 card, 15 face ...
    workcode: int = 0

    @property
    def timestamp(self) -> datetime:
        return decode_time(self.time_raw)


_ATT40_TAIL = b"\xff\x00\x00\x00"  # bytes 36..39 as real TFT units send them (§3.8)


def encode_att(r: AttRecord, size: int, encoding: str = "utf-8") -> bytes:
    if not 0 <= r.time_raw <= 0xFFFFFFFF or not 0 <= r.state <= 0xFF or not 0 <= r.verify <= 0xFF:
        raise ZkRecordError(f"attendance field out of range for user {r.user_id!r}")
    if size == 8:  # uid, verify, time, state
        return struct.pack("<HBIB", r.uid & 0xFFFF, r.verify, r.time_raw, r.state)
    if size == 16:  # PIN u32, time, state, verify, reserved, workcode (manual TExtendAttLog)
        if not r.user_id.isdigit() or int(r.user_id) > 0xFFFFFFFF:
            raise ZkRecordError(f"user_id {r.user_id!r} must be a number below 2^32 in a 16-byte record")
        return struct.pack("<IIBB2xI", int(r.user_id), r.time_raw, r.state, r.verify, r.workcode & 0xFFFFFFFF)
    if size in (40, 49):  # uid, user id string, verify, time, state, workcode, ff000000 [+9 SpeedFace bytes]
        rec = struct.pack("<H24sBIBI4s", r.uid & 0xFFFF, _fit(r.user_id, 24, "user_id", encoding), r.verify,
                          r.time_raw, r.state, r.workcode & 0xFFFFFFFF, _ATT40_TAIL)
        return rec if size == 40 else rec + bytes(9)
    raise ZkRecordError(f"attendance record size {size} is not 8, 16, 40 or 49")


def decode_att(raw: bytes, size: int | None = None, encoding: str = "utf-8", where: int | None = None) -> AttRecord:
    size = size or len(raw)
    if size not in ATT_SIZES:
        raise ZkRecordError(f"attendance record size {size} is not 8, 16, 40 or 49", where)
    if len(raw) < size:
        raise ZkRecordError(f"attendance record truncated: {len(raw)} of {size} bytes", where)
    if size == 8:
        uid, verify, t, state = struct.unpack_from("<HBIB", raw)
        return AttRecord(uid, str(uid), t, state, verify)
    if size == 16:
        pin, t, state, verify, workcode = struct.unpack_from("<IIBB2xI", raw)
        return AttRecord(0, str(pin), t, state, verify, workcode)
    uid, user_id, verify, t, state, workcode = struct.unpack_from("<H24sBIBI", raw)
    return AttRecord(uid, _cstr(user_id, encoding), t, state, verify, workcode)


# --- fingerprint templates (§3.11) ------------------------------------------------------
@dataclass(slots=True)
class Template:
    uid: int
    fid: int
    valid: int
    template: bytes


def encode_template(t: Template) -> bytes:
    if not 0 <= t.uid <= 0xFFFF or not 0 <= t.fid <= 9 or not 0 <= t.valid <= 0xFF:
        raise ZkRecordError(f"template uid {t.uid} / finger {t.fid} / flag {t.valid} out of range")
    if len(t.template) + 6 > 0xFFFF:
        raise ZkRecordError(f"template of uid {t.uid} is {len(t.template)} bytes, too long")
    return struct.pack("<HHBB", len(t.template) + 6, t.uid, t.fid, t.valid) + t.template


def decode_templates(data: bytes) -> list[Template]:
    """Entries `u16 size | u16 uid | u8 fid | u8 valid | template` (no u32 prefix)."""
    out: list[Template] = []
    pos = 0
    while pos < len(data):
        if len(data) - pos < 6:
            raise ZkRecordError(f"template entry header truncated ({len(data) - pos} bytes)", pos)
        size, uid, fid, valid = struct.unpack_from("<HHBB", data, pos)
        if size < 6 or pos + size > len(data):
            raise ZkRecordError(f"template entry size {size} does not fit the {len(data) - pos} bytes left", pos)
        out.append(Template(uid, fid, valid, bytes(data[pos + 6:pos + size])))
        pos += size
    return out


# --- buffers of the 1503/1504 path (§3.9) -----------------------------------------------
def size_prefixed(payload: bytes) -> bytes:
    """A read buffer as devices hand it out: u32 payload size, then the records."""
    return struct.pack("<I", len(payload)) + payload


def split_size_prefixed(buf: bytes) -> bytes:
    if len(buf) < 4:
        raise ZkRecordError(f"buffer shorter than its 4-byte size prefix ({len(buf)} bytes)", 0)
    (n,) = struct.unpack_from("<I", buf)
    if n != len(buf) - 4:
        raise ZkRecordError(f"buffer announces {n} bytes but carries {len(buf) - 4}", 0)
    return bytes(buf[4:])


def decode_records(payload: bytes, size: int, decode, encoding: str = "utf-8") -> list:
    if size <= 0 or len(payload) % size:
        raise ZkRecordError(f"{len(payload)} bytes are not a whole number of {size}-byte records")
    return [decode(payload[i:i + size], size, encoding, where=i) for i in range(0, len(payload), size)]


def encode_rwb_args(command: int, fct: int = 0, ext: int = 0) -> bytes:
    return struct.pack("<bhii", 1, command, fct, ext)


def parse_rwb_args(data: bytes) -> tuple[int, int, int]:
    """1503 argument `01, u16 command, u32 fct, u32 ext` -> (command, fct, ext)."""
    _need(data, 11, "1503 argument", 0)
    flag, command, fct, ext = struct.unpack_from("<BHII", data)
    if flag != 1:
        raise ZkArgumentError(f"1503 argument starts with {flag:#04x}, expected 0x01", 0)
    return command, fct, ext


def rwb_ack(size: int, extra: int = 0) -> bytes:
    """The 13-byte ACK_OK data answering a 1503 for a big buffer."""
    return struct.pack("<BIII", 0, size, size, extra & 0xFFFFFFFF)


def parse_rwb_ack(data: bytes) -> int:
    _need(data, 5, "1503 ACK_OK data", 0)
    return struct.unpack_from("<I", data, 1)[0]


def encode_read_chunk(start: int, length: int) -> bytes:
    return struct.pack("<ii", start, length)


def parse_read_chunk(data: bytes) -> tuple[int, int]:
    """1504 argument `i32 start, i32 length`."""
    _need(data, 8, "1504 argument", 0)
    start, length = struct.unpack_from("<ii", data)
    if start < 0 or length < 0:
        raise ZkArgumentError(f"1504 asks for start {start} length {length}; both must be >= 0", 0)
    return start, length


def prepare_data(length: int, max_packet: int = 1008) -> bytes:
    """PREPARE_DATA data heading a data stream: exactly 8 bytes."""
    return struct.pack("<II", length, max_packet)


def parse_prepare_data(data: bytes) -> int:
    """PREPARE_DATA sent by a client (upload, §3.10): u32 size; or a device's 8-byte header."""
    _need(data, 4, "PREPARE_DATA size", 0)
    return struct.unpack_from("<I", data)[0]


# --- GET_FREE_SIZES (§3.3) --------------------------------------------------------------
@dataclass(slots=True)
class Sizes:
    users: int = 0
    fingers: int = 0
    records: int = 0
    oplog: int = 0
    admins: int = 0
    passwords: int = 0
    fingers_cap: int = 0
    users_cap: int = 0
    rec_cap: int = 0
    faces: int | None = None  # None: no face block (80 bytes), else 92 bytes
    faces_cap: int = 0


def encode_free_sizes(s: Sizes) -> bytes:
    f = [0] * 20
    f[4], f[6], f[8], f[10], f[12], f[13] = s.users, s.fingers, s.records, s.oplog, s.admins, s.passwords
    f[14], f[15], f[16] = s.fingers_cap, s.users_cap, s.rec_cap
    f[17], f[18], f[19] = s.fingers_cap - s.fingers, s.users_cap - s.users, s.rec_cap - s.records
    out = struct.pack("<20i", *f)
    if s.faces is not None:
        out += struct.pack("<3i", s.faces, 0, s.faces_cap)
    return out


def decode_free_sizes(data: bytes) -> Sizes:
    _need(data, 80, "GET_FREE_SIZES data", 0)
    f = struct.unpack_from("<20i", data)
    s = Sizes(f[4], f[6], f[8], f[10], f[12], f[13], f[14], f[15], f[16])
    if len(data) >= 92:
        faces, _, cap = struct.unpack_from("<3i", data, 80)
        s.faces, s.faces_cap = faces, cap
    return s


# --- options (§3.4) ---------------------------------------------------------------------
def parse_option_name(data: bytes) -> str:
    """`~SerialNumber\\0` or without NUL -> '~SerialNumber'."""
    name = bytes(data).split(b"\x00", 1)[0]
    if not name:
        raise ZkArgumentError("empty option name", 0)
    try:
        return name.decode("ascii")
    except UnicodeDecodeError as exc:
        raise ZkArgumentError(f"option name is not ASCII: {name[:32]!r}", exc.start) from None


def parse_option_write(data: bytes) -> tuple[str, str]:
    """`Name=value\\0` -> (name, value)."""
    text = bytes(data).split(b"\x00", 1)[0]
    if b"=" not in text:
        raise ZkArgumentError(f"option write {text[:40]!r} has no '='", 0)
    name, value = text.split(b"=", 1)
    if not name:
        raise ZkArgumentError("option write has an empty name", 0)
    try:
        return name.decode("ascii"), value.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ZkArgumentError(f"option write is not text: {text[:40]!r}", exc.start) from None


def option_reply(name: str, value: str) -> bytes:
    return f"{name}={value}".encode() + b"\x00"


# --- realtime events (§3.12) ------------------------------------------------------------
def encode_att_event(user_id: str, verify: int, state: int, when: datetime, size: int = 32,
                     encoding: str = "utf-8") -> bytes:
    """EF_ATTLOG payload: 10 (u16 id), 12 (u32 id) or 32 (24-byte id string) bytes."""
    t = encode_rt_time(when)
    if size in (10, 12):
        limit = 0xFFFF if size == 10 else 0xFFFFFFFF
        if not user_id.isdigit() or int(user_id) > limit:
            raise ZkRecordError(f"user_id {user_id!r} does not fit a {size}-byte event")
        return struct.pack("<HBB" if size == 10 else "<IBB", int(user_id), verify, state) + t
    if size == 32:
        return struct.pack("<24sBB", _fit(user_id, 24, "user_id", encoding), verify, state) + t
    raise ZkRecordError(f"realtime attendance event size {size} is not 10, 12 or 32")


@dataclass(slots=True)
class AttEvent:
    user_id: str
    verify: int
    state: int
    when: datetime


def decode_att_event(data: bytes, encoding: str = "utf-8") -> AttEvent:
    n = len(data)
    if n == 10:
        uid, verify, state = struct.unpack_from("<HBB", data)
        return AttEvent(str(uid), verify, state, decode_rt_time(data[4:], 4))
    if n == 12:
        uid, verify, state = struct.unpack_from("<IBB", data)
        return AttEvent(str(uid), verify, state, decode_rt_time(data[6:], 6))
    if n == 32 or n == 36 or n == 37 or n >= 52:
        uid_s, verify, state = struct.unpack_from("<24sBB", data)
        return AttEvent(_cstr(uid_s, encoding), verify, state, decode_rt_time(data[26:32], 26))
    raise ZkRecordError(f"realtime attendance event of {n} bytes: known sizes are 10, 12, 32, 36, 37, >=52")


# --- upload path 1500/1501/110 (§3.10) --------------------------------------------------
@dataclass(slots=True)
class Upload:
    users: list[User]
    templates: list[Template]


def encode_upload(users: Iterable[User], templates: Iterable[Template], user_size: int = 72,
                  encoding: str = "utf-8") -> bytes:
    upack = b"".join(b"\x02" + encode_user(u, user_size, encoding) for u in users)
    table, fpack = b"", b""
    for t in templates:
        table += struct.pack("<BHBI", 2, t.uid, 0x10 + t.fid, len(fpack))
        fpack += struct.pack("<H", len(t.template)) + t.template
    return struct.pack("<III", len(upack), len(table), len(fpack)) + upack + table + fpack


def decode_upload(buf: bytes, user_size: int | None = None, encoding: str = "utf-8") -> Upload:
    """`u32 len(upack) | u32 len(table) | u32 len(fpack) | upack | table | fpack`."""
    if len(buf) < 12:
        raise ZkRecordError(f"upload buffer shorter than its 12-byte head ({len(buf)} bytes)", 0)
    nu, nt, nf = struct.unpack_from("<III", buf)
    if 12 + nu + nt + nf != len(buf):
        raise ZkRecordError(f"upload head announces {nu}+{nt}+{nf} bytes, buffer carries {len(buf) - 12}", 0)
    upack, table, fpack = buf[12:12 + nu], buf[12 + nu:12 + nu + nt], buf[12 + nu + nt:]
    sizes = [user_size] if user_size else []
    sizes += [s for s in (72, 28) if s not in sizes]
    rec = next((s + 1 for s in sizes if nu % (s + 1) == 0), None)
    if rec is None:
        raise ZkRecordError(f"user part of {nu} bytes is not a whole number of 29- or 73-byte entries", 12)
    users = []
    for i in range(0, nu, rec):
        if upack[i] != 2:
            raise ZkRecordError(f"user entry starts with {upack[i]:#04x}, expected 0x02", 12 + i)
        users.append(decode_user(upack[i + 1:i + rec], rec - 1, encoding, where=12 + i + 1))
    if nt % 8:
        raise ZkRecordError(f"finger table of {nt} bytes is not a whole number of 8-byte entries", 12 + nu)
    templates = []
    for i in range(0, nt, 8):
        where = 12 + nu + i
        flag, uid, fnum, off = struct.unpack_from("<BHBI", table, i)
        if flag != 2 or not 0x10 <= fnum <= 0x19:
            raise ZkRecordError(f"finger table entry {flag:#04x}/{fnum:#04x} is not 0x02/0x10-0x19", where)
        if off + 2 > nf:
            raise ZkRecordError(f"finger table offset {off} is beyond the {nf}-byte template part", where)
        (tlen,) = struct.unpack_from("<H", fpack, off)
        if off + 2 + tlen > nf:
            raise ZkRecordError(f"template of {tlen} bytes at offset {off} runs past the template part", where)
        templates.append(Template(uid, fnum - 0x10, 1, bytes(fpack[off + 2:off + 2 + tlen])))
    return Upload(users, templates)


def parse_uid_fid(data: bytes) -> tuple[int, int]:
    """`i16 uid, i8 fid` (88, 19)."""
    _need(data, 2, "uid argument", 0)
    uid = struct.unpack_from("<H", data)[0]
    fid = data[2] if len(data) >= 3 else 0
    return uid, fid


def parse_u32(data: bytes, what: str) -> int:
    _need(data, 4, what, 0)
    return struct.unpack_from("<I", data)[0]


COMMAND_NAMES = {v: k for k, v in sorted(globals().items()) if k.startswith("CMD_") and isinstance(v, int)}
