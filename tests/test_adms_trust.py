"""Only the terminal itself is heard (issue 21 item 1): a pinned source address, a path key,
a PUSH 3.x session. Real uvicorn, real sockets; the forger calls from another loopback
address (127.0.0.2), which Linux routes like any other host. Every forged request must be
refused and leave every table as it was (except the refusal counter and IT's note)."""

from __future__ import annotations

import base64
import os
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine, select

from hub.adapters.adms import trust
from hub.peer import client_address, parse_networks
from hub.protocols import adms
from hub.push import service
from hub.push.models import DeviceCommand, EdgeRefusal, PushRegistration, PushStamp, PushTrust
from hub.service.health import StoreCollector
from hub.simulator.adms import AdmsTerminal
from hub.store.db import session_scope
from hub.store.models import Device
from tests.push_fixtures import AdmsServer, add_push_devices, count_punches, wait_for
from tests.store_helpers import table_snapshot

FACES = Path(os.environ.get("HUB_TEST_FACES", Path(__file__).resolve().parents[2] / "shared"
                            / "fixtures" / "faces"))
if not FACES.exists():
    FACES = Path("/work/shared/fixtures/faces")
JPEG = (FACES / "obama.jpg").read_bytes()
FORGER = "127.0.0.2"
NOTES = {"push_trust", "edge_refusals"}  # what a refusal may change


@pytest.fixture
def server(engine: Engine) -> Iterator[AdmsServer]:
    srv = AdmsServer(engine, resend_after=timedelta(seconds=1)).start()
    yield srv
    srv.stop()


def _client(server: AdmsServer, addr: str = "127.0.0.1", prefix: str = "") -> httpx.Client:
    return httpx.Client(base_url=server.url + prefix, timeout=10,
                        transport=httpx.HTTPTransport(local_address=addr))


@pytest.fixture
def real(server: AdmsServer) -> Iterator[httpx.Client]:
    with _client(server) as c:
        yield c


@pytest.fixture
def forger(server: AdmsServer) -> Iterator[httpx.Client]:
    with _client(server, FORGER) as c:
        yield c


def snapshot(engine: Engine) -> dict[str, list[tuple]]:
    return table_snapshot(engine, NOTES)


def refusals(engine: Engine) -> dict[tuple[str, str], int]:
    with engine.connect() as conn:
        return {(r.serial, r.reason): r.count for r in conn.execute(select(EdgeRefusal))}


def attlog(pin: str, when: str, state: int = 0) -> str:
    return f"{pin}\t{when}\t{state}\t15\t0\t0\t0\n"


def post(c: httpx.Client, sn: str, body: str, stamp: str = "1", **kw) -> httpx.Response:  # type: ignore[no-untyped-def]
    return c.post("/iclock/cdata", params={"SN": sn, "table": "ATTLOG", "Stamp": stamp},
                  content=body.encode(), **kw)


def face_command(engine: Engine, device_id: int) -> int:
    with session_scope(engine) as s:
        cmd = service.enqueue(s, s.get(Device, device_id), "face.set",
                              {"user_id": "1001", "photo": {"b64": base64.b64encode(JPEG).decode()}}, "test")
        return cmd.id


