"""Talking to a ZK terminal for roster sync, over the hub's ZK client
(hub.adapters.zk.client.HubZK: pyzk 0.9's commands, the hub's reader).

Users and templates go up through the batch upload path of zk-protocol.md §3.10
(1502 free, 1500 prepare, 1501 data chunks, 110 save, 1013 refresh) in buffers built with
hub.protocols.zk.encode_upload; pyzk's own save_user_template only handles one user per
buffer. Deletes and read-back use pyzk's public calls.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from zk.exception import ZKError

from hub.adapters.zk.client import HubZK
from hub.protocols import zk as codec

SAVE_USERTEMPS_ARG = struct.pack("<IHH", 12, 0, 8)  # pyzk's undocumented argument of command 110


class TerminalUnreachable(RuntimeError):
    pass


class BatchRejected(RuntimeError):
    pass


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


class ZkSession:
    """One connection to one terminal; use as a context manager."""

    def __init__(self, host: str, port: int, kind: str, comm_key: int = 0, timeout: float = 10.0) -> None:
        self.zk = HubZK(host, port=port, timeout=timeout, password=comm_key, force_udp=kind == "zk-udp",
                     ommit_ping=True)
        self.conn = None

    def __enter__(self) -> ZkSession:
        try:
            self.conn = self.zk.connect()
        except (ZKError, OSError) as exc:
            raise TerminalUnreachable(str(exc) or exc.__class__.__name__) from exc
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            if self.conn is not None:
                self.conn.disconnect()
        except Exception:  # noqa: BLE001 - the work is done; a failing goodbye changes nothing
            pass

    @property
    def user_size(self) -> int:
        return int(self.conn.user_packet_size)

    def capacity(self) -> Capacity:
        self.conn.read_sizes()
        return Capacity(self.conn.users, self.conn.users_cap, self.conn.fingers, self.conn.fingers_cap)

    def users(self) -> list[codec.User]:
        """All users, parsed in linear time (pyzk's get_users re-slices its buffer per record)."""
        self.conn.read_sizes()
        if not self.conn.users:
            return []
        data, _size = self.conn.read_with_buffer(codec.CMD_USERTEMP_RRQ, codec.FCT_USER)
        payload = codec.split_size_prefixed(bytes(data[:4 + struct.unpack_from("<I", data)[0]]))
        size = len(payload) // self.conn.users
        if size not in codec.USER_SIZES:
            raise codec.ZkRecordError(f"{len(payload)} bytes for {self.conn.users} users is no known record size")
        self.conn.user_packet_size = size
        return codec.decode_records(payload, size, codec.decode_user, self.conn.encoding)

    def templates(self) -> list[codec.Template]:
        """All fingerprint templates, parsed in linear time (pyzk's get_templates is quadratic)."""
        self.conn.read_sizes()
        if not self.conn.fingers:
            return []
        data, _size = self.conn.read_with_buffer(codec.CMD_DB_RRQ, codec.FCT_FINGERTMP)
        return codec.decode_templates(codec.split_size_prefixed(bytes(data[:4 + struct.unpack_from("<I", data)[0]])))

    def delete_user(self, uid: int) -> None:
        self.conn.delete_user(uid=uid)

    def delete_template(self, uid: int, fid: int) -> bool:
        # by uid (command 19): pyzk's by-user_id form crashes on Python 3 (§3.11)
        return bool(self.conn.delete_user_template(uid=uid, temp_id=fid))

    def upload(self, users: list[codec.User], templates: list[codec.Template], user_size: int) -> int:
        """Send one batch buffer and save it; returns the bytes sent."""
        buf = codec.encode_upload(users, templates, user_size)
        try:
            self.conn._send_with_buffer(buf)
            reply = self.conn._ZK__send_command(codec.CMD_SAVE_USERTEMPS, SAVE_USERTEMPS_ARG)
        except ZKError as exc:
            raise BatchRejected(str(exc)) from exc
        if not reply.get("status"):
            raise BatchRejected(f"terminal answered {reply.get('code')} to SAVE_USERTEMPS (110)")
        self.conn.refresh_data()
        return len(buf)

    def set_user_one(self, user: codec.User) -> None:
        """The one-at-a-time path (pyzk set_user), kept for the benchmark's baseline."""
        self.conn.set_user(uid=user.uid, name=user.name, privilege=user.privilege, password=user.password,
                           group_id="" if self.user_size == 72 else "0", user_id=user.user_id, card=user.card)
