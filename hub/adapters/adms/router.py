"""/iclock endpoints: handshake, uploads, command poll and command results (part A).

Replies are `text/plain`. Data is acknowledged (`OK: n`) only after the database commit;
a storage failure answers 500 so the terminal keeps the batch and resends; a terminal that
is not registered answers 503 on uploads (its data stays on the terminal) and is held as a
pending registration for IT to approve.

Every request naming a registered terminal passes `trust.admit` first (path key, pinned
source address, PUSH 3.x session): one that fails is refused before its body is read and
changes nothing. The same endpoints answer under `/d/<key>/iclock/...` for terminals whose
server URL carries a path key.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse
from sqlalchemy import Connection, Engine, insert, select, update

from hub.adapters.adms import quarantine, trust
from hub.adapters.adms.normalise import attlog_punch
from hub.adapters.http import engine_of
from hub.peer import client_address, networks_of
from hub.protocols import adms
from hub.punch import Source
from hub.push import service
from hub.push.models import PushPhoto, PushStamp, PushUserRecord
from hub.secrets import encrypt
from hub.store.models import utcnow
from hub.times import offset_minutes

log = logging.getLogger("hub.adms")
MAX_BODY = 16 * 1024 * 1024
PART_ROWS = 5000  # punches per transaction when a batch is large
iclock = APIRouter()


def _text(body: str, status: int = 200) -> PlainTextResponse:
    return PlainTextResponse(body, status_code=status)


def _opt(request: Request, name: str) -> Any:
    value = getattr(request.app.state, name, None)
    if value is None:
        from hub.config import get_settings

        value = {"default_tz": get_settings().default_timezone, "delay_s": 10,
                 "resend_after": service.RESEND_AFTER, "part_rows": PART_ROWS}[name]
    return value


def _caller(request: Request, serial: str) -> trust.Caller:
    settings = getattr(request.app.state, "settings", None)
    if settings is None:
        from hub.config import get_settings

        settings = get_settings()
    proxies = networks_of(settings.web.trusted_proxies)
    addr = client_address(request.client.host if request.client else None, request.headers, proxies)
    return trust.Caller(serial=serial, addr=addr, path_key=request.path_params.get("key"),
                        token=request.cookies.get("token"))


def _admitted(engine: Engine, caller: trust.Caller, session: bool = True
              ) -> tuple[service.KnownDevice | None, PlainTextResponse | None]:
    """(device, None) for a registered terminal that passed the gate; (None, None) for a
    serial nobody registered (the caller holds it); (None, refusal) otherwise."""
    refused = None
    with engine.begin() as conn:  # commits only a learned source or the note of a new one
        device = service.lookup_device(conn, caller.serial)
        if device is None:
            return None, None
        try:
            trust.admit(conn, device.id, caller, session=session)
        except trust.Refused as exc:
            refused = exc
    if refused is None:
        return device, None
    return None, _refuse(engine, caller, refused)


@dataclass(frozen=True)
class _Entry:
    engine: Engine
    caller: trust.Caller
    device: service.KnownDevice | None  # None: a serial nobody registered (to be held)

    @property
    def serial(self) -> str:
        return self.caller.serial


def _enter(request: Request, serial: str | None = None, session: bool = True) -> _Entry | PlainTextResponse:
    """The way into every /iclock endpoint: the serial read (`SN`, unless the caller parsed
    it with the rest of the query) and the caller admitted; a refusal is the answer."""
    if serial is None:
        try:
            serial = adms.parse_serial(request.query_params.get("SN"))
        except adms.AdmsError as exc:
            return _bad(exc)
    engine, caller = engine_of(request), _caller(request, serial)
    device, refusal = _admitted(engine, caller, session)
    return refusal or _Entry(engine, caller, device)


def _refuse(engine: Engine, caller: trust.Caller, exc: trust.Refused) -> PlainTextResponse:
    log.warning("ADMS %s from %s refused (%s): %s", caller.serial, caller.addr, exc.reason, exc.message)
    trust.count_refusal(engine, "adms", caller.serial, exc.reason, caller.addr)
    return _text(f"UNAUTHORIZED: {exc.message}", exc.status)


def _decode(body: bytes) -> str:
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        return body.decode("gb18030", "replace")  # Chinese-language firmware (A.1)


def _stamps(conn: Connection, device_id: int) -> dict[str, str]:
    return dict(conn.execute(select(PushStamp.table_name, PushStamp.stamp)
                             .where(PushStamp.device_id == device_id)).all())


def _save_stamp(conn: Connection, device_id: int, table: str, stamp: str | None) -> None:
    """Move the upload cursor forward only: a resent older batch (or a forged low stamp)
    never rewinds it; parse_query already refused stamps past MAX_STAMP."""
    if not stamp or not stamp.isdigit():
        return
    old = conn.scalar(select(PushStamp.stamp).where(PushStamp.device_id == device_id,
                                                    PushStamp.table_name == table))
    if old is not None:
        if old.isdigit() and int(old) >= int(stamp):
            if int(old) > int(stamp):
                log.info("ADMS device %s %s: stamp %s is behind the cursor %s; cursor kept",
                         device_id, table, stamp, old)
            return
        conn.execute(update(PushStamp).where(PushStamp.device_id == device_id,
                                             PushStamp.table_name == table)
                     .values(stamp=stamp, updated_at=utcnow()))
    else:
        conn.execute(insert(PushStamp).values(device_id=device_id, table_name=table,
                                              stamp=stamp, updated_at=utcnow()))


def _bad(exc: adms.AdmsError) -> PlainTextResponse:
    log.warning("ADMS: %s", exc)
    return _text(f"ERROR: {exc}", 400)


@iclock.get("/iclock/cdata")
@iclock.get("/iclock/cdata.aspx")
def handshake(request: Request) -> PlainTextResponse:
    try:
        q = adms.parse_query(request.query_params)
    except adms.AdmsError as exc:
        return _bad(exc)
    entry = _enter(request, q.serial)
    if isinstance(entry, PlainTextResponse):
        return entry
    engine, caller, device = entry.engine, entry.caller, entry.device
    with engine.connect() as conn:
        stamps = _stamps(conn, device.id) if device else {}
    if device is None:
        service.hold_unknown(engine, q.serial, "adms",
                             {"pushver": q.pushver, "language": q.language, "addr": caller.addr})
        # Keep it polling, but never move its cursor: its data stays on the terminal.
        tz = _opt(request, "default_tz")
    else:
        tz = device.tz
        service.touch(engine, device.id)
    return _text(adms.handshake_reply(q.serial, stamps, offset_minutes(tz),
                                      delay_s=_opt(request, "delay_s")))


async def _bounded_body(request: Request) -> bytes | None:
    """The body, read as it streams, or None once it passes MAX_BODY (the rest unread)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY:
        return None
    parts, seen = [], 0
    async for chunk in request.stream():
        seen += len(chunk)
        if seen > MAX_BODY:
            return None
        parts.append(chunk)
    return b"".join(parts)


