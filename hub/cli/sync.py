"""hub sync / hub pin: push the roster, fingerprints and faces to the terminals, diff-based."""

from __future__ import annotations

from datetime import date, datetime
from types import SimpleNamespace

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlalchemy import select

from hub.cli.common import OutputFormat, audit, cli_actor, console, emit, engine, fail, store
from hub.cli.via_hub import hub_running, rebuild, via_hub
from hub.commands import DevicePlan
from hub.i18n import tr
from hub.messages import render

app = typer.Typer(help=tr("Sinkronisasi pegawai, sidik jari dan wajah ke terminal.",
                          "Sync roster, fingerprints and faces to the terminals."), no_args_is_help=True)
pin_app = typer.Typer(help=tr("PIN terminal pegawai.", "Employees' terminal PINs."), no_args_is_help=True)

ACTIONS = {"users_add": "+", "users_update": "~", "users_remove": "-"}


def _day(value: str | None) -> date:
    if not value:
        from hub.roster.pins import today

        return today()
    try:
        return datetime.strptime(value, "%Y-%m-%d").date()
    except ValueError:
        fail(tr(f"tanggal '{value}' tidak sah", f"date '{value}' is not valid"),
             tr("tulis sebagai TTTT-BB-HH, mis. 2026-01-31", "write it as YYYY-MM-DD, e.g. 2026-01-31"))


def _device_result(d: dict):  # noqa: ANN202 - a DeviceResult from the running hub's answer
    from hub.commands import Issue
    from hub.sync.apply import DeviceResult

    if "status" not in d:  # the hub could not even start (unknown terminal, ...)
        return DeviceResult(d.get("device_id", 0), d.get("serial", "?"), "failed", error=d.get("error"))
    return rebuild(DeviceResult, d, issues=[Issue(**i) for i in d.get("issues", [])])


def _plans(site: str | None, device: str | None, day: date) -> list[DevicePlan]:
    from hub.sync.plan import compute_plans, select_devices

    with store() as s:
        try:
            devices = select_devices(s, site, device)
        except ValueError as exc:
            fail(str(exc), tr("lihat `hub site list`", "see `hub site list`"))
        if not devices:
            fail(tr("tidak ada terminal aktif yang cocok", "no enabled terminal matches"),
                 tr("lihat `hub device list`", "see `hub device list`"))
        return compute_plans(s, devices, day)


def _summary(plans: list[DevicePlan]) -> None:
    t = Table(title=tr("Rencana sinkronisasi per terminal", "Sync plan per terminal"))
    for col in (tr("terminal", "terminal"), tr("kantor", "office"), tr("jenis", "kind"),
                tr("+pengguna", "+users"), tr("~pengguna", "~users"), tr("-pengguna", "-users"),
                tr("+template", "+templates"), tr("-template", "-templates"), tr("catatan", "notes")):
        t.add_column(col)
    for p in plans:
        c = p.counts()
        settled = p.empty and not p.waiting and not p.held
        note = p.unsupported or (tr("sudah sesuai", "up to date") if settled else "")
        if p.waiting:
            note = (note + "; " if note else "") + tr(f"{p.waiting} menunggu konfirmasi terminal",
                                                      f"{p.waiting} waiting for the terminal")
        if p.held:
            note = (note + "; " if note else "") + tr(f"{p.held} ditolak terminal, dicoba lagi nanti",
                                                      f"{p.held} refused by the terminal, retried later")
        if p.notes:
            note = (note + "; " if note else "") + tr(f"{len(p.notes)} catatan", f"{len(p.notes)} notes")
        t.add_row(p.serial, p.site or "", p.kind, str(c["users_add"]), str(c["users_update"]),
                  str(c["users_remove"]), str(c["templates_add"]), str(c["templates_remove"]), note)
    console.print(t)


def _detail(p: DevicePlan, limit: int) -> None:
    if p.empty and not p.notes:
        return
    t = Table(title=f"{p.serial} ({p.kind}, {p.site or '-'})")
    for col in (tr("aksi", "action"), "PIN", tr("nama di terminal", "name on terminal"),
                tr("jari", "finger"), tr("catatan", "note")):
        t.add_column(col)
    rows = [(ACTIONS[k], u.pin, u.name, "", u.note or "") for k in ACTIONS for u in getattr(p, k)]
    rows += [("+T", x.pin, x.kind, str(x.finger_index), "") for x in p.templates_add]
    rows += [("-T", x.pin, x.kind, str(x.finger_index), "") for x in p.templates_remove]
    for r in rows[:limit]:
        t.add_row(*r)
    console.print(t)
    if len(rows) > limit:
        console.print(tr(f"... {len(rows) - limit} baris lagi (pakai --limit)", f"... {len(rows) - limit} more rows"))
    for note in p.notes[:limit]:
        console.print(f"  [yellow]{note}[/]")


