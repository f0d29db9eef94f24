"""Reconciliation against the real store, on SQLite and PostgreSQL.

Punches go in through hub.store.ingest (as terminals' punches do); a month is reconciled,
corrections go through propose/approve, a locked period refuses changes, and the recap
files are opened again (openpyxl, csv) and checked against the daily rows.

Citra works at the RSUD, an office with no terminal: her days without punches are TD (no
data), never TK, until a reviewer decides.
"""

from __future__ import annotations

import csv
import io
from datetime import date, datetime, timedelta

import pytest
from openpyxl import load_workbook
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from hub.punch import Punch, Source, State, Verify
from hub.reconcile.corrections import approve_correction, propose_correction, reject_correction
from hub.reconcile.daily import daily_exceptions, reconcile_period
from hub.reconcile.errors import ReconcileError
from hub.reconcile.exports import csv_bytes, xlsx_bytes
from hub.reconcile.leave import add_leave
from hub.reconcile.models import DailyStatus, RecapRow
from hub.reconcile.period import lock_month, month_figures, preview_lock, unlock_month
from hub.reconcile.recap import summed
from hub.reconcile.rules import builtin, builtin_text
from hub.reconcile.ruleset_store import load_ruleset
from hub.reconcile.shifts import set_roster
from hub.store.ingest import ingest_punches
from hub.store.models import AuditLog, Device, Employee, PinMapping, RawPunch, Site

OCT1, OCT31 = date(2026, 10, 1), date(2026, 10, 31)


def seed(engine: Engine) -> dict[str, int]:
    with Session(engine) as s:
        opd = Site(code="DISKOMINFO", name="Dinas Kominfo", tz="Asia/Makassar")
        rsud = Site(code="RSUD", name="RSUD Kabupaten", tz="Asia/Makassar")
        s.add_all([opd, rsud])
        s.flush()
        dev = Device(serial="K40-1", name="Lobi", site_id=opd.id, kind="zk-tcp", tz="Asia/Makassar",
                     capabilities={})
        dev2 = Device(serial="USB-1", name="Impor USB", site_id=opd.id, kind="file", tz="Asia/Makassar",
                      capabilities={})
        s.add_all([dev, dev2])
        emps = [Employee(id_number=f"19860926201505100{i}", employment_type="PNS", name=n, site_id=sid,
                         monthly_tpp=tpp, grade="III/a", position="Pranata Komputer")
                for i, (n, sid, tpp) in enumerate([("Ani", opd.id, 4_000_000), ("Budi", opd.id, 3_000_000),
                                                    ("Citra", rsud.id, 5_000_000)], 1)]
        s.add_all(emps)
        s.flush()
        for e, pin in zip(emps, ("1", "2", "3"), strict=True):
            s.add(PinMapping(employee_id=e.id, pin=pin, pin_group="default"))
        s.commit()
        return {"opd": opd.id, "rsud": rsud.id, "dev": dev.id, "dev2": dev2.id, "ani": emps[0].id,
                "budi": emps[1].id, "citra": emps[2].id}


def punch(dev: int, pin: str, when: datetime, state: State = State.CHECK_IN, source: Source = Source.ZK_TCP):
    return Punch(dev, source, pin, when, "Asia/Makassar", state, Verify.FINGERPRINT)


def workdays(first: date, last: date) -> list[date]:
    return [first + timedelta(i) for i in range((last - first).days + 1) if (first + timedelta(i)).weekday() < 5]


def month_punches(ids: dict[str, int]) -> list[Punch]:
    """Ani: always on time (each punch also imported again from USB). Budi: 40 min late on
    Tuesdays, no punches on 2026-10-14. Citra (RSUD, shifts): nothing unless rostered."""
    out = []
    for d in workdays(OCT1, OCT31):
        for pin, hm_in in (("1", (7, 20)), ("2", (8, 10) if d.weekday() == 1 else (7, 25))):
            if pin == "2" and d == date(2026, 10, 14):
                continue
            out.append(punch(ids["dev"], pin, datetime(d.year, d.month, d.day, *hm_in)))
            end = (16, 35) if d.weekday() == 4 else (16, 5)
            out.append(punch(ids["dev"], pin, datetime(d.year, d.month, d.day, *end), State.CHECK_OUT))
    out += [punch(ids["dev2"], p.pin, p.local_time, State(p.state), Source.FILE) for p in out if p.pin == "1"]
    return out


