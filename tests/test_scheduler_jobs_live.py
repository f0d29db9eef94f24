"""The scheduled jobs doing their real work against simulated terminals over real sockets."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.scheduler import jobs
from hub.store.models import Device, JobRun
from tests.zk_fixtures import assert_store_matches, fill
from tests.zk_fixtures import make_terminal as make_terminal  # noqa: F401 (fixture)


def test_pull_jobs_store_every_punch_once(settings, engine, make_terminal) -> None:
    settings.scheduler.quiet_windows = ""
    settings.pull.timeout_s = 3.0
    a, b = make_terminal("tft", records=150), make_terminal("mono", records=80)
    out = jobs.pull_full()
    assert out["status"] == "ok" and out["new"] == 230 and out["terminals"] == 2, out
    fill(a.terminal, users=50, records=10, start=datetime(2026, 11, 5, 7, 0))
    out = jobs.pull_incremental()
    assert out["status"] == "ok" and out["new"] == 10 and out["unchanged"] == 1, out
    assert_store_matches(engine, a)
    assert_store_matches(engine, b)
    with Session(engine) as s:
        runs = [(r.job, r.status) for r in s.scalars(select(JobRun).order_by(JobRun.id))]
    assert runs == [("pull_full", "ok"), ("pull_incremental", "ok")]


def test_pull_job_reports_a_dead_terminal_and_goes_on(settings, engine, make_terminal) -> None:
    settings.pull.timeout_s = 1.0
    settings.pull.retries = 1
    alive, dead = make_terminal("tft", records=20), make_terminal("tft", records=20)
    dead.server.stop()
    out = jobs.pull_full()
    assert out["status"] == "ok" and out["new"] == 20
    assert list(out["failed"]) == [dead.serial]
    assert_store_matches(engine, alive)


def test_clock_check_sets_only_drifted_clocks(settings, engine, make_terminal) -> None:
    settings.pull.clock_tolerance_s = 120
    good = make_terminal("tft", records=0)
    drifted = make_terminal("tft", records=0, clock_offset_s=900)
    out = jobs.clock_check()
    assert out["status"] == "ok" and out["synced"] == [drifted.serial], out
    now = datetime.now(ZoneInfo("Asia/Jakarta")).replace(tzinfo=None)
    assert abs((drifted.terminal.now() - now).total_seconds()) < 10
    with Session(engine) as s:
        offsets = dict(s.execute(select(Device.serial, Device.last_clock_offset_s)).all())
    assert abs(offsets[drifted.serial]) < 10 and abs(offsets[good.serial]) < 10
