"""Backup of enrolments made at a terminal: its fingerprint templates, encrypted at rest.

A template is kept per (employee, finger, format); the terminal's PIN is resolved through
the PIN mappings. Templates of PINs that map to nobody are counted and reported, not
stored (the templates table belongs to employees); they stay on the terminal.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, select

from hub.secrets import encrypt
from hub.store.ingest import PinResolver
from hub.store.models import Template, utcnow


@dataclass
class BackupResult:
    users: int = 0
    templates: int = 0
    stored: int = 0
    unchanged: int = 0
    unknown_pins: list[str] = field(default_factory=list)


def backup_templates(engine: Engine, client: Any, device_id: int) -> BackupResult:
    users, _size = client.read_users()
    by_uid = {u.uid: u.user_id for u in users}
    tpls = client.read_templates()
    fp_version = None
    try:
        fp_version = client.z.get_fp_version()
    except Exception:  # noqa: BLE001 - old units do not answer it
        fp_version = None
    fmt = f"zk-fp{fp_version or 10}"
    res = BackupResult(users=len(users), templates=len(tpls))
    with engine.begin() as conn:
        resolver = PinResolver(conn, [device_id])
        existing = {(r.employee_id, r.finger_index): r for r in conn.execute(
            select(Template.id, Template.employee_id, Template.finger_index, Template.sha256)
            .where(Template.kind == "fingerprint", Template.format == fmt))}
        for t in tpls:
            pin = by_uid.get(t.uid, str(t.uid))
            emp = resolver(device_id, pin)
            if emp is None:
                res.unknown_pins.append(pin)
                continue
            digest = hashlib.sha256(t.template).hexdigest()
            old = existing.get((emp, t.fid))
            if old is not None and old.sha256 == digest:
                res.unchanged += 1
                continue
            values = {"blob_enc": encrypt(t.template), "sha256": digest, "size": len(t.template),
                      "valid_flag": t.valid, "source_device_id": device_id,
                      "updated_at": utcnow()}
            if old is None:
                conn.execute(Template.__table__.insert().values(
                    employee_id=emp, kind="fingerprint", finger_index=t.fid, format=fmt,
                    version=str(fp_version or 10), created_at=utcnow(), **values))
            else:
                conn.execute(Template.__table__.update().where(Template.id == old.id)
                             .values(**values))
            res.stored += 1
    return res
