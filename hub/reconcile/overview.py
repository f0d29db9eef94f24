"""A month across every OPD for BPKAD and leaders: per office its attendance rate,
deductions, days still in doubt, pending corrections and lock state, and the series the
charts draw (attendance per OPD per day, late arrivals by time of day). Every figure comes
from the one reconciler's month (hub.reconcile.period.month_figures): nothing here judges
a day again, it only adds up what the recap already holds."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hub.reconcile.locks import LockMap
from hub.reconcile.period import month_figures
from hub.reconcile.recap import OFF_DAYS, Day, dec
from hub.reconcile.rules import NO_DATA, WAITING
from hub.store.models import Correction, Employee
from hub.store.sites import SiteTree
from hub.times import month_range

LATE_BUCKET_MIN = 15  # late arrivals are counted by quarter hour of the check-in


@dataclass
class OfficeMonth:
    site_id: int | None
    code: str
    name: str
    employees: int = 0
    working_days: int = 0  # employee-days that were working days
    present_days: int = 0  # of them, present (the recap's "hadir")
    attendance_pct: float = 0.0  # mean of the employees' % kehadiran, as the recap computes it
    late_days: int = 0
    absent_days: int = 0  # TK
    doubt_days: int = 0  # TD + TV: days a person still has to decide
    pending_corrections: int = 0
    deduction_rp: int = 0
    tpp_ceiling_rp: int = 0
    locked: bool = False
    locked_by: str | None = None
    daily: dict[date, float | None] = field(default_factory=dict)  # present / working per day


@dataclass
class MonthOverview:
    month: date
    days: list[date]
    offices: list[OfficeMonth]
    late_by_time: list[tuple[str, int]]  # ("07:30", n): check-ins of late days by quarter hour
    sha256: str  # the figures' hash of the whole month (as the recap shows it)

    @property
    def totals(self) -> dict[str, Any]:
        o = self.offices
        return {"employees": sum(x.employees for x in o), "doubt_days": sum(x.doubt_days for x in o),
                "pending_corrections": sum(x.pending_corrections for x in o),
                "deduction_rp": sum(x.deduction_rp for x in o), "locked": sum(1 for x in o if x.locked),
                "offices": len(o)}


def _kind(day: Day, leave: frozenset[str]) -> str:
    """What a judged day counts as in the recap's columns: off, doubt, absent, leave or present
    (the reading of hub.reconcile.recap.build_row: a working day with leave, TD, TV or TK is
    not "hadir"; every other working day is)."""
    codes = day.codes()
    if any(c in OFF_DAYS for c in codes):
        return "off"
    if any(c in (NO_DATA, WAITING) for c in codes):
        return "doubt"
    if "TK" in codes:
        return "absent"
    return "leave" if any(c in leave for c in codes) else "present"


def month_overview(session: Session, month: str | date, visible: set[int] | None = None) -> MonthOverview:
    """The month for every OPD (or only those in `visible`, by site id)."""
    fig = month_figures(session, month, None)
    leave = frozenset(c.key for c in fig.columns if c.group == "excused")  # the month's leave codes
    first = fig.month
    last = month_range(first)[1]
    days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    tree = SiteTree.load(session)
    opd_of: dict[int, int | None] = {}

    def opd_id(site_id: int | None) -> int | None:
        if site_id not in opd_of:
            top = tree.opd(site_id)
            opd_of[site_id] = top.id if top else None  # type: ignore[index]
        return opd_of[site_id]  # type: ignore[index]

    offices: dict[int | None, OfficeMonth] = {}
    for top_id in tree.children.get(None, []):
        s = tree.by_id[top_id]
        offices[top_id] = OfficeMonth(top_id, s.code, s.name)
    sums: dict[int | None, Decimal] = defaultdict(Decimal)
    present: dict[int | None, Counter[date]] = defaultdict(Counter)
    working: dict[int | None, Counter[date]] = defaultdict(Counter)
    late = Counter[str]()
    for row in fig.rows:
        oid = opd_id(row.get("site_id"))
        o = offices.setdefault(oid, OfficeMonth(oid, "", row.get("opd") or "—"))
        o.employees += 1
        o.working_days += int(row.get("hari_kerja", 0))
        o.present_days += int(row.get("hadir", 0))
        o.absent_days += int(row.get("TK", 0))
        o.doubt_days += int(row.get(NO_DATA, 0)) + int(row.get(WAITING, 0))
        o.late_days += sum(int(v) for k, v in row.items() if k.startswith("TL") and k[2:].isdigit())
        o.deduction_rp += int(row.get("potongan_rp", 0))
        o.tpp_ceiling_rp += int(row.get("tpp_pagu", 0))
        sums[oid] += dec(row.get("persen_kehadiran", 0))
        for d in fig.days.get(row["employee_id"], []):
            kind = _kind(d, leave)
            if kind == "off":
                continue
            working[oid][d.day] += 1
            if kind == "present":
                present[oid][d.day] += 1
                if any(c.startswith("TL") for c in d.codes()) and d.check_in is not None:
                    t = d.check_in
                    minute = (t.hour * 60 + t.minute) // LATE_BUCKET_MIN * LATE_BUCKET_MIN
                    late[f"{minute // 60:02d}:{minute % 60:02d}"] += 1
    locks = LockMap(session, first, last, tree)
    pending = _pending_by_opd(session, first, last, opd_id)
    out = []
    for oid, o in offices.items():
        if visible is not None and oid not in visible:
            continue
        if o.employees:
            o.attendance_pct = float((sums[oid] / o.employees).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))
        o.daily = {d: (present[oid][d] / working[oid][d] * 100 if working[oid][d] else None) for d in days}
        o.pending_corrections = pending.get(oid, 0)
        lock = locks.lock_of(oid, first) if oid is not None else None
        o.locked, o.locked_by = lock is not None, lock.locked_by if lock else None
        out.append(o)
    out.sort(key=lambda x: (x.code == "", x.name))
    return MonthOverview(first, days, out, sorted(late.items()), fig.sha256)


def _pending_by_opd(session: Session, first: date, last: date, opd_id: Any) -> dict[int | None, int]:
    rows = session.execute(select(Employee.site_id, func.count())
                           .join(Correction, Correction.employee_id == Employee.id)
                           .where(Correction.approval == "pending", Correction.day >= first, Correction.day <= last)
                           .group_by(Employee.site_id)).all()
    out: dict[int | None, int] = defaultdict(int)
    for site_id, n in rows:
        out[opd_id(site_id)] += n
    return dict(out)
