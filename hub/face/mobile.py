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
from hub.face.models import FieldPlace, MobileCredential, MobileSelfie
from hub.face.quality import analyse_decoded
from hub.face.settings import FaceSettings, face_settings
from hub.face.verify import flag_mismatch, require_enrolled, verify_analysis
from hub.i18n import tr
from hub.punch import Punch, PunchFlag, Source, State, Verify
from hub.reconcile.ruleset_store import rules_of
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
    # The phone's clock when it sent the punch: with captured_at it says how long the punch
    # waited on the phone (offline), whatever the phone's clock is set to.
    sent_at: datetime | None = None
    queued: bool = False  # captured without signal and kept on the phone until now
    capture_seq: int | None = None  # the phone's capture counter: 1, 2, 3 ... per phone


def _when(fields: Mapping[str, object], name: str, required: bool = True) -> datetime | None:
    text = _text(fields, name, required)
    if text is None:
        return None
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise _bad(name, f"bukan waktu ISO 8601: {text!r}", f"not an ISO 8601 time: {text!r}") from None
    if value.tzinfo is None or value.utcoffset() is None:
        raise _bad(name, "harus menyertakan zona waktu (mis. +07:00 atau Z)",
                   "must carry a time zone (e.g. +07:00 or Z)")
    return value


def _flag(fields: Mapping[str, object], name: str) -> bool:
    text = (_text(fields, name, required=False) or "").lower()
    if text not in TRUE | FALSE:
        raise _bad(name, f"harus true/false, bukan {text!r}", f"must be true/false, not {text!r}")
    return text in TRUE


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
    captured = _when(fields, "captured_at")
    assert captured is not None
    sent = _when(fields, "sent_at", required=False)
    if sent is not None and sent < captured:
        raise _bad("sent_at", "lebih awal dari captured_at", "is earlier than captured_at")
    seq = _number(fields, "capture_seq", 1, 2**53, required=False)
    if seq is not None and seq != int(seq):
        raise _bad("capture_seq", "harus bilangan bulat", "must be a whole number")
    source = (_text(fields, "capture_source") or "").lower()
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
                      mock_location=_flag(fields, "mock_location"), state=state, accuracy_m=accuracy,
                      app_version=_text(fields, "app_version", required=False), sent_at=sent,
                      queued=_flag(fields, "queued"), capture_seq=None if seq is None else int(seq))


@dataclass(frozen=True)
class Place:
    """Where an employee may punch from: an office, or a field place of a letter (DL)."""

    code: str  # the office's code, or DL-<id> for a field place
    name: str
    latitude: float
    longitude: float
    radius_m: int
    tz: str
    field_id: int | None = None


@dataclass(frozen=True)
class Where:
    place: Place
    distance_m: float

    @property
    def inside(self) -> bool:
        return self.distance_m <= self.place.radius_m


@dataclass
class MobilePunchResult:
    punch_id: int
    employee_id: int
    nip: str
    local_time: datetime
    tz: str
    site_code: str
    place: str
    distance_m: float
    radius_m: int
    face_distance: float | None
    match: bool
    duplicate: bool
    flags: list[str] = field(default_factory=list)
    held: bool = False  # kept, but waiting for a reviewer (outside every place, another face, late)
    queued_s: int = 0  # how long it waited on the phone


def offices_of(session: Session, emp: Employee, today: date) -> list[Site]:
    sites = [emp.site] if emp.site is not None else []
    extra = session.scalars(select(Site).join(EmployeeSite, EmployeeSite.site_id == Site.id)
                            .where(EmployeeSite.employee_id == emp.id)
                            .where((EmployeeSite.valid_from.is_(None))
                                   | (EmployeeSite.valid_from <= today))
                            .where((EmployeeSite.valid_to.is_(None))
                                   | (EmployeeSite.valid_to >= today))).all()
    return sites + [s for s in extra if s not in sites]


def home_tz(emp: Employee) -> str:
    return (emp.site.tz if emp.site is not None else None) or "Asia/Jakarta"


