"""What the hub doubts or lacks for a period, gathered from the store for the pure engine,
and the reviewer's decisions on it.

No data is not absence: a terminal's day counts as held only when the terminal has punches
that day (anyone's), its log is known complete past the day (a later punch, a successful
pull or, for push terminals, contact after the day ended) and no outage span touches it.
Doubtful evidence waits: punches whose flags meet the ruleset's quarantine count only once
a reviewer accepted them. Both decisions are made per terminal and day, so one decision
covers everyone affected, and are refused in a frozen month.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Date, String, cast, func, select
from sqlalchemy.orm import Session

from hub.i18n import tr
from hub.punch import PunchFlag
from hub.reconcile.engine import Evidence
from hub.reconcile.errors import ReconcileError
from hub.reconcile.locks import LockMap
from hub.reconcile.models import NoDataDecision, PunchReview
from hub.reconcile.rules import QUARANTINE_FLAGS
from hub.store.models import AuditLog, Device, DeviceOutage, Employee, IngestRun, RawPunch, utcnow
from hub.store.sites import SiteTree
from hub.times import to_local

# Every flag any ruleset may quarantine: the punches the engine must know the flags of.
QUARANTINABLE = 0
for _name in QUARANTINE_FLAGS:
    QUARANTINABLE |= int(PunchFlag[_name.upper()])
PUSH_KINDS = ("adms", "mqtt")
PULL_KINDS = ("zk-tcp", "zk-udp", "zk-auto", "zk-serial")
DECISIONS = ("present", "absent")
PUNCH_DECISIONS = ("accepted", "rejected")


def device_key(device_id: int) -> str:
    return f"dev:{device_id}"


def site_key(site_id: int | None) -> str:
    return f"site:{site_id or 0}"


def _local(utc: datetime | None, tz: str) -> datetime | None:
    if utc is None:
        return None
    return to_local(utc, tz)


def terminals_of(session: Session, tree: SiteTree, employees: dict[int, int | None],
                 used: dict[int, set[int]]) -> dict[int, tuple[str, ...]]:
    """employee -> the terminals their punches come from: those they used in the period and
    the enabled ones of their office (or of the nearest office above it that has any)."""
    at_site: dict[int, list[int]] = defaultdict(list)
    for dev_id, site_id in session.execute(select(Device.id, Device.site_id).where(
            Device.enabled.is_(True), Device.site_id.is_not(None))):
        at_site[site_id].append(dev_id)
    nearest: dict[int | None, tuple[int, ...]] = {}

    def office_devices(site_id: int | None) -> tuple[int, ...]:
        if site_id not in nearest:
            found: tuple[int, ...] = ()
            for sid in tree.ancestors(site_id):
                if at_site.get(sid):
                    found = tuple(at_site[sid])
                    break
            nearest[site_id] = found
        return nearest[site_id]

    out: dict[int, tuple[str, ...]] = {}
    for emp, site_id in employees.items():
        devs = set(office_devices(site_id)) | used.get(emp, set())
        out[emp] = tuple(device_key(d) for d in sorted(devs)) or (site_key(site_id),)
    return out


def days_with_data(session: Session, device_ids: Iterable[int], first: date, last: date,
                   today: date | None = None) -> dict[str, set[date]]:
    """terminal key -> the days in [first, last] on which it held complete data."""
    ids = sorted(set(device_ids))
    if not ids:
        return {}
    sqlite = session.get_bind().dialect.name == "sqlite"
    lo = datetime.combine(first, datetime.min.time())
    hi = datetime.combine(last + timedelta(days=1), datetime.min.time())
    day = func.substr(RawPunch.local_time, 1, 10, type_=String) if sqlite else cast(RawPunch.local_time, Date)
    raw: dict[int, set[date]] = defaultdict(set)
    for chunk in range(0, len(ids), 500):
        q = (select(RawPunch.device_id, day).where(RawPunch.device_id.in_(ids[chunk:chunk + 500]),
                                                   RawPunch.local_time >= lo, RawPunch.local_time < hi)
             .group_by(RawPunch.device_id, day))
        for dev, d in session.execute(q):
            raw[dev].add(d if isinstance(d, date) else date.fromisoformat(str(d)))
    horizon = _horizons(session, ids, today)
    outages = _outage_days(session, ids, first, last, today)
    out: dict[str, set[date]] = {}
    for dev in ids:
        edge = horizon.get(dev)
        out[device_key(dev)] = {d for d in raw.get(dev, ())
                                if edge is not None and edge >= datetime.combine(d + timedelta(days=1),
                                                                                 datetime.min.time())
                                and d not in outages.get(dev, ())}
    return out


def _horizons(session: Session, ids: list[int], today: date | None) -> dict[int, datetime]:
    """device -> the device-local time up to which its log is known to be in the store."""
    devices = {d.id: d for d in session.scalars(select(Device).where(Device.id.in_(ids)))}
    now_cap = datetime.combine((today or date.today()) + timedelta(days=2), datetime.min.time())
    out: dict[int, datetime] = {}
    for dev_id in ids:
        newest = session.scalar(select(func.max(RawPunch.local_time)).where(
            RawPunch.device_id == dev_id, RawPunch.local_time <= now_cap))
        if newest is not None:
            out[dev_id] = newest if isinstance(newest, datetime) else datetime.fromisoformat(str(newest))
    pulls = dict(session.execute(select(IngestRun.device_id, func.max(IngestRun.finished_at)).where(
        IngestRun.device_id.in_(ids), IngestRun.status == "ok", IngestRun.kind == "pull")
        .group_by(IngestRun.device_id)).all())
    for dev_id, dev in devices.items():
        contact = pulls.get(dev_id) if dev.kind in PULL_KINDS else dev.last_seen_at if dev.kind in PUSH_KINDS \
            else None
        local = _local(contact, dev.tz or "Asia/Jakarta")
        if local is not None and (dev_id not in out or local > out[dev_id]):
            out[dev_id] = local
    return out


def _outage_days(session: Session, ids: list[int], first: date, last: date,
                 today: date | None) -> dict[int, set[date]]:
    lo = datetime.combine(first, datetime.min.time())
    hi = datetime.combine(last + timedelta(days=1), datetime.min.time())
    out: dict[int, set[date]] = defaultdict(set)
    for o in session.scalars(select(DeviceOutage).where(
            DeviceOutage.device_id.in_(ids), DeviceOutage.start_local < hi,
            (DeviceOutage.end_local.is_(None)) | (DeviceOutage.end_local >= lo))):
        end = (o.end_local or datetime.combine(today or date.today(), datetime.min.time())).date()
        d = max(o.start_local.date(), first)
        while d <= min(end, last):
            out[o.device_id].add(d)
            d += timedelta(days=1)
    return out


def gather_evidence(session: Session, tree: SiteTree, first: date, last: date,
                    employees: dict[int, int | None], used: dict[int, set[int]],
                    flagged: dict[int, int], today: date | None = None) -> Evidence:
    """The Evidence of [first, last] for these employees (id -> office)."""
    terminals = terminals_of(session, tree, employees, used)
    devices = {int(k[4:]) for keys in terminals.values() for k in keys if k.startswith("dev:")}
    with_data = days_with_data(session, devices, first, last, today)
    decisions = {(d.terminal, d.day): d.decision for d in session.scalars(select(NoDataDecision).where(
        NoDataDecision.day >= first, NoDataDecision.day <= last))}
    accepted: set[int] = set()
    rejected: set[int] = set()
    ids = sorted(flagged)
    for chunk in range(0, len(ids), 1000):
        for pid, decision in session.execute(select(PunchReview.punch_id, PunchReview.decision).where(
                PunchReview.punch_id.in_(ids[chunk:chunk + 1000]))):
            (accepted if decision == "accepted" else rejected).add(pid)
    return Evidence(flags=flagged, accepted=frozenset(accepted), rejected=frozenset(rejected),
                    terminals=terminals, with_data=with_data, decisions=decisions)


# --- the reviewer's decisions -------------------------------------------------------------


def _affected_employees(session: Session, terminal: str) -> list[Employee]:
    """Employees whose office (or office above) holds the terminal, for the frozen check."""
    tree = SiteTree.load(session)
    if terminal.startswith("dev:"):
        dev = session.get(Device, int(terminal[4:]))
        if dev is None:
            raise ReconcileError(tr(f"terminal {terminal} tidak ada", f"terminal {terminal} does not exist"))
        site = dev.site_id
    else:
        site = int(terminal[5:]) or None
    if site is None:
        return []
    sites = tree.subtree(site)
    return list(session.scalars(select(Employee).where(Employee.site_id.in_(sites))))


def _refuse_frozen(session: Session, employees: list[Employee], day: date, what: str) -> None:
    locks = LockMap(session, day, day)
    if any(locks.is_frozen(e.id, e.site_id, day) for e in employees):
        raise ReconcileError(tr(
            f"periode {day:%Y-%m} sudah dikunci untuk pegawai terminal ini; {what} ditolak. Buka kunci "
            "dengan alasan bila perlu", f"period {day:%Y-%m} is locked for this terminal's employees; "
            f"{what} refused. Unlock it with a reason if needed"))


def decide_no_data(session: Session, terminal: str, day: date, decision: str, reason: str,
                   actor: str) -> NoDataDecision:
    """One decision for everyone whose terminals held no data that day."""
    if decision not in DECISIONS:
        raise ReconcileError(tr(f"keputusan '{decision}' tidak dikenal; pilih present (terminal mati, hadir menurut "
                                "daftar manual) atau absent (terminal berfungsi, ketidakhadiran tetap)",
                                f"unknown decision '{decision}'; choose present or absent"))
    if not (reason or "").strip():
        raise ReconcileError(tr("keputusan wajib disertai alasan", "a decision needs a reason"))
    if not (terminal.startswith("dev:") or terminal.startswith("site:")) or not terminal.split(":", 1)[1].isdigit():
        raise ReconcileError(tr(f"terminal '{terminal}' tidak sah", f"terminal '{terminal}' is not valid"))
    _refuse_frozen(session, _affected_employees(session, terminal), day, tr("keputusan", "decision"))
    row = session.scalar(select(NoDataDecision).where(NoDataDecision.terminal == terminal,
                                                      NoDataDecision.day == day))
    before = row.decision if row else None
    if row is None:
        row = NoDataDecision(terminal=terminal, day=day, decision=decision, reason=reason.strip(),
                             decided_by=actor, decided_at=utcnow())
        session.add(row)
    else:
        row.decision, row.reason, row.decided_by, row.decided_at = decision, reason.strip(), actor, utcnow()
    session.flush()
    session.add(AuditLog(actor=actor, action="nodata.decide", entity="terminal_day",
                         entity_id=f"{terminal}:{day.isoformat()}",
                         details={"decision": decision, "before": before, "reason": reason.strip()}))
    return row


def quarantined_punches(session: Session, device_id: int, day: date) -> list[RawPunch]:
    lo = datetime.combine(day, datetime.min.time())
    return list(session.scalars(select(RawPunch).where(
        RawPunch.device_id == device_id, RawPunch.local_time >= lo, RawPunch.local_time < lo + timedelta(days=1),
        RawPunch.flags.op("&")(QUARANTINABLE) != 0).order_by(RawPunch.local_time, RawPunch.id)))


def decide_punches(session: Session, punch_ids: Iterable[int], decision: str, reason: str,
                   actor: str) -> int:
    """Accept or reject quarantined punches (bulk: a terminal's day at once). Returns how many."""
    if decision not in PUNCH_DECISIONS:
        raise ReconcileError(tr(f"keputusan '{decision}' tidak dikenal; pilih accepted atau rejected",
                                f"unknown decision '{decision}'; choose accepted or rejected"))
    if not (reason or "").strip():
        raise ReconcileError(tr("keputusan wajib disertai alasan", "a decision needs a reason"))
    ids = sorted(set(punch_ids))
    punches = list(session.scalars(select(RawPunch).where(RawPunch.id.in_(ids)))) if ids else []
    if len(punches) != len(ids):
        missing = sorted(set(ids) - {p.id for p in punches})
        raise ReconcileError(tr(f"punch {missing[:5]} tidak ada", f"punch(es) {missing[:5]} do not exist"))
    not_doubtful = [p.id for p in punches if not p.flags & QUARANTINABLE]
    if not_doubtful:
        raise ReconcileError(tr(f"punch {not_doubtful[:5]} tidak ditahan (tidak bertanda)",
                                f"punch(es) {not_doubtful[:5]} are not quarantined (no flag)"))
    locks_cache: dict[tuple[int | None, date], bool] = {}
    emps = {e.id: e for e in session.scalars(select(Employee).where(
        Employee.id.in_({p.employee_id for p in punches if p.employee_id})))}
    for p in punches:
        e = emps.get(p.employee_id) if p.employee_id else None
        if e is None:
            continue
        key = (e.id, p.local_time.date())
        if key not in locks_cache:
            locks_cache[key] = LockMap(session, key[1], key[1]).is_frozen(e.id, e.site_id, key[1])
        if locks_cache[key]:
            raise ReconcileError(tr(f"punch #{p.id} ada di periode yang sudah dikunci ({key[1]:%Y-%m})",
                                    f"punch #{p.id} lies in a locked period ({key[1]:%Y-%m})"))
    existing = {r.punch_id: r for r in session.scalars(select(PunchReview).where(PunchReview.punch_id.in_(ids)))} \
        if ids else {}
    now = utcnow()
    for p in punches:
        row = existing.get(p.id)
        if row is None:
            session.add(PunchReview(punch_id=p.id, decision=decision, reason=reason.strip(), decided_by=actor,
                                    decided_at=now))
        else:
            row.decision, row.reason, row.decided_by, row.decided_at = decision, reason.strip(), actor, now
    session.flush()
    details: dict[str, Any] = {"decision": decision, "reason": reason.strip(), "punches": ids[:500],
                               "count": len(ids)}
    session.add(AuditLog(actor=actor, action="punch.review", entity="raw_punch",
                         entity_id=str(ids[0]) if len(ids) == 1 else None, details=details))
    return len(ids)
