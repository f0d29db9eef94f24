"""Terminals in the console and the API: register (with a connection test before saving),
edit, switch off and on, remove or retire, and work on one terminal (pull now, full pull,
set its clock, test the connection and read its capacity, restart). Work on a terminal is
a request (hub.tasks.requests) done by whoever holds the terminal's one session; the
terminal page shows its progress and its answer in words."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal
from urllib.parse import quote

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.fleet import status
from hub.fleet.registry import (
    KINDS,
    DeviceSpec,
    RegistryError,
    add_device,
    check_spec,
    edit_device,
    remove_device,
)
from hub.i18n import tr
from hub.messages import render as render_msg
from hub.messages import say
from hub.store.models import AuditLog, Device, DeviceRequest
from hub.times import ZONE_NAMES
from hub.web import queries, scope
from hub.web.auth import Principal
from hub.web.catalogue import translator
from hub.web.deps import DB, api_principal, form_principal, go, lang_of, page_principal, render, settings_of

pages = APIRouter(include_in_schema=False)
api = APIRouter(prefix="/api", tags=["api"])
ZONES = [(z, f"{ZONE_NAMES[z]} ({z})") for z in ("Asia/Jakarta", "Asia/Makassar", "Asia/Jayapura")]
# What a person may ask of one ZK terminal; (request action, full pull)
TASKS: dict[str, tuple[str, bool]] = {"pull": ("pull", False), "pull_full": ("pull", True),
                                      "sync_time": ("sync_time", False), "probe": ("probe", False),
                                      "restart": ("restart", False)}
FORM_FIELDS = ("name", "site", "host", "port", "serial_line", "comm_key", "tz", "pin_group")
ZK_KINDS = tuple(k for k in KINDS if k.startswith("zk"))
PULLED_KINDS = (*ZK_KINDS, "hik-isapi")  # terminals the hub asks (pull, clock, test)


# --- what the pages and the API share -----------------------------------------------------


def _find(session: Session, who: Principal, serial: str) -> Device:
    device = scope.device(who, session.scalar(select(Device).where(Device.serial == serial)))
    if device is None:
        raise HTTPException(404, tr(f"terminal '{serial}' tidak ditemukan", f"terminal '{serial}' not found"))
    return device


def _port(value: Any) -> int | None:
    if value in (None, ""):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return -1  # the registry reports it as out of range, with the field


def _changes(form: dict[str, str]) -> dict[str, Any]:
    """The edit form's fields as registry changes (a blank comm key keeps the stored one)."""
    out: dict[str, Any] = {}
    for key in FORM_FIELDS:
        if key not in form:
            continue
        value: Any = form[key]
        if key == "comm_key" and value == "":
            continue
        if key == "port":
            value = _port(value)
        elif key in ("site", "host", "serial_line"):
            value = value or None
        out[key] = value
    if form.get("password"):  # a terminal's login changes only when a new password is typed
        out["username"], out["password"] = form.get("username") or None, form["password"]
    return out


def edit(session: Session, who: Principal, device: Device, changes: dict[str, Any]) -> dict[str, Any]:
    """Apply an edit (scope of the new office checked); audited; RegistryError says what to fix."""
    if "site" in changes and changes["site"] and scope.site(session, who, changes["site"]) is None \
            and who.scope is not None:
        raise scope.OutOfScope()
    if "site" in changes and not changes["site"] and who.scope is not None:
        raise scope.OutOfScope()  # a user bound to offices cannot leave a terminal without one
    with session.begin_nested():
        changed = edit_device(session, device, changes)
    if changed:
        session.add(AuditLog(actor=who.username, action="device.edit", entity="device", entity_id=str(device.id),
                             details={"serial": device.serial, **changed}))
        if device.kind == "mqtt":
            from hub.adapters.mqtt.acl import refresh_if_configured  # noqa: PLC0415

            session.flush()
            refresh_if_configured(session)
    return changed


def remove(session: Session, who: Principal, device: Device, retire: bool) -> str:
    """Remove a terminal with no punches, or retire (switch off, keep) one with punches.
    Returns "removed" or "retired"; RegistryError when it has punches and retire was not asked."""
    serial, device_id = device.serial, device.id
    with session.begin_nested():
        remove_device(session, device, force=retire)
    outcome = "retired" if retire and session.get(Device, device_id) is not None else "removed"
    session.add(AuditLog(actor=who.username, action=f"device.{'retire' if outcome == 'retired' else 'remove'}",
                         entity="device", entity_id=str(device_id), details={"serial": serial}))
    return outcome