@iclock.post("/iclock/cdata")
@iclock.post("/iclock/cdata.aspx")
async def upload(request: Request) -> PlainTextResponse:
    try:
        q = adms.parse_query(request.query_params)
    except adms.AdmsError as exc:
        return _bad(exc)
    from starlette.concurrency import run_in_threadpool

    entry = await run_in_threadpool(_enter, request, q.serial)
    if isinstance(entry, PlainTextResponse):
        return entry  # before a byte of the body is read
    engine, caller, device = entry.engine, entry.caller, entry.device
    body = await _bounded_body(request)
    if body is None:
        # Never acknowledge what is not kept: 413 and the terminal keeps the batch (it
        # retries; a unit that sends smaller batches gets through). An unknown terminal
        # is held for approval whatever its body.
        log.error("ADMS %s: body over the %d-byte limit refused (413); the terminal keeps its data",
                  q.serial, MAX_BODY)
        if device is None:
            await run_in_threadpool(service.hold_unknown, engine, q.serial, "adms", {"addr": caller.addr})
        return _text(f"ERROR: body over {MAX_BODY} bytes / isi melebihi batas", 413)
    if device is None:
        await run_in_threadpool(service.hold_unknown, engine, q.serial, "adms", {"addr": caller.addr})
        return _text("UNREGISTERED: terminal menunggu persetujuan / awaiting approval", 503)
    return await run_in_threadpool(_upload, engine, device, q, body, _opt(request, "part_rows"))


