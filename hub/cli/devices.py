"""hub device: register and manage terminals."""

from __future__ import annotations

import json

import typer
from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.cli.common import OutputFormat, audit, cli_actor, console, emit, engine, fail, store
from hub.fleet.registry import (
    KINDS,
    DeviceSpec,
    RegistryError,
    add_device,
    edit_device,
    find_device,
    remove_device,
)
from hub.i18n import tr
from hub.messages import render
from hub.store.models import Device, Site

app = typer.Typer(help=tr("Terminal absensi: daftar, ubah, hapus.", "Terminals: register, edit, remove."),
                  no_args_is_help=True)


@app.command("add")
def device_add(
    serial: str = typer.Argument(..., help="nomor seri terminal"),
    kind: str = typer.Option(..., "--kind", help=" | ".join(KINDS)),
    name: str = typer.Option("", "--name"),
    site: str | None = typer.Option(None, "--site", help="kode kantor"),
    host: str | None = typer.Option(None, "--host"),
    port: int | None = typer.Option(None, "--port"),
    line: str | None = typer.Option(None, "--line", help="port serial, mis. /dev/ttyUSB0"),
    baud: int | None = typer.Option(None, "--baud"),
    comm_key: int | None = typer.Option(None, "--comm-key", help="comm key (rahasia)"),
    tz: str = typer.Option("Asia/Jakarta", "--tz", help="zona IANA terminal"),
    pin_group: str = typer.Option("default", "--pin-group"),
    disabled: bool = typer.Option(False, "--disabled"),
    username: str | None = typer.Option(None, "--username", help="akun masuk terminal (hik-isapi)"),
    password: str | None = typer.Option(None, "--password", help="kata sandi terminal (hik-isapi; rahasia)"),
    tls_pin: str | None = typer.Option(None, "--tls-pin", help="HTTPS: SHA-256 sertifikat terminal (hik-isapi)"),
) -> None:
    """Daftarkan terminal baru."""
    spec = DeviceSpec(serial=serial, kind=kind, name=name, site=site, host=host, port=port,
                      serial_line=line, baud=baud, comm_key=comm_key, tz=tz,
                      enabled=not disabled, pin_group=pin_group, username=username, password=password,
                      tls_pin=tls_pin)
    with store() as s:
        try:
            device = add_device(s, spec)
        except RegistryError as exc:
            fail(str(exc))
        audit(s, cli_actor(), "device.add", "device", device.id, serial=serial, kind=kind)
        _broker_acl(s)
    typer.echo(tr(f"Terminal {serial} terdaftar.", f"Terminal {serial} registered."))


def _broker_acl(s: Session) -> None:
    """Keep the broker's ACL in step with the registry when mqtt.acl_file is set."""
    from hub.adapters.mqtt.acl import refresh_if_configured

    s.flush()
    n = refresh_if_configured(s)
    if n is not None:
        typer.echo(tr(f"ACL broker diperbarui ({n} terminal MQTT); muat ulang Mosquitto (SIGHUP).",
                      f"Broker ACL updated ({n} MQTT terminals); reload Mosquitto (SIGHUP)."))


def _row(d: Device, sites: dict[int, str]) -> dict:
    return {"serial": d.serial, "name": d.name, "kind": d.kind,
            "site": sites.get(d.site_id or -1), "address": d.serial_line or
            (f"{d.host}:{d.port}" if d.host else ""), "tz": d.tz,
            "enabled": "ya" if d.enabled else "tidak", "last_seen": d.last_seen_at,
            "clock_offset_s": d.last_clock_offset_s, "status": d.status}


COLUMNS = ["serial", "name", "kind", "site", "address", "tz", "enabled", "last_seen",
           "clock_offset_s", "status"]


@app.command("list")
def device_list(site: str | None = typer.Option(None, "--site"),
                fmt: OutputFormat = typer.Option(OutputFormat.table, "--format")) -> None:
    """Daftar terminal."""
    with store() as s:
        sites = dict(s.execute(select(Site.id, Site.code)).all())
        q = select(Device).order_by(Device.serial)
        if site:
            q = q.join(Site).where(Site.code == site)
        rows = [_row(d, sites) for d in s.scalars(q)]
    emit(rows, COLUMNS, fmt, title=tr("Terminal", "Terminals"))


