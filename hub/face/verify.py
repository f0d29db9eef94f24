"""Verification 1:1: is this selfie or punch photo the face enrolled for the employee?"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.face.enroll import enrolled_encoding
from hub.face.errors import FaceError
from hub.face.models import FaceReview
from hub.face.quality import Analysis, analyse
from hub.face.settings import FaceSettings, face_settings
from hub.i18n import tr
from hub.punch import PunchFlag
from hub.store.models import AuditLog, RawPunch, utcnow


@dataclass
class VerifyResult:
    employee_id: int
    match: bool
    distance: float | None  # None when no face could be compared
    threshold: float
    reason: str = ""  # why there is no distance (e.g. no_face in the punch photo)


def compare(enrolled: np.ndarray, probe: np.ndarray) -> float:
    return float(np.linalg.norm(np.asarray(enrolled) - np.asarray(probe)))


def verify_analysis(session: Session, employee_id: int, analysis: Analysis,
                    settings: FaceSettings | None = None) -> VerifyResult:
    s = settings or face_settings()
    enrolled = require_enrolled(session, employee_id)
    distance = compare(enrolled, analysis.encoding)
    return VerifyResult(employee_id, distance <= s.match_threshold, round(distance, 4),
                        s.match_threshold)


def require_enrolled(session: Session, employee_id: int) -> np.ndarray:
    enrolled = enrolled_encoding(session, employee_id)
    if enrolled is None:
        raise FaceError("not_enrolled", tr(
            "pegawai ini belum punya wajah terdaftar; daftarkan dulu dengan `hub face enroll`",
            "this employee has no enrolled face; enroll one first with `hub face enroll`"),
            field="nip", status=409)
    return enrolled


def verify_photo(session: Session, employee_id: int, photo: bytes | str | Path,
                 settings: FaceSettings | None = None, gates: bool = False) -> VerifyResult:
    """Compare a photo with the enrolled face; FaceError when the photo shows no one face."""
    s = settings or face_settings()
    require_enrolled(session, employee_id)  # before the face work: a clear 409 first
    src = photo if isinstance(photo, bytes) else str(photo)
    return verify_analysis(session, employee_id, analyse(src, s, gates=gates), s)


def flag_mismatch(session: Session, punch: RawPunch, result: VerifyResult, actor: str,
                  **details: object) -> FaceReview:
    """Mark the punch PHOTO_MISMATCH and queue it for review (flags are the hub's, not raw)."""
    punch.flags = int(punch.flags) | int(PunchFlag.PHOTO_MISMATCH)
    review = FaceReview(kind="photo_mismatch", status="open", employee_id=result.employee_id,
                        punch_id=punch.id, distance=result.distance, threshold=result.threshold,
                        actor=actor, details={"reason": result.reason, **details})
    session.add(review)
    session.flush()
    session.add(AuditLog(actor=actor, action="face.photo_mismatch", entity="raw_punch",
                         entity_id=str(punch.id),
                         details={"review_id": review.id, "distance": result.distance,
                                  "threshold": result.threshold, "reason": result.reason}))
    return review


def check_punch_photo(session: Session, punch_id: int, photo: bytes, actor: str = "system",
                      settings: FaceSettings | None = None) -> VerifyResult:
    """A terminal's punch photo (ADMS ATTPHOTO, MQTT) against the punch's employee.

    A photo without exactly one face cannot vouch for the punch, so it counts as a mismatch
    (reason given); a punch of an unknown PIN or of someone never enrolled is left alone.
    """
    s = settings or face_settings()
    punch = session.get(RawPunch, punch_id)
    if punch is None:
        raise FaceError("unknown_punch", tr(f"punch {punch_id} tidak ada",
                                            f"punch {punch_id} does not exist"), status=404)
    if punch.employee_id is None:
        raise FaceError("unknown_pin", tr(
            f"punch {punch_id} belum terhubung ke pegawai (PIN {punch.pin} tidak dikenal)",
            f"punch {punch_id} has no employee (PIN {punch.pin} unknown)"), status=409)
    try:
        result = verify_photo(session, punch.employee_id, photo, s)
    except FaceError as exc:
        if exc.code in ("not_enrolled", "unknown_employee"):
            raise
        result = VerifyResult(punch.employee_id, False, None, s.match_threshold, exc.code)
    if not result.match:
        flag_mismatch(session, punch, result, actor)
    return result


def open_reviews(session: Session, include_closed: bool = False) -> list[FaceReview]:
    q = select(FaceReview).order_by(FaceReview.id)
    if not include_closed:
        q = q.where(FaceReview.status == "open")
    return list(session.scalars(q))


def resolve_review(session: Session, review_id: int, status: str, actor: str,
                   note: str = "") -> FaceReview:
    """Close a review: confirmed (the finding is real) or dismissed (a false alarm)."""
    if status not in ("confirmed", "dismissed"):
        raise FaceError("bad_status", tr(f"status harus confirmed atau dismissed, bukan {status!r}",
                                         f"status must be confirmed or dismissed, not {status!r}"),
                        field="status")
    review = session.get(FaceReview, review_id)
    if review is None:
        raise FaceError("unknown_review", tr(f"tinjauan #{review_id} tidak ada",
                                             f"review #{review_id} does not exist"), status=404)
    if review.status != "open":
        raise FaceError("review_closed", tr(
            f"tinjauan #{review_id} sudah ditutup ({review.status}) oleh {review.resolved_by}",
            f"review #{review_id} is already closed ({review.status}) by {review.resolved_by}"),
            status=409)
    review.status, review.resolved_by, review.resolved_at = status, actor, utcnow()
    if note:
        review.details = {**(review.details or {}), "note": note}
    session.add(AuditLog(actor=actor, action=f"face.review.{status}", entity="face_review",
                         entity_id=str(review.id), details={"kind": review.kind, "note": note}))
    session.flush()
    return review
