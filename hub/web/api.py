"""The JSON API under /api (Bearer tokens; OpenAPI at /api/openapi.json)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi import Path as FPath
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.i18n import tr
from hub.reconcile import corrections as rc
from hub.reconcile.errors import ReconcileError, month_bounds
from hub.reconcile.evidence import decide_no_data, decide_punches
from hub.reconcile.period import lock_month, month_figures, preview_lock, unlock_month
from hub.store.models import Device, Employee
from hub.web import bulk, queries, review, scope
from hub.web.auth import Principal
from hub.web.deps import DB, MAX_ID, SaneDate, SaneDateTime, api_principal

router = APIRouter(prefix="/api", tags=["api"])
MONTH = r"^\d{4}-(0[1-9]|1[0-2])$"


class Me(BaseModel):
    username: str
    role: str


class EmployeeOut(BaseModel):
    id: int
    id_number: str
    name: str
    site: str | None
    employment_type: str
    position: str | None
    active: bool
    pins: list[str]
    fingerprints: int
    faces: int


class EmployeePage(BaseModel):
    total: int
    page: int
    per_page: int
    items: list[EmployeeOut]


class PunchOut(BaseModel):
    id: int
    device: str
    pin: str
    employee_id: int | None
    employee: str | None
    local_time: datetime
    tz: str
    utc_time: datetime
    state: str
    verify: str
    source: str
    flags: list[str]


class PunchPage(BaseModel):
    total: int
    page: int
    per_page: int
    items: list[PunchOut]


class ExceptionOut(BaseModel):
    kind: str
    day: date
    employee_id: int | None
    employee_name: str
    detail: str
    punch_id: int | None
    pending_corrections: list[int]
    terminal: str | None = None
    decision: str | None = None
    punch_ids: list[int] = []


class CorrectionIn(BaseModel):
    employee_id: int = Field(ge=1, le=MAX_ID)
    day: SaneDate
    kind: Literal["add_punch", "void_punch", "set_status"]
    reason: str = Field(max_length=2000)
    local_time: SaneDateTime | None = None
    state: Literal["check_in", "check_out"] | None = None
    status: str | None = Field(None, max_length=32)
    punch_id: int | None = Field(None, ge=1, le=2**63 - 1)


class CorrectionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    employee_id: int
    day: date
    kind: str
    state: str | None = None  # add_punch: the punch's state and time
    local_time: datetime | None = None
    status: str | None = None  # set_status: the day's new status
    reason: str = ""
    approval: str
    author: str
    approved_by: str | None


class Decision(BaseModel):
    decision: Literal["approve", "reject"]


class RecapColumn(BaseModel):
    key: str
    header: str
    header_en: str
    kind: str


class LegendEntry(BaseModel):
    code: str
    meaning: str
    meaning_en: str
    pct: float | None


class Recap(BaseModel):
    site: str
    month: str
    locked: bool
    locked_by: str | None = None
    locked_at: datetime | None = None
    sha256: str
    rulesets: list[str]
    columns: list[RecapColumn]
    legend: list[LegendEntry]
    rows: list[dict[str, Any]]
    totals: dict[str, Any]


class LockPreviewOut(BaseModel):
    site: str
    month: str
    sha256: str
    employees: int
    counts: dict[str, int]
    changed: list[dict[str, Any]]
    pending_corrections: int
    problems: list[str]


class LockIn(BaseModel):
    site: str = Field(max_length=64)
    month: str = Field(pattern=MONTH)
    sha256: str = Field(default="", max_length=64)
    reason: str = Field(default="", max_length=2000)


class NoDataDecisionIn(BaseModel):
    terminal: str = Field(max_length=32)
    day: SaneDate
    decision: Literal["present", "absent"]
    reason: str = Field(max_length=2000)


class PunchDecisionIn(BaseModel):
    punch_ids: list[int] = Field(min_length=1, max_length=5000)
    decision: Literal["accepted", "rejected"]
    reason: str = Field(max_length=2000)


class BatchItemIn(BaseModel):
    """Held punches (punch_ids) or one terminal-day without data (terminal and day)."""

    punch_ids: list[int] = Field(default_factory=list, max_length=5000)
    terminal: str | None = Field(None, max_length=32)
    day: SaneDate | None = None


class BatchDecisionIn(BaseModel):
    action: Literal["accepted", "rejected", "present", "absent"]
    reason: str = Field(max_length=2000)
    items: list[BatchItemIn] = Field(min_length=1, max_length=bulk.MAX_ITEMS)


class BatchOut(BaseModel):
    done: int
    skipped: int
    refused: list[str]


def _problem(exc: Exception, status: int = 422) -> HTTPException:
    return HTTPException(status, str(exc))


def _month(month: str) -> None:
    """A month outside the hub's years is the caller's mistake (422), not a missing thing."""
    try:
        month_bounds(month)
    except ReconcileError as exc:
        raise _problem(exc) from exc


@router.get("/me", response_model=Me)
def me(who: Principal = Depends(api_principal(""))) -> Me:
    return Me(username=who.username, role=who.role)


@router.get("/employees", response_model=EmployeePage)
def employees(site: str | None = Query(None, max_length=64), page: int = Query(1, ge=1, le=100000),
              per_page: int = Query(50, ge=1, le=500), q: str | None = Query(None, max_length=100),
              who: Principal = Depends(api_principal("roster.read")), session: Session = DB) -> dict:
    """Employees, searched by name words or the start of a NIP (`q`), by office, paged."""
    scope.site(session, who, site)
    items, total = queries.employees(session, site, page, per_page, scope.ids(who), q)
    return {"total": total, "page": page, "per_page": per_page, "items": items}


@router.get("/employees/{employee_id}")
def employee(employee_id: int, who: Principal = Depends(api_principal("roster.read")), session: Session = DB) -> dict:
    """One employee as the console's employee page shows them: office, PINs, the terminals
    they are confirmed on, and what is enrolled (kinds and fingers, never the templates)."""
    from hub.store.models import PinMapping, Site  # noqa: PLC0415
    from hub.sync.models import DeviceRosterUser  # noqa: PLC0415

    emp = scope.employee(who, session.get(Employee, employee_id) if 0 < employee_id <= MAX_ID else None)
    if emp is None:
        raise HTTPException(404, tr("pegawai tidak ditemukan", "employee not found"))
    site = session.get(Site, emp.site_id) if emp.site_id else None
    return {"id": emp.id, "id_number": emp.id_number, "name": emp.name, "site": site.code if site else None,
            "employment_type": emp.employment_type, "position": emp.position, "grade": emp.grade,
            "active": emp.active,
            "pins": [{"pin": p.pin, "group": p.pin_group, "valid_from": p.valid_from, "valid_to": p.valid_to}
                     for p in session.scalars(select(PinMapping).where(PinMapping.employee_id == emp.id))],
            "terminals": [{"serial": serial, "pin": pin, "confirmed_at": at} for serial, pin, at in session.execute(
                select(Device.serial, DeviceRosterUser.pin, DeviceRosterUser.confirmed_at)
                .join(Device, Device.id == DeviceRosterUser.device_id).where(DeviceRosterUser.employee_id == emp.id))],
            "enrolled": [{"kind": t.kind, "finger": t.finger_index if t.kind == "fingerprint" else None,
                          "format": t.format} for t in queries.templates_of(session, emp.id)]}


@router.get("/recap/day")
def recap_day(day: SaneDate, employee_id: int = Query(ge=1, le=MAX_ID),
              who: Principal = Depends(api_principal("review.read")), session: Session = DB) -> dict:
    """One employee-day as the reconciler judged it, its punches (with any review decision)
    and the corrections filed for it."""
    emp = scope.employee(who, session.get(Employee, employee_id))
    if emp is None:
        raise HTTPException(404, tr("pegawai tidak ditemukan", "employee not found"))
    ds, punches, corrections = review.employee_day(session, emp, day)
    return {"employee_id": emp.id, "day": day, "status": ds.status, "late_min": ds.late_min,
            "early_min": ds.early_min, "deduction_pct": ds.pct, "check_in": ds.check_in, "check_out": ds.check_out,
            "source": ds.source,
            "punches": [{"id": p.id, "local_time": p.local_time, "state": p.state, "verify": p.verify,
                         "terminal_id": p.device_id, "flags": p.flags, "decision": decision}
                        for p, decision in punches],
            "corrections": [{"id": c.id, "kind": c.kind, "status": c.status, "approval": c.approval,
                             "reason": c.reason, "author": c.author} for c in corrections]}


@router.get("/punches", response_model=PunchPage)
def punches(device: str | None = Query(None, max_length=64), site: str | None = Query(None, max_length=64),
            employee: str | None = Query(None, max_length=32), date_from: SaneDate | None = None,
            date_to: SaneDate | None = None, flag: Literal[queries.FLAG_NAMES] | None = None,  # type: ignore[valid-type]
            page: int = Query(1, ge=1, le=100000), per_page: int = Query(50, ge=1, le=500),
            who: Principal = Depends(api_principal("punch.read")), session: Session = DB) -> dict:
    scope.site(session, who, site)
    f = queries.PunchFilter(device, site, employee, date_from, date_to, flag, scope.ids(who))
    items, total = queries.punches(session, f, page, per_page)
    return {"total": total, "page": page, "per_page": per_page, "items": items}


@router.get("/exceptions", response_model=list[ExceptionOut])
def exceptions(day: SaneDate, site: str | None = Query(None, max_length=64), day_to: SaneDate | None = None,
               kind: str | None = Query(None, max_length=32), terminal: str | None = Query(None, max_length=64),
               who: Principal = Depends(api_principal("review.read")),
               session: Session = DB) -> list[dict]:
    """One office-day (site and day), or a range of days for the caller's offices (day_to),
    filtered by kind and terminal as the console's range view."""
    s = scope.site(session, who, site)
    if site and s is None:
        raise HTTPException(404, tr(f"kantor '{site}' tidak ditemukan", "office not found"))
    dev = None
    if terminal:
        dev = scope.device(who, session.scalar(select(Device).where(Device.serial == terminal)))
        if dev is None:
            raise HTTPException(404, tr(f"terminal '{terminal}' tidak ditemukan", "terminal not found"))
    try:
        if s is not None and day_to is None and dev is None and kind is None:
            rows = review.exceptions(session, s, day)
        else:
            rows = review.exceptions_between(session, day, day_to or day, s, scope.ids(who), kind, dev)
    except ReconcileError as exc:
        raise _problem(exc) from exc
    return [{"kind": r.kind, "day": r.day, "employee_id": r.employee_id, "employee_name": r.employee_name,
             "detail": r.detail, "punch_id": r.punch_id, "pending_corrections": [c.id for c in r.pending],
             "terminal": r.terminal, "decision": r.decision, "punch_ids": r.punch_ids} for r in rows]