def places_of(session: Session, emp: Employee, day: date, settings: FaceSettings) -> list[Place]:
    """The employee's offices with a location, then their field places valid on `day`."""
    places = [Place(s.code, s.name, s.latitude, s.longitude, s.geofence_m or settings.geofence_default_m,
                    s.tz or "Asia/Jakarta")
              for s in offices_of(session, emp, day) if s.latitude is not None and s.longitude is not None]
    tz = home_tz(emp)
    places += [Place(f"DL-{f.id}", f.name, f.latitude, f.longitude, f.radius_m, tz, f.id)
               for f in session.scalars(select(FieldPlace).where(
                   FieldPlace.employee_id == emp.id, FieldPlace.valid_from <= day, FieldPlace.valid_to >= day)
                   .order_by(FieldPlace.id))]
    return places


def nearest_place(places: list[Place], latitude: float, longitude: float) -> Where:
    """The place whose fence the point is deepest inside (or least outside)."""
    if not places:
        raise FaceError("no_office_location", tr(
            "kantor pegawai ini belum punya koordinat; admin perlu mengisi lokasi kantor",
            "this employee's office has no coordinates; an admin must set its location"),
            field="nip", status=409)
    return min((Where(p, haversine_m(latitude, longitude, p.latitude, p.longitude)) for p in places),
               key=lambda w: w.distance_m - w.place.radius_m)


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


def capture_instant(meta: MobileMeta, now: datetime, settings: FaceSettings) -> tuple[datetime, int]:
    """(when the photo was taken, naive UTC on the hub's clock; seconds it waited on the phone).

    The phone's clock is trusted only for a difference: sent_at - captured_at is how long
    the punch waited, measured on one clock; the hub's clock gives the instant. A phone
    whose clock is off by an hour still gets its offline punch at the right time."""
    phone_now = (meta.sent_at or meta.captured_at).astimezone(UTC).replace(tzinfo=None)
    skew = (now - phone_now).total_seconds()
    if abs(skew) > settings.capture_max_skew_s:
        _refuse("stale_capture", f"waktu pengambilan foto selisih {skew:.0f} detik dari jam "
                f"server (maks {settings.capture_max_skew_s}); ambil selfie baru dan "
                "pastikan jam ponsel otomatis",
                f"capture time is {skew:.0f} s away from server time (max "
                f"{settings.capture_max_skew_s}); take a new selfie and set the phone clock "
                "to automatic", "sent_at" if meta.sent_at else "captured_at", skew_s=round(skew))
    waited = int((meta.sent_at - meta.captured_at).total_seconds()) if meta.sent_at else 0
    if waited > settings.capture_max_skew_s and not meta.queued:
        _refuse("stale_capture", f"foto diambil {waited} detik sebelum dikirim; ambil selfie baru",
                f"the photo was taken {waited} s before it was sent; take a new selfie", "captured_at",
                skew_s=waited)
    if waited > settings.replay_days * 86400:
        _refuse("stale_capture", f"presensi tersimpan di ponsel lebih dari {settings.replay_days} hari; tidak "
                "dapat diterima lagi, ajukan koreksi ke atasan",
                f"the punch waited on the phone more than {settings.replay_days} days; it can no longer be "
                "taken, ask your supervisor for a correction", "captured_at", skew_s=waited)
    return (now - timedelta(seconds=waited)).replace(microsecond=0), waited


def check_capture(meta: MobileMeta, taken_at: datetime | None, tz: str, captured: datetime,
                  settings: FaceSettings) -> None:
    """Refuse what looks like a gallery photo; `captured` is the capture instant, naive UTC."""
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
    if taken_at is not None:
        age = (to_local(captured, tz) - taken_at).total_seconds()
        if age > settings.exif_max_age_s or age < -settings.capture_max_skew_s:
            _refuse("stale_exif", f"EXIF foto menyatakan diambil {taken_at:%Y-%m-%d %H:%M:%S}"
                    f", bukan baru saja; ambil selfie baru dengan kamera",
                    f"the photo's EXIF says it was taken {taken_at:%Y-%m-%d %H:%M:%S}, "
                    "not just now; take a new selfie with the camera", "photo",
                    age_s=round(age))


