"""The JSON API under /api (Bearer tokens; OpenAPI at /api/openapi.json)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi import Path as FPath
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.fleet.registry import DeviceSpec, RegistryError, add_device
from hub.store.models import AuditLog, Device
from hub.web import queries, review
from hub.web.auth import Principal
from hub.web.deps import DB, api_principal

router = APIRouter(prefix="/api", tags=["api"])
MONTH = r"^\d{4}-(0[1-9]|1[0-2])$"
MAX_ID = 2**31 - 1  # INTEGER keys: larger ids cannot exist (and PostgreSQL would refuse them)


class Me(BaseModel):
    username: str
    role: str


class DeviceOut(BaseModel):
    serial: str
    name: str
    kind: str
    site: str | None
    tz: str
    enabled: bool
    online: bool
    last_seen_at: datetime | None
    last_pull_at: datetime | None
    last_pull_status: str | None
    backlog: int | None
    clock_offset_s: float | None
    clock_suspect: bool
    last_error: str | None


class PullRun(BaseModel):
    id: int
    source: str
    kind: str
    started_at: datetime
    finished_at: datetime | None
    status: str
    records_seen: int
    new: int
    duplicate: int
    error: str | None


class DeviceDetail(DeviceOut):
    pulls: list[PullRun]


class DeviceIn(BaseModel):
    serial: str = Field(max_length=64)
    kind: str = Field(max_length=32)
    name: str = Field("", max_length=200)
    site: str | None = Field(None, max_length=64)
    host: str | None = Field(None, max_length=255)
    port: int | None = Field(None, ge=1, le=65535)
    serial_line: str | None = Field(None, max_length=255)
    comm_key: int | None = Field(None, ge=0, le=999999)
    tz: str = Field("Asia/Jakarta", max_length=64)
    pin_group: str = Field("default", max_length=64)


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


class CorrectionIn(BaseModel):
    employee_id: int = Field(ge=1, le=MAX_ID)
    day: date
    kind: Literal["add_punch", "void_punch", "set_status"]
    reason: str = Field(max_length=2000)
    local_time: datetime | None = None
    state: Literal["check_in", "check_out"] | None = None
    status: str | None = Field(None, max_length=32)
    punch_id: int | None = Field(None, ge=1, le=2**63 - 1)


class CorrectionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    employee_id: int
    day: date
    kind: str
    approval: str
    author: str
    approved_by: str | None


class Decision(BaseModel):
    decision: Literal["approve", "reject"]


class RecapRow(BaseModel):
    no: int
    employee_id: int
    id_number: str
    name: str
    work_days: int
    judged_days: int
    H: int
    TL: int
    PSW: int
    TAM: int
    TAP: int
    TK: int
    excused: int
    late_min: int
    early_min: int
    deduction_pct: float
    monthly_tpp: int
    deduction_rp: int
    tpp_paid: int


class Recap(BaseModel):
    site: str
    month: str
    locked: bool
    rows: list[RecapRow]


def _problem(exc: Exception, status: int = 422) -> HTTPException:
    return HTTPException(status, str(exc))


@router.get("/me", response_model=Me)
def me(who: Principal = Depends(api_principal(""))) -> Me:
    return Me(username=who.username, role=who.role)


@router.get("/devices", response_model=list[DeviceOut])
def devices(request: Request, site: str | None = Query(None, max_length=64),
            who: Principal = Depends(api_principal("fleet.read")),
            session: Session = DB) -> list[dict]:
    return queries.fleet(session, request.app.state.settings, site)


@router.get("/devices/{serial}", response_model=DeviceDetail)
def device(request: Request, serial: str, who: Principal = Depends(api_principal("fleet.read")),
           session: Session = DB) -> dict:
    dev = session.scalar(select(Device).where(Device.serial == serial))
    if dev is None:
        raise HTTPException(404, f"terminal '{serial}' tidak ditemukan / not found")
    row = next(r for r in queries.fleet(session, request.app.state.settings) if r["id"] == dev.id)
    row["pulls"] = [PullRun.model_validate(r, from_attributes=True)
                    for r in queries.pull_history(session, dev.id)]
    return row


@router.post("/devices", response_model=DeviceOut, status_code=201)
def register_device(request: Request, body: DeviceIn, who: Principal = Depends(api_principal("fleet.write")),
                    session: Session = DB) -> dict:
    spec = DeviceSpec(**body.model_dump())
    try:
        with session.begin_nested():
            dev = add_device(session, spec)
    except RegistryError as exc:
        raise _problem(exc) from exc
    session.add(AuditLog(actor=who.username, action="device.add", entity="device", entity_id=str(dev.id),
                         details={"serial": dev.serial, "kind": dev.kind, "via": "api"}))
    session.flush()
    return next(r for r in queries.fleet(session, request.app.state.settings) if r["id"] == dev.id)


@router.get("/employees", response_model=EmployeePage)
def employees(site: str | None = Query(None, max_length=64), page: int = Query(1, ge=1, le=100000),
              per_page: int = Query(50, ge=1, le=500), who: Principal = Depends(api_principal("roster.read")),
              session: Session = DB) -> dict:
    items, total = queries.employees(session, site, page, per_page)
    return {"total": total, "page": page, "per_page": per_page, "items": items}


@router.get("/punches", response_model=PunchPage)
def punches(device: str | None = Query(None, max_length=64), site: str | None = Query(None, max_length=64),
            employee: str | None = Query(None, max_length=32), date_from: date | None = None,
            date_to: date | None = None, flag: Literal[queries.FLAG_NAMES] | None = None,  # type: ignore[valid-type]
            page: int = Query(1, ge=1, le=100000), per_page: int = Query(50, ge=1, le=500),
            who: Principal = Depends(api_principal("punch.read")), session: Session = DB) -> dict:
    f = queries.PunchFilter(device, site, employee, date_from, date_to, flag)
    items, total = queries.punches(session, f, page, per_page)
    return {"total": total, "page": page, "per_page": per_page, "items": items}


@router.get("/exceptions", response_model=list[ExceptionOut])
def exceptions(site: str = Query(max_length=64), day: date = Query(),
               who: Principal = Depends(api_principal("review.read")),
               session: Session = DB) -> list[dict]:
    try:
        s = review.find_site(session, site)
    except review.ReviewError as exc:
        raise _problem(exc, 404) from exc
    return [{"kind": r.kind, "day": r.day, "employee_id": r.employee_id, "employee_name": r.employee_name,
             "detail": r.detail, "punch_id": r.punch_id, "pending_corrections": [c.id for c in r.pending]}
            for r in review.exceptions(session, s, day)]


@router.post("/corrections", response_model=CorrectionOut, status_code=201)
def propose(body: CorrectionIn, who: Principal = Depends(api_principal("review.write")),
            session: Session = DB):  # type: ignore[no-untyped-def]
    local = body.local_time.replace(tzinfo=None) if body.local_time else None
    try:
        with session.begin_nested():
            return review.propose(session, employee_id=body.employee_id, day=body.day, kind=body.kind,
                                  reason=body.reason, author=who.username, local_time=local,
                                  state=body.state, status=body.status, punch_id=body.punch_id)
    except review.ReviewError as exc:
        raise _problem(exc) from exc


@router.get("/corrections/pending", response_model=list[CorrectionOut])
def pending(site: str | None = Query(None, max_length=64), who: Principal = Depends(api_principal("review.read")),
            session: Session = DB):  # type: ignore[no-untyped-def]
    try:
        s = review.find_site(session, site) if site else None
    except review.ReviewError as exc:
        raise _problem(exc, 404) from exc
    return [c for c, _ in review.pending_corrections(session, s)]


@router.post("/corrections/{correction_id}/decision", response_model=CorrectionOut)
def decide(body: Decision, correction_id: int = FPath(ge=1, le=MAX_ID),
           who: Principal = Depends(api_principal("review.write")), session: Session = DB):  # type: ignore[no-untyped-def]
    try:
        with session.begin_nested():
            return review.decide(session, correction_id, who.username, body.decision == "approve")
    except review.ReviewError as exc:
        raise _problem(exc) from exc


@router.get("/recap", response_model=Recap)
def recap(site: str = Query(max_length=64), month: str = Query(pattern=MONTH),
          who: Principal = Depends(api_principal("review.read")), session: Session = DB) -> dict:
    try:
        s = review.find_site(session, site)
        rows = review.recap(session, s, month)
    except review.ReviewError as exc:
        raise _problem(exc, 404) from exc
    return {"site": s.code, "month": month, "rows": rows,
            "locked": review.is_locked(session, s, review.month_bounds(month)[0])}