def ask(request: Request, session: Session, who: Principal, device: Device, task: str) -> int:
    """Queue one task for the terminal; returns the request id (its progress is read back)."""
    from hub.tasks.requests import ask as queue  # noqa: PLC0415

    if task not in TASKS:
        raise RegistryError(tr(f"tugas '{task}' tidak dikenal; pilih: {', '.join(TASKS)}",
                               f"unknown task '{task}'; choose one of {', '.join(TASKS)}"))
    if device.kind not in PULLED_KINDS:
        raise RegistryError(tr("terminal kiriman (ADMS/MQTT) mengirim sendiri: tarik dan perintah langsung "
                               "hanya untuk terminal ZK dan Hikvision", "push terminals (ADMS/MQTT) send on "
                               "their own: pulls and direct commands are for ZK and Hikvision terminals only"))
    if task == "restart" and device.kind not in ZK_KINDS:
        raise RegistryError(tr("mulai ulang dari hub hanya untuk terminal ZK", "restart from the hub is for ZK "
                               "terminals only"))
    action, full = TASKS[task]
    session.add(AuditLog(actor=who.username, action="device.task", entity="device", entity_id=str(device.id),
                         details={"serial": device.serial, "task": task}))
    session.commit()  # the worker (another thread or process) must see the audit and the terminal as they are
    [request_id] = queue(request.app.state.engine, settings_of(request), [device.id], action, who.username, full)
    return request_id


def task_rows(session: Session, device_id: int | None = None, limit: int = 20, offset: int = 0,
              failed: bool = False, lang: str = "id", only: int | None = None) -> list[dict[str, Any]]:
    """Terminal tasks, newest first, each with its outcome in words."""
    q = select(DeviceRequest, Device.serial).join(Device, Device.id == DeviceRequest.device_id) \
        .order_by(DeviceRequest.id.desc()).offset(offset).limit(limit)
    if device_id is not None:
        q = q.where(DeviceRequest.device_id == device_id)
    if only is not None:
        q = q.where(DeviceRequest.id == only)
    out = []
    for req, serial in session.execute(q):
        result = dict(req.result or {})
        error = render_msg(result.get("error"), lang) or None if result.get("error") else None
        if failed and not error:
            continue
        out.append({"id": req.id, "serial": serial, "task": task_of(req.action, req.full), "status": req.status,
                    "requested_by": req.requested_by, "requested_at": req.requested_at, "done_at": req.done_at,
                    "error": error, "result": result, "summary": summary(req.action, result, lang)})
    return out


def task_of(action: str, full: bool) -> str:
    return "pull_full" if action == "pull" and full else action


def summary(action: str, result: dict[str, Any], lang: str = "id") -> str:
    """What the terminal answered, in a sentence (empty until done, or when it failed)."""
    if not result or result.get("error"):
        return ""
    if action == "pull":
        return say("task.pulled", lang, seen=result.get("seen", 0), new=result.get("new", 0),
                   duplicate=result.get("duplicate", 0))
    if action == "sync_time":
        return say("task.clock_set", lang, offset=_signed(result.get("offset_before_s")))
    if action == "probe":
        c = result.get("counts") or {}
        counts = {k: c.get(k, "?") for k in ("users", "users_cap", "records", "rec_cap", "fingers", "fingers_cap",
                                             "faces", "faces_cap")}
        text = say("task.probed", lang, serial=result.get("reported_serial") or "?",
                   firmware=result.get("firmware") or "?", offset=_signed(result.get("clock_offset_s")),
                   seconds=f"{result.get('seconds') or 0:.1f}", **counts)
        reported, registered = result.get("reported_serial"), result.get("serial")
        if reported and registered and reported != registered:
            text += ". " + say("task.serial_differs", lang, registered=registered)
        return text
    if action == "restart":
        return say("task.restart_sent", lang)
    return ""


def _signed(value: float | None) -> str:
    return "?" if value is None else f"{value:+.0f}"


