"""Figures BPKAD can sign, against the real store (SQLite and PostgreSQL):

- a terminal dead for three days: its office's employees are TD at 0 %, one queue entry per
  terminal-day, and one decision covers everyone;
- punches from a drifted clock wait (TV, 0 %) until accepted or rejected in bulk;
- approve a correction, lock at once: the frozen figures include it; a change between the
  preview and the confirmation is refused;
- the PDF renders, verifies, and an edited copy does not;
- reading (page, API, exports) writes nothing;
- an office's go-live date: days before it are not judged.
"""

from __future__ import annotations

import subprocess
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select, text
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from hub.punch import Punch, PunchFlag, Source, State, Verify
from hub.reconcile.corrections import approve_correction, propose_correction
from hub.reconcile.errors import ReconcileError
from hub.reconcile.evidence import decide_no_data, decide_punches, quarantined_punches
from hub.reconcile.models import RecapRow
from hub.reconcile.period import lock_month, month_figures, preview_lock
from hub.reconcile.queue import no_data_groups, quarantine_groups
from hub.store.ingest import ingest_punches
from hub.store.models import Device, Employee, IngestRun, PinMapping, Site

OCT1, OCT31 = date(2026, 10, 1), date(2026, 10, 31)
DEAD = (date(2026, 10, 13), date(2026, 10, 14), date(2026, 10, 15))
DRIFT = date(2026, 10, 20)
NAMES = ("Ani", "Budi", "Citra", "Dedi")


def workdays() -> list[date]:
    return [OCT1 + timedelta(i) for i in range(31) if (OCT1 + timedelta(i)).weekday() < 5]


@pytest.fixture
def office(engine: Engine) -> dict[str, int]:
    """One office, terminal T1 (dead 13-15 October) and T2 (clock drifted on the 20th: Dedi
    punched there), four employees on time every other day; T1 pulled after the month."""
    with Session(engine) as s:
        site = Site(code="DINAS", name="Dinas Uji", tz="Asia/Jakarta")
        s.add(site)
        s.flush()
        t1 = Device(serial="T1", name="Lobi", kind="zk-tcp", site_id=site.id, tz="Asia/Jakarta", capabilities={})
        t2 = Device(serial="T2", name="Samping", kind="zk-tcp", site_id=site.id, tz="Asia/Jakarta",
                    capabilities={})
        s.add_all([t1, t2])
        s.flush()
        ids = {"site": site.id, "t1": t1.id, "t2": t2.id}
        for i, name in enumerate(NAMES, 1):
            e = Employee(id_number=f"1986092620150510{i:02d}", employment_type="pns", name=name, site_id=site.id,
                         monthly_tpp=4_000_000)
            s.add(e)
            s.flush()
            s.add(PinMapping(employee_id=e.id, pin=str(i), pin_group="default"))
            ids[name] = e.id
        for dev in (t1, t2):
            s.add(IngestRun(device_id=dev.id, source="zk_tcp", kind="pull", status="ok",
                            started_at=datetime(2026, 11, 1, 18), finished_at=datetime(2026, 11, 1, 18), details={}))
        s.commit()
    punches = []
    for d in workdays():
        if d in DEAD:
            continue
        for i, name in enumerate(NAMES, 1):
            dev, flags = (ids["t2"], int(PunchFlag.CLOCK_SUSPECT)) if (name == "Dedi" and d == DRIFT) \
                else (ids["t1"], 0)
            out = (16, 40) if d.weekday() == 4 else (16, 5)
            punches += [Punch(dev, Source.ZK_TCP, str(i), datetime(d.year, d.month, d.day, 7, 20), "Asia/Jakarta",
                              State.CHECK_IN, Verify.FINGERPRINT, flags=flags),
                        Punch(dev, Source.ZK_TCP, str(i), datetime(d.year, d.month, d.day, *out), "Asia/Jakarta",
                              State.CHECK_OUT, Verify.FINGERPRINT, flags=flags)]
    ingest_punches(engine, punches)
    return ids


def _day(engine: Engine, emp: int, day: date) -> tuple[str, float]:
    with Session(engine) as s:
        d = next(x for x in month_figures(s, OCT1).days[emp] if x.day == day)
    return d.status, d.pct