def test_a_forger_from_another_address_is_refused_and_changes_nothing(
        engine: Engine, real: httpx.Client, forger: httpx.Client) -> None:
    ids = add_push_devices(engine, "adms", ["PIN1"])
    assert post(real, "PIN1", attlog("1001", "2026-11-20 07:00:00"), "10").text == "OK: 1"
    with engine.connect() as conn:
        assert conn.scalar(select(PushTrust.sources).where(PushTrust.device_id == ids["PIN1"])) == "127.0.0.1"
    cmd_id = face_command(engine, ids["PIN1"])
    before = snapshot(engine)

    # forged punches, cursor poisoning, command download, forged confirmation
    r = forger.get("/iclock/cdata", params={"SN": "PIN1", "options": "all"})
    assert r.status_code == 403 and r.text.startswith("UN")  # "UN..." aborts a handshake (A.3)
    assert post(forger, "PIN1", attlog("1001", "2026-11-20 16:00:00", 1), "99").status_code == 403
    assert post(forger, "PIN1", attlog("1002", "2026-11-20 07:05:00"), str(adms.MAX_STAMP)).status_code == 403
    r = forger.get("/iclock/getrequest", params={"SN": "PIN1"})
    assert r.status_code == 403 and "BIOPHOTO" not in r.text and "Content=" not in r.text
    r = forger.post("/iclock/devicecmd", params={"SN": "PIN1"},
                    content=f"ID={cmd_id}&Return=0&CMD=DATA\n".encode())
    assert r.status_code == 403
    # a body is not even read: a huge one is refused the same way
    assert post(forger, "PIN1", "x" * 5_000_000).status_code == 403

    assert snapshot(engine) == before  # nothing stored, no cursor moved, command still queued
    assert count_punches(engine) == 1
    with engine.connect() as conn:
        assert conn.scalar(select(DeviceCommand.status).where(DeviceCommand.id == cmd_id)) == "queued"
        t = conn.execute(select(PushTrust.pending_source, PushTrust.pending_attempts)
                         .where(PushTrust.device_id == ids["PIN1"])).one()
    assert t.pending_source == FORGER and t.pending_attempts == 6
    assert refusals(engine) == {("PIN1", "source"): 6}
    metric = {m.name: m for m in StoreCollector(engine).collect()}["hub_edge_refused"]
    assert [(s.labels["serial"], s.labels["reason"], s.value) for s in metric.samples
            if s.name.endswith("_total")] == [("PIN1", "source", 6.0)]

    # the real terminal still gets its command and its confirmation counts
    r = real.get("/iclock/getrequest", params={"SN": "PIN1"})
    assert r.status_code == 200 and f"C:{cmd_id}:DATA UPDATE BIOPHOTO" in r.text
    assert real.post("/iclock/devicecmd", params={"SN": "PIN1"},
                     content=f"ID={cmd_id}&Return=0&CMD=DATA\n".encode()).text == "OK"
    with engine.connect() as conn:
        assert conn.scalar(select(DeviceCommand.status).where(DeviceCommand.id == cmd_id)) == "done"

    # IT accepts the new address (the unit moved): from then on it is heard
    with session_scope(engine) as s:
        assert trust.approve_source(s, ids["PIN1"], "it") == "127.0.0.1,127.0.0.2"
    assert post(forger, "PIN1", attlog("1001", "2026-11-20 16:00:00", 1), "11").text == "OK: 1"


def test_a_confirmation_for_a_command_never_delivered_is_ignored(engine: Engine, real: httpx.Client) -> None:
    ids = add_push_devices(engine, "adms", ["PIN2"])
    cmd_id = face_command(engine, ids["PIN2"])
    assert real.post("/iclock/devicecmd", params={"SN": "PIN2"},
                     content=f"ID={cmd_id}&Return=0&CMD=DATA\n".encode()).text == "OK"
    with engine.connect() as conn:
        assert conn.scalar(select(DeviceCommand.status).where(DeviceCommand.id == cmd_id)) == "queued"


def test_approval_pins_the_address_the_terminal_called_from(engine: Engine, server: AdmsServer,
                                                            real: httpx.Client) -> None:
    term = AdmsTerminal("NEW1", server.url, local_address=FORGER, error_delay_s=0.05)
    for m in range(5):
        term.punch(("2001", datetime(2026, 11, 20, 7, m), 0, 1))
    term.step()  # unknown: held, data stays on the terminal
    assert term.outbox() == 5 and count_punches(engine) == 0
    with session_scope(engine) as s:
        device = service.approve(s, "NEW1", "it")
        assert trust.pin_at_approval(s, device.id, "NEW1", "it") == FORGER
    before = snapshot(engine)
    assert post(real, "NEW1", attlog("2001", "2026-11-20 07:30:00")).status_code == 403
    assert snapshot(engine) == before
    assert wait_for(lambda: (term.step(), term.outbox() == 0)[1], timeout=20)
    assert count_punches(engine) == 5  # all of it, from the approved address only
    term.close()


