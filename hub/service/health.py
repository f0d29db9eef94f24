"""/healthz and Prometheus /metrics, computed from the store at request time.

Computing from the store (not from in-process counters) keeps the figures right when
several `hub run` processes share one database.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable, Iterator
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from sqlalchemy import Engine, func, select

from hub.alerts.models import Alert
from hub.push.models import EdgeRefusal
from hub.store.db import write_probe
from hub.store.models import Device, IngestRun, JobRun, utcnow


class StoreCollector:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def collect(self) -> Iterator[Any]:
        now = utcnow()
        lag = GaugeMetricFamily("hub_terminal_lag_seconds",
                                "Seconds since the terminal was last reached", labels=["serial", "kind"])
        offset = GaugeMetricFamily("hub_terminal_clock_offset_seconds",
                                   "Terminal clock minus true time at the last check", labels=["serial"])
        up = GaugeMetricFamily("hub_terminal_enabled", "1 if the terminal is enabled", labels=["serial"])
        ingested = CounterMetricFamily("hub_punches_ingested", "New punches stored", labels=["source"])
        dupes = CounterMetricFamily("hub_punches_duplicate", "Duplicate punches absorbed", labels=["source"])
        run_errors = CounterMetricFamily("hub_ingest_errors", "Ingest runs that ended in error",
                                         labels=["source"])
        job_errors = CounterMetricFamily("hub_job_errors", "Scheduled job runs that failed", labels=["job"])
        refused = CounterMetricFamily("hub_edge_refused", "Terminal requests refused at the edge "
                                      "(serial empty when unknown)", labels=["channel", "serial", "reason"])
        alerts = GaugeMetricFamily("hub_alerts_open", "Problems the hub's alert rules see now", labels=["rule"])
        with self.engine.connect() as conn:
            for rule, n in conn.execute(select(Alert.rule, func.count()).where(Alert.resolved_at.is_(None))
                                        .group_by(Alert.rule)):
                alerts.add_metric([rule], float(n))
            for serial, kind, seen, off, enabled in conn.execute(select(
                    Device.serial, Device.kind, Device.last_seen_at, Device.last_clock_offset_s,
                    Device.enabled)):
                if seen is not None:
                    lag.add_metric([serial, kind], (now - seen).total_seconds())
                if off is not None:
                    offset.add_metric([serial], float(off))
                up.add_metric([serial], 1.0 if enabled else 0.0)
            for source, new, dup in conn.execute(select(
                    IngestRun.source, func.coalesce(func.sum(IngestRun.new), 0),
                    func.coalesce(func.sum(IngestRun.duplicate), 0)).group_by(IngestRun.source)):
                ingested.add_metric([source], float(new))
                dupes.add_metric([source], float(dup))
            for source, n in conn.execute(select(IngestRun.source, func.count())
                                          .where(IngestRun.status == "error")
                                          .group_by(IngestRun.source)):
                run_errors.add_metric([source], float(n))
            for job, n in conn.execute(select(JobRun.job, func.count())
                                       .where(JobRun.status == "error").group_by(JobRun.job)):
                job_errors.add_metric([job], float(n))
            for channel, serial, reason, n in conn.execute(select(
                    EdgeRefusal.channel, EdgeRefusal.serial, EdgeRefusal.reason, EdgeRefusal.count)):
                refused.add_metric([channel, serial, reason], float(n))
        yield from (lag, offset, up, ingested, dupes, run_errors, job_errors, refused, alerts)


def trusted(request: Request, token: str) -> bool:
    """May this caller see details (terminal serials, counters)? A direct loopback caller (a
    local monitoring agent), or anyone with the configured token. A request that came through
    a reverse proxy is not local, whatever address the proxy connects from."""
    auth = request.headers.get("authorization", "")
    if token and hmac.compare_digest(auth.removeprefix("Bearer ").strip().encode(), token.encode()):
        return True
    host = request.client.host if request.client else ""
    proxied = any(h in request.headers for h in ("x-forwarded-for", "forwarded", "x-real-ip"))
    return not proxied and (host in ("::1", "localhost") or host.startswith("127."))


def health_router(engine: Engine, status: Callable[[], dict[str, Any]] | None = None,
                  token: str = "") -> APIRouter:
    router = APIRouter()
    registry = CollectorRegistry()
    registry.register(StoreCollector(engine))  # type: ignore[arg-type]

    @router.get("/healthz", include_in_schema=False)
    def healthz(request: Request) -> JSONResponse:
        body: dict[str, Any] = {"database": "ok"}
        code = 200
        try:
            write_probe(engine, "healthz")
        except Exception as exc:  # noqa: BLE001 - reported, not raised
            body["database"] = f"error: {exc.__class__.__name__}"
            code = 503
        body["status"] = "ok" if code == 200 else "degraded"
        if not trusted(request, token):
            return JSONResponse({"status": body["status"]}, status_code=code)
        if status is not None:
            body.update(status())
        return JSONResponse(body, status_code=code)

    @router.get("/metrics", include_in_schema=False)
    def metrics(request: Request) -> Response:
        if not trusted(request, token):
            return JSONResponse({"detail": "metrik hanya untuk loopback atau dengan token / metrics are for "
                                           "loopback or a token (web.metrics_token)"}, status_code=403)
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    return router
