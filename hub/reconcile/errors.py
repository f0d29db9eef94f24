"""The one error reconciliation raises, and the days and months it accepts (the month
arithmetic itself is hub.times)."""

from __future__ import annotations

from datetime import date

from hub.i18n import tr
from hub.times import month_range


class ReconcileError(ValueError):
    """A request the reconciler refuses; the message says why and what to do next."""


# Attendance happens between these days: ZK terminals count time from 2000, and a year past
# 2099 is a typing error, not a period anyone reconciles (and date arithmetic overflows at 9999).
FIRST_DAY, LAST_DAY = date(2000, 1, 1), date(2099, 12, 31)


def check_day(day: date) -> date:
    """The day, if it lies in the range the hub works in; else a ReconcileError saying so."""
    if not FIRST_DAY <= day <= LAST_DAY:
        raise ReconcileError(tr(f"tanggal {day.isoformat()} di luar rentang {FIRST_DAY.year}-{LAST_DAY.year}",
                                f"date {day.isoformat()} is outside {FIRST_DAY.year}-{LAST_DAY.year}"))
    return day


def month_bounds(month: str | date) -> tuple[date, date]:
    """'2026-11' (or any day of it) -> (first day, last day)."""
    if isinstance(month, date):
        first = month.replace(day=1)
    else:
        try:
            year, mon = (int(p) for p in str(month).split("-"))
            first = date(year, mon, 1)
        except (ValueError, TypeError):
            raise ReconcileError(tr(f"bulan '{month}' tidak sah; gunakan YYYY-MM",
                                    f"month '{month}' is not valid; use YYYY-MM")) from None
    check_day(first)
    return month_range(first)
