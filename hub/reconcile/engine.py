"""The pure reconciler: punches + approved corrections + leave + rules -> daily statuses.

No I/O here. Punch times are integer seconds on the employee's local wall clock (seconds
since 1970-01-01 00:00 local), grouped once per employee and sorted by (time, id), so a day
is a bisect into one list. Reconciling the same input twice gives the same output, and the
order in which punches arrived (their ids aside) does not matter.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right, insort
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from hub.reconcile.rules import NO_DATA, WAITING, Ruleset, bracket

EPOCH = datetime(1970, 1, 1)
EPOCH_DAY = EPOCH.date()
ONE_DAY = timedelta(days=1)
DAY_S = 86400


def local_seconds(local: datetime) -> int:
    return int((local - EPOCH).total_seconds())


def day_base(day: date) -> int:
    return (day - EPOCH_DAY).days * DAY_S


def to_local(seconds: int) -> datetime:
    return EPOCH + timedelta(seconds=seconds)


@dataclass(frozen=True, slots=True)
class EmployeeScope:
    """Who is judged, on which days (inclusive), under which site's rules; `kind` is the
    employment type (pns, pppk, tks, honorer ...) that picks the ruleset's variant."""

    employee_id: int
    site_id: int | None
    first: date
    last: date
    kind: str | None = None


@dataclass(frozen=True, slots=True)
class CorrectionIn:
    id: int
    employee_id: int
    day: date
    kind: str  # add_punch | void_punch | set_status
    punch_id: int | None = None
    local_time: datetime | None = None
    status: str | None = None


@dataclass(frozen=True, slots=True)
class LeaveIn:
    employee_id: int
    start: date
    end: date
    code: str


@dataclass(frozen=True)
class Evidence:
    """What the hub doubts or lacks, gathered by the store; the engine stays pure.

    - `flags`: punch id -> PunchFlag bits, for flagged punches only. A punch whose flags meet
      the ruleset's quarantine waits for a reviewer unless its id is in `accepted` (counts)
      or `rejected` (never counts).
    - `terminals`: employee -> the keys of the terminals their punches come from ("dev:12",
      or "site:3" for an office without one); `with_data`: key -> the days it holds data.
      A day with no punch at all, on which none of the employee's terminals held data, is
      not absence: it waits (TD) until a reviewer decides for that terminal and day
      (`decisions`: (key, day) -> "present" | "absent").
    """

    flags: dict[int, int] = field(default_factory=dict)
    accepted: frozenset[int] = frozenset()
    rejected: frozenset[int] = frozenset()
    terminals: dict[int, tuple[str, ...]] = field(default_factory=dict)
    with_data: dict[str, set[date]] = field(default_factory=dict)
    decisions: dict[tuple[str, date], str] = field(default_factory=dict)

    def no_data(self, employee_id: int, day: date) -> tuple[str, ...] | None:
        """The employee's terminals when none of them held data that day, else None."""
        keys = self.terminals.get(employee_id)
        if keys is None:
            return None  # not tracked: an engine run without coverage (tests, what-ifs)
        if any(day in self.with_data.get(k, ()) for k in keys):
            return None
        return keys


NO_EVIDENCE = Evidence()


@dataclass(slots=True)
class DayResult:
    employee_id: int
    day: date
    site_id: int | None
    status: str  # codes joined by "+": H, TL1..4, PSW1..4, TAM, TAP, TK, TD, TV, leave, LIBUR, CBER, OFF
    late_min: int = 0
    early_min: int = 0
    deduction_pct: float = 0.0
    punch_ids: list[int] = field(default_factory=list)  # negative: an approved add_punch correction
    check_in: datetime | None = None
    check_out: datetime | None = None
    ruleset: str = ""
    shift: str | None = None
    source: str = "punch"  # punch | correction | leave | calendar | decision
    terminals: tuple[str, ...] = ()  # TD: the terminals that held no data
    waiting: list[int] = field(default_factory=list)  # TV: quarantined punches a reviewer must decide

    def codes(self) -> list[str]:
        return self.status.split("+")


Punches = dict[int, tuple[list[int], list[int]]]  # employee -> (sorted times, ids)


def group_punches(rows: Iterable[tuple[int, int, int]]) -> Punches:
    """(employee_id, local seconds, punch id) in any order -> per-employee sorted lists."""
    tmp: dict[int, list[tuple[int, int]]] = {}
    for emp, t, pid in rows:
        tmp.setdefault(emp, []).append((t, pid))
    out: Punches = {}
    for emp, items in tmp.items():
        items.sort()
        out[emp] = ([t for t, _ in items], [p for _, p in items])
    return out


