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
from hub.store.models import utcnow


class AlreadyDecided(ReconcileError):
    """The request was decided before (by someone else, or a second click)."""


def add_leave(session: Session, *, employee_id: int, start: date, end: date, type: str,
              author: str, reference: str = "", note: str = "", pending: bool = False) -> LeaveEntry:
    """A leave entry; a `pending` one (asked by the employee from the phone) counts only
    once an approver approves it (decide_leave)."""
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
                       reference=reference, note=note, author=author,
                       approval="pending" if pending else "approved", approved_by=None if pending else author)
    session.add(entry)
    session.flush()
    audit(session, author, "leave.request" if pending else "leave.add", "leave", entry.id, employee_id=employee_id,
          start=start.isoformat(), end=end.isoformat(), type=code, reference=reference)
    return entry


def decide_leave(session: Session, leave_id: int, decision: str, actor: str, note: str = "") -> LeaveEntry:
    """An approver's answer to a leave request: approved (it counts from now on) or
    rejected (with the reason the employee reads in the app)."""
    entry = session.get(LeaveEntry, leave_id)
    if entry is None:
        raise ReconcileError(tr(f"permohonan #{leave_id} tidak ditemukan", f"request #{leave_id} not found"))
    if entry.approval != "pending":
        raise AlreadyDecided(tr(f"permohonan #{leave_id} sudah diputuskan ({entry.approval})",
                                f"request #{leave_id} was already decided ({entry.approval})"))
    if decision not in ("approve", "reject"):
        raise ReconcileError(tr(f"keputusan '{decision}' tidak dikenal; pilih approve atau reject",
                                f"unknown decision '{decision}'; choose approve or reject"))
    note = note.strip()
    if decision == "reject" and not note:
        raise ReconcileError(tr("tulis alasan penolakan; pegawai membacanya di aplikasi",
                                "give the reason for the rejection; the employee reads it in the app"))
    if decision == "approve":
        days = [entry.date_from + timedelta(days=i) for i in range((entry.date_to - entry.date_from).days + 1)]
        refuse_if_frozen(session, employee(session, entry.employee_id), days, tr("cuti/izin", "leave"))
    entry.approval = "approved" if decision == "approve" else "rejected"
    entry.approved_by, entry.decided_at, entry.decision_note = actor, utcnow(), note[:2000]
    session.flush()
    audit(session, actor, f"leave.{decision}", "leave", entry.id, employee_id=entry.employee_id, note=note[:200])
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
