"""A ZK terminal on a serial line (RS-232/485): the same packets, framed as over TCP.

`serve_serial(terminal, tty)` serves one terminal on a tty path (a pty slave, or a real
port) or an already-open fd; `start_serial_in_thread(terminal)` makes a pty pair, serves the
master side and returns the slave path for the client (pyserial opens it like a COM port).
The line speed is simulated: packets leave at `baud / 10` bytes/s unless a bandwidth fault
sets another rate.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
import tty

from hub.protocols import zk
from hub.simulator.zk.faults import Faults
from hub.simulator.zk.server import Client, Link, Session, TerminalServer, log
from hub.simulator.zk.terminal import Terminal


class SerialLink(Link):
    def __init__(self, server: TerminalServer, fd: int, baud: int) -> None:
        super().__init__(server)
        self.fd = fd
        self.baud = baud
        self._last = 0

    def frame(self, pkt: bytes) -> bytes:
        return zk.tcp_wrap(pkt)

    def write(self, wire: bytes) -> None:
        self._last = len(wire)
        view = memoryview(wire)
        while view:
            try:
                n = os.write(self.fd, view)
            except BlockingIOError:
                continue  # pty buffer full: the reader is draining it
            view = view[n:]

    async def flush(self) -> None:
        # the line speed: 10 bits a byte (start, 8 data, stop)
        if not self.server.faults.bandwidth_bps and self.baud:
            await asyncio.sleep(self._last * 10 / self.baud)

    def kill(self) -> None:
        # a serial line cannot be "closed" by the unit: the session ends, the line stays
        self.dead = True


async def serve_serial(terminal: Terminal, tty_path: str | int, faults: Faults | None = None, baud: int = 115200,
                       stop: asyncio.Event | None = None, ready: threading.Event | None = None) -> None:
    """Serve `terminal` on a tty until `stop` is set (or the task is cancelled)."""
    fd = tty_path if isinstance(tty_path, int) else os.open(tty_path, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
    with contextlib.suppress(OSError):
        tty.setraw(fd)
    os.set_blocking(fd, False)
    server = TerminalServer(terminal, transports=(), faults=faults)
    await server.start()
    loop = asyncio.get_running_loop()
    stop = stop or asyncio.Event()
    state: dict = {}

    def new_client() -> Client:
        c = Client(Session(server, "tcp"), SerialLink(server, fd, baud))
        server.clients.add(c)
        c.start_events()
        state["client"], state["reasm"] = c, zk.TcpReassembler()
        return c

    new_client()
    inbox: asyncio.Queue[zk.Packet] = asyncio.Queue()

    def on_readable() -> None:
        try:
            chunk = os.read(fd, 65536)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:  # the other side of a pty went away: EIO on every read from now on
            chunk = b""
        if not chunk:
            # nobody holds the line: look again in a moment rather than spin on a readable fd
            loop.remove_reader(fd)
            if not stop.is_set():
                loop.call_later(0.25, lambda: stop.is_set() or loop.add_reader(fd, on_readable))
            return
        for item in state["reasm"].feed(chunk):
            if isinstance(item, zk.StreamError):
                log.info("%s: serial input ignored: %s", terminal.serial, item)
            else:
                inbox.put_nowait(item)

    async def worker() -> None:
        while True:
            pkt = await inbox.get()
            client = state["client"]
            if client.link.dead or client.session.closing:
                client.stop()
                server.clients.discard(client)
                client = new_client()
            if server.faults.refuse:
                continue
            await server._answer(client, pkt)

    loop.add_reader(fd, on_readable)
    task = loop.create_task(worker())
    if ready is not None:
        ready.set()
    try:
        await stop.wait()
    finally:
        loop.remove_reader(fd)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await server.stop()
        if not isinstance(tty_path, int):
            os.close(fd)


class SerialTerminal:
    """A terminal behind a pty, served from a background thread: `.tty_path`, `.stop()`."""

    def __init__(self, terminal: Terminal, faults: Faults | None = None, baud: int = 115200) -> None:
        self.terminal = terminal
        self.faults = faults or Faults()
        self.master, slave = os.openpty()
        tty.setraw(slave)
        self.tty_path = os.ttyname(slave)
        self._slave = slave  # kept open so the line never reports a hang-up between clients
        self.loop = asyncio.new_event_loop()
        self._stop: asyncio.Event | None = None
        ready = threading.Event()

        def runner() -> None:
            asyncio.set_event_loop(self.loop)
            self._stop = asyncio.Event()
            try:
                self.loop.run_until_complete(serve_serial(terminal, self.master, self.faults, baud, self._stop, ready))
            finally:
                self.loop.close()

        self.thread = threading.Thread(target=runner, name=f"zk-serial-{terminal.serial}", daemon=True)
        self.thread.start()
        if not ready.wait(10):
            raise RuntimeError("serial terminal did not start")

    def stop(self) -> None:
        if self.thread.is_alive() and self._stop is not None:
            self.loop.call_soon_threadsafe(self._stop.set)
            self.thread.join(5)
        for fd in (self.master, self._slave):
            with contextlib.suppress(OSError):
                os.close(fd)

    def __enter__(self) -> SerialTerminal:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def start_serial_in_thread(terminal: Terminal, faults: Faults | None = None, baud: int = 115200) -> SerialTerminal:
    return SerialTerminal(terminal, faults, baud)
