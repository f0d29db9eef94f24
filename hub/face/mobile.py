"""A mobile punch: selfie + GPS, accepted only inside the office geofence, live capture only.

"Camera, not gallery" as far as an API can tell: the client must say the photo came from
the camera, its capture time must be close to the server's clock, an EXIF DateTimeOriginal
(when present) must be recent, the same photo (by hash) is never accepted twice, and a
client that reports a mock location is refused. Accepted punches are canonical punches
(Source.MOBILE, Verify.GPS_SELFIE) of the mobile app's virtual device, stored via ingest.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import NoReturn

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from hub.face import liveness
from hub.face.enroll import employee_by_nip
from hub.face.errors import FaceError
from hub.face.image import decode
from hub.face.mobile_auth import MobileIdentity
from hub.face.models import MobileCredential, MobileSelfie
from hub.face.quality import analyse_decoded
from hub.face.settings import FaceSettings, face_settings
from hub.face.verify import flag_mismatch, require_enrolled, verify_analysis
from hub.i18n import tr
from hub.punch import Punch, PunchFlag, Source, State, Verify
from hub.store import runs
from hub.store.models import Device, Employee, EmployeeSite, PinMapping, RawPunch, Site, utcnow
from hub.times import to_local

EARTH_RADIUS_M = 6_371_008.8
PIN_GROUP = "mobile"
NIP_RE = re.compile(r"^[0-9A-Za-z.\-]{1,32}$")
TRUE = {"1", "true", "yes", "ya", "on"}
FALSE = {"0", "false", "no", "tidak", "off", ""}
CAMERA = "camera"


def haversine_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))


@dataclass(frozen=True)
class MobileMeta:
    nip: str
    latitude: float
    longitude: float
    captured_at: datetime  # aware
    capture_source: str
    mock_location: bool
    state: State
    accuracy_m: float | None = None
    app_version: str | None = None


def _bad(fieldname: str, id_text: str, en_text: str) -> FaceError:
    return FaceError("bad_field", tr(f"kolom {fieldname!r}: {id_text}",
                                     f"field {fieldname!r}: {en_text}"), field=fieldname)


def _text(fields: Mapping[str, object], name: str, required: bool = True) -> str | None:
    value = fields.get(name)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise _bad(name, "wajib diisi", "is required")
        return None
    text = str(value).strip()
    if len(text) > 64 or "\x00" in text:
        raise _bad(name, "terlalu panjang atau berisi karakter terlarang",
                   "too long or contains forbidden characters")
    return text


def _number(fields: Mapping[str, object], name: str, low: float, high: float,
            required: bool = True) -> float | None:
    text = _text(fields, name, required)
    if text is None:
        return None
    try:
        value = float(text)
    except ValueError:
        raise _bad(name, f"bukan angka: {text!r}", f"not a number: {text!r}") from None
    if not math.isfinite(value) or not low <= value <= high:
        raise _bad(name, f"harus di antara {low} dan {high}, bukan {text}",
                   f"must be between {low} and {high}, not {text}")
    return value


def parse_meta(fields: Mapping[str, object]) -> MobileMeta:
    """Request fields (form or JSON, values as text) -> MobileMeta, or FaceError(bad_field)."""
    nip = _text(fields, "nip")
    assert nip is not None
    if not NIP_RE.match(nip):
        raise _bad("nip", "hanya angka/huruf, maksimal 32", "letters/digits only, at most 32")
    lat = _number(fields, "latitude", -90, 90)
    lon = _number(fields, "longitude", -180, 180)
    accuracy = _number(fields, "accuracy_m", 0, 100_000, required=False)
    captured_text = _text(fields, "captured_at")
    assert captured_text is not None
    try:
        captured = datetime.fromisoformat(captured_text.replace("Z", "+00:00"))
    except ValueError:
        raise _bad("captured_at", f"bukan waktu ISO 8601: {captured_text!r}",
                   f"not an ISO 8601 time: {captured_text!r}") from None
    if captured.tzinfo is None or captured.utcoffset() is None:
        raise _bad("captured_at", "harus menyertakan zona waktu (mis. +07:00 atau Z)",
                   "must carry a time zone (e.g. +07:00 or Z)")
    source = (_text(fields, "capture_source") or "").lower()
    mock_text = (_text(fields, "mock_location", required=False) or "").lower()
    if mock_text not in TRUE | FALSE:
        raise _bad("mock_location", f"harus true/false, bukan {mock_text!r}",
                   f"must be true/false, not {mock_text!r}")
    state_text = (_text(fields, "state", required=False) or "undefined").lower()
    try:
        state = State(state_text)
    except ValueError:
        raise _bad("state", f"tidak dikenal: {state_text!r} (pilihan: "
                   f"{', '.join(s.value for s in State)})",
                   f"unknown: {state_text!r} (one of {', '.join(s.value for s in State)})"
                   ) from None
    return MobileMeta(nip=nip, latitude=float(lat or 0.0), longitude=float(lon or 0.0),
                      captured_at=captured, capture_source=source,
                      mock_location=mock_text in TRUE, state=state, accuracy_m=accuracy,
                      app_version=_text(fields, "app_version", required=False))


@dataclass
class Office:
    site: Site
    distance_m: float
    radius_m: int


@dataclass
class MobilePunchResult:
    punch_id: int
    employee_id: int
    nip: str
    local_time: datetime
    tz: str
    site_code: str
    distance_m: float
    radius_m: int
    face_distance: float | None
    match: bool
    duplicate: bool
    flags: list[str] = field(default_factory=list)


def offices_of(session: Session, emp: Employee, today: date) -> list[Site]:
    sites = [emp.site] if emp.site is not None else []
    extra = session.scalars(select(Site).join(EmployeeSite, EmployeeSite.site_id == Site.id)
                            .where(EmployeeSite.employee_id == emp.id)
                            .where((EmployeeSite.valid_from.is_(None))
                                   | (EmployeeSite.valid_from <= today))
                            .where((EmployeeSite.valid_to.is_(None))
                                   | (EmployeeSite.valid_to >= today))).all()
    return sites + [s for s in extra if s not in sites]


def nearest_office(session: Session, emp: Employee, meta: MobileMeta, now: datetime,
                   settings: FaceSettings) -> Office:
    located = [s for s in offices_of(session, emp, now.date())
               if s.latitude is not None and s.longitude is not None]
    if not located:
        raise FaceError("no_office_location", tr(
            "kantor pegawai ini belum punya koordinat; admin perlu mengisi lokasi kantor",
            "this employee's office has no coordinates; an admin must set its location"),
            field="nip", status=409)
    best = min((Office(s, haversine_m(meta.latitude, meta.longitude, s.latitude, s.longitude),
                       s.geofence_m or settings.geofence_default_m) for s in located),
               key=lambda o: o.distance_m - o.radius_m)
    return best


def _mobile_device(session: Session, settings: FaceSettings) -> Device:
    serial = settings.mobile_device_serial
    dev = session.scalar(select(Device).where(Device.serial == serial))
    if dev is not None:
        return dev
    try:
        with session.begin_nested():
            dev = Device(serial=serial, name=tr("Aplikasi absensi mobile", "Mobile attendance app"),
                         kind="mobile", pin_group=PIN_GROUP, capabilities={"virtual": True})
            session.add(dev)
    except IntegrityError:  # another request created it first
        dev = session.scalar(select(Device).where(Device.serial == serial))
    assert dev is not None
    return dev


def _ensure_pin(session: Session, emp: Employee) -> None:
    exists = session.scalar(select(PinMapping.id).where(PinMapping.pin_group == PIN_GROUP,
                                                        PinMapping.pin == emp.id_number))
    if exists is None:
        try:
            with session.begin_nested():
                session.add(PinMapping(employee_id=emp.id, pin=emp.id_number,
                                       pin_group=PIN_GROUP))
        except IntegrityError:
            pass


def _refuse(code: str, id_text: str, en_text: str, fieldname: str,
            **details: object) -> NoReturn:
    raise FaceError(code, tr(id_text, en_text), field=fieldname, **details)


def check_capture(meta: MobileMeta, taken_at: datetime | None, tz: str, now: datetime,
                  settings: FaceSettings) -> None:
    """Refuse what looks like a gallery photo or a replay; `now` is naive UTC."""
    if meta.mock_location:
        _refuse("mock_location", "lokasi palsu (mock location) terdeteksi oleh aplikasi; "
                "matikan aplikasi lokasi palsu/mode pengembang lalu ulangi",
                "the app reports a mock location; turn off fake-GPS/developer mode and retry",
                "mock_location")
    if meta.capture_source != CAMERA:
        _refuse("not_camera", f"foto harus diambil langsung dari kamera, bukan "
                f"{meta.capture_source!r} (galeri tidak diterima)",
                f"the photo must come from the camera, not {meta.capture_source!r} "
                "(gallery photos are refused)", "capture_source")
    captured_utc = meta.captured_at.astimezone(UTC).replace(tzinfo=None)
    skew = (now - captured_utc).total_seconds()
    if abs(skew) > settings.capture_max_skew_s:
        _refuse("stale_capture", f"waktu pengambilan foto selisih {skew:.0f} detik dari jam "
                f"server (maks {settings.capture_max_skew_s}); ambil selfie baru dan "
                "pastikan jam ponsel otomatis",
                f"capture time is {skew:.0f} s away from server time (max "
                f"{settings.capture_max_skew_s}); take a new selfie and set the phone clock "
                "to automatic", "captured_at", skew_s=round(skew))
    if taken_at is not None:
        local_now = to_local(now, tz)
        age = (local_now - taken_at).total_seconds()
        if age > settings.exif_max_age_s or age < -settings.capture_max_skew_s:
            _refuse("stale_exif", f"EXIF foto menyatakan diambil {taken_at:%Y-%m-%d %H:%M:%S}"
                    f", bukan baru saja; ambil selfie baru dengan kamera",
                    f"the photo's EXIF says it was taken {taken_at:%Y-%m-%d %H:%M:%S}, "
                    "not just now; take a new selfie with the camera", "photo",
                    age_s=round(age))


def _refuse_replay(session: Session, employee_id: int, phash: str, meta: MobileMeta,
                   ident: MobileIdentity | None, now: datetime, s: FaceSettings) -> None:
    """A selfie already used (by its look, not its bytes: one byte added, recompressed or
    cropped is the same photo), or a capture not later than the last one from this phone."""
    since = now - timedelta(days=s.replay_days)
    for old, at in session.execute(select(MobileSelfie.phash, MobileSelfie.received_at).where(
            MobileSelfie.employee_id == employee_id, MobileSelfie.received_at >= since,
            MobileSelfie.phash.is_not(None))):
        if liveness.hamming(old, phash) <= s.replay_hamming:
            raise FaceError("replayed_photo", tr(
                f"foto ini sama dengan selfie yang sudah dipakai ({at:%Y-%m-%d %H:%M} UTC); ambil selfie baru",
                f"this photo is the same as a selfie already used ({at:%Y-%m-%d %H:%M} UTC); take a new one"),
                field="photo", status=409)
    if ident is None:
        return
    last = session.scalar(select(MobileCredential.last_capture_at).where(MobileCredential.id == ident.credential_id))
    captured = meta.captured_at.astimezone(UTC).replace(tzinfo=None)
    if last is not None and captured <= last:
        raise FaceError("replayed_capture", tr(
            "waktu pengambilan tidak lebih baru dari presensi sebelumnya dari ponsel ini (kiriman ulang?)",
            "the capture time is not later than this phone's previous punch (a replay?)"),
            field="captured_at", status=409)


def mobile_punch(session: Session, fields: Mapping[str, object], photo: bytes,
                 now: datetime | None = None, settings: FaceSettings | None = None,
                 actor: str = "mobile", ident: MobileIdentity | None = None,
                 frames: list[bytes] | None = None, challenge: str | None = None) -> MobilePunchResult:
    """Check and store one mobile punch; FaceError (with HTTP status) says why it is refused.

    `ident` is the signed-in phone's employee: the punch is theirs whatever NIP the form
    names. `challenge` is the liveness challenge's kind (already spent) and `frames` the
    burst that answers it."""
    s = settings or face_settings()
    now = now or utcnow()
    if ident is not None:
        named = fields.get("nip")
        if named not in (None, "") and str(named).strip() != ident.nip:
            raise FaceError("nip_mismatch", tr(
                f"ponsel ini masuk sebagai {ident.nip}; presensi untuk NIP lain ditolak",
                f"this phone is signed in as {ident.nip}; a punch for another NIP is refused"),
                field="nip", status=403)
        fields = {**fields, "nip": ident.nip}
    meta = parse_meta(fields)
    emp = employee_by_nip(session, meta.nip)
    if not emp.active:
        raise FaceError("inactive_employee", tr(
            f"pegawai {emp.id_number} tidak aktif", f"employee {emp.id_number} is not active"),
            field="nip", status=403)
    office = nearest_office(session, emp, meta, now, s)
    tz = office.site.tz or "Asia/Jakarta"
    digest = hashlib.sha256(photo).hexdigest()
    img = decode(photo, s)
    check_capture(meta, img.taken_at, tz, now, s)
    if session.scalar(select(MobileSelfie.id).where(MobileSelfie.sha256 == digest)):
        raise FaceError("duplicate_photo", tr(
            "foto ini sudah pernah dikirim; ambil selfie baru",
            "this photo was already sent before; take a new selfie"), field="photo",
            status=409)
    if office.distance_m > office.radius_m:
        raise FaceError("outside_geofence", tr(
            f"di luar area kantor {office.site.name}: {office.distance_m:.0f} m dari titik "
            f"kantor, batas {office.radius_m} m",
            f"outside the {office.site.name} office area: {office.distance_m:.0f} m from it, "
            f"the limit is {office.radius_m} m"), field="latitude",
            distance_m=round(office.distance_m, 1), radius_m=office.radius_m,
            site=office.site.code)
    require_enrolled(session, emp.id)
    analysis = analyse_decoded(img, s)
    result = verify_analysis(session, emp.id, analysis, s)
    live = None
    if s.liveness_required or challenge is not None:
        if challenge is None:
            raise FaceError("bad_challenge", tr("minta tantangan gerakan dulu (GET /api/mobile/challenge)",
                                                "ask for a movement challenge first (GET /api/mobile/challenge)"),
                            field="challenge_id")
        live = liveness.check(challenge, [decode(f, s) for f in frames or []], analysis.encoding, s)
    phash = liveness.dhash(img, analysis.face)
    _refuse_replay(session, emp.id, phash, meta, ident, now, s)

    device = _mobile_device(session, s)
    _ensure_pin(session, emp)
    utc_time = now.replace(microsecond=0)
    local = to_local(utc_time, tz)
    raw = {"latitude": meta.latitude, "longitude": meta.longitude,
           "accuracy_m": meta.accuracy_m, "captured_at": meta.captured_at.isoformat(),
           "capture_source": meta.capture_source, "selfie_sha256": digest,
           "site": office.site.code, "distance_m": round(office.distance_m, 1),
           "radius_m": office.radius_m, "face_distance": result.distance,
           "app_version": meta.app_version, "phash": phash,
           **({"liveness": live.as_dict()} if live is not None else {})}
    punch = Punch(device_id=device.id, source=Source.MOBILE, pin=emp.id_number,
                  local_time=local, tz=tz, state=meta.state, verify=Verify.GPS_SELFIE,
                  raw=raw, utc_time=utc_time)
    session.flush()
    stored = runs.record(session.connection(), device.id, Source.MOBILE, "mobile", [punch],
                         details={"site": office.site.code})
    row = session.scalar(select(RawPunch).where(
        RawPunch.device_id == device.id, RawPunch.pin == emp.id_number,
        RawPunch.local_time == local, RawPunch.state == str(meta.state),
        RawPunch.verify == str(Verify.GPS_SELFIE)))
    assert row is not None
    duplicate = stored.new == 0
    if not result.match and not duplicate:
        flag_mismatch(session, row, result, actor, selfie_sha256=digest)
    try:
        with session.begin_nested():
            session.add(MobileSelfie(sha256=digest, employee_id=emp.id, punch_id=row.id,
                                     face_distance=result.distance, phash=phash))
    except IntegrityError:
        raise FaceError("duplicate_photo", tr(
            "foto ini sudah pernah dikirim; ambil selfie baru",
            "this photo was already sent before; take a new selfie"), field="photo",
            status=409) from None
    if ident is not None:
        cred = session.get(MobileCredential, ident.credential_id)
        if cred is not None:
            cred.last_capture_at = meta.captured_at.astimezone(UTC).replace(tzinfo=None)
    session.flush()
    return MobilePunchResult(
        punch_id=row.id, employee_id=emp.id, nip=emp.id_number, local_time=local, tz=tz,
        site_code=office.site.code, distance_m=round(office.distance_m, 1),
        radius_m=office.radius_m, face_distance=result.distance, match=result.match,
        duplicate=duplicate, flags=PunchFlag.names_of(int(row.flags)))


__all__ = ["MobileMeta", "MobilePunchResult", "haversine_m", "mobile_punch", "parse_meta"]
