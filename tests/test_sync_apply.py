"""Sync apply against simulated ZK terminals over real sockets, with pyzk as the client."""

from __future__ import annotations

import time
from contextlib import ExitStack
from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hub.adapters.zk.client import ZkClient
from hub.messages import render
from hub.roster.assignment import add_transfer
from hub.roster.pins import allocate
from hub.simulator.zk import start_in_thread
from hub.store.models import Device, Site, Template
from hub.sync.apply import apply_plans
from hub.sync.harvest import harvest_templates
from hub.sync.models import SyncItem, SyncRun
from hub.sync.plan import compute_plans, select_devices
from tests.roster_fixtures import device, employee, fake_fp, fingerprint, sim_terminal, site

D1, D2 = date(2026, 3, 13), date(2026, 3, 16)


def sync(engine, day, serial=None, **kw):
    with Session(engine) as s:
        plans = compute_plans(s, select_devices(s, device=serial), day)
        s.commit()
    return {r.serial: r for r in apply_plans(engine, plans, "test", **kw)}


def on_terminal(port, kind="zk-tcp"):
    """What the terminal holds, read over the wire with pyzk: {pin: (name, {finger: template})}."""
    transport = {"zk-udp": "udp", "zk-tcp": "tcp"}.get(kind, "auto")
    with ZkClient("127.0.0.1", port, transport=transport) as zs:
        users, _size = zs.read_users()
        fingers = zs.read_templates() if users else []
    pins = {u.uid: u.user_id for u in users}
    out = {u.user_id: (u.name, {}) for u in users}
    for f in fingers:
        out[pins[f.uid]][1][f.fid] = bytes(f.template)
    return out


@pytest.fixture
def fleet(engine, tmp_path):
    """DINKES with two TCP terminals; its unit PKM-A with an old 28-byte UDP one; DISDIK with one."""
    with ExitStack() as stack, Session(engine) as s:
        sims = {name: stack.enter_context(sim_terminal(tmp_path / f"{name}.sqlite", prof, serial=name))
                for name, prof in (("HQ1", "tft"), ("HQ2", "tft"), ("PKMA", "mono"), ("EDU", "tft"))}
        opd, edu = site(s, "DINKES"), site(s, "DISDIK")
        pkm = site(s, "PKM-A", opd, "puskesmas")
        for name, at in (("HQ1", opd), ("HQ2", opd), ("PKMA", pkm), ("EDU", edu)):
            device(s, name, at, kind="zk-udp" if name == "PKMA" else "zk-tcp", port=sims[name][1].port)
        s.commit()
        yield s, sims, {"opd": opd, "pkm": pkm, "edu": edu}


def port(sims, name):
    return sims[name][1].port


def test_enroll_at_one_terminal_pull_sync_reaches_that_office_only(engine, fleet):
    s, sims, st = fleet
    nurse = employee(s, st["opd"], name="Ratna Sari")
    teacher = employee(s, st["edu"], name="Agus Salim")
    employee(s, st["pkm"], name="Wayan Sudarsana")
    pins = allocate(s, [nurse.id, teacher.id])
    s.commit()
    # the nurse enrols a finger at HQ1 (the terminal keeps user + template)
    from hub.protocols.zk import Template as ZkT
    from hub.protocols.zk import User as ZkU

    term = sims["HQ1"][0]
    tmpl = fake_fp("ratna-right-index", 700)
    term.set_user(ZkU(7, pins[nurse.id], "RATNA", 0))
    term.set_template(ZkT(7, 6, 1, tmpl))
    # pull: harvested and stored encrypted
    hq1 = s.scalar(select(Device).where(Device.serial == "HQ1"))
    got = harvest_templates(s, hq1)
    s.commit()
    assert (got.new, got.unknown_pin) == (1, 0)
    row = s.scalar(select(Template).where(Template.employee_id == nurse.id))
    assert row.finger_index == 6 and tmpl not in row.blob_enc
    # sync
    res = sync(engine, D1)
    assert {r.status for r in res.values()} == {"ok"}, {k: (r.status, r.error, r.issues) for k, r in res.items()}
    for name in ("HQ1", "HQ2"):
        held = on_terminal(port(sims, name))
        assert held[pins[nurse.id]][1] == {6: tmpl}
        assert pins[teacher.id] not in held
    pkm = on_terminal(port(sims, "PKMA"), "zk-udp")
    edu = on_terminal(port(sims, "EDU"))
    assert pins[nurse.id] not in pkm and pins[nurse.id] not in edu
    assert all(not fingers for _, fingers in list(pkm.values()) + list(edu.values()))
    assert edu[pins[teacher.id]][0] == "Agus Salim"
    assert len(pkm) == 1  # the PKM-A employee on the old 28-byte terminal
    assert res["HQ2"].sent["templates_sent"] == 1 and res["HQ1"].sent["templates_sent"] == 0
    assert not any(r.mismatch for r in res.values())
    # a second apply with nothing changed sends nothing: the terminals are not even contacted
    for _, srv in sims.values():
        srv.stop()
    again = sync(engine, D1)
    assert {r.status for r in again.values()} == {"unchanged"}
    assert sum(r.commands_sent for r in again.values()) == 0
    assert s.scalar(select(func.count()).select_from(SyncRun)) == 4


