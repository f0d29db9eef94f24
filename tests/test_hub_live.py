"""`hub run` holds one live session per ZK terminal: punches reach the store within
seconds, and other work on a terminal goes through that session instead of a second one.

The terminals are the project's simulator over real sockets with the captured framing and
the one-session-at-a-time behaviour of real units (a second CONNECT displaces the first);
the hub is a real `hub run` process.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from datetime import datetime

import httpx
from sqlalchemy.orm import Session

from hub.web.auth import add_user, new_api_token
from tests.proc_helpers import ROOT, free_port, hub_env, start_hub, stop, wait_http
from tests.zk_fixtures import assert_store_matches, make_terminal, stored

__all__ = ["make_terminal"]  # a fixture

PROFILES = ["tft"] * 6 + ["face"] * 2 + ["mono"] * 2  # 8 over TCP, 2 over UDP


def _until(cond, timeout: float, what: str, step: float = 0.02) -> float:
    t0 = time.monotonic()
    while not cond():
        assert time.monotonic() - t0 < timeout, f"{what} within {timeout} s"
        time.sleep(step)
    return time.monotonic() - t0


def _listening(sim) -> bool:
    return any(c.session.reg_mask and not c.link.dead for c in list(sim.server.server.clients))


def test_hub_run_live_punches_within_5_s_and_a_pull_shares_the_session(settings, engine, make_terminal,
                                                                        tmp_path) -> None:
    sims = [make_terminal(p, users=20, records=30) for p in PROFILES]
    with Session(engine) as s:
        token = new_api_token(s, add_user(s, "it-live", "rahasia-12345", "it"), "tests")
        s.commit()
    port = free_port()
    log = tmp_path / "hub.log"
    env = hub_env(settings, HUB_SCHEDULER_LEADER_POLL_S="0.3", HUB_SCHEDULER_PULL_EVERY_MIN="60",
                  HUB_SCHEDULER_QUIET_WINDOWS="", HUB_PULL_TIMEOUT_S="5")
    proc = start_hub(["run", "--port", str(port), "--no-mqtt"], env, log)
    try:
        wait_http(f"http://127.0.0.1:{port}/healthz", proc=proc)
        for sim in sims:
            _until(lambda sim=sim: _listening(sim), 30, f"{sim.serial} listened to")
        # on connecting, each listener read the log it had not seen: nothing is missing
        for sim in sims:
            _until(lambda sim=sim: len(stored(engine, sim.device_id)) == 30, 15, f"{sim.serial} caught up")
        sessions_before = {sim.serial: sim.server.server.connects for sim in sims}

        delays = []
        for n, sim in enumerate(sims):
            sim.terminal.punch("1001", state=n % 2, verify=15 if n % 3 else 1)
            delays.append(_until(lambda sim=sim: len(stored(engine, sim.device_id)) == 31, 5,
                                 f"a punch at {sim.serial} stored"))
        assert max(delays) < 5

        # a pull asked for during the live session goes through it: no new CONNECT, nothing doubled
        api = httpx.Client(base_url=f"http://127.0.0.1:{port}",
                           headers={"Authorization": f"Bearer {token}"}, timeout=30)
        for sim in sims[:3] + sims[-1:]:
            sim.terminal.punch("1002", state=1, verify=1)  # on its way live while the pull runs
            r = api.post(f"/api/devices/{sim.serial}/pull", params={"full": "true"})
            assert r.status_code == 200 and r.json()["ok"], r.text
            assert r.json()["mode"] == "full"
            _until(lambda sim=sim: len(stored(engine, sim.device_id)) == 32, 5, "the second punch stored")
        assert api.post("/api/devices/NOPE/pull").status_code == 404
        # `hub pull` and `hub device sync-time` typed in another shell meanwhile: the running hub
        # does them over its sessions (hub.tasks.requests), the shell shows the results
        for sim in sims[3:5]:
            sim.terminal.punch("1003", state=0, verify=1)
        cli = subprocess.run([sys.executable, "-m", "hub.cli.main", "pull", "--full"], env=env, cwd=ROOT,
                             capture_output=True, text=True, timeout=120)
        assert cli.returncode == 0, cli.stdout + cli.stderr
        assert "`hub run`" in cli.stdout and all(sim.serial in cli.stdout for sim in sims), cli.stdout
        cli = subprocess.run([sys.executable, "-m", "hub.cli.main", "device", "sync-time"], env=env, cwd=ROOT,
                             capture_output=True, text=True, timeout=120)
        assert cli.returncode == 0 and cli.stdout.count("clock set") + cli.stdout.count("jam disetel") == 10, \
            cli.stdout + cli.stderr
        for sim in sims:
            assert sim.server.server.connects == sessions_before[sim.serial], sim.serial
            assert sim.server.server.displaced == 0
            assert_store_matches(engine, sim)
        health = httpx.get(f"http://127.0.0.1:{port}/healthz").json()
        assert health["live"]["terminals"] == 10 and health["live"]["connected"] == 10
    finally:
        code = stop(proc, signal.SIGTERM)
    assert code == 0, log.read_text()[-3000:]
    # the hub said goodbye: no session is left listening
    for sim in sims:
        _until(lambda sim=sim: not _listening(sim), 5, f"{sim.serial} released")


def test_a_lost_live_session_reconnects_and_stores_what_happened_meanwhile(engine, make_terminal) -> None:
    from hub.adapters.zk.coordinator import load_targets
    from hub.adapters.zk.live import LiveListener
    from hub.adapters.zk.sessions import SessionManager
    from hub.simulator.zk.server import start_in_thread
    from tests.zk_fixtures import fast_settings

    sim = make_terminal("tft", records=10)
    [target] = load_targets(engine)
    li = LiveListener(engine, target, fast_settings(), reconnect_s=0.2, sessions=SessionManager(),
                      backoff_max_s=0.8)
    li.start()
    try:
        assert li.connected.wait(10)
        _until(lambda: len(stored(engine, sim.device_id)) == 10, 5, "caught up")
        port = sim.server.port
        sim.server.stop()
        _until(lambda: not li.connected.is_set(), 5, "the listener noticed")
        # punches while no session listens: the terminal keeps them in its log
        sim.terminal.bulk_punch([("1003", datetime(2026, 11, 30, 7, 1), 0, 1),
                                 ("1004", datetime(2026, 11, 30, 7, 2), 0, 1)])
        # failed reconnects: the wait doubles up to its cap
        _until(lambda: li.backoff_s == 0.8, 10, "backoff at its cap")
        assert len(li.errors) >= 3
        back = start_in_thread(sim.terminal, port=port)
        try:
            assert li.connected.wait(10)
            _until(lambda: len(stored(engine, sim.device_id)) == 12, 5, "the gap closed by the tail read")
            assert li.caught_up >= 2
            sim.terminal.punch("1005", state=1, verify=1)
            _until(lambda: len(stored(engine, sim.device_id)) == 13, 5, "live again")
        finally:
            back.stop()
    finally:
        li.stop()
    rows = stored(engine, sim.device_id)
    assert len(rows) == len(set(rows)) == 13
