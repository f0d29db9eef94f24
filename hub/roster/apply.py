"""Carry sync plans out, terminal by terminal, and record what really happened.

ZK terminals: deletes first, then users and templates in batch upload buffers; a buffer the
terminal refuses is split until the item it refuses is found, and the rest goes on. Then the
terminal's users and templates are read back: that read-back, not the plan, becomes the
terminal's confirmed state, and any difference from the plan is reported as a mismatch.
ADMS/MQTT terminals: the changes are queued as commands (hub/push); the state changes only
as the terminal confirms each one (hub/roster/confirm.py), and a refused or expired one is
planned again after a backoff.
A terminal that cannot be reached keeps its old state, so the next plan carries the change.
"""

from __future__ import annotations

import base64
import hashlib
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, delete, insert, select
from sqlalchemy.orm import Session
from zk.exception import ZKError

from hub.config import get_settings
from hub.fleet import health
from hub.i18n import tr
from hub.protocols import zk as codec
from hub.roster import confirm
from hub.roster.models import DeviceRosterTemplate, DeviceRosterUser, SyncItem, SyncRun
from hub.roster.plan import PUSH_KINDS, ZK_KINDS, DevicePlan, TemplateItem, UserItem, fields_hash
from hub.secrets import SecretError, decrypt
from hub.store.db import session_scope
from hub.store.models import Device, PinMapping, Template, utcnow

DEFAULT_REMOVAL_LIMIT = 20  # more removals than this on one terminal need --allow-removals
BATCH_USERS = 250  # users (with their templates) per upload buffer

Progress = Callable[[str, int, int], None]  # (label, done, total)
CHANGE_KEYS = ("users_removed", "templates_removed", "users_sent", "templates_sent", "commands")


