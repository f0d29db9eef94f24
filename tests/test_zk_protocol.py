"""The pure ZK codec against the published vectors (reference §8) and hypothesis properties."""

from __future__ import annotations

import struct
from datetime import datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hub.protocols import zk

H = bytes.fromhex


# --- §8 vectors ---------------------------------------------------------------------------
@pytest.mark.parametrize("hexstr", [
    "5050827d08000000e80317fc00000000",  # pyzk TCP CONNECT
    "5050827d08000000e903e6002ffb0100",  # EXIT
    "5050827d08000000d5075bb2cf450000",  # ACK_UNAUTH
    "5050827d0c0000004e044e2ccf450100614d323c",  # AUTH key 12
    "5050827d0c0000004e044db0cf45010061c9323c",  # AUTH key 45
    "5050827d080000003200fcb9cf450200",  # GET_FREE_SIZES
    "5050827d15000000d007a7625c3c150000b4130000b4130000cdef2300",  # 1503 ACK_OK
    "5050827d10000000dc050da65c3c1600b4130000f0030000",  # PREPARE_DATA
    "5050827d0c000000dd0507fa0500160000000000",  # last DATA
    "5050827d08000000de05aebd5c3c1700",  # FREE_DATA
    "5050827d08000000d007fcf701003200",  # closing ACK_OK
    "5050827d120000000b00dae73d7d150049504164647265737300",
    "5050827d20000000d007ad6f3d7d15004950416464726573733d3139322e3136382e312e31393900",
    "5050827d12000000ffffeaf63d7d0b004661636546756e4f6e00",
    "5050827d08000000ffffb8823d7d0a00",
    "5050827d28000000f401ac12010000003939393131313333330000000000000000000000000000000100120619112905",
    "5050827d09000000f401a7fc0001000064",
    "5050827d0c000000d00786235c3c0500ff69492e",
    "5050827d0c000000ca008b2a5c3c0600ff69492e",
    "5050827d0c000000f401a7c15c3c070001000000",
])
def test_captured_tcp_packets_parse_and_repack_byte_for_byte(hexstr: str) -> None:
    raw = H(hexstr)
    (pkt,) = list(zk.iter_tcp_packets(raw))
    assert pkt.checksum_ok
    assert zk.tcp_packet(pkt.command, pkt.session, pkt.reply, pkt.data) == raw


@pytest.mark.parametrize("hexstr", [
    "e80317fc00000000", "0d00790a78f50100", "e9039d0678f50100",
    "0b0023bdccf901007e53657269616c4e756d626572", "d007fbe534120000", "32006ec35c3c0300",
    "0b005a17f38d03005a4b4661636556657273696f6e00", "d007296af38d0a0009",
])
def test_captured_udp_packets(hexstr: str) -> None:
    pkt = zk.unpack_packet(H(hexstr))
    assert pkt.checksum_ok
    assert zk.pack_packet(pkt.command, pkt.session, pkt.reply, pkt.data) == H(hexstr)


def test_wrong_checksum_is_reported_not_raised() -> None:
    raw = bytearray(H("e80317fc00000000"))
    raw[2] ^= 0xFF
    assert not zk.unpack_packet(bytes(raw)).checksum_ok


@pytest.mark.parametrize(("key", "session", "expect"), [
    (12, 0x45CF, "614d323c"), (45, 0x45CF, "61c9323c"), (0, 0x45CF, "617d323c"), (123456, 0x1234, "267f32eb"),
])
def test_commkey_vectors(key: int, session: int, expect: str) -> None:
    assert zk.make_commkey(key, session) == H(expect)
    assert zk.check_commkey(H(expect), key, session)
    assert not zk.check_commkey(H(expect), key + 1, session)
    assert zk.check_commkey(zk.make_commkey(key, session, ticks=7), key, session)


@pytest.mark.parametrize(("dt", "value"), [
    (datetime(2018, 6, 25, 17, 50, 35), 0x2368B36B), (datetime(2018, 4, 11, 9, 35, 20), 587468120),
    (datetime(2000, 1, 1), 0), (datetime(2019, 8, 13, 12), 630504000),
    (datetime(2024, 2, 29, 23, 59, 59), 776563199), (datetime(2099, 12, 31, 23, 59, 59), 3214079999),
])
def test_time_vectors(dt: datetime, value: int) -> None:
    assert zk.encode_time(dt) == value
    assert zk.decode_time(value) == dt