@router.post("/corrections", response_model=CorrectionOut, status_code=201)
def propose(body: CorrectionIn, who: Principal = Depends(api_principal("review.write")),
            session: Session = DB):  # type: ignore[no-untyped-def]
    local = body.local_time.replace(tzinfo=None) if body.local_time else None
    scope.employee(who, session.get(Employee, body.employee_id) if 0 < body.employee_id <= MAX_ID else None)
    try:
        with session.begin_nested():
            return rc.propose_correction(session, employee_id=body.employee_id, day=body.day, kind=body.kind,
                                         reason=body.reason, author=who.username, local_time=local,
                                         state=body.state, status=body.status, punch_id=body.punch_id)
    except ReconcileError as exc:
        raise _problem(exc) from exc


@router.get("/corrections/pending", response_model=list[CorrectionOut])
def pending(site: str | None = Query(None, max_length=64), who: Principal = Depends(api_principal("review.read")),
            session: Session = DB):  # type: ignore[no-untyped-def]
    scope.site(session, who, site)
    try:
        s = review.find_site(session, site) if site else None
    except ReconcileError as exc:
        raise _problem(exc, 404) from exc
    return [c for c, e in review.pending_corrections(session, s) if who.sees(e.site_id)]


@router.post("/corrections/{correction_id}/decision", response_model=CorrectionOut)
def decide(body: Decision, correction_id: int = FPath(ge=1, le=MAX_ID),
           who: Principal = Depends(api_principal("review.approve")), session: Session = DB):  # type: ignore[no-untyped-def]
    scope.correction(session, who, correction_id)
    try:
        with session.begin_nested():
            fn = rc.approve_correction if body.decision == "approve" else rc.reject_correction
            return fn(session, correction_id, who.username)
    except ReconcileError as exc:
        raise _problem(exc) from exc


