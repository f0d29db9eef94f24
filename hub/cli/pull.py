"""hub pull, hub device sync-time, hub import attlog: ZK terminals and their USB files."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlalchemy.orm import Session

from hub.adapters.zk.coordinator import Puller, PullResult, default_client, load_targets
from hub.cli import devices
from hub.cli.common import cli_actor, console, engine, fail
from hub.cli.via_hub import hub_running, rebuild, via_hub
from hub.config import get_settings
from hub.i18n import tr

app = typer.Typer(help=tr("Tarik log absensi dari terminal ZK.",
                          "Pull attendance logs from ZK terminals."),
                  invoke_without_command=True)
import_app = typer.Typer(help=tr("Impor berkas absensi (USB).", "Import attendance files (USB)."),
                         no_args_is_help=True)


def _summary(results: list[PullResult]) -> None:
    table = Table(title=tr("Hasil tarik", "Pull results"))
    for col in (tr("terminal", "terminal"), tr("mode", "mode"), tr("dilihat", "seen"),
                tr("baru", "new"), tr("duplikat", "duplicate"), tr("detik", "seconds"),
                tr("jam (s)", "clock (s)"), tr("galat / catatan", "error / notes")):
        table.add_column(col)
    for r in results:
        note = r.error or "; ".join(r.notes)
        table.add_row(r.serial, r.mode if r.ok else "-", str(r.seen), str(r.new),
                      str(r.duplicate), f"{r.seconds:.2f}",
                      "" if r.clock_offset_s is None else f"{r.clock_offset_s:+.0f}",
                      f"[red]{note}[/]" if r.error else note)
    console.print(table)


@app.callback()
def pull(ctx: typer.Context,
         device: str | None = typer.Option(None, "--device", help="nomor seri / nama terminal"),
         site: str | None = typer.Option(None, "--site", help="kode kantor"),
         full: bool = typer.Option(False, "--full", help="baca seluruh log walau tidak berubah"),
         templates: bool = typer.Option(False, "--templates",
                                        help="cadangkan juga template sidik jari (terenkripsi)"),
         direct: bool = typer.Option(False, "--direct",
                                     help="tarik sendiri walau `hub run` sedang berjalan (membuka sesi kedua)"),
         ) -> None:
    """Tarik log absensi semua terminal ZK sekaligus (bertahap: hanya yang berubah)."""
    if ctx.invoked_subcommand:
        return
    from hub.adapters.isapi import pull as isapi_pull

    eng = engine()
    targets = load_targets(eng, device, site)
    hik = isapi_pull.load_targets(eng, device, site)
    if not targets and not hik:
        fail(tr("tidak ada terminal ZK atau Hikvision yang cocok", "no matching ZK or Hikvision terminal"),
             tr("daftarkan dengan `hub device add SN --kind zk-tcp --host IP`",
                "register one with `hub device add SN --kind zk-tcp --host IP`"))
    routed = None if direct else hub_running()
    with Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TextColumn("{task.fields[last]}"), TimeElapsedColumn(),
                  console=console, transient=False) as progress:
        task = progress.add_task(tr("menarik", "pulling"), total=len(targets) + len(hik), last="")

        def done(r: PullResult) -> None:
            status = f"[red]{r.serial} ✗[/]" if r.error else f"{r.serial} +{r.new}"
            progress.update(task, advance=1, last=status)

        results = None
        if not targets:
            results = []
        elif routed:
            results = via_hub(eng, targets, "pull", full, lambda d: done(rebuild(PullResult, d)))
            results = None if results is None else [rebuild(PullResult, d) for d in results]
        if results is None:
            puller = Puller(eng, get_settings().pull, default_client)
            try:
                results = puller.pull_many(targets, full, done)
            except KeyboardInterrupt:
                puller.stop.set()
                raise
        results = results + isapi_pull.pull_many(eng, hik, full, done=done,
                                                 tolerance_s=get_settings().pull.clock_tolerance_s)
    _summary(results)
    if templates:
        _backup(eng, targets, results, routed)
    new = sum(r.new for r in results)
    seen = sum(r.seen for r in results)
    failed = [r for r in results if r.error]
    if new == 0:
        console.print(tr(f"Tidak ada punch baru ({seen} catatan dibaca, semua sudah tersimpan).",
                         f"No new punches ({seen} records read, all already stored)."))
    else:
        console.print(tr(f"{new} punch baru dari {len(results)} terminal ({seen} dibaca).",
                         f"{new} new punches from {len(results)} terminals ({seen} read)."))
    if failed:
        console.print(tr(f"[red]{len(failed)} terminal gagal[/]; periksa jaringan/daya lalu ulangi "
                         "`hub pull`, atau impor log dari USB dengan `hub import attlog`.",
                         f"[red]{len(failed)} terminal(s) failed[/]; check network/power and "
                         "run `hub pull` again, or import the USB log with `hub import attlog`."))
        raise typer.Exit(2)


def _backup(eng, targets, results, routed: bool = False) -> None:  # noqa: ANN001 - CLI helper
    from hub.store.db import session_scope
    from hub.store.models import Device
    from hub.sync.harvest import HarvestResult, harvest_templates

    ok = [t for t in targets if t.serial in {r.serial for r in results if r.ok}]
    done = via_hub(eng, ok, "harvest") if routed and ok else None
    for n, t in enumerate(ok):
        try:
            if done is not None:
                if done[n].get("error"):
                    raise RuntimeError(done[n]["error"])
                b = rebuild(HarvestResult, done[n])
            else:
                with session_scope(eng) as s:
                    b = harvest_templates(s, s.get(Device, t.id))
        except Exception as exc:  # noqa: BLE001 - report per terminal and go on
            console.print(f"[red]{t.serial}: {tr('cadangan template gagal', 'template backup failed')}"
                          f": {exc}[/]")
            continue
        console.print(tr(
            f"{t.serial}: {b.seen} template, {b.new + b.updated} disimpan, {b.unchanged} tidak berubah, "
            f"{b.unknown_pin} PIN tak dikenal",
            f"{t.serial}: {b.seen} templates, {b.new + b.updated} stored, {b.unchanged} unchanged, "
            f"{b.unknown_pin} unknown PINs"))


def sync_time(device: str | None = typer.Option(None, "--device", help="nomor seri / nama"),
              site: str | None = typer.Option(None, "--site", help="kode kantor")) -> None:
    """Setel jam terminal ZK dan Hikvision ke jam hub (zona IANA tiap terminal)."""
    from hub.adapters.isapi import clock as isapi_clock
    from hub.adapters.isapi import pull as isapi_pull
    from hub.adapters.zk.clock import ClockResult, sync_clocks

    eng = engine()
    targets = load_targets(eng, device, site)
    hik = isapi_pull.load_targets(eng, device, site)
    if not targets and not hik:
        fail(tr("tidak ada terminal ZK atau Hikvision yang cocok", "no matching ZK or Hikvision terminal"))
    routed = via_hub(eng, targets, "sync_time") if targets and hub_running() else None
    if routed is not None:
        results = [rebuild(ClockResult, d) for d in routed]
    else:
        results = sync_clocks(eng, get_settings().pull, device, site, actor=cli_actor(), only_if_off=False) \
            if targets else []
    results += [isapi_clock.sync_clock(eng, t, get_settings().pull.clock_tolerance_s, cli_actor(), only_if_off=False)
                for t in hik]
    bad = 0
    for r in results:
        if r.error:
            bad += 1
            console.print(f"[red]{r.serial}: {tr('gagal', 'failed')}: {r.error}[/]")
        else:
            console.print(tr(f"{r.serial}: jam disetel (selisih sebelumnya {r.offset_before_s:+.0f} s)",
                             f"{r.serial}: clock set (was off by {r.offset_before_s:+.0f} s)"))
    if bad:
        raise typer.Exit(2)


devices.app.command("sync-time")(sync_time)


@import_app.command("attlog")
def import_attlog(path: Path = typer.Argument(..., exists=True, dir_okay=False, readable=True,
                                              help="attlog .dat dari USB atau CSV ekspor"),
                  device: str = typer.Option(..., "--device", help="nomor seri terminal")) -> None:
    """Impor log absensi dari USB (attlog .dat) atau CSV; baris rusak dilaporkan."""
    from hub.adapters.usb.files import MAX_BAD_SHOWN, parse_file
    from hub.fleet.registry import RegistryError, find_device
    from hub.store import runs

    eng = engine()
    with Session(eng) as s:
        try:
            dev = find_device(s, device)
        except RegistryError as exc:
            fail(str(exc), tr("lihat `hub device list`", "see `hub device list`"))
        dev_id, tz, serial = dev.id, dev.tz, dev.serial
    parsed = parse_file(path, dev_id, tz)
    if parsed.key == "nip":
        with Session(eng) as s:
            _nips_to_pins(s, parsed, dev_id)
    for problem in parsed.problems[:MAX_BAD_SHOWN]:
        console.print(f"[yellow]{path.name}: {problem}[/]")
    if len(parsed.problems) > MAX_BAD_SHOWN:
        console.print(tr(f"... dan {len(parsed.problems) - MAX_BAD_SHOWN} baris rusak lainnya",
                         f"... and {len(parsed.problems) - MAX_BAD_SHOWN} more bad lines"))
    with eng.begin() as conn:
        result = runs.record(
            conn, dev_id, "file", "import", parsed.punches,
            details={"file": path.name, "format": parsed.format,
                     "bad_lines": [p.line for p in parsed.problems][:1000]},
            status="ok" if not parsed.problems else "partial",
            error=(tr(f"{len(parsed.problems)} baris rusak", f"{len(parsed.problems)} bad lines")
                   if parsed.problems else None))
    console.print(tr(
        f"{serial}: {result.seen} punch dibaca dari {path.name} ({parsed.format}), {result.new} "
        f"baru, {result.duplicate} sudah ada, {len(parsed.problems)} baris rusak.",
        f"{serial}: {result.seen} punches read from {path.name} ({parsed.format}), {result.new} "
        f"new, {result.duplicate} already stored, {len(parsed.problems)} bad lines."))
    if result.unknown_pins:
        _report_unknown(parsed, result.unknown_pins, serial)
    if parsed.problems:
        raise typer.Exit(1 if not parsed.punches else 0)


def _nips_to_pins(s: Session, parsed, device_id: int) -> None:  # type: ignore[no-untyped-def]
    """A file keyed by NIP: each punch gets the PIN its employee has on this terminal; lines
    whose NIP is unknown, or who have no PIN there, are reported and not imported."""
    from sqlalchemy import or_, select

    from hub.adapters.usb.files import FileProblem
    from hub.roster.identity import clean
    from hub.store.models import Device, Employee, PinMapping

    group = s.scalar(select(Device.pin_group).where(Device.id == device_id))
    nips = {clean(p.pin) for p in parsed.punches}
    emps = dict(s.execute(select(Employee.id_number, Employee.id).where(Employee.id_number.in_(nips))).all())
    pins: dict[int, str] = {}
    for emp, pin, dev in s.execute(select(PinMapping.employee_id, PinMapping.pin, PinMapping.device_id).where(
            PinMapping.employee_id.in_(set(emps.values()) or {-1}),
            or_(PinMapping.device_id == device_id, PinMapping.pin_group == group))):
        if dev is not None or emp not in pins:  # the terminal's own PIN wins over its group's
            pins[emp] = pin
    kept = []
    for p in parsed.punches:
        nip = clean(p.pin)
        emp = emps.get(nip)
        if emp is None:
            parsed.problems.append(FileProblem(p.raw["line"], tr(f"NIP {nip} tidak dikenal (impor pegawai dahulu)",
                                                                 f"NIP {nip} is unknown (import the staff first)")))
        elif emp not in pins:
            parsed.problems.append(FileProblem(p.raw["line"], tr(
                f"NIP {nip} belum punya PIN di terminal ini (jalankan `hub sync plan/apply`)",
                f"NIP {nip} has no PIN on this terminal (run `hub sync plan/apply`)")))
        else:
            p.pin = pins[emp]
            kept.append(p)
    parsed.problems.sort(key=lambda x: x.line)
    parsed.punches = kept


def _report_unknown(parsed, unknown, serial: str) -> None:  # type: ignore[no-untyped-def]
    """PINs no employee holds: their punches are stored and wait in the queue; their owners
    would otherwise be absent without anyone noticing."""
    lines: dict[str, list[int]] = {}
    for p in parsed.punches:
        if p.pin in unknown:
            lines.setdefault(p.pin, []).append(int(p.raw.get("line", 0)))
    console.print(tr(f"[yellow]{sum(unknown.values())} punch dari {len(unknown)} PIN yang tidak dikenal di {serial} "
                     "(disimpan, tampil di antrean PIN tak dikenal; petakan dengan `hub pin`):[/]",
                     f"[yellow]{sum(unknown.values())} punches of {len(unknown)} PINs unknown on {serial} "
                     "(stored, listed in the unknown-PIN queue; map them with `hub pin`):[/]"))
    for pin, count in unknown.most_common(MAX_UNKNOWN_SHOWN):
        shown = ", ".join(map(str, lines.get(pin, [])[:10]))
        console.print(tr(f"  PIN {pin}: {count} punch (baris {shown})",
                         f"  PIN {pin}: {count} punches (lines {shown})"))
    if len(unknown) > MAX_UNKNOWN_SHOWN:
        console.print(tr(f"  ... dan {len(unknown) - MAX_UNKNOWN_SHOWN} PIN lainnya",
                         f"  ... and {len(unknown) - MAX_UNKNOWN_SHOWN} more PINs"))


MAX_UNKNOWN_SHOWN = 30
