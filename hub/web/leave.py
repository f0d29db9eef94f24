"""Leave and duty letters in the console and the API (issue 20, item 4): a reviewer records a
multi-day cuti, izin, sakit or dinas luar with its letter number and the scanned letter
(PDF or JPEG, checked by its bytes, size-limited, kept encrypted), lists what is recorded
for their offices, and opens a scan. The reconciler reads the entries (hub.reconcile.leave)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Depends, File, Form, HTTPException, Query, Request, UploadFile
from fastapi.responses import Response
from pydantic import BaseModel, Field
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hub.i18n import tr
from hub.messages import msg
from hub.reconcile import leave_scans
from hub.reconcile.errors import ReconcileError, check_day
from hub.reconcile.leave import AlreadyDecided, add_leave, decide_leave
from hub.reconcile.models import LeaveEntry, LeaveScan
from hub.store.models import Employee
from hub.web import review, scope
from hub.web.auth import Principal
from hub.web.deps import (
    DB,
    MAX_ID,
    SaneDate,
    api_principal,
    day_of,
    form_principal,
    go,
    lang_of,
    page_of,
    page_principal,
    render,
)

pages = APIRouter(include_in_schema=False)
api = APIRouter(prefix="/api", tags=["api"])
PER_PAGE = 50
BODY_LIMIT = leave_scans.MAX_SCAN_BYTES + 256 * 1024  # the scan and the form around it


def leave_types(session: Session, lang: str) -> list[tuple[str, str]]:
    """The leave codes the rulesets know, with their names (the form's choices)."""
    names = review.status_names(session, lang)
    codes = [c for c in review.status_codes(session) if c not in ("H", "TK", "LIBUR", "CBER", "OFF")]
    return [(c, names.get(c, c)) for c in codes]


def record(session: Session, who: Principal, emp: Employee, start: date, end: date, type_: str, reference: str,
           note: str, scan: bytes | None, filename: str | None) -> LeaveEntry:
    """Add the entry and its scan together (one fails: neither is kept). ReconcileError says why."""
    check_day(start)  # within the hub's years (a form field's type alone does not check it)
    check_day(end)
    with session.begin_nested():
        entry = add_leave(session, employee_id=emp.id, start=start, end=end, type=type_, author=who.username,
                          reference=reference.strip()[:200], note=note.strip()[:2000])
        if scan:
            leave_scans.attach(session, entry, scan, filename, who.username)
    return entry


def pending_requests(session: Session, who: Principal, site_ids: list[int] | None = None
                     ) -> list[tuple[LeaveEntry, Employee, LeaveScan | None]]:
    """Leave asked from the phone and not yet decided, oldest first, in the user's offices."""
    q = (select(LeaveEntry, Employee, LeaveScan).join(Employee, Employee.id == LeaveEntry.employee_id)
         .outerjoin(LeaveScan, LeaveScan.leave_id == LeaveEntry.id).where(LeaveEntry.approval == "pending"))
    if who.scope is not None:
        q = q.where(Employee.site_id.in_(sorted(who.scope) or [-1]))
    if site_ids is not None:
        q = q.where(Employee.site_id.in_(site_ids or [-1]))
    return [tuple(r) for r in session.execute(q.order_by(LeaveEntry.created_at, LeaveEntry.id).limit(500))]  # type: ignore[misc]


def decide(session: Session, who: Principal, leave_id: int, decision: str, note: str) -> LeaveEntry:
    """An approver's decision on a request in their offices; ReconcileError says why not."""
    entry = session.get(LeaveEntry, leave_id) if 0 < leave_id <= MAX_ID else None
    if entry is None:
        raise HTTPException(404, tr(f"permohonan #{leave_id} tidak ditemukan", f"request #{leave_id} not found"))
    scope.employee(who, session.get(Employee, entry.employee_id))
    with session.begin_nested():
        return decide_leave(session, leave_id, decision, who.username, note)


def entries(session: Session, who: Principal, emp: Employee | None, lo: date | None, hi: date | None,
            page: int) -> tuple[list[tuple[LeaveEntry, Employee, LeaveScan | None]], int]:
    q = (select(LeaveEntry, Employee, LeaveScan).join(Employee, Employee.id == LeaveEntry.employee_id)
         .outerjoin(LeaveScan, LeaveScan.leave_id == LeaveEntry.id))
    if emp is not None:
        q = q.where(LeaveEntry.employee_id == emp.id)
    if who.scope is not None:
        q = q.where(Employee.site_id.in_(sorted(who.scope) or [-1]))
    if lo:
        q = q.where(LeaveEntry.date_to >= lo)
    if hi:
        q = q.where(LeaveEntry.date_from <= hi)
    total = session.scalar(select(func.count()).select_from(q.subquery())) or 0
    rows = [tuple(r) for r in session.execute(q.order_by(LeaveEntry.date_from.desc(), LeaveEntry.id.desc())
                                              .offset((page - 1) * PER_PAGE).limit(PER_PAGE))]
    return rows, total  # type: ignore[return-value]


def _scan_response(session: Session, who: Principal, leave_id: int) -> Response:
    entry = session.get(LeaveEntry, leave_id) if 0 < leave_id <= MAX_ID else None
    if entry is not None:
        scope.employee(who, session.get(Employee, entry.employee_id))
    found = leave_scans.read(session, leave_id) if entry is not None else None
    if found is None:
        raise HTTPException(404, tr("pindaian tidak ditemukan", "scan not found"))
    scan, data = found
    # always a download: a stored file is never rendered as a page of the hub's own origin
    return Response(data, media_type=scan.content_type, headers={
        "Content-Disposition": f"attachment; filename=\"{scan.filename}\"; filename*=UTF-8''{quote(scan.filename)}",
        "Cache-Control": "no-store"})


# --- console ---------------------------------------------------------------------------------


def _page(request: Request, session: Session, who: Principal, status_code: int = 200, error: str | None = None,
          form: dict[str, Any] | None = None) -> Response:
    q = request.query_params
    emp = scope.employee_by_ref(session, who, q.get("employee_id") or q.get("nip"))
    lo, hi = day_of(q.get("day")), day_of(q.get("day_to"))
    page = page_of(q.get("page"))
    rows, total = entries(session, who, emp, lo, hi, page)
    params = {"employee_id": emp.id if emp else "", "day": lo.isoformat() if lo else "",
              "day_to": hi.isoformat() if hi else ""}
    form = form or {"nip": emp.id_number if emp else "", "start": params["day"], "end": params["day_to"] or
                    params["day"], "type": "", "reference": "", "note": ""}
    return render(request, "leave.html", status_code=status_code, rows=rows, total=total, page=page,
                  per_page=PER_PAGE, qs=urlencode(params), f=params, emp=emp, error=error, form=form,
                  types=leave_types(session, lang_of(request)), max_kb=leave_scans.MAX_SCAN_BYTES // 1024)


@pages.get("/leave")
def leave_page(request: Request, who: Principal = Depends(page_principal("review.read")),
               session: Session = DB) -> Response:
    return _page(request, session, who)


@pages.post("/leave")
async def leave_add(request: Request, who: Principal = Depends(form_principal("review.write")),
                    session: Session = DB) -> Response:
    form = await request.form()
    fields = {k: str(form.get(k) or "").strip() for k in ("nip", "start", "end", "type", "reference", "note")}
    upload = form.get("scan")
    data = await upload.read() if upload is not None and hasattr(upload, "read") else b""
    emp = scope.employee_by_ref(session, who, fields["nip"])
    start, end = day_of(fields["start"]), day_of(fields["end"] or fields["start"])
    try:
        if emp is None:
            raise ReconcileError(tr(f"pegawai dengan NIP '{fields['nip']}' tidak ditemukan di kantor Anda",
                                    f"no employee with NIP '{fields['nip']}' in your offices"))
        if start is None or end is None:
            raise ReconcileError(tr("isi tanggal mulai dan sampai", "fill in the start and end dates"))
        if not fields["reference"]:
            raise ReconcileError(tr("isi nomor surat", "fill in the letter number"))
        entry = record(session, who, emp, start, end, fields["type"], fields["reference"], fields["note"],
                       data or None, getattr(upload, "filename", None))
    except ReconcileError as exc:
        return _page(request, session, who, status_code=422, error=str(exc), form=fields)
    days = (entry.date_to - entry.date_from).days + 1
    return go(f"/leave?employee_id={emp.id}", msg("leave.recorded_scan" if data else "leave.recorded",
                                                  type=entry.type, days=days, name=emp.name))


@pages.post("/leave/{leave_id}/decide")
async def leave_decide(request: Request, leave_id: int, who: Principal = Depends(form_principal("review.approve")),
                       session: Session = DB) -> Response:
    form = await request.form()
    try:
        entry = decide(session, who, leave_id, str(form.get("decision", "")), str(form.get("note") or ""))
    except ReconcileError as exc:
        return go("/approvals", str(exc))
    return go("/approvals", msg("leave.approved" if entry.approval == "approved" else "leave.rejected",
                                type=entry.type, nip=session.get(Employee, entry.employee_id).id_number))


@pages.get("/leave/{leave_id}/scan")
def leave_scan(leave_id: int, who: Principal = Depends(page_principal("review.read")),
               session: Session = DB) -> Response:
    return _scan_response(session, who, leave_id)


# --- API ----------------------------------------------------------------------------------


class LeaveDecisionIn(BaseModel):
    decision: Literal["approve", "reject"]
    note: str = Field("", max_length=2000)


class LeaveOut(BaseModel):
    id: int
    employee_id: int
    nip: str
    name: str
    start: date
    end: date
    type: str
    reference: str
    note: str
    author: str
    created_at: datetime
    scan: dict[str, Any] | None
    state: str  # approved | pending (asked from the phone) | rejected
    decided_by: str | None
    decision_note: str


def _out(entry: LeaveEntry, emp: Employee, scan: LeaveScan | None) -> dict[str, Any]:
    return {"id": entry.id, "employee_id": emp.id, "nip": emp.id_number, "name": emp.name, "start": entry.date_from,
            "end": entry.date_to, "type": entry.type, "reference": entry.reference, "note": entry.note,
            "author": entry.author, "created_at": entry.created_at, "state": entry.approval,
            "decided_by": entry.approved_by, "decision_note": entry.decision_note or "",
            "scan": None if scan is None else {"filename": scan.filename, "content_type": scan.content_type,
                                               "size": scan.size, "sha256": scan.sha256,
                                               "url": f"/api/leave/{entry.id}/scan"}}


@api.get("/leave", response_model=list[LeaveOut])
def api_leave(employee: str | None = Query(None, max_length=40, description="NIP atau id"),
              start: SaneDate | None = None, end: SaneDate | None = None, page: int = Query(1, ge=1, le=10**6),
              who: Principal = Depends(api_principal("review.read")), session: Session = DB) -> list[dict]:
    emp = scope.employee_by_ref(session, who, employee) if employee else None
    if employee and emp is None:
        raise HTTPException(404, tr("pegawai tidak ditemukan", "employee not found"))
    rows, _ = entries(session, who, emp, start, end, page)
    return [_out(e, m, s) for e, m, s in rows]


@api.post("/leave", response_model=LeaveOut, status_code=201)
async def api_leave_add(employee: str = Form(..., max_length=40, description="NIP atau id"),
                        start: date = Form(...), end: date | None = Form(None),
                        type: str = Form(..., max_length=16), reference: str = Form(..., min_length=1, max_length=200),
                        note: str = Form("", max_length=2000), scan: UploadFile | None = File(None),
                        who: Principal = Depends(api_principal("review.write")), session: Session = DB) -> dict:
    """Record leave for a date range with its letter number and, optionally, the scanned
    letter (PDF or JPEG, multipart field `scan`)."""
    emp = scope.employee_by_ref(session, who, employee)
    if emp is None:
        raise HTTPException(404, tr("pegawai tidak ditemukan", "employee not found"))
    data = await scan.read(leave_scans.MAX_SCAN_BYTES + 1) if scan is not None else b""
    try:
        entry = record(session, who, emp, start, end or start, type, reference, note, data or None,
                       scan.filename if scan is not None else None)
    except ReconcileError as exc:
        raise HTTPException(422, str(exc)) from exc
    return _out(entry, emp, session.scalar(select(LeaveScan).where(LeaveScan.leave_id == entry.id)))


@api.get("/leave/requests", response_model=list[LeaveOut])
def api_leave_requests(who: Principal = Depends(api_principal("review.read")), session: Session = DB) -> list[dict]:
    """Leave asked by employees from the phone, waiting for an approver (oldest first)."""
    return [_out(e, m, s) for e, m, s in pending_requests(session, who)]


@api.post("/leave/{leave_id}/decision", response_model=LeaveOut)
def api_leave_decision(body: LeaveDecisionIn, leave_id: int, who: Principal = Depends(api_principal("review.approve")),
                       session: Session = DB) -> dict:
    """Approve (it counts from now on) or reject (with the reason the employee reads)."""
    try:
        entry = decide(session, who, leave_id, body.decision, body.note)
    except ReconcileError as exc:
        raise HTTPException(409 if isinstance(exc, AlreadyDecided) else 422, str(exc)) from exc
    emp = session.get(Employee, entry.employee_id)
    assert emp is not None
    return _out(entry, emp, session.scalar(select(LeaveScan).where(LeaveScan.leave_id == entry.id)))


@api.get("/leave/{leave_id}/scan")
def api_leave_scan(leave_id: int, who: Principal = Depends(api_principal("review.read")),
                   session: Session = DB) -> Response:
    return _scan_response(session, who, leave_id)