def test_address(request: Request, form: dict[str, Any]) -> Any:
    """Probe a terminal that is not saved yet (the form's "test connection")."""
    from hub.adapters.zk.probe import probe_address  # noqa: PLC0415
    from hub.adapters.zk.targets import Target  # noqa: PLC0415

    spec = DeviceSpec(serial=str(form.get("serial") or "") or "uji", kind=str(form.get("kind") or "zk-tcp"),
                      host=form.get("host") or None, port=_port(form.get("port")),
                      serial_line=form.get("serial_line") or None, comm_key=form.get("comm_key") or None,
                      tz=str(form.get("tz") or "Asia/Jakarta"))
    check_spec(spec)  # the same validation as saving
    if spec.kind == "hik-isapi":
        from hub.adapters.isapi.probe import probe_address as probe_isapi  # noqa: PLC0415

        return probe_isapi(spec.serial, spec.host or "", spec.port or 80, str(form.get("username") or ""),
                           str(form.get("password") or ""))
    if spec.kind not in ZK_KINDS:
        raise RegistryError(tr("uji koneksi hanya untuk terminal ZK; terminal kiriman muncul sendiri di "
                               "'Terminal menunggu'", "the connection test is for ZK terminals; push terminals "
                               "appear on their own under 'Pending terminals'"))
    target = Target(0, spec.serial, spec.kind, spec.host, spec.port, spec.serial_line, spec.baud,
                    int(spec.comm_key or 0), spec.tz, None, None, False)
    return probe_address(target, settings_of(request).pull)


# --- console --------------------------------------------------------------------------------


def _form_page(request: Request, session: Session, who: Principal, form: dict[str, Any], device: Device | None,
               status_code: int = 200, error: str | None = None, probe: Any = None) -> Response:
    form = {k: v for k, v in form.items() if k not in ("comm_key", "password")}  # secrets never go back
    probe_line = None
    if probe is not None:
        probe_line = render_msg(probe.error, lang_of(request)) if probe.error else \
            summary("probe", {"serial": form.get("serial") or (device.serial if device else ""), **vars(probe)},
                    lang_of(request))
    return render(request, "device_form.html", status_code=status_code, form=form, d=device,
                  sites=scope.sites(session, who), kinds=KINDS, zones=ZONES, error=error, probe=probe,
                  probe_line=probe_line)


@pages.get("/devices/new")
def device_new(request: Request, who: Principal = Depends(page_principal("fleet.write")),
               session: Session = DB) -> Response:
    return _form_page(request, session, who, {"kind": "zk-tcp", "tz": "Asia/Jakarta", "pin_group": "default"}, None)


async def _form(request: Request) -> dict[str, str]:
    return {k: str(v).strip() for k, v in (await request.form()).items() if k != "csrf_token"}


@pages.post("/devices/new")
async def device_create(request: Request, who: Principal = Depends(form_principal("fleet.write")),
                        session: Session = DB) -> Response:
    form = await _form(request)
    if scope.site(session, who, form.get("site")) is None and who.scope is not None:
        raise scope.OutOfScope()  # a user bound to offices places a terminal in one of them
    try:
        if form.get("do") == "test":
            return _form_page(request, session, who, form, None, probe=test_address(request, form))
        spec = DeviceSpec(serial=form.get("serial", ""), kind=form.get("kind", ""), name=form.get("name", ""),
                          site=form.get("site") or None, host=form.get("host") or None, port=_port(form.get("port")),
                          serial_line=form.get("serial_line") or None, comm_key=form.get("comm_key") or None,
                          tz=form.get("tz") or "Asia/Jakarta", pin_group=form.get("pin_group") or "default",
                          username=form.get("username") or None, password=form.get("password") or None)
        with session.begin_nested():
            device = add_device(session, spec)
    except RegistryError as exc:
        return _form_page(request, session, who, form, None, status_code=422, error=str(exc))
    session.add(AuditLog(actor=who.username, action="device.add", entity="device",
                         entity_id=str(device.id), details={"serial": device.serial, "kind": device.kind}))
    return go(f"/devices/{quote(device.serial)}", "Terminal terdaftar.")


