"""Soak at accelerated time: 30 simulated days, one day every loop. Each day the terminals
record that day's punches, the scheduler's incremental pull job and the day's reconcile run,
and faults happen on the way: a terminal off for three days, the hub SIGKILLed in the middle
of a pull, a terminal whose log is cleared at the terminal, a clock set wrong and fixed by
the clock-check job. At the end the store equals the ground truth and the recap equals the
one computed from the ground truth alone."""

from __future__ import annotations

import signal
import time
from collections import defaultdict
from datetime import date, timedelta

from sqlalchemy.orm import Session

from hub.fleet.seed import register
from hub.protocols import zk
from hub.reconcile.daily import reconcile_period
from hub.scheduler import jobs
from hub.simulator import groundtruth
from hub.simulator.population import PopulationSpec, generate, user_name
from hub.simulator.zk.server import start_in_thread
from hub.simulator.zk.terminal import Terminal
from tests.proc_helpers import hub_env, start_hub
from tests.soak_helpers import assert_recap_equals_truth, truth_identities, zk_store_punches

DAYS = 30
START = date(2026, 6, 1)


def test_thirty_accelerated_days(settings, engine, tmp_path) -> None:
    settings.scheduler.quiet_windows = ""
    settings.pull.timeout_s, settings.pull.retries, settings.pull.auto_sync_time = 2.0, 1, False
    pop = generate(PopulationSpec(devices=5, employees=120, days=DAYS, start=START, seed=11,
                                  profile_mix=(("tft", 60.0), ("mono", 20.0), ("face", 20.0))))
    users = pop.users_by_terminal()
    terms, servers, uids = {}, {}, {}
    for t in pop.terminals:
        term = Terminal.create(tmp_path / f"{t.serial}.db", t.profile, serial=t.serial, comm_key=t.comm_key,
                               clock_offset_s=t.clock_offset_s, tz=t.tz)
        people = [(uid, e.pin, user_name(e, t.profile)) for uid, e in enumerate(users[t.index], 1)]
        term.set_users(zk.User(uid, pin, name) for uid, pin, name in people)
        uids[t.index] = {pin: uid for uid, pin, _ in people}
        terms[t.index], servers[t.index] = term, start_in_thread(term)
    roster = groundtruth.roster_dict(pop, {t.serial: ("127.0.0.1", servers[t.index].port)
                                           for t in pop.terminals})
    with Session(engine) as s, s.begin():
        register(s, roster)
    by_day: dict[date, list] = defaultdict(list)
    for p in pop.punches:  # the day it really happened, in the terminal's zone (all WIB here)
        by_day[(p.true_utc + timedelta(hours=7)).date()].append(p)
    off = pop.terminals[0]
    cleared = pop.terminals[1]
    truth: list[tuple] = []
    for n in range(DAYS):
        day = START + timedelta(days=n)
        for p in by_day.get(day, []):
            t = pop.terminals[p.terminal]
            terms[p.terminal].bulk_punch([zk.AttRecord(uids[p.terminal][p.pin], p.pin, zk.encode_time(p.local),
                                                       p.state, p.verify)])
            truth.append((t.serial, p.pin, p.local, p.state, p.verify))
        if n == 5:  # a terminal goes off for three days
            servers[off.index].stop()
        if n == 8:  # ... and comes back on the same port, its log intact
            servers[off.index] = start_in_thread(terms[off.index], port=int(roster["terminals"][0]["port"]))
        if n == 12:  # the hub is killed in the middle of a pull
            proc = start_hub(["pull", "--full"], hub_env(settings), tmp_path / "pull.log")
            time.sleep(1.0)
            proc.send_signal(signal.SIGKILL)
            proc.wait(30)
        out = jobs.pull_incremental()
        assert out["status"] == "ok", out
        if 5 <= n < 8:
            assert off.serial in out["failed"], out
        else:
            assert not out["failed"], out
        if n == 17:  # someone clears the log at the terminal after the day's pull
            terms[cleared.index].clear_attendance()
        if n == 22:  # a clock set an hour wrong is found and fixed by the clock check
            terms[2].set_time(terms[2].now() + timedelta(hours=1))
            checked = jobs.clock_check()
            assert pop.terminals[2].serial in checked["synced"], checked
        reconcile_period(engine, day, day, actor="scheduler")
    stored = zk_store_punches(engine)
    assert len(stored) == len(set(stored)), "a punch is stored twice"
    expected = truth_identities(truth)
    assert set(stored) == expected, f"lost {len(expected - set(stored))}, extra {len(set(stored) - expected)}"
    for srv in servers.values():
        srv.stop()
    assert_recap_equals_truth(engine, roster, truth, START, DAYS, tmp_path)
