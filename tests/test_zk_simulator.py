"""The ZK terminal simulator, driven by pyzk 0.9 and by raw packets over real loopback sockets."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from zk import ZK
from zk.exception import ZKErrorResponse, ZKNetworkError
from zk.finger import Finger

from hub.protocols import zk
from hub.simulator.zk import CapacityError, Terminal, TerminalError, start_in_thread
from hub.simulator.zk.framing import Framing

# pyzk 0.9 as a test client of big TCP streams: the one-packet framing it copes with
PYZK_FRAMING = Framing.preset("single")
COMBOS = [("tft", "tcp"), ("tft", "udp"), ("face", "tcp"), ("face", "udp"), ("mono", "udp"), ("mono8", "udp")]
KEY = 4321
T0 = datetime(2026, 11, 2, 7, 45, 0)
H = bytes.fromhex


def make_terminal(tmp_path: Path, profile: str = "tft", users: int = 5, records: int = 20, key: int = KEY,
                  **kw) -> Terminal:
    t = Terminal.create(tmp_path / f"{profile}.db", profile, comm_key=key, **kw)
    t.set_users(zk.User(i, str(100 + i), f"Peg{i}", 14 if i == 1 else 0) for i in range(1, users + 1))
    if users:
        t.bulk_punch([(str(100 + i % users + 1), T0 + timedelta(minutes=i), i % 2, 1) for i in range(records)])
    return t


def client(port: int, transport: str, key: int = KEY, timeout: float = 5) -> ZK:
    return ZK("127.0.0.1", port=port, timeout=timeout, password=key, force_udp=transport == "udp", ommit_ping=True)


@pytest.fixture
def served(tmp_path):
    handles = []

    def serve(terminal: Terminal, **kw):
        kw.setdefault("reboot_s", 0.5)
        h = start_in_thread(terminal, **kw)
        handles.append(h)
        return h

    yield serve
    for h in handles:
        h.stop()
        h.terminal.close()


# --- every pyzk call, every profile, every transport ---------------------------------------
@pytest.mark.parametrize(("profile", "transport"), COMBOS)
def test_pyzk_public_api(tmp_path, served, profile: str, transport: str) -> None:
    t = make_terminal(tmp_path, profile)
    h = served(t)
    conn = client(h.port, transport).connect()
    p = t.profile
    assert conn.get_serialnumber() == t.serial
    assert conn.get_platform() == p.platform
    assert conn.get_device_name() == p.device_name
    assert conn.get_mac() == t.mac
    assert conn.get_fp_version() == 10
    assert conn.get_face_version() == (7 if profile == "face" else 0 if p.user_size == 72 else None)
    assert conn.get_firmware_version() == p.firmware
    assert conn.get_pin_width() == p.pin_width
    assert conn.get_extend_fmt() == (1 if p.user_size == 72 else 0)
    assert conn.get_face_fun_on() == (1 if profile == "face" else 0 if p.user_size == 72 else None)
    assert conn.get_network_params()["ip"] == "127.0.0.1"
    conn.read_sizes()
    assert (conn.users, conn.records, conn.users_cap, conn.rec_cap) == (5, 20, p.users_cap, p.rec_cap)
    assert (conn.faces_cap if profile == "face" else 0) == p.faces_cap

    assert conn.disable_device() and conn.enable_device()
    assert conn.unlock(3) and conn.cancel_capture() and conn.verify_user() and conn.set_sdk_build_1()
    assert conn.get_user_extend_fmt() == (1 if p.user_size == 72 else 0)
    assert conn.get_compat_old_firmware() == (0 if p.user_size == 72 else 1)
    assert conn.free_data()
    conn.reg_event(0)

    users = conn.get_users()
    assert conn.user_packet_size == p.user_size
    assert [(u.uid, u.user_id, u.name, u.privilege) for u in users] == [
        (i, str(100 + i), f"Peg{i}", 14 if i == 1 else 0) for i in range(1, 6)]
    conn.set_user(uid=6, name="Baru", privilege=0, password="1", user_id="106", card=77)
    u6 = next(u for u in conn.get_users() if u.uid == 6)
    assert (u6.name, u6.user_id, u6.card, u6.password) == ("Baru", "106", 77, "1")

    # fingerprint templates: single save (pyzk 0.9 path 1500/1501/110), read all, read one, delete
    tmpl = b"SS21" + bytes(range(256)) * 3
    conn.save_user_template(u6, [Finger(6, 3, 1, tmpl)])
    assert [(f.uid, f.fid, f.template) for f in conn.get_templates()] == [(6, 3, tmpl)]
    one = conn.get_user_template(6, 3)
    assert one is not None and one.template == tmpl
    assert conn.get_user_template(6, 9) is None
    assert conn.delete_user_template(uid=6, temp_id=3)
    assert conn.get_templates() == []
    # enrollment: the simulated person presents the finger three times
    assert conn.enroll_user(uid=6, temp_id=4, user_id="106")
    assert [(f.uid, f.fid, f.valid) for f in conn.get_templates()] == [(6, 4, 1)]

    conn.delete_user(uid=6)
    assert 6 not in {u.uid for u in conn.get_users()}

    att = conn.get_attendance()
    assert len(att) == 20
    assert [a.timestamp for a in att] == [T0 + timedelta(minutes=i) for i in range(20)]
    assert {a.user_id for a in att} == {str(100 + i) for i in range(1, 6)}

    conn.set_time(datetime(2030, 1, 2, 3, 4, 5))
    assert abs((conn.get_time() - datetime(2030, 1, 2, 3, 4, 5)).total_seconds()) <= 2

    # live capture: a punch on the terminal arrives as an event
    threading.Timer(0.5, lambda: t.punch("103", datetime(2026, 11, 3, 12, 0, 1), state=2, verify=15)).start()
    got = None
    for ev in conn.live_capture(new_timeout=3):
        if ev is not None:
            got = ev
        conn.end_live_capture = True
    assert got is not None and got.user_id == "103" and got.timestamp == datetime(2026, 11, 3, 12, 0, 1)

    assert conn.clear_attendance()
    conn.read_sizes()
    assert conn.records == 0 and t.attendance() == []
    assert conn.get_attendance() == []
    assert conn.test_voice(0) and conn.refresh_data() is True
    # RESTART is not acknowledged: the unit drops the session and reboots (zkproto other.md);
    # pyzk 0.9 expects an ACK and reports the reset or the timeout.
    with pytest.raises(ZKNetworkError):
        conn.restart()
    if transport == "tcp":  # reset at once, so the unit is still rebooting: nothing answers
        with pytest.raises(ZKNetworkError):
            client(h.port, transport, timeout=0.2).connect()
    time.sleep(h.server.reboot_s)
    conn2 = client(h.port, transport).connect()  # the unit comes back
    assert conn2.get_serialnumber() == t.serial
    assert conn2.poweroff()


@pytest.mark.parametrize(("profile", "transport"), [("tft", "tcp"), ("mono", "udp")])
def test_wrong_comm_key_is_unauthenticated(tmp_path, served, profile, transport) -> None:
    h = served(make_terminal(tmp_path, profile))
    with pytest.raises(ZKErrorResponse, match="Unauthenticated"):
        client(h.port, transport, key=KEY + 1).connect()
    conn = client(h.port, transport).connect()
    assert len(conn.get_users()) == 5
    conn.disconnect()


def test_commands_before_auth_are_refused(tmp_path, served) -> None:
    h = served(make_terminal(tmp_path))
    with socket.create_connection(("127.0.0.1", h.port), timeout=5) as s:
        s.sendall(zk.tcp_packet(zk.CMD_CONNECT, 0, 0))
        assert next(zk.iter_tcp_packets(s.recv(64))).command == zk.CMD_ACK_UNAUTH
        s.sendall(zk.tcp_packet(zk.CMD_GET_FREE_SIZES, 0, 1))
        assert next(zk.iter_tcp_packets(s.recv(64))).command == zk.CMD_ACK_UNAUTH


# --- batch upload (pyzk 0.9 has no HR_save_usertemplates: raw 1500/1501/110) ---------------
class Raw:
    """A minimal TCP client speaking raw packets."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        self.reasm = zk.TcpReassembler()
        self.pending: list[zk.Packet] = []
        self.session = 0
        self.reply = 0

    def send_raw(self, raw: bytes) -> None:
        self.sock.sendall(raw)

    def send(self, cmd: int, data: bytes = b"") -> None:
        self.sock.sendall(zk.tcp_packet(cmd, self.session, self.reply, data))
        self.reply += 1

    def recv_packet(self) -> zk.Packet:
        while not self.pending:
            chunk = self.sock.recv(65536)
            assert chunk, "connection closed"
            for item in self.reasm.feed(chunk):
                assert isinstance(item, zk.Packet), item
                self.pending.append(item)
        return self.pending.pop(0)

    def call(self, cmd: int, data: bytes = b"") -> zk.Packet:
        self.send(cmd, data)
        return self.recv_packet()

    def close(self) -> None:
        self.sock.close()


