"""Fixtures of the web console tests: a store per backend with users of every role,
a small fleet with punches, and a live uvicorn server on an ephemeral loopback port."""

from __future__ import annotations

import re
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import httpx
import pytest
import uvicorn
from argon2 import PasswordHasher
from cryptography.fernet import Fernet
from sqlalchemy.orm import Session

from hub.config import Settings, set_settings
from hub.punch import PunchFlag
from hub.store.db import make_engine, reset_engines, session_scope
from hub.store.models import Device, Employee, IngestRun, PinMapping, RawPunch, Site, Template, utcnow
from hub.web import auth as web_auth
from hub.web.auth import add_user, bind_sites, find_user, new_api_token
from hub.web.models import ROLES

# Cheap argon2 parameters for the tests' many users and logins (the hub keeps the library's
# defaults); verification reads the parameters from each hash, so both kinds keep working.
web_auth._hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)

PASSWORD = "kata-sandi-uji"
DAY = datetime(2026, 10, 5)  # a Monday, in the past
MONTH = "2026-10"
USERS = {"it": "it1", "admin": "admin1", "operator": "op1", "verifier": "ver1", "bpkad": "bpk1",
         "reviewer": "rev1", "auditor": "aud1"}
OPERATOR_OFFICE = "OPD1"  # op1 works for OPD1 only
APPROVER = "rev2"  # a second reviewer: nobody approves their own correction


@dataclass
class WebEnv:
    settings: Settings
    tokens: dict[str, str] = field(default_factory=dict)  # username -> API token
    ids: dict[str, int] = field(default_factory=dict)

    def token(self, role: str) -> str:
        return self.tokens[USERS[role]]


def _punch(device: Device, pin: str, emp: Employee | None, local: datetime, state: str,
           flags: int = 0, run: IngestRun | None = None) -> RawPunch:
    return RawPunch(device_id=device.id, source="zk_tcp", pin=pin, employee_id=emp.id if emp else None,
                    local_time=local, tz=device.tz, utc_time=local - timedelta(hours=7), state=state,
                    verify="fingerprint", raw={}, flags=flags, ingest_run_id=run.id if run else None)


def seed(session: Session, env: WebEnv) -> None:
    """Two offices; one online and one offline terminal; three employees on 2026-10-05:
    Ani on time, Budi late with no check-out, Citra absent; one unknown PIN. The terminal
    holds nothing on October's other days but 2026-10-06: those days are TD (no data)."""
    opd1 = Site(code="OPD1", name="Dinas Kominfo", tz="Asia/Jakarta")
    opd2 = Site(code="OPD2", name="BPKAD", tz="Asia/Jakarta")
    session.add_all([opd1, opd2])
    session.flush()
    now = utcnow()
    on = Device(serial="SN-ON", name="Lobi Kominfo", kind="zk-tcp", host="127.0.0.1", port=4370,
                site_id=opd1.id, tz="Asia/Jakarta", capabilities={}, last_seen_at=now - timedelta(minutes=2),
                last_clock_offset_s=3.0, last_record_count=5)
    off = Device(serial="SN-OFF", name="Gudang BPKAD", kind="zk-udp", host="127.0.0.2", port=4370,
                 site_id=opd2.id, tz="Asia/Jakarta", capabilities={}, last_seen_at=now - timedelta(days=2),
                 last_clock_offset_s=-400.0, last_error="timeout: no reply from 127.0.0.2:4370")
    session.add_all([on, off])
    session.flush()
    run = IngestRun(device_id=on.id, source="zk_tcp", kind="pull", started_at=now - timedelta(minutes=3),
                    finished_at=now - timedelta(minutes=2), status="ok", records_seen=9, new=5, duplicate=4,
                    seconds=1.5, details={"record_count": 5})
    # The latest pull of SN-ON counted 9 records on the terminal, then lost the connection.
    failed = IngestRun(device_id=on.id, source="zk_tcp", kind="pull", started_at=now - timedelta(minutes=1),
                       finished_at=now - timedelta(minutes=1), status="error", records_seen=0,
                       error="connection reset while reading the log", details={"record_count": 9})
    session.add_all([run, failed, IngestRun(device_id=off.id, source="zk_udp", kind="pull", status="error",
                                            started_at=now - timedelta(days=2), error="timeout", details={})])
    session.flush()
    emps = {}
    for pin, name in (("1", "Ani"), ("2", "Budi"), ("3", "Citra")):
        e = Employee(id_number=f"19800101200501100{pin}", employment_type="pns", name=name,
                     site_id=opd1.id, monthly_tpp=3_000_000)
        session.add(e)
        session.flush()
        session.add(PinMapping(employee_id=e.id, pin=pin, pin_group="default"))
        emps[name] = e
    d = DAY
    # The flagged punches are second presses a minute after good ones: shown for review, they
    # change nothing of the day (a day they would change waits, TV: tests/test_recap_trust.py).
    session.add_all([
        _punch(on, "1", emps["Ani"], d.replace(hour=7, minute=20), "check_in", 0, run),
        _punch(on, "1", emps["Ani"], d.replace(hour=7, minute=21), "check_in", PunchFlag.CLOCK_SUSPECT, run),
        _punch(on, "1", emps["Ani"], d.replace(hour=16, minute=5), "check_out", 0, run),
        _punch(on, "2", emps["Budi"], d.replace(hour=7, minute=45), "check_in", 0, run),
        _punch(on, "2", emps["Budi"], d.replace(hour=7, minute=46), "check_in", PunchFlag.PHOTO_MISMATCH, run),
        _punch(on, "99", None, d.replace(hour=8), "check_in", PunchFlag.UNKNOWN_PIN, run),
        _punch(on, "1", emps["Ani"], (d + timedelta(days=1)).replace(hour=7, minute=25), "check_in", 0, run),
    ])
    for idx in (0, 1):
        session.add(Template(employee_id=emps["Ani"].id, kind="fingerprint", finger_index=idx, format="zk-fp10",
                             blob_enc=b"x", sha256="0" * 64, size=1))
    session.add(Template(employee_id=emps["Ani"].id, kind="face", finger_index=0, format="dlib128",
                         blob_enc=b"x", sha256="1" * 64, size=1))
    session.flush()
    env.ids.update({f"emp:{k}": v.id for k, v in emps.items()})
    env.ids.update({"site:OPD1": opd1.id, "dev:SN-ON": on.id})


