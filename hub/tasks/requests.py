"""Work on terminals asked of the running hub by another process.

Real units keep one TCP session at a time, and the hub that schedules (`hub run`'s
leader) holds a live session to each ZK terminal. A `hub pull` or `hub device sync-time`
typed meanwhile in another shell would open a second session and knock the live one off.
Instead the command writes its request into `device_requests`; the leader's worker does it
through the sessions it holds (hub.adapters.zk.sessions) and writes the result back,
which the command shows as if it had done the work itself. With no hub running, the
command does the work directly, as before.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import Engine, insert, select, update

from hub.cluster.queue import QUEUE, defer_requests
from hub.cluster.queue import app as cluster_app
from hub.config import Settings, get_settings
from hub.store.models import DeviceRequest, utcnow

log = logging.getLogger(__name__)

ACTIONS = ("pull", "sync_time", "harvest", "sync", "probe", "restart")


def leader_running(settings: Settings) -> bool:
    """Is a `hub run` scheduling (holding the leader lock) for this store right now?"""
    from hub.scheduler.leader import LeaderLock  # noqa: PLC0415

    lock = LeaderLock(settings.effective_database_url(), settings.var_dir)
    try:
        return not lock.try_acquire()  # (when nobody held it, it is let go at once)
    except Exception:  # noqa: BLE001 - the store cannot even be asked: do the work here
        return False
    finally:
        lock.release()


def submit(engine: Engine, device_ids: list[int], action: str, actor: str, full: bool = False,
           params: dict[str, Any] | None = None) -> list[int]:
    """Queue one request per terminal; `params` of a sync: day (ISO date), allow_removals."""
    if action not in ACTIONS:
        raise ValueError(f"unknown action {action!r}")
    with engine.begin() as conn:
        ids = [conn.execute(insert(DeviceRequest).values(
            device_id=d, action=action, full=full, params=params or {}, requested_by=actor, requested_at=utcnow(),
            status="queued", result={}).returning(DeviceRequest.id)).scalar_one() for d in device_ids]
    if get_settings().cluster.enabled:
        # in a cluster, a request is a task under its terminal's lock like every pull: done by
        # whichever process is free, never beside another conversation with that terminal
        defer_requests(get_settings(), list(zip(ids, device_ids, strict=True)))
    return ids


@cluster_app.task(name="terminal_request", queue=QUEUE)
def terminal_request(request_id: int) -> bool:
    """A cluster worker's side of a request: the same work, written back the same way."""
    from hub.store.db import get_engine  # noqa: PLC0415

    return RequestWorker(get_engine(), get_settings()).do(request_id)


def ask(engine: Engine, settings: Settings, device_ids: list[int], action: str, actor: str, full: bool = False,
        params: dict[str, Any] | None = None) -> list[int]:
    """Queue work for the console or the API and see that someone does it: the leader's
    worker when a `hub run` leads, else a worker thread of this process. Returns the request
    ids; the asker reads their progress from `device_requests`."""
    ids = submit(engine, device_ids, action, actor, full, params)
    if not settings.cluster.enabled and not leader_running(settings):
        threading.Thread(target=RequestWorker(engine, settings).drain, name="device-requests-here",
                         daemon=True).start()
    return ids


def wait(engine: Engine, ids: list[int], pickup_s: float = 20.0, timeout_s: float = 1800.0,
         on_done: Callable[[dict[str, Any]], None] | None = None) -> list[dict[str, Any]] | None:
    """The results of `ids` once all are done, in order. None when the hub did not take
    them up within `pickup_s` (they are cancelled, and the caller does the work itself)."""
    t0 = time.monotonic()
    reported: set[int] = set()
    while True:
        with engine.connect() as conn:
            rows = {r.id: r for r in conn.execute(select(DeviceRequest).where(DeviceRequest.id.in_(ids)))}
        for i in ids:
            r = rows.get(i)
            if r is not None and r.status == "done" and i not in reported:
                reported.add(i)
                if on_done:
                    on_done(dict(r.result))
        if len(reported) == len(ids):
            return [dict(rows[i].result) for i in ids]
        waited = time.monotonic() - t0
        if waited > pickup_s and all(rows[i].status == "queued" for i in ids if i in rows):
            with engine.begin() as conn:
                conn.execute(update(DeviceRequest).where(DeviceRequest.id.in_(ids),
                                                         DeviceRequest.status == "queued")
                             .values(status="cancelled", done_at=utcnow()))
            return None
        if waited > timeout_s:
            raise TimeoutError(f"the running hub did not finish {len(ids) - len(reported)} request(s) "
                               f"in {timeout_s:.0f} s")
        time.sleep(0.2)


