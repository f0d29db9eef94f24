"""Who is punching from this phone? Per-employee credentials, one phone each (issue 21 item 6).

IT or an admin issues an activation code for an employee (shown once, kept as an argon2
hash). At first sign-in the phone sends the NIP, the code and a key it generated and keeps;
the credential is then bound to that phone (the key's hash). Signing in again works only
from that phone; a new phone needs IT or an admin to reset the credential (a new code).
A sign-in returns a bearer token for the mobile endpoints, only its hash kept, valid
`mobile_session_days`. Wrong codes lock the credential after `credential_max_failures`.
A staff account's token never punches for anyone: the punch's NIP is the session's.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from hub.face.enroll import employee_by_nip
from hub.face.errors import FaceError
from hub.face.liveness import ASK, pick_kind
from hub.face.models import MobileChallenge, MobileCredential, MobileSession
from hub.face.settings import FaceSettings, face_settings
from hub.i18n import tr
from hub.store.models import AuditLog, Employee, utcnow

_HASHER = PasswordHasher()
CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read over the phone
CODE_LENGTH = 12


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def new_code() -> str:
    raw = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
    return "-".join(raw[i:i + 4] for i in range(0, CODE_LENGTH, 4))


def _normal(code: str) -> str:
    return code.replace("-", "").replace(" ", "").upper()


@dataclass(frozen=True)
class MobileIdentity:
    credential_id: int
    employee_id: int
    nip: str
    session_id: int


def issue(session: Session, nip: str, actor: str) -> str:
    """A new activation code for the employee (any earlier one and its phone are released)."""
    emp = employee_by_nip(session, nip)
    if not emp.active:
        raise FaceError("inactive_employee", tr(f"pegawai {emp.id_number} tidak aktif",
                                                f"employee {emp.id_number} is not active"), field="nip", status=409)
    code = new_code()
    cred = session.scalar(select(MobileCredential).where(MobileCredential.employee_id == emp.id))
    if cred is None:
        cred = MobileCredential(employee_id=emp.id, code_hash="", failed=0)
        session.add(cred)
    cred.code_hash = _HASHER.hash(_normal(code))
    cred.issued_at, cred.issued_by = utcnow(), actor
    cred.device_hash = cred.bound_at = cred.locked_until = cred.revoked_at = cred.last_capture_seq = None
    cred.failed = 0
    session.flush()
    _end_sessions(session, cred.id)
    session.add(AuditLog(actor=actor, action="mobile.credential.issue", entity="employee", entity_id=str(emp.id),
                         details={"nip": emp.id_number}))
    return code


def revoke(session: Session, nip: str, actor: str) -> None:
    emp = employee_by_nip(session, nip)
    cred = session.scalar(select(MobileCredential).where(MobileCredential.employee_id == emp.id))
    if cred is None:
        raise FaceError("no_credential", tr(f"{nip} belum punya kredensial mobile", f"{nip} has no mobile credential"),
                        field="nip", status=404)
    cred.revoked_at = utcnow()
    _end_sessions(session, cred.id)
    session.add(AuditLog(actor=actor, action="mobile.credential.revoke", entity="employee", entity_id=str(emp.id),
                         details={"nip": emp.id_number}))


def _end_sessions(session: Session, credential_id: int) -> None:
    session.execute(update(MobileSession).where(MobileSession.credential_id == credential_id,
                                                MobileSession.revoked_at.is_(None)).values(revoked_at=utcnow()))


def _refused(what_id: str, what_en: str, status: int = 401, code: str = "login_failed", **details: object) -> FaceError:
    return FaceError(code, tr(what_id, what_en), field="code", status=status, **details)


def login(session: Session, nip: str, code: str, device_key: str, address: str = "",
          settings: FaceSettings | None = None, now: datetime | None = None) -> tuple[str, datetime]:
    """(bearer token, expiry) for a phone; FaceError says why not (the same words whether the
    NIP or the code is wrong, so NIPs cannot be probed)."""
    s = settings or face_settings()
    now = now or utcnow()
    if not 16 <= len(device_key) <= 200:
        raise FaceError("bad_field", tr("kunci perangkat harus 16-200 karakter",
                                        "device key must be 16-200 characters"), field="device_key")
    emp = session.scalar(select(Employee).where(Employee.id_number == nip))
    cred = None if emp is None else session.scalar(
        select(MobileCredential).where(MobileCredential.employee_id == emp.id))
    wrong = _refused("NIP atau kode aktivasi salah", "wrong NIP or activation code")
    if emp is None or cred is None or cred.revoked_at is not None or not emp.active:
        raise wrong
    if cred.locked_until is not None and cred.locked_until > now:
        raise _refused(f"terlalu banyak percobaan; coba lagi setelah {cred.locked_until:%H:%M} UTC atau minta IT",
                       f"too many attempts; try again after {cred.locked_until:%H:%M} UTC or ask IT",
                       status=429, code="locked")
    try:
        ok = _HASHER.verify(cred.code_hash, _normal(code))
    except (VerificationError, InvalidHashError):
        ok = False
    if not ok:
        cred.failed += 1
        if cred.failed >= s.credential_max_failures:
            cred.locked_until, cred.failed = now + timedelta(minutes=s.credential_lock_minutes), 0
        session.add(AuditLog(actor=nip[:100], action="mobile.login.failed", entity="employee",
                             entity_id=str(emp.id), details={"address": address}))
        session.commit()  # the count must outlive the refusal
        raise wrong
    device = _sha(device_key)
    if cred.device_hash is None:
        cred.device_hash, cred.bound_at = device, now
        session.add(AuditLog(actor=nip[:100], action="mobile.bound", entity="employee", entity_id=str(emp.id),
                             details={"address": address}))
    elif not secrets.compare_digest(cred.device_hash, device):
        session.add(AuditLog(actor=nip[:100], action="mobile.other_phone", entity="employee",
                             entity_id=str(emp.id), details={"address": address}))
        session.commit()
        raise _refused("akun ini sudah terikat ke ponsel lain; minta IT/admin mereset kredensial Anda",
                       "this account is bound to another phone; ask IT or an admin to reset your credential",
                       status=403, code="other_phone")
    cred.failed = 0
    token = secrets.token_urlsafe(32)
    expires = now + timedelta(days=s.mobile_session_days)
    session.add(MobileSession(credential_id=cred.id, token_hash=_sha(token), created_at=now, expires_at=expires))
    return token, expires


def identify(session: Session, token: str | None, now: datetime | None = None) -> MobileIdentity:
    """The employee behind a mobile bearer token, or FaceError 401."""
    now = now or utcnow()
    refused = FaceError("not_signed_in", tr("masuk dulu di aplikasi presensi (token tidak sah atau kedaluwarsa)",
                                            "sign in to the attendance app first (token missing, invalid or "
                                            "expired)"), field="authorization", status=401)
    if not token:
        raise refused
    row = session.execute(select(MobileSession, MobileCredential, Employee)
                          .join(MobileCredential, MobileCredential.id == MobileSession.credential_id)
                          .join(Employee, Employee.id == MobileCredential.employee_id)
                          .where(MobileSession.token_hash == _sha(token))).first()
    if row is None:
        raise refused
    ms, cred, emp = row
    if ms.revoked_at is not None or ms.expires_at <= now or cred.revoked_at is not None or not emp.active:
        raise refused
    ms.last_used_at = now
    return MobileIdentity(cred.id, emp.id, emp.id_number, ms.id)


def new_challenge(session: Session, ident: MobileIdentity, settings: FaceSettings | None = None,
                  spare: bool = False) -> MobileChallenge:
    """A challenge for the punch about to be taken; a `spare` one is kept by the phone for
    a punch taken without signal (valid for spare_challenge_ttl_s, answered at capture)."""
    s = settings or face_settings()
    now = utcnow()
    ttl = s.spare_challenge_ttl_s if spare else s.challenge_ttl_s
    ch = MobileChallenge(id=secrets.token_urlsafe(24), credential_id=ident.credential_id,
                         kind=pick_kind([k.strip() for k in s.liveness_kinds.split(",") if k.strip()]), issued_at=now,
                         expires_at=now + timedelta(seconds=ttl))
    session.add(ch)
    session.flush()
    return ch


def take_challenge(session: Session, ident: MobileIdentity, challenge_id: str | None,
                   captured: datetime | None = None) -> str:
    """The challenge's kind, spent now; FaceError when unknown, someone else's, used, or
    expired when the photo was taken (`captured`, naive UTC: a punch kept offline answered
    it then; by default now)."""
    now = captured or utcnow()
    ch = session.get(MobileChallenge, challenge_id) if challenge_id else None
    if ch is None or ch.credential_id != ident.credential_id:
        raise FaceError("bad_challenge", tr("tantangan tidak dikenal; minta tantangan baru",
                                            "unknown challenge; ask for a new one"), field="challenge_id")
    if ch.used_at is not None or ch.expires_at <= now or ch.issued_at > now + timedelta(seconds=5):
        raise FaceError("challenge_spent", tr("tantangan sudah dipakai atau kedaluwarsa; minta yang baru",
                                              "challenge already used or expired; ask for a new one"),
                        field="challenge_id")
    ch.used_at = utcnow()
    return ch.kind


def describe(kind: str) -> str:
    return tr(*ASK[kind])
