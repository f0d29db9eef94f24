"""Terminal PINs: one stable, collision-free number per employee per pin_group.

A NIP (18 digits) does not fit terminals that hold 9 digits or a u32 (asn-rules.md §4.3),
and truncating it collides, so PINs are handed out in sequence, never derived from the NIP.
A PIN once given is never given to anyone else: closed mappings (valid_to set) keep their
number, and the (pin_group, pin) unique constraint guards concurrent allocators. PINs are
plain decimal strings without leading zeros, the same text a 28-byte terminal's u32 reads back.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from hub.i18n import tr
from hub.store.models import Device, PinMapping
from hub.times import local_today

DEFAULT_PIN_WIDTH = 9  # ZK PIN2Width typical value and the asn-rules.md §4.3 limit


class PinError(ValueError):
    pass


def group_pin_width(session: Session, group: str) -> int:
    """The narrowest PIN width among the group's terminals (capabilities.pin_width)."""
    widths = []
    for caps in session.scalars(select(Device.capabilities).where(Device.pin_group == group)):
        w = (caps or {}).get("pin_width")
        if isinstance(w, int) and w > 0:
            widths.append(w)
    return min(widths) if widths else DEFAULT_PIN_WIDTH


def today() -> date:
    """The date in the hub's zone (settings.default_timezone): a leaver leaves on the local date."""
    return local_today()


def _open(m: Any, day: date) -> bool:
    return (m.valid_from is None or m.valid_from <= day) and (m.valid_to is None or m.valid_to >= day)


def current_pins(session: Session, group: str, day: date | None = None) -> dict[int, str]:
    """employee id -> PIN open on `day` in the group (the oldest open mapping wins)."""
    day = day or today()
    out: dict[int, str] = {}
    # plain rows, not ORM objects: a fleet plan reads every mapping of the group
    for m in session.execute(select(PinMapping.employee_id, PinMapping.pin, PinMapping.valid_from,
                                    PinMapping.valid_to)
                             .where(PinMapping.pin_group == group, PinMapping.device_id.is_(None))
                             .order_by(PinMapping.id)):
        if _open(m, day) and m.employee_id not in out:
            out[m.employee_id] = m.pin
    return out


def used_pins(session: Session, group: str) -> set[str]:
    """Every PIN ever handed out in the group, including per-device mappings of its terminals."""
    used = set(session.scalars(select(PinMapping.pin).where(PinMapping.pin_group == group)))
    dev_ids = select(Device.id).where(Device.pin_group == group)
    used |= set(session.scalars(select(PinMapping.pin).where(PinMapping.device_id.in_(dev_ids))))
    return used


def _next_free(used: set[str], width: int) -> str:
    top = 10 ** width - 1
    numbers = [int(p) for p in used if p.isdigit()]
    candidate = max(numbers, default=0) + 1
    if candidate <= top:
        return str(candidate)
    taken = set(numbers)  # ran off the end: take the smallest number never used
    for n in range(1, top + 1):
        if n not in taken:
            return str(n)
    raise PinError(tr(f"semua PIN {width} digit sudah terpakai", f"every {width}-digit PIN is in use"))


def allocate(session: Session, employee_ids: Iterable[int], group: str = "default",
             day: date | None = None) -> dict[int, str]:
    """Open PINs for the employees, allocating for those without one. Returns id -> PIN."""
    day = day or today()
    have = current_pins(session, group, day)
    want = [e for e in dict.fromkeys(employee_ids) if e not in have]
    if not want:
        return {e: have[e] for e in employee_ids}
    width = group_pin_width(session, group)
    used = used_pins(session, group)
    for emp in want:
        for _attempt in range(5):
            pin = _next_free(used, width)
            used.add(pin)
            try:
                with session.begin_nested():
                    session.add(PinMapping(employee_id=emp, pin=pin, pin_group=group))
                    session.flush()
            except IntegrityError:  # another allocator took it meanwhile; try the next number
                continue
            have[emp] = pin
            break
        else:
            raise PinError(tr(f"PIN untuk pegawai {emp} tidak dapat dialokasikan",
                              f"could not allocate a PIN for employee {emp}"))
    return {e: have[e] for e in employee_ids}


def close(session: Session, employee_id: int, group: str, day: date) -> int:
    """End the employee's open mappings in the group from `day` on (valid_to is the last valid
    day, so day - 1). The numbers stay theirs forever."""
    n = 0
    for m in session.scalars(select(PinMapping).where(PinMapping.pin_group == group,
                                                      PinMapping.employee_id == employee_id,
                                                      PinMapping.valid_to.is_(None))):
        m.valid_to = day - timedelta(days=1)
        n += 1
    session.flush()
    return n


def employee_of(session: Session, group: str, pin: str) -> int | None:
    """Reverse lookup, as ingest does: who a PIN in this group belongs to."""
    return session.scalar(select(PinMapping.employee_id).where(PinMapping.pin_group == group,
                                                               PinMapping.pin == pin))
