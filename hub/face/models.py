"""Face tables: the review queue of face findings and the hashes of mobile selfies.

Gathered with every other table in hub/schema.py (Alembic's one metadata).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Date, DateTime, Float, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from hub.store.models import Base, BigId, utcnow


class FaceReview(Base):
    """A face finding a person must look at.

    kind duplicate_identity: the face enrolled for employee_id is within `threshold` of the
    face of other_employee_id (one person under two NIPs, or a colleague's photo).
    kind photo_mismatch: the photo of punch_id is not the face enrolled for employee_id.
    """

    __tablename__ = "face_reviews"
    __table_args__ = (Index("ix_face_reviews_status_kind", "status", "kind"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16), default="open")  # open|confirmed|dismissed
    employee_id: Mapped[int] = mapped_column(ForeignKey("employees.id", ondelete="CASCADE"))
    other_employee_id: Mapped[int | None] = mapped_column(
        ForeignKey("employees.id", ondelete="CASCADE"))
    punch_id: Mapped[int | None] = mapped_column(
        ForeignKey("raw_punches.id", ondelete="CASCADE"))
    distance: Mapped[float | None] = mapped_column(Float)
    threshold: Mapped[float] = mapped_column(Float)
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    actor: Mapped[str] = mapped_column(String(100), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    resolved_by: Mapped[str | None] = mapped_column(String(100))
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime)


class MobileSelfie(Base):
    """Every selfie a mobile punch was accepted with, by hash: a re-sent photo is refused."""

    __tablename__ = "mobile_selfies"
    __table_args__ = (Index("ix_mobile_selfies_employee_received", "employee_id", "received_at"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    employee_id: Mapped[int] = mapped_column(ForeignKey("employees.id", ondelete="CASCADE"))
    punch_id: Mapped[int | None] = mapped_column(
        ForeignKey("raw_punches.id", ondelete="SET NULL"))
    face_distance: Mapped[float | None] = mapped_column(Float)
    received_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    # 64-bit difference hash of the face (hex): a resent photo with a byte changed, recompressed
    # or slightly cropped is still recognised
    phash: Mapped[str | None] = mapped_column(String(16))


class MobileCredential(Base):
    """An employee's credential for the mobile page: an activation code IT or an admin
    issued (kept as an argon2 hash), bound at first login to one phone (the hash of a key
    the phone generated). Resetting issues a new code and frees the binding."""

    __tablename__ = "mobile_credentials"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    employee_id: Mapped[int] = mapped_column(ForeignKey("employees.id", ondelete="CASCADE"), unique=True)
    code_hash: Mapped[str] = mapped_column(String(200))
    issued_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    issued_by: Mapped[str] = mapped_column(String(100), default="")
    device_hash: Mapped[str | None] = mapped_column(String(64))
    bound_at: Mapped[datetime | None] = mapped_column(DateTime)
    failed: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(DateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime)
    last_capture_at: Mapped[datetime | None] = mapped_column(DateTime)  # the latest accepted capture (UTC)
    # the phone's capture counter of that capture: a phone numbers its captures 1, 2, 3 ...
    last_capture_seq: Mapped[int | None] = mapped_column(BigInteger)


class MobileSession(Base):
    """A signed-in phone: a bearer token (only its hash kept) tied to a credential and the
    phone it was bound to."""

    __tablename__ = "mobile_sessions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    credential_id: Mapped[int] = mapped_column(ForeignKey("mobile_credentials.id", ondelete="CASCADE"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime)


class MobileChallenge(Base):
    """A liveness challenge (blink, turn left, turn right) for one punch: used once, soon."""

    __tablename__ = "mobile_challenges"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    credential_id: Mapped[int] = mapped_column(ForeignKey("mobile_credentials.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    issued_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime)
    used_at: Mapped[datetime | None] = mapped_column(DateTime)


class FieldPlace(Base):
    """A place an employee may also punch from for a period (dinas luar: a school, a
    Puskesmas, a field site), from a letter (surat tugas): checked like the office geofence."""

    __tablename__ = "field_places"
    __table_args__ = (Index("ix_field_places_employee_from", "employee_id", "valid_from"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    employee_id: Mapped[int] = mapped_column(ForeignKey("employees.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    latitude: Mapped[float] = mapped_column(Float)
    longitude: Mapped[float] = mapped_column(Float)
    radius_m: Mapped[int] = mapped_column(Integer)
    valid_from: Mapped[date] = mapped_column(Date)
    valid_to: Mapped[date] = mapped_column(Date)
    reference: Mapped[str] = mapped_column(String(200), default="")  # the letter's number
    leave_id: Mapped[int | None] = mapped_column(ForeignKey("leave_entries.id", ondelete="SET NULL"))
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