@pytest.fixture
def store(engine: Engine) -> tuple[Engine, dict[str, int]]:
    ids = seed(engine)
    ingest_punches(engine, month_punches(ids))
    return engine, ids


def statuses(engine: Engine, emp: int) -> dict[date, str]:
    with Session(engine) as s:
        return dict(s.execute(select(DailyStatus.day, DailyStatus.status).where(DailyStatus.employee_id == emp)).all())


def test_reconcile_month_statuses_and_idempotence(store) -> None:
    engine, ids = store
    summary = reconcile_period(engine, OCT1, OCT31, judge_until=OCT31)
    assert summary["employees"] == 3
    ani, budi = statuses(engine, ids["ani"]), statuses(engine, ids["budi"])
    assert len(ani) == 22 and set(ani.values()) == {"H"}
    assert budi[date(2026, 10, 6)] == "TL2" and budi[date(2026, 10, 14)] == "TK"
    assert budi[date(2026, 10, 5)] == "H"
    assert set(statuses(engine, ids["citra"]).values()) == {"TD"}  # no terminal, no data: not absence
    with Session(engine) as s:
        first = sorted(s.execute(select(DailyStatus.employee_id, DailyStatus.day, DailyStatus.status,
                                        DailyStatus.deduction_pct, DailyStatus.punch_ids)).all())
        raw_before = s.scalar(select(func.count()).select_from(RawPunch))
    reconcile_period(engine, OCT1, OCT31, judge_until=OCT31)
    with Session(engine) as s:
        again = sorted(s.execute(select(DailyStatus.employee_id, DailyStatus.day, DailyStatus.status,
                                        DailyStatus.deduction_pct, DailyStatus.punch_ids)).all())
        assert s.scalar(select(func.count()).select_from(RawPunch)) == raw_before
    assert first == again
    # The deciding punches of Ani's days are the terminal's rows (USB copies collapse onto them).
    with Session(engine) as s:
        row = s.scalar(select(DailyStatus).where(DailyStatus.employee_id == ids["ani"],
                                                  DailyStatus.day == date(2026, 10, 5)))
        pids = [int(p) for p in row.punch_ids.split(",")]
        assert {s.get(RawPunch, p).source for p in pids} == {"zk_tcp"}


def test_site_ruleset_roster_and_single_day(store) -> None:
    engine, ids = store
    with Session(engine) as s:
        _, rs = load_ruleset(s, builtin_text("rsud-shift"), source="rsud-shift.toml", actor="admin",
                             site_ids=[ids["rsud"]])
        assert rs.warnings and "pemda-default@2" in rs.warnings[0]
        set_roster(s, [(ids["citra"], date(2026, 10, 6), "M")], actor="admin")
        s.commit()
    ingest_punches(engine, [punch(ids["dev"], "3", datetime(2026, 10, 6, 20, 25)),
                            punch(ids["dev"], "3", datetime(2026, 10, 7, 7, 31), State.CHECK_OUT)])
    reconcile_period(engine, date(2026, 10, 6), date(2026, 10, 7), judge_until=OCT31)
    citra = statuses(engine, ids["citra"])
    assert citra == {date(2026, 10, 6): "H", date(2026, 10, 7): "OFF"}
    with Session(engine) as s:
        assert s.scalar(select(DailyStatus.ruleset).where(DailyStatus.employee_id == ids["citra"]).limit(1)) \
            == "rsud-shift@2"
        # The one-day run touched only its day.
        assert s.scalar(select(func.count()).select_from(DailyStatus)) == 2 + 2 * 2


def test_roster_import_checks_shift_codes(store) -> None:
    engine, ids = store
    from hub.reconcile.shifts import import_roster

    with Session(engine) as s:
        load_ruleset(s, builtin_text("rsud-shift"), site_ids=[ids["rsud"]])
        n = import_roster(s, "nip,tanggal,shift\n198609262015051003,2026-10-06,M\n"
                             "198609262015051003,2026-10-08,p\n", "admin")
        assert n == 2
        with pytest.raises(ReconcileError, match="baris 2.*'X'"):
            import_roster(s, "nip,tanggal,shift\n198609262015051003,2026-10-09,X\n")
        with pytest.raises(ReconcileError, match="baris 1.*tanpa shift|line 1"):
            import_roster(s, "198609262015051001,2026-10-09,M\n")  # Ani's office has no shifts
        s.commit()
    reconcile_period(engine, date(2026, 10, 5), date(2026, 10, 9), judge_until=OCT31)
    citra = statuses(engine, ids["citra"])
    # Rostered, no punches, and the RSUD has no terminal: no data, not absence.
    assert citra[date(2026, 10, 6)] == "TD" and citra[date(2026, 10, 8)] == "TD"
    assert citra[date(2026, 10, 5)] == "OFF"


