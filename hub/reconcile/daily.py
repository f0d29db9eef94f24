"""Daily statuses from the store: load punches, leave, corrections and rosters, run the pure
engine (hub.reconcile.engine), write daily_status. Raw punches are only ever read; a frozen
month's days (hub.reconcile.locks) are computed but never rewritten.

The review workflow lives beside it, one idea a module: rulesets (ruleset_store),
corrections, leave, shifts; each change is audited (changes).
"""

from __future__ import annotations

import time as _time
from collections import Counter
from collections.abc import Callable, Iterable
from datetime import date, datetime, timedelta
from typing import Any

import numpy as np
from sqlalchemy import Engine, delete, select
from sqlalchemy.orm import Session

from hub.i18n import tr
from hub.reconcile.changes import audit
from hub.reconcile.engine import (
    CorrectionIn,
    DayResult,
    EmployeeScope,
    LeaveIn,
    Punches,
    reconcile,
)
from hub.reconcile.errors import ReconcileError, month_bounds
from hub.reconcile.evidence import QUARANTINABLE, gather_evidence
from hub.reconcile.locks import LockMap
from hub.reconcile.models import (
    DailyStatus,
    LeaveEntry,
    RecapRow,
    ShiftRoster,
)
from hub.reconcile.rules import NO_DATA, WAITING, RulesetError
from hub.reconcile.ruleset_store import RulesResolver
from hub.store.models import Correction, Employee, utcnow
from hub.store.sites import SiteTree
from hub.times import fixed_offset_s, local_today, months_between, sqlite_dt

EXCEPTION_PREFIXES = ("TL", "PSW", "TA", "TK", NO_DATA, WAITING)
Progress = Callable[[str, int, int], None]


def _session(bind: Engine | Session) -> tuple[Session, bool]:
    if isinstance(bind, Session):
        return bind, False
    return Session(bind, expire_on_commit=False), True


def _punch_rows(session: Session, lo: datetime, hi: datetime, site_filter: list[int] | None) -> list[tuple]:
    """(employee_id, UTC epoch seconds, id, device_id, flags) of resolved punches in [lo, hi),
    straight off the driver: this is the biggest read of a run, and ORM row processing would
    double it.

    Punches are indexed by (employee, local time); no zone is more than 14 h from UTC, so
    the local range widened by that much holds every punch of the UTC range."""
    sqlite = session.get_bind().dialect.name == "sqlite"
    mark = "?" if sqlite else "%s"
    epoch = "CAST(strftime('%s', utc_time) AS INTEGER)" if sqlite else "CAST(EXTRACT(EPOCH FROM utc_time) AS BIGINT)"
    who = "SELECT id FROM employees"
    params: list[Any] = []
    if site_filter is not None:
        who += f" WHERE site_id IN ({', '.join([mark] * len(site_filter)) or 'NULL'})"
        params += site_filter
    widen = timedelta(hours=14)
    bounds = [lo - widen, hi + widen, lo, hi]
    params += [sqlite_dt(v) for v in bounds] if sqlite else bounds
    where = (f"employee_id IN ({who}) AND local_time >= {mark} AND local_time < {mark} "
             f"AND utc_time >= {mark} AND utc_time < {mark}")
    sql = f"SELECT employee_id, {epoch}, id, device_id, flags FROM raw_punches WHERE {where}"
    cur = session.connection().connection.dbapi_connection.cursor()
    try:
        if sqlite:
            # SQLite walks the index and fetches each row by id even when the range is most
            # of the table; a plain scan is then several times faster.
            # Counted on the index alone (the widened local range): close enough to choose.
            n_who = len(params) - 4
            cur.execute(f"SELECT count(*) FROM raw_punches WHERE employee_id IN ({who}) "
                        f"AND local_time >= ? AND local_time < ?", params[:n_who + 2])
            in_range = cur.fetchone()[0]
            cur.execute("SELECT max(id) FROM raw_punches")
            if in_range * 4 > (cur.fetchone()[0] or 0):
                sql = sql.replace("FROM raw_punches WHERE", "FROM raw_punches NOT INDEXED WHERE")
        cur.execute(sql, params)
        return cur.fetchall()
    finally:
        cur.close()


