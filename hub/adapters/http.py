"""What the device families that terminals call over HTTP share (ADMS, ISAPI listening)."""

from __future__ import annotations

from fastapi import Request
from sqlalchemy import Engine


def engine_of(request: Request) -> Engine:
    """The app's engine; a host app that only included a terminal router gets the default one."""
    engine = getattr(request.app.state, "engine", None)
    if engine is None:
        from hub.store.db import get_engine  # noqa: PLC0415

        engine = request.app.state.engine = get_engine()
    return engine
