"""Reconciliation against the store: load, run the pure engine, write daily_status.

Also the review workflow the CLI and the web console share: corrections (propose, approve,
reject), leave entries, shift rosters and rulesets. Every change is written to audit_log; a
frozen month (hub.reconcile.locks) refuses changes until it is unlocked with a reason. Raw
punches are only ever read.
"""

from __future__ import annotations

import time as _time
from collections import Counter
from collections.abc import Callable, Iterable
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
from sqlalchemy import Engine, delete, select
from sqlalchemy.orm import Session

from hub.i18n import tr
from hub.reconcile.engine import (
    CorrectionIn,
    DayResult,
    EmployeeScope,
    LeaveIn,
    Punches,
    reconcile,
)
from hub.reconcile.errors import ReconcileError, month_bounds, months_between
from hub.reconcile.evidence import QUARANTINABLE, gather_evidence
from hub.reconcile.locks import LockMap, refuse_if_frozen
from hub.reconcile.models import (
    DailyStatus,
    LeaveEntry,
    RecapRow,
    RulesetRow,
    RulesetSite,
    ShiftRoster,
)
from hub.reconcile.rules import BUILTIN, DAY_CODES, NO_DATA, WAITING, Ruleset, RulesetError, builtin, parse_ruleset
from hub.store.ingest import sqlite_dt
from hub.store.models import AuditLog, Correction, Employee, RawPunch, utcnow
from hub.store.sites import SiteTree

__all__ = ["ReconcileError", "month_bounds"]

CORRECTION_KINDS = ("add_punch", "void_punch", "set_status")
PUNCH_STATES = ("check_in", "check_out", "break_out", "break_in")
EXCEPTION_PREFIXES = ("TL", "PSW", "TA", "TK", NO_DATA, WAITING)
Progress = Callable[[str, int, int], None]


def _audit(session: Session, actor: str, action: str, entity: str, entity_id: Any,
           **details: Any) -> None:
    session.add(AuditLog(actor=actor, action=action, entity=entity,
                         entity_id=None if entity_id is None else str(entity_id), details=details))


def _session(bind: Engine | Session) -> tuple[Session, bool]:
    if isinstance(bind, Session):
        return bind, False
    return Session(bind, expire_on_commit=False), True


# --- rulesets ------------------------------------------------------------------------------


def stored_bases(session: Session) -> Callable[[str], Ruleset | None]:
    """`base = "name"` lookup for a ruleset being loaded: the newest stored version of that
    name, else the built-in one."""
    def find(name: str) -> Ruleset | None:
        row = session.scalar(select(RulesetRow).where(RulesetRow.name == name)
                             .order_by(RulesetRow.version.desc()).limit(1))
        if row is not None:
            return parse_ruleset(row.content, f"rulesets#{row.id} ({row.name}@{row.version})", find)
        return builtin(name) if name in BUILTIN else None
    return find


def load_ruleset(session: Session, text: str, *, source: str = "ruleset", actor: str = "system",
                 site_ids: Iterable[int | None] = ()) -> tuple[RulesetRow, Ruleset]:
    """Store a ruleset file (validated) and optionally assign it to sites (None = default).
    Returns the row and the parsed ruleset (its `warnings` list what it inherited)."""
    rs = parse_ruleset(text, source, stored_bases(session))
    row = session.scalar(select(RulesetRow).where(RulesetRow.name == rs.name,
                                                  RulesetRow.version == rs.version))
    if row is not None and row.content != text:
        raise ReconcileError(tr(f"ruleset {rs.label} sudah ada dengan isi lain; naikkan 'version'",
                                f"ruleset {rs.label} exists with other content; raise 'version'"))
    if row is None:
        row = RulesetRow(name=rs.name, version=rs.version, valid_from=rs.valid_from,
                         valid_to=rs.valid_to, content=text, loaded_by=actor)
        session.add(row)
        session.flush()
        _audit(session, actor, "ruleset.load", "ruleset", row.id, name=rs.name, version=rs.version,
               source=source, warnings=list(rs.warnings))
    for site_id in site_ids:
        assign_ruleset(session, rs.name, site_id, actor=actor)
    return row, rs


def assign_ruleset(session: Session, name: str, site_id: int | None, *, actor: str = "system") -> None:
    if session.scalar(select(RulesetRow.id).where(RulesetRow.name == name).limit(1)) is None:
        raise ReconcileError(tr(f"ruleset '{name}' belum dimuat; jalankan `hub ruleset load`",
                                f"ruleset '{name}' is not loaded; run `hub ruleset load`"))
    exists = session.scalar(select(RulesetSite).where(
        RulesetSite.ruleset_name == name,
        RulesetSite.site_id.is_(None) if site_id is None else RulesetSite.site_id == site_id))
    if exists is None:
        session.add(RulesetSite(site_id=site_id, ruleset_name=name))
        _audit(session, actor, "ruleset.assign", "ruleset", name, site_id=site_id)


