"""Helpers for the roster sync tests: offices, terminals, employees, simulated ZK terminals."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path

from sqlalchemy.orm import Session

from hub.secrets import encrypt
from hub.store.models import Device, Employee, EmployeeSite, Site, Template

_nip = iter(range(100, 10**6))


def site(s: Session, code: str, parent: Site | None = None, kind: str = "opd") -> Site:
    x = Site(code=code, name=f"Kantor {code}", parent_id=parent.id if parent else None, kind=kind)
    s.add(x)
    s.flush()
    return x


def device(s: Session, serial: str, at: Site | None, kind: str = "zk-tcp", port: int = 4370,
           group: str = "default", caps: dict | None = None, enabled: bool = True) -> Device:
    d = Device(serial=serial, name=serial, site_id=at.id if at else None, kind=kind, host="127.0.0.1",
               port=port, pin_group=group, capabilities=caps or {}, enabled=enabled)
    s.add(d)
    s.flush()
    return d


def employee(s: Session, at: Site | None, name: str = "Budi Santoso", **kw) -> Employee:
    n = next(_nip)
    # a real-looking 18-digit NIP: birth date, TMT, gender, sequence
    e = Employee(id_number=f"1980010120050{n:05d}", employment_type="pns", name=name,
                 site_id=at.id if at else None, **kw)
    s.add(e)
    s.flush()
    return e


def extra(s: Session, emp: Employee, at: Site, valid_from: date | None = None,
          valid_to: date | None = None) -> EmployeeSite:
    x = EmployeeSite(employee_id=emp.id, site_id=at.id, valid_from=valid_from, valid_to=valid_to)
    s.add(x)
    s.flush()
    return x


def fake_fp(seed: str, size: int = 600) -> bytes:
    """Bytes shaped like a ZKFinger VX10 template (`?? ?? SS21` head), varied per seed."""
    body = hashlib.sha256(seed.encode()).digest() * (size // 32 + 1)
    return b"\x4a\x03SS21" + body[: size - 6]


def fingerprint(s: Session, emp: Employee, finger: int, blob: bytes, fmt: str = "zk-fp10") -> Template:
    t = Template(employee_id=emp.id, kind="fingerprint", finger_index=finger, format=fmt,
                 blob_enc=encrypt(blob), sha256=hashlib.sha256(blob).hexdigest(), size=len(blob))
    s.add(t)
    s.flush()
    return t


@contextmanager
def sim_terminal(path: Path, profile: str = "tft", **kw) -> Iterator[tuple]:
    """A simulated ZK terminal served over real TCP/UDP sockets on loopback."""
    from hub.simulator.zk import Terminal, start_in_thread

    term = Terminal.create(path, profile, **kw)
    srv = start_in_thread(term)
    try:
        yield term, srv
    finally:
        srv.stop()
        term.close()
