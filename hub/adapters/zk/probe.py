"""Asking a ZK terminal who it is, and rebooting it: the console's "test connection" and
"restart" buttons (and the API's). A probe reads the terminal's serial, firmware, user and
record counts with their capacities and its clock offset; for a registered terminal it
goes through the terminal's one line (hub.adapters.zk.sessions) and keeps what it learnt
(capabilities, clock offset, seen). A probe never touches the pull cursor."""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, select, update

from hub.adapters.pulls import ProbeResult
from hub.adapters.zk.coordinator import Target, default_client
from hub.adapters.zk.sessions import SESSIONS
from hub.config import PullSettings
from hub.fleet import health
from hub.messages import msg
from hub.store.audit_office import office_of
from hub.store.models import AuditLog, Device
from hub.times import local_now

__all__ = ["ProbeResult", "RestartResult", "probe_address", "probe_device", "restart_device"]


@dataclass
class RestartResult:
    serial: str
    sent: bool = False
    error: str | None = None


def _read(client: Any, target: Target, res: ProbeResult) -> Any:
    info = client.info()
    now = local_now(target.tz).replace(microsecond=0)
    res.clock_offset_s = (client.get_time() - now).total_seconds()
    res.reported_serial, res.firmware, res.platform = info.serial, info.firmware, info.platform
    res.model, res.transport, res.counts = info.device_name, info.transport, dict(info.sizes)
    res.ok = True
    return info


def probe_address(target: Target, settings: PullSettings) -> ProbeResult:
    """A terminal not registered yet (the registration form's test): one short session."""
    res, t0 = ProbeResult(target.serial), time.monotonic()
    try:
        with default_client(target, settings) as client:
            _read(client, target, res)
    except Exception as exc:  # noqa: BLE001 - the answer is the failure, in words
        res.error = msg("probe.failed", detail=f"{exc.__class__.__name__}: {exc}")
    res.seconds = round(time.monotonic() - t0, 3)
    return res


def probe_device(engine: Engine, target: Target, settings: PullSettings, actor: str) -> ProbeResult:
    """A registered terminal, through its line; what it says is kept on the device."""
    res, t0 = ProbeResult(target.serial), time.monotonic()
    try:
        with SESSIONS.session(target, settings, default_client) as client:
            info = _read(client, target, res)
    except Exception as exc:  # noqa: BLE001 - one terminal's failure is reported in words
        res.error = msg("probe.failed", detail=f"{exc.__class__.__name__}: {exc}")
        res.seconds = round(time.monotonic() - t0, 3)
        with contextlib.suppress(Exception), engine.begin() as conn:  # (the store may be what failed)
            health.failed(conn, target.id, res.error)
        return res
    res.seconds = round(time.monotonic() - t0, 3)
    with engine.begin() as conn:
        caps = dict(conn.scalar(select(Device.capabilities).where(Device.id == target.id)) or {})
        caps.update(info.capabilities(caps.get("att_record_size"), caps.get("user_record_size")))
        health.succeeded(conn, target.id, last_clock_offset_s=res.clock_offset_s)
        conn.execute(update(Device).where(Device.id == target.id).values(capabilities=caps))
        conn.execute(AuditLog.__table__.insert().values(
            actor=actor, action="device.probe", entity="device", entity_id=str(target.id),
            site_id=office_of(conn, "device", target.id, {}),
            details={"serial": target.serial, "reported_serial": res.reported_serial,
                     "firmware": res.firmware, "offset_s": res.clock_offset_s}))
    return res


def restart_device(engine: Engine, target: Target, settings: PullSettings, actor: str) -> RestartResult:
    """Reboot the terminal. Firmware does not answer RESTART: it drops every session, so the
    command is sent, the session forgotten, and a live listener reconnects on its own."""
    res = RestartResult(target.serial)
    try:
        with SESSIONS.session(target, settings, default_client) as client:
            client.restart()
            SESSIONS.line(target.id).drop_held(client)
        res.sent = True
    except Exception as exc:  # noqa: BLE001 - reported in words
        res.error = msg("restart.failed", detail=f"{exc.__class__.__name__}: {exc}")
    with contextlib.suppress(Exception), engine.begin() as conn:
        conn.execute(AuditLog.__table__.insert().values(
            actor=actor, action="device.restart", entity="device", entity_id=str(target.id),
            site_id=office_of(conn, "device", target.id, {}),
            details={"serial": target.serial, "error": res.error}))
    return res
