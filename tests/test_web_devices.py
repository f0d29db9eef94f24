"""IT runs terminals from the browser (issue 20, item 2): register with a connection test
first, edit with validation, switch off, retire or remove, and ask a terminal for work
(pull, full pull, set the clock, test and read capacity, restart) whose progress and answer
the terminal page shows in words. The same through the API. Against a simulated ZK terminal
on a real TCP port, on SQLite and PostgreSQL."""

from __future__ import annotations

import html
import re
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from hub.simulator.zk.server import start_in_thread
from hub.simulator.zk.terminal import Terminal
from hub.store.db import make_engine, session_scope
from hub.store.models import AuditLog, Device, JobRun, RawPunch, utcnow
from hub.web.app import create_app
from tests.web_fixtures import USERS, WebEnv, login, web_env  # noqa: F401
from tests.zk_fixtures import fill

pytestmark = pytest.mark.timeout(180)


@pytest.fixture
def terminal(tmp_path: Path) -> Iterator[tuple[Terminal, object]]:
    term = Terminal.create(tmp_path / "sim.sqlite3", "tft", serial="SIM-W1")
    fill(term, users=20, records=30)
    srv = start_in_thread(term, reboot_s=0.2)
    yield term, srv
    srv.stop()


def _csrf(page: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]


def _settled(c: TestClient, serial: str, lang: str = "id", timeout_s: float = 60.0) -> str:
    """The terminal page once no task is queued or running (the page refreshes itself until then)."""
    deadline = time.monotonic() + timeout_s
    while True:
        page = c.get(f"/devices/{serial}", params={"lang": lang}).text
        if 'id="busy"' not in page:
            return page
        assert time.monotonic() < deadline, "task did not finish"
        assert '<meta http-equiv="refresh"' in page  # the page refreshes itself meanwhile
        time.sleep(0.2)


def _tasks(page: str) -> list[tuple[str, str, str]]:
    """(task, status, outcome) rows of the terminal's task table, newest first."""
    body = page.split('id="task-table"', 1)[1].split("</table>", 1)[0]
    return [tuple(html.unescape(re.sub(r"<[^>]+>", "", c)).strip() for c in (cells[1], cells[4], cells[5]))
            for cells in (re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
                          for row in re.findall(r"<tr class=\"task-.*?</tr>", body, re.S))]