@app.command("show")
def device_show(ref: str) -> None:
    """Rincian satu terminal (comm key tidak pernah ditampilkan)."""
    with store() as s:
        try:
            d = find_device(s, ref)
        except RegistryError as exc:
            fail(str(exc))
        sites = dict(s.execute(select(Site.id, Site.code)).all())
        row = _row(d, sites)
        row["comm_key"] = "********" if d.comm_key_enc else "-"
        row["pin_group"] = d.pin_group
        row["records"] = d.last_record_count
        row["last_error"] = render(d.last_error)
        for k, v in row.items():
            console.print(f"[bold]{k}[/]: {'' if v is None else v}")
        console.print("[bold]capabilities[/]: " + json.dumps(d.capabilities or {}, default=str))


@app.command("edit")
def device_edit(
    ref: str,
    name: str | None = typer.Option(None, "--name"),
    site: str | None = typer.Option(None, "--site"),
    host: str | None = typer.Option(None, "--host"),
    port: int | None = typer.Option(None, "--port"),
    line: str | None = typer.Option(None, "--line"),
    baud: int | None = typer.Option(None, "--baud"),
    comm_key: int | None = typer.Option(None, "--comm-key"),
    tz: str | None = typer.Option(None, "--tz"),
    kind: str | None = typer.Option(None, "--kind"),
    pin_group: str | None = typer.Option(None, "--pin-group"),
    enable: bool | None = typer.Option(None, "--enable/--disable"),
    username: str | None = typer.Option(None, "--username", help="akun masuk terminal (hik-isapi)"),
    password: str | None = typer.Option(None, "--password", help="kata sandi terminal (hik-isapi; rahasia)"),
    tls_pin: str | None = typer.Option(None, "--tls-pin", help="HTTPS: SHA-256 sertifikat terminal (\"\" melepas)"),
) -> None:
    """Ubah data terminal."""
    changes = {k: v for k, v in {
        "name": name, "site": site, "host": host, "port": port, "serial_line": line,
        "baud": baud, "comm_key": comm_key, "tz": tz, "kind": kind, "pin_group": pin_group,
        "enabled": enable, "username": username, "password": password, "tls_pin": tls_pin}.items()
        if v is not None}
    if not changes:
        fail(tr("tidak ada yang diubah", "nothing to change"), "hub device edit --help")
    with store() as s:
        try:
            d = find_device(s, ref)
            changed = edit_device(s, d, changes)
        except RegistryError as exc:
            fail(str(exc))
        audit(s, cli_actor(), "device.edit", "device", d.id, **changed)
        _broker_acl(s)
    typer.echo(tr(f"Terminal {ref} diperbarui: {', '.join(changed) or 'tidak ada perubahan'}.",
                  f"Terminal {ref} updated: {', '.join(changed) or 'no change'}."))


@app.command("remove")
def device_remove(ref: str, disable: bool = typer.Option(
        False, "--disable", help="nonaktifkan bila masih ada punch tersimpan")) -> None:
    """Hapus terminal (atau nonaktifkan bila sudah punya punch)."""
    with store() as s:
        try:
            d = find_device(s, ref)
            serial = d.serial
            remove_device(s, d, force=disable)
        except RegistryError as exc:
            fail(str(exc))
        audit(s, cli_actor(), "device.remove", "device", serial, disabled_only=disable)
        _broker_acl(s)
    typer.echo(tr(f"Terminal {ref} dihapus/nonaktif.", f"Terminal {ref} removed/disabled."))


outage_app = typer.Typer(help=tr("Rentang waktu log terminal tidak lengkap (mati, log terhapus).",
                                 "Spans in which a terminal's log is incomplete (down, log cleared)."),
                         no_args_is_help=True)
app.add_typer(outage_app, name="outage")


def _when(value: str, what: str):  # type: ignore[no-untyped-def]
    from datetime import datetime

    try:
        return datetime.fromisoformat(value)
    except ValueError:
        fail(tr(f"{what} '{value}' tidak sah; gunakan YYYY-MM-DD[THH:MM]",
                f"{what} '{value}' is not valid; use YYYY-MM-DD[THH:MM]"))


