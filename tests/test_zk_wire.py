"""The hub's ZK reader (hub.adapters.zk.wire) against firmware framing.

A data answer on a TFT unit's TCP stream is PREPARE_DATA, DATA packets of 1008 bytes and
ACK_OK (zk-protocol.md §3.9); how TCP cuts those bytes into segments is the network's
choice. The property tests cut one answer at arbitrary points; the end-to-end tests pull
thousands of records from the simulator under each framing it offers, over real sockets.
"""

from __future__ import annotations

import socket
import struct
import threading

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from zk.exception import ZKNetworkError

from hub.adapters.zk.client import HubZK, ZkClient
from hub.adapters.zk.coordinator import Puller, load_targets
from hub.adapters.zk.wire import ZkWire, ZkWireError, assemble
from hub.protocols import zk as codec
from hub.simulator.zk.framing import Framing
from tests.zk_fixtures import assert_store_matches, fast_settings, fill, make_terminal

__all__ = ["make_terminal"]  # a fixture


class ChunkedSocket:
    """Hands out a byte stream in exactly the given pieces, one per recv (the segments);
    the in-memory input of the reader under test, so the cuts are the test's to choose."""

    def __init__(self, pieces: list[bytes]) -> None:
        self.pieces = list(pieces)
        self.sent: list[bytes] = []
        self.timeout: float | None = 1.0

    def recv(self, n: int) -> bytes:
        if not self.pieces:
            raise TimeoutError("timed out")
        piece = self.pieces.pop(0)
        if len(piece) > n:
            self.pieces.insert(0, piece[n:])
            piece = piece[:n]
        return piece

    def send(self, data: bytes) -> int:
        self.sent.append(data)
        return len(data)

    def settimeout(self, t: float | None) -> None:
        self.timeout = t

    def gettimeout(self) -> float | None:
        return self.timeout


def answer(payload: bytes, step: int = 1008, session: int = 0x1234, reply: int = 7) -> list[bytes]:
    """A data answer framed as the captured firmware frames it (TCP wrapper on each)."""
    pkts = [codec.tcp_packet(codec.CMD_PREPARE_DATA, session, reply, codec.prepare_data(len(payload), step))]
    for n, i in enumerate(range(0, len(payload), step)):
        pkts.append(codec.tcp_packet(codec.CMD_DATA, n + 1, reply, payload[i:i + step]))
    pkts.append(codec.tcp_packet(codec.CMD_ACK_OK, len(pkts), reply))
    return pkts


def cut(stream: bytes, points: list[int]) -> list[bytes]:
    edges = sorted({p % (len(stream) + 1) for p in points} | {0, len(stream)})
    return [stream[a:b] for a, b in zip(edges, edges[1:], strict=False) if b > a]


@settings(max_examples=200, deadline=None)
@given(payload=st.binary(min_size=0, max_size=6000), step=st.sampled_from([1008, 1024, 512, 7]),
       points=st.lists(st.integers(min_value=0, max_value=10_000), max_size=40),
       events=st.lists(st.integers(min_value=0, max_value=12), max_size=4),
       trailer=st.booleans())
def test_a_data_answer_cut_anywhere_reads_back_whole(payload, step, points, events, trailer):
    pkts = answer(payload, step)
    # realtime events may arrive in the middle of an answer (between packets)
    ev = codec.tcp_packet(codec.CMD_REG_EVENT, codec.EF_ATTLOG, 0, b"E" * 32)
    for k in sorted(events, reverse=True):
        pkts.insert(1 + k % len(pkts), ev)
    if trailer:  # the next reply already in the same segment must stay for the next read
        pkts.append(codec.tcp_packet(codec.CMD_ACK_OK, 0x1234, 8))
    stream = b"".join(pkts)
    acks = []
    wire = ZkWire(ChunkedSocket(cut(stream, points)), tcp=True, ack_event=lambda: acks.append(1))
    first = wire.packet()
    assert first.command == codec.CMD_PREPARE_DATA
    assert wire.stream_data(first) == payload
    if trailer:
        nxt = wire.packet()
        assert (nxt.command, nxt.reply) == (codec.CMD_ACK_OK, 8)
    # events after the ACK_OK are only read when someone reads on: drain them
    while True:
        try:
            wire.events.append(wire.next_any())
        except TimeoutError:
            break
    assert len(wire.events) == len(events)
    # each event met while reading the answer was ACKed at once; the rest are the listener's
    last_read = max(i for i, p in enumerate(pkts) if p != ev)
    assert len(acks) == pkts[:last_read].count(ev)
    assert all(e.command == codec.CMD_REG_EVENT for e in wire.events)


@settings(max_examples=100, deadline=None)
@given(payload=st.binary(min_size=1, max_size=3000),
       points=st.lists(st.integers(min_value=0, max_value=5000), max_size=20),
       drop=st.integers(min_value=1, max_value=200))
def test_a_short_or_broken_answer_is_an_error_never_wrong_data(payload, points, drop):
    """Bytes missing from the stream: the reader waits and then says so (TimeoutError or
    ZkWireError); it never returns data that differs from what was sent."""
    stream = b"".join(answer(payload))
    stream = stream[:max(0, len(stream) - drop)]
    wire = ZkWire(ChunkedSocket(cut(stream, points)), tcp=True)
    with pytest.raises((TimeoutError, ZkWireError)):  # the closing ACK_OK is never whole
        wire.stream_data(wire.packet())