def apply_corrections(punches: Punches, corrections: Iterable[CorrectionIn], voided: set[int]
                      ) -> dict[tuple[int, date], CorrectionIn]:
    """Add punches (copies per touched employee), collect voided ids; return set_status per day."""
    status: dict[tuple[int, date], CorrectionIn] = {}
    touched: set[int] = set()
    for c in sorted(corrections, key=lambda c: c.id):
        if c.kind == "set_status" and c.status:
            status[(c.employee_id, c.day)] = c
            continue
        if c.employee_id not in touched:
            times, ids = punches.get(c.employee_id, ([], []))
            punches[c.employee_id] = (list(times), list(ids))
            touched.add(c.employee_id)
        times, ids = punches[c.employee_id]
        if c.kind == "add_punch" and c.local_time is not None:
            pairs = list(zip(times, ids, strict=True))
            insort(pairs, (local_seconds(c.local_time), -c.id))
            punches[c.employee_id] = ([t for t, _ in pairs], [p for _, p in pairs])
        elif c.kind == "void_punch" and c.punch_id is not None:
            voided.add(c.punch_id)
    return status


_SPANS: dict[int, tuple] = {}  # id(slots) -> (slots, earliest start, latest end)


def _span(slots) -> tuple:  # type: ignore[no-untyped-def]
    span = _SPANS.get(id(slots))
    if span is None or span[0] is not slots:
        span = _SPANS[id(slots)] = (slots, min(s.lo for s in slots), max(s.hi for s in slots))
    return span


def _candidates(times: list[int], ids: list[int], lo: int, hi: int, ded: int,
                blocked: set[int] | frozenset[int]) -> list[tuple[int, int, int]]:
    """(time, id, run) of the punches in [lo, hi], in time order.

    Punches each within `ded` seconds of the one before form a run: one action (a double
    punch, or the same punch from two sources). A run touching a voided punch, or a punch
    last night's shift took, is out as a whole. A run is named by its first index; it may
    begin before the window or end after it, its members inside the window stay candidates.
    """
    i, j = bisect_left(times, lo), bisect_right(times, hi)
    if i == j:
        return []
    k = i
    while k > 0 and times[k] - times[k - 1] <= ded:
        k -= 1
    out: list[tuple[int, int, int]] = []
    append = out.append
    run, prev = k, times[k]
    for z in range(k, j):
        t = times[z]
        if t - prev > ded:
            run = z
        prev = t
        if z >= i:
            append((t, ids[z], run))
    if blocked:
        bad: set[int] = set()
        n, run, prev = len(times), k, times[k]
        for z in range(k, n):
            t = times[z]
            if t - prev > ded:
                if z >= j:
                    break
                run = z
            prev = t
            if ids[z] in blocked:
                bad.add(run)
        if bad:
            out = [c for c in out if c[2] not in bad]
    return out


