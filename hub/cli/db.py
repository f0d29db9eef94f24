"""hub db: create, upgrade and inspect the store."""

from __future__ import annotations

import typer

from hub.cli.common import console, fail
from hub.config import get_settings, redact_url
from hub.i18n import tr
from hub.store import partitions as parts
from hub.store.db import current_revision, downgrade, get_engine, head_revision, is_initialised, upgrade

app = typer.Typer(help=tr("Basis data: buat, perbarui, periksa.", "Database: create, upgrade, inspect."),
                  no_args_is_help=True)


@app.command("upgrade")
def db_upgrade(revision: str = typer.Argument("head"),
               backup: bool = typer.Option(True, "--backup/--no-backup",
                                           help="cadangkan dulu bila ada data dan skema akan berubah")) -> None:
    """Buat atau perbarui skema basis data (Alembic), dengan cadangan sebelum perubahan."""
    url = get_settings().effective_database_url()
    engine = get_engine(url)
    before = current_revision(engine) if is_initialised(engine) else None
    if backup and before is not None and before != head_revision(url):
        from hub.cli.backup import take  # noqa: PLC0415

        m = take(None, None)
        console.print(tr(f"Bila pembaruan gagal atau hub baru bermasalah: hentikan hub, pasang versi hub "
                         f"sebelumnya, lalu `hub restore {m.file}` ke basis data kosong (revisi {before}).",
                         f"If the upgrade fails or the new hub misbehaves: stop the hub, install the previous "
                         f"hub version, then `hub restore {m.file}` into an empty database (revision {before})."),
                      style="yellow")
    try:
        upgrade(url, revision)
    except Exception as exc:  # noqa: BLE001 - show any driver error plainly
        fail(tr(f"migrasi gagal: {exc}", f"migration failed: {exc}"),
             tr("periksa HUB_DATABASE_URL dan apakah server basis data berjalan.",
                "check HUB_DATABASE_URL and that the database server is running."))
    if revision == "head":  # a hub that was off for months finds its punch months made (PostgreSQL)
        _made(parts.ensure(get_engine(url)))
    console.print(tr(f"Basis data siap ({redact_url(url)}) pada revisi {current_revision(get_engine(url))}.",
                     f"Database ready ({redact_url(url)}) at revision {current_revision(get_engine(url))}."))


@app.command("downgrade")
def db_downgrade(revision: str = typer.Argument(..., help="target revision, e.g. -1 or base"),
                 yes: bool = typer.Option(False, "--yes", help="confirm")) -> None:
    """Turunkan skema (hati-hati: dapat menghapus tabel)."""
    if not yes:
        fail(tr("downgrade dapat menghapus data.", "a downgrade can drop data."),
             tr("ulangi dengan --yes bila yakin.", "repeat with --yes if you are sure."))
    downgrade(get_settings().effective_database_url(), revision)
    console.print(tr("Selesai.", "Done."))


@app.command("status")
def db_status() -> None:
    """Tampilkan revisi basis data saat ini dan revisi terbaru."""
    url = get_settings().effective_database_url()
    cur = current_revision(get_engine(url))
    head = head_revision(url)
    console.print(f"URL: {redact_url(url)}")
    console.print(tr(f"revisi: {cur or '-'} (terbaru: {head})", f"revision: {cur or '-'} (head: {head})"))
    if cur != head:
        console.print(tr("Jalankan `hub db upgrade`.", "Run `hub db upgrade`."), style="yellow")


def _made(made: list[parts.Made]) -> None:
    for m in made:
        console.print(tr(f"partisi {m.name} dibuat ({m.moved:,} presensi dipindah dari partisi bawaan)",
                         f"partition {m.name} made ({m.moved:,} punches moved from the default partition)"))


@app.command("partitions")
def db_partitions(ensure: bool = typer.Option(False, "--ensure",
                                              help="buat partisi bulan yang belum ada (seperti tugas malam)")) -> None:
    """PostgreSQL: partisi bulanan tabel presensi (raw_punches), jumlah baris dan ukurannya."""
    from rich.table import Table  # noqa: PLC0415

    engine = get_engine(get_settings().effective_database_url())
    with engine.connect() as conn:
        partitioned = parts.is_partitioned(conn)
    if not partitioned:
        console.print(tr("Tabel presensi tidak dipartisi di basis data ini (SQLite: satu tabel; PostgreSQL: "
                         "jalankan `hub db upgrade`).", "The punch table is not partitioned in this database "
                         "(SQLite: one table; PostgreSQL: run `hub db upgrade`)."))
        return
    if ensure:
        _made(parts.ensure(engine))
    with engine.connect() as conn:
        rows = parts.partitions(conn)
        strays = parts.strays(conn)
    table = Table(tr("Bulan", "Month"), tr("Tabel", "Table"), tr("Baris (perkiraan)", "Rows (estimate)"),
                  tr("Ukuran", "Size"))
    for p in rows:
        table.add_row(f"{p.month:%Y-%m}" if p.month else tr("lainnya", "other"), p.name, f"{p.rows:,}",
                      f"{p.bytes / 2**20:,.1f} MB")
    console.print(table)
    if strays:
        console.print(tr(f"Di partisi bawaan: {sum(strays.values()):,} presensi dari {len(strays)} bulan "
                         "(jam terminal yang salah, atau impor lama: bulan dengan "
                         f"{parts.MIN_ROWS:,}+ presensi mendapat partisinya sendiri).",
                         f"In the default partition: {sum(strays.values()):,} punches of {len(strays)} months "
                         f"(a wrong terminal clock, or an old import: a month with {parts.MIN_ROWS:,}+ punches "
                         "gets its own partition)."))