def test_batch_upload_of_users_and_templates(tmp_path, served) -> None:
    t = make_terminal(tmp_path, key=0, users=0)
    h = served(t, framing=PYZK_FRAMING)  # pyzk reads the templates back
    users = [zk.User(i, f"20{i}", f"Batch{i}") for i in range(1, 4)]
    tmpls = [zk.Template(u.uid, fid, 1, bytes([u.uid, fid]) * 300) for u in users for fid in (0, 5)]
    buf = zk.encode_upload(users, tmpls, 72)
    raw = Raw(h.port)
    assert raw.call(zk.CMD_CONNECT).command == zk.CMD_ACK_OK
    assert raw.call(zk.CMD_FREE_DATA).command == zk.CMD_ACK_OK
    assert raw.call(zk.CMD_PREPARE_DATA, struct.pack("<I", len(buf))).command == zk.CMD_ACK_OK
    for i in range(0, len(buf), 1024):
        assert raw.call(zk.CMD_DATA, buf[i:i + 1024]).command == zk.CMD_ACK_OK
    assert raw.call(zk.CMD_SAVE_USERTEMPS, struct.pack("<IHH", 12, 0, 8)).command == zk.CMD_ACK_OK
    assert raw.call(zk.CMD_SAVE_USERTEMPS, struct.pack("<IHH", 12, 0, 8)).command == zk.CMD_ACK_ERROR  # consumed
    raw.close()
    conn = client(h.port, "tcp", key=0).connect()
    assert [(u.uid, u.user_id) for u in conn.get_users()] == [(u.uid, u.user_id) for u in users]
    assert sorted((f.uid, f.fid, f.template) for f in conn.get_templates()) == sorted(
        (x.uid, x.fid, x.template) for x in tmpls)
    conn.disconnect()