def test_corrections_approve_flow_and_audit(store) -> None:
    engine, ids = store
    reconcile_period(engine, OCT1, OCT31, judge_until=OCT31)
    tk_day = date(2026, 10, 14)
    with Session(engine) as s:
        exc = daily_exceptions(s, tk_day, ids["opd"])
        assert [(e.employee_id, e.status) for e in exc] == [(ids["budi"], "TK")]
        c = propose_correction(s, employee_id=ids["budi"], day=tk_day, kind="set_status", status="dl",
                               reason="surat tugas 800/12", author="operator")
        with pytest.raises(ReconcileError, match="sendiri"):
            approve_correction(s, c.id, "operator")
        add = propose_correction(s, employee_id=ids["budi"], day=date(2026, 10, 6), kind="add_punch",
                                 local_time=datetime(2026, 10, 6, 7, 28), state="check_in",
                                 reason="mesin mati pagi", author="operator")
        bad = propose_correction(s, employee_id=ids["budi"], day=date(2026, 10, 7), kind="set_status",
                                 status="CT", reason="salah", author="operator")
        cid, add_id, bad_id = c.id, add.id, bad.id
        s.commit()
    reconcile_period(engine, OCT1, OCT31, judge_until=OCT31)
    assert statuses(engine, ids["budi"])[tk_day] == "TK"  # pending changes nothing
    with Session(engine) as s:
        approve_correction(s, cid, "kabid")
        approve_correction(s, add_id, "kabid")
        reject_correction(s, bad_id, "kabid", "tidak ada surat cuti")
        with pytest.raises(ReconcileError):
            approve_correction(s, bad_id, "kabid")
        s.commit()
    reconcile_period(engine, OCT1, OCT31, judge_until=OCT31)
    budi = statuses(engine, ids["budi"])
    # The added 07:28 punch is now the first check-in of a day he clocked at 08:10.
    assert budi[tk_day] == "DL" and budi[date(2026, 10, 6)] == "H" and budi[date(2026, 10, 7)] == "H"
    with Session(engine) as s:
        actions = [a for (a,) in s.execute(select(AuditLog.action).order_by(AuditLog.id))]
    assert actions.count("correction.propose") == 3 and "correction.approve" in actions
    assert "correction.reject" in actions


def _lock(s: Session, site: int | None, by: str = "bpkad", month: date = OCT1):
    preview = preview_lock(s, month, site)
    assert not preview.problems, preview.problems
    return lock_month(s, month, site, by, preview.sha256, reason="rekap final")


