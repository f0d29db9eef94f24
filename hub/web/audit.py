"""The auditor's log (issue 20, item 6), in the console and the API: newest first, by date
range (days as the hub's zone counts them), actor, action, entity and office (with its
units), 50 a page, each change described in words. Its readers see the whole hub: a user
bound to offices does not read it (an office is a filter here, not a scope)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hub import times
from hub.store.models import AuditLog, Site
from hub.store.sites import SiteTree
from hub.web import scope
from hub.web.auth import Principal
from hub.web.catalogue import translator
from hub.web.deps import DB, SaneDate, api_principal, day_of, lang_of, page_of, page_principal, render
from hub.web.labels import LABELS, describe, label

pages = APIRouter(include_in_schema=False)
api = APIRouter(prefix="/api", tags=["api"])
PER_PAGE = 50


def entries(session: Session, who: Principal, *, office: Site | None, entity: str | None, actor: str, action: str,
            lo: date | None, hi: date | None, page: int) -> tuple[list[AuditLog], int, SiteTree]:
    if who.scope is not None:
        raise scope.OutOfScope()
    tree = SiteTree.load(session)
    conds: list[Any] = []
    if office is not None:
        conds.append(AuditLog.site_id.in_(tree.subtree(office.id)))
    if entity:
        conds.append(AuditLog.entity == entity[:40])
    if actor:
        conds.append(AuditLog.actor == actor[:100])
    if action:
        conds.append(AuditLog.action.startswith(action[:60], autoescape=True))
    zone = times.hub_zone()
    if lo:
        conds.append(AuditLog.at >= times.to_utc(datetime.combine(lo, time.min), zone))
    if hi:
        conds.append(AuditLog.at < times.to_utc(datetime.combine(hi + timedelta(days=1), time.min), zone))
    total = session.scalar(select(func.count()).select_from(AuditLog).where(*conds)) or 0
    rows = list(session.scalars(select(AuditLog).where(*conds).order_by(AuditLog.id.desc())
                                .offset((page - 1) * PER_PAGE).limit(PER_PAGE)))
    return rows, total, tree


@pages.get("/audit")
def audit_page(request: Request, entity: str | None = None, actor: str = "", action: str = "",
               date_from: str | None = None, date_to: str | None = None, page: str | None = None,
               site: str | None = None, who: Principal = Depends(page_principal("audit.read")),
               session: Session = DB) -> Response:
    office = scope.site(session, who, site)
    page_no = page_of(page)
    lo, hi = day_of(date_from), day_of(date_to)
    rows, total, tree = entries(session, who, office=office, entity=entity, actor=actor.strip(),
                                action=action.strip(), lo=lo, hi=hi, page=page_no)
    params = {"entity": entity or "", "actor": actor.strip(), "action": action.strip(),
              "date_from": lo.isoformat() if lo else "", "date_to": hi.isoformat() if hi else "",
              "site": office.code if office else ""}
    return render(request, "audit.html", rows=rows, total=total, page=page_no, per_page=PER_PAGE,
                  qs=urlencode(params), f=params, sites=scope.sites(session, who),
                  describe=lambda details: describe(details, translator(lang_of(request))),
                  site=params["site"], actions=sorted(LABELS["action"].items(), key=lambda kv: kv[1]),
                  office_names={sid: s.name for sid, s in tree.by_id.items()},
                  actors=list(session.scalars(select(AuditLog.actor).distinct().order_by(AuditLog.actor).limit(500))))


class AuditOut(BaseModel):
    id: int
    at: datetime
    actor: str
    action: str
    action_words: str
    entity: str
    entity_id: str | None
    office: str | None
    details: dict[str, Any]
    description: str


class AuditPage(BaseModel):
    total: int
    page: int
    entries: list[AuditOut]


@api.get("/audit", response_model=AuditPage)
def api_audit(request: Request, site: str | None = Query(None, max_length=64), entity: str | None = Query(
              None, max_length=40), actor: str = Query("", max_length=100), action: str = Query("", max_length=60),
              date_from: SaneDate | None = None, date_to: SaneDate | None = None,
              page: int = Query(1, ge=1, le=10**6), who: Principal = Depends(api_principal("audit.read")),
              session: Session = DB) -> dict:
    """The audit log for other systems (an inspectorate's tools): the same filters as the page."""
    office = scope.site(session, who, site)
    rows, total, tree = entries(session, who, office=office, entity=entity, actor=actor.strip(),
                                action=action.strip(), lo=date_from, hi=date_to, page=page)
    t = translator(lang_of(request))
    return {"total": total, "page": page, "entries": [
        {"id": r.id, "at": r.at, "actor": r.actor, "action": r.action, "action_words": t(label("action", r.action)),
         "entity": r.entity, "entity_id": r.entity_id,
         "office": tree.by_id[r.site_id].code if r.site_id in tree.by_id else None,
         "details": r.details or {}, "description": describe(r.details, t)} for r in rows]}
