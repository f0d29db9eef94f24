"""Whatever fails during a pull, the store ends equal to the terminal's log: no punch
missing, none doubled (issue 4, item 8). Real sockets, real databases, a real SIGKILL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from hub.adapters.zk.coordinator import Puller, load_targets
from hub.protocols import zk
from hub.punch import PunchFlag
from hub.simulator.zk.server import start_in_thread
from hub.store.db import make_engine
from hub.store.models import Device, IngestRun, RawPunch
from tests.zk_fixtures import assert_store_matches, fast_settings, ground_truth, make_terminal

__all__ = ["make_terminal"]
pytestmark = pytest.mark.timeout(120)
ROOT = Path(__file__).resolve().parent.parent


def _pull(engine, **kw):
    return Puller(engine, fast_settings(**kw)).pull_many(load_targets(engine))


def test_connection_dropped_mid_transfer_is_retried(engine, make_terminal):
    sim = make_terminal("tft", records=3000)  # ~120 kB log
    sim.faults.drop_after_bytes = 40_000
    healed = []

    def backoff(_s: float) -> None:  # the network comes back while we wait
        sim.faults.clear()
        healed.append(_s)

    [res] = Puller(engine, fast_settings(), sleep=backoff).pull_many(load_targets(engine))
    assert res.error is None and res.attempts == 2 and healed
    assert (res.seen, res.new) == (3000, 3000)
    assert_store_matches(engine, sim)


def test_drop_on_every_attempt_reports_and_next_pull_completes(engine, make_terminal):
    sim = make_terminal("tft", records=3000)
    sim.faults.drop_after_bytes = 40_000
    [res] = Puller(engine, fast_settings(retries=1), sleep=lambda s: None).pull_many(
        load_targets(engine))
    assert res.error and res.attempts == 2
    with Session(engine) as s:
        assert s.scalars(select(RawPunch.id)).first() is None  # nothing half-stored
        run = s.scalars(select(IngestRun)).one()
        assert run.status == "error" and run.error
    sim.faults.clear()
    [again] = _pull(engine)
    assert again.error is None and again.new == 3000
    assert_store_matches(engine, sim)


def test_terminal_off_does_not_delay_the_others(engine, make_terminal):
    ok1, dead, slow, ok2 = (make_terminal("tft", records=100) for _ in range(4))
    dead.server.stop()
    slow.faults.slow_s = 5.0  # answers, but far slower than the 1 s timeout
    t0 = time.monotonic()
    results = {r.serial: r for r in _pull(engine, timeout_s=1.0, retries=1)}
    elapsed = time.monotonic() - t0
    assert results[ok1.serial].new == 100 and results[ok2.serial].new == 100
    assert results[dead.serial].error and results[slow.serial].error
    assert results[ok1.serial].seconds < 1.0 and results[ok2.serial].seconds < 1.0
    assert elapsed < 10, elapsed  # bounded by one terminal's timeouts, not their sum
    # the terminal comes back (on a new port) and the next pull completes the store
    slow.faults.clear()
    back = start_in_thread(dead.terminal)
    try:
        with Session(engine) as s, s.begin():
            s.execute(update(Device).where(Device.id == dead.device_id).values(port=back.port))
        results = {r.serial: r for r in _pull(engine)}
        assert results[dead.serial].new == 100 and results[slow.serial].new == 100
        assert results[ok1.serial].new == 0
        for sim in (ok1, dead, slow, ok2):
            assert_store_matches(engine, sim)
    finally:
        back.stop()


KILLED_PULL = textwrap.dedent("""
    import sys, time
    from hub.adapters.zk import coordinator
    from hub.config import PullSettings
    from hub.store.db import make_engine

    real = coordinator.ingest_punches

    def ingest_then_hang(conn, punches, run_id=None):
        result = real(conn, punches, run_id)
        print("WROTE", result.new, flush=True)  # rows written, transaction still open
        time.sleep(60)
        return result

    coordinator.ingest_punches = ingest_then_hang
    engine = make_engine(sys.argv[1])
    settings = PullSettings(concurrency=1, timeout_s=3, retries=0, auto_sync_time=False)
    coordinator.pull_fleet(engine, settings)
""")


def test_hub_killed_mid_write_loses_and_doubles_nothing(engine, settings, make_terminal):
    sim = make_terminal("tft", records=2000)
    proc = subprocess.Popen([sys.executable, "-c", KILLED_PULL, settings.database_url],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        assert line.startswith("WROTE 2000"), (line, proc.stderr.read() if proc.poll() else "")
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == -signal.SIGKILL
    with Session(engine) as s:
        assert s.scalars(select(RawPunch.id)).first() is None  # the open transaction died
        [run] = s.scalars(select(IngestRun)).all()
        assert run.status == "running"  # visible as an unfinished run
    fresh = make_engine(settings.database_url)
    try:
        [res] = _pull(fresh)
    finally:
        fresh.dispose()
    assert res.error is None and res.new == 2000
    assert_store_matches(engine, sim)
    [res2] = _pull(engine)
    assert res2.new == 0


def test_database_unavailable_then_back(engine, make_terminal):
    sim = make_terminal("tft", records=500)
    down = make_engine("postgresql+psycopg://postgres@127.0.0.1:1/test",
                       connect_args={"connect_timeout": 2})
    try:
        [res] = Puller(down, fast_settings()).pull_many(load_targets(engine))
    finally:
        down.dispose()
    assert res.error and ("basis data" in res.error or "database" in res.error)
    assert len(sim.terminal.attendance()) == 500  # terminal untouched
    truth = ground_truth(sim.terminal)
    # the clear policy is on and it is outside working hours: the log is cleared, but only
    # after every record was read back from the store
    [res] = _pull(engine, clear_after_pull=True, working_hours="00:00-00:00")
    assert res.error is None and res.new == 500 and res.cleared_terminal
    assert sim.terminal.attendance() == []
    assert_store_matches(engine, sim, extra=truth)
    [res] = _pull(engine)
    assert res.error is None and res.new == 0 and res.mode == "empty"


def test_clear_policy_never_clears_in_working_hours(engine, make_terminal):
    sim = make_terminal("tft", records=50)
    [res] = _pull(engine, clear_after_pull=True, working_hours="00:00-23:59")
    assert res.new == 50 and not res.cleared_terminal
    assert len(sim.terminal.attendance()) == 50


def test_unknown_pin_and_corrupt_date_are_kept_and_flagged(engine, make_terminal):
    sim = make_terminal("tft", records=20)
    bad_time = ((26 * 12 + 1) * 31 + 30) * 86400 + 8 * 3600  # 31 February 2026 08:00
    good_time = zk.encode_time(sim.terminal.now().replace(microsecond=0))
    sim.terminal.bulk_punch([zk.AttRecord(1, "1001", bad_time, 0, 1),
                             zk.AttRecord(0, "777777", good_time, 0, 15)])  # not enrolled
    [res] = _pull(engine)
    assert res.error is None and res.new == 22 and res.impossible_dates == 1
    assert_store_matches(engine, sim)
    with Session(engine) as s:
        bad = s.scalars(select(RawPunch).where(RawPunch.local_time < sim.terminal.now().replace(
            year=1999))).one()
        assert bad.flags & PunchFlag.OUT_OF_RANGE and "2026-02-31" in bad.raw["time_error"]
        unknown = s.scalars(select(RawPunch).where(RawPunch.pin == "777777")).one()
        assert unknown.flags & PunchFlag.UNKNOWN_PIN and unknown.employee_id is None
    [again] = _pull(engine)
    assert again.new == 0
    assert_store_matches(engine, sim)