def _judge(res: DayResult, rs: Ruleset, slots, cand: list[tuple[int, int, int]],
           base: int) -> list[tuple[int, int]]:
    """Fill `res` from the day's candidates; returns the (time, id) of the punches it used.

    Each punch belongs to the slot whose window holds its time; inside a slot the slot's
    `choose` rule picks (first, last, nearest to `at`), near-duplicates included. One run
    (action) fills at most one slot: the earlier slot that picked it keeps it."""
    d = rs.deductions
    if not cand:
        res.status, res.deduction_pct, res.punch_ids = "TK", d.absent_pct, []
        res.check_in = res.check_out = None
        res.late_min = res.early_min = 0
        return []
    used_runs: list[int] = []
    chosen: list[tuple[int, int]] = []
    codes: list[str] = []
    pct = 0.0
    late_min = early_min = 0
    check_in = check_out = None
    # Slots come sorted by window start and their windows do not overlap (rules.py), and
    # candidates are in time order: one pass hands each slot its slice.
    p, n = 0, len(cand)
    for s in slots:
        a, b = base + s.lo, base + s.hi
        while p < n and cand[p][0] < a:
            p += 1
        q = p
        while q < n and cand[q][0] <= b:
            q += 1
        inwin = cand[p:q]
        p = q
        if used_runs and inwin:
            inwin = [c for c in inwin if c[2] not in used_runs]
        if not inwin:
            if s.required:
                codes.append(s.missing)
                pct += d.missing_in_pct if s.kind == "in" else d.missing_out_pct if s.kind == "out" \
                    else d.missing_other_pct
            continue
        if len(inwin) == 1 or s.choose == "first":
            t, pid, run = inwin[0]
        elif s.choose == "last":  # the latest time; of the same punch from two sources, the first stored
            t, pid, run = inwin[-1]
            if inwin[-2][0] == t:
                t, pid, run = next(c for c in inwin if c[0] == t)
        else:
            target = base + s.at
            t, pid, run = min(inwin, key=lambda c: (abs(c[0] - target), c[0], c[1]))
        used_runs.append(run)
        chosen.append((t, pid))
        if s.kind == "in":
            check_in = t
            late = t - (base + s.at)
            if late > rs.late_after_seconds:
                minutes = max(1, late // 60)
                br = bracket(minutes, d.brackets_minutes)
                late_min += minutes
                if br:
                    codes.append(f"TL{br}")
                    pct += d.late_pct[br - 1]
        elif s.kind == "out":
            check_out = t
            early = (base + s.at) - t
            if early > rs.early_grace_seconds:
                minutes = -(-early // 60)
                br = bracket(minutes, d.brackets_minutes)
                early_min += minutes
                if br:
                    codes.append(f"PSW{br}")
                    pct += d.early_pct[br - 1]
    if not chosen:  # punches only between windows: none of them is the day's
        res.status, res.deduction_pct, res.punch_ids = "TK", d.absent_pct, []
        res.check_in = res.check_out = None
        res.late_min = res.early_min = 0
        return []
    res.check_in = to_local(check_in) if check_in is not None else None
    res.check_out = to_local(check_out) if check_out is not None else None
    res.late_min, res.early_min = late_min, early_min
    res.status = "+".join(codes) or "H"
    res.deduction_pct = round(pct, 4)
    res.punch_ids = [pid for _, pid in chosen]
    return chosen


def _figures(res: DayResult) -> tuple:
    return (res.status, res.deduction_pct, res.late_min, res.early_min)


def _evaluate(res: DayResult, rs: Ruleset, slots, times: list[int], ids: list[int],
              blocked: set[int] | frozenset[int], base: int, ev: Evidence) -> list[tuple[int, int]]:
    """Judge one day; doubtful punches (the ruleset's quarantine) wait for a reviewer: when
    counting them or not would give different figures, the day is TV at 0 %."""
    span = _span(slots)
    cand = _candidates(times, ids, base + span[1], base + span[2], rs.dedupe_seconds, blocked)
    waiting: list[int] = []
    if ev.flags and cand:
        mask = rs.quarantine_mask
        doubtful = [c for c in cand if ev.flags.get(c[1], 0) & mask and c[1] not in ev.accepted]
        if doubtful:
            rejected = {c[1] for c in doubtful if c[1] in ev.rejected}
            waiting = [c[1] for c in doubtful if c[1] not in rejected]
            if rejected:
                cand = [c for c in cand if c[1] not in rejected]
    if waiting:
        pending = set(waiting)
        sure = DayResult(res.employee_id, res.day, res.site_id, "H")
        used_sure = _judge(sure, rs, slots, [c for c in cand if c[1] not in pending], base)
        used = _judge(res, rs, slots, cand, base)
        if _figures(sure) == _figures(res):
            res.punch_ids, res.check_in, res.check_out = sure.punch_ids, sure.check_in, sure.check_out
            return used_sure
        res.status, res.deduction_pct, res.late_min, res.early_min = WAITING, 0.0, 0, 0
        res.waiting = waiting
        return used
    return _judge(res, rs, slots, cand, base)


def _no_data(res: DayResult, rs: Ruleset, ev: Evidence) -> None:
    """A TK day on which none of the employee's terminals held data is not absence."""
    keys = ev.no_data(res.employee_id, res.day)
    if keys is None:
        return
    decided = [ev.decisions.get((k, res.day)) for k in keys]
    if "present" in decided:
        res.status, res.deduction_pct, res.source = "H", 0.0, "decision"
    elif "absent" in decided:
        res.source = "decision"  # TK stands, as judged
    else:
        res.status, res.deduction_pct = NO_DATA, 0.0
    res.terminals = keys


def _calendar(site_id: int | None, first: date, n_days: int,
              rules_for: Callable[[int | None, date], Ruleset]) -> list[tuple]:
    """Per day of a site: (day, base seconds, ruleset, judged at all, holiday code, slots)."""
    cal = []
    for i in range(n_days):
        day = first + timedelta(days=i)
        rs = rules_for(site_id, day)
        work = rs.roster or rs.is_work_day(day)
        holiday = None if rs.work_on_holidays else rs.holidays.get(day)
        cal.append((day, day_base(day), rs, work, holiday, None if rs.roster else rs.slots_for(day)))
    return cal


def status_pct(code: str, rs: Ruleset) -> float:
    """TPP deduction of a day whose status was set (leave, TK, H, holiday ...)."""
    if code == "TK":
        return rs.deductions.absent_pct
    lt = rs.leave.get(code)
    return lt.pct if lt else 0.0


def reconcile(employees: Iterable[EmployeeScope], punches: Punches,
              rules_for: Callable[[int | None, date], Ruleset],
              corrections: Iterable[CorrectionIn] = (), leaves: Iterable[LeaveIn] = (),
              roster: dict[tuple[int, date], str] | None = None,
              evidence: Evidence | None = None) -> list[DayResult]:
    """Every judged day of every employee, in (employee, day) order."""
    roster = roster or {}
    ev = evidence or NO_EVIDENCE
    punches = dict(punches)  # corrections replace lists in this copy, never the caller's
    voided: set[int] = set()
    set_status = apply_corrections(punches, corrections, voided)
    leave_by_emp: dict[int, list[LeaveIn]] = {}
    for lv in leaves:
        leave_by_emp.setdefault(lv.employee_id, []).append(lv)
    out: list[DayResult] = []
    scopes = sorted(employees, key=lambda e: e.employee_id)
    if not scopes:
        return out
    cal_first = min(e.first for e in scopes) - ONE_DAY  # a day early: last night's shift
    n_days = (max(e.last for e in scopes) - cal_first).days + 1
    calendars: dict[int | None, list[tuple]] = {}
    empty: tuple[list[int], list[int]] = ([], [])
    no_ids: frozenset[int] = frozenset()
    for emp in scopes:
        cal = calendars.get(emp.site_id)
        if cal is None:
            cal = calendars[emp.site_id] = _calendar(emp.site_id, cal_first, n_days, rules_for)
        times, ids = punches.get(emp.employee_id, empty)
        emp_leaves = leave_by_emp.get(emp.employee_id, ())
        consumed: set[int] | frozenset[int] = no_ids
        first_i = (emp.first - cal_first).days
        for idx in range(first_i - 1, (emp.last - cal_first).days + 1):
            day, base, rs, work, holiday, day_slots = cal[idx]
            if emp.kind is not None and rs.types:
                rs = rs.for_type(emp.kind)
            shift = roster.get((emp.employee_id, day)) if rs.roster else None
            if not work:
                consumed = no_ids
                continue
            res = DayResult(emp.employee_id, day, emp.site_id, "H", ruleset=rs.label, shift=shift)
            override = set_status.get((emp.employee_id, day)) if set_status else None
            leave = next((lv for lv in emp_leaves if lv.start <= day <= lv.end), None) if emp_leaves else None
            slots = None
            if override is not None:
                res.status, res.source = str(override.status), "correction"
                res.deduction_pct = status_pct(res.status, rs)
            elif holiday is not None:
                res.status, res.source = holiday, "calendar"
            elif rs.roster and (shift is None or shift not in rs.shifts):
                res.status, res.source = "OFF", "calendar"
            elif leave is not None:
                res.status, res.source = leave.code, "leave"
                res.deduction_pct = status_pct(leave.code, rs)
            else:
                slots = rs.shifts[shift] if shift is not None else day_slots
                if idx < first_i and _span(slots)[2] < DAY_S:
                    consumed = no_ids  # nothing of that day reaches into the first judged day
                    continue
                used = _evaluate(res, rs, slots, times, ids, consumed | voided if voided else consumed, base, ev)
                if res.status == "TK" and idx >= first_i:
                    _no_data(res, rs, ev)
            if slots is not None and used and _SPANS[id(slots)][2] >= DAY_S:
                consumed = {pid for t, pid in used if t >= base + DAY_S}
            else:
                consumed = no_ids
            if idx >= first_i:
                out.append(res)
    return out