def test_impossible_date_is_a_clear_error() -> None:
    feb30 = ((24 * 12 + 1) * 31 + 29) * 86400
    with pytest.raises(zk.ZkRecordError, match="impossible date"):
        zk.decode_time(feb30)
    with pytest.raises(zk.ZkRecordError, match="year 1999"):
        zk.encode_time(datetime(1999, 12, 31))


def test_user72_vector() -> None:
    raw = H("01000e35313437393833004a6573757353616c6469766172000000000000000000000000000000010000000000000000"
            "353134373938330000000000000000000000000000000000")
    u = zk.decode_user(raw)
    assert (u.uid, u.privilege, u.password, u.name, u.card, u.group, u.user_id) == (
        1, 14, "5147983", "JesusSaldivar", 0, 1, "5147983")
    assert zk.encode_user(u, 72) == raw


def test_user72_zkproto_upload_vector() -> None:
    # the SDK left a stray 0x7c after the password's NUL; the packet checksum covers it
    raw = bytearray(zk.encode_user(zk.User(0x0E, "11224488", "Nuevo", 6, "123456", 6543, 1), 72))
    raw[10] = 0x7C
    pkt = zk.tcp_packet(zk.CMD_USER_WRQ, 0x8A9D, 0x5C, bytes(raw))
    assert pkt[:16] == H("5050827d5000000008 00fc579d8a5c00".replace(" ", ""))
    u = zk.decode_user(bytes(raw))
    assert (u.uid, u.privilege, u.password, u.name, u.card, u.group, u.user_id) == (
        14, 6, "123456", "Nuevo", 6543, 1, "11224488")


def test_user28_roundtrip_and_limits() -> None:
    u = zk.User(7, "123456", "Budi", 14, "123", 99, 1, b"\x00\x00")
    assert zk.decode_user(zk.encode_user(u, 28)) == u
    with pytest.raises(zk.ZkRecordError, match="name"):
        zk.encode_user(zk.User(1, "1", "Nama Yang Panjang"), 28)
    with pytest.raises(zk.ZkRecordError, match="must be a number"):
        zk.encode_user(zk.User(1, "A12"), 28)


def test_att40_vector() -> None:
    raw = H("0d00393939313131333333000000000000000000000000000000016bb368230000000000ff000000")
    r = zk.decode_att(raw)
    assert (r.uid, r.user_id, r.verify, r.timestamp, r.state) == (13, "999111333", 1,
                                                                  datetime(2018, 6, 25, 17, 50, 35), 0)
    assert zk.encode_att(r, 40) == raw


@pytest.mark.parametrize("size", [8, 16, 40, 49])
def test_att_sizes(size: int) -> None:
    r = zk.AttRecord(5, "5", zk.encode_time(datetime(2026, 11, 2, 7, 45)), 1, 15, 0)
    raw = zk.encode_att(r, size)
    assert len(raw) == size
    back = zk.decode_att(raw)
    assert (back.user_id, back.time_raw, back.state, back.verify) == ("5", r.time_raw, 1, 15)


def test_realtime_vectors() -> None:
    ev = zk.decode_att_event(H("f19449000000120c07130906"))
    assert (ev.user_id, ev.when) == ("4822257", datetime(2018, 12, 7, 19, 9, 6))
    raw32 = H("3939393131313333330000000000000000000000000000000100120619112905")
    ev = zk.decode_att_event(raw32)
    assert (ev.user_id, ev.verify, ev.state, ev.when) == ("999111333", 1, 0, datetime(2018, 6, 25, 17, 41, 5))
    assert zk.encode_att_event("999111333", 1, 0, ev.when, 32) == raw32
    assert zk.decode_att_event(zk.encode_att_event("77", 15, 1, ev.when, 10)).user_id == "77"


def test_free_sizes_vector() -> None:
    data = H("000000000000000000000000000000004600000000000000460000000000000099"
             "0c0000000000001a010000000000000600000006000000f4010000f401000050c30000ae010000ae010000b7b60000")
    s = zk.decode_free_sizes(data)
    assert (s.users, s.fingers, s.records, s.oplog, s.admins, s.passwords) == (70, 70, 3225, 282, 6, 6)
    assert (s.fingers_cap, s.users_cap, s.rec_cap, s.faces) == (500, 500, 50000, None)
    assert zk.encode_free_sizes(s) == data
    s.faces, s.faces_cap = 3, 400
    assert len(zk.encode_free_sizes(s)) == 92
    assert zk.decode_free_sizes(zk.encode_free_sizes(s)).faces_cap == 400


