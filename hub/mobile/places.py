"""Field places (dinas luar): where an employee may also punch from, for a period, by a
letter (surat tugas). A teacher posted to a school, a Puskesmas nurse on a village round,
an extension worker in the fields: each place is checked like the office geofence, and a
punch outside every place is kept and held for a reviewer (hub.face.mobile)."""

from __future__ import annotations

import math
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.face.models import FieldPlace
from hub.i18n import tr
from hub.reconcile.changes import audit, employee
from hub.reconcile.errors import ReconcileError

MAX_DAYS = 366
RADIUS = (20, 5000)  # metres: smaller than a building's GPS error, larger than a village is a mistake


def add_place(session: Session, *, employee_id: int, name: str, latitude: float, longitude: float,
              radius_m: int, valid_from: date, valid_to: date, reference: str, actor: str,
              leave_id: int | None = None) -> FieldPlace:
    emp = employee(session, employee_id)
    name, reference = name.strip(), reference.strip()
    if not name:
        raise ReconcileError(tr("beri nama tempat (mis. SDN 2 Lembang)", "name the place (e.g. SDN 2 Lembang)"))
    if not reference:
        raise ReconcileError(tr("tulis nomor surat tugasnya", "give the duty letter's number"))
    if not (math.isfinite(latitude) and math.isfinite(longitude) and -90 <= latitude <= 90
            and -180 <= longitude <= 180):
        raise ReconcileError(tr("koordinat tidak sah (lintang -90..90, bujur -180..180)",
                                "invalid coordinates (latitude -90..90, longitude -180..180)"))
    if not RADIUS[0] <= radius_m <= RADIUS[1]:
        raise ReconcileError(tr(f"radius harus {RADIUS[0]}-{RADIUS[1]} m",
                                f"the radius must be {RADIUS[0]}-{RADIUS[1]} m"))
    if valid_to < valid_from:
        raise ReconcileError(tr("tanggal akhir sebelum tanggal mulai", "the end date is before the start date"))
    if (valid_to - valid_from).days >= MAX_DAYS:
        raise ReconcileError(tr("berlaku paling lama setahun; catat lagi untuk tahun berikutnya",
                                "valid for a year at most; record it again for the next year"))
    place = FieldPlace(employee_id=emp.id, name=name[:200], latitude=latitude, longitude=longitude,
                       radius_m=radius_m, valid_from=valid_from, valid_to=valid_to, reference=reference[:200],
                       leave_id=leave_id, created_by=actor)
    session.add(place)
    session.flush()
    audit(session, actor, "place.add", "field_place", place.id, employee_id=emp.id, name=place.name,
          latitude=latitude, longitude=longitude, radius_m=radius_m, valid_from=valid_from.isoformat(),
          valid_to=valid_to.isoformat(), reference=place.reference)
    return place


def remove_place(session: Session, place_id: int, actor: str) -> FieldPlace:
    place = session.get(FieldPlace, place_id)
    if place is None:
        raise ReconcileError(tr(f"tempat #{place_id} tidak ditemukan", f"place #{place_id} not found"))
    session.delete(place)
    session.flush()
    audit(session, actor, "place.remove", "field_place", place_id, employee_id=place.employee_id, name=place.name)
    return place


def places(session: Session, employee_ids: list[int] | None = None, on: date | None = None) -> list[FieldPlace]:
    q = select(FieldPlace)
    if employee_ids is not None:
        q = q.where(FieldPlace.employee_id.in_(employee_ids))
    if on is not None:
        q = q.where(FieldPlace.valid_from <= on, FieldPlace.valid_to >= on)
    return list(session.scalars(q.order_by(FieldPlace.valid_from.desc(), FieldPlace.id.desc()).limit(500)))
