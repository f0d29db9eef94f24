"""What both push channels share: known terminals, pending registrations, storing punches
in one transaction with their ingest run, and the device command queue.

Channel adapters (hub/adapters/adms, hub/adapters/mqtt) only translate wire formats and
call these functions; the database commit happens here, before any acknowledgement.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, func, insert, or_, select, update
from sqlalchemy.orm import Session

from hub import commands
from hub.fleet import health
from hub.i18n import tr
from hub.punch import Punch
from hub.push.models import DeviceCommand, PushRegistration
from hub.secrets import blank_sealed, seal_tree, unseal_tree
from hub.store import runs
from hub.store.ingest import IngestResult
from hub.store.models import AuditLog, Device, utcnow

log = logging.getLogger(__name__)

RESEND_AFTER = timedelta(seconds=60)
DEFAULT_TTL = timedelta(hours=24)


@dataclass(frozen=True)
class KnownDevice:
    id: int
    serial: str
    tz: str
    kind: str


def lookup_device(conn: Connection, serial: str) -> KnownDevice | None:
    row = conn.execute(select(Device.id, Device.serial, Device.tz, Device.kind, Device.enabled)
                       .where(Device.serial == serial)).first()
    if row is None or not row.enabled:
        return None
    return KnownDevice(row.id, row.serial, row.tz, row.kind)


PENDING_PER_HOUR = 50  # new pending registrations accepted per hour (invented serials flood the list)


def hold_unknown(engine: Engine, serial: str, channel: str, info: dict[str, Any]) -> bool:
    """Record (or refresh) the pending registration of a terminal nobody registered yet.
    False when it was not recorded: more than PENDING_PER_HOUR new serials came in the
    last hour (the terminal is told it is unregistered and keeps its data; it is held once
    the flood has passed)."""
    now = utcnow()
    with engine.begin() as conn:
        reg = conn.execute(select(PushRegistration.id, PushRegistration.attempts)
                           .where(PushRegistration.serial == serial)).first()
        if reg is None:
            recent = conn.scalar(select(func.count()).select_from(PushRegistration).where(
                PushRegistration.status == "pending", PushRegistration.first_seen_at > now - timedelta(hours=1)))
            if recent >= PENDING_PER_HOUR:
                log.warning("%s %s not held: %d new pending registrations in the last hour", channel, serial,
                            recent)
                return False
            try:
                with conn.begin_nested():
                    conn.execute(insert(PushRegistration).values(
                        serial=serial, channel=channel, status="pending", first_seen_at=now,
                        last_seen_at=now, attempts=1, info=info))
                return True
            except Exception:  # noqa: BLE001 - another request inserted it first
                reg = conn.execute(select(PushRegistration.id, PushRegistration.attempts)
                                   .where(PushRegistration.serial == serial)).first()
                if reg is None:
                    raise
        values: dict[str, Any] = {"last_seen_at": now, "attempts": reg.attempts + 1}
        if info.get("addr"):  # IT sees where it calls from now, and approval pins that
            old = conn.scalar(select(PushRegistration.info).where(PushRegistration.id == reg.id)) or {}
            if old.get("last_addr") != info["addr"]:
                values["info"] = {**old, "last_addr": info["addr"]}
        conn.execute(update(PushRegistration).where(PushRegistration.id == reg.id).values(**values))
    return True


def approve(session: Session, serial: str, actor: str, site: str | None = None,
            tz: str | None = None, name: str = "", pin_group: str = "default") -> Device:
    """IT accepts a pending terminal: it becomes a registered device of its channel's kind.
    (An ADMS terminal is then pinned to its address: hub.adapters.adms.trust.pin_at_approval.)"""
    from hub.fleet.registry import DeviceSpec, RegistryError, add_device

    reg = session.scalar(select(PushRegistration).where(PushRegistration.serial == serial))
    if reg is None:
        raise RegistryError(tr(f"tidak ada pendaftaran tertunda untuk {serial} "
                               "(lihat `hub push pending`)",
                               f"no pending registration for {serial} (see `hub push pending`)"))
    if reg.status == "approved":
        raise RegistryError(tr(f"{serial} sudah disetujui", f"{serial} is already approved"))
    tz = tz or (reg.info or {}).get("tz") or "Asia/Jakarta"
    device = add_device(session, DeviceSpec(serial=serial, kind=reg.channel, name=name,
                                            site=site, tz=tz, pin_group=pin_group))
    reg.status, reg.decided_by, reg.decided_at = "approved", actor, utcnow()
    session.add(AuditLog(actor=actor, action="push.approve", entity="device",
                         entity_id=str(device.id),
                         details={"serial": serial, "channel": reg.channel, "tz": tz}))
    return device


def store_punches(engine: Engine, device: KnownDevice, source: str, punches: list[Punch],
                  details: dict[str, Any] | None = None,
                  extra: Any = None) -> IngestResult:
    """One transaction: ingest run + punches (+ `extra(conn)`); committed when it returns."""
    with engine.begin() as conn:
        result = store_in(conn, device, source, punches, details)
        if extra is not None:
            extra(conn)
    return result


def store_in(conn: Connection, device: KnownDevice, source: str, punches: list[Punch],
             details: dict[str, Any] | None = None) -> IngestResult:
    """Ingest run + punches inside the caller's transaction (the caller commits)."""
    result = runs.record(conn, device.id, source, "push", punches, details)
    health.succeeded(conn, device.id)
    return result


