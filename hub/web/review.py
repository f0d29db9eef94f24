"""View helpers of the console's review pages. Every figure comes from hub.reconcile (the one
reconciler); this module only gathers what a page shows next to it (names, pending
corrections, proposals for the correction form, the raw punches of a day)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.i18n import tr
from hub.punch import PunchFlag
from hub.reconcile import ruleset_store as rc
from hub.reconcile.errors import ReconcileError, month_bounds
from hub.reconcile.evidence import QUARANTINABLE
from hub.reconcile.models import PunchReview
from hub.reconcile.period import month_days
from hub.reconcile.queue import (
    QuarantineGroup,
    TerminalDay,
    day_exceptions,
    no_data_groups,
    quarantine_groups,
    range_exceptions,
)
from hub.reconcile.recap import Day
from hub.reconcile.rules import DAY_CODES, builtin
from hub.store.models import Correction, Device, Employee, RawPunch, Site
from hub.store.sites import SiteTree
from hub.web.catalogue import EN
from hub.web.labels import label

ReviewError = ReconcileError
__all__ = ["ReviewError", "month_bounds"]


def find_site(session: Session, code: str) -> Site:
    site = session.scalar(select(Site).where(Site.code == code))
    if site is None:
        raise ReviewError(tr(f"kantor '{code}' tidak ditemukan", f"office '{code}' not found"))
    return site


def status_codes(session: Session | None = None) -> tuple[str, ...]:
    """Codes a reviewer may set a day to; excuses first ("H" or "TK" is rarely what a
    reviewer means for a day with no punches)."""
    leave: list[str] = list(builtin().leave)
    if session is not None:
        for rs in rc.RulesResolver(session).all():
            leave += [c for c in rs.leave if c not in leave]
    return (*leave, "H", "TK", *DAY_CODES)


def status_names(session: Session, lang: str) -> dict[str, str]:
    """What each status code means, from the rulesets' own legends (the reviewer picks words)."""
    out: dict[str, str] = {}
    for rs in [builtin(), *rc.RulesResolver(session).all()]:
        for code, words_id, words_en, _ in rs.legend():
            out.setdefault(code, words_en if lang == "en" else words_id)
    return out


@dataclass
class ExceptionView:
    kind: str  # missing_in, missing_out, missing_slot, absent, late, early, no_data, waiting,
    #            unknown_pin, clock_suspect, photo_mismatch, outside_geofence
    day: date
    employee_id: int | None
    employee_name: str
    detail: str
    punch_id: int | None = None
    proposal: dict[str, Any] | None = None  # a suggested correction for the form
    pending: list[Correction] = field(default_factory=list)
    terminal: str | None = None  # no_data: the terminal key a decision is for
    decision: str | None = None  # no_data / flagged punch: what a reviewer decided
    punch_ids: list[int] = field(default_factory=list)  # a terminal-day's quarantined punches


def _proposal(session: Session, emp: Employee | None, day: date, kind: str) -> dict[str, Any] | None:
    if emp is None:
        return None
    if kind in ("missing_in", "missing_out"):
        rs = rc.rules_of(session, emp, day)
        wanted = "in" if kind == "missing_in" else "out"
        slot = next((s for s in rs.slots_for(day) if s.kind == wanted), None)
        at = datetime.combine(day, time()) + timedelta(seconds=slot.at) if slot else \
            datetime.combine(day, time(7, 30) if wanted == "in" else time(16))
        return {"kind": "add_punch", "state": "check_in" if wanted == "in" else "check_out", "local_time": at}
    if kind == "absent":
        return {"kind": "set_status"}
    if kind in ("late", "early"):  # excusing a TL/PSW (a letter, a duty call): the day set to a status
        return {"kind": "set_status", "excuse": True}
    return None


MAX_RANGE_DAYS = 31


def exceptions_between(session: Session, first: date, last: date, site: Site | None,
                       scope_ids: list[int] | None, kind: str | None = None,
                       terminal: Device | None = None) -> list[ExceptionView]:
    """Exceptions over days and offices (the reviewer's offices when no office is chosen):
    per day, the terminal-days without data and the terminal-days of held punches (decided
    in bulk), then the employees by name, each with the correction it would take and what
    is pending. `terminal` keeps what that terminal's data (or its lack) caused."""
    if (last - first).days + 1 > MAX_RANGE_DAYS or last < first:
        raise ReviewError(tr(f"rentang tanggal 1 sampai {MAX_RANGE_DAYS} hari",
                             f"a date range of 1 to {MAX_RANGE_DAYS} days"))
    employee_ids = None
    if scope_ids is not None:
        employee_ids = set(session.scalars(select(Employee.id).where(Employee.site_id.in_(scope_ids or [-1]))))
    site_id = site.id if site else None
    key = f"dev:{terminal.id}" if terminal is not None else None
    groups: list[TerminalDay] = []
    found = [r for r in range_exceptions(session, first, last, site_id, employee_ids, no_data=groups)
             if (kind is None or r.kind == kind) and (key is None or key in r.terminals)]
    terminal_rows: list[ExceptionView] = []
    if kind in (None, "no_data"):
        for g in groups:
            if key is None or g.terminal == key:
                terminal_rows.append(_no_data_view(g))
    if kind in (None, "quarantine"):
        for q in quarantine_groups(session, first, last, site_id):
            punches = [p for p in q.punches if employee_ids is None or p[0].employee_id in employee_ids]
            if punches and (terminal is None or q.device_id == terminal.id):
                terminal_rows.append(_quarantine_view(QuarantineGroup(q.device_id, q.label, q.day, punches)))
    ids = {r.employee_id for r in found if r.employee_id}
    emps = {e.id: e for e in session.scalars(select(Employee).where(Employee.id.in_(ids or {-1})))}
    pending: dict[tuple[int, date], list[Correction]] = defaultdict(list)
    for c in session.scalars(select(Correction).where(
            Correction.day >= first, Correction.day <= last, Correction.approval == "pending",
            Correction.employee_id.in_(ids or {-1})).order_by(Correction.id)):
        pending[(c.employee_id, c.day)].append(c)
    people = [ExceptionView(r.kind, r.day, r.employee_id, r.employee_name, r.detail,
                            proposal=_proposal(session, emps.get(r.employee_id or 0), r.day, r.kind),
                            pending=pending.get((r.employee_id or 0, r.day), [])) for r in found]
    order = {"no_data": 0, "quarantine": 1}
    return sorted(terminal_rows + people, key=lambda v: (v.day, order.get(v.kind, 2)))  # (stable: names kept)


