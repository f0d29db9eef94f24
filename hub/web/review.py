"""Daily statuses, exceptions, corrections, period lock and the monthly recap for the console.

When the reconciler (hub/reconcile) is installed, everything goes through it: its rule
engine judges the days (computed on request, so an approved correction shows at once), its
corrections workflow and its period locks. Without it, the console falls back on its own,
deliberately small reading of the rules (asn-rules.md §1.1, §2.2, §8 defaults), with period
locks kept in the audit log. Both are pure functions of raw punches + approved corrections.
"""

from __future__ import annotations

import calendar
import csv
import io
import math
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from types import ModuleType

from sqlalchemy import and_, select
from sqlalchemy.orm import Session

from hub.i18n import tr
from hub.punch import PunchFlag
from hub.store.models import AuditLog, Correction, Device, Employee, RawPunch, Site, utcnow

START = time(7, 30, 59)  # 07:30:59 is still on time (asn-rules §8 late_after_seconds)
END = {4: time(16, 30)}  # Friday; other working days end at 16:00
END_DEFAULT = time(16, 0)
NOON = time(12, 0)
BRACKETS = (1, 31, 61, 91)
PCT = (0.5, 1.0, 1.25, 1.5)
TK_PCT = 3.0
CAP_PCT = 100.0
CORRECTION_KINDS = ("add_punch", "void_punch", "set_status")
STATES = ("check_in", "check_out")
EXCUSE_CODES = ("DL", "CT", "CS", "CM", "CB", "CAP", "IZIN", "SAKIT", "TK", "H")
HOLIDAY_CODES = ("LIBUR", "CBER", "OFF")  # days that are not working days (reconciler's calendar)
REVIEW_FLAGS = {"unknown_pin": PunchFlag.UNKNOWN_PIN, "clock_suspect": PunchFlag.CLOCK_SUSPECT,
                "photo_mismatch": PunchFlag.PHOTO_MISMATCH}


class ReviewError(ValueError):
    """A review action that cannot be done; the message says why and what to do."""


_NEEDED = ("compute_period", "propose_correction", "approve_correction", "reject_correction",
           "lock_period", "unlock_period", "is_locked", "valid_status_codes", "ReconcileError")


@lru_cache(maxsize=1)
def reconciler() -> ModuleType | None:
    """hub.reconcile.store when it is installed and complete, else None (the fallback rules)."""
    try:
        from hub.reconcile import store
    except ImportError:
        return None
    return store if all(hasattr(store, name) for name in _NEEDED) else None


def engine_name() -> str:
    return "hub.reconcile" if reconciler() else "hub.web.review"


@contextmanager
def _reconcile_errors() -> Iterator[None]:
    rc = reconciler()
    try:
        yield
    except Exception as exc:
        if rc is not None and isinstance(exc, rc.ReconcileError):
            raise ReviewError(str(exc)) from exc
        raise


def status_codes() -> tuple[str, ...]:
    """Codes a reviewer may set a day to."""
    rc = reconciler()
    codes = tuple(rc.valid_status_codes()) if rc else EXCUSE_CODES
    # Excuses first: "H" or "TK" is rarely what a reviewer means for a day with no punches.
    return tuple(sorted(codes, key=lambda c: c in ("H", "TK", "LIBUR", "CBER", "OFF")))


@dataclass
class DayStatus:
    employee_id: int
    day: date
    status: str  # H, TL, PSW, TL+PSW, TAM, TAP, TK, or an excuse code
    check_in: datetime | None = None
    check_out: datetime | None = None
    late_min: int = 0
    early_min: int = 0
    punch_ids: list[int] = field(default_factory=list)
    corrected: bool = False
    deduction_pct: float = 0.0


def month_bounds(month: str) -> tuple[date, date]:
    try:
        year, mon = (int(p) for p in month.split("-"))
        first = date(year, mon, 1)
    except (ValueError, TypeError) as exc:
        raise ReviewError(tr(f"bulan '{month}' tidak sah; gunakan YYYY-MM",
                             f"month '{month}' is not valid; use YYYY-MM")) from exc
    return first, first + timedelta(days=calendar.monthrange(year, mon)[1])


def working_days(first: date, end: date) -> list[date]:
    return [first + timedelta(days=i) for i in range((end - first).days)
            if (first + timedelta(days=i)).weekday() < 5]


