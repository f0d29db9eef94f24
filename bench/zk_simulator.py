"""ZK terminal simulator benchmark: download a 100,000-record log (40-byte records, 4 MB).

Prints, measured in the same run:
* pyzk 0.9 get_attendance over TCP and over UDP against the simulator (what a hub sees);
* a raw protocol client (hub.protocols.zk, 1503/1504 chunks of 65472 bytes, 1502) over TCP:
  the simulator's own cost without pyzk's parsing (pyzk 0.9 slices its buffer 40 bytes at a
  time, which is quadratic in the log size and dominates its figure);
* the ceiling: the same 4 MB sent over a bare loopback TCP socket with no protocol at all;
* encoding the log buffer once per read versus once per 1504 chunk (the naive baseline).
Usage: python bench/zk_simulator.py [--records N]
"""

from __future__ import annotations

import argparse
import socket
import sys
import tempfile
import threading
import time
from datetime import datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from zk import ZK  # noqa: E402

from hub.protocols import zk  # noqa: E402
from hub.simulator.zk import Terminal, start_in_thread  # noqa: E402

CHUNK = 0xFFC0


def timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def raw_download(port: int) -> bytes:
    s = socket.create_connection(("127.0.0.1", port), timeout=30)
    reasm = zk.TcpReassembler()
    pending: list[zk.Packet] = []

    def call(cmd: int, data: bytes = b"", session: int = 0, reply: int = 0) -> zk.Packet:
        s.sendall(zk.tcp_packet(cmd, session, reply, data))
        return nxt()

    def nxt() -> zk.Packet:
        while not pending:
            pending.extend(p for p in reasm.feed(s.recv(1 << 20)) if isinstance(p, zk.Packet))
        return pending.pop(0)

    sid = call(zk.CMD_CONNECT).session
    ack = call(zk.CMD_PREPARE_BUFFER, zk.encode_rwb_args(zk.CMD_ATTLOG_RRQ), sid, 1)
    size = zk.parse_rwb_ack(ack.data)
    got = bytearray()
    for start in range(0, size, CHUNK):
        call(zk.CMD_READ_BUFFER, zk.encode_read_chunk(start, min(CHUNK, size - start)), sid, 2)
        while True:
            p = nxt()
            if p.command == zk.CMD_ACK_OK:
                break
            got += p.data
    call(zk.CMD_FREE_DATA, b"", sid, 3)
    s.close()
    return bytes(got)


def bare_socket(payload: bytes) -> int:
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)

    def serve() -> None:
        c, _ = srv.accept()
        c.sendall(payload)
        c.close()

    th = threading.Thread(target=serve)
    th.start()
    s = socket.create_connection(srv.getsockname())
    n = 0
    while chunk := s.recv(1 << 20):
        n += len(chunk)
    s.close()
    th.join()
    srv.close()
    return n


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--records", type=int, default=100_000)
    n = ap.parse_args().records
    with tempfile.TemporaryDirectory() as d:
        t = Terminal.create(Path(d) / "bench.db", "tft")
        t.set_users(zk.User(i, str(i), f"P{i}") for i in range(1, 201))
        base = datetime(2026, 1, 1, 7)
        fill_s, _ = timed(lambda: t.bulk_punch(
            [(str(i % 200 + 1), base + timedelta(seconds=37 * i), i % 4, 1) for i in range(n)]))
        print(f"fill {n} records into the terminal state: {fill_s:.2f} s")

        # encoding: once per read (what the server does) vs once per 1504 chunk (naive)
        t._cache.clear()
        once_s, buf = timed(lambda: t.buffer("attlog"))
        chunks = -(-len(buf) // CHUNK)

        def per_chunk() -> None:
            for _ in range(chunks):
                b"".join(zk.encode_att(r, 40) for r in t.attendance())

        naive_s, _ = timed(per_chunk)
        print(f"encode log buffer once: {once_s:.3f} s; naive once per chunk ({chunks} chunks): {naive_s:.3f} s")

        h = start_in_thread(t)
        try:
            results = {}
            for transport in ("tcp", "udp"):
                def pull(transport=transport) -> int:
                    c = ZK("127.0.0.1", port=h.port, timeout=60, force_udp=transport == "udp", ommit_ping=True)
                    conn = c.connect()
                    out = len(conn.get_attendance())
                    conn.disconnect()
                    return out
                secs, count = timed(pull)
                assert count == n, (transport, count)
                results[transport] = secs
                print(f"pyzk get_attendance over {transport.upper()}: {secs:.2f} s ({n / secs:,.0f} records/s)")
            raw_s, got = timed(lambda: raw_download(h.port))
            assert got == buf and len(zk.decode_records(zk.split_size_prefixed(got), 40, zk.decode_att)) == n
            print(f"raw protocol client over TCP: {raw_s:.3f} s ({len(buf) / raw_s / 1e6:.1f} MB/s)")
        finally:
            h.stop()
            t.close()
        bare_s, nbytes = timed(lambda: bare_socket(buf))
        assert nbytes == len(buf)
        print(f"ceiling: bare loopback socket, same {len(buf)} bytes: {bare_s:.3f} s")
    print(f"records: {n}")
    print(f"pyzk_tcp_download_s: {results['tcp']:.2f}")
    print(f"pyzk_udp_download_s: {results['udp']:.2f}")
    print(f"raw_tcp_download_s: {raw_s:.3f}")
    print(f"bare_socket_ceiling_s: {bare_s:.3f}")
    print(f"raw_ratio_to_ceiling: {raw_s / bare_s:.1f}")
    print(f"encode_once_s: {once_s:.3f}")
    print(f"encode_per_chunk_baseline_s: {naive_s:.3f}")


if __name__ == "__main__":
    main()
