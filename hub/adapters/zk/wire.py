"""Whole ZK packets off a terminal's socket, however the bytes arrive.

pyzk 0.9 reads each reply with one `recv(size + 8)` and a data stream with fixed-size
reads that assume how TCP segments fall; against firmware framing (PREPARE_DATA, DATA
packets of 1008 bytes, ACK_OK: zk-protocol.md §3.9) sent back to back it waits in `recv`
for bytes that are already in its buffer, and times out. Here every read goes through
hub.protocols.zk.TcpReassembler (TCP, serial) or takes one datagram (UDP), so several
packets in one segment, one packet over several segments, or a slow trickle all give the
same packets, and a data answer ends exactly at its closing ACK_OK.

Realtime event packets (command 500) met while waiting for a reply are ACKed at once and
queued for whoever listens: one session carries pulls and live events together.
"""

from __future__ import annotations

import socket
import struct
from collections import deque
from collections.abc import Callable

from hub.protocols import zk as codec


class ZkWireError(OSError):
    """The connection failed or the stream cannot be trusted any more: drop the session."""


class ZkWire:
    def __init__(self, sock: socket.socket, tcp: bool, address: tuple[str, int] | None = None,
                 ack_event: Callable[[], None] | None = None) -> None:
        self.sock, self.tcp, self.address = sock, tcp, address
        self.reasm = codec.TcpReassembler() if tcp else None
        self.pending: deque[codec.Packet] = deque()
        self.events: deque[codec.Packet] = deque()
        self.ack_event = ack_event

    # --- out ----------------------------------------------------------------------------
    def send(self, packet: bytes) -> None:
        try:
            if self.tcp:
                data = codec.tcp_wrap(packet)
                while data:
                    n = self.sock.send(data)
                    data = data[n:]
            else:
                self.sock.sendto(packet, self.address)
        except OSError as exc:
            raise ZkWireError(f"send failed: {exc}") from exc

    # --- in -----------------------------------------------------------------------------
    def packet(self, timeout: float | None = None) -> codec.Packet:
        """The next packet that is not a realtime event (events are ACKed and queued)."""
        while True:
            pkt = self.next_any(timeout)
            if pkt.command == codec.CMD_REG_EVENT:
                self.events.append(pkt)
                if self.ack_event is not None:
                    self.ack_event()
                continue
            return pkt

    def next_any(self, timeout: float | None = None) -> codec.Packet:
        """The next packet of any kind; TimeoutError when none comes in time."""
        if self.pending:
            return self.pending.popleft()
        old = self.sock.gettimeout() if timeout is not None and hasattr(self.sock, "gettimeout") else None
        if timeout is not None:
            self.sock.settimeout(timeout)
        try:
            while not self.pending:
                try:
                    data = self.sock.recv(65536)
                except TimeoutError:
                    raise
                except OSError as exc:
                    raise ZkWireError(f"receive failed: {exc}") from exc
                if not data:
                    raise ZkWireError("the terminal closed the connection")
                self._take(data)
        finally:
            if timeout is not None:
                self.sock.settimeout(old)
        return self.pending.popleft()

    def _take(self, data: bytes) -> None:
        if self.reasm is None:
            try:
                self.pending.append(codec.unpack_packet(data))
            except codec.ZkProtocolError as exc:
                raise ZkWireError(f"bad datagram: {exc}") from exc
            return
        for item in self.reasm.feed(data):
            if isinstance(item, codec.StreamError):
                raise ZkWireError(f"TCP stream out of step: {item}")
            self.pending.append(item)

    # --- data streams -------------------------------------------------------------------
    def stream_data(self, first: codec.Packet) -> bytes:
        """The data of an answer that `first` opened: a direct DATA, or PREPARE_DATA
        (announced size), DATA packets up to that size, then the closing ACK_OK."""
        return assemble(first, self.packet)


def assemble(first: codec.Packet, next_packet: Callable[[], codec.Packet]) -> bytes:
    """The data of one data answer (zk-protocol.md §3.9, §3.11), reading exactly up to and
    including its closing ACK_OK; anything else is a ZkWireError."""
    if first.command == codec.CMD_DATA:
        return first.data
    if first.command != codec.CMD_PREPARE_DATA or len(first.data) < 4:
        raise ZkWireError(f"data answer opens with command {first.command}, not PREPARE_DATA or DATA")
    (size,) = struct.unpack_from("<I", first.data)
    parts: list[bytes] = []
    got = 0
    while got < size:
        pkt = next_packet()
        if pkt.command != codec.CMD_DATA:
            raise ZkWireError(f"command {pkt.command} inside a data stream after {got} of {size} bytes")
        parts.append(pkt.data)
        got += len(pkt.data)
    if got != size:
        raise ZkWireError(f"data stream of {got} bytes where {size} were announced")
    end = next_packet()
    if end.command != codec.CMD_ACK_OK:
        raise ZkWireError(f"data stream closed by command {end.command}, not ACK_OK")
    return b"".join(parts)
