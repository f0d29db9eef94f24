"""hub reconcile / recap / correction / leave / period / ruleset: attendance review on the CLI."""

from __future__ import annotations

import sys
from datetime import date, datetime, time
from pathlib import Path

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.cli.common import OutputFormat, cli_actor, console, emit, engine, err_console, fail, store
from hub.i18n import tr
from hub.reconcile.errors import ReconcileError, month_bounds
from hub.reconcile.rules import RulesetError
from hub.store.models import Employee, Site

correction_app = typer.Typer(help=tr("Koreksi absensi (usul, setujui, tolak).",
                                     "Attendance corrections (propose, approve, reject)."), no_args_is_help=True)
leave_app = typer.Typer(help=tr("Cuti, dinas luar, izin, sakit.", "Leave, official travel, permission, sick."),
                        no_args_is_help=True)
period_app = typer.Typer(help=tr("Kunci/buka periode bulanan.", "Lock/unlock a monthly period."),
                         no_args_is_help=True)
nodata_app = typer.Typer(help=tr("Hari tanpa data terminal (TD): daftar dan keputusan per terminal-hari.",
                                 "Days without terminal data (TD): list and decide per terminal-day."),
                         no_args_is_help=True)
quarantine_app = typer.Typer(help=tr("Punch yang ditahan (jam menyimpang, foto tidak cocok): terima atau tolak.",
                                     "Quarantined punches (drifted clock, photo mismatch): accept or reject."),
                             no_args_is_help=True)
ruleset_app = typer.Typer(help=tr("Aturan jam kerja dan potongan TPP per Pemda.",
                                  "Working-hour and TPP deduction rulesets per Pemda."), no_args_is_help=True)

PHASES = {"load": tr("memuat pegawai", "loading employees"), "punches": tr("membaca punch", "reading punches"),
          "rules": tr("membaca aturan", "reading rules"), "engine": tr("menghitung", "computing"),
          "write": tr("menyimpan", "writing")}


def _month(value: str) -> tuple[date, date]:
    try:
        return month_bounds(value)
    except ReconcileError as exc:
        fail(str(exc))