def test_leaver_removed_on_end_date_with_removal_threshold(engine, fleet):
    s, sims, st = fleet
    stay = employee(s, st["edu"], name="Tetap")
    leavers = [employee(s, st["edu"], name=f"Pensiun {i}", left_on=D2) for i in range(3)]
    s.commit()
    res = sync(engine, D1, "EDU")
    assert res["EDU"].status == "ok" and len(on_terminal(port(sims, "EDU"))) == 4
    held = sync(engine, D2, "EDU", allow_removals=2)["EDU"]
    assert any(i.status == "warning" and "--allow-removals 3" in i.message for i in held.issues)
    assert len(on_terminal(port(sims, "EDU"))) == 4  # nothing removed without the flag
    done = sync(engine, D2, "EDU", allow_removals=3)["EDU"]
    assert done.status == "ok" and done.sent["users_removed"] == 3
    pins = allocate(s, [stay.id] + [x.id for x in leavers])
    assert set(on_terminal(port(sims, "EDU"))) == {pins[stay.id]}


def test_transfer_moves_user_and_fingerprints(engine, fleet):
    s, sims, st = fleet
    e = employee(s, st["pkm"], name="Made Wirawan")
    fingerprint(s, e, 1, fake_fp("made-1", 512))
    s.commit()
    sync(engine, D1)
    pin = allocate(s, [e.id])[e.id]
    assert 1 in on_terminal(port(sims, "PKMA"), "zk-udp")[pin][1]
    add_transfer(s, e, st["edu"], D2)
    s.commit()
    assert all(r.status == "unchanged" for r in sync(engine, D1).values())  # not yet effective
    res = sync(engine, D2)
    assert res["PKMA"].sent["users_removed"] == 1 and res["EDU"].sent["templates_sent"] == 1
    assert pin not in on_terminal(port(sims, "PKMA"), "zk-udp")
    assert on_terminal(port(sims, "EDU"))[pin][1] == {1: fake_fp("made-1", 512)}


def test_full_terminal_rejected_template_and_odd_name_reported_rest_goes_on(engine, tmp_path):
    with sim_terminal(tmp_path / "small.sqlite", "tft", serial="SMALL",
                      profile_overrides={"users_cap": 3}) as (_term, srv), Session(engine) as s:
        office = site(s, "KEC-X", kind="kecamatan")
        device(s, "SMALL", office, port=srv.port)
        ok = employee(s, office, name="Andi")
        bad_fp = employee(s, office, name="Bunga")
        odd = employee(s, office, name="王小明")
        extra = employee(s, office, name="Zulkifli")
        fingerprint(s, ok, 0, fake_fp("andi"))
        fingerprint(s, bad_fp, 2, fake_fp("bunga-2"))
        fingerprint(s, bad_fp, 12, fake_fp("bunga-12"))  # no such finger: the terminal refuses it
        s.commit()
        res = sync(engine, D1)["SMALL"]
        assert res.status == "partial" and not res.mismatch
        pins = allocate(s, [ok.id, bad_fp.id, odd.id, extra.id])
        held = on_terminal(srv.port)
        assert set(held) == {pins[ok.id], pins[bad_fp.id], pins[odd.id]}
        assert held[pins[ok.id]][1] == {0: fake_fp("andi")} and set(held[pins[bad_fp.id]][1]) == {2}
        assert held[pins[odd.id]][0] == "???"
        msgs = {(i.pin, i.status): i.message for i in res.issues}
        assert "terminal penuh" in msgs[(pins[extra.id], "error")]
        assert "menolak template jari 12" in msgs[(pins[bad_fp.id], "error")]
        assert "tidak dapat ditampilkan" in msgs[(pins[odd.id], "warning")]
        stored = s.scalars(select(SyncItem.message).where(SyncItem.run_id == res.run_id)).all()
        assert len(stored) == len(res.issues)
        # kept as codes: an English reader sees them in English (issue 18)
        english = {render(m, "en") for m in stored}
        assert "terminal full (3 users); user and templates not sent" in english
        assert any(e.startswith("terminal rejected the finger 12 template") for e in english)
        # the state is what the terminal holds, so the next plan still carries what failed
        (p,) = compute_plans(s, select_devices(s), D1)
        assert [u.pin for u in p.users_add] == [pins[extra.id]]
        assert [(t.pin, t.finger_index) for t in p.templates_add] == [(pins[bad_fp.id], 12)]


