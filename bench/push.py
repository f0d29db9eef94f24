"""Push benchmark: sustained punches/s into the store over MQTT QoS 1 and over ADMS HTTP.

In one run, on a private Mosquitto (never the system broker) and a uvicorn ADMS server:
  * broker ceiling: the same punch messages (same batches, QoS 1, same publishers) to a
    subscriber that does nothing: what the broker alone sustains;
  * MQTT: simulated terminals -> Mosquitto -> hub listener -> store, counted as done when
    every punch is acknowledged by the hub (after commit);
  * ADMS: simulated terminals POST ATTLOG batches until `OK`; beside it the same bodies
    POSTed to an endpoint that does nothing (HTTP ceiling).
Every figure ends with a count check: `lost` is punches recorded by the terminals that are
not in the store. Usage: python bench/push.py [--punches N] [--terminals K] [--pg]
"""

from __future__ import annotations

import argparse
import getpass
import logging
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx  # noqa: E402
import paho.mqtt.client as mqtt  # noqa: E402
import uvicorn  # noqa: E402
from fastapi import FastAPI, Request  # noqa: E402
from fastapi.responses import PlainTextResponse  # noqa: E402
from sqlalchemy import create_engine, func, select, text  # noqa: E402

from hub.adapters.adms.app import create_app  # noqa: E402
from hub.adapters.mqtt.listener import MqttListener  # noqa: E402
from hub.fleet.registry import DeviceSpec, add_device  # noqa: E402
from hub.protocols import adms as adms_proto  # noqa: E402
from hub.protocols import mqtt as proto  # noqa: E402
from hub.simulator.adms import AdmsTerminal  # noqa: E402
from hub.simulator.mqtt import MqttTerminal  # noqa: E402
from hub.store.db import make_engine, session_scope, upgrade  # noqa: E402
from hub.store.models import Device, RawPunch  # noqa: E402

PG_ADMIN = os.environ.get("HUB_TEST_POSTGRES_URL",
                          "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int) -> None:
    for _ in range(200):
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise SystemExit(f"nothing listens on 127.0.0.1:{port}")


def records(serial_no: int, n: int) -> list[tuple[str, datetime, int, int]]:
    base = datetime(2026, 11, 2, 6, 0) + timedelta(days=serial_no)
    return [(str(1000 + i % 400), base + timedelta(seconds=i * 3), i % 2, 15) for i in range(n)]


class Uvicorn:
    def __init__(self, app: FastAPI) -> None:
        self.port = free_port()
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port,
                                                    log_level="error", lifespan="off"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        wait_port(self.port)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)