# --- §8 captures replayed --------------------------------------------------------------------
def _same_apart_from_session(ours: zk.Packet, captured_hex: str) -> None:
    (cap,) = list(zk.iter_tcp_packets(H(captured_hex)))
    assert (ours.command, ours.reply, ours.data) == (cap.command, cap.reply, cap.data)


def test_captures_replayed_byte_for_byte(tmp_path, served) -> None:
    # a terminal set up like the captured units: key 12, 70 users (5044-byte user buffer)
    t = Terminal.create(tmp_path / "cap.db", "tft", comm_key=12,
                        options={"~Platform": "ZEM760_TFT", "IPAddress": "192.168.1.199"})
    t.set_users(zk.User(i, str(5147983 + i)[:7], f"N{i}") for i in range(1, 71))
    h = served(t)
    sids = iter([0x45CF, 0x3C5C, 0x8DF3, 0x7D3D])
    h.server.new_session_id = lambda: next(sids)

    raw = Raw(h.port)
    raw.send_raw(H("5050827d08000000e80317fc00000000"))  # pyzk CONNECT
    assert zk.tcp_wrap(zk.pack_packet(*_fields(raw.recv_packet()))) == H("5050827d08000000d5075bb2cf450000")
    raw.send_raw(H("5050827d0c0000004e044e2ccf450100614d323c"))  # AUTH, password 12
    ok = raw.recv_packet()
    assert (ok.command, ok.session, ok.reply, ok.data) == (zk.CMD_ACK_OK, 0x45CF, 1, b"")
    raw.send_raw(H("5050827d080000003200fcb9cf450200"))  # GET_FREE_SIZES
    sizes = raw.recv_packet()
    assert (sizes.command, sizes.reply, len(sizes.data)) == (zk.CMD_ACK_OK, 2, 80)  # 0x58-byte frame, as captured
    assert zk.decode_free_sizes(sizes.data).users == 70
    raw.send_raw(H("5050827d13000000df053ca6cf4514000109000500000000000000"))  # 1503 users
    ack = raw.recv_packet()
    assert (ack.command, ack.reply, ack.data[:9]) == (zk.CMD_ACK_OK, 0x14, H("00b4130000b4130000"))
    raw.send_raw(H("5050827d08000000e90345b6cf450200"))  # EXIT after auth
    assert raw.recv_packet().command == zk.CMD_ACK_OK
    raw.close()

    # second connection: session 0x3c5c, the buffered read of the 5044-byte user buffer
    raw = Raw(h.port)
    raw.send_raw(H("5050827d08000000e80317fc00000000"))
    raw.recv_packet()
    raw.session = 0x3C5C
    raw.send_raw(zk.tcp_packet(zk.CMD_AUTH, 0x3C5C, 1, zk.make_commkey(12, 0x3C5C)))
    assert raw.recv_packet().command == zk.CMD_ACK_OK
    raw.send_raw(zk.tcp_packet(zk.CMD_PREPARE_BUFFER, 0x3C5C, 0x15, zk.encode_rwb_args(9, 5)))
    assert raw.recv_packet().command == zk.CMD_ACK_OK
    raw.send_raw(H("5050827d10000000e005f9a95c3c160000000000b4130000"))  # 1504 start 0 len 5044
    stream = [raw.recv_packet() for _ in range(8)]
    wire = [zk.tcp_wrap(zk.pack_packet(*_fields(p))) for p in stream]
    assert wire[0] == H("5050827d10000000dc050da65c3c1600b4130000f0030000")  # PREPARE_DATA 5044/1008
    first = H("5050827df8030000dd05d05800001600")  # first DATA (its checksum covers the captured users)
    assert wire[1][:10] + wire[1][12:16] == first[:10] + first[12:16]
    assert stream[1].data[:4] == H("b0130000")  # 5040 = 70 x 72
    assert [p.session for p in stream[1:7]] == [0, 1, 2, 3, 4, 5]
    assert wire[6] == H("5050827d0c000000dd0507fa0500160000000000")  # last DATA, 4 bytes, sequence 5
    assert (stream[7].command, stream[7].reply) == (zk.CMD_ACK_OK, 0x16)
    raw.send_raw(H("5050827d08000000de05aebd5c3c1700"))  # FREE_DATA
    assert raw.recv_packet().command == zk.CMD_ACK_OK
    raw.close()

    # third: zkproto OPTIONS pairs (session 0x8df3)
    raw = Raw(h.port)
    raw.send_raw(H("5050827d08000000e80317fc00000000"))
    raw.recv_packet()
    raw.send_raw(zk.tcp_packet(zk.CMD_AUTH, 0x8DF3, 1, zk.make_commkey(12, 0x8DF3)))
    raw.recv_packet()
    for req, rep in [
        ("5050827d120000000b00b9e6f38d0c007e506c6174666f726d00",
         "5050827d1d000000d007714cf38d0c007e506c6174666f726d3d5a454d3736305f54465400"),
        ("5050827d110000000b0084c2f38d0b00576f726b436f646500",
         "5050827d13000000d007828af38d0b00576f726b436f64653d3000"),
    ]:
        raw.send_raw(H(req))
        assert zk.tcp_wrap(zk.pack_packet(*_fields(raw.recv_packet()))) == H(rep)
    raw.close()

    # fourth: AK3750 (session 0x7d3d): IPAddress option, and ACK_UNKNOWN for pyzk's 0xFFFF
    raw = Raw(h.port)
    raw.send_raw(H("5050827d08000000e80317fc00000000"))
    raw.recv_packet()
    raw.send_raw(zk.tcp_packet(zk.CMD_AUTH, 0x7D3D, 1, zk.make_commkey(12, 0x7D3D)))
    raw.recv_packet()
    for req, rep in [
        ("5050827d120000000b00dae73d7d150049504164647265737300",
         "5050827d20000000d007ad6f3d7d15004950416464726573733d3139322e3136382e312e31393900"),
        ("5050827d12000000ffffeaf63d7d0b004661636546756e4f6e00", "5050827d08000000ffffb8823d7d0a00"),
    ]:
        raw.send_raw(H(req))
        assert zk.tcp_wrap(zk.pack_packet(*_fields(raw.recv_packet()))) == H(rep)
    raw.close()


