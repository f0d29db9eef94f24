"""One connection to one ZK terminal: pyzk 0.9 carries the bytes, we parse the records.

pyzk's own get_attendance is never called here: it is quadratic on 8/16-byte records and
crashes on an impossible stored date. We fetch the raw buffers with pyzk's
read_with_buffer and parse them with hub.protocols.zk_records.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import zk.base as _pyzk_base
from zk import ZK
from zk.exception import ZKError

from hub.protocols import zk as codec
from hub.protocols.zk_records import (
    ParsedLog,
    ZkLogRecord,
    parse_attendance,
    record_size_of,
    split_buffer,
)


class ZkClientError(RuntimeError):
    """Talking to a terminal failed; the message names the terminal and the step."""


@dataclass
class LogSizes:
    users: int
    records: int
    fingers: int
    faces: int
    users_cap: int
    rec_cap: int
    fingers_cap: int
    faces_cap: int


@dataclass
class DeviceInfo:
    serial: str | None = None
    platform: str | None = None
    device_name: str | None = None
    firmware: str | None = None
    pin_width: int | None = None
    fp_version: int | None = None
    face_version: int | None = None
    extend_fmt: int | None = None
    user_ext_fmt: int | None = None
    transport: str = "tcp"
    sizes: dict[str, int] = field(default_factory=dict)

    def capabilities(self, record_size: int | None, user_size: int | None) -> dict[str, Any]:
        caps: dict[str, Any] = {
            "serial": self.serial, "platform": self.platform, "model": self.device_name,
            "firmware": self.firmware, "pin_width": self.pin_width,
            "fp_version": self.fp_version, "face_version": self.face_version,
            "transport": self.transport, "user_record_size": user_size,
            "att_record_size": record_size,
            "fingerprint": bool(self.fp_version) or self.sizes.get("fingers_cap", 0) > 0,
            "face": bool(self.face_version) or self.sizes.get("faces_cap", 0) > 0,
            "capacity": {k: v for k, v in self.sizes.items() if k.endswith("_cap")},
        }
        return {k: v for k, v in caps.items() if v is not None}


def _wrapping_commkey(key: Any, session_id: Any, ticks: int = 50) -> bytes:
    """pyzk's make_commkey overflows (struct.error) when the bit-reversed key plus the
    session id passes 2**32, so connecting fails for some keys at random sessions; the
    device's C code wraps. Same bytes otherwise."""
    return codec.make_commkey(int(key), int(session_id), ticks)


# pyzk's connect() looks the function up in its module: the fix goes there.
_pyzk_base.make_commkey = _wrapping_commkey


class HubZK(ZK):
    """pyzk's ZK with the two things the hub needs that pyzk keeps private."""

    def rwb_size(self, command: int, fct: int = 0, ext: int = 0) -> tuple[int, bytes | None]:
        """Ask the terminal to prepare a buffer; returns (size, data if sent directly)."""
        resp = self._ZK__send_command(codec.CMD_PREPARE_BUFFER,  # type: ignore[attr-defined]
                                      struct.pack("<bhii", 1, command, fct, ext), 1024)
        if not resp.get("status"):
            raise ZKError(f"1503 refused (code {resp.get('code')})")
        data = self._ZK__data  # type: ignore[attr-defined]
        if resp["code"] == codec.CMD_DATA:
            return len(data), data
        return struct.unpack_from("<I", data, 1)[0], None

    def read_range(self, start: int, size: int) -> bytes:
        """Bytes start..start+size of the prepared buffer, in pyzk-sized chunks."""
        step = 0xFFC0 if self.tcp else 16 * 1024
        parts = []
        for offset in range(start, start + size, step):
            n = min(step, start + size - offset)
            parts.append(self._ZK__read_chunk(offset, n))  # type: ignore[attr-defined]
        return b"".join(parts)


