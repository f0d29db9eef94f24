"""USB fallback: attlog .dat and CSV imports give the same rows a later pull gives."""

from __future__ import annotations

from datetime import datetime

from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from hub.adapters.usb.files import parse_attlog, parse_csv
from hub.adapters.zk.coordinator import Puller, load_targets
from hub.cli.main import app
from hub.protocols import zk
from hub.store.models import IngestRun, RawPunch
from tests.zk_fixtures import assert_store_matches, fast_settings, make_terminal

__all__ = ["make_terminal"]
runner = CliRunner()


def _attlog_of(terminal) -> str:
    """What the terminal writes to a USB stick (PIN right-aligned, TAB-separated)."""
    lines = [f"{r.user_id:>9}\t{zk.decode_time(r.time_raw):%Y-%m-%d %H:%M:%S}\t1\t{r.state}"
             f"\t{r.verify}\t0" for r in terminal.attendance()]
    return "\r\n".join(lines) + "\r\n"


def test_usb_import_then_pull_adds_nothing(engine, make_terminal, tmp_path):
    sim = make_terminal("tft", records=120)
    path = tmp_path / "1_attlog.dat"
    path.write_text(_attlog_of(sim.terminal))
    res = runner.invoke(app, ["import", "attlog", str(path), "--device", sim.serial])
    assert res.exit_code == 0, res.output
    assert "120" in res.output
    assert_store_matches(engine, sim)
    [pull] = Puller(engine, fast_settings()).pull_many(load_targets(engine))
    assert (pull.seen, pull.new, pull.duplicate) == (120, 0, 120)
    assert_store_matches(engine, sim)
    # and the same file again: nothing doubled either
    res = runner.invoke(app, ["import", "attlog", str(path), "--device", sim.serial])
    assert "0 baru" in res.output or "0 new" in res.output
    with Session(engine) as s:
        assert s.scalar(select(func.count()).select_from(RawPunch)) == 120


def test_bad_lines_reported_by_number_good_lines_imported(engine, make_terminal, tmp_path):
    sim = make_terminal("mono", records=0)
    path = tmp_path / "attlog.dat"
    path.write_text("\n".join([
        "     1001\t2026-11-03 07:41:12\t1\t0\t1\t0",
        "     1002\t2026-13-03 07:41:12\t1\t0\t1\t0",  # month 13
        "garbage line without tabs",
        "     1003\t2026-11-03 16:02:00\t1\t1\t15\t0",
        "\t2026-11-03 16:02:00\t1\t1\t1\t0",  # no PIN
        "     1004\t2026-11-03 16:05:00\t1\tx\t1\t0",  # bad state
    ]))
    res = runner.invoke(app, ["import", "attlog", str(path), "--device", sim.serial])
    assert res.exit_code == 0, res.output
    for n in (2, 3, 5, 6):
        assert f"baris {n}:" in res.output or f"line {n}:" in res.output
    with Session(engine) as s:
        rows = s.execute(select(RawPunch.pin, RawPunch.state, RawPunch.verify, RawPunch.source)
                         .order_by(RawPunch.pin)).all()
        assert rows == [("1001", "check_in", "fingerprint", "file"),
                        ("1003", "check_out", "face", "file")]
        run = s.scalars(select(IngestRun)).one()
        assert run.kind == "import" and run.details["bad_lines"] == [2, 3, 5, 6]


def test_csv_export_import(engine, make_terminal, tmp_path):
    sim = make_terminal("tft", records=0)
    path = tmp_path / "export.csv"
    path.write_text("No;Tanggal;Jam;Status;Verify\n0042;03/11/2026;07:41:12;0;1\n"
                    "0042;03/11/2026;16:00:00;1;15\n;03/11/2026;16:00:00;1;15\n")
    res = runner.invoke(app, ["import", "attlog", str(path), "--device", sim.serial])
    assert "baris 4" in res.output or "line 4" in res.output
    with Session(engine) as s:
        got = s.execute(select(RawPunch.pin, RawPunch.local_time).order_by(RawPunch.local_time)).all()
        assert got == [("0042", datetime(2026, 11, 3, 7, 41, 12)),
                       ("0042", datetime(2026, 11, 3, 16, 0))]