@pages.get("/devices/{serial}")
def device_detail(request: Request, serial: str, who: Principal = Depends(page_principal("fleet.read")),
                  session: Session = DB) -> Response:
    device = scope.device(who, session.scalar(select(Device).where(Device.serial == serial)))
    if device is None:
        return render(request, "error.html", status_code=404, title="Tidak ditemukan", message=serial)
    from hub.adapters.adms.quarantine import held  # noqa: PLC0415

    row = next(r for r in status.fleet(session, settings_of(request), lang=lang_of(request)) if r["id"] == device.id)
    edge = None
    if device.kind == "adms":
        from hub.adapters.adms.trust import describe  # noqa: PLC0415
        from hub.push.models import EdgeRefusal, PushTrust  # noqa: PLC0415

        edge = {"trust": describe(session.get(PushTrust, device.id)),
                "refusals": list(session.scalars(select(EdgeRefusal).where(EdgeRefusal.serial == device.serial)
                                                 .order_by(EdgeRefusal.last_at.desc())))}
    tasks = task_rows(session, device.id, lang=lang_of(request))
    return render(request, "device.html", d=device, row=row, stored=queries.stored_punches(session, device.id),
                  runs=queries.pull_history(session, device.id), rejected=held(request.app.state.engine, device.serial),
                  edge=edge, tasks=tasks, task_names=TASKS, zk=device.kind in ZK_KINDS,
                  pulled=device.kind in PULLED_KINDS,
                  busy=any(t["status"] in ("queued", "running") for t in tasks),
                  caps=device.capabilities or {})


@pages.get("/devices/{serial}/edit")
def device_edit_form(request: Request, serial: str, who: Principal = Depends(page_principal("fleet.write")),
                     session: Session = DB) -> Response:
    d = _find(session, who, serial)
    form = {"serial": d.serial, "kind": d.kind, "name": d.name, "site": d.site.code if d.site else "",
            "host": d.host or "", "port": d.port or "", "serial_line": d.serial_line or "", "tz": d.tz,
            "pin_group": d.pin_group}
    return _form_page(request, session, who, form, d)


@pages.post("/devices/{serial}/edit")
async def device_edit(request: Request, serial: str, who: Principal = Depends(form_principal("fleet.write")),
                      session: Session = DB) -> Response:
    d = _find(session, who, serial)
    form = await _form(request)
    try:
        if form.get("do") == "test":
            probe_form = {"serial": d.serial, "kind": d.kind, "host": d.host, "port": d.port,
                          "serial_line": d.serial_line, "tz": d.tz, **form}
            if not form.get("comm_key"):  # the stored key, which the form never shows
                from hub.fleet.registry import comm_key  # noqa: PLC0415

                probe_form["comm_key"] = comm_key(d)
            return _form_page(request, session, who, {**form, "serial": d.serial, "kind": d.kind}, d,
                              probe=test_address(request, probe_form))
        changed = edit(session, who, d, _changes(form))
    except RegistryError as exc:
        return _form_page(request, session, who, {**form, "serial": d.serial, "kind": d.kind}, d, status_code=422,
                          error=str(exc))
    return go(f"/devices/{quote(d.serial)}", "Perubahan disimpan." if changed else "Tidak ada yang berubah.")


@pages.post("/devices/{serial}/enabled")
async def device_enabled(request: Request, serial: str, who: Principal = Depends(form_principal("fleet.write")),
                         session: Session = DB) -> Response:
    d = _find(session, who, serial)
    value = (await request.form()).get("enabled")
    if value not in ("0", "1"):
        return render(request, "error.html", status_code=422, title="Tidak ada yang berubah.",
                      message="Pilih aktifkan atau nonaktifkan.", back=f"/devices/{quote(d.serial)}")
    on = value == "1"
    edit(session, who, d, {"enabled": on})
    return go(f"/devices/{quote(d.serial)}", "Terminal diaktifkan." if on else
              "Terminal dinonaktifkan: tidak ditarik dan tidak disinkronkan sampai diaktifkan lagi.")


