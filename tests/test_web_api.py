"""The JSON API and the pages over real HTTP (uvicorn on an ephemeral loopback port),
on SQLite and PostgreSQL: fleet health, registration, roster, punches, review, recap."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta
from pathlib import Path

import httpx
from fastapi.testclient import TestClient
from openpyxl import load_workbook

from hub.web.app import create_app
from hub.web.catalogue import EN
from tests.web_fixtures import APPROVER, USERS, LiveServer, WebEnv, csrf_of, login, web_env  # noqa: F401

TEMPLATES = Path(__file__).resolve().parent.parent / "hub" / "web" / "templates"


def api(server: LiveServer, env: WebEnv, who: str) -> httpx.Client:
    token = env.tokens.get(who) or env.token(who)
    return httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {token}"}, timeout=30)


def test_fleet_health_and_registration(web_env: WebEnv) -> None:  # noqa: F811
    with LiveServer(create_app(web_env.settings)) as srv, api(srv, web_env, "it") as c:
        rows = {r["serial"]: r for r in c.get("/api/devices").json()}
        on, off = rows["SN-ON"], rows["SN-OFF"]
        assert on["online"] and not off["online"]
        assert on["last_pull_status"] == "error" and on["backlog"] == 4  # 9 on the terminal, 5 stored
        assert "connection reset" in on["last_error"] and off["backlog"] is None
        assert on["clock_suspect"] is False and off["clock_suspect"] is True
        assert "timeout" in off["last_error"]
        assert [r["serial"] for r in c.get("/api/devices", params={"site": "OPD2"}).json()] == ["SN-OFF"]
        detail = c.get("/api/devices/SN-ON").json()
        assert [p["status"] for p in detail["pulls"]] == ["error", "ok"]
        assert detail["pulls"][1]["new"] == 5 and detail["pulls"][1]["duplicate"] == 4
        assert c.get("/api/devices/NOPE").status_code == 404

        r = c.post("/api/devices", json={"serial": "SN-NEW", "kind": "zk-tcp", "host": "10.1.2.3",
                                         "site": "OPD1", "comm_key": 1234})
        assert r.status_code == 201 and r.json()["site"] == "OPD1" and not r.json()["online"]
        for body, words in ((({"serial": "SN-NEW", "kind": "zk-tcp", "host": "10.1.2.3"}), "sudah terdaftar"),
                            ({"serial": "SN-X", "kind": "zk-tcp", "host": "bad host!"}, "bukan IP"),
                            ({"serial": "SN-X", "kind": "telepati"}, "tidak dikenal"),
                            ({"serial": "SN-X", "kind": "zk-tcp", "host": "10.0.0.1", "site": "NOPE"},
                             "belum terdaftar"),
                            ({"serial": "SN-X", "kind": "zk-tcp", "host": "10.0.0.1", "tz": "Mars/Base"},
                             "zona waktu")):
            r = c.post("/api/devices", json=body)
            assert r.status_code == 422 and words in r.json()["detail"], r.text
        assert c.post("/api/devices", json={"serial": "SN-X"}).status_code == 422
        assert {r["serial"] for r in c.get("/api/devices").json()} == {"SN-ON", "SN-OFF", "SN-NEW"}


def test_register_terminal_form_shows_validation_errors(web_env: WebEnv) -> None:  # noqa: F811
    with LiveServer(create_app(web_env.settings)) as srv, httpx.Client(base_url=srv.url) as c:
        csrf = login(c, USERS["it"])
        r = c.post("/devices/new", data={"csrf_token": csrf, "serial": "SN-F", "kind": "zk-tcp",
                                         "host": "10.0.0.1", "port": "99999", "comm_key": "4321"})
        assert r.status_code == 422
        assert "port 99999 di luar 1-65535" in r.text and 'value="SN-F"' in r.text
        assert "4321" not in r.text  # the comm key is never echoed back
        r = c.post("/devices/new", data={"csrf_token": csrf, "serial": "SN-F", "kind": "zk-tcp",
                                         "host": "10.0.0.1", "site": "OPD2"}, follow_redirects=True)
        assert r.status_code == 200 and "SN-F" in r.text and str(r.url).startswith(f"{srv.url}/devices/SN-F")
        assert "Terminal terdaftar." not in c.get("/").text  # a message is shown once
        assert 'id="flash"' not in c.get("/", params={"msg": "Hubungi 0812 untuk bantuan"}).text
        page = c.get("/", params={"site": "OPD2"}).text
        assert 'data-serial="SN-F"' in page and 'data-serial="SN-ON"' not in page
        assert 'data-serial="SN-OFF"' in page and "Luring" in page


def test_roster_and_punch_browser(web_env: WebEnv) -> None:  # noqa: F811
    with LiveServer(create_app(web_env.settings)) as srv, api(srv, web_env, "auditor") as c:
        emps = c.get("/api/employees", params={"per_page": 2}).json()
        assert emps["total"] == 3 and len(emps["items"]) == 2
        ani = next(e for e in c.get("/api/employees").json()["items"] if e["name"] == "Ani")
        assert (ani["fingerprints"], ani["faces"], ani["pins"]) == (2, 1, ["1"])

        def punches(**params: object) -> dict:
            r = c.get("/api/punches", params=params)
            assert r.status_code == 200, r.text
            return r.json()

        assert punches()["total"] == 7
        unknown = punches(flag="unknown_pin")["items"]
        assert [p["pin"] for p in unknown] == ["99"] and unknown[0]["employee_id"] is None
        assert punches(date_from="2026-10-06", date_to="2026-10-06")["total"] == 1
        assert punches(employee=ani["id_number"])["total"] == 4
        assert punches(employee="2")["total"] == 2  # by PIN
        assert punches(device="SN-OFF")["total"] == 0 and punches(site="OPD1")["total"] == 7
        first, second = punches(per_page=2, page=1), punches(per_page=2, page=2)
        assert not {p["id"] for p in first["items"]} & {p["id"] for p in second["items"]}
        assert c.get("/api/punches", params={"flag": "nonsense"}).status_code == 422
        assert c.get("/api/punches", params={"date_from": "2026-13-01"}).status_code == 422

    with LiveServer(create_app(web_env.settings)) as srv, httpx.Client(base_url=srv.url) as b:
        login(b, USERS["admin"])
        page = b.get("/employees").text
        assert "Ani" in page and "Citra" in page
        detail = b.get(f"/employees/{web_env.ids['emp:Ani']}").text
        assert detail.count("zk-fp10") == 2 and "dlib128" in detail
        html = b.get("/punches", params={"flag": "photo_mismatch", "date_from": "bukan-tanggal"}).text
        assert "photo_mismatch" in html and "Budi" in html and "Ani" not in html.split('id="punches"')[1]


def _recap(c: httpx.Client, month: str = "2026-10") -> dict:
    r = c.get("/api/recap", params={"site": "OPD1", "month": month})
    assert r.status_code == 200, r.text
    return r.json()


def _recap_row(c: httpx.Client, name: str) -> dict:
    return next(row for row in _recap(c)["rows"] if row["nama"] == name)


def test_exceptions_queue_lists_every_kind(web_env: WebEnv) -> None:  # noqa: F811
    with LiveServer(create_app(web_env.settings)) as srv, api(srv, web_env, "reviewer") as c:
        rows = c.get("/api/exceptions", params={"site": "OPD1", "day": "2026-10-05"}).json()
        kinds = {(r["kind"], r["employee_name"]) for r in rows}
        assert {("missing_out", "Budi"), ("absent", "Citra"), ("unknown_pin", ""),
                ("clock_suspect", "Ani"), ("photo_mismatch", "Budi"), ("late", "Budi")} <= kinds
        assert not any(r["employee_name"] == "Ani" and r["kind"] in ("late", "missing_in") for r in rows)
        (group,) = [r for r in rows if r["kind"] == "quarantine"]
        assert len(group["punch_ids"]) == 2 and "SN-ON" in group["employee_name"]
        # 2026-10-07: the terminal holds nothing that day: one row for the terminal, no absence.
        rows = c.get("/api/exceptions", params={"site": "OPD1", "day": "2026-10-07"}).json()
        assert [(r["kind"], r["terminal"]) for r in rows] == [("no_data", f"dev:{web_env.ids['dev:SN-ON']}")]
        assert "3 pegawai" in rows[0]["detail"]
        assert c.get("/api/exceptions", params={"site": "NOPE", "day": "2026-10-05"}).status_code == 404
    with LiveServer(create_app(web_env.settings)) as srv, httpx.Client(base_url=srv.url) as b:
        login(b, USERS["reviewer"])
        html = b.get("/exceptions", params={"site": "OPD1", "day": "2026-10-05"}).text
        for label in ("tanpa absen pulang", "tidak hadir", "PIN tak dikenal", "jam terminal meragukan",
                      "foto tidak cocok"):
            assert label in html
        assert 'name="state" value="check_out"' in html  # the proposed correction for Budi
        assert 'value="16:00"' in html  # ... at the ruleset's end of the day
        en = b.get("/exceptions", params={"site": "OPD1", "day": "2026-10-05", "lang": "en"}).text
        assert "missing check-out" in en and "Daily exceptions" in en
        assert "Daily exceptions" in b.get("/exceptions").text  # the cookie keeps the choice


def test_reviewer_corrects_approver_approves_recap_changes_audit_shows_who(web_env: WebEnv) -> None:  # noqa: F811
    """The issue's end-to-end case, over HTTP: form posts by two reviewers, JSON for checks."""
    budi = web_env.ids["emp:Budi"]
    with LiveServer(create_app(web_env.settings)) as srv, api(srv, web_env, "reviewer") as c, \
            httpx.Client(base_url=srv.url) as proposer, httpx.Client(base_url=srv.url) as approver:
        before = _recap_row(c, "Budi")
        # 10-05 TL1+TAP, 10-06 TK (the terminal held Ani's punch), the 20 days without data TD.
        assert (before["TL1"], before["TAP"], before["TK"], before["TD"], before["hadir"]) == (1, 1, 1, 20, 1)
        assert before["potongan_disiplin_pct"] == 5.0 and before["potongan_rp"] == 150_000

        csrf = login(proposer, USERS["reviewer"])
        r = proposer.post("/corrections", data={
            "csrf_token": csrf, "employee_id": str(budi), "day": "2026-10-05", "kind": "add_punch",
            "state": "check_out", "time": "16:02", "reason": "terminal mati saat pulang",
            "back": "/exceptions?site=OPD1&day=2026-10-05"}, follow_redirects=True)
        assert "Koreksi diusulkan." in r.text
        pending = c.get("/api/corrections/pending").json()
        assert len(pending) == 1 and pending[0]["author"] == USERS["reviewer"]
        cid = pending[0]["id"]
        assert _recap_row(c, "Budi")["TAP"] == 1  # nothing changes before approval

        # The proposer cannot approve their own correction.
        r = proposer.post(f"/approvals/{cid}", data={"csrf_token": csrf, "decision": "approve"},
                          follow_redirects=True)
        assert "tidak boleh menyetujui" in r.text

        csrf2 = login(approver, APPROVER)
        page = approver.get("/approvals").text
        assert f'data-correction="{cid}"' in page and "terminal mati saat pulang" in page
        r = approver.post(f"/approvals/{cid}", data={"csrf_token": csrf2, "decision": "approve"},
                          follow_redirects=True)
        assert "Koreksi diputuskan." in r.text

        after = _recap_row(c, "Budi")
        assert (after["TAP"], after["TL1"], after["TK"], after["hadir"]) == (0, 1, 1, 1)
        assert after["potongan_disiplin_pct"] == 3.5 and after["tpp_diterima"] == 3_000_000 - 105_000
        day = approver.get("/recap/day", params={"employee_id": budi, "day": "2026-10-05"}).text
        assert re.search(r'id="day-status">TL\d?<', day) and "16:02:00" in day and APPROVER in day

        audit = approver.get("/audit").text
        rows = re.findall(r'data-action="([^"]+)"><td>[^<]*</td><td class="actor">([^<]+)<', audit)
        rows = [(actor, action) for action, actor in rows]
        assert "mengusulkan koreksi" in audit  # the action in words
        assert (USERS["reviewer"], "correction.propose") in rows
        assert any(actor == APPROVER and action.startswith("correction.approve") for actor, action in rows)
        exc = c.get("/api/exceptions", params={"site": "OPD1", "day": "2026-10-05"}).json()
        assert not any(r["kind"] == "missing_out" for r in exc)