def test_an_answer_that_breaks_its_announced_size_is_refused():
    payload = b"x" * 3000
    pkts = answer(payload)
    pkts[0] = codec.tcp_packet(codec.CMD_PREPARE_DATA, 1, 7, codec.prepare_data(2000, 1008))
    wire = ZkWire(ChunkedSocket([b"".join(pkts)]), tcp=True)
    with pytest.raises(ZkWireError, match="2000"):
        wire.stream_data(wire.packet())
    other = [pkts[0]] + [codec.tcp_packet(codec.CMD_ACK_ERROR, 1, 7)]
    with pytest.raises(ZkWireError, match="inside a data stream"):
        assemble(*_reader(other))


def _reader(pkts: list[bytes]):
    wire = ZkWire(ChunkedSocket([b"".join(pkts)]), tcp=True)
    return wire.packet(), wire.packet


class RawTerminal(threading.Thread):
    """A scripted TCP peer for what the simulator does not do on purpose: answers given
    late (a stale reply ahead of the right one)."""

    def __init__(self, script) -> None:
        super().__init__(daemon=True)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.script = script
        self.start()

    def run(self) -> None:
        conn, _ = self.listener.accept()
        with conn:
            reasm = codec.TcpReassembler()
            while True:
                data = conn.recv(65536)
                if not data:
                    return
                for pkt in reasm.feed(data):
                    out = self.script(pkt)
                    if out:
                        conn.sendall(out)


def test_a_late_answer_to_an_abandoned_command_is_not_taken_for_the_next_reply():
    """A reply whose reply number is not the request's is stale (the device echoes the
    request's number, zk-protocol.md §1.5): the reader drops it and waits for its own."""
    sid = 0x2222

    def script(pkt):
        if pkt.command == codec.CMD_CONNECT:
            return codec.tcp_packet(codec.CMD_ACK_OK, sid, pkt.reply)
        if pkt.command == codec.CMD_GET_TIME:
            stale = codec.tcp_packet(codec.CMD_ACK_ERROR, sid, (pkt.reply - 1) & 0xFFFF)
            good = codec.tcp_packet(codec.CMD_ACK_OK, sid, pkt.reply,
                                    struct.pack("<I", codec.encode_time(_when())))
            return stale + good
        if pkt.command == codec.CMD_EXIT:
            return codec.tcp_packet(codec.CMD_ACK_OK, sid, pkt.reply)
        return codec.tcp_packet(codec.CMD_ACK_ERROR, sid, pkt.reply)

    peer = RawTerminal(script)
    z = HubZK("127.0.0.1", port=peer.port, timeout=2, ommit_ping=True)
    z.connect()
    assert z.get_time() == _when()
    z.disconnect()


def _when():
    from datetime import datetime
    return datetime(2026, 11, 30, 7, 31, 5)


def test_a_refused_connection_says_so_at_once():
    s = socket.create_server(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    z = HubZK("127.0.0.1", port=port, timeout=2, ommit_ping=True)
    with pytest.raises(ConnectionRefusedError):
        z.connect()


def test_a_silent_terminal_times_out_as_a_network_error():
    peer = RawTerminal(lambda pkt: None)
    z = HubZK("127.0.0.1", port=peer.port, timeout=0.5, ommit_ping=True)
    with pytest.raises(ZKNetworkError, match="timed out"):
        z.connect()


# --- end to end: the simulator's framings, pulled by the hub -----------------------------------

@pytest.mark.parametrize("framing", ["capture", "coalesced", "split", "paced", "single"])
def test_the_hub_pulls_every_record_under_each_framing(engine, make_terminal, framing):
    """3,200 records (128 KB: 127 DATA packets of 1008 bytes under capture framing)."""
    sim = make_terminal("tft", users=60, records=3200, framing=Framing.preset(framing))
    first = Puller(engine, fast_settings()).pull_many(load_targets(engine))
    assert [r.error for r in first] == [None] and first[0].new == 3200
    assert_store_matches(engine, sim)
    # the incremental path reads only the new tail (1503 then 1504 from an offset)
    fill(sim.terminal, 0, 0)
    sim.terminal.bulk_punch([("1001", _when(), 0, 1), ("1002", _when(), 1, 15)])
    second = Puller(engine, fast_settings()).pull_many(load_targets(engine))
    assert [r.error for r in second] == [None]
    assert (second[0].new, second[0].duplicate) == (2, 0)
    assert_store_matches(engine, sim)


@pytest.mark.parametrize(("profile", "transport"), [
    ("tft", "tcp"), ("tft", "udp"), ("face", "tcp"), ("speedface", "tcp"), ("mono", "udp"), ("mono8", "udp")])
def test_users_and_log_read_whole_over_each_transport(make_terminal, profile, transport):
    sim = make_terminal(profile, users=400, records=2500)
    with ZkClient("127.0.0.1", sim.server.port, transport=transport, timeout=3) as c:
        users, _size = c.read_users()
        log = c.read_attendance(c.sizes().records)
    assert [u.user_id for u in users] == [u.user_id for u in sim.terminal.users()]
    assert len(log.records) == 2500 and log.impossible_dates == 0
    assert [r.index for r in log.records] == list(range(2500))
