"""The auditor's log (issue 20, item 6): filtered by date range (in the hub's zone), actor and
action, paged, each change described in words."""

from __future__ import annotations

import re
from datetime import datetime

from fastapi.testclient import TestClient
from sqlalchemy import insert

from hub.store.db import make_engine, session_scope
from hub.store.models import AuditLog
from hub.web.app import create_app
from tests.web_fixtures import USERS, WebEnv, login, web_env  # noqa: F401


def test_the_auditor_filters_pages_and_reads_words(web_env: WebEnv) -> None:  # noqa: F811
    engine = make_engine(web_env.settings.database_url)
    with session_scope(engine) as s:
        # 2026-10-05 00:30 WIB is 2026-10-04 17:30 UTC: it belongs to the 5th as people count days
        s.execute(insert(AuditLog), [
            {"at": datetime(2026, 10, 4, 17, 30), "actor": "rev9", "action": "correction.propose",
             "entity": "correction", "entity_id": str(n), "details": {"employee_id": 7, "day": "2026-10-05",
                                                                       "kind": "set_status", "reason": "surat dokter"}}
            for n in range(60)] + [
            {"at": datetime(2026, 10, 6, 3, 0), "actor": "ver9", "action": "correction.approve",
             "entity": "correction", "entity_id": "1", "details": {"note": "ok"}}])
    engine.dispose()
    with TestClient(create_app(web_env.settings)) as c:
        login(c, USERS["auditor"])
        page = c.get("/audit", params={"date_from": "2026-10-05", "date_to": "2026-10-05"}).text
        assert "/ 2 (60)" in page and page.count('data-action="correction.propose"') == 50
        assert "mengusulkan koreksi" in page and "jenis: Tetapkan status" in page and "set_status" not in page
        en = c.get("/audit", params={"date_from": "2026-10-05", "date_to": "2026-10-05", "lang": "en"}).text
        assert "reason: surat dokter" in en and "alasan:" not in en  # the details in the reader's language
        assert re.search(r'href="\?[^"]*date_from=2026-10-05[^"]*&page=2"', page)
        assert "/ 1 (1)" in c.get("/audit", params={"actor": "ver9"}).text
        approvals = c.get("/audit", params={"action": "correction.appr", "lang": "en"}).text
        assert "approved a correction" in approvals and "/ 1 (1)" in approvals
        assert "(0)" in c.get("/audit", params={"action": "%"}).text  # a wildcard is a character
        assert "/ 1 (1)" in c.get("/audit", params={"date_from": "2026-10-06", "actor": "ver9"}).text


def test_a_rejection_needs_its_reason_and_the_log_keeps_it(web_env: WebEnv) -> None:  # noqa: F811
    from sqlalchemy import select

    from hub.reconcile.corrections import propose_correction
    from hub.store.models import Correction, Employee
    from tests.web_fixtures import APPROVER, csrf_of

    engine = make_engine(web_env.settings.database_url)
    with session_scope(engine) as s:
        ani = s.scalar(select(Employee.id).where(Employee.name == "Ani"))
        cid = propose_correction(s, employee_id=ani, day=datetime(2026, 10, 5).date(), kind="set_status",
                                 status="CS", reason="surat dokter", author=USERS["reviewer"]).id
    with TestClient(create_app(web_env.settings)) as c:
        login(c, APPROVER)
        csrf = csrf_of(c.get("/approvals").text)
        r = c.post(f"/approvals/{cid}", data={"csrf_token": csrf, "decision": "reject"}, follow_redirects=False)
        assert r.status_code == 303
        with session_scope(engine) as s:
            assert s.get(Correction, cid).approval == "pending"  # no reason: nothing decided
        r = c.post(f"/approvals/{cid}", data={"csrf_token": csrf, "decision": "reject",
                                              "note": "surat tidak sah"}, follow_redirects=False)
        assert r.status_code == 303
        log = c.get("/audit", params={"action": "correction.reject"}).text
        assert "menolak koreksi" in log and "catatan: surat tidak sah" in log
    with session_scope(engine) as s:
        assert s.get(Correction, cid).approval == "rejected"
    engine.dispose()


def test_the_auditor_reads_one_office(web_env: WebEnv) -> None:  # noqa: F811
    """Each record knows the office it concerns, worked out when written (from the terminal,
    employee, office or period it names); the filter takes an office with its units."""
    from sqlalchemy import select

    from hub.store.models import Device, Employee

    engine = make_engine(web_env.settings.database_url)
    with session_scope(engine) as s:
        on, off = (s.scalar(select(Device.id).where(Device.serial == n)) for n in ("SN-ON", "SN-OFF"))
        ani = s.scalar(select(Employee.id).where(Employee.name == "Ani"))
        s.add_all([AuditLog(actor="it9", action="device.edit", entity="device", entity_id=str(on), details={}),
                   AuditLog(actor="it9", action="device.edit", entity="device", entity_id=str(off), details={}),
                   AuditLog(actor="rev9", action="correction.propose", entity="correction", entity_id="77",
                            details={"employee_id": ani, "kind": "set_status"}),
                   AuditLog(actor="it9", action="user.add", entity="user", entity_id="5", details={})])
    engine.dispose()
    with TestClient(create_app(web_env.settings)) as c:
        login(c, USERS["auditor"])
        page = c.get("/audit", params={"site": "OPD1", "actor": ""}).text
        rows = re.findall(r'<td class="actor">(\w+)</td><td class="action">([^<]+)</td><td>([^<]*)</td>', page)
        assert ("it9", "mengubah terminal", "terminal") in rows and ("rev9", "mengusulkan koreksi", "koreksi") in rows
        assert not any(r[1] == "membuat pengguna" for r in rows)
        assert page.count("Dinas Kominfo") >= 2 and '<td class="office">BPKAD</td>' not in page
        other = c.get("/audit", params={"site": "OPD2", "actor": "it9"}).text
        assert "/ 1 (1)" in other and '<td class="office">BPKAD</td>' in other


def test_the_log_through_the_api(web_env: WebEnv) -> None:  # noqa: F811
    engine = make_engine(web_env.settings.database_url)
    with session_scope(engine) as s:
        s.add(AuditLog(actor="it9", action="device.edit", entity="site", entity_id=str(web_env.ids["site:OPD1"]),
                       details={"name": "Lobi"}))
    engine.dispose()
    headers = {"Authorization": f"Bearer {web_env.token('auditor')}"}
    with TestClient(create_app(web_env.settings)) as c:
        body = c.get("/api/audit", params={"site": "OPD1", "actor": "it9", "lang": "en"}, headers=headers).json()
        assert body["total"] == 1 and body["entries"][0]["office"] == "OPD1"
        assert body["entries"][0]["action_words"] == "edited a terminal" and body["entries"][0]["description"]
        assert c.get("/api/audit", params={"date_from": "1800-01-01"}, headers=headers).status_code == 422
        op = {"Authorization": f"Bearer {web_env.token('operator')}"}
        assert c.get("/api/audit", headers=op).status_code == 403
