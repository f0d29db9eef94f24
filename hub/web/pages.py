"""Server-rendered pages: fleet, terminals, employees, punches, review, recap."""

from __future__ import annotations

import logging
import secrets
from datetime import date, datetime, timedelta
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from hub import times
from hub.fleet import status
from hub.i18n import tr
from hub.messages import msg
from hub.peer import client_address, networks_of
from hub.reconcile import corrections as rc
from hub.reconcile.errors import ReconcileError, check_day, month_bounds
from hub.reconcile.evidence import decide_no_data, decide_punches
from hub.reconcile.exports import csv_bytes, xlsx_bytes
from hub.reconcile.locks import LockMap
from hub.reconcile.pdf import Signing
from hub.reconcile.pdf import render as render_pdf
from hub.reconcile.period import arrived_after_lock, lock_month, month_figures, preview_lock, unlock_month
from hub.store.models import AuditLog, Device, Employee, PinMapping, Site
from hub.store.sites import SiteTree
from hub.web import bulk, queries, review, scope
from hub.web.auth import Principal, end_session, start_session
from hub.web.auth import login as login_attempt
from hub.web.deps import (
    DB,
    LOGIN_CSRF_COOKIE,
    MAX_ID,
    SESSION_COOKIE,
    Forbidden,
    day_of,
    form_principal,
    go,
    lang_of,
    page_of,
    page_principal,
    render,
    settings_of,
)
from hub.web.leave import leave_types, pending_requests

log = logging.getLogger("hub.web")
router = APIRouter(include_in_schema=False)
PER_PAGE = 50
PAGE_SIZES = ("25", "50", "100", "200")
HOME = {"reviewer": "/exceptions", "operator": "/exceptions", "verifier": "/approvals", "bpkad": "/recap",
        "admin": "/employees"}


def _safe_next(nxt: str | None) -> str | None:
    # Only same-site paths: never redirect a user off the hub after login.
    if nxt and nxt.startswith("/") and not nxt.startswith("//") and "\\" not in nxt:
        return nxt
    return None


# --- login -------------------------------------------------------------------------------


@router.get("/login")
def login_form(request: Request, next: str | None = None, error: str | None = None,
               until: str | None = Query(None, pattern=r"^\d{2}:\d{2}$")) -> Response:
    token = secrets.token_urlsafe(24)
    response = render(request, "login.html", login_csrf=token, next=_safe_next(next) or "",
                      error=error, until=until)
    response.set_cookie(LOGIN_CSRF_COOKIE, token, httponly=True, samesite="strict", max_age=3600)
    return response


@router.post("/login")
def login(request: Request, username: str = Form(""), password: str = Form(""),
          csrf_token: str = Form(""), next: str = Form(""),
          session: Session = DB) -> Response:
    cookie = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not cookie or not secrets.compare_digest(cookie, csrf_token):
        return go("/login?error=csrf")
    address = client_address(request.client.host if request.client else None, request.headers,
                             networks_of(settings_of(request).web.trusted_proxies)) or "?"
    attempt = login_attempt(session, username, password, address, settings_of(request).web)
    user = attempt.user
    if user is None:
        locked = attempt.locked_until
        session.add(AuditLog(actor=username[:100] or "?", action="login.locked" if locked else "login.failed",
                             entity="user", entity_id=None,
                             details={"address": address, **({"until": locked.isoformat()} if locked else {})}))
        error = f"locked&until={times.shown(locked)[11:16]}" if locked else "bad"  # HH:MM in the hub's zone
        return go(f"/login?error={error}" + (f"&next={quote(next)}" if _safe_next(next) else ""))
    token = start_session(session, user, settings_of(request).web.session_minutes)
    session.add(AuditLog(actor=user.username, action="login", entity="user", entity_id=str(user.id),
                         details={}))
    response = go(_safe_next(next) or HOME.get(user.role, "/"))
    response.set_cookie(SESSION_COOKIE, token, httponly=True, samesite="lax",
                        max_age=settings_of(request).web.session_minutes * 60,
                        secure=request.url.scheme == "https")
    response.delete_cookie(LOGIN_CSRF_COOKIE)
    return response


