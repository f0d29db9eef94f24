"""Commands beyond the common set, as a simulated unit answers them: direct reads (13, 9,
34), access control (21-32), operation log (33, 34), verify modes (79/80), one-template
writes (10; 119 + 87) and face templates (150).

Each handler takes the session, the request's reply number and data, and returns the
packets to send; a ZkProtocolError or TerminalError it raises becomes ACK_ERROR.
What a profile's firmware does not know is answered ACK_UNKNOWN (0xFFFF), as units do.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from typing import Protocol

from hub.protocols import zk
from hub.protocols import zk_access as za
from hub.simulator.zk.terminal import Terminal, TerminalError


class Session(Protocol):
    """What a handler uses of the server's session (hub.simulator.zk.server.Session)."""

    terminal: Terminal
    upload: bytearray | None
    upload_size: int

    def _reply(self, code: int, reply: int, data: bytes = b"", session: int | None = None) -> list[bytes]: ...

    def _stream(self, payload: bytes, reply: int) -> list[bytes]: ...


Handler = Callable[[Session, int, bytes], list[bytes]]


def _user(s: Session, uid: int) -> zk.User:
    user = s.terminal.get_user(uid)
    if user is None:
        raise TerminalError(f"no user with uid {uid}")
    return user


def _ok(s: Session, r: int, data: bytes = b"") -> list[bytes]:
    return s._reply(zk.CMD_ACK_OK, r, data)


# --- direct reads: the whole set as one stream (PREPARE_DATA, DATA..., ACK_OK) ------------
# The first DATA carries the u32 size prefix, as the 1503 buffer does (python_zklib and
# js_zklib skip it); old clients count packets from PREPARE_DATA's size.
def _direct(s: Session, r: int, buf: bytes) -> list[bytes]:
    if len(buf) <= 4:  # nothing stored: a bare ACK_OK (js_zklib #51 met it on an empty log)
        return _ok(s, r)
    return s._stream(buf, r)


def attlog_rrq(s: Session, r: int, data: bytes) -> list[bytes]:
    return _direct(s, r, s.terminal.buffer("attlog"))


def usertemp_rrq(s: Session, r: int, data: bytes) -> list[bytes]:
    if len(data) >= 3:  # zkproto: [u16 uid, u8 finger] reads one template, ACK_ERROR if none
        uid, fid = struct.unpack_from("<HB", data)
        tmpl = s.terminal.get_template(uid, fid)
        if tmpl is None:
            return s._reply(zk.CMD_ACK_ERROR, r)
        return s._stream(tmpl.template, r)
    fct = data[0] if data else zk.FCT_USER  # python_zklib/js_zklib send 0x05
    kind = {zk.FCT_USER: "users", zk.FCT_FINGERTMP: "templates"}.get(fct)
    if kind is None:
        raise zk.ZkArgumentError(f"USERTEMP_RRQ for data type {fct}", 0)
    return _direct(s, r, s.terminal.buffer(kind))


def oplog_rrq(s: Session, r: int, data: bytes) -> list[bytes]:
    return _direct(s, r, s.terminal.buffer("oplog"))


def clear_oplog(s: Session, r: int, data: bytes) -> list[bytes]:
    s.terminal.clear_oplog()
    return _ok(s, r)


# --- access control (SSR firmware) -----------------------------------------------------------
def usergrp_rrq(s: Session, r: int, data: bytes) -> list[bytes]:
    user = _user(s, za.parse_index(data, "user sn", 1, 0xFFFF))
    return _ok(s, r, bytes([user.group]))


def usergrp_wrq(s: Session, r: int, data: bytes) -> list[bytes]:
    uid, group = za.parse_user_group_write(data)
    user = _user(s, uid)
    user.group = group
    s.terminal.set_user(user)
    return _ok(s, r)


def usertz_rrq(s: Session, r: int, data: bytes) -> list[bytes]:
    user = _user(s, za.parse_index(data, "user sn", 1, 0xFFFF))
    return _ok(s, r, za.encode_user_tz_reply(za.UserTZ.from_record(user.tz)))


def usertz_wrq(s: Session, r: int, data: bytes) -> list[bytes]:
    uid, utz = za.parse_user_tz_write(data)
    user = _user(s, uid)
    user.tz = utz.record  # bytes 40..47 of the 72-byte record: a later user read shows them
    s.terminal.set_user(user)
    return _ok(s, r)


def grptz_rrq(s: Session, r: int, data: bytes) -> list[bytes]:
    group = s.terminal.access.group(za.parse_index(data[:1], "group", 1, za.GROUP_COUNT))
    return _ok(s, r, za.encode_group(group))


def grptz_wrq(s: Session, r: int, data: bytes) -> list[bytes]:
    s.terminal.access.set_group(za.decode_group(data))
    return _ok(s, r)


def tz_rrq(s: Session, r: int, data: bytes) -> list[bytes]:
    tz = s.terminal.access.time_zone(za.parse_index(data, "time zone", 1, za.TZ_COUNT))
    return _ok(s, r, za.encode_tz_reply(tz))


