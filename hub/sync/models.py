"""Tables of device sync (hub/sync): each terminal's confirmed users and templates, sync runs.

Gathered with every other table in hub/schema.py (Alembic's one metadata).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, DateTime, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from hub.store.models import Base, BigId, utcnow


class DeviceRosterUser(Base):
    """A user we last confirmed on a terminal (read back after apply), with a hash of its fields."""

    __tablename__ = "device_roster_users"
    __table_args__ = (UniqueConstraint("device_id", "pin"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    device_id: Mapped[int] = mapped_column(ForeignKey("devices.id", ondelete="CASCADE"))
    pin: Mapped[str] = mapped_column(String(32))
    uid: Mapped[int | None] = mapped_column(Integer)  # the terminal's 16-bit slot (ZK)
    employee_id: Mapped[int | None] = mapped_column(ForeignKey("employees.id", ondelete="SET NULL"))
    fields_hash: Mapped[str] = mapped_column(String(32))
    confirmed_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class DeviceRosterTemplate(Base):
    """A template (fingerprint finger or face) we last confirmed on a terminal."""

    __tablename__ = "device_roster_templates"
    __table_args__ = (UniqueConstraint("device_id", "pin", "kind", "finger_index"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    device_id: Mapped[int] = mapped_column(ForeignKey("devices.id", ondelete="CASCADE"))
    pin: Mapped[str] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(16))  # fingerprint | face
    finger_index: Mapped[int] = mapped_column(Integer, default=0)
    sha256: Mapped[str] = mapped_column(String(64))
    confirmed_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class SyncRun(Base):
    """One `hub sync apply` on one terminal: what was planned, sent, read back."""

    __tablename__ = "sync_runs"
    __table_args__ = (Index("ix_sync_runs_device_started", "device_id", "started_at"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    device_id: Mapped[int] = mapped_column(ForeignKey("devices.id", ondelete="CASCADE"))
    started_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime)
    status: Mapped[str] = mapped_column(String(16), default="running")  # ok|partial|failed|skipped
    planned: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    sent: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    readback: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    mismatch: Mapped[bool] = mapped_column(Boolean, default=False)
    error: Mapped[str | None] = mapped_column(Text)
    actor: Mapped[str] = mapped_column(String(100), default="")


class SyncItem(Base):
    """A per-item outcome worth keeping: an error, a warning, or a mismatch after read-back."""

    __tablename__ = "sync_items"
    __table_args__ = (Index("ix_sync_items_run", "run_id"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("sync_runs.id", ondelete="CASCADE"))
    action: Mapped[str] = mapped_column(String(32))  # user_add|user_update|user_remove|tmpl_add|...
    pin: Mapped[str | None] = mapped_column(String(32))
    employee_id: Mapped[int | None] = mapped_column(Integer)
    finger_index: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16))  # error | warning | mismatch
    message: Mapped[str] = mapped_column(Text)
