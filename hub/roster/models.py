"""Tables of the roster (hub/roster): which offices reach which terminals, transfers.

Gathered with every other table in hub/schema.py (Alembic's one metadata).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, DateTime, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from hub.store.models import Base, utcnow

# How the employees of an office find their terminals (hub/roster/assignment.py).
SCOPES = ("nearest", "own", "own_and_parents")


class SiteSyncRule(Base):
    """Per-office override of the terminal rule; offices without a row use `nearest`."""

    __tablename__ = "site_sync_rules"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"), unique=True)
    scope: Mapped[str] = mapped_column(String(32), default="nearest")
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)


class EmployeeTransfer(Base):
    """A mutasi: from `effective_on` the employee belongs to `to_site_id` instead."""

    __tablename__ = "employee_transfers"
    __table_args__ = (Index("ix_employee_transfers_employee", "employee_id", "effective_on"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    employee_id: Mapped[int] = mapped_column(ForeignKey("employees.id", ondelete="CASCADE"))
    from_site_id: Mapped[int | None] = mapped_column(ForeignKey("sites.id", ondelete="SET NULL"))
    to_site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"))
    effective_on: Mapped[date] = mapped_column(Date)
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