@app.command("plan")
def sync_plan(site: str | None = typer.Option(None, "--site", help="kode kantor"),
              device: str | None = typer.Option(None, "--device", help="nomor seri terminal"),
              on: str | None = typer.Option(None, "--on", help="tanggal acuan (TTTT-BB-HH), bawaan hari ini"),
              limit: int = typer.Option(30, "--limit", help="baris rincian per terminal")) -> None:
    """Tampilkan per terminal pengguna dan template yang akan ditambah, diubah, dihapus.

    Pegawai yang belum punya PIN di grup terminal diberi PIN baru (tetap, bukan turunan NIP)."""
    plans = _plans(site, device, _day(on))
    _summary(plans)
    for p in plans:
        _detail(p, limit)


@app.command("apply")
def sync_apply(site: str | None = typer.Option(None, "--site", help="kode kantor"),
               device: str | None = typer.Option(None, "--device", help="nomor seri terminal"),
               on: str | None = typer.Option(None, "--on", help="tanggal acuan (TTTT-BB-HH), bawaan hari ini"),
               allow_removals: int | None = typer.Option(
                   None, "--allow-removals", help="izinkan sampai N penghapusan per terminal (bawaan 20)")) -> None:
    """Jalankan rencana: kirim perubahan, baca kembali isi terminal, laporkan selisih."""
    from hub.commands import ZK_KINDS
    from hub.sync.apply import apply_plans

    day = _day(on)
    plans = _plans(site, device, day)
    _summary(plans)
    todo = [p for p in plans if not p.empty]
    # ZK terminals are pushed by the running hub over the sessions it holds, if there is one
    zk_todo = [p for p in todo if p.kind in ZK_KINDS]
    routed: dict[int, object] = {}
    if zk_todo and hub_running():
        done = via_hub(engine(), [SimpleNamespace(id=p.device_id) for p in zk_todo], "sync",
                       params={"day": day.isoformat(), "allow_removals": allow_removals})
        for p, d in zip(zk_todo, done or [], strict=False):
            routed[p.device_id] = _device_result(d)
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=console, transient=True) as bar:
        overall = bar.add_task(tr("terminal", "terminals"), total=len(todo))
        tasks: dict[str, int] = {}

        def progress(label: str, done: int, total: int) -> None:
            if label not in tasks:
                tasks[label] = bar.add_task(f"  {label}", total=total)
            bar.update(tasks[label], completed=done, total=total)

        results = []
        for p in plans:
            if p.device_id in routed:
                results.append(routed[p.device_id])
            else:
                results += apply_plans(engine(), [p], cli_actor(), allow_removals, progress)
            if not p.empty:
                bar.advance(overall)
    t = Table(title=tr("Hasil sinkronisasi", "Sync results"))
    for col in (tr("terminal", "terminal"), "status", tr("terkirim", "sent"), tr("baca ulang", "read back"),
                tr("masalah", "issues")):
        t.add_column(col)
    bad = False
    for r in results:
        issues = len(r.issues)
        bad = bad or r.status in ("failed", "partial") or r.mismatch
        style = {"ok": "green", "unchanged": "dim", "partial": "yellow"}.get(r.status, "red")
        t.add_row(r.serial, f"[{style}]{r.status}[/]", ", ".join(f"{k}={v}" for k, v in r.sent.items() if v),
                  ", ".join(f"{k}={render(v) if isinstance(v, str) else v}" for k, v in r.readback.items()),
                  str(issues))
    console.print(t)
    for r in results:
        if r.error:
            console.print(f"[red]{r.serial}[/]: {r.error}")
        for i in r.issues[:50]:
            colour = {"error": "red", "mismatch": "magenta"}.get(i.status, "yellow")
            where = f" PIN {i.pin}" if i.pin else ""
            console.print(f"  [{colour}]{r.serial}{where} [{i.status}][/] {i.message}")
        if len(r.issues) > 50:
            console.print(tr(f"  ... {len(r.issues) - 50} masalah lagi di sync_items (run {r.run_id})",
                             f"  ... {len(r.issues) - 50} more issues in sync_items (run {r.run_id})"))
    sent = sum(r.commands_sent for r in results)
    console.print(tr(f"{sent} perubahan dikirim.", f"{sent} changes sent."))
    if bad:
        console.print(tr("Sebagian tidak berhasil: perbaiki masalah di atas lalu jalankan `hub sync apply` lagi; "
                         "terminal yang gagal tetap berbeda dan akan dikirim ulang.",
                         "Some changes did not succeed: fix the issues above and run `hub sync apply` again; "
                         "failed terminals stay different and will be sent again."), style="yellow")
        raise typer.Exit(1)


