"""Users, passwords, sessions and API tokens (no HTTP here: the CLI uses it too)."""

from __future__ import annotations

import functools
import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from hub.i18n import tr
from hub.store.models import utcnow
from hub.store.sites import SiteTree
from hub.web.models import ROLES, ApiToken, LoginThrottle, User, UserSite, WebSession

_hasher = PasswordHasher()
_USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")
MIN_PASSWORD = 8

# What each role may do. Pages and API routes name one permission each; what a permission
# reaches is further limited to the user's offices (Principal.scope).
PERMISSIONS: dict[str, frozenset[str]] = {
    "it": frozenset({"fleet.read", "fleet.write", "punch.read", "mobile.credentials", "audit.read",
                     "users.manage"}),
    "admin": frozenset({"roster.read", "roster.write", "punch.read", "fleet.read", "face.enroll",
                        "mobile.credentials"}),
    "operator": frozenset({"review.read", "review.write", "punch.read", "roster.read"}),
    "verifier": frozenset({"review.read", "review.approve", "punch.read", "roster.read"}),
    "bpkad": frozenset({"review.read", "recap.lock"}),
    "reviewer": frozenset({"review.read", "review.write", "review.approve", "recap.lock", "punch.read",
                           "roster.read", "audit.read"}),
    "auditor": frozenset({"fleet.read", "roster.read", "punch.read", "review.read", "audit.read"}),
}
# Roles that only ever see the offices they are bound to (none bound: nothing).
SCOPED_ROLES = frozenset({"operator"})


class AuthError(ValueError):
    """A user or token request that cannot be accepted; the message says why."""


@dataclass(frozen=True)
class Principal:
    """Who is asking: a signed-in user (browser) or an API token's user."""

    user_id: int
    username: str
    role: str
    csrf_token: str = ""
    scope: frozenset[int] | None = None  # site ids this user may see; None: every office

    def can(self, permission: str) -> bool:
        return permission in PERMISSIONS.get(self.role, frozenset())

    def sees(self, site_id: int | None) -> bool:
        """Whether an office (and what belongs to it) is within this user's offices. Things
        with no office (an unassigned terminal or employee) are for unscoped users only."""
        return self.scope is None or (site_id is not None and site_id in self.scope)


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def validate_username(username: str) -> str:
    name = (username or "").strip().lower()
    if not _USERNAME.match(name):
        raise AuthError(tr(f"nama pengguna '{username}' tidak sah (huruf kecil/angka/._-, 2-64)",
                           f"username '{username}' is not valid (lowercase letters/digits/._-, 2-64)"))
    return name


def validate_role(role: str) -> str:
    if role not in ROLES:
        raise AuthError(tr(f"peran '{role}' tidak dikenal; pilih: {', '.join(ROLES)}",
                           f"unknown role '{role}'; choose one of {', '.join(ROLES)}"))
    return role


@functools.cache
def _common_passwords() -> frozenset[str]:
    text = (Path(__file__).with_name("common_passwords.txt")).read_text(encoding="utf-8")
    return frozenset(ln.strip().lower() for ln in text.splitlines() if ln.strip() and not ln.startswith("#"))


def validate_password(password: str, username: str) -> str:
    """Long enough, not the username, not one of the passwords everyone tries first."""
    pw = password or ""
    if len(pw) < MIN_PASSWORD:
        raise AuthError(tr(f"kata sandi minimal {MIN_PASSWORD} karakter",
                           f"the password needs at least {MIN_PASSWORD} characters"))
    low, name = pw.lower(), (username or "").strip().lower()
    if name and (low == name or name in low and len(low) - len(name) < 4):
        raise AuthError(tr("kata sandi tidak boleh berupa nama pengguna; pilih kata sandi lain",
                           "the password must not be the username; choose another"))
    if low in _common_passwords() or len(set(low)) < 3:
        raise AuthError(tr("kata sandi ini terlalu umum dan mudah ditebak; pilih yang lain "
                           "(mis. tiga kata acak dengan angka)",
                           "this password is too common and easy to guess; choose another "
                           "(e.g. three random words with a number)"))
    return pw


