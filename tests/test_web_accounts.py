"""Accounts at the web edge (issue 21, item 5): login throttling with a lockout IT can lift,
a password policy, API tokens that expire and can be revoked, passwords never on argv."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from typer.testing import CliRunner

from hub.cli.main import app as cli
from hub.store.db import make_engine, session_scope
from hub.store.models import AuditLog, utcnow
from hub.web.app import create_app
from hub.web.auth import AuthError, validate_password
from hub.web.models import ApiToken, LoginThrottle, User
from tests.web_fixtures import PASSWORD, USERS, WebEnv, csrf_of, login, web_env  # noqa: F401

IT = USERS["it"]
REVIEWER = USERS["reviewer"]


def _try(c: TestClient, username: str, password: str) -> str:
    """One login through the form; returns where it sent the browser."""
    page = c.get("/login")
    r = c.post("/login", data={"username": username, "password": password, "csrf_token": csrf_of(page.text),
                               "next": ""}, follow_redirects=False)
    assert r.status_code == 303
    return r.headers["location"]


def test_fifty_wrong_passwords_lock_the_account_until_it_lifts_it(web_env: WebEnv) -> None:  # noqa: F811
    with TestClient(create_app(web_env.settings)) as c:
        answers = [_try(c, REVIEWER, f"salah-{n}") for n in range(50)]
        assert answers[:4] == ["/login?error=bad"] * 4
        assert all(a.startswith("/login?error=locked&until=") for a in answers[4:])
        # the right password is refused while locked, and the page says until when and what to do
        where = _try(c, REVIEWER, PASSWORD)
        assert where.startswith("/login?error=locked")
        page = c.get(where)
        assert "dikunci sampai" in page.text and "Hubungi IT" in page.text
        # other accounts from elsewhere are not affected by this account's lock
        eng = make_engine(web_env.settings.database_url)
        with session_scope(eng) as s:
            s.execute(update(LoginThrottle).values(locked_until=None, failures=0))
        login(c, IT)
    runner = CliRunner()
    r = runner.invoke(cli, ["user", "unlock", REVIEWER])
    assert r.exit_code == 0, r.output
    with TestClient(create_app(web_env.settings)) as c:
        login(c, REVIEWER)
    with session_scope(eng) as s:
        actions = [a for (a,) in s.execute(select(AuditLog.action).where(
            AuditLog.action.in_(("login.failed", "login.locked", "user.unlock", "login"))).order_by(AuditLog.id))]
        assert actions.count("login.failed") == 4 and actions.count("login.locked") >= 46
        assert actions[-2:] == ["user.unlock", "login"]
        assert s.scalar(select(User.failed_logins).where(User.username == REVIEWER)) == 0


def test_a_lockout_ends_by_itself_and_an_address_trying_many_accounts_is_throttled(web_env: WebEnv) -> None:  # noqa: F811
    eng = make_engine(web_env.settings.database_url)
    with TestClient(create_app(web_env.settings)) as c:
        for n in range(5):
            _try(c, REVIEWER, f"salah-{n}")
        assert _try(c, REVIEWER, PASSWORD).startswith("/login?error=locked")
        with session_scope(eng) as s:  # the lockout time passes
            s.execute(update(User).values(locked_until=utcnow() - timedelta(seconds=1)))
        login(c, REVIEWER)
        # 20 failures over invented names from one address lock the address, whoever logs in
        for n in range(20):
            _try(c, f"tidak-ada-{n}", "apa-saja-123")
        assert _try(c, IT, PASSWORD).startswith("/login?error=locked")


@pytest.mark.parametrize(("password", "ok"), [
    ("12345678", False), ("password", False), ("bismillah123", False), ("Rahasia123", False),
    ("aaaaaaaaaa", False), ("pendek", False), ("budi.santoso", False), ("budi.santoso1", False),
    ("kopi-tubruk-7-pagi", True), ("budi.santoso-kebun-kopi", True),
])
def test_the_password_policy(password: str, ok: bool) -> None:
    if ok:
        assert validate_password(password, "budi.santoso") == password
    else:
        with pytest.raises(AuthError):
            validate_password(password, "budi.santoso")


def test_tokens_expire_and_can_be_revoked(web_env: WebEnv) -> None:  # noqa: F811
    runner = CliRunner()
    r = runner.invoke(cli, ["user", "token", IT, "--name", "simpeg", "--days", "30"])
    assert r.exit_code == 0, r.output
    token = next(line for line in r.stdout.splitlines() if line.startswith("hub_"))
    eng = make_engine(web_env.settings.database_url)
    with session_scope(eng) as s:
        row = s.scalar(select(ApiToken).where(ApiToken.name == "simpeg"))
        assert timedelta(days=29) < row.expires_at - utcnow() <= timedelta(days=30)
    with TestClient(create_app(web_env.settings)) as c:
        me = lambda: c.get("/api/me", headers={"Authorization": f"Bearer {token}"}).status_code  # noqa: E731
        assert me() == 200
        with session_scope(eng) as s:
            s.execute(update(ApiToken).where(ApiToken.name == "simpeg")
                      .values(expires_at=utcnow() - timedelta(seconds=1)))
        assert me() == 401
        with session_scope(eng) as s:
            s.execute(update(ApiToken).where(ApiToken.name == "simpeg").values(expires_at=utcnow() + timedelta(days=1)))
        assert me() == 200
        r = runner.invoke(cli, ["user", "revoke", IT, "--name", "simpeg"])
        assert r.exit_code == 0 and "1 token" in r.output
        assert me() == 401
    assert runner.invoke(cli, ["user", "token", IT, "--days", "0"]).exit_code == 1


def test_passwords_come_from_a_prompt_or_stdin_never_argv(web_env: WebEnv) -> None:  # noqa: F811
    runner = CliRunner()
    r = runner.invoke(cli, ["user", "add", "sari", "--role", "auditor", "--password", "rahasia-sari-1"])
    assert r.exit_code != 0 and "--password" in r.output  # no such option
    r = runner.invoke(cli, ["user", "add", "sari", "--role", "auditor", "--password-stdin"],
                      input="kopi-susu-sari-9\n")
    assert r.exit_code == 0, r.output
    r = runner.invoke(cli, ["user", "add", "joko", "--role", "auditor"], input="12345678\n12345678\n")
    assert r.exit_code == 1 and "terlalu umum" in r.output
    with TestClient(create_app(web_env.settings)) as c:
        login(c, "sari", "kopi-susu-sari-9")
