"""Setting terminal clocks: the daily clock check of the scheduler and `hub device sync-time`."""

from __future__ import annotations

import contextlib

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from hub.adapters.pulls import ClockResult
from hub.adapters.zk.coordinator import Target, default_client, load_targets
from hub.adapters.zk.sessions import SESSIONS
from hub.config import PullSettings
from hub.fleet import health
from hub.messages import msg
from hub.store.models import AuditLog
from hub.times import local_now


def sync_clock(engine: Engine, target: Target, settings: PullSettings, actor: str,
               only_if_off: bool = False) -> ClockResult:
    """Read the terminal's clock, set it to the true time of its zone (always, or only when
    it is off by more than the tolerance), store the offset and audit the change."""
    res = ClockResult(target.serial)
    try:
        with SESSIONS.session(target, settings, default_client) as client:
            now = local_now(target.tz).replace(microsecond=0)
            before = client.get_time()
            res.offset_before_s = (before - now).total_seconds()
            offset_after = res.offset_before_s
            if not only_if_off or abs(res.offset_before_s) > settings.clock_tolerance_s:
                client.set_time(now)
                offset_after = (client.get_time() - now).total_seconds()
                res.synced = True
        with Session(engine) as s, s.begin():
            health.succeeded(s.connection(), target.id, last_clock_offset_s=offset_after)
            if res.synced:
                s.add(AuditLog(actor=actor, action="device.sync_time", entity="device",
                               entity_id=str(target.id),
                               details={"serial": target.serial,
                                        "offset_before_s": res.offset_before_s}))
    except Exception as exc:  # noqa: BLE001 - one terminal's failure is reported, others go on
        res.error = msg("clock.failed", detail=f"{exc.__class__.__name__}: {exc}")
        with contextlib.suppress(Exception), engine.begin() as conn:  # (the store may be what failed)
            health.failed(conn, target.id, res.error)
    return res


def sync_clocks(engine: Engine, settings: PullSettings, device: str | None = None,
                site: str | None = None, actor: str = "scheduler",
                only_if_off: bool = True) -> list[ClockResult]:
    return [sync_clock(engine, t, settings, actor, only_if_off)
            for t in load_targets(engine, device, site)]
