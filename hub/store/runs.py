"""The one place an ingest run is recorded: opened, finished with its counts, or failed.

Every path that stores punches (ZK pull and live, ADMS, MQTT, USB import, mobile) writes its
run through here, inside its own transaction, so the fleet page, /metrics and the review
pages read every source the same way.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, update

from hub.messages import stored
from hub.punch import Punch
from hub.store.ingest import IngestResult, ingest_punches
from hub.store.models import IngestRun, utcnow

UNKNOWN_PINS_KEPT = 100  # strangers listed per run, so a backfill's are visible


def open_run(conn: Connection, device_id: int, source: str, kind: str,
             details: dict[str, Any] | None = None, started: datetime | None = None) -> int:
    return conn.execute(insert(IngestRun).values(
        device_id=device_id, source=source, kind=kind, started_at=started or utcnow(), status="running",
        records_seen=0, new=0, duplicate=0, details=details or {}).returning(IngestRun.id)).scalar_one()


def finish_run(conn: Connection, run_id: int, result: IngestResult, started: datetime | None = None,
               status: str = "ok", error: str | None = None, details: dict[str, Any] | None = None,
               seconds: float | None = None, **values: Any) -> None:
    """The run's counts from `result`; `details` replace the run's (with its unknown PINs)."""
    now = utcnow()
    if details is not None or result.unknown_pins:
        details = {**(details or {})}
        if result.unknown_pins:
            details["unknown_pins"] = dict(result.unknown_pins.most_common(UNKNOWN_PINS_KEPT))
        values["details"] = details
    if seconds is None and started is not None:
        seconds = (now - started).total_seconds()
    conn.execute(update(IngestRun).where(IngestRun.id == run_id).values(
        status=status, finished_at=now, records_seen=result.seen, new=result.new,
        duplicate=result.duplicate, error=stored(error), seconds=seconds, **values))


def count_into(conn: Connection, run_id: int, seen: int, new: int) -> None:
    """A run that stays open (a live session): its counts so far."""
    conn.execute(update(IngestRun).where(IngestRun.id == run_id).values(
        records_seen=seen, new=new, duplicate=seen - new))


def end_run(conn: Connection, run_id: int, status: str, error: str | None = None,
            seconds: float | None = None, details: dict[str, Any] | None = None) -> None:
    """Close a run without new counts: a failed pull, a live session that ended."""
    values: dict[str, Any] = {"status": status, "finished_at": utcnow(), "error": stored(error)}
    if seconds is not None:
        values["seconds"] = seconds
    if details is not None:
        values["details"] = details
    conn.execute(update(IngestRun).where(IngestRun.id == run_id).values(**values))


def note(conn: Connection, run_id: int, details: dict[str, Any]) -> None:
    """New details for a finished run (what happened after its commit: a clock set, a log cleared)."""
    conn.execute(update(IngestRun).where(IngestRun.id == run_id).values(details=details))


def record(conn: Connection, device_id: int, source: str, kind: str, punches: list[Punch],
           details: dict[str, Any] | None = None, status: str = "ok", error: str | None = None) -> IngestResult:
    """A whole batch in the caller's transaction: run opened, punches stored, run finished."""
    started = utcnow()
    run_id = open_run(conn, device_id, source, kind, details, started)
    result = ingest_punches(conn, punches, run_id)
    finish_run(conn, run_id, result, started, status=status, error=error, details=details)
    return result
