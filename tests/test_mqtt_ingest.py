"""MQTT hub/v1 against the real Mosquitto on 127.0.0.1:1883, on SQLite and PostgreSQL.

Each test runs under a topic root of its own (`hubtest-<tag>/v1/devices`), so a hub running
on the same broker never sees the test's terminals, nor the tests the hub's."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator
from datetime import date, datetime, timedelta

import paho.mqtt.client as mqtt
import pytest
from sqlalchemy import Engine, select

from hub.adapters.mqtt.listener import MqttListener
from hub.protocols import mqtt as proto
from hub.push import service
from hub.push.models import DeviceCommand, PushRegistration
from hub.simulator.mqtt import MqttTerminal
from hub.simulator.terminal_state import day_of_punches
from hub.store.db import session_scope
from hub.store.models import Device, RawPunch
from tests.push_fixtures import (
    add_push_devices,
    count_punches,
    forget_on_broker,
    require_broker,
    stored_identities,
    wait_for,
)


def root_of(tag: str) -> str:
    return f"hubtest-{tag.lower()}/v1/devices"


@pytest.fixture
def tag() -> Iterator[str]:
    require_broker()
    t = uuid.uuid4().hex[:8].upper()
    yield t
    forget_on_broker([f"hub-{t}"] + [f"T{t}{i}" for i in range(4)] + [f"raw-{t}"],
                     [f"T{t}{i}" for i in range(4)], root=root_of(t))


@pytest.fixture
def listener(engine: Engine, tag: str) -> Iterator[MqttListener]:
    lis = MqttListener(engine, client_id=f"hub-{tag}", command_poll_s=0.2,
                       resend_after_s=1.0, root=root_of(tag)).start()
    assert lis.connected.wait(10)
    yield lis
    lis.stop()


class Raw:
    """A bare client: publishes what a test wants and collects what the hub answers."""

    def __init__(self, tag: str, sn: str) -> None:
        self.got: list[tuple[str, bytes]] = []
        self.c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"raw-{tag}")
        self.c.on_message = lambda _c, _u, m: self.got.append((m.topic, m.payload))
        self.c.connect("127.0.0.1", 1883)
        self.root = root_of(tag)
        self.c.subscribe(proto.topic(sn, "events/ack", self.root), qos=1)
        self.c.loop_start()

    def send(self, topic: str, payload: bytes) -> None:
        self.c.publish(topic, payload, qos=1).wait_for_publish(5)

    def close(self) -> None:
        self.c.disconnect()
        self.c.loop_stop()


def _term(sn: str) -> MqttTerminal:
    # serials are T<tag><n>: the terminal publishes under its test's root
    t = MqttTerminal(sn, resend_s=1.0, root=root_of(sn[1:9])).start()
    assert t.connected.wait(10)
    return t


def test_terminal_day_is_stored_once_and_acked_after_commit(engine: Engine, tag: str,
                                                            listener: MqttListener) -> None:
    sn = f"T{tag}0"
    add_push_devices(engine, "mqtt", [sn], tz="Asia/Makassar")
    term = _term(sn)
    records = day_of_punches(sn, date(2026, 11, 20), staff=25)
    for rec in records:
        term.punch(rec)
    assert wait_for(lambda: (term.pump() or True) and term.outbox() == 0, 30)
    term.stop()
    expected = {(p, t, s) for p, t, s, _v in records}
    assert count_punches(engine) == len(records) == len(expected)
    with engine.connect() as conn:
        rows = conn.execute(select(RawPunch.source, RawPunch.tz, RawPunch.device_seq)).all()
    assert {(r.source, r.tz) for r in rows} == {("mqtt", "Asia/Makassar")}
    assert sorted(r.device_seq for r in rows) == list(range(1, len(records) + 1))
    assert listener.stats.punches_new == len(records)


def test_duplicates_absorbed_and_malformed_refused(engine: Engine, tag: str,
                                                   listener: MqttListener) -> None:
    sn = f"T{tag}1"
    add_push_devices(engine, "mqtt", [sn])
    raw = Raw(tag, sn)
    batch = proto.format_punch_batch([proto.format_punch(sn, i, "42", datetime(2026, 11, 20,
                                                                               7, i))
                                      for i in range(1, 6)])
    raw.send(proto.topic(sn, "events/punch", raw.root), batch)
    raw.send(proto.topic(sn, "events/punch", raw.root), batch)  # QoS 1 redelivery / device resend
    raw.send(proto.topic(sn, "events/punch", raw.root), b'{"v":1,"user":{"id":"1"},"time_local":"x"}')
    raw.send(proto.topic(sn, "events/punch", raw.root), b"\xff not json")
    assert wait_for(lambda: len(raw.got) == 4, 10)
    raw.close()
    acks = [json.loads(p) for _t, p in raw.got]
    good = [a for a in acks if a["ids"]]
    errors = [a["error"] for a in acks if "error" in a]
    assert len(good) == 2 and all(a["upto_seq"] == 5 for a in good)
    assert len(errors) == 2
    assert any("events/punch.time_local" in e for e in errors)
    assert any("bukan JSON" in e for e in errors)
    assert count_punches(engine) == 5
    assert (listener.stats.punches_seen, listener.stats.punches_new,
            listener.stats.malformed) == (10, 5, 2)


def test_status_will_and_info_reach_the_device_row(engine: Engine, tag: str,
                                                   listener: MqttListener) -> None:
    sn = f"T{tag}2"
    add_push_devices(engine, "mqtt", [sn])
    term = _term(sn)

    def caps() -> dict:
        with engine.connect() as conn:
            return conn.scalar(select(Device.capabilities).where(Device.serial == sn)) or {}

    assert wait_for(lambda: caps().get("mqtt_status") == "online"
                    and caps().get("mqtt_info", {}).get("model") == "SIM-MQTT", 10)
    term.client.loop_stop()
    term.client.socket().close()  # dies without DISCONNECT: the broker sends the last will
    assert wait_for(lambda: caps().get("mqtt_status") == "offline", 30)


def test_unknown_terminal_held_until_approved(engine: Engine, tag: str,
                                              listener: MqttListener) -> None:
    sn = f"T{tag}3"
    term = _term(sn)
    term.punch(("7", datetime(2026, 11, 20, 7, 0), 0, 15))
    term.pump()
    assert wait_for(lambda: listener.stats.unknown_device >= 1, 10)
    assert count_punches(engine) == 0 and term.outbox() == 1  # not acknowledged
    with engine.connect() as conn:
        assert conn.scalar(select(PushRegistration.status)) == "pending"
    with session_scope(engine) as s:
        service.approve(s, sn, "test")
    assert wait_for(lambda: (term.pump() or True) and term.outbox() == 0, 15)
    term.stop()
    assert count_punches(engine) == 1


def test_commands_results_once_and_expiry(engine: Engine, tag: str,
                                          listener: MqttListener) -> None:
    sn = f"T{tag}0"
    add_push_devices(engine, "mqtt", [sn])
    term = _term(sn)
    day = date(2026, 11, 20)
    for rec in day_of_punches(sn, day, staff=5):
        term.punch(rec)
    assert wait_for(lambda: (term.pump() or True) and term.outbox() == 0, 15)
    before = count_punches(engine)
    ops = [("user.upsert", {"user": {"id": "9", "name": "Rina"}}),
           ("template.set", {"user_id": "9", "type": 1, "no": 6, "data_b64": "AAAA"}),
           ("face.set", {"user_id": "9", "photo": {"url": "u", "sha256": "ab"}}),
           ("device.time.set", {"time": "2026-11-20T08:00:00+07:00"}),
           ("user.delete", {"user_id": "404"}),
           ("events.resend", {"from_time": "2026-11-20 00:00:00",
                              "to_time": "2026-11-20 23:59:59"})]
    with session_scope(engine) as s:
        dev = s.scalar(select(Device).where(Device.serial == sn))
        ids = [service.enqueue(s, dev, op, data, "test").id for op, data in ops]
        expired = service.enqueue(s, dev, "user.upsert", {"user": {"id": "1"}}, "test",
                                  ttl=timedelta(seconds=-5)).id

    def statuses() -> dict[int, str]:
        with engine.connect() as conn:
            return dict(conn.execute(select(DeviceCommand.id, DeviceCommand.status)).all())

    assert wait_for(lambda: all(statuses()[i] in ("done", "failed") for i in ids), 20)
    st = statuses()
    assert [st[i] for i in ids] == ["done", "done", "done", "done", "failed", "done"]
    assert st[expired] == "expired"
    assert term.state.users == {"9": {"id": "9", "name": "Rina"}}
    assert term.state.templates == {("9", 6): "AAAA"} and term.state.clock_sets == 1
    assert all(n == 1 for n in term.state.executions.values())
    # events.resend re-sent the whole day: all absorbed as duplicates.
    assert wait_for(lambda: (term.pump() or True) and term.outbox() == 0, 15)
    term.stop()
    assert count_punches(engine) == before
    assert stored_identities(engine)


def test_listener_survives_a_flood_from_many_threads(engine: Engine, tag: str,
                                                     listener: MqttListener) -> None:
    sns = [f"T{tag}{i}" for i in range(3)]
    add_push_devices(engine, "mqtt", sns)
    terms = [_term(sn) for sn in sns]
    recs = {sn: day_of_punches(sn, date(2026, 11, 21), staff=30) for sn in sns}

    def push(t: MqttTerminal) -> None:
        for rec in recs[t.serial]:
            t.punch(rec)
        wait_for(lambda: (t.pump() or True) and t.outbox() == 0, 30, 0.05)

    threads = [threading.Thread(target=push, args=(t,)) for t in terms]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    for t in terms:
        t.stop()
    assert count_punches(engine) == sum(len(r) for r in recs.values())


def test_a_hub_under_another_root_hears_nothing(engine: Engine, tag: str, listener: MqttListener) -> None:
    """Two hubs on one broker (or a running hub beside the tests): each hears only its root."""
    other = MqttListener(engine, client_id=f"hub-{tag}-other", root=f"hubtest-{tag.lower()}-other/v1/devices")
    other.start()
    try:
        assert other.connected.wait(10)
        sn = f"T{tag}1"
        add_push_devices(engine, "mqtt", [sn])
        term = _term(sn)
        for rec in day_of_punches(sn, date(2026, 11, 20), staff=4):
            term.punch(rec)
        assert wait_for(lambda: (term.pump() or True) and term.outbox() == 0, 30)
        term.stop()
        assert listener.stats.punches_new == count_punches(engine) > 0
        assert other.stats.messages == 0
    finally:
        other.stop()
        forget_on_broker([f"hub-{tag}-other"], [])


def test_cluster_listeners_share_the_terminals_messages(engine: Engine, tag: str, settings) -> None:  # type: ignore[no-untyped-def]
    """Two hub processes in cluster mode on one broker: each its own MQTT session, the
    terminals' messages shared between them ($share/hub/...): every punch stored once, acked,
    and both processes did part of the work."""
    from hub.adapters.mqtt.listener import start_listener

    settings.mqtt.topic_root, settings.mqtt.client_id = root_of(tag), f"hub-{tag}"
    settings.cluster.enabled = True
    listeners = []
    for name in ("a", "b"):
        settings.cluster.worker_name = name
        listeners.append(start_listener(settings, engine))
    try:
        assert all(lis.connected.wait(10) for lis in listeners)
        assert {lis.client._client_id.decode() for lis in listeners} == {f"hub-{tag}-a", f"hub-{tag}-b"}
        sns = [f"T{tag}{i}" for i in range(4)]
        add_push_devices(engine, "mqtt", sns)
        terms = [_term(sn) for sn in sns]
        records = {sn: day_of_punches(sn, date(2026, 11, 21), staff=15) for sn in sns}
        for t in terms:
            for rec in records[t.serial]:
                t.punch(rec)
        assert wait_for(lambda: all((t.pump() or True) and t.outbox() == 0 for t in terms), 60)
        for t in terms:
            t.stop()
        assert count_punches(engine) == sum(len(r) for r in records.values())
        seen = [lis.stats.punches_seen for lis in listeners]
        assert sum(lis.stats.punches_new for lis in listeners) == count_punches(engine)
        assert all(n > 0 for n in seen), seen  # shared, not each taking everything
    finally:
        for lis in listeners:
            lis.stop()
        forget_on_broker([f"hub-{tag}-a", f"hub-{tag}-b"], [], root=root_of(tag))