def test_a_dead_terminal_is_no_data_and_one_decision_covers_everyone(engine: Engine, office) -> None:
    for name in NAMES:
        for d in DEAD:
            assert _day(engine, office[name], d) == ("TD", 0.0)
    with Session(engine) as s:
        fig = month_figures(s, OCT1)
        assert all(r["TD"] == 3 and r["TK"] == 0 and r["potongan_rp"] == 0 for r in fig.rows
                   if r["nama"] != "Dedi")
        groups = no_data_groups(s, OCT1, OCT31, office["site"])
        # One entry per terminal and day (the office holds two terminals, both silent).
        assert [(g.terminal, g.day, len(g.employees)) for g in groups] == [
            (key, d, 4) for d in DEAD for key in (f"dev:{office['t1']}", f"dev:{office['t2']}")]
        decide_no_data(s, f"dev:{office['t1']}", DEAD[0], "present", "terminal mati, daftar hadir manual", "kabid")
        decide_no_data(s, f"dev:{office['t1']}", DEAD[1], "absent", "terminal berfungsi menurut teknisi", "kabid")
        with pytest.raises(ReconcileError, match="alasan|reason"):
            decide_no_data(s, f"dev:{office['t1']}", DEAD[2], "present", " ", "kabid")
        with pytest.raises(ReconcileError, match="nope"):
            decide_no_data(s, f"dev:{office['t1']}", DEAD[2], "nope", "x", "kabid")
        s.commit()
    assert _day(engine, office["Ani"], DEAD[0]) == ("H", 0.0)
    assert _day(engine, office["Ani"], DEAD[1]) == ("TK", 3.0)
    assert _day(engine, office["Ani"], DEAD[2]) == ("TD", 0.0)
    with Session(engine) as s:
        decided = {(g.day, g.decision) for g in no_data_groups(s, OCT1, OCT31, office["site"])}
        assert {(DEAD[0], "present"), (DEAD[1], "absent"), (DEAD[2], None)} <= decided


def test_a_drifted_clock_waits_and_is_decided_in_bulk(engine: Engine, office) -> None:
    dedi = office["Dedi"]
    assert _day(engine, dedi, DRIFT) == ("TV", 0.0)
    with Session(engine) as s:
        (group,) = quarantine_groups(s, OCT1, OCT31, office["site"])
        assert (group.device_id, group.day, group.pending, group.flags) == (office["t2"], DRIFT, 2, ["clock_suspect"])
        ids = [p.id for p in quarantined_punches(s, office["t2"], DRIFT)]
        assert decide_punches(s, ids, "rejected", "jam terminal 3 jam maju, bukan jam kerja", "kabid") == 2
        s.commit()
    assert _day(engine, dedi, DRIFT) == ("TK", 3.0)  # rejected: as if they never arrived
    with Session(engine) as s:
        decide_punches(s, ids, "accepted", "teknisi: jam hanya selisih 4 menit", "kabid")
        s.commit()
    assert _day(engine, dedi, DRIFT) == ("H", 0.0)
    with Session(engine) as s:
        other = s.scalar(select(func.min(text("id"))).select_from(text("raw_punches")).where(text("flags = 0")))
        with pytest.raises(ReconcileError, match="tidak ditahan|not quarantined"):
            decide_punches(s, [other], "accepted", "x", "kabid")


def test_approve_then_lock_at_once_freezes_the_correction(engine: Engine, office) -> None:
    ani = office["Ani"]
    with Session(engine) as s:
        c = propose_correction(s, employee_id=ani, day=DEAD[0], kind="set_status", status="CT", reason="cuti",
                               author="operator")
        s.commit()
        stale = preview_lock(s, OCT1, office["site"])
        approve_correction(s, c.id, "kabid")
        s.commit()
        # Confirming the figures seen before the approval is refused: they are not today's.
        with pytest.raises(ReconcileError, match="pratinjau|preview"):
            lock_month(s, OCT1, office["site"], "bpkad", stale.sha256)
        fresh = preview_lock(s, OCT1, office["site"])
        assert fresh.sha256 != stale.sha256 and fresh.pending_corrections == 0
        lock = lock_month(s, OCT1, office["site"], "bpkad", fresh.sha256)
        s.commit()
        fig = month_figures(s, OCT1, office["site"])
        assert fig.locked and fig.sha256 == lock.figures_sha256
        assert fig.row_of(ani)["CT"] == 1 and fig.row_of(ani)["TD"] == 2
        assert s.scalar(select(func.count()).select_from(RecapRow)) == 4
        # Decisions are frozen too.
        with pytest.raises(ReconcileError, match="dikunci|locked"):
            decide_no_data(s, f"dev:{office['t1']}", DEAD[1], "present", "x", "kabid")


