"""Helpers for the push tests: a real uvicorn ADMS server, a private Mosquitto, devices."""

from __future__ import annotations

import contextlib
import getpass
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from datetime import timedelta

import pytest
import uvicorn
from sqlalchemy import Engine, select

from hub.adapters.adms.app import create_app
from hub.fleet.registry import DeviceSpec, add_device
from hub.store.db import session_scope
from hub.store.models import RawPunch

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
SYSTEM_BROKER = ("127.0.0.1", 1883)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port}")


def require_broker() -> None:
    try:
        socket.create_connection(SYSTEM_BROKER, 1).close()
    except OSError as exc:
        if IN_CI:
            pytest.fail(f"Mosquitto not reachable at 127.0.0.1:1883 ({exc}); CI must run MQTT")
        pytest.skip(f"Mosquitto not reachable at 127.0.0.1:1883: {exc}")


class AdmsServer:
    """The ADMS app under a real uvicorn on an ephemeral port; can be stopped and restarted."""

    def __init__(self, engine: Engine, port: int | None = None,
                 resend_after: timedelta = timedelta(seconds=2), part_rows: int | None = None) -> None:
        self.engine = engine
        self.part_rows = part_rows
        self.port = port or free_port()
        self.resend_after = resend_after
        self.server: uvicorn.Server | None = None
        self.thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> AdmsServer:
        app = create_app(self.engine, delay_s=1, resend_after=self.resend_after,
                         **({"part_rows": self.part_rows} if self.part_rows else {}))
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning", proxy_headers=False,
                                lifespan="off")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started and time.monotonic() < deadline:
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        if self.server:
            self.server.should_exit = True
        if self.thread:
            self.thread.join(timeout=10)


class Broker:
    """A private mosquitto on a free port (never the system broker): kill and restart it."""

    def __init__(self) -> None:
        if shutil.which("mosquitto") is None and not os.path.exists("/usr/sbin/mosquitto"):
            if IN_CI:
                pytest.fail("mosquitto binary missing; CI must run the broker tests")
            pytest.skip("mosquitto binary missing")
        self.port = free_port()
        self.dir = tempfile.mkdtemp(prefix="hub-mosq-")
        self.conf = os.path.join(self.dir, "mosquitto.conf")
        with open(self.conf, "w") as fh:
            # `user`: as root, mosquitto would drop to a user that cannot write here.
            fh.write(f"listener {self.port} 127.0.0.1\nallow_anonymous true\n"
                     f"user {getpass.getuser()}\n"
                     f"persistence true\npersistence_location {self.dir}/\n"
                     "autosave_interval 1\nmax_queued_messages 100000\n")
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> Broker:
        exe = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
        self.proc = subprocess.Popen([exe, "-c", self.conf], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        wait_port(self.port)
        return self

    def stop(self) -> None:
        """SIGTERM: mosquitto saves its persistence file (sessions, queued QoS 1)."""
        if self.proc:
            self.proc.terminate()
            self.proc.wait(timeout=10)
            self.proc = None

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


def private_broker() -> Iterator[Broker]:
    """Body of a `broker` fixture: a private mosquitto for the test, removed after it."""
    b = Broker().start()
    yield b
    b.close()


def add_push_devices(engine: Engine, kind: str, serials: list[str],
                     tz: str = "Asia/Jakarta") -> dict[str, int]:
    with session_scope(engine) as s:
        return {sn: add_device(s, DeviceSpec(serial=sn, kind=kind, tz=tz)).id for sn in serials}


def stored_identities(engine: Engine) -> set[tuple]:
    from hub.store.models import Device

    with engine.connect() as conn:
        rows = conn.execute(select(Device.serial, RawPunch.pin, RawPunch.local_time,
                                   RawPunch.state, RawPunch.verify)
                            .join(Device, Device.id == RawPunch.device_id)).all()
    return {tuple(r) for r in rows}


def count_punches(engine: Engine) -> int:
    from sqlalchemy import func

    with engine.connect() as conn:
        return conn.scalar(select(func.count()).select_from(RawPunch)) or 0


def wait_for(pred, timeout: float = 30.0, every: float = 0.1) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(every)
    return bool(pred())


def forget_on_broker(client_ids: list[str], serials: list[str], host: str = "127.0.0.1",
                     port: int = 1883, root: str | None = None) -> None:
    """Leave the shared broker as found: drop persistent sessions and retained messages."""
    import paho.mqtt.client as mqtt

    from hub.protocols import mqtt as proto
    from hub.simulator.mqtt import client_id_of

    for cid in client_ids + [client_id_of(sn, root or proto.ROOT) for sn in serials]:
        c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=cid, clean_session=True)
        with contextlib.suppress(OSError):
            c.connect(host, port, 5)
            c.loop_start()
            time.sleep(0.05)
            c.disconnect()
            c.loop_stop()
    c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="", clean_session=True)
    with contextlib.suppress(OSError):
        c.connect(host, port, 5)
        c.loop_start()
        for sn in serials:
            for channel in ("status", "info"):
                c.publish(proto.topic(sn, channel, root or proto.ROOT), b"", qos=1,
                          retain=True).wait_for_publish(2)
        c.disconnect()
        c.loop_stop()


def make_tls(directory: str | os.PathLike) -> tuple[str, str, str]:
    """A throwaway CA and a server certificate for 127.0.0.1 signed by it: (ca, cert, key)."""
    import datetime as dt
    import ipaddress
    from pathlib import Path

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    d = Path(directory)
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "hub test CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name)
          .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
          .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=1))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
            .issuer_name(ca_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .sign(ca_key, hashes.SHA256()))
    paths = d / "ca.crt", d / "server.crt", d / "server.key"
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return tuple(str(p) for p in paths)  # type: ignore[return-value]
