"""A push terminal's roster is what it confirmed (issue 21 item 7).

ADMS and MQTT terminals get roster changes as queued commands. Queuing changes nothing in
`device_roster_users/templates`; each command carries what it would change (`sync`), and
only a `done` result moves it into the confirmed state. A refused (`Return=-1002`) or
expired command leaves the state as it was, so the next plan carries the change again, after
a backoff that grows with each failure of the same change, with the terminal's reason shown.
A change whose command is still queued or sent is not planned twice.

`absorb` takes results into the state; the planner and `apply` call it first.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from hub.i18n import tr
from hub.push.models import DeviceCommand, PushUserRecord
from hub.store.models import utcnow
from hub.sync.models import DeviceRosterTemplate, DeviceRosterUser

BACKOFF_FIRST = timedelta(minutes=10)
BACKOFF_MAX = timedelta(hours=24)
FAILURE_WINDOW = timedelta(days=7)  # older failures no longer slow a retry
OPEN = ("queued", "sent")
CLOSED = ("done", "failed", "expired")


def fields_hash(pin: str, name: str, privilege: int = 0, card: int = 0, valid: str = "") -> str:
    """What a terminal holds of a user, as one value: compared with the desired one. `valid`
    (a period "from..to", only where the terminal keeps one) counts only when given, so the
    hashes of terminals without it stay as they were."""
    tail = f"\x1f{valid}" if valid else ""
    return hashlib.sha1(f"{pin}\x1f{name}\x1f{privilege}\x1f{card}{tail}".encode()).hexdigest()[:32]


def user_sync(pin: str, fields_hash: str, employee_id: int | None, remove: bool = False) -> dict[str, Any]:
    return {"key": f"user:{pin}", "what": "user", "pin": pin, "hash": "" if remove else fields_hash,
            "employee_id": employee_id, "remove": remove}


def template_sync(pin: str, kind: str, finger_index: int, sha256: str, remove: bool = False) -> dict[str, Any]:
    return {"key": f"tmpl:{pin}:{kind}:{finger_index}", "what": "template", "pin": pin, "kind": kind,
            "finger_index": finger_index, "hash": "" if remove else sha256, "remove": remove}


READBACK = {"key": "readback", "what": "readback"}  # ADMS DATA QUERY USERINFO after a sync


def user_key(pin: str) -> str:
    return f"user:{pin}"


def template_key(pin: str, kind: str, finger_index: int) -> str:
    return f"tmpl:{pin}:{kind}:{finger_index}"


@dataclass(frozen=True)
class Waiting:
    """A change queued or sent and not answered yet."""
    hash: str
    remove: bool
    command_id: int


@dataclass(frozen=True)
class Held:
    """A change the terminal refused (or never fetched): retried after `until`."""
    until: datetime
    failures: int
    reason: str
    hash: str  # what was refused: a different value is tried at once
    remove: bool


def absorb(session: Session, device_ids: list[int]) -> dict[str, int]:
    """Take every unabsorbed result of a sync command into the confirmed state, in command
    order. Returns counts (confirmed, failed)."""
    if not device_ids:
        return {"confirmed": 0, "failed": 0}
    rows = session.execute(select(DeviceCommand.id, DeviceCommand.device_id, DeviceCommand.status,
                                  DeviceCommand.sync, DeviceCommand.done_at, DeviceCommand.sent_at)
                           .where(DeviceCommand.device_id.in_(device_ids), DeviceCommand.sync.is_not(None),
                                  DeviceCommand.absorbed_at.is_(None), DeviceCommand.status.in_(CLOSED))
                           .order_by(DeviceCommand.id)).all()
    counts = {"confirmed": 0, "failed": 0}
    for r in rows:
        if r.status == "done" and r.sync.get("what") == "readback":
            _read_back(session, r.device_id, r.sent_at, r.done_at or utcnow())
            counts["confirmed"] += 1
        elif r.status == "done":
            _apply(session, r.device_id, r.sync, r.done_at or utcnow())
            counts["confirmed"] += 1
        else:
            counts["failed"] += 1
    if rows:
        ids = [r.id for r in rows]
        for i in range(0, len(ids), 500):
            session.execute(update(DeviceCommand).where(DeviceCommand.id.in_(ids[i:i + 500]))
                            .values(absorbed_at=utcnow()))
    return counts


def _apply(session: Session, device_id: int, sync: dict[str, Any], when: datetime) -> None:
    pin = sync["pin"]
    if sync["what"] == "user":
        if sync.get("remove"):
            session.execute(delete(DeviceRosterUser).where(DeviceRosterUser.device_id == device_id,
                                                           DeviceRosterUser.pin == pin))
            session.execute(delete(DeviceRosterTemplate).where(DeviceRosterTemplate.device_id == device_id,
                                                               DeviceRosterTemplate.pin == pin))
            return
        row = session.scalar(select(DeviceRosterUser).where(DeviceRosterUser.device_id == device_id,
                                                            DeviceRosterUser.pin == pin))
        if row is None:
            row = DeviceRosterUser(device_id=device_id, pin=pin)
            session.add(row)
        row.employee_id, row.fields_hash, row.confirmed_at = sync.get("employee_id"), sync["hash"], when
        session.flush()
        return
    where = (DeviceRosterTemplate.device_id == device_id, DeviceRosterTemplate.pin == pin,
             DeviceRosterTemplate.kind == sync["kind"], DeviceRosterTemplate.finger_index == sync["finger_index"])
    if sync.get("remove"):
        session.execute(delete(DeviceRosterTemplate).where(*where))
        return
    trow = session.scalar(select(DeviceRosterTemplate).where(*where))
    if trow is None:
        trow = DeviceRosterTemplate(device_id=device_id, pin=pin, kind=sync["kind"],
                                    finger_index=sync["finger_index"])
        session.add(trow)
    trow.sha256, trow.confirmed_at = sync["hash"], when
    session.flush()


def _read_back(session: Session, device_id: int, since: datetime | None, until: datetime) -> None:
    """The terminal's own list of users (the USER lines it uploaded while answering the
    query) corrects the confirmed state: a user it said "done" to but does not hold is no
    longer counted as there, a name it holds otherwise is recorded as it is. Users it holds
    that the hub never sent are left alone."""
    q = select(PushUserRecord.pin, PushUserRecord.fields).where(
        PushUserRecord.device_id == device_id, PushUserRecord.kind == "USER", PushUserRecord.received_at <= until)
    if since is not None:
        q = q.where(PushUserRecord.received_at >= since)
    listed = {pin: fields for pin, fields in session.execute(q) if pin}
    if not listed:
        # "done" and no list at all: firmware that does not answer the query this way;
        # nothing is learnt (a unit that really holds nobody still shows in its user count)
        return
    for row in session.scalars(select(DeviceRosterUser).where(DeviceRosterUser.device_id == device_id)):
        fields = listed.get(row.pin)
        if fields is None:
            session.execute(delete(DeviceRosterTemplate).where(DeviceRosterTemplate.device_id == device_id,
                                                               DeviceRosterTemplate.pin == row.pin))
            session.delete(row)
            continue
        actual = fields_hash(row.pin, str(fields.get("Name", "")))
        if actual != row.fields_hash:
            row.fields_hash, row.confirmed_at = actual, until
    session.flush()


def waiting(session: Session, device_ids: list[int]) -> dict[int, dict[str, Waiting]]:
    out: dict[int, dict[str, Waiting]] = defaultdict(dict)
    if not device_ids:
        return out
    for r in session.execute(select(DeviceCommand.id, DeviceCommand.device_id, DeviceCommand.sync)
                             .where(DeviceCommand.device_id.in_(device_ids), DeviceCommand.sync.is_not(None),
                                    DeviceCommand.status.in_(OPEN))
                             .order_by(DeviceCommand.id)):
        out[r.device_id][r.sync["key"]] = Waiting(r.sync.get("hash", ""), bool(r.sync.get("remove")), r.id)
    return out


def held(session: Session, device_ids: list[int], now: datetime | None = None) -> dict[int, dict[str, Held]]:
    """Changes whose last attempts failed, with when they may be tried again: 10 min after
    the first failure, doubling each time, at most a day. A success clears the count."""
    now = now or utcnow()
    out: dict[int, dict[str, Held]] = defaultdict(dict)
    if not device_ids:
        return out
    runs: dict[tuple[int, str], list[Any]] = defaultdict(list)
    for r in session.execute(select(DeviceCommand.device_id, DeviceCommand.status, DeviceCommand.sync,
                                    DeviceCommand.done_at, DeviceCommand.result)
                             .where(DeviceCommand.device_id.in_(device_ids), DeviceCommand.sync.is_not(None),
                                    DeviceCommand.status.in_(CLOSED),
                                    DeviceCommand.done_at > now - FAILURE_WINDOW)
                             .order_by(DeviceCommand.id)):
        key = (r.device_id, r.sync["key"])
        if r.status == "done":
            runs.pop(key, None)  # a success ends the run of failures
        else:
            runs[key].append(r)
    for (device_id, key), fails in runs.items():
        last = fails[-1]
        wait = min(BACKOFF_FIRST * 2 ** (len(fails) - 1), BACKOFF_MAX)
        until = (last.done_at or now) + wait
        if until > now:
            out[device_id][key] = Held(until, len(fails), reason(last.status, last.result),
                                       last.sync.get("hash", ""), bool(last.sync.get("remove")))
    return out


def reason(status: str, result: dict[str, Any] | None) -> str:
    """The terminal's reason in words."""
    if status == "expired":
        return tr("kedaluwarsa: terminal tidak mengambil perintah (mati/terputus?)",
                  "expired: the terminal never fetched the command (off or disconnected?)")
    result = result or {}
    code = result.get("return", result.get("code"))
    msg = result.get("msg") or result.get("error") or ""
    known = {-1002: tr("terminal menolak data (format/ukuran tidak didukung, mis. foto wajah)",
                       "the terminal refused the data (format or size not supported, e.g. a face photo)"),
             -1001: tr("terminal penuh", "the terminal is full"),
             -1: tr("perintah gagal di terminal", "the command failed on the terminal")}
    text = known.get(code, tr("ditolak terminal", "refused by the terminal")) if isinstance(code, int) else \
        tr("ditolak terminal", "refused by the terminal")
    return f"{text} (kode {code}{', ' + str(msg)[:80] if msg else ''})" if code is not None else text
