"""Job history: what the scheduler ran (pulls, clock checks, roster sync, reconcile, recap)
and the work people asked of single terminals, each with its outcome in words; failures
first to find with one filter."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hub.i18n import tr
from hub.messages import render as render_msg
from hub.messages import say
from hub.store.models import Device, DeviceRequest, JobRun
from hub.web import scope
from hub.web.auth import Principal
from hub.web.deps import DB, api_principal, lang_of, page_principal, render
from hub.web.devices import TaskOut, task_rows

pages = APIRouter(include_in_schema=False)
api = APIRouter(prefix="/api", tags=["api"])
PER_PAGE = 50
JOBS = ("pull_incremental", "pull_full", "clock_check", "roster_sync", "reconcile", "monthly_recap", "punch_photos")
FAILED = ("error", "partial")


def outcome(job: str, status: str, detail: dict[str, Any], lang: str) -> str:
    """A job run's outcome as a sentence in `lang`."""
    d = detail or {}
    if d.get("error"):
        return say("job.failed", lang, detail=render_msg(str(d["error"]), lang))
    if status == "skipped":
        return say("job.skipped_quiet", lang) if d.get("reason") == "quiet window" else str(d.get("reason") or "")
    if job in ("pull_incremental", "pull_full") and "terminals" in d:
        failed = d.get("failed") or {}
        text = say("job.pulled", lang, terminals=d.get("terminals", 0), new=d.get("new", 0),
                   duplicate=d.get("duplicate", 0), unchanged=d.get("unchanged", 0), failed=len(failed))
        return text + (f" ({', '.join(sorted(failed))})" if failed else "")
    if job == "clock_check" and "checked" in d:
        failed = d.get("failed") or {}
        text = say("job.clocks", lang, checked=d.get("checked", 0), synced=len(d.get("synced") or []),
                   failed=len(failed))
        return text + (f" ({', '.join(sorted(failed))})" if failed else "")
    if job == "roster_sync" and "terminals" in d:
        failed = d.get("failed_terminals") or []
        return say("job.synced", lang, terminals=d.get("terminals", 0), sent=d.get("sent", 0),
                   mismatch=d.get("mismatch", 0), failed=len(failed)) + (f" ({', '.join(failed)})" if failed else "")
    if job in ("reconcile", "monthly_recap") and "days" in d:
        return say("job.reconciled", lang, start=d.get("start", ""), end=d.get("end", ""),
                   employees=d.get("employees", 0), days=d.get("days", 0), locked=d.get("skipped_locked", 0))
    return "; ".join(f"{k}: {v}" for k, v in d.items() if k != "trace")[:300]


def runs(session: Session, job: str | None, failed: bool, page: int, lang: str) -> tuple[list[dict[str, Any]], int]:
    q = select(JobRun)
    if job:
        q = q.where(JobRun.job == job)
    if failed:
        q = q.where(JobRun.status.in_(FAILED))
    total = session.scalar(select(func.count()).select_from(q.subquery())) or 0
    rows = [{"id": r.id, "job": r.job, "started_at": r.started_at, "finished_at": r.finished_at, "status": r.status,
             "host": r.host, "outcome": outcome(r.job, r.status, r.detail or {}, lang),
             "seconds": (r.finished_at - r.started_at).total_seconds() if r.finished_at else None}
            for r in session.scalars(q.order_by(JobRun.started_at.desc(), JobRun.id.desc())
                                     .offset((page - 1) * PER_PAGE).limit(PER_PAGE))]
    return rows, total


def _tasks(session: Session, who: Principal, failed: bool, lang: str) -> list[dict[str, Any]]:
    rows = task_rows(session, limit=200, failed=failed, lang=lang)
    if who.scope is None:
        return rows[:PER_PAGE]
    sites = dict(session.execute(select(Device.serial, Device.site_id)).all())
    return [r for r in rows if who.sees(sites.get(r["serial"]))][:PER_PAGE]


@pages.get("/jobs")
def jobs_page(request: Request, job: str = "", failed: str = "", page: int = Query(1, ge=1, le=100000),
              who: Principal = Depends(page_principal("fleet.read")), session: Session = DB) -> Response:
    lang = lang_of(request)
    job = job if job in JOBS else ""
    rows, total = runs(session, job or None, failed == "1", page, lang)
    qs = f"job={job}&failed={'1' if failed == '1' else ''}"
    return render(request, "jobs.html", rows=rows, total=total, page=page, per_page=PER_PAGE, qs=qs, job=job,
                  jobs=JOBS, failed=failed == "1", tasks=_tasks(session, who, failed == "1", lang))


class JobRunOut(BaseModel):
    id: int
    job: str
    started_at: datetime
    finished_at: datetime | None
    status: str
    host: str
    outcome: str
    seconds: float | None


class JobPage(BaseModel):
    total: int
    page: int
    runs: list[JobRunOut]


@api.get("/jobs", response_model=JobPage)
def api_jobs(request: Request, job: str | None = Query(None, max_length=64), failed: bool = Query(False),
             page: int = Query(1, ge=1, le=100000), who: Principal = Depends(api_principal("fleet.read")),
             session: Session = DB) -> dict:
    rows, total = runs(session, job, failed, page, lang_of(request))
    return {"total": total, "page": page, "runs": rows}


@api.get("/tasks/{task_id}", response_model=TaskOut)
def api_task(request: Request, task_id: int, who: Principal = Depends(api_principal("fleet.read")),
             session: Session = DB) -> dict:
    """One terminal task: queued, running, then done with the terminal's answer."""
    req = session.get(DeviceRequest, task_id) if 0 < task_id < 2**63 else None
    if req is not None:
        scope.device(who, session.get(Device, req.device_id))
        found = task_rows(session, req.device_id, limit=1, offset=0, lang=lang_of(request), only=task_id)
        if found:
            return found[0]
    raise HTTPException(404, tr(f"tugas {task_id} tidak ditemukan", "task not found"))