def test_a_path_key_is_required_once_set(engine: Engine, server: AdmsServer, real: httpx.Client) -> None:
    ids = add_push_devices(engine, "adms", ["KEY1"])
    with session_scope(engine) as s:
        key = trust.set_path_key(s, ids["KEY1"], "it", on=True)
    assert key
    before = snapshot(engine)
    assert post(real, "KEY1", attlog("1", "2026-11-20 07:00:00")).status_code == 403
    with _client(server, prefix="/d/salah") as wrong:
        assert post(wrong, "KEY1", attlog("1", "2026-11-20 07:00:00")).status_code == 403
    assert snapshot(engine) == before
    assert refusals(engine) == {("KEY1", "path_key"): 2}
    term = AdmsTerminal("KEY1", f"{server.url}/d/{key}", error_delay_s=0.05)
    for m in range(3):
        term.punch(("1", datetime(2026, 11, 20, 7, m), 0, 1))
    assert wait_for(lambda: (term.step(), term.outbox() == 0)[1], timeout=20)
    assert count_punches(engine) == 3 and term.refusals == 0
    term.close()


def test_push3_terminal_registers_once_and_works_in_its_session(
        engine: Engine, server: AdmsServer, real: httpx.Client) -> None:
    ids = add_push_devices(engine, "adms", ["SF1"])
    term = AdmsTerminal("SF1", server.url, push3=True, error_delay_s=0.05)
    for m in range(40):
        term.punch((str(3000 + m), datetime(2026, 11, 20, 7, m), 0, 15))
    assert wait_for(lambda: (term.step(), term.outbox() == 0)[1], timeout=20)
    assert count_punches(engine) == 40 and term.registry_code and term.session_id
    with engine.connect() as conn:
        caps = conn.scalar(select(Device.capabilities).where(Device.id == ids["SF1"]))
    assert caps["push3"]["~DeviceName"] == "SpeedFace-V5L"

    # same address, no or a wrong token: refused; a second registration too
    before = snapshot(engine)
    assert post(real, "SF1", attlog("3999", "2026-11-20 09:00:00")).status_code == 401
    assert post(real, "SF1", attlog("3999", "2026-11-20 09:00:00"),
                headers={"Cookie": "token=" + "0" * 32}).status_code == 401
    cmd_id = face_command(engine, ids["SF1"])
    before = snapshot(engine)
    assert real.get("/iclock/getrequest", params={"SN": "SF1"}).status_code == 401
    assert real.post("/iclock/devicecmd", params={"SN": "SF1"},
                     content=f"ID={cmd_id}&Return=0&CMD=DATA\n".encode()).status_code == 401
    r = real.post("/iclock/registry", params={"SN": "SF1"}, content=b"DeviceType=att")
    assert r.status_code == 403 and "RegistryCode" not in r.text
    assert snapshot(engine) == before
    assert refusals(engine) == {("SF1", "session"): 4, ("SF1", "registered"): 1}

    # a forger asking /iclock/push for sessions learns nothing usable and cannot cut the
    # terminal off: it renews its own session and delivers everything
    for _ in range(3):
        sid = adms.parse_kv_reply(real.post("/iclock/push", params={"SN": "SF1"}).text)["SessionID"]
        assert post(real, "SF1", attlog("3999", "2026-11-20 09:00:00"),
                    headers={"Cookie": "token=" + adms.session_token("guess", "SF1", sid)}).status_code == 401
    for m in range(10):
        term.punch((str(3100 + m), datetime(2026, 11, 20, 10, m), 0, 15))
    assert wait_for(lambda: (term.step(), term.outbox() == 0)[1], timeout=20)
    assert count_punches(engine) == 50
    assert wait_for(lambda: (term.step(), _status(engine, cmd_id) == "done")[1], timeout=20)
    term.close()


def _status(engine: Engine, cmd_id: int) -> str:
    with engine.connect() as conn:
        return conn.scalar(select(DeviceCommand.status).where(DeviceCommand.id == cmd_id))