@router.post("/nodata/decisions", status_code=201)
def nodata_decision(body: NoDataDecisionIn, who: Principal = Depends(api_principal("review.write")),
                    session: Session = DB) -> dict:
    scope.terminal_key(session, who, body.terminal)
    try:
        with session.begin_nested():
            row = decide_no_data(session, body.terminal, body.day, body.decision, body.reason, who.username)
    except ReconcileError as exc:
        raise _problem(exc) from exc
    return {"terminal": row.terminal, "day": row.day, "decision": row.decision, "decided_by": row.decided_by}


@router.post("/quarantine/decisions", status_code=201)
def quarantine_decision(body: PunchDecisionIn, who: Principal = Depends(api_principal("review.write")),
                        session: Session = DB) -> dict:
    if not all(0 < i < 2**63 for i in body.punch_ids):
        raise HTTPException(422, tr("punch id di luar rentang", "punch id out of range"))
    scope.punches(session, who, body.punch_ids)
    try:
        with session.begin_nested():
            n = decide_punches(session, body.punch_ids, body.decision, body.reason, who.username)
    except ReconcileError as exc:
        raise _problem(exc) from exc
    return {"decided": n, "decision": body.decision}


@router.post("/exceptions/decisions", response_model=BatchOut)
def batch_decision(body: BatchDecisionIn, who: Principal = Depends(api_principal("review.write")),
                   session: Session = DB) -> BatchOut:
    """The console's bulk action: one decision for many held-punch groups and terminal-days.
    Each is decided on its own (a locked period refuses that one, named in `refused`); items
    the action does not apply to are `skipped`; one item outside your offices refuses all."""
    try:
        items = [bulk.Item(punch_ids=tuple(i.punch_ids), terminal=i.terminal or "", day=i.day) for i in body.items]
        out = bulk.decide_all(session, who, items, body.action, body.reason)
    except ValueError as exc:
        raise _problem(exc) from exc
    return BatchOut(done=out.done, skipped=out.skipped, refused=out.refused)


