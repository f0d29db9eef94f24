"""Several `hub run` processes sharing a fleet (issue 22, item 5), on PostgreSQL: three
workers and 90 simulated ZK terminals; pulls are tasks of the PostgreSQL-backed queue, one
at a time per terminal; one worker is SIGKILLed in the middle of its pulls; its pulls are
taken up by the others within the lease, and the store ends with every punch exactly once
(the simulators' ground truth)."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, select, text
from sqlalchemy.orm import Session

from hub.cluster.queue import defer_pulls
from hub.config import Settings, set_settings
from hub.protocols.zk_codes import zk_state, zk_verify
from hub.simulator import groundtruth
from hub.store.db import make_engine, reset_engines
from hub.store.models import Device, RawPunch
from tests.proc_helpers import free_port, hub_env, start_hub, stop, wait_http

STALLED_AFTER_S = 4.0
RETRY_EVERY_S = 10  # hub.cluster.queue.retry_stalled's cron


@pytest.fixture
def pg_settings(pg_databases, pg_template, tmp_path):  # type: ignore[no-untyped-def]
    url = pg_databases.create(template=pg_template)
    from cryptography.fernet import Fernet

    s = Settings(database_url=url, var_dir=str(tmp_path / "var"), secret_key=Fernet.generate_key().decode())
    set_settings(s)
    yield s
    set_settings(None)
    reset_engines()
    pg_databases.drop(url.rsplit("/", 1)[1])


def _jobs(url: str) -> dict[str, int]:
    eng = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1) if "+psycopg" not in url else url)
    try:
        with eng.connect() as conn:
            return dict(conn.execute(text("SELECT status::text, count(*) FROM procrastinate_jobs "
                                          "WHERE task_name = 'pull_terminal' GROUP BY status")).all())
    finally:
        eng.dispose()


def _scalar(engine, sql: str, **params):  # type: ignore[no-untyped-def]
    with engine.connect() as conn:
        return conn.scalar(text(sql), params)


def _wait(what, timeout: float, step: float = 0.2):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while True:
        got = what()
        if got:
            return got
        assert time.monotonic() < deadline, f"timed out waiting ({timeout} s)"
        time.sleep(step)


def test_three_workers_one_killed_nothing_lost_or_doubled(pg_settings, tmp_path: Path) -> None:
    settings = pg_settings
    env = hub_env(settings)
    state = tmp_path / "fleet"
    faults = tmp_path / "faults.json"
    faults.write_text('{"*": {"latency_s": 0.1}}')  # slow answers: pulls are in flight when a worker dies
    fleet = start_hub(["simulate", "fleet", "--devices", "90", "--employees", "900", "--days", "3",
                       "--base-port", "0", "--state-dir", str(state), "--faults", str(faults), "--register"],
                      env, tmp_path / "fleet.log")
    workers: dict[str, object] = {}
    engine = make_engine(settings.database_url)
    try:
        _wait(lambda: fleet.poll() is not None or "Armada berjalan" in (tmp_path / "fleet.log").read_text(
            errors="replace"), 180, 0.5)
        assert fleet.poll() is None, (tmp_path / "fleet.log").read_text()
        assert _scalar(engine, "SELECT count(*) FROM devices") == 90
        cluster = {"HUB_CLUSTER_ENABLED": "true", "HUB_CLUSTER_CONCURRENCY": "4", "HUB_CLUSTER_HEARTBEAT_S": "1",
                   "HUB_CLUSTER_STALLED_AFTER_S": str(STALLED_AFTER_S), "HUB_SCHEDULER_ENABLED": "false",
                   "HUB_PULL_LIVE": "false"}
        d = defer_pulls(engine, settings, full=True)  # what the leader's pull job does in cluster mode
        assert (d.queued, d.already) == (90, 0)
        assert defer_pulls(engine, settings).already == 90  # asked again before any ran: not queued twice
        ids: dict[str, int] = {}
        ports: dict[str, int] = {}
        for n, name in enumerate(("w1", "w2", "w3"), 1):  # one at a time: each one's worker id is known
            port = ports[name] = free_port()
            workers[name] = start_hub(["run", "--port", str(port)],
                                      {**env, **cluster, "HUB_CLUSTER_WORKER_NAME": name}, tmp_path / f"{name}.log")
            wait_http(f"http://127.0.0.1:{port}/healthz", proc=workers[name])  # type: ignore[arg-type]
            _wait(lambda n=n: _scalar(engine, "SELECT count(*) FROM procrastinate_workers") >= n, 30)
            ids[name] = _scalar(engine, "SELECT max(id) FROM procrastinate_workers")

        # w2 dies (SIGKILL: no goodbye, no heartbeat) while it holds pulls
        held = _wait(lambda: list(_scalar_list(engine, "SELECT id FROM procrastinate_jobs WHERE status = 'doing' "
                                                        "AND worker_id = :w", w=ids["w2"])), 60, 0.02)
        killed_at = time.monotonic()
        workers["w2"].send_signal(signal.SIGKILL)  # type: ignore[attr-defined]
        workers["w2"].wait(10)  # type: ignore[attr-defined]
        # its pulls go back to the queue and are done by the others, within the lease
        _wait(lambda: _scalar(engine, "SELECT count(*) FROM procrastinate_jobs WHERE id = ANY(:ids) AND "
                                      "status = 'succeeded'", ids=held) == len(held), 120)
        taken_up = time.monotonic() - killed_at
        assert taken_up < STALLED_AFTER_S + RETRY_EVERY_S + 15, taken_up
        by = set(_scalar_list(engine, "SELECT DISTINCT worker_id FROM procrastinate_jobs WHERE id = ANY(:ids)",
                              ids=held))
        assert by and by <= {ids["w1"], ids["w3"]}, (by, ids)
        _wait(lambda: _jobs(settings.database_url) == {"succeeded": 90}, 180, 0.5)

        # the store is the ground truth, each punch once
        gt = groundtruth.read(state / "groundtruth")
        with Session(engine) as s:
            rows = s.execute(select(Device.serial, RawPunch.pin, RawPunch.local_time, RawPunch.state,
                                    RawPunch.verify).join(Device, Device.id == RawPunch.device_id)).all()
        stored = [tuple(r) for r in rows]
        assert len(stored) == len(set(stored)), "a punch is stored twice"
        assert set(stored) == {(p.serial, p.pin, p.local_time, str(zk_state(p.state)), str(zk_verify(p.verify)))
                               for p in gt.punches}
        # the next round finds nothing new anywhere, and the dead worker's share is done by the others
        defer_pulls(engine, settings)
        _wait(lambda: _jobs(settings.database_url).get("succeeded", 0) == 180, 120, 0.5)
        assert _scalar(engine, "SELECT count(*) FROM raw_punches") == len(stored)

        # the doctor sees the two processes still working on the queue
        from hub.service.doctor import _cluster

        settings.cluster.enabled, settings.cluster.stalled_after_s = True, STALLED_AFTER_S  # (as the workers run)
        [seen] = _cluster(settings)
        assert seen.status == "ok" and seen.found.startswith("2 "), seen

        # "pull now" asked of one worker's API is a task under the terminal's lock too
        from hub.web.auth import add_user, new_api_token

        with Session(engine) as s:
            token = new_api_token(s, add_user(s, "it-cluster", "Sandi-Kuat-2026!", "it"), "test")
            serial, device_id = s.execute(select(Device.serial, Device.id).order_by(Device.id)).first()
            s.commit()
        r = httpx.post(f"http://127.0.0.1:{ports['w3']}/api/devices/{serial}/pull", timeout=120,
                       headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 200 and r.json()["ok"] and r.json()["mode"] == "unchanged", r.text
        assert _scalar(engine, "SELECT count(*) FROM procrastinate_jobs WHERE task_name = 'terminal_request' AND "
                               "lock = :lock AND status = 'succeeded'", lock=f"terminal:{device_id}") == 1
    finally:
        for proc in workers.values():
            stop(proc, signal.SIGTERM)  # type: ignore[arg-type]
        stop(fleet, signal.SIGTERM)
        engine.dispose()


def _scalar_list(engine, sql: str, **params) -> list:  # type: ignore[no-untyped-def]
    with engine.connect() as conn:
        return list(conn.scalars(text(sql), params))


def test_stalled_jobs_are_looked_for_every_ten_seconds_all_hour() -> None:
    """The lease holds at any minute: the retry round comes every 10 s, every minute (a cron
    with the seconds in the wrong field ran only in minutes :00, :10, ...)."""
    from datetime import datetime

    import croniter

    from hub.cluster.queue import app

    [task] = [p for p in app.periodic_registry.periodic_tasks.values() if p.periodic_id == "retry_stalled"]
    for start in (datetime(2026, 12, 6, 5, 31, 3), datetime(2026, 12, 6, 5, 40, 55)):
        it = croniter.croniter(task.cron, start)
        times = [it.get_next(datetime) for _ in range(12)]
        gaps = {(b - a).total_seconds() for a, b in zip([start, *times], times, strict=False)}
        assert max(gaps) <= 10 and (times[0] - start).total_seconds() <= 10, (start, times)
