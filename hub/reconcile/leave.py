"""Leave and duty letters (cuti, izin, sakit, DL): entered for a date range, checked against
the employee's ruleset, refused in a frozen month, audited."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.i18n import tr
from hub.reconcile.changes import audit, employee
from hub.reconcile.errors import ReconcileError
from hub.reconcile.locks import refuse_if_frozen
from hub.reconcile.models import LeaveEntry
from hub.reconcile.ruleset_store import rules_of


def add_leave(session: Session, *, employee_id: int, start: date, end: date, type: str,
              author: str, reference: str = "", note: str = "") -> LeaveEntry:
    emp = employee(session, employee_id)
    code = (type or "").upper()
    if end < start:
        raise ReconcileError(tr("tanggal akhir sebelum tanggal mulai", "the end date is before the start date"))
    if (end - start).days > 366:
        raise ReconcileError(tr("rentang cuti lebih dari setahun; catat per tahun",
                                "the leave spans more than a year; record it a year at a time"))
    rs = rules_of(session, emp, start)
    if code not in rs.leave:
        raise ReconcileError(tr(f"jenis cuti/izin '{type}' tidak dikenal di {rs.label}; pilih {', '.join(rs.leave)}",
                                f"unknown leave type '{type}' in {rs.label}; choose {', '.join(rs.leave)}"))
    refuse_if_frozen(session, emp, [start + timedelta(days=i) for i in range((end - start).days + 1)],
                     tr("cuti/izin", "leave"))
    entry = LeaveEntry(employee_id=employee_id, date_from=start, date_to=end, type=code,
                       reference=reference, note=note, author=author, approval="approved",
                       approved_by=author)
    session.add(entry)
    session.flush()
    audit(session, author, "leave.add", "leave", entry.id, employee_id=employee_id,
           start=start.isoformat(), end=end.isoformat(), type=code, reference=reference)
    return entry


def list_leave(session: Session, *, employee_id: int | None = None, start: date | None = None,
               end: date | None = None) -> list[LeaveEntry]:
    q = select(LeaveEntry)
    if employee_id is not None:
        q = q.where(LeaveEntry.employee_id == employee_id)
    if start:
        q = q.where(LeaveEntry.date_to >= start)
    if end:
        q = q.where(LeaveEntry.date_from <= end)
    return list(session.scalars(q.order_by(LeaveEntry.date_from, LeaveEntry.id)))
