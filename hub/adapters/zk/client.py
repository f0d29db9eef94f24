"""One connection to one ZK terminal: pyzk 0.9 carries the bytes, we parse the records.

pyzk's own get_attendance is never called here: it is quadratic on 8/16-byte records and
crashes on an impossible stored date. We fetch the raw buffers with pyzk's
read_with_buffer and parse them with hub.protocols.zk_records.
"""

from __future__ import annotations

import contextlib
import dataclasses
import socket
import struct
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from zk import ZK
from zk.const import USHRT_MAX
from zk.exception import ZKError, ZKErrorConnection, ZKErrorResponse, ZKNetworkError

from hub.adapters.zk.wire import ZkWire, assemble
from hub.protocols import zk as codec
from hub.protocols.zk_records import (
    ParsedLog,
    ZkLogRecord,
    parse_attendance,
    record_size_of,
    split_buffer,
)

SAVE_USERTEMPS_ARG = struct.pack("<IHH", 12, 0, 8)  # pyzk's undocumented argument of command 110


class BatchRejected(RuntimeError):
    """The terminal refused an upload buffer (SAVE_USERTEMPS or a data chunk)."""


@dataclass
class Capacity:
    users: int
    users_cap: int
    fingers: int
    fingers_cap: int

    @property
    def users_free(self) -> int:
        return max(0, self.users_cap - self.users)

    @property
    def fingers_free(self) -> int:
        return max(0, self.fingers_cap - self.fingers)


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
            # what it held when asked: with the capacity, how full it is (the fleet page)
            "counts": {k: v for k, v in self.sizes.items() if not k.endswith("_cap")},
        }
        return {k: v for k, v in caps.items() if v is not None}


def pyzk_checksum(p: bytes | tuple) -> bytes:
    """pyzk 0.9's packet checksum, bit for bit, in linear time.

    pyzk's own loop copies the remaining packet on every 2-byte step (quadratic), which costs
    about a millisecond per 1 KiB upload chunk; this gives the same two bytes."""
    data = bytes(p)
    total = sum(memoryview(data[: len(data) & ~1]).cast("H")) + (data[-1] if len(data) & 1 else 0)
    c = 0 if total == 0 else (total - 1) % 0xFFFF + 1  # pyzk folds by subtracting 65535
    return struct.pack("<H", 0xFFFE - c if c < 0xFFFF else 0xFFFE)


_OK_CODES = (codec.CMD_ACK_OK, codec.CMD_PREPARE_DATA, codec.CMD_DATA)


