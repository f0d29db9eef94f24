"""The reviewer's queues, from the one reconciler: days without data grouped by terminal and
day (one decision covers everyone affected), quarantined punches grouped by terminal and day
(accepted or rejected at once), and one office-day's exceptions per employee."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.i18n import tr
from hub.punch import PunchFlag
from hub.reconcile.evidence import QUARANTINABLE, site_key
from hub.reconcile.models import NoDataDecision, PunchReview
from hub.reconcile.period import month_days, scope_sites
from hub.reconcile.recap import Day
from hub.reconcile.rules import NO_DATA, WAITING
from hub.store.models import Device, Employee, RawPunch, Site
from hub.store.sites import SiteTree
from hub.times import month_range, months_between


@dataclass
class TerminalDay:
    """A terminal and day without data, with everyone it leaves without evidence."""

    terminal: str  # dev:<id> | site:<id>
    label: str
    day: date
    employees: list[tuple[int, str, str]] = field(default_factory=list)  # (id, NIP, name)
    decision: str | None = None
    decided_by: str | None = None
    reason: str = ""


def terminal_labels(session: Session, keys: set[str]) -> dict[str, str]:
    devs = {int(k[4:]) for k in keys if k.startswith("dev:")}
    sites = {int(k[5:]) for k in keys if k.startswith("site:")}
    out = {}
    for d in session.scalars(select(Device).where(Device.id.in_(devs))) if devs else ():
        out[f"dev:{d.id}"] = f"{d.serial} {d.name}".strip()
    for s in session.scalars(select(Site).where(Site.id.in_(sites))) if sites else ():
        out[site_key(s.id)] = tr(f"{s.name} ({s.code}): tanpa terminal", f"{s.name} ({s.code}): no terminal")
    out.setdefault("site:0", tr("tanpa kantor dan tanpa terminal", "no office and no terminal"))
    return out


def _names(session: Session, ids: set[int]) -> dict[int, tuple[str, str]]:
    if not ids:
        return {}
    return {e.id: (e.id_number, e.name) for e in session.scalars(select(Employee).where(Employee.id.in_(ids)))}


def no_data_groups(session: Session, first: date, last: date, site_id: int | None = None, *,
                   today: date | None = None, days: dict[int, list[Day]] | None = None) -> list[TerminalDay]:
    """TD days (and days already decided), grouped by terminal and day."""
    if days is None:
        days, _ = month_days(session, first, last, site_id, today=today)
    groups: dict[tuple[str, date], set[int]] = defaultdict(set)
    for emp, ds in days.items():
        for d in ds:
            if first <= d.day <= last and d.terminals and (d.status == NO_DATA or d.source == "decision"):
                for key in d.terminals:
                    groups[(key, d.day)].add(emp)
    decisions = {(r.terminal, r.day): r for r in session.scalars(select(NoDataDecision).where(
        NoDataDecision.day >= first, NoDataDecision.day <= last))}
    labels = terminal_labels(session, {k for k, _ in groups})
    names = _names(session, {e for v in groups.values() for e in v})
    out = []
    for (key, day), emps in sorted(groups.items(), key=lambda kv: (kv[0][1], labels.get(kv[0][0], kv[0][0]))):
        dec = decisions.get((key, day))
        out.append(TerminalDay(key, labels.get(key, key), day,
                               sorted(((e, *names.get(e, ("", ""))) for e in emps), key=lambda x: x[2]),
                               dec.decision if dec else None, dec.decided_by if dec else None,
                               dec.reason if dec else ""))
    return out


@dataclass
class QuarantineGroup:
    device_id: int
    label: str
    day: date
    punches: list[tuple[RawPunch, str, str | None]] = field(default_factory=list)  # (punch, name, decision)

    @property
    def pending(self) -> int:
        return sum(1 for _, _, d in self.punches if d is None)

    @property
    def flags(self) -> list[str]:
        names: set[str] = set()
        for p, _, _ in self.punches:
            names.update(PunchFlag.names_of(int(p.flags) & QUARANTINABLE))
        return sorted(names)


def quarantine_groups(session: Session, first: date, last: date, site_id: int | None = None
                      ) -> list[QuarantineGroup]:
    """Flagged punches of the offices' employees and terminals, by terminal and day."""
    tree = SiteTree.load(session)
    sites = scope_sites(session, site_id, tree)
    lo = datetime.combine(first, datetime.min.time())
    hi = datetime.combine(last + timedelta(days=1), datetime.min.time())
    q = (select(RawPunch, Employee.name, PunchReview.decision)
         .outerjoin(Employee, Employee.id == RawPunch.employee_id)
         .outerjoin(PunchReview, PunchReview.punch_id == RawPunch.id)
         .where(RawPunch.local_time >= lo, RawPunch.local_time < hi,
                RawPunch.flags.op("&")(QUARANTINABLE) != 0, RawPunch.employee_id.is_not(None))
         .order_by(RawPunch.device_id, RawPunch.local_time, RawPunch.id))
    if sites is not None:
        q = q.where(RawPunch.employee_id.in_(select(Employee.id).where(Employee.site_id.in_(sites))))
    groups: dict[tuple[int, date], QuarantineGroup] = {}
    devs = {d.id: d for d in session.scalars(select(Device))}
    for punch, name, decision in session.execute(q):
        key = (punch.device_id, punch.local_time.date())
        if key not in groups:
            d = devs.get(punch.device_id)
            groups[key] = QuarantineGroup(punch.device_id, f"{d.serial} {d.name}".strip() if d else "?", key[1])
        groups[key].punches.append((punch, name or "", decision))
    return sorted(groups.values(), key=lambda g: (g.day, g.label))


