"""The web console and JSON API: `create_app()` builds the FastAPI application.

Pages are server-rendered (Jinja2, no JavaScript needed); the API lives under /api with
its OpenAPI spec at /api/openapi.json. Routers of other parts (ADMS /iclock, face and
mobile punch) are mounted when those parts are installed.
"""

from __future__ import annotations

import importlib
import logging
from contextlib import asynccontextmanager
from pathlib import Path
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy.exc import DataError

from hub.config import Settings, get_settings
from hub.store.db import make_engine
from hub.web import api, pages
from hub.web.deps import Forbidden, LoginRequired, render

log = logging.getLogger(__name__)
STATIC = Path(__file__).parent / "static"
# (module, attribute) of routers owned by other parts; mounted when they import cleanly.
OPTIONAL_ROUTERS = (("hub.adapters.adms.router", "router"), ("hub.adapters.adms", "router"),
                    ("hub.face.api", "router"))


def _mount_optional(app: FastAPI) -> list[str]:
    mounted: list[str] = []
    for module, attr in OPTIONAL_ROUTERS:
        try:
            router = getattr(importlib.import_module(module), attr)
        except (ImportError, AttributeError):
            continue
        if any(m.startswith(module.rsplit(".", 1)[0]) for m in mounted):
            continue
        app.include_router(router)
        mounted.append(module)
    return mounted


def _has_nul(body: bytes, content_type: str) -> bool:
    if b"\x00" in body or b"\\u0000" in body:
        return True
    return "urlencoded" in content_type and b"%00" in body


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    engine = make_engine(settings.effective_database_url())

    @asynccontextmanager
    async def lifespan(_app: FastAPI):  # type: ignore[no-untyped-def]
        yield
        engine.dispose()

    app = FastAPI(title="Hub Absensi API", version="1", openapi_url="/api/openapi.json",
                  docs_url="/api/docs", redoc_url=None,
                  swagger_ui_oauth2_redirect_url="/api/docs/oauth2-redirect", lifespan=lifespan)
    app.state.settings = settings
    app.state.engine = engine

    @app.exception_handler(LoginRequired)
    async def _login(request: Request, _exc: LoginRequired) -> Response:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse("/login?next=" + quote(target), status_code=303)

    @app.exception_handler(Forbidden)
    async def _forbidden(request: Request, _exc: Forbidden) -> Response:
        return render(request, "error.html", status_code=403, title="Akses ditolak",
                      message="Peran Anda tidak diizinkan membuka halaman ini.")

    @app.exception_handler(DataError)
    async def _data_error(request: Request, exc: DataError) -> Response:
        # A value the database cannot hold (e.g. out of its range): the client's input, not our fault.
        log.info("refused a value the database cannot hold: %s", exc.orig)
        return JSONResponse({"detail": "nilai di luar jangkauan yang dapat disimpan / value out of range"},
                            status_code=422)

    @app.middleware("http")
    async def _headers(request: Request, call_next):  # type: ignore[no-untyped-def]
        # NUL characters cannot be stored in PostgreSQL text and have no use in any field here.
        target = request.url.path + "?" + request.url.query
        body = await request.body() if request.method in ("POST", "PUT", "PATCH") else b""
        if "%00" in target or "\x00" in target or _has_nul(body, request.headers.get("content-type", "")):
            return JSONResponse({"detail": "karakter NUL tidak diizinkan / NUL characters are not allowed"},
                                status_code=400)
        response = await call_next(request)
        # No frames, no third-party content, no sniffing: the console needs none of them.
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        if not request.url.path.startswith("/api/docs"):
            response.headers.setdefault("Content-Security-Policy",
                                        "default-src 'self'; frame-ancestors 'none'; form-action 'self'")
        return response

    app.mount("/static", StaticFiles(directory=str(STATIC)), name="static")
    app.include_router(api.router)
    app.include_router(pages.router)
    app.state.mounted = _mount_optional(app)
    return app
