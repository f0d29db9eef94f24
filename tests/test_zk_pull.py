"""Pull ZK terminals into the store over real sockets (pyzk transport, simulator terminals)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.adapters.zk.coordinator import Puller, load_targets
from hub.messages import render
from hub.punch import PunchFlag
from hub.store.models import Device, DeviceOutage, IngestRun, RawPunch
from tests.zk_fixtures import assert_store_matches, fast_settings, fill, make_terminal, stored

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
        # What may have gone with the log is a span without trustworthy data from this
        # terminal: from the newest record the hub had to the first one the terminal kept.
        (outage,) = s.scalars(select(DeviceOutage)).all()
        newest_old = max(t for _pin, t, *_ in old)
        first_new = min(r.local_time for r in s.scalars(select(RawPunch).where(RawPunch.ingest_run_id == run.id)))
        assert (outage.kind, outage.start_local, outage.end_local) == ("cleared", newest_old, first_new)
        # its note is kept as a code: each reader sees it in their language (issue 18)
        assert render(outage.note, "en") == "terminal log was cleared or shrank (80 -> 20); reading it all"
        assert render(outage.note, "id") == "log terminal dikosongkan/berkurang (80 -> 20); seluruh log dibaca"


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
        run = s.scalars(select(IngestRun).order_by(IngestRun.id)).first()
        assert run.details["clock_synced"] is True and run.details["clock_offset_s"] < -800
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


def _wait(cond, timeout=10.0):
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(0.05)
    return False


def test_live_events_store_punches_within_seconds_and_survive_a_restart(engine, make_terminal):
    import time

    from hub.adapters.zk.live import LiveListener
    from hub.simulator.zk.server import start_in_thread

    tcp, udp = make_terminal("tft", records=5), make_terminal("mono", records=5)
    _pull(engine)
    listeners = [LiveListener(engine, t, fast_settings(), reconnect_s=0.2)
                 for t in load_targets(engine)]
    for li in listeners:
        li.start()
    try:
        assert all(li.connected.wait(10) for li in listeners)
        for sim in (tcp, udp):
            t0 = time.monotonic()
            sim.terminal.punch("1001", state=1, verify=15)
            assert _wait(lambda sim=sim: len(stored(engine, sim.device_id)) == 6)
            assert time.monotonic() - t0 < 5
            assert_store_matches(engine, sim)
        # the TCP terminal restarts: the listener reconnects and goes on
        port = tcp.server.port
        tcp.server.stop()
        live = listeners[[t.serial for t in load_targets(engine)].index(tcp.serial)]
        assert _wait(lambda: not live.connected.is_set())
        back = start_in_thread(tcp.terminal, port=port)
        try:
            assert live.connected.wait(10)
            tcp.terminal.punch("1002", state=0, verify=1)
            assert _wait(lambda: len(stored(engine, tcp.device_id)) == 7)
            assert live.sessions_opened >= 2
        finally:
            back.stop()
    finally:
        for li in listeners:
            li.stop()
    assert_store_matches(engine, tcp)
    [res] = [r for r in _pull(engine) if r.serial == udp.serial]
    assert res.new == 0  # what arrived live is not doubled by the pull


def test_template_backup_is_encrypted_and_resolves_pins(engine, make_terminal):
    from hub.protocols import zk
    from hub.secrets import decrypt
    from hub.store.models import Device, Employee, PinMapping, Template
    from hub.sync.harvest import harvest_templates

    sim = make_terminal("tft", users=5, records=0)
    blobs = {uid: bytes([uid]) * (300 + uid) for uid in (1, 2, 3)}
    for uid, blob in blobs.items():
        sim.terminal.set_template(zk.Template(uid, 6, 1, blob))
    with Session(engine) as s:
        emps = [Employee(id_number=f"1990010120200{i}1001", employment_type="pns",
                         name=f"Pegawai {i}") for i in (1, 2)]
        s.add_all(emps)
        s.flush()
        s.add_all([PinMapping(employee_id=e.id, pin=str(1000 + i), pin_group="default")
                   for i, e in zip((1, 2), emps, strict=True)])
        s.commit()
        emp_ids = [e.id for e in emps]
    with Session(engine) as s:
        res = harvest_templates(s, s.get(Device, sim.device_id))
        s.commit()
    assert (res.seen, res.new, res.unknown_pins) == (3, 2, ["1003"])
    with Session(engine) as s:
        rows = s.scalars(select(Template).order_by(Template.employee_id)).all()
        assert [r.employee_id for r in rows] == emp_ids
        assert [decrypt(r.blob_enc) for r in rows] == [blobs[1], blobs[2]]
        assert all(blobs[1] not in r.blob_enc for r in rows)
        assert {r.source_device_id for r in rows} == {sim.device_id}
    with Session(engine) as s:
        again = harvest_templates(s, s.get(Device, sim.device_id))
        s.commit()
    assert (again.new, again.updated, again.unchanged) == (0, 0, 2)


def test_cli_pull_twice_then_sync_time(engine, make_terminal):
    from typer.testing import CliRunner

    from hub.cli.main import app

    sims = [make_terminal("tft", records=40), make_terminal("mono", records=30,
                                                             clock_offset_s=600)]
    runner = CliRunner()
    first = runner.invoke(app, ["pull"])
    assert first.exit_code == 0, first.output
    assert "70 punch baru" in first.output or "70 new" in first.output
    second = runner.invoke(app, ["pull"])
    assert second.exit_code == 0
    assert "Tidak ada punch baru" in second.output or "No new punches" in second.output
    res = runner.invoke(app, ["device", "sync-time", "--device", sims[1].serial])
    assert res.exit_code == 0, res.output
    from datetime import datetime
    from zoneinfo import ZoneInfo

    jakarta_now = datetime.now(ZoneInfo("Asia/Jakarta")).replace(tzinfo=None)
    assert abs((sims[1].terminal.now() - jakarta_now).total_seconds()) < 5
    with Session(engine) as s:
        assert abs(s.get(Device, sims[1].device_id).last_clock_offset_s) < 5
    sims[0].server.stop()
    failed = runner.invoke(app, ["pull", "--device", sims[0].serial])
    assert failed.exit_code == 2 and sims[0].serial in failed.output


def test_a_big_fleet_is_pulled_by_worker_processes_without_loss(engine, make_terminal):
    """From 20 terminals the pull is split over worker processes (one Python process uses
    one core): each terminal is still stored exactly once, progress comes per terminal,
    a dead terminal is reported while the others are stored, and the next pull adds 0."""
    from hub.adapters.zk.shards import process_count

    sims = [make_terminal(("tft", "mono", "face")[i % 3], users=20, records=30 + i)
            for i in range(21)]
    sims[4].server.stop()
    settings = fast_settings(processes=2, retries=0, timeout_s=1.0)
    assert process_count(settings, len(sims)) == 2
    done: list[str] = []
    first = Puller(engine, settings).pull_many(load_targets(engine), on_done=lambda r: done.append(
        r.serial))
    assert sorted(done) == sorted(s.serial for s in sims) == [r.serial for r in first]
    errors = {r.serial for r in first if r.error}
    assert errors == {sims[4].serial}
    for i, sim in enumerate(sims):
        if i != 4:
            assert_store_matches(engine, sim)
    assert sum(r.new for r in first) == sum(30 + i for i in range(21) if i != 4)
    second = Puller(engine, settings).pull_many(load_targets(engine))
    assert sum(r.new for r in second) == 0
    assert {r.mode for r in second if not r.error} == {"unchanged"}
    full = Puller(engine, settings).pull_many(load_targets(engine), full=True)
    assert sum(r.new for r in full) == 0 and sum(r.duplicate for r in full) == sum(
        r.new for r in first)
    with Session(engine) as s:
        runs = s.scalars(select(IngestRun)).all()
        assert len(runs) == 63
        assert sum(r.status == "ok" for r in runs) == 60


def test_comm_keys_whose_scramble_overflows_still_connect(engine, make_terminal):
    """pyzk 0.9 raises struct.error for a key whose bit-reversed value plus the session id
    passes 2**32 (seen with key 851967, session 56730); the hub's client wraps as devices do.
    The terminal is made to hand out exactly that session."""
    import struct

    import zk.base

    from hub.protocols import zk as codec

    with pytest.raises(struct.error):
        zk.base.make_commkey(851967, 56730)
    assert zk.base.make_commkey(4321, 77) == codec.make_commkey(4321, 77)
    sim = make_terminal("tft", records=5, comm_key=851967)
    sim.server.server._next_sid = 56729  # the next CONNECT gets session 56730
    results = [Puller(engine, fast_settings()).pull_many(load_targets(engine))[0]
               for _ in range(3)]
    assert [r.error for r in results] == [None, None, None]
    assert results[0].new == 5
    assert_store_matches(engine, sim)
