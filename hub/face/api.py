"""HTTP endpoints of the face area: enrollment upload, mobile sign-in and mobile punches.

Mobile punches are authenticated by the phone's own session (hub.face.mobile_auth), never
by a staff account; issuing or revoking a mobile credential is staff work (`current_actor`).

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
from hub.face.mobile import mobile_punch
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


def _error(exc: FaceError) -> JSONResponse:
    return JSONResponse(status_code=exc.status, content={"error": exc.as_dict()})


async def _read(upload: UploadFile) -> bytes:
    limit = face_settings().max_upload_bytes
    data = await upload.read(limit + 1)
    if len(data) > limit:
        raise FaceError("too_large", tr(f"foto lebih dari {limit} byte",
                                        f"photo larger than {limit} bytes"),
                        field="photo", status=413)
    return data


def _run(session: Session, work: Any) -> Any:
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
        data = await _read(photo)
        result = await run_in_threadpool(
            _run, session, lambda: enroll(session, nip, data, actor))
    except FaceError as exc:
        return _error(exc)
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
        review = _run(session, lambda: resolve_review(session, review_id, decision, actor, note))
    except FaceError as exc:
        return _error(exc)
    return {"id": review.id, "status": review.status}


def _bearer(request: Request) -> str | None:
    auth = request.headers.get("authorization", "")
    return auth[7:].strip() if auth[:7].lower() == "bearer " else None


def _address(request: Request) -> str:
    return request.client.host if request.client else ""


@router.post("/api/mobile/login", summary="Masuk aplikasi presensi / sign in the attendance app")
def mobile_login(request: Request, nip: str = Form(..., max_length=32), code: str = Form(..., max_length=64),
                 device_key: str = Form(..., max_length=200,
                                        description="a random key the phone generated once and keeps"),
                 session: Session = Depends(face_session)) -> Any:
    try:
        token, expires = _run(session, lambda: mobile_auth.login(session, nip.strip(), code, device_key,
                                                                 _address(request)))
    except FaceError as exc:
        return _error(exc)
    return {"token": token, "expires_at": expires.isoformat() + "Z", "nip": nip.strip()}


@router.get("/api/mobile/challenge", summary="Tantangan gerakan untuk satu presensi / a liveness challenge")
def mobile_challenge(request: Request, session: Session = Depends(face_session)) -> Any:
    try:
        def work() -> dict[str, Any]:
            ident = mobile_auth.identify(session, _bearer(request))
            ch = mobile_auth.new_challenge(session, ident)
            s = face_settings()
            return {"challenge_id": ch.id, "kind": ch.kind, "ask": mobile_auth.describe(ch.kind),
                    "expires_at": ch.expires_at.isoformat() + "Z", "frames_min": s.liveness_min_frames,
                    "frames_max": s.liveness_max_frames}
        return _run(session, work)
    except FaceError as exc:
        return _error(exc)


@router.post("/api/mobile/punch", status_code=201,
             summary="Absen mobile: selfie + GPS + gerakan / mobile punch: selfie, GPS, liveness burst")
async def mobile_punch_upload(request: Request,
                              selfie: UploadFile = File(...),
                              frames: list[UploadFile] | None = File(None, description="the burst answering the "
                                                                                       "challenge, in order"),
                              challenge_id: str | None = Form(None, max_length=64),
                              nip: str | None = Form(None),
                              latitude: str | None = Form(None),
                              longitude: str | None = Form(None),
                              accuracy_m: str | None = Form(None),
                              captured_at: str | None = Form(
                                  None, description="ISO 8601 with zone, e.g. 2026-11-23T07:01:02+07:00"),
                              capture_source: str | None = Form(None, description="camera"),
                              mock_location: str | None = Form(None, description="true/false"),
                              state: str | None = Form(None, description="check_in, check_out, …"),
                              app_version: str | None = Form(None),
                              session: Session = Depends(face_session)) -> Any:
    # Fields are taken as text and judged by hub.face.mobile.parse_meta, so every refusal
    # has the same shape and message as the rest of the face errors.
    fields = {"nip": nip, "latitude": latitude, "longitude": longitude,
              "accuracy_m": accuracy_m, "captured_at": captured_at,
              "capture_source": capture_source, "mock_location": mock_location,
              "state": state, "app_version": app_version}
    token = _bearer(request)

    def spend() -> tuple[mobile_auth.MobileIdentity, str | None]:
        # its own commit: a challenge is used once, even by a punch that is then refused
        ident = mobile_auth.identify(session, token)
        kind = mobile_auth.take_challenge(session, ident, challenge_id) if challenge_id else None
        return ident, kind

    try:
        ident, kind = await run_in_threadpool(_run, session, spend)
        data = await _read(selfie)
        burst = [await _read(f) for f in frames or []]
        result = await run_in_threadpool(
            _run, session, lambda: mobile_punch(session, fields, data, actor=f"mobile:{ident.nip}", ident=ident,
                                                frames=burst, challenge=kind))
    except FaceError as exc:
        return _error(exc)
    body = {
        "punch_id": result.punch_id, "nip": result.nip,
        "local_time": result.local_time.isoformat(), "tz": result.tz,
        "site": result.site_code, "distance_m": result.distance_m,
        "radius_m": result.radius_m, "face_distance": result.face_distance,
        "face_match": result.match, "flags": result.flags, "duplicate": result.duplicate,
    }
    return JSONResponse(status_code=200 if result.duplicate else 201, content=body)


@router.post("/api/mobile/credentials", status_code=201,
             summary="Terbitkan/reset kode aktivasi mobile pegawai / issue or reset an employee's mobile code")
def mobile_credential_issue(nip: str = Form(..., max_length=32), session: Session = Depends(face_session),
                            actor: str = Depends(current_actor)) -> Any:
    try:
        code = _run(session, lambda: mobile_auth.issue(session, nip.strip(), actor))
    except FaceError as exc:
        return _error(exc)
    return JSONResponse(status_code=201, content={
        "nip": nip.strip(), "code": code,
        "note": tr("tampil sekali; berikan ke pegawai. Ponsel lama (bila ada) tidak bisa masuk lagi.",
                   "shown once; give it to the employee. Any earlier phone can no longer sign in.")})


@router.post("/api/mobile/credentials/revoke",
             summary="Cabut kredensial mobile pegawai / revoke an employee's mobile credential")
def mobile_credential_revoke(nip: str = Form(..., max_length=32), session: Session = Depends(face_session),
                             actor: str = Depends(current_actor)) -> Any:
    try:
        _run(session, lambda: mobile_auth.revoke(session, nip.strip(), actor))
    except FaceError as exc:
        return _error(exc)
    return {"nip": nip.strip(), "revoked": True}
