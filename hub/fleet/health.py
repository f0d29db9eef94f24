"""Per-terminal health, written in one place.

Every conversation with a terminal ends here, whoever had it (a pull, the live listener, a
clock sync, a roster push, a push channel's request): `succeeded` or `failed`, as Home
Assistant's DataUpdateCoordinator keeps one device's last_update_success. The Device row
holds the result: last seen, last error, consecutive failures and since when, the live
listener's current backoff, and when it last recovered. A success after failures is
logged once as a recovery, so a flapping terminal reads as one story in the log.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import Connection, func, select, update

from hub.messages import stored
from hub.store.models import Device, utcnow

log = logging.getLogger(__name__)


def succeeded(conn: Connection, device_id: int, **facts: Any) -> bool:
    """The terminal answered; `facts` are what was learnt (clock offset, record count, ...).
    Returns True when this ends a run of failures (recovered)."""
    now = utcnow()
    values: dict[str, Any] = {"last_seen_at": now, "last_error": None, "failures": 0, "failing_since": None,
                              "backoff_s": None, **facts}
    # the usual case (it was not failing) is one statement: push terminals poll every few seconds
    if conn.execute(update(Device).where(Device.id == device_id, Device.failures == 0)
                    .values(**values)).rowcount:
        return False
    row = conn.execute(select(Device.serial, Device.failures, Device.failing_since)
                       .where(Device.id == device_id)).one_or_none()
    if row is None:
        return False
    log.info("terminal %s recovered after %d failure(s) since %s", row.serial, row.failures, row.failing_since)
    conn.execute(update(Device).where(Device.id == device_id).values(recovered_at=now, **values))
    return True


def failed(conn: Connection, device_id: int, error: str, backoff_s: float | None = None) -> None:
    """The terminal could not be reached or broke off; the error says what and what to do."""
    conn.execute(update(Device).where(Device.id == device_id).values(
        last_error=(stored(error) or "")[:2000], failures=Device.failures + 1,
        failing_since=func.coalesce(Device.failing_since, utcnow()), backoff_s=backoff_s))


def waiting(conn: Connection, device_id: int, backoff_s: float | None) -> None:
    """A listener waiting to reconnect says how long (None: connected again)."""
    conn.execute(update(Device).where(Device.id == device_id).values(backoff_s=backoff_s))