def broker_ceiling(port: int, k: int, per: int, batch: int) -> float:
    """The hub's message shapes through the broker to a subscriber that does nothing."""
    expected = k * (-(-per // batch))
    got = 0
    done = threading.Event()
    lock = threading.Lock()

    def on_message(*_a: object) -> None:
        nonlocal got
        with lock:
            got += 1
            if got >= expected:
                done.set()

    sub = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="bench-null",
                      clean_session=True)
    sub.on_message = on_message
    sub.connect("127.0.0.1", port)
    sub.subscribe(f"{proto.ROOT}/+/events/punch", qos=1)
    sub.loop_start()
    time.sleep(0.3)
    payloads = []
    for t in range(k):
        sn = f"CEIL{t:03d}"
        recs = records(t, per)
        payloads.append((sn, [proto.format_punch_batch(
            [proto.format_punch(sn, i + 1, p, w, "face", "check_in")
             for i, (p, w, _s, _v) in enumerate(recs[s:s + batch], start=s)])
            for s in range(0, per, batch)]))
    pubs = []
    for sn, _ in payloads:
        c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=sn, clean_session=True)
        c.max_inflight_messages_set(400)
        c.connect("127.0.0.1", port)
        c.loop_start()
        pubs.append(c)
    time.sleep(0.3)
    t0 = time.perf_counter()

    def publish(c: mqtt.Client, sn: str, msgs: list[bytes]) -> None:
        for m in msgs:
            c.publish(proto.topic(sn, "events/punch"), m, qos=1)

    threads = [threading.Thread(target=publish, args=(c, sn, msgs))
               for c, (sn, msgs) in zip(pubs, payloads, strict=True)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    done.wait(300)
    elapsed = time.perf_counter() - t0
    for c in [*pubs, sub]:
        c.disconnect()
        c.loop_stop()
    if got < expected:
        print(f"broker ceiling: only {got}/{expected} messages arrived", file=sys.stderr)
    return k * per / elapsed


def stored(engine, serials: list[str]) -> int:  # type: ignore[no-untyped-def]
    with engine.connect() as conn:
        return conn.scalar(select(func.count()).select_from(RawPunch).join(
            Device, Device.id == RawPunch.device_id).where(Device.serial.in_(serials))) or 0


def bench_mqtt(engine, port: int, k: int, per: int, batch: int) -> tuple[float, int, int]:  # type: ignore[no-untyped-def]
    serials = [f"MQB{t:03d}" for t in range(k)]
    with session_scope(engine) as s:
        for sn in serials:
            add_device(s, DeviceSpec(serial=sn, kind="mqtt"))
    lis = MqttListener(engine, port=port, client_id="hub-bench").start()
    lis.connected.wait(10)
    terms = [MqttTerminal(sn, port=port, batch=batch, resend_s=30.0, window=4000).start()
             for sn in serials]
    for t in terms:
        t.connected.wait(10)
        for rec in records(serials.index(t.serial), per):
            t.punch(rec)
    t0 = time.perf_counter()

    def drain(t: MqttTerminal) -> None:
        while t.outbox():
            t.pump()
            time.sleep(0.01)

    threads = [threading.Thread(target=drain, args=(t,)) for t in terms]
    for th in threads:
        th.start()
    for th in threads:
        th.join(600)
    elapsed = time.perf_counter() - t0
    resent = sum(t.published for t in terms) - k * per
    for t in terms:
        t.stop()
    lis.stop()
    n = stored(engine, serials)
    return k * per / elapsed, k * per - n, resent


def bench_adms(engine, k: int, per: int, batch: int) -> tuple[float, int, float]:  # type: ignore[no-untyped-def]
    serials = [f"ADB{t:03d}" for t in range(k)]
    with session_scope(engine) as s:
        for sn in serials:
            add_device(s, DeviceSpec(serial=sn, kind="adms"))
    bodies = {sn: [adms_proto.format_attlog(records(100 + i, per)[s:s + batch])
                   for s in range(0, per, batch)] for i, sn in enumerate(serials)}

    # HTTP ceiling: the same POSTs to an endpoint that only answers OK.
    null = FastAPI()

    @null.post("/iclock/cdata")
    async def _ok(request: Request) -> PlainTextResponse:
        await request.body()
        return PlainTextResponse("OK")

    def post_all(url: str, sn: str) -> None:
        with httpx.Client(base_url=url, timeout=30) as c:
            for n, body in enumerate(bodies[sn], start=1):
                r = c.post("/iclock/cdata", params={"SN": sn, "table": "ATTLOG",
                                                    "Stamp": str(n)}, content=body)
                r.raise_for_status()

    def timed(url: str) -> float:
        t0 = time.perf_counter()
        threads = [threading.Thread(target=post_all, args=(url, sn)) for sn in serials]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        return k * per / (time.perf_counter() - t0)

    srv = Uvicorn(null)
    ceiling = timed(f"http://127.0.0.1:{srv.port}")
    srv.stop()
    srv = Uvicorn(create_app(engine))
    url = f"http://127.0.0.1:{srv.port}"
    terms = [AdmsTerminal(sn, url, batch=batch, error_delay_s=0.05) for sn in serials]
    for i, t in enumerate(terms):
        t.handshake()
        for rec in records(100 + i, per):
            t.punch(rec)
    t0 = time.perf_counter()

    def drain(t: AdmsTerminal) -> None:
        while t.outbox():
            t.step()

    threads = [threading.Thread(target=drain, args=(t,)) for t in terms]
    for th in threads:
        th.start()
    for th in threads:
        th.join(600)
    rate = k * per / (time.perf_counter() - t0)
    for t in terms:
        t.close()
    srv.stop()
    return rate, k * per - stored(engine, serials), ceiling


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--punches", type=int, default=40000, help="per channel")
    ap.add_argument("--terminals", type=int, default=10)
    ap.add_argument("--mqtt-batch", type=int, default=50)
    ap.add_argument("--adms-batch", type=int, default=100)
    ap.add_argument("--pg", action="store_true", help="PostgreSQL instead of SQLite")
    args = ap.parse_args()
    logging.basicConfig(level=logging.ERROR)
    k, per = args.terminals, args.punches // args.terminals

    tmp = tempfile.mkdtemp(prefix="hub-bench-push-")
    admin = None
    if args.pg:
        admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
        name = f"hubbench_{uuid.uuid4().hex[:8]}"
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        url = PG_ADMIN.rsplit("/", 1)[0] + f"/{name}"
    else:
        url = f"sqlite:///{tmp}/bench.sqlite3"
    upgrade(url)
    engine = make_engine(url)

    port = free_port()
    conf = Path(tmp) / "mosquitto.conf"
    conf.write_text(f"listener {port} 127.0.0.1\nallow_anonymous true\n"
                    f"user {getpass.getuser()}\nmax_queued_messages 1000000\n"
                    "max_inflight_messages 400\n")
    broker = subprocess.Popen([shutil.which("mosquitto") or "/usr/sbin/mosquitto", "-c",
                               str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_port(port)
        backend = "postgresql" if args.pg else "sqlite"
        print(f"backend={backend} terminals={k} punches_per_channel={k * per} "
              f"mqtt_batch={args.mqtt_batch} adms_batch={args.adms_batch}")
        ceiling = broker_ceiling(port, k, per, args.mqtt_batch)
        print(f"broker alone (QoS 1, null subscriber): {ceiling:,.0f} punches/s")
        mqtt_rate, mqtt_lost, resent = bench_mqtt(engine, port, k, per, args.mqtt_batch)
        print(f"MQTT -> store, acked after commit: {mqtt_rate:,.0f} punches/s "
              f"(lost {mqtt_lost}, re-sent {resent})")
        adms_rate, adms_lost, http_ceiling = bench_adms(engine, k, per, args.adms_batch)
        print(f"HTTP alone (same POSTs, endpoint answers OK): {http_ceiling:,.0f} punches/s")
        print(f"ADMS -> store, OK after commit: {adms_rate:,.0f} punches/s (lost {adms_lost})")
        print(f"backend: {backend}")
        print(f"mqtt_punches_per_s: {mqtt_rate:.0f}")
        print(f"broker_ceiling_per_s: {ceiling:.0f}")
        print(f"mqtt_ratio_to_ceiling: {mqtt_rate / ceiling:.2f}")
        print(f"adms_punches_per_s: {adms_rate:.0f}")
        print(f"adms_http_ceiling_per_s: {http_ceiling:.0f}")
        print(f"lost: {mqtt_lost + adms_lost}")
    finally:
        broker.terminate()
        broker.wait(10)
        engine.dispose()
        if admin is not None:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