class RequestWorker(threading.Thread):
    """The leader's side: takes queued requests one at a time and does them through the
    sessions this process holds."""

    def __init__(self, engine: Engine, settings: Settings, poll_s: float = 0.5) -> None:
        super().__init__(name="device-requests", daemon=True)
        self.engine, self.settings, self.poll_s = engine, settings, poll_s
        self._halt = threading.Event()
        self._finished: set[int] = set()
        self.done = 0

    def stop(self, timeout: float = 10.0) -> None:
        self._halt.set()
        self.join(timeout)

    def run(self) -> None:
        while not self._halt.is_set():
            try:
                worked = self._one()
            except Exception:  # noqa: BLE001 - a bad request must not stop the worker
                log.exception("device request failed")
                worked = False
            if not worked:
                self._halt.wait(self.poll_s)

    def _one(self) -> bool:
        """Take every queued request; pulls run together (as `hub pull` would run them),
        the rest one by one. False when there was nothing to do."""
        return self._take(select(DeviceRequest).where(DeviceRequest.status == "queued")
                          .order_by(DeviceRequest.id).limit(500))

    def do(self, request_id: int) -> bool:
        """One request (a cluster task's work); False when it was no longer waiting."""
        return self._take(select(DeviceRequest).where(DeviceRequest.id == request_id))

    def _take(self, query: Any) -> bool:
        taken = []
        with self.engine.begin() as conn:
            for req in conn.execute(query).all():
                if conn.execute(update(DeviceRequest).where(DeviceRequest.id == req.id,
                                                            DeviceRequest.status == "queued")
                                .values(status="running", taken_at=utcnow())).rowcount:
                    taken.append(req)  # (not cancelled meanwhile)
        if not taken:
            return False
        self._finished = set()
        try:
            for full in (False, True):
                self._pulls([r for r in taken if r.action == "pull" and bool(r.full) == full], full)
            for req in taken:
                if req.action != "pull":
                    self._finish(req.id, self._do(req))
        except Exception as exc:  # noqa: BLE001 - the asker must hear of it, not wait forever
            log.exception("device requests failed")
            for req in taken:
                if req.id not in self._finished:
                    self._finish(req.id, {"serial": str(req.device_id), "device_id": req.device_id,
                                          "error": f"{exc.__class__.__name__}: {exc}"})
        return True

    def drain(self) -> None:
        """Do whatever is queued, then stop: the console's worker when no `hub run` leads
        (a console served on its own still does what its users ask)."""
        while not self._halt.is_set() and self._one():
            pass

    def _finish(self, request_id: int, result: dict[str, Any]) -> None:
        with self.engine.begin() as conn:
            conn.execute(update(DeviceRequest).where(DeviceRequest.id == request_id).values(
                status="done", done_at=utcnow(), result=result))
        self._finished.add(request_id)
        self.done += 1

    def _target_of(self, device_id: int) -> tuple[str, Any]:
        """The terminal's pull target: a ZK one, or a Hikvision one (IsapiTarget)."""
        from hub.adapters.pull_any import target_of  # noqa: PLC0415
        from hub.store.models import Device  # noqa: PLC0415

        with self.engine.connect() as conn:
            serial = conn.scalar(select(Device.serial).where(Device.id == device_id))
        return serial or str(device_id), (target_of(self.engine, serial, include_disabled=True) if serial else None)

    @staticmethod
    def _missing(serial: str, device_id: int) -> dict[str, Any]:
        return {"serial": serial, "device_id": device_id,
                "error": "terminal ZK tidak ditemukan / ZK terminal not found"}

    def _pulls(self, reqs: list[Any], full: bool) -> None:
        from hub.adapters.zk.coordinator import Puller  # noqa: PLC0415

        by_device: dict[int, list[int]] = {}
        targets = []
        for req in reqs:
            serial, target = self._target_of(req.device_id)
            if target is None:
                self._finish(req.id, self._missing(serial, req.device_id))
            elif req.device_id in by_device:
                by_device[req.device_id].append(req.id)  # asked twice: pulled once
            else:
                by_device[req.device_id] = [req.id]
                targets.append(target)
        if not targets:
            return

        def done(res: Any) -> None:
            for request_id in by_device.pop(res.device_id, []):
                self._finish(request_id, _jsonable(dataclasses.asdict(res)))

        from hub.adapters.isapi.pull import IsapiTarget  # noqa: PLC0415
        from hub.adapters.isapi.pull import pull_many as isapi_pull  # noqa: PLC0415

        zk = [t for t in targets if not isinstance(t, IsapiTarget)]
        hik = [t for t in targets if isinstance(t, IsapiTarget)]
        results = Puller(self.engine, self.settings.pull).pull_many(zk, full, done) if zk else []
        results += isapi_pull(self.engine, hik, full, tolerance_s=self.settings.pull.clock_tolerance_s)
        for res in results:
            done(res)  # (what on_done wrote is gone from by_device: a no-op then)

    def _do(self, req: Any) -> dict[str, Any]:
        from hub.adapters.zk.clock import sync_clock  # noqa: PLC0415

        serial, target = self._target_of(req.device_id)
        if target is None:
            return self._missing(serial, req.device_id)
        if req.action == "harvest":
            return self._harvest(req.device_id, serial)
        if req.action == "sync":
            return self._sync(req, serial)
        from hub.adapters.isapi.pull import IsapiTarget  # noqa: PLC0415

        if isinstance(target, IsapiTarget):
            return self._isapi(req, target)
        if req.action in ("probe", "restart"):
            from hub.adapters.zk.probe import probe_device, restart_device  # noqa: PLC0415

            work = probe_device if req.action == "probe" else restart_device
            out = dataclasses.asdict(work(self.engine, target, self.settings.pull, req.requested_by))
            return _jsonable(out)
        res = sync_clock(self.engine, target, self.settings.pull, req.requested_by, only_if_off=False)
        return _jsonable(dataclasses.asdict(res))

    def _isapi(self, req: Any, t: Any) -> dict[str, Any]:
        """A Hikvision terminal's clock or connection test (restart is for ZK terminals)."""
        from hub.adapters.isapi.clock import sync_clock as isapi_clock  # noqa: PLC0415
        from hub.adapters.isapi.probe import probe_address  # noqa: PLC0415

        if req.action == "probe":
            res: Any = probe_address(t.serial, t.host, t.port, t.username, t.password, t.pin)
        elif req.action == "sync_time":
            res = isapi_clock(self.engine, t, self.settings.pull.clock_tolerance_s, req.requested_by,
                              only_if_off=False)
        else:
            return {"serial": t.serial, "device_id": t.id,
                    "error": "perintah ini hanya untuk terminal ZK / this command is for ZK terminals only"}
        return _jsonable(dataclasses.asdict(res))

    def _harvest(self, device_id: int, serial: str) -> dict[str, Any]:
        from hub.store.db import session_scope  # noqa: PLC0415
        from hub.store.models import Device  # noqa: PLC0415
        from hub.sync.harvest import harvest_templates  # noqa: PLC0415

        try:
            with session_scope(self.engine) as s:
                res = harvest_templates(s, s.get(Device, device_id))
        except Exception as exc:  # noqa: BLE001 - reported to the asker
            return {"serial": serial, "error": f"{exc.__class__.__name__}: {exc}"}
        return {"serial": serial, "error": None, **dataclasses.asdict(res)}


    def _sync(self, req: Any, serial: str) -> dict[str, Any]:
        """The roster push of one terminal, as `hub sync apply` plans it for that day."""
        from datetime import date  # noqa: PLC0415

        from hub.store.db import session_scope  # noqa: PLC0415
        from hub.sync.apply import apply_plans  # noqa: PLC0415
        from hub.sync.plan import compute_plans, select_devices  # noqa: PLC0415

        params = dict(req.params or {})
        with session_scope(self.engine) as s:
            plans = compute_plans(s, select_devices(s, device=serial), date.fromisoformat(params["day"]))
        shown = [0.0]

        def progress(label: str, done: int, total: int) -> None:
            # the asker watches the request: how far this terminal is, at most twice a second
            now = time.monotonic()
            if now - shown[0] < 0.5 and done < total:
                return
            shown[0] = now
            with self.engine.begin() as conn:
                conn.execute(update(DeviceRequest).where(DeviceRequest.id == req.id).values(
                    result={"progress": {"label": label, "done": done, "total": total}}))

        [res] = apply_plans(self.engine, plans, req.requested_by, params.get("allow_removals"), progress)
        return _jsonable(dataclasses.asdict(res))


def _jsonable(value: Any) -> Any:
    from hub.messages import Msg, stored  # noqa: PLC0415

    if isinstance(value, Msg):
        return stored(value)  # its code: shown later in the reader's language
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value.isoformat() if hasattr(value, "isoformat") else value
