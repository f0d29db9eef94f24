"""ZK terminal server: the device side of the binary protocol over TCP and UDP (asyncio).

One `TerminalServer` serves one Terminal on one port (TCP and/or UDP, same number).
`Session.handle` is the protocol logic (packet in, packets out); the TCP and UDP classes
only frame (framing.py: captured firmware framing by default), pace (faults) and send.

Sessions as on hardware: one at a time (`session_policy`): a CONNECT while another session
is open ends the older one, its socket reset, which is how a unit in use by other software
looks from the client it drops (a "connection forcibly closed by the remote host", pyzk
#57); "refuse" resets the newcomer instead, "many" serves any number (old behaviour). A
session that sends nothing for `idle_timeout_s` (and listens for no events) is closed.
RESTART is not acknowledged: the unit drops every session and answers nothing for
`reboot_s` (zkproto other.md: "the device does not ack, you must reconnect").
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import socket
import struct
import threading
from collections.abc import Iterable
from dataclasses import dataclass

from hub.protocols import zk
from hub.protocols import zk_access as za
from hub.simulator.zk.commands import handler_for
from hub.simulator.zk.faults import Faults
from hub.simulator.zk.framing import Framing
from hub.simulator.zk.terminal import Terminal, TerminalError

log = logging.getLogger("hub.simulator.zk")

DIRECT_LIMIT = 1016  # a 1503 buffer this small is answered with one CMD_DATA (fits a 1024-byte UDP read)
MAX_UPLOAD = 16 * 1024 * 1024
EVENT_ACK_TIMEOUT = 5.0
SESSION_POLICIES = ("displace", "refuse", "many")
PLAIN_OK = {zk.CMD_REFRESHDATA, zk.CMD_REFRESHOPTION, zk.CMD_CANCELCAPTURE, zk.CMD_STARTVERIFY, zk.CMD_UNLOCK,
            zk.CMD_TESTVOICE, zk.CMD_WRITE_LCD, zk.CMD_CLEAR_LCD, zk.CMD_DOORSTATE_RRQ, zk.CMD_ENABLE_CLOCK,
            zk.CMD_SLEEP, zk.CMD_RESUME, zk.CMD_CHANGE_SPEED}


@dataclass
class Out:
    """One packet to send (ZK header + data, no TCP wrapper)."""

    packet: bytes


class Session:
    """Protocol state of one client: one TCP connection, or one UDP peer address."""

    def __init__(self, server: TerminalServer, transport: str) -> None:
        self.server = server
        self.terminal = server.terminal
        self.transport = transport
        self.session_id = 0
        self.connected = False
        self.authed = False
        self.buffer: bytes | None = None
        self.upload: bytearray | None = None
        self.upload_size = 0
        self.reg_mask = 0
        self.closing = False
        self.ack_event = asyncio.Event()
        self.enroll: tuple[zk.User, int] | None = None

    # --- helpers ----------------------------------------------------------------------
    def _reply(self, code: int, reply: int, data: bytes = b"", session: int | None = None) -> list[bytes]:
        sid = self.session_id if session is None else session
        return [zk.pack_packet(code, sid, reply, data)]

    def _stream(self, payload: bytes, reply: int) -> list[bytes]:
        """PREPARE_DATA, DATA..., ACK_OK as real units send a data chunk (§3.9)."""
        p = self.terminal.profile
        step = (self.server.framing.packet or max(len(payload), 1)) if self.transport == "tcp" else p.udp_packet
        out = [zk.pack_packet(zk.CMD_PREPARE_DATA, self.session_id, reply, zk.prepare_data(len(payload), step))]
        seq = 0
        for seq, i in enumerate(range(0, len(payload), step)):
            sid = seq if self.transport == "tcp" else self.session_id  # TCP: packet counter in the session field
            out.append(zk.pack_packet(zk.CMD_DATA, sid, reply, payload[i:i + step]))
        out.append(zk.pack_packet(zk.CMD_ACK_OK, seq if self.transport == "tcp" else self.session_id, reply))
        return out

    # --- the protocol -----------------------------------------------------------------
    def handle(self, pkt: zk.Packet) -> list[bytes]:
        if not pkt.checksum_ok:
            log.info("%s: checksum mismatch on command %d (%#06x != computed); answering anyway",
                     self.terminal.serial, pkt.command, pkt.checksum)
        cmd, r, data = pkt.command, pkt.reply, pkt.data
        t = self.terminal
        if cmd == zk.CMD_ACK_OK:  # a client's ACK of an event: never answered (§1.7)
            self.ack_event.set()
            return []
        if cmd == zk.CMD_CONNECT:
            if not self.server.admit(self):
                self.closing = True
                return []
            self.session_id = self.server.new_session_id()
            self.connected = True
            self.authed = t.comm_key == 0
            return self._reply(zk.CMD_ACK_OK if self.authed else zk.CMD_ACK_UNAUTH, r)
        if cmd == zk.CMD_AUTH:
            if self.connected and zk.check_commkey(data, t.comm_key, self.session_id):
                self.authed = True
                return self._reply(zk.CMD_ACK_OK, r)
            self.authed = False
            return self._reply(zk.CMD_ACK_UNAUTH, r)
        if cmd == zk.CMD_EXIT:
            self.closing = True
            return self._reply(zk.CMD_ACK_OK, r)
        if not self.authed:
            return self._reply(zk.CMD_ACK_UNAUTH, r)
        try:
            return self._dispatch(cmd, r, data)
        except (zk.ZkProtocolError, TerminalError) as exc:
            log.info("%s: command %s refused: %s", t.serial, zk.COMMAND_NAMES.get(cmd, cmd), exc)
            return self._reply(zk.CMD_ACK_ERROR, r)

    def _dispatch(self, cmd: int, r: int, data: bytes) -> list[bytes]:  # noqa: C901 - one branch per command
        t = self.terminal
        p = t.profile
        ok = self._reply(zk.CMD_ACK_OK, r)
        if cmd in PLAIN_OK:
            return ok
        if cmd == zk.CMD_ENABLEDEVICE:
            t.enabled = True
            return ok
        if cmd == zk.CMD_DISABLEDEVICE:
            t.enabled = False
            return ok
        if cmd == zk.CMD_STATE_RRQ:
            return self._reply(zk.CMD_ACK_OK, r, session=0)  # state 0 = waiting, carried in the session field
        if cmd == zk.CMD_GET_FREE_SIZES:
            return self._reply(zk.CMD_ACK_OK, r, zk.encode_free_sizes(t.sizes()))
        if cmd == zk.CMD_OPTIONS_RRQ:
            name = zk.parse_option_name(data)
            value = t.option(name)
            if value is None:
                return self._reply(zk.CMD_ACK_ERROR, r)
            return self._reply(zk.CMD_ACK_OK, r, zk.option_reply(name, value))
        if cmd == zk.CMD_OPTIONS_WRQ:
            t.set_option(*zk.parse_option_write(data))
            return ok
        if cmd == zk.CMD_GET_VERSION:
            return self._reply(zk.CMD_ACK_OK, r, p.firmware.encode() + b"\x00")
        if cmd == zk.CMD_GET_PINWIDTH:
            return self._reply(zk.CMD_ACK_OK, r, bytes([p.pin_width]))
        if cmd == zk.CMD_GET_TIME:
            return self._reply(zk.CMD_ACK_OK, r, struct.pack("<I", zk.encode_time(t.now())))
        if cmd == zk.CMD_SET_TIME:
            t.set_time(zk.decode_time(zk.parse_u32(data, "SET_TIME argument")))
            return ok
        if cmd == zk.CMD_USER_WRQ:
            size = 72 if len(data) >= 72 else 28
            if len(data) < 28:
                raise zk.ZkArgumentError(f"USER_WRQ carries {len(data)} bytes, a user record needs 28 or 72", 0)
            user = zk.decode_user(data[:size], size)
            old = t.get_user(user.uid)
            if size == 28 and old is not None and p.user_size == 72:
                user.tz = old.tz  # a 28-byte write keeps what only the 72-byte record holds
            t.set_user(user)
            return ok
        if cmd == zk.CMD_DELETE_USER:
            uid, _ = zk.parse_uid_fid(data)
            return ok if t.delete_user(uid) else self._reply(zk.CMD_ACK_ERROR, r)
        if cmd == zk.CMD_DELETE_USERTEMP:
            uid, fid = zk.parse_uid_fid(data)
            return ok if t.delete_template(uid, fid) else self._reply(zk.CMD_ACK_ERROR, r)
        if cmd == zk.CMD_DEL_USER_TEMP:
            if len(data) < 25:
                raise zk.ZkArgumentError(f"DEL_USER_TEMP needs 25 bytes (user id, finger), got {len(data)}", 0)
            user = t.user_by_id(data[:24].split(b"\x00", 1)[0].decode(errors="replace"))
            return ok if user and t.delete_template(user.uid, data[24]) else self._reply(zk.CMD_ACK_ERROR, r)
        if cmd == zk.CMD_CLEAR_ATTLOG:
            t.clear_attendance()
            return ok
        if cmd == zk.CMD_CLEAR_DATA:
            t.clear_data(data[0] if data else None)
            return ok
        if cmd == zk.CMD_CLEAR_ADMIN:
            for u in t.users():
                if u.privilege & 0x0E:
                    u.privilege &= 0x01
                    t.set_user(u)
            t.log_op(za.OP_CLEAR_ADMIN)
            return ok
        if cmd == zk.CMD_REG_EVENT:
            self.reg_mask = zk.parse_u32(data, "REG_EVENT mask") if data else 0
            return ok
        if cmd == zk.CMD_PREPARE_BUFFER:
            return self._prepare_buffer(r, data)
        if cmd == zk.CMD_READ_BUFFER:
            start, length = zk.parse_read_chunk(data)
            if self.buffer is None:
                return self._reply(zk.CMD_ACK_ERROR, r)
            if start > len(self.buffer):
                raise zk.ZkArgumentError(f"1504 start {start} beyond the {len(self.buffer)}-byte buffer", 0)
            return self._stream(self.buffer[start:start + length], r)
        if cmd == zk.CMD_FREE_DATA:
            self.buffer = None
            self.upload = None
            return ok
        if cmd == zk.CMD_GET_USERTEMP:
            uid, fid = zk.parse_uid_fid(data)
            tmpl = t.get_template(uid, fid)
            if tmpl is None:
                return self._reply(zk.CMD_ACK_ERROR, r)
            payload = tmpl.template + b"\x01"  # real units append one byte that pyzk drops (§3.11)
            if self.transport == "udp" and len(payload) <= p.udp_packet:
                return self._reply(zk.CMD_DATA, r, payload)
            return self._stream(payload, r)
        if cmd == zk.CMD_PREPARE_DATA:  # client upload start
            size = zk.parse_prepare_data(data)
            if size > MAX_UPLOAD:
                raise zk.ZkArgumentError(f"upload of {size} bytes exceeds {MAX_UPLOAD}", 0)
            self.upload, self.upload_size = bytearray(), size
            return ok
        if cmd == zk.CMD_DATA:
            if self.upload is None:
                raise zk.ZkArgumentError("CMD_DATA without a PREPARE_DATA first")
            if len(self.upload) + len(data) > self.upload_size:
                self.upload = None
                raise zk.ZkArgumentError(f"upload exceeds the {self.upload_size} bytes announced")
            self.upload += data
            return ok
        if cmd == zk.CMD_SAVE_USERTEMPS:
            if self.upload is None or len(self.upload) != self.upload_size:
                raise zk.ZkArgumentError("SAVE_USERTEMPS without a complete upload buffer")
            up = zk.decode_upload(bytes(self.upload), p.user_size)
            self.upload = None
            t.set_users(up.users)
            for tmpl in up.templates:
                t.set_template(tmpl)
            return ok
        if cmd == zk.CMD_STARTENROLL:
            # TCP: 24-byte user id string, fid, flag; UDP: u32 user id, fid (pyzk enroll_user)
            if len(data) >= 25:
                user_id, fid = data[:24].split(b"\x00", 1)[0].decode(errors="replace"), data[24]
            elif len(data) >= 5:
                user_id, fid = str(struct.unpack_from("<I", data)[0]), data[4]
            else:
                raise zk.ZkArgumentError(f"STARTENROLL needs 5 or 25 bytes, got {len(data)}", 0)
            user = t.user_by_id(user_id)
            if user is None or not 0 <= fid <= 9:
                raise zk.ZkArgumentError(f"STARTENROLL for unknown user {user_id!r} or finger {fid}")
            self.enroll = (user, fid)
            return ok
        if cmd == zk.CMD_RESTART:  # no answer: the unit reboots (zkproto other.md)
            self.server.schedule_restart(ack=False)
            return []
        if cmd == zk.CMD_POWEROFF:
            self.server.schedule_restart()
            return ok
        handler = handler_for(p, cmd)
        if handler is not None:
            return handler(self, r, data)
        # unknown commands (incl. the 2001/0xFFFF of pyzk's _clear_error): ACK_UNKNOWN carrying the
        # reply number the device last accepted, as the AK3750 capture shows (§8)
        return self._reply(zk.CMD_ACK_UNKNOWN, (r - 1) & 0xFFFF)

    def _prepare_buffer(self, r: int, data: bytes) -> list[bytes]:
        command, fct, _ext = zk.parse_rwb_args(data)
        kind = {zk.CMD_USERTEMP_RRQ: "users", zk.CMD_ATTLOG_RRQ: "attlog", zk.CMD_DB_RRQ: "templates",
                zk.CMD_OPLOG_RRQ: "oplog"}.get(command)
        if kind is None:
            raise zk.ZkArgumentError(f"1503 for data command {command} (fct {fct}) is not supported")
        buf = self.terminal.buffer(kind)
        if len(buf) <= DIRECT_LIMIT:
            self.buffer = None
            return self._reply(zk.CMD_DATA, r, buf)
        self.buffer = buf
        return self._reply(zk.CMD_ACK_OK, r, zk.rwb_ack(len(buf), zk.checksum(buf[:4096])))

    def event_packet(self, rec: zk.AttRecord) -> bytes:
        size = self.terminal.profile.rt_event_size
        payload = zk.encode_att_event(rec.user_id, rec.verify, rec.state, rec.timestamp, size)
        return zk.pack_packet(zk.CMD_REG_EVENT, zk.EF_ATTLOG, 0, payload)


class Link:
    """Sends packets for one client with the terminal's faults applied."""

    def __init__(self, server: TerminalServer) -> None:
        self.server = server
        self.sent = 0
        self.dead = False
        self.lock = asyncio.Lock()

    async def send(self, packets: Iterable[bytes]) -> None:
        async with self.lock:
            if self.server.faults.latency_s:  # once per answer: its packets then stream
                await asyncio.sleep(self.server.faults.latency_s)
            for wire in self.writes(packets):
                if self.dead:
                    return
                f = self.server.faults
                if f.corrupt_next:
                    f.corrupt_next = False
                    wire = self.corrupt(wire)
                if f.drop_after_bytes is not None and self.sent + len(wire) > f.drop_after_bytes:
                    cut = max(0, f.drop_after_bytes - self.sent)
                    if cut:
                        self.write(wire[:cut])
                    self.sent += cut
                    log.info("%s: fault: dropping the connection after %d bytes", self.server.terminal.serial,
                             self.sent)
                    self.kill()
                    return
                self.write(wire)
                self.sent += len(wire)
                await self.flush()
                if f.bandwidth_bps:
                    await asyncio.sleep(len(wire) / f.bandwidth_bps)
                await self.pause()

    def writes(self, packets: Iterable[bytes]) -> list[bytes]:
        """What goes out, write by write (UDP: one datagram per packet)."""
        return [self.frame(p) for p in packets]

    async def pause(self) -> None:
        return None

    def frame(self, pkt: bytes) -> bytes:
        return pkt

    @staticmethod
    def corrupt(wire: bytes) -> bytes:
        b = bytearray(wire)
        for i in range(min(len(b), 16)):
            b[i] ^= 0xA5
        return bytes(b)

    def write(self, wire: bytes) -> None:
        raise NotImplementedError

    async def flush(self) -> None:
        return None

    def kill(self) -> None:
        self.dead = True


