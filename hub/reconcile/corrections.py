"""Corrections: proposed by one reviewer, approved or rejected by another, each audited; a
frozen month (hub.reconcile.locks) refuses them until it is unlocked with a reason."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.i18n import tr
from hub.reconcile.changes import audit, employee
from hub.reconcile.errors import ReconcileError
from hub.reconcile.locks import refuse_if_frozen
from hub.reconcile.ruleset_store import rules_of, valid_status_codes
from hub.store.models import Correction, Employee, RawPunch, utcnow

CORRECTION_KINDS = ("add_punch", "void_punch", "set_status")
PUNCH_STATES = ("check_in", "check_out", "break_out", "break_in")


def _correction_days(session: Session, c: Correction | None, day: date, kind: str, punch_id: int | None,
                     local_time: datetime | None) -> list[date]:
    """Every day whose figures a correction can change: its own day, the added punch's day,
    and the voided punch's day (a void holds whatever day the correction is filed under)."""
    days = [day]
    if kind == "add_punch" and local_time is not None:
        days.append(local_time.date())
    if kind == "void_punch" and punch_id is not None:
        punch = session.get(RawPunch, punch_id)
        if punch is not None:
            days.append(punch.local_time.date())
    return days


def propose_correction(session: Session, *, employee_id: int, day: date, kind: str, reason: str,
                       author: str, punch_id: int | None = None, local_time: datetime | None = None,
                       state: str | None = None, status: str | None = None) -> Correction:
    """A pending correction; it changes nothing until approved by someone else."""
    emp = employee(session, employee_id)
    if kind not in CORRECTION_KINDS:
        raise ReconcileError(tr(f"jenis koreksi '{kind}' tidak dikenal; pilih {', '.join(CORRECTION_KINDS)}",
                                f"unknown correction kind '{kind}'; choose {', '.join(CORRECTION_KINDS)}"))
    if not (reason or "").strip():
        raise ReconcileError(tr("alasan koreksi wajib diisi", "a correction needs a reason"))
    if kind == "add_punch":
        if local_time is None or not (day <= local_time.date() <= day + timedelta(days=1)):
            raise ReconcileError(tr("jam punch tambahan harus pada tanggal itu (atau esoknya untuk shift malam)",
                                    "the added punch must be on that day (or the next for a night shift)"))
        if state not in PUNCH_STATES:
            raise ReconcileError(tr(f"state '{state}' tidak dikenal; pilih {', '.join(PUNCH_STATES)}",
                                    f"unknown state '{state}'; choose {', '.join(PUNCH_STATES)}"))
    elif kind == "void_punch":
        punch = session.get(RawPunch, punch_id) if punch_id is not None else None
        if punch is None or punch.employee_id != employee_id:
            raise ReconcileError(tr(f"punch #{punch_id} bukan milik pegawai #{employee_id}",
                                    f"punch #{punch_id} does not belong to employee #{employee_id}"))
    else:
        status = (status or "").upper()
        codes = valid_status_codes(rules_of(session, emp, day))
        if status not in codes:
            raise ReconcileError(tr(f"status '{status}' tidak dikenal; pilih {', '.join(codes)}",
                                    f"unknown status '{status}'; choose {', '.join(codes)}"))
    refuse_if_frozen(session, emp, _correction_days(session, None, day, kind, punch_id, local_time),
                     tr("koreksi", "correction"))
    c = Correction(employee_id=employee_id, day=day, kind=kind,
                   punch_id=punch_id if kind == "void_punch" else None,
                   local_time=local_time if kind == "add_punch" else None,
                   state=state if kind == "add_punch" else None,
                   status=status if kind == "set_status" else None,
                   reason=reason.strip(), author=author, approval="pending")
    session.add(c)
    session.flush()
    audit(session, author, "correction.propose", "correction", c.id, employee_id=employee_id,
           day=day.isoformat(), kind=kind, reason=c.reason)
    return c


def _decide(session: Session, correction_id: int, actor: str, approval: str, note: str) -> Correction:
    c = session.get(Correction, correction_id)
    if c is None:
        raise ReconcileError(tr(f"koreksi #{correction_id} tidak ditemukan", f"correction #{correction_id} not found"))
    if c.approval != "pending":
        raise ReconcileError(tr(f"koreksi #{c.id} sudah {c.approval}", f"correction #{c.id} is already {c.approval}"))
    if approval == "approved" and c.author == actor:
        raise ReconcileError(tr("pengusul tidak boleh menyetujui koreksinya sendiri",
                                "the author cannot approve their own correction"))
    refuse_if_frozen(session, employee(session, c.employee_id),
                     _correction_days(session, c, c.day, c.kind, c.punch_id, c.local_time), tr("koreksi", "correction"))
    c.approval, c.approved_by, c.approved_at = approval, actor, utcnow()
    audit(session, actor, f"correction.{'approve' if approval == 'approved' else 'reject'}",
           "correction", c.id, employee_id=c.employee_id, day=c.day.isoformat(), note=note)
    return c


def approve_correction(session: Session, correction_id: int, approver: str, note: str = "") -> Correction:
    return _decide(session, correction_id, approver, "approved", note)


def reject_correction(session: Session, correction_id: int, approver: str, note: str = "") -> Correction:
    return _decide(session, correction_id, approver, "rejected", note)


def list_corrections(session: Session, *, approval: str | None = None, site_id: int | None = None,
                     start: date | None = None, end: date | None = None) -> list[Correction]:
    q = select(Correction).join(Employee, Employee.id == Correction.employee_id)
    if approval:
        q = q.where(Correction.approval == approval)
    if site_id is not None:
        q = q.where(Employee.site_id == site_id)
    if start:
        q = q.where(Correction.day >= start)
    if end:
        q = q.where(Correction.day <= end)
    return list(session.scalars(q.order_by(Correction.day, Correction.id)))
