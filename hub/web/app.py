"""The web console and JSON API: `create_app()` builds the FastAPI application.

Pages are server-rendered (Jinja2, no JavaScript needed); the API lives under /api with
its OpenAPI spec at /api/openapi.json. The ADMS endpoints (/iclock) are mounted too; the
face and mobile-punch endpoints when the face extra is installed.
"""

from __future__ import annotations

import logging
from contextlib import asynccontextmanager
from pathlib import Path
from urllib.parse import quote

from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.security import HTTPAuthorizationCredentials
from fastapi.staticfiles import StaticFiles
from sqlalchemy.exc import DataError
from sqlalchemy.orm import Session

from hub.adapters.adms.router import router as adms_router
from hub.adapters.isapi import listen as isapi_listen
from hub.config import Settings, get_settings
from hub.i18n import reading, tr
from hub.store.db import make_engine
from hub.web import api, audit, devices, jobs, leave, overview, pages, places, rollout, roster, sync, terminals, users
from hub.web.deps import BEARER, DB, Forbidden, LoginRequired, api_principal, lang_of, render
from hub.web.limits import BodyLimit
from hub.web.scope import OutOfScope

log = logging.getLogger(__name__)
STATIC = Path(__file__).parent / "static"
# What a caller of the face endpoints needs (hub.face.api asks us through `current_actor`).
FACE_PERMISSIONS = (("/api/face/", "face.enroll"), ("/api/mobile/credentials", "mobile.credentials"))
FACE_INSTALL = "./run hub --help (sets up the face extra: dlib-bin, face_recognition --no-deps, .[face])"


def _face_actor(request: Request, creds: HTTPAuthorizationCredentials | None = Depends(BEARER),
                session: Session = DB) -> str:
    perm = next((p for prefix, p in FACE_PERMISSIONS if request.url.path.startswith(prefix)), "face.enroll")
    who = api_principal(perm)(creds, session)
    if who.scope is not None:  # these name an employee by NIP only: whole-hub callers (BKPSDM)
        raise OutOfScope()
    return who.username


def _mount_parts(app: FastAPI) -> list[str]:
    """The ADMS endpoints (terminals' protocol: text/plain, out of the API spec) always; the
    face endpoints (enrollment, mobile punch) when the face extra is installed; without it
    the hub still runs and says loudly, once, what to install."""
    app.include_router(adms_router, include_in_schema=False)
    app.include_router(isapi_listen.router, include_in_schema=False)  # Hikvision terminals' own posts
    mounted = ["hub.adapters.adms.router", "hub.adapters.isapi.listen"]
    try:
        from hub.face import api as face_api  # noqa: PLC0415 - the one optional extra
    except ImportError as exc:
        log.error("face endpoints not mounted: %s. Install the face extra: %s", exc, FACE_INSTALL)
        return mounted
    from hub.mobile import api as mobile_api  # noqa: PLC0415 - the employees' app, same extra
    from hub.web import faces as face_pages  # noqa: PLC0415 - the console's face pages, same extra

    app.include_router(face_api.router, include_in_schema=True)
    app.include_router(mobile_api.router)
    app.include_router(face_pages.pages)
    app.dependency_overrides[face_api.current_actor] = _face_actor
    return [*mounted, "hub.face.api", "hub.mobile.api"]


