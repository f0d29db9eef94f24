"""Carry a sync plan to a ZK terminal over its one line: removals, upload buffers, read-back.

The plan is the hub's vocabulary (hub.commands.DevicePlan); this module turns it into ZK user
and template records in batch upload buffers. A buffer the terminal refuses is split until
the item it refuses is found, and the rest goes on. What the terminal holds afterwards is read
back and returned as plain data: hub.sync.apply, not this module, makes it the confirmed state.
The line is the terminal's one session (hub.adapters.zk.sessions): a live session held for
the terminal is lent for the push; otherwise one is opened, over TCP, UDP or serial.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from zk.exception import ZKError

from hub.adapters.zk.client import BatchRejected, ZkClientError
from hub.adapters.zk.coordinator import default_client
from hub.adapters.zk.sessions import SESSIONS
from hub.adapters.zk.targets import Target
from hub.commands import DevicePlan, Issue, TemplateItem, UserItem
from hub.config import get_settings
from hub.messages import msg
from hub.protocols import zk as codec

BATCH_USERS = 250  # users (with their templates) per upload buffer

Progress = Callable[[str, int, int], None]  # (label, done, total)


@dataclass
class Outcome:
    """What happened on the terminal; `users`/`templates` are what it holds afterwards."""

    sent: dict[str, int] = field(default_factory=lambda: {
        "users_removed": 0, "templates_removed": 0, "users_sent": 0, "templates_sent": 0,
        "buffers": 0, "bytes": 0})
    issues: list[Issue] = field(default_factory=list)
    users: list[tuple[int, str, str]] = field(default_factory=list)  # (uid, pin, name)
    templates: list[tuple[str, int, str]] = field(default_factory=list)  # (pin, finger, sha256)
    user_size: int | None = None  # the record size read back; None when the terminal was empty
    error: str | None = None


def push_plan(target: Target, plan: DevicePlan, blobs: dict[int, bytes], hold_removals: bool = False,
              progress: Progress | None = None, batch_users: int = BATCH_USERS) -> Outcome:
    """Removals first (they free room), then users with their fingerprints, then read back."""
    out = Outcome()
    fps = [t for t in plan.templates_add if t.kind == "fingerprint"]
    try:
        with SESSIONS.session(target, get_settings().pull, default_client) as zs:
            on_terminal = {u.user_id: u for u in zs.read_users()[0]}
            # the record size read back is a fact; an empty terminal only has the plan's guess
            user_size = zs.user_size if on_terminal and zs.user_size else plan.user_size
            if on_terminal:
                out.user_size = user_size
            if not hold_removals:
                for item in plan.users_remove:
                    u = on_terminal.pop(item.pin, None)
                    if u is not None:
                        zs.delete_user(u.uid)
                        out.sent["users_removed"] += 1
            for t in plan.templates_remove:
                u = on_terminal.get(t.pin)
                if t.kind == "fingerprint" and u is not None:
                    zs.delete_template(u.uid, t.finger_index)
                    out.sent["templates_removed"] += 1
            cap = zs.capacity()
            batches = _zk_batches(plan, fps, blobs, on_terminal, cap, user_size, out, batch_users)
            for n, (users, tmpls, meta) in enumerate(batches, 1):
                _send_isolating(zs, users, tmpls, meta, user_size, out)
                if progress:
                    progress(plan.serial, n, len(batches))
            users_back = zs.read_users()[0]
            tmpls_back = zs.read_templates() if users_back else []
    except ZkClientError as exc:
        out.error = msg("sync.unreachable", detail=exc)
        return out
    except (ZKError, OSError, codec.ZkProtocolError) as exc:
        out.error = msg("sync.link_lost", detail=exc)
        return out
    out.users = [(u.uid, u.user_id, u.name) for u in users_back]
    uid_pin = {u.uid: u.user_id for u in users_back}
    out.templates = [(uid_pin[f.uid], int(f.fid), hashlib.sha256(bytes(f.template)).hexdigest())
                     for f in tmpls_back if f.uid in uid_pin]
    return out


def _zk_batches(plan: DevicePlan, fps: list[TemplateItem], blobs: dict[int, bytes], on_terminal: dict,
                cap: Any, user_size: int, res: Outcome,
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
            res.issues.append(Issue("template_add", pin, msg("sync.user_absent_template_held")))
            continue
        if old is None:
            if users_free <= 0:
                res.issues.append(Issue("user_add", pin, msg("sync.terminal_full", cap=cap.users_cap),
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
                res.issues.append(Issue("template_add", pin, msg("sync.fingers_full", cap=cap.fingers_cap),
                                        finger_index=t.finger_index))
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
                    user_size: int, res: Outcome) -> None:
    """Send a buffer; when the terminal refuses it, split it to find and report what it refuses."""
    try:
        res.sent["bytes"] += zs.upload(users, tmpls, user_size)
        res.sent["buffers"] += 1
        res.sent["users_sent"] += len(users)
        res.sent["templates_sent"] += len(tmpls)
        return
    except codec.ZkRecordError as exc:  # cannot even be encoded: find the record
        if len(users) == 1 and not tmpls:
            res.issues.append(Issue("user_add", meta.get(users[0].uid), msg("sync.user_unencodable", detail=exc)))
            return
        problem: Exception = exc
    except BatchRejected as exc:
        problem = exc
    if len(users) > 1:
        for u in users:
            _send_isolating(zs, [u], [t for t in tmpls if t.uid == u.uid], meta, user_size, res)
        return
    u = users[0]
    pin = meta.get(u.uid)
    if not tmpls:
        res.issues.append(Issue("user_add", pin, msg("sync.user_rejected", detail=problem)))
        return
    try:  # the user alone, then each template with it
        res.sent["bytes"] += zs.upload([u], [], user_size)
        res.sent["users_sent"] += 1
    except (BatchRejected, codec.ZkRecordError) as exc:
        res.issues.append(Issue("user_add", pin, msg("sync.user_rejected", detail=exc)))
        return
    for t in tmpls:
        try:
            res.sent["bytes"] += zs.upload([u], [t], user_size)
            res.sent["templates_sent"] += 1
        except (BatchRejected, codec.ZkRecordError) as exc:
            res.issues.append(Issue("template_add", pin, msg("sync.template_rejected", finger=t.fid, detail=exc),
                                    finger_index=t.fid))
