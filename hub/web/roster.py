"""Roster import in the console and the API (issue 20, item 3): an admin uploads the
SIMPEG/SIASN export (CSV or XLSX), sees what it would change (joiners, leavers, transfers,
other updates, rows refused with their reasons, offices not registered) and confirms; what
is applied is what was previewed (the preview's digest must still match). The upload waits
between the two steps encrypted under var/imports, for an hour at most."""

from __future__ import annotations

import contextlib
import re
import secrets
import tempfile
import time
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, File, Form, HTTPException, Request, UploadFile
from fastapi.responses import Response
from pydantic import BaseModel
from sqlalchemy.orm import Session

from hub.i18n import tr
from hub.messages import msg
from hub.roster.importer import ImportFileError, Preview, import_employees, preview_import
from hub.secrets import decrypt, encrypt
from hub.store.models import AuditLog
from hub.store.sites import SiteTree
from hub.web import scope
from hub.web.auth import Principal
from hub.web.deps import DB, api_principal, form_principal, go, page_principal, render, settings_of

pages = APIRouter(include_in_schema=False)
api = APIRouter(prefix="/api", tags=["api"])
MAX_FILE = 8 * 1024 * 1024  # a SIMPEG export of tens of thousands of rows
BODY_LIMIT = MAX_FILE + 64 * 1024
KEEP_S = 3600
_TOKEN = re.compile(r"^[0-9a-f]{32}$")
SUFFIXES = (".csv", ".xlsx", ".xlsm", ".txt")


class UploadError(ValueError):
    """The upload cannot be previewed; the message says what to send."""


def _dir(request: Request) -> Path:
    path = settings_of(request).var_path / "imports"
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    for old in path.glob("*.enc"):  # uploads never confirmed
        if time.time() - old.stat().st_mtime > KEEP_S:
            old.unlink(missing_ok=True)
    return path


def keep_upload(request: Request, data: bytes, filename: str) -> str:
    suffix = Path(filename or "").suffix.lower()
    if suffix not in SUFFIXES:
        raise UploadError(tr(f"berkas '{filename}' bukan CSV atau XLSX", f"'{filename}' is not a CSV or XLSX file"))
    if not data:
        raise UploadError(tr("berkas kosong", "the file is empty"))
    if len(data) > MAX_FILE:
        raise UploadError(tr(f"berkas lebih dari {MAX_FILE // 1024 // 1024} MB", f"file over {MAX_FILE // 2**20} MB"))
    token = secrets.token_hex(16)
    path = _dir(request) / f"{token}{suffix}.enc"
    path.write_bytes(encrypt(data))
    path.chmod(0o600)
    return token


def _stored(request: Request, token: str) -> Path:
    if not _TOKEN.match(token or ""):
        raise UploadError(tr("unggahan tidak dikenal; unggah berkasnya lagi", "unknown upload; upload the file again"))
    found = list(_dir(request).glob(f"{token}.*.enc"))
    if not found:
        raise UploadError(tr("unggahan sudah kedaluwarsa (lebih dari 1 jam) atau sudah diterapkan; unggah lagi",
                             "the upload expired (over an hour) or was applied already; upload it again"))
    return found[0]


@contextlib.contextmanager
def _plain(request: Request, token: str) -> Any:
    """The upload decrypted into a private temporary file for the importer to read."""
    stored = _stored(request, token)
    suffix = stored.name[len(token):-len(".enc")]
    with tempfile.NamedTemporaryFile(suffix=suffix, dir=stored.parent) as tmp:
        tmp.write(decrypt(stored.read_bytes()))
        tmp.flush()
        yield Path(tmp.name)


def _options(form: Any) -> dict[str, Any]:
    column = str(form.get("site_column") or "").strip()[:100] or None
    return {"site_column": column, "require_site": form.get("no_site") not in ("1", "true", True)}


def preview_of(request: Request, session: Session, who: Principal, token: str, options: dict[str, Any]) -> Preview:
    if who.scope is not None:
        raise scope.OutOfScope()  # the roster is the whole Pemda's: an admin bound to offices does not import it
    with _plain(request, token) as path:
        return preview_import(session, path, **options)


def apply(request: Request, session: Session, who: Principal, token: str, digest: str,
          options: dict[str, Any]) -> tuple[Preview, Any]:
    """Import, if the file still does what its preview showed; (preview, result or None)."""
    seen = preview_of(request, session, who, token, options)
    if seen.digest != digest:
        return seen, None
    with _plain(request, token) as path:
        result = import_employees(session, path, **options)
    session.add(AuditLog(actor=who.username, action="employee.import", entity="file", entity_id=token[:12],
                         details={"created": result.created, "updated": result.updated,
                                  "unchanged": result.unchanged, "errors": len(result.errors),
                                  "leavers": seen.count("leaver"), "transfers": seen.count("transfer")}))
    _stored(request, token).unlink(missing_ok=True)
    return seen, result


# --- console --------------------------------------------------------------------------------