def add_user(session: Session, username: str, password: str, role: str,
             full_name: str = "") -> User:
    name = validate_username(username)
    validate_role(role)
    validate_password(password, name)
    if session.scalar(select(User.id).where(User.username == name)) is not None:
        raise AuthError(tr(f"pengguna '{name}' sudah ada", f"user '{name}' already exists"))
    user = User(username=name, full_name=full_name, role=role, active=True,
                password_hash=_hasher.hash(password))
    session.add(user)
    session.flush()
    return user


def find_user(session: Session, username: str) -> User:
    user = session.scalar(select(User).where(User.username == (username or "").strip().lower()))
    if user is None:
        raise AuthError(tr(f"pengguna '{username}' tidak ditemukan", f"user '{username}' not found"))
    return user


@dataclass
class LoginResult:
    user: User | None
    locked_until: datetime | None = None  # set when the account or the address is locked


def login(session: Session, username: str, password: str, address: str, web: Any) -> LoginResult:
    """A login attempt with throttling (`web`: WebSettings). Failures count per account and
    per address within a window; at the limit the account (or address) is locked for
    web.lockout_minutes, during which even the right password is refused."""
    now = utcnow()
    address = (address or "?")[:64]
    name = (username or "").strip().lower()
    throttle = session.get(LoginThrottle, address)
    user = session.scalar(select(User).where(User.username == name))
    for locked in (throttle.locked_until if throttle else None, user.locked_until if user else None):
        if locked is not None and locked > now:
            _hasher.hash("timing-equaliser")
            return LoginResult(None, locked)
    ok = authenticate(session, username, password)
    if ok is not None:
        ok.failed_logins, ok.first_failed_at, ok.locked_until = 0, None, None
        if throttle is not None:
            session.delete(throttle)
        return LoginResult(ok)
    window = timedelta(minutes=web.login_window_minutes)
    lock = now + timedelta(minutes=web.lockout_minutes)
    locked_until = None
    if user is not None:
        if user.first_failed_at is None or now - user.first_failed_at > window:
            user.failed_logins, user.first_failed_at = 0, now
        user.failed_logins += 1
        if user.failed_logins >= web.login_max_failures:
            user.locked_until = locked_until = lock
    if throttle is None:
        throttle = LoginThrottle(address=address, failures=0, first_failed_at=now)
        session.add(throttle)
    elif now - throttle.first_failed_at > window:
        throttle.failures, throttle.first_failed_at = 0, now
    throttle.failures += 1
    if throttle.failures >= web.address_max_failures:
        throttle.locked_until = locked_until = lock
    session.flush()
    return LoginResult(None, locked_until)


def reset_password(session: Session, user: User, password: str) -> None:
    """IT sets a new password; the user's browser sessions end (tokens stay: integrations)."""
    user.password_hash = _hasher.hash(validate_password(password, user.username))
    session.execute(delete(WebSession).where(WebSession.user_id == user.id))


def set_active(session: Session, user: User, active: bool) -> None:
    """Disable (sessions end, tokens stop answering) or enable a user."""
    user.active = active
    if not active:
        session.execute(delete(WebSession).where(WebSession.user_id == user.id))


def unlock(session: Session, username: str) -> User:
    """IT lifts a lockout (the account's, and every address lock)."""
    user = find_user(session, username)
    user.failed_logins, user.first_failed_at, user.locked_until = 0, None, None
    session.execute(delete(LoginThrottle))
    return user


def authenticate(session: Session, username: str, password: str) -> User | None:
    """The active user with this password, or None (same answer for every failure)."""
    user = session.scalar(select(User).where(User.username == (username or "").strip().lower()))
    if user is None or not user.active:
        _hasher.hash("timing-equaliser")  # a missing user costs as much as a wrong password
        return None
    try:
        _hasher.verify(user.password_hash, password or "")
    except (VerificationError, InvalidHashError):
        return None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    user.last_login_at = utcnow()
    return user


