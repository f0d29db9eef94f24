"""hub employee: import and list the roster."""

from __future__ import annotations

from pathlib import Path

import typer
from sqlalchemy import select

from hub.cli.common import OutputFormat, audit, cli_actor, console, emit, fail, store
from hub.i18n import tr
from hub.roster.importer import ImportFileError, import_employees
from hub.store.models import Employee, Site

app = typer.Typer(help=tr("Pegawai: impor dari SIMPEG/SIASN, daftar.", "Employees: import, list."),
                  no_args_is_help=True)


@app.command("import")
def employee_import(path: Path = typer.Argument(..., exists=True, dir_okay=False,
                                                help="berkas CSV atau XLSX"),
                    site_column: str | None = typer.Option(None, "--site-column",
                                                           help="judul kolom kantor bila tidak dikenali"),
                    no_site: bool = typer.Option(False, "--no-site",
                                                 help="berkas memang tanpa kolom kantor")) -> None:
    """Impor pegawai dari ekspor SIMPEG/SIASN (CSV/XLSX)."""
    with store() as s:
        try:
            result = import_employees(s, path, site_column=site_column, require_site=not no_site)
        except ImportFileError as exc:
            fail(str(exc), tr("periksa baris judul: minimal kolom NIP, NAMA dan OPD/unit kerja.",
                              "check the header row: at least NIP, NAMA and the office column."))
        audit(s, cli_actor(), "employee.import", "file", path.name, created=result.created,
              updated=result.updated, unchanged=result.unchanged, errors=len(result.errors))
    console.print(tr(
        f"{result.rows} baris: {result.created} baru, {result.updated} diperbarui, "
        f"{result.unchanged} tidak berubah, {len(result.errors)} ditolak.",
        f"{result.rows} rows: {result.created} new, {result.updated} updated, "
        f"{result.unchanged} unchanged, {len(result.errors)} rejected."))
    if result.site_column:
        console.print(tr(f"Kantor dibaca dari kolom '{result.site_column}'.",
                         f"Offices read from column '{result.site_column}'."))
    if result.unrecognised_columns:
        console.print(tr(f"Kolom yang tidak dibaca: {', '.join(result.unrecognised_columns)}",
                         f"Columns not read: {', '.join(result.unrecognised_columns)}"), style="yellow")
    for name, count in result.unknown_sites.most_common():
        console.print(tr(f"  kantor '{name}' belum terdaftar: {count} baris (tambahkan dengan `hub site add`)",
                         f"  office '{name}' is not registered: {count} rows (add it with `hub site add`)"),
                      style="red")
    for err in result.errors:
        console.print(f"  [red]{tr('baris', 'row')} {err.row}[/]: {err.reason}")
    if result.errors:
        console.print(tr("Perbaiki baris di atas lalu impor ulang berkas yang sama; baris yang "
                         "sudah masuk tidak akan berubah.",
                         "Fix the rows above and import the same file again; rows already "
                         "imported will not change."), style="yellow")
        raise typer.Exit(3)


@app.command("list")
def employee_list(
    site: str | None = typer.Option(None, "--site"),
    search: str | None = typer.Option(None, "--search", help="bagian nama atau NIP"),
    include_left: bool = typer.Option(False, "--all", help="termasuk yang sudah keluar"),
    fmt: OutputFormat = typer.Option(OutputFormat.table, "--format"),
) -> None:
    """Daftar pegawai."""
    with store() as s:
        q = select(Employee, Site.code).outerjoin(Site, Employee.site_id == Site.id)
        if site:
            q = q.where(Site.code == site)
        if search:
            like = f"%{search}%"
            q = q.where(Employee.name.ilike(like) | Employee.id_number.like(like))
        if not include_left:
            q = q.where(Employee.active.is_(True))
        rows = [{"id_number": e.id_number, "name": e.name, "type": e.employment_type,
                 "site": code, "position": e.position, "grade": e.grade,
                 "active": "ya" if e.active else "keluar"}
                for e, code in s.execute(q.order_by(Employee.name))]
    emit(rows, ["id_number", "name", "type", "site", "position", "grade", "active"], fmt,
         title=tr("Pegawai", "Employees"), headers={"id_number": "NIP/NI"})