class TcpLink(Link):
    def __init__(self, server: TerminalServer, writer: asyncio.StreamWriter) -> None:
        super().__init__(server)
        self.writer = writer

    def frame(self, pkt: bytes) -> bytes:
        return zk.tcp_wrap(pkt)

    def writes(self, packets: Iterable[bytes]) -> list[bytes]:
        return self.server.framing.groups([self.frame(p) for p in packets])

    async def pause(self) -> None:
        fr = self.server.framing
        if fr.pace_s or fr.split:  # a moment between writes, so they travel as separate segments
            await asyncio.sleep(fr.pace_s or 0.001)

    def write(self, wire: bytes) -> None:
        self.writer.write(wire)

    async def flush(self) -> None:
        with contextlib.suppress(ConnectionError):
            await self.writer.drain()

    def kill(self) -> None:
        super().kill()
        # reset, not FIN: a dropped link looks like a network failure, and pyzk 0.9 spins
        # forever on recv() returning b"" in the middle of a data stream
        sock = self.writer.get_extra_info("socket")
        with contextlib.suppress(OSError, AttributeError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.writer.transport.abort()


class UdpLink(Link):
    def __init__(self, server: TerminalServer, transport: asyncio.DatagramTransport, addr) -> None:
        super().__init__(server)
        self.transport = transport
        self.addr = addr

    def write(self, wire: bytes) -> None:
        self.transport.sendto(wire, self.addr)

    def kill(self) -> None:
        super().kill()
        self.server.udp_peers.pop(self.addr, None)


class Client:
    """A session plus its link and its realtime-event queue."""

    def __init__(self, session: Session, link: Link) -> None:
        self.session = session
        self.link = link
        self.events: asyncio.Queue[zk.AttRecord] = asyncio.Queue()
        self.event_task: asyncio.Task | None = None

    async def run_events(self) -> None:
        while not self.link.dead:
            rec = await self.events.get()
            if not self.session.reg_mask & zk.EF_ATTLOG:
                continue
            self.session.ack_event.clear()
            try:
                packet = self.session.event_packet(rec)
            except zk.ZkProtocolError as exc:  # e.g. a planted impossible date: no event, the log keeps it
                log.info("%s: no realtime event for %s: %s", self.session.terminal.serial, rec.user_id, exc)
                continue
            await self.link.send([packet])
            # one event at a time: wait for the client's ACK before the next (§1.6, §3.12)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.session.ack_event.wait(), EVENT_ACK_TIMEOUT)

    def start_events(self) -> None:
        self.event_task = self.link.server._spawn(self.run_events())

    def stop(self) -> None:
        if self.event_task:
            self.event_task.cancel()


class _UdpProtocol(asyncio.DatagramProtocol):
    def __init__(self, server: TerminalServer) -> None:
        self.server = server

    def connection_made(self, transport) -> None:
        self.server.udp_transport = transport

    def datagram_received(self, data: bytes, addr) -> None:
        self.server.on_datagram(data, addr)


class TerminalServer:
    def __init__(self, terminal: Terminal, host: str = "127.0.0.1", port: int = 4370,
                 transports: Iterable[str] | None = None, faults: Faults | None = None,
                 framing: Framing | None = None, session_policy: str = "displace",
                 idle_timeout_s: float = 300.0, reboot_s: float = 3.0) -> None:
        if session_policy not in SESSION_POLICIES:
            raise ValueError(f"session policy {session_policy!r}: choose {', '.join(SESSION_POLICIES)}")
        self.framing = framing or Framing()
        self.session_policy = session_policy
        self.idle_timeout_s = idle_timeout_s
        self.reboot_s = reboot_s
        self.rebooting_until = 0.0
        self.displaced = 0  # sessions ended by a newer CONNECT (for tests)
        self.connects = 0  # CONNECT commands received (sessions asked for)
        self.terminal = terminal
        self.host = host
        self.port = port
        self.transports = tuple(terminal.profile.transports if transports is None else transports)
        for tr_ in self.transports:
            if tr_ not in terminal.profile.transports:
                raise ValueError(f"profile {terminal.profile.name} does not speak {tr_}")
        self.faults = faults or Faults()
        self.clients: set[Client] = set()
        self.udp_peers: dict[object, tuple[Client, asyncio.Queue]] = {}
        self.udp_transport: asyncio.DatagramTransport | None = None
        self._tcp_server: asyncio.AbstractServer | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopped: asyncio.Event | None = None
        self._tasks: set[asyncio.Task] = set()
        self._next_sid = random.randint(0x1000, 0xF000)

    def new_session_id(self) -> int:
        self._next_sid = self._next_sid % 0xFFFE + 1
        return self._next_sid

    # --- lifecycle --------------------------------------------------------------------
    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stopped = asyncio.Event()
        if "tcp" in self.transports:
            self._tcp_server = await asyncio.start_server(self._on_tcp, self.host, self.port, reuse_address=True)
            self.port = self._tcp_server.sockets[0].getsockname()[1]
        if "udp" in self.transports:
            try:
                await self._loop.create_datagram_endpoint(lambda: _UdpProtocol(self), local_addr=(self.host, self.port))
            except OSError:
                if self._tcp_server:
                    self._tcp_server.close()
                raise
            if not self._tcp_server:
                self.port = self.udp_transport.get_extra_info("sockname")[1]
        self.terminal.add_listener(self._on_punch_threadsafe)
        log.info("terminal %s (%s) listening on %s:%d %s", self.terminal.serial, self.terminal.profile.name,
                 self.host, self.port, "+".join(self.transports))

    async def serve_forever(self) -> None:
        await self._stopped.wait()

    async def stop(self) -> None:
        self.terminal.remove_listener(self._on_punch_threadsafe)
        if self._tcp_server:
            self._tcp_server.close()
        self.close_sessions()
        if self.udp_transport:
            self.udp_transport.close()
        current = asyncio.current_task()
        pending = [task for task in self._tasks if task is not current]
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        if self._stopped:
            self._stopped.set()

    def close_sessions(self) -> None:
        for c in list(self.clients):
            c.stop()
            c.link.kill()
        self.clients.clear()
        for _client, q in list(self.udp_peers.values()):
            q.put_nowait(None)
        self.udp_peers.clear()

    def schedule_restart(self, ack: bool = True) -> None:
        # after the ACK (if any) has gone out, every session ends as the unit reboots, and
        # the unit answers nothing until it is back
        if self._loop is not None:
            self.rebooting_until = self._loop.time() + 0.05 + self.reboot_s
            self._loop.call_later(0.05, self.close_sessions)

    @property
    def rebooting(self) -> bool:
        return self._loop is not None and self._loop.time() < self.rebooting_until

    def admit(self, session: Session) -> bool:
        """A CONNECT: may this session open (one session at a time, as units do)?"""
        self.connects += 1
        if self.session_policy == "many":
            return True
        others = [c for c in self.clients if c.session is not session and c.session.connected
                  and not c.session.closing and not c.link.dead]
        if not others:
            return True
        if self.session_policy == "refuse":
            log.info("%s: CONNECT refused: a session is open", self.terminal.serial)
            for c in self.clients:
                if c.session is session:
                    c.link.kill()
            return False
        for c in others:
            log.info("%s: a newer CONNECT ends session %#06x", self.terminal.serial, c.session.session_id)
            c.stop()
            c.link.kill()
            self.displaced += 1
        return True

    def _spawn(self, coro) -> asyncio.Task:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    # --- realtime ---------------------------------------------------------------------
    def _on_punch_threadsafe(self, rec: zk.AttRecord) -> None:
        if self._loop is not None and not self._loop.is_closed():
            with contextlib.suppress(RuntimeError):
                self._loop.call_soon_threadsafe(self._on_punch, rec)

    def _on_punch(self, rec: zk.AttRecord) -> None:
        for c in list(self.clients):
            if c.session.reg_mask & zk.EF_ATTLOG:
                c.events.put_nowait(rec)

    # --- TCP --------------------------------------------------------------------------
    async def _on_tcp(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.faults.refuse or self.rebooting:
            sock = writer.get_extra_info("socket")
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            writer.transport.abort()
            return
        me = asyncio.current_task()
        if me is not None:
            self._tasks.add(me)
            me.add_done_callback(self._tasks.discard)
        client = Client(Session(self, "tcp"), TcpLink(self, writer))
        self.clients.add(client)
        client.start_events()
        reasm = zk.TcpReassembler()
        try:
            while not client.link.dead:
                try:
                    chunk = await self._read(reader, client)
                except TimeoutError:
                    log.info("%s: idle session %#06x closed after %.0f s", self.terminal.serial,
                             client.session.session_id, self.idle_timeout_s)
                    break
                if not chunk:
                    break
                for item in reasm.feed(chunk):
                    if isinstance(item, zk.StreamError):
                        log.info("%s: TCP input ignored: %s", self.terminal.serial, item)
                        continue
                    await self._answer(client, item)
                    if client.session.closing or client.link.dead:
                        break
                if client.session.closing:
                    break
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        except asyncio.CancelledError:
            # the server is stopping; ending quietly (asyncio's stream callback would log
            # a cancelled handler as an error)
            pass
        finally:
            client.stop()
            self.clients.discard(client)
            if not client.link.dead:
                writer.close()

    async def _read(self, reader: asyncio.StreamReader, client: Client) -> bytes:
        """The next bytes of a client; a session listening for events is never idle."""
        while True:
            try:
                if not self.idle_timeout_s:
                    return await reader.read(65536)
                return await asyncio.wait_for(reader.read(65536), self.idle_timeout_s)
            except TimeoutError:
                if not client.session.reg_mask:
                    raise

    async def _answer(self, client: Client, pkt: zk.Packet) -> None:
        if self.faults.slow_s and pkt.command != zk.CMD_ACK_OK:
            await asyncio.sleep(self.faults.slow_s)
        try:
            out = client.session.handle(pkt)
        except Exception:  # a bug must never take the terminal down
            log.exception("%s: internal error on command %d", self.terminal.serial, pkt.command)
            out = [zk.pack_packet(zk.CMD_ACK_ERROR, client.session.session_id, pkt.reply)]
        if out:
            await client.link.send(out)
        if client.session.enroll is not None:
            user, fid = client.session.enroll
            client.session.enroll = None
            self._spawn(self._enroll(client, user, fid))

    async def _enroll(self, client: Client, user: zk.User, fid: int) -> None:
        """A person presents the finger three times: the events a unit sends during enrollment
        (EF_FINGER, then EF_FPFTR score 100, three times; then EF_ENROLLFINGER result 0)."""
        template = b"SS21" + random.randbytes(600)
        size = len(template)
        done = struct.pack("<HH", 0, size) + user.user_id.encode()[:9].ljust(9, b"\x00") + bytes([fid])
        steps = [(zk.EF_FINGER, b""), (zk.EF_FPFTR, b"\x64")] * 3 + [(zk.EF_ENROLLFINGER, done)]
        for code, payload in steps:
            await asyncio.sleep(0.05)
            client.session.ack_event.clear()
            await client.link.send([zk.pack_packet(zk.CMD_REG_EVENT, code, 0, payload)])
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(client.session.ack_event.wait(), EVENT_ACK_TIMEOUT)
        try:
            self.terminal.set_template(zk.Template(user.uid, fid, 1, template))
        except Exception as exc:  # noqa: BLE001 - a full unit just fails the enrollment
            log.info("%s: enrolled template not stored: %s", self.terminal.serial, exc)

    # --- UDP --------------------------------------------------------------------------
    def on_datagram(self, data: bytes, addr) -> None:
        if self.faults.refuse or self.rebooting:
            return
        try:
            pkt = zk.unpack_packet(data)
        except zk.ZkProtocolError as exc:
            log.info("%s: UDP datagram from %s ignored: %s", self.terminal.serial, addr, exc)
            return
        peer = self.udp_peers.get(addr)
        if peer is None:
            if len(self.udp_peers) >= 256:  # forget the oldest peer rather than grow without bound
                old_addr, (old, q) = next(iter(self.udp_peers.items()))
                old.stop()
                q.put_nowait(None)
                self.udp_peers.pop(old_addr, None)
                self.clients.discard(old)
            client = Client(Session(self, "udp"), UdpLink(self, self.udp_transport, addr))
            queue: asyncio.Queue = asyncio.Queue()
            peer = self.udp_peers[addr] = (client, queue)
            self.clients.add(client)
            client.start_events()
            self._spawn(self._udp_worker(addr, client, queue))
        client, queue = peer
        if pkt.command == zk.CMD_ACK_OK:
            client.session.ack_event.set()  # event ACKs skip the queue
            return
        queue.put_nowait(pkt)

    async def _udp_worker(self, addr, client: Client, queue: asyncio.Queue) -> None:
        try:
            while True:
                pkt = await queue.get()
                if pkt is None:
                    break
                await self._answer(client, pkt)
                if client.session.closing or client.link.dead:
                    break
        finally:
            client.stop()
            self.clients.discard(client)
            if self.udp_peers.get(addr, (None,))[0] is client:
                self.udp_peers.pop(addr, None)


async def run_terminal(terminal: Terminal, host: str = "127.0.0.1", port: int = 4370,
                       transports: Iterable[str] | None = None, faults: Faults | None = None,
                       ready: threading.Event | None = None, holder: list | None = None,
                       **options) -> None:
    """Serve one terminal until cancelled (`options`: TerminalServer's framing, session
    policy, idle timeout)."""
    server = TerminalServer(terminal, host, port, transports, faults, **options)
    await server.start()
    if holder is not None:
        holder.append(server)
    if ready is not None:
        ready.set()
    try:
        await server.serve_forever()
    finally:
        await server.stop()


class ThreadedTerminal:
    """A terminal served from a background thread (tests, demos): `.port`, `.stop()`."""

    def __init__(self, server: TerminalServer, loop: asyncio.AbstractEventLoop, thread: threading.Thread) -> None:
        self.server = server
        self.loop = loop
        self.thread = thread

    @property
    def port(self) -> int:
        return self.server.port

    @property
    def terminal(self) -> Terminal:
        return self.server.terminal

    @property
    def faults(self) -> Faults:
        return self.server.faults

    @property
    def framing(self) -> Framing:
        return self.server.framing

    def stop(self) -> None:
        if self.thread.is_alive():
            fut = asyncio.run_coroutine_threadsafe(self.server.stop(), self.loop)
            with contextlib.suppress(Exception):
                fut.result(5)
            self.thread.join(5)

    def __enter__(self) -> ThreadedTerminal:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def start_in_thread(terminal: Terminal, host: str = "127.0.0.1", port: int = 0,
                    transports: Iterable[str] | None = None, faults: Faults | None = None,
                    **options) -> ThreadedTerminal:
    """Start a terminal server on its own event loop thread; port 0 picks a free port
    (TCP and UDP share the number)."""
    for _attempt in range(20):
        loop = asyncio.new_event_loop()
        ready = threading.Event()
        holder: list = []
        errors: list[BaseException] = []

        def runner(loop=loop, ready=ready, holder=holder, errors=errors) -> None:
            asyncio.set_event_loop(loop)
            try:
                loop.run_until_complete(run_terminal(terminal, host, port, transports, faults, ready, holder,
                                                     **options))
            except BaseException as exc:  # noqa: BLE001 - reported to the starting thread
                errors.append(exc)
                ready.set()
            finally:
                loop.close()

        thread = threading.Thread(target=runner, name=f"zk-{terminal.serial}", daemon=True)
        thread.start()
        ready.wait(10)
        if holder:
            return ThreadedTerminal(holder[0], loop, thread)
        thread.join(5)
        if port or not errors or not isinstance(errors[0], OSError):
            raise errors[0] if errors else RuntimeError("terminal server did not start")
    raise RuntimeError("no free port for TCP and UDP together after 20 tries")
