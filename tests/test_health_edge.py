"""/metrics and /healthz details only for loopback or a token; /healthz writes (and rolls
back) to prove the store takes writes; invented serials cannot flood the pending list
(issue 21, item 5)."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, create_engine, func, select

from hub.push import service
from hub.push.models import PushRegistration
from hub.service.health import health_router
from hub.store.models import AuditLog


def _app(engine: Engine, token: str = "") -> FastAPI:
    app = FastAPI()
    app.include_router(health_router(engine, lambda: {"scheduler": "leader"}, token))
    return app


def test_details_for_loopback_or_a_token_only(engine: Engine) -> None:
    app = _app(engine, token="rahasia-monitor-7")
    remote = TestClient(app, client=("203.0.113.9", 40000))
    assert remote.get("/metrics").status_code == 403
    assert remote.get("/healthz").json() == {"status": "ok"}
    auth = {"Authorization": "Bearer rahasia-monitor-7"}
    assert remote.get("/metrics", headers=auth).status_code == 200
    assert remote.get("/healthz", headers=auth).json()["scheduler"] == "leader"
    assert remote.get("/metrics", headers={"Authorization": "Bearer salah"}).status_code == 403
    local = TestClient(app, client=("127.0.0.1", 40000))
    assert local.get("/metrics").status_code == 200
    assert local.get("/healthz").json()["database"] == "ok"
    # through a reverse proxy on the same machine: not local
    assert local.get("/metrics", headers={"X-Forwarded-For": "198.51.100.4"}).status_code == 403
    with engine.connect() as conn:  # the write check leaves nothing behind
        assert conn.scalar(select(func.count()).select_from(AuditLog).where(AuditLog.actor == "healthz")) == 0


def test_healthz_says_when_the_store_takes_no_writes(engine: Engine, tmp_path) -> None:
    if engine.dialect.name == "sqlite":  # the file opened read-only
        ro = create_engine(f"sqlite:///file:{engine.url.database}?mode=ro&uri=true")
    else:  # a session that may only read (as on a hot standby)
        ro = create_engine(engine.url, connect_args={"options": "-c default_transaction_read_only=on"})
    r = TestClient(_app(ro), client=("127.0.0.1", 1)).get("/healthz")
    assert r.status_code == 503 and r.json()["database"].startswith("error")


def test_invented_serials_cannot_flood_the_pending_list(engine: Engine) -> None:
    held = [service.hold_unknown(engine, f"FAKE{n:04d}", "adms", {}) for n in range(service.PENDING_PER_HOUR + 15)]
    assert held.count(True) == service.PENDING_PER_HOUR and held[-1] is False
    assert service.hold_unknown(engine, "FAKE0001", "adms", {})  # one already held is refreshed
    with engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(PushRegistration)) == service.PENDING_PER_HOUR
