"""The scheduled jobs. Each is a plain module-level function (APScheduler stores a
reference to it in the database) that records one `job_runs` row per run.

The work itself lives in the adapters, the roster sync and reconciliation; a job only
decides when and records what happened.
"""

from __future__ import annotations

import logging
import socket
import traceback
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import update

from hub import times
from hub.config import get_settings
from hub.store.db import get_engine
from hub.store.models import JobRun, utcnow
from hub.times import in_windows, parse_windows

log = logging.getLogger("hub.scheduler")


def record_run(job: str, work: Callable[[], dict[str, Any] | None]) -> dict[str, Any]:
    """Run `work`, keeping a job_runs row with its outcome; never raises."""
    engine = get_engine()
    with engine.begin() as conn:
        run_id = conn.execute(JobRun.__table__.insert().values(
            job=job, started_at=utcnow(), status="running", host=socket.gethostname(),
            detail={})).inserted_primary_key[0]
    status, detail = "ok", {}
    try:
        detail = work() or {}
        status = detail.pop("_status", "ok")
    except Exception as exc:  # noqa: BLE001 - a job failure is recorded, the hub goes on
        status = "error"
        detail = {"error": f"{exc.__class__.__name__}: {exc}",
                  "trace": traceback.format_exc(limit=5)}
        log.exception("job %s failed", job)
    with engine.begin() as conn:
        conn.execute(update(JobRun).where(JobRun.id == run_id).values(
            finished_at=utcnow(), status=status, detail=_jsonable(detail)))
    return {"status": status, **detail}


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, int | float | str | bool) or value is None:
        return value
    return str(value)


def local_now() -> datetime:
    return times.local_now()


def _pull(full: bool) -> dict[str, Any]:
    from hub.adapters.isapi.pull import load_targets, pull_many
    from hub.adapters.zk.coordinator import pull_fleet

    if get_settings().cluster.enabled:  # every hub run process works on them (hub.cluster)
        from hub.cluster.queue import defer_pulls

        d = defer_pulls(get_engine(), get_settings(), full)
        return {"queued": d.queued, "already_queued": d.already}

    results = pull_fleet(get_engine(), get_settings().pull, full=full)
    results += pull_many(get_engine(), load_targets(get_engine()), full,  # Hikvision ISAPI terminals
                         tolerance_s=get_settings().pull.clock_tolerance_s)
    failed = [r for r in results if r.error]
    out: dict[str, Any] = {
        "terminals": len(results), "new": sum(r.new for r in results),
        "duplicate": sum(r.duplicate for r in results),
        "unchanged": sum(1 for r in results if r.mode == "unchanged"),
        "failed": {r.serial: r.error for r in failed},
    }
    if failed and len(failed) == len(results):
        out["_status"] = "error"
    return out


def pull_incremental() -> dict[str, Any]:
    def work() -> dict[str, Any]:
        windows = parse_windows(get_settings().scheduler.quiet_windows)
        now = local_now()
        if in_windows(now.time(), windows):
            return {"_status": "skipped", "reason": "quiet window", "at": now.isoformat()}
        return _pull(full=False)

    return record_run("pull_incremental", work)


def pull_full() -> dict[str, Any]:
    return record_run("pull_full", lambda: _pull(full=True))


def clock_check() -> dict[str, Any]:
    def work() -> dict[str, Any]:
        from hub.adapters.isapi.clock import sync_clock
        from hub.adapters.isapi.pull import load_targets
        from hub.adapters.zk.clock import sync_clocks

        results = sync_clocks(get_engine(), get_settings().pull, only_if_off=True)
        results += [sync_clock(get_engine(), t, get_settings().pull.clock_tolerance_s, "scheduler")
                    for t in load_targets(get_engine())]
        return {"checked": len(results), "synced": [r.serial for r in results if r.synced],
                "failed": {r.serial: r.error for r in results if r.error}}

    return record_run("clock_check", work)


def roster_sync() -> dict[str, Any]:
    def work() -> dict[str, Any]:
        from hub.sync.apply import apply_all

        return _jsonable(apply_all(get_engine()))

    return record_run("roster_sync", work)


