"""The figures of a month, and the lock that freezes them.

`month_figures` is the one place the console, the API, the exports and the CLI get a month
from: an open month is computed in memory from the store (nothing is written: readers never
write), a frozen employee-month is read back exactly as it was locked.

Locking is reconcile, show, confirm, freeze: `preview_lock` computes the month with every
approved correction and says what will be frozen (counts, the employees whose figures
differ from the last stored run, doubts still open); `lock_month` recomputes, refuses if the
figures are not those the approver confirmed (their hash), and freezes exactly them.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session

from hub.i18n import tr
from hub.reconcile.daily import compute_period, insert_days
from hub.reconcile.errors import ReconcileError, month_bounds
from hub.reconcile.locks import LockMap
from hub.reconcile.models import DailyStatus, PeriodLock, RecapRow
from hub.reconcile.recap import (
    Column,
    Day,
    build_row,
    columns_for,
    figures_hash,
    office_totals,
    totals,
)
from hub.reconcile.ruleset_store import RulesResolver
from hub.store.models import AuditLog, Correction, Employee, RawPunch, Site, utcnow
from hub.store.sites import SiteTree
from hub.times import local_today


@dataclass
class MonthFigures:
    month: date
    site: Site | None
    columns: list[Column]
    rows: list[dict[str, Any]]
    days: dict[int, list[Day]]
    sha256: str
    legend: list[tuple[str, str, str, float | None]]
    rulesets: list[str]
    lock: PeriodLock | None = None  # the lock covering the whole scope, if any
    frozen_employees: int = 0
    totals: dict[str, Any] = field(default_factory=dict)
    offices: list[dict[str, Any]] = field(default_factory=list)

    @property
    def locked(self) -> bool:
        return self.lock is not None

    def row_of(self, employee_id: int) -> dict[str, Any] | None:
        return next((r for r in self.rows if r["employee_id"] == employee_id), None)


def scope_sites(session: Session, site_id: int | None, tree: SiteTree | None = None) -> list[int] | None:
    """An office and its units; None: every office."""
    if site_id is None:
        return None
    tree = tree or SiteTree.load(session)
    return tree.subtree(site_id)


def _days_of(results: list[Any], emp_ids: set[int] | None = None) -> dict[int, list[Day]]:
    out: dict[int, list[Day]] = defaultdict(list)
    for r in results:
        if emp_ids is None or r.employee_id in emp_ids:
            out[r.employee_id].append(Day.of_result(r))
    return out


def month_days(session: Session, first: date, last: date, site_id: int | None = None, *,
               employee_ids: set[int] | None = None, today: date | None = None,
               tree: SiteTree | None = None) -> tuple[dict[int, list[Day]], set[int]]:
    """The judged days of [first, last] (one month at most) per employee: frozen ones as
    stored, the others computed now. Returns (days, frozen employee ids)."""
    tree = tree or SiteTree.load(session)
    sites = scope_sites(session, site_id, tree)
    locks = LockMap(session, first, last, tree)
    q = select(Employee.id, Employee.site_id)
    if sites is not None:
        q = q.where(Employee.site_id.in_(sites))
    if employee_ids is not None:
        q = q.where(Employee.id.in_(sorted(employee_ids)))
    emps = dict(session.execute(q).all())
    frozen = {e for e, s in emps.items() if locks.is_frozen(e, s, first)}
    days: dict[int, list[Day]] = defaultdict(list)
    if frozen:
        ids = sorted(frozen)
        for chunk in range(0, len(ids), 1000):
            for r in session.scalars(select(DailyStatus).where(
                    DailyStatus.employee_id.in_(ids[chunk:chunk + 1000]), DailyStatus.day >= first,
                    DailyStatus.day <= last).order_by(DailyStatus.employee_id, DailyStatus.day)):
                days[r.employee_id].append(Day.of_stored(r))
    open_ids = set(emps) - frozen
    if open_ids:
        results, _ = compute_period(session, first, last, sites,
                                    employee_ids=open_ids if frozen or employee_ids is not None else None,
                                    today=today)
        for emp, ds in _days_of(results, open_ids).items():
            days[emp] = ds
    return days, frozen


def month_figures(session: Session, month: str | date, site_id: int | None = None, *,
                  today: date | None = None, employee_ids: set[int] | None = None) -> MonthFigures:
    """The recap of a month for an office and its units (or every office); `employee_ids`
    narrows it to those employees (an employee's own month in the mobile app)."""
    first, last = month_bounds(month)
    tree = SiteTree.load(session)
    resolver = RulesResolver(session, tree)
    days, frozen = month_days(session, first, last, site_id, today=today, tree=tree, employee_ids=employee_ids)
    frozen_rows = {}
    if frozen:
        for r in session.scalars(select(RecapRow).where(RecapRow.month == first,
                                                        RecapRow.employee_id.in_(sorted(frozen)))):
            frozen_rows[r.employee_id] = dict(r.data)
    wanted = set(days) | set(frozen_rows)
    emps = {e.id: e for e in session.scalars(select(Employee).where(Employee.id.in_(sorted(wanted))))} \
        if wanted else {}
    rules: dict[int, Any] = {}
    for emp_id, e in emps.items():
        start = days[emp_id][0].day if days.get(emp_id) else first
        rules[emp_id] = resolver(e.site_id, start).for_type((e.employment_type or "").lower() or None)
    extra = {k for row in frozen_rows.values() for k in row if k.isupper()}
    columns = columns_for({rs.label: rs for rs in rules.values()}.values(), extra)
    rows = []
    for emp_id in wanted:
        if emp_id in frozen_rows:
            rows.append(frozen_rows[emp_id])
        elif emp_id in emps and days.get(emp_id):
            rows.append(build_row(emps[emp_id], tree, rules[emp_id], days[emp_id], columns))
    rows.sort(key=lambda r: (r.get("opd", ""), r.get("unit", ""), r.get("nama", ""), r.get("employee_id", 0)))
    for i, r in enumerate(rows, 1):
        r["no"] = i
        for c in columns:  # a frozen row lacks a column today's rules added: it counted 0 there
            r.setdefault(c.key, "" if c.kind == "text" else 0)
    used_rules = {rs.label: rs for rs in rules.values()}
    legend: dict[str, tuple[str, str, str, float | None]] = {}
    for rs in used_rules.values():
        for code, id_text, en_text, pct in rs.legend():
            legend.setdefault(code, (code, id_text, en_text, pct))
    lock = None
    if frozen and frozen == set(days) | set(frozen_rows):
        locks = LockMap(session, first, last, tree)
        lock = locks.lock_of(site_id, first) if site_id is not None else locks.by_month.get(first, {}).get(None)
    return MonthFigures(first, tree.by_id.get(site_id) if site_id else None, columns, rows, dict(days),
                        figures_hash(rows, days, columns), list(legend.values()), sorted(used_rules), lock,
                        len(frozen), totals(rows, columns), office_totals(rows, columns))


# --- lock ----------------------------------------------------------------------------------


@dataclass
class LockPreview:
    figures: MonthFigures
    counts: dict[str, int]
    changed: list[dict[str, Any]]  # employees whose figures differ from the last stored run
    pending_corrections: int
    problems: list[str]  # why it cannot be locked now (empty: it can)

    @property
    def sha256(self) -> str:
        return self.figures.sha256


def _today_at(tree: SiteTree, site_id: int | None) -> date:
    site = tree.by_id.get(site_id) if site_id else None
    return local_today(site.tz if site else "Asia/Jakarta")


def preview_lock(session: Session, month: str | date, site_id: int | None = None, *,
                 today: date | None = None) -> LockPreview:
    """What locking would freeze; nothing is written."""
    first, last = month_bounds(month)
    tree = SiteTree.load(session)
    fig = month_figures(session, first, site_id, today=today)
    problems = []
    if fig.frozen_employees:
        problems.append(tr(f"{fig.frozen_employees} pegawai di lingkup ini sudah dikunci untuk {first:%Y-%m}",
                           f"{fig.frozen_employees} employees in this scope are already locked for {first:%Y-%m}"))
    if last >= (today or _today_at(tree, site_id)):
        problems.append(tr(f"bulan {first:%Y-%m} belum selesai; kunci sesudah {last.isoformat()}",
                           f"month {first:%Y-%m} has not ended; lock it after {last.isoformat()}"))
    if not fig.rows:
        problems.append(tr("tidak ada pegawai yang dinilai pada periode ini", "nobody is judged in this period"))
    counts: Counter[str] = Counter()
    for ds in fig.days.values():
        for d in ds:
            counts.update(d.codes())
    sites = scope_sites(session, site_id, tree)
    stored: dict[int, list[tuple[date, str, float]]] = defaultdict(list)
    q = select(DailyStatus.employee_id, DailyStatus.day, DailyStatus.status, DailyStatus.deduction_pct).where(
        DailyStatus.day >= first, DailyStatus.day <= last)
    if sites is not None:
        q = q.where(DailyStatus.employee_id.in_(select(Employee.id).where(Employee.site_id.in_(sites))))
    for emp, day, status, pct in session.execute(q):
        stored[emp].append((day, status, round(pct, 4)))
    changed = []
    for r in fig.rows:
        emp = r["employee_id"]
        now = sorted((d.day, d.status, round(d.pct, 4)) for d in fig.days.get(emp, []))
        before = sorted(stored.get(emp, []))
        if now != before:
            was = sum(p for _, _, p in before)
            diff = sorted({d for d, *_ in set(now) ^ set(before)})
            changed.append({"employee_id": emp, "nip": r["nip"], "nama": r["nama"],
                            "before_pct": round(was, 4), "after_pct": r["potongan_pct"],
                            "days": [d.isoformat() for d in diff]})
    pending = session.scalar(select(func.count()).select_from(Correction).join(
        Employee, Employee.id == Correction.employee_id).where(
        Correction.approval == "pending", Correction.day >= first, Correction.day <= last,
        *([Employee.site_id.in_(sites)] if sites is not None else []))) or 0
    return LockPreview(fig, dict(sorted(counts.items())), changed, pending, problems)


def lock_month(session: Session, month: str | date, site_id: int | None, actor: str, confirm_sha256: str,
               *, reason: str = "", today: date | None = None) -> PeriodLock:
    """Freeze exactly the figures whose hash the approver confirmed. The caller commits."""
    first, _ = month_bounds(month)
    preview = preview_lock(session, first, site_id, today=today)
    if preview.problems:
        raise ReconcileError("; ".join(preview.problems))
    if not confirm_sha256 or preview.sha256 != confirm_sha256:
        raise ReconcileError(tr(
            "angka periode ini berubah sejak pratinjau (koreksi, cuti, keputusan atau punch baru); "
            "tinjau pratinjau terbaru lalu konfirmasi lagi",
            "this period's figures changed since the preview (a correction, leave, decision or new "
            "punch); review the new preview and confirm again"))
    fig = preview.figures
    emp_ids = sorted({r["employee_id"] for r in fig.rows} | set(fig.days))
    for chunk in range(0, len(emp_ids), 1000):
        session.execute(delete(DailyStatus).where(DailyStatus.employee_id.in_(emp_ids[chunk:chunk + 1000]),
                                                  DailyStatus.day >= first,
                                                  DailyStatus.day <= month_bounds(first)[1]))
    insert_days(session, [_result(d) for ds in fig.days.values() for d in ds])
    summary = {"employees": len(fig.rows), "codes": preview.counts, "sha256": fig.sha256,
               "potongan_rp": fig.totals.get("potongan_rp", 0), "tpp_pagu": fig.totals.get("tpp_pagu", 0),
               "columns": [c.key for c in fig.columns], "rulesets": fig.rulesets,
               "changed_since_last_run": len(preview.changed), "pending_corrections": preview.pending_corrections}
    lock = PeriodLock(site_id=site_id, month=first, locked_by=actor, locked_at=utcnow(), reason=reason,
                      figures_sha256=fig.sha256, summary=summary)
    session.add(lock)
    session.flush()
    now = utcnow()
    if fig.rows:
        session.execute(insert(RecapRow), [{"month": first, "lock_id": lock.id, "employee_id": r["employee_id"],
                                            "site_id": r.get("site_id"), "data": r, "built_at": now}
                                           for r in fig.rows])
    session.add(AuditLog(actor=actor, action="period.lock", entity="period",
                         entity_id=f"{site_id or '*'}:{first:%Y-%m}",
                         details={"reason": reason, **{k: v for k, v in summary.items() if k != "columns"}}))
    return lock


def _result(d: Day) -> Any:
    from hub.reconcile.engine import DayResult

    r = DayResult(d.employee_id, d.day, d.site_id, d.status, d.late_min, d.early_min, d.pct, list(d.punch_ids),
                  d.check_in, d.check_out, d.ruleset, d.shift, d.source)
    return r


def unlock_month(session: Session, month: str | date, site_id: int | None, actor: str, reason: str) -> None:
    """Lift a lock (a reason is required and audited); what it froze goes with it, and the
    next reconcile run recomputes the month."""
    if not (reason or "").strip():
        raise ReconcileError(tr("membuka kunci periode wajib disertai alasan", "unlocking a period needs a reason"))
    first, _ = month_bounds(month)
    lock = session.scalar(select(PeriodLock).where(
        PeriodLock.month == first, PeriodLock.site_id.is_(None) if site_id is None else PeriodLock.site_id == site_id))
    if lock is None:
        raise ReconcileError(tr(f"periode {first:%Y-%m} tidak terkunci", f"period {first:%Y-%m} is not locked"))
    session.execute(delete(RecapRow).where(RecapRow.lock_id == lock.id))
    session.delete(lock)
    session.add(AuditLog(actor=actor, action="period.unlock", entity="period",
                         entity_id=f"{site_id or '*'}:{first:%Y-%m}",
                         details={"reason": reason.strip(), "locked_by": lock.locked_by,
                                  "locked_at": lock.locked_at.isoformat() if lock.locked_at else None,
                                  "figures_sha256": lock.figures_sha256}))


def arrived_after_lock(session: Session, month: str | date, site_id: int | None) -> list[RawPunch]:
    """Punches of a locked month that reached the store after it was locked: kept, shown,
    never counted (unlock with a reason to count them)."""
    first, last = month_bounds(month)
    tree = SiteTree.load(session)
    locks = LockMap(session, first, last, tree)
    sites = scope_sites(session, site_id, tree)
    q = select(Employee.id, Employee.site_id)
    if sites is not None:
        q = q.where(Employee.site_id.in_(sites))
    since: dict[int, datetime] = {}
    for emp, sid in session.execute(q):
        lk = locks.lock_of(sid, first)
        if lk is not None:
            since[emp] = lk.locked_at
    if not since:
        return []
    lo = datetime.combine(first, datetime.min.time())
    hi = datetime.combine(last + timedelta(days=1), datetime.min.time())
    earliest = min(since.values())
    out = []
    for p in session.scalars(select(RawPunch).where(
            RawPunch.employee_id.in_(sorted(since)), RawPunch.local_time >= lo, RawPunch.local_time < hi,
            RawPunch.received_at > earliest).order_by(RawPunch.local_time)):
        if p.received_at > since[p.employee_id]:
            out.append(p)
    return out