def note_capabilities(conn: Connection, device_id: int, found: dict[str, Any]) -> None:
    """Merge what a terminal reported about itself into its capabilities."""
    caps = conn.scalar(select(Device.capabilities).where(Device.id == device_id)) or {}
    conn.execute(update(Device).where(Device.id == device_id).values(capabilities={**caps, **found}))


def touch(engine: Engine, device_id: int) -> None:
    with engine.begin() as conn:
        health.succeeded(conn, device_id)


# --- command queue ------------------------------------------------------------------------


def enqueue(session: Session, device: Device, op: str, data: dict[str, Any], actor: str,
            ttl: timedelta = DEFAULT_TTL, sync: dict[str, Any] | None = None) -> DeviceCommand:
    """Queue a command of the hub's vocabulary (hub.commands); the channel follows the
    device's kind, and an op the channel cannot carry is refused before it is queued."""
    channel = commands.channel_of(device.kind, device.serial)
    commands.check(channel, op)
    now = utcnow()
    # photos, templates, cards and passwords rest encrypted, and are blanked once confirmed
    cmd = DeviceCommand(device_id=device.id, channel=channel, op=op, payload=seal_tree(data, SEALED_KEYS),
                        status="queued", attempts=0, created_at=now, expires_at=now + ttl,
                        created_by=actor, sync=sync)
    session.add(cmd)
    session.flush()
    session.add(AuditLog(actor=actor, action="command.queue", entity="device_command",
                         entity_id=str(cmd.id), details={"device": device.serial, "op": op}))
    return cmd


SEALED_KEYS = frozenset({"b64", "data_b64", "card", "password", "passwd"})


@dataclass
class DueCommand:
    id: int
    op: str
    payload: dict[str, Any]
    created_at: datetime
    expires_at: datetime
    attempts: int


def take_due(conn: Connection, device_id: int, resend_after: timedelta = RESEND_AFTER,
             limit: int = 50) -> list[DeviceCommand | Any]:
    """Commands to deliver now (queued, or sent without result for a while); marks them sent.

    Expired ones are marked expired instead of being delivered.
    """
    now = utcnow()
    conn.execute(update(DeviceCommand).where(
        DeviceCommand.device_id == device_id,
        DeviceCommand.status.in_(("queued", "sent")),
        DeviceCommand.expires_at < now).values(status="expired", done_at=now))
    rows = conn.execute(select(DeviceCommand.id, DeviceCommand.op, DeviceCommand.payload,
                               DeviceCommand.created_at, DeviceCommand.expires_at,
                               DeviceCommand.attempts)
                        .where(DeviceCommand.device_id == device_id,
                               or_(DeviceCommand.status == "queued",
                                   (DeviceCommand.status == "sent")
                                   & (DeviceCommand.sent_at < now - resend_after)))
                        .order_by(DeviceCommand.id).limit(limit)).all()
    taken = []
    for r in rows:
        # Conditional: a result recorded meanwhile must not be turned back into "sent".
        if conn.execute(update(DeviceCommand).where(
                DeviceCommand.id == r.id, DeviceCommand.status.in_(("queued", "sent"))).values(
                status="sent", sent_at=now, attempts=r.attempts + 1)).rowcount:
            taken.append(DueCommand(r.id, r.op, unseal_tree(r.payload), r.created_at, r.expires_at, r.attempts))
    return taken


def record_result(conn: Connection, device_id: int, cmd_id: int, ok: bool,
                  result: dict[str, Any]) -> bool:
    """Store a command's result once; a second result for the same id changes nothing."""
    now = utcnow()
    values: dict[str, Any] = {"status": "done" if ok else "failed", "result": result, "done_at": now}
    if ok:  # delivered and confirmed: the secrets it carried are no longer needed here
        payload = conn.scalar(select(DeviceCommand.payload).where(DeviceCommand.id == cmd_id))
        if payload is not None:
            values["payload"] = blank_sealed(payload)
    # Only a delivered command can have a result: one for a command never sent is forged.
    changed = conn.execute(update(DeviceCommand).where(
        DeviceCommand.id == cmd_id, DeviceCommand.device_id == device_id,
        DeviceCommand.status == "sent").values(**values)).rowcount
    return bool(changed)


def parse_command_id(value: str) -> int | None:
    """Wire id (`c-<n>` over MQTT, `<n>` over ADMS) -> row id, or None when not ours."""
    value = value.removeprefix("c-")
    return int(value) if value.isdigit() and len(value) < 19 else None


def now_utc() -> datetime:
    return utcnow()
