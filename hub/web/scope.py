"""Office scope in the console and the API: a user bound to offices sees and changes only
those offices and the units below them (hub.web.auth.user_scope). Every page and route that
names an office, an employee, a terminal or a correction checks it here; lists are filtered."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.store.models import Device, Employee, Site
from hub.web.auth import Principal
from hub.web.deps import MAX_ID, Forbidden


class OutOfScope(Forbidden):
    """The thing asked for belongs to an office outside the user's offices."""


def site(session: Session, who: Principal, code: str | None) -> Site | None:
    """The office a request names (None when it names none or an unknown one); one outside
    the user's offices is refused."""
    if not code:
        return None
    found = session.scalar(select(Site).where(Site.code == code))
    if found is not None and not who.sees(found.id):
        raise OutOfScope()
    return found


def check(who: Principal, site_id: int | None) -> None:
    if not who.sees(site_id):
        raise OutOfScope()


def employee(who: Principal, emp: Employee | None) -> Employee | None:
    if emp is not None:
        check(who, emp.site_id)
    return emp


def employee_by_ref(session: Session, who: Principal, ref: str | int | None) -> Employee | None:
    """An employee a form or a query names by NIP or id, within the user's offices (None: not
    found; one outside them is refused)."""
    text = str(ref or "").strip()
    if not text:
        return None
    emp = session.scalar(select(Employee).where(Employee.id_number == text[:40]))
    if emp is None and text.isdigit() and 0 < int(text) <= MAX_ID:
        emp = session.get(Employee, int(text))
    return employee(who, emp)


def device(who: Principal, dev: Device | None) -> Device | None:
    if dev is not None:
        check(who, dev.site_id)
    return dev


def ids(who: Principal) -> list[int] | None:
    """Site ids to filter a list by (None: no filter)."""
    return None if who.scope is None else sorted(who.scope)


def sites(session: Session, who: Principal) -> list[Site]:
    """The offices a user may pick from (drop-downs)."""
    q = select(Site).order_by(Site.code)
    if who.scope is not None:
        q = q.where(Site.id.in_(sorted(who.scope) or [-1]))
    return list(session.scalars(q))


def rows(who: Principal, items: list[dict[str, Any]], key: str = "site_id") -> list[dict[str, Any]]:
    return items if who.scope is None else [r for r in items if r.get(key) in who.scope]


def terminal_key(session: Session, who: Principal, key: str) -> None:
    """A no-data decision's terminal ("dev:<id>" or "site:<id>") must be in the user's offices."""
    kind, _, ident = key.partition(":")
    if who.scope is None or not ident.isdigit():
        return  # unscoped, or malformed (the reconciler refuses it with its reason)
    if kind == "dev":
        dev = session.get(Device, int(ident)) if int(ident) < 2**31 else None
        if dev is not None:  # (an unknown terminal: the reconciler says so)
            check(who, dev.site_id)
    elif kind == "site":
        check(who, int(ident))


def punches(session: Session, who: Principal, punch_ids: list[int]) -> None:
    """Every punch decided must belong to the user's offices (by its employee, else its terminal)."""
    from hub.store.models import RawPunch

    if who.scope is None:
        return
    rows = session.execute(
        select(Employee.site_id, Device.site_id).select_from(RawPunch)
        .join(Device, Device.id == RawPunch.device_id)
        .outerjoin(Employee, Employee.id == RawPunch.employee_id)
        .where(RawPunch.id.in_(punch_ids))).all()
    for emp_site, dev_site in rows:
        check(who, emp_site if emp_site is not None else dev_site)


def correction(session: Session, who: Principal, correction_id: int) -> None:
    from hub.store.models import Correction

    if who.scope is None:
        return
    found = session.execute(select(Employee.site_id).join(Correction, Correction.employee_id == Employee.id)
                            .where(Correction.id == correction_id)).first()
    if found is not None:  # (an unknown correction: the reconciler says so)
        check(who, found.site_id)
