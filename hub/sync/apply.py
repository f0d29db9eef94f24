"""Carry sync plans out, terminal by terminal, and record what really happened.

ZK terminals: the plan goes over the terminal's line (hub.adapters.zk.roster: removals, batch
upload buffers, a refused buffer split to find what the terminal refuses); then what the
terminal reads back, not the plan, becomes its confirmed state, and any difference from the
plan is reported as a mismatch. ADMS/MQTT terminals: the changes are queued as commands of
the hub's vocabulary (hub.commands, carried by hub.push); the state changes only as the
terminal confirms each one (hub.sync.confirm), and a refused or expired one is planned again
after a backoff. A terminal that cannot be reached keeps its old state, so the next plan
carries the change.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, delete, insert, select
from sqlalchemy.orm import Session

from hub import commands
from hub.adapters.zk.roster import BATCH_USERS, push_plan
from hub.adapters.zk.targets import Target
from hub.commands import ISAPI_KINDS, PUSH_KINDS, ZK_KINDS, DevicePlan, Issue, TemplateItem
from hub.fleet import health
from hub.messages import msg, stored
from hub.secrets import SecretError, decrypt
from hub.store.db import session_scope
from hub.store.ingest import PinResolver
from hub.store.models import Device, Template, utcnow
from hub.sync import confirm
from hub.sync.confirm import fields_hash
from hub.sync.models import DeviceRosterTemplate, DeviceRosterUser, SyncItem, SyncRun

DEFAULT_REMOVAL_LIMIT = 20  # more removals than this on one terminal need --allow-removals

Progress = Callable[[str, int, int], None]  # (label, done, total)
CHANGE_KEYS = ("users_removed", "templates_removed", "users_sent", "templates_sent", "commands")


@dataclass
class DeviceResult:
    device_id: int
    serial: str
    status: str  # ok | partial | failed | unchanged | skipped
    sent: dict[str, int] = field(default_factory=dict)
    readback: dict[str, Any] = field(default_factory=dict)
    issues: list[Issue] = field(default_factory=list)
    error: str | None = None
    mismatch: bool = False
    run_id: int | None = None

    @property
    def commands_sent(self) -> int:
        """Changes sent (users and templates written or deleted, commands queued); not bytes."""
        return sum(v for k, v in self.sent.items() if k in CHANGE_KEYS)


def _record(session: Session, plan: DevicePlan, res: DeviceResult, started: datetime, actor: str) -> None:
    run = SyncRun(device_id=plan.device_id, started_at=started, finished_at=utcnow(), status=res.status,
                  planned=plan.counts(), sent=res.sent, readback=res.readback, mismatch=res.mismatch,
                  error=stored(res.error), actor=actor)
    session.add(run)
    session.flush()
    res.run_id = run.id
    session.add_all([SyncItem(run_id=run.id, action=i.action, pin=i.pin, employee_id=i.employee_id,
                              finger_index=i.finger_index, status=i.status, message=(stored(i.message) or "")[:4000])
                     for i in res.issues])


def apply_plans(engine: Engine, plans: list[DevicePlan], actor: str = "system",
                allow_removals: int | None = None, progress: Progress | None = None,
                batch_users: int = BATCH_USERS) -> list[DeviceResult]:
    out = []
    for plan in plans:
        started = utcnow()
        if plan.empty:
            out.append(DeviceResult(plan.device_id, plan.serial, "unchanged"))
            continue
        with session_scope(engine) as session:
            device = session.get(Device, plan.device_id)
            assert device is not None
            if plan.kind in PUSH_KINDS:
                res = _apply_push(session, device, plan, actor, allow_removals)
            elif plan.kind in ZK_KINDS:
                res = _apply_zk(session, device, plan, allow_removals, progress, batch_users)
            elif plan.kind in ISAPI_KINDS:
                res = _apply_isapi(session, device, plan, allow_removals)
            else:
                res = DeviceResult(plan.device_id, plan.serial, "skipped",
                                   error=msg("sync.unsupported_kind", kind=plan.kind))
            _record(session, plan, res, started, actor)
        out.append(res)
    return out


def _held_removals(plan: DevicePlan, allow_removals: int | None, res: DeviceResult) -> bool:
    limit = DEFAULT_REMOVAL_LIMIT if allow_removals is None else allow_removals
    if len(plan.users_remove) <= limit:
        return False
    res.issues.append(Issue("user_remove", None, msg("sync.removals_held", count=len(plan.users_remove),
                                                     limit=limit, serial=plan.serial), status="warning"))
    return True


def _name_warnings(plan: DevicePlan, res: DeviceResult) -> None:
    for u in plan.users_add + plan.users_update:
        if u.note:
            res.issues.append(Issue("user_name", u.pin, msg("sync.name_sent", name=u.name, note=u.note),
                                    "warning", u.employee_id))


def _blobs(session: Session, items: list[TemplateItem], res: DeviceResult) -> dict[int, bytes]:
    ids = [t.template_id for t in items if t.template_id is not None]
    out: dict[int, bytes] = {}
    for chunk in (ids[i:i + 900] for i in range(0, len(ids), 900)):
        for tid, blob in session.execute(select(Template.id, Template.blob_enc).where(Template.id.in_(chunk))):
            try:
                out[tid] = decrypt(blob)
            except SecretError as exc:
                res.issues.append(Issue("template_add", None, f"template {tid}: {exc}"))
    return out


# --- Hikvision ISAPI ----------------------------------------------------------------------------
def _apply_isapi(session: Session, device: Device, plan: DevicePlan, allow_removals: int | None) -> DeviceResult:
    from hub.adapters.isapi.pull import client_of  # noqa: PLC0415 - one family's I/O, asked for here only
    from hub.adapters.isapi.roster import push_plan  # noqa: PLC0415
    from hub.fleet.registry import RegistryError  # noqa: PLC0415

    res = DeviceResult(plan.device_id, plan.serial, "ok")
    held = _held_removals(plan, allow_removals, res)
    _name_warnings(plan, res)
    faces = _blobs(session, [t for t in plan.templates_add if t.kind == "face"], res)
    try:
        client = client_of(device)
    except (RegistryError, SecretError) as exc:
        res.status, res.error = "failed", str(exc)
        return res
    with client:
        done = push_plan(client, plan, faces, held)
    if not _carried(session, device, res, done):
        return res
    _isapi_confirm(session, device, plan, done.users, done.faces, res, held)
    return res


def _isapi_confirm(session: Session, device: Device, plan: DevicePlan, users: list[tuple[str, str, str]],
                   faces: list[str], res: DeviceResult, held: bool) -> None:
    """What the terminal holds after the plan becomes its confirmed state; a face the plan
    sent counts with the photo's hash, one it already had keeps the hash it had."""
    known = PinResolver.of_device(session.connection(), device.id)
    new_users = {pin: fields_hash(pin, name, valid=valid) for pin, name, valid in users if pin in known}
    sent = {t.pin: t.sha256 for t in plan.templates_add if t.kind == "face"}
    before = dict(session.execute(select(DeviceRosterTemplate.pin, DeviceRosterTemplate.sha256).where(
        DeviceRosterTemplate.device_id == device.id, DeviceRosterTemplate.kind == "face")).all())
    failed = {i.pin for i in res.issues if i.status == "error"}
    new_faces = {pin: sent[pin] if pin in sent and pin not in failed else before.get(pin, "")
                 for pin in faces if pin in known}
    res.readback = {"users": len(users), "faces": len(faces), "managed_users": len(new_users),
                    "unknown_users": len(users) - len(new_users)}
    if len(users) > len(new_users):
        res.issues.append(Issue("readback", None, msg("sync.unknown_users", count=len(users) - len(new_users)),
                                status="warning"))
    for item in plan.users_add + plan.users_update:
        if item.pin not in failed and new_users.get(item.pin) != item.fields_hash:
            res.issues.append(Issue("mismatch", item.pin, msg("sync.user_missing" if item.pin not in new_users
                                                              else "sync.user_differs"), "mismatch", item.employee_id))
    for t in plan.templates_add:
        if t.kind == "face" and t.pin not in failed and t.pin not in new_faces:
            res.issues.append(Issue("mismatch", t.pin, msg("sync.face_missing"), "mismatch", t.employee_id, 0))
    for t in plan.templates_remove:
        if t.kind == "face" and t.pin in new_faces:
            res.issues.append(Issue("mismatch", t.pin, msg("sync.face_still_there"), "mismatch", t.employee_id, 0))
    _settle(session, device, plan, res, held, set(new_users), "face",
            [(pin, None, known.get(pin), h) for pin, h in new_users.items()],
            [(pin, "face", 0, sha) for pin, sha in new_faces.items()])