@app.command("runs")
def sync_runs(device: str | None = typer.Option(None, "--device", help="nomor seri terminal"),
              last: int = typer.Option(20, "--last", help="jumlah riwayat"),
              run: int | None = typer.Option(None, "--run", help="tampilkan masalah satu riwayat"),
              fmt: OutputFormat = typer.Option(OutputFormat.table, "--format")) -> None:
    """Riwayat sinkronisasi per terminal: status, yang terkirim, hasil baca ulang, jumlah masalah."""
    from sqlalchemy import func

    from hub.store.models import Device
    from hub.sync.models import SyncItem, SyncRun

    with store() as s:
        issues = (select(SyncItem.run_id, func.count().label("n")).group_by(SyncItem.run_id).subquery())
        q = (select(SyncRun, Device.serial, issues.c.n).join(Device, Device.id == SyncRun.device_id)
             .outerjoin(issues, issues.c.run_id == SyncRun.id).order_by(SyncRun.id.desc()).limit(last))
        if device:
            q = q.where(Device.serial == device)
        rows = [{"run": r.id, "terminal": serial, "started": r.started_at.replace(microsecond=0),
                 "status": r.status, "sent": ", ".join(f"{k}={v}" for k, v in (r.sent or {}).items() if v),
                 "mismatch": r.mismatch, "issues": n or 0, "error": render(r.error)}
                for r, serial, n in s.execute(q)]
        if run is not None:  # one run's items, in the reader's language
            items = [{"pin": i.pin or "", "action": i.action, "status": i.status, "message": render(i.message)}
                     for i in s.scalars(select(SyncItem).where(SyncItem.run_id == run).order_by(SyncItem.id))]
            emit(items, ["pin", "action", "status", "message"], fmt,
                 title=tr(f"Masalah sinkronisasi {run}", f"Sync run {run} issues"))
            return
    emit(rows, ["run", "terminal", "started", "status", "sent", "mismatch", "issues", "error"], fmt,
         title=tr("Riwayat sinkronisasi", "Sync runs"))


@app.command("harvest")
def sync_harvest(device: str = typer.Option(..., "--device", help="terminal tempat pegawai mendaftar jari")) -> None:
    """Ambil template sidik jari dari terminal tempat pendaftaran (disimpan terenkripsi)."""
    from hub.adapters.zk.client import ZkClientError
    from hub.commands import ZK_KINDS
    from hub.fleet.registry import RegistryError, find_device
    from hub.sync.harvest import HarvestResult, harvest_templates

    with store() as s:
        try:
            dev = find_device(s, device)
            routed = via_hub(engine(), [dev], "harvest") if dev.kind in ZK_KINDS and hub_running() else None
            if routed and routed[0].get("error"):
                raise ZkClientError(routed[0]["error"])
            res = rebuild(HarvestResult, routed[0]) if routed else harvest_templates(s, dev)
        except RegistryError as exc:
            fail(str(exc))
        except ZkClientError as exc:
            fail(tr(f"terminal tidak dapat dihubungi: {exc}", f"terminal unreachable: {exc}"),
                 tr("periksa jaringan/daya terminal lalu ulangi", "check the terminal's network/power and retry"))
        audit(s, cli_actor(), "sync.harvest", "device", dev.id, seen=res.seen, new=res.new, updated=res.updated,
              unchanged=res.unchanged, unknown_pins=res.unknown_pins[:50])
    console.print(tr(f"{res.seen} template dibaca: {res.new} baru, {res.updated} diperbarui, "
                     f"{res.unchanged} sama, {res.unknown_pin} PIN tak dikenal.",
                     f"{res.seen} templates read: {res.new} new, {res.updated} updated, "
                     f"{res.unchanged} unchanged, {res.unknown_pin} unknown PINs."))