def find_site(session: Session, code: str) -> Site:
    site = session.scalar(select(Site).where(Site.code == code))
    if site is None:
        raise ReviewError(tr(f"kantor '{code}' tidak ditemukan", f"office '{code}' not found"))
    return site


def _minutes(later: datetime, earlier: datetime) -> int:
    return max(0, math.ceil((later - earlier).total_seconds() / 60))


def evaluate(employee_id: int, day: date, punches: list[tuple[int | None, datetime]],
             status_override: str | None = None, corrected: bool = False) -> DayStatus:
    """One employee-day from its effective punches: (punch id or None, local time)."""
    ds = DayStatus(employee_id, day, "TK", punch_ids=[p for p, _ in punches if p],
                   corrected=corrected)
    if status_override:
        ds.status = status_override
        return ds
    times = sorted(t for _, t in punches)
    ins = [t for t in times if t.time() < NOON]
    outs = [t for t in times if t.time() >= NOON]
    ds.check_in = ins[0] if ins else None
    ds.check_out = outs[-1] if outs else None
    if not times:
        return ds
    if ds.check_in is None:
        ds.status = "TAM"
    elif ds.check_out is None:
        ds.status = "TAP"
    parts = []
    if ds.check_in is not None:
        ds.late_min = _minutes(ds.check_in, datetime.combine(day, START)) if \
            ds.check_in.time() > START else 0
        if ds.late_min:
            parts.append("TL")
    if ds.check_out is not None:
        ds.early_min = _minutes(datetime.combine(day, END.get(day.weekday(), END_DEFAULT)),
                                ds.check_out)
        if ds.early_min:
            parts.append("PSW")
    if ds.check_in is not None and ds.check_out is not None:
        ds.status = "+".join(parts) or "H"
    return ds


def today_at(site: Site) -> date:
    """The site's current local date: days after it are not judged yet (no TK for tomorrow)."""
    from zoneinfo import ZoneInfo

    return datetime.now(ZoneInfo(site.tz or "Asia/Jakarta")).date()


def site_employees(session: Session, site: Site) -> list[Employee]:
    return list(session.scalars(select(Employee).where(Employee.site_id == site.id)
                                .order_by(Employee.name, Employee.id)))


def day_statuses(session: Session, employee_ids: list[int], first: date,
                 end: date) -> dict[tuple[int, date], DayStatus]:
    """Every working day of every employee in [first, end), corrections applied."""
    if not employee_ids:
        return {}
    lo, hi = datetime.combine(first, time()), datetime.combine(end, time())
    punches: dict[tuple[int, date], list[tuple[int | None, datetime]]] = defaultdict(list)
    for pid, emp, local in session.execute(
            select(RawPunch.id, RawPunch.employee_id, RawPunch.local_time)
            .where(RawPunch.employee_id.in_(employee_ids), RawPunch.local_time >= lo,
                   RawPunch.local_time < hi)):
        punches[(emp, local.date())].append((pid, local))
    overrides: dict[tuple[int, date], str] = {}
    corrected: set[tuple[int, date]] = set()
    for c in session.scalars(select(Correction).where(
            Correction.employee_id.in_(employee_ids), Correction.day >= first,
            Correction.day < end, Correction.approval == "approved").order_by(Correction.id)):
        key = (c.employee_id, c.day)
        corrected.add(key)
        if c.kind == "add_punch" and c.local_time is not None:
            punches[key].append((None, c.local_time))
        elif c.kind == "void_punch":
            punches[key] = [p for p in punches[key] if p[0] != c.punch_id]
        elif c.kind == "set_status" and c.status:
            overrides[key] = c.status
    out = {}
    for emp in employee_ids:
        for day in working_days(first, end):
            key = (emp, day)
            out[key] = evaluate(emp, day, punches.get(key, []), overrides.get(key),
                                key in corrected)
    return out


def _day_pct(ds: DayStatus) -> float:
    pct = 0.0
    if ds.status in ("TAM", "TAP"):
        pct += PCT[-1]
    elif ds.status == "TK":
        pct += TK_PCT
    return pct + _bracket(ds.late_min) + _bracket(ds.early_min)