def start_session(session: Session, user: User, minutes: int) -> str:
    """Create a browser session; returns the cookie value (shown once, stored hashed)."""
    token = secrets.token_urlsafe(32)
    now = utcnow()
    session.add(WebSession(token_sha256=digest(token), user_id=user.id,
                           csrf_token=secrets.token_urlsafe(24), created_at=now,
                           expires_at=now + timedelta(minutes=minutes)))
    # Expired sessions are cleared as new ones start, so the table stays small.
    session.execute(delete(WebSession).where(WebSession.expires_at < now))
    session.flush()
    return token


def session_principal(session: Session, token: str | None,
                      now: datetime | None = None) -> Principal | None:
    if not token:
        return None
    row = session.scalar(select(WebSession).where(WebSession.token_sha256 == digest(token)))
    if row is None or row.expires_at <= (now or utcnow()) or not row.user.active:
        return None
    return Principal(row.user.id, row.user.username, row.user.role, row.csrf_token,
                     user_scope(session, row.user))


def end_session(session: Session, token: str | None) -> None:
    if token:
        session.execute(delete(WebSession).where(WebSession.token_sha256 == digest(token)))


def new_api_token(session: Session, user: User, name: str = "", days: int = 90) -> str:
    """Create an API token for a user, valid `days` days; returns it (shown once, stored hashed)."""
    if not user.active:
        raise AuthError(tr(f"pengguna '{user.username}' tidak aktif", f"user '{user.username}' is inactive"))
    if not 1 <= days <= 3660:
        raise AuthError(tr("masa berlaku token 1 sampai 3660 hari", "a token lives 1 to 3660 days"))
    token = "hub_" + secrets.token_urlsafe(32)
    session.add(ApiToken(token_sha256=digest(token), user_id=user.id, name=name,
                         expires_at=utcnow() + timedelta(days=days)))
    session.flush()
    return token


def token_principal(session: Session, token: str | None) -> Principal | None:
    if not token:
        return None
    row = session.scalar(select(ApiToken).where(ApiToken.token_sha256 == digest(token)))
    if row is None or row.revoked or not row.user.active or (row.expires_at and row.expires_at <= utcnow()):
        return None
    who = Principal(row.user.id, row.user.username, row.user.role, scope=user_scope(session, row.user))
    # set last: a query after it would flush the write, and a route that then writes through
    # the engine (a pull now) would wait for this session on SQLite
    row.last_used_at = utcnow()
    return who


def user_scope(session: Session, user: User) -> frozenset[int] | None:
    """The site ids a user sees: the subtrees of the offices bound to them (None: all)."""
    bound = list(session.scalars(select(UserSite.site_id).where(UserSite.user_id == user.id)))
    if not bound:
        return frozenset() if user.role in SCOPED_ROLES else None
    tree = SiteTree.load(session)
    return frozenset(sid for b in bound for sid in tree.subtree(b))


def bind_sites(session: Session, user: User, site_codes: list[str]) -> list[str]:
    """Bind a user to exactly these offices (an empty list: unbound, refused for a role that
    sees only its offices). Returns the codes."""
    from hub.store.models import Site

    codes = sorted({c.strip() for c in site_codes if c.strip()})
    if user.role in SCOPED_ROLES and not codes:
        raise AuthError(tr(f"peran {user.role} hanya melihat kantornya: pilih kantornya (CLI: --site KODE)",
                           f"role {user.role} sees only its offices: choose them (CLI: --site CODE)"))
    found = dict(session.execute(select(Site.code, Site.id).where(Site.code.in_(codes))).all()) if codes else {}
    missing = [c for c in codes if c not in found]
    if missing:
        raise AuthError(tr(f"kantor tidak ditemukan: {', '.join(missing)}", f"office not found: {', '.join(missing)}"))
    session.execute(delete(UserSite).where(UserSite.user_id == user.id))
    session.add_all([UserSite(user_id=user.id, site_id=found[c]) for c in codes])
    session.flush()
    return codes


def bound_codes(session: Session, user_id: int) -> list[str]:
    from hub.store.models import Site

    return list(session.scalars(select(Site.code).join(UserSite, UserSite.site_id == Site.id)
                                .where(UserSite.user_id == user_id).order_by(Site.code)))
