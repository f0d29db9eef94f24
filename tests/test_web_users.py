"""IT manages users in the console and through the API (issue 20, item 1): create an OPD
operator bound to an office, who then signs in and sees only that office; reset a password
(the old one and the user's sessions stop); issue a token shown once and revoke it; disable
a user (sessions and tokens stop answering). Every change is in the audit log."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy import select

from hub.store.db import make_engine, session_scope
from hub.store.models import AuditLog
from hub.web.app import create_app
from hub.web.models import User
from tests.web_fixtures import USERS, WebEnv, csrf_of, login, web_env  # noqa: F401


def _user_id(env: WebEnv, username: str) -> int:
    engine = make_engine(env.settings.database_url)
    with session_scope(engine) as s:
        uid = s.scalar(select(User.id).where(User.username == username))
    engine.dispose()
    assert uid is not None
    return uid


def test_it_creates_an_operator_who_sees_only_their_office(web_env: WebEnv) -> None:  # noqa: F811
    app = create_app(web_env.settings)
    with TestClient(app) as it, TestClient(app) as op:
        csrf = login(it, USERS["it"])
        page = it.get("/users")
        assert page.status_code == 200 and "Operator OPD" in page.text
        # an operator without an office is refused, with the reason, and nothing is created
        r = it.post("/users", data={"csrf_token": csrf, "username": "sinta", "role": "operator",
                                    "password": "teh-manis-sinta-7", "full_name": "Sinta"})
        assert r.status_code == 422 and "hanya melihat kantornya" in r.text and 'value="sinta"' in r.text
        r = it.post("/users", data={"csrf_token": csrf, "username": "sinta", "role": "operator",
                                    "password": "teh-manis-sinta-7", "full_name": "Sinta", "offices": "OPD2"},
                    follow_redirects=False)
        assert r.status_code == 303
        row = it.get("/users").text
        assert re.search(r'id="user-sinta".*?OPD2', row, re.S)
        login(op, "sinta", "teh-manis-sinta-7")
        assert op.get("/exceptions", params={"site": "OPD2", "day": "2026-10-05"}).status_code == 200
        assert op.get("/exceptions", params={"site": "OPD1", "day": "2026-10-05"}).status_code == 403
        assert op.get("/users").status_code == 403  # only IT manages users

        sinta = _user_id(web_env, "sinta")
        r = it.post(f"/users/{sinta}", data={"csrf_token": csrf, "action": "password", "password": "x"})
        assert r.status_code == 422 and "minimal" in r.text  # the password policy, said on the page
        r = it.post(f"/users/{sinta}", data={"csrf_token": csrf, "action": "password",
                                             "password": "kopi-pahit-sinta-8"}, follow_redirects=False)
        assert r.status_code == 303
        assert op.get("/exceptions", follow_redirects=False).status_code == 303  # her session ended
        login(op, "sinta", "kopi-pahit-sinta-8")

        r = it.post(f"/users/{sinta}", data={"csrf_token": csrf, "action": "token", "name": "simpeg",
                                             "days": "30"})
        token = re.search(r"<code>(hub_[^<]+)</code>", r.text).group(1)  # type: ignore[union-attr]
        assert token not in it.get("/users").text  # shown once
        h = {"Authorization": f"Bearer {token}"}
        assert it.get("/api/me", headers=h).json()["username"] == "sinta"
        row = re.search(r'id="user-sinta".*?</tr>', it.get("/users").text, re.S).group(0)  # type: ignore[union-attr]
        token_id = re.search(r'name="token_id" value="(\d+)"', row).group(1)  # type: ignore[union-attr]
        r = it.post(f"/users/{sinta}", data={"csrf_token": csrf, "action": "revoke", "token_id": token_id},
                    follow_redirects=False)
        assert r.status_code == 303 and it.get("/api/me", headers=h).status_code == 401

        r = it.post(f"/users/{sinta}", data={"csrf_token": csrf, "action": "disable"}, follow_redirects=False)
        assert r.status_code == 303
        assert op.get("/exceptions", follow_redirects=False).status_code == 303
        page = op.get("/login")
        r = op.post("/login", data={"username": "sinta", "password": "kopi-pahit-sinta-8",
                                    "csrf_token": csrf_of(page.text), "next": ""}, follow_redirects=False)
        assert r.headers["location"].startswith("/login?error")
        me = _user_id(web_env, USERS["it"])
        r = it.post(f"/users/{me}", data={"csrf_token": csrf, "action": "disable"})
        assert r.status_code == 422  # IT cannot lock itself out
    engine = make_engine(web_env.settings.database_url)
    with session_scope(engine) as s:
        actions = [a for a, in s.execute(select(AuditLog.action).where(AuditLog.actor == USERS["it"],
                                                                     AuditLog.entity == "user",
                                                                     AuditLog.action != "login"))]
    engine.dispose()
    assert actions == ["user.add", "user.password", "token.add", "token.revoke", "user.disable"]


def test_the_api_does_the_same(web_env: WebEnv) -> None:  # noqa: F811
    with TestClient(create_app(web_env.settings)) as c:
        h = {"Authorization": f"Bearer {web_env.token('it')}"}
        r = c.post("/api/users", headers=h, json={"username": "bayu", "password": "nasi-uduk-bayu-3",
                                                  "role": "operator", "offices": ["OPD9"]})
        assert r.status_code == 422 and "OPD9" in r.text
        r = c.post("/api/users", headers=h, json={"username": "bayu", "password": "nasi-uduk-bayu-3",
                                                  "role": "operator", "offices": ["OPD1"]})
        assert r.status_code == 201 and r.json()["offices"] == ["OPD1"]
        uid = r.json()["id"]
        tok = c.post(f"/api/users/{uid}/tokens", headers=h, json={"name": "ekinerja", "days": 7}).json()["token"]
        hb = {"Authorization": f"Bearer {tok}"}
        assert c.get("/api/exceptions", headers=hb, params={"site": "OPD2", "day": "2026-10-05"}).status_code == 403
        r = c.patch(f"/api/users/{uid}", headers=h, json={"offices": ["OPD2"]})
        assert r.status_code == 200 and r.json()["offices"] == ["OPD2"]
        assert c.get("/api/exceptions", headers=hb, params={"site": "OPD2", "day": "2026-10-05"}).status_code == 200
        assert c.patch(f"/api/users/{uid}", headers=h, json={"offices": []}).status_code == 422
        assert c.patch(f"/api/users/{uid}", headers=h, json={"active": False}).json()["active"] is False
        assert c.get("/api/me", headers=hb).status_code == 401
        users = {u["username"]: u for u in c.get("/api/users", headers=h).json()}
        assert users["bayu"]["active"] is False and "password" not in users["bayu"]
        assert c.patch("/api/users/999999", headers=h, json={"active": True}).status_code == 404