class RulesResolver:
    """(site, day) -> the ruleset in force: the site's own, else the nearest office above
    it with one, else the default, else the built-in one."""

    def __init__(self, session: Session, tree: SiteTree | None = None):
        self.tree = tree or SiteTree.load(session)
        self.rows: dict[str, list[tuple[Ruleset, date, int]]] = {}
        bases = stored_bases(session)
        for row in session.scalars(select(RulesetRow)):
            try:
                rs = parse_ruleset(row.content, f"rulesets#{row.id} ({row.name}@{row.version})", bases)
            except RulesetError as exc:
                raise ReconcileError(tr(
                    f"{exc}. Ruleset tersimpan ini tidak lolos pemeriksaan hub versi ini: perbaiki berkasnya, "
                    "naikkan 'version', lalu `hub ruleset load`",
                    f"{exc}. This stored ruleset fails this hub version's checks: fix the file, raise "
                    "'version', then `hub ruleset load`")) from None
            self.rows.setdefault(row.name, []).append((rs, row.valid_from, row.version))
        self.by_site: dict[int | None, list[str]] = {}
        for a in session.scalars(select(RulesetSite).order_by(RulesetSite.id)):
            self.by_site.setdefault(a.site_id, []).append(a.ruleset_name)
        self.cache: dict[tuple[int | None, date], Ruleset] = {}

    def all(self) -> list[Ruleset]:
        """Every ruleset a day could be judged by (stored ones and the built-in default)."""
        return [builtin(), *(rs for rows in self.rows.values() for rs, _, _ in rows)]

    def _find(self, names: list[str], day: date) -> Ruleset | None:
        best = None
        for name in names:
            for rs, valid_from, version in self.rows.get(name, ()):
                if rs.covers(day) and (best is None or (valid_from, version) > best[0]):
                    best = ((valid_from, version), rs)
        return best[1] if best else None

    def __call__(self, site_id: int | None, day: date) -> Ruleset:
        key = (site_id, day)
        rs = self.cache.get(key)
        if rs is None:
            for sid in self.tree.ancestors(site_id):
                if sid in self.by_site:
                    rs = self._find(self.by_site[sid], day)
                    if rs is not None:
                        break
            rs = rs or self._find(self.by_site.get(None, []), day) or builtin()
            self.cache[key] = rs
        return rs


# --- corrections ---------------------------------------------------------------------------


def _employee(session: Session, employee_id: int) -> Employee:
    emp = session.get(Employee, employee_id)
    if emp is None:
        raise ReconcileError(tr(f"pegawai #{employee_id} tidak ditemukan", f"employee #{employee_id} not found"))
    return emp


def valid_status_codes(rs: Ruleset | None = None) -> tuple[str, ...]:
    rs = rs or builtin()
    return ("H", "TK", *DAY_CODES, *rs.leave)


def rules_of(session: Session, employee: Employee, day: date) -> Ruleset:
    """The ruleset an employee's day is judged by (their office's, their employment type's)."""
    return RulesResolver(session)(employee.site_id, day).for_type(employee.employment_type)


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
    emp = _employee(session, employee_id)
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
    _audit(session, author, "correction.propose", "correction", c.id, employee_id=employee_id,
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
    refuse_if_frozen(session, _employee(session, c.employee_id),
                     _correction_days(session, c, c.day, c.kind, c.punch_id, c.local_time), tr("koreksi", "correction"))
    c.approval, c.approved_by, c.approved_at = approval, actor, utcnow()
    _audit(session, actor, f"correction.{'approve' if approval == 'approved' else 'reject'}",
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


# --- leave and rosters ---------------------------------------------------------------------


def add_leave(session: Session, *, employee_id: int, start: date, end: date, type: str,
              author: str, reference: str = "", note: str = "") -> LeaveEntry:
    emp = _employee(session, employee_id)
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
    _audit(session, author, "leave.add", "leave", entry.id, employee_id=employee_id,
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


def set_roster(session: Session, entries: Iterable[tuple[int, date, str]], actor: str = "system") -> int:
    """Put (employee, day, shift) rows into the roster, replacing that day's shift."""
    n = 0
    for employee_id, day, shift in entries:
        refuse_if_frozen(session, _employee(session, employee_id), [day], tr("roster shift", "shift roster"))
        row = session.scalar(select(ShiftRoster).where(ShiftRoster.employee_id == employee_id,
                                                       ShiftRoster.day == day))
        if row is None:
            session.add(ShiftRoster(employee_id=employee_id, day=day, shift=shift))
        else:
            row.shift = shift
        n += 1
    _audit(session, actor, "roster.set", "shift_roster", None, rows=n)
    return n


# --- reconcile -----------------------------------------------------------------------------


@lru_cache(maxsize=64)
def _offset_s(tz: str) -> int:
    off = datetime(2026, 1, 1, tzinfo=ZoneInfo(tz)).utcoffset()
    return int(off.total_seconds()) if off else 0


def _yesterday(tz: str) -> date:
    return datetime.now(ZoneInfo(tz)).date() - timedelta(days=1)


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
        until = judge_until or (today - timedelta(days=1) if today else _yesterday(tz))
        last = min(last, until)
        first = max(d for d in (start, joined, tree.go_live(site_id)) if d is not None)
        if first <= last:
            scopes.append(EmployeeScope(emp_id, site_id, first, last, (kind or "").lower() or None))
            offsets[emp_id] = _offset_s(tz)
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
        _audit(session, actor, "reconcile.run", "daily_status", None,
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


# --- roster import -------------------------------------------------------------------------


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
