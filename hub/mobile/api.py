"""The employee's app over HTTP: sign-in, the liveness challenge, the punch, their day and
month, their leave requests; and the app itself at /m/.

Every route but sign-in takes the phone's own bearer token (hub.face.mobile_auth): an
employee sees and asks only for themselves. Answers are JSON; refusals are
{"error": {code, message, field, details}} in the reader's language, as every face route."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, JSONResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.face import mobile_auth
from hub.face.api import committed, face_session, read_upload, refusal
from hub.face.errors import FaceError
from hub.face.mobile import capture_instant, home_tz, mobile_punch, parse_meta, places_of, resent
from hub.face.settings import face_settings
from hub.i18n import catalog, language, tr
from hub.mobile.words import verdict
from hub.reconcile import leave_scans
from hub.reconcile.errors import ReconcileError, month_bounds
from hub.reconcile.leave import add_leave
from hub.reconcile.models import LeaveEntry, LeaveScan
from hub.reconcile.period import month_days, month_figures
from hub.reconcile.ruleset_store import rules_of
from hub.store.models import Employee, RawPunch, utcnow
from hub.times import DAY_SHORT, to_local

router = APIRouter(tags=["mobile"])
STATIC = Path(__file__).parent / "static"
MONTH = r"^\d{4}-(0[1-9]|1[0-2])$"

def _bearer(request: Request) -> str | None:
    auth = request.headers.get("authorization", "")
    return auth[7:].strip() if auth[:7].lower() == "bearer " else None


def _address(request: Request) -> str:
    return request.client.host if request.client else ""


def _me(session: Session, request: Request) -> tuple[mobile_auth.MobileIdentity, Employee]:
    ident = mobile_auth.identify(session, _bearer(request))
    emp = session.get(Employee, ident.employee_id)
    assert emp is not None
    return ident, emp


# --- the app ------------------------------------------------------------------------------------


@router.get("/m", include_in_schema=False)
def app_root() -> Response:
    return RedirectResponse("/m/", status_code=308)


@router.get("/m/", include_in_schema=False)
def app_page() -> Response:
    return _static("index.html")


@router.get("/m/{name}", include_in_schema=False)
def app_file(name: str) -> Response:
    return _static(name)


TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8", ".css": "text/css",
         ".webmanifest": "application/manifest+json", ".png": "image/png", ".svg": "image/svg+xml"}


def _static(name: str) -> Response:
    path = STATIC / name
    if "/" in name or name.startswith(".") or path.suffix not in TYPES or not path.is_file():
        return JSONResponse({"detail": tr("tidak ditemukan", "not found")}, status_code=404)
    headers = {"Cache-Control": "no-cache"}  # the service worker keeps the offline copy
    if name == "sw.js":
        headers["Service-Worker-Allowed"] = "/m/"
    return FileResponse(path, media_type=TYPES[path.suffix], headers=headers)


# --- sign-in and punch --------------------------------------------------------------------------


@router.post("/api/mobile/login", summary="Masuk aplikasi presensi / sign in the attendance app")
def mobile_login(request: Request, nip: str = Form(..., max_length=32), code: str = Form(..., max_length=64),
                 device_key: str = Form(..., max_length=200,
                                        description="a random key the phone generated once and keeps"),
                 session: Session = Depends(face_session)) -> Any:
    try:
        token, expires = committed(session, lambda: mobile_auth.login(session, nip.strip(), code, device_key,
                                                                 _address(request)))
    except FaceError as exc:
        return refusal(exc)
    return {"token": token, "expires_at": expires.isoformat() + "Z", "nip": nip.strip()}


@router.get("/api/mobile/challenge", summary="Tantangan gerakan untuk satu presensi / a liveness challenge")
def mobile_challenge(request: Request, spare: bool = Query(False, description="one kept by the phone for a punch "
                                                                                "taken without signal"),
                     session: Session = Depends(face_session)) -> Any:
    try:
        def work() -> dict[str, Any]:
            ident = mobile_auth.identify(session, _bearer(request))
            ch = mobile_auth.new_challenge(session, ident, spare=spare)
            s = face_settings()
            return {"challenge_id": ch.id, "kind": ch.kind, "ask": mobile_auth.describe(ch.kind),
                    "expires_at": ch.expires_at.isoformat() + "Z", "frames_min": s.liveness_min_frames,
                    "frames_max": s.liveness_max_frames, "spare": spare}
        return committed(session, work)
    except FaceError as exc:
        return refusal(exc)


@router.post("/api/mobile/punch", status_code=201,
             summary="Presensi dari ponsel: selfie + GPS + gerakan / a punch from the phone: selfie, GPS, liveness",
             responses={200: {"description": "the same capture again: its first answer, stored once"},
                        202: {"description": "kept, but held for a reviewer (outside every place, another face, "
                                             "later than the offline limit)"}})
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
                              sent_at: str | None = Form(None, description="the phone's clock when sending (ISO "
                                                                           "8601 with zone)"),
                              queued: str | None = Form(None, description="true: taken without signal, kept "
                                                                          "on the phone until now"),
                              capture_seq: str | None = Form(None, description="the phone's capture counter"),
                              capture_source: str | None = Form(None, description="camera"),
                              mock_location: str | None = Form(None, description="true/false"),
                              state: str | None = Form(None, description="check_in, check_out, …"),
                              app_version: str | None = Form(None),
                              session: Session = Depends(face_session)) -> Any:
    # Fields are taken as text and judged by hub.face.mobile.parse_meta, so every refusal
    # has the same shape and message as the rest of the face errors.
    fields = {"nip": nip, "latitude": latitude, "longitude": longitude, "accuracy_m": accuracy_m,
              "captured_at": captured_at, "sent_at": sent_at, "queued": queued, "capture_seq": capture_seq,
              "capture_source": capture_source, "mock_location": mock_location, "state": state,
              "app_version": app_version}
    token = _bearer(request)
    try:
        data = await read_upload(selfie)

        def spend() -> tuple[mobile_auth.MobileIdentity, Any, str | None]:
            # its own commit: a challenge is used once, even by a punch that is then refused;
            # a resend of a stored capture answers as the first time (its challenge was spent then)
            ident = mobile_auth.identify(session, token)
            meta = parse_meta({**fields, "nip": ident.nip})
            first = resent(session, ident, meta, data)
            if first is not None or not challenge_id:
                return ident, first, None
            captured, _ = capture_instant(meta, utcnow(), face_settings())
            return ident, None, mobile_auth.take_challenge(session, ident, challenge_id, captured)

        ident, first, kind = await run_in_threadpool(committed, session, spend)
        if first is not None:
            result = first
        else:
            burst = [await read_upload(f) for f in frames or []]
            result = await run_in_threadpool(
                committed, session, lambda: mobile_punch(session, fields, data, actor=f"mobile:{ident.nip}",
                                                    ident=ident, frames=burst, challenge=kind))
        words = await run_in_threadpool(verdict, session, result)
    except FaceError as exc:
        return refusal(exc)
    body = {
        "punch_id": result.punch_id, "nip": result.nip,
        "local_time": result.local_time.isoformat(), "tz": result.tz,
        "site": result.site_code, "place": result.place, "distance_m": result.distance_m,
        "radius_m": result.radius_m, "face_distance": result.face_distance,
        "face_match": result.match, "flags": result.flags, "duplicate": result.duplicate,
        "held": result.held, "queued_s": result.queued_s, **words,
    }
    return JSONResponse(status_code=200 if result.duplicate else 202 if result.held else 201, content=body)


# --- self-service -------------------------------------------------------------------------------


def _day_out(d: Any, names: dict[str, str], lang: str) -> dict[str, Any]:
    codes = d.codes()
    day = DAY_SHORT[d.day.weekday()]
    return {"day": d.day.isoformat(), "weekday": catalog("console", "en").get(day, day) if lang == "en" else day,
            "status": d.status,
            "words": [names.get(c, c) for c in codes], "pct": d.pct, "late_min": d.late_min,
            "early_min": d.early_min, "check_in": f"{d.check_in:%H:%M}" if d.check_in else None,
            "check_out": f"{d.check_out:%H:%M}" if d.check_out else None}


@router.get("/api/mobile/me", summary="Data saya dan presensi hari ini / me and today's punches")
def mobile_me(request: Request, session: Session = Depends(face_session)) -> Any:
    try:
        ident, emp = _me(session, request)
        tz = home_tz(emp)
        now = to_local(utcnow(), tz)
        s = face_settings()
        places = places_of(session, emp, now.date(), s)
        rs = rules_of(session, emp, now.date())
        lang = language()
        names = {code: (en if lang == "en" else id_) for code, id_, en, _ in rs.legend()}
        days, _ = month_days(session, now.date(), now.date(), employee_ids={emp.id}, today=now.date())
        today = next(iter(days.get(emp.id, [])), None)
        lo = datetime.combine(now.date(), datetime.min.time())
        punches = session.execute(select(RawPunch.local_time, RawPunch.flags).where(
            RawPunch.employee_id == emp.id, RawPunch.local_time >= lo,
            RawPunch.local_time < lo + timedelta(days=1)).order_by(RawPunch.local_time)).all()
        session.commit()  # (identify notes when the session was last used)
    except FaceError as exc:
        session.rollback()
        return refusal(exc)
    quarantine = rs.quarantine_mask
    return {"nip": emp.id_number, "name": emp.name, "office": emp.site.name if emp.site else None,
            "tz": tz, "now": now.isoformat(timespec="seconds"), "offline_max_minutes": rs.mobile_offline_max_minutes,
            "places": [{"code": p.code, "name": p.name, "latitude": p.latitude, "longitude": p.longitude,
                        "radius_m": p.radius_m, "kind": "field" if p.field_id else "office"} for p in places],
            "today": _day_out(today, names, lang) if today else None,
            "punches": [{"time": f"{t:%H:%M}", "held": bool(int(f) & quarantine)} for t, f in punches],
            "leave_types": [{"code": lt.code, "name": lt.name} for lt in rs.leave.values()]}


@router.get("/api/mobile/month", summary="Presensi saya sebulan / my month")
def mobile_month(request: Request, month: str | None = Query(None, pattern=MONTH),
                 session: Session = Depends(face_session)) -> Any:
    try:
        ident, emp = _me(session, request)
        today = to_local(utcnow(), home_tz(emp)).date()
        first, _last = month_bounds(month or f"{today:%Y-%m}")
        fig = month_figures(session, first, None, employee_ids={emp.id}, today=today)
        session.commit()
    except FaceError as exc:
        session.rollback()
        return refusal(exc)
    except ReconcileError as exc:
        session.rollback()
        return JSONResponse({"error": {"code": "bad_month", "message": str(exc), "field": "month"}}, status_code=422)
    lang = language()
    names = {code: (en if lang == "en" else id_) for code, id_, en, _pct in fig.legend}
    row = fig.row_of(emp.id)
    days = fig.days.get(emp.id, [])
    used = {c for d in days for c in d.codes()}
    return {"month": f"{first:%Y-%m}", "locked": bool(fig.frozen_employees),
            "days": [_day_out(d, names, lang) for d in days],
            "totals": {k: row.get(k) for k in ("hari_kerja", "hadir", "persen_kehadiran", "menit_terlambat",
                                               "menit_pulang_cepat", "potongan_pct", "potongan_disiplin_pct",
                                               "tpp_pagu", "potongan_rp", "tpp_diterima")} if row else None,
            "legend": [{"code": c, "words": en if lang == "en" else id_, "pct": pct}
                       for c, id_, en, pct in fig.legend if c in used]}


def _request_out(entry: LeaveEntry, scan: LeaveScan | None) -> dict[str, Any]:
    return {"id": entry.id, "type": entry.type, "start": entry.date_from.isoformat(),
            "end": entry.date_to.isoformat(), "reason": entry.note, "reference": entry.reference,
            "state": entry.approval, "decided_by": entry.approved_by if entry.approval != "pending" else None,
            "decided_at": entry.decided_at.isoformat() + "Z" if entry.decided_at else None,
            "decision_note": entry.decision_note or "", "letter": scan.filename if scan else None,
            "asked_at": entry.created_at.isoformat() + "Z" if entry.created_at else None}


@router.get("/api/mobile/requests", summary="Permohonan cuti/izin saya / my leave requests")
def mobile_requests(request: Request, session: Session = Depends(face_session)) -> Any:
    try:
        _ident, emp = _me(session, request)
        rows = session.execute(select(LeaveEntry, LeaveScan).outerjoin(LeaveScan, LeaveScan.leave_id == LeaveEntry.id)
                               .where(LeaveEntry.employee_id == emp.id)
                               .order_by(LeaveEntry.date_from.desc(), LeaveEntry.id.desc()).limit(100)).all()
        session.commit()
    except FaceError as exc:
        session.rollback()
        return refusal(exc)
    return [_request_out(e, s) for e, s in rows]


@router.post("/api/mobile/requests", status_code=201,
             summary="Ajukan cuti/izin/sakit/DL dengan foto surat / ask for leave with a photo of the letter")
async def mobile_request_new(request: Request, type: str = Form(..., max_length=16), start: date = Form(...),
                             end: date = Form(...), reason: str = Form(..., min_length=1, max_length=2000),
                             reference: str = Form("", max_length=200), letter: UploadFile = File(...),
                             session: Session = Depends(face_session)) -> Any:
    try:
        data = await letter.read(leave_scans.MAX_SCAN_BYTES + 1)

        def work() -> dict[str, Any]:
            ident, emp = _me(session, request)
            try:
                entry = add_leave(session, employee_id=emp.id, start=start, end=end, type=type,
                                  author=f"mobile:{ident.nip}", reference=reference.strip(), note=reason.strip(),
                                  pending=True)
                scan = leave_scans.attach(session, entry, data, letter.filename, f"mobile:{ident.nip}")
            except ReconcileError as exc:
                raise FaceError("bad_request", str(exc), field="letter" if isinstance(
                    exc, leave_scans.ScanError) else "type") from exc
            return _request_out(entry, scan)

        return JSONResponse(await run_in_threadpool(committed, session, work), status_code=201)
    except FaceError as exc:
        return refusal(exc)