@router.get("/recap", response_model=Recap)
def recap(site: str = Query(max_length=64), month: str = Query(pattern=MONTH),
          who: Principal = Depends(api_principal("review.read")), session: Session = DB) -> dict:
    """The month's recap: the same figures as the page and the exports (frozen when locked)."""
    _month(month)
    scope.site(session, who, site)
    try:
        s = review.find_site(session, site)
        fig = month_figures(session, month, s.id)
    except ReconcileError as exc:
        raise _problem(exc, 404) from exc
    return {"site": s.code, "month": month, "locked": fig.locked, "sha256": fig.sha256, "rulesets": fig.rulesets,
            "locked_by": fig.lock.locked_by if fig.lock else None,
            "locked_at": fig.lock.locked_at if fig.lock else None,
            "columns": [{"key": c.key, "header": c.id, "header_en": c.en, "kind": c.kind} for c in fig.columns],
            "legend": [{"code": c, "meaning": i, "meaning_en": e, "pct": p} for c, i, e, p in fig.legend],
            "rows": fig.rows, "totals": fig.totals}


@router.get("/recap/export.{fmt}", response_class=Response)
def recap_export(request: Request, fmt: Literal["csv", "xlsx", "pdf"], site: str = Query(max_length=64),
                 month: str = Query(pattern=MONTH), who: Principal = Depends(api_principal("review.read")),
                 session: Session = DB) -> Response:
    """The recap of an office and month as the console exports it (CSV, XLSX or the signed
    PDF); the figures' SHA-256 in the X-Figures-Sha256 header."""
    from hub.web.pages import export_file  # noqa: PLC0415

    scope.site(session, who, site)
    _month(month)
    try:
        s = review.find_site(session, site)
        fig = month_figures(session, month, s.id)
    except ReconcileError as exc:
        raise _problem(exc, 404) from exc
    return export_file(request, fig, s, month, fmt, who)


@router.get("/recap/preview", response_model=LockPreviewOut)
def recap_preview(site: str = Query(max_length=64), month: str = Query(pattern=MONTH),
                  who: Principal = Depends(api_principal("recap.lock")), session: Session = DB) -> dict:
    """What locking would freeze, and the code to confirm it with."""
    _month(month)
    scope.site(session, who, site)
    try:
        s = review.find_site(session, site)
        p = preview_lock(session, month, s.id)
    except ReconcileError as exc:
        raise _problem(exc, 404) from exc
    return {"site": s.code, "month": month, "sha256": p.sha256, "employees": len(p.figures.rows),
            "counts": p.counts, "changed": p.changed, "pending_corrections": p.pending_corrections,
            "problems": p.problems}


@router.post("/recap/lock", status_code=201)
def recap_lock(body: LockIn, who: Principal = Depends(api_principal("recap.lock")), session: Session = DB) -> dict:
    """Freeze the figures whose code (from /recap/preview) the caller confirms."""
    scope.site(session, who, body.site)
    try:
        s = review.find_site(session, body.site)
        with session.begin_nested():
            lock = lock_month(session, body.month, s.id, who.username, body.sha256, reason=body.reason)
    except ReconcileError as exc:
        raise _problem(exc) from exc
    return {"site": s.code, "month": body.month, "sha256": lock.figures_sha256, "locked_by": lock.locked_by}


@router.post("/recap/unlock")
def recap_unlock(body: LockIn, who: Principal = Depends(api_principal("recap.lock")),
                 session: Session = DB) -> dict:
    scope.site(session, who, body.site)
    try:
        s = review.find_site(session, body.site)
        with session.begin_nested():
            unlock_month(session, body.month, s.id, who.username, body.reason)
    except ReconcileError as exc:
        raise _problem(exc) from exc
    return {"site": s.code, "month": body.month, "locked": False}