def site_day_statuses(session: Session, site: Site, first: date, end: date) -> dict[tuple[int, date], DayStatus]:
    """Judged working days of the site's employees in [first, end), corrections applied."""
    rc = reconciler()
    if rc is not None:
        last = end - timedelta(days=1)
        if hasattr(rc, "daily_rows") and is_locked(session, site, first) and is_locked(session, site, last):
            # A locked month is what was locked: the stored days, not a fresh computation.
            return {(r.employee_id, r.day): DayStatus(
                r.employee_id, r.day, r.status, r.check_in, r.check_out, r.late_min, r.early_min,
                [int(p) for p in r.punch_ids.split(",") if p.strip().isdigit()], r.source == "correction",
                r.deduction_pct) for r in rc.daily_rows(session, first, last, [site.id])}
        with _reconcile_errors():
            results, _ = rc.compute_period(session, first, last, [site.id])
        return {(r.employee_id, r.day): DayStatus(
            r.employee_id, r.day, r.status, r.check_in, r.check_out, r.late_min, r.early_min,
            [p for p in r.punch_ids if p > 0], r.source == "correction" or any(p < 0 for p in r.punch_ids),
            r.deduction_pct) for r in results}
    until = min(end, today_at(site) + timedelta(days=1))
    out = day_statuses(session, [e.id for e in site_employees(session, site)], first, max(first, until))
    for ds in out.values():
        ds.deduction_pct = _day_pct(ds)
    return out


# --- exceptions ---------------------------------------------------------------------------


@dataclass
class ExceptionRow:
    kind: str  # missing_in, missing_out, absent, late, unknown_pin, clock_suspect, photo_mismatch
    day: date
    employee_id: int | None
    employee_name: str
    detail: str
    punch_id: int | None = None
    proposal: dict | None = None  # a suggested correction for the form
    pending: list[Correction] = field(default_factory=list)


def _proposal(ds: DayStatus, codes: list[str]) -> dict | None:
    end = END.get(ds.day.weekday(), END_DEFAULT)
    if "TAM" in codes:
        return {"kind": "add_punch", "state": "check_in",
                "local_time": datetime.combine(ds.day, time(7, 30))}
    if "TAP" in codes:
        return {"kind": "add_punch", "state": "check_out", "local_time": datetime.combine(ds.day, end)}
    if "TK" in codes:
        return {"kind": "set_status"}
    return None


def _kinds(codes: list[str]) -> list[str]:
    kinds = {"TAM": "missing_in", "TAP": "missing_out", "TK": "absent"}
    out = [kinds[c] for c in codes if c in kinds]
    if any(c.startswith("TL") for c in codes):
        out.append("late")
    if any(c.startswith("PSW") for c in codes):
        out.append("early")
    return out


def exceptions(session: Session, site: Site, day: date) -> list[ExceptionRow]:
    emps = {e.id: e for e in site_employees(session, site)}
    statuses = site_day_statuses(session, site, day, day + timedelta(days=1))
    pending: dict[int, list[Correction]] = defaultdict(list)
    for c in session.scalars(select(Correction).where(
            Correction.day == day, Correction.approval == "pending",
            Correction.employee_id.in_(list(emps) or [-1]))):
        pending[c.employee_id].append(c)
    rows: list[ExceptionRow] = []
    for (emp_id, _), ds in sorted(statuses.items(), key=lambda kv: (emps[kv[0][0]].name, kv[0][0])
                                  if kv[0][0] in emps else ("", kv[0][0])):
        name = emps[emp_id].name if emp_id in emps else f"#{emp_id}"
        codes = ds.status.split("+")
        proposal = _proposal(ds, codes)
        for kind in _kinds(codes):
            detail = ds.status
            if kind == "late":
                detail = tr(f"{ds.status}: terlambat {ds.late_min} menit", f"{ds.status}: {ds.late_min} min late")
            elif kind == "early":
                detail = tr(f"{ds.status}: pulang {ds.early_min} menit lebih awal",
                            f"{ds.status}: left {ds.early_min} min early")
            rows.append(ExceptionRow(kind, day, emp_id, name, detail,
                                     proposal=proposal if kind in ("missing_in", "missing_out", "absent") else None,
                                     pending=pending[emp_id]))
    mask = sum(int(f) for f in REVIEW_FLAGS.values())
    lo = datetime.combine(day, time())
    q = (select(RawPunch, Employee.name).join(Device, Device.id == RawPunch.device_id)
         .outerjoin(Employee, Employee.id == RawPunch.employee_id)
         .where(Device.site_id == site.id, RawPunch.local_time >= lo,
                RawPunch.local_time < lo + timedelta(days=1), RawPunch.flags.op("&")(mask) != 0)
         .order_by(RawPunch.local_time))
    for punch, emp_name in session.execute(q):
        for kind, flag in REVIEW_FLAGS.items():
            if punch.flags & flag:
                rows.append(ExceptionRow(kind, day, punch.employee_id, emp_name or "",
                                         f"PIN {punch.pin} {punch.local_time:%H:%M:%S}",
                                         punch_id=punch.id))
    return rows


