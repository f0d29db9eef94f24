"""Pull ZK terminals into the store over real sockets (pyzk transport, simulator terminals)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.adapters.zk.coordinator import Puller, load_targets
from hub.punch import PunchFlag
from hub.store.models import Device, IngestRun, RawPunch
from tests.zk_fixtures import assert_store_matches, fast_settings, fill, make_terminal

__all__ = ["make_terminal"]


def _pull(engine, settings=None, full=False, device=None):
    p = Puller(engine, settings or fast_settings())
    return p.pull_many(load_targets(engine, device), full)


def test_fleet_pull_every_format_then_nothing_new(engine, make_terminal):
    sims = [make_terminal("tft", comm_key=4321), make_terminal("mono"), make_terminal("mono8"),
            make_terminal("face", records=0)]
    first = _pull(engine)
    assert [r.error for r in first] == [None] * 4
    assert sum(r.new for r in first) == 600
    for sim in sims:
        assert_store_matches(engine, sim)
    second = _pull(engine)
    assert sum(r.new for r in second) == 0
    assert {r.mode for r in second} == {"unchanged", "empty"}
    with Session(engine) as s:
        runs = s.scalars(select(IngestRun)).all()
        assert len(runs) == 8 and all(r.status == "ok" for r in runs)
        tft = s.scalar(select(Device).where(Device.serial == sims[0].serial))
        assert tft.capabilities["att_record_size"] == 40
        assert tft.capabilities["platform"] == "ZMM200_TFT"
        assert tft.last_record_count == 200
        face = s.scalar(select(Device).where(Device.serial == sims[3].serial))
        assert face.capabilities["face"] is True


def test_incremental_reads_only_the_new_tail(engine, make_terminal):
    sim = make_terminal("tft", records=100)
    _pull(engine)
    fill(sim.terminal, records=30, start=sim.terminal.now() - timedelta(hours=1))
    [res] = _pull(engine)
    assert (res.mode, res.seen, res.new) == ("tail", 30, 30)
    assert_store_matches(engine, sim)
    [full] = _pull(engine, full=True)
    assert (full.mode, full.seen, full.new, full.duplicate) == ("full", 130, 0, 130)


def test_log_cleared_between_pulls_is_reported_and_nothing_lost(engine, make_terminal):
    sim = make_terminal("mono", records=80)
    _pull(engine)
    before = set(ground_ids := [(r.user_id, r.time_raw) for r in sim.terminal.attendance()])
    assert len(before) == len(ground_ids)
    from tests.zk_fixtures import ground_truth

    old = ground_truth(sim.terminal)
    sim.terminal.clear_attendance()
    fill(sim.terminal, records=20, start=sim.terminal.now() - timedelta(minutes=30))
    [res] = _pull(engine)
    assert res.log_cleared and res.new == 20
    assert_store_matches(engine, sim, extra=old)
    with Session(engine) as s:
        run = s.scalars(select(IngestRun).order_by(IngestRun.id.desc())).first()
        assert run.details["log_cleared"] is True


def test_clock_drift_flags_punches_and_sync_fixes_the_clock(engine, make_terminal):
    sim = make_terminal("tft", records=10, clock_offset_s=-900)
    [res] = _pull(engine, fast_settings(auto_sync_time=True))
    assert res.clock_offset_s is not None and res.clock_offset_s < -800
    assert res.clock_synced
    with Session(engine) as s:
        flags = s.scalars(select(RawPunch.flags)).all()
        assert flags and all(f & PunchFlag.CLOCK_SUSPECT for f in flags)
        # the instant is not shifted: utc = local - 7 h for Asia/Jakarta
        p = s.scalars(select(RawPunch)).first()
        assert p.local_time - p.utc_time == timedelta(hours=7)
        dev = s.get(Device, sim.device_id)
        assert dev.last_clock_offset_s < -800
    fill(sim.terminal, records=5, start=sim.terminal.now() - timedelta(minutes=10))
    [again] = _pull(engine)
    assert abs(again.clock_offset_s) < 5 and again.new == 5
    with Session(engine) as s:
        newest = s.scalars(select(RawPunch).order_by(RawPunch.id.desc())).first()
        assert not newest.flags & PunchFlag.CLOCK_SUSPECT
    assert_store_matches(engine, sim)


def test_wrong_comm_key_is_an_error_not_a_crash(engine, make_terminal):
    sim = make_terminal("tft", comm_key=11)
    sim.terminal._meta["comm_key"] = 12  # the terminal's key changed under us
    [res] = _pull(engine, fast_settings(retries=0))
    assert res.error and "Unauth" in res.error
    with Session(engine) as s:
        run = s.scalars(select(IngestRun)).one()
        assert run.status == "error" and run.error