@outage_app.command("add")
def outage_add(serial: str = typer.Argument(...), start: str = typer.Option(..., "--from", help="jam terminal"),
               end: str | None = typer.Option(None, "--to", help="kosong: masih berlangsung"),
               note: str = typer.Option(..., "--note", help="apa yang terjadi")) -> None:
    """Catat terminal mati/log tidak lengkap: hari yang tersentuh tanpa data dari terminal ini."""
    from hub.store.models import DeviceOutage

    a = _when(start, "--from")
    b = _when(end, "--to") if end else None
    if b is not None and b < a:
        fail(tr("--to sebelum --from", "--to is before --from"))
    with store() as s:
        dev = find_device(s, serial)
        if dev is None:
            fail(tr(f"terminal '{serial}' tidak ditemukan", f"terminal '{serial}' not found"))
        row = DeviceOutage(device_id=dev.id, start_local=a, end_local=b, kind="manual", note=note,
                           created_by=cli_actor())
        s.add(row)
        s.flush()
        audit(s, cli_actor(), "device.outage", "device", dev.id, serial=serial, start=a, end=b, note=note)
    typer.echo(tr(f"Gangguan {serial} dicatat (#{row.id}).", f"Outage of {serial} recorded (#{row.id})."))


@outage_app.command("list")
def outage_list(serial: str | None = typer.Argument(None),
                fmt: OutputFormat = typer.Option(OutputFormat.table, "--format")) -> None:
    """Daftar gangguan terminal."""
    from hub.store.models import DeviceOutage

    with store() as s:
        q = select(DeviceOutage, Device.serial).join(Device, Device.id == DeviceOutage.device_id)
        if serial:
            q = q.where(Device.serial == serial)
        rows = [{"id": o.id, "serial": sn, "from": o.start_local, "to": o.end_local, "kind": o.kind,
                 "note": render(o.note), "by": o.created_by}
                for o, sn in s.execute(q.order_by(DeviceOutage.start_local))]
    emit(rows, ["id", "serial", "from", "to", "kind", "note", "by"], fmt)


@app.command("listen")
def device_listen(serial: str = typer.Argument(..., help="nomor seri terminal Hikvision"),
                  url: str | None = typer.Option(None, "--url", help="alamat hub yang dapat dijangkau terminal, "
                                                                     "mis. http://10.0.0.5:8080"),
                  stream: bool = typer.Option(False, "--stream", help="hub yang membuka alertStream ke terminal "
                                                                      "(bila terminal tak dapat menjangkau hub)")
                  ) -> None:
    """Peristiwa terminal Hikvision sampai ke hub saat terjadi: terminal mengirim (--url, HTTP
    listening) atau hub mendengarkan alertStream-nya (--stream, oleh `hub run`)."""
    from hub.adapters.isapi.client import IsapiFailure
    from hub.adapters.isapi.listen import configure

    if stream:
        from sqlalchemy import select

        from hub.store.models import Device

        with store() as s:
            d = s.scalar(select(Device).where(Device.serial == serial, Device.kind == "hik-isapi"))
            if d is None:
                fail(tr(f"terminal Hikvision {serial} tidak terdaftar", f"no Hikvision terminal {serial}"))
            d.capabilities = {**(d.capabilities or {}), "live": "stream"}
            audit(s, cli_actor(), "device.listen", "device", serial, serial=serial, mode="stream")
        typer.echo(tr(f"`hub run` membuka alertStream ke {serial} dan menyimpan tiap peristiwa saat terjadi.",
                      f"`hub run` holds an alertStream to {serial} and stores each event as it comes."))
        return
    if not url:
        fail(tr("beri --url (terminal mengirim) atau --stream (hub mendengarkan)",
                "give --url (the terminal posts) or --stream (the hub listens)"))

    try:
        path = configure(engine(), serial, url)
    except (ValueError, IsapiFailure) as exc:
        fail(str(exc))
    with store() as s:
        audit(s, cli_actor(), "device.listen", "device", serial, serial=serial, url=url.rstrip("/") + "/isapi/events/…")
    typer.echo(tr(f"Terminal {serial} mengirim peristiwanya ke {url.rstrip('/')}{path[:20]}…",
                  f"Terminal {serial} posts its events to {url.rstrip('/')}{path[:20]}…"))
