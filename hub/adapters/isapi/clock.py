"""Setting Hikvision terminals' clocks (the daily clock check and `hub device sync-time`):
read over ISAPI, set to the true time in the terminal's registered zone when it is off
by more than the tolerance (or always), read again, stored and audited."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from hub.adapters.isapi.client import IsapiFailure
from hub.adapters.isapi.pull import Factory, IsapiTarget, default_client
from hub.adapters.pulls import ClockResult
from hub.fleet import health
from hub.messages import msg
from hub.protocols import isapi
from hub.store.models import AuditLog
from hub.times import zone


def sync_clock(engine: Engine, t: IsapiTarget, tolerance_s: float, actor: str, only_if_off: bool = True,
               client: Factory = default_client) -> ClockResult:
    res = ClockResult(t.serial)
    try:
        if t.problem:
            raise IsapiFailure(t.problem)
        with client(t) as c:
            res.offset_before_s = (c.get_time() - datetime.now(UTC)).total_seconds()
            after = res.offset_before_s
            if not only_if_off or abs(res.offset_before_s) > tolerance_s:
                c.set_time(datetime.now(zone(t.tz)).replace(microsecond=0))
                after = (c.get_time() - datetime.now(UTC)).total_seconds()
                res.synced = True
        with Session(engine) as s, s.begin():
            health.succeeded(s.connection(), t.id, last_clock_offset_s=after)
            if res.synced:
                s.add(AuditLog(actor=actor, action="device.sync_time", entity="device", entity_id=str(t.id),
                               details={"serial": t.serial, "offset_before_s": res.offset_before_s}))
    except (IsapiFailure, isapi.IsapiError) as exc:
        res.error = msg("clock.failed", detail=str(exc))
        with contextlib.suppress(Exception), engine.begin() as conn:
            health.failed(conn, t.id, res.error)
    return res