def _day(value: str, what: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        fail(tr(f"{what} '{value}' tidak sah; gunakan YYYY-MM-DD", f"{what} '{value}' is not valid; use YYYY-MM-DD"))


def _site_id(s: Session, code: str | None) -> int | None:
    if code is None:
        return None
    sid = s.scalar(select(Site.id).where(Site.code == code))
    if sid is None:
        fail(tr(f"kantor '{code}' tidak ditemukan", f"office '{code}' not found"),
             tr("lihat daftar dengan `hub site list`", "see `hub site list`"))
    return sid


def _employee_id(s: Session, key: str) -> int:
    eid = s.scalar(select(Employee.id).where(Employee.id_number == key))
    if eid is None and key.isdigit() and len(key) < 10:
        eid = s.scalar(select(Employee.id).where(Employee.id == int(key)))
    if eid is None:
        fail(tr(f"pegawai '{key}' tidak ditemukan (NIP atau id)", f"employee '{key}' not found (NIP or id)"))
    return eid


def reconcile_cmd(
    month: str = typer.Option(..., "--month", help="YYYY-MM"),
    site: str | None = typer.Option(None, "--site", help="kode kantor"),
) -> None:
    """Hitung status harian sebulan dari punch, koreksi, cuti dan aturan."""
    from hub.reconcile.daily import reconcile_period

    first, last = _month(month)
    eng = engine()
    with Session(eng) as s:
        sid = _site_id(s, site)
    with Progress(TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn(), console=console,
                  transient=True) as bar:
        task = bar.add_task(tr("rekonsiliasi", "reconciling"), total=5)

        def step(phase: str, done: int, total: int) -> None:
            bar.update(task, completed=done, total=total, description=PHASES.get(phase, phase))

        try:
            summary = reconcile_period(eng, first, last, [sid] if sid is not None else None,
                                       actor=cli_actor(), progress=step)
        except (ReconcileError, RulesetError) as exc:
            fail(str(exc), tr("perbaiki berkas ruleset lalu `hub ruleset load`", "fix the ruleset, then reload it"))
    console.print(tr(f"{summary['days']} hari-pegawai untuk {summary['employees']} pegawai "
                     f"({summary['seconds']} dtk)", f"{summary['days']} employee-days for "
                     f"{summary['employees']} employees ({summary['seconds']} s)"))
    if summary["skipped_locked"]:
        console.print(tr(f"{summary['skipped_locked']} hari tidak diubah: periode terkunci "
                         f"{', '.join(summary['locked_months'])}",
                         f"{summary['skipped_locked']} days left as they were: locked "
                         f"{', '.join(summary['locked_months'])}"), style="yellow")
    emit([{"kode": k, "jumlah": v} for k, v in summary["codes"].items()], ["kode", "jumlah"],
         OutputFormat.table, title=tr("Status", "Statuses"))


recap_app = typer.Typer(help=tr("Rekap bulanan per pegawai dan per OPD; periksa keaslian PDF.",
                                "Monthly recap per employee and office; check a PDF's authenticity."),
                        invoke_without_command=True)


@recap_app.callback()
def recap_cmd(
    ctx: typer.Context,
    month: str | None = typer.Option(None, "--month", help="YYYY-MM"),
    site: str | None = typer.Option(None, "--site", help="kode kantor (beserta unitnya)"),
    fmt: str = typer.Option("xlsx", "--format", help="xlsx | csv | pdf"),
    output: Path | None = typer.Option(None, "--output", "-o", help="berkas tujuan (csv: default stdout)"),
    detail: bool = typer.Option(False, "--detail", help="xlsx: tambah lembar harian (LH)"),
    place: str | None = typer.Option(None, "--place", help="pdf: tempat penandatanganan"),
    head_name: str = typer.Option("", "--head-name", help="pdf: nama Kepala OPD"),
    head_nip: str = typer.Option("", "--head-nip", help="pdf: NIP Kepala OPD"),
    verifier_name: str = typer.Option("", "--verifier-name", help="pdf: nama pengelola kepegawaian"),
    verifier_nip: str = typer.Option("", "--verifier-nip", help="pdf: NIP pengelola kepegawaian"),
) -> None:
    """Rekap bulanan: angka yang sama dengan konsol (terkunci: angka yang dibekukan)."""
    if ctx.invoked_subcommand is not None:
        return
    from hub.config import get_settings
    from hub.reconcile.exports import csv_bytes, xlsx_bytes
    from hub.reconcile.pdf import Signing, render
    from hub.reconcile.period import month_figures

    if month is None:
        fail(tr("--month wajib diisi", "--month is required"), "hub recap --month 2026-11 [--site KODE]")
    first, _ = _month(month)
    if fmt not in ("xlsx", "csv", "pdf"):
        fail(tr(f"format '{fmt}' tidak dikenal; pilih xlsx, csv atau pdf",
                f"unknown format '{fmt}'; choose xlsx, csv or pdf"))
    settings = get_settings().recap
    with store() as s:
        sid = _site_id(s, site)
        try:
            fig = month_figures(s, first, sid)
        except (ReconcileError, RulesetError) as exc:
            fail(str(exc))
        if not fig.rows:
            fail(tr(f"tidak ada pegawai yang dinilai pada {month}", f"nobody is judged in {month}"),
                 tr("periksa tanggal go-live kantor dan data pegawai", "check the office's go-live date and staff"))
        if fmt == "pdf":
            if site is None:
                fail(tr("PDF dibuat per OPD: tambahkan --site KODE", "a PDF is made per office: add --site CODE"))
            data = render(fig, Signing(pemda=settings.pemda, place=place or settings.place, head_name=head_name,
                                       head_nip=head_nip, verifier_name=verifier_name,
                                       verifier_nip=verifier_nip)).data
        elif fmt == "xlsx":
            data = xlsx_bytes(fig, pemda=settings.pemda, daily=detail)
        else:
            data = csv_bytes(fig)
    if output is None and fmt == "csv":
        sys.stdout.write(data.decode("utf-8-sig"))
        return
    path = output or Path(f"rekap-{month}{'-' + site if site else ''}.{fmt}")
    path.write_bytes(data)
    console.print(tr(f"rekap {len(fig.rows)} pegawai ({'terkunci' if fig.locked else 'draf'}) ditulis ke {path}; "
                     f"kode {fig.sha256[:16]}",
                     f"recap of {len(fig.rows)} employees ({'locked' if fig.locked else 'draft'}) written to {path}; "
                     f"code {fig.sha256[:16]}"))


@recap_app.command("verify")
def recap_verify(path: Path) -> None:
    """Periksa apakah PDF rekap asli dari hub ini dan angkanya masih sama."""
    from hub.reconcile.pdf import verify

    try:
        data = path.read_bytes()
    except OSError as exc:
        fail(tr(f"tidak dapat membaca {path}: {exc}", f"cannot read {path}: {exc}"))
    with store() as s:
        verdict = verify(s, data)
    for line in verdict.messages:
        (console if verdict.ok else err_console).print(line, style="green" if verdict.ok else "red")
    if not verdict.ok:
        raise typer.Exit(1)


@correction_app.command("add")
def correction_add(
    employee: str = typer.Option(..., "--employee", help="NIP/NI PPPK atau id"),
    day: str = typer.Option(..., "--day", help="YYYY-MM-DD"),
    reason: str = typer.Option(..., "--reason", help="alasan"),
    by: str = typer.Option(None, "--by", help="pengusul"),
    status: str | None = typer.Option(None, "--status", help="tetapkan status hari: H, TK, DL, CT, S, I ..."),
    add: str | None = typer.Option(None, "--add", help="tambah punch HH:MM[:SS] (dengan --state)"),
    state: str = typer.Option("check_in", "--state", help="check_in | check_out | break_out | break_in"),
    void: int | None = typer.Option(None, "--void", help="batalkan punch (id)"),
) -> None:
    """Usulkan koreksi (menunggu persetujuan orang lain)."""
    from hub.reconcile.corrections import propose_correction

    d = _day(day, tr("tanggal", "date"))
    if sum(x is not None for x in (status, add, void)) != 1:
        fail(tr("pilih tepat satu: --status, --add atau --void", "choose exactly one of --status, --add, --void"))
    local = None
    if add is not None:
        try:
            local = datetime.combine(d, time.fromisoformat(add))
        except ValueError:
            fail(tr(f"jam '{add}' tidak sah; gunakan HH:MM", f"time '{add}' is not valid; use HH:MM"))
    kind = "set_status" if status else "add_punch" if add else "void_punch"
    with store() as s:
        try:
            c = propose_correction(s, employee_id=_employee_id(s, employee), day=d, kind=kind, reason=reason,
                                   author=by or cli_actor(), status=status, local_time=local,
                                   state=state if add else None, punch_id=void)
        except ReconcileError as exc:
            fail(str(exc))
        console.print(tr(f"koreksi #{c.id} diusulkan; setujui dengan `hub correction approve {c.id}`",
                         f"correction #{c.id} proposed; approve with `hub correction approve {c.id}`"))


def _decide(correction_id: int, by: str | None, note: str, approve: bool) -> None:
    from hub.reconcile.corrections import approve_correction, reject_correction

    with store() as s:
        try:
            fn = approve_correction if approve else reject_correction
            c = fn(s, correction_id, by or cli_actor(), note)
        except ReconcileError as exc:
            fail(str(exc))
        console.print(tr(f"koreksi #{c.id}: {c.approval}; jalankan `hub reconcile` untuk menerapkan",
                         f"correction #{c.id}: {c.approval}; run `hub reconcile` to apply it"))


@correction_app.command("approve")
def correction_approve(correction_id: int, by: str = typer.Option(None, "--by"),
                       note: str = typer.Option("", "--note")) -> None:
    """Setujui koreksi."""
    _decide(correction_id, by, note, True)


@correction_app.command("reject")
def correction_reject(correction_id: int, by: str = typer.Option(None, "--by"),
                      note: str = typer.Option("", "--note")) -> None:
    """Tolak koreksi."""
    _decide(correction_id, by, note, False)


@correction_app.command("list")
def correction_list(pending: bool = typer.Option(False, "--pending"), site: str | None = typer.Option(None, "--site"),
                    fmt: OutputFormat = typer.Option(OutputFormat.table, "--format")) -> None:
    """Daftar koreksi."""
    from hub.reconcile.corrections import list_corrections

    with store() as s:
        rows = [{"id": c.id, "employee_id": c.employee_id, "day": c.day, "kind": c.kind,
                 "detail": c.status or (c.local_time and f"{c.local_time:%H:%M:%S} {c.state}") or c.punch_id,
                 "reason": c.reason, "author": c.author, "approval": c.approval}
                for c in list_corrections(s, approval="pending" if pending else None, site_id=_site_id(s, site))]
    emit(rows, ["id", "employee_id", "day", "kind", "detail", "reason", "author", "approval"], fmt)


@leave_app.command("add")
def leave_add(
    employee: str = typer.Option(..., "--employee", help="NIP/NI PPPK atau id"),
    start: str = typer.Option(..., "--from", help="YYYY-MM-DD"),
    end: str | None = typer.Option(None, "--to", help="YYYY-MM-DD (default = --from)"),
    type_: str = typer.Option(..., "--type", help="CT CS CB CM CAP CLTN DL DIK TB I S"),
    reference: str = typer.Option("", "--reference", help="nomor surat"),
    by: str = typer.Option(None, "--by"),
) -> None:
    """Catat cuti/dinas luar/izin/sakit (menggantikan punch yang tidak ada)."""
    from hub.reconcile.leave import add_leave

    d1 = _day(start, "--from")
    d2 = _day(end, "--to") if end else d1
    with store() as s:
        try:
            e = add_leave(s, employee_id=_employee_id(s, employee), start=d1, end=d2, type=type_,
                          author=by or cli_actor(), reference=reference)
        except ReconcileError as exc:
            fail(str(exc))
        console.print(tr(f"cuti/izin #{e.id} dicatat", f"leave #{e.id} recorded"))


@leave_app.command("import")
def leave_import(path: Path = typer.Argument(..., exists=True, dir_okay=False, help="CSV atau XLSX"),
                 by: str = typer.Option(None, "--by")) -> None:
    """Impor cuti/izin/DL dari berkas: NIP, DARI, SAMPAI, JENIS, NOMOR SURAT; baris salah dilaporkan."""
    from hub.reconcile.leave_import import import_leave
    from hub.roster.importer import ImportFileError

    with store() as s:
        try:
            result = import_leave(s, path, by or cli_actor())
        except ImportFileError as exc:
            fail(str(exc))
    console.print(tr(f"{result.rows} baris: {result.created} dicatat, {result.already} sudah ada, "
                     f"{len(result.errors)} ditolak.",
                     f"{result.rows} rows: {result.created} recorded, {result.already} already there, "
                     f"{len(result.errors)} rejected."))
    if result.unrecognised_columns:
        console.print(tr(f"Kolom yang tidak dibaca: {', '.join(result.unrecognised_columns)}",
                         f"Columns not read: {', '.join(result.unrecognised_columns)}"), style="yellow")
    for err in result.errors:
        console.print(f"  [red]{tr('baris', 'row')} {err.row}[/]: {err.reason}")
    if result.errors:
        raise typer.Exit(3)


@leave_app.command("list")
def leave_list(employee: str | None = typer.Option(None, "--employee"),
               month: str | None = typer.Option(None, "--month"),
               fmt: OutputFormat = typer.Option(OutputFormat.table, "--format")) -> None:
    """Daftar cuti/izin."""
    from hub.reconcile.leave import list_leave

    first, last = _month(month) if month else (None, None)
    with store() as s:
        emp = _employee_id(s, employee) if employee else None
        rows = [{"id": e.id, "employee_id": e.employee_id, "from": e.date_from, "to": e.date_to, "type": e.type,
                 "reference": e.reference, "author": e.author}
                for e in list_leave(s, employee_id=emp, start=first, end=last)]
    emit(rows, ["id", "employee_id", "from", "to", "type", "reference", "author"], fmt)


@period_app.command("lock")
def period_lock(month: str = typer.Option(..., "--month"), site: str | None = typer.Option(None, "--site"),
                by: str = typer.Option(None, "--by"), reason: str = typer.Option("", "--reason"),
                confirm: str | None = typer.Option(None, "--confirm",
                                                   help="kode pratinjau (16+ karakter) yang disetujui"),
                yes: bool = typer.Option(False, "--yes", "-y", help="kunci angka pratinjau tanpa bertanya")) -> None:
    """Kunci periode: hitung ulang, tampilkan, konfirmasi, bekukan."""
    from hub.reconcile.period import lock_month, preview_lock

    first, _ = _month(month)
    with store() as s:
        sid = _site_id(s, site)
        try:
            preview = preview_lock(s, first, sid)
        except (ReconcileError, RulesetError) as exc:
            fail(str(exc))
        _show_preview(preview, month, site)
        if preview.problems:
            fail("; ".join(preview.problems))
        code = preview.sha256
        if confirm is not None:
            if len(confirm) < 16 or not code.startswith(confirm.lower()):
                fail(tr(f"kode {confirm} bukan kode angka saat ini ({code[:16]}); angka berubah atau kode salah",
                        f"code {confirm} is not the current figures' code ({code[:16]}); the figures changed "
                        "or the code is wrong"), tr("tinjau pratinjau lalu ulangi", "review the preview and retry"))
        elif not yes and not typer.confirm(tr("Bekukan angka ini?", "Freeze these figures?")):
            raise typer.Exit(1)
        try:
            lock_month(s, first, sid, by or cli_actor(), code, reason=reason)
        except ReconcileError as exc:
            fail(str(exc))
    console.print(tr(f"periode {month} dikunci; kode {code[:16]}", f"period {month} locked; code {code[:16]}"))


def _show_preview(preview, month: str, site: str | None) -> None:  # type: ignore[no-untyped-def]
    fig = preview.figures
    console.print(tr(f"Pratinjau kunci {site or 'semua OPD'} {month}: {len(fig.rows)} pegawai, "
                     f"potongan Rp{fig.totals.get('potongan_rp', 0):,}, kode {preview.sha256[:16]}",
                     f"Lock preview {site or 'all offices'} {month}: {len(fig.rows)} employees, "
                     f"deductions Rp{fig.totals.get('potongan_rp', 0):,}, code {preview.sha256[:16]}"))
    console.print("  " + ", ".join(f"{k} {v}" for k, v in preview.counts.items()))
    for code, label in (("TD", tr("hari tanpa data belum diputuskan (0%)", "no-data days undecided (0%)")),
                        ("TV", tr("hari menunggu verifikasi (0%)", "days awaiting review (0%)"))):
        if preview.counts.get(code):
            console.print(f"  {preview.counts[code]} {label}", style="yellow")
    if preview.pending_corrections:
        console.print(tr(f"  {preview.pending_corrections} koreksi masih menunggu persetujuan dan TIDAK ikut dibekukan",
                         f"  {preview.pending_corrections} corrections still pending will NOT be frozen"),
                      style="yellow")
    if preview.changed:
        console.print(tr(f"  {len(preview.changed)} pegawai berubah sejak rekonsiliasi tersimpan terakhir:",
                         f"  {len(preview.changed)} employees changed since the last stored reconcile:"))
        for c in preview.changed[:20]:
            console.print(f"    {c['nip']} {c['nama']}: {c['before_pct']}% -> {c['after_pct']}% "
                          f"({', '.join(c['days'][:5])})")


@period_app.command("unlock")
def period_unlock(month: str = typer.Option(..., "--month"), reason: str = typer.Option(..., "--reason"),
                  site: str | None = typer.Option(None, "--site"), by: str = typer.Option(None, "--by")) -> None:
    """Buka kunci periode (alasan wajib, tercatat di audit log)."""
    from hub.reconcile.period import unlock_month

    first, _ = _month(month)
    with store() as s:
        try:
            unlock_month(s, first, _site_id(s, site), by or cli_actor(), reason)
        except ReconcileError as exc:
            fail(str(exc))
    console.print(tr(f"periode {month} dibuka", f"period {month} unlocked"))


@ruleset_app.command("load")
def ruleset_load(path: Path, site: list[str] = typer.Option([], "--site", help="kode kantor (boleh berulang)"),
                 default: bool = typer.Option(False, "--default", help="jadikan aturan bawaan semua kantor"),
                 by: str = typer.Option(None, "--by")) -> None:
    """Muat berkas ruleset TOML ke basis data dan tetapkan ke kantor."""
    from hub.reconcile.ruleset_store import load_ruleset

    try:
        text = path.read_text("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        fail(tr(f"tidak dapat membaca {path}: {exc}", f"cannot read {path}: {exc}"))
    with store() as s:
        targets: list[int | None] = [_site_id(s, c) for c in site] + ([None] if default else [])
        try:
            row, rs = load_ruleset(s, text, source=str(path), actor=by or cli_actor(), site_ids=targets)
        except (ReconcileError, RulesetError) as exc:
            fail(str(exc), tr("perbaiki berkasnya lalu ulangi", "fix the file and try again"))
        for warning in rs.warnings:
            console.print(tr(f"Peringatan: {warning}", f"Warning: {warning}"), style="yellow")
        console.print(tr(f"ruleset {row.name}@{row.version} dimuat", f"ruleset {row.name}@{row.version} loaded"))


@ruleset_app.command("list")
def ruleset_list(fmt: OutputFormat = typer.Option(OutputFormat.table, "--format")) -> None:
    """Daftar ruleset tersimpan dan kantor yang memakainya."""
    from hub.reconcile.models import RulesetRow, RulesetSite

    with store() as s:
        codes = dict(s.execute(select(Site.id, Site.code)).all())
        users: dict[str, list[str]] = {}
        for a in s.scalars(select(RulesetSite)):
            users.setdefault(a.ruleset_name, []).append(codes.get(a.site_id, "*") if a.site_id else "*")
        rows = [{"name": r.name, "version": r.version, "valid_from": r.valid_from, "valid_to": r.valid_to,
                 "sites": ", ".join(users.get(r.name, []))}
                for r in s.scalars(select(RulesetRow).order_by(RulesetRow.name, RulesetRow.version))]
    emit(rows, ["name", "version", "valid_from", "valid_to", "sites"], fmt)


@ruleset_app.command("roster")
def ruleset_roster(path: Path, by: str = typer.Option(None, "--by")) -> None:
    """Impor roster shift dari CSV nip,tanggal,shift (RSUD, Damkar, Satpol PP)."""
    from hub.reconcile.shifts import import_roster

    try:
        text = path.read_text("utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        fail(tr(f"tidak dapat membaca {path}: {exc}", f"cannot read {path}: {exc}"))
    with store() as s:
        try:
            n = import_roster(s, text, by or cli_actor())
        except ReconcileError as exc:
            fail(str(exc), tr("perbaiki baris itu lalu ulangi; tidak ada yang disimpan",
                              "fix that line and try again; nothing was stored"))
    console.print(tr(f"{n} baris roster disimpan", f"{n} roster rows stored"))


def _terminal_key(s: Session, ref: str) -> str:
    """A terminal's serial, or site:<office code> for an office without a terminal."""
    from hub.store.models import Device

    if ref.startswith("site:"):
        return f"site:{_site_id(s, ref[5:])}"
    dev = s.scalar(select(Device.id).where(Device.serial == ref))
    if dev is None:
        fail(tr(f"terminal '{ref}' tidak ditemukan", f"terminal '{ref}' not found"),
             tr("lihat `hub nodata list` atau `hub device list`", "see `hub nodata list` or `hub device list`"))
    return f"dev:{dev}"


@nodata_app.command("list")
def nodata_list(month: str = typer.Option(..., "--month"), site: str | None = typer.Option(None, "--site"),
                fmt: OutputFormat = typer.Option(OutputFormat.table, "--format")) -> None:
    """Hari tanpa data per terminal dan hari, dengan pegawai yang terdampak."""
    from hub.reconcile.queue import no_data_groups

    first, last = _month(month)
    with store() as s:
        groups = no_data_groups(s, first, last, _site_id(s, site))
    rows = [{"terminal": g.label, "key": g.terminal, "day": g.day, "employees": len(g.employees),
             "names": ", ".join(n for _, _, n in g.employees[:5]) + (" ..." if len(g.employees) > 5 else ""),
             "decision": g.decision or tr("belum", "pending")} for g in groups]
    emit(rows, ["terminal", "key", "day", "employees", "names", "decision"], fmt)


@nodata_app.command("decide")
def nodata_decide(terminal: str = typer.Option(..., "--terminal", help="nomor seri, atau site:KODE"),
                  day: str = typer.Option(..., "--day"), present: bool = typer.Option(
                      False, "--present", help="terminal mati: semua dianggap hadir (daftar manual)"),
                  absent: bool = typer.Option(False, "--absent", help="terminal berfungsi: ketidakhadiran tetap TK"),
                  reason: str = typer.Option(..., "--reason"), by: str = typer.Option(None, "--by")) -> None:
    """Satu keputusan untuk semua pegawai yang terminalnya tanpa data pada hari itu."""
    from hub.reconcile.evidence import decide_no_data

    if present == absent:
        fail(tr("pilih tepat satu: --present atau --absent", "choose exactly one of --present, --absent"))
    d = _day(day, "--day")
    with store() as s:
        try:
            decide_no_data(s, _terminal_key(s, terminal), d, "present" if present else "absent", reason,
                           by or cli_actor())
        except ReconcileError as exc:
            fail(str(exc))
    console.print(tr(f"keputusan {terminal} {day} dicatat", f"decision for {terminal} {day} recorded"))


@quarantine_app.command("list")
def quarantine_list(month: str = typer.Option(..., "--month"), site: str | None = typer.Option(None, "--site"),
                    fmt: OutputFormat = typer.Option(OutputFormat.table, "--format")) -> None:
    """Punch bertanda per terminal dan hari, dengan keputusannya."""
    from hub.reconcile.queue import quarantine_groups

    first, last = _month(month)
    with store() as s:
        rows = [{"terminal": g.label, "day": g.day, "punches": len(g.punches), "pending": g.pending,
                 "flags": ",".join(g.flags)} for g in quarantine_groups(s, first, last, _site_id(s, site))]
    emit(rows, ["terminal", "day", "punches", "pending", "flags"], fmt)


@quarantine_app.command("decide")
def quarantine_decide(device: str | None = typer.Option(None, "--device", help="nomor seri terminal"),
                      day: str | None = typer.Option(None, "--day"),
                      punch: list[int] = typer.Option([], "--punch", help="id punch (boleh berulang)"),
                      accept: bool = typer.Option(False, "--accept"), reject: bool = typer.Option(False, "--reject"),
                      reason: str = typer.Option(..., "--reason"), by: str = typer.Option(None, "--by")) -> None:
    """Terima atau tolak punch yang ditahan: satu terminal-hari sekaligus, atau per punch."""
    from hub.reconcile.evidence import decide_punches, quarantined_punches
    from hub.store.models import Device

    if accept == reject:
        fail(tr("pilih tepat satu: --accept atau --reject", "choose exactly one of --accept, --reject"))
    with store() as s:
        ids = list(punch)
        if device:
            if not day:
                fail(tr("--device butuh --day", "--device needs --day"))
            dev = s.scalar(select(Device.id).where(Device.serial == device))
            if dev is None:
                fail(tr(f"terminal '{device}' tidak ditemukan", f"terminal '{device}' not found"))
            ids += [p.id for p in quarantined_punches(s, dev, _day(day, "--day"))]
        if not ids:
            fail(tr("tidak ada punch yang ditahan untuk diputuskan", "no quarantined punch to decide"))
        try:
            n = decide_punches(s, ids, "accepted" if accept else "rejected", reason, by or cli_actor())
        except ReconcileError as exc:
            fail(str(exc))
    console.print(tr(f"{n} punch {'diterima' if accept else 'ditolak'}",
                     f"{n} punches {'accepted' if accept else 'rejected'}"))