def test_period_lock_blocks_changes_until_unlock(store) -> None:
    engine, ids = store
    reconcile_period(engine, OCT1, OCT31, judge_until=OCT31)
    with Session(engine) as s:
        _lock(s, ids["opd"])
        s.commit()
        with pytest.raises(ReconcileError, match="dikunci|locked"):
            propose_correction(s, employee_id=ids["budi"], day=date(2026, 10, 14), kind="set_status",
                               status="S", reason="sakit", author="operator")
        with pytest.raises(ReconcileError):
            add_leave(s, employee_id=ids["budi"], start=date(2026, 10, 14), end=date(2026, 10, 14),
                      type="CT", author="operator")
        # Whatever day it is filed under: a leave from an open month into the locked one.
        with pytest.raises(ReconcileError, match="2026-10"):
            add_leave(s, employee_id=ids["budi"], start=date(2026, 10, 30), end=date(2026, 11, 3),
                      type="CT", author="operator")
        # A void dated in an open month, of a punch in the locked month.
        punch_id = s.scalar(select(RawPunch.id).where(RawPunch.employee_id == ids["budi"]).limit(1))
        with pytest.raises(ReconcileError, match="2026-10"):
            propose_correction(s, employee_id=ids["budi"], day=date(2026, 11, 2), kind="void_punch",
                               punch_id=punch_id, reason="salah orang", author="operator")
    # A late punch is kept, never counted, and listed as arrived after the lock.
    ingest_punches(engine, [punch(ids["dev"], "2", datetime(2026, 10, 14, 7, 10))])
    summary = reconcile_period(engine, OCT1, OCT31, judge_until=OCT31)
    assert summary["skipped_locked"] == 44
    assert statuses(engine, ids["budi"])[date(2026, 10, 14)] == "TK"
    with Session(engine) as s:
        from hub.reconcile.period import arrived_after_lock

        late = arrived_after_lock(s, OCT1, ids["opd"])
        assert [(p.employee_id, p.local_time) for p in late] == [(ids["budi"], datetime(2026, 10, 14, 7, 10))]
        assert month_figures(s, OCT1, ids["opd"]).row_of(ids["budi"])["TK"] == 1
        with pytest.raises(ReconcileError, match="alasan|reason"):
            unlock_month(s, OCT1, ids["opd"], "bpkad", "")
        unlock_month(s, OCT1, ids["opd"], "bpkad", "salah input cuti")
        assert s.scalar(select(func.count()).select_from(RecapRow)) == 0  # the frozen copy went with it
        add_leave(s, employee_id=ids["budi"], start=date(2026, 10, 14), end=date(2026, 10, 14), type="CT",
                  author="operator", reference="800/55/BKPSDM")
        s.commit()
        actions = [a for (a,) in s.execute(select(AuditLog.action))]
    assert {"period.lock", "period.unlock", "leave.add"} <= set(actions)
    reconcile_period(engine, OCT1, OCT31, judge_until=OCT31)
    assert statuses(engine, ids["budi"])[date(2026, 10, 14)] == "CT"


def test_recap_xlsx_and_csv_totals_match_daily_rows(store) -> None:
    engine, ids = store
    reconcile_period(engine, OCT1, OCT31, judge_until=OCT31)
    with Session(engine) as s:
        fig = month_figures(s, "2026-10")
        daily = list(s.scalars(select(DailyStatus)))
    by = {r["employee_id"]: r for r in fig.rows}
    budi = by[ids["budi"]]
    # Budi: 4 Tuesdays at 08:10 (40 min late, TL2 1%), one TK day (3%).
    assert (budi["TL2"], budi["TK"], budi["hadir"], budi["menit_terlambat"]) == (4, 1, 21, 160)
    assert budi["potongan_disiplin_pct"] == 7.0 and budi["persen_kehadiran"] == round(21 * 100 / 22, 2)
    assert budi["potongan_rp"] == 210_000 and budi["tpp_diterima"] == 2_790_000
    assert by[ids["citra"]]["TD"] == 22 and by[ids["citra"]]["TK"] == 0
    assert by[ids["citra"]]["potongan_disiplin_pct"] == 0.0
    # The rows rebuild from the legend: sum(count x %) is the deduction.
    legend = {code: pct or 0 for code, _, _, pct in builtin().legend()}
    for r in fig.rows:
        rebuilt = sum(r[c.key] * legend.get(c.key, 0) for c in fig.columns if c.kind == "count" and c.key != "no")
        assert rebuilt == pytest.approx(r["potongan_pct"]), r["nama"]
        assert r["hari_kerja"] == r["hadir"] + r["TK"] + r["TD"] + r["TV"] + sum(
            r[c] for c in builtin().leave)
    wb = load_workbook(io.BytesIO(xlsx_bytes(fig, pemda="Pemerintah Kabupaten Uji")))
    ws = wb["Rekap Pegawai"]
    header_row = next(i for i, row in enumerate(ws.iter_rows(values_only=True), 1) if row[0] == "No")
    header = [c.value for c in ws[header_row]]
    total_row = next(r for r in ws.iter_rows(values_only=True) if "JUMLAH" in r)
    assert ws["A1"].value == "Pemerintah Kabupaten Uji"
    tot = dict(zip(header, total_row, strict=True))
    assert tot["TK (hari)"] == sum(1 for d in daily if d.status == "TK")
    assert tot["TL2"] == sum(1 for d in daily if "TL2" in d.status.split("+"))
    assert tot["Menit terlambat"] == sum(d.late_min for d in daily)
    assert tot["Hari kerja efektif"] == len(daily)
    body = [r for r in ws.iter_rows(min_row=header_row + 1, values_only=True) if isinstance(r[0], int)]
    assert len(body) == 3
    assert tot["Nominal potongan"] == sum(r[header.index("Nominal potongan")] for r in body)
    assert wb["Rekap OPD"].max_row == 3  # header + 2 offices
    legend_codes = [r[0] for r in wb["Keterangan"].iter_rows(min_row=2, values_only=True) if r[0]]
    assert {"TL1", "TAM", "TK", "TD", "TV", "I"} <= set(legend_codes)
    detail = list(wb["Harian"].iter_rows(min_row=2, values_only=True))
    assert len(detail) == len(daily) == 66
    assert sum(r[7] for r in detail) == tot["Menit terlambat"]
    assert sum(1 for r in detail if r[6] == "TK") == tot["TK (hari)"]
    parsed = list(csv.DictReader(io.StringIO(csv_bytes(fig).decode("utf-8-sig"))))
    assert [p["nip"] for p in parsed] == [r["nip"] for r in fig.rows]
    for key in summed(fig.columns):
        assert sum(float(p[key]) for p in parsed) == pytest.approx(sum(r[key] for r in fig.rows))