@router.post("/logout")
async def logout(request: Request, who: Principal = Depends(form_principal("")),
                 session: Session = DB) -> Response:
    end_session(session, request.cookies.get(SESSION_COOKIE))
    response = go("/login")
    response.delete_cookie(SESSION_COOKIE)
    return response


# --- fleet -------------------------------------------------------------------------------


@router.get("/")
def dashboard(request: Request, site: str | None = None,
              who: Principal = Depends(page_principal("fleet.read")),
              session: Session = DB) -> Response:
    scope.site(session, who, site)
    rows = scope.rows(who, status.fleet(session, settings_of(request), site or None, lang_of(request)))
    settings = settings_of(request)
    limits = {"offline_min": int(status.online_window(settings).total_seconds() // 60),
              "stale_h": int(status.STALE_PULL.total_seconds() // 3600),
              "clock_s": int(settings.pull.clock_tolerance_s), "full_pct": int(status.FULL * 100)}
    from hub.alerts.run import open_alerts  # noqa: PLC0415

    alerts = open_alerts(session, None if who.scope is None else {r["serial"] for r in rows})
    return render(request, "dashboard.html", rows=rows, sites=scope.sites(session, who), site=site or "",
                  online=sum(r["online"] for r in rows), limits=limits, alerts=alerts)


# --- roster and punches ------------------------------------------------------------------


@router.get("/employees")
def employee_list(request: Request, site: str | None = None, page: str | None = None, q: str = "",
                  size: str | None = None, who: Principal = Depends(page_principal("roster.read")),
                  session: Session = DB) -> Response:
    """Employees by name or NIP (every word of the search in the name, or the NIP's start),
    office, page number and page size."""
    p = page_of(page)
    per_page = int(size) if size in PAGE_SIZES else PER_PAGE
    q = q.strip()[:100]
    scope.site(session, who, site)
    rows, total = queries.employees(session, site or None, p, per_page, scope.ids(who), q or None)
    return render(request, "employees.html", rows=rows, total=total, page=p, per_page=per_page,
                  sites=scope.sites(session, who), site=site or "", q=q, sizes=PAGE_SIZES, size=str(per_page),
                  qs=urlencode({"site": site or "", "q": q, "size": per_page}))


@router.get("/employees/{employee_id}")
def employee_detail(request: Request, employee_id: int,
                    who: Principal = Depends(page_principal("roster.read")),
                    session: Session = DB) -> Response:
    emp = scope.employee(who, session.get(Employee, employee_id) if 0 < employee_id <= MAX_ID else None)
    if emp is None:
        return render(request, "error.html", status_code=404, title="Tidak ditemukan",
                      message=str(employee_id))
    return _employee_page(request, session, emp)


def _employee_page(request: Request, session: Session, emp: Employee, code: str | None = None,
                   error: str | None = None, status_code: int = 200) -> Response:
    from hub.face.models import MobileCredential  # noqa: PLC0415

    cred = session.scalar(select(MobileCredential).where(MobileCredential.employee_id == emp.id))
    from hub.sync.models import DeviceRosterUser  # noqa: PLC0415

    templates = queries.templates_of(session, emp.id)
    pins = list(session.scalars(select(PinMapping).where(PinMapping.employee_id == emp.id)
                                .order_by(PinMapping.valid_from)))
    terminals = session.execute(select(Device.serial, Device.name, DeviceRosterUser.pin, DeviceRosterUser.confirmed_at)
                                .join(Device, Device.id == DeviceRosterUser.device_id)
                                .where(DeviceRosterUser.employee_id == emp.id).order_by(Device.serial)).all()
    site = session.get(Site, emp.site_id) if emp.site_id else None
    return render(request, "employee.html", status_code=status_code, e=emp, templates=templates, mobile=cred,
                  pins=pins, terminals=terminals, site=site,
                  code=code, error=error, face_on="hub.face.api" in request.app.state.mounted,
                  has_face=any(t.kind == "face" for t in templates))


@router.post("/employees/{employee_id}/mobile")
async def employee_mobile(request: Request, employee_id: int,
                          who: Principal = Depends(form_principal("mobile.credentials")),
                          session: Session = DB) -> Response:
    """Issue (or reset) or revoke an employee's mobile activation code; a new code is shown
    on this page once, never put in a URL or a cookie."""
    from hub.face import mobile_auth  # noqa: PLC0415
    from hub.face.errors import FaceError  # noqa: PLC0415

    if not who.can("roster.read"):  # the page it answers with shows the employee
        raise Forbidden()
    emp = scope.employee(who, session.get(Employee, employee_id) if 0 < employee_id <= MAX_ID else None)
    if emp is None:
        return render(request, "error.html", status_code=404, title="Tidak ditemukan", message=str(employee_id))
    action = str((await request.form()).get("action", ""))
    try:
        with session.begin_nested():
            if action == "issue":
                code = mobile_auth.issue(session, emp.id_number, who.username)
                return _employee_page(request, session, emp, code=code)
            if action == "revoke":
                mobile_auth.revoke(session, emp.id_number, who.username)
                return go(f"/employees/{emp.id}", "Kredensial mobile dicabut.")
    except FaceError as exc:
        return _employee_page(request, session, emp, error=exc.message, status_code=exc.status)
    return _employee_page(request, session, emp, error=tr("aksi tidak dikenal", "unknown action"), status_code=422)


@router.get("/punches")
def punch_browser(request: Request, device: str | None = None, site: str | None = None,
                  employee: str | None = None, date_from: str | None = None, date_to: str | None = None,
                  flag: str | None = None, page: str | None = None,
                  who: Principal = Depends(page_principal("punch.read")),
                  session: Session = DB) -> Response:
    scope.site(session, who, site)
    f = queries.PunchFilter(device or None, site or None, employee or None, day_of(date_from),
                            day_of(date_to), flag or None, scope.ids(who))
    p = page_of(page)
    rows, total = queries.punches(session, f, p, PER_PAGE)
    params = {"device": device or "", "site": site or "", "employee": employee or "",
              "date_from": date_from or "", "date_to": date_to or "", "flag": flag or ""}
    return render(request, "punches.html", rows=rows, total=total, page=p, per_page=PER_PAGE, f=params,
                  qs=urlencode(params), sites=scope.sites(session, who), flags=queries.FLAG_NAMES,
                  devices=list(session.scalars(_scoped_devices(who))))


# --- review ------------------------------------------------------------------------------


def _scoped_devices(who: Principal) -> Any:
    q = select(Device.serial).order_by(Device.serial)
    return q if who.scope is None else q.where(Device.site_id.in_(sorted(who.scope) or [-1]))


def _frozen(session: Session, site: Site, day: date) -> bool:
    return LockMap(session, day, day).lock_of(site.id, day) is not None


EXCEPTION_KINDS = ("missing_in", "missing_out", "missing_slot", "absent", "late", "early", "waiting", "no_data",
                   "quarantine")


@router.get("/exceptions")
def exception_queue(request: Request, site: str | None = None, day: str | None = None,
                    day_to: str | None = None, kind: str | None = None, page: str | None = None,
                    terminal: str | None = None, who: Principal = Depends(page_principal("review.read")),
                    session: Session = DB) -> Response:
    s = scope.site(session, who, site)
    # Default: yesterday in the hub's zone, the latest day that has finished and been judged.
    d = day_of(day) or times.local_today() - timedelta(days=1)
    dev = scope.device(who, session.scalar(select(Device).where(Device.serial == terminal[:64]))) \
        if terminal else None
    if day_to or not s or dev is not None:  # days, offices or a terminal at once: paged, decided in bulk
        return _exception_range(request, session, who, s, d, day_of(day_to) or d,
                                kind if kind in EXCEPTION_KINDS else None, page_of(page), dev)
    rows = review.exceptions(session, s, d) if s else []
    return render(request, "exceptions.html", rows=rows, site=site or "", day=d.isoformat(), kinds=EXCEPTION_KINDS,
                  status_codes=review.status_codes(session), sites=scope.sites(session, who), chosen=s,
                  status_names=review.status_names(session, lang_of(request)),
                  locked=bool(s and _frozen(session, s, d)))


def _with_letter(form: Any) -> str:
    """The reason, with the letter number that backs it (surat tugas, surat dokter) when given."""
    reason = str(form.get("reason", "")).strip()
    letter = str(form.get("letter") or "").strip()[:100]
    return f"{reason} (surat: {letter})" if reason and letter else reason


def _exception_range(request: Request, session: Session, who: Principal, s: Site | None, first: date,
                     last: date, kind: str | None, page: int, terminal: Device | None = None) -> Response:
    error, rows = None, []
    try:
        rows = review.exceptions_between(session, first, last, s, scope.ids(who), kind, terminal)
    except ReconcileError as exc:
        error = str(exc)
    params = {"site": s.code if s else "", "day": first.isoformat(), "day_to": last.isoformat(),
              "kind": kind or "", "terminal": terminal.serial if terminal else ""}
    return render(request, "exceptions.html", rows=rows[(page - 1) * PER_PAGE:page * PER_PAGE], total=len(rows),
                  page=page, per_page=PER_PAGE, qs=urlencode(params), ranged=True, error=error,
                  site=params["site"], day=params["day"], day_to=params["day_to"], kind=kind or "",
                  kinds=EXCEPTION_KINDS, status_codes=review.status_codes(session),
                  status_names=review.status_names(session, lang_of(request)),
                  sites=scope.sites(session, who), chosen=s, locked=False, terminal=params["terminal"],
                  terminals=_terminals(session, who))


def _terminals(session: Session, who: Principal) -> list[Device]:
    q = select(Device).order_by(Device.serial)
    if who.scope is not None:
        q = q.where(Device.site_id.in_(sorted(who.scope) or [-1]))
    return list(session.scalars(q))


def _back(form: Any, default: str) -> str:
    return _safe_next(str(form.get("back") or default)) or default


@router.post("/corrections")
async def correction_propose(request: Request, who: Principal = Depends(form_principal("review.write")),
                             session: Session = DB) -> Response:
    form = await request.form()
    back = _back(form, "/exceptions")
    try:
        day = check_day(date.fromisoformat(str(form.get("day", ""))))
        hhmm = str(form.get("time") or "")
        local = datetime.combine(day, datetime.strptime(hhmm, "%H:%M").time()) if hhmm else None
        emp_id = int(str(form.get("employee_id", "")))
        punch_id = int(str(form["punch_id"])) if form.get("punch_id") else None
        if not 0 < emp_id <= MAX_ID or (punch_id is not None and not 0 < punch_id < 2**63):
            raise ValueError(emp_id)
    except ValueError:
        return go(back, tr("tanggal, jam atau pegawai tidak sah", "invalid date, time or employee"))
    scope.employee(who, session.get(Employee, emp_id))
    try:
        with session.begin_nested():
            rc.propose_correction(session, employee_id=emp_id, day=day, kind=str(form.get("kind", "")),
                                  reason=_with_letter(form), author=who.username, local_time=local,
                                  state=str(form.get("state") or "") or None, status=str(form.get("status") or ""),
                                  punch_id=punch_id)
    except ReconcileError as exc:
        return go(back, str(exc))
    return go(back, "Koreksi diusulkan.")


@router.post("/nodata/decide")
async def nodata_decide(request: Request, who: Principal = Depends(form_principal("review.write")),
                        session: Session = DB) -> Response:
    form = await request.form()
    back = _back(form, "/exceptions")
    day = day_of(str(form.get("day", "")))
    if day is None:
        return go(back, tr("tanggal tidak sah", "invalid date"))
    scope.terminal_key(session, who, str(form.get("terminal", "")))
    return _decided(session, back, lambda: decide_no_data(
        session, str(form.get("terminal", "")), day, str(form.get("decision", "")), str(form.get("reason", "")),
        who.username))


@router.post("/quarantine/decide")
async def quarantine_decide(request: Request, who: Principal = Depends(form_principal("review.write")),
                            session: Session = DB) -> Response:
    form = await request.form()
    back = _back(form, "/exceptions")
    try:
        ids = [int(x) for x in str(form.get("punch_ids", "")).split(",") if x.strip()]
        if not ids or not all(0 < i < 2**63 for i in ids):
            raise ValueError(ids)
    except ValueError:
        return go(back, tr("punch tidak sah", "invalid punch"))
    scope.punches(session, who, ids)
    return _decided(session, back, lambda: decide_punches(
        session, ids, str(form.get("decision", "")), str(form.get("reason", "")), who.username))


@router.post("/exceptions/bulk")
async def exceptions_bulk(request: Request, who: Principal = Depends(form_principal("review.write")),
                          session: Session = DB) -> Response:
    """One decision for every ticked terminal-day: held punches accepted or rejected, or a
    terminal-day without data judged (terminal dead: present; terminal working: TK). Each is
    its own decision, audited as one; one that cannot be taken (a locked period) is named."""
    form = await request.form()
    back = _back(form, "/exceptions")
    action = str(form.get("action", ""))
    picked = [str(v) for v in form.getlist("item")][:bulk.MAX_ITEMS]
    if action not in bulk.ACTIONS or not picked:
        return go(back, msg("review.bulk_empty"))
    try:
        items = [bulk.form_item(text) for text in picked]
        out = bulk.decide_all(session, who, items, action, _with_letter(form))
    except ValueError:
        return go(back, tr("baris tidak sah", "an invalid row"))
    return go(back, msg("review.bulk_done", done=out.done, skipped=out.skipped, refused=len(out.refused),
                        first=f": {out.refused[0]}" if out.refused else ""))


def _decided(session: Session, back: str, decide: Any) -> Response:
    """Run a reviewer's decision in its own savepoint; the page says what happened."""
    try:
        with session.begin_nested():
            decide()
    except ReconcileError as exc:
        return go(back, str(exc))
    return go(back, "Keputusan dicatat.")


@router.get("/approvals")
def approval_queue(request: Request, site: str | None = None,
                   who: Principal = Depends(page_principal("review.read")),
                   session: Session = DB) -> Response:
    chosen = scope.site(session, who, site)
    rows = [(c, e) for c, e in review.pending_corrections(session, chosen) if who.sees(e.site_id)]
    subtree = SiteTree.load(session).subtree(chosen.id) if chosen is not None else None
    return render(request, "approvals.html", rows=rows, sites=scope.sites(session, who), site=site or "",
                  requests=pending_requests(session, who, subtree),
                  leave_names=dict(leave_types(session, lang_of(request))))


@router.post("/approvals/{correction_id}")
async def approval_decide(request: Request, correction_id: int,
                          who: Principal = Depends(form_principal("review.approve")),
                          session: Session = DB) -> Response:
    form = await request.form()
    if not 0 < correction_id <= MAX_ID:
        return go("/approvals", tr(f"koreksi #{correction_id} tidak ditemukan",
                                   f"correction #{correction_id} not found"))
    scope.correction(session, who, correction_id)
    if form.get("decision") != "approve" and not str(form.get("note") or "").strip():
        return go("/approvals", tr("Tulis alasan penolakan.", "Give the reason for the rejection."))
    try:
        with session.begin_nested():
            fn = rc.approve_correction if form.get("decision") == "approve" else rc.reject_correction
            fn(session, correction_id, who.username, str(form.get("note") or ""))
    except ReconcileError as exc:
        return go("/approvals", str(exc))
    return go("/approvals", "Koreksi diputuskan.")


@router.get("/recap")
def recap_page(request: Request, site: str | None = None, month: str | None = None,
               who: Principal = Depends(page_principal("review.read")),
               session: Session = DB) -> Response:
    s = scope.site(session, who, site)
    month = month or f"{times.local_today():%Y-%m}"  # this month, in the hub's zone
    error, fig, late = None, None, []
    if s:
        try:
            fig = month_figures(session, month, s.id)
            if fig.locked:
                late = arrived_after_lock(session, month, s.id)
        except ReconcileError as exc:
            error = str(exc)
    grid = []
    if fig is not None and fig.rows:
        first, last = month_bounds(fig.month)
        grid = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    return render(request, "recap.html", fig=fig, site=site or "", month=month, chosen=s, grid=grid,
                  sites=scope.sites(session, who), error=error, late=late,
                  qs=urlencode({"site": site or "", "month": month}))


@router.get("/recap/lock")
def recap_lock_preview(request: Request, site: str = "", month: str = "", seen: str = "",
                       who: Principal = Depends(page_principal("recap.lock")),
                       session: Session = DB) -> Response:
    """What locking would freeze (computed now, nothing written), with the confirm form."""
    scope.site(session, who, site)
    try:
        s = review.find_site(session, site)
        preview = preview_lock(session, month, s.id)
    except ReconcileError as exc:
        return render(request, "error.html", status_code=422, title="Galat", message=str(exc))
    return render(request, "recap_lock.html", p=preview, fig=preview.figures, site=site, month=month,
                  changed_since_view=bool(seen) and seen != preview.sha256)


@router.post("/recap/lock")
async def recap_lock(request: Request, who: Principal = Depends(form_principal("recap.lock")),
                     session: Session = DB) -> Response:
    form = await request.form()
    code, month = str(form.get("site", "")), str(form.get("month", ""))
    scope.site(session, who, code)
    back = "/recap?" + urlencode({"site": code, "month": month})
    unlock = form.get("action") == "unlock"
    try:
        s = review.find_site(session, code)
        with session.begin_nested():
            if unlock:
                unlock_month(session, month, s.id, who.username, str(form.get("reason") or ""))
            else:
                lock_month(session, month, s.id, who.username, str(form.get("sha256") or ""),
                           reason=str(form.get("reason") or ""))
    except ReconcileError as exc:
        if not unlock and "pratinjau" in str(exc):
            return go("/recap/lock?" + urlencode({"site": code, "month": month}), str(exc))
        return go(back, str(exc))
    return go(back, "Periode terbuka." if unlock else "Periode terkunci.")


@router.get("/recap/day")
def recap_day(request: Request, employee_id: int, day: str,
              who: Principal = Depends(page_principal("review.read")),
              session: Session = DB) -> Response:
    emp = scope.employee(who, session.get(Employee, employee_id) if 0 < employee_id <= MAX_ID else None)
    d = day_of(day)
    if emp is None or d is None:
        return render(request, "error.html", status_code=404, title="Tidak ditemukan",
                      message=f"{employee_id} {day}")
    ds, punches, corrections = review.employee_day(session, emp, d)
    return render(request, "employee_day.html", e=emp, ds=ds, punches=punches, corrections=corrections)


EXPORT_MEDIA = {"csv": "text/csv; charset=utf-8",
                "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                "pdf": "application/pdf"}


@router.get("/recap/export.{fmt}")
def recap_export(request: Request, fmt: str, site: str = "", month: str = "",
                 who: Principal = Depends(page_principal("review.read")),
                 session: Session = DB) -> Response:
    """The figures the page shows, as a file; reading writes nothing."""
    if fmt not in EXPORT_MEDIA:
        return render(request, "error.html", status_code=404, title="Tidak ditemukan", message=fmt)
    scope.site(session, who, site)
    try:
        s = review.find_site(session, site)
        fig = month_figures(session, month, s.id)
    except ReconcileError as exc:
        return render(request, "error.html", status_code=422, title="Galat", message=str(exc))
    return export_file(request, fig, s, month, fmt, who)


def export_file(request: Request, fig: Any, s: Site, month: str, fmt: str, who: Principal) -> Response:
    """A recap as a downloaded file (the console's and the API's exports)."""
    settings = settings_of(request).recap
    if fmt == "csv":
        content = csv_bytes(fig)
    elif fmt == "xlsx":
        content = xlsx_bytes(fig, pemda=settings.pemda)
    else:
        content = render_pdf(fig, Signing(pemda=settings.pemda, place=settings.place)).data
    log.info("recap %s %s %s exported by %s (code %s)", s.code, month, fmt, who.username, fig.sha256[:16])
    name = f"rekap-{s.code}-{month}.{fmt}"
    return Response(content, media_type=EXPORT_MEDIA[fmt],
                    headers={"Content-Disposition": f'attachment; filename="{name}"', "X-Figures-Sha256": fig.sha256})
