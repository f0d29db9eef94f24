"""Time, handled in one place: zones, UTC and local clocks, month arithmetic, daily windows.

The store holds naive UTC (`utcnow`); terminals speak naive wall-clock time in their zone
(WIB Asia/Jakarta, WITA Asia/Makassar, WIT Asia/Jayapura); Indonesian zones have no DST, so
every conversion here is unambiguous (elsewhere fold=0). The hub's own zone is
`default_timezone` in the settings: "today" for a leaver, "now" for the scheduler.
"""

from __future__ import annotations

import calendar
import re
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from hub.config import get_settings

# --- clocks and zones --------------------------------------------------------------------------


def utcnow() -> datetime:
    """Naive UTC, as every DateTime column of the store holds it."""
    return datetime.now(UTC).replace(tzinfo=None)


@lru_cache(maxsize=128)
def zone(tz: str) -> ZoneInfo:
    """The zone of an IANA name; ZoneInfoNotFoundError/ValueError for one that is not."""
    return ZoneInfo(tz)


def is_zone(tz: str) -> bool:
    try:
        zone(tz)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def hub_zone() -> str:
    return get_settings().default_timezone


def local_now(tz: str | None = None) -> datetime:
    """Naive wall-clock time now in `tz` (the hub's zone when None)."""
    return datetime.now(zone(tz or hub_zone())).replace(tzinfo=None)


def local_today(tz: str | None = None) -> date:
    """The date now in `tz` (the hub's zone when None): a leaver leaves on the local date."""
    return datetime.now(zone(tz or hub_zone())).date()


def to_utc(local_time: datetime, tz: str) -> datetime:
    """Naive wall-clock time in zone `tz` -> naive UTC instant."""
    return local_time.replace(tzinfo=zone(tz)).astimezone(UTC).replace(tzinfo=None)


def to_local(utc_time: datetime, tz: str) -> datetime:
    """Naive UTC instant -> naive wall-clock time in zone `tz`."""
    return utc_time.replace(tzinfo=UTC).astimezone(zone(tz)).replace(tzinfo=None)


# What people in Indonesia call their zones.
ZONE_NAMES = {"Asia/Jakarta": "WIB", "Asia/Pontianak": "WIB", "Asia/Makassar": "WITA", "Asia/Jayapura": "WIT"}


def shown(utc_time: datetime | None, tz: str | None = None) -> str:
    """A stored UTC instant as people read it: wall-clock time in `tz` (the hub's zone when
    None) with the zone's name, e.g. "2026-10-05 07:41 WIB"; "" for none."""
    if utc_time is None:
        return ""
    tz = tz or hub_zone()
    return f"{to_local(utc_time, tz):%Y-%m-%d %H:%M} {ZONE_NAMES.get(tz, tz)}"


def wall(local_time: datetime | None, tz: str, seconds: bool = True) -> str:
    """A terminal's wall-clock time with its zone's name, e.g. "2026-10-05 07:41:09 WITA"."""
    if local_time is None:
        return ""
    return f"{local_time:%Y-%m-%d %H:%M{':%S' if seconds else ''}} {ZONE_NAMES.get(tz, tz)}"


@lru_cache(maxsize=64)
def fixed_offset_s(tz: str) -> int:
    """The zone's UTC offset in seconds (constant for Indonesian zones: no DST)."""
    off = datetime(2026, 1, 1, tzinfo=zone(tz)).utcoffset()
    return int(off.total_seconds()) if off else 0


def offset_minutes(tz: str, local_time: datetime | None = None) -> int:
    """UTC offset in minutes at a wall-clock time in `tz` (now when None)."""
    when = local_time if local_time is not None else local_now(tz)
    off = when.replace(tzinfo=zone(tz)).utcoffset()
    return int(off.total_seconds() // 60) if off else 0


def sqlite_dt(value: datetime) -> str:
    """The exact text SQLAlchemy's SQLite DateTime stores, so identities compare equal."""
    return value.isoformat(" ", "microseconds")


# --- months ------------------------------------------------------------------------------------


def month_range(day: date) -> tuple[date, date]:
    """The first and last day of the month holding `day`."""
    first = day.replace(day=1)
    return first, first.replace(day=calendar.monthrange(first.year, first.month)[1])


def next_month(day: date) -> date:
    return (day.replace(day=1) + timedelta(days=32)).replace(day=1)


def months_between(start: date, end: date) -> list[date]:
    """First days of every month touching [start, end]."""
    out, d = [], start.replace(day=1)
    while d <= end:
        out.append(d)
        d = next_month(d)
    return out


# --- daily windows (HH:MM-HH:MM) ----------------------------------------------------------------

_WINDOW = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")
_HHMM = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*$")


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
    m = _HHMM.match(value or "")
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


# Short day names, Monday first as date.weekday(): the Indonesian words, which are also the
# msgids of the console catalog (its English translations live there).
DAY_SHORT = ("Sen", "Sel", "Rab", "Kam", "Jum", "Sab", "Min")
