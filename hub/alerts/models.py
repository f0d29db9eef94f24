"""One row per problem the alert rules found: open while it lasts, resolved when it is over,
with what was sent about it on each channel (so nothing is sent twice, and a channel that
was down is tried again)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, DateTime, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from hub.store.models import Base, BigId, utcnow


class Alert(Base):
    __tablename__ = "alerts"
    __table_args__ = (Index("ix_alerts_key_resolved", "key", "resolved_at"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    key: Mapped[str] = mapped_column(String(200))  # rule:subject, e.g. terminal_offline:SN123
    rule: Mapped[str] = mapped_column(String(64))
    subject: Mapped[str] = mapped_column(String(200))
    message: Mapped[str] = mapped_column(Text)  # the latest words, Indonesian
    message_en: Mapped[str] = mapped_column(Text, default="")
    fix: Mapped[str] = mapped_column(Text, default="")
    facts: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    opened_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime)
    # channel -> ISO time the problem / the recovery was delivered there
    notified: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    recovered: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    last_error: Mapped[str | None] = mapped_column(Text)
