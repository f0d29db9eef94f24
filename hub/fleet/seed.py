"""Put a simulated fleet's roster into the hub store: offices, terminals, employees, PINs.

Idempotent: running it again after a restart updates terminal addresses and adds only what
is missing. A PIN already held by someone else in the group is reported, never reassigned.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.fleet.registry import DeviceSpec, add_device, edit_device
from hub.store.models import Device, Employee, EmployeeSite, PinMapping, Site


@dataclass
class RegisterResult:
    sites: int = 0
    devices_added: int = 0
    devices_updated: int = 0
    employees: int = 0
    pins: int = 0
    conflicts: list[str] = field(default_factory=list)


def _site_kind(code: str) -> str:
    return "puskesmas" if code.startswith("PKM-") else "kecamatan" if code.startswith("KEC-") \
        else "sekolah" if code.startswith("SMP-") else "opd"


def register(session: Session, roster: dict[str, Any], pin_group: str = "default") -> RegisterResult:
    res = RegisterResult()
    tz = roster.get("spec", {}).get("tz", "Asia/Jakarta")
    sites = {s.code: s for s in session.scalars(select(Site))}
    for office in roster["offices"]:
        if office["code"] not in sites:
            site = Site(code=office["code"], name=office["name"], kind=_site_kind(office["code"]), tz=tz)
            session.add(site)
            sites[office["code"]] = site
            res.sites += 1
    session.flush()
    for t in roster["terminals"]:
        device = session.scalar(select(Device).where(Device.serial == t["serial"]))
        if device is None:
            device = add_device(session, DeviceSpec(
                serial=t["serial"], kind=t["kind"], name=f"{t['office']} {t['serial']}", site=t["office"],
                host=t["host"], port=t["port"], comm_key=t["comm_key"] or None, tz=t["tz"], pin_group=pin_group))
            res.devices_added += 1
        elif edit_device(session, device, {"host": t["host"], "port": t["port"], "comm_key": t["comm_key"] or None}):
            res.devices_updated += 1
        device.capabilities = {**(device.capabilities or {}), "profile": t["profile"], "pin_width": 9}
    session.flush()
    have = {e.id_number: e for e in session.scalars(select(Employee))}
    new = []
    for e in roster["employees"]:
        if e["id_number"] not in have:
            emp = Employee(id_number=e["id_number"], employment_type=e["employment_type"], name=e["name"],
                           site_id=sites[e["office"]].id)
            new.append(emp)
            have[e["id_number"]] = emp
    session.add_all(new)
    session.flush()
    res.employees = len(new)
    taken = {m.pin: m.employee_id for m in session.scalars(
        select(PinMapping).where(PinMapping.pin_group == pin_group))}
    serial_office = {t["serial"]: t["office"] for t in roster["terminals"]}
    extra = {(x.employee_id, x.site_id) for x in session.scalars(select(EmployeeSite))}
    for e in roster["employees"]:
        emp = have[e["id_number"]]
        owner = taken.get(e["pin"])
        if owner is None:
            session.add(PinMapping(employee_id=emp.id, pin=e["pin"], pin_group=pin_group))
            taken[e["pin"]] = emp.id
            res.pins += 1
        elif owner != emp.id:
            res.conflicts.append(f"PIN {e['pin']} di grup {pin_group} sudah milik pegawai lain (id {owner}); "
                                 f"{e['id_number']} tidak dipetakan")
        for serial in e["terminals"][1:]:  # works at a second office too
            site = sites[serial_office[serial]]
            if site.id != emp.site_id and (emp.id, site.id) not in extra:
                session.add(EmployeeSite(employee_id=emp.id, site_id=site.id))
                extra.add((emp.id, site.id))
    session.flush()
    return res
