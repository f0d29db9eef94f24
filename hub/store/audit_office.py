"""Which office an audit record concerns, worked out when it is written, so the auditor can
read the log of one office (and its units). From the thing audited (a terminal, an
employee, an office, a period) or, failing that, from its details (employee, terminal
serial, office code). None when it concerns no office (users, rulesets, the hub itself)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, event, select

from hub.store.models import AuditLog, Device, Employee, Site


def _int(value: Any) -> int | None:
    text = str(value) if value is not None else ""
    return int(text) if text.isdigit() and len(text) < 10 else None


def office_of(conn: Connection, entity: str | None, entity_id: Any, details: dict[str, Any] | None) -> int | None:
    d = details or {}
    ident = _int(entity_id)
    if entity == "site" and ident is not None:
        return ident
    if entity == "period":
        head = str(entity_id or "").split(":", 1)[0]
        return _int(head)
    if entity == "device" and ident is not None:
        return conn.scalar(select(Device.site_id).where(Device.id == ident))
    if entity == "employee" and ident is not None:
        return conn.scalar(select(Employee.site_id).where(Employee.id == ident))
    emp = _int(d.get("employee_id"))
    if emp is not None:
        return conn.scalar(select(Employee.site_id).where(Employee.id == emp))
    serial = d.get("serial") or (entity_id if entity == "device" else None)
    if isinstance(serial, str) and serial:
        return conn.scalar(select(Device.site_id).where(Device.serial == serial[:64]))
    code = d.get("site")
    if isinstance(code, str) and code:
        return conn.scalar(select(Site.id).where(Site.code == code[:64]))
    return None


@event.listens_for(AuditLog, "before_insert")
def _fill_office(_mapper: Any, conn: Connection, target: AuditLog) -> None:
    """Every record added through a session gets its office (hub.store.db imports this
    module, so the listener is in place before anything is written)."""
    if target.site_id is None:
        target.site_id = office_of(conn, target.entity, target.entity_id, target.details)
