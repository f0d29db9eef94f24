"""Face tables: the review queue of face findings and the hashes of mobile selfies.

Imported at the bottom of hub/store/models.py so the tables are in Base.metadata.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, DateTime, Float, ForeignKey, Index, Integer, String
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
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    employee_id: Mapped[int] = mapped_column(ForeignKey("employees.id", ondelete="CASCADE"))
    punch_id: Mapped[int | None] = mapped_column(
        ForeignKey("raw_punches.id", ondelete="SET NULL"))
    face_distance: Mapped[float | None] = mapped_column(Float)
    received_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
