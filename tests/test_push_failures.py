"""Push channels under failure, with exact counts: broker and hub restarts, resends, a
database outage, malformed input, a command delivered twice; and the fleet day
(10 MQTT + 20 ADMS terminals) that must end equal to the terminals' ground truth."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from datetime import date, datetime

import httpx
import paho.mqtt.client as mqtt
import pytest
from sqlalchemy import Engine, func, select, text

from hub.adapters.mqtt.listener import MqttListener
from hub.protocols import adms
from hub.protocols import mqtt as proto
from hub.protocols.zk_codes import zk_state, zk_verify
from hub.push import service
from hub.push.models import DeviceCommand
from hub.secrets import unseal_tree
from hub.simulator.adms import AdmsTerminal, run_adms_terminal
from hub.simulator.mqtt import MqttTerminal, run_mqtt_terminal
from hub.simulator.terminal_state import Record, day_of_punches
from hub.store.db import session_scope
from hub.store.models import Device, IngestRun
from tests.push_fixtures import (
    AdmsServer,
    Broker,
    add_push_devices,
    count_punches,
    private_broker,
    stored_identities,
    wait_for,
)

DAY = date(2026, 11, 20)


@pytest.fixture
def broker() -> Iterator[Broker]:
    yield from private_broker()


def truth(records: dict[str, list[Record]]) -> set[tuple]:
    return {(sn, pin, when, str(zk_state(s)), str(zk_verify(v)))
            for sn, recs in records.items() for pin, when, s, v in recs}


def ingest_totals(engine: Engine) -> tuple[int, int, int]:
    with engine.connect() as conn:
        seen, new, dup = conn.execute(select(func.sum(IngestRun.records_seen),
                                             func.sum(IngestRun.new),
                                             func.sum(IngestRun.duplicate))).one()
    return int(seen or 0), int(new or 0), int(dup or 0)


def test_broker_killed_and_restarted_mid_stream(engine: Engine, broker: Broker) -> None:
    sns = [f"BRK{i}" for i in range(3)]
    add_push_devices(engine, "mqtt", sns)
    lis = MqttListener(engine, port=broker.port, client_id="hub-brk").start()
    assert lis.connected.wait(10)
    terms = [MqttTerminal(sn, port=broker.port, resend_s=1.0, batch=10).start() for sn in sns]
    records = {sn: day_of_punches(sn, DAY, staff=30) for sn in sns}
    half = {sn: len(r) // 2 for sn, r in records.items()}
    for t in terms:
        for rec in records[t.serial][:half[t.serial]]:
            t.punch(rec)
        t.pump()
    broker.proc.kill()  # no clean shutdown: whatever was in flight is gone
    broker.proc.wait()
    broker.proc = None
    assert wait_for(lambda: not any(t.connected.is_set() for t in terms), 10)
    for t in terms:  # punches keep happening while the broker is down
        for rec in records[t.serial][half[t.serial]:]:
            t.punch(rec)
        assert t.pump() == 0
    broker.start()
    assert wait_for(lambda: all((t.pump() or True) and t.outbox() == 0 for t in terms), 60)
    for t in terms:
        t.stop()
    lis.stop()
    assert stored_identities(engine) == truth(records)
    total = sum(len(r) for r in records.values())
    seen, new, dup = ingest_totals(engine)
    assert (count_punches(engine), new, seen - dup) == (total, total, total)


def test_hub_killed_and_restarted_mqtt_and_adms(engine: Engine, broker: Broker) -> None:
    m_sn, a_sn = "HUBM1", "HUBA1"
    add_push_devices(engine, "mqtt", [m_sn])
    add_push_devices(engine, "adms", [a_sn])
    records = {m_sn: day_of_punches(m_sn, DAY, staff=30), a_sn: day_of_punches(a_sn, DAY,
                                                                                 staff=30)}
    lis = MqttListener(engine, port=broker.port, client_id="hub-restart").start()
    assert lis.connected.wait(10)
    srv = AdmsServer(engine).start()
    mt = MqttTerminal(m_sn, port=broker.port, resend_s=30.0, batch=5).start()
    assert mt.connected.wait(10)
    at = AdmsTerminal(a_sn, srv.url, batch=10, error_delay_s=0.05)
    half = len(records[m_sn]) // 2
    for rec in records[m_sn][:half]:
        mt.punch(rec)
    mt.pump()
    for rec in records[a_sn][:half]:
        at.punch(rec)
        at.step()
    assert wait_for(lambda: mt.outbox() == 0, 20)
    lis.kill()  # the hub process dies ...
    srv.stop()
    for rec in records[m_sn][half:]:
        mt.punch(rec)
    mt.pump()  # ... these wait in the broker for the hub's persistent session
    for rec in records[a_sn][half:]:
        at.punch(rec)
    at.step()
    assert at.outbox() == len(records[a_sn]) - half  # refused: kept on the terminal
    lis2 = MqttListener(engine, port=broker.port, client_id="hub-restart").start()
    srv = AdmsServer(engine, port=srv.port).start()
    # resend_s is 30 s: emptying the outbox now proves the broker kept the messages
    assert wait_for(lambda: mt.outbox() == 0, 30)
    assert wait_for(lambda: (at.step() or True) and at.outbox() == 0, 30)
    mt.stop()
    at.close()
    lis2.stop()
    srv.stop()
    assert stored_identities(engine) == truth(records)
    assert count_punches(engine) == sum(len(r) for r in records.values())


def test_database_outage_gets_no_ack_and_the_resend_lands(engine: Engine) -> None:
    add_push_devices(engine, "adms", ["DBX1"])
    srv = AdmsServer(engine).start()
    body = adms.format_attlog([("1", datetime(2026, 11, 20, 7, 0), 0, 15),
                               ("2", datetime(2026, 11, 20, 7, 1), 0, 1)])
    post = {"params": {"SN": "DBX1", "table": "ATTLOG", "Stamp": "2"}, "content": body}
    with engine.begin() as conn:  # a real failure: the table is not there
        conn.execute(text("ALTER TABLE raw_punches RENAME TO raw_punches_away"))
    try:
        r = httpx.post(srv.url + "/iclock/cdata", **post)
        assert r.status_code == 500 and "resend" in r.text
    finally:
        with engine.begin() as conn:
            conn.execute(text("ALTER TABLE raw_punches_away RENAME TO raw_punches"))
    with engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(IngestRun)) == 0  # rolled back
    assert httpx.post(srv.url + "/iclock/cdata", **post).text == "OK: 2"
    srv.stop()
    assert count_punches(engine) == 2


def test_malformed_input_stores_nothing_wrong(engine: Engine, broker: Broker) -> None:
    add_push_devices(engine, "adms", ["MAL1"])
    add_push_devices(engine, "mqtt", ["MAL2"])
    srv = AdmsServer(engine).start()
    lis = MqttListener(engine, port=broker.port, client_id="hub-mal").start()
    assert lis.connected.wait(10)
    bodies = ["1\t2026-11-20 07:00:00\t0\t15\n\t\t\n3\t2026-11-20 25:00:00\t0\t15\n",
              "x" * 5000, "4\t2026-11-20 07:00:00\t0\t15\t" + "w" * 40 + "\n",
              "5\t2026-11-20 07:05:00\t0\t15\n6;DROP TABLE\t2026-11-20 07:06:00\t0\t15\n"]
    replies = [httpx.post(srv.url + "/iclock/cdata", params={"SN": "MAL1", "table": "ATTLOG"},
                          content=b.encode()) for b in bodies]
    # bad lines are kept verbatim with their reason (rejected_lines), never stored as punches:
    # an all-bad batch is acknowledged once kept, so the terminal is not wedged on it
    assert [(r.status_code, r.text[:5]) for r in replies] == [
        (200, "OK: 1"), (200, "OK: 0"), (200, "OK: 0"), (200, "OK: 1")]
    from hub.push.models import RejectedLine

    with engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(RejectedLine)) == 4
    c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="mal-raw")
    c.connect("127.0.0.1", broker.port)
    c.loop_start()
    t = proto.topic("MAL2", "events/punch")
    for payload in (b"", b"[]", b'{"v":1,"items":"no"}', b'{"v":1,"user":{"id":"9"},'
                    b'"time_local":"2026-11-20 07:00:00","state":"sleeping"}',
                    proto.format_punch_batch([proto.format_punch("MAL2", 1, "9",
                                                                 datetime(2026, 11, 20, 7))])):
        c.publish(t, payload, qos=1).wait_for_publish(5)
    c.publish("hub/v1/devices/MAL2/bogus", b"{}", qos=1).wait_for_publish(5)
    assert wait_for(lambda: lis.stats.messages >= 5 and lis.stats.punches_seen == 1, 10)
    c.disconnect()
    c.loop_stop()
    lis.stop()
    srv.stop()
    assert lis.stats.malformed == 4
    assert {(sn, pin) for sn, pin, *_ in stored_identities(engine)} == {
        ("MAL1", "1"), ("MAL1", "5"), ("MAL2", "9")}


def test_command_delivered_twice_runs_once_and_is_recorded_once(engine: Engine,
                                                                broker: Broker) -> None:
    add_push_devices(engine, "mqtt", ["TWICE1"])
    lis = MqttListener(engine, port=broker.port, client_id="hub-twice",
                       command_poll_s=3600).start()
    assert lis.connected.wait(10)
    term = MqttTerminal("TWICE1", port=broker.port).start()
    assert term.connected.wait(10)
    with session_scope(engine) as s:
        dev = s.scalar(select(Device).where(Device.serial == "TWICE1"))
        cid = service.enqueue(s, dev, "user.upsert", {"user": {"id": "5", "name": "Eka"}},
                              "test").id
    assert lis.send_due_commands() == 1
    with engine.connect() as conn:
        row = conn.execute(select(DeviceCommand)).one()
    # The broker delivers the same command again (QoS 1 redelivery): same id, same bytes.
    again = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="twice-raw")
    again.connect("127.0.0.1", broker.port)
    again.loop_start()
    again.publish(proto.topic("TWICE1", "cmd"), proto.format_cmd(
        f"c-{cid}", row.op, unseal_tree(row.payload), row.created_at, row.expires_at), qos=1
    ).wait_for_publish(5)
    assert wait_for(lambda: lis.stats.results_recorded + lis.stats.results_ignored == 2, 10)
    again.disconnect()
    again.loop_stop()
    term.stop()
    lis.stop()
    assert term.state.executions == {f"c-{cid}": 1}
    assert term.state.users == {"5": {"id": "5", "name": "Eka"}}
    assert (lis.stats.results_recorded, lis.stats.results_ignored) == (1, 1)
    with engine.connect() as conn:
        row = conn.execute(select(DeviceCommand)).one()
    assert (row.status, row.attempts, row.result["status"]) == ("done", 1, "done")


def test_fleet_day_10_mqtt_20_adms_through_broker_and_hub_restarts(engine: Engine,
                                                                   broker: Broker) -> None:
    """Must-show: the store equals the terminals' ground truth exactly."""
    tag = uuid.uuid4().hex[:4].upper()
    m_sns = [f"MQ{tag}{i:02d}" for i in range(10)]
    a_sns = [f"AD{tag}{i:02d}" for i in range(20)]
    add_push_devices(engine, "mqtt", m_sns, tz="Asia/Makassar")
    add_push_devices(engine, "adms", a_sns)
    records = {sn: day_of_punches(sn, DAY, staff=40) for sn in m_sns + a_sns}
    total = sum(len(r) for r in records.values())
    lis = MqttListener(engine, port=broker.port, client_id="hub-fleet").start()
    assert lis.connected.wait(10)
    srv = AdmsServer(engine).start()
    stop = threading.Event()
    rate = 20.0  # each terminal records its day over about 5 s
    results: dict[str, object] = {}
    threads = [threading.Thread(target=lambda sn=sn: results.__setitem__(sn, run_mqtt_terminal(
                   sn, records[sn], stop, port=broker.port, rate_per_s=rate, batch=20,
                   drain_timeout_s=40))) for sn in m_sns]
    threads += [threading.Thread(target=lambda sn=sn: results.__setitem__(sn, run_adms_terminal(
                    sn, srv.url, records[sn], stop, rate_per_s=rate, poll_s=0.2, batch=20,
                    drain_timeout_s=40))) for sn in a_sns]
    for th in threads:
        th.start()
    time.sleep(1.5)
    broker.stop()  # broker restart in the middle
    time.sleep(1.0)
    broker.start()
    time.sleep(1.0)
    lis.kill()  # hub restart in the middle: MQTT listener and ADMS server both die
    srv.stop()
    time.sleep(1.0)
    lis = MqttListener(engine, port=broker.port, client_id="hub-fleet").start()
    srv = AdmsServer(engine, port=srv.port).start()
    stop.set()
    for th in threads:
        th.join(timeout=120)
    lis.stop()
    srv.stop()
    left = {sn: r.outbox() for sn, r in results.items() if r.outbox()}  # type: ignore[attr-defined]
    assert not left, (left, lis.stats)
    assert stored_identities(engine) == truth(records)
    seen, new, dup = ingest_totals(engine)
    assert count_punches(engine) == new == total
    assert seen == new + dup
    with engine.connect() as conn:
        tz = dict(conn.execute(select(Device.kind, Device.tz).distinct()).all())
    assert tz == {"mqtt": "Asia/Makassar", "adms": "Asia/Jakarta"}


def test_adms_terminal_resends_until_ok(engine: Engine) -> None:
    add_push_devices(engine, "adms", ["RS1"])
    srv = AdmsServer(engine).start()
    port = srv.port
    srv.stop()
    term = AdmsTerminal("RS1", f"http://127.0.0.1:{port}", batch=7, error_delay_s=0.01)
    recs = day_of_punches("RS1", DAY, staff=10)
    for rec in recs:
        term.punch(rec)
    term.step()
    assert term.outbox() == len(recs) and term.posts_ok == 0
    srv = AdmsServer(engine, port=port).start()
    assert wait_for(lambda: (term.step() or True) and term.outbox() == 0, 20, 0.01)
    srv.stop()
    term.close()
    assert count_punches(engine) == len(recs)
    assert term.posts_ok == -(-len(recs) // 7)
