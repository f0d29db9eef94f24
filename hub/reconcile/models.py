"""Tables of reconciliation: rulesets, leave, rosters, daily statuses, period locks, recaps.

Gathered with every other table in hub/schema.py (Alembic's one metadata).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from hub.store.models import Base, BigId, utcnow


class RulesetRow(Base):
    """A ruleset file as loaded (content verbatim) with its effective dates."""

    __tablename__ = "rulesets"
    __table_args__ = (UniqueConstraint("name", "version"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    version: Mapped[int] = mapped_column(Integer)
    valid_from: Mapped[date] = mapped_column(Date)
    valid_to: Mapped[date | None] = mapped_column(Date)
    content: Mapped[str] = mapped_column(Text)
    loaded_by: Mapped[str] = mapped_column(String(100), default="system")
    loaded_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class RulesetSite(Base):
    """Which ruleset (by name) a site uses; site_id NULL = every site without its own."""

    __tablename__ = "ruleset_sites"
    __table_args__ = (UniqueConstraint("site_id", "ruleset_name"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    site_id: Mapped[int | None] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"))
    ruleset_name: Mapped[str] = mapped_column(String(100))


class LeaveEntry(Base):
    """Cuti, dinas luar, izin, sakit ... covering [date_from, date_to]."""

    __tablename__ = "leave_entries"
    __table_args__ = (Index("ix_leave_entries_employee_from", "employee_id", "date_from"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    employee_id: Mapped[int] = mapped_column(ForeignKey("employees.id", ondelete="CASCADE"))
    date_from: Mapped[date] = mapped_column(Date)
    date_to: Mapped[date] = mapped_column(Date)
    type: Mapped[str] = mapped_column(String(16))
    reference: Mapped[str] = mapped_column(String(200), default="")
    note: Mapped[str] = mapped_column(Text, default="")
    author: Mapped[str] = mapped_column(String(100))
    # approved (entered by a reviewer) | pending (asked from the phone) | rejected
    approval: Mapped[str] = mapped_column(String(16), default="approved")
    approved_by: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(DateTime)
    decision_note: Mapped[str] = mapped_column(Text, default="")


class LeaveScan(Base):
    """The scanned letter behind a leave entry (surat cuti, surat tugas DL, surat dokter): a
    PDF or JPEG, checked by its bytes, kept encrypted with the hub's key (hub.secrets)."""

    __tablename__ = "leave_scans"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    leave_id: Mapped[int] = mapped_column(ForeignKey("leave_entries.id", ondelete="CASCADE"), unique=True)
    filename: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(40))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    data_enc: Mapped[bytes] = mapped_column(LargeBinary)
    uploaded_by: Mapped[str] = mapped_column(String(100))
    uploaded_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class ShiftRoster(Base):
    """One rostered shift of an employee (RSUD, Damkar, Satpol PP), on the day it starts."""

    __tablename__ = "shift_roster"
    __table_args__ = (UniqueConstraint("employee_id", "day"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    employee_id: Mapped[int] = mapped_column(ForeignKey("employees.id", ondelete="CASCADE"))
    day: Mapped[date] = mapped_column(Date)
    shift: Mapped[str] = mapped_column(String(16))


class DailyStatus(Base):
    """The reconciled day of one employee, with the punches that decided it."""

    __tablename__ = "daily_status"
    __table_args__ = (
        UniqueConstraint("employee_id", "day"),
        Index("ix_daily_status_day_site", "day", "site_id"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    employee_id: Mapped[int] = mapped_column(ForeignKey("employees.id", ondelete="CASCADE"))
    day: Mapped[date] = mapped_column(Date)
    site_id: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(64))
    late_min: Mapped[int] = mapped_column(Integer, default=0)
    early_min: Mapped[int] = mapped_column(Integer, default=0)
    deduction_pct: Mapped[float] = mapped_column(Float, default=0.0)
    punch_ids: Mapped[str] = mapped_column(String(200), default="")  # comma-separated
    check_in: Mapped[datetime | None] = mapped_column(DateTime)
    check_out: Mapped[datetime | None] = mapped_column(DateTime)
    shift: Mapped[str | None] = mapped_column(String(16))
    source: Mapped[str] = mapped_column(String(16), default="punch")
    ruleset: Mapped[str] = mapped_column(String(120))
    computed_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class PeriodLock(Base):
    """A locked month (first day) of a site and its units, or of every site when site_id is
    NULL. `figures_sha256` is the hash of exactly what was shown and frozen (daily_status
    and recap_rows of the period); `summary` the counts the approver confirmed."""

    __tablename__ = "period_locks"
    __table_args__ = (UniqueConstraint("site_id", "month"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    site_id: Mapped[int | None] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"))
    month: Mapped[date] = mapped_column(Date)
    locked_by: Mapped[str] = mapped_column(String(100))
    locked_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    reason: Mapped[str] = mapped_column(Text, default="")
    figures_sha256: Mapped[str | None] = mapped_column(String(64))
    summary: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class RecapRow(Base):
    """One employee's monthly recap (asn-rules.md §7) as frozen by a period lock: a locked
    month shows and exports these, whatever changed since (pagu, name, rules, punches)."""

    __tablename__ = "recap_rows"
    __table_args__ = (UniqueConstraint("month", "employee_id"),
                      Index("ix_recap_rows_month_site", "month", "site_id"))
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    month: Mapped[date] = mapped_column(Date)
    # The lock that froze it: unlocking deletes the lock, and with it what it froze.
    lock_id: Mapped[int | None] = mapped_column(ForeignKey("period_locks.id", ondelete="CASCADE"))
    employee_id: Mapped[int] = mapped_column(ForeignKey("employees.id", ondelete="CASCADE"))
    site_id: Mapped[int | None] = mapped_column(Integer)
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    built_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class NoDataDecision(Base):
    """A reviewer's decision for one terminal and day without data: everyone whose
    terminals held nothing that day is `present` (the terminal was down; manual list) or
    `absent` (the terminal worked; the absence stands). `terminal` is "dev:<id>", or
    "site:<id>" for an office without a terminal."""

    __tablename__ = "nodata_decisions"
    __table_args__ = (UniqueConstraint("terminal", "day"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    terminal: Mapped[str] = mapped_column(String(32))
    day: Mapped[date] = mapped_column(Date)
    decision: Mapped[str] = mapped_column(String(16))  # present | absent
    reason: Mapped[str] = mapped_column(Text)
    decided_by: Mapped[str] = mapped_column(String(100))
    decided_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class PunchReview(Base):
    """A reviewer's decision on a quarantined punch (drifted clock, photo mismatch, outside
    the geofence): `accepted` counts it, `rejected` never does. The raw punch is untouched."""

    __tablename__ = "punch_reviews"
    __table_args__ = (UniqueConstraint("punch_id"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    punch_id: Mapped[int] = mapped_column(ForeignKey("raw_punches.id", ondelete="CASCADE"))
    decision: Mapped[str] = mapped_column(String(16))  # accepted | rejected
    reason: Mapped[str] = mapped_column(Text)
    decided_by: Mapped[str] = mapped_column(String(100))
    decided_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