@pages.post("/devices/{serial}/remove")
async def device_remove(request: Request, serial: str, who: Principal = Depends(form_principal("fleet.write")),
                        session: Session = DB) -> Response:
    d = _find(session, who, serial)
    retire = (await request.form()).get("retire") == "1"
    try:
        outcome = remove(session, who, d, retire)
    except RegistryError as exc:
        return render(request, "error.html", status_code=422, title="Terminal tidak dihapus", message=str(exc),
                      back=f"/devices/{quote(d.serial)}")
    if outcome == "retired":
        return go(f"/devices/{quote(serial)}", "Terminal dipensiunkan: nonaktif, punch-nya tetap tersimpan.")
    return go("/", "Terminal dihapus.")


@pages.post("/devices/{serial}/task")
async def device_task(request: Request, serial: str, who: Principal = Depends(form_principal("fleet.write")),
                      session: Session = DB) -> Response:
    d = _find(session, who, serial)
    form = await request.form()
    task = str(form.get("task") or "")
    if task == "restart" and form.get("confirm") != "1":
        return go(f"/devices/{quote(d.serial)}", "Mulai ulang belum dikirim: centang konfirmasinya dulu.")
    try:
        ask(request, session, who, d, task)
    except RegistryError as exc:
        return render(request, "error.html", status_code=422, title="Tugas tidak dijalankan", message=str(exc),
                      back=f"/devices/{quote(d.serial)}")
    return go(f"/devices/{quote(d.serial)}#tasks", "Tugas diantrekan; halaman ini memperbarui diri sampai selesai.")


# --- API ------------------------------------------------------------------------------------


class DeviceOut(BaseModel):
    serial: str
    name: str
    kind: str
    site: str | None
    tz: str
    enabled: bool
    online: bool
    last_seen_at: datetime | None
    last_pull_at: datetime | None
    last_pull_status: str | None
    backlog: int | None
    clock_offset_s: float | None
    clock_suspect: bool
    last_error: str | None
    failures: int = 0  # consecutive failed conversations (hub.fleet.health)
    failing_since: datetime | None = None
    backoff_s: float | None = None  # the live listener's wait before it reconnects
    recovered_at: datetime | None = None
    problems: list[str] = []  # what is wrong, worst first, in words


class PullRun(BaseModel):
    id: int
    source: str
    kind: str
    started_at: datetime
    finished_at: datetime | None
    status: str
    records_seen: int
    new: int
    duplicate: int
    error: str | None


class DeviceDetail(DeviceOut):
    pulls: list[PullRun]
    capabilities: dict[str, Any] = {}


class DeviceIn(BaseModel):
    serial: str = Field(max_length=64)
    kind: str = Field(max_length=32)
    name: str = Field("", max_length=200)
    site: str | None = Field(None, max_length=64)
    host: str | None = Field(None, max_length=255)
    port: int | None = Field(None, ge=1, le=65535)
    serial_line: str | None = Field(None, max_length=255)
    comm_key: int | None = Field(None, ge=0, le=999999)
    tz: str = Field("Asia/Jakarta", max_length=64)
    pin_group: str = Field("default", max_length=64)
    username: str | None = Field(None, max_length=64, description="hik-isapi: the account the hub signs in with")
    password: str | None = Field(None, max_length=128, description="hik-isapi: its password (kept encrypted)")


class DeviceEdit(BaseModel):
    """Only the fields sent are changed."""

    name: str | None = Field(None, max_length=200)
    site: str | None = Field(None, max_length=64)
    host: str | None = Field(None, max_length=255)
    port: int | None = Field(None, ge=1, le=65535)
    serial_line: str | None = Field(None, max_length=255)
    comm_key: int | None = Field(None, ge=0, le=999999)
    tz: str | None = Field(None, max_length=64)
    pin_group: str | None = Field(None, max_length=64)
    enabled: bool | None = None
    username: str | None = Field(None, max_length=64)
    password: str | None = Field(None, max_length=128)


class ProbeOut(BaseModel):
    serial: str
    ok: bool
    reported_serial: str | None
    firmware: str | None
    platform: str | None
    model: str | None
    transport: str | None
    counts: dict[str, int]
    clock_offset_s: float | None
    seconds: float
    error: str | None
    summary: str


class TaskIn(BaseModel):
    task: Literal["pull", "pull_full", "sync_time", "probe", "restart"]


class TaskOut(BaseModel):
    id: int
    serial: str
    task: str
    status: str  # queued | running | done | cancelled
    requested_by: str
    requested_at: datetime
    done_at: datetime | None
    error: str | None
    summary: str
    result: dict[str, Any]


