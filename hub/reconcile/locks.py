"""Which months of which offices are frozen, and the refusal that says so.

A lock covers its office and every unit below it (site_id NULL: every office). What a lock
froze is kept as recap_rows (one per employee, with the lock's id) next to the employees'
daily_status rows of that month; an employee-month with a recap row, or under a lock, takes
no change from anyone: corrections, voids, leave, rosters, decisions, recomputation.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.i18n import tr
from hub.reconcile.errors import ReconcileError
from hub.reconcile.models import PeriodLock, RecapRow
from hub.store.models import Employee
from hub.store.sites import SiteTree


class LockMap:
    """The locks of some months, resolved against the office tree."""

    def __init__(self, session: Session, start: date, end: date, tree: SiteTree | None = None):
        self.tree = tree or SiteTree.load(session)
        self.by_month: dict[date, dict[int | None, PeriodLock]] = {}
        for lk in session.scalars(select(PeriodLock).where(PeriodLock.month >= start.replace(day=1),
                                                           PeriodLock.month <= end)):
            self.by_month.setdefault(lk.month, {})[lk.site_id] = lk
        self.frozen: set[tuple[date, int]] = set(session.execute(
            select(RecapRow.month, RecapRow.employee_id).where(RecapRow.month >= start.replace(day=1),
                                                               RecapRow.month <= end)).all())

    def lock_of(self, site_id: int | None, day: date) -> PeriodLock | None:
        locks = self.by_month.get(day.replace(day=1))
        if not locks:
            return None
        if None in locks:
            return locks[None]
        return next((locks[s] for s in self.tree.ancestors(site_id) if s in locks), None)

    def is_frozen(self, employee_id: int, site_id: int | None, day: date) -> bool:
        return (day.replace(day=1), employee_id) in self.frozen or self.lock_of(site_id, day) is not None

    def locked_sites(self, month: date) -> set[int | None]:
        """Every site a lock covers in that month (None in it: all of them)."""
        locks = self.by_month.get(month.replace(day=1), {})
        if None in locks:
            return {None}
        out: set[int | None] = set()
        for sid in locks:
            out.update(self.tree.subtree(sid) if sid is not None else ())
        return out


def refuse_if_frozen(session: Session, employee: Employee, days: Iterable[date], what: str = "") -> None:
    """ReconcileError when any of `days` lies in a month frozen for this employee."""
    days = sorted(set(days))
    if not days:
        return
    locks = LockMap(session, days[0], days[-1])
    for day in days:
        if locks.is_frozen(employee.id, employee.site_id, day):
            label = f"{day:%Y-%m}"
            raise ReconcileError(tr(
                f"periode {label} sudah dikunci{' (' + what + ')' if what else ''}; tidak ada yang dapat "
                f"mengubah angkanya. Buka dengan `hub period unlock --month {label}` dan alasan bila perlu",
                f"period {label} is locked{' (' + what + ')' if what else ''}; nothing can change its "
                f"figures. Unlock it with `hub period unlock --month {label}` and a reason if needed"))


