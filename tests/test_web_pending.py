"""Terminals waiting for IT, in the console and the API (issue 20, item 2): a terminal that
pushed before it was registered is listed with where it called from; IT approves it into an
office and zone (an ADMS one is pinned to its address) or rejects it; the CLI and the console
use the same two functions."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy import select

from hub.push import service
from hub.push.models import PushRegistration, PushTrust
from hub.store.db import make_engine, session_scope
from hub.store.models import AuditLog, Device, Site
from hub.web.app import create_app
from tests.web_fixtures import USERS, WebEnv, login, web_env  # noqa: F401


def test_it_approves_and_rejects_waiting_terminals_in_the_browser(web_env: WebEnv) -> None:  # noqa: F811
    engine = make_engine(web_env.settings.database_url)
    service.hold_unknown(engine, "ADMS-NEW1", "adms", {"addr": "10.20.0.7", "last_addr": "10.20.0.7"})
    service.hold_unknown(engine, "MQTT-NEW2", "mqtt", {"tz": "Asia/Makassar"})
    service.hold_unknown(engine, "ADMS-ODD3", "adms", {"last_addr": "10.99.0.1"})
    with TestClient(create_app(web_env.settings)) as it:
        csrf = login(it, USERS["it"])
        page = it.get("/terminals/pending", params={"lang": "en"}).text
        for serial in ("ADMS-NEW1", "MQTT-NEW2", "ADMS-ODD3"):
            assert f'id="pending-{serial}"' in page
        assert "10.20.0.7" in page and "Awaiting approval" in page and "UTC" not in page
        r = it.post("/terminals/pending/ADMS-NEW1", data={"csrf_token": csrf, "decision": "approve",
                                                          "site": "OPD2", "tz": "Asia/Jakarta", "name": "Lobi"},
                    follow_redirects=False)
        assert r.status_code == 303
        flash = it.get("/terminals/pending", params={"lang": "en"}).text  # the flash in the reader's language
        assert re.search(r'id="flash">Terminal ADMS-NEW1 approved \(Asia/Jakarta\); accepted only from ', flash)
        r = it.post("/terminals/pending/MQTT-NEW2", data={"csrf_token": csrf, "decision": "approve",
                                                          "site": "NOPE", "tz": "Asia/Makassar"})
        assert r.status_code == 422 and "NOPE" in r.text  # an unknown office: said, nothing approved
        r = it.post("/terminals/pending/ADMS-ODD3", data={"csrf_token": csrf, "decision": "reject"},
                    follow_redirects=False)
        assert r.status_code == 303
        left = it.get("/terminals/pending").text
        assert 'id="pending-ADMS-NEW1"' not in left and 'id="pending-MQTT-NEW2"' in left
    with session_scope(engine) as s:
        dev = s.scalar(select(Device).where(Device.serial == "ADMS-NEW1"))
        assert dev is not None and dev.kind == "adms" and dev.name == "Lobi"
        assert s.get(Site, dev.site_id).code == "OPD2"
        assert "10.20.0.7" in s.get(PushTrust, dev.id).sources  # pinned to where it called from
        assert s.scalar(select(Device.id).where(Device.serial == "MQTT-NEW2")) is None
        assert s.scalar(select(PushRegistration.status).where(PushRegistration.serial == "ADMS-ODD3")) == "rejected"
        actions = set(s.scalars(select(AuditLog.action).where(AuditLog.actor == USERS["it"])))
        assert {"push.approve", "push.reject"} <= actions
    engine.dispose()


def test_the_api_lists_approves_and_rejects(web_env: WebEnv) -> None:  # noqa: F811
    engine = make_engine(web_env.settings.database_url)
    service.hold_unknown(engine, "MQTT-API1", "mqtt", {"tz": "Asia/Jayapura"})
    service.hold_unknown(engine, "MQTT-API2", "mqtt", {})
    engine.dispose()
    with TestClient(create_app(web_env.settings)) as c:
        h = {"Authorization": f"Bearer {web_env.token('it')}"}
        listed = {r["serial"]: r for r in c.get("/api/terminals/pending", headers=h).json()}
        assert set(listed) == {"MQTT-API1", "MQTT-API2"} and listed["MQTT-API1"]["channel"] == "mqtt"
        r = c.post("/api/terminals/pending/MQTT-API1/approve", headers=h, json={"site": "OPD1"})
        assert r.status_code == 201 and r.json()["tz"] == "Asia/Jayapura" and r.json()["kind"] == "mqtt"
        again = c.post("/api/terminals/pending/MQTT-API1/approve", headers=h, json={})
        assert again.status_code == 422 and ("already approved" in again.text or "sudah disetujui" in again.text)
        assert c.post("/api/terminals/pending/MQTT-API2/reject", headers=h).status_code == 200
        assert c.post("/api/terminals/pending/NOPE/reject", headers=h).status_code == 404
        assert c.post("/api/terminals/pending/bad%20serial/reject", headers=h).status_code == 422
        assert [r["serial"] for r in c.get("/api/terminals/pending", headers=h).json()] == ["MQTT-API2"]
        h_adm = {"Authorization": f"Bearer {web_env.token('admin')}"}
        assert c.get("/api/terminals/pending", headers=h_adm).status_code == 403