class PullNowOut(BaseModel):
    serial: str
    ok: bool
    mode: str
    new: int
    duplicate: int
    seconds: float
    error: str | None
    notes: list[str]


def _worded(rows: list[dict[str, Any]], lang: str) -> list[dict[str, Any]]:
    t = translator(lang)
    return [{**r, "problems": [t(p) for p in r["problems"]]} for r in rows]


def _row(request: Request, session: Session, device_id: int) -> dict[str, Any]:
    lang = lang_of(request)
    return next(r for r in _worded(status.fleet(session, settings_of(request), lang=lang), lang)
                if r["id"] == device_id)


@api.get("/devices", response_model=list[DeviceOut])
def api_devices(request: Request, site: str | None = Query(None, max_length=64),
                who: Principal = Depends(api_principal("fleet.read")), session: Session = DB) -> list[dict]:
    scope.site(session, who, site)
    lang = lang_of(request)
    return scope.rows(who, _worded(status.fleet(session, settings_of(request), site, lang), lang))


@api.get("/devices/{serial}", response_model=DeviceDetail)
def api_device(request: Request, serial: str, who: Principal = Depends(api_principal("fleet.read")),
               session: Session = DB) -> dict:
    dev = _find(session, who, serial)
    lang = lang_of(request)
    row = _row(request, session, dev.id)
    row["pulls"] = [PullRun.model_validate(r, from_attributes=True).model_copy(
        update={"error": render_msg(r.error, lang) or None}) for r in queries.pull_history(session, dev.id)]
    row["capabilities"] = dev.capabilities or {}
    return row


@api.post("/devices", response_model=DeviceOut, status_code=201)
def api_register(request: Request, body: DeviceIn, who: Principal = Depends(api_principal("fleet.write")),
                 session: Session = DB) -> dict:
    spec = DeviceSpec(**body.model_dump())
    if scope.site(session, who, spec.site) is None and who.scope is not None:
        raise scope.OutOfScope()
    try:
        with session.begin_nested():
            dev = add_device(session, spec)
    except RegistryError as exc:
        raise HTTPException(422, str(exc)) from exc
    session.add(AuditLog(actor=who.username, action="device.add", entity="device", entity_id=str(dev.id),
                         details={"serial": dev.serial, "kind": dev.kind, "via": "api"}))
    session.flush()
    return _row(request, session, dev.id)


@api.post("/devices/test", response_model=ProbeOut)
def api_test(request: Request, body: DeviceIn, who: Principal = Depends(api_principal("fleet.write"))) -> dict:
    """Test a terminal's address before registering it: serial, firmware, counts, clock offset."""
    try:
        res = test_address(request, body.model_dump())
    except RegistryError as exc:
        raise HTTPException(422, str(exc)) from exc
    lang = lang_of(request)
    return {**vars(res), "error": render_msg(res.error, lang) or None,
            "summary": summary("probe", {**vars(res), "serial": body.serial}, lang)}


@api.patch("/devices/{serial}", response_model=DeviceOut)
def api_edit(request: Request, body: DeviceEdit, serial: str, who: Principal = Depends(api_principal("fleet.write")),
             session: Session = DB) -> dict:
    dev = _find(session, who, serial)
    try:
        edit(session, who, dev, body.model_dump(exclude_unset=True))
    except RegistryError as exc:
        raise HTTPException(422, str(exc)) from exc
    session.flush()
    return _row(request, session, dev.id)


@api.delete("/devices/{serial}")
def api_remove(serial: str, retire: bool = Query(False), who: Principal = Depends(api_principal("fleet.write")),
               session: Session = DB) -> dict:
    """Remove a terminal with no stored punches; one with punches needs retire=true (switched
    off, its punches kept: they are never deleted)."""
    dev = _find(session, who, serial)
    try:
        outcome = remove(session, who, dev, retire)
    except RegistryError as exc:
        raise HTTPException(409, str(exc)) from exc
    return {"serial": serial, "outcome": outcome}