def _lock(b: httpx.Client, csrf: str) -> httpx.Response:
    """The console's lock: the preview page, then its confirm form."""
    preview = b.get("/recap/lock", params={"site": "OPD1", "month": "2026-10"})
    assert preview.status_code == 200, preview.text
    sha = re.search(r'name="sha256" value="([0-9a-f]{64})"', preview.text).group(1)  # type: ignore[union-attr]
    return b.post("/recap/lock", data={"csrf_token": csrf, "site": "OPD1", "month": "2026-10", "sha256": sha,
                                       "action": "lock"}, follow_redirects=True)


def test_period_lock_and_exports(web_env: WebEnv) -> None:  # noqa: F811
    citra = web_env.ids["emp:Citra"]
    with LiveServer(create_app(web_env.settings)) as srv, api(srv, web_env, "reviewer") as c, \
            httpx.Client(base_url=srv.url) as b:
        csrf = login(b, USERS["reviewer"])
        # A lock without the previewed figures' code is refused and sends the reviewer to the preview.
        r = b.post("/recap/lock", data={"csrf_token": csrf, "site": "OPD1", "month": "2026-10", "action": "lock"},
                   follow_redirects=True)
        assert "pratinjau" in r.text and 'name="sha256"' in r.text and not _recap(c)["locked"]
        r = _lock(b, csrf)
        assert "Periode terkunci." in r.text and 'value="unlock"' in r.text
        body = {"employee_id": citra, "day": "2026-10-05", "kind": "set_status", "status": "CS",
                "reason": "surat dokter"}
        r = c.post("/api/corrections", json=body)
        assert r.status_code == 422 and "dikunci" in r.json()["detail"]
        assert _recap(c)["locked"]
        r = b.post("/recap/lock", data={"csrf_token": csrf, "site": "OPD1", "month": "2026-10", "action": "unlock"},
                   follow_redirects=True)
        assert "alasan" in r.text and c.post("/api/corrections", json=body).status_code == 422
        b.post("/recap/lock", data={"csrf_token": csrf, "site": "OPD1", "month": "2026-10", "action": "unlock",
                                    "reason": "koreksi susulan"})
        assert c.post("/api/corrections", json=body).status_code == 201
        for bad in ({**body, "status": "LIBURAN"}, {**body, "reason": " "}, {**body, "employee_id": 99999},
                    {**body, "kind": "add_punch", "state": "check_in", "local_time": "2026-10-09T07:00:00"}):
            r = c.post("/api/corrections", json=bad)
            assert r.status_code == 422 and r.json()["detail"], bad

        r = b.get("/recap/export.csv", params={"site": "OPD1", "month": "2026-10"})
        assert r.status_code == 200 and "rekap-OPD1-2026-10.csv" in r.headers["content-disposition"]
        rows = list(csv.DictReader(io.StringIO(r.content.decode("utf-8-sig"))))
        assert [row["nama"] for row in rows] == ["Ani", "Budi", "Citra"]
        budi = next(row for row in rows if row["nama"] == "Budi")
        assert budi["TAP"] == "1" and int(budi["TK"]) == _recap_row(c, "Budi")["TK"]
        r = b.get("/recap/export.xlsx", params={"site": "OPD1", "month": "2026-10"})
        ws = load_workbook(io.BytesIO(r.content))["Rekap Pegawai"]
        header = next(row for row in ws.iter_rows(values_only=True) if row[0] == "No")
        names = [row[header.index("Nama")] for row in ws.iter_rows(values_only=True) if isinstance(row[0], int)]
        assert names == ["Ani", "Budi", "Citra"]
        r = b.get("/recap/export.pdf", params={"site": "OPD1", "month": "2026-10"})
        assert r.status_code == 200 and r.content.startswith(b"%PDF")
        assert b.get("/recap/export.csv", params={"site": "OPD1", "month": "2026-13"}).status_code == 422
        assert _recap(c, "2099-01")["rows"] == []  # nothing judged yet
        html = b.get("/recap", params={"site": "OPD1", "month": "2026-10"}).text
        assert 'data-employee="' in html and 'href="/recap/day?employee_id=' in html


