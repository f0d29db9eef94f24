"""hub jobs: what the scheduler ran, when, and how it ended."""

from __future__ import annotations

import typer
from sqlalchemy import select

from hub.cli.common import OutputFormat, emit, store
from hub.i18n import tr
from hub.store.models import JobRun


def jobs(job: str | None = typer.Option(None, "--job", help="mis. pull_incremental, reconcile"),
         limit: int = typer.Option(50, "--limit"),
         fmt: OutputFormat = typer.Option(OutputFormat.table, "--format")) -> None:
    """Riwayat tugas terjadwal (tarik data, cek jam, sinkron roster, rekonsiliasi, rekap)."""
    with store() as s:
        q = select(JobRun).order_by(JobRun.started_at.desc(), JobRun.id.desc()).limit(limit)
        if job:
            q = q.where(JobRun.job == job)
        rows = [{"id": r.id, "job": r.job, "started_at": r.started_at, "finished_at": r.finished_at,
                 "status": r.status, "host": r.host,
                 "detail": ", ".join(f"{k}={v}" for k, v in (r.detail or {}).items() if k != "trace")[:200]}
                for r in s.scalars(q)]
    emit(rows, ["id", "job", "started_at", "finished_at", "status", "host", "detail"], fmt,
         title=tr("Riwayat tugas terjadwal", "Scheduled job runs"))
