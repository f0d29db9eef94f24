"""Enrollment: gates passed -> encrypted encoding + terminal-ready photo, duplicates flagged."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.face import index
from hub.face.errors import FaceError
from hub.face.image import encode_jpeg
from hub.face.models import FaceReview
from hub.face.quality import Analysis, analyse
from hub.face.settings import FaceSettings, face_settings
from hub.i18n import tr
from hub.secrets import decrypt, encrypt
from hub.store.models import AuditLog, Employee, Template, utcnow

PHOTO_FORMAT = "jpeg"
MARGIN = 0.6  # terminals want the whole head with some shoulders, not a tight face box


@dataclass
class Duplicate:
    employee_id: int
    id_number: str
    name: str
    distance: float
    review_id: int


@dataclass
class EnrollResult:
    employee_id: int
    id_number: str
    encoding_template_id: int
    photo_template_id: int
    photo_bytes: int
    metrics: dict[str, float | int]
    threshold: float
    duplicates: list[Duplicate] = field(default_factory=list)


def employee_by_nip(session: Session, nip: str) -> Employee:
    nip = nip.strip()
    emp = session.scalar(select(Employee).where(Employee.id_number == nip))
    if emp is None:
        raise FaceError("unknown_employee", tr(
            f"pegawai dengan NIP {nip!r} tidak ada; impor data pegawai dulu",
            f"no employee with NIP {nip!r}; import the roster first"), field="nip", status=404)
    return emp


def terminal_photo_of(analysis: Analysis, settings: FaceSettings) -> bytes:
    """Square head crop, resized, JPEG under settings.photo_max_bytes."""
    bgr = analysis.image.bgr
    top, right, bottom, left = analysis.face.box
    half = int(max(bottom - top, right - left) * (1 + MARGIN) / 2)
    # Pad by replicating edges so a face near the border still gets a square, centred crop.
    padded = cv2.copyMakeBorder(bgr, half, half, half, half, cv2.BORDER_REPLICATE)
    cy, cx = (top + bottom) // 2 + half, (left + right) // 2 + half
    crop = padded[cy - half:cy + half, cx - half:cx + half]
    side = min(settings.photo_side, max(crop.shape[:2]))
    while True:
        img = cv2.resize(crop, (side, side), interpolation=cv2.INTER_AREA)
        for quality in (90, 80, 70, 60, 50, 40):
            data = encode_jpeg(img, quality)
            if len(data) <= settings.photo_max_bytes:
                return data
        if side <= 96:
            raise FaceError("photo_too_big", tr(
                f"foto terminal tidak bisa dibuat di bawah {settings.photo_max_bytes} byte",
                f"cannot make a terminal photo under {settings.photo_max_bytes} bytes"))
        side = int(side * 0.8)


def _upsert(session: Session, employee_id: int, fmt: str, plain: bytes,
            version: str | None = None) -> Template:
    row = session.scalar(select(Template).where(
        Template.employee_id == employee_id, Template.kind == "face",
        Template.finger_index == 0, Template.format == fmt))
    if row is None:
        row = Template(employee_id=employee_id, kind="face", finger_index=0, format=fmt)
        session.add(row)
    row.blob_enc = encrypt(plain)
    row.sha256 = hashlib.sha256(plain).hexdigest()
    row.size = len(plain)
    row.version = version
    row.valid_flag = 1
    row.updated_at = utcnow()
    return row


def enroll_analysis(session: Session, nip: str, analysis: Analysis, actor: str,
                    settings: FaceSettings | None = None) -> EnrollResult:
    """Store a face that passed the gates for NIP; flag faces already enrolled elsewhere."""
    s = settings or face_settings()
    emp = employee_by_nip(session, nip)
    matrix = index.enrolled_matrix(session)
    before = index.current_stamp(session)
    hits = matrix.search(analysis.encoding, s.duplicate_threshold, exclude=emp.id)
    photo = terminal_photo_of(analysis, s)
    enc_row = _upsert(session, emp.id, index.FORMAT, index.to_blob(analysis.encoding), "1")
    photo_row = _upsert(session, emp.id, PHOTO_FORMAT, photo)
    session.flush()
    index.record_enrollment(session, emp.id, analysis.encoding, before)
    result = EnrollResult(employee_id=emp.id, id_number=emp.id_number,
                          encoding_template_id=enc_row.id, photo_template_id=photo_row.id,
                          photo_bytes=len(photo), metrics=analysis.face.metrics(),
                          threshold=s.duplicate_threshold)
    for other_id, distance in hits:
        other = session.get(Employee, other_id)
        review = FaceReview(kind="duplicate_identity", status="open", employee_id=emp.id,
                            other_employee_id=other_id, distance=round(distance, 4),
                            threshold=s.duplicate_threshold, actor=actor,
                            details={"nip": emp.id_number,
                                     "other_nip": other.id_number if other else None})
        session.add(review)
        session.flush()
        session.add(AuditLog(actor=actor, action="face.duplicate_identity", entity="employee",
                             entity_id=str(emp.id),
                             details={"review_id": review.id, "other_employee_id": other_id,
                                      "distance": round(distance, 4),
                                      "threshold": s.duplicate_threshold}))
        result.duplicates.append(Duplicate(other_id, other.id_number if other else "?",
                                           other.name if other else "?", distance, review.id))
    session.add(AuditLog(actor=actor, action="face.enroll", entity="employee",
                         entity_id=str(emp.id),
                         details={**analysis.face.metrics(), "photo_bytes": len(photo),
                                  "duplicates": len(hits)}))
    session.flush()
    return result


def enroll(session: Session, nip: str, photo: bytes | str | Path, actor: str,
           settings: FaceSettings | None = None) -> EnrollResult:
    """Enroll the face of a photo (bytes or a path) for the employee with this NIP."""
    s = settings or face_settings()
    employee_by_nip(session, nip)  # a wrong NIP is told before any face work
    src = photo if isinstance(photo, bytes) else str(photo)
    return enroll_analysis(session, nip, analyse(src, s), actor, s)


def enrolled_encoding(session: Session, employee_id: int) -> np.ndarray | None:
    blob = session.scalar(select(Template.blob_enc).where(
        Template.employee_id == employee_id, Template.kind == "face",
        Template.format == index.FORMAT, Template.valid_flag == 1))
    return None if blob is None else index.from_blob(decrypt(blob))


def terminal_photo(session: Session, employee_id: int) -> tuple[bytes, str] | None:
    """The terminal-ready JPEG of an employee and its sha256, for the roster sync.

    ZK ADMS: `DATA UPDATE BIOPHOTO PIN=..\\tType=9\\tContent=<base64>`; MQTT: face.set.
    None when the employee has no enrolled face.
    """
    row = session.scalar(select(Template).where(
        Template.employee_id == employee_id, Template.kind == "face",
        Template.format == PHOTO_FORMAT, Template.valid_flag == 1))
    if row is None:
        return None
    return decrypt(row.blob_enc), row.sha256