@dataclass
class Issue:
    action: str
    pin: str | None
    message: str
    status: str = "error"  # error | warning | mismatch
    employee_id: int | None = None
    finger_index: int | None = None


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
                  error=res.error, actor=actor)
    session.add(run)
    session.flush()
    res.run_id = run.id
    session.add_all([SyncItem(run_id=run.id, action=i.action, pin=i.pin, employee_id=i.employee_id,
                              finger_index=i.finger_index, status=i.status, message=i.message[:2000])
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
            else:
                res = DeviceResult(plan.device_id, plan.serial, "skipped",
                                   error=tr(f"belum didukung untuk jenis {plan.kind}",
                                            f"not yet supported for kind {plan.kind}"))
            _record(session, plan, res, started, actor)
        out.append(res)
    return out


def _held_removals(plan: DevicePlan, allow_removals: int | None, res: DeviceResult) -> bool:
    limit = DEFAULT_REMOVAL_LIMIT if allow_removals is None else allow_removals
    if len(plan.users_remove) <= limit:
        return False
    res.issues.append(Issue("user_remove", None, tr(
        f"{len(plan.users_remove)} pengguna akan dihapus, di atas batas {limit}: penghapusan ditahan. "
        f"Periksa `hub sync plan --device {plan.serial}`, lalu jalankan ulang dengan "
        f"--allow-removals {len(plan.users_remove)}",
        f"{len(plan.users_remove)} users would be removed, above the limit of {limit}: removals held. "
        f"Check `hub sync plan --device {plan.serial}`, then rerun with --allow-removals {len(plan.users_remove)}"),
        status="warning"))
    return True


def _name_warnings(plan: DevicePlan, res: DeviceResult) -> None:
    for u in plan.users_add + plan.users_update:
        if u.note:
            res.issues.append(Issue("user_name", u.pin, tr(f"nama dikirim sebagai {u.name!r}: {u.note}",
                                                            f"name sent as {u.name!r}: {u.note}"),
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


def _group_pins(session: Session, device: Device) -> dict[str, int]:
    rows = session.execute(select(PinMapping.pin, PinMapping.employee_id)
                           .where((PinMapping.pin_group == device.pin_group) & PinMapping.device_id.is_(None)
                                  | (PinMapping.device_id == device.id))).all()
    return dict(rows)


# --- ZK -------------------------------------------------------------------------------------
def _apply_zk(session: Session, device: Device, plan: DevicePlan, allow_removals: int | None,
              progress: Progress | None, batch_users: int) -> DeviceResult:
    """Over the terminal's one line (hub.adapters.zk.sessions): a live session held for the
    terminal is lent for the push; otherwise one is opened, over TCP, UDP or serial."""
    from hub.adapters.zk.client import BatchRejected, ZkClientError
    from hub.adapters.zk.coordinator import Target, default_client
    from hub.adapters.zk.sessions import SESSIONS

    res = DeviceResult(plan.device_id, plan.serial, "ok",
                       sent={"users_removed": 0, "templates_removed": 0, "users_sent": 0,
                             "templates_sent": 0, "buffers": 0, "bytes": 0})
    held = _held_removals(plan, allow_removals, res)
    _name_warnings(plan, res)
    fps = [t for t in plan.templates_add if t.kind == "fingerprint"]
    blobs = _blobs(session, fps, res)
    label = plan.serial
    try:
        target = Target.of(device)
    except SecretError as exc:
        res.status, res.error = "failed", str(exc)
        return res
    try:
        with SESSIONS.session(target, get_settings().pull, default_client) as zs:
            on_terminal = {u.user_id: u for u in zs.read_users()[0]}
            # the record size read back is a fact; an empty terminal only has the plan's guess
            user_size = zs.user_size if on_terminal and zs.user_size else plan.user_size
            if on_terminal and (device.capabilities or {}).get("user_record_size") != user_size:
                device.capabilities = {**(device.capabilities or {}), "user_record_size": user_size}
            # removals first: they free room for the additions
            if not held:
                for item in plan.users_remove:
                    u = on_terminal.pop(item.pin, None)
                    if u is not None:
                        zs.delete_user(u.uid)
                        res.sent["users_removed"] += 1
            for t in plan.templates_remove:
                u = on_terminal.get(t.pin)
                if t.kind == "fingerprint" and u is not None:
                    zs.delete_template(u.uid, t.finger_index)
                    res.sent["templates_removed"] += 1
            cap = zs.capacity()
            batches = _zk_batches(plan, fps, blobs, on_terminal, cap, user_size, res, batch_users)
            total = len(batches)
            for n, (users, tmpls, meta) in enumerate(batches, 1):
                _send_isolating(zs, users, tmpls, meta, user_size, res, BatchRejected)
                if progress:
                    progress(label, n, total)
            readback_users = zs.read_users()[0]
            readback_tmpls = zs.read_templates() if readback_users else []
    except ZkClientError as exc:
        res.status = "failed"
        res.error = tr(f"terminal tidak dapat dihubungi ({exc}); perubahan dikirim lagi saat terminal kembali",
                       f"terminal unreachable ({exc}); the change is sent again when it is back")
        health.failed(session.connection(), device.id, res.error)
        return res
    except (ZKError, OSError, codec.ZkProtocolError) as exc:
        res.status = "failed"
        res.error = tr(f"sambungan terputus di tengah sinkronisasi: {exc}; jalankan `hub sync apply` lagi",
                       f"connection lost during sync: {exc}; run `hub sync apply` again")
        health.failed(session.connection(), device.id, res.error)
        return res
    _zk_confirm(session, device, plan, readback_users, readback_tmpls, res, held)
    return res


def _zk_batches(plan: DevicePlan, fps: list[TemplateItem], blobs: dict[int, bytes], on_terminal: dict,
                cap: Any, user_size: int, res: DeviceResult,
                batch_users: int = BATCH_USERS) -> list[tuple[list, list, dict]]:
    used = {u.uid for u in on_terminal.values()}
    next_uid = 1

    def free_uid() -> int:
        nonlocal next_uid
        while next_uid in used:
            next_uid += 1
        used.add(next_uid)
        return next_uid

    wanted: dict[str, UserItem] = {u.pin: u for u in plan.users_add + plan.users_update}
    by_pin: dict[str, list[TemplateItem]] = defaultdict(list)
    for t in fps:
        by_pin[t.pin].append(t)
    users_free, fingers_free = cap.users_free, cap.fingers_free
    records: list[tuple[codec.User, list[codec.Template], str]] = []
    for pin in list(wanted) + [p for p in by_pin if p not in wanted]:
        item = wanted.get(pin)
        old = on_terminal.get(pin)
        if old is None and item is None:
            res.issues.append(Issue("template_add", pin, tr("pengguna tidak ada di terminal; template ditunda",
                                                            "user is not on the terminal; template held")))
            continue
        if old is None:
            if users_free <= 0:
                res.issues.append(Issue("user_add", pin, tr(
                    f"terminal penuh (kapasitas {cap.users_cap} pengguna); pengguna dan templatnya tidak dikirim",
                    f"terminal full ({cap.users_cap} users); user and templates not sent"),
                    employee_id=item.employee_id if item else None))
                continue
            users_free -= 1
            user = codec.User(free_uid(), pin, item.name if item else "", 0)
        else:
            name = item.name if item else old.name
            user = codec.User(old.uid, pin, name, old.privilege if item is None else 0, old.password or "",
                              int(old.card or 0))
        if user_size == 28:
            user.name = user.name[:8]
        tmpls = []
        for t in by_pin.get(pin, ()):
            blob = blobs.get(t.template_id or -1)
            if blob is None:
                continue
            if fingers_free <= 0:
                res.issues.append(Issue("template_add", pin, tr(
                    f"memori sidik jari terminal penuh (kapasitas {cap.fingers_cap})",
                    f"terminal fingerprint memory full ({cap.fingers_cap})"), finger_index=t.finger_index))
                continue
            fingers_free -= 1
            tmpls.append(codec.Template(user.uid, t.finger_index, 1, blob))
        records.append((user, tmpls, pin))
    batches = []
    for i in range(0, len(records), max(1, batch_users)):
        part = records[i:i + batch_users]
        batches.append(([r[0] for r in part], [t for r in part for t in r[1]], {r[0].uid: r[2] for r in part}))
    return batches


def _send_isolating(zs: Any, users: list[codec.User], tmpls: list[codec.Template], meta: dict[int, str],
                    user_size: int, res: DeviceResult, rejected: type[Exception]) -> None:
    """Send a buffer; when the terminal refuses it, split it to find and report what it refuses."""
    try:
        res.sent["bytes"] += zs.upload(users, tmpls, user_size)
        res.sent["buffers"] += 1
        res.sent["users_sent"] += len(users)
        res.sent["templates_sent"] += len(tmpls)
        return
    except codec.ZkRecordError as exc:  # cannot even be encoded: find the record
        if len(users) == 1 and not tmpls:
            res.issues.append(Issue("user_add", meta.get(users[0].uid), tr(
                f"data pengguna tidak dapat dikirim: {exc}", f"user record cannot be sent: {exc}")))
            return
        problem: Exception = exc
    except rejected as exc:
        problem = exc
    if len(users) > 1:
        for u in users:
            _send_isolating(zs, [u], [t for t in tmpls if t.uid == u.uid], meta, user_size, res, rejected)
        return
    u = users[0]
    pin = meta.get(u.uid)
    if not tmpls:
        res.issues.append(Issue("user_add", pin, tr(f"terminal menolak pengguna: {problem}",
                                                    f"terminal rejected the user: {problem}")))
        return
    try:  # the user alone, then each template with it
        res.sent["bytes"] += zs.upload([u], [], user_size)
        res.sent["users_sent"] += 1
    except (rejected, codec.ZkRecordError) as exc:
        res.issues.append(Issue("user_add", pin, tr(f"terminal menolak pengguna: {exc}",
                                                    f"terminal rejected the user: {exc}")))
        return
    for t in tmpls:
        try:
            res.sent["bytes"] += zs.upload([u], [t], user_size)
            res.sent["templates_sent"] += 1
        except (rejected, codec.ZkRecordError) as exc:
            res.issues.append(Issue("template_add", pin, tr(f"terminal menolak template jari {t.fid}: {exc}",
                                                            f"terminal rejected the finger {t.fid} template: {exc}"),
                                    finger_index=t.fid))


def _zk_confirm(session: Session, device: Device, plan: DevicePlan, users: list, tmpls: list,
                res: DeviceResult, held: bool) -> None:
    known = _group_pins(session, device)
    uid_pin = {u.uid: u.user_id for u in users}
    new_users = {u.user_id: (u.uid, fields_hash(u.user_id, u.name)) for u in users if u.user_id in known}
    new_tmpls = {}
    for f in tmpls:
        pin = uid_pin.get(f.uid)
        if pin in known:
            new_tmpls[(pin, "fingerprint", int(f.fid))] = hashlib.sha256(bytes(f.template)).hexdigest()
    unknown = len(users) - len(new_users)
    res.readback = {"users": len(users), "templates": len(tmpls), "managed_users": len(new_users),
                    "unknown_users": unknown}
    if unknown:
        res.issues.append(Issue("readback", None, tr(
            f"{unknown} pengguna di terminal tidak punya PIN di hub (dibiarkan)",
            f"{unknown} users on the terminal have no PIN in the hub (left alone)"), status="warning"))
    failed = {(i.pin, i.finger_index if i.action.startswith("template") else None)
              for i in res.issues if i.status == "error"}
    failed_pins = {p for p, _ in failed}
    for item in plan.users_add + plan.users_update:
        if item.pin in failed_pins:
            continue
        got = new_users.get(item.pin)
        if got is None or got[1] != item.fields_hash:
            res.issues.append(Issue("mismatch", item.pin, tr(
                "pengguna tidak ada di terminal setelah dikirim" if got is None else
                "data pengguna di terminal berbeda dengan yang dikirim",
                "user missing on the terminal after sending" if got is None else
                "user data on the terminal differs from what was sent"), "mismatch", item.employee_id))
    for t in plan.templates_add:
        if t.kind != "fingerprint" or t.pin in failed_pins or (t.pin, t.finger_index) in failed:
            continue
        if new_tmpls.get((t.pin, t.kind, t.finger_index)) != t.sha256:
            res.issues.append(Issue("mismatch", t.pin, tr(
                f"template jari {t.finger_index} tidak ada/berbeda di terminal setelah dikirim",
                f"finger {t.finger_index} template missing or different on the terminal after sending"),
                "mismatch", t.employee_id, t.finger_index))
    if not held:
        for item in plan.users_remove:
            if item.pin in new_users:
                res.issues.append(Issue("mismatch", item.pin, tr("pengguna masih ada di terminal setelah dihapus",
                                                                 "user still on the terminal after removal"),
                                        "mismatch", item.employee_id))
    res.mismatch = any(i.status == "mismatch" for i in res.issues)
    if res.mismatch or any(i.status == "error" for i in res.issues):
        res.status = "partial"
    # the read-back is the new confirmed state
    session.execute(delete(DeviceRosterUser).where(DeviceRosterUser.device_id == device.id))
    session.execute(delete(DeviceRosterTemplate).where(DeviceRosterTemplate.device_id == device.id,
                                                       DeviceRosterTemplate.kind == "fingerprint"))
    now = utcnow()
    if new_users:  # bulk inserts: a full terminal holds thousands of rows
        session.execute(insert(DeviceRosterUser), [
            {"device_id": device.id, "pin": pin, "uid": uid, "employee_id": known.get(pin), "fields_hash": h,
             "confirmed_at": now} for pin, (uid, h) in new_users.items()])
    if new_tmpls:
        session.execute(insert(DeviceRosterTemplate), [
            {"device_id": device.id, "pin": k[0], "kind": k[1], "finger_index": k[2], "sha256": sha,
             "confirmed_at": now} for k, sha in new_tmpls.items()])
    health.succeeded(session.connection(), device.id)


# --- ADMS / MQTT ----------------------------------------------------------------------------
def _apply_push(session: Session, device: Device, plan: DevicePlan, actor: str,
                allow_removals: int | None) -> DeviceResult:
    """Queue the plan as commands. Nothing here changes the terminal's confirmed roster:
    each command says what it would change (`sync`) and hub.roster.confirm takes it in
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

    def queue(op: str, data: dict[str, Any], sync: dict[str, Any], issue: Issue) -> bool:
        try:
            with session.begin_nested():
                enqueue(session, device, op, data, actor, sync=sync)
        except Exception as exc:  # noqa: BLE001 - one refused command must not stop the others
            issue.message = f"{issue.message}: {exc}"
            res.issues.append(issue)
            return False
        res.sent["commands"] += 1
        return True

    for item in plan.users_add + plan.users_update:
        if queue("user.upsert", {"user": {"id": item.pin, "name": item.name, "role": "user"}},
                 confirm.user_sync(item.pin, item.fields_hash, item.employee_id),
                 Issue("user_add", item.pin, tr("perintah ditolak", "command refused"), employee_id=item.employee_id)):
            users_there.add(item.pin)
    if not held:
        for item in plan.users_remove:
            if queue("user.delete", {"user_id": item.pin}, confirm.user_sync(item.pin, "", item.employee_id, True),
                     Issue("user_remove", item.pin, tr("perintah ditolak", "command refused"))):
                users_there.discard(item.pin)
    blobs = _blobs(session, plan.templates_add, res)
    for t in plan.templates_add:
        blob = blobs.get(t.template_id or -1)
        if blob is None or t.pin not in users_there:
            continue
        b64 = base64.b64encode(blob).decode()
        if t.kind == "face":
            op, data = "face.set", {"user_id": t.pin, "type": "visible",
                                    "photo": {"b64": b64, "sha256": t.sha256, "size": len(blob),
                                              "content_type": "image/jpeg"}}
        else:
            op, data = "template.set", {"user_id": t.pin, "no": t.finger_index, "type": 1, "format": "zk",
                                        "alg_ver": 10, "data_b64": b64}
        queue(op, data, confirm.template_sync(t.pin, t.kind, t.finger_index, t.sha256),
              Issue("template_add", t.pin, tr("perintah ditolak", "command refused"),
                    employee_id=t.employee_id, finger_index=t.finger_index))
    for t in plan.templates_remove:
        op = "face.delete" if t.kind == "face" else "template.delete"
        data = {"user_id": t.pin} if t.kind == "face" else {"user_id": t.pin, "no": t.finger_index}
        queue(op, data, confirm.template_sync(t.pin, t.kind, t.finger_index, "", True),
              Issue("template_remove", t.pin, tr("perintah ditolak", "command refused"), finger_index=t.finger_index))
    if device.kind == "adms" and res.sent["commands"] and "readback" not in on_its_way:
        # then the terminal lists its users: what it holds, not what it said, is the state
        with session.begin_nested():
            enqueue(session, device, "users.list", {}, actor, sync=dict(confirm.READBACK))
        res.sent["readback"] = 1
    res.readback = {"queued": res.sent["commands"],
                    "note": tr("status berubah saat terminal mengonfirmasi tiap perintah",
                               "the state changes as the terminal confirms each command")}
    if any(i.status == "error" for i in res.issues):
        res.status = "partial"
    return res


# --- the scheduler's nightly roster sync ------------------------------------------------------
def apply_all(engine: Engine, day: Any = None, actor: str = "scheduler") -> dict[str, Any]:
    """Plan and apply every enabled terminal (the `roster_sync` job). Removals above the
    default limit stay held until an admin runs `hub sync apply --allow-removals N`."""
    from hub.roster.plan import compute_plans, select_devices

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