def test_rwb_args_and_chunks() -> None:
    assert zk.encode_rwb_args(9, 5) == H("0109000500000000000000")
    assert zk.parse_rwb_args(H("010d0000000000000000000000")) == (13, 0, 0)
    assert zk.rwb_ack(5044, 0x0023EFCD) == H("00b4130000b4130000cdef2300")
    assert zk.parse_read_chunk(H("00000000b4130000")) == (0, 5044)
    assert zk.prepare_data(5044) == H("b4130000f0030000")
    with pytest.raises(zk.ZkArgumentError, match="1503 argument needs 11 bytes"):
        zk.parse_rwb_args(b"\x01\x09")
    with pytest.raises(zk.ZkArgumentError, match="both must be >= 0"):
        zk.parse_read_chunk(struct.pack("<ii", -1, 5))


def test_options() -> None:
    assert zk.parse_option_name(b"~SerialNumber\x00") == "~SerialNumber"
    assert zk.parse_option_name(b"~SerialNumber") == "~SerialNumber"
    assert zk.parse_option_write(b"SDKBuild=1") == ("SDKBuild", "1")
    assert zk.option_reply("~Platform", "ZEM760_TFT") == b"~Platform=ZEM760_TFT\x00"
    with pytest.raises(zk.ZkArgumentError, match="no '='"):
        zk.parse_option_write(b"LockOn5\x00")


def test_upload_roundtrip_matches_pyzk_layout() -> None:
    from zk.finger import Finger
    from zk.user import User as PyzkUser

    pu = PyzkUser(3, "Siti", 0, "", "", "3003", 0)
    f = Finger(3, 2, 1, b"SS21" + bytes(range(60)))
    head_u = pu.repack73()
    table = struct.pack("<bHbI", 2, 3, 0x12, 0)
    fpack = f.repack_only()
    buf = struct.pack("<III", len(head_u), len(table), len(fpack)) + head_u + table + fpack
    up = zk.decode_upload(buf, 72)
    assert [(u.uid, u.user_id, u.name) for u in up.users] == [(3, "3003", "Siti")]
    assert [(t.uid, t.fid, t.template) for t in up.templates] == [(3, 2, f.template)]
    assert zk.decode_upload(zk.encode_upload(up.users, up.templates, 72), 72) == up
    buf28 = zk.encode_upload([zk.User(4, "4", "Adi")], [], 28)
    assert zk.decode_upload(buf28, 28).users[0].name == "Adi"


def test_templates_roundtrip() -> None:
    ts = [zk.Template(1, 0, 1, b"abc"), zk.Template(2, 9, 3, bytes(500))]
    assert zk.decode_templates(b"".join(zk.encode_template(t) for t in ts)) == ts
    with pytest.raises(zk.ZkRecordError, match="does not fit"):
        zk.decode_templates(zk.encode_template(ts[1])[:-1])


def test_reassembler_handles_split_garbage_and_oversize() -> None:
    a = zk.tcp_packet(zk.CMD_CONNECT, 0, 0)
    b = zk.tcp_packet(zk.CMD_DATA, 5, 1, bytes(1024))
    r = zk.TcpReassembler()
    out = []
    stream = b"junk" + a + b
    for i in range(len(stream)):
        out += r.feed(stream[i:i + 1])
    errors = [x for x in out if isinstance(x, zk.StreamError)]
    assert sum(e.skipped for e in errors) == 4 and errors[0].error.where == 0
    assert [p.command for p in out if isinstance(p, zk.Packet)] == [zk.CMD_CONNECT, zk.CMD_DATA]
    big = zk.TCP_MAGIC + struct.pack("<I", 10_000_000) + bytes(16)
    items = zk.TcpReassembler().feed(big + a)
    assert "exceeds" in str(items[0].error)
    assert items[-1].command == zk.CMD_CONNECT
    short = zk.TCP_MAGIC + struct.pack("<I", 3) + a
    items = zk.TcpReassembler().feed(short)
    assert "below the 8-byte" in str(items[0].error) and items[-1].command == zk.CMD_CONNECT


# --- hypothesis ---------------------------------------------------------------------------
names = st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=8)
digits = st.integers(0, 0xFFFFFFFF).map(str)