class ZkClient:
    """Context manager around one session with a terminal."""

    def __init__(self, host: str, port: int = 4370, *, transport: str = "tcp",
                 comm_key: int = 0, timeout: float = 10.0, encoding: str = "utf-8",
                 zk_factory: Any = None) -> None:
        self.host, self.port, self.transport = host, port, transport
        self.comm_key, self.timeout, self.encoding = comm_key, timeout, encoding
        self._factory = zk_factory
        self.zk: HubZK | None = None
        self._users_by_uid: dict[int, str] | None = None

    # --- session ------------------------------------------------------------------------
    def _make(self, udp: bool) -> HubZK:
        if self._factory is not None:
            return self._factory(udp)
        return HubZK(self.host, port=self.port, timeout=self.timeout, password=self.comm_key,
                     force_udp=udp, ommit_ping=True, encoding=self.encoding)

    def connect(self) -> ZkClient:
        order = {"tcp": [False], "udp": [True], "auto": [False, True]}[self.transport]
        last: Exception | None = None
        for udp in order:
            zk = self._make(udp)
            try:
                zk.connect()
            except (ZKError, OSError, struct.error) as exc:
                last = exc
                continue
            self.zk = zk
            self.transport = "udp" if udp else "tcp"
            return self
        raise ZkClientError(f"{self.host}:{self.port}: tidak dapat terhubung / cannot "
                            f"connect ({last})")

    def close(self) -> None:
        if self.zk is None:
            return
        try:
            self.zk.disconnect()
        except Exception:  # noqa: BLE001 - the socket may already be gone
            sock = getattr(self.zk, "_ZK__sock", None)
            if sock is not None:
                sock.close()
        self.zk = None

    def __enter__(self) -> ZkClient:
        return self.connect()

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def z(self) -> HubZK:
        if self.zk is None:
            raise ZkClientError("not connected")
        return self.zk

    # --- info ---------------------------------------------------------------------------
    def sizes(self) -> LogSizes:
        z = self.z
        z.read_sizes()
        return LogSizes(z.users, z.records, z.fingers, z.faces, z.users_cap, z.rec_cap,
                        z.fingers_cap, z.faces_cap)

    def info(self) -> DeviceInfo:
        z = self.z
        info = DeviceInfo(transport=self.transport)

        def attempt(fn: Any) -> Any:
            try:
                return fn()
            except Exception:  # noqa: BLE001 - an option a firmware lacks is not an error
                return None

        info.serial = attempt(z.get_serialnumber)
        info.platform = attempt(z.get_platform)
        info.device_name = attempt(z.get_device_name) or None
        info.firmware = attempt(z.get_firmware_version)
        info.pin_width = attempt(z.get_pin_width)
        info.fp_version = attempt(z.get_fp_version)
        info.face_version = attempt(z.get_face_version)
        s = self.sizes()
        info.sizes = {"users": s.users, "records": s.records, "fingers": s.fingers,
                      "faces": s.faces, "users_cap": s.users_cap, "rec_cap": s.rec_cap,
                      "fingers_cap": s.fingers_cap, "faces_cap": s.faces_cap}
        return info

    # --- clock --------------------------------------------------------------------------
    def get_time(self) -> datetime:
        return self.z.get_time()

    def set_time(self, local: datetime) -> None:
        self.z.set_time(local)

    # --- users and templates --------------------------------------------------------------
    def read_users(self) -> tuple[list[codec.User], int | None]:
        z = self.z
        s = self.sizes()
        if s.users == 0:
            return [], None
        buf, _ = z.read_with_buffer(codec.CMD_USERTEMP_RRQ, codec.FCT_USER)
        payload = split_buffer(buf)
        size = len(payload) // s.users if len(payload) % s.users == 0 else 0
        if size not in codec.USER_SIZES:
            raise ZkClientError(f"{self.host}: user buffer {len(payload)} bytes for {s.users} "
                                f"users: unknown user record size")
        users = [codec.decode_user(payload[i:i + size], size, self.encoding, where=i + 4)
                 for i in range(0, len(payload), size)]
        self._users_by_uid = {u.uid: u.user_id for u in users}
        return users, size

    def read_templates(self) -> list[codec.Template]:
        z = self.z
        if self.sizes().fingers == 0:
            return []
        buf, _ = z.read_with_buffer(codec.CMD_DB_RRQ, codec.FCT_FINGERTMP)
        return codec.decode_templates(split_buffer(buf))

    # --- attendance -----------------------------------------------------------------------
    def users_by_uid(self) -> dict[int, str]:
        if self._users_by_uid is None:
            try:
                self.read_users()
            except (ZKError, codec.ZkProtocolError, ZkClientError):
                self._users_by_uid = {}
        return self._users_by_uid or {}

    def read_attendance(self, count: int, need_uids: bool = True) -> ParsedLog:
        """Download and parse the whole log (`count` from sizes())."""
        if count == 0:
            return ParsedLog(0)
        buf, _ = self.z.read_with_buffer(codec.CMD_ATTLOG_RRQ)
        payload = split_buffer(buf)
        size = record_size_of(len(payload), count)
        users = self.users_by_uid if need_uids else None
        return parse_attendance(payload, record_size=size, users_by_uid=users,
                                encoding=self.encoding)

    def read_attendance_from(self, count: int, first: int) -> ParsedLog:
        """Only records first..count-1 (1504 with an offset); indexes keep their position."""
        z = self.z
        total, direct = z.rwb_size(codec.CMD_ATTLOG_RRQ)
        try:
            if direct is not None:
                payload = split_buffer(direct)
                size = record_size_of(len(payload), count)
                tail = payload[first * size:]
            else:
                size = record_size_of(total - 4, count)
                start = 4 + first * size
                tail = z.read_range(start, total - start) if total > start else b""
        finally:
            z.free_data()
        log = parse_attendance(tail, record_size=size, users_by_uid=self.users_by_uid,
                               encoding=self.encoding)
        for r in log.records:
            r.index += first
        return log

    def clear_attendance(self) -> None:
        self.z.clear_attendance()

    def disable(self) -> None:
        self.z.disable_device()

    def enable(self) -> None:
        self.z.enable_device()


__all__ = ["DeviceInfo", "LogSizes", "ZkClient", "ZkClientError", "ZkLogRecord"]