def _group(rows: list[tuple], offsets: dict[int, int]) -> tuple[Punches, dict[int, set[int]], dict[int, int]]:
    """Columnar grouping: one lexsort of (employee, local time, id), then list slices.

    Also returns the terminals each employee punched on, and the flags of the punches a
    ruleset could quarantine."""
    if not rows:
        return {}, {}, {}
    arr = np.array(rows, dtype=np.int64)
    emp_ids = np.fromiter(offsets, dtype=np.int64, count=len(offsets))
    arr = arr[np.isin(arr[:, 0], emp_ids)]
    if not len(arr):
        return {}, {}, {}
    used: dict[int, set[int]] = {}
    for key in np.unique((arr[:, 0] << 32) | arr[:, 3]).tolist():
        used.setdefault(key >> 32, set()).add(key & 0xFFFFFFFF)
    doubtful = arr[(arr[:, 4] & QUARANTINABLE) != 0]
    flagged = dict(zip(doubtful[:, 2].tolist(), doubtful[:, 4].tolist(), strict=True))
    off = np.zeros(int(arr[:, 0].max()) + 1, dtype=np.int64)
    off[emp_ids[emp_ids < len(off)]] = [offsets[int(e)] for e in emp_ids[emp_ids < len(off)]]
    local = arr[:, 1] + off[arr[:, 0]]
    order = np.lexsort((arr[:, 2], local, arr[:, 0]))
    emp, local, ids = arr[order, 0], local[order], arr[order, 2]
    cuts = np.flatnonzero(np.diff(emp)) + 1
    starts = [0, *cuts.tolist()]
    ends = [*cuts.tolist(), len(emp)]
    t_list, id_list, emp_list = local.tolist(), ids.tolist(), emp[starts].tolist()
    grouped = {e: (t_list[a:b], id_list[a:b]) for e, a, b in zip(emp_list, starts, ends, strict=True)}
    return grouped, used, flagged