class HubZK(ZK):
    """pyzk 0.9's ZK with its reading replaced, its commands and calls kept.

    pyzk builds the packets and we keep every public call it offers, but every byte that
    comes back goes through hub.adapters.zk.wire: whole packets however TCP cuts them,
    data streams read exactly to their ACK_OK, stale replies of an abandoned command
    dropped by reply number, realtime events queued rather than taken for replies.
    The overrides are pyzk's private (name-mangled) methods: pyzk 0.9.* is pinned.
    """

    wire: ZkWire | None = None
    _last: codec.Packet | None = None

    # --- transport --------------------------------------------------------------------
    def _ZK__create_socket(self) -> None:  # noqa: N802 - pyzk's private socket factory
        # pyzk uses connect_ex and ignores its result, so a refused TCP connection shows up
        # later as a confusing send error; here it fails at once with its reason.
        address = self._ZK__address  # type: ignore[attr-defined]
        timeout = self._ZK__timeout  # type: ignore[attr-defined]
        if self.tcp:
            self._ZK__sock = socket.create_connection(address, timeout=timeout)
        else:
            self._ZK__sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            self._ZK__sock.settimeout(timeout)

    def _wire(self) -> ZkWire:
        sock = self._ZK__sock  # type: ignore[attr-defined]
        if self.wire is None or self.wire.sock is not sock:
            self.wire = ZkWire(sock, self.tcp, self._ZK__address,  # type: ignore[attr-defined]
                               ack_event=self._ZK__ack_ok)
        return self.wire

    def _ZK__create_checksum(self, p):  # noqa: N802, ANN001, ANN202
        return pyzk_checksum(p)

    def connect(self) -> HubZK:
        """pyzk's connect without its ping and its extra TCP probe connection (a terminal
        that keeps one session would see two), and with a comm key scramble that wraps at
        2**32 as the device's C code does (pyzk's raises struct.error for some keys)."""
        self.end_live_capture = False
        if self.tcp:
            self.user_packet_size = 72
        self._ZK__create_socket()
        self.wire = None
        self._ZK__session_id = 0
        self._ZK__reply_id = USHRT_MAX - 1
        resp = self._ZK__send_command(codec.CMD_CONNECT)
        self._ZK__session_id = self._ZK__header[2]  # type: ignore[attr-defined]
        if resp["code"] == codec.CMD_ACK_UNAUTH:
            key = codec.make_commkey(int(self._ZK__password), self._ZK__session_id)  # type: ignore[attr-defined]
            resp = self._ZK__send_command(codec.CMD_AUTH, key)
        if resp["status"]:
            self.is_connect = True
            return self
        if resp["code"] == codec.CMD_ACK_UNAUTH:
            raise ZKErrorResponse("Unauthenticated (comm key ditolak / comm key refused)")
        raise ZKErrorResponse(f"Invalid response: Can't connect (code {resp['code']})")

    def _ZK__send_command(self, command: int, command_string: bytes = b"",  # noqa: N802
                          response_size: int = 8) -> dict[str, Any]:
        if command not in (codec.CMD_CONNECT, codec.CMD_AUTH) and not self.is_connect:
            raise ZKErrorConnection("instance are not connected.")
        buf = self._ZK__create_header(command, command_string,  # type: ignore[attr-defined]
                                      self._ZK__session_id, self._ZK__reply_id)  # type: ignore[attr-defined]
        (sent_reply,) = struct.unpack_from("<H", buf, 6)
        try:
            wire = self._wire()
            wire.send(buf)
            pkt = wire.packet()
            while pkt.reply != sent_reply:
                if pkt.command == codec.CMD_ACK_UNKNOWN and pkt.reply == (sent_reply - 1) & 0xFFFF:
                    # firmware answers a command it does not know with the reply number it
                    # last accepted (the AK3750 capture, §8): that is our answer
                    pkt = dataclasses.replace(pkt, reply=sent_reply)
                    break
                pkt = wire.packet()  # a late answer to a command given up on: not ours
        except (OSError, codec.ZkProtocolError) as exc:
            raise ZKNetworkError(str(exc) or exc.__class__.__name__) from exc
        self._set_reply(pkt)
        return {"status": pkt.command in _OK_CODES, "code": pkt.command}

    def _set_reply(self, pkt: codec.Packet) -> None:
        """The reply state pyzk's own methods read after a command."""
        raw = struct.pack("<4H", pkt.command, pkt.checksum, pkt.session, pkt.reply) + pkt.data
        self._last = pkt
        self._ZK__header = (pkt.command, pkt.checksum, pkt.session, pkt.reply)
        self._ZK__response = pkt.command
        self._ZK__reply_id = pkt.reply
        self._ZK__data_recv = raw
        self._ZK__data = pkt.data
        self._ZK__tcp_data_recv = codec.tcp_wrap(raw)
        self._ZK__tcp_length = len(raw)

    def _ZK__ack_ok(self) -> None:  # noqa: N802
        buf = self._ZK__create_header(codec.CMD_ACK_OK, b"",  # type: ignore[attr-defined]
                                      self._ZK__session_id, USHRT_MAX - 1)  # type: ignore[attr-defined]
        try:
            self._wire().send(buf)
        except OSError as exc:
            raise ZKNetworkError(str(exc)) from exc

    def _ZK__recieve_chunk(self) -> bytes | None:  # noqa: N802 - pyzk's spelling
        """The data of the answer just received (DATA, or PREPARE_DATA … ACK_OK)."""
        if self._last is None or self._last.command not in (codec.CMD_DATA, codec.CMD_PREPARE_DATA):
            return None
        try:
            return assemble(self._last, self._wire().packet)
        except (OSError, codec.ZkProtocolError) as exc:
            raise ZKNetworkError(str(exc) or exc.__class__.__name__) from exc

    def _ZK__read_chunk(self, start: int, size: int) -> bytes:  # noqa: N802
        """Bytes start..start+size of a prepared buffer (1504); a refusal is retried twice,
        a broken stream is not (the session is then gone)."""
        for _ in range(3):
            self._ZK__send_command(codec.CMD_READ_BUFFER, codec.encode_read_chunk(start, size))
            data = self._ZK__recieve_chunk()
            if data is not None:
                if len(data) != size:
                    raise ZKErrorResponse(f"chunk {start}:[{size}] came back with {len(data)} bytes")
                return data
        raise ZKErrorResponse(f"can't read chunk {start}:[{size}]")

    # --- what pyzk keeps private -----------------------------------------------------
    def rwb_size(self, command: int, fct: int = 0, ext: int = 0) -> tuple[int, bytes | None]:
        """Ask the terminal to prepare a buffer; returns (size, data if sent directly)."""
        resp = self._ZK__send_command(codec.CMD_PREPARE_BUFFER, codec.encode_rwb_args(command, fct, ext))
        if not resp.get("status"):
            raise ZKError(f"1503 refused (code {resp.get('code')})")
        if resp["code"] in (codec.CMD_DATA, codec.CMD_PREPARE_DATA):
            data = self._ZK__recieve_chunk() or b""
            return len(data), data
        return codec.parse_rwb_ack(self._ZK__data), None  # type: ignore[attr-defined]

    def read_range(self, start: int, size: int) -> bytes:
        """Bytes start..start+size of the prepared buffer, in pyzk-sized chunks."""
        step = 0xFFC0 if self.tcp else 16 * 1024
        parts = []
        for offset in range(start, start + size, step):
            n = min(step, start + size - offset)
            parts.append(self._ZK__read_chunk(offset, n))
        return b"".join(parts)

    def next_event(self, timeout: float) -> codec.Packet | None:
        """The next realtime event packet (already ACKed), or None after `timeout` s."""
        wire = self._wire()
        if wire.events:
            return wire.events.popleft()
        try:
            pkt = wire.next_any(timeout)
        except TimeoutError:
            return None
        if pkt.command == codec.CMD_REG_EVENT:
            self._ZK__ack_ok()
            return pkt
        raise ZKNetworkError(f"unexpected command {pkt.command} while waiting for events")