@given(st.integers(0, 0xFFFF), st.integers(0, 0xFFFF), st.integers(0, 0xFFFF), st.binary(max_size=2000))
def test_packet_roundtrip(cmd: int, session: int, reply: int, data: bytes) -> None:
    raw = zk.tcp_packet(cmd, session, reply, data)
    (p,) = list(zk.iter_tcp_packets(raw))
    assert (p.command, p.session, p.reply, p.data, p.checksum_ok) == (cmd, session, reply, data, True)


@given(st.lists(st.binary(max_size=300), max_size=20), st.integers(1, 64))
@settings(max_examples=200)
def test_reassembler_never_raises_and_keeps_valid_packets(chunks: list[bytes], step: int) -> None:
    """Garbage interleaved with valid packets: every valid packet still comes out."""
    good = [zk.tcp_packet(zk.CMD_GET_TIME, 1, i) for i in range(len(chunks))]
    # garbage that cannot contain the magic keeps the expectation exact
    stream = b"".join(c.replace(b"\x50", b"\x51") + g for c, g in zip(chunks, good, strict=True))
    r = zk.TcpReassembler()
    items = []
    for i in range(0, len(stream), step):
        items += r.feed(stream[i:i + step])
    assert all(isinstance(x, zk.Packet | zk.StreamError) for x in items)
    assert [p.reply for p in items if isinstance(p, zk.Packet)] == list(range(len(chunks)))


@given(st.binary(max_size=3000))
@settings(max_examples=300)
def test_parsers_raise_only_protocol_errors(blob: bytes) -> None:
    items = zk.TcpReassembler(max_packet=4096).feed(blob)
    assert all(isinstance(x, zk.Packet | zk.StreamError) for x in items)
    for fn in (zk.unpack_packet, zk.decode_templates, zk.decode_upload, zk.parse_rwb_args, zk.parse_read_chunk,
               zk.decode_free_sizes, zk.parse_option_name, zk.parse_option_write, zk.decode_att_event,
               zk.split_size_prefixed, zk.decode_user, zk.decode_att, zk.parse_uid_fid):
        try:
            fn(blob)
        except zk.ZkProtocolError as exc:
            assert str(exc)
    for size, decode in ((28, zk.decode_user), (72, zk.decode_user), (8, zk.decode_att), (16, zk.decode_att),
                         (40, zk.decode_att), (49, zk.decode_att)):
        try:
            zk.decode_records(blob, size, decode)
        except zk.ZkProtocolError as exc:
            assert str(exc)


@given(st.integers(0, 0xFFFF), digits, names, st.integers(0, 255), st.text(alphabet="0123456789", max_size=5),
       st.integers(0, 0xFFFFFFFF), st.integers(0, 255), st.binary(min_size=2, max_size=2))
def test_user28_roundtrip(uid, user_id, name, priv, pw, card, group, tz) -> None:
    u = zk.User(uid, user_id, name, priv, pw, card, group, tz)
    assert zk.decode_user(zk.encode_user(u, 28)) == u


@given(st.integers(0, 0xFFFF), st.text(alphabet="0123456789ABC", min_size=1, max_size=24),
       st.text(max_size=6), st.integers(0, 255), st.integers(0, 0xFFFFFFFF), st.binary(min_size=8, max_size=8))
def test_user72_roundtrip(uid, user_id, name, priv, card, tz) -> None:
    name = name.replace("\x00", "")
    u = zk.User(uid, user_id, name, priv, "12", card, 1, tz)
    assert zk.decode_user(zk.encode_user(u, 72)) == u


@given(st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2099, 12, 31, 23, 59, 59)))
def test_time_roundtrip(dt: datetime) -> None:
    dt = dt.replace(microsecond=0)
    assert zk.decode_time(zk.encode_time(dt)) == dt
    assert zk.decode_rt_time(zk.encode_rt_time(dt)) == dt


@given(st.integers(0, 0xFFFF), digits, st.integers(0, 0xFFFFFFFF), st.integers(0, 255), st.integers(0, 255),
       st.sampled_from([16, 40, 49]))
def test_att_roundtrip(uid, user_id, t, state, verify, size) -> None:
    r = zk.AttRecord(uid if size != 16 else 0, user_id, t, state, verify, 0)
    assert zk.decode_att(zk.encode_att(r, size)) == r


@given(st.integers(0, 0xFFFFFFFF), st.integers(0, 0xFFFF))
def test_commkey_check_accepts_own_keys(key: int, session: int) -> None:
    assert zk.check_commkey(zk.make_commkey(key, session), key, session)