def _fields(p: zk.Packet) -> tuple:
    return p.command, p.session, p.reply, p.data


def test_captured_time_event_and_udp_connect(tmp_path, served) -> None:
    t = Terminal.create(tmp_path / "ev.db", "tft")
    t.set_user(zk.User(13, "999111333", "Ned"))
    t.set_clock(drift_ppm=-1e6)  # a stopped clock, so GET_TIME is deterministic
    t.set_time(datetime(2024, 2, 29, 23, 59, 59))
    h = served(t)
    h.server.new_session_id = lambda: 0x3C5C
    raw = Raw(h.port)
    raw.call(zk.CMD_CONNECT)
    raw.session = 0x3C5C
    raw.reply = 5
    assert zk.tcp_wrap(zk.pack_packet(*_fields(raw.call(zk.CMD_GET_TIME)))) == H(
        "5050827d0c000000d00786235c3c0500ff69492e")
    raw.send_raw(H("5050827d0c000000ca008b2a5c3c0600ff69492e"))  # SET_TIME, same instant
    assert raw.recv_packet().command == zk.CMD_ACK_OK
    raw.send_raw(H("5050827d0c000000f401a7c15c3c070001000000"))  # REG_EVENT mask 1
    assert raw.recv_packet().command == zk.CMD_ACK_OK
    t.punch("999111333", datetime(2018, 6, 25, 17, 41, 5), state=0, verify=1)
    ev = raw.recv_packet()
    assert zk.tcp_wrap(zk.pack_packet(*_fields(ev))) == H(
        "5050827d28000000f401ac12010000003939393131313333330000000000000000000000000000000100120619112905")
    raw.close()

    u = Terminal.create(tmp_path / "udp.db", "mono")
    hu = served(u)
    hu.server.new_session_id = lambda: 0x1234
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(5)
        s.sendto(H("e80317fc00000000"), ("127.0.0.1", hu.port))
        assert s.recv(1024) == H("d007fbe534120000")


