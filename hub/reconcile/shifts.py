"""Shift rosters: who works which shift on which day (set directly, or imported from CSV)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.i18n import tr
from hub.reconcile.changes import audit, employee
from hub.reconcile.errors import ReconcileError
from hub.reconcile.locks import refuse_if_frozen
from hub.reconcile.models import ShiftRoster
from hub.reconcile.ruleset_store import RulesResolver
from hub.store.models import Employee


def set_roster(session: Session, entries: Iterable[tuple[int, date, str]], actor: str = "system") -> int:
    """Put (employee, day, shift) rows into the roster, replacing that day's shift."""
    n = 0
    for employee_id, day, shift in entries:
        refuse_if_frozen(session, employee(session, employee_id), [day], tr("roster shift", "shift roster"))
        row = session.scalar(select(ShiftRoster).where(ShiftRoster.employee_id == employee_id,
                                                       ShiftRoster.day == day))
        if row is None:
            session.add(ShiftRoster(employee_id=employee_id, day=day, shift=shift))
        else:
            row.shift = shift
        n += 1
    audit(session, actor, "roster.set", "shift_roster", None, rows=n)
    return n


def parse_roster_csv(text: str) -> list[tuple[int, str, date, str]]:
    """'nip,tanggal,shift' rows (header optional) -> (line, nip, day, shift); errors name the line."""
    import csv
    import io

    out: list[tuple[int, str, date, str]] = []
    reader = csv.reader(io.StringIO(text, newline=""))
    parsed = []
    try:
        for row in reader:
            parsed.append(row)
    except csv.Error as exc:
        raise ReconcileError(tr(f"baris {reader.line_num}: CSV tidak sah: {exc}",
                                f"line {reader.line_num}: invalid CSV: {exc}")) from None
    for line_no, row in enumerate(parsed, 1):
        cells = [c.strip() for c in row]
        if not any(cells) or (line_no == 1 and cells and cells[0].lower() in ("nip", "id_number", "pegawai")):
            continue
        if len(cells) != 3:
            raise ReconcileError(tr(f"baris {line_no}: harus 3 kolom nip,tanggal,shift (ada {len(cells)})",
                                    f"line {line_no}: needs 3 columns nip,date,shift (got {len(cells)})"))
        nip, day_text, shift = cells
        try:
            day = date.fromisoformat(day_text)
        except ValueError:
            raise ReconcileError(tr(f"baris {line_no}: tanggal '{day_text}' tidak sah; gunakan YYYY-MM-DD",
                                    f"line {line_no}: date '{day_text}' is not valid; use YYYY-MM-DD")) from None
        if not nip or not shift or len(shift) > 16 or len(nip) > 32:
            raise ReconcileError(tr(f"baris {line_no}: nip dan kode shift (maks. 16 karakter) wajib diisi",
                                    f"line {line_no}: nip and a shift code (max 16 characters) are required"))
        out.append((line_no, nip, day, shift.upper()))
    return out


def import_roster(session: Session, text: str, actor: str = "system") -> int:
    """Store a roster CSV; every shift code must exist in the ruleset of the employee's office."""
    rows = parse_roster_csv(text)
    emps = {e.id_number: e for e in session.scalars(
        select(Employee).where(Employee.id_number.in_({nip for _, nip, _, _ in rows} or {""})))}
    resolver = RulesResolver(session)
    entries = []
    for line_no, nip, day, shift in rows:
        emp = emps.get(nip)
        if emp is None:
            raise ReconcileError(tr(f"baris {line_no}: pegawai '{nip}' tidak ditemukan",
                                    f"line {line_no}: employee '{nip}' not found"))
        rs = resolver(emp.site_id, day)
        if shift not in rs.shifts:
            raise ReconcileError(tr(
                f"baris {line_no}: shift '{shift}' tidak ada di ruleset {rs.label}; pilih "
                f"{', '.join(rs.shifts) or '(ruleset tanpa shift)'}",
                f"line {line_no}: shift '{shift}' is not in ruleset {rs.label}; choose "
                f"{', '.join(rs.shifts) or '(no shifts in this ruleset)'}"))
        entries.append((emp.id, day, shift))
    return set_roster(session, entries, actor)
