"""The CLI against a real store: sites, devices, employees, punches."""

from __future__ import annotations

import csv
import io
import json
import random
from datetime import datetime
from pathlib import Path

import pytest
from openpyxl import Workbook
from sqlalchemy import select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from hub.cli.main import app
from hub.punch import Punch, Source, State
from hub.store.ingest import ingest_punches
from hub.store.models import AuditLog, Device, Employee

runner = CliRunner()


def hub(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.output


def test_help_lists_command_groups(settings) -> None:
    code, out = hub("--help")
    assert code == 0
    for group in ("db", "site", "device", "employee", "punch", "status"):
        assert group in out


def test_site_and_device_lifecycle(settings, engine) -> None:
    assert hub("site", "add", "DISKOMINFO", "--name", "Dinas Kominfo")[0] == 0
    assert hub("site", "add", "DISKOMINFO", "--name", "again")[0] == 1
    code, out = hub("device", "add", "SN100", "--kind", "zk-tcp", "--host", "127.0.0.1",
                    "--site", "DISKOMINFO", "--comm-key", "4321", "--tz", "Asia/Makassar")
    assert code == 0, out
    # Validation with clear errors: bad host, port, zone, kind, unknown site.
    for args, needle in [
        (["--kind", "zk-tcp", "--host", "bad host!"], "bukan IP"),
        (["--kind", "zk-tcp", "--host", "999.1.1.1"], "bukan IP"),  # an address that does not parse
        (["--kind", "zk-tcp", "--host", "10.0.0.300"], "bukan IP"),
        (["--kind", "zk-tcp", "--host", "10.0.0.1", "--port", "70000"], "port 70000"),
        (["--kind", "zk-tcp", "--host", "10.0.0.1", "--tz", "Asia/Bandung"], "zona waktu"),
        (["--kind", "telnet", "--host", "10.0.0.1"], "jenis 'telnet'"),
        (["--kind", "zk-tcp", "--host", "10.0.0.1", "--site", "NOPE"], "NOPE"),
        (["--kind", "zk-serial"], "--line"),
    ]:
        code, out = hub("device", "add", "SN-BAD", *args)
        assert code == 1 and needle in out, (args, out)
    code, out = hub("device", "show", "SN100")
    assert code == 0 and "4321" not in out and "********" in out and "Asia/Makassar" in out
    code, out = hub("device", "list", "--format", "json")
    rows = json.loads(out)
    assert [r["serial"] for r in rows] == ["SN100"]
    assert hub("device", "edit", "SN100", "--port", "5005", "--name", "Lobi")[0] == 0
    with Session(engine) as s:
        d = s.scalar(select(Device).where(Device.serial == "SN100"))
        assert (d.port, d.name) == (5005, "Lobi")
        assert b"4321" not in d.comm_key_enc  # stored encrypted
        assert [a.action for a in s.scalars(select(AuditLog).order_by(AuditLog.id))] == [
            "site.add", "device.add", "device.edit"]
    assert hub("device", "edit", "SN100", "--tz", "Mars/Base")[0] == 1
    # A terminal with punches is never deleted, only disabled.
    with Session(engine) as s:
        dev_id = s.scalar(select(Device.id))
    ingest_punches(engine, [Punch(dev_id, Source.ZK_TCP, "1", datetime(2026, 11, 3, 7, 30),
                                  "Asia/Makassar", State.CHECK_IN)])
    code, out = hub("device", "remove", "SN100")
    assert code == 1 and "--disable" in out
    assert hub("device", "remove", "SN100", "--disable")[0] == 0
    with Session(engine) as s:
        assert s.scalar(select(Device.enabled)) is False


def _nip(rng: random.Random) -> str:
    return (f"{rng.randint(1965, 1999)}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}"
            f"{rng.randint(2020, 2024)}{rng.randint(1, 12):02d}{rng.choice('12')}"
            f"{rng.randint(1, 999):03d}")


def employee_rows(n: int = 100, bad: dict[int, str] | None = None) -> list[list[str]]:
    """n data rows; `bad` maps a data-row index to the kind of fault to put in it."""
    rng = random.Random(7)
    rows = [["No", "NIP", "Nama", "Status Pegawai", "Unit Kerja", "Jabatan", "Gol/Ruang"]]
    seen: set[str] = set()
    for i in range(n):
        nip = _nip(rng)
        while nip in seen:
            nip = _nip(rng)
        seen.add(nip)
        row = [str(i + 1), nip, f"Pegawai {i + 1}", "PNS", "DISDIK", "Staf", "III/a"]
        fault = (bad or {}).get(i)
        if fault == "nip":
            row[1] = nip[:-2]
        elif fault == "name":
            row[2] = " "
        elif fault == "site":
            row[4] = "DINAS ANTAH"
        rows.append(row)
    return rows


BAD = {10: "nip", 50: "name", 97: "site"}


def write_csv(path: Path, rows: list[list[str]]) -> Path:
    buf = io.StringIO()
    csv.writer(buf, delimiter=";").writerows(rows)
    path.write_text(buf.getvalue(), encoding="utf-8")
    return path


def write_xlsx(path: Path, rows: list[list[str]]) -> Path:
    wb = Workbook()
    ws = wb.active
    ws.append(["REKAP PEGAWAI DINAS PENDIDIKAN"])  # title row above the header
    for r in rows:
        ws.append(r)
    wb.save(path)
    return path


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
def test_employee_import_reports_bad_rows_and_is_idempotent(settings, engine, tmp_path,
                                                            kind: str) -> None:
    assert hub("site", "add", "DISDIK", "--name", "Dinas Pendidikan")[0] == 0
    rows = employee_rows(100, BAD)
    if kind == "csv":
        path = write_csv(tmp_path / "pegawai.csv", rows)
        expected_rows = {12, 52, 99}  # header is row 1
    else:
        path = write_xlsx(tmp_path / "pegawai.xlsx", rows)
        expected_rows = {13, 53, 100}  # title row 1, header row 2
    code, out = hub("employee", "import", str(path))
    assert code == 3, out
    assert "97 baru" in out and "3 ditolak" in out
    named = {int(x) for x in __import__("re").findall(r"baris (\d+)\b:", out)}
    assert named == expected_rows, out
    assert "18 digit" in out and "nama kosong" in out and "DINAS ANTAH" in out
    with Session(engine) as s:
        assert len(s.scalars(select(Employee)).all()) == 97
        before = {e.id_number: (e.name, e.updated_at) for e in s.scalars(select(Employee))}
    code, out = hub("employee", "import", str(path))
    assert "0 baru" in out and "0 diperbarui" in out and "97 tidak berubah" in out
    with Session(engine) as s:
        after = {e.id_number: (e.name, e.updated_at) for e in s.scalars(select(Employee))}
    assert after == before
    code, out = hub("employee", "list", "--format", "csv")
    assert code == 0 and len(out.strip().splitlines()) == 98


def test_employee_import_rejects_unreadable_file(settings, tmp_path) -> None:
    bad = tmp_path / "x.csv"
    bad.write_text("foo;bar\n1;2\n")
    code, out = hub("employee", "import", str(bad))
    assert code == 1 and "NIP" in out
    other = tmp_path / "x.pdf"
    other.write_text("%PDF")
    code, out = hub("employee", "import", str(other))
    assert code == 1 and ".pdf" in out


def test_punch_list_filters_and_formats(settings, engine) -> None:
    assert hub("site", "add", "OPD", "--name", "OPD")[0] == 0
    assert hub("device", "add", "SN1", "--kind", "zk-udp", "--host", "127.0.0.1",
               "--site", "OPD")[0] == 0
    assert hub("device", "add", "SN2", "--kind", "zk-udp", "--host", "127.0.0.1")[0] == 0
    with Session(engine) as s:
        ids = {d.serial: d.id for d in s.scalars(select(Device))}
    batch = [Punch(ids["SN1"], Source.ZK_UDP, "1", datetime(2026, 11, d, 7, 30), "Asia/Jakarta",
                   State.CHECK_IN) for d in (2, 3, 4)]
    batch.append(Punch(ids["SN2"], Source.ZK_UDP, "2", datetime(2026, 11, 3, 7, 31),
                       "Asia/Jakarta", State.CHECK_IN))
    ingest_punches(engine, batch)
    code, out = hub("punch", "list", "--device", "SN1", "--format", "json")
    assert code == 0 and len(json.loads(out)) == 3
    code, out = hub("punch", "list", "--site", "OPD", "--from", "2026-11-03", "--to",
                    "2026-11-03", "--format", "csv")
    lines = out.strip().splitlines()
    assert len(lines) == 2 and "2026-11-03 07:30:00" in lines[1]
    code, out = hub("punch", "list", "--flag", "unknown_pin", "--format", "json")
    assert len(json.loads(out)) == 4
    code, out = hub("punch", "list", "--from", "03-11-2026")
    assert code == 1 and "YYYY-MM-DD" in out
    code, out = hub("punch", "list")
    assert code == 0 and "4 baris" in out


def test_employee_import_finds_the_office_column_or_refuses(settings, engine, tmp_path) -> None:
    assert hub("site", "add", "DISDIK", "--name", "Dinas Pendidikan")[0] == 0
    rows = [["nip", "nama", "status", "unit_kerja", "hobi"],
            ["198609262015051001", "Ani", "PNS", "DISDIK", "catur"],
            ["199001012023212001", "Budi", "PPPK", "DINAS ANTAH", "bola"],
            ["TKS-0001", "Citra", "TKS", "DISDIK", ""],
            ["HON-0002", "Dedi", "Honorer", "DINAS ANTAH", ""]]
    code, out = hub("employee", "import", str(write_csv(tmp_path / "a.csv", rows)))
    assert code == 3, out
    assert "dibaca dari kolom 'UNIT KERJA'" in out and "Kolom yang tidak dibaca: HOBI" in out
    assert "kantor 'DINAS ANTAH' belum terdaftar: 2 baris" in out
    with Session(engine) as s:
        kinds = dict(s.execute(select(Employee.name, Employee.employment_type)).all())
    assert kinds == {"Ani": "pns", "Citra": "tks"}
    # A header the importer does not know: refused, nobody filed under no office.
    other = [["NIP", "Nama", "Satuan Organisasi"], ["198001012005011002", "Eko", "DISDIK"]]
    path = write_csv(tmp_path / "b.csv", other)
    code, out = hub("employee", "import", str(path))
    assert code == 1 and "--site-column" in out and "SATUAN ORGANISASI" in out
    code, out = hub("employee", "import", str(path), "--site-column", "Satuan Organisasi")
    assert code == 0, out
    with Session(engine) as s:
        eko = s.scalar(select(Employee).where(Employee.name == "Eko"))
        assert eko.site is not None and eko.site.code == "DISDIK"
    code, out = hub("employee", "import", str(path), "--site-column", "Kantor")
    assert code == 1 and "'Kantor'" in out
    code, out = hub("employee", "import", str(write_csv(tmp_path / "c.csv", [["NIP", "Nama"],
                                                                            ["198001012005011003", "Fajar"]])),
                    "--no-site")
    assert code == 0, out


@pytest.mark.parametrize(("host", "ok"), [("192.168.1.20", True), ("terminal-1.opd.local", True),
                                          ("localhost", True), ("fe80::1", True), ("999.1.1.1", False),
                                          ("1.2.3", False), ("10.0.0.300", False), ("opd..local", False)])
def test_terminal_addresses(host: str, ok: bool) -> None:
    from hub.fleet.registry import RegistryError, validate_host

    if ok:
        assert validate_host(host)
    else:
        with pytest.raises(RegistryError, match="bukan IP|not a valid"):
            validate_host(host)
