"""Live events from Hikvision terminals (HTTP listening): the terminal posts each event to
the hub as it happens, so punches arrive in seconds rather than at the next pull.

The hub tells the terminal where to post (`configure`: PUT httpHosts) with a path that
carries a random key, kept only as its hash; a post is taken only on that path and only
from the terminal's registered address (the terminal-trust rule of the ADMS channel).
The answer 200 goes out only after the punch (or the event that is not a punch) is
committed; anything else is refused so the terminal sends it again, and the count-gated
pull reads the log anyway: a lost post is never a lost punch, and a post sent twice is
stored once by the identity rule.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from urllib.parse import urlsplit

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response
from sqlalchemy import Engine, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from hub.adapters.http import engine_of
from hub.adapters.isapi.normalise import event_row, punch_of
from hub.adapters.isapi.pull import client_of
from hub.fleet import health
from hub.i18n import tr
from hub.peer import client_address, networks_of
from hub.protocols import isapi
from hub.punch import Source
from hub.store import runs
from hub.store.models import Device, DeviceEvent

log = logging.getLogger("hub.isapi")
router = APIRouter()
PATH = "/isapi/events/"
MAX_BODY = 1024 * 1024  # an event with its picture


def _sha(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def configure(engine: Engine, serial: str, hub_url: str) -> str:
    """Point the terminal's HTTP listening at this hub (a new key each time); returns the path."""
    parts = urlsplit(hub_url)
    if parts.scheme != "http" or not parts.hostname:
        raise ValueError(tr(f"alamat hub harus http://IP:port yang dapat dijangkau terminal, bukan {hub_url!r}",
                            f"the hub address must be an http://IP:port the terminal can reach, not {hub_url!r}"))
    key = secrets.token_urlsafe(24)
    path = PATH + key
    with Session(engine) as s:
        d = s.scalar(select(Device).where(Device.serial == serial, Device.kind == "hik-isapi"))
        if d is None:
            raise ValueError(tr(f"terminal Hikvision {serial} tidak terdaftar", f"no Hikvision terminal {serial}"))
        with client_of(d) as c:
            c.set_listener(parts.hostname, parts.port or 80, path)
        d.capabilities = {**(d.capabilities or {}), "listen_sha256": _sha(key)}
        s.commit()
    return path


def _refuse(status: int, why: str) -> JSONResponse:
    return JSONResponse(isapi.status_reply(4 if status == 403 else 6, "Refused", why), status_code=status)


@router.post(PATH + "{key}")
async def event_posted(key: str, request: Request) -> Response:
    engine = engine_of(request)
    found = await run_in_threadpool(_device, engine, _sha(key))
    if found is None:
        return _refuse(404, "unknownListener")
    device_id, serial, host, tz = found
    settings = getattr(request.app.state, "settings", None)
    trusted = networks_of(settings.web.trusted_proxies) if settings is not None else ()
    address = client_address(request.client.host if request.client else None, request.headers, trusted)
    if address != host:
        log.warning("Hikvision %s: a post from %s, not its address %s: refused", serial, address, host)
        return _refuse(403, "notTheTerminal")
    if int(request.headers.get("content-length") or 0) > MAX_BODY:
        return _refuse(413, "tooLarge")
    try:
        if "multipart" in request.headers.get("content-type", ""):
            form = await request.form()
            part = form.get("event_log") or form.get("AccessControllerEvent")
            text = await part.read() if hasattr(part, "read") else (part or "")
        else:
            text = await request.body()
        ev = isapi.notification_event(text)
    except isapi.IsapiError as exc:
        log.warning("Hikvision %s: an event that cannot be read (%s): refused, the pull will read it", serial, exc)
        return _refuse(400, "badEvent")
    if ev is not None:
        await run_in_threadpool(keep, engine, device_id, tz, ev)
    return JSONResponse(isapi.status_reply())


def _device(engine: Engine, digest: str) -> tuple[int, str, str, str] | None:
    with Session(engine) as s:
        for d in s.scalars(select(Device).where(Device.kind == "hik-isapi", Device.enabled.is_(True))):
            if secrets.compare_digest(str((d.capabilities or {}).get("listen_sha256", "")), digest):
                return d.id, d.serial, d.host or "", d.tz
    return None


def keep(engine: Engine, device_id: int, tz: str, ev: isapi.Event) -> None:
    """One live event stored (a punch once by the identity rule, or an event that is not one)."""
    punch = punch_of(device_id, tz, ev)
    with engine.begin() as conn:
        if punch is not None:
            runs.record(conn, device_id, Source.ISAPI, "live", [punch], details={"serial_no": ev.serial_no})
        else:
            insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
            conn.execute(insert(DeviceEvent).on_conflict_do_nothing(), [event_row(device_id, tz, ev)])
        health.succeeded(conn, device_id)