# --- corrections and lock -----------------------------------------------------------------


def _period_key(site_code: str, day: date) -> str:
    return f"{site_code}:{day:%Y-%m}"


def is_locked(session: Session, site: Site, day: date) -> bool:
    rc = reconciler()
    if rc is not None:
        return bool(rc.is_locked(session, site.id, day))
    last = session.scalar(select(AuditLog.action).where(
        AuditLog.entity == "period", AuditLog.entity_id == _period_key(site.code, day),
        AuditLog.action.in_(("period.lock", "period.unlock"))).order_by(AuditLog.id.desc()).limit(1))
    return last == "period.lock"


def set_lock(session: Session, site: Site, month: str, actor: str, locked: bool, reason: str = "") -> None:
    first, _ = month_bounds(month)
    if not locked and not (reason or "").strip():
        raise ReviewError(tr("membuka kunci periode wajib disertai alasan", "unlocking a period needs a reason"))
    rc = reconciler()
    if rc is not None:
        with _reconcile_errors():
            if locked:
                rc.lock_period(session, first, actor, site_id=site.id, reason=reason)
            else:
                rc.unlock_period(session, first, actor, reason, site_id=site.id)
        return
    if is_locked(session, site, first) == locked:
        raise ReviewError(tr(f"periode {month} {site.code} sudah {'dikunci' if locked else 'terbuka'}",
                             f"period {month} of {site.code} is already {'locked' if locked else 'open'}"))
    session.add(AuditLog(actor=actor, action="period.lock" if locked else "period.unlock",
                         entity="period", entity_id=_period_key(site.code, first),
                         details={"site": site.code, "month": month, "reason": reason}))


def _check_open(session: Session, employee: Employee, day: date) -> None:
    site = session.get(Site, employee.site_id) if employee.site_id else None
    if site is not None and is_locked(session, site, day):
        raise ReviewError(tr(f"periode {day:%Y-%m} kantor {site.code} sudah dikunci; buka kunci dahulu",
                             f"period {day:%Y-%m} of office {site.code} is locked; unlock it first"))


def propose(session: Session, *, employee_id: int, day: date, kind: str, reason: str, author: str,
            local_time: datetime | None = None, state: str | None = None, status: str | None = None,
            punch_id: int | None = None) -> Correction:
    rc = reconciler()
    if rc is not None:
        with _reconcile_errors():
            return rc.propose_correction(session, employee_id=employee_id, day=day, kind=kind, reason=reason,
                                         author=author, punch_id=punch_id, local_time=local_time, state=state,
                                         status=status)
    employee = session.get(Employee, employee_id)
    if employee is None:
        raise ReviewError(tr(f"pegawai #{employee_id} tidak ditemukan", f"employee #{employee_id} not found"))
    if kind not in CORRECTION_KINDS:
        raise ReviewError(tr(f"jenis koreksi '{kind}' tidak dikenal; pilih: {', '.join(CORRECTION_KINDS)}",
                             f"unknown correction kind '{kind}'; choose one of {', '.join(CORRECTION_KINDS)}"))
    if not (reason or "").strip():
        raise ReviewError(tr("alasan koreksi wajib diisi", "a reason is required"))
    if kind == "add_punch":
        if local_time is None or local_time.date() != day:
            raise ReviewError(tr("jam punch tambahan harus pada tanggal yang dikoreksi",
                                 "the added punch's time must be on the corrected day"))
        if state not in STATES:
            raise ReviewError(tr("pilih check_in atau check_out", "choose check_in or check_out"))
    elif kind == "void_punch":
        punch = session.get(RawPunch, punch_id) if punch_id else None
        if punch is None or punch.employee_id != employee_id or punch.local_time.date() != day:
            raise ReviewError(tr("punch yang dibatalkan bukan milik pegawai pada tanggal itu",
                                 "the voided punch is not this employee's on that day"))
    elif (status or "").upper() not in EXCUSE_CODES:
        raise ReviewError(tr(f"status '{status}' tidak dikenal; pilih: {', '.join(EXCUSE_CODES)}",
                             f"unknown status '{status}'; choose one of {', '.join(EXCUSE_CODES)}"))
    _check_open(session, employee, day)
    c = Correction(employee_id=employee_id, day=day, kind=kind, punch_id=punch_id,
                   local_time=local_time if kind == "add_punch" else None,
                   state=state if kind == "add_punch" else None,
                   status=(status or "").upper() if kind == "set_status" else None,
                   reason=reason.strip(), author=author, approval="pending")
    session.add(c)
    session.flush()
    session.add(AuditLog(actor=author, action="correction.propose", entity="correction",
                         entity_id=str(c.id), details={"employee_id": employee_id, "day": day.isoformat(),
                                                       "kind": kind, "reason": c.reason}))
    return c


