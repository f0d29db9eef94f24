"""Faces in the console (issue 20, item 3), mounted with the face extra (hub.web.app): the admin uploads an
employee's photo and sees the quality gate's answer drawn on it (the face it found, green
when taken, red when refused, and why), and reviews faces the hub doubts side by side (one
face under two NIPs; a punch photo that is not the enrolled face) and decides."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any

import cv2
from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.face.enroll import PHOTO_FORMAT, enroll_analysis, terminal_photo
from hub.face.errors import FaceError
from hub.face.image import Decoded, decode, encode_jpeg
from hub.face.models import FaceReview
from hub.face.quality import analyse_decoded, find_one_face
from hub.face.settings import face_settings
from hub.face.verify import open_reviews, resolve_review
from hub.i18n import tr
from hub.push.models import PushPhoto
from hub.store.models import Employee, Template
from hub.web import scope
from hub.web.auth import Principal
from hub.web.deps import DB, MAX_ID, form_principal, go, page_principal, render

pages = APIRouter(include_in_schema=False)
SHOWN_SIDE = 480  # the photo as shown with its answer (the page, not the terminal)


@dataclass
class Shown:
    """A photo scaled for the page, with the face boxes found on it (in its pixels)."""

    uri: str
    width: int
    height: int
    boxes: list[tuple[int, int, int, int]]  # x, y, w, h


def shown(img: Decoded, boxes: list[tuple[int, int, int, int]]) -> Shown:
    h, w = img.rgb.shape[:2]
    k = min(1.0, SHOWN_SIDE / max(h, w))
    small = cv2.resize(img.bgr, (max(1, int(w * k)), max(1, int(h * k))), interpolation=cv2.INTER_AREA)
    uri = "data:image/jpeg;base64," + base64.b64encode(encode_jpeg(small, 80)).decode()
    rects = [(int(left * k), int(top * k), int((right - left) * k), int((bottom - top) * k))
             for top, right, bottom, left in boxes]
    return Shown(uri, small.shape[1], small.shape[0], rects)


def _employee(session: Session, who: Principal, employee_id: int) -> Employee:
    emp = scope.employee(who, session.get(Employee, employee_id) if 0 < employee_id <= MAX_ID else None)
    if emp is None:
        raise HTTPException(404, tr("pegawai tidak ditemukan", "employee not found"))
    return emp


def _boxes_of(img: Decoded, exc: FaceError) -> list[tuple[int, int, int, int]]:
    """Where the refused photo's faces are, to draw them (none when none was found)."""
    if exc.details.get("boxes"):
        return [tuple(b) for b in exc.details["boxes"]]  # type: ignore[misc]
    if exc.code in ("no_face", "undecodable") or "face_px" not in exc.details:
        return []
    try:
        return [find_one_face(img, gates=False).box]
    except FaceError:
        return []


def enroll_photo(session: Session, emp: Employee, data: bytes, actor: str) -> dict[str, Any]:
    """The gates' answer for an uploaded photo, enrolled when it passes; for the page."""
    settings = face_settings()
    try:
        img = decode(data, settings)
    except FaceError as exc:
        return {"ok": False, "message": exc.message, "code": exc.code, "photo": None}
    try:
        analysis = analyse_decoded(img, settings, gates=True)
    except FaceError as exc:
        return {"ok": False, "message": exc.message, "code": exc.code, "photo": shown(img, _boxes_of(img, exc)),
                "metrics": {k: v for k, v in exc.details.items() if k != "boxes"}}
    result = enroll_analysis(session, emp.id_number, analysis, actor, settings)
    session.commit()
    return {"ok": True, "photo": shown(img, [analysis.face.box]), "metrics": result.metrics,
            "duplicates": result.duplicates, "threshold": result.threshold}


@pages.post("/faces/enroll/{employee_id}")
async def face_upload(request: Request, employee_id: int, who: Principal = Depends(form_principal("face.enroll")),
                      session: Session = DB) -> Response:
    emp = _employee(session, who, employee_id)
    form = await request.form()
    upload = form.get("photo")
    limit = face_settings().max_upload_bytes
    data = await upload.read(limit + 1) if upload is not None and hasattr(upload, "read") else b""
    if not data:
        return go(f"/employees/{emp.id}", "Pilih foto wajah dulu.")
    if len(data) > limit:
        return go(f"/employees/{emp.id}", "Foto terlalu besar; kecilkan atau ambil ulang.")
    answer = await run_in_threadpool(enroll_photo, session, emp, data, who.username)
    return render(request, "face_enroll.html", status_code=201 if answer["ok"] else 422, e=emp, a=answer)


@pages.get("/faces/photo/{employee_id}")
def face_photo(employee_id: int, who: Principal = Depends(page_principal("face.enroll")),
               session: Session = DB) -> Response:
    emp = _employee(session, who, employee_id)
    found = terminal_photo(session, emp.id)
    if found is None:
        raise HTTPException(404, tr("belum ada wajah terdaftar", "no face enrolled"))
    return Response(found[0], media_type="image/jpeg", headers={"Cache-Control": "no-store"})


@pages.get("/faces/punch-photo/{punch_id}")
def punch_photo(punch_id: int, who: Principal = Depends(page_principal("face.enroll")),
                session: Session = DB) -> Response:
    scope.punches(session, who, [punch_id] if 0 < punch_id < 2**63 else [])
    photo = session.scalar(select(PushPhoto).where(PushPhoto.punch_id == punch_id).order_by(PushPhoto.id.desc())) \
        if 0 < punch_id < 2**63 else None
    if photo is None:
        raise HTTPException(404, tr("foto punch tidak tersimpan", "punch photo not kept"))
    return Response(photo.content, media_type="image/jpeg", headers={"Cache-Control": "no-store"})


@pages.get("/faces/reviews")
def reviews_page(request: Request, closed: str = "", who: Principal = Depends(page_principal("face.enroll")),
                 session: Session = DB) -> Response:
    found = open_reviews(session, include_closed=closed == "1")
    ids = {r.employee_id for r in found} | {r.other_employee_id for r in found if r.other_employee_id}
    people = {e.id: e for e in session.scalars(select(Employee).where(Employee.id.in_(ids or {-1})))}
    reviews = [r for r in found if r.employee_id in people and who.sees(people[r.employee_id].site_id)]
    # who has a terminal photo to show (known from the row; the photos are not decrypted here)
    enrolled = set(session.scalars(select(Template.employee_id).where(
        Template.employee_id.in_(ids or {-1}), Template.kind == "face", Template.format == PHOTO_FORMAT,
        Template.valid_flag == 1)))
    return render(request, "face_reviews.html", reviews=reviews, people=people, enrolled=enrolled,
                  closed=closed == "1")


@pages.post("/faces/reviews/{review_id}")
async def review_decide(request: Request, review_id: int, who: Principal = Depends(form_principal("face.enroll")),
                        session: Session = DB) -> Response:
    form = await request.form()
    review = session.get(FaceReview, review_id) if 0 < review_id <= MAX_ID else None
    if review is not None:
        scope.employee(who, session.get(Employee, review.employee_id))
    note = str(form.get("note") or "").strip()[:500]
    if not note:
        return go("/faces/reviews", "Tulis alasannya dulu.")
    try:
        with session.begin_nested():
            resolve_review(session, review_id, str(form.get("decision") or ""), who.username, note)
    except FaceError as exc:
        return go("/faces/reviews", exc.message)
    return go("/faces/reviews", "Keputusan dicatat.")