@api.post("/devices/{serial}/tasks", response_model=TaskOut, status_code=202)
def api_task(request: Request, body: TaskIn, serial: str, who: Principal = Depends(api_principal("fleet.write")),
             session: Session = DB) -> dict:
    """Queue work on one ZK terminal; poll GET /api/tasks/{id} for its answer."""
    dev = _find(session, who, serial)
    try:
        request_id = ask(request, session, who, dev, body.task)
    except RegistryError as exc:
        raise HTTPException(422, str(exc)) from exc
    return next(t for t in task_rows(session, dev.id, lang=lang_of(request)) if t["id"] == request_id)


@api.get("/devices/{serial}/tasks", response_model=list[TaskOut])
def api_tasks(request: Request, serial: str, limit: int = Query(20, ge=1, le=200),
              who: Principal = Depends(api_principal("fleet.read")), session: Session = DB) -> list[dict]:
    dev = _find(session, who, serial)
    return task_rows(session, dev.id, limit=limit, lang=lang_of(request))


def _pull_in_cluster(request: Request, session: Session, who: Principal, serial: str, full: bool) -> dict:
    """In a cluster the pull is a task under the terminal's lock (no second conversation with
    it on another machine); this request waits for its result."""
    from hub.tasks.requests import ask, wait  # noqa: PLC0415

    engine = request.app.state.engine
    with engine.connect() as conn:
        device_id = conn.scalar(select(Device.id).where(Device.serial == serial,
                                                        Device.kind.in_((*ZK_KINDS, "hik-isapi"))))
    if device_id is None:
        raise HTTPException(404, tr(f"terminal ZK/Hikvision '{serial}' tidak ditemukan",
                                    f"ZK/Hikvision terminal '{serial}' not found"))
    ids = ask(engine, settings_of(request), [device_id], "pull", who.username, full)
    [res] = wait(engine, ids, pickup_s=120.0, timeout_s=600.0) or [{"error": tr(
        "tidak ada proses hub yang mengambil tugas ini; periksa `hub doctor`",
        "no hub process took this task; check `hub doctor`")}]
    session.add(AuditLog(actor=who.username, action="device.pull", entity="device", entity_id=str(device_id),
                         details={"serial": serial, "full": full, "new": res.get("new"), "error": res.get("error")}))
    error = render_msg(res.get("error"), lang_of(request)) or None
    return {"serial": serial, "ok": error is None, "mode": res.get("mode", "full"), "new": res.get("new", 0),
            "duplicate": res.get("duplicate", 0), "seconds": round(float(res.get("seconds", 0.0)), 3),
            "error": error, "notes": [render_msg(n, lang_of(request)) for n in res.get("notes", [])]}


@api.post("/devices/{serial}/pull", response_model=PullNowOut)
def api_pull_now(request: Request, serial: str, full: bool = Query(False),
                 who: Principal = Depends(api_principal("fleet.write")), session: Session = DB) -> dict:
    """Pull one ZK or Hikvision terminal now and answer with the result (a task that waits):
    a ZK terminal through its live session when this process holds one (no second session),
    else a session opened for it."""
    from hub.adapters.pull_any import pull_target, target_of  # noqa: PLC0415

    engine = request.app.state.engine
    if who.scope is not None:
        # read apart from the request's session: that one holds the token's last-use write,
        # and the pull below writes through the engine (on SQLite it would wait for it)
        with engine.connect() as conn:
            found = conn.execute(select(Device.site_id).where(Device.serial == serial)).first()
        if found is not None:
            scope.check(who, found.site_id)
    if settings_of(request).cluster.enabled:
        return _pull_in_cluster(request, session, who, serial, full)
    target = target_of(engine, serial, include_disabled=True)
    if target is None:
        raise HTTPException(404, tr(f"terminal ZK/Hikvision '{serial}' tidak ditemukan",
                                    f"ZK/Hikvision terminal '{serial}' not found"))
    res = pull_target(engine, settings_of(request), target, full)
    session.add(AuditLog(actor=who.username, action="device.pull", entity="device",
                         entity_id=str(target.id),
                         details={"serial": serial, "full": full, "new": res.new, "error": res.error}))
    return {"serial": res.serial, "ok": res.ok, "mode": res.mode, "new": res.new,
            "duplicate": res.duplicate, "seconds": round(res.seconds, 3), "error": res.error,
            "notes": res.notes}
