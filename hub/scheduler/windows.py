"""Quiet windows: times of day when terminals are left alone (queues at check-in)."""

from __future__ import annotations

import re
from datetime import time

_WINDOW = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")


class WindowError(ValueError):
    pass


def parse_windows(spec: str) -> list[tuple[time, time]]:
    """'07:00-08:00,15:45-16:30' -> [(07:00, 08:00), (15:45, 16:30)]; may cross midnight."""
    out: list[tuple[time, time]] = []
    for part in (p for p in (spec or "").split(",") if p.strip()):
        m = _WINDOW.match(part)
        if not m:
            raise WindowError(f"jendela waktu '{part.strip()}' harus berbentuk HH:MM-HH:MM")
        h1, m1, h2, m2 = (int(x) for x in m.groups())
        if h1 > 23 or h2 > 23 or m1 > 59 or m2 > 59:
            raise WindowError(f"jam pada '{part.strip()}' di luar 00:00-23:59")
        out.append((time(h1, m1), time(h2, m2)))
    return out


def parse_hhmm(value: str) -> time:
    m = re.match(r"^\s*(\d{1,2}):(\d{2})\s*$", value or "")
    if not m or int(m.group(1)) > 23 or int(m.group(2)) > 59:
        raise WindowError(f"waktu '{value}' harus berbentuk HH:MM")
    return time(int(m.group(1)), int(m.group(2)))


def in_windows(now: time, windows: list[tuple[time, time]]) -> bool:
    for start, end in windows:
        if start <= end:
            if start <= now < end:
                return True
        elif now >= start or now < end:  # crosses midnight
            return True
    return False
