"""Read-side queries shared by the pages and the API (fleet, employees, punches)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hub import times
from hub.punch import PunchFlag
from hub.store.models import Device, Employee, IngestRun, PinMapping, RawPunch, Site, Template


def stored_punches(session: Session, device_id: int) -> int:
    return session.scalar(select(func.count()).select_from(RawPunch).where(RawPunch.device_id == device_id)) or 0


def pull_history(session: Session, device_id: int, limit: int = 50) -> list[IngestRun]:
    return list(session.scalars(select(IngestRun).where(IngestRun.device_id == device_id)
                                .order_by(IngestRun.id.desc()).limit(limit)))


def sites(session: Session) -> list[Site]:
    return list(session.scalars(select(Site).order_by(Site.code)))


def employees(session: Session, site_code: str | None = None, page: int = 1,
              per_page: int = 50, sites: list[int] | None = None,
              search: str | None = None) -> tuple[list[dict[str, Any]], int]:
    q = select(Employee, Site.code).outerjoin(Site, Site.id == Employee.site_id)
    if site_code:
        q = q.where(Site.code == site_code)
    words = (search or "").split()[:5]
    for word in words:  # every word somewhere in the name, or the NIP / number it starts
        like = "%" + word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        q = q.where(Employee.name.ilike(like, escape="\\") | Employee.id_number.like(like[1:], escape="\\"))
    if sites is not None:  # the reader's offices
        q = q.where(Employee.site_id.in_(sites or [-1]))
    total = session.scalar(select(func.count()).select_from(q.subquery())) or 0
    rows = session.execute(q.order_by(Employee.name, Employee.id)
                           .offset((page - 1) * per_page).limit(per_page)).all()
    ids = [e.id for e, _ in rows]
    counts: dict[tuple[int, str], int] = {}
    pins: dict[int, list[str]] = {}
    if ids:
        for emp, kind, n in session.execute(select(Template.employee_id, Template.kind, func.count())
                                            .where(Template.employee_id.in_(ids))
                                            .group_by(Template.employee_id, Template.kind)):
            counts[(emp, kind)] = n
        for emp, pin in session.execute(select(PinMapping.employee_id, PinMapping.pin)
                                        .where(PinMapping.employee_id.in_(ids))
                                        .order_by(PinMapping.id)):
            pins.setdefault(emp, []).append(pin)
    out = [{"id": e.id, "id_number": e.id_number, "name": e.name, "site": code,
            "employment_type": e.employment_type, "position": e.position, "active": e.active,
            "pins": pins.get(e.id, []), "fingerprints": counts.get((e.id, "fingerprint"), 0),
            "faces": counts.get((e.id, "face"), 0)} for e, code in rows]
    return out, total


def templates_of(session: Session, employee_id: int) -> list[Template]:
    return list(session.scalars(select(Template).where(Template.employee_id == employee_id)
                                .order_by(Template.kind, Template.finger_index)))


@dataclass
class PunchFilter:
    device: str | None = None
    site: str | None = None
    employee: str | None = None  # id_number or PIN
    date_from: date | None = None
    date_to: date | None = None
    flag: str | None = None
    sites: list[int] | None = None  # the reader's offices (None: all)


FLAG_NAMES = tuple(f.name.lower() for f in PunchFlag if f.value)  # type: ignore[union-attr]


def punches(session: Session, f: PunchFilter, page: int = 1,
            per_page: int = 50) -> tuple[list[dict[str, Any]], int]:
    # Filters on raw_punches alone (sub-selects, no joins), so the count uses its indexes.
    conds = []
    if f.device:
        conds.append(RawPunch.device_id.in_(select(Device.id).where(Device.serial == f.device)))
    if f.site:
        conds.append(RawPunch.device_id.in_(select(Device.id).join(Site, Site.id == Device.site_id)
                                            .where(Site.code == f.site)))
    if f.employee:
        conds.append(RawPunch.employee_id.in_(select(Employee.id).where(Employee.id_number == f.employee))
                     | (RawPunch.pin == f.employee))
    if f.date_from:
        conds.append(RawPunch.local_time >= datetime.combine(f.date_from, time()))
    if f.date_to:
        conds.append(RawPunch.local_time < datetime.combine(f.date_to + timedelta(days=1), time()))
    if f.flag and f.flag in FLAG_NAMES:
        conds.append(RawPunch.flags.op("&")(int(PunchFlag[f.flag.upper()])) != 0)
    if f.sites is not None:  # the reader's offices: their employees' punches, and their terminals'
        ids = f.sites or [-1]
        conds.append(RawPunch.employee_id.in_(select(Employee.id).where(Employee.site_id.in_(ids)))
                     | RawPunch.device_id.in_(select(Device.id).where(Device.site_id.in_(ids))))
    total = session.scalar(select(func.count()).select_from(RawPunch).where(*conds)) or 0
    q = (select(RawPunch, Device.serial, Employee.name, Employee.id_number)
         .join(Device, Device.id == RawPunch.device_id)
         .outerjoin(Employee, Employee.id == RawPunch.employee_id).where(*conds))
    rows = session.execute(q.order_by(RawPunch.local_time.desc(), RawPunch.id.desc())
                           .offset((page - 1) * per_page).limit(per_page)).all()
    return [{"id": p.id, "device": serial, "pin": p.pin, "employee_id": p.employee_id,
             "employee": name, "id_number": idn, "local_time": p.local_time, "tz": p.tz,
             "utc_time": p.utc_time, "state": p.state, "verify": p.verify, "source": p.source,
             "flags": PunchFlag.names_of(p.flags)} for p, serial, name, idn in rows], total


def terminal_days(session: Session, days: list[date]) -> tuple[list[int], list[int], int]:
    """Terminal health over a run of days (the hub's zone): per day, how many terminals
    answered at least once, how many only failed, and how many are switched on."""
    zone = times.hub_zone()
    start = times.to_utc(datetime.combine(days[0], time.min), zone)
    end = times.to_utc(datetime.combine(days[-1] + timedelta(days=1), time.min), zone)
    answered: dict[date, set[int]] = {d: set() for d in days}
    failed: dict[date, set[int]] = {d: set() for d in days}
    for device_id, started, status in session.execute(
            select(IngestRun.device_id, IngestRun.started_at, IngestRun.status)
            .where(IngestRun.started_at >= start, IngestRun.started_at < end, IngestRun.device_id.is_not(None))):
        day = times.to_local(started, zone).date()
        if day in answered:
            (answered if status in ("ok", "partial") else failed)[day].add(device_id)
    total = session.scalar(select(func.count()).select_from(Device).where(Device.enabled.is_(True))) or 0
    return ([len(answered[d]) for d in days], [len(failed[d] - answered[d]) for d in days], total)
