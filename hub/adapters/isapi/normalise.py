"""ISAPI events -> canonical punches (and the events that are not punches): the family's
one normalise step. The terminal stamps its events with their offset, so the instant is
exact; the local time is that instant in the zone the terminal is registered in."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from hub.protocols import isapi
from hub.punch import Punch, Source
from hub.times import to_local


def punch_of(device_id: int, tz: str, ev: isapi.Event, flags: int = 0) -> Punch | None:
    """The punch of a person who passed; None for every other event."""
    verify = ev.verify
    if verify is None:
        return None
    utc = ev.time.astimezone(UTC).replace(tzinfo=None)
    return Punch(device_id=device_id, source=Source.ISAPI, pin=ev.employee_no, local_time=to_local(utc, tz), tz=tz,
                 state=ev.state, verify=verify, device_seq=ev.serial_no, raw=ev.as_dict(), utc_time=utc,
                 flags=flags)


def event_row(device_id: int, tz: str, ev: isapi.Event) -> dict[str, Any]:
    utc = ev.time.astimezone(UTC).replace(tzinfo=None)
    return {"device_id": device_id, "seq": ev.serial_no, "major": ev.major, "minor": ev.minor, "at_utc": utc,
            "local_time": to_local(utc, tz), "employee_no": ev.employee_no or None, "raw": ev.as_dict()}


def local_naive(when: datetime, tz: str) -> datetime:
    return to_local(when.astimezone(UTC).replace(tzinfo=None), tz)
