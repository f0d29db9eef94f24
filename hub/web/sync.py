"""Roster sync in the console and the API (issue 20, item 3): the admin picks an office or a
terminal, sees per terminal the users and templates that would be added, changed and removed
(the plan of hub.sync.plan, PINs allocated as `hub sync plan` does), ticks the terminals to
apply and watches each one go: ZK terminals through whoever holds their session (a terminal
task), push terminals by queuing their commands at once. Removals above the usual limit go
only as far as the number the admin saw."""

from __future__ import annotations

from datetime import date
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hub import times
from hub.commands import ISAPI_KINDS, ZK_KINDS, DevicePlan
from hub.i18n import tr
from hub.messages import msg
from hub.messages import render as render_msg
from hub.store.models import Device, DeviceRequest, Site
from hub.sync.models import SyncRun
from hub.sync.plan import compute_plans, select_devices
from hub.web import scope
from hub.web.auth import Principal
from hub.web.deps import DB, api_principal, form_principal, go, lang_of, page_principal, render, settings_of

pages = APIRouter(include_in_schema=False)
api = APIRouter(prefix="/api", tags=["api"])
SHOWN = 100  # names listed per change kind and terminal


def plans_for(session: Session, who: Principal, site: Site | None, device: Device | None,
              day: date) -> list[DevicePlan]:
    devices = select_devices(session, site.code if site else None, device.serial if device else None)
    devices = [d for d in devices if who.sees(d.site_id)]
    return compute_plans(session, devices, day)


def apply_chosen(request: Request, session: Session, who: Principal, device_ids: list[int],
                 removals: dict[int, int], day: date) -> tuple[int, int]:
    """Apply the plans of the chosen terminals: those the hub talks to itself (ZK, Hikvision)
    as terminal tasks (queued, the request does not wait on a terminal), push ones now (their
    commands queued for the terminal to fetch). Returns (queued tasks, push applied)."""
    from hub.sync.apply import apply_plans  # noqa: PLC0415
    from hub.tasks.requests import ask  # noqa: PLC0415

    devices = [d for d in session.scalars(select(Device).where(Device.id.in_(device_ids or [-1])))]
    for d in devices:
        scope.check(who, d.site_id)
    zk = [d for d in devices if d.kind in ZK_KINDS + ISAPI_KINDS]
    push = [d for d in devices if d.kind not in ZK_KINDS + ISAPI_KINDS]
    session.commit()  # (the worker and apply_plans write through their own connections)
    for d in zk:
        ask(request.app.state.engine, settings_of(request), [d.id], "sync", who.username,
            params={"day": day.isoformat(), "allow_removals": removals.get(d.id)})
    if push:
        plans = compute_plans(session, push, day)
        session.commit()
        for p in plans:
            apply_plans(request.app.state.engine, [p], who.username, removals.get(p.device_id))
    return len(zk), len(push)


def progress_rows(session: Session, device_ids: list[int], lang: str) -> list[dict[str, Any]]:
    """The latest sync of each terminal: a queued or running task with its progress, else the
    last run with what it sent and read back."""
    out = []
    serials = dict(session.execute(select(Device.id, Device.serial).where(Device.id.in_(device_ids or [-1]))).all())
    latest_req = dict(session.execute(select(DeviceRequest.device_id, func.max(DeviceRequest.id))
                                      .where(DeviceRequest.device_id.in_(device_ids or [-1]),
                                             DeviceRequest.action == "sync")
                                      .group_by(DeviceRequest.device_id)).all())
    latest_run = dict(session.execute(select(SyncRun.device_id, func.max(SyncRun.id))
                                      .where(SyncRun.device_id.in_(device_ids or [-1]))
                                      .group_by(SyncRun.device_id)).all())
    reqs = {r.id: r for r in session.scalars(select(DeviceRequest).where(
        DeviceRequest.id.in_(list(latest_req.values()) or [-1])))}
    runs = {r.id: r for r in session.scalars(select(SyncRun).where(SyncRun.id.in_(list(latest_run.values()) or [-1])))}
    for device_id in device_ids:
        req = reqs.get(latest_req.get(device_id, -1))
        run = runs.get(latest_run.get(device_id, -1))
        row: dict[str, Any] = {"device_id": device_id, "serial": serials.get(device_id, "?"), "state": "none",
                               "progress": None, "status": None, "sent": {}, "mismatch": False, "error": None,
                               "at": None}
        if req is not None and req.status in ("queued", "running"):
            prog = (req.result or {}).get("progress") or {}
            row.update(state=req.status, progress=prog or None, at=req.requested_at)
        elif run is not None:
            row.update(state="done", status=run.status, sent=run.sent or {}, mismatch=run.mismatch,
                       error=render_msg(run.error, lang) or None, at=run.finished_at or run.started_at)
        out.append(row)
    return out


# --- console ---------------------------------------------------------------------------------