def compute_period(session: Session, start: date, end: date, site_ids: Iterable[int] | None = None,
                   judge_until: date | None = None, progress: Progress | None = None, *,
                   employee_ids: Iterable[int] | None = None,
                   today: date | None = None) -> tuple[list[DayResult], list[EmployeeScope]]:
    """Daily results of [start, end] without writing anything (the pure engine on store data).

    Days after yesterday in the office's zone (or `judge_until`), before an employee joined
    or their office went live, and after they left are not judged."""
    say = progress or (lambda *_: None)
    site_filter = list(site_ids) if site_ids is not None else None
    tree = SiteTree.load(session)
    q = select(Employee.id, Employee.site_id, Employee.joined_on, Employee.left_on, Employee.active,
               Employee.employment_type)
    if site_filter is not None:
        q = q.where(Employee.site_id.in_(site_filter))
    if employee_ids is not None:
        q = q.where(Employee.id.in_(list(employee_ids)))
    scopes: list[EmployeeScope] = []
    offsets: dict[int, int] = {}
    homes: dict[int, int | None] = {}
    default_tz = "Asia/Jakarta"
    for emp_id, site_id, joined, left, active, kind in session.execute(q):
        site = tree.by_id.get(site_id)
        tz = site.tz if site is not None else default_tz
        last = end
        if left is not None:
            last = min(last, left)
        elif not active:
            continue
        # Today and later have not finished in the office's zone: not judged yet.
        until = judge_until or (today - timedelta(days=1) if today else (local_today(tz) - timedelta(days=1)))
        last = min(last, until)
        first = max(d for d in (start, joined, tree.go_live(site_id)) if d is not None)
        if first <= last:
            scopes.append(EmployeeScope(emp_id, site_id, first, last, (kind or "").lower() or None))
            offsets[emp_id] = fixed_offset_s(tz)
            homes[emp_id] = site_id
    say("load", 1, 5)
    wanted = set(offsets)
    resolver = RulesResolver(session, tree)
    # Read only what some slot window can reach: from the earliest window start (the day
    # before too when a shift crosses midnight) to the latest window end, in UTC.
    spans = [rs.span() for rs in resolver.all()]
    earliest, latest = min(a for a, _ in spans), max(b for _, b in spans)
    if latest >= 86400:
        earliest -= 86400
    offs = list(offsets.values()) or [0]
    midnight = datetime.combine(start, datetime.min.time())
    lo = midnight + timedelta(seconds=earliest - max(offs))
    hi = datetime.combine(end, datetime.min.time()) + timedelta(seconds=latest + 1 - min(offs))
    rows = _punch_rows(session, lo, hi, site_filter)
    punches, used, flagged = _group(rows, offsets)
    say("punches", 2, 5)
    corr = [CorrectionIn(c.id, c.employee_id, c.day, c.kind, c.punch_id, c.local_time, c.status)
            for c in session.scalars(select(Correction).where(
                Correction.approval == "approved", Correction.day >= start - timedelta(days=1),
                Correction.day <= end)) if c.employee_id in wanted]
    leaves = [LeaveIn(lv.employee_id, lv.date_from, lv.date_to, lv.type)
              for lv in session.scalars(select(LeaveEntry).where(
                  LeaveEntry.approval == "approved", LeaveEntry.date_to >= start,
                  LeaveEntry.date_from <= end)) if lv.employee_id in wanted]
    roster = {(r.employee_id, r.day): r.shift for r in session.scalars(select(ShiftRoster).where(
        ShiftRoster.day >= start - timedelta(days=1), ShiftRoster.day <= end)) if r.employee_id in wanted}
    evidence = gather_evidence(session, tree, start - timedelta(days=1), end, homes, used, flagged, today)
    say("rules", 3, 5)
    results = reconcile(scopes, punches, resolver, corr, leaves, roster, evidence)
    say("engine", 4, 5)
    return results, scopes


COLUMNS = ("employee_id", "day", "site_id", "status", "late_min", "early_min", "deduction_pct", "punch_ids",
           "check_in", "check_out", "shift", "source", "ruleset", "computed_at")


def _tuples(results: list[DayResult], now: datetime, sqlite: bool) -> list[tuple]:
    if sqlite:  # the text SQLAlchemy's SQLite types store
        now_s = sqlite_dt(now)
        return [(r.employee_id, r.day.isoformat(), r.site_id, r.status, r.late_min, r.early_min,
                 r.deduction_pct, ",".join(map(str, r.punch_ids)),
                 r.check_in and sqlite_dt(r.check_in), r.check_out and sqlite_dt(r.check_out),
                 r.shift, r.source, r.ruleset, now_s) for r in results]
    return [(r.employee_id, r.day, r.site_id, r.status, r.late_min, r.early_min, r.deduction_pct,
             ",".join(map(str, r.punch_ids)), r.check_in, r.check_out, r.shift, r.source, r.ruleset, now)
            for r in results]


def _write(session: Session, results: list[DayResult], start: date, end: date,
           site_ids: list[int] | None, locks: LockMap) -> None:
    """Replace the stored days of [start, end] by `results`; frozen employee-months stay."""
    scope = []
    if site_ids is not None:
        scope.append(DailyStatus.employee_id.in_(select(Employee.id).where(Employee.site_id.in_(site_ids))))
    for month in months_between(start, end):
        _, m_last = month_bounds(month)
        sites = locks.locked_sites(month)
        if None in sites:
            continue  # every office of that month is locked
        cond = [DailyStatus.day >= max(start, month), DailyStatus.day <= min(end, m_last), *scope]
        if any(m == month for m, _ in locks.frozen):
            cond.append(~DailyStatus.employee_id.in_(select(RecapRow.employee_id).where(RecapRow.month == month)))
        if sites:
            cond.append(~DailyStatus.employee_id.in_(select(Employee.id).where(Employee.site_id.in_(sites))))
        session.execute(delete(DailyStatus).where(*cond))
    insert_days(session, results)