def test_offline_terminal_gets_the_change_when_it_is_back(engine, tmp_path):
    with sim_terminal(tmp_path / "t.sqlite", "tft", serial="FAR") as (term, srv), Session(engine) as s:
        office = site(s, "KEC-Y", kind="kecamatan")
        device(s, "FAR", office, port=srv.port)
        e = employee(s, office, name="Yanti")
        s.commit()
        the_port = srv.port
        srv.stop()
        res = sync(engine, D1)["FAR"]
        assert res.status == "failed" and "tidak dapat dihubungi" in res.error
        back = start_in_thread(term, port=the_port)
        try:
            res = sync(engine, D1)["FAR"]
            assert res.status == "ok", (res.error, res.issues)
            assert allocate(s, [e.id])[e.id] in on_terminal(the_port)
        finally:
            back.stop()


def test_readback_mismatch_is_reported(engine, tmp_path, monkeypatch):
    """A terminal that acknowledges but keeps nothing is caught by the read-back."""
    with sim_terminal(tmp_path / "t.sqlite", "tft", serial="LIAR") as (_term, srv), Session(engine) as s:
        office = site(s, "KEC-Z", kind="kecamatan")
        device(s, "LIAR", office, port=srv.port)
        employee(s, office, name="Siti")
        s.commit()
        monkeypatch.setattr(ZkClient, "upload", lambda self, users, tmpls, size: 0)
        res = sync(engine, D1)["LIAR"]
        assert res.mismatch and res.status == "partial"
        assert any(i.status == "mismatch" and "tidak ada di terminal" in i.message for i in res.issues)


# --- the CLI end to end, and the transport's checksum -----------------------------------------
def test_cli_plan_apply_pin_and_second_apply_sends_nothing(settings, engine, tmp_path):
    from typer.testing import CliRunner

    from hub.cli.main import app

    runner = CliRunner()

    def hub(*args):
        r = runner.invoke(app, list(args))
        return r.exit_code, r.output

    with sim_terminal(tmp_path / "cli.sqlite", "tft", serial="CLI1") as (_term, srv):
        assert hub("site", "add", "BAPPEDA", "--name", "Bappeda")[0] == 0
        code, out = hub("device", "add", "CLI1", "--kind", "zk-tcp", "--host", "127.0.0.1", "--port", str(srv.port),
                        "--site", "BAPPEDA")
        assert code == 0, out
        with Session(engine) as s:
            at = s.scalar(select(Site).where(Site.code == "BAPPEDA"))
            e = employee(s, at, name="Hendra Gunawan")
            nip = e.id_number
            s.commit()
        code, out = hub("pin", "allocate", nip)
        assert code == 0 and "1 PIN baru" in out, out
        code, out = hub("pin", "list")
        assert code == 0 and nip in out
        code, out = hub("sync", "plan", "--site", "BAPPEDA")
        assert code == 0 and "CLI1" in out and "Hendra Gunawan" in out, out
        code, out = hub("sync", "apply", "--device", "CLI1")
        assert code == 0 and "\n1 perubahan dikirim" in out, out
        assert "Hendra Gunawan" in {n for n, _ in on_terminal(srv.port).values()}
        code, out = hub("sync", "apply", "--device", "CLI1")
        assert code == 0 and "0 perubahan dikirim" in out, out
        code, out = hub("sync", "runs", "--device", "CLI1", "--format", "json")
        assert code == 0 and '"status": "ok"' in out and '"users_sent=1' in out, out
        code, out = hub("sync", "plan", "--site", "NOPE")
        assert code == 1 and "NOPE" in out
        code, out = hub("sync", "rule", "BAPPEDA", "somewhere")
        assert code == 1 and "nearest" in out
        code, out = hub("sync", "transfer", nip, "BAPPEDA", "--on", "2026-02-30")
        assert code == 1 and "TTTT-BB-HH" in out