def test_a_locked_month_shows_what_was_locked(web_env: WebEnv) -> None:  # noqa: F811
    from hub.store.db import make_engine, session_scope
    from hub.store.models import Device, RawPunch
    from tests.web_fixtures import DAY

    citra = web_env.ids["emp:Citra"]
    with LiveServer(create_app(web_env.settings)) as srv, api(srv, web_env, "reviewer") as c, \
            httpx.Client(base_url=srv.url) as b:
        csrf = login(b, USERS["reviewer"])
        before = _recap_row(c, "Citra")["TK"]
        _lock(b, csrf)
        engine = make_engine(web_env.settings.database_url)
        with session_scope(engine) as s:  # Citra's punches arrive late, from a terminal's backlog
            dev = s.query(Device).filter_by(serial="SN-ON").one()
            for hour, state in ((7, "check_in"), (16, "check_out")):
                local = DAY.replace(hour=hour, minute=10)
                s.add(RawPunch(device_id=dev.id, source="zk_tcp", pin="3", employee_id=citra, local_time=local,
                               tz="Asia/Jakarta", utc_time=local - timedelta(hours=7), state=state,
                               verify="fingerprint", raw={}, flags=0))
        engine.dispose()
        assert _recap_row(c, "Citra")["TK"] == before  # frozen: the late punches are not counted
        page = b.get("/recap", params={"site": "OPD1", "month": "2026-10"}).text
        assert 'id="late"' in page and "2 punch tiba sesudah periode dikunci" in page
        b.post("/recap/lock", data={"csrf_token": csrf, "site": "OPD1", "month": "2026-10", "action": "unlock",
                                    "reason": "punch terlambat masuk dari terminal"})
        assert _recap_row(c, "Citra")["TK"] == before - 1