@pages.get("/sync")
def sync_page(request: Request, site: str | None = None, device: str | None = None,
              who: Principal = Depends(page_principal("roster.write")), session: Session = DB) -> Response:
    s = scope.site(session, who, site)
    d = scope.device(who, session.scalar(select(Device).where(Device.serial == device[:64]))) if device else None
    day = times.local_today()
    plans = plans_for(session, who, s, d, day) if (s or d) else []
    ids = [p.device_id for p in plans]
    rows = progress_rows(session, ids, lang_of(request))
    busy = any(r["state"] in ("queued", "running") for r in rows)
    terminals = list(session.scalars(select(Device).where(Device.enabled.is_(True)).order_by(Device.serial)))
    return render(request, "sync.html", plans=plans, site=site or "", device=device or "",
                  sites=scope.sites(session, who), chosen=s or d, shown=SHOWN,
                  progress={r["device_id"]: r for r in rows}, busy=busy,
                  qs=urlencode({"site": site or "", "device": device or ""}),
                  terminals=[t for t in terminals if who.sees(t.site_id)])


@pages.post("/sync/apply")
async def sync_apply(request: Request, who: Principal = Depends(form_principal("roster.write")),
                     session: Session = DB) -> Response:
    form = await request.form()
    back = f"/sync?{urlencode({'site': form.get('site') or '', 'device': form.get('device') or ''})}"
    ids = [int(v) for v in form.getlist("device_id") if str(v).isdigit() and 0 < int(str(v)) < 2**31][:500]
    removals = {i: int(str(form.get(f"rm_{i}"))) for i in ids if str(form.get(f"rm_{i}") or "").isdigit()}
    if not ids:
        return go(back, msg("sync.none_chosen"))
    zk, push = apply_chosen(request, session, who, ids, removals, times.local_today())
    return go(back, msg("sync.started", zk=zk, push=push))


# --- API --------------------------------------------------------------------------------------


class PlanOut(BaseModel):
    serial: str
    kind: str
    site: str | None
    counts: dict[str, int]
    waiting: int
    held: int
    notes: list[str]
    unsupported: str | None
    users_add: list[str]
    users_update: list[str]
    users_remove: list[str]


class ApplyIn(BaseModel):
    devices: list[str] = Field(..., min_length=1, max_length=500, description="nomor seri terminal")
    allow_removals: dict[str, int] = Field(default_factory=dict, description="per terminal: penghapusan yang disetujui")


@api.get("/sync/plan", response_model=list[PlanOut])
def api_plan(site: str | None = Query(None, max_length=64), device: str | None = Query(None, max_length=64),
             who: Principal = Depends(api_principal("roster.write")), session: Session = DB) -> list[dict]:
    """What a sync would send to each terminal of an office (or one terminal)."""
    s = scope.site(session, who, site)
    d = scope.device(who, session.scalar(select(Device).where(Device.serial == device))) if device else None
    if (site and s is None) or (device and d is None):
        raise HTTPException(404, tr("kantor atau terminal tidak ditemukan", "office or terminal not found"))
    if s is None and d is None:
        raise HTTPException(422, tr("sebutkan site atau device", "give site or device"))
    return [{"serial": p.serial, "kind": p.kind, "site": p.site, "counts": p.counts(), "waiting": p.waiting,
             "held": p.held, "notes": [str(n) for n in p.notes], "unsupported": p.unsupported,
             "users_add": [u.pin for u in p.users_add], "users_update": [u.pin for u in p.users_update],
             "users_remove": [u.pin for u in p.users_remove]}
            for p in plans_for(session, who, s, d, times.local_today())]


@api.post("/sync/apply", status_code=202)
def api_apply(request: Request, body: ApplyIn, who: Principal = Depends(api_principal("roster.write")),
              session: Session = DB) -> dict:
    """Apply the plans of these terminals; follow them with GET /api/sync/progress."""
    found = dict(session.execute(select(Device.serial, Device.id).where(Device.serial.in_(body.devices))).all())
    missing = sorted(set(body.devices) - set(found))
    if missing:
        raise HTTPException(404, tr("terminal tidak ditemukan", f"not found: {', '.join(missing[:20])}"))
    removals = {found[k]: v for k, v in body.allow_removals.items() if k in found}
    zk, push = apply_chosen(request, session, who, list(found.values()), removals, times.local_today())
    return {"queued": zk, "applied": push}


@api.get("/sync/progress")
def api_progress(request: Request, devices: list[str] = Query(..., max_length=500),
                 who: Principal = Depends(api_principal("roster.write")), session: Session = DB) -> list[dict]:
    found = list(session.execute(select(Device.id, Device.site_id).where(Device.serial.in_(devices))).all())
    for _, site_id in found:
        scope.check(who, site_id)
    return [{**r, "at": r["at"].isoformat() if r["at"] else None}
            for r in progress_rows(session, [i for i, _ in found], lang_of(request))]

