"""The scanned letter behind a leave entry: only a PDF or a JPEG, known by its bytes (not by
the name or the type the browser claims), within a size limit, stored encrypted with the
hub's key and given back only to those who may see the employee."""

from __future__ import annotations

import hashlib
import re

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.i18n import tr
from hub.reconcile.changes import audit
from hub.reconcile.errors import ReconcileError
from hub.reconcile.models import LeaveEntry, LeaveScan
from hub.secrets import decrypt, encrypt

MAX_SCAN_BYTES = 5 * 1024 * 1024  # a few scanned pages; a phone photo of a letter is well under
_NAME = re.compile(r"[^A-Za-z0-9._ -]+")


class ScanError(ReconcileError):
    """A scan that cannot be kept; the message says what to send instead."""


def kind_of(data: bytes) -> str:
    """The scan's type from its bytes: application/pdf or image/jpeg; ScanError otherwise."""
    if not data:
        raise ScanError(tr("berkas pindaian kosong", "the scan is empty"))
    if len(data) > MAX_SCAN_BYTES:
        raise ScanError(tr(f"berkas pindaian {len(data) // 1024} KB, di atas batas {MAX_SCAN_BYTES // 1024} KB; "
                           "pindai dengan resolusi lebih rendah atau simpan sebagai JPEG",
                           f"the scan is {len(data) // 1024} KB, over the {MAX_SCAN_BYTES // 1024} KB limit; "
                           "scan at a lower resolution or save it as JPEG"))
    if data.startswith(b"%PDF-") and b"%%EOF" in data[-2048:]:
        return "application/pdf"
    if data.startswith(b"\xff\xd8\xff") and b"\xff\xd9" in data[-1024:]:
        return "image/jpeg"
    raise ScanError(tr("pindaian harus PDF atau JPEG yang utuh (berkas ini bukan keduanya atau terpotong)",
                       "the scan must be a whole PDF or JPEG (this file is neither, or it is cut short)"))


def clean_name(name: str | None, content_type: str) -> str:
    base = _NAME.sub("_", (name or "").rsplit("/", 1)[-1].rsplit("\\", 1)[-1]).strip(" ._")[:150] or "surat"
    ext = ".pdf" if content_type == "application/pdf" else ".jpg"
    return base if base.lower().endswith((ext, ".jpeg")) else base + ext


def attach(session: Session, entry: LeaveEntry, data: bytes, filename: str | None, actor: str) -> LeaveScan:
    """Keep `data` as the entry's scan (replacing an earlier one); audited with its hash."""
    content_type = kind_of(data)
    digest = hashlib.sha256(data).hexdigest()
    scan = session.scalar(select(LeaveScan).where(LeaveScan.leave_id == entry.id))
    if scan is None:
        scan = LeaveScan(leave_id=entry.id)
        session.add(scan)
    scan.filename, scan.content_type, scan.size = clean_name(filename, content_type), content_type, len(data)
    scan.sha256, scan.data_enc, scan.uploaded_by = digest, encrypt(data), actor
    session.flush()
    audit(session, actor, "leave.scan", "leave", entry.id, employee_id=entry.employee_id, type=content_type,
          size=len(data), sha256=digest)
    return scan


def read(session: Session, leave_id: int) -> tuple[LeaveScan, bytes] | None:
    scan = session.scalar(select(LeaveScan).where(LeaveScan.leave_id == leave_id))
    if scan is None:
        return None
    data = decrypt(scan.data_enc)
    if hashlib.sha256(data).hexdigest() != scan.sha256:  # never hand out something else than was kept
        raise ScanError(tr("pindaian tersimpan rusak", "the stored scan is damaged"))
    return scan, data