class ZkClient:
    """Context manager around one session with a terminal."""

    def __init__(self, host: str, port: int = 4370, *, transport: str = "tcp",
                 comm_key: int = 0, timeout: float = 10.0, encoding: str = "utf-8",
                 zk_factory: Any = None) -> None:
        self.host, self.port, self.transport = host, port, transport
        self.comm_key, self.timeout, self.encoding = comm_key, timeout, encoding
        self._factory = zk_factory
        self.zk: HubZK | None = None
        self.user_size: int | None = None  # the user record size last read back (28 or 72)
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
        self.user_size = size
        return users, size

    def read_templates(self) -> list[codec.Template]:
        z = self.z
        if self.sizes().fingers == 0:
            return []
        buf, _ = z.read_with_buffer(codec.CMD_DB_RRQ, codec.FCT_FINGERTMP)
        return codec.decode_templates(split_buffer(buf))

    # --- writing users and templates (roster sync) -----------------------------------------
    # Users and templates go up through the batch upload of zk-protocol.md §3.10 (1502 free,
    # 1500 prepare, 1501 data chunks, 110 save, 1013 refresh) in buffers built by
    # codec.encode_upload; pyzk's own save_user_template handles one user per buffer.
    def capacity(self) -> Capacity:
        s = self.sizes()
        return Capacity(s.users, s.users_cap, s.fingers, s.fingers_cap)

    def delete_user(self, uid: int) -> None:
        self.z.delete_user(uid=uid)
        self._users_by_uid = None

    def delete_template(self, uid: int, fid: int) -> bool:
        # by uid (command 19): pyzk's by-user_id form crashes on Python 3 (§3.11)
        return bool(self.z.delete_user_template(uid=uid, temp_id=fid))

    def upload(self, users: list[codec.User], templates: list[codec.Template], user_size: int) -> int:
        """Send one batch buffer and save it; returns the bytes sent."""
        buf = codec.encode_upload(users, templates, user_size)
        z = self.z
        try:
            z._send_with_buffer(buf)
            reply = z._ZK__send_command(codec.CMD_SAVE_USERTEMPS, SAVE_USERTEMPS_ARG)
        except ZKError as exc:
            raise BatchRejected(str(exc)) from exc
        if not reply.get("status"):
            raise BatchRejected(f"terminal answered {reply.get('code')} to SAVE_USERTEMPS (110)")
        z.refresh_data()
        self._users_by_uid = None
        return len(buf)

    def set_user_one(self, user: codec.User, user_size: int) -> None:
        """The one-at-a-time path (pyzk set_user): the baseline of bench/sync.py."""
        self.z.set_user(uid=user.uid, name=user.name, privilege=user.privilege, password=user.password,
                        group_id="" if user_size == 72 else "0", user_id=user.user_id, card=user.card)

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

    def restart(self) -> None:
        """Send RESTART and forget the session. Units do not answer it (they drop every
        session and reboot: zkproto other.md), so pyzk's restart(), which waits for an
        answer, would only time out."""
        z = self.z
        buf = z._ZK__create_header(codec.CMD_RESTART, b"", z._ZK__session_id,  # type: ignore[attr-defined]
                                   z._ZK__reply_id)  # type: ignore[attr-defined]
        try:
            z._wire().send(buf)
        except OSError as exc:
            raise ZKNetworkError(str(exc) or exc.__class__.__name__) from exc
        z.is_connect = False
        sock = getattr(z, "_ZK__sock", None)
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.close()
        self.zk = None


__all__ = ["BatchRejected", "Capacity", "DeviceInfo", "LogSizes", "ZkClient", "ZkClientError", "ZkLogRecord"]