def _has_nul(body: bytes, content_type: str) -> bool:
    # Only the console's own text formats: uploads (photos, ADMS bodies) may hold any byte.
    if "json" in content_type:
        return b"\x00" in body or b"\\u0000" in body
    if "urlencoded" in content_type:
        return b"\x00" in body or b"%00" in body
    return False


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    engine = make_engine(settings.effective_database_url())

    @asynccontextmanager
    async def lifespan(_app: FastAPI):  # type: ignore[no-untyped-def]
        yield
        engine.dispose()

    # No Swagger/ReDoc pages: they load their scripts from a CDN, and the console loads
    # nothing from outside the hub. The spec itself is at /api/openapi.json.
    app = FastAPI(title="Hub Absensi API", version="1", openapi_url="/api/openapi.json",
                  docs_url=None, redoc_url=None, swagger_ui_oauth2_redirect_url=None, lifespan=lifespan)
    app.state.settings = settings
    app.state.engine = engine

    @app.exception_handler(LoginRequired)
    async def _login(request: Request, _exc: LoginRequired) -> Response:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse("/login?next=" + quote(target), status_code=303)

    @app.exception_handler(Forbidden)
    async def _forbidden(request: Request, exc: Forbidden) -> Response:
        out = isinstance(exc, OutOfScope)
        if request.url.path.startswith("/api/"):
            return JSONResponse({"detail": tr("di luar kantor Anda", "outside your offices") if out else
                                 tr("peran Anda tidak diizinkan", "your role is not allowed")}, status_code=403)
        return render(request, "error.html", status_code=403, title="Akses ditolak",
                      message="Kantor ini di luar cakupan Anda." if out else
                      "Peran Anda tidak diizinkan membuka halaman ini.")

    @app.exception_handler(DataError)
    async def _data_error(request: Request, exc: DataError) -> Response:
        # A value the database cannot hold (e.g. out of its range): the client's input, not our fault.
        log.info("refused a value the database cannot hold: %s", exc.orig)
        return JSONResponse({"detail": tr("nilai di luar jangkauan yang dapat disimpan", "value out of range")},
                            status_code=422)

    @app.middleware("http")
    async def _headers(request: Request, call_next):  # type: ignore[no-untyped-def]
        # NUL characters cannot be stored in PostgreSQL text and have no use in any field here.
        target = request.url.path + "?" + request.url.query
        ctype = request.headers.get("content-type", "")
        text_body = request.method in ("POST", "PUT", "PATCH") and ("json" in ctype or "urlencoded" in ctype)
        body = await request.body() if text_body else b""
        with reading(lang_of(request)):  # errors raised while serving speak the reader's language
            if "%00" in target or "\x00" in target or _has_nul(body, ctype):
                return JSONResponse({"detail": tr("karakter NUL tidak diizinkan", "NUL characters are not allowed")},
                                    status_code=400)
            response = await call_next(request)
        # No frames, no third-party content, no sniffing: the console needs none of them.
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("Content-Security-Policy",
                                    "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; "
                                    "form-action 'self'")  # (data: images: a photo with its answer)
        return response

    app.mount("/static", StaticFiles(directory=str(STATIC)), name="static")
    app.include_router(api.router)
    app.include_router(roster.api)
    app.include_router(roster.pages)  # (before /employees/{employee_id})
    app.include_router(pages.router)
    app.include_router(users.api)
    app.include_router(users.pages)
    app.include_router(terminals.api)
    app.include_router(terminals.pages)
    app.include_router(devices.api)
    app.include_router(devices.pages)
    app.include_router(jobs.api)
    app.include_router(jobs.pages)
    app.include_router(overview.api)
    app.include_router(overview.pages)
    app.include_router(audit.api)
    app.include_router(audit.pages)
    app.include_router(leave.api)
    app.include_router(leave.pages)
    app.include_router(places.api)
    app.include_router(places.pages)
    app.include_router(sync.api)
    app.include_router(sync.pages)
    app.include_router(rollout.api)
    app.include_router(rollout.pages)
    app.state.mounted = _mount_parts(app)
    # outermost: bodies are bounded before any middleware or route reads them
    uploads = settings.web.upload_max_body_bytes + 64 * 1024  # (multipart framing around a photo)
    # (/iclock bounds its own bodies while reading: an unknown terminal is held first)
    app.add_middleware(BodyLimit, default=settings.web.max_body_bytes,
                       by_prefix=(("/api/face/", uploads), ("/api/mobile/", uploads), ("/faces/", uploads),
                                  ("/iclock/", 2**62),
                                  ("/d/", 2**62),  # ADMS with a path key
                                  ("/leave", leave.BODY_LIMIT), ("/api/leave", leave.BODY_LIMIT),  # letter scans
                                  ("/employees/import", roster.BODY_LIMIT),  # roster files
                                  ("/api/employees/import", roster.BODY_LIMIT)))
    return app