def insert_days(session: Session, results: list[DayResult]) -> None:
    sqlite = session.get_bind().dialect.name == "sqlite"
    rows = _tuples(results, utcnow(), sqlite)
    if not rows:
        return
    raw = session.connection().connection.dbapi_connection
    if sqlite:
        raw.executemany(f"INSERT INTO daily_status ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})",
                        rows)
    else:
        with raw.cursor() as cur, cur.copy(f"COPY daily_status ({', '.join(COLUMNS)}) FROM STDIN") as cp:
            for row in rows:
                cp.write_row(row)


def reconcile_period(bind: Engine | Session, start: date, end: date, site_ids: Iterable[int] | None = None,
                     *, actor: str = "system", judge_until: date | None = None,
                     progress: Progress | None = None, today: date | None = None) -> dict[str, Any]:
    """Recompute daily_status of [start, end] (inclusive); frozen employee-months (a period
    lock) are left as they are.

    Returns a summary: days written, employees, counts per status code, locked months skipped.
    Given a Session, the caller commits; given an Engine, it commits here.
    """
    if end < start:
        raise ReconcileError(tr("tanggal akhir sebelum tanggal mulai", "the end date is before the start date"))
    t0 = _time.perf_counter()
    session, own = _session(bind)
    try:
        site_list = list(site_ids) if site_ids is not None else None
        results, scopes = compute_period(session, start, end, site_list, judge_until, progress, today=today)
        locks = LockMap(session, start, end)
        kept = [r for r in results if not locks.is_frozen(r.employee_id, r.site_id, r.day)] \
            if locks.by_month or locks.frozen else results
        _write(session, kept, start, end, site_list, locks)
        if progress:
            progress("write", 5, 5)
        codes: Counter[str] = Counter()
        for r in kept:
            codes.update(r.codes())
        skipped = {f"{r.day:%Y-%m}" for r in results} - {f"{r.day:%Y-%m}" for r in kept} if len(kept) < len(
            results) else set()
        summary = {"start": start.isoformat(), "end": end.isoformat(), "employees": len(scopes),
                   "days": len(kept), "skipped_locked": len(results) - len(kept),
                   "locked_months": sorted(skipped | {f"{m:%Y-%m}" for m in locks.by_month}),
                   "codes": dict(sorted(codes.items())),
                   "seconds": round(_time.perf_counter() - t0, 3)}
        audit(session, actor, "reconcile.run", "daily_status", None,
               **{k: v for k, v in summary.items() if k != "codes"})
        if own:
            session.commit()
        return summary
    except RulesetError as exc:
        if own:
            session.rollback()
        raise ReconcileError(str(exc)) from None
    finally:
        if own:
            session.close()


def daily_exceptions(session: Session, day: date, site_id: int | None = None) -> list[DailyStatus]:
    """Stored days that need a reviewer: lateness, early leave, missing punches, TK."""
    q = select(DailyStatus).where(DailyStatus.day == day)
    if site_id is not None:
        q = q.where(DailyStatus.site_id == site_id)
    rows = session.scalars(q.order_by(DailyStatus.site_id, DailyStatus.employee_id))
    return [r for r in rows if any(c.startswith(EXCEPTION_PREFIXES) for c in r.status.split("+"))]


def daily_rows(session: Session, start: date, end: date, site_ids: Iterable[int] | None = None
               ) -> list[DailyStatus]:
    q = select(DailyStatus).where(DailyStatus.day >= start, DailyStatus.day <= end)
    if site_ids is not None:
        q = q.where(DailyStatus.site_id.in_(list(site_ids)))
    return list(session.scalars(q.order_by(DailyStatus.employee_id, DailyStatus.day)))
