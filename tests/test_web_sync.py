"""Roster sync from the console (issue 20, item 3): the admin sees per terminal what would be
added, changed and removed, ticks terminals and applies; a ZK terminal (a simulator on a
real TCP port) is written through a terminal task whose state the page follows, a push
terminal gets its commands queued; afterwards the plan is empty."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import delete

from hub.fleet.registry import DeviceSpec, add_device
from hub.simulator.zk.server import start_in_thread
from hub.simulator.zk.terminal import Terminal
from hub.store.db import make_engine, session_scope
from hub.store.models import Device, Template
from hub.web.app import create_app
from tests.web_fixtures import USERS, WebEnv, csrf_of, login, web_env  # noqa: F401
from tests.zk_fixtures import fill

pytestmark = pytest.mark.timeout(180)


def _rows(page: str) -> dict[str, str]:
    return {serial: body for serial, body in re.findall(r'<tr data-serial="([^"]+)" class="[^"]*">(.*?)</tr>', page,
                                                         re.S)}


def test_the_admin_plans_and_applies_a_sync(web_env: WebEnv, tmp_path: Path) -> None:  # noqa: F811
    term = Terminal.create(tmp_path / "sim.sqlite3", "tft", serial="SIM-S1")
    fill(term, users=0, records=0)
    srv = start_in_thread(term)
    engine = make_engine(web_env.settings.database_url)
    try:
        with session_scope(engine) as s:
            s.execute(delete(Template))  # the fixture's templates are placeholders, not terminal data
            s.execute(Device.__table__.update().where(Device.serial == "SN-ON").values(enabled=False))
            zk = add_device(s, DeviceSpec(serial="SIM-S1", kind="zk-tcp", host="127.0.0.1", port=srv.port,
                                          site="OPD1"))
            adms = add_device(s, DeviceSpec(serial="ADMS-S1", kind="adms", site="OPD1"))
            ids = {"SIM-S1": zk.id, "ADMS-S1": adms.id}
        with TestClient(create_app(web_env.settings)) as c:
            login(c, USERS["admin"])
            page = c.get("/sync", params={"site": "OPD1"}).text
            rows = _rows(page)
            assert set(rows) == {"SIM-S1", "ADMS-S1"}
            counts = re.findall(r'<td class="n[^"]*">(\d*)</td>', rows["SIM-S1"])
            assert counts[:3] == ["3", "0", "0"]  # Ani, Budi and Citra to add; nothing to change or remove
            assert "Ani (PIN" in rows["SIM-S1"] and "belum pernah" in rows["SIM-S1"]
            r = c.post("/sync/apply", data={"csrf_token": csrf_of(page), "site": "OPD1",
                                            "device_id": [str(ids["SIM-S1"]), str(ids["ADMS-S1"])],
                                            f"rm_{ids['SIM-S1']}": "0", f"rm_{ids['ADMS-S1']}": "0"},
                       follow_redirects=False)
            assert r.status_code == 303
            assert "1 terminal ZK diantrekan, 1 terminal kiriman" in c.get(r.headers["location"]).text
            deadline = time.monotonic() + 60
            while True:
                page = c.get("/sync", params={"site": "OPD1"}).text
                if 'id="busy"' not in page:
                    break
                assert time.monotonic() < deadline
                time.sleep(0.2)
            rows = _rows(page)
            assert 'class="in-sync"' in page.split('data-serial="SIM-S1"', 1)[1][:40]  # nothing left to send
            assert "berhasil" in rows["SIM-S1"]
            assert re.findall(r'<td class="n[^"]*">(\d*)</td>', rows["ADMS-S1"])[5] == "3"  # 3 await the terminal
            en = c.get("/sync", params={"site": "OPD1", "lang": "en"}).text
            assert re.search(r'<td class="sync-state">\s*<span class="">ok</span>', _rows(en)["SIM-S1"])
            ani = c.get(f"/employees/{web_env.ids['emp:Ani']}").text  # the employee page: PIN and terminals
            on = ani.split('id="on-terminals"', 1)[1].split("</table>", 1)[0]
            assert "SIM-S1" in on and "ADMS-S1" not in on  # (the push terminal has not confirmed yet)
            assert re.search(r'<table id="pins">.*?<td>1</td><td>default</td>', ani, re.S)
        assert sorted(u.name for u in term.users()) == ["Ani", "Budi", "Citra"]
    finally:
        srv.stop()
        engine.dispose()


def test_the_plan_through_the_api(web_env: WebEnv) -> None:  # noqa: F811
    headers = {"Authorization": f"Bearer {web_env.token('admin')}"}
    engine = make_engine(web_env.settings.database_url)
    with session_scope(engine) as s:
        add_device(s, DeviceSpec(serial="ADMS-S2", kind="adms", site="OPD1"))
    engine.dispose()
    with TestClient(create_app(web_env.settings)) as c:
        plans = c.get("/api/sync/plan", params={"device": "ADMS-S2"}, headers=headers).json()
        assert plans[0]["serial"] == "ADMS-S2" and plans[0]["counts"]["users_add"] == 3
        assert c.get("/api/sync/plan", headers=headers).status_code == 422
        r = c.post("/api/sync/apply", json={"devices": ["ADMS-S2"]}, headers=headers)
        assert r.status_code == 202 and r.json() == {"queued": 0, "applied": 1}
        progress = c.get("/api/sync/progress", params={"devices": ["ADMS-S2"]}, headers=headers).json()
        assert progress[0]["state"] == "done" and progress[0]["sent"]
        assert c.post("/api/sync/apply", json={"devices": ["NOPE"]}, headers=headers).status_code == 404
        it = {"Authorization": f"Bearer {web_env.token('it')}"}
        assert c.get("/api/sync/plan", params={"device": "ADMS-S2"}, headers=it).status_code == 403