def _carried(session: Session, device: Device, res: DeviceResult, done: Any) -> bool:
    """What a family's push_plan sent, into the result; False when the line broke (failed)."""
    res.sent = done.sent
    res.issues.extend(done.issues)
    if done.error is not None:
        res.status, res.error = "failed", done.error
        health.failed(session.connection(), device.id, res.error)
        return False
    return True


def _settle(session: Session, device: Device, plan: DevicePlan, res: DeviceResult, held: bool,
            present: set[str], template_kind: str, users: list[tuple[str, int | None, int | None, str]],
            templates: list[tuple[str, str, int, str]]) -> None:
    """The end of every read-back: a leaver still there is a mismatch; the result's status;
    the read-back (people, and templates of `template_kind`) becomes the confirmed state."""
    if not held:
        for item in plan.users_remove:
            if item.pin in present:
                res.issues.append(Issue("mismatch", item.pin, msg("sync.user_still_there"), "mismatch",
                                        item.employee_id))
    res.mismatch = any(i.status == "mismatch" for i in res.issues)
    if res.mismatch or any(i.status == "error" for i in res.issues):
        res.status = "partial"
    session.execute(delete(DeviceRosterUser).where(DeviceRosterUser.device_id == device.id))
    session.execute(delete(DeviceRosterTemplate).where(DeviceRosterTemplate.device_id == device.id,
                                                       DeviceRosterTemplate.kind == template_kind))
    now = utcnow()
    if users:  # bulk inserts: a full terminal holds thousands of rows
        session.execute(insert(DeviceRosterUser), [
            {"device_id": device.id, "pin": pin, "uid": uid, "employee_id": emp, "fields_hash": h,
             "confirmed_at": now} for pin, uid, emp, h in users])
    if templates:
        session.execute(insert(DeviceRosterTemplate), [
            {"device_id": device.id, "pin": pin, "kind": kind, "finger_index": finger, "sha256": sha,
             "confirmed_at": now} for pin, kind, finger, sha in templates])
    health.succeeded(session.connection(), device.id)


