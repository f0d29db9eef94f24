"""What every change to the review data shares: the audit record, and the employee it is about."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from hub.i18n import tr
from hub.reconcile.errors import ReconcileError
from hub.store.models import AuditLog, Employee


def audit(session: Session, actor: str, action: str, entity: str, entity_id: Any, **details: Any) -> None:
    session.add(AuditLog(actor=actor, action=action, entity=entity,
                         entity_id=None if entity_id is None else str(entity_id), details=details))


def employee(session: Session, employee_id: int) -> Employee:
    emp = session.get(Employee, employee_id)
    if emp is None:
        raise ReconcileError(tr(f"pegawai #{employee_id} tidak ditemukan", f"employee #{employee_id} not found"))
    return emp
