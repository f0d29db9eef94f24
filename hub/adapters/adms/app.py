"""A standalone ADMS receiver app; the web console can mount `router` instead."""

from __future__ import annotations

from datetime import timedelta

from fastapi import FastAPI
from sqlalchemy import Engine

from hub.adapters.adms.router import PART_ROWS, router
from hub.config import get_settings
from hub.push.service import RESEND_AFTER
from hub.store.db import get_engine


def configure(app: FastAPI, engine: Engine | None = None, delay_s: int = 10,
              resend_after: timedelta = RESEND_AFTER, part_rows: int = PART_ROWS) -> None:
    """Set the state the router needs on an app (also used by a host app mounting it)."""
    app.state.engine = engine or get_engine()
    app.state.default_tz = get_settings().default_timezone
    app.state.delay_s = delay_s
    app.state.resend_after = resend_after
    app.state.part_rows = part_rows


def create_app(engine: Engine | None = None, delay_s: int = 10,
               resend_after: timedelta = RESEND_AFTER, part_rows: int = PART_ROWS) -> FastAPI:
    app = FastAPI(title="hub ADMS receiver", docs_url=None, redoc_url=None, openapi_url=None)
    configure(app, engine, delay_s, resend_after, part_rows)
    app.include_router(router)
    return app