def decide(session: Session, correction_id: int, approver: str, approve: bool) -> Correction:
    rc = reconciler()
    if rc is not None:
        with _reconcile_errors():
            fn = rc.approve_correction if approve else rc.reject_correction
            return fn(session, correction_id, approver)
    c = session.get(Correction, correction_id)
    if c is None:
        raise ReviewError(tr(f"koreksi #{correction_id} tidak ditemukan", f"correction #{correction_id} not found"))
    if c.approval != "pending":
        raise ReviewError(tr(f"koreksi #{c.id} sudah {c.approval}", f"correction #{c.id} is already {c.approval}"))
    if c.author == approver:
        raise ReviewError(tr("pengusul tidak boleh menyetujui koreksinya sendiri",
                             "the proposer cannot approve their own correction"))
    employee = session.get(Employee, c.employee_id)
    assert employee is not None  # FK cascade keeps corrections with their employee
    _check_open(session, employee, c.day)
    c.approval = "approved" if approve else "rejected"
    c.approved_by, c.approved_at = approver, utcnow()
    session.add(AuditLog(actor=approver, action="correction." + c.approval, entity="correction",
                         entity_id=str(c.id), details={"employee_id": c.employee_id,
                                                       "day": c.day.isoformat(), "author": c.author}))
    return c


def pending_corrections(session: Session, site: Site | None = None) -> list[tuple[Correction, Employee]]:
    q = (select(Correction, Employee).join(Employee, Employee.id == Correction.employee_id)
         .where(Correction.approval == "pending").order_by(Correction.day, Correction.id))
    if site is not None:
        q = q.where(Employee.site_id == site.id)
    return [(c, e) for c, e in session.execute(q)]


# --- monthly recap ------------------------------------------------------------------------


RECAP_COLUMNS = ("no", "id_number", "name", "employment_type", "position", "work_days", "judged_days", "H", "TL",
                 "PSW", "TAM", "TAP", "TK", "excused", "late_min", "early_min", "deduction_pct", "monthly_tpp",
                 "deduction_rp", "tpp_paid")


def _bracket(minutes: int) -> float:
    pct = 0.0
    for lower, p in zip(BRACKETS, PCT, strict=True):
        if minutes >= lower:
            pct = p
    return pct


