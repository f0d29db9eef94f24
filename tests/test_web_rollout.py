"""Rollout per office (issue 20, item 3): who lacks a fingerprint or a face, which terminals
are not yet in sync; scoped to the user's offices."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy import select

from hub.store.db import make_engine, session_scope
from hub.store.models import Device, utcnow
from hub.sync.models import SyncRun
from hub.web.app import create_app
from tests.web_fixtures import USERS, WebEnv, login, web_env  # noqa: F401


def _row(page: str, code: str) -> list[str]:
    body = re.search(rf'<tr data-office="{code}">(.*?)</tr>', page, re.S).group(1)  # type: ignore[union-attr]
    return [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", body, re.S)]


def test_rollout_shows_who_and_what_is_missing(web_env: WebEnv) -> None:  # noqa: F811
    with TestClient(create_app(web_env.settings)) as c:
        login(c, USERS["admin"])
        page = c.get("/rollout").text
        # Ani has two fingers and a face; Budi and Citra nothing; SN-ON never synced
        assert _row(page, "OPD1")[1:] == ["3", "1", "1", "2", "1", "1"]
        one = c.get("/rollout", params={"site": "OPD1"}).text
        lacking = one.split('id="lacking"', 1)[1]
        assert "Budi" in lacking and "Citra" in lacking and "Ani" not in lacking
        assert "belum pernah" in one.split('id="rollout-devices"', 1)[1]
        engine = make_engine(web_env.settings.database_url)
        with session_scope(engine) as s:
            dev = s.scalar(select(Device.id).where(Device.serial == "SN-ON"))
            s.add(SyncRun(device_id=dev, started_at=utcnow(), finished_at=utcnow(), status="ok", mismatch=False))
        engine.dispose()
        assert _row(c.get("/rollout").text, "OPD1")[-1] == "0"  # in sync now
        en = c.get("/rollout", params={"site": "OPD1", "lang": "en"}).text
        assert "Employees not fully enrolled" in en and "not yet" in en
    with TestClient(create_app(web_env.settings)) as c:
        login(c, USERS["operator"])
        assert re.findall(r'data-office="([^"]+)"', c.get("/rollout").text) == ["OPD1"]
        assert c.get("/rollout", params={"site": "OPD2"}).status_code == 403
    headers = {"Authorization": f"Bearer {web_env.token('admin')}"}
    with TestClient(create_app(web_env.settings)) as c:
        body = c.get("/api/rollout", params={"site": "OPD1"}, headers=headers).json()
        assert body[0]["with_neither"] == 2 and {e["name"] for e in body[0]["lacking"]} == {"Budi", "Citra"}