@app.command("rule")
def sync_rule(site: str = typer.Argument(..., help="kode kantor"),
              scope: str = typer.Argument(..., help="nearest | own | own_and_parents")) -> None:
    """Atur terminal mana yang melayani pegawai sebuah kantor."""
    from hub.roster.assignment import AssignmentError, set_scope

    with store() as s:
        try:
            set_scope(s, site, scope)
        except AssignmentError as exc:
            fail(str(exc))
        audit(s, cli_actor(), "sync.rule", "site", site, scope=scope)
    console.print(tr(f"Aturan {site}: {scope}.", f"Rule of {site}: {scope}."))


@app.command("transfer")
def sync_transfer(nip: str = typer.Argument(..., help="NIP / nomor pegawai"),
                  to_site: str = typer.Argument(..., help="kode kantor tujuan"),
                  on: str = typer.Option(..., "--on", help="tanggal berlaku (TTTT-BB-HH)"),
                  note: str | None = typer.Option(None, "--note")) -> None:
    """Catat mutasi: mulai tanggal berlaku pegawai pindah ke kantor tujuan."""
    from hub.roster.assignment import AssignmentError, add_transfer
    from hub.store.models import Employee, Site

    day = _day(on)
    with store() as s:
        emp = s.scalar(select(Employee).where(Employee.id_number == nip))
        site = s.scalar(select(Site).where(Site.code == to_site))
        if emp is None or site is None:
            fail(tr("pegawai atau kantor tidak ditemukan", "employee or office not found"),
                 tr("lihat `hub employee list` dan `hub site list`", "see `hub employee list` and `hub site list`"))
        try:
            add_transfer(s, emp, site, day, note)
        except AssignmentError as exc:
            fail(str(exc))
        audit(s, cli_actor(), "sync.transfer", "employee", emp.id, to=to_site, on=day)
    console.print(tr(f"Mutasi {nip} ke {to_site} berlaku {day}.", f"Transfer of {nip} to {to_site} from {day}."))


@pin_app.command("list")
def pin_list(group: str = typer.Option("default", "--group"),
             fmt: OutputFormat = typer.Option(OutputFormat.table, "--format")) -> None:
    """Daftar PIN terminal dan pemiliknya (termasuk yang sudah ditutup)."""
    from hub.store.models import Employee, PinMapping

    with store() as s:
        rows = [{"pin": m.pin, "nip": nip, "name": name, "valid_from": m.valid_from, "valid_to": m.valid_to}
                for m, nip, name in s.execute(
                    select(PinMapping, Employee.id_number, Employee.name)
                    .join(Employee, Employee.id == PinMapping.employee_id)
                    .where(PinMapping.pin_group == group, PinMapping.device_id.is_(None)).order_by(PinMapping.id))]
    emit(rows, ["pin", "nip", "name", "valid_from", "valid_to"], fmt, title=tr(f"PIN grup {group}", f"PINs of {group}"))


@pin_app.command("allocate")
def pin_allocate(nips: list[str] = typer.Argument(None, help="NIP pegawai; kosong = semua pegawai aktif"),
                 group: str = typer.Option("default", "--group")) -> None:
    """Beri PIN tetap (bukan turunan NIP) kepada pegawai yang belum punya di grup ini."""
    from hub.roster.pins import PinError, allocate, current_pins
    from hub.store.models import Employee

    with store() as s:
        q = select(Employee.id, Employee.id_number)
        q = q.where(Employee.id_number.in_(nips)) if nips else q.where(Employee.active.is_(True))
        found = dict(s.execute(q).all())
        missing = set(nips or []) - set(found.values())
        if missing:
            fail(tr(f"pegawai tidak ditemukan: {', '.join(sorted(missing))}",
                    f"employees not found: {', '.join(sorted(missing))}"))
        before = current_pins(s, group)
        try:
            pins = allocate(s, list(found), group)
        except PinError as exc:
            fail(str(exc))
        new = [e for e in pins if e not in before]
        audit(s, cli_actor(), "pin.allocate", "pin_group", group, count=len(new))
        rows = [{"nip": found[e], "pin": pins[e], "new": e in new} for e in pins]
    emit(rows, ["nip", "pin", "new"], OutputFormat.table, title=tr(f"PIN grup {group}", f"PINs of {group}"))
    console.print(tr(f"{len(new)} PIN baru.", f"{len(new)} new PINs."))