@dataclass
class ExceptionRow:
    kind: str  # missing_in, missing_out, missing_slot, absent, late, early, no_data, waiting
    day: date
    employee_id: int | None
    employee_name: str
    detail: str
    status: str = ""
    punch_ids: list[int] = field(default_factory=list)
    terminals: tuple[str, ...] = ()


def _kinds(d: Day) -> list[str]:
    out = []
    for c in d.codes():
        if c == "TAM":
            out.append("missing_in")
        elif c == "TAP":
            out.append("missing_out")
        elif c == "TK":
            out.append("absent")
        elif c == NO_DATA:
            out.append("no_data")
        elif c == WAITING:
            out.append("waiting")
        elif c.startswith("TL"):
            out.append("late")
        elif c.startswith("PSW"):
            out.append("early")
        elif c.startswith("TA"):
            out.append("missing_slot")
    return out


def day_exceptions(session: Session, site_id: int, day: date, *, today: date | None = None) -> list[ExceptionRow]:
    """One office-day's employees whose day needs a reviewer, from the one reconciler."""
    days, _ = month_days(session, day, day, site_id, today=today)
    names = _names(session, set(days))
    rows = []
    for emp, ds in sorted(days.items(), key=lambda kv: (names.get(kv[0], ("", ""))[1], kv[0])):
        for d in ds:
            for kind in _kinds(d):
                rows.append(ExceptionRow(kind, d.day, emp, names.get(emp, ("", ""))[1],
                                         _detail(kind, d), d.status, [p for p in d.punch_ids if p > 0],
                                         d.terminals))
    return rows


def range_exceptions(session: Session, first: date, last: date, site_id: int | None = None,
                     employee_ids: set[int] | None = None, *, today: date | None = None,
                     no_data: list[TerminalDay] | None = None) -> list[ExceptionRow]:
    """Every employee-day of [first, last] that needs a reviewer, month by month through the one
    reconciler, ordered by day then name. Terminal-days without data are no_data_groups; given
    a list, `no_data` receives them from the same judged days (no second pass)."""
    rows: list[ExceptionRow] = []
    names: dict[int, tuple[str, str]] = {}
    for month in months_between(first, last):
        lo, hi = max(first, month), min(last, month_range(month)[1])
        days, _ = month_days(session, lo, hi, site_id, employee_ids=employee_ids, today=today)
        if no_data is not None:
            no_data.extend(no_data_groups(session, lo, hi, site_id, days=days))
        names.update(_names(session, set(days) - set(names)))
        for emp, ds in days.items():
            for d in ds:
                for kind in _kinds(d):
                    if kind != "no_data":
                        rows.append(ExceptionRow(kind, d.day, emp, names.get(emp, ("", ""))[1], _detail(kind, d),
                                                 d.status, [p for p in d.punch_ids if p > 0], d.terminals))
    rows.sort(key=lambda r: (r.day, r.employee_name, r.employee_id or 0, r.kind))
    return rows


def _detail(kind: str, d: Day) -> str:
    if kind == "late":
        return tr(f"{d.status}: terlambat {d.late_min} menit", f"{d.status}: {d.late_min} min late")
    if kind == "early":
        return tr(f"{d.status}: pulang {d.early_min} menit lebih awal", f"{d.status}: left {d.early_min} min early")
    if kind == "waiting":
        return tr(f"{d.status}: {len(d.waiting)} punch menunggu verifikasi",
                  f"{d.status}: {len(d.waiting)} punches await review")
    if kind == "no_data":
        return tr(f"{d.status}: terminal tanpa data", f"{d.status}: terminal without data")
    return d.status