def reconcile_yesterday() -> dict[str, Any]:
    def work() -> dict[str, Any]:
        from hub.reconcile.daily import reconcile_period
        day = local_now().date() - timedelta(days=1)
        return _jsonable(reconcile_period(get_engine(), day, day))

    return record_run("reconcile", work)


def monthly_recap() -> dict[str, Any]:
    """Bring last month's stored days up to date (late pulls, approved corrections) so the
    reviewers' queues show its final state. Freezing it is a person's decision: `hub period
    lock` or the console's lock, which recomputes again and asks for confirmation."""
    def work() -> dict[str, Any]:
        from hub.reconcile.daily import reconcile_period
        first = local_now().date().replace(day=1)
        last_month_end = first - timedelta(days=1)
        return _jsonable(reconcile_period(get_engine(), last_month_end.replace(day=1), last_month_end))

    return record_run("monthly_recap", work)


def punch_photos() -> dict[str, Any]:
    def work() -> dict[str, Any]:
        from hub.face.punch_photos import check_pending_photos

        return check_pending_photos(get_engine())

    return record_run("punch_photos", work)


def backup() -> dict[str, Any]:
    """The nightly backup with its retention (settings [backup]); the key is not in it."""
    def work() -> dict[str, Any]:
        from hub.store.backup import backup as take  # noqa: PLC0415

        settings = get_settings()
        if not settings.backup.enabled:
            return {"_status": "skipped", "reason": "backup.enabled = false"}
        m = take(settings.effective_database_url(), settings.backup.path(settings.var_path), settings.backup.keep)
        return {"file": m.file, "size": m.size, "rows": sum(m.tables.values()), "seconds": m.seconds}

    return record_run("backup", work)


def partitions() -> dict[str, Any]:
    """PostgreSQL: the month partitions of raw_punches made ahead, and a month that gathered
    punches in the default partition given its own (nothing to do on SQLite)."""
    def work() -> dict[str, Any]:
        from hub.store.partitions import ensure, is_partitioned  # noqa: PLC0415

        with get_engine().connect() as conn:
            if not is_partitioned(conn):
                return {"_status": "skipped", "reason": "raw_punches is one table here (SQLite)"}
        made = ensure(get_engine())
        return {"made": [m.name for m in made], "moved": sum(m.moved for m in made)}

    return record_run("partitions", work)


def alerts() -> dict[str, Any]:
    """The alert rules, then what is owed to people (e-mail, webhook). Runs every minute: a
    job_runs row only when something opened, ended, was sent or failed (a quiet minute is
    not history)."""
    from hub.alerts.run import check  # noqa: PLC0415

    try:
        out = check(get_engine(), get_settings()).as_dict()
    except Exception as exc:  # noqa: BLE001 - recorded as the job's failure
        failure = exc

        def fail() -> dict[str, Any]:
            raise failure
        return record_run("alerts", fail)
    if out["opened"] or out["resolved"] or out["sent"] or out["failed"]:
        return record_run("alerts", lambda: {**out, **({"_status": "error"} if out["failed"] and not out["sent"]
                                                      else {})})
    return {"status": "ok", **out}


def alerts_digest() -> dict[str, Any]:
    def work() -> dict[str, Any]:
        from hub.alerts.run import digest  # noqa: PLC0415

        if not get_settings().alerts.digest_at:
            return {"_status": "skipped", "reason": "alerts.digest_at is empty"}
        return digest(get_engine(), get_settings())

    return record_run("alerts_digest", work)


JOBS: dict[str, Callable[[], dict[str, Any]]] = {
    "pull_incremental": pull_incremental,
    "pull_full": pull_full,
    "clock_check": clock_check,
    "roster_sync": roster_sync,
    "reconcile": reconcile_yesterday,
    "monthly_recap": monthly_recap,
    "punch_photos": punch_photos,
    "backup": backup,
    "partitions": partitions,
    "alerts": alerts,
    "alerts_digest": alerts_digest,
}
