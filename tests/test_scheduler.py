"""Scheduler: quiet windows, job run records, jobs kept in the database."""

from __future__ import annotations

from datetime import time

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from hub.scheduler import jobs
from hub.scheduler.service import build_scheduler
from hub.store.models import JobRun
from hub.times import WindowError, in_windows, parse_windows


def test_windows_parse_and_match() -> None:
    w = parse_windows("07:00-08:00, 22:00-02:00")
    assert in_windows(time(7, 30), w) and not in_windows(time(8, 0), w)
    assert in_windows(time(23, 0), w) and in_windows(time(1, 59), w)
    assert not in_windows(time(12, 0), w)
    for bad in ("7-8", "25:00-26:00", "07:00-08:61", "pagi"):
        with pytest.raises(WindowError):
            parse_windows(bad)


@given(st.text(max_size=40))
def test_window_parser_never_crashes(spec: str) -> None:
    try:
        parse_windows(spec)
    except WindowError as exc:
        assert "HH:MM" in str(exc) or "di luar" in str(exc)


def test_record_run_keeps_outcomes(settings, engine) -> None:
    assert jobs.record_run("demo_ok", lambda: {"n": 3})["status"] == "ok"
    assert jobs.record_run("demo_skip", lambda: {"_status": "skipped"})["status"] == "skipped"
    out = jobs.record_run("demo_err", lambda: 1 / 0)
    assert out["status"] == "error" and "ZeroDivisionError" in out["error"]
    with Session(engine) as s:
        rows = {r.job: r for r in s.scalars(select(JobRun))}
    assert rows["demo_ok"].detail == {"n": 3} and rows["demo_ok"].finished_at
    assert rows["demo_skip"].status == "skipped"
    assert rows["demo_err"].status == "error"


def test_incremental_pull_skipped_in_quiet_window(settings, engine, monkeypatch) -> None:
    settings.scheduler.quiet_windows = "00:00-12:00,12:00-00:00"  # the whole day, every second
    out = jobs.pull_incremental()
    assert out["status"] == "skipped" and out["reason"] == "quiet window"


def test_jobs_are_kept_in_the_database(settings, engine) -> None:
    sched = build_scheduler(settings)
    sched.start(paused=True)
    try:
        assert {j.id for j in sched.get_jobs()} == set(jobs.JOBS)
    finally:
        sched.shutdown(wait=False)
    with engine.connect() as conn:
        stored = conn.execute(text("SELECT id FROM apscheduler_jobs")).scalars().all()
    assert set(stored) == set(jobs.JOBS)
    # A second process building the scheduler replaces, not duplicates, the jobs.
    sched = build_scheduler(settings)
    sched.start(paused=True)
    sched.shutdown(wait=False)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM apscheduler_jobs")).scalar() == len(jobs.JOBS)


def test_job_runs_are_visible_in_the_cli(settings, engine) -> None:
    from typer.testing import CliRunner

    from hub.cli.main import app

    jobs.record_run("reconcile", lambda: {"days": 12})
    jobs.record_run("pull_full", lambda: 1 / 0)
    out = CliRunner().invoke(app, ["jobs", "--format", "csv"]).output
    lines = out.strip().splitlines()
    assert lines[0].startswith("id,job,started_at") and len(lines) == 3
    assert "pull_full" in lines[1] and "error" in lines[1] and "ZeroDivisionError" in lines[1]
    assert "reconcile" in lines[2] and "days=12" in lines[2]
