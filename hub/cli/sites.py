"""hub site: offices (OPD) and their units."""

from __future__ import annotations

import typer
from sqlalchemy import select

from hub.cli.common import OutputFormat, audit, cli_actor, emit, fail, store
from hub.fleet.registry import RegistryError, validate_zone
from hub.i18n import tr
from hub.store.models import Site

app = typer.Typer(help=tr("Kantor (OPD) dan unitnya.", "Offices (OPD) and their units."),
                  no_args_is_help=True)


@app.command("add")
def site_add(
    code: str = typer.Argument(..., help="kode unik, mis. DISKOMINFO"),
    name: str = typer.Option(..., "--name", help="nama kantor"),
    parent: str | None = typer.Option(None, "--parent", help="kode kantor induk"),
    kind: str = typer.Option("opd", "--kind", help="opd | bidang | uptd | sekolah | puskesmas | kecamatan | kelurahan"),
    tz: str = typer.Option("Asia/Jakarta", "--tz"),
    lat: float | None = typer.Option(None, "--lat"),
    lon: float | None = typer.Option(None, "--lon"),
    geofence_m: int | None = typer.Option(None, "--geofence-m", help="radius absen mobile (meter)"),
) -> None:
    """Tambah kantor/unit."""
    try:
        validate_zone(tz)
    except RegistryError as exc:
        fail(str(exc))
    if lat is not None and not -90 <= lat <= 90 or lon is not None and not -180 <= lon <= 180:
        fail(tr("koordinat di luar rentang (lat -90..90, lon -180..180)",
                "coordinates out of range (lat -90..90, lon -180..180)"))
    with store() as s:
        if s.scalar(select(Site.id).where(Site.code == code)) is not None:
            fail(tr(f"kode kantor '{code}' sudah dipakai", f"office code '{code}' already exists"))
        parent_id = None
        if parent:
            parent_id = s.scalar(select(Site.id).where(Site.code == parent))
            if parent_id is None:
                fail(tr(f"kantor induk '{parent}' tidak ditemukan", f"parent office '{parent}' not found"),
                     tr("tambahkan induknya dulu", "add the parent first"))
        site = Site(code=code, name=name, parent_id=parent_id, kind=kind, tz=tz, latitude=lat,
                    longitude=lon, geofence_m=geofence_m)
        s.add(site)
        s.flush()
        audit(s, cli_actor(), "site.add", "site", site.id, code=code, name=name)
    typer.echo(tr(f"Kantor {code} ditambahkan.", f"Office {code} added."))


@app.command("list")
def site_list(fmt: OutputFormat = typer.Option(OutputFormat.table, "--format")) -> None:
    """Daftar kantor."""
    with store() as s:
        sites = s.scalars(select(Site).order_by(Site.code)).all()
        codes = {x.id: x.code for x in sites}
        rows = [{"code": x.code, "name": x.name, "kind": x.kind,
                 "parent": codes.get(x.parent_id or -1), "tz": x.tz, "go_live": x.go_live} for x in sites]
    emit(rows, ["code", "name", "kind", "parent", "tz", "go_live"], fmt, title=tr("Kantor", "Offices"))


@app.command("go-live")
def site_go_live(code: str = typer.Argument(..., help="kode kantor"),
                 day: str = typer.Argument(..., help="YYYY-MM-DD, atau 'none' untuk menghapus")) -> None:
    """Tanggal mulai presensi kantor (dan unitnya): hari sebelumnya tidak dinilai."""
    from datetime import date

    try:
        value = None if day.lower() == "none" else date.fromisoformat(day)
    except ValueError:
        fail(tr(f"tanggal '{day}' tidak sah; gunakan YYYY-MM-DD", f"date '{day}' is not valid; use YYYY-MM-DD"))
    with store() as s:
        site = s.scalar(select(Site).where(Site.code == code))
        if site is None:
            fail(tr(f"kantor '{code}' tidak ditemukan", f"office '{code}' not found"),
                 tr("lihat `hub site list`", "see `hub site list`"))
        before = site.go_live
        site.go_live = value
        audit(s, cli_actor(), "site.go_live", "site", site.id, code=code, before=before, after=value)
    typer.echo(tr(f"Go-live {code}: {value or '-'}", f"Go-live of {code}: {value or '-'}"))