# --- ZK -------------------------------------------------------------------------------------
def _apply_zk(session: Session, device: Device, plan: DevicePlan, allow_removals: int | None,
              progress: Progress | None, batch_users: int) -> DeviceResult:
    res = DeviceResult(plan.device_id, plan.serial, "ok")
    held = _held_removals(plan, allow_removals, res)
    _name_warnings(plan, res)
    blobs = _blobs(session, [t for t in plan.templates_add if t.kind == "fingerprint"], res)
    try:
        target = Target.of(device)
    except SecretError as exc:
        res.status, res.error = "failed", str(exc)
        return res
    done = push_plan(target, plan, blobs, held, progress, batch_users)
    if not _carried(session, device, res, done):
        return res
    if done.user_size is not None and (device.capabilities or {}).get("user_record_size") != done.user_size:
        device.capabilities = {**(device.capabilities or {}), "user_record_size": done.user_size}
    _zk_confirm(session, device, plan, done.users, done.templates, res, held)
    return res


def _zk_confirm(session: Session, device: Device, plan: DevicePlan, users: list[tuple[int, str, str]],
                tmpls: list[tuple[str, int, str]], res: DeviceResult, held: bool) -> None:
    known = PinResolver.of_device(session.connection(), device.id)
    new_users = {pin: (uid, fields_hash(pin, name)) for uid, pin, name in users if pin in known}
    new_tmpls = {(pin, "fingerprint", fid): sha for pin, fid, sha in tmpls if pin in known}
    unknown = len(users) - len(new_users)
    res.readback = {"users": len(users), "templates": len(tmpls), "managed_users": len(new_users),
                    "unknown_users": unknown}
    if unknown:
        res.issues.append(Issue("readback", None, msg("sync.unknown_users", count=unknown), status="warning"))
    failed = {(i.pin, i.finger_index if i.action.startswith("template") else None)
              for i in res.issues if i.status == "error"}
    failed_pins = {p for p, _ in failed}
    for item in plan.users_add + plan.users_update:
        if item.pin in failed_pins:
            continue
        got = new_users.get(item.pin)
        if got is None or got[1] != item.fields_hash:
            res.issues.append(Issue("mismatch", item.pin,
                                    msg("sync.user_missing" if got is None else "sync.user_differs"),
                                    "mismatch", item.employee_id))
    for t in plan.templates_add:
        if t.kind != "fingerprint" or t.pin in failed_pins or (t.pin, t.finger_index) in failed:
            continue
        if new_tmpls.get((t.pin, t.kind, t.finger_index)) != t.sha256:
            res.issues.append(Issue("mismatch", t.pin, msg("sync.template_missing", finger=t.finger_index),
                                    "mismatch", t.employee_id, t.finger_index))
    # the read-back is the new confirmed state
    _settle(session, device, plan, res, held, set(new_users), "fingerprint",
            [(pin, uid, known.get(pin), h) for pin, (uid, h) in new_users.items()],
            [(k[0], k[1], k[2], sha) for k, sha in new_tmpls.items()])