def _upload(engine: Engine, device: service.KnownDevice, q: adms.CdataQuery, body: bytes,
            part_rows: int = PART_ROWS) -> PlainTextResponse:
    table = q.table or "ATTLOG"
    try:
        if table == "ATTLOG":
            return _attlog(engine, device, q, _decode(body), part_rows)
        if table in ("OPERLOG", "BIODATA"):
            return _operlog(engine, device, q, table, _decode(body))
        if table == "ATTPHOTO":
            return _attphoto(engine, device, q, body)
        if table == "BIOPHOTO":
            return _biophoto(engine, device, q, _decode(body))
    except adms.AdmsError as exc:
        return _bad(exc)
    except Exception:  # noqa: BLE001 - storage failed: no ACK, the terminal resends
        log.exception("ADMS %s: storing %s failed", q.serial, table)
        return _text("ERROR: penyimpanan gagal, kirim ulang / storage failed, resend", 500)
    # options, ERRORLOG, IDCARD, USERPIC: nothing to keep yet beyond liveness.
    service.touch(engine, device.id)
    return _text("OK")


def _refuse_all(table: str, errors: list[adms.AdmsError]) -> None:
    first = errors[0]
    raise adms.AdmsError(f"{len(errors)} baris ditolak / lines refused; pertama / first: "
                         f"{first.what}", first.where or table)


def _attlog(engine: Engine, device: service.KnownDevice, q: adms.CdataQuery, text: str,
            part_rows: int = PART_ROWS) -> PlainTextResponse:
    # Good lines become punches, bad ones are kept verbatim with their reason, in one
    # transaction: "OK" is said only of what is kept (quarantine.py).
    parsed = adms.parse_attlog(text)
    for err in parsed.errors:
        log.warning("ADMS %s: %s (kept in rejected_lines)", device.serial, err)
    punches = [attlog_punch(device, r, q.stamp) for r in parsed.records]

    def also(conn: Connection) -> None:
        quarantine.keep(conn, device.id, "ATTLOG", parsed, q.stamp)
        _save_stamp(conn, device.id, "ATTLOG", q.stamp)

    # A large batch is written in parts, each its own transaction (a 16 MB body does not
    # hold one transaction and its locks for long). "OK" still comes only after the last
    # part, which alone keeps the rejected lines and moves the cursor: if a part fails the
    # terminal resends the whole batch, and what was stored is absorbed as duplicates.
    parts = [punches[i:i + part_rows] for i in range(0, len(punches), part_rows)] or [[]]
    for n, part in enumerate(parts, start=1):
        last = n == len(parts)
        details: dict[str, Any] = {"table": "ATTLOG", "stamp": q.stamp}
        if len(parts) > 1:
            details["part"] = f"{n}/{len(parts)}"
        if last:
            details.update(rejected=len(parsed.rejected), errors=[str(e) for e in parsed.errors[:20]])
        service.store_punches(engine, device, Source.ADMS, part, details=details, extra=also if last else None)
    return _text(f"OK: {len(parsed.records)}")