def _no_data_view(g: TerminalDay) -> ExceptionView:
    names = ", ".join(n for _, _, n in g.employees[:8]) + (" ..." if len(g.employees) > 8 else "")
    return ExceptionView("no_data", g.day, None, g.label,
                         tr(f"{len(g.employees)} pegawai tanpa data: {names}",
                            f"{len(g.employees)} employees without data: {names}"),
                         terminal=g.terminal, decision=g.decision)


def _quarantine_view(g: QuarantineGroup) -> ExceptionView:
    flags_id = ", ".join(label("flag", f) for f in g.flags)
    flags_en = ", ".join(EN.get(label("flag", f), f) for f in g.flags)
    return ExceptionView("quarantine", g.day, None, g.label,
                         tr(f"{len(g.punches)} punch ditahan ({flags_id}), {g.pending} menunggu",
                            f"{len(g.punches)} quarantined punches ({flags_en}), {g.pending} pending"),
                         punch_ids=[p.id for p, _, _ in g.punches])


def exceptions(session: Session, site: Site, day: date) -> list[ExceptionView]:
    """One office-day: employees' exceptions, terminal-days without data, quarantined and
    unknown punches."""
    emps = {e.id: e for e in session.scalars(select(Employee).where(
        Employee.site_id.in_(SiteTree.load(session).subtree(site.id))))}
    pending: dict[int, list[Correction]] = defaultdict(list)
    for c in session.scalars(select(Correction).where(
            Correction.day == day, Correction.approval == "pending",
            Correction.employee_id.in_(list(emps) or [-1])).order_by(Correction.id)):
        pending[c.employee_id].append(c)
    rows: list[ExceptionView] = []
    for r in day_exceptions(session, site.id, day):
        if r.kind == "no_data":
            continue  # one row per terminal below
        rows.append(ExceptionView(r.kind, r.day, r.employee_id, r.employee_name, r.detail,
                                  proposal=_proposal(session, emps.get(r.employee_id or 0), day, r.kind),
                                  pending=pending.get(r.employee_id or 0, [])))
    for g in no_data_groups(session, day, day, site.id):
        rows.append(_no_data_view(g))
    for g in quarantine_groups(session, day, day, site.id):
        for p, name, decision in g.punches:
            for flag in PunchFlag.names_of(int(p.flags) & QUARANTINABLE):
                rows.append(ExceptionView(flag, day, p.employee_id, name,
                                          f"{g.label}: PIN {p.pin} {p.local_time:%H:%M:%S}", punch_id=p.id,
                                          decision=decision))
        rows.append(_quarantine_view(g))
    lo = datetime.combine(day, time())
    devices = select(Device.id).where(Device.site_id.in_(SiteTree.load(session).subtree(site.id)))
    for p in session.scalars(select(RawPunch).where(
            RawPunch.device_id.in_(devices), RawPunch.employee_id.is_(None), RawPunch.local_time >= lo,
            RawPunch.local_time < lo + timedelta(days=1)).order_by(RawPunch.local_time)):
        rows.append(ExceptionView("unknown_pin", day, None, "", f"PIN {p.pin} {p.local_time:%H:%M:%S}",
                                  punch_id=p.id))
    return rows


def pending_corrections(session: Session, site: Site | None = None) -> list[tuple[Correction, Employee]]:
    q = (select(Correction, Employee).join(Employee, Employee.id == Correction.employee_id)
         .where(Correction.approval == "pending").order_by(Correction.day, Correction.id))
    if site is not None:
        q = q.where(Employee.site_id.in_(SiteTree.load(session).subtree(site.id)))
    return [(c, e) for c, e in session.execute(q)]


def employee_day(session: Session, employee: Employee, day: date
                 ) -> tuple[Day, list[tuple[RawPunch, str | None]], list[Correction]]:
    """The judged day (as the recap has it), the raw punches with any quarantine decision,
    and the corrections filed for it."""
    days, _ = month_days(session, day, day, None, employee_ids={employee.id})
    ds = next((d for d in days.get(employee.id, []) if d.day == day), None) or Day(employee.id, day, "-")
    lo = datetime.combine(day, time())
    punches = [(p, decision) for p, decision in session.execute(
        select(RawPunch, PunchReview.decision).outerjoin(PunchReview, PunchReview.punch_id == RawPunch.id)
        .where(RawPunch.employee_id == employee.id, RawPunch.local_time >= lo,
               RawPunch.local_time < lo + timedelta(days=1)).order_by(RawPunch.local_time))]
    corrections = list(session.scalars(select(Correction).where(
        Correction.employee_id == employee.id, Correction.day == day).order_by(Correction.id)))
    return ds, punches, corrections