def test_every_template_text_has_an_english_entry() -> None:
    """Babel extracts every t("…") of the templates (as `pybabel extract -k t` would); each
    has its English in hub/locale/en/LC_MESSAGES/console.po."""
    from babel.messages.extract import extract_from_dir

    texts = {msg for _file, _line, msg, _comments, _ctx in extract_from_dir(
        str(TEMPLATES), method_map=[("**.html", "jinja2")], keywords={"t": None}, comment_tags=())}
    assert len(texts) > 300
    assert sorted(texts - set(EN)) == []


def test_the_catalogs_are_whole() -> None:
    """Each catalog parses, nothing in it is fuzzy or untranslated, and every kept message
    has both languages with the same parameters."""
    from babel.messages.pofile import read_po

    from hub.i18n import LOCALE
    from hub.messages import CATALOG

    for path in LOCALE.glob("*/LC_MESSAGES/*.po"):
        with path.open("rb") as f:
            cat = read_po(f)
        entries = [m for m in cat if m.id]
        assert entries and not any(m.fuzzy or not m.string for m in entries), path
    for code, (id_text, en_text) in CATALOG.items():
        assert sorted(re.findall(r"{(\w+)", id_text)) == sorted(re.findall(r"{(\w+)", en_text)), code


def test_input_the_store_cannot_hold_is_refused_clearly(web_env: WebEnv) -> None:  # noqa: F811
    with LiveServer(create_app(web_env.settings)) as srv, api(srv, web_env, "it") as c:
        r = c.post("/api/devices", content=b'{"serial": "SN\\u0000", "kind": "zk-tcp"}',
                   headers={"Content-Type": "application/json"})
        assert r.status_code == 400 and "NUL" in r.json()["detail"]
        assert c.get("/api/devices", params={"site": "\x00"}).status_code == 400
        assert c.get("/api/devices/SN-ON").status_code == 200  # and the server carries on
    with LiveServer(create_app(web_env.settings)) as srv, api(srv, web_env, "reviewer") as c:
        r = c.post("/api/corrections/99999999999/decision", json={"decision": "approve"})
        assert r.status_code == 422
        r = c.post("/api/corrections", json={"employee_id": 2**40, "day": "2026-10-05", "kind": "set_status",
                                             "status": "CS", "reason": "x"})
        assert r.status_code == 422