def _operlog(engine: Engine, device: service.KnownDevice, q: adms.CdataQuery, table: str,
             text: str) -> PlainTextResponse:
    parsed = adms.parse_operlog(text, table)
    rows: list[dict[str, Any]] = [quarantine.oper_row(device.id, r) for r in parsed.records]
    with engine.begin() as conn:
        if rows:
            conn.execute(insert(PushUserRecord), rows)
        quarantine.keep(conn, device.id, table, parsed, q.stamp)
        _save_stamp(conn, device.id, table, q.stamp)
    return _text(f"OK: {len(parsed.records)}")


def _photo_row(device_id: int, kind: str, pin: str | None, when: datetime | None,
               name: str, jpeg: bytes) -> dict[str, Any]:
    return {"device_id": device_id, "kind": kind, "pin": pin, "local_time": when,
            "file_name": name, "content": encrypt(jpeg),  # a face photo rests encrypted
            "sha256": hashlib.sha256(jpeg).hexdigest(),
            "received_at": utcnow()}


def _insert_photos(engine: Engine, rows: list[dict[str, Any]], device_id: int,
                   table: str, stamp: str | None) -> None:
    with engine.begin() as conn:
        for row in rows:
            exists = conn.execute(select(PushPhoto.id).where(
                PushPhoto.device_id == row["device_id"], PushPhoto.kind == row["kind"],
                PushPhoto.file_name == row["file_name"],
                PushPhoto.sha256 == row["sha256"])).first()
            if exists is None:  # a resent photo is stored once
                conn.execute(insert(PushPhoto).values(**row))
        _save_stamp(conn, device_id, table, stamp)


def _attphoto(engine: Engine, device: service.KnownDevice, q: adms.CdataQuery, body: bytes
              ) -> PlainTextResponse:
    photo = adms.parse_attphoto(body)
    _insert_photos(engine, [_photo_row(device.id, "attphoto", photo.pin, photo.taken_at,
                                       photo.file_name, photo.jpeg)],
                   device.id, "ATTPHOTO", q.stamp)
    return _text("OK")


def _biophoto(engine: Engine, device: service.KnownDevice, q: adms.CdataQuery, text: str
              ) -> PlainTextResponse:
    parsed = adms.parse_biophoto(text)
    if parsed.errors and not parsed.records:
        _refuse_all("BIOPHOTO", parsed.errors)
    _insert_photos(engine, [_photo_row(device.id, "biophoto", p.pin, None, p.file_name,
                                       p.jpeg) for p in parsed.records],
                   device.id, "BIOPHOTO", q.stamp)
    return _text(f"OK: {len(parsed.records)}")


@iclock.get("/iclock/getrequest")
@iclock.get("/iclock/getrequest.aspx")
def getrequest(request: Request) -> PlainTextResponse:
    entry = _enter(request)
    if isinstance(entry, PlainTextResponse):
        return entry  # commands go only to the terminal itself
    engine, device = entry.engine, entry.device
    if device is None:
        service.hold_unknown(engine, entry.serial, "adms", {"addr": entry.caller.addr})
        return _text("OK")
    with engine.begin() as conn:
        due = service.take_due(conn, device.id, _opt(request, "resend_after"))
    service.touch(engine, device.id)
    lines = []
    for cmd in due:
        try:
            verb, fields = adms.command_for(cmd.op, cmd.payload)
            lines.append(adms.format_command(cmd.id, verb, fields))
        except (adms.AdmsError, KeyError) as exc:
            with engine.begin() as conn:
                service.record_result(conn, device.id, cmd.id, False,
                                      {"error": f"tidak dapat dikirim / cannot send: {exc}"})
    return _text("\n".join(lines) + "\n" if lines else "OK")


