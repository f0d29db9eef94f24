"""`hub push` commands on SQLite and PostgreSQL, and the Mosquitto credential/ACL example
enforced by a real private broker."""

from __future__ import annotations

import getpass
import json
import os
import shutil
import subprocess
import time
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from sqlalchemy import Engine, select
from typer.testing import CliRunner

from hub.cli.main import app
from hub.config import Settings
from hub.push import service
from hub.push.models import DeviceCommand
from hub.store.models import Device
from tests.push_fixtures import IN_CI, add_push_devices, free_port, wait_port

REPO = Path(__file__).resolve().parent.parent
runner = CliRunner()


def _run(*args: str) -> str:
    result = runner.invoke(app, list(args), env={"HUB_LANGUAGE": "id", "COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    return result.output


def test_pending_approve_commands(settings: Settings, engine: Engine) -> None:
    service.hold_unknown(engine, "NEWSN1", "mqtt", {"tz": "Asia/Jayapura"})
    rows = json.loads(_run("push", "pending", "--format", "json"))
    assert [(r["serial"], r["channel"], r["status"]) for r in rows] == [
        ("NEWSN1", "mqtt", "pending")]
    assert "disetujui" in _run("push", "approve", "NEWSN1")
    with engine.connect() as conn:
        dev = conn.execute(select(Device.kind, Device.tz).where(Device.serial == "NEWSN1")).one()
    assert tuple(dev) == ("mqtt", "Asia/Jayapura")
    bad = runner.invoke(app, ["push", "approve", "NEWSN1"], env={"HUB_LANGUAGE": "id"})
    assert bad.exit_code == 1 and "sudah disetujui" in bad.output
    _run("push", "command-send", "NEWSN1", "user.upsert", "--data",
         '{"user":{"id":"1001","name":"Ani"}}')
    bad = runner.invoke(app, ["push", "command-send", "NEWSN1", "user.upsert", "--data", "{x"])
    assert bad.exit_code == 1 and "JSON" in bad.output
    bad = runner.invoke(app, ["push", "command-send", "NEWSN1", "format.disk"])
    assert bad.exit_code == 1 and "format.disk" in bad.output
    rows = json.loads(_run("push", "commands", "--format", "json", "--device", "NEWSN1"))
    assert [(r["op"], r["status"], r["channel"]) for r in rows] == [
        ("user.upsert", "queued", "mqtt")]
    add_push_devices(engine, "adms", ["ADM1"])
    bad = runner.invoke(app, ["push", "command-send", "ADM1", "door.open"])
    assert bad.exit_code == 1 and "ADMS" in bad.output
    with engine.connect() as conn:
        assert conn.scalar(select(DeviceCommand.op)) == "user.upsert"


def test_mqtt_passwd_and_acl_example_on_a_real_broker(tmp_path: Path) -> None:
    exe = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    if not os.path.exists(exe) or shutil.which("mosquitto_passwd") is None:
        if IN_CI:
            pytest.fail("mosquitto / mosquitto_passwd missing; CI must run this test")
        pytest.skip("mosquitto / mosquitto_passwd missing")
    pw_file = tmp_path / "passwd"
    out = _run("push", "mqtt-passwd", "SN0001", "--file", str(pw_file))
    password = out.split("Sandi")[1].split(":", 1)[1].split()[0]
    subprocess.run(["mosquitto_passwd", "-b", str(pw_file), "hub", "hubpw"], check=True)
    port = free_port()
    conf = tmp_path / "m.conf"
    conf.write_text(f"listener {port} 127.0.0.1\nallow_anonymous false\nuser {getpass.getuser()}\n"
                    f"password_file {pw_file}\nacl_file {REPO / 'config/mosquitto/acl.example'}\n")
    proc = subprocess.Popen([exe, "-c", str(conf)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        wait_port(port)
        got: list[str] = []
        hub = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="hub-acl")
        hub.username_pw_set("hub", "hubpw")
        hub.on_message = lambda _c, _u, m: got.append(m.topic)
        hub.connect("127.0.0.1", port)
        hub.subscribe("hub/v1/devices/#", qos=1)
        hub.loop_start()
        term = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="SN0001")
        term.username_pw_set("SN0001", password)
        term.connect("127.0.0.1", port)
        term.loop_start()
        time.sleep(0.3)
        term.publish("hub/v1/devices/SN0001/events/punch", b"{}", qos=1).wait_for_publish(5)
        term.publish("hub/v1/devices/SN0002/events/punch", b"{}", qos=1).wait_for_publish(5)
        term.publish("hub/v1/devices/SN0001/cmd", b"{}", qos=1).wait_for_publish(5)
        time.sleep(0.5)
        assert got == ["hub/v1/devices/SN0001/events/punch"]
        refused: list[object] = []
        bad = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="SN0001x")
        bad.username_pw_set("SN0001", "wrong")
        bad.on_connect = lambda _c, _u, _f, rc, _p: refused.append(rc.is_failure)
        bad.connect("127.0.0.1", port)
        bad.loop_start()
        time.sleep(0.5)
        bad.loop_stop()
        assert refused == [True]
        for c in (hub, term):
            c.disconnect()
            c.loop_stop()
    finally:
        proc.terminate()
        proc.wait(10)


def test_push_simulate_fills_the_store_with_the_fleet_ground_truth(settings: Settings,
                                                                  engine: Engine) -> None:
    from hub.adapters.mqtt.listener import MqttListener
    from tests.push_fixtures import AdmsServer, Broker

    broker = Broker().start()
    srv = AdmsServer(engine).start()
    lis = MqttListener(engine, port=broker.port, client_id="hub-sim").start()
    try:
        assert lis.connected.wait(10)
        out = _run("push", "simulate", "--adms", "3", "--mqtt", "2", "--url", srv.url,
                   "--broker-port", str(broker.port), "--seconds", "2", "--staff", "6")
    finally:
        lis.stop()
        srv.stop()
        broker.close()
    recorded = int(out.split("Dicatat terminal:")[1].split(";")[0])
    stored = int(out.split("tersimpan di hub:")[1].split(".")[0])
    assert recorded == stored > 5 * 12 and "belum terkirim: 0" in out


def test_trust_commands(settings: Settings, engine: Engine) -> None:
    from hub.adapters.adms import trust
    from hub.push.models import PushTrust

    service.hold_unknown(engine, "ADMNEW", "adms", {"addr": "10.1.2.3"})
    service.hold_unknown(engine, "ADMNEW", "adms", {"addr": "10.1.2.9"})
    rows = json.loads(_run("push", "pending", "--format", "json"))
    assert rows[0]["from"] == "10.1.2.9"  # the address it calls from now
    out = _run("push", "approve", "ADMNEW")
    assert "10.1.2.9" in out
    bad = runner.invoke(app, ["push", "trust", "ADMNEW", "--source", "10.1.2.300"], env={"HUB_LANGUAGE": "id"})
    assert bad.exit_code == 1 and "10.1.2.300" in bad.output
    rows = {r["field"]: r["value"] for r in json.loads(_run("push", "trust", "ADMNEW", "--source",
                                                             "10.1.2.0/24", "--format", "json"))}
    assert rows["sources"] == "10.1.2.0/24" and rows["path_key"] == "tidak"
    out = _run("push", "trust", "ADMNEW", "--path-key", "new")
    key = out.split("/d/")[1].split("/")[0]
    with engine.connect() as conn:
        dev_id = conn.scalar(select(Device.id).where(Device.serial == "ADMNEW"))
        assert conn.scalar(select(PushTrust.path_key_hash)) == trust.key_hash(key)
    bad = runner.invoke(app, ["push", "trust", "ADMNEW", "--approve-source"], env={"HUB_LANGUAGE": "id"})
    assert bad.exit_code == 1 and "tidak ada alamat baru" in bad.output
    trust.count_refusal(engine, "adms", "ADMNEW", "source", "10.9.9.9")
    rows = json.loads(_run("push", "refusals", "--format", "json"))
    assert [(r["serial"], r["reason"], r["count"], r["from"]) for r in rows] == [
        ("ADMNEW", "source", 1, "10.9.9.9")]
    _run("push", "trust", "ADMNEW", "--path-key", "off", "--reset-registry")
    with engine.connect() as conn:
        assert conn.execute(select(PushTrust.path_key_hash, PushTrust.registry_code_enc)
                            .where(PushTrust.device_id == dev_id)).one() == (None, None)
    bad = runner.invoke(app, ["push", "trust", "NOPE"], env={"HUB_LANGUAGE": "id"})
    assert bad.exit_code == 1


def test_generated_acl_and_tls_on_a_real_broker(settings: Settings, engine: Engine, tmp_path: Path) -> None:
    """The ACL follows the registry: a registered terminal publishes under this hub's root,
    over TLS; a disabled one, an unregistered credential and a terminal writing another's
    topic reach nothing."""
    from datetime import date

    from sqlalchemy import func

    from hub.adapters.mqtt.listener import MqttListener
    from hub.adapters.mqtt.tls import TlsOptions
    from hub.push.models import PushRegistration
    from hub.simulator.mqtt import MqttTerminal
    from hub.simulator.terminal_state import day_of_punches
    from hub.store.models import RawPunch
    from tests.push_fixtures import count_punches, make_tls, wait_for

    exe = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    if not os.path.exists(exe) or shutil.which("mosquitto_passwd") is None:
        if IN_CI:
            pytest.fail("mosquitto / mosquitto_passwd missing; CI must run this test")
        pytest.skip("mosquitto / mosquitto_passwd missing")
    root = "kbb-test/hub/v1/devices"
    settings.mqtt.topic_root = root
    settings.mqtt.acl_file = str(tmp_path / "acl")
    add_push_devices(engine, "mqtt", ["ACL1", "ACL2"])
    _run("device", "edit", "ACL2", "--disable")  # rewrites the ACL (mqtt.acl_file is set)
    acl = (tmp_path / "acl").read_text()
    assert "user ACL1" in acl and "user ACL2" not in acl and f"topic write {root}/ACL1/events/+" in acl
    assert oct((tmp_path / "acl").stat().st_mode & 0o777) == "0o640"
    pw_file = tmp_path / "passwd"
    creds = {}
    for sn in ("ACL1", "ACL2", "ACL3"):  # ACL3 never registered
        out = _run("push", "mqtt-passwd", sn, "--file", str(pw_file))
        creds[sn] = out.split("Sandi")[1].split(":", 1)[1].split()[0]
    subprocess.run(["mosquitto_passwd", "-b", str(pw_file), "hub", "hubpw"], check=True)
    ca, cert, key = make_tls(tmp_path)
    port = free_port()
    conf = tmp_path / "m.conf"
    conf.write_text(f"per_listener_settings false\nallow_anonymous false\nuser {getpass.getuser()}\n"
                    f"password_file {pw_file}\nacl_file {tmp_path / 'acl'}\n"
                    f"listener {port} 127.0.0.1\ncafile {ca}\ncertfile {cert}\nkeyfile {key}\n")
    proc = subprocess.Popen([exe, "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    lis = terms = None
    try:
        wait_port(port)
        lis = MqttListener(engine, port=port, client_id="hub-tls", username="hub", password="hubpw",
                           root=root, tls=TlsOptions(ca_file=ca)).start()
        assert lis.connected.wait(10)
        terms = {sn: MqttTerminal(sn, port=port, username=sn, password=creds[sn], root=root, tls_ca=ca,
                                  resend_s=1.0).start() for sn in ("ACL1", "ACL2", "ACL3")}
        for t in terms.values():
            assert t.connected.wait(10)
        day = day_of_punches("ACL1", date(2026, 11, 20), staff=5)
        for t in terms.values():
            for rec in day:
                t.punch(rec)
        assert wait_for(lambda: (terms["ACL1"].pump() or True) and terms["ACL1"].outbox() == 0, 30)
        # ACL1 writing ACL9's topic: the broker drops it
        terms["ACL1"].client.publish(f"{root}/ACL9/events/punch", b"{}", qos=1).wait_for_publish(5)
        for _ in range(10):
            for sn in ("ACL2", "ACL3"):
                terms[sn].pump()
            time.sleep(0.1)
        assert count_punches(engine) == len(day)  # only ACL1's, once
        assert terms["ACL2"].outbox() == len(day) and terms["ACL3"].outbox() == len(day)  # never acknowledged
        with engine.connect() as conn:
            assert set(conn.scalars(select(Device.serial).join(RawPunch, RawPunch.device_id == Device.id))) == {"ACL1"}
            # the hub never even heard them (else they would wait as pending registrations)
            assert conn.scalar(select(func.count()).select_from(PushRegistration)) == 0
        # plain TCP to the TLS listener gets nowhere
        plain = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="plain")
        plain.username_pw_set("hub", "hubpw")
        try:  # the broker speaks only TLS here: the connect fails, or never completes
            plain.connect("127.0.0.1", port, keepalive=5)
        except OSError:
            pass
        else:
            plain.loop_start()
            assert not wait_for(plain.is_connected, 2)
            plain.loop_stop()
    finally:
        for t in (terms or {}).values():
            t.stop()
        if lis:
            lis.stop()
        proc.terminate()
        proc.wait(10)
