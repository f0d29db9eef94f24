"""The task queue: procrastinate on the hub's own PostgreSQL (no broker to run), its tasks,
and the deferring of pulls.

Why procrastinate: it keeps jobs in the database the hub already depends on (one thing less
to install and back up), its `lock` runs one job at a time per terminal across all
machines, `queueing_lock` keeps one queued pull per terminal however often the scheduler
asks, and worker heartbeats let the survivors take a dead worker's jobs back
(bench/task_engines.py measures it against Celery on Redis and RabbitMQ)."""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass
from typing import Any

import procrastinate
from procrastinate import exceptions as pexc
from procrastinate.manager import JobManager
from procrastinate.tasks import configure_task
from sqlalchemy import Engine

from hub.commands import ISAPI_KINDS, ZK_KINDS
from hub.config import Settings, get_settings
from hub.store.db import get_engine, libpq

log = logging.getLogger("hub.cluster")
QUEUE = "terminals"

# bound by configure(); the tasks of the layers above (terminal requests) are loaded by name
# when a worker starts, so nothing here imports them
app = procrastinate.App(connector=procrastinate.PsycopgConnector(conninfo=""), import_paths=["hub.tasks.requests"])


def pool_args(settings: Settings) -> dict[str, Any]:
    """psycopg_pool arguments: the hub's database, a pool no bigger than the work needs (a
    PostgreSQL serves every process of every machine)."""
    url = settings.effective_database_url()
    if not url.startswith(("postgres", "postgresql")):
        raise ValueError("cluster mode needs PostgreSQL (HUB_DATABASE_URL): SQLite is one process only")
    info, password = libpq(url)
    return {"conninfo": info, "min_size": 1, "max_size": max(2, settings.cluster.concurrency) + 2,
            "kwargs": {"password": password} if password else {}}


_bound: list[dict[str, Any]] = []


def configure(settings: Settings) -> procrastinate.App:
    """The app bound to this hub's database (the module-level app keeps the task registry);
    bound once per process: the worker's open pool is never swapped under it."""
    kwargs = pool_args(settings)
    if _bound != [kwargs]:
        connector = procrastinate.PsycopgConnector(**kwargs)
        app.connector = app.job_manager.connector = connector
        _bound[:] = [kwargs]
    return app


@app.task(name="pull_terminal", queue=QUEUE, pass_context=True)
def pull_terminal(context: procrastinate.JobContext, device_id: int, full: bool = False) -> dict[str, Any]:
    """One terminal's pull (ZK or Hikvision), as the in-process scheduler pulls it. A terminal
    that cannot be reached is a finished job (its failure is in its health); the next round
    asks again."""
    from hub.adapters.pull_any import pull_target, target_of  # noqa: PLC0415
    from hub.store.models import Device  # noqa: PLC0415

    settings, engine = get_settings(), get_engine()
    with engine.connect() as conn:
        serial = conn.scalar(Device.__table__.select().with_only_columns(Device.serial).where(Device.id == device_id))
    target = target_of(engine, serial) if serial is not None else None
    if target is None:
        return {"device_id": device_id, "serial": serial, "error": "not a pulled terminal (any more)"}
    res = pull_target(engine, settings, target, full)
    worker = (context.additional_context or {}).get("worker", "")
    log.info("%s pulled %s: %s new, %s", worker, serial, res.new, res.error or res.mode)
    return {"serial": serial, "worker": worker, "new": res.new, "duplicate": res.duplicate, "mode": res.mode,
            "error": res.error if res.error is None else str(res.error)}


@app.periodic(cron="* * * * * */10", periodic_id="retry_stalled")
@app.task(name="retry_stalled", queue="hub", queueing_lock="retry_stalled", pass_context=True)
async def retry_stalled(context: procrastinate.JobContext, timestamp: int) -> int:
    """Jobs of a worker that stopped beating (killed, its machine gone) go back to the queue
    for the others. Runs every 10 s on whichever worker takes it."""
    seconds = float((context.additional_context or {}).get("stalled_after_s", 30.0))
    stalled = list(await context.app.job_manager.get_stalled_jobs(seconds_since_heartbeat=seconds))
    for job in stalled:
        await context.app.job_manager.retry_job(job)
        log.warning("job %s (%s %s) of a stalled worker queued again", job.id, job.task_name, job.task_kwargs)
    return len(stalled)


def _deferring(settings: Settings) -> Any:
    """A connector of its own (synchronous): this process's worker holds the app's async pool
    on its own event loop, which no other thread may use."""
    connector = procrastinate.SyncPsycopgConnector(**{**pool_args(settings), "max_size": 2})
    connector.open()
    return connector


def defer_requests(settings: Settings, requests: list[tuple[int, int]]) -> None:
    """(request id, device id) pairs as tasks under their terminals' locks."""
    connector = _deferring(settings)
    try:
        jobs = JobManager(connector)
        for request_id, device_id in requests:
            with contextlib.suppress(pexc.AlreadyEnqueued):
                configure_task(name="terminal_request", job_manager=jobs, queue=QUEUE, lock=f"terminal:{device_id}",
                               queueing_lock=f"request:{request_id}").defer(request_id=request_id)
    finally:
        connector.close()


@dataclass
class Deferred:
    queued: int = 0
    already: int = 0  # a pull of that terminal was still waiting: not queued twice


def defer_pulls(engine: Engine, settings: Settings, full: bool = False) -> Deferred:
    """One pull task per enabled pulled terminal, at most one waiting per terminal, each run
    under the terminal's lock (one conversation with a terminal at a time, fleet-wide)."""
    from sqlalchemy import select  # noqa: PLC0415

    from hub.store.models import Device  # noqa: PLC0415

    with engine.connect() as conn:
        ids = list(conn.scalars(select(Device.id).where(Device.enabled.is_(True),
                                                        Device.kind.in_(ZK_KINDS + ISAPI_KINDS))
                                .order_by(Device.id)))
    out = Deferred()
    connector = _deferring(settings)
    try:
        jobs = JobManager(connector)
        for device_id in ids:
            try:
                configure_task(name="pull_terminal", job_manager=jobs, queue=QUEUE, lock=f"terminal:{device_id}",
                               queueing_lock=f"pull:{device_id}").defer(device_id=device_id, full=full)
                out.queued += 1
            except pexc.AlreadyEnqueued:
                out.already += 1
    finally:
        connector.close()
    return out
