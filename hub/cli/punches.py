"""hub punch: browse the stored punches."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import typer
from sqlalchemy import select

from hub.cli.common import OutputFormat, emit, fail, store
from hub.i18n import tr
from hub.punch import PunchFlag
from hub.store.models import Device, Employee, RawPunch, Site

app = typer.Typer(help=tr("Data punch (absen) tersimpan.", "Stored punches."), no_args_is_help=True)


def _day(value: str | None, label: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        fail(tr(f"{label} '{value}' bukan tanggal YYYY-MM-DD", f"{label} '{value}' is not YYYY-MM-DD"))


@app.command("list")
def punch_list(
    device: str | None = typer.Option(None, "--device", help="nomor seri terminal"),
    site: str | None = typer.Option(None, "--site", help="kode kantor (terminal di kantor itu)"),
    employee: str | None = typer.Option(None, "--employee", help="NIP/NI pegawai"),
    date_from: str | None = typer.Option(None, "--from", help="tanggal awal (lokal terminal)"),
    date_to: str | None = typer.Option(None, "--to", help="tanggal akhir (inklusif)"),
    flag: str | None = typer.Option(None, "--flag", help="mis. unknown_pin, clock_suspect"),
    limit: int = typer.Option(1000, "--limit"),
    fmt: OutputFormat = typer.Option(OutputFormat.table, "--format"),
) -> None:
    """Daftar punch dengan filter."""
    start, end = _day(date_from, "--from"), _day(date_to, "--to")
    with store() as s:
        q = (select(RawPunch, Device.serial, Employee.id_number, Employee.name)
             .join(Device, RawPunch.device_id == Device.id)
             .outerjoin(Employee, RawPunch.employee_id == Employee.id))
        if device:
            q = q.where(Device.serial == device)
        if site:
            q = q.join(Site, Device.site_id == Site.id).where(Site.code == site)
        if employee:
            q = q.where(Employee.id_number == employee)
        if start:
            q = q.where(RawPunch.local_time >= datetime.combine(start, datetime.min.time()))
        if end:
            q = q.where(RawPunch.local_time < datetime.combine(end + timedelta(days=1),
                                                               datetime.min.time()))
        if flag:
            try:
                mask = int(PunchFlag.parse(flag))
            except KeyError:
                fail(tr(f"flag '{flag}' tidak dikenal", f"unknown flag '{flag}'"),
                     ", ".join(f.name.lower() for f in PunchFlag if f.value))
            q = q.where(RawPunch.flags.op("&")(mask) != 0)
        q = q.order_by(RawPunch.utc_time, RawPunch.id).limit(limit)
        rows = [{"id": p.id, "device": serial, "pin": p.pin, "nip": nip, "name": name,
                 "local_time": p.local_time, "tz": p.tz, "utc_time": p.utc_time,
                 "state": p.state, "verify": p.verify, "source": p.source,
                 "flags": ",".join(PunchFlag.names_of(p.flags))}
                for p, serial, nip, name in s.execute(q)]
    emit(rows, ["id", "device", "pin", "nip", "name", "local_time", "tz", "utc_time", "state",
                "verify", "source", "flags"], fmt, title=tr("Punch", "Punches"))