# --- scale -------------------------------------------------------------------------------------
@pytest.mark.parametrize("transport", ["tcp", "udp"])
def test_100k_records_download_completely(tmp_path, served, transport) -> None:
    # pyzk 0.9 reads a TCP data stream packet by packet with fixed recv sizes and blocks when
    # the whole answer already sits in its buffer (test_pyzk_0_9_hangs_on_captured_framing): it
    # is served here the one-packet framing it copes with; the hub's reader takes the captured
    # framing (tests/test_zk_wire.py).
    t = Terminal.create(tmp_path / "big.db", "tft")
    t.set_users(zk.User(i, str(i), f"P{i}") for i in range(1, 201))
    base = datetime(2026, 1, 1, 7, 0)
    t.bulk_punch([(str(i % 200 + 1), base + timedelta(seconds=37 * i), i % 4, 1) for i in range(100_000)])
    h = served(t, framing=Framing.preset("single"))
    conn = client(h.port, transport, key=0, timeout=20).connect()
    att = conn.get_attendance()
    conn.disconnect()
    assert len(att) == 100_000
    assert [(a.user_id, a.timestamp, a.punch) for a in att] == [
        (str(i % 200 + 1), base + timedelta(seconds=37 * i), i % 4) for i in range(100_000)]


def test_pyzk_0_9_hangs_on_captured_framing(tmp_path, served) -> None:
    """A client bug, documented: pyzk 0.9 (TCP) reads a chunk's DATA packets with
    recv(size + 32), then, finding fewer bytes than it wants in the first 1016-byte frame,
    waits in recv for more although the rest of the stream is already in its buffer. Against
    capture framing sent back to back it times out ("timed out"); the simulator stays
    faithful to firmware (1008-byte DATA packets, §3.9/§8)."""
    t = make_terminal(tmp_path, records=3000, key=0)
    # capture framing (1008-byte DATA packets) as a host reading late finds it: the whole
    # answer already in its buffer (one write), whatever else the machine is doing
    h = served(t, framing=Framing(coalesce=0))
    assert h.framing.packet == 1008
    conn = client(h.port, "tcp", key=0, timeout=2).connect()
    with pytest.raises(TimeoutError, match="timed out"):  # a bare socket timeout out of pyzk's reader
        conn.get_attendance()


@pytest.mark.parametrize("policy", ["displace", "refuse", "many"])
def test_one_session_at_a_time(tmp_path, served, policy: str) -> None:
    """Units serve one session at a time (§hub.simulator.zk.server): by default a newer
    CONNECT ends the older session (its socket is reset); "refuse" resets the newcomer."""
    # (pyzk 0.9, the client here, may hang when a TCP stream's packets reach it in one read;
    # this test is about sessions, so it gets the framing pyzk copes with)
    h = served(make_terminal(tmp_path, records=30), session_policy=policy, framing=PYZK_FRAMING)
    first = client(h.port, "tcp").connect()
    if policy == "refuse":
        with pytest.raises(ZKNetworkError):
            client(h.port, "tcp").connect()
        assert len(first.get_attendance()) == 30
        return
    second = client(h.port, "udp").connect()
    assert len(second.get_attendance()) == 30
    if policy == "displace":
        with pytest.raises(ZKNetworkError):
            first.get_attendance()
        assert h.server.displaced == 1
    else:
        assert len(first.get_attendance()) == 30


def test_idle_session_is_closed_but_an_event_listener_is_not(tmp_path, served) -> None:
    h = served(make_terminal(tmp_path, records=0, key=0), idle_timeout_s=0.5, session_policy="many")
    idle = client(h.port, "tcp", key=0).connect()
    listening = Raw(h.port)
    listening.session = listening.call(zk.CMD_CONNECT).session
    assert listening.call(zk.CMD_REG_EVENT, struct.pack("<I", zk.EF_ATTLOG)).command == zk.CMD_ACK_OK
    time.sleep(1.2)
    with pytest.raises(ZKNetworkError):
        idle.get_time()
    assert listening.call(zk.CMD_GET_TIME).command == zk.CMD_ACK_OK
    listening.close()


