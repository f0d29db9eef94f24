"""Typed SQLAlchemy 2 models of the store.

Times: `*_at` columns are naive UTC instants; `local_time` is the device's naive wall clock
and always travels with `tz` (an IANA zone) and `utc_time`.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from hub.times import utcnow  # the column default; parts import it from here too

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# BIGINT ids on PostgreSQL, but INTEGER on SQLite so that it stays the rowid alias.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Site(Base):
    """An office (OPD) or one of its units (bidang, UPTD, sekolah, puskesmas), nested."""

    __tablename__ = "sites"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("sites.id", ondelete="RESTRICT"))
    kind: Mapped[str] = mapped_column(String(32), default="opd")
    tz: Mapped[str] = mapped_column(String(64), default="Asia/Jakarta")
    latitude: Mapped[float | None]
    longitude: Mapped[float | None]
    geofence_m: Mapped[int | None] = mapped_column(Integer)
    # The first day the office's attendance counts (its units inherit it): days before it
    # are not judged at all. NULL: judged from the start of any period asked for.
    go_live: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    parent: Mapped[Site | None] = relationship(remote_side=[id])


class Device(Base):
    __tablename__ = "devices"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    serial: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    site_id: Mapped[int | None] = mapped_column(ForeignKey("sites.id", ondelete="SET NULL"))
    kind: Mapped[str] = mapped_column(String(32))
    host: Mapped[str | None] = mapped_column(String(255))
    port: Mapped[int | None] = mapped_column(Integer)
    serial_line: Mapped[str | None] = mapped_column(String(255))
    baud: Mapped[int | None] = mapped_column(Integer)
    # Fernet token of the comm key (decimal digits); never shown or logged.
    comm_key_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    # Fernet token of "username\npassword" for terminals that sign in (ISAPI Digest)
    login_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    tz: Mapped[str] = mapped_column(String(64), default="Asia/Jakarta")
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    pin_group: Mapped[str] = mapped_column(String(64), default="default")
    capabilities: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(32), default="active")
    last_seen_at: Mapped[datetime | None] = mapped_column(DateTime)
    last_clock_offset_s: Mapped[float | None]
    last_record_count: Mapped[int | None] = mapped_column(Integer)
    last_newest_local: Mapped[datetime | None] = mapped_column(DateTime)
    # the newest event sequence number read (ISAPI serialNo): the next pull reads after it
    last_seq: Mapped[int | None] = mapped_column(BigInteger)
    last_error: Mapped[str | None] = mapped_column(Text)
    # health (hub.fleet.health): consecutive failures, since when, the live listener's
    # current wait before reconnecting, and when it last came back
    failures: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    failing_since: Mapped[datetime | None] = mapped_column(DateTime)
    backoff_s: Mapped[float | None]
    recovered_at: Mapped[datetime | None] = mapped_column(DateTime)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    site: Mapped[Site | None] = relationship()


class DeviceOutage(Base):
    """A span (device wall clock) in which a terminal's log is known to be incomplete: it
    was offline, its log was cleared before everything was pulled, or IT says so. Days it
    touches count as days without data from that terminal (no absence without evidence)."""

    __tablename__ = "device_outages"
    __table_args__ = (Index("ix_device_outages_device_start", "device_id", "start_local"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    device_id: Mapped[int] = mapped_column(ForeignKey("devices.id", ondelete="CASCADE"))
    start_local: Mapped[datetime] = mapped_column(DateTime)
    end_local: Mapped[datetime | None] = mapped_column(DateTime)  # NULL: still going on
    kind: Mapped[str] = mapped_column(String(16))  # offline | cleared | manual
    note: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[str] = mapped_column(String(100), default="system")
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class DeviceRequest(Base):
    """Work on a terminal asked of the running hub by another process (the CLI): the hub
    that holds the terminals' sessions does it, so no second session is opened
    (hub.tasks.requests)."""

    __tablename__ = "device_requests"
    __table_args__ = (Index("ix_device_requests_status", "status", "id"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    device_id: Mapped[int] = mapped_column(ForeignKey("devices.id", ondelete="CASCADE"))
    action: Mapped[str] = mapped_column(String(16))  # pull | sync_time | harvest | sync
    full: Mapped[bool] = mapped_column(Boolean, default=False)
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    requested_by: Mapped[str] = mapped_column(String(100))
    requested_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    taken_at: Mapped[datetime | None] = mapped_column(DateTime)
    done_at: Mapped[datetime | None] = mapped_column(DateTime)
    status: Mapped[str] = mapped_column(String(16), default="queued")  # queued running done cancelled
    result: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class Employee(Base):
    __tablename__ = "employees"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # NIP (PNS/CPNS), NI PPPK, or an internal code for non-ASN staff: unique together with kind.
    id_number: Mapped[str] = mapped_column(String(32), unique=True)
    employment_type: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(200))
    position: Mapped[str | None] = mapped_column(String(200))
    grade: Mapped[str | None] = mapped_column(String(32))
    site_id: Mapped[int | None] = mapped_column(ForeignKey("sites.id", ondelete="SET NULL"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    joined_on: Mapped[date | None] = mapped_column(Date)
    left_on: Mapped[date | None] = mapped_column(Date)
    monthly_tpp: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)

    site: Mapped[Site | None] = relationship()
    extra_sites: Mapped[list[EmployeeSite]] = relationship(
        back_populates="employee", cascade="all, delete-orphan"
    )


class EmployeeSite(Base):
    """Extra offices an employee belongs to (e.g. a teacher at two schools)."""

    __tablename__ = "employee_sites"
    __table_args__ = (UniqueConstraint("employee_id", "site_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    employee_id: Mapped[int] = mapped_column(ForeignKey("employees.id", ondelete="CASCADE"))
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"))
    valid_from: Mapped[date | None] = mapped_column(Date)
    valid_to: Mapped[date | None] = mapped_column(Date)

    employee: Mapped[Employee] = relationship(back_populates="extra_sites")


class PinMapping(Base):
    """Which PIN a device (or a group of devices) knows an employee by.

    Exactly one of device_id / pin_group is set. A PIN once given to a person is never
    reused for another (valid_to closes a mapping, the row stays).
    """

    __tablename__ = "pin_mappings"
    __table_args__ = (
        UniqueConstraint("pin_group", "pin"),
        UniqueConstraint("device_id", "pin"),
        Index("ix_pin_mappings_employee", "employee_id"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    employee_id: Mapped[int] = mapped_column(ForeignKey("employees.id", ondelete="CASCADE"))
    pin: Mapped[str] = mapped_column(String(32))
    device_id: Mapped[int | None] = mapped_column(ForeignKey("devices.id", ondelete="CASCADE"))
    pin_group: Mapped[str | None] = mapped_column(String(64))
    valid_from: Mapped[date | None] = mapped_column(Date)
    valid_to: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class IngestRun(Base):
    """One pull, push session or import: what it saw and what it added."""

    __tablename__ = "ingest_runs"
    __table_args__ = (Index("ix_ingest_runs_device_started", "device_id", "started_at"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    device_id: Mapped[int | None] = mapped_column(ForeignKey("devices.id", ondelete="SET NULL"))
    source: Mapped[str] = mapped_column(String(16))
    kind: Mapped[str] = mapped_column(String(16), default="pull")
    started_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime)
    status: Mapped[str] = mapped_column(String(16), default="running")
    records_seen: Mapped[int] = mapped_column(Integer, default=0)
    new: Mapped[int] = mapped_column(Integer, default=0)
    duplicate: Mapped[int] = mapped_column(Integer, default=0)
    seconds: Mapped[float | None]
    error: Mapped[str | None] = mapped_column(Text)
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


# On PostgreSQL these references of raw_punches are kept by statement-level triggers
# (migration 0009): per-row key checks were most of a bulk ingest's cost there. The model
# keeps them as keys, so the ORM orders its writes by them; schema comparison skips them.
# Since raw_punches is partitioned by month there (migration 0028), the keys that point at a
# punch are triggers too: a partitioned table's unique keys must hold its month.
TRIGGER_KEPT_KEYS = frozenset({"fk_raw_punches_device_id_devices",
                               "fk_raw_punches_employee_id_employees",
                               "fk_raw_punches_ingest_run_id_ingest_runs",
                               "fk_corrections_punch_id_raw_punches",
                               "fk_face_reviews_punch_id_raw_punches",
                               "fk_mobile_selfies_punch_id_raw_punches",
                               "fk_punch_reviews_punch_id_raw_punches"})


class RawPunch(Base):
    """The canonical punch (DESIGN.md), verbatim and immutable once stored."""

    __tablename__ = "raw_punches"
    __table_args__ = (
        # The identity, ordered so a terminal's log (oldest first) appends at the right
        # edge of its device's range and "device between times" is one index range.
        UniqueConstraint("device_id", "local_time", "pin", "state", "verify",
                         name="uq_raw_punches_identity"),
        # Reviews, recaps and reconcile read an employee's punches by local day.
        Index("ix_raw_punches_employee_local", "employee_id", "local_time"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    device_id: Mapped[int] = mapped_column(ForeignKey("devices.id", ondelete="RESTRICT"))
    source: Mapped[str] = mapped_column(String(16))
    pin: Mapped[str] = mapped_column(String(32))
    employee_id: Mapped[int | None] = mapped_column(
        ForeignKey("employees.id", ondelete="SET NULL"))
    local_time: Mapped[datetime] = mapped_column(DateTime)
    tz: Mapped[str] = mapped_column(String(64))
    utc_time: Mapped[datetime] = mapped_column(DateTime)
    state: Mapped[str] = mapped_column(String(16))
    verify: Mapped[str] = mapped_column(String(16))
    work_code: Mapped[str | None] = mapped_column(String(32))
    # Kept, not part of the identity: a terminal that is reset starts its sequence
    # again, and keying on it would drop new punches. The identity absorbs resends.
    device_seq: Mapped[int | None] = mapped_column(BigInteger)
    raw: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    received_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    ingest_run_id: Mapped[int | None] = mapped_column(
        ForeignKey("ingest_runs.id", ondelete="SET NULL"))
    flags: Mapped[int] = mapped_column(Integer, default=0)


class DeviceEvent(Base):
    """An event of a terminal's log that is not a punch (a face it did not know, a door
    alarm, an operation): kept verbatim for the record, never counted as attendance."""

    __tablename__ = "device_events"
    __table_args__ = (UniqueConstraint("device_id", "seq", "at_utc", name="uq_device_events_identity"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    device_id: Mapped[int] = mapped_column(ForeignKey("devices.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(BigInteger)
    major: Mapped[int] = mapped_column(Integer)
    minor: Mapped[int] = mapped_column(Integer)
    at_utc: Mapped[datetime] = mapped_column(DateTime)
    local_time: Mapped[datetime] = mapped_column(DateTime)
    employee_no: Mapped[str | None] = mapped_column(String(32))
    raw: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    received_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    ingest_run_id: Mapped[int | None] = mapped_column(ForeignKey("ingest_runs.id", ondelete="SET NULL"))


class Template(Base):
    """A biometric template (fingerprint or face), encrypted at rest."""

    __tablename__ = "templates"
    __table_args__ = (
        UniqueConstraint("employee_id", "kind", "finger_index", "format"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    employee_id: Mapped[int] = mapped_column(ForeignKey("employees.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))  # fingerprint | face
    finger_index: Mapped[int] = mapped_column(Integer, default=0)
    format: Mapped[str] = mapped_column(String(32))  # zk-fp10, zk-face7, dlib128, jpeg …
    version: Mapped[str | None] = mapped_column(String(16))
    valid_flag: Mapped[int] = mapped_column(Integer, default=1)
    blob_enc: Mapped[bytes] = mapped_column(LargeBinary)
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)
    source_device_id: Mapped[int | None] = mapped_column(
        ForeignKey("devices.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)


class Correction(Base):
    """A change to what reconciliation sees: add or void a punch, or set a day's status.

    Raw punches are never modified; a correction is its own row with who, when and why,
    and only takes effect once approved.
    """

    __tablename__ = "corrections"
    __table_args__ = (Index("ix_corrections_employee_day", "employee_id", "day"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    employee_id: Mapped[int] = mapped_column(ForeignKey("employees.id", ondelete="CASCADE"))
    day: Mapped[date] = mapped_column(Date)
    kind: Mapped[str] = mapped_column(String(16))  # add_punch | void_punch | set_status
    punch_id: Mapped[int | None] = mapped_column(
        ForeignKey("raw_punches.id", ondelete="RESTRICT"))
    local_time: Mapped[datetime | None] = mapped_column(DateTime)
    state: Mapped[str | None] = mapped_column(String(16))
    status: Mapped[str | None] = mapped_column(String(32))
    reason: Mapped[str] = mapped_column(Text)
    author: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    approval: Mapped[str] = mapped_column(String(16), default="pending")
    approved_by: Mapped[str | None] = mapped_column(String(100))
    approved_at: Mapped[datetime | None] = mapped_column(DateTime)


class AuditLog(Base):
    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_entity", "entity", "entity_id"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    actor: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(64))
    entity: Mapped[str] = mapped_column(String(64))
    entity_id: Mapped[str | None] = mapped_column(String(64))
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # the office it concerns (hub.store.audit_office), so the log can be read per office
    site_id: Mapped[int | None] = mapped_column(Integer, index=True)


# --- scheduler (hub/scheduler) -----------------------------------------------------------


class JobRun(Base):
    """One run of a scheduled job (pull, clock check, roster sync, reconcile, recap)."""

    __tablename__ = "job_runs"
    __table_args__ = (Index("ix_job_runs_job_started", "job", "started_at"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    job: Mapped[str] = mapped_column(String(64))
    started_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime)
    status: Mapped[str] = mapped_column(String(16), default="running")
    host: Mapped[str] = mapped_column(String(128), default="")
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