def test_backlog_from_the_last_run() -> None:
    from hub.fleet.status import backlog
    from hub.store.models import Device, IngestRun

    dev = Device(serial="X", kind="zk-tcp", last_record_count=100)
    assert backlog(dev, None) is None
    assert backlog(dev, IngestRun(status="ok", kind="pull", details={"record_count": 100})) == 0
    assert backlog(dev, IngestRun(status="error", kind="pull", details={"record_count": 130})) == 30
    assert backlog(dev, IngestRun(status="ok", kind="pull", details={"record_count": 0})) == 0  # log cleared
    assert backlog(dev, IngestRun(status="error", kind="pull", details={})) is None
    assert backlog(dev, IngestRun(status="ok", kind="push", details={})) is None
    assert backlog(dev, IngestRun(status="ok", kind="pull", details={"record_count": True})) == 0


def test_every_word_for_a_code_has_an_english_entry() -> None:
    """The words pages show for the store's codes (hub/web/labels.py) are in the catalog too."""
    from hub.times import DAY_SHORT
    from hub.web.labels import DETAIL_WORDS, LABELS

    words = {w for kind in LABELS.values() for w in kind.values()} | set(DAY_SHORT)
    assert sorted(words - set(EN)) == []
    assert len(DETAIL_WORDS) > 10


