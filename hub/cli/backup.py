"""hub backup / hub restore: the store to a file and back, the key kept apart."""

from __future__ import annotations

from pathlib import Path

import typer

from hub.cli.common import console, fail
from hub.config import get_settings, redact_url
from hub.i18n import tr
from hub.store.backup import BackupError, Manifest, backups, restore


def _show(step: str) -> None:
    console.print(f"· {step}", style="dim")


def take(dir_: Path | None, keep: int | None) -> Manifest:
    """One backup as `hub backup` and the pre-upgrade backup take it (fails plainly)."""
    from hub.store.backup import backup as run_backup  # noqa: PLC0415

    settings = get_settings()
    out = dir_ or settings.backup.path(settings.var_path)
    try:
        m = run_backup(settings.effective_database_url(), out, keep, _show)
    except BackupError as exc:
        fail(str(exc))
    rows = sum(m.tables.values())
    console.print(tr(f"Cadangan: {out / m.file} ({m.size:,} byte, {rows:,} baris di {len(m.tables)} tabel, "
                     f"revisi {m.revision}, {m.seconds:.1f} dtk)",
                     f"Backup: {out / m.file} ({m.size:,} bytes, {rows:,} rows in {len(m.tables)} tables, "
                     f"revision {m.revision}, {m.seconds:.1f} s)"))
    return m


def backup_cmd(
    dir_: Path = typer.Option(None, "--dir", help="folder tujuan (bawaan: [backup] dir atau var/backups)"),
    keep: int = typer.Option(None, "--keep", min=1, help="simpan hanya N cadangan terbaru di folder itu"),
    list_: bool = typer.Option(False, "--list", help="tampilkan cadangan yang ada"),
) -> None:
    """Cadangkan basis data (PostgreSQL: pg_dump; SQLite: API backup daring). Kunci enkripsi TIDAK ikut."""
    settings = get_settings()
    out = dir_ or settings.backup.path(settings.var_path)
    if list_:
        for m in backups(out):
            console.print(f"{m.created_at}  {m.file}  {m.size:,}  {sum(m.tables.values()):,} "
                          f"{tr('baris', 'rows')}  {m.revision}")
        return
    take(out, keep if keep is not None else settings.backup.keep)
    console.print(tr("Kunci enkripsi tidak ada di cadangan: simpan salinan HUB_SECRET_KEY atau var/secret.key di "
                     "tempat lain yang aman; tanpa kunci itu template, foto dan sandi terminal tidak bisa dibuka.",
                     "The encryption key is not in the backup: keep a copy of HUB_SECRET_KEY or var/secret.key "
                     "somewhere else that is safe; without it templates, photos and terminal passwords cannot "
                     "be opened."), style="yellow")


def restore_cmd(
    path: Path = typer.Argument(..., exists=True, dir_okay=False, help="berkas cadangan atau manifes .json-nya"),
    other_key: bool = typer.Option(False, "--other-key", help="pulihkan walau kunci enkripsi berbeda"),
) -> None:
    """Pulihkan cadangan ke basis data KOSONG (HUB_DATABASE_URL), lalu cocokkan jumlah baris setiap tabel."""
    url = get_settings().effective_database_url()
    try:
        done = restore(path, url, other_key, _show)
    except BackupError as exc:
        fail(str(exc))
    rows = sum(done.tables.values())
    console.print(tr(f"Dipulihkan ke {redact_url(url)}: {rows:,} baris di {len(done.tables)} tabel, revisi "
                     f"{done.manifest.revision} (cadangan {done.manifest.created_at}).",
                     f"Restored into {redact_url(url)}: {rows:,} rows in {len(done.tables)} tables, revision "
                     f"{done.manifest.revision} (backup of {done.manifest.created_at})."))
    if done.differs:
        for table, (want, got) in done.differs.items():
            console.print(f"  {table}: {tr('manifes', 'manifest')} {want}, {tr('dipulihkan', 'restored')} {got}",
                          style="red")
        fail(tr("jumlah baris tidak sama dengan manifes", "row counts differ from the manifest"),
             tr("jangan pakai basis data ini; coba cadangan lain", "do not use this database; try another backup"))
    if not done.key_matches:
        console.print(tr("Kunci enkripsi berbeda: data terenkripsi tidak akan terbuka.",
                         "A different encryption key: encrypted data will not open."), style="yellow")
    console.print(tr("Lalu: `hub db upgrade` (bila hub lebih baru dari cadangan) dan `hub doctor`.",
                     "Then: `hub db upgrade` (if the hub is newer than the backup) and `hub doctor`."))