def test_unknown_device_says_what_to_do(engine, tmp_path):
    path = tmp_path / "a.dat"
    path.write_text("1\t2026-11-03 07:41:12\t1\t0\t1\t0\n")
    res = runner.invoke(app, ["import", "attlog", str(path), "--device", "NOPE"])
    assert res.exit_code == 1 and "NOPE" in res.output


@settings(max_examples=150)
@given(st.text(max_size=400))
def test_attlog_parser_never_crashes(text):
    out = parse_attlog(text, 1, "Asia/Jakarta")
    lines = [ln for ln in text.splitlines() if ln.strip()]
    assert len(out.punches) + len(out.problems) == len(lines)
    assert all(p.line >= 1 for p in out.problems)


@settings(max_examples=100)
@given(st.text(max_size=300))
def test_csv_parser_never_crashes(text):
    out = parse_csv("pin,time,state\n" + text, 1, "Asia/Jakarta")
    assert all(p.line >= 2 for p in out.problems)


def _employee(engine, nip: str, pin: str) -> int:
    from hub.store.models import Employee, PinMapping

    with Session(engine) as s:
        e = Employee(id_number=nip, employment_type="pns", name=f"Pegawai {pin}")
        s.add(e)
        s.flush()
        s.add(PinMapping(employee_id=e.id, pin=pin, pin_group="default"))
        s.commit()
        return e.id


def test_unknown_pins_are_reported_with_their_lines(engine, make_terminal, tmp_path):
    sim = make_terminal("mono", records=0)
    _employee(engine, "198609262015051001", "1001")
    path = tmp_path / "attlog.dat"
    path.write_text("\n".join([
        "     1001\t2026-11-03 07:41:12\t1\t0\t1\t0",
        "     7777\t2026-11-03 07:42:12\t1\t0\t1\t0",
        "     7777\t2026-11-03 16:42:12\t1\t1\t1\t0",
        "     8888\t2026-11-03 16:43:12\t1\t1\t1\t0",
    ]))
    res = runner.invoke(app, ["import", "attlog", str(path), "--device", sim.serial])
    assert res.exit_code == 0, res.output
    assert "3 punch dari 2 PIN yang tidak dikenal" in res.output
    assert "PIN 7777: 2 punch (baris 2, 3)" in res.output and "PIN 8888: 1 punch (baris 4)" in res.output
    with Session(engine) as s:
        run = s.scalars(select(IngestRun)).one()
        assert run.details["unknown_pins"] == {"7777": 2, "8888": 1}
        assert s.scalar(select(func.count()).select_from(RawPunch)) == 4  # kept, waiting in the queue


def test_a_csv_keyed_by_nip_maps_each_nip_to_the_terminals_pin(engine, make_terminal, tmp_path):
    sim = make_terminal("tft", records=0)
    emp = _employee(engine, "198609262015051002", "42")
    path = tmp_path / "ekspor.csv"
    path.write_text("NIP,Waktu,Status\n19860926 201505 1 002,2026-11-03 07:41:12,0\n"
                    "199001012015051001,2026-11-03 07:50:00,0\n")
    res = runner.invoke(app, ["import", "attlog", str(path), "--device", sim.serial])
    assert "baris 3" in res.output and "199001012015051001" in res.output and "tidak dikenal" in res.output
    with Session(engine) as s:
        assert s.execute(select(RawPunch.pin, RawPunch.employee_id)).all() == [("42", emp)]
    out = parse_csv("nip,time\n198609262015051002,2026-11-03 07:41:12\n", 1, "Asia/Jakarta")
    assert out.key == "nip" and out.punches[0].raw["nip"] == "198609262015051002"
