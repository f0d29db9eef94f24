"""Rollout per office (issue 20, item 3): who still lacks a fingerprint or a face, and which
terminals are not yet in sync (never synced, last sync failed or partial, or its read-back
did not match), so BKPSDM can see where enrolment and distribution stand."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hub.roster.assignment import ROSTER_KINDS
from hub.store.models import Device, Employee, Site, Template
from hub.store.sites import SiteTree
from hub.sync.models import SyncRun
from hub.web import scope
from hub.web.auth import Principal
from hub.web.deps import DB, api_principal, page_of, page_principal, render

pages = APIRouter(include_in_schema=False)
api = APIRouter(prefix="/api", tags=["api"])
PER_PAGE = 50


@dataclass
class OfficeRollout:
    site_id: int
    code: str
    name: str
    employees: int = 0
    with_finger: int = 0
    with_face: int = 0
    with_neither: int = 0
    terminals: int = 0
    in_sync: int = 0
    lacking: list[dict[str, Any]] = field(default_factory=list)  # (the chosen office only)
    devices: list[dict[str, Any]] = field(default_factory=list)

    @property
    def not_in_sync(self) -> int:
        return self.terminals - self.in_sync


def _enrolled(session: Session) -> dict[int, set[str]]:
    out: dict[int, set[str]] = defaultdict(set)
    for emp_id, kind in session.execute(select(Template.employee_id, Template.kind)
                                        .where(Template.valid_flag > 0).distinct()):
        out[emp_id].add(kind)
    return out


def _last_syncs(session: Session) -> dict[int, SyncRun]:
    latest = select(func.max(SyncRun.id)).group_by(SyncRun.device_id)
    return {r.device_id: r for r in session.scalars(select(SyncRun).where(SyncRun.id.in_(latest)))}


def in_sync(run: SyncRun | None) -> bool:
    return run is not None and run.status in ("ok", "unchanged") and not run.mismatch


def rollout(session: Session, who: Principal, chosen: Site | None = None) -> list[OfficeRollout]:
    """Every OPD in the user's offices (or the chosen office alone, with its lists)."""
    tree = SiteTree.load(session)
    tops = [chosen.id] if chosen else [sid for sid in tree.children.get(None, []) if who.sees(sid)]
    offices = {sid: OfficeRollout(sid, tree.by_id[sid].code, tree.by_id[sid].name) for sid in tops}
    opd_of = {sub: top for top in tops for sub in tree.subtree(top)}
    enrolled = _enrolled(session)
    people = select(Employee).where(Employee.active.is_(True), Employee.site_id.in_(list(opd_of) or [-1]))
    for e in session.scalars(people.order_by(Employee.name)):
        o = offices[opd_of[e.site_id]]  # type: ignore[index]
        kinds = enrolled.get(e.id, set())
        o.employees += 1
        o.with_finger += "fingerprint" in kinds
        o.with_face += "face" in kinds
        o.with_neither += not kinds
        if chosen is not None and ("fingerprint" not in kinds or "face" not in kinds):
            o.lacking.append({"id": e.id, "nip": e.id_number, "name": e.name,
                              "unit": tree.by_id[e.site_id].name if e.site_id in tree.by_id else "",
                              "finger": "fingerprint" in kinds, "face": "face" in kinds})
    runs = _last_syncs(session)
    for d in session.scalars(select(Device).where(Device.enabled.is_(True), Device.kind.in_(ROSTER_KINDS),
                                                  Device.site_id.in_(list(opd_of) or [-1])).order_by(Device.serial)):
        o = offices[opd_of[d.site_id]]  # type: ignore[index]
        run = runs.get(d.id)
        o.terminals += 1
        o.in_sync += in_sync(run)
        if chosen is not None:
            o.devices.append({"serial": d.serial, "name": d.name, "kind": d.kind, "in_sync": in_sync(run),
                              "status": run.status if run else None, "mismatch": bool(run and run.mismatch),
                              "at": (run.finished_at or run.started_at) if run else None})
    return sorted(offices.values(), key=lambda o: (-(o.with_neither + o.not_in_sync), o.name))


@pages.get("/rollout")
def rollout_page(request: Request, site: str | None = None, page: str | None = None,
                 who: Principal = Depends(page_principal("roster.read")), session: Session = DB) -> Response:
    chosen = scope.site(session, who, site)
    offices = rollout(session, who, chosen)
    p = page_of(page)
    lacking = offices[0].lacking if chosen and offices else []
    return render(request, "rollout.html", offices=offices, chosen=chosen, site=site or "",
                  sites=scope.sites(session, who), lacking=lacking[(p - 1) * PER_PAGE:p * PER_PAGE],
                  total=len(lacking), page=p, per_page=PER_PAGE, qs=urlencode({"site": site or ""}))


class OfficeRolloutOut(BaseModel):
    code: str
    name: str
    employees: int
    with_finger: int
    with_face: int
    with_neither: int
    terminals: int
    in_sync: int
    not_in_sync: int
    lacking: list[dict[str, Any]]
    devices: list[dict[str, Any]]


@api.get("/rollout", response_model=list[OfficeRolloutOut])
def api_rollout(site: str | None = Query(None, max_length=64), who: Principal = Depends(api_principal("roster.read")),
                session: Session = DB) -> list[dict]:
    """Enrolment and terminal sync per OPD; with `site`, also who lacks what and each terminal."""
    chosen = scope.site(session, who, site)
    return [{**vars(o), "not_in_sync": o.not_in_sync} for o in rollout(session, who, chosen)]