def _show(request: Request, session: Session, preview: Preview | None, token: str = "", status_code: int = 200,
          error: str | None = None, options: dict[str, Any] | None = None, changed: bool = False) -> Response:
    names = {sid: s.name for sid, s in SiteTree.load(session).by_id.items()}
    return render(request, "roster_import.html", status_code=status_code, p=preview, token=token, error=error,
                  o=options or {"site_column": None, "require_site": True}, names=names, changed=changed,
                  max_mb=MAX_FILE // 2**20)


@pages.get("/employees/import")
def import_form(request: Request, who: Principal = Depends(page_principal("roster.write")),
                session: Session = DB) -> Response:
    return _show(request, session, None)


@pages.post("/employees/import")
async def import_preview(request: Request, who: Principal = Depends(form_principal("roster.write")),
                         session: Session = DB) -> Response:
    form = await request.form()
    options = _options(form)
    upload = form.get("file")
    try:
        if upload is None or not hasattr(upload, "read"):
            raise UploadError(tr("pilih berkas CSV atau XLSX", "choose a CSV or XLSX file"))
        token = keep_upload(request, await upload.read(MAX_FILE + 1), upload.filename or "")
        preview = preview_of(request, session, who, token, options)
    except (UploadError, ImportFileError) as exc:
        return _show(request, session, None, status_code=422, error=str(exc), options=options)
    return _show(request, session, preview, token, options=options)


@pages.post("/employees/import/confirm")
async def import_confirm(request: Request, who: Principal = Depends(form_principal("roster.write")),
                         session: Session = DB) -> Response:
    form = await request.form()
    options, token = _options(form), str(form.get("token") or "")
    try:
        seen, result = apply(request, session, who, token, str(form.get("digest") or ""), options)
    except (UploadError, ImportFileError) as exc:
        return _show(request, session, None, status_code=422, error=str(exc), options=options)
    if result is None:  # the roster changed since the preview: show what the file would do now
        return _show(request, session, seen, token, status_code=409, options=options, changed=True)
    return go("/employees", msg("roster.imported", created=result.created, updated=result.updated,
                                unchanged=result.unchanged, errors=len(result.errors)))


# --- API ------------------------------------------------------------------------------------


class ChangeOut(BaseModel):
    row: int
    id_number: str
    name: str
    kind: str
    site_before: str | None
    site_after: str | None
    fields: list[str]


class PreviewOut(BaseModel):
    token: str
    digest: str
    rows: int
    joiners: int
    leavers: int
    transfers: int
    updates: int
    unchanged: int
    not_in_file: int
    changes: list[ChangeOut]
    rejected: list[dict[str, Any]]
    unknown_offices: dict[str, int]
    unread_columns: list[str]


def _preview_out(session: Session, token: str, p: Preview) -> dict[str, Any]:
    codes = {sid: s.code for sid, s in SiteTree.load(session).by_id.items()}
    return {"token": token, "digest": p.digest, "rows": p.result.rows, "joiners": p.count("joiner"),
            "leavers": p.count("leaver"), "transfers": p.count("transfer"), "updates": p.count("update"),
            "unchanged": p.count("unchanged"), "not_in_file": p.not_in_file,
            "changes": [{**vars(c), "site_before": codes.get(c.site_before), "site_after": codes.get(c.site_after)}
                        for c in p.changes if c.kind != "unchanged"],
            "rejected": [{"row": e.row, "reason": e.reason} for e in p.result.errors],
            "unknown_offices": dict(p.result.unknown_sites), "unread_columns": p.result.unrecognised_columns}


@api.post("/employees/import/preview", response_model=PreviewOut)
async def api_preview(request: Request, file: UploadFile = File(...), site_column: str | None = Form(None),
                      no_site: bool = Form(False), who: Principal = Depends(api_principal("roster.write")),
                      session: Session = DB) -> dict:
    """What importing the file would change; nothing is written. Confirm with its token and digest."""
    options = {"site_column": (site_column or "").strip()[:100] or None, "require_site": not no_site}
    try:
        token = keep_upload(request, await file.read(MAX_FILE + 1), file.filename or "")
        return _preview_out(session, token, preview_of(request, session, who, token, options))
    except (UploadError, ImportFileError) as exc:
        raise HTTPException(422, str(exc)) from exc


class ConfirmIn(BaseModel):
    token: str
    digest: str
    site_column: str | None = None
    no_site: bool = False


@api.post("/employees/import/confirm")
def api_confirm(request: Request, body: ConfirmIn, who: Principal = Depends(api_principal("roster.write")),
                session: Session = DB) -> dict:
    """Apply a previewed import; 409 with the new preview when the roster changed meanwhile."""
    options = {"site_column": (body.site_column or "").strip()[:100] or None, "require_site": not body.no_site}
    try:
        seen, result = apply(request, session, who, body.token, body.digest, options)
    except (UploadError, ImportFileError) as exc:
        raise HTTPException(422, str(exc)) from exc
    if result is None:
        raise HTTPException(409, {"message": tr("roster berubah sejak pratinjau; periksa pratinjau baru",
                                                "the roster changed since the preview; check the new one"),
                                  "preview": _preview_out(session, body.token, seen)})
    return {"created": result.created, "updated": result.updated, "unchanged": result.unchanged,
            "rejected": [{"row": e.row, "reason": e.reason} for e in result.errors]}