@given(st.binary(max_size=2100))
def test_property_fast_checksum_is_pyzks(data):
    from zk import ZK

    from hub.adapters.zk.client import pyzk_checksum

    as_tuple = tuple(data)
    assert pyzk_checksum(as_tuple) == ZK("127.0.0.1")._ZK__create_checksum(as_tuple)


def test_scheduler_job_entry_point(engine, fleet):
    from hub.sync.apply import apply_all

    s, sims, st = fleet
    employee(s, st["edu"], name="Guru Honorer")
    s.commit()
    first = apply_all(engine, D1)
    assert first["terminals"] == 4 and first["sent"] > 0 and first["mismatch"] == 0
    assert first["failed_terminals"] == []
    again = apply_all(engine, D1)
    assert again["sent"] == 0 and again["unchanged"] == 4


def test_rename_and_withdrawn_finger_reach_the_terminal(engine, fleet):
    s, sims, st = fleet
    e = employee(s, st["edu"], name="Dewi")
    fingerprint(s, e, 0, fake_fp("dewi-0"))
    drop = fingerprint(s, e, 1, fake_fp("dewi-1"))
    s.commit()
    assert sync(engine, D1, "EDU")["EDU"].status == "ok"
    pin = allocate(s, [e.id])[e.id]
    assert set(on_terminal(port(sims, "EDU"))[pin][1]) == {0, 1}
    e.name = "Dewi Lestari"
    s.delete(s.get(Template, drop.id))
    s.commit()
    res = sync(engine, D1, "EDU")["EDU"]
    assert res.status == "ok" and res.sent["templates_removed"] == 1 and res.sent["users_sent"] == 1
    name, fingers = on_terminal(port(sims, "EDU"))[pin]
    assert name == "Dewi Lestari" and fingers == {0: fake_fp("dewi-0")}
    assert res.sent["templates_sent"] == 0  # the kept finger is not sent again


# --- one line per terminal: serial units, and a push while a live session is held -----------
def test_a_serial_terminal_is_synced_like_the_others(engine, tmp_path):
    from hub.simulator.zk.serial import start_serial_in_thread
    from hub.simulator.zk.terminal import Terminal

    term = Terminal.create(tmp_path / "rs485.sqlite3", "tft", serial="RS485A")
    line = start_serial_in_thread(term, baud=115200)
    try:
        with Session(engine) as s:
            office = site(s, "KEC-S", kind="kecamatan")
            d = device(s, "RS485A", office, kind="zk-serial")
            d.serial_line, d.baud = line.tty_path, 115200
            e = employee(s, office, name="Made Wirawan")
            fingerprint(s, e, 3, fake_fp("made-3", 600))
            s.commit()
            pin = allocate(s, [e.id])[e.id]
            s.commit()
        res = sync(engine, D1)["RS485A"]
        assert (res.status, res.error) == ("ok", None), res.issues
        held = {u.user_id: u for u in term.users()}
        assert held[pin].name == "Made Wirawan"
        assert [t.fid for t in term.templates()] == [3]
        assert sync(engine, D1)["RS485A"].status == "unchanged"
    finally:
        line.stop()


def test_a_push_during_a_live_session_borrows_it(engine, tmp_path):
    """Real units keep one TCP session: the push goes over the live listener's session,
    no second CONNECT, nobody displaced, and the listener goes on listening."""
    from hub.adapters.zk.coordinator import load_targets
    from hub.adapters.zk.live import LiveListener
    from tests.zk_fixtures import fast_settings

    with sim_terminal(tmp_path / "live.sqlite", "tft", serial="LIVE1") as (term, srv):
        with Session(engine) as s:
            office = site(s, "KEC-L", kind="kecamatan")
            device(s, "LIVE1", office, port=srv.port)
            e = employee(s, office, name="Putu Ayu")
            s.commit()
            pin = allocate(s, [e.id])[e.id]
            s.commit()
        [target] = load_targets(engine, "LIVE1")
        listener = LiveListener(engine, target, fast_settings(), reconnect_s=0.2, catch_up=False)
        listener.start()
        try:
            assert listener.connected.wait(10)
            connects = srv.server.connects
            res = sync(engine, D1)["LIVE1"]
            assert res.status == "ok", (res.error, res.issues)
            assert (srv.server.connects, srv.server.displaced) == (connects, 0)
            assert term.user_by_id(pin).name == "Putu Ayu"
            term.punch(pin)  # and the listener still hears punches
            deadline = time.monotonic() + 5
            while listener.stored == 0 and time.monotonic() < deadline:
                time.sleep(0.05)
            assert listener.stored == 1 and listener.sessions_opened == 1
        finally:
            listener.stop()
