"""A push terminal's roster is what it confirmed (issue 21 item 7), over real HTTP: the hub's
ADMS endpoints under uvicorn and the simulated terminal polling them. A face the terminal
refuses (Return=-1002) is not "in sync", is retried after a backoff with the terminal's
reason shown, and an expired command is planned again; nothing is queued twice meanwhile."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select, update
from sqlalchemy.orm import Session

from hub.push import service
from hub.push.models import DeviceCommand
from hub.secrets import encrypt
from hub.simulator.adms import AdmsTerminal
from hub.store.models import Template
from hub.sync.apply import apply_plans
from hub.sync.models import DeviceRosterTemplate, DeviceRosterUser
from hub.sync.plan import compute_plans, select_devices
from tests.push_fixtures import AdmsServer
from tests.roster_fixtures import device, employee, fake_fp, fingerprint, site

D = date(2026, 3, 2)
FACES = Path(os.environ.get("HUB_TEST_FACES", Path(__file__).resolve().parents[2] / "shared"
                            / "fixtures" / "faces"))
if not FACES.exists():
    FACES = Path("/work/shared/fixtures/faces")
JPEG = (FACES / "obama.jpg").read_bytes()


@pytest.fixture
def server(engine: Engine) -> Iterator[AdmsServer]:
    srv = AdmsServer(engine, resend_after=timedelta(seconds=1)).start()
    yield srv
    srv.stop()


def plan(engine: Engine):  # type: ignore[no-untyped-def]
    with Session(engine) as s:
        plans = compute_plans(s, select_devices(s), D)
        s.commit()
    return plans


def sync(engine: Engine):  # type: ignore[no-untyped-def]
    plans = plan(engine)
    return plans[0], apply_plans(engine, plans, "test")[0]


def confirmed(engine: Engine) -> tuple[int, set[tuple[str, str, int]]]:
    with engine.connect() as conn:
        users = conn.scalar(select(func.count()).select_from(DeviceRosterUser))
        tmpls = {(t.pin, t.kind, t.finger_index) for t in conn.execute(select(DeviceRosterTemplate))}
    return users, tmpls


def ops(engine: Engine) -> list[tuple[str, str]]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(select(DeviceCommand.op, DeviceCommand.status)
                                               .order_by(DeviceCommand.id))]


def poll(term: AdmsTerminal, times: int = 3) -> None:
    for _ in range(times):
        term.step()


def test_a_refused_face_is_not_in_sync_and_is_retried_after_a_backoff(engine: Engine, server: AdmsServer) -> None:
    with Session(engine) as s:
        office = site(s, "DISDIK")
        device(s, "ADMS-F", office, kind="adms")
        ani, budi = employee(s, office, name="Ani"), employee(s, office, name="Budi")
        fingerprint(s, budi, 1, fake_fp("budi-1"))
        s.add(Template(employee_id=ani.id, kind="face", finger_index=0, format="jpeg", blob_enc=encrypt(JPEG),
                       sha256=hashlib.sha256(JPEG).hexdigest(), size=len(JPEG)))
        s.commit()
    first, res = sync(engine)
    assert res.status == "ok" and res.sent["commands"] == 4  # two users, a finger, a face
    assert confirmed(engine) == (0, set())  # queued is not confirmed
    again, res2 = sync(engine)
    assert again.empty and again.waiting == 4 and res2.status == "unchanged"  # not queued twice
    assert [op for op, _ in ops(engine)][-1] == "users.list"  # then the terminal lists what it holds
    assert len(ops(engine)) == 5

    term = AdmsTerminal("ADMS-F", server.url, error_delay_s=0.05)
    term.state.max_face_b64 = 1000  # this unit cannot take the photo
    poll(term)
    assert sorted(op for op, st in ops(engine) if st == "done") == ["template.set", "user.upsert", "user.upsert",
                                                                    "users.list"]
    assert [(op, st) for op, st in ops(engine) if st != "done"] == [("face.set", "failed")]

    p = plan(engine)[0]
    users, tmpls = confirmed(engine)
    assert users == 2 and tmpls == {(p_, "fingerprint", 1) for p_ in [next(iter(tmpls))[0]]}
    assert p.empty and p.held == 1 and p.waiting == 0
    assert any("-1002" in n and "dicoba lagi" in n for n in p.notes), p.notes
    assert len(ops(engine)) == 5  # nothing queued during the backoff

    # the backoff passes (the failure is dated 11 minutes back) and the unit can now take it
    with engine.begin() as conn:
        conn.execute(update(DeviceCommand).where(DeviceCommand.status == "failed")
                     .values(done_at=datetime.utcnow() - timedelta(minutes=11)))
    term.state.max_face_b64 = None
    p, res = sync(engine)
    assert [t.kind for t in p.templates_add] == ["face"] and res.sent["commands"] == 1
    poll(term)
    assert ("face.set", "done") in ops(engine)
    p = plan(engine)[0]
    assert p.empty and not p.held and not p.waiting
    assert ("face" in {k for _, k, _ in confirmed(engine)[1]})
    assert len(term.state.faces) == 1 and len(term.state.users) == 2
    term.close()


def test_a_second_failure_doubles_the_wait(engine: Engine) -> None:
    from hub.sync import confirm

    with Session(engine) as s:
        office = site(s, "DINKES")
        dev = device(s, "MQTT-F", office, kind="mqtt")
        employee(s, office, name="Citra")
        s.commit()
        dev_id = dev.id
    for n in (1, 2):
        sync(engine)
        with engine.begin() as conn:
            for cmd in service.take_due(conn, dev_id):
                service.record_result(conn, dev_id, cmd.id, False, {"status": "failed", "code": -1001})
        with Session(engine) as s:
            confirm.absorb(s, [dev_id])
            held = confirm.held(s, [dev_id])[dev_id]
            s.commit()
        (h,) = held.values()
        assert h.failures == n and "penuh" in h.reason
        wait = h.until - datetime.utcnow()
        assert timedelta(minutes=10 * 2 ** (n - 1) - 1) < wait <= timedelta(minutes=10 * 2 ** (n - 1))
        with engine.begin() as conn:  # let the wait pass
            conn.execute(update(DeviceCommand).values(done_at=datetime.utcnow() - timedelta(hours=2)))
    # and a success clears the count
    sync(engine)
    with engine.begin() as conn:
        for cmd in service.take_due(conn, dev_id):
            service.record_result(conn, dev_id, cmd.id, True, {"status": "done"})
    p = plan(engine)[0]
    assert p.empty and not p.held and confirmed(engine)[0] == 1


def test_an_expired_command_is_planned_again(engine: Engine, server: AdmsServer) -> None:
    with Session(engine) as s:
        office = site(s, "BAPPEDA")
        device(s, "ADMS-X", office, kind="adms")
        employee(s, office, name="Dedi")
        s.commit()
    sync(engine)
    with engine.begin() as conn:  # the terminal was off for more than a day
        conn.execute(update(DeviceCommand).values(expires_at=datetime.utcnow() - timedelta(minutes=1)))
    term = AdmsTerminal("ADMS-X", server.url, error_delay_s=0.05)
    poll(term, 1)  # it comes back: the hub marks the command expired instead of sending it
    assert ops(engine) == [("user.upsert", "expired"), ("users.list", "expired")] and not term.state.users
    p = plan(engine)[0]
    assert p.held == 1 and any("kedaluwarsa" in n for n in p.notes)
    with engine.begin() as conn:
        conn.execute(update(DeviceCommand).values(done_at=datetime.utcnow() - timedelta(minutes=11)))
    p, res = sync(engine)
    assert len(p.users_add) == 1 and res.sent["commands"] == 1
    poll(term)
    assert plan(engine)[0].empty and confirmed(engine)[0] == 1 and len(term.state.users) == 1
    term.close()


def test_a_change_of_mind_while_a_command_is_on_its_way(engine: Engine) -> None:
    with Session(engine) as s:
        office = site(s, "DPMPTSP")
        dev = device(s, "MQTT-M", office, kind="mqtt")  # ADMS has no template delete
        e = employee(s, office, name="Eka")
        t = fingerprint(s, e, 2, fake_fp("eka-2"))
        s.commit()
        dev_id = dev.id
        sync(engine)
        s.delete(s.get(Template, t.id))  # withdrawn before the terminal fetched it
        s.commit()
    p, _ = sync(engine)
    assert [(x.kind, x.finger_index) for x in p.templates_remove] == [("fingerprint", 2)]
    with engine.begin() as conn:
        for cmd in service.take_due(conn, dev_id):
            service.record_result(conn, dev_id, cmd.id, True, {"return": 0})
    p = plan(engine)[0]
    assert p.empty and not p.waiting and confirmed(engine) == (1, set())


def test_the_terminals_own_list_corrects_what_it_said(engine: Engine, server: AdmsServer) -> None:
    """A full unit answers "done" to a new user and keeps nothing: its list (DATA QUERY
    USERINFO, uploaded as OPERLOG USER lines) shows the user missing, so the next plan
    sends the user again instead of calling the terminal in sync."""
    with Session(engine) as s:
        office = site(s, "DISHUB")
        device(s, "ADMS-FULL", office, kind="adms")
        for name in ("Fajar", "Gita", "Hana"):
            employee(s, office, name=name)
        s.commit()
    term = AdmsTerminal("ADMS-FULL", server.url, error_delay_s=0.05)
    term.state.drop_users_beyond = 2
    p, res = sync(engine)
    assert len(p.users_add) == 3 and res.sent.get("readback") == 1
    poll(term)
    assert ("users.list", "done") in ops(engine) and len(term.state.users) == 2
    p = plan(engine)[0]
    assert confirmed(engine)[0] == 2  # the one it dropped is not counted as there
    assert len(p.users_add) == 1 and p.users_add[0].pin not in term.state.users
    term.state.drop_users_beyond = None  # room was made on the unit
    sync(engine)
    poll(term)
    assert plan(engine)[0].empty and confirmed(engine)[0] == 3 == len(term.state.users)
    term.close()