def test_an_unknown_push3_terminal_is_held_and_gets_no_code(engine: Engine, real: httpx.Client) -> None:
    r = real.post("/iclock/registry", params={"SN": "UNK3"}, content=b"DeviceType=att,FirmVer=x")
    assert r.status_code == 503 and "RegistryCode" not in r.text
    with engine.connect() as conn:
        info = conn.scalar(select(PushRegistration.info).where(PushRegistration.serial == "UNK3"))
    assert info["push"] == "3" and info["FirmVer"] == "x"
    r = real.post("/iclock/registry", params={"SN": "UNK3"}, content=b"no pairs here")
    assert r.status_code == 400 and "registry item 1" in r.text


def test_the_cursor_only_moves_forward(engine: Engine, real: httpx.Client) -> None:
    add_push_devices(engine, "adms", ["STMP"])
    assert post(real, "STMP", attlog("1", "2026-11-20 07:00:00"), "500").text == "OK: 1"
    assert post(real, "STMP", attlog("1", "2026-11-20 07:01:00"), "20").text == "OK: 1"  # stored, cursor kept
    with engine.connect() as conn:
        assert conn.scalar(select(PushStamp.stamp)) == "500"
    opts = adms.parse_handshake_reply(real.get("/iclock/cdata", params={"SN": "STMP", "options": "all"}).text)
    assert opts["ATTLOGStamp"] == "500" and count_punches(engine) == 2


def test_a_trusted_proxy_says_who_called_and_no_one_else_can(engine: Engine, settings, real: httpx.Client
                                                            ) -> None:  # type: ignore[no-untyped-def]
    ids = add_push_devices(engine, "adms", ["PRX1", "PRX2"])
    spoof = {"X-Forwarded-For": "10.20.30.40"}
    assert post(real, "PRX1", attlog("1", "2026-11-20 07:00:00"), headers=spoof).text == "OK: 1"
    settings.web.trusted_proxies = "127.0.0.1"
    try:
        assert post(real, "PRX2", attlog("1", "2026-11-20 07:00:00"), headers=spoof).text == "OK: 1"
    finally:
        settings.web.trusted_proxies = ""
    with engine.connect() as conn:
        pins = dict(conn.execute(select(PushTrust.device_id, PushTrust.sources)).all())
    assert pins == {ids["PRX1"]: "127.0.0.1", ids["PRX2"]: "10.20.30.40"}


def test_client_address_believes_only_trusted_hops() -> None:
    proxies = parse_networks("10.0.0.0/8, 192.168.1.1")
    hdr = {"x-forwarded-for": "203.0.113.9, 10.1.1.1"}
    assert client_address("192.168.1.1", hdr, proxies) == "203.0.113.9"
    assert client_address("198.51.100.7", hdr, proxies) == "198.51.100.7"
    assert client_address("192.168.1.1", {}, proxies) == "192.168.1.1"
    assert client_address("192.168.1.1", hdr, []) == "192.168.1.1"


def test_sources_given_by_it_are_checked() -> None:
    assert trust.normalise_sources(" 10.1.2.3 , 10.9.0.0/16") == "10.1.2.3,10.9.0.0/16"
    assert trust.normalise_sources("*") == "*"
    with pytest.raises(ValueError, match="999.1.1.1"):
        trust.normalise_sources("999.1.1.1")
    with pytest.raises(ValueError):
        trust.normalise_sources(" , ")


def test_requests_at_once_learn_one_source(engine: Engine, server: AdmsServer) -> None:
    add_push_devices(engine, "adms", ["RACE"])
    codes: list[int] = []

    def one(addr: str) -> None:
        with _client(server, addr) as c:
            codes.append(post(c, "RACE", attlog("1", "2026-11-20 07:00:00")).status_code)

    threads = [threading.Thread(target=one, args=(a,)) for a in ("127.0.0.1", FORGER) * 4]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with engine.connect() as conn:
        pinned = conn.scalar(select(PushTrust.sources))
    assert pinned in ("127.0.0.1", FORGER)
    assert codes.count(200) == 4 and codes.count(403) == 4  # one address won, the other was refused
