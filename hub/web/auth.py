"""Users, passwords, sessions and API tokens (no HTTP here: the CLI uses it too)."""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from hub.i18n import tr
from hub.store.models import utcnow
from hub.web.models import ROLES, ApiToken, User, WebSession

_hasher = PasswordHasher()
_USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")
MIN_PASSWORD = 8

# What each role may do. Pages and API routes name one permission each.
PERMISSIONS: dict[str, frozenset[str]] = {
    "it": frozenset({"fleet.read", "fleet.write", "punch.read", "mobile.punch"}),
    "admin": frozenset({"roster.read", "punch.read", "fleet.read", "face.enroll", "mobile.punch"}),
    "reviewer": frozenset({"review.read", "review.write", "punch.read", "roster.read"}),
    "auditor": frozenset({"fleet.read", "roster.read", "punch.read", "review.read"}),
}


class AuthError(ValueError):
    """A user or token request that cannot be accepted; the message says why."""


@dataclass(frozen=True)
class Principal:
    """Who is asking: a signed-in user (browser) or an API token's user."""

    user_id: int
    username: str
    role: str
    csrf_token: str = ""

    def can(self, permission: str) -> bool:
        return permission in PERMISSIONS.get(self.role, frozenset())


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


def add_user(session: Session, username: str, password: str, role: str,
             full_name: str = "") -> User:
    name = validate_username(username)
    validate_role(role)
    if len(password or "") < MIN_PASSWORD:
        raise AuthError(tr(f"kata sandi minimal {MIN_PASSWORD} karakter",
                           f"the password needs at least {MIN_PASSWORD} characters"))
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
    return Principal(row.user.id, row.user.username, row.user.role, row.csrf_token)


def end_session(session: Session, token: str | None) -> None:
    if token:
        session.execute(delete(WebSession).where(WebSession.token_sha256 == digest(token)))


def new_api_token(session: Session, user: User, name: str = "") -> str:
    """Create an API token for a user; returns it (shown once, stored hashed)."""
    if not user.active:
        raise AuthError(tr(f"pengguna '{user.username}' tidak aktif", f"user '{user.username}' is inactive"))
    token = "hub_" + secrets.token_urlsafe(32)
    session.add(ApiToken(token_sha256=digest(token), user_id=user.id, name=name))
    session.flush()
    return token


def token_principal(session: Session, token: str | None) -> Principal | None:
    if not token:
        return None
    row = session.scalar(select(ApiToken).where(ApiToken.token_sha256 == digest(token)))
    if row is None or row.revoked or not row.user.active:
        return None
    row.last_used_at = utcnow()
    return Principal(row.user.id, row.user.username, row.user.role)