# --- ADMS / MQTT ----------------------------------------------------------------------------
def _apply_push(session: Session, device: Device, plan: DevicePlan, actor: str,
                allow_removals: int | None) -> DeviceResult:
    """Queue the plan as commands. Nothing here changes the terminal's confirmed roster:
    each command says what it would change (`sync`) and hub.sync.confirm takes it in
    when the terminal answers done."""
    from hub.push.service import enqueue

    res = DeviceResult(plan.device_id, plan.serial, "ok", sent={"commands": 0})
    held = _held_removals(plan, allow_removals, res)
    _name_warnings(plan, res)
    confirm.absorb(session, [device.id])
    # templates go after their user: confirmed on the terminal, on its way, or queued now
    users_there = set(session.scalars(select(DeviceRosterUser.pin).where(DeviceRosterUser.device_id == device.id)))
    on_its_way = confirm.waiting(session, [device.id]).get(device.id, {})
    users_there |= {k.removeprefix("user:") for k, w in on_its_way.items()
                    if k.startswith("user:") and not w.remove}

    def queue(cmd: commands.Command, sync: dict[str, Any], action: str, pin: str,
              employee_id: int | None = None, finger_index: int | None = None) -> bool:
        try:
            with session.begin_nested():
                enqueue(session, device, cmd.op, cmd.data, actor, sync=sync)
        except Exception as exc:  # noqa: BLE001 - one refused command must not stop the others
            res.issues.append(Issue(action, pin, msg("sync.command_refused", detail=exc),
                                    employee_id=employee_id, finger_index=finger_index))
            return False
        res.sent["commands"] += 1
        return True

    for item in plan.users_add + plan.users_update:
        if queue(commands.user_upsert(item.pin, item.name),
                 confirm.user_sync(item.pin, item.fields_hash, item.employee_id),
                 "user_add", item.pin, item.employee_id):
            users_there.add(item.pin)
    if not held:
        for item in plan.users_remove:
            if queue(commands.user_delete(item.pin), confirm.user_sync(item.pin, "", item.employee_id, True),
                     "user_remove", item.pin):
                users_there.discard(item.pin)
    blobs = _blobs(session, plan.templates_add, res)
    for t in plan.templates_add:
        blob = blobs.get(t.template_id or -1)
        if blob is None or t.pin not in users_there:
            continue
        cmd = (commands.face_set(t.pin, blob, t.sha256) if t.kind == "face"
               else commands.template_set(t.pin, t.finger_index, blob))
        queue(cmd, confirm.template_sync(t.pin, t.kind, t.finger_index, t.sha256),
              "template_add", t.pin, t.employee_id, t.finger_index)
    for t in plan.templates_remove:
        cmd = commands.face_delete(t.pin) if t.kind == "face" else commands.template_delete(t.pin, t.finger_index)
        queue(cmd, confirm.template_sync(t.pin, t.kind, t.finger_index, "", True),
              "template_remove", t.pin, finger_index=t.finger_index)
    if device.kind == "adms" and res.sent["commands"] and "readback" not in on_its_way:
        # then the terminal lists its users: what it holds, not what it said, is the state
        readback = commands.users_list()
        with session.begin_nested():
            enqueue(session, device, readback.op, readback.data, actor, sync=dict(confirm.READBACK))
        res.sent["readback"] = 1
    res.readback = {"queued": res.sent["commands"],
                    "note": stored(msg("sync.queued_note"))}
    if any(i.status == "error" for i in res.issues):
        res.status = "partial"
    return res


# --- the scheduler's nightly roster sync ------------------------------------------------------
def apply_all(engine: Engine, day: Any = None, actor: str = "scheduler") -> dict[str, Any]:
    """Plan and apply every enabled terminal (the `roster_sync` job). Removals above the
    default limit stay held until an admin runs `hub sync apply --allow-removals N`."""
    from hub.sync.plan import compute_plans, select_devices

    with session_scope(engine) as session:
        plans = compute_plans(session, select_devices(session), day)
    results = apply_plans(engine, plans, actor)
    by_status: dict[str, int] = defaultdict(int)
    for r in results:
        by_status[r.status] += 1
    return {"terminals": len(results), **by_status, "sent": sum(r.commands_sent for r in results),
            "mismatch": sum(r.mismatch for r in results),
            "issues": sum(len(r.issues) for r in results),
            "failed_terminals": [r.serial for r in results if r.status == "failed"]}