# --- bad input never crashes the terminal -------------------------------------------------
def test_bad_input_does_not_crash(tmp_path, served) -> None:
    h = served(make_terminal(tmp_path))
    port = h.port
    bad_streams = [
        os.urandom(3000),  # garbage
        zk.tcp_packet(zk.CMD_CONNECT, 0, 0)[:11],  # truncated, then the peer goes away
        zk.TCP_MAGIC + struct.pack("<I", 50_000_000) + os.urandom(64),  # oversized frame
        zk.TCP_MAGIC + struct.pack("<I", 2) + b"xx",  # frame shorter than a header
        zk.tcp_packet(zk.CMD_PREPARE_BUFFER, 0, 0, b"\x01"),  # truncated argument
        zk.tcp_packet(zk.CMD_USER_WRQ, 0, 0, b"\x00" * 10),
    ]
    for blob in bad_streams:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
            s.sendall(blob)
    # wrong checksum: logged, still answered
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        pkt = bytearray(zk.tcp_packet(zk.CMD_CONNECT, 0, 0))
        pkt[10] ^= 0xFF
        s.sendall(bytes(pkt))
        assert next(zk.iter_tcp_packets(s.recv(64))).command == zk.CMD_ACK_UNAUTH
    # garbage arguments inside an authenticated session get ACK_ERROR, not a crash
    raw = Raw(port)
    first = raw.call(zk.CMD_CONNECT)
    raw.session = first.session
    raw.call(zk.CMD_AUTH, zk.make_commkey(KEY, first.session))
    for cmd, data in [(zk.CMD_PREPARE_BUFFER, b"\x02" + bytes(10)), (zk.CMD_READ_BUFFER, struct.pack("<ii", -5, 3)),
                      (zk.CMD_SET_TIME, struct.pack("<I", 0xFFFFFFFF)), (zk.CMD_SAVE_USERTEMPS, b""),
                      (zk.CMD_DATA, b"x"), (zk.CMD_OPTIONS_RRQ, b"\xff\xfe"), (zk.CMD_USER_WRQ, os.urandom(72))]:
        assert raw.call(cmd, data).command in (zk.CMD_ACK_ERROR, zk.CMD_ACK_OK)
    raw.close()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        for blob in (b"", b"\x01", os.urandom(7), os.urandom(2000)):
            s.sendto(blob, ("127.0.0.1", port))
    for transport in ("tcp", "udp"):
        conn = client(port, transport).connect()
        assert len(conn.get_users()) >= 5 and len(conn.get_attendance()) == 20
        conn.disconnect()


# --- faults --------------------------------------------------------------------------------------
def test_fault_drop_after_bytes(tmp_path, served) -> None:
    h = served(make_terminal(tmp_path, records=5000), framing=PYZK_FRAMING)
    h.faults.drop_after_bytes = 50_000
    with pytest.raises((ZKNetworkError, ZKErrorResponse, OSError)):
        client(h.port, "tcp", timeout=3).connect().get_attendance()
    h.faults.drop_after_bytes = None
    conn = client(h.port, "tcp").connect()
    assert len(conn.get_attendance()) == 5000
    conn.disconnect()


def test_fault_drop_after_bytes_udp(tmp_path, served) -> None:
    h = served(make_terminal(tmp_path, records=5000))
    h.faults.drop_after_bytes = 30_000
    with pytest.raises((ZKNetworkError, ZKErrorResponse, OSError)):
        client(h.port, "udp", timeout=1).connect().get_attendance()
    h.faults.clear()
    conn = client(h.port, "udp").connect()
    assert len(conn.get_attendance()) == 5000
    conn.disconnect()


@pytest.mark.parametrize("transport", ["tcp", "udp"])
def test_fault_refuse(tmp_path, served, transport) -> None:
    h = served(make_terminal(tmp_path))
    h.faults.refuse = True
    with pytest.raises((ZKNetworkError, ZKErrorResponse, OSError)):
        client(h.port, transport, timeout=1).connect()
    h.faults.refuse = False
    client(h.port, transport).connect().disconnect()


@pytest.mark.parametrize("field", ["latency_s", "slow_s"])
def test_fault_latency_and_slow_answers(tmp_path, served, field) -> None:
    h = served(make_terminal(tmp_path))
    setattr(h.faults, field, 0.6)
    with pytest.raises((ZKNetworkError, OSError)):
        client(h.port, "tcp", timeout=0.2).connect()  # a client with a short timeout gives up
    conn = client(h.port, "tcp", timeout=5).connect()  # a patient one gets through
    assert conn.get_serialnumber() == h.terminal.serial
    conn.disconnect()


def test_fault_bandwidth_cap(tmp_path, served) -> None:
    h = served(make_terminal(tmp_path, records=4000), framing=PYZK_FRAMING)  # 160 kB of 40-byte records
    h.faults.bandwidth_bps = 20_000
    c = client(h.port, "tcp", timeout=2).connect()
    with pytest.raises((ZKNetworkError, ZKErrorResponse, OSError)):
        c.get_attendance()  # one 160 kB chunk needs ~8 s at 20 kB/s
    h.faults.bandwidth_bps = None
    conn = client(h.port, "tcp").connect()
    assert len(conn.get_attendance()) == 4000
    conn.disconnect()