def _refuse_replay(session: Session, employee_id: int, phash: str, meta: MobileMeta,
                   ident: MobileIdentity | None, now: datetime, s: FaceSettings) -> None:
    """A selfie already used (by its look, not its bytes: one byte added, recompressed or
    cropped is the same photo), or a capture not after this phone's previous one (by the
    phone's capture counter when it sends one, else by its capture time)."""
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
    cred = session.get(MobileCredential, ident.credential_id)
    if cred is None:
        return
    captured = meta.captured_at.astimezone(UTC).replace(tzinfo=None)
    if meta.capture_seq is not None and cred.last_capture_seq is not None:
        stale = meta.capture_seq <= cred.last_capture_seq
    else:
        stale = cred.last_capture_at is not None and captured <= cred.last_capture_at
    if stale:
        raise FaceError("replayed_capture", tr(
            "pengambilan ini tidak lebih baru dari presensi sebelumnya dari ponsel ini (kiriman ulang?)",
            "this capture is not later than this phone's previous punch (a replay?)"),
            field="capture_seq" if meta.capture_seq is not None else "captured_at", status=409)


def _resent(session: Session, digest: str, emp: Employee, meta: MobileMeta) -> MobilePunchResult | None:
    """The same capture sent again (the phone did not hear the answer): its first result.
    The same photo with other details is not a resend but a replay (refused by the caller)."""
    row = session.execute(select(MobileSelfie, RawPunch).join(RawPunch, RawPunch.id == MobileSelfie.punch_id)
                          .where(MobileSelfie.sha256 == digest)).first()
    if row is None:
        return None
    selfie, punch = row
    raw = punch.raw or {}
    if selfie.employee_id != emp.id or raw.get("captured_at") != meta.captured_at.isoformat() \
            or raw.get("capture_seq") != meta.capture_seq:
        return None
    flags = int(punch.flags)
    return MobilePunchResult(
        punch_id=punch.id, employee_id=emp.id, nip=emp.id_number, local_time=punch.local_time, tz=punch.tz,
        site_code=str(raw.get("site", "")), place=str(raw.get("place", "")),
        distance_m=float(raw.get("distance_m") or 0), radius_m=int(raw.get("radius_m") or 0),
        face_distance=selfie.face_distance, match=not flags & PunchFlag.PHOTO_MISMATCH, duplicate=True,
        flags=PunchFlag.names_of(flags), queued_s=int(raw.get("queued_s") or 0),
        held=bool(flags & rules_of(session, emp, punch.local_time.date()).quarantine_mask))


def resent(session: Session, ident: MobileIdentity, meta: MobileMeta, photo: bytes) -> MobilePunchResult | None:
    """The stored result when this phone sends a capture it sent before, else None."""
    emp = session.get(Employee, ident.employee_id)
    if emp is None:
        return None
    return _resent(session, hashlib.sha256(photo).hexdigest(), emp, meta)