def test_a_month_that_has_not_ended_cannot_be_locked(engine: Engine, office) -> None:
    with Session(engine) as s:
        p = preview_lock(s, OCT1, office["site"], today=date(2026, 10, 31))
        assert any("belum selesai" in x or "not ended" in x for x in p.problems)
        with pytest.raises(ReconcileError):
            lock_month(s, OCT1, office["site"], "bpkad", p.sha256, today=date(2026, 10, 31))


def test_go_live_days_before_are_not_judged(engine: Engine, office) -> None:
    with Session(engine) as s:
        s.get(Site, office["site"]).go_live = date(2026, 10, 16)
        s.commit()
        fig = month_figures(s, OCT1)
    days = fig.days[office["Ani"]]
    assert min(d.day for d in days) == date(2026, 10, 16)
    assert fig.row_of(office["Ani"])["hari_kerja"] == sum(1 for d in workdays() if d >= date(2026, 10, 16))


def _counts(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        tables = [r[0] for r in conn.execute(text(
            "SELECT name FROM sqlite_master WHERE type='table'" if engine.dialect.name == "sqlite"
            else "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"))]
        return {t: conn.scalar(text(f'SELECT count(*) FROM "{t}"')) for t in tables if t != "alembic_version"}


def test_readers_never_write(engine: Engine, office, settings) -> None:  # type: ignore[no-untyped-def]
    import httpx

    from hub.store.db import session_scope
    from hub.web.app import create_app
    from hub.web.auth import add_user, new_api_token
    from tests.web_fixtures import LiveServer, login

    with session_scope(engine) as s:
        token = new_api_token(s, add_user(s, "aud9", "kata-sandi-uji", "auditor"), "t")
    with LiveServer(create_app(settings)) as srv, httpx.Client(base_url=srv.url) as b, \
            httpx.Client(base_url=srv.url, headers={"Authorization": f"Bearer {token}"}) as c:
        login(b, "aud9", "kata-sandi-uji")
        before = _counts(engine)
        for path in ("/recap", "/recap/export.csv", "/recap/export.xlsx", "/recap/export.pdf", "/exceptions"):
            r = b.get(path, params={"site": "DINAS", "month": "2026-10", "day": "2026-10-13"})
            assert r.status_code == 200, (path, r.text[:200])
        assert c.get("/api/recap", params={"site": "DINAS", "month": "2026-10"}).status_code == 200
        assert c.get("/api/exceptions", params={"site": "DINAS", "day": "2026-10-13"}).status_code == 200
        after = _counts(engine)
    assert {k: v for k, v in after.items() if k not in ("web_sessions",)} == \
        {k: v for k, v in before.items() if k not in ("web_sessions",)}


def test_pdf_renders_verifies_and_an_edited_copy_fails(engine: Engine, office, tmp_path: Path) -> None:
    from hub.cli.main import app

    runner = CliRunner()
    out = tmp_path / "rekap.pdf"
    res = runner.invoke(app, ["recap", "--month", "2026-10", "--site", "DINAS", "--format", "pdf", "-o", str(out),
                              "--place", "Ngamprah", "--head-name", "Drs. Kepala", "--head-nip",
                              "197001011990031001"])
    assert res.exit_code == 0, res.output
    png = subprocess.run(["pdftoppm", "-r", "60", "-png", "-singlefile", str(out), str(tmp_path / "p1")],
                         capture_output=True)
    assert png.returncode == 0 and (tmp_path / "p1.png").stat().st_size > 5000
    text_ = subprocess.run(["pdftotext", "-layout", str(out), "-"], capture_output=True, text=True).stdout
    assert "REKAPITULASI KEHADIRAN" in text_ and "Oktober 2026" in text_ and "Drs. Kepala" in text_
    assert "Ngamprah" in text_ and "Kode dokumen" in text_ and "JUMLAH" in text_
    with Session(engine) as s:
        code = month_figures(s, OCT1, office["site"]).sha256
    assert code[:32] in text_
    res = runner.invoke(app, ["recap", "verify", str(out)])
    assert res.exit_code == 0 and "ASLI" in res.output, res.output
    # An edited copy: one figure changed on the page (the metadata kept as it was).
    from pypdf import PdfReader, PdfWriter
    from pypdf.generic import ContentStream, NameObject

    reader = PdfReader(out)
    writer = PdfWriter(clone_from=reader)
    page = writer.pages[0]
    content = page.get_contents().get_data()
    assert b"4.000.000" in content
    stream = ContentStream(None, None)
    stream.set_data(content.replace(b"4.000.000", b"4.000.001", 1))
    page[NameObject("/Contents")] = writer._add_object(stream)
    edited = tmp_path / "edited.pdf"
    with edited.open("wb") as fh:
        writer.write(fh)
    assert "4.000.001" in subprocess.run(["pdftotext", str(edited), "-"], capture_output=True, text=True).stdout
    res = runner.invoke(app, ["recap", "verify", str(edited)])
    assert res.exit_code == 1 and "diubah" in res.output, res.output
    # The period changed after printing: the document no longer matches the hub's figures.
    with Session(engine) as s:
        decide_no_data(s, f"dev:{office['t1']}", DEAD[0], "absent", "terminal berfungsi", "kabid")
        s.commit()
    res = runner.invoke(app, ["recap", "verify", str(out)])
    assert res.exit_code == 1 and "berbeda" in res.output, res.output
    res = runner.invoke(app, ["recap", "verify", str(tmp_path / "nothing.pdf")])
    assert res.exit_code == 1


def test_cli_go_live_and_an_outage_span(engine: Engine, office) -> None:
    from hub.cli.main import app

    with Session(engine) as s:  # Eko never punches: absent wherever the terminal held data
        s.add(Employee(id_number="198609262015051099", employment_type="pns", name="Eko", site_id=office["site"],
                       monthly_tpp=1_000_000))
        s.commit()
        eko = s.scalar(select(Employee.id).where(Employee.name == "Eko"))
    assert _day(engine, eko, date(2026, 10, 22)) == ("TK", 3.0)
    runner = CliRunner()
    res = runner.invoke(app, ["device", "outage", "add", "T1", "--from", "2026-10-22T10:00", "--to",
                              "2026-10-22T18:00", "--note", "listrik padam"])
    assert res.exit_code == 0, res.output
    assert _day(engine, eko, date(2026, 10, 22)) == ("TD", 0.0)
    assert _day(engine, office["Ani"], date(2026, 10, 22)) == ("H", 0.0)  # punches still count
    res = runner.invoke(app, ["device", "outage", "list", "T1", "--format", "csv"])
    assert res.exit_code == 0 and "listrik padam" in res.output
    res = runner.invoke(app, ["device", "outage", "add", "T1", "--from", "kemarin", "--note", "x"])
    assert res.exit_code != 0 and "kemarin" in res.output
    res = runner.invoke(app, ["site", "go-live", "DINAS", "2026-10-23"])
    assert res.exit_code == 0, res.output
    with Session(engine) as s:
        assert min(d.day for d in month_figures(s, OCT1).days[eko]) == date(2026, 10, 23)
    res = runner.invoke(app, ["site", "go-live", "DINAS", "23-10-2026"])
    assert res.exit_code != 0 and "YYYY-MM-DD" in res.output


def test_cli_decisions_per_terminal_day(engine: Engine, office) -> None:
    from hub.cli.main import app

    runner = CliRunner()
    res = runner.invoke(app, ["nodata", "list", "--month", "2026-10", "--site", "DINAS", "--format", "csv"])
    assert res.exit_code == 0, res.output
    lines = [ln for ln in res.output.splitlines() if ln.startswith("T1 ")]
    assert len(lines) == 3 and all(",4," in ln and ln.endswith(",belum") for ln in lines)
    res = runner.invoke(app, ["nodata", "decide", "--terminal", "T1", "--day", "2026-10-13", "--present",
                              "--reason", "terminal mati, daftar hadir manual", "--by", "kabid"])
    assert res.exit_code == 0, res.output
    res = runner.invoke(app, ["nodata", "decide", "--terminal", "T9", "--day", "2026-10-13", "--absent",
                              "--reason", "x"])
    assert res.exit_code != 0 and "T9" in res.output
    res = runner.invoke(app, ["nodata", "decide", "--terminal", "T1", "--day", "2026-10-14", "--reason", "x"])
    assert res.exit_code != 0 and "--present" in res.output
    assert _day(engine, office["Budi"], DEAD[0]) == ("H", 0.0)
    res = runner.invoke(app, ["quarantine", "list", "--month", "2026-10", "--format", "csv"])
    assert "T2 Samping,2026-10-20,2,2,clock_suspect" in res.output
    res = runner.invoke(app, ["quarantine", "decide", "--device", "T2", "--day", "2026-10-20", "--accept",
                              "--reason", "selisih jam 4 menit", "--by", "kabid"])
    assert res.exit_code == 0 and "2 punch diterima" in res.output, res.output
    assert _day(engine, office["Dedi"], DRIFT) == ("H", 0.0)
    res = runner.invoke(app, ["quarantine", "decide", "--device", "T1", "--day", "2026-10-21", "--reject",
                              "--reason", "x"])
    assert res.exit_code != 0 and "tidak ada punch yang ditahan" in res.output