@pytest.mark.parametrize("transport", ["tcp", "udp"])
def test_fault_corrupt_packet(tmp_path, served, transport) -> None:
    h = served(make_terminal(tmp_path))
    conn = client(h.port, transport).connect()
    h.faults.corrupt_next = True
    with pytest.raises((ZKNetworkError, ZKErrorResponse, ValueError)):
        conn.get_time()
        conn.get_serialnumber()  # UDP: a mangled header parses, but the reply code is wrong
    assert not h.faults.corrupt_next  # only one packet is corrupted
    conn = client(h.port, transport).connect()
    assert conn.get_serialnumber() == h.terminal.serial
    conn.disconnect()


# --- state, capacities -------------------------------------------------------------------------
def test_state_survives_a_restart_of_the_simulator(tmp_path, served) -> None:
    t = make_terminal(tmp_path, "face")
    t.set_template(zk.Template(2, 1, 1, b"tmpl" * 50))
    t.set_option("LockOn", "5")
    t.set_clock(offset_s=-600)
    serial = t.serial
    t.close()
    t2 = Terminal.load(tmp_path / "face.db")
    assert (t2.serial, t2.comm_key, t2.profile.name) == (serial, KEY, "face")
    assert len(t2.users()) == 5 and len(t2.attendance()) == 20 and t2.templates()[0].template == b"tmpl" * 50
    assert t2.option("LockOn") == "5"
    wall = datetime.now(ZoneInfo("Asia/Jakarta")).replace(tzinfo=None)
    assert abs((wall - t2.now()).total_seconds() - 600) < 3  # the terminal still runs 10 minutes slow
    h = served(t2)
    conn = client(h.port, "tcp").connect()
    assert len(conn.get_attendance()) == 20 and len(conn.get_templates()) == 1
    conn.disconnect()


def test_capacities_are_enforced(tmp_path, served) -> None:
    t = Terminal.create(tmp_path / "cap.db", "tft", profile_overrides={"users_cap": 3, "rec_cap": 10})
    t.set_users(zk.User(i, str(i)) for i in (1, 2, 3))
    with pytest.raises(CapacityError):
        t.set_user(zk.User(4, "4"))
    t.bulk_punch([("1", T0, 0, 1)] * 10)
    with pytest.raises(CapacityError):
        t.punch("1")
    with pytest.raises(TerminalError, match="not enrolled"):
        t.punch("99")
    with pytest.raises(TerminalError, match="PIN width"):
        t.set_user(zk.User(2, "1234567890"))
    h = served(t)
    conn = client(h.port, "tcp", key=0).connect()
    conn.read_sizes()
    assert (conn.users, conn.users_cap, conn.users_av, conn.rec_av) == (3, 3, 0, 0)
    conn.get_users()
    with pytest.raises(ZKErrorResponse, match="Can't set user"):
        conn.set_user(uid=4, name="X", user_id="4")
    conn.disconnect()


def test_clock_offset_and_drift(tmp_path) -> None:
    t = Terminal.create(tmp_path / "clk.db", "tft", clock_offset_s=300, drift_ppm=1000, tz="Asia/Makassar")
    now = time.time()
    anchor = t.clock.anchor
    later = t.clock.now(anchor + 86_400)  # a day on: 86.4 s of drift on top of the 5-minute offset
    expect = datetime.fromtimestamp(anchor + 86_400 + 300 + 86.4, ZoneInfo("Asia/Makassar")).replace(
        tzinfo=None, microsecond=0)
    assert abs((later - expect).total_seconds()) <= 1
    assert now - anchor < 5
    t.close()


# --- the CLI ----------------------------------------------------------------------------------------
def test_cli_simulate_device_runs_and_stops_cleanly(tmp_path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    hub = Path(sys.executable).with_name("hub")
    proc = subprocess.Popen([str(hub), "simulate", "device", "--port", str(port), "--profile", "tft",
                             "--serial", "CLI0001", "--state-dir", str(tmp_path), "--comm-key", "7", "--tcp",
                             "--users", "10", "--records", "100", "--framing", "single"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 30
        conn = None
        while time.monotonic() < deadline and conn is None:
            try:
                conn = client(port, "tcp", key=7, timeout=2).connect()
            except (ZKNetworkError, OSError):
                time.sleep(0.3)
        assert conn is not None, "the simulator did not come up"
        assert conn.get_serialnumber() == "CLI0001"
        assert len(conn.get_users()) == 10 and len(conn.get_attendance()) == 100
        conn.disconnect()
    finally:
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=20)
    assert proc.returncode == 0, out
    assert "CLI0001" in out and (tmp_path / "CLI0001.db").exists()


# --- the protocol logic under hypothesis (no sockets: Session.handle directly) ----------------
@pytest.fixture(scope="module")
def fuzz_terminal(tmp_path_factory):
    t = make_terminal(tmp_path_factory.mktemp("fuzz"), key=0)
    yield t
    t.close()


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(sorted(set(zk.COMMAND_NAMES) - {zk.CMD_CLEAR_DATA, zk.CMD_CLEAR_ATTLOG}))
                          | st.integers(0, 0xFFFF), st.binary(max_size=200)), max_size=12))