def test_lock_freezes_recap_rows(store) -> None:
    engine, ids = store
    with Session(engine) as s:
        lock = _lock(s, None)
        s.commit()
        assert s.scalar(select(func.count()).select_from(RecapRow).where(RecapRow.lock_id == lock.id)) == 3
        fig = month_figures(s, OCT1)
        assert fig.locked and fig.sha256 == lock.figures_sha256
        # The pagu changes after the lock: the locked month keeps what it froze.
        s.get(Employee, ids["budi"]).monthly_tpp = 9_000_000
        s.commit()
        again = month_figures(s, OCT1)
        assert again.row_of(ids["budi"])["tpp_pagu"] == 3_000_000 and again.sha256 == fig.sha256


def test_cli_reconcile_recap_period(store, tmp_path) -> None:
    from hub.cli.main import app

    engine, ids = store
    runner = CliRunner()
    res = runner.invoke(app, ["reconcile", "--month", "2026-10", "--site", "DISKOMINFO"])
    assert res.exit_code == 0, res.output
    out = tmp_path / "rekap.xlsx"
    res = runner.invoke(app, ["recap", "--month", "2026-10", "--format", "xlsx", "--output", str(out), "--detail"])
    assert res.exit_code == 0, res.output
    rows = [r for r in load_workbook(out)["Rekap Pegawai"].iter_rows(values_only=True) if isinstance(r[0], int)]
    assert len(rows) == 3
    assert load_workbook(out)["Harian"].max_row == 1 + 3 * 22
    res = runner.invoke(app, ["period", "lock", "--month", "2026-10", "--site", "DISKOMINFO", "--by", "bpkad"],
                        input="n\n")
    assert res.exit_code != 0 and "Pratinjau" in res.output  # shown, not confirmed: nothing frozen
    res = runner.invoke(app, ["period", "lock", "--month", "2026-10", "--site", "DISKOMINFO", "--by", "bpkad",
                              "--confirm", "0" * 16])
    assert res.exit_code != 0 and "bukan kode" in res.output
    res = runner.invoke(app, ["period", "lock", "--month", "2026-10", "--site", "DISKOMINFO", "--by", "bpkad",
                              "--yes"])
    assert res.exit_code == 0, res.output
    res = runner.invoke(app, ["correction", "add", "--employee", "198609262015051002", "--day", "2026-10-14",
                              "--status", "S", "--reason", "sakit", "--by", "operator"])
    assert res.exit_code != 0 and "dikunci" in res.output
    res = runner.invoke(app, ["recap", "--month", "2026-13", "--format", "csv"])
    assert res.exit_code != 0 and "2026-13" in res.output


