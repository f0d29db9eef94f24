"""Which employees belong on which terminals, on a given day.

The rule, in order:
1. An employee counts on day D when `active`, `joined_on` (if set) <= D and `left_on` is unset
   or later than D: a leaver disappears from every terminal on the end date.
2. Home office on day D: the target of the latest transfer (mutasi) with `effective_on` <= D;
   before the first transfer takes effect, its `from_site_id`; without transfers,
   `Employee.site_id`. So a transfer entered ahead of time moves the person on that date.
3. Extra offices (`employee_sites`) count while valid_from <= D <= valid_to (both inclusive,
   open when unset), e.g. a teacher at two schools.
4. Each office maps to terminals by its scope (`site_sync_rules`, default `nearest`):
   - nearest: the office's own terminals; an office without terminals uses the nearest
     ancestor that has some (a unit is served by its OPD's terminal unless it has its own);
   - own: only the office's own terminals (none when it has none);
   - own_and_parents: the office's own terminals and those of every ancestor.
Only enabled terminals that can hold a roster (ZK, ADMS, MQTT) take part.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.i18n import tr
from hub.roster.models import SCOPES, EmployeeTransfer, SiteSyncRule
from hub.store.models import Device, Employee, EmployeeSite, Site

ROSTER_KINDS = ("zk-tcp", "zk-udp", "zk-auto", "zk-serial", "hik-isapi", "adms", "mqtt")
DEFAULT_SCOPE = "nearest"


class AssignmentError(ValueError):
    pass


@dataclass
class Org:
    """Offices, their terminals and their rules, loaded once per plan."""

    parent: dict[int, int | None]
    devices_at: dict[int, list[int]]
    scope: dict[int, str]
    _cache: dict[int, tuple[int, ...]] = field(default_factory=dict)

    def terminals_for_site(self, site_id: int) -> tuple[int, ...]:
        if site_id in self._cache:
            return self._cache[site_id]
        scope = self.scope.get(site_id, DEFAULT_SCOPE)
        out: list[int] = list(self.devices_at.get(site_id, ()))
        if scope != "own":
            seen = {site_id}
            cur = self.parent.get(site_id)
            while cur is not None and cur not in seen and (scope == "own_and_parents" or not out):
                seen.add(cur)  # guards against a loop in a hand-edited hierarchy
                out.extend(self.devices_at.get(cur, ()))
                cur = self.parent.get(cur)
        result = tuple(sorted(set(out)))
        self._cache[site_id] = result
        return result


def load_org(session: Session) -> Org:
    parent = dict(session.execute(select(Site.id, Site.parent_id)).all())
    devices_at: dict[int, list[int]] = defaultdict(list)
    for dev_id, site_id in session.execute(
            select(Device.id, Device.site_id).where(Device.enabled.is_(True), Device.site_id.is_not(None),
                                                    Device.kind.in_(ROSTER_KINDS))):
        devices_at[site_id].append(dev_id)
    scope = dict(session.execute(select(SiteSyncRule.site_id, SiteSyncRule.scope)).all())
    return Org(parent, dict(devices_at), scope)


def is_present(emp: Any, day: date) -> bool:
    if not emp.active:
        return False
    if emp.joined_on is not None and emp.joined_on > day:
        return False
    return emp.left_on is None or emp.left_on > day


def home_site(site_id: int | None, transfers: list[Any], day: date) -> int | None:
    """`transfers` sorted by effective_on."""
    if not transfers:
        return site_id
    current = None
    for t in transfers:
        if t.effective_on <= day:
            current = t.to_site_id
    if current is not None:
        return current
    return transfers[0].from_site_id if transfers[0].from_site_id is not None else site_id


def sites_on(emp: Any, transfers: list[Any], extras: list[Any], day: date) -> set[int]:
    out: set[int] = set()
    home = home_site(emp.site_id, transfers, day)
    if home is not None:
        out.add(home)
    for x in extras:
        if (x.valid_from is None or x.valid_from <= day) and (x.valid_to is None or x.valid_to >= day):
            out.add(x.site_id)
    return out


def assign(session: Session, day: date, org: Org | None = None) -> dict[int, set[int]]:
    """device id -> ids of the employees who belong on it on `day`."""
    org = org or load_org(session)
    # plain rows with the same attribute names as the models: no ORM objects for 7,000 people
    transfers: dict[int, list] = defaultdict(list)
    for t in session.execute(select(EmployeeTransfer.employee_id, EmployeeTransfer.from_site_id,
                                    EmployeeTransfer.to_site_id, EmployeeTransfer.effective_on)
                             .order_by(EmployeeTransfer.effective_on, EmployeeTransfer.id)):
        transfers[t.employee_id].append(t)
    extras: dict[int, list] = defaultdict(list)
    for x in session.execute(select(EmployeeSite.employee_id, EmployeeSite.site_id, EmployeeSite.valid_from,
                                    EmployeeSite.valid_to)):
        extras[x.employee_id].append(x)
    out: dict[int, set[int]] = defaultdict(set)
    for emp in session.execute(select(Employee.id, Employee.site_id, Employee.active, Employee.joined_on,
                                      Employee.left_on)):
        if not is_present(emp, day):
            continue
        for site_id in sites_on(emp, transfers.get(emp.id, []), extras.get(emp.id, []), day):
            for dev in org.terminals_for_site(site_id):
                out[dev].add(emp.id)
    return dict(out)


def set_scope(session: Session, site_code: str, scope: str) -> SiteSyncRule:
    if scope not in SCOPES:
        raise AssignmentError(tr(f"aturan '{scope}' tidak dikenal; pilih: {', '.join(SCOPES)}",
                                 f"unknown rule '{scope}'; choose one of {', '.join(SCOPES)}"))
    site = session.scalar(select(Site).where(Site.code == site_code))
    if site is None:
        raise AssignmentError(tr(f"kantor '{site_code}' tidak ditemukan", f"office '{site_code}' not found"))
    rule = session.scalar(select(SiteSyncRule).where(SiteSyncRule.site_id == site.id))
    if rule is None:
        rule = SiteSyncRule(site_id=site.id, scope=scope)
        session.add(rule)
    rule.scope = scope
    session.flush()
    return rule


def add_transfer(session: Session, employee: Employee, to_site: Site, effective_on: date,
                 note: str | None = None) -> EmployeeTransfer:
    """Record a mutasi. The previous home is what the employee has the day before."""
    earlier = list(session.scalars(select(EmployeeTransfer).where(EmployeeTransfer.employee_id == employee.id)
                                   .order_by(EmployeeTransfer.effective_on, EmployeeTransfer.id)))
    if any(t.effective_on == effective_on for t in earlier):
        raise AssignmentError(tr(f"sudah ada mutasi pegawai {employee.id_number} berlaku {effective_on}",
                                 f"employee {employee.id_number} already has a transfer on {effective_on}"))
    before = [t for t in earlier if t.effective_on < effective_on]
    from_site = home_site(employee.site_id, before, effective_on) if before else employee.site_id
    t = EmployeeTransfer(employee_id=employee.id, from_site_id=from_site, to_site_id=to_site.id,
                         effective_on=effective_on, note=note)
    session.add(t)
    session.flush()
    return t
