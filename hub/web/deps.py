"""Request plumbing: the store session, who is asking, language, CSRF and rendering."""

from __future__ import annotations

import hmac
from collections.abc import Callable, Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote, unquote

from fastapi import Depends, HTTPException, Request
from fastapi.responses import RedirectResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from fastapi.templating import Jinja2Templates
from pydantic import AfterValidator
from sqlalchemy.orm import Session

from hub import messages, times
from hub.config import Settings
from hub.i18n import tr
from hub.punch import PunchFlag
from hub.reconcile.errors import check_day
from hub.store.db import session_factory
from hub.times import DAY_SHORT
from hub.web.auth import Principal, session_principal, token_principal
from hub.web.catalogue import number_formatter, translator
from hub.web.labels import label
from hub.web.models import ROLE_NAMES

SESSION_COOKIE = "hub_session"
LANG_COOKIE = "hub_lang"
LOGIN_CSRF_COOKIE = "hub_login_csrf"
FLASH_COOKIE = "hub_flash"
BEARER = HTTPBearer(auto_error=False, description="token dari `hub user token`")
TEMPLATES = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))


class LoginRequired(Exception):
    """Raised by page dependencies; turned into a redirect to the login page."""


class Forbidden(Exception):
    """Raised when the signed-in role may not do this; rendered as a 403 page."""


def settings_of(request: Request) -> Settings:
    return request.app.state.settings


def db(request: Request) -> Iterator[Session]:
    session = session_factory(request.app.state.engine)()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


# Commit before the response goes out: the default ("request") would commit after it is
# sent, and a browser following the redirect could ask before its new session exists.
DB = Depends(db, scope="function")


def lang_of(request: Request) -> str:
    """The reader's language: ?lang=, the console's switch (cookie), then for API clients their
    Accept-Language (a browser's en-US does not turn the console English), then the setting."""
    lang = request.query_params.get("lang") or request.cookies.get(LANG_COOKIE) or \
        (_accepted(request.headers.get("accept-language", "")) if request.url.path.startswith("/api/") else None) or \
        request.app.state.settings.language
    return "en" if str(lang).lower().startswith("en") else "id"


def _accepted(header: str) -> str | None:
    """The first of id/en in an Accept-Language header (weights in the order given)."""
    for part in header.split(",")[:10]:
        tag = part.split(";")[0].strip().lower()
        if tag[:2] in ("id", "en"):
            return tag[:2]
    return None


def page_principal(permission: str) -> Callable[..., Principal]:
    """Dependency for a page: the signed-in user, who must hold `permission`."""

    def dep(request: Request, session: Session = DB) -> Principal:
        who = session_principal(session, request.cookies.get(SESSION_COOKIE))
        if who is None:
            raise LoginRequired()
        if permission and not who.can(permission):
            raise Forbidden()
        request.state.principal = who
        return who

    return dep


def form_principal(permission: str) -> Callable[..., Any]:
    """Dependency for a form POST: a signed-in user with `permission` and a valid CSRF token."""
    page_dep = page_principal(permission)

    async def dep(request: Request, who: Principal = Depends(page_dep)) -> Principal:
        form = await request.form()
        sent = str(form.get("csrf_token") or "")
        if not hmac.compare_digest(sent.encode(), who.csrf_token.encode()):
            raise HTTPException(403, tr("CSRF token tidak cocok", "CSRF token mismatch"))
        return who

    return dep


def api_principal(permission: str) -> Callable[..., Principal]:
    """Dependency for /api: a Bearer token whose user holds `permission` (401 / 403)."""

    def dep(creds: HTTPAuthorizationCredentials | None = Depends(BEARER),
            session: Session = DB) -> Principal:
        who = token_principal(session, creds.credentials.strip()) if creds else None
        if who is None:
            raise HTTPException(401, tr("token API tidak sah", "invalid API token"),
                                headers={"WWW-Authenticate": "Bearer"})
        if permission and not who.can(permission):
            raise HTTPException(403, tr(f"peran {who.role} tidak diizinkan", f"role {who.role} not allowed"))
        return who

    return dep


def render(request: Request, name: str, status_code: int = 200, **ctx: Any):  # type: ignore[no-untyped-def]
    lang = lang_of(request)
    tr_page = translator(lang)
    who: Principal | None = getattr(request.state, "principal", None)
    base = {"request": request, "t": tr_page, "num": number_formatter(lang), "lang": lang, "who": who,
            "flag_names": PunchFlag.names_of, "m": lambda text: messages.render(text, lang),
            "ROLE_NAMES": ROLE_NAMES, "local": times.shown, "wall": times.wall,
            "zone_name": times.ZONE_NAMES.get(times.hub_zone(), times.hub_zone()), "hub_tz": times.hub_zone(),
            "zone_label": lambda tz: f"{times.ZONE_NAMES[tz]} ({tz})" if tz in times.ZONE_NAMES else tz,
            "name": lambda kind, code: tr_page(label(kind, code)),
            "DAY_SHORT": DAY_SHORT,
            "csrf": who.csrf_token if who else "",
            "flash": messages.render(unquote(request.cookies.get(FLASH_COOKIE, ""))[:1000], lang) or None}
    base.update(ctx)
    response = TEMPLATES.TemplateResponse(request, name, base, status_code=status_code)
    if request.cookies.get(FLASH_COOKIE):
        response.delete_cookie(FLASH_COOKIE)  # shown once
    if request.query_params.get("lang"):
        response.set_cookie(LANG_COOKIE, lang, max_age=365 * 86400, samesite="lax", httponly=True)
    return response


def _sane(day: date) -> date:
    check_day(day)  # a ReconcileError is a ValueError: FastAPI answers 422 with its message
    return day


def _sane_time(t: datetime) -> datetime:
    check_day(t.date())
    return t


SaneDate = Annotated[date, AfterValidator(_sane)]  # a date parameter in 2000..2099


def day_of(value: str | None) -> date | None:
    """A page's date parameter: an ISO date in the hub's years, else None (the page's default)."""
    try:
        return check_day(date.fromisoformat(value)) if value else None
    except ValueError:  # (a ReconcileError too: out of range)
        return None


def page_of(value: str | None) -> int:
    """A page number from a query string: 1 for anything that is not one."""
    return int(value) if value and value.isdigit() and 0 < int(value) < 100000 else 1
SaneDateTime = Annotated[datetime, AfterValidator(_sane_time)]


MAX_ID = 2**31 - 1  # INTEGER keys: larger ids cannot exist (and PostgreSQL would refuse them)


def go(url: str, msg: str | None = None) -> RedirectResponse:
    """Redirect after a form. The message rides in a short-lived cookie, not the URL: a link
    from elsewhere cannot make the hub display text of its choosing."""
    response = RedirectResponse(url, status_code=303)
    if msg:
        # a catalogue message goes by its code, shown in the reader's language
        response.set_cookie(FLASH_COOKIE, quote(messages.stored(msg) or ""), max_age=60, httponly=True,
                            samesite="strict")
    return response