def mobile_punch(session: Session, fields: Mapping[str, object], photo: bytes,
                 now: datetime | None = None, settings: FaceSettings | None = None,
                 actor: str = "mobile", ident: MobileIdentity | None = None,
                 frames: list[bytes] | None = None, challenge: str | None = None) -> MobilePunchResult:
    """Check and store one mobile punch; FaceError (with HTTP status) says why it is refused.

    `ident` is the signed-in phone's employee: the punch is theirs whatever NIP the form
    names. `challenge` is the liveness challenge's kind (already spent) and `frames` the
    burst that answers it. A punch that is whole but doubtful (outside every allowed place,
    another person's face, delivered later than the ruleset allows) is kept and held for a
    reviewer, never dropped; the same capture sent twice is stored once."""
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
    captured, waited = capture_instant(meta, now, s)
    where = nearest_place(places_of(session, emp, to_local(captured, home_tz(emp)).date(), s),
                          meta.latitude, meta.longitude)
    tz = where.place.tz
    digest = hashlib.sha256(photo).hexdigest()
    again = _resent(session, digest, emp, meta)
    if again is not None:
        return again
    img = decode(photo, s)
    check_capture(meta, img.taken_at, tz, captured, s)
    if session.scalar(select(MobileSelfie.id).where(MobileSelfie.sha256 == digest)):
        raise FaceError("duplicate_photo", tr(
            "foto ini sudah pernah dikirim; ambil selfie baru",
            "this photo was already sent before; take a new selfie"), field="photo",
            status=409)
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
    try:
        _refuse_replay(session, emp.id, phash, meta, ident, now, s)
    except FaceError:
        first = _resent(session, digest, emp, meta)  # kept meanwhile by a copy of this very send
        if first is not None:
            return first
        raise

    local = to_local(captured, tz)
    flags = 0
    if not where.inside:
        flags |= PunchFlag.OUTSIDE_GEOFENCE
    rs = rules_of(session, emp, local.date())
    limit_min = rs.mobile_offline_max_minutes
    if waited > limit_min * 60:
        flags |= PunchFlag.LATE_UPLOAD
    device = _mobile_device(session, s)
    _ensure_pin(session, emp)
    raw = {"latitude": meta.latitude, "longitude": meta.longitude,
           "accuracy_m": meta.accuracy_m, "captured_at": meta.captured_at.isoformat(),
           "sent_at": meta.sent_at.isoformat() if meta.sent_at else None, "queued_s": waited,
           "capture_seq": meta.capture_seq, "capture_source": meta.capture_source, "selfie_sha256": digest,
           "site": where.place.code, "place": where.place.name, "distance_m": round(where.distance_m, 1),
           "radius_m": where.place.radius_m, "face_distance": result.distance,
           "app_version": meta.app_version, "phash": phash,
           **({"offline_limit_min": limit_min} if waited > limit_min * 60 else {}),
           **({"liveness": live.as_dict()} if live is not None else {})}
    punch = Punch(device_id=device.id, source=Source.MOBILE, pin=emp.id_number,
                  local_time=local, tz=tz, state=meta.state, verify=Verify.GPS_SELFIE,
                  raw=raw, utc_time=captured, flags=int(flags))
    session.flush()
    stored = runs.record(session.connection(), device.id, Source.MOBILE, "mobile", [punch],
                         details={"site": where.place.code})
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
        # the same capture arriving twice at once (the page and the service worker both
        # sending it): the other request kept it, so this one answers as a resend
        first = _resent(session, digest, emp, meta)
        if first is not None:
            return first
        raise FaceError("duplicate_photo", tr(
            "foto ini sudah pernah dikirim; ambil selfie baru",
            "this photo was already sent before; take a new selfie"), field="photo",
            status=409) from None
    if ident is not None:
        cred = session.get(MobileCredential, ident.credential_id)
        if cred is not None:
            cred.last_capture_at = meta.captured_at.astimezone(UTC).replace(tzinfo=None)
            if meta.capture_seq is not None:
                cred.last_capture_seq = meta.capture_seq
    session.flush()
    return MobilePunchResult(
        punch_id=row.id, employee_id=emp.id, nip=emp.id_number, local_time=local, tz=tz,
        site_code=where.place.code, place=where.place.name, distance_m=round(where.distance_m, 1),
        radius_m=where.place.radius_m, face_distance=result.distance, match=result.match,
        duplicate=duplicate, flags=PunchFlag.names_of(int(row.flags)), held=bool(int(row.flags) & rs.quarantine_mask),
        queued_s=waited)


__all__ = ["MobileMeta", "MobilePunchResult", "Place", "haversine_m", "mobile_punch", "parse_meta", "places_of",
           "resent"]