@iclock.post("/iclock/devicecmd")
@iclock.post("/iclock/devicecmd.aspx")
async def devicecmd(request: Request) -> PlainTextResponse:
    from starlette.concurrency import run_in_threadpool

    entry = await run_in_threadpool(_enter, request)
    if isinstance(entry, PlainTextResponse):
        return entry  # a result counts only from the terminal the command went to
    if entry.device is None:
        return _text("UNREGISTERED", 503)
    engine, serial, known = entry.engine, entry.serial, entry.device
    raw = await _bounded_body(request)
    if raw is None:
        return _text(f"ERROR: body over {MAX_BODY} bytes / isi melebihi batas", 413)
    parsed = adms.parse_devicecmd(_decode(raw))
    for err in parsed.errors:
        log.warning("ADMS %s: %s", serial, err)
    if parsed.errors and not parsed.records:
        return _bad(parsed.errors[0])

    def save() -> PlainTextResponse:
        with engine.begin() as conn:
            for r in parsed.records:
                cid = service.parse_command_id(r.cmd_id)
                if cid is not None:
                    service.record_result(conn, known.id, cid, r.code >= 0,
                                          {"return": r.code, "cmd": r.cmd, **r.extra})
        return _text("OK")

    try:
        return await run_in_threadpool(save)
    except Exception:  # noqa: BLE001 - no ACK: the terminal posts the results again
        log.exception("ADMS %s: storing command results failed", serial)
        return _text("ERROR: penyimpanan gagal / storage failed", 500)


@iclock.get("/iclock/ping")
@iclock.get("/iclock/ping.aspx")
def ping() -> PlainTextResponse:
    return _text("OK")


# --- PUSH 3.x: registration, then a session ---------------------------------------------


@iclock.post("/iclock/registry")
@iclock.post("/iclock/registry.aspx")
async def registry(request: Request) -> PlainTextResponse:
    from starlette.concurrency import run_in_threadpool

    entry = await run_in_threadpool(_enter, request, None, False)
    if isinstance(entry, PlainTextResponse):
        return entry
    engine, caller, device, serial = entry.engine, entry.caller, entry.device, entry.serial
    raw = await _bounded_body(request)
    try:
        if raw is None or len(raw) > adms.MAX_REGISTRY_BODY:
            raise adms.AdmsError("isi pendaftaran terlalu panjang / registry body too long", "registry")
        options = adms.parse_registry(_decode(raw))
    except adms.AdmsError as exc:
        return _bad(exc)
    if device is None:
        info = {"addr": caller.addr, "push": "3", **{k: v[:64] for k, v in list(options.items())[:20]}}
        await run_in_threadpool(service.hold_unknown, engine, serial, "adms", info)
        return _text("UNREGISTERED: terminal menunggu persetujuan / awaiting approval", 503)
    known = device

    def issue() -> PlainTextResponse:
        with engine.begin() as conn:
            code = trust.register(conn, known.id, caller)
            if options:
                service.note_capabilities(conn, known.id, {"push3": options})
        return _text(adms.registry_reply(code))

    try:
        return await run_in_threadpool(issue)
    except trust.Refused as exc:
        return _refuse(engine, caller, exc)


@iclock.get("/iclock/push")
@iclock.post("/iclock/push")
def push_config(request: Request) -> PlainTextResponse:
    entry = _enter(request, session=False)
    if isinstance(entry, PlainTextResponse):
        return entry
    engine, caller, device = entry.engine, entry.caller, entry.device
    if device is None:
        service.hold_unknown(engine, entry.serial, "adms", {"addr": caller.addr, "push": "3"})
        return _text("UNREGISTERED: terminal menunggu persetujuan / awaiting approval", 503)
    try:
        with engine.begin() as conn:
            sid = trust.open_session(conn, device.id, caller)
    except trust.Refused as exc:
        return _refuse(engine, caller, exc)
    service.touch(engine, device.id)
    return _text(adms.push_config_reply(sid, offset_minutes(device.tz),
                                        delay_s=_opt(request, "delay_s")))


router = APIRouter()
router.include_router(iclock)
router.include_router(iclock, prefix="/d/{key}")  # terminals given a path key