def recap(session: Session, site: Site, month: str) -> list[dict]:
    first, end = month_bounds(month)
    emps = site_employees(session, site)
    statuses = site_day_statuses(session, site, first, end)
    by_emp: dict[int, list[DayStatus]] = defaultdict(list)
    for (emp_id, _), ds in sorted(statuses.items(), key=lambda kv: kv[0]):
        by_emp[emp_id].append(ds)
    all_work_days = len(working_days(first, end))
    rows = []
    for no, e in enumerate(emps, 1):
        days = by_emp.get(e.id, [])
        count: dict[str, int] = defaultdict(int)
        holidays = 0
        for ds in days:
            for part in ds.status.split("+"):
                if part in HOLIDAY_CODES:
                    holidays += 1
                key = next((p for p in ("TL", "PSW") if part.startswith(p)), part)
                count[key] += 1
        pct = min(CAP_PCT, round(sum(ds.deduction_pct for ds in days), 2))
        tpp = e.monthly_tpp or 0
        cut = round(tpp * pct / 100)
        present = sum(1 for ds in days if ds.check_in or ds.check_out)
        known = {"H", "TL", "PSW", "TAM", "TAP", "TK", *HOLIDAY_CODES}
        rows.append({"no": no, "employee_id": e.id, "id_number": e.id_number, "name": e.name,
                     "employment_type": e.employment_type, "position": e.position or "",
                     "work_days": all_work_days - holidays, "judged_days": len(days) - holidays, "H": present,
                     "TL": count["TL"], "PSW": count["PSW"], "TAM": count["TAM"], "TAP": count["TAP"],
                     "TK": count["TK"], "excused": sum(n for c, n in count.items() if c not in known),
                     "late_min": sum(ds.late_min for ds in days),
                     "early_min": sum(ds.early_min for ds in days), "deduction_pct": pct,
                     "monthly_tpp": tpp, "deduction_rp": cut, "tpp_paid": tpp - cut,
                     "days": days})
    return rows


def employee_day(session: Session, employee: Employee, day: date) -> tuple[DayStatus, list[RawPunch],
                                                                          list[Correction]]:
    site = session.get(Site, employee.site_id) if employee.site_id else None
    statuses = site_day_statuses(session, site, day, day + timedelta(days=1)) if site else \
        day_statuses(session, [employee.id], day, day + timedelta(days=1))
    ds = statuses.get((employee.id, day)) or DayStatus(employee.id, day, "-")
    lo = datetime.combine(day, time())
    punches = list(session.scalars(select(RawPunch).where(
        and_(RawPunch.employee_id == employee.id, RawPunch.local_time >= lo,
             RawPunch.local_time < lo + timedelta(days=1))).order_by(RawPunch.local_time)))
    corrections = list(session.scalars(select(Correction).where(
        Correction.employee_id == employee.id, Correction.day == day).order_by(Correction.id)))
    return ds, punches, corrections


def export(session: Session, site: Site, month: str, fmt: str, actor: str) -> bytes:
    """The recap file of an office-month. With the reconciler: its official columns
    (asn-rules §7), after bringing the stored days up to date (a locked month stays as it
    was locked). Without it: the console's own recap."""
    first, end = month_bounds(month)
    try:
        from hub.reconcile import recap as rc_recap
    except ImportError:
        rc_recap = None  # type: ignore[assignment]
    rc = reconciler()
    if rc is not None and rc_recap is not None and hasattr(rc, "reconcile_period"):
        with _reconcile_errors():
            last = min(end - timedelta(days=1), today_at(site) - timedelta(days=1))
            if last >= first:
                rc.reconcile_period(session, first, last, [site.id], actor=actor)
            rows = rc_recap.build_recap(session, month, [site.id])
        if fmt == "csv":
            return rc_recap.recap_csv(rows)
        return rc_recap.recap_xlsx(rows, month, f"Rekap absensi dan potongan TPP {site.name} ({site.code}) {month}")
    rows = recap(session, site, month)
    return recap_csv(rows) if fmt == "csv" else recap_xlsx(rows, site, month)


def recap_csv(rows: list[dict]) -> bytes:
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(RECAP_COLUMNS)
    for r in rows:
        writer.writerow([r[c] for c in RECAP_COLUMNS])
    return buf.getvalue().encode("utf-8-sig")  # Excel opens a BOM-marked CSV as UTF-8


def recap_xlsx(rows: list[dict], site: Site, month: str) -> bytes:
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = "Rekap"
    ws.append([f"Rekap absensi {site.name} ({site.code}) {month}"])
    ws.append(list(RECAP_COLUMNS))
    for r in rows:
        ws.append([r[c] for c in RECAP_COLUMNS])
    detail = wb.create_sheet("Detail")
    detail.append(["id_number", "name", "date", "status", "in", "out", "late_min", "early_min"])
    for r in rows:
        for ds in r["days"]:
            detail.append([r["id_number"], r["name"], ds.day, ds.status, ds.check_in, ds.check_out,
                           ds.late_min, ds.early_min])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
