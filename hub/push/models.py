"""Tables of the push channels (MQTT and ADMS): commands, pending terminals, stamps, photos.

Gathered with every other table in hub/schema.py (Alembic's one metadata).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
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

COMMAND_STATUSES = ("queued", "sent", "done", "failed", "expired")


class DeviceCommand(Base):
    """A command for one terminal, delivered over MQTT or as an ADMS getrequest reply.

    The row id is the command's id on the wire, so a second delivery carries the same id:
    the terminal runs it once and the hub records its result once.
    """

    __tablename__ = "device_commands"
    __table_args__ = (Index("ix_device_commands_device_status", "device_id", "status"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    device_id: Mapped[int] = mapped_column(ForeignKey("devices.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(8))  # mqtt | adms
    op: Mapped[str] = mapped_column(String(32))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(16), default="queued")
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime)
    done_at: Mapped[datetime | None] = mapped_column(DateTime)
    expires_at: Mapped[datetime | None] = mapped_column(DateTime)
    created_by: Mapped[str] = mapped_column(String(100), default="")
    # What a roster sync expects this command to change on the terminal (hub.sync.confirm):
    # the terminal's confirmed roster changes only when the result says done; `absorbed_at`
    # marks the result as taken into that state (or, failed/expired, into the retry backoff).
    sync: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    absorbed_at: Mapped[datetime | None] = mapped_column(DateTime)


class PushRegistration(Base):
    """A terminal that pushed but is not registered: held until IT approves it."""

    __tablename__ = "push_registrations"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    serial: Mapped[str] = mapped_column(String(64), unique=True)
    channel: Mapped[str] = mapped_column(String(8))
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending|approved|rejected
    first_seen_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    attempts: Mapped[int] = mapped_column(Integer, default=1)
    info: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    decided_by: Mapped[str | None] = mapped_column(String(100))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime)


class PushStamp(Base):
    """ADMS upload cursor per terminal and table, saved only after the batch committed."""

    __tablename__ = "push_stamps"
    __table_args__ = (UniqueConstraint("device_id", "table_name"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    device_id: Mapped[int] = mapped_column(ForeignKey("devices.id", ondelete="CASCADE"))
    table_name: Mapped[str] = mapped_column(String(16))
    stamp: Mapped[str] = mapped_column(String(32))
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class PushPhoto(Base):
    """A photo a terminal uploaded (ATTPHOTO at punch time, BIOPHOTO for enrolment)."""

    __tablename__ = "push_photos"
    __table_args__ = (UniqueConstraint("device_id", "kind", "file_name", "sha256"),
                      Index("ix_push_photos_kind_checked", "kind", "checked_at"))
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    device_id: Mapped[int] = mapped_column(ForeignKey("devices.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))  # attphoto | biophoto | userpic
    pin: Mapped[str | None] = mapped_column(String(32))
    local_time: Mapped[datetime | None] = mapped_column(DateTime)
    file_name: Mapped[str] = mapped_column(String(200))
    content: Mapped[bytes] = mapped_column(LargeBinary)
    sha256: Mapped[str] = mapped_column(String(64))
    received_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    # ATTPHOTO against the punch's employee (hub.face.punch_photos): match, mismatch,
    # not_enrolled, unknown_pin, no_punch; NULL until checked.
    checked_at: Mapped[datetime | None] = mapped_column(DateTime)
    check_result: Mapped[str | None] = mapped_column(String(16))
    punch_id: Mapped[int | None] = mapped_column(BigInteger)


class PushUserRecord(Base):
    """OPERLOG USER/FP/FACE/BIODATA lines as the terminal sent them (enrolment at the device)."""

    __tablename__ = "push_user_records"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    device_id: Mapped[int] = mapped_column(ForeignKey("devices.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))  # USER | FP | FACE | BIODATA | OPLOG
    pin: Mapped[str | None] = mapped_column(String(32))
    fields: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    note: Mapped[str | None] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class RejectedLine(Base):
    """A line a terminal sent that could not be stored (impossible date, unknown state,
    garbage), kept verbatim, encrypted (an OPERLOG line may carry a template), with the
    reason: the terminal was told "OK" only once it was kept here. A reviewer sees it; after
    a fix it is replayed (`hub push replay`) or dismissed with a reason."""

    __tablename__ = "rejected_lines"
    __table_args__ = (Index("ix_rejected_lines_device_status", "device_id", "status"),
                      Index("ix_rejected_lines_digest", "device_id", "kind", "line_digest"))
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    device_id: Mapped[int] = mapped_column(ForeignKey("devices.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(16))  # adms | mqtt
    kind: Mapped[str] = mapped_column(String(16))  # ATTLOG | OPERLOG | BIODATA
    line_no: Mapped[int] = mapped_column(Integer)
    line_enc: Mapped[bytes] = mapped_column(LargeBinary)
    # hub.secrets.fingerprint of the line: a batch resent after a lost "OK" keeps it once
    line_digest: Mapped[str | None] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(Text)
    stamp: Mapped[str | None] = mapped_column(String(32))
    received_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    status: Mapped[str] = mapped_column(String(16), default="held")  # held | replayed | dismissed
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime)
    resolved_by: Mapped[str | None] = mapped_column(String(100))
    note: Mapped[str | None] = mapped_column(Text)


class PushTrust(Base):
    """How an ADMS terminal proves it is itself (hub.adapters.adms.trust).

    `sources`: the addresses or CIDRs it may connect from (comma separated), learned at
    approval or at its first contact, `*` when IT allows any; a request from elsewhere is
    refused and the address kept in `pending_source` until IT approves it. `path_key_hash`:
    when set, the terminal must use the server path `/d/<key>/iclock/...`. PUSH 3.x firmware
    registers once (`registry_code_enc`, sealed) and then carries a session token derived
    from it on every request.
    """

    __tablename__ = "push_trust"
    device_id: Mapped[int] = mapped_column(ForeignKey("devices.id", ondelete="CASCADE"),
                                           primary_key=True)
    sources: Mapped[str | None] = mapped_column(Text)
    learned_at: Mapped[datetime | None] = mapped_column(DateTime)
    pending_source: Mapped[str | None] = mapped_column(String(64))
    pending_since: Mapped[datetime | None] = mapped_column(DateTime)
    pending_attempts: Mapped[int] = mapped_column(Integer, default=0)
    path_key_hash: Mapped[str | None] = mapped_column(String(64))
    registry_code_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    registered_at: Mapped[datetime | None] = mapped_column(DateTime)
    session_id: Mapped[str | None] = mapped_column(String(64))
    previous_session_id: Mapped[str | None] = mapped_column(String(64))
    session_at: Mapped[datetime | None] = mapped_column(DateTime)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class EdgeRefusal(Base):
    """Requests refused at the terminal edge, counted per channel, serial and reason (the
    serial is empty for serials the hub does not know, so invented ones cannot grow this)."""

    __tablename__ = "edge_refusals"
    __table_args__ = (UniqueConstraint("channel", "serial", "reason"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    serial: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(String(32))
    count: Mapped[int] = mapped_column(BigInteger, default=0)
    first_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    last_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    last_addr: Mapped[str | None] = mapped_column(String(64))
