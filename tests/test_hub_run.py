"""`hub run` as a real process: health, metrics, clean SIGTERM, one scheduler at a time."""

from __future__ import annotations

import signal
import time
from datetime import datetime, timedelta

import httpx
from sqlalchemy.orm import Session

from tests.proc_helpers import free_port, hub_env, start_hub, stop, wait_http
from tests.store_helpers import make_device


def _env(settings, **extra):
    return hub_env(settings, HUB_SCHEDULER_LEADER_POLL_S="0.3", HUB_SCHEDULER_PULL_EVERY_MIN="60",
                   HUB_SCHEDULER_QUIET_WINDOWS="", **extra)


def test_run_serves_health_and_metrics_and_stops_cleanly(settings, engine, tmp_path) -> None:
    with Session(engine) as s:
        d = make_device(s, "SN-RUN")
        d.last_seen_at = datetime.utcnow() - timedelta(seconds=90)
        d.last_clock_offset_s = 42.0
        s.commit()
    port = free_port()
    log = tmp_path / "hub.log"
    proc = start_hub(["run", "--port", str(port), "--no-mqtt"], _env(settings), log)
    try:
        r = wait_http(f"http://127.0.0.1:{port}/healthz", proc=proc)
        assert r.status_code == 200 and r.json()["database"] == "ok"
        deadline = time.monotonic() + 20
        while httpx.get(f"http://127.0.0.1:{port}/healthz").json()["scheduler"] != "leader":
            assert time.monotonic() < deadline, "the only hub process never became the scheduler"
            time.sleep(0.2)
        metrics = httpx.get(f"http://127.0.0.1:{port}/metrics").text
        assert 'hub_terminal_clock_offset_seconds{serial="SN-RUN"} 42.0' in metrics
        lag = [ln for ln in metrics.splitlines() if ln.startswith("hub_terminal_lag_seconds{")]
        assert lag and 80 < float(lag[0].split()[-1]) < 600
    finally:
        code = stop(proc, signal.SIGTERM)
    assert code == 0, log.read_text()
    assert "berhenti dengan bersih" in log.read_text()


def _leader_of(ports: list[int]) -> list[int]:
    out = []
    for p in ports:
        try:
            if httpx.get(f"http://127.0.0.1:{p}/healthz", timeout=2).json()["scheduler"] == "leader":
                out.append(p)
        except httpx.HTTPError:
            pass
    return out


def test_only_one_process_schedules_and_another_takes_over(settings, engine, tmp_path) -> None:
    ports = [free_port(), free_port()]
    procs = {p: start_hub(["run", "--port", str(p), "--no-mqtt"], _env(settings),
                          tmp_path / f"hub{p}.log") for p in ports}
    try:
        for p, proc in procs.items():
            wait_http(f"http://127.0.0.1:{p}/healthz", proc=proc)
        deadline = time.monotonic() + 20
        while len(leaders := _leader_of(ports)) != 1:
            assert time.monotonic() < deadline, f"expected exactly one leader, got {leaders}"
            time.sleep(0.2)
        time.sleep(1.5)  # several lock polls later, still exactly one
        assert _leader_of(ports) == leaders
        first = leaders[0]
        procs[first].send_signal(signal.SIGKILL)
        procs[first].wait(10)
        other = next(p for p in ports if p != first)
        deadline = time.monotonic() + 30
        while _leader_of([other]) != [other]:
            assert time.monotonic() < deadline, "the surviving process did not take over"
            time.sleep(0.2)
    finally:
        for proc in procs.values():
            stop(proc)