def test_it_registers_tests_works_and_retires_a_terminal(web_env: WebEnv, terminal) -> None:  # noqa: F811
    term, srv = terminal
    port = str(srv.port)
    with TestClient(create_app(web_env.settings)) as c:
        login(c, USERS["it"])
        csrf = _csrf(c.get("/devices/new").text)
        form = {"csrf_token": csrf, "serial": "SIM-W1", "kind": "zk-tcp", "name": "Lobi Dinkes", "site": "OPD1",
                "host": "127.0.0.1", "port": port, "tz": "Asia/Jakarta", "pin_group": "default"}
        # test before saving: who answers there, and nothing is stored yet
        page = c.post("/devices/new", data={**form, "do": "test"}).text
        probe = re.search(r'id="probe">(.*?)</p>', page, re.S).group(1)  # type: ignore[union-attr]
        assert "terhubung" in probe and "nomor seri SIM-W1" in probe and "20/" in probe and "30/" in probe
        assert "firmware Ver" in probe and "selisih jam" in probe
        assert c.get("/devices/SIM-W1").status_code == 404
        bad = c.post("/devices/new", data={**form, "do": "test", "host": "999.1.1.1"})
        assert bad.status_code == 422 and "bukan IP atau nama host yang sah" in bad.text
        nobody = c.post("/devices/new", data={**form, "do": "test", "port": "1"}).text
        assert "gagal" in re.search(r'id="probe">(.*?)</p>', nobody, re.S).group(1)  # type: ignore[union-attr]
        assert "periksa daya, kabel jaringan" in nobody  # what to do next
        # save it, then ask it for work
        r = c.post("/devices/new", data={**form, "do": "save"}, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == "/devices/SIM-W1"
        for task in ("probe", "pull", "sync_time"):
            r = c.post("/devices/SIM-W1/task", data={"csrf_token": csrf, "task": task}, follow_redirects=False)
            assert r.status_code == 303
        page = _settled(c, "SIM-W1")
        rows = _tasks(page)
        assert [(t, s) for t, s, _ in rows] == [("Setel jam", "selesai"), ("Tarik sekarang", "selesai"),
                                                 ("Uji koneksi & baca kapasitas", "selesai")]
        assert rows[1][2] == "30 catatan dibaca, 30 baru, 0 sudah tersimpan"
        assert rows[0][2].startswith("jam disetel (sebelumnya selisih")
        assert "nomor seri SIM-W1" in rows[2][2]
        assert re.search(r'id="capacity">\s*20/\d+ pengguna', page)  # the capacity it read
        en = _tasks(_settled(c, "SIM-W1", "en"))
        assert en[1] == ("Pull now", "done", "30 records read, 30 new, 0 already stored")
        # a restart needs its confirmation; then it goes out and the unit reboots
        c.post("/devices/SIM-W1/task", data={"csrf_token": csrf, "task": "restart"})
        assert _tasks(_settled(c, "SIM-W1"))[0][0] == "Setel jam"  # nothing was queued
        c.post("/devices/SIM-W1/task", data={"csrf_token": csrf, "task": "restart", "confirm": "1"})
        assert _tasks(_settled(c, "SIM-W1"))[0][1:] == (
            "selesai", "perintah mulai ulang terkirim; terminal kembali dalam sekitar satu menit")
        assert srv.server.rebooting_until > 0
        time.sleep(0.4)  # back up: a full pull reads everything again and stores nothing twice
        c.post("/devices/SIM-W1/task", data={"csrf_token": csrf, "task": "pull_full"})
        assert _tasks(_settled(c, "SIM-W1"))[0][2] == "30 catatan dibaca, 0 baru, 30 sudah tersimpan"
        refused = c.post("/devices/SIM-W1/task", data={"csrf_token": csrf, "task": "format"})
        assert refused.status_code == 422 and "tidak dikenal" in refused.text

        # edit: validated as a whole, the reason in the form; the comm key never echoed
        bad = c.post("/devices/SIM-W1/edit", data={"csrf_token": csrf, "name": "x", "port": "99999",
                                                   "comm_key": "123"})
        assert bad.status_code == 422 and "port 99999 di luar 1-65535" in bad.text and "123" not in bad.text
        r = c.post("/devices/SIM-W1/edit", data={"csrf_token": csrf, "name": "Lobi Dinkes Baru", "site": "OPD1",
                                                 "host": "127.0.0.1", "port": port, "tz": "Asia/Makassar",
                                                 "pin_group": "default"}, follow_redirects=False)
        assert r.status_code == 303
        page = c.get("/devices/SIM-W1/edit").text
        assert 'value="Lobi Dinkes Baru"' in page and 'value="Asia/Makassar" selected' in page
        # switch off and on
        c.post("/devices/SIM-W1/enabled", data={"csrf_token": csrf, "enabled": "0"})
        assert 'id="toggle">Aktifkan' in c.get("/devices/SIM-W1").text
        # with stored punches it can only be retired; its punches stay
        keep = c.post("/devices/SIM-W1/remove", data={"csrf_token": csrf})
        assert keep.status_code == 422 and "punch tersimpan" in keep.text
        c.post("/devices/SIM-W1/remove", data={"csrf_token": csrf, "retire": "1"})
        # a terminal registered by mistake (no punches) goes entirely
        c.post("/devices/new", data={**form, "serial": "SALAH-1", "do": "save"})
        r = c.post("/devices/SALAH-1/remove", data={"csrf_token": csrf}, follow_redirects=False)
        assert r.status_code == 303 and c.get("/devices/SALAH-1").status_code == 404
    engine = make_engine(web_env.settings.database_url)
    with session_scope(engine) as s:
        dev = s.scalar(select(Device).where(Device.serial == "SIM-W1"))
        assert dev is not None and dev.status == "retired" and not dev.enabled and dev.tz == "Asia/Makassar"
        assert s.scalar(select(func.count()).select_from(RawPunch).where(RawPunch.device_id == dev.id)) == 30
        assert dev.capabilities["counts"]["users"] == 20 and dev.capabilities["capacity"]["users_cap"] > 0
        actions = set(s.scalars(select(AuditLog.action).where(AuditLog.actor == USERS["it"])))
        assert {"device.add", "device.task", "device.probe", "device.sync_time", "device.restart", "device.edit",
                "device.retire", "device.remove"} <= actions
    engine.dispose()


def _wait_task(c: TestClient, headers: dict, task_id: int) -> dict:
    deadline = time.monotonic() + 60
    while True:
        body = c.get(f"/api/tasks/{task_id}", headers=headers).json()
        if body["status"] == "done":
            return body
        assert time.monotonic() < deadline
        time.sleep(0.1)


def test_the_same_through_the_api(web_env: WebEnv, terminal) -> None:  # noqa: F811
    _term, srv = terminal
    headers = {"Authorization": f"Bearer {web_env.token('it')}"}
    spec = {"serial": "SIM-W1", "kind": "zk-tcp", "host": "127.0.0.1", "port": srv.port, "site": "OPD1"}
    with TestClient(create_app(web_env.settings)) as c:
        probe = c.post("/api/devices/test", json=spec, headers=headers).json()
        assert probe["ok"] and probe["reported_serial"] == "SIM-W1" and probe["counts"]["records"] == 30
        assert "nomor seri SIM-W1" in probe["summary"]
        assert c.post("/api/devices/test", json={**spec, "host": "10.0.0.300"}, headers=headers).status_code == 422
        assert c.post("/api/devices", json=spec, headers=headers).status_code == 201
        r = c.post("/api/devices/SIM-W1/tasks", json={"task": "pull"}, headers=headers)
        assert r.status_code == 202 and r.json()["status"] in ("queued", "running", "done")
        done = _wait_task(c, headers, r.json()["id"])
        assert done["error"] is None and done["result"]["new"] == 30 and done["task"] == "pull"
        assert [t["id"] for t in c.get("/api/devices/SIM-W1/tasks", headers=headers).json()] == [done["id"]]
        assert c.post("/api/devices/SIM-W1/tasks", json={"task": "format"}, headers=headers).status_code == 422
        assert c.post("/api/devices", json={"serial": "ADMS-1", "kind": "adms"}, headers=headers).status_code == 201
        push = c.post("/api/devices/ADMS-1/tasks", json={"task": "pull"}, headers=headers)
        assert push.status_code == 422 and "ZK" in push.json()["detail"]
        assert c.get("/api/tasks/987654", headers=headers).status_code == 404
        # edit only what is sent; a bad value says what to fix
        r = c.patch("/api/devices/SIM-W1", json={"name": "Gerbang", "enabled": False}, headers=headers)
        assert r.status_code == 200 and r.json()["name"] == "Gerbang" and not r.json()["enabled"]
        bad = c.patch("/api/devices/SIM-W1", json={"tz": "Mars/Olympus"}, headers=headers)
        assert bad.status_code == 422 and "zona waktu" in bad.json()["detail"]
        gone = c.delete("/api/devices/SIM-W1", headers=headers)
        assert gone.status_code == 409 and "punch" in gone.json()["detail"]
        assert c.delete("/api/devices/SIM-W1", params={"retire": True}, headers=headers).json()["outcome"] == "retired"
        assert c.get("/api/devices/SIM-W1", headers=headers).json()["capabilities"]["serial"] == "SIM-W1"
        # the auditor reads, never acts
        audit = {"Authorization": f"Bearer {web_env.token('auditor')}"}
        assert c.get("/api/devices/SIM-W1/tasks", headers=audit).status_code == 200
        assert c.post("/api/devices/SIM-W1/tasks", json={"task": "pull"}, headers=audit).status_code == 403


def test_job_history_in_words_with_failures_first_to_find(web_env: WebEnv) -> None:  # noqa: F811
    engine = make_engine(web_env.settings.database_url)
    now = utcnow()
    with session_scope(engine) as s:
        s.add_all([
            JobRun(job="pull_incremental", started_at=now, finished_at=now, status="ok", host="h",
                   detail={"terminals": 3, "new": 41, "duplicate": 2, "unchanged": 1, "failed": {}}),
            JobRun(job="clock_check", started_at=now, finished_at=now, status="ok", host="h",
                   detail={"checked": 3, "synced": ["A"], "failed": {"SN-X": "timeout"}}),
            JobRun(job="reconcile", started_at=now, finished_at=now, status="error", host="h",
                   detail={"error": "OperationalError: disk full", "trace": "Traceback ..."}),
            JobRun(job="pull_incremental", started_at=now, finished_at=now, status="skipped", host="h",
                   detail={"reason": "quiet window"}),
        ])
    engine.dispose()
    with TestClient(create_app(web_env.settings)) as c:
        login(c, USERS["auditor"])
        page = c.get("/jobs").text
        assert "3 terminal: 41 punch baru, 2 duplikat, 1 tidak berubah, 0 gagal" in page
        assert "3 terminal diperiksa, 1 disetel, 1 gagal (SN-X)" in page
        assert "gagal: OperationalError: disk full" in page and "Traceback" not in page
        assert "dilewati: jam tenang" in page and "Rekonsiliasi harian" in page
        failed = c.get("/jobs", params={"failed": "1"}).text
        assert "disk full" in failed and "41 punch baru" not in failed
        en = c.get("/jobs", params={"lang": "en", "job": "pull_incremental"}).text
        assert "3 terminals: 41 new punches" in en and "skipped: quiet hours" in en and "disk full" not in en
    headers = {"Authorization": f"Bearer {web_env.token('auditor')}"}
    with TestClient(create_app(web_env.settings)) as c:
        body = c.get("/api/jobs", params={"failed": True}, headers=headers).json()
        assert body["total"] == 1 and body["runs"][0]["job"] == "reconcile"


def test_a_nearly_full_log_is_a_problem_on_the_fleet_page(web_env: WebEnv) -> None:  # noqa: F811
    engine = make_engine(web_env.settings.database_url)
    with session_scope(engine) as s:
        s.add(Device(serial="AC-FULL", name="Penuh", kind="zk-tcp", host="127.0.0.5", port=4370, tz="Asia/Jakarta",
                     last_record_count=95_500, last_seen_at=utcnow(),
                     capabilities={"capacity": {"rec_cap": 100_000, "users_cap": 3000}, "counts": {"users": 2990}}))
    engine.dispose()
    with TestClient(create_app(web_env.settings)) as c:
        login(c, USERS["it"])
        page = c.get("/", params={"lang": "en"}).text
        rows = dict(re.findall(r'data-serial="([^"]+)".*?<td class="bad problems">([^<]*)</td>', page, re.S))
        assert "log nearly full" in rows["AC-FULL"] and "user memory nearly full" in rows["AC-FULL"]


def test_errors_speak_the_readers_language(web_env: WebEnv) -> None:  # noqa: F811
    """A refusal raised while serving a request is worded in the reader's language, whatever
    the hub's own setting."""
    headers = {"Authorization": f"Bearer {web_env.token('it')}"}
    with TestClient(create_app(web_env.settings)) as c:
        bad = {"serial": "SN-X", "kind": "zk-tcp", "host": "999.1.1.1"}
        en = c.post("/api/devices", params={"lang": "en"}, json=bad, headers=headers).json()["detail"]
        ind = c.post("/api/devices", json=bad, headers=headers).json()["detail"]
        assert en == "'999.1.1.1' is not a valid IP address or host name"
        assert ind == "alamat '999.1.1.1' bukan IP atau nama host yang sah"
        login(c, USERS["it"])
        page = c.post("/devices/new", params={"lang": "en"}, data={
            "csrf_token": re.search(r'name="csrf_token" value="([^"]+)"', c.get("/devices/new").text).group(1),
            **bad, "do": "save"}).text
        assert "is not a valid IP address or host name" in page


def test_it_registers_a_hikvision_terminal_in_the_console(web_env: WebEnv) -> None:  # noqa: F811
    """The connection test speaks ISAPI with the login typed in the form; the password is
    never echoed back into the page and is kept encrypted; the API takes the same fields."""
    from hub.fleet.registry import login_of
    from hub.simulator.hikvision import HikTerminal, Served

    term = HikTerminal(serial="DS-K1T-WEB", utc_offset_h=7)
    term.users["1001"] = {"employeeNo": "1001", "name": "Ani"}
    for minute in range(3):
        term.punch("1001", utcnow().replace(microsecond=0) - timedelta(hours=1, minutes=minute))
    with Served(term) as served, TestClient(create_app(web_env.settings)) as c:
        csrf = login(c, USERS["it"])
        form = {"csrf_token": csrf, "serial": term.serial, "kind": "hik-isapi", "host": "127.0.0.1",
                "port": str(served.port), "site": "OPD1", "tz": "Asia/Jakarta", "username": "admin",
                "password": "Hik12345", "pin_group": "default"}
        probe = c.post("/devices/new", data={**form, "do": "test"})
        assert probe.status_code == 200 and "nomor seri DS-K1T-WEB" in probe.text, probe.text[-2000:]
        assert "Hik12345" not in probe.text
        wrong = c.post("/devices/new", data={**form, "do": "test", "password": "salah"})
        assert "401" in wrong.text
        saved = c.post("/devices/new", data={**form, "do": "save"}, follow_redirects=False)
        assert saved.status_code == 303
        engine = make_engine(web_env.settings.database_url)
        with session_scope(engine) as s:
            dev = s.scalar(select(Device).where(Device.serial == term.serial))
            assert login_of(dev) == ("admin", "Hik12345") and b"Hik12345" not in (dev.login_enc or b"")
        engine.dispose()
        # the terminal's page offers pulls, the clock and the test (not restart) and does them
        page = c.get(f"/devices/{term.serial}").text
        assert 'id="task-pull"' in page and 'id="task-sync_time"' in page and 'id="task-restart"' not in page
        c.post(f"/devices/{term.serial}/task", data={"csrf_token": csrf, "task": "pull"})
        for _ in range(100):
            page = c.get(f"/devices/{term.serial}").text
            if 'id="busy"' not in page:
                break
            time.sleep(0.1)
        assert "3 catatan dibaca, 3 baru" in page, page[-3000:]
        h = {"Authorization": f"Bearer {web_env.token('it')}"}
        r = c.post("/api/devices/test", headers=h, json={
            "serial": term.serial, "kind": "hik-isapi", "host": "127.0.0.1", "port": served.port,
            "username": "admin", "password": "Hik12345"})
        assert r.status_code == 200 and r.json()["ok"] and r.json()["counts"] == {"users": 1, "records": 3}
