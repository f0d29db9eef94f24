"""`hub run`: one process serving the console, the push endpoints and MQTT, and — when
it holds the leader lock — running the scheduler.

Shutdown on SIGTERM/SIGINT is clean: uvicorn stops accepting requests and finishes the
ones in flight, the scheduler waits for a running job (every job writes in transactions,
so an interrupted one leaves nothing half-written), the MQTT listener disconnects after
its last commit, and the leader lock is released so another process can take over.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import threading
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from fastapi import FastAPI

from hub.adapters.mqtt.listener import start_listener
from hub.config import Settings, get_settings
from hub.scheduler.leader import LeaderLock
from hub.service.health import health_router
from hub.store.db import get_engine
from hub.web.app import FACE_INSTALL, create_app

log = logging.getLogger("hub.run")


@dataclass
class HubState:
    leader: bool = False
    scheduler_running: bool = False
    mqtt: str = "disabled"
    components: dict[str, str] = field(default_factory=dict)
    live: Any = None  # the LiveSupervisor while this process leads

    def as_dict(self) -> dict[str, Any]:
        out = {"scheduler": "leader" if self.leader else "standby", "pid": os.getpid(),
               "mqtt": self.mqtt, **self.components}
        if self.live is not None:
            out["live"] = self.live.status()
        return out


def build_app(settings: Settings, state: HubState) -> FastAPI:
    """The console with the ADMS endpoints (and the face ones when installed), health and metrics."""
    engine = get_engine(settings.effective_database_url())
    app = create_app(settings)  # the console, with the ADMS endpoints (and the face ones when installed)
    state.components["web"] = state.components["adms"] = "ok"
    state.components["face"] = "ok" if "hub.face.api" in app.state.mounted else \
        f"absent: install the face extra ({FACE_INSTALL})"
    app.include_router(health_router(engine, state.as_dict, settings.web.metrics_token))
    return app


class _Server(uvicorn.Server):
    """uvicorn re-raises SIGTERM after its own shutdown, which would kill the process
    before the scheduler and MQTT listener are stopped; the hub handles signals itself."""

    @contextlib.contextmanager
    def capture_signals(self):  # type: ignore[no-untyped-def, override]
        yield


class Hub:
    def __init__(self, settings: Settings | None = None, *, host: str | None = None,
                 port: int | None = None, schedule: bool = True, mqtt: bool | None = None,
                 leader_poll_s: float | None = None) -> None:
        self.settings = settings or get_settings()
        self.host = host or self.settings.web.host
        self.port = port if port is not None else self.settings.web.port
        self.schedule = schedule and self.settings.scheduler.enabled
        self.use_mqtt = self.settings.mqtt.enabled if mqtt is None else mqtt
        self.leader_poll_s = leader_poll_s or self.settings.scheduler.leader_poll_s
        self.state = HubState()
        self._stop = threading.Event()
        self._scheduler = None
        self._mqtt = None
        self._requests = None
        self._worker = None
        self._lock = LeaderLock(self.settings.effective_database_url(), self.settings.var_dir)

    # -- scheduler leadership ----------------------------------------------------------
    def _leader_loop(self) -> None:
        while not self._stop.is_set():
            try:
                held = self._lock.try_acquire()
            except Exception:  # noqa: BLE001 - database down: try again later
                log.exception("leader lock check failed")
                held = False
            if held and self._scheduler is None:
                from hub.scheduler.service import build_scheduler  # noqa: PLC0415

                self._scheduler = build_scheduler(self.settings)
                self._scheduler.start()
                self.state.leader = self.state.scheduler_running = True
                log.info("this process (pid %s) now schedules", os.getpid())
                self._start_live()
                self._start_requests()
            elif not held and self._scheduler is not None:
                self._stop_scheduler()
            self._stop.wait(self.leader_poll_s)

    # -- live sessions: only the leader holds them (two hubs would displace each other's) --
    def _start_live(self) -> None:
        if not self.settings.pull.live or self.state.live is not None:
            return
        if self.settings.cluster.enabled:
            # a live session would hold the terminal a pull task on another machine needs
            # (one session per terminal): in cluster mode punches come by the count-gated poll
            log.info("cluster mode: no live sessions; terminals are pulled as tasks")
            return
        from hub.adapters.isapi.stream import StreamSupervisor  # noqa: PLC0415
        from hub.adapters.zk.live import LiveSupervisor  # noqa: PLC0415

        engine = get_engine(self.settings.effective_database_url())
        self.state.live = LiveSupervisor(engine, self.settings.pull).start()
        self._streams = StreamSupervisor(engine).start()  # Hikvision terminals set to alertStream
        log.info("live sessions: %d ZK terminals, %d Hikvision alert streams", len(self.state.live.listeners),
                 len(self._streams.watchers))

    def _start_requests(self) -> None:
        """Other processes' work on terminals (hub pull typed meanwhile) is done here,
        through the sessions this leader holds."""
        from hub.tasks.requests import RequestWorker  # noqa: PLC0415

        if self.settings.cluster.enabled:
            return  # (requests are queue tasks under their terminal's lock: hub.cluster)
        if self._requests is None:
            self._requests = RequestWorker(get_engine(self.settings.effective_database_url()), self.settings)
            self._requests.start()

    def _stop_live(self) -> None:
        streams = getattr(self, "_streams", None)
        if streams is not None:
            with contextlib.suppress(Exception):
                streams.stop()
            self._streams = None
        if self.state.live is not None:
            with contextlib.suppress(Exception):
                self.state.live.stop()
            self.state.live = None

    def _stop_scheduler(self) -> None:
        if self._requests is not None:
            with contextlib.suppress(Exception):
                self._requests.stop()
            self._requests = None
        self._stop_live()
        if self._scheduler is not None:
            with contextlib.suppress(Exception):
                self._scheduler.shutdown(wait=True)
            self._scheduler = None
        self.state.leader = self.state.scheduler_running = False

    # -- MQTT ----------------------------------------------------------------------------
    def _start_mqtt(self) -> None:
        self._mqtt = start_listener(self.settings)
        self.state.mqtt = "connected"

    def _stop_mqtt(self) -> None:
        if self._mqtt is not None:
            with contextlib.suppress(Exception):
                self._mqtt.stop()
            self._mqtt = None

    # -- the process ---------------------------------------------------------------------
    def run(self) -> None:
        app = build_app(self.settings, self.state)
        leader = None
        if self.schedule:
            leader = threading.Thread(target=self._leader_loop, name="leader", daemon=True)
            leader.start()
        if self.use_mqtt:
            self._start_mqtt()
        if self.settings.cluster.enabled:
            from hub.cluster.worker import ClusterWorker  # noqa: PLC0415

            self._worker = ClusterWorker(self.settings).start()
            self.state.components["cluster_worker"] = self._worker.name
        # proxy_headers off: which proxy's X-Forwarded-For to believe is the hub's own
        # setting (web.trusted_proxies, hub.peer), not uvicorn's loopback default
        config = uvicorn.Config(app, host=self.host, port=self.port, log_level="warning",
                                lifespan="on", proxy_headers=False)
        server = _Server(config)

        def _graceful(signum: int, _frame: object) -> None:
            log.info("signal %s: shutting down", signum)
            server.should_exit = True

        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, _graceful)
        try:
            server.run()
        finally:
            self._stop.set()
            if leader is not None:
                leader.join(timeout=30)
            self._stop_scheduler()
            if self._worker is not None:
                self._worker.stop()
            self._stop_mqtt()
            self._lock.release()
