"""User management for IT, in the console (/users) and through the API (/api/users): create,
disable or enable, reset a password, bind to offices, issue and revoke API tokens. Every
change is audited; secrets (passwords, tokens) are shown once and never put in a URL."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi import Path as FPath
from fastapi.responses import Response
from pydantic import BaseModel, Field
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from hub.i18n import tr
from hub.messages import msg as words
from hub.store.models import AuditLog, Site
from hub.web import scope
from hub.web.auth import (
    AuthError,
    Principal,
    add_user,
    bind_sites,
    bound_codes,
    new_api_token,
    reset_password,
    set_active,
)
from hub.web.deps import DB, MAX_ID, api_principal, form_principal, go, page_principal, render, settings_of
from hub.web.models import ROLE_NAMES, ROLES, ApiToken, User, UserSite

pages = APIRouter(include_in_schema=False)
api = APIRouter(prefix="/api", tags=["api"])


def manager(dep: Any) -> Any:
    """users.manage, held by a whole-hub user: people are not kept by office."""

    def guard(who: Principal = Depends(dep)) -> Principal:
        if who.scope is not None:
            raise scope.OutOfScope()
        return who

    return guard


def _audit(session: Session, who: Principal, action: str, user: User, **details: Any) -> None:
    session.add(AuditLog(actor=who.username, action=action, entity="user", entity_id=str(user.id),
                         details={"username": user.username, **details}))


class UnknownUser(AuthError):
    """No such user (404 through the API)."""


def _user(session: Session, user_id: int) -> User:
    user = session.get(User, user_id) if 0 < user_id <= MAX_ID else None
    if user is None:
        raise UnknownUser(tr(f"pengguna #{user_id} tidak ditemukan", f"user #{user_id} not found"))
    return user


def _rows(session: Session) -> list[dict[str, Any]]:
    tokens: dict[int, list[ApiToken]] = {}
    for t in session.scalars(select(ApiToken).where(ApiToken.revoked.is_(False)).order_by(ApiToken.id)):
        tokens.setdefault(t.user_id, []).append(t)
    offices: dict[int, list[str]] = {}
    for uid, code in session.execute(select(UserSite.user_id, Site.code).join(Site, Site.id == UserSite.site_id)
                                     .order_by(Site.code)):
        offices.setdefault(uid, []).append(code)
    return [{"id": u.id, "username": u.username, "full_name": u.full_name, "role": u.role, "active": u.active,
             "offices": offices.get(u.id, []), "last_login_at": u.last_login_at,
             "locked_until": u.locked_until, "tokens": tokens.get(u.id, [])}
            for u in session.scalars(select(User).order_by(User.username))]


def _create(session: Session, who: Principal, username: str, password: str, role: str, full_name: str,
            offices: list[str]) -> User:
    user = add_user(session, username, password, role, full_name)
    codes = bind_sites(session, user, offices)
    _audit(session, who, "user.add", user, role=role, sites=codes)
    return user


def _bind(session: Session, who: Principal, user: User, offices: list[str]) -> list[str]:
    codes = bind_sites(session, user, offices)
    _audit(session, who, "user.bind", user, sites=codes)
    return codes


def _token(session: Session, who: Principal, user: User, name: str, days: int) -> str:
    token = new_api_token(session, user, name[:100], days)
    _audit(session, who, "token.add", user, name=name[:100], days=days)
    return token


def _revoke(session: Session, who: Principal, user: User, token_id: int | None) -> int:
    q = update(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked.is_(False))
    if token_id is not None:
        q = q.where(ApiToken.id == token_id)
    n = session.execute(q.values(revoked=True)).rowcount
    _audit(session, who, "token.revoke", user, token_id=token_id, count=n)
    return n


# --- console ----------------------------------------------------------------------------------


def _page(request: Request, session: Session, who: Principal, status_code: int = 200, **ctx: Any) -> Response:
    return render(request, "users.html", status_code=status_code, users=_rows(session), roles=ROLES,
                  role_names=ROLE_NAMES, sites=scope.sites(session, who),
                  token_days=settings_of(request).web.api_token_days, **ctx)


@pages.get("/users")
def users_page(request: Request, who: Principal = Depends(manager(page_principal("users.manage"))),
               session: Session = DB) -> Response:
    return _page(request, session, who)


@pages.post("/users")
async def users_create(request: Request, who: Principal = Depends(manager(form_principal("users.manage"))),
                       session: Session = DB) -> Response:
    form = await request.form()
    try:
        with session.begin_nested():
            user = _create(session, who, str(form.get("username", "")), str(form.get("password", "")),
                           str(form.get("role", "")), str(form.get("full_name", ""))[:200],
                           [str(v) for v in form.getlist("offices")])
    except AuthError as exc:
        return _page(request, session, who, status_code=422, error=str(exc),
                     form={k: str(v) for k, v in form.items() if k not in ("password", "csrf_token")})
    return go("/users", words("user.created", username=user.username))


@pages.post("/users/{user_id}")
async def users_change(request: Request, user_id: int,
                       who: Principal = Depends(manager(form_principal("users.manage"))),
                       session: Session = DB) -> Response:
    """One change to one user: disable, enable, password, offices, token, revoke."""
    form = await request.form()
    action = str(form.get("action", ""))
    shown: str | None = None
    try:
        with session.begin_nested():
            user = _user(session, user_id)
            if action in ("disable", "enable"):
                if user.id == who.user_id and action == "disable":
                    raise AuthError(tr("Anda tidak dapat menonaktifkan diri sendiri", "you cannot disable yourself"))
                set_active(session, user, action == "enable")
                _audit(session, who, f"user.{action}", user)
                note = words("user.enabled" if action == "enable" else "user.disabled", username=user.username)
            elif action == "password":
                reset_password(session, user, str(form.get("password", "")))
                _audit(session, who, "user.password", user)
                note = words("user.password_reset", username=user.username)
            elif action == "offices":
                codes = _bind(session, who, user, [str(v) for v in form.getlist("offices")])
                note = words("user.offices", username=user.username, offices=", ".join(codes)) if codes else \
                    words("user.offices_all", username=user.username)
            elif action == "token":
                shown = _token(session, who, user, str(form.get("name", "")),
                               _days(form.get("days"), settings_of(request).web.api_token_days))
                note = None
            elif action == "revoke":
                tid = str(form.get("token_id", ""))
                n = _revoke(session, who, user, int(tid) if tid.isdigit() and int(tid) <= MAX_ID else None)
                note = words("user.tokens_revoked", count=n)
            else:
                raise AuthError(tr(f"aksi '{action[:40]}' tidak dikenal", "unknown action"))
    except AuthError as exc:
        return _page(request, session, who, status_code=422, error=str(exc))
    if shown is not None:  # a new token is shown on the answer page once, never in a URL
        return _page(request, session, who, new_token=shown, token_user=user.username)
    return go("/users", note)


def _days(value: Any, default: int) -> int:
    text = str(value or "").strip()
    if not text:
        return default
    if not text.isdigit():
        raise AuthError(tr("masa berlaku token harus angka hari", "token lifetime must be a number of days"))
    return int(text[:6])


# --- API --------------------------------------------------------------------------------------


class UserOut(BaseModel):
    id: int
    username: str
    full_name: str
    role: str
    active: bool
    offices: list[str]
    last_login_at: datetime | None


class UserIn(BaseModel):
    username: str = Field(max_length=64)
    password: str = Field(max_length=200)
    role: str = Field(max_length=16)
    full_name: str = Field("", max_length=200)
    offices: list[str] = Field(default_factory=list, max_length=500)


class UserChange(BaseModel):
    active: bool | None = None
    password: str | None = Field(None, max_length=200)
    offices: list[str] | None = Field(None, max_length=500)


class TokenIn(BaseModel):
    name: str = Field("", max_length=100)
    days: int = Field(90, ge=1, le=3660)


def _out(session: Session, user: User) -> dict[str, Any]:
    return {"id": user.id, "username": user.username, "full_name": user.full_name, "role": user.role,
            "active": user.active, "offices": bound_codes(session, user.id), "last_login_at": user.last_login_at}


def _problem(exc: AuthError, status: int = 422) -> HTTPException:
    return HTTPException(status, str(exc))


@api.get("/users", response_model=list[UserOut])
def api_users(who: Principal = Depends(manager(api_principal("users.manage"))), session: Session = DB) -> list[dict]:
    return [_out(session, u) for u in session.scalars(select(User).order_by(User.username))]


@api.post("/users", response_model=UserOut, status_code=201)
def api_user_create(body: UserIn, who: Principal = Depends(manager(api_principal("users.manage"))),
                    session: Session = DB) -> dict:
    try:
        with session.begin_nested():
            user = _create(session, who, body.username, body.password, body.role, body.full_name, body.offices)
    except AuthError as exc:
        raise _problem(exc) from exc
    return _out(session, user)


@api.patch("/users/{user_id}", response_model=UserOut)
def api_user_change(body: UserChange, user_id: int = FPath(ge=1, le=MAX_ID),
                    who: Principal = Depends(manager(api_principal("users.manage"))), session: Session = DB) -> dict:
    try:
        with session.begin_nested():
            user = _user(session, user_id)
            if body.active is not None:
                if user.id == who.user_id and not body.active:
                    raise AuthError(tr("Anda tidak dapat menonaktifkan diri sendiri", "you cannot disable yourself"))
                set_active(session, user, body.active)
                _audit(session, who, "user.enable" if body.active else "user.disable", user)
            if body.password is not None:
                reset_password(session, user, body.password)
                _audit(session, who, "user.password", user)
            if body.offices is not None:
                _bind(session, who, user, body.offices)
    except AuthError as exc:
        raise _problem(exc, 404 if isinstance(exc, UnknownUser) else 422) from exc
    return _out(session, user)


@api.post("/users/{user_id}/tokens", status_code=201)
def api_token_create(body: TokenIn, user_id: int = FPath(ge=1, le=MAX_ID),
                     who: Principal = Depends(manager(api_principal("users.manage"))), session: Session = DB) -> dict:
    """A new API token for the user, in the answer only (the hub keeps its digest)."""
    try:
        with session.begin_nested():
            user = _user(session, user_id)
            token = _token(session, who, user, body.name, body.days)
    except AuthError as exc:
        raise _problem(exc, 404 if isinstance(exc, UnknownUser) else 422) from exc
    return {"username": user.username, "name": body.name, "days": body.days, "token": token}


@api.post("/users/{user_id}/tokens/revoke")
def api_token_revoke(user_id: int = FPath(ge=1, le=MAX_ID), token_id: int | None = Query(None, ge=1, le=MAX_ID),
                     who: Principal = Depends(manager(api_principal("users.manage"))), session: Session = DB) -> dict:
    try:
        with session.begin_nested():
            n = _revoke(session, who, _user(session, user_id), token_id)
    except AuthError as exc:
        raise _problem(exc, 404) from exc
    return {"revoked": n}

