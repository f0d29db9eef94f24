"""The hub's MQTT side of "hub MQTT v1": store pushed punches, ack after commit, run commands.

QoS 1 with a persistent session (clean_session False and a fixed client id), so messages
sent while the hub is down wait in the broker. PUBACK is sent by hand only after the
database commit (manual_ack), and `events/ack` is published after it too: a hub killed
mid-write leaves the message unacknowledged and the broker redelivers it. Duplicates end
in the same row through the punch identity.

Messages go from paho's network thread to one worker, which stores whatever punch
messages have queued up (up to `max_batch`) in one transaction: under load that is what
keeps the hub ahead of the terminals' resend timers.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import paho.mqtt.client as mqtt
from sqlalchemy import Engine, func, select, update

from hub.adapters.mqtt.normalise import to_punches
from hub.adapters.mqtt.tls import TlsOptions
from hub.protocols import mqtt as proto
from hub.punch import Punch, Source
from hub.push import service
from hub.push.models import DeviceCommand
from hub.store.models import Device

log = logging.getLogger("hub.mqtt")
SUBSCRIPTIONS = ("events/punch", "cmd/result", "status", "info")
DEVICE_CACHE_S = 60.0


@dataclass
class ListenerStats:
    messages: int = 0
    punches_seen: int = 0
    punches_new: int = 0
    acks: int = 0
    malformed: int = 0
    unknown_device: int = 0
    results_recorded: int = 0
    results_ignored: int = 0
    commands_sent: int = 0
    db_retries: int = 0
    errors: list[str] = field(default_factory=list)


class MqttListener:
    def __init__(self, engine: Engine, host: str = "127.0.0.1", port: int = 1883,
                 client_id: str = "hub", username: str = "", password: str = "",
                 command_poll_s: float = 1.0, resend_after_s: float = 60.0,
                 shared_group: str | None = None, max_batch: int = 200, root: str = proto.ROOT,
                 tls: TlsOptions | None = None) -> None:
        self.engine = engine
        self.root = proto.check_root(root)
        self.host, self.port = host, port
        self.command_poll_s = command_poll_s
        self.resend_after_s = resend_after_s
        self.stats = ListenerStats()
        self.connected = threading.Event()
        self._stop = threading.Event()
        self._devices: dict[str, tuple[service.KnownDevice, float]] = {}
        self._lock = threading.Lock()
        self._prefix = f"$share/{shared_group}/" if shared_group else ""
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id,
                                  clean_session=False, manual_ack=True)
        if username:
            self.client.username_pw_set(username, password)
        if tls is not None:
            tls.apply(self.client)
        self.client.reconnect_delay_set(0.2, 5)
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_message = self._on_message
        self._commands: threading.Thread | None = None
        self._worker: threading.Thread | None = None
        self._inbox: queue.Queue[mqtt.MQTTMessage] = queue.Queue()
        self.max_batch = max_batch

    # --- lifecycle -----------------------------------------------------------------------

    def start(self) -> MqttListener:
        self.client.connect_async(self.host, self.port, keepalive=30)
        self.client.loop_start()
        self._worker = threading.Thread(target=self._work, name="hub-mqtt-store", daemon=True)
        self._worker.start()
        self._commands = threading.Thread(target=self._command_loop, name="hub-mqtt-cmd",
                                           daemon=True)
        self._commands.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        for th in (self._commands, self._worker):
            if th:
                th.join(timeout=10)
        self.client.disconnect()
        self.client.loop_stop()

    def kill(self) -> None:
        """Drop the connection without a clean goodbye (tests: a hub that dies)."""
        self._stop.set()
        if self._worker:
            self._worker.join(timeout=10)
        self.client.loop_stop()
        sock = self.client.socket()
        if sock is not None:
            sock.close()

    def _on_connect(self, client: mqtt.Client, _u: Any, _f: Any, rc: Any, _p: Any) -> None:
        if rc.is_failure:
            log.error("MQTT: broker menolak sambungan / broker refused: %s", rc)
            return
        for channel in SUBSCRIPTIONS:
            client.subscribe(self._prefix + proto.subscription(channel, self.root), qos=1)
        self.connected.set()
        log.info("MQTT: tersambung ke / connected to %s:%s", self.host, self.port)

    def _on_disconnect(self, *_a: Any) -> None:
        self.connected.clear()

    # --- messages ------------------------------------------------------------------------

    def _device(self, serial: str) -> service.KnownDevice | None:
        """Registered device by serial, cached for a minute (zone or enabled may change)."""
        now = time.monotonic()
        hit = self._devices.get(serial)
        if hit is not None and now - hit[1] < DEVICE_CACHE_S:
            return hit[0]
        with self.engine.connect() as conn:
            dev = service.lookup_device(conn, serial)
        if dev is None:
            self._devices.pop(serial, None)
        else:
            self._devices[serial] = (dev, now)
        return dev

    def _on_message(self, _c: mqtt.Client, _u: Any, msg: mqtt.MQTTMessage) -> None:
        self._inbox.put(msg)

    def _work(self) -> None:
        while not self._stop.is_set():
            try:
                first = self._inbox.get(timeout=0.2)
            except queue.Empty:
                continue
            batch = [first]
            while len(batch) < self.max_batch:
                try:
                    batch.append(self._inbox.get_nowait())
                except queue.Empty:
                    break
            try:
                self._handle_batch(batch)
            except Exception as exc:  # noqa: BLE001 - the worker must survive anything
                log.exception("MQTT: kumpulan pesan gagal diproses / batch failed")
                self.stats.errors.append(str(exc))

    def _ack(self, msg: mqtt.MQTTMessage) -> None:
        if not self._stop.is_set():
            self.client.ack(msg.mid, msg.qos)

    def _handle_batch(self, batch: list[mqtt.MQTTMessage]) -> None:
        punches: list[tuple[mqtt.MQTTMessage, str, service.KnownDevice, list]] = []
        for msg in batch:
            self.stats.messages += 1
            try:
                sn, channel = proto.parse_topic(msg.topic, self.root)
                if channel == "events/punch":
                    item = self._parse_punches(sn, msg.payload)
                    if item is not None:
                        punches.append((msg, sn, *item))
                        continue
                elif channel == "cmd/result":
                    self._result(sn, msg.payload)
                elif channel == "status" and msg.payload:
                    self._status(sn, msg.payload)
                elif channel == "info" and msg.payload:
                    self._info(sn, msg.payload)
            except proto.MqttPayloadError as exc:
                self._malformed(None, exc)
            except Exception as exc:  # noqa: BLE001 - one bad message must not stop the rest
                log.exception("MQTT: pesan %s gagal diproses / failed", msg.topic)
                self.stats.errors.append(f"{msg.topic}: {exc}")
            self._ack(msg)
        if punches:
            self._store(punches)

    def _malformed(self, sn: str | None, exc: Exception) -> None:
        self.stats.malformed += 1
        self.stats.errors.append(str(exc))
        log.warning("MQTT: payload ditolak / refused: %s", exc)
        if sn is not None:
            # Tell the terminal what is wrong; nothing is acknowledged as stored.
            self.client.publish(proto.topic(sn, "events/ack", self.root),
                                proto._dump({"v": 1, "upto_seq": None, "ids": [],
                                             "error": str(exc)[:500]}), qos=1)

    def _parse_punches(self, sn: str, payload: bytes
                       ) -> tuple[service.KnownDevice, list] | None:
        try:
            events = proto.parse_punch_payload(payload, sn)
        except proto.MqttPayloadError as exc:
            self._malformed(sn, exc)
            return None
        device = self._device(sn)
        if device is None:
            # Not acknowledged: the terminal keeps these in its outbox until IT approves it.
            self.stats.unknown_device += 1
            service.hold_unknown(self.engine, sn, "mqtt", {})
            return None
        return device, events

    def _store(self, items: list[tuple[mqtt.MQTTMessage, str, service.KnownDevice, list]]
               ) -> None:
        by_device: dict[int, tuple[service.KnownDevice, list[Punch]]] = {}
        for _msg, _sn, device, events in items:
            _, plist = by_device.setdefault(device.id, (device, []))
            plist.extend(to_punches(device, events))
        delay = 0.2
        while True:
            try:
                with self.engine.begin() as conn:
                    results = [service.store_in(conn, device, Source.MQTT, plist,
                                                {"messages": len(items)})
                               for device, plist in by_device.values()]
                break
            except Exception as exc:  # noqa: BLE001 - database down: retry, never ack first
                if self._stop.is_set():
                    return  # unacknowledged: the broker redelivers to the next session
                self.stats.db_retries += 1
                log.error("MQTT: simpan gagal, dicoba lagi / store failed, retrying: %s", exc)
                time.sleep(delay)
                delay = min(delay * 2, 5.0)
        self.stats.punches_seen += sum(r.seen for r in results)
        self.stats.punches_new += sum(r.new for r in results)
        for msg, sn, _device, events in items:
            if self._stop.is_set():
                return
            seqs = [e.seq for e in events if e.seq is not None]
            self.client.publish(proto.topic(sn, "events/ack", self.root),
                                proto.format_ack([e.id for e in events],
                                                 max(seqs) if seqs else None), qos=1)
            self.client.ack(msg.mid, msg.qos)
            self.stats.acks += 1

    def _result(self, sn: str, payload: bytes) -> None:
        try:
            res = proto.parse_result(payload, f"{self.root}/{sn}/cmd/result")
        except proto.MqttPayloadError as exc:
            self._malformed(sn, exc)
            return
        device = self._device(sn)
        cid = service.parse_command_id(res.id)
        if device is None or cid is None or res.status == "accepted":
            return
        with self.engine.begin() as conn:
            recorded = service.record_result(
                conn, device.id, cid, res.status == "done",
                {"status": res.status, "code": res.code, "msg": res.msg, "data": res.data})
        if recorded:
            self.stats.results_recorded += 1
        else:
            self.stats.results_ignored += 1

    def _status(self, sn: str, payload: bytes) -> None:
        try:
            st = proto.parse_status(payload, f"{self.root}/{sn}/status")
        except proto.MqttPayloadError as exc:
            self._malformed(sn, exc)
            return
        self._merge_caps(sn, {"mqtt_status": st.state, "mqtt_status_ts": proto.utc_iso(st.ts)})

    def _info(self, sn: str, payload: bytes) -> None:
        try:
            info = proto.parse_info(payload, f"{self.root}/{sn}/info")
        except proto.MqttPayloadError as exc:
            self._malformed(sn, exc)
            return
        self._merge_caps(sn, {"mqtt_info": info})

    def _merge_caps(self, sn: str, values: dict[str, Any]) -> None:
        device = self._device(sn)
        if device is None:
            service.hold_unknown(self.engine, sn, "mqtt", values)
            return
        with self.engine.begin() as conn:
            caps = conn.scalar(select(Device.capabilities).where(Device.id == device.id)) or {}
            conn.execute(update(Device).where(Device.id == device.id)
                         .values(capabilities={**caps, **values}))

    # --- commands ------------------------------------------------------------------------

    def _command_loop(self) -> None:
        while not self._stop.wait(self.command_poll_s):
            if not self.connected.is_set():
                continue
            try:
                self.send_due_commands()
            except Exception:  # noqa: BLE001 - next round tries again
                log.exception("MQTT: pengiriman perintah gagal / sending commands failed")

    def send_due_commands(self) -> int:
        from datetime import timedelta

        sent = 0
        with self.engine.begin() as conn:
            ids = conn.execute(select(DeviceCommand.device_id).distinct().where(
                DeviceCommand.channel == "mqtt",
                DeviceCommand.status.in_(("queued", "sent")))).scalars().all()
            for dev_id in ids:
                serial = conn.scalar(select(Device.serial).where(Device.id == dev_id))
                for cmd in service.take_due(conn, dev_id,
                                            timedelta(seconds=self.resend_after_s)):
                    self.client.publish(proto.topic(serial, "cmd", self.root), proto.format_cmd(
                        f"c-{cmd.id}", cmd.op, cmd.payload, cmd.created_at, cmd.expires_at),
                        qos=1)
                    sent += 1
        self.stats.commands_sent += sent
        return sent


def count_by_status(engine: Engine) -> Counter[str]:
    with engine.connect() as conn:
        return Counter(dict(conn.execute(
            select(DeviceCommand.status, func.count())
            .group_by(DeviceCommand.status)).all()))


def start_listener(settings: Any = None, engine: Engine | None = None) -> MqttListener:
    """The listener of `hub run`: broker, credentials and client id from [mqtt] settings."""
    from hub.config import get_settings
    from hub.store.db import get_engine

    settings = settings or get_settings()
    m = settings.mqtt
    client_id, group = m.client_id, m.shared_group or None
    if settings.cluster.enabled:
        # each process its own session, the terminals' messages shared among them
        client_id, group = f"{m.client_id}-{settings.cluster.worker()}", group or "hub"
    return MqttListener(engine or get_engine(settings.effective_database_url()), m.host,
                        m.port, client_id, m.username, m.password, root=m.topic_root,
                        tls=TlsOptions.from_settings(m), shared_group=group).start()
