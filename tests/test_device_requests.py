"""Work asked of the running hub by another process (hub.tasks.requests): the leader's
worker does it over the sessions it holds; a request nobody takes is cancelled so the
asker can do the work itself."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.adapters.zk.sessions import SESSIONS
from hub.store.models import DeviceRequest
from hub.tasks.requests import RequestWorker, leader_running, submit, wait
from tests.zk_fixtures import make_terminal

__all__ = ["make_terminal"]
pytestmark = pytest.mark.timeout(120)


def test_the_worker_pulls_syncs_and_harvests_for_another_process(settings, engine, make_terminal):
    a, b = make_terminal("tft", records=30), make_terminal("mono", records=12)
    worker = RequestWorker(engine, settings, poll_s=0.05)
    worker.start()
    try:
        # the same terminal twice in one request set is pulled once; both requests get the result
        ids = submit(engine, [a.device_id, b.device_id, a.device_id], "pull", "cli:test", full=True)
        seen = []
        results = wait(engine, ids, on_done=seen.append)
        assert [(r["serial"], r["new"], r["error"]) for r in results] == \
            [(a.serial, 30, None), (b.serial, 12, None), (a.serial, 30, None)]
        assert len(seen) == 3
        assert a.server.server.connects == 1 and b.server.server.connects == 1  # one pull each
        [clock] = wait(engine, submit(engine, [b.device_id], "sync_time", "cli:test"))
        assert clock["error"] is None and clock["synced"]
        [harvest] = wait(engine, submit(engine, [a.device_id], "harvest", "cli:test"))
        assert harvest["error"] is None and harvest["users"] == 50
    finally:
        worker.stop()
    assert SESSIONS.line(a.device_id).held is None


def test_a_request_nobody_takes_is_cancelled(settings, engine, make_terminal):
    a = make_terminal("tft", records=3)
    assert not leader_running(settings)  # no `hub run` here: the CLI pulls itself
    ids = submit(engine, [a.device_id], "pull", "cli:test")
    assert wait(engine, ids, pickup_s=0.3) is None
    with Session(engine) as s:
        assert s.scalar(select(DeviceRequest.status).where(DeviceRequest.id == ids[0])) == "cancelled"
    worker = RequestWorker(engine, settings, poll_s=0.05)
    worker.start()  # a worker that starts later leaves cancelled requests alone
    try:
        assert worker._one() is False and a.server.server.connects == 0
    finally:
        worker.stop()


def test_unknown_actions_are_refused(engine):
    with pytest.raises(ValueError, match="unknown action"):
        submit(engine, [1], "reboot", "cli:test")


def test_the_worker_pushes_a_roster_for_the_cli(settings, engine, tmp_path):
    from datetime import date

    from hub.roster.pins import allocate
    from tests.roster_fixtures import device, employee, sim_terminal, site

    with sim_terminal(tmp_path / "r.sqlite", "tft", serial="ROSTER1") as (term, srv), Session(engine) as s:
        office = site(s, "KEC-R", kind="kecamatan")
        dev = device(s, "ROSTER1", office, port=srv.port)
        e = employee(s, office, name="Nyoman Sari")
        s.commit()
        pin = allocate(s, [e.id])[e.id]
        s.commit()
        worker = RequestWorker(engine, settings, poll_s=0.05)
        worker.start()
        try:
            [res] = wait(engine, submit(engine, [dev.id], "sync", "cli:test",
                                        params={"day": date(2026, 3, 13).isoformat(), "allow_removals": None}))
        finally:
            worker.stop()
        assert (res["status"], res["error"], res["serial"]) == ("ok", None, "ROSTER1")
        assert res["sent"]["users_sent"] == 1 and term.user_by_id(pin).name == "Nyoman Sari"
