"""Web console auth: every route refuses every role it should, CSRF, session expiry, tokens."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select, update

from hub.config import set_settings
from hub.store.db import make_engine, session_scope
from hub.store.models import AuditLog, utcnow
from hub.web.app import create_app
from hub.web.auth import AuthError, add_user, authenticate, digest
from hub.web.models import ApiToken, User, WebSession
from tests.web_fixtures import (  # noqa: F401  (fixtures)
    APPROVER,
    PASSWORD,
    USERS,
    WebEnv,
    csrf_of,
    login,
    shared_web_env,
    web_env,
)

ALL = {"it", "admin", "operator", "verifier", "bpkad", "reviewer", "auditor"}
# Who may do what, written out independently of hub.web.auth.PERMISSIONS. (The operator works
# for OPD1, where every route below points: what lies outside is tests/test_web_scope.py.)
ALLOWED = {
    "any": ALL,
    "fleet.read": {"it", "admin", "auditor"},
    "fleet.write": {"it"},
    "roster.read": {"admin", "operator", "verifier", "reviewer", "auditor"},
    "roster.write": {"admin"},
    "punch.read": ALL - {"bpkad"},
    "review.read": {"operator", "verifier", "bpkad", "reviewer", "auditor"},
    "review.write": {"operator", "reviewer"},
    "review.approve": {"verifier", "reviewer"},
    "recap.lock": {"bpkad", "reviewer"},
    "audit.read": {"it", "reviewer", "auditor"},
    "users.manage": {"it"},
    "face.enroll": {"admin"},
    "mobile.credentials": {"admin", "it"},
    "mobile.credentials+roster.read": {"admin"},  # the employee page's mobile section
}
PAGES = [
    ("GET", "/", "fleet.read"),
    ("GET", "/devices/new", "fleet.write"),
    ("POST", "/devices/new", "fleet.write"),
    ("GET", "/devices/SN-ON", "fleet.read"),
    ("GET", "/devices/SN-ON/edit", "fleet.write"),
    ("POST", "/devices/SN-ON/edit", "fleet.write"),
    ("POST", "/devices/SN-ON/enabled", "fleet.write"),  # (no choice sent: 422, nothing changes)
    ("POST", "/devices/SN-ON/remove", "fleet.write"),  # (it has punches: 422, nothing removed)
    ("POST", "/devices/SN-ON/task", "fleet.write"),  # (no task named: 422)
    ("GET", "/jobs", "fleet.read"),
    ("GET", "/employees", "roster.read"),
    ("GET", "/employees/1", "roster.read"),
    ("GET", "/employees/import", "roster.write"),
    ("POST", "/employees/import", "roster.write"),
    ("POST", "/employees/import/confirm", "roster.write"),
    ("GET", "/sync?site=OPD1", "roster.write"),
    ("GET", "/rollout", "roster.read"),
    ("POST", "/sync/apply", "roster.write"),  # (no terminal ticked: nothing sent)
    ("POST", "/employees/1/mobile", "mobile.credentials+roster.read"),
    ("GET", "/punches", "punch.read"),
    ("GET", "/exceptions?site=OPD1&day=2026-10-05", "review.read"),
    ("POST", "/corrections", "review.write"),
    ("POST", "/exceptions/bulk", "review.write"),
    ("GET", "/leave", "review.read"),
    ("POST", "/leave", "review.write"),
    ("GET", "/leave/999/scan", "review.read"),
    ("POST", "/leave/999/decide", "review.approve"),
    ("GET", "/places", "review.read"),
    ("POST", "/places", "review.write"),  # (no NIP: 422 with the reason)
    ("POST", "/places/999/remove", "review.write"),
    ("GET", "/approvals", "review.read"),
    ("POST", "/approvals/999", "review.approve"),
    ("GET", "/recap?site=OPD1&month=2026-10", "review.read"),
    ("GET", "/recap/day?employee_id=1&day=2026-10-05", "review.read"),
    ("GET", "/recap/overview?month=2026-10", "review.read"),
    ("POST", "/recap/lock", "recap.lock"),
    ("GET", "/recap/lock?site=OPD1&month=2026-10", "recap.lock"),
    ("POST", "/nodata/decide", "review.write"),
    ("POST", "/quarantine/decide", "review.write"),
    ("GET", "/recap/export.csv?site=OPD1&month=2026-10", "review.read"),
    ("GET", "/audit", "audit.read"),
    ("GET", "/terminals/pending", "fleet.write"),
    ("POST", "/terminals/pending/SN-NONE", "fleet.write"),
    ("GET", "/users", "users.manage"),
    ("POST", "/users", "users.manage"),
    ("POST", "/users/999", "users.manage"),
    ("POST", "/logout", "any"),
]
API = [
    ("GET", "/api/me", "any"),
    ("GET", "/api/devices", "fleet.read"),
    ("GET", "/api/devices/SN-ON", "fleet.read"),
    ("POST", "/api/devices", "fleet.write"),
    ("POST", "/api/devices/SN-ON/pull", "fleet.write"),  # SN-ON is 127.0.0.1:4370: refused, reported
    ("POST", "/api/devices/test", "fleet.write"),
    ("PATCH", "/api/devices/SN-ON", "fleet.write"),
    ("DELETE", "/api/devices/SN-ON", "fleet.write"),  # (it has punches: 409, nothing removed)
    ("POST", "/api/devices/SN-ON/tasks", "fleet.write"),
    ("GET", "/api/devices/SN-ON/tasks", "fleet.read"),
    ("GET", "/api/tasks/999", "fleet.read"),
    ("GET", "/api/jobs", "fleet.read"),
    ("GET", "/api/audit", "audit.read"),
    ("GET", "/api/leave", "review.read"),
    ("POST", "/api/employees/import/preview", "roster.write"),
    ("POST", "/api/employees/import/confirm", "roster.write"),
    ("GET", "/api/sync/plan?site=OPD1", "roster.write"),
    ("GET", "/api/rollout", "roster.read"),
    ("POST", "/api/sync/apply", "roster.write"),
    ("GET", "/api/sync/progress?devices=SN-ON", "roster.write"),
    ("POST", "/api/leave", "review.write"),
    ("GET", "/api/leave/999/scan", "review.read"),
    ("GET", "/api/leave/requests", "review.read"),
    ("POST", "/api/leave/999/decision", "review.approve"),
    ("GET", "/api/field-places", "review.read"),
    ("POST", "/api/field-places", "review.write"),
    ("DELETE", "/api/field-places/999", "review.write"),
    ("GET", "/api/employees", "roster.read"),
    ("GET", "/api/employees/1", "roster.read"),
    ("GET", "/api/recap/day?employee_id=1&day=2026-10-05", "review.read"),
    ("GET", "/api/punches", "punch.read"),
    ("GET", "/api/exceptions?site=OPD1&day=2026-10-05", "review.read"),
    ("POST", "/api/corrections", "review.write"),
    ("GET", "/api/corrections/pending", "review.read"),
    ("POST", "/api/corrections/999/decision", "review.approve"),
    ("GET", "/api/recap?site=OPD1&month=2026-10", "review.read"),
    ("GET", "/api/recap/preview?site=OPD1&month=2026-10", "recap.lock"),
    ("GET", "/api/recap/overview?month=2026-10", "review.read"),
    ("GET", "/api/recap/export.csv?site=OPD1&month=2026-10", "review.read"),
    ("POST", "/api/recap/lock", "recap.lock"),
    ("POST", "/api/recap/unlock", "recap.lock"),
    ("POST", "/api/nodata/decisions", "review.write"),
    ("POST", "/api/quarantine/decisions", "review.write"),
    ("POST", "/api/exceptions/decisions", "review.write"),
    ("GET", "/api/terminals/pending", "fleet.write"),
    ("POST", "/api/terminals/pending/SN-NONE/approve", "fleet.write"),
    ("POST", "/api/terminals/pending/SN-NONE/reject", "fleet.write"),
    ("GET", "/api/users", "users.manage"),
    ("POST", "/api/users", "users.manage"),
    ("PATCH", "/api/users/999", "users.manage"),
    ("POST", "/api/users/999/tokens", "users.manage"),
    ("POST", "/api/users/999/tokens/revoke", "users.manage"),
]
try:  # the face endpoints (hub/face) are mounted when that part is installed
    import hub.face.api  # noqa: F401

    # (/api/mobile/punch is not staff work: only a signed-in phone punches, see test_mobile_identity)
    API += [("POST", "/api/face/enroll", "face.enroll"), ("POST", "/api/mobile/credentials", "mobile.credentials"),
            ("POST", "/api/mobile/credentials/revoke", "mobile.credentials"),
            ("GET", "/api/face/reviews", "face.enroll"), ("POST", "/api/face/reviews/999", "face.enroll")]
    PAGES += [("POST", "/faces/enroll/1", "face.enroll"), ("GET", "/faces/photo/1", "face.enroll"),
              ("GET", "/faces/punch-photo/1", "face.enroll"), ("GET", "/faces/reviews", "face.enroll"),
              ("POST", "/faces/reviews/999", "face.enroll")]
except ImportError:
    pass
ROLES_AND_ANON = ["anonymous", *sorted(ALL)]
API_BODIES = {"/api/devices": {"serial": "SN-NEW-{role}", "kind": "zk-tcp", "host": "127.0.0.9"},
              "/api/corrections": {"employee_id": 1, "day": "2026-10-05", "kind": "set_status",
                                   "status": "CS", "reason": "surat dokter"},
              "/api/corrections/999/decision": {"decision": "approve"},
              "/api/recap/lock": {"site": "OPD1", "month": "2026-10", "sha256": "0" * 64},
              "/api/recap/unlock": {"site": "OPD1", "month": "2026-10", "reason": "uji"},
              "/api/nodata/decisions": {"terminal": "dev:999", "day": "2026-10-07", "decision": "present",
                                        "reason": "uji"},
              "/api/quarantine/decisions": {"punch_ids": [999999], "decision": "accepted", "reason": "uji"},
              "/api/leave/999/decision": {"decision": "approve"},
              "/api/field-places": {"employee": "198001012005011001", "name": "SDN 1", "latitude": -6.9,
                                    "longitude": 107.6, "valid_from": "2026-10-01", "valid_to": "2026-10-31",
                                    "reference": "ST/1"},
              "/api/exceptions/decisions": {"action": "present", "reason": "uji",
                                            "items": [{"terminal": "dev:999", "day": "2026-10-07"}]}}


@pytest.fixture(scope="module")
def clients(shared_web_env: WebEnv) -> Iterator[dict[str, tuple[TestClient, str]]]:  # noqa: F811
    """A signed-in browser per role (plus an anonymous one) against one app per backend."""
    app = create_app(shared_web_env.settings)
    out: dict[str, tuple[TestClient, str]] = {}
    with TestClient(app) as anon:
        out["anonymous"] = (anon, "")
        for role in ALL:
            c = TestClient(app)
            out[role] = (c, login(c, USERS[role]))
        yield out
        for role in ALL:
            out[role][0].close()


def _flat(routes):  # type: ignore[no-untyped-def]
    # FastAPI keeps included routers as wrappers around the original router.
    for r in routes:
        inner = getattr(r, "original_router", None)
        if inner is not None:
            prefix = getattr(inner, "prefix", "")
            for sub in _flat(inner.routes):
                yield sub if not prefix or sub.path.startswith(prefix) else type("R", (), {
                    "path": prefix + sub.path, "methods": sub.methods})
        else:
            yield r


def test_matrix_covers_every_route(shared_web_env: WebEnv) -> None:  # noqa: F811
    app = create_app(shared_web_env.settings)
    listed = {(m, p.split("?")[0]) for m, p, _ in PAGES + API}
    skip = {"/login", "/api/openapi.json", "/api/docs", "/api/docs/oauth2-redirect", "/static"}
    # /iclock/* (and /d/<key>/iclock/*) is the terminals' own protocol (hub/adapters/adms), as
    # /isapi/events/<key> is Hikvision terminals' (hub/adapters/isapi/listen):
    # devices, not people, call it. The phone's own routes take a mobile session, never a
    # staff role (tests/test_mobile_identity.py).
    phone = {"/api/mobile/login", "/api/mobile/challenge", "/api/mobile/punch", "/api/mobile/me",
             "/api/mobile/month", "/api/mobile/requests", "/m", "/m/", "/m/{name}"}
    routes = set()
    for r in _flat(app.routes):
        path = getattr(r, "path", "")
        if path in skip or path in phone or path.startswith(("/iclock", "/d/", "/isapi/events/")) \
                or not getattr(r, "methods", None):
            continue
        for m in r.methods - {"HEAD"}:
            path = r.path.replace("/pending/{serial}", "/pending/SN-NONE").replace("{serial}", "SN-ON") \
                .replace("{employee_id}", "1") \
                .replace("{correction_id}", "999").replace("{fmt}", "csv").replace(".{fmt}", ".csv") \
                .replace("{user_id}", "999").replace("{task_id}", "999").replace("{leave_id}", "999") \
                .replace("{punch_id}", "1").replace("{review_id}", "999").replace("{place_id}", "999")
            routes.add((m, path))
    assert routes - listed == set(), "routes missing from the role matrix"
    assert listed - routes == set(), "matrix entries that are not routes"


@pytest.mark.parametrize("role", ROLES_AND_ANON)
@pytest.mark.parametrize(("method", "path", "perm"), PAGES, ids=[f"{m} {p}" for m, p, _ in PAGES])
def test_page_roles(clients, shared_web_env: WebEnv, role: str, method: str, path: str,  # noqa: F811
                    perm: str) -> None:
    set_settings(shared_web_env.settings)
    client, csrf = clients[role]
    if method == "POST" and path == "/logout" and role != "anonymous":
        # Signing out would end the shared session: use a session of its own.
        client = TestClient(client.app)
        csrf = login(client, USERS[role])
    data = {"csrf_token": csrf, "serial": f"SN-P-{role}", "kind": "zk-tcp", "host": "127.0.0.8",
            "employee_id": "1", "day": "2026-10-05", "site": "OPD1", "month": "2026-09", "reason": "uji",
            "status": "CS"}
    r = client.request(method, path, data=data if method == "POST" else None, follow_redirects=False)
    if role == "anonymous":
        assert r.status_code == 303 and r.headers["location"].startswith("/login"), r.status_code
    elif role in ALLOWED[perm]:
        assert r.status_code in (200, 303, 404, 422), (r.status_code, r.text[:300])
        if r.status_code == 303 and path != "/logout":
            assert not r.headers["location"].startswith("/login")
        if path == "/logout":  # signed out: the next page asks for a login again
            assert client.get("/punches", follow_redirects=False).headers["location"].startswith("/login")
    else:
        assert r.status_code == 403, (r.status_code, r.text[:300])


@pytest.mark.parametrize("role", ROLES_AND_ANON)
@pytest.mark.parametrize(("method", "path", "perm"), API, ids=[f"{m} {p}" for m, p, _ in API])
def test_api_roles(clients, shared_web_env: WebEnv, role: str, method: str, path: str,  # noqa: F811
                   perm: str) -> None:
    set_settings(shared_web_env.settings)
    client = clients["anonymous"][0]
    headers = {} if role == "anonymous" else {"Authorization": f"Bearer {shared_web_env.token(role)}"}
    body = API_BODIES.get(path.split("?")[0])
    if body and "serial" in body:
        body = {**body, "serial": body["serial"].format(role=role)}
    if path.startswith(("/api/face", "/api/mobile")):  # multipart uploads; an empty one will do
        r = client.request(method, path, headers=headers, files={"nothing": ("x.txt", b"")})
    else:
        r = client.request(method, path, json=body if method == "POST" else None, headers=headers)
    if role == "anonymous":
        assert r.status_code == 401
        assert r.headers.get("www-authenticate") == "Bearer"
    elif role in ALLOWED[perm]:
        assert r.status_code in (200, 201, 400, 404, 409, 422), (r.status_code, r.text[:300])
    else:
        assert r.status_code == 403, (r.status_code, r.text[:300])


def test_session_cookie_does_not_open_the_api(clients) -> None:
    client, _ = clients["auditor"]
    assert client.get("/api/me").status_code == 401  # the API is Bearer-only: no CSRF surface


# --- CSRF --------------------------------------------------------------------------------


def test_posts_without_or_with_wrong_csrf_are_refused(web_env: WebEnv) -> None:  # noqa: F811
    with TestClient(create_app(web_env.settings)) as c:
        csrf = login(c, USERS["it"])
        form = {"serial": "SN-CSRF", "kind": "zk-tcp", "host": "127.0.0.5"}
        assert c.post("/devices/new", data=form).status_code == 403
        # One character off (a token ending in "x" once made this the right token: a flake)
        wrong = csrf[:-1] + ("y" if csrf.endswith("x") else "x")
        assert c.post("/devices/new", data={**form, "csrf_token": wrong}).status_code == 403
        other = TestClient(c.app)
        other_csrf = login(other, USERS["it"])
        assert other_csrf != csrf
        assert c.post("/devices/new", data={**form, "csrf_token": other_csrf}).status_code == 403
        r = c.post("/devices/new", data={**form, "csrf_token": csrf}, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"].startswith("/devices/SN-CSRF")


def test_login_form_needs_its_csrf_token(web_env: WebEnv) -> None:  # noqa: F811
    with TestClient(create_app(web_env.settings)) as c:
        r = c.post("/login", data={"username": USERS["it"], "password": PASSWORD, "csrf_token": "forged"},
                   follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == "/login?error=csrf"
        assert "hub_session" not in c.cookies


def test_every_form_carries_the_csrf_token(web_env: WebEnv) -> None:  # noqa: F811
    import re

    with TestClient(create_app(web_env.settings)) as c:
        pages = {"it": ["/", "/devices/new"], "reviewer": ["/exceptions?site=OPD1&day=2026-10-05",
                                                           "/recap?site=OPD1&month=2026-10"]}
        seen = 0
        for role, paths in pages.items():
            c.cookies.clear()
            csrf = login(c, USERS[role])
            for p in paths:
                html = c.get(p).text
                for form in re.findall(r'<form method="post".*?</form>', html, re.S):
                    assert f'name="csrf_token" value="{csrf}"' in form
                    seen += 1
        assert seen >= 5


# --- login, expiry, logout -----------------------------------------------------------------


def test_wrong_password_and_inactive_user(web_env: WebEnv) -> None:  # noqa: F811
    with TestClient(create_app(web_env.settings)) as c:
        page = c.get("/login")
        r = c.post("/login", data={"username": USERS["it"], "password": "salah", "csrf_token": csrf_of(page.text)},
                   follow_redirects=True)
        assert "Nama pengguna atau kata sandi salah." in r.text
        engine = make_engine(web_env.settings.database_url)
        with session_scope(engine) as s:
            s.execute(update(User).where(User.username == USERS["it"]).values(active=False))
            assert s.scalar(select(AuditLog.action).where(AuditLog.action == "login.failed")) == "login.failed"
        page = c.get("/login")
        r = c.post("/login", data={"username": USERS["it"], "password": PASSWORD,
                                   "csrf_token": csrf_of(page.text)}, follow_redirects=False)
        assert r.headers["location"].startswith("/login?error=bad")
        engine.dispose()


def test_session_expires(web_env: WebEnv) -> None:  # noqa: F811
    with TestClient(create_app(web_env.settings)) as c:
        login(c, USERS["it"])
        assert c.get("/", follow_redirects=False).status_code == 200
        engine = make_engine(web_env.settings.database_url)
        with session_scope(engine) as s:
            row = s.scalar(select(WebSession))
            assert row.expires_at - row.created_at == timedelta(minutes=web_env.settings.web.session_minutes)
            assert row.token_sha256 == digest(c.cookies["hub_session"])  # only the digest is stored
            row.expires_at = utcnow() - timedelta(seconds=1)
        engine.dispose()
        r = c.get("/", follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"].startswith("/login")


def test_logout_ends_the_session_server_side(web_env: WebEnv) -> None:  # noqa: F811
    with TestClient(create_app(web_env.settings)) as c:
        csrf = login(c, USERS["it"])
        cookie = c.cookies["hub_session"]
        assert c.post("/logout", data={"csrf_token": csrf}, follow_redirects=False).status_code == 303
        c.cookies.set("hub_session", cookie)  # a stolen copy of the cookie is worthless now
        assert c.get("/", follow_redirects=False).status_code == 303


def test_login_never_redirects_off_site(web_env: WebEnv) -> None:  # noqa: F811
    with TestClient(create_app(web_env.settings)) as c:
        page = c.get("/login?next=//evil.example/x")
        r = c.post("/login", data={"username": USERS["it"], "password": PASSWORD, "csrf_token": csrf_of(page.text),
                                   "next": "//evil.example/x"}, follow_redirects=False)
        assert r.headers["location"] == "/"
        c.cookies.clear()
        page = c.get("/login")
        r = c.post("/login", data={"username": USERS["it"], "password": PASSWORD, "csrf_token": csrf_of(page.text),
                                   "next": "/punches?site=OPD1"}, follow_redirects=False)
        assert r.headers["location"] == "/punches?site=OPD1"


# --- API tokens --------------------------------------------------------------------------


def test_tokens_are_hashed_revocable_and_die_with_their_user(web_env: WebEnv) -> None:  # noqa: F811
    app = create_app(web_env.settings)
    with TestClient(app) as c:
        tok = web_env.token("it")
        h = {"Authorization": f"Bearer {tok}"}
        assert c.get("/api/me", headers=h).json() == {"username": USERS["it"], "role": "it"}
        assert c.get("/api/me", headers={"Authorization": f"Bearer {tok}x"}).status_code == 401
        assert c.get("/api/me", headers={"Authorization": f"Basic {tok}"}).status_code == 401
        engine = make_engine(web_env.settings.database_url)
        with session_scope(engine) as s:
            stored = s.scalars(select(ApiToken.token_sha256)).all()
            assert tok not in stored and digest(tok) in stored
            assert s.scalar(select(ApiToken.last_used_at).where(ApiToken.token_sha256 == digest(tok)))
            s.execute(update(ApiToken).where(ApiToken.token_sha256 == digest(tok)).values(revoked=True))
        assert c.get("/api/me", headers=h).status_code == 401
        h2 = {"Authorization": f"Bearer {web_env.tokens[APPROVER]}"}
        assert c.get("/api/me", headers=h2).status_code == 200
        with session_scope(engine) as s:
            s.execute(update(User).where(User.username == APPROVER).values(active=False))
        assert c.get("/api/me", headers=h2).status_code == 401
        engine.dispose()


def test_user_rules(web_env: WebEnv) -> None:  # noqa: F811
    engine = make_engine(web_env.settings.database_url)
    with session_scope(engine) as s:
        for name, pw, role in (("Bad Name!", PASSWORD, "it"), ("okname", "short", "it"),
                               ("okname", PASSWORD, "root"), (USERS["it"], PASSWORD, "it")):
            with pytest.raises(AuthError):
                add_user(s, name, pw, role)
        user = s.scalar(select(User).where(User.username == USERS["admin"]))
        assert user.password_hash.startswith("$argon2") and PASSWORD not in user.password_hash
        assert authenticate(s, USERS["admin"], PASSWORD) is not None
        assert authenticate(s, USERS["admin"], PASSWORD + "x") is None
        assert authenticate(s, "nobody", PASSWORD) is None
    engine.dispose()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(form=st.dictionaries(st.sampled_from(["username", "password", "csrf_token", "next"]),
                            st.text(max_size=80), max_size=4))
def test_login_form_never_crashes(shared_web_env: WebEnv, clients, form: dict) -> None:  # noqa: F811
    client, _ = clients["anonymous"]
    r = client.post("/login", data=form, follow_redirects=False)
    assert r.status_code in (303, 400, 422)
    if r.status_code == 400:  # NUL characters: refused before they reach the store
        assert "NUL" in r.json()["detail"] and any("\x00" in v for v in form.values())
    if r.status_code == 303:
        assert r.headers["location"].startswith("/login?error=")


_FIELD_TEXT = st.one_of(st.text(max_size=30), st.sampled_from(["", "0", "-1", "2026-10-05", "2026-13-45", "99:99",
                                                               "16:00", "OPD1", "SN-ON", "add_punch", "9" * 25]))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(path=st.sampled_from(["/", "/punches", "/employees", "/exceptions", "/recap", "/recap/day", "/approvals",
                             "/audit", "/recap/export.csv", "/recap/export.xlsx", "/recap/export.pdf",
                             "/devices/SN-ON"]),
       params=st.dictionaries(st.sampled_from(["site", "day", "month", "page", "device", "employee", "date_from",
                                               "date_to", "flag", "employee_id", "lang", "entity"]),
                              _FIELD_TEXT, max_size=5))
def test_pages_never_crash_on_odd_queries(shared_web_env: WebEnv, clients, path: str,  # noqa: F811
                                          params: dict) -> None:
    set_settings(shared_web_env.settings)
    client, _ = clients["auditor"]
    r = client.get(path, params=params, follow_redirects=False)
    assert r.status_code in (200, 400, 404, 422), (r.status_code, r.text[:300])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(path=st.sampled_from(["/corrections", "/approvals/1", "/recap/lock", "/nodata/decide", "/quarantine/decide"]),
       form=st.dictionaries(st.sampled_from(["employee_id", "day", "kind", "time", "state", "status", "reason",
                                             "punch_id", "decision", "site", "month", "action", "back", "sha256",
                                             "terminal", "punch_ids"]),
                            _FIELD_TEXT, max_size=8))
def test_review_forms_never_crash(shared_web_env: WebEnv, clients, path: str, form: dict) -> None:  # noqa: F811
    set_settings(shared_web_env.settings)
    client, csrf = clients["reviewer"]
    r = client.post(path, data={**form, "csrf_token": csrf}, follow_redirects=False)
    assert r.status_code in (303, 400), (r.status_code, r.text[:300])
    if r.status_code == 303:
        assert r.headers["location"].startswith("/")  # back on the site, never elsewhere


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(form=st.dictionaries(st.sampled_from(["serial", "kind", "name", "site", "host", "port", "comm_key", "tz",
                                             "pin_group", "serial_line"]), _FIELD_TEXT, max_size=8))
def test_register_form_never_crashes(shared_web_env: WebEnv, clients, form: dict) -> None:  # noqa: F811
    set_settings(shared_web_env.settings)
    client, csrf = clients["it"]
    r = client.post("/devices/new", data={**form, "csrf_token": csrf}, follow_redirects=False)
    assert r.status_code in (303, 400, 422), (r.status_code, r.text[:300])
    if r.status_code == 422:
        assert 'id="form-error"' in r.text


def test_cli_user_add_prompts_and_token_works(web_env: WebEnv) -> None:  # noqa: F811
    from typer.testing import CliRunner

    from hub.cli.main import app as cli

    runner = CliRunner()
    r = runner.invoke(cli, ["user", "add", "sari", "--role", "auditor", "--name", "Sari"],
                      input="rahasia-sari\nrahasia-sari\n")
    assert r.exit_code == 0, r.output
    assert "rahasia-sari" not in r.stdout.replace("rahasia-sari\n", "")  # never printed back
    r = runner.invoke(cli, ["user", "add", "budi", "--role", "root"], input="rahasia-budi\nrahasia-budi\n")
    assert r.exit_code == 1 and "peran 'root' tidak dikenal" in r.output
    r = runner.invoke(cli, ["user", "token", "sari", "--name", "simpeg"])
    assert r.exit_code == 0, r.output
    token = next(line for line in r.stdout.splitlines() if line.startswith("hub_"))
    r = runner.invoke(cli, ["user", "token", "nobody"])
    assert r.exit_code == 1 and "tidak ditemukan" in r.output
    with TestClient(create_app(web_env.settings)) as c:
        assert c.get("/api/me", headers={"Authorization": f"Bearer {token}"}).json() == \
            {"username": "sari", "role": "auditor"}
        assert login(c, "sari", "rahasia-sari")
        r = runner.invoke(cli, ["user", "disable", "sari"])
        assert r.exit_code == 0
        assert c.get("/api/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401
        assert c.get("/audit", follow_redirects=False).status_code == 303  # its session ended too
