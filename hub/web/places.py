"""Field places (dinas luar) in the console and the API: a reviewer records where an employee
may also punch from for a period, with the letter's number, and removes a place recorded
by mistake. The phone's punch checks them (hub.face.mobile); hub.mobile.places keeps them."""

from __future__ import annotations

from datetime import date
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import Response
from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.face.models import FieldPlace
from hub.i18n import tr
from hub.messages import msg
from hub.mobile.places import add_place, places, remove_place
from hub.reconcile.errors import ReconcileError
from hub.store.models import Employee
from hub.web import scope
from hub.web.auth import Principal
from hub.web.deps import DB, MAX_ID, api_principal, day_of, form_principal, go, page_principal, render

pages = APIRouter(include_in_schema=False)
api = APIRouter(prefix="/api", tags=["api"])
FIELDS = ("nip", "name", "latitude", "longitude", "radius_m", "valid_from", "valid_to", "reference")


def _visible(session: Session, who: Principal, emp: Employee | None) -> list[tuple[FieldPlace, Employee]]:
    rows = places(session, [emp.id] if emp is not None else None)
    emps = {e.id: e for e in session.scalars(select(Employee).where(
        Employee.id.in_(sorted({p.employee_id for p in rows}) or [-1])))}
    return [(p, emps[p.employee_id]) for p in rows if p.employee_id in emps and who.sees(emps[p.employee_id].site_id)]


def _add(session: Session, who: Principal, fields: dict[str, Any]) -> tuple[FieldPlace, Employee]:
    emp = scope.employee_by_ref(session, who, fields.get("nip"))
    if emp is None:
        raise ReconcileError(tr(f"pegawai dengan NIP '{fields.get('nip')}' tidak ditemukan di kantor Anda",
                                f"no employee with NIP '{fields.get('nip')}' in your offices"))
    start, end = day_of(str(fields.get("valid_from") or "")), day_of(str(fields.get("valid_to") or ""))
    if start is None or end is None:
        raise ReconcileError(tr("isi tanggal mulai dan sampai", "fill in the start and end dates"))
    try:
        lat, lon = float(str(fields.get("latitude"))), float(str(fields.get("longitude")))
        radius = int(str(fields.get("radius_m") or "150"))
    except ValueError:
        raise ReconcileError(tr("lintang, bujur dan radius harus angka (mis. -6.8123, 107.6012, 150)",
                                "latitude, longitude and radius must be numbers (e.g. -6.8123, 107.6012, 150)")
                             ) from None
    with session.begin_nested():
        place = add_place(session, employee_id=emp.id, name=str(fields.get("name") or ""), latitude=lat,
                          longitude=lon, radius_m=radius, valid_from=start, valid_to=end,
                          reference=str(fields.get("reference") or ""), actor=who.username)
    return place, emp


def _remove(session: Session, who: Principal, place_id: int) -> FieldPlace:
    place = session.get(FieldPlace, place_id) if 0 < place_id <= MAX_ID else None
    if place is None:
        raise HTTPException(404, tr(f"tempat #{place_id} tidak ditemukan", f"place #{place_id} not found"))
    scope.employee(who, session.get(Employee, place.employee_id))
    return remove_place(session, place_id, who.username)


# --- console --------------------------------------------------------------------------------


def _page(request: Request, session: Session, who: Principal, status_code: int = 200, error: str | None = None,
          form: dict[str, Any] | None = None) -> Response:
    emp = scope.employee_by_ref(session, who, request.query_params.get("nip"))
    return render(request, "places.html", status_code=status_code, rows=_visible(session, who, emp), emp=emp,
                  error=error, form=form or {"nip": emp.id_number if emp else "", "radius_m": "150"})


@pages.get("/places")
def places_page(request: Request, who: Principal = Depends(page_principal("review.read")),
                session: Session = DB) -> Response:
    return _page(request, session, who)


@pages.post("/places")
async def places_add(request: Request, who: Principal = Depends(form_principal("review.write")),
                     session: Session = DB) -> Response:
    form = await request.form()
    fields = {k: str(form.get(k) or "").strip() for k in FIELDS}
    try:
        place, emp = _add(session, who, fields)
    except ReconcileError as exc:
        return _page(request, session, who, status_code=422, error=str(exc), form=fields)
    return go(f"/places?nip={quote(emp.id_number)}", msg("place.added", name=place.name, nip=emp.id_number))


@pages.post("/places/{place_id}/remove")
async def places_remove(place_id: int, who: Principal = Depends(form_principal("review.write")),
                        session: Session = DB) -> Response:
    place = _remove(session, who, place_id)
    return go("/places", msg("place.removed", name=place.name))


# --- API ----------------------------------------------------------------------------------


class PlaceIn(BaseModel):
    employee: str  # NIP or id
    name: str
    latitude: float
    longitude: float
    radius_m: int = 150
    valid_from: date
    valid_to: date
    reference: str


class PlaceOut(BaseModel):
    id: int
    employee_id: int
    nip: str
    name: str
    latitude: float
    longitude: float
    radius_m: int
    valid_from: date
    valid_to: date
    reference: str
    created_by: str


def _out(p: FieldPlace, e: Employee) -> dict[str, Any]:
    return {"id": p.id, "employee_id": e.id, "nip": e.id_number, "name": p.name, "latitude": p.latitude,
            "longitude": p.longitude, "radius_m": p.radius_m, "valid_from": p.valid_from, "valid_to": p.valid_to,
            "reference": p.reference, "created_by": p.created_by}


@api.get("/field-places", response_model=list[PlaceOut])
def api_places(employee: str | None = None, who: Principal = Depends(api_principal("review.read")),
               session: Session = DB) -> list[dict]:
    emp = scope.employee_by_ref(session, who, employee) if employee else None
    if employee and emp is None:
        raise HTTPException(404, tr("pegawai tidak ditemukan", "employee not found"))
    return [_out(p, e) for p, e in _visible(session, who, emp)]


@api.post("/field-places", response_model=PlaceOut, status_code=201)
def api_place_add(body: PlaceIn, who: Principal = Depends(api_principal("review.write")),
                  session: Session = DB) -> dict:
    """Where an employee may also punch from, for a period, by a duty letter (dinas luar)."""
    fields = {**body.model_dump(), "nip": body.employee, "valid_from": body.valid_from.isoformat(),
              "valid_to": body.valid_to.isoformat()}
    try:
        place, emp = _add(session, who, fields)
    except ReconcileError as exc:
        raise HTTPException(422, str(exc)) from exc
    return _out(place, emp)


@api.delete("/field-places/{place_id}", status_code=204)
def api_place_remove(place_id: int, who: Principal = Depends(api_principal("review.write")),
                     session: Session = DB) -> Response:
    _remove(session, who, place_id)
    return Response(status_code=204)
