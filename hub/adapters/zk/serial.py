"""The ZK protocol over RS-232/485 (pyserial): pyzk's TCP path on a socket-like line.

Packets on the line are framed exactly as over TCP (50 50 82 7d + u32 length, then the ZK
packet), so pyzk's TCP code works unchanged once its socket is a `SerialLine`. A serial
port delivers bytes, not packets: `recv` reassembles one framed packet before handing
bytes out, which is what pyzk's single-recv replies expect from a TCP segment.
"""

from __future__ import annotations

import struct
import threading
from typing import Any

import serial

from hub.adapters.zk.client import HubZK, ZkClient, ZkClientError
from hub.protocols.zk import TCP_MAGIC


class SerialLine:
    """The subset of the socket API the ZK client uses (send, recv, settimeout, gettimeout, close)."""

    def __init__(self, path: str, baud: int = 115200, timeout: float = 10.0) -> None:
        try:
            self.port = serial.Serial(path, baudrate=baud, timeout=timeout, write_timeout=timeout)
        except (serial.SerialException, OSError, ValueError) as exc:
            raise ZkClientError(f"{path}: port serial tidak dapat dibuka / cannot open the serial "
                                f"port ({exc})") from exc
        self.timeout = timeout
        self._pending = b""
        self._lock = threading.Lock()

    def settimeout(self, timeout: float | None) -> None:
        self.timeout = timeout if timeout is not None else 3600.0
        self.port.timeout = self.timeout

    def gettimeout(self) -> float | None:
        return self.timeout

    def send(self, data: bytes) -> int:
        self.port.write(data)
        self.port.flush()
        return len(data)

    sendall = send

    def _read_exact(self, n: int) -> bytes:
        data = self.port.read(n)
        if len(data) < n:
            raise TimeoutError(f"serial line: {len(data)} of {n} bytes before the timeout")
        return data

    def _next_packet(self) -> bytes:
        head = self._read_exact(8)
        # Resynchronise on the magic if line noise slipped in.
        while head[:4] != TCP_MAGIC:
            head = head[1:] + self._read_exact(1)
        (length,) = struct.unpack_from("<I", head, 4)
        if length > 0x10010:
            raise OSError(f"serial line: packet length {length} is not plausible")
        return head + self._read_exact(length)

    def recv(self, n: int) -> bytes:
        with self._lock:
            if not self._pending:
                self._pending = self._next_packet()
            out, self._pending = self._pending[:n], self._pending[n:]
            return out

    def close(self) -> None:
        self.port.close()


class _NoProbe:
    """pyzk probes TCP before connecting; on a serial line there is nothing to probe."""

    def test_tcp(self) -> int:
        return 1

    def test_ping(self) -> bool:
        return True


class SerialZK(HubZK):
    def __init__(self, path: str, baud: int, timeout: float, password: int) -> None:
        super().__init__("127.0.0.1", port=0, timeout=timeout, password=password,
                         ommit_ping=True)
        self.helper = _NoProbe()
        self._line_args = (path, baud, timeout)
        self.user_packet_size = 72

    def _ZK__create_socket(self) -> None:  # pyzk 0.9's private socket factory
        old = getattr(self, "_ZK__sock", None)
        if isinstance(old, SerialLine):
            old.close()
        self._ZK__sock = SerialLine(*self._line_args)


class SerialZkClient(ZkClient):
    def __init__(self, path: str, baud: int = 115200, comm_key: int = 0,
                 timeout: float = 10.0, encoding: str = "utf-8") -> None:
        def factory(_udp: bool) -> Any:
            return SerialZK(path, baud, timeout, comm_key)

        super().__init__(path, 0, transport="tcp", comm_key=comm_key, timeout=timeout,
                         encoding=encoding, zk_factory=factory)

    def connect(self) -> SerialZkClient:
        super().connect()
        self.transport = "serial"
        return self
