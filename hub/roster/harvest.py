"""Harvest fingerprint templates from the terminal where an employee enrolled.

Reads users and templates with pyzk, maps each user's PIN to an employee through the PIN
mapping, and stores each template encrypted (Template kind=fingerprint). The terminal's
copies are recorded in its confirmed state, so sync does not send them back to it.
Templates of PINs that map to nobody are counted and left alone.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.fleet.registry import comm_key
from hub.roster.apply import _group_pins
from hub.roster.models import DeviceRosterTemplate
from hub.roster.plan import fingerprint_format
from hub.roster.zkpush import ZkSession
from hub.secrets import encrypt
from hub.store.models import Device, Template, utcnow


@dataclass
class HarvestResult:
    seen: int = 0
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    unknown_pin: int = 0


def harvest_templates(session: Session, device: Device) -> HarvestResult:
    res = HarvestResult()
    with ZkSession(device.host or "", device.port or 4370, device.kind, comm_key(device)) as zs:
        users = zs.users()
        fingers = zs.templates() if users else []
    known = _group_pins(session, device)
    uid_pin = {u.uid: u.user_id for u in users}
    fmt = fingerprint_format(device)
    now = utcnow()
    for f in fingers:
        res.seen += 1
        pin = uid_pin.get(f.uid)
        emp = known.get(pin) if pin is not None else None
        if emp is None:
            res.unknown_pin += 1
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
