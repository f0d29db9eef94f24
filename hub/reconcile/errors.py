"""The one error reconciliation raises, and the month arithmetic every part shares."""

from __future__ import annotations

import calendar
from datetime import date, timedelta

from hub.i18n import tr


class ReconcileError(ValueError):
    """A request the reconciler refuses; the message says why and what to do next."""


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
    return first, first.replace(day=calendar.monthrange(first.year, first.month)[1])


def months_between(start: date, end: date) -> list[date]:
    """First days of every month touching [start, end]."""
    out, d = [], start.replace(day=1)
    while d <= end:
        out.append(d)
        d = (d + timedelta(days=32)).replace(day=1)
    return out