def build_env(db_url: str, var_dir: Path) -> WebEnv:
    settings = Settings(database_url=db_url, var_dir=str(var_dir), secret_key=Fernet.generate_key().decode())
    set_settings(settings)
    env = WebEnv(settings)
    engine = make_engine(db_url)
    with session_scope(engine) as s:
        for role in ROLES:
            user = add_user(s, USERS[role], PASSWORD, role)
            env.tokens[user.username] = new_api_token(s, user, "tests")
        rev2 = add_user(s, APPROVER, PASSWORD, "reviewer")
        env.tokens[APPROVER] = new_api_token(s, rev2, "tests")
        seed(s, env)
        bind_sites(s, find_user(s, USERS["operator"]), [OPERATOR_OFFICE])
    engine.dispose()
    return env


def _store(request: pytest.FixtureRequest, backend: str, tmp: Path) -> tuple[str, object]:
    """A fresh migrated store (copied from the session's template) and its clean-up."""
    if backend == "sqlite":
        path = tmp / "hub.sqlite3"
        path.write_bytes(request.getfixturevalue("sqlite_template").read_bytes())
        return f"sqlite:///{path}", lambda: None
    dbs = request.getfixturevalue("pg_databases")
    url = dbs.create(template=request.getfixturevalue("pg_template"))
    return url, lambda: dbs.drop(url.rsplit("/", 1)[1])


@pytest.fixture(params=["sqlite", "postgresql"])
def web_env(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[WebEnv]:
    """A seeded store on each backend (per test: tests may change it)."""
    url, cleanup = _store(request, request.param, tmp_path)
    env = build_env(url, tmp_path / "var")
    yield env
    set_settings(None)
    reset_engines()
    cleanup()  # type: ignore[operator]


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def shared_web_env(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebEnv]:
    """One seeded store per backend for a whole module (read-mostly tests, e.g. the matrix)."""
    tmp = tmp_path_factory.mktemp("web")
    url, cleanup = _store(request, request.param, tmp)
    env = build_env(url, tmp / "var")
    yield env
    set_settings(None)
    reset_engines()
    cleanup()  # type: ignore[operator]


def csrf_of(html: str) -> str:
    m = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert m, "no CSRF token in the page"
    return m.group(1)


def login(client: httpx.Client, username: str, password: str = PASSWORD) -> str:
    """Sign in through the login form; returns the session's CSRF token."""
    page = client.get("/login")
    r = client.post("/login", data={"username": username, "password": password,
                                    "csrf_token": csrf_of(page.text), "next": ""}, follow_redirects=False)
    assert r.status_code == 303 and "/login" not in r.headers["location"], r.text
    home = client.get(r.headers["location"])
    assert home.status_code == 200, (home.status_code, home.headers, r.headers)
    return csrf_of(home.text)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LiveServer:
    """uvicorn serving an app in a thread on 127.0.0.1 (real HTTP, real sockets)."""

    def __init__(self, app) -> None:  # type: ignore[no-untyped-def]
        self.port = free_port()
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port,
                                                    log_level="warning", lifespan="on"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