def test_an_employee_and_a_day_through_the_api(web_env: WebEnv) -> None:  # noqa: F811
    budi = web_env.ids["emp:Budi"]
    headers = {"Authorization": f"Bearer {web_env.token('reviewer')}"}
    with TestClient(create_app(web_env.settings)) as c:
        emp = c.get(f"/api/employees/{budi}", headers=headers).json()
        assert emp["name"] == "Budi" and emp["site"] == "OPD1" and emp["pins"][0]["pin"] == "2"
        day = c.get("/api/recap/day", params={"employee_id": budi, "day": "2026-10-05"}, headers=headers).json()
        assert day["status"].startswith("TL") and day["late_min"] == 15 and len(day["punches"]) == 2
        assert c.get("/api/employees/999999", headers=headers).status_code == 404
    op = {"Authorization": f"Bearer {web_env.token('operator')}"}
    with TestClient(create_app(web_env.settings)) as c:
        assert c.get(f"/api/employees/{budi}", headers=op).status_code == 200  # OPD1: theirs


def test_a_late_arrival_can_be_excused_with_its_letter(web_env: WebEnv) -> None:  # noqa: F811
    with TestClient(create_app(web_env.settings)) as c:
        csrf = login(c, USERS["reviewer"])
        page = c.get("/exceptions", params={"site": "OPD1", "day": "2026-10-05"}).text
        row = re.search(r'<tr class="exc-late".*?</tr>', page, re.S).group(0)  # type: ignore[union-attr]
        assert 'name="status"' in row and 'name="letter"' in row and '<option value="">' in row  # no default
        r = c.post("/corrections", data={"csrf_token": csrf, "employee_id": str(web_env.ids["emp:Budi"]),
                                         "day": "2026-10-05", "kind": "set_status", "status": "H",
                                         "reason": "dipanggil rapat di Setda", "letter": "ND 005/Setda"},
                   follow_redirects=False)
        assert r.status_code == 303
        pending = c.get("/api/corrections/pending", headers={"Authorization": f"Bearer {web_env.token('reviewer')}"})
        assert any(p["status"] == "H" and "ND 005/Setda" in p["reason"] for p in pending.json())


def test_the_recap_files_through_the_api(web_env: WebEnv) -> None:  # noqa: F811
    """The API hands out the same files as the console, with the figures' code."""
    headers = {"Authorization": f"Bearer {web_env.token('bpkad')}"}
    params = {"site": "OPD1", "month": "2026-10"}
    with TestClient(create_app(web_env.settings)) as c:
        api_csv = c.get("/api/recap/export.csv", params=params, headers=headers)
        figures = c.get("/api/recap", params=params, headers=headers).json()
        assert api_csv.status_code == 200 and api_csv.headers["x-figures-sha256"] == figures["sha256"]
        login(c, USERS["bpkad"])
        assert c.get("/recap/export.csv", params=params).content == api_csv.content
        pdf = c.get("/api/recap/export.pdf", params=params, headers=headers)
        assert pdf.content.startswith(b"%PDF")
        assert c.get("/api/recap/export.doc", params=params, headers=headers).status_code == 422
