"""Small builders for store tests (sites, devices, employees, punches)."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from hub.punch import Punch, Source, State, Verify
from hub.store.models import Device, Employee, PinMapping, Site

STATES = [State.CHECK_IN, State.BREAK_OUT, State.BREAK_IN, State.CHECK_OUT]


def make_site(session: Session, code: str = "OPD1", tz: str = "Asia/Jakarta") -> Site:
    site = Site(code=code, name=f"Kantor {code}", tz=tz)
    session.add(site)
    session.flush()
    return site


def make_device(session: Session, serial: str = "SN1", site: Site | None = None,
                tz: str = "Asia/Jakarta", pin_group: str = "default") -> Device:
    device = Device(serial=serial, name=serial, kind="zk-tcp", host="127.0.0.1", port=4370,
                    site_id=site.id if site else None, tz=tz, pin_group=pin_group,
                    capabilities={})
    session.add(device)
    session.flush()
    return device


def make_employee(session: Session, number: str, name: str = "Pegawai",
                  pin: str | None = None, pin_group: str = "default",
                  site: Site | None = None) -> Employee:
    emp = Employee(id_number=number, employment_type="non_asn", name=name,
                   site_id=site.id if site else None)
    session.add(emp)
    session.flush()
    if pin is not None:
        session.add(PinMapping(employee_id=emp.id, pin=pin, pin_group=pin_group))
        session.flush()
    return emp


def punches(device_id: int, count: int, pins: int = 100, seed: int = 1,
            start: datetime = datetime(2026, 11, 2, 7, 0), tz: str = "Asia/Jakarta",
            source: Source = Source.ZK_TCP) -> list[Punch]:
    """`count` distinct punches spread over working days."""
    rng = random.Random(seed)
    out: list[Punch] = []
    seen: set[tuple] = set()
    while len(out) < count:
        pin = str(rng.randint(1, pins))
        when = start + timedelta(days=rng.randint(0, 29), minutes=rng.randint(0, 600),
                                 seconds=rng.randint(0, 59))
        state = rng.choice(STATES)
        key = (pin, when, state)
        if key in seen:
            continue
        seen.add(key)
        out.append(Punch(device_id=device_id, source=source, pin=pin, local_time=when,
                         tz=tz, state=state, verify=Verify.FINGERPRINT,
                         raw={"uid": int(pin), "status": 1, "punch": 0}))
    return out


def count_rows(engine: Engine, table: str) -> int:
    from sqlalchemy import text

    with engine.connect() as conn:
        return conn.execute(text(f"SELECT COUNT(*) FROM {table}")).scalar_one()


def table_snapshot(engine: Engine, skip: frozenset[str] | set[str] = frozenset()) -> dict[str, list[tuple]]:
    """Every row of every table (but `skip`), comparable before and after an attempt that
    must change nothing."""
    from sqlalchemy import select

    from hub.schema import metadata

    out = {}
    with engine.connect() as conn:
        for table in metadata.sorted_tables:
            if table.name not in skip:
                out[table.name] = sorted(tuple(map(repr, r)) for r in conn.execute(select(table)))
    return out
