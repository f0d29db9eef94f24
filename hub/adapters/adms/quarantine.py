"""ADMS lines that could not be stored, kept verbatim (encrypted) with their reason.

A batch with some bad lines (an impossible date, an unknown state, garbage) is answered
"OK" only after its good lines and its bad ones are committed together: the good as
punches or records, the bad here. A person reads them (`hub push rejected`, the terminal's
page), and after a fix (a parser that learnt a firmware's format, a terminal's clock set
right) replays them: what parses now is stored as if it had just arrived, exactly once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, Engine, insert, select, update
from sqlalchemy.orm import Session

from hub.adapters.adms.normalise import attlog_punch
from hub.protocols import adms
from hub.punch import Source
from hub.push import service
from hub.push.models import PushUserRecord, RejectedLine
from hub.secrets import decrypt, encrypt, fingerprint, seal_tree
from hub.store.models import Device, utcnow

_BIOMETRIC = re.compile(r"((?:TMP|Tmp|Content)=)[^\t]*")


# what an OPERLOG/BIODATA line carries that must not rest in clear
SEALED_FIELDS = frozenset({"TMP", "Tmp", "Content", "Passwd", "Password", "Card", "CardNo", "ViceCard"})


def oper_row(device_id: int, r: adms.OperRecord) -> dict:
    return {"device_id": device_id, "kind": r.kind, "pin": r.pin, "fields": seal_tree(r.fields, SEALED_FIELDS),
            "note": None, "received_at": utcnow()}


def keep(conn: Connection, device_id: int, kind: str, parsed: adms.Parsed, stamp: str | None) -> int:
    """Store the rejected lines of one batch (inside the batch's transaction), each once:
    a batch resent because its "OK" was lost finds its lines already kept."""
    if not parsed.rejected:
        return 0
    digests = [fingerprint(f"{kind}\n{line}".encode()) for _, line, _ in parsed.rejected]
    known: set[str] = set()
    for i in range(0, len(digests), 500):
        known.update(conn.scalars(select(RejectedLine.line_digest).where(
            RejectedLine.device_id == device_id, RejectedLine.kind == kind,
            RejectedLine.line_digest.in_(digests[i:i + 500]))))
    rows = []
    for (n, line, err), digest in zip(parsed.rejected, digests, strict=True):
        if digest in known:
            continue
        known.add(digest)
        rows.append({"device_id": device_id, "channel": "adms", "kind": kind, "line_no": n,
                     "line_enc": encrypt(line.encode()), "line_digest": digest, "reason": str(err)[:2000],
                     "stamp": stamp, "received_at": utcnow(), "status": "held"})
    if rows:
        conn.execute(insert(RejectedLine), rows)
    return len(rows)


@dataclass
class Held:
    id: int
    serial: str
    kind: str
    line_no: int
    line: str  # templates and photos masked
    reason: str
    received_at: datetime
    status: str


def masked(line: str) -> str:
    return _BIOMETRIC.sub(r"\1…", line)


def held(engine: Engine, serial: str | None = None, status: str | None = "held") -> list[Held]:
    q = (select(RejectedLine, Device.serial).join(Device, Device.id == RejectedLine.device_id)
         .order_by(RejectedLine.id))
    if serial:
        q = q.where(Device.serial == serial)
    if status:
        q = q.where(RejectedLine.status == status)
    with Session(engine) as s:
        return [Held(r.id, sn, r.kind, r.line_no, masked(decrypt(r.line_enc).decode(errors="replace")), r.reason,
                     r.received_at, r.status) for r, sn in s.execute(q)]


@dataclass
class ReplayResult:
    stored: int = 0
    still_bad: int = 0
    punches_new: int = 0


def replay(engine: Engine, ids: list[int], actor: str) -> ReplayResult:
    """Parse held lines again; what parses now is stored (punches exactly once) and marked
    replayed, the rest stays held with today's reason."""
    res = ReplayResult()
    with engine.connect() as conn:
        rows = conn.execute(select(RejectedLine).where(RejectedLine.id.in_(ids),
                                                       RejectedLine.status == "held")).all()
    devices: dict[int, service.KnownDevice | None] = {}
    with engine.connect() as conn:
        for device_id in {r.device_id for r in rows}:
            serial = conn.scalar(select(Device.serial).where(Device.id == device_id))
            devices[device_id] = service.lookup_device(conn, serial) if serial else None
    for r in rows:
        device = devices[r.device_id]
        line = decrypt(r.line_enc).decode(errors="replace")
        try:
            if device is None:
                raise adms.AdmsError("terminal tidak terdaftar atau nonaktif / terminal not registered or disabled")
            if r.kind == "ATTLOG":
                rec = adms.parse_attlog_line(line, r.line_no)
            else:
                oper = adms.parse_oper_line(line, r.line_no, r.kind)
        except adms.AdmsError as exc:
            with engine.begin() as conn:
                conn.execute(update(RejectedLine).where(RejectedLine.id == r.id).values(reason=str(exc)[:2000]))
            res.still_bad += 1
            continue

        def resolve(conn: Connection, rid: int = r.id) -> None:
            conn.execute(update(RejectedLine).where(RejectedLine.id == rid, RejectedLine.status == "held").values(
                status="replayed", resolved_at=utcnow(), resolved_by=actor))

        if r.kind == "ATTLOG":
            result = service.store_punches(engine, device, Source.ADMS, [attlog_punch(device, rec, r.stamp)],
                                           details={"table": "ATTLOG", "replayed": r.id}, extra=resolve)
            res.punches_new += result.new
        else:
            with engine.begin() as conn:
                conn.execute(insert(PushUserRecord), [oper_row(device.id, oper)])
                resolve(conn)
        res.stored += 1
    return res


def dismiss(engine: Engine, ids: list[int], actor: str, note: str) -> int:
    with engine.begin() as conn:
        return conn.execute(update(RejectedLine).where(RejectedLine.id.in_(ids), RejectedLine.status == "held")
                            .values(status="dismissed", resolved_at=utcnow(), resolved_by=actor,
                                    note=note[:2000])).rowcount