def tz_wrq(s: Session, r: int, data: bytes) -> list[bytes]:
    s.terminal.access.set_time_zone(za.parse_tz_write(data))
    return _ok(s, r)


def ulg_rrq(s: Session, r: int, data: bytes) -> list[bytes]:
    combo = s.terminal.access.unlock_combo(za.parse_index(data[:1], "unlock combination", 1, za.ULG_COUNT))
    return _ok(s, r, za.encode_ulg(combo))


def ulg_wrq(s: Session, r: int, data: bytes) -> list[bytes]:
    s.terminal.access.set_unlock_combo(za.decode_ulg(data))
    return _ok(s, r)


def clear_acc(s: Session, r: int, data: bytes) -> list[bytes]:
    s.terminal.access.reset()
    return _ok(s, r)


def verify_wrq(s: Session, r: int, data: bytes) -> list[bytes]:
    uid, mode = za.decode_verify(data)
    _user(s, uid)
    s.terminal.access.set_verify_mode(uid, mode)
    return _ok(s, r)


def verify_rrq(s: Session, r: int, data: bytes) -> list[bytes]:
    uid = za.parse_index(data[:2], "user sn", 1, 0xFFFF)
    _user(s, uid)
    return _ok(s, r, za.encode_verify(uid, s.terminal.access.verify_mode(uid)))


# --- one template at a time ----------------------------------------------------------------
def _upload(s: Session, what: str) -> bytes:
    if s.upload is None or len(s.upload) != s.upload_size:
        raise zk.ZkArgumentError(f"{what} without a complete upload (PREPARE_DATA, DATA first)")
    return bytes(s.upload)


def checksum_buffer(s: Session, r: int, data: bytes) -> list[bytes]:
    return _ok(s, r, struct.pack("<I", za.buffer_checksum(_upload(s, "CHECKSUM_BUFFER"))))


def tmp_write(s: Session, r: int, data: bytes) -> list[bytes]:
    w = za.parse_tmp_write(data)
    buf = _upload(s, "TMP_WRITE")
    if w.size > len(buf):
        raise zk.ZkArgumentError(f"TMP_WRITE of {w.size} bytes, {len(buf)} uploaded", 4)
    s.terminal.set_template(zk.Template(w.uid, w.fid, w.flag, buf[:w.size]))
    return _ok(s, r)


def usertemp_wrq(s: Session, r: int, data: bytes) -> list[bytes]:
    """Old firmware: the template entry itself (u16 size, u16 uid, u8 finger, u8 flag, template)."""
    templates = zk.decode_templates(data)
    if len(templates) != 1:
        raise zk.ZkArgumentError(f"USERTEMP_WRQ carries {len(templates)} templates, expected one", 0)
    s.terminal.set_template(templates[0])
    return _ok(s, r)


# --- faces -----------------------------------------------------------------------------------
def get_userface(s: Session, r: int, data: bytes) -> list[bytes]:
    uid, index = za.parse_face_request(data)
    faces = [f for f in s.terminal.faces(uid) if index == za.FACE_ALL or f.face_id == index]
    if not faces:
        return s._reply(zk.CMD_ACK_ERROR, r)
    return s._stream(b"".join(za.encode_face(f) for f in faces), r)


SSR_ONLY: dict[int, Handler] = {
    zk.CMD_USERGRP_RRQ: usergrp_rrq, zk.CMD_USERGRP_WRQ: usergrp_wrq,
    zk.CMD_USERTZ_RRQ: usertz_rrq, zk.CMD_USERTZ_WRQ: usertz_wrq,
    zk.CMD_GRPTZ_RRQ: grptz_rrq, zk.CMD_GRPTZ_WRQ: grptz_wrq,
    zk.CMD_TZ_RRQ: tz_rrq, zk.CMD_TZ_WRQ: tz_wrq,
    zk.CMD_ULG_RRQ: ulg_rrq, zk.CMD_ULG_WRQ: ulg_wrq, zk.CMD_CLEAR_ACC: clear_acc,
    zk.CMD_VERIFY_WRQ: verify_wrq, zk.CMD_VERIFY_RRQ: verify_rrq,
    zk.CMD_CHECKSUM_BUFFER: checksum_buffer, zk.CMD_TMP_WRITE: tmp_write,
}
COMMON: dict[int, Handler] = {
    zk.CMD_ATTLOG_RRQ: attlog_rrq, zk.CMD_USERTEMP_RRQ: usertemp_rrq, zk.CMD_OPLOG_RRQ: oplog_rrq,
    zk.CMD_CLEAR_OPLOG: clear_oplog,
}


def handler_for(profile, cmd: int) -> Handler | None:
    """The handler a unit of this profile has for `cmd`, or None (ACK_UNKNOWN)."""
    if cmd in COMMON:
        return COMMON[cmd]
    if profile.ssr and cmd in SSR_ONLY:
        return SSR_ONLY[cmd]
    if not profile.ssr and cmd == zk.CMD_USERTEMP_WRQ:
        return usertemp_wrq
    if profile.face_templates and cmd == zk.CMD_GET_USERFACE:
        return get_userface
    return None