def test_session_answers_any_command_sequence(fuzz_terminal, cmds) -> None:
    from hub.simulator.zk.server import Session, TerminalServer

    server = TerminalServer(fuzz_terminal, port=0)
    s = Session(server, "tcp")
    s.handle(zk.Packet(zk.CMD_CONNECT, 0, 0))
    for i, (cmd, data) in enumerate(cmds, start=1):
        if cmd in (zk.CMD_CLEAR_DATA, zk.CMD_CLEAR_ATTLOG):
            continue
        authed = s.authed
        out = s.handle(zk.Packet(cmd, s.session_id, i, data))
        if cmd == zk.CMD_ACK_OK or (cmd == zk.CMD_RESTART and authed):  # an event ACK; a rebooting unit
            assert out == []
            continue
        assert out, f"no answer to command {cmd}"
        for raw in out:
            assert zk.unpack_packet(raw).checksum_ok


def test_restart_closes_every_session(tmp_path, served) -> None:
    h = served(make_terminal(tmp_path, key=0), session_policy="many")
    a, b = Raw(h.port), Raw(h.port)
    for r in (a, b):
        r.session = r.call(zk.CMD_CONNECT).session
    a.send(zk.CMD_RESTART)  # not answered: the unit reboots
    for r in (a, b):
        with contextlib.suppress(ConnectionResetError):  # closed with a reset, or with a FIN
            assert r.sock.recv(64) == b""
        r.close()
    time.sleep(h.server.reboot_s)
    conn = client(h.port, "tcp", key=0).connect()
    assert len(conn.get_users()) == 5
    conn.disconnect()


# --- serial line (pty) --------------------------------------------------------------------------
def test_serial_terminal_over_a_pty(tmp_path) -> None:
    import serial as pyserial

    from hub.simulator.zk.serial import start_serial_in_thread

    t = make_terminal(tmp_path, users=70, records=30)
    with start_serial_in_thread(t, baud=0) as line:
        port = pyserial.Serial(line.tty_path, timeout=3)
        reasm = zk.TcpReassembler()
        pending: list[zk.Packet] = []

        def call(cmd: int, data: bytes = b"", session: int = 0, reply: int = 0) -> zk.Packet:
            port.write(zk.tcp_packet(cmd, session, reply, data))
            return nxt()

        def nxt() -> zk.Packet:
            while not pending:
                chunk = port.read(port.in_waiting or 1)
                assert chunk, "no answer on the serial line"
                pending.extend(p for p in reasm.feed(chunk) if isinstance(p, zk.Packet))
            return pending.pop(0)

        port.write(b"\x00\xffnoise")  # line noise before the first packet is skipped
        first = call(zk.CMD_CONNECT)
        assert first.command == zk.CMD_ACK_UNAUTH
        sid = first.session
        assert call(zk.CMD_AUTH, zk.make_commkey(KEY, sid), sid, 1).command == zk.CMD_ACK_OK
        opt = call(zk.CMD_OPTIONS_RRQ, b"~SerialNumber\x00", sid, 2)
        assert opt.data == f"~SerialNumber={t.serial}".encode() + b"\x00"
        ack = call(zk.CMD_PREPARE_BUFFER, zk.encode_rwb_args(zk.CMD_ATTLOG_RRQ), sid, 3)
        size = zk.parse_rwb_ack(ack.data)
        assert call(zk.CMD_READ_BUFFER, zk.encode_read_chunk(0, size), sid, 4).command == zk.CMD_PREPARE_DATA
        data = b""
        while (p := nxt()).command == zk.CMD_DATA:
            data += p.data
        recs = zk.decode_records(zk.split_size_prefixed(data), 40, zk.decode_att)
        assert [(r.user_id, r.time_raw) for r in recs] == [(r.user_id, r.time_raw) for r in t.attendance()]
        assert call(zk.CMD_REG_EVENT, struct.pack("<I", 1), sid, 5).command == zk.CMD_ACK_OK
        t.punch("105", datetime(2026, 11, 4, 16, 0, 2), state=1)
        ev = nxt()
        assert (ev.command, zk.decode_att_event(ev.data).user_id) == (zk.CMD_REG_EVENT, "105")
        port.write(zk.tcp_packet(zk.CMD_ACK_OK, sid, 0))
        assert call(zk.CMD_EXIT, b"", sid, 6).command == zk.CMD_ACK_OK
        assert call(zk.CMD_CONNECT).command == zk.CMD_ACK_UNAUTH  # the line takes a new session
        port.close()
    t.close()
