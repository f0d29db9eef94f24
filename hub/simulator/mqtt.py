"""A simulated "hub MQTT v1" terminal: QoS 1 publisher with its own outbox.

Client id = serial, persistent session, a retained last-will `offline` status. Records stay
in the outbox until the hub's `events/ack` names them; unacknowledged ones are published
again after `resend_s` (broker restarts, hub restarts, lost acks). Commands are run once per
id; a second delivery gets the stored result again.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import OrderedDict, deque
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import paho.mqtt.client as mqtt

from hub.protocols import mqtt as proto
from hub.protocols.zk_codes import ZK_STATE, zk_verify
from hub.simulator.terminal_state import Record, TerminalState


def client_id_of(serial: str, root: str = proto.ROOT) -> str:
    """A terminal's client id is its serial; under another topic root (tests and benches,
    several at once on one broker) the root goes with it, so two simulated terminals with
    one serial never take each other's persistent session."""
    return serial if root == proto.ROOT else f"{serial}-{hashlib.sha1(root.encode()).hexdigest()[:8]}"


@dataclass
class MqttTerminal:
    serial: str
    host: str = "127.0.0.1"
    port: int = 1883
    username: str = ""
    password: str = ""
    batch: int = 50
    resend_s: float = 2.0
    offset: str | None = None  # e.g. "+07:00" when the terminal knows its zone
    window: int = 400  # at most this many records published and not yet acknowledged
    root: str = proto.ROOT
    tls_ca: str | None = None  # TLS to the broker, trusting this CA file
    state: TerminalState = field(init=False)
    published: int = 0
    acks: int = 0
    errors: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.state = TerminalState(self.serial)
        self._lock = threading.Lock()
        # seq -> [item, last publish time (0: never / again now), times published]
        self._outbox: OrderedDict[int, list[Any]] = OrderedDict()
        self._fresh: deque[int] = deque()  # seqs to publish as soon as the window allows
        self._in_flight = 0
        self._next_scan = 0.0
        self._seq = 0
        self.connected = threading.Event()
        c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id_of(self.serial, self.root),
                        clean_session=False)
        if self.username:
            c.username_pw_set(self.username, self.password)
        if self.tls_ca:
            c.tls_set(ca_certs=self.tls_ca)
        c.will_set(proto.topic(self.serial, "status", self.root),
                   proto.format_status("offline", "connection lost"), qos=1, retain=True)
        c.reconnect_delay_set(0.1, 2)
        c.on_connect = self._on_connect
        c.on_disconnect = lambda *_a: self.connected.clear()
        c.on_message = self._on_message
        self.client = c

    # --- connection ----------------------------------------------------------------------

    def start(self) -> MqttTerminal:
        self.client.connect_async(self.host, self.port, keepalive=10)
        self.client.loop_start()
        return self

    def stop(self) -> None:
        self.client.publish(proto.topic(self.serial, "status", self.root),
                            proto.format_status("offline", "shutdown"), qos=1, retain=True)
        self.client.disconnect()
        self.client.loop_stop()

    def _on_connect(self, client: mqtt.Client, _u: Any, _f: Any, rc: Any, _p: Any) -> None:
        if rc.is_failure:
            self.errors.append(f"connect refused: {rc}")
            return
        client.subscribe([(proto.topic(self.serial, "cmd", self.root), 1),
                          (proto.topic(self.serial, "events/ack", self.root), 1)])
        client.publish(proto.topic(self.serial, "status", self.root), proto.format_status("online"),
                       qos=1, retain=True)
        client.publish(proto.topic(self.serial, "info", self.root), proto._dump({
            "v": 1, "model": "SIM-MQTT", "vendor": "hub", "fw": "1.0", "proto": ["hub.v1"],
            "counters": {"users": len(self.state.users), "logs": len(self.state.log)}}),
            qos=1, retain=True)
        self.connected.set()
        with self._lock:  # whatever was in flight goes again now
            self._fresh = deque(self._outbox)
            self._in_flight = 0
            for entry in self._outbox.values():
                entry[1] = 0.0
                entry[2] = 0

    # --- terminal behaviour --------------------------------------------------------------

    def punch(self, record: Record) -> None:
        pin, when, status, verify = record
        with self._lock:
            self.state.log.append(record)
            self._seq += 1
            self._outbox[self._seq] = [self._item(self._seq, pin, when, status, verify), 0.0,
                                       0]
            self._fresh.append(self._seq)

    def _item(self, seq: int, pin: str, when: datetime, status: int, verify: int
              ) -> dict[str, Any]:
        item = proto.format_punch(self.serial, seq, pin, when,
                                  verify=str(zk_verify(verify)),
                                  state=str(ZK_STATE.get(status, "none")), offset=self.offset)
        item["raw"] = {"vendor": "sim", "status": status, "verify": verify}
        return item

    def outbox(self) -> int:
        with self._lock:
            return len(self._outbox)

    def pump(self) -> int:
        """Publish outbox entries never sent, or unacknowledged for their resend time.

        The resend time doubles with each try (up to 8x) and at most `window` records are
        in flight, so a slow hub is not buried under its own backlog.
        """
        if not self.connected.is_set():
            return 0
        now = time.monotonic()
        due: list[tuple[int, list[Any]]] = []
        with self._lock:
            if now >= self._next_scan:  # unacknowledged for their resend time: again
                self._next_scan = now + self.resend_s / 2
                due = [(seq, e) for seq, e in self._outbox.items()
                       if e[2] and now - e[1] >= self.resend_s * min(2 ** (e[2] - 1), 8)]
            while self._fresh and self._in_flight < self.window:
                seq = self._fresh.popleft()
                e = self._outbox.get(seq)
                if e is not None and not e[2]:
                    due.append((seq, e))
                    self._in_flight += 1
            for _, e in due:
                e[1] = now
                e[2] += 1
        sent = 0
        for start in range(0, len(due), self.batch):
            chunk = due[start:start + self.batch]
            info = self.client.publish(proto.topic(self.serial, "events/punch", self.root),
                                       proto.format_punch_batch([e[0] for _, e in chunk]),
                                       qos=1)
            if info.rc != mqtt.MQTT_ERR_SUCCESS:
                with self._lock:  # not handed to the client: due again at the next scan
                    for _, e in due[start:]:
                        e[1] = 0.0
                break
            sent += len(chunk)
        self.published += sent
        return sent

    def _on_message(self, client: mqtt.Client, _u: Any, msg: mqtt.MQTTMessage) -> None:
        try:
            _sn, channel = proto.parse_topic(msg.topic, self.root)
            if channel == "events/ack":
                upto, ids = proto.parse_ack(msg.payload)
                if not ids and upto is None:
                    self.errors.append(msg.payload.decode("utf-8", "replace"))
                    return
                with self._lock:
                    for event_id in ids:
                        seq = int(event_id.rsplit("-", 1)[1])
                        e = self._outbox.pop(seq, None)
                        if e is not None and e[2]:
                            self._in_flight -= 1
                self.acks += 1
            elif channel == "cmd":
                cmd = proto.parse_cmd(msg.payload)
                first = cmd.id not in self.state.results
                expired = cmd.expires_at is not None and cmd.expires_at.timestamp() < time.time()
                if expired and first:
                    status, code, text = "rejected", -1, "expired"
                    self.state.results[cmd.id] = (status, code, text)
                else:
                    status, code, text = self.state.run(cmd.id, cmd.op, cmd.data)
                if first and cmd.op == "events.resend" and status == "done":
                    self._resend(cmd.data)
                client.publish(proto.topic(self.serial, "cmd/result", self.root),
                               proto.format_result(cmd.id, status, code, text), qos=1)
        except (proto.MqttPayloadError, ValueError, IndexError) as exc:
            self.errors.append(str(exc))

    def _resend(self, data: dict[str, Any]) -> None:
        start, end = data.get("from_time", ""), data.get("to_time", "")
        with self._lock:
            for seq, rec in enumerate(self.state.log, start=1):
                stamp = f"{rec[1]:%Y-%m-%d %H:%M:%S}"
                if (not start or stamp >= start) and (not end or stamp <= end) \
                        and seq not in self._outbox:
                        self._outbox[seq] = [self._item(seq, *rec), 0.0, 0]
                        self._fresh.append(seq)


def run_mqtt_terminal(serial: str, records: list[Record], stop: threading.Event,
                      host: str = "127.0.0.1", port: int = 1883,
                      rate_per_s: float | None = None, batch: int = 50,
                      username: str = "", password: str = "",
                      drain_timeout_s: float = 60.0, root: str = proto.ROOT) -> MqttTerminal:
    """Fleet entry point: record `records` (at `rate_per_s`, or all at once) and push them;
    after `stop` is set, keep going until every record is acknowledged (at most
    `drain_timeout_s`). Returns the terminal for checks."""
    term = MqttTerminal(serial, host, port, username, password, batch=batch, root=root).start()
    todo = list(records)
    done = 0
    started = time.monotonic()
    stopped_at: float | None = None
    try:
        while True:
            if stop.is_set():
                stopped_at = stopped_at or time.monotonic()
                rate_per_s = None
                if (done == len(todo) and not term.outbox()) or \
                        time.monotonic() - stopped_at > drain_timeout_s:
                    break
            due = len(todo) if rate_per_s is None else \
                min(len(todo), int((time.monotonic() - started) * rate_per_s))
            while done < due:
                term.punch(todo[done])
                done += 1
            term.pump()
            time.sleep(0.05)
    finally:
        term.stop()
    return term
