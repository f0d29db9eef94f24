"""Terminals waiting for IT: ADMS and MQTT terminals that pushed before they were registered.
IT approves one (into an office and zone; an ADMS terminal is pinned to the address it called
from) or rejects it, in the console (/terminals/pending) or through the API. The CLI's
`hub push approve/reject` use the same two functions."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi import Path as FPath
from fastapi.responses import Response
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.fleet.registry import RegistryError
from hub.i18n import tr
from hub.messages import msg
from hub.peer import AddressError
from hub.push import service
from hub.push.models import PushRegistration
from hub.store.models import AuditLog, Device, utcnow
from hub.web import scope
from hub.web.auth import Principal
from hub.web.deps import DB, api_principal, form_principal, go, page_principal, render
from hub.web.devices import ZONES

pages = APIRouter(include_in_schema=False)
api = APIRouter(prefix="/api", tags=["api"])
SERIAL = r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$"


def approve_pending(session: Session, serial: str, actor: str, site: str | None = None, tz: str | None = None,
                    name: str = "", source: str | None = None) -> tuple[Device, str | None]:
    """Register a pending terminal; returns it and, for ADMS, the addresses it is pinned to.
    RegistryError/AddressError say what to change."""
    from hub.adapters.adms import trust  # noqa: PLC0415
    from hub.adapters.mqtt.acl import refresh_if_configured  # noqa: PLC0415

    device = service.approve(session, serial, actor, site=site, tz=tz, name=name)
    pinned = trust.pin_at_approval(session, device.id, serial, actor, source) if device.kind == "adms" else None
    if device.kind == "mqtt":
        session.flush()
        refresh_if_configured(session)
    return device, pinned


def reject_pending(session: Session, serial: str, actor: str) -> PushRegistration:
    reg = session.scalar(select(PushRegistration).where(PushRegistration.serial == serial))
    if reg is None or reg.status == "approved":
        raise RegistryError(tr(f"tidak ada pendaftaran tertunda untuk {serial}",
                               f"no pending registration for {serial}"))
    reg.status, reg.decided_by, reg.decided_at = "rejected", actor, utcnow()
    session.add(AuditLog(actor=actor, action="push.reject", entity="push_registration", entity_id=str(reg.id),
                         details={"serial": serial}))
    return reg


def waiting(session: Session) -> list[PushRegistration]:
    return list(session.scalars(select(PushRegistration).where(PushRegistration.status != "approved")
                                .order_by(PushRegistration.status, PushRegistration.last_seen_at.desc())))


def _from(reg: PushRegistration) -> str:
    info = reg.info or {}
    return str(info.get("last_addr") or info.get("addr") or "")


# --- console ----------------------------------------------------------------------------------


def _page(request: Request, session: Session, who: Principal, status_code: int = 200, **ctx: Any) -> Response:
    rows = [{"serial": r.serial, "channel": r.channel, "status": r.status, "first_seen": r.first_seen_at,
             "last_seen": r.last_seen_at, "attempts": r.attempts, "from": _from(r),
             "tz": (r.info or {}).get("tz") or "Asia/Jakarta"} for r in waiting(session)]
    return render(request, "pending.html", status_code=status_code, rows=rows, zones=ZONES,
                  sites=scope.sites(session, who), **ctx)


@pages.get("/terminals/pending")
def pending_page(request: Request, who: Principal = Depends(page_principal("fleet.write")),
                 session: Session = DB) -> Response:
    return _page(request, session, who)


@pages.post("/terminals/pending/{serial}")
async def pending_decide(request: Request, serial: str = FPath(pattern=SERIAL),
                         who: Principal = Depends(form_principal("fleet.write")),
                         session: Session = DB) -> Response:
    form = await request.form()
    site = str(form.get("site") or "") or None
    try:
        if form.get("decision") == "reject":
            with session.begin_nested():
                reject_pending(session, serial, who.username)
            return go("/terminals/pending", msg("terminal.rejected", serial=serial))
        scope.site(session, who, site)
        with session.begin_nested():
            device, pinned = approve_pending(session, serial, who.username, site=site,
                                             tz=str(form.get("tz") or "") or None,
                                             name=str(form.get("name") or "")[:100],
                                             source=str(form.get("source") or "").strip() or None)
    except (RegistryError, AddressError) as exc:
        return _page(request, session, who, status_code=422, error=str(exc))
    if pinned:
        return go("/terminals/pending", msg("terminal.approved_pinned", serial=device.serial, tz=device.tz,
                                            pinned=pinned))
    return go("/terminals/pending", msg("terminal.approved", serial=device.serial, tz=device.tz))


# --- API --------------------------------------------------------------------------------------


class PendingOut(BaseModel):
    serial: str
    channel: str
    status: str
    first_seen_at: datetime
    last_seen_at: datetime
    attempts: int
    address: str


class ApproveIn(BaseModel):
    site: str | None = Field(None, max_length=64)
    tz: str | None = Field(None, max_length=64)
    name: str = Field("", max_length=100)
    source: str | None = Field(None, max_length=500)


@api.get("/terminals/pending", response_model=list[PendingOut])
def api_pending(who: Principal = Depends(api_principal("fleet.write")), session: Session = DB) -> list[dict]:
    return [{"serial": r.serial, "channel": r.channel, "status": r.status, "first_seen_at": r.first_seen_at,
             "last_seen_at": r.last_seen_at, "attempts": r.attempts, "address": _from(r)}
            for r in waiting(session)]


@api.post("/terminals/pending/{serial}/approve", status_code=201)
def api_approve(body: ApproveIn, serial: str = FPath(pattern=SERIAL),
                who: Principal = Depends(api_principal("fleet.write")), session: Session = DB) -> dict:
    scope.site(session, who, body.site)
    try:
        with session.begin_nested():
            device, pinned = approve_pending(session, serial, who.username, body.site, body.tz, body.name,
                                             body.source)
    except (RegistryError, AddressError) as exc:
        raise HTTPException(422, str(exc)) from exc
    return {"serial": device.serial, "kind": device.kind, "tz": device.tz, "pinned_to": pinned}


@api.post("/terminals/pending/{serial}/reject")
def api_reject(serial: str = FPath(pattern=SERIAL), who: Principal = Depends(api_principal("fleet.write")),
               session: Session = DB) -> dict:
    try:
        with session.begin_nested():
            reject_pending(session, serial, who.username)
    except RegistryError as exc:
        raise HTTPException(404, str(exc)) from exc
    return {"serial": serial, "status": "rejected"}
