"""Harvest fingerprint templates from a terminal where people enrolled: the hub's one copy
of enrolments made at terminals (`hub sync harvest`, `hub pull --backup-templates`).

Reads users and templates over the terminal's one line (hub.adapters.zk.sessions: the
held live session when there is one), maps each user's PIN to an employee through the PIN
mappings, and stores each template encrypted (Template kind=fingerprint, one per employee,
finger and format; a re-enrolment replaces it). The terminal's copies are recorded in its
confirmed state, so sync does not send them back to it. Templates of PINs that map to
nobody are counted and listed, never stored (templates belong to employees); they stay on
the terminal.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.adapters.zk.coordinator import Target, default_client
from hub.adapters.zk.sessions import SESSIONS
from hub.config import get_settings
from hub.secrets import encrypt
from hub.store.ingest import PinResolver
from hub.store.models import Device, Template, utcnow
from hub.sync.models import DeviceRosterTemplate
from hub.sync.plan import fingerprint_format


@dataclass
class HarvestResult:
    users: int = 0
    seen: int = 0
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    unknown_pins: list[str] = field(default_factory=list)

    @property
    def unknown_pin(self) -> int:
        return len(self.unknown_pins)


def harvest_templates(session: Session, device: Device, client_factory=default_client) -> HarvestResult:  # noqa: ANN001
    """Raises hub.adapters.zk.client.ZkClientError when the terminal cannot be reached."""
    res = HarvestResult()
    with SESSIONS.session(Target.of(device), get_settings().pull, client_factory) as client:
        users, _size = client.read_users()
        fingers = client.read_templates() if users else []
    res.users = len(users)
    known = PinResolver.of_device(session.connection(), device.id)
    uid_pin = {u.uid: u.user_id for u in users}
    fmt = fingerprint_format(device)
    now = utcnow()
    for f in fingers:
        res.seen += 1
        pin = uid_pin.get(f.uid, str(f.uid))
        emp = known.get(pin)
        if emp is None:
            res.unknown_pins.append(pin)
            continue
        blob = bytes(f.template)
        sha = hashlib.sha256(blob).hexdigest()
        row = session.scalar(select(Template).where(Template.employee_id == emp, Template.kind == "fingerprint",
                                                    Template.finger_index == int(f.fid), Template.format == fmt))
        if row is None:
            session.add(Template(employee_id=emp, kind="fingerprint", finger_index=int(f.fid), format=fmt,
                                 valid_flag=int(f.valid) or 1, blob_enc=encrypt(blob), sha256=sha, size=len(blob),
                                 source_device_id=device.id))
            res.new += 1
        elif row.sha256 != sha:  # re-enrolled: the newest harvest wins
            row.blob_enc, row.sha256, row.size, row.source_device_id = encrypt(blob), sha, len(blob), device.id
            row.valid_flag = int(f.valid) or 1
            row.updated_at = now
            res.updated += 1
        else:
            res.unchanged += 1
        st = session.scalar(select(DeviceRosterTemplate).where(
            DeviceRosterTemplate.device_id == device.id, DeviceRosterTemplate.pin == pin,
            DeviceRosterTemplate.kind == "fingerprint", DeviceRosterTemplate.finger_index == int(f.fid)))
        if st is None:
            session.add(DeviceRosterTemplate(device_id=device.id, pin=pin, kind="fingerprint",
                                             finger_index=int(f.fid), sha256=sha, confirmed_at=now))
        else:
            st.sha256, st.confirmed_at = sha, now
    session.flush()
    return res