def test_bad_requests_are_refused_with_reasons(store) -> None:
    engine, ids = store
    with Session(engine) as s:
        other_punch = s.scalar(select(RawPunch.id).where(RawPunch.employee_id == ids["ani"]).limit(1))
        cases = [
            (lambda: add_leave(s, employee_id=ids["budi"], start=OCT1, end=OCT1, type="XX", author="op"), "XX"),
            (lambda: add_leave(s, employee_id=ids["budi"], start=OCT31, end=OCT1, type="CT", author="op"), ""),
            (lambda: propose_correction(s, employee_id=ids["budi"], day=OCT1, kind="erase", reason="x",
                                        author="op"), "erase"),
            (lambda: propose_correction(s, employee_id=ids["budi"], day=OCT1, kind="set_status", status="H",
                                        reason="  ", author="op"), ""),
            (lambda: propose_correction(s, employee_id=ids["budi"], day=OCT1, kind="void_punch",
                                        punch_id=other_punch, reason="x", author="op"), str(other_punch)),
            (lambda: propose_correction(s, employee_id=ids["budi"], day=OCT1, kind="set_status", status="ZZ",
                                        reason="x", author="op"), "ZZ"),
            (lambda: propose_correction(s, employee_id=999999, day=OCT1, kind="set_status", status="H",
                                        reason="x", author="op"), "999999"),
            (lambda: unlock_month(s, OCT1, None, "bpkad", "alasan"), "2026-10"),
            (lambda: lock_month(s, OCT1, None, "bpkad", "0" * 64), "pratinjau"),
            (lambda: load_ruleset(s, builtin_text("pemda-default").replace("06:00", "05:00"),
                                  source="x.toml") if load_ruleset(s, builtin_text("pemda-default")) else None,
             "version"),
        ]
        for call, fragment in cases:
            with pytest.raises(ReconcileError) as err:
                call()
            assert fragment in str(err.value)
        lock = _lock(s, None)
        with pytest.raises(ReconcileError, match="2026-10"):
            lock_month(s, OCT1, None, "bpkad", lock.figures_sha256)
    with pytest.raises(ReconcileError):
        reconcile_period(engine, OCT31, OCT1)


def test_bulk_leave_import_reports_rows_and_records_nothing_twice(store, tmp_path) -> None:
    from hub.cli.main import app
    from hub.reconcile.models import LeaveEntry

    engine, ids = store
    path = tmp_path / "cuti.csv"
    path.write_text("NIP;Dari;Sampai;Jenis;Nomor Surat;Paraf\n"
                    "19860926 201505 1 001;2026-11-02;2026-11-04;ct;800/12/BKPSDM;x\n"
                    "198609262015051002;03-11-2026;;DL;090/7;\n"
                    "199912312020121009;2026-11-02;2026-11-02;CT;800/13;\n"
                    "198609262015051002;2026-11-31;2026-11-31;CT;800/14;\n"
                    "198609262015051002;2026-11-05;2026-11-05;LIBURAN;800/15;\n"
                    "198609262015051002;2026-11-09;2026-11-06;CT;800/16;\n"
                    "198609262015051002;2026-10-30;2026-11-02;CT;800/17;\n", encoding="utf-8")
    with Session(engine) as s:
        _lock(s, ids["opd"])
        s.commit()
    runner = CliRunner()
    res = runner.invoke(app, ["leave", "import", str(path), "--by", "bkpsdm"])
    assert res.exit_code == 3, res.output
    assert "7 baris: 2 dicatat, 0 sudah ada, 5 ditolak." in res.output
    assert "Kolom yang tidak dibaca: PARAF" in res.output
    for row, fragment in ((4, "tidak dikenal"), (5, "bukan tanggal"), (6, "LIBURAN"), (7, "sebelum"),
                          (8, "dikunci")):
        assert f"baris {row}" in res.output and fragment in res.output.split(f"baris {row}")[1].split("\n")[0]
    res = runner.invoke(app, ["leave", "import", str(path), "--by", "bkpsdm"])
    assert "2 sudah ada" in res.output
    with Session(engine) as s:
        got = sorted((e.employee_id, e.date_from, e.date_to, e.type, e.reference)
                     for e in s.scalars(select(LeaveEntry)))
    assert got == [(ids["ani"], date(2026, 11, 2), date(2026, 11, 4), "CT", "800/12/BKPSDM"),
                   (ids["budi"], date(2026, 11, 3), date(2026, 11, 3), "DL", "090/7")]
    bad = tmp_path / "bad.csv"
    bad.write_text("Nama;Tanggal\nAni;2026-11-02\n")
    res = runner.invoke(app, ["leave", "import", str(bad)])
    assert res.exit_code == 1 and "NIP" in res.output
