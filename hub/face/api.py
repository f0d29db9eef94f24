"""HTTP endpoints of the face area for staff: enrollment upload, face reviews, and issuing
or revoking an employee's mobile credential (the phone's own routes are hub.mobile.api).

The web console mounts `router`. Who is calling comes from the one dependency
`current_actor`; the web engineer replaces it (app.dependency_overrides[current_actor])
with real authentication. The store session comes from `face_session`, which uses the
app's engine (app.state.engine) when it has one.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session

from hub.face import mobile_auth
from hub.face.enroll import enroll
from hub.face.errors import FaceError
from hub.face.settings import face_settings
from hub.i18n import tr
from hub.store.db import get_engine, session_factory

router = APIRouter(tags=["face"])


def current_actor() -> str:
    """Who is calling. Placeholder until the web console's authentication replaces it."""
    return "api"


def face_session(request: Request) -> Iterator[Session]:
    engine = getattr(request.app.state, "engine", None) or get_engine()
    session = session_factory(engine)()
    try:
        yield session
    finally:
        session.close()


def refusal(exc: FaceError) -> JSONResponse:
    return JSONResponse(status_code=exc.status, content={"error": exc.as_dict()})


async def read_upload(upload: UploadFile) -> bytes:
    limit = face_settings().max_upload_bytes
    data = await upload.read(limit + 1)
    if len(data) > limit:
        raise FaceError("too_large", tr(f"foto lebih dari {limit} byte",
                                        f"photo larger than {limit} bytes"),
                        field="photo", status=413)
    return data


def committed(session: Session, work: Any) -> Any:
    """Run the face work and commit, or roll back everything it did on any refusal."""
    try:
        out = work()
        session.commit()
        return out
    except BaseException:
        session.rollback()
        raise


@router.post("/api/face/enroll", status_code=201,
             summary="Daftarkan wajah pegawai dari foto / enroll a face from a photo")
async def enroll_upload(nip: str = Form(..., max_length=32),
                        photo: UploadFile = File(...),
                        session: Session = Depends(face_session),
                        actor: str = Depends(current_actor)) -> Any:
    try:
        data = await read_upload(photo)
        result = await run_in_threadpool(
            committed, session, lambda: enroll(session, nip, data, actor))
    except FaceError as exc:
        return refusal(exc)
    return {
        "employee_id": result.employee_id, "nip": result.id_number,
        "metrics": result.metrics, "photo_bytes": result.photo_bytes,
        "duplicate_threshold": result.threshold,
        "duplicates": [{"nip": d.id_number, "name": d.name, "distance": round(d.distance, 4),
                        "review_id": d.review_id} for d in result.duplicates],
        "flagged_for_review": bool(result.duplicates),
    }


@router.get("/api/face/reviews", summary="Tinjauan wajah yang terbuka / open face reviews")
def face_reviews(closed: bool = False, session: Session = Depends(face_session),
                 actor: str = Depends(current_actor)) -> Any:
    from hub.face.verify import open_reviews  # noqa: PLC0415

    return [{"id": r.id, "kind": r.kind, "status": r.status, "employee_id": r.employee_id,
             "other_employee_id": r.other_employee_id, "punch_id": r.punch_id, "distance": r.distance,
             "threshold": r.threshold, "created_at": r.created_at.isoformat() if r.created_at else None}
            for r in open_reviews(session, include_closed=closed)]


@router.post("/api/face/reviews/{review_id}", summary="Putuskan tinjauan wajah / decide a face review")
def face_review_decide(review_id: int, decision: str = Form(..., max_length=16),
                       note: str = Form(..., min_length=1, max_length=500),
                       session: Session = Depends(face_session), actor: str = Depends(current_actor)) -> Any:
    """decision: confirmed (the finding is real) or dismissed (a false alarm), with its reason."""
    from hub.face.verify import resolve_review  # noqa: PLC0415

    try:
        review = committed(session, lambda: resolve_review(session, review_id, decision, actor, note))
    except FaceError as exc:
        return refusal(exc)
    return {"id": review.id, "status": review.status}


@router.post("/api/mobile/credentials", status_code=201,
             summary="Terbitkan/reset kode aktivasi mobile pegawai / issue or reset an employee's mobile code")
def mobile_credential_issue(nip: str = Form(..., max_length=32), session: Session = Depends(face_session),
                            actor: str = Depends(current_actor)) -> Any:
    try:
        code = committed(session, lambda: mobile_auth.issue(session, nip.strip(), actor))
    except FaceError as exc:
        return refusal(exc)
    return JSONResponse(status_code=201, content={
        "nip": nip.strip(), "code": code,
        "note": tr("tampil sekali; berikan ke pegawai. Ponsel lama (bila ada) tidak bisa masuk lagi.",
                   "shown once; give it to the employee. Any earlier phone can no longer sign in.")})


@router.post("/api/mobile/credentials/revoke",
             summary="Cabut kredensial mobile pegawai / revoke an employee's mobile credential")
def mobile_credential_revoke(nip: str = Form(..., max_length=32), session: Session = Depends(face_session),
                             actor: str = Depends(current_actor)) -> Any:
    try:
        committed(session, lambda: mobile_auth.revoke(session, nip.strip(), actor))
    except FaceError as exc:
        return refusal(exc)
    return {"nip": nip.strip(), "revoked": True}
