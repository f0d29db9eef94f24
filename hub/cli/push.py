"""hub push: terminals that push (ADMS/iclock and MQTT): receivers, approvals, commands."""

from __future__ import annotations

import json
import logging
import secrets
import shutil
import signal
import subprocess
import threading
from pathlib import Path

import typer
from sqlalchemy import select

from hub.cli.common import (
    OutputFormat,
    audit,
    cli_actor,
    console,
    emit,
    engine,
    ensure_store,
    err_console,
    fail,
    store,
)
from hub.config import get_settings
from hub.i18n import tr

app = typer.Typer(help=tr("Terminal push (ADMS dan MQTT): penerima, persetujuan, perintah.",
                          "Push terminals (ADMS and MQTT): receivers, approvals, commands."),
                  no_args_is_help=True)


def _logging() -> None:
    logging.basicConfig(level=logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")


@app.command("adms-serve")
def adms_serve(host: str = typer.Option("0.0.0.0", "--host"),
               port: int = typer.Option(8081, "--port")) -> None:
    """Jalankan penerima ADMS (/iclock/...) saja, tanpa konsol web."""
    import uvicorn

    from hub.adapters.adms.app import create_app

    _logging()
    ensure_store()
    console.print(tr(f"Penerima ADMS di http://{host}:{port}/iclock/ (Ctrl-C untuk berhenti). "
                     "Atur 'Cloud Server' terminal ke alamat dan port ini.",
                     f"ADMS receiver at http://{host}:{port}/iclock/ (Ctrl-C to stop). "
                     "Point the terminal's 'Cloud Server' setting here."))
    uvicorn.run(create_app(), host=host, port=port, log_level="warning",
                proxy_headers=False)  # the hub decides which proxies to believe (web.trusted_proxies)


@app.command("mqtt-listen")
def mqtt_listen() -> None:
    """Dengarkan terminal MQTT (hub/v1) di broker dari bagian mqtt konfigurasi."""
    from hub.adapters.mqtt.listener import start_listener

    _logging()
    ensure_store()
    m = get_settings().mqtt
    listener = start_listener()
    if not listener.connected.wait(10):
        err_console.print(tr(f"Belum tersambung ke broker {m.host}:{m.port}; terus mencoba. "
                             "Periksa apakah Mosquitto berjalan dan kredensial bagian mqtt di konfigurasi benar.",
                             f"Not connected to broker {m.host}:{m.port} yet; still trying. "
                             "Check that Mosquitto runs and the mqtt section credentials."),
                          style="yellow")
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_a: stop.set())
    console.print(tr("Mendengarkan terminal MQTT (Ctrl-C untuk berhenti).",
                     "Listening to MQTT terminals (Ctrl-C to stop)."))
    stop.wait()
    listener.stop()
    s = listener.stats
    console.print(tr(f"Berhenti: {s.punches_new} punch baru dari {s.messages} pesan, "
                     f"{s.malformed} ditolak.",
                     f"Stopped: {s.punches_new} new punches from {s.messages} messages, "
                     f"{s.malformed} refused."))


@app.command("pending")
def pending(fmt: OutputFormat = typer.Option(OutputFormat.table, "--format")) -> None:
    """Terminal yang mengirim data tetapi belum terdaftar (menunggu persetujuan IT)."""
    from hub.push.models import PushRegistration

    with store() as s:
        rows = [{"serial": r.serial, "channel": r.channel, "status": r.status,
                 "first_seen": r.first_seen_at, "last_seen": r.last_seen_at,
                 "attempts": r.attempts, "from": (r.info or {}).get("last_addr") or (r.info or {}).get("addr") or ""}
                for r in s.scalars(select(PushRegistration).order_by(PushRegistration.id))]
    emit(rows, ["serial", "channel", "status", "first_seen", "last_seen", "attempts", "from"], fmt,
         title=tr("Pendaftaran tertunda", "Pending registrations"))


@app.command("approve")
def approve(serial: str = typer.Argument(..., help="nomor seri terminal"),
            site: str | None = typer.Option(None, "--site", help="kode kantor"),
            tz: str | None = typer.Option(None, "--tz", help="zona IANA, mis. Asia/Makassar"),
            name: str = typer.Option("", "--name"),
            source: str | None = typer.Option(
                None, "--source", help="alamat/CIDR asal terminal ADMS (bawaan: alamat yang terlihat); "
                                       "'*' = dari mana saja")) -> None:
    """Setujui terminal tertunda: data yang ditahannya akan diterima pada kiriman berikutnya."""
    from hub.fleet.registry import RegistryError
    from hub.peer import AddressError
    from hub.web.terminals import approve_pending

    with store() as s:
        try:
            device, pinned = approve_pending(s, serial, cli_actor(), site=site, tz=tz, name=name, source=source)
        except (RegistryError, AddressError) as exc:
            fail(str(exc))
        tz_used = device.tz
    if pinned:
        console.print(tr(f"Hanya diterima dari: {pinned} (ubah dengan `hub push trust {serial} --source`).",
                         f"Accepted only from: {pinned} (change with `hub push trust {serial} --source`)."))
    console.print(tr(f"Terminal {serial} disetujui (zona {tz_used}). Untuk ADMS, nyalakan ulang "
                     "terminal atau kirim `hub push command-send {serial} device.time.set` agar "
                     "zona waktunya terpakai.",
                     f"Terminal {serial} approved (zone {tz_used}). For ADMS, reboot the "
                     f"terminal or send `hub push command-send {serial} device.time.set` so the "
                     "zone takes effect."))


@app.command("trust")
def trust_cmd(serial: str = typer.Argument(..., help="nomor seri terminal ADMS"),
              source: str | None = typer.Option(None, "--source",
                                                help="alamat/CIDR yang diizinkan, dipisah koma; '*' = semua"),
              approve_source: bool = typer.Option(False, "--approve-source",
                                                  help="terima alamat baru yang tadi ditolak"),
              path_key: str | None = typer.Option(None, "--path-key", help="'new' (buat kunci jalur) atau 'off'"),
              reset_registry: bool = typer.Option(False, "--reset-registry",
                                                  help="lupakan pendaftaran PUSH 3.x (terminal mendaftar ulang)"),
              fmt: OutputFormat = typer.Option(OutputFormat.table, "--format")) -> None:
    """Kepercayaan terminal ADMS: alamat asal, kunci jalur, pendaftaran PUSH 3.x. Tanpa opsi: tampilkan."""
    from hub.adapters.adms import trust
    from hub.fleet.registry import RegistryError, find_device
    from hub.peer import AddressError

    if path_key not in (None, "new", "off"):
        fail(tr("--path-key harus 'new' atau 'off'", "--path-key must be 'new' or 'off'"))
    key = None
    with store() as s:
        try:
            device = find_device(s, serial)
            if device.kind != "adms":
                fail(tr(f"{serial} bukan terminal ADMS ({device.kind})", f"{serial} is not an ADMS terminal"))
            if source is not None:
                trust.pin_sources(s, device.id, source, cli_actor(), "set")
            if approve_source:
                trust.approve_source(s, device.id, cli_actor())
            if path_key is not None:
                key = trust.set_path_key(s, device.id, cli_actor(), path_key == "new")
            if reset_registry:
                trust.reset_registry(s, device.id, cli_actor())
        except (RegistryError, AddressError) as exc:
            fail(str(exc))
        s.flush()
        from hub.push.models import PushTrust

        shown = trust.describe(s.get(PushTrust, device.id))
    if key:
        console.print(tr(f"Kunci jalur baru (ditampilkan sekali): atur URL server terminal ke "
                         f"http://<hub>:<port>/d/{key}/  — permintaan tanpa kunci ini ditolak.",
                         f"New path key (shown once): set the terminal's server URL to "
                         f"http://<hub>:<port>/d/{key}/  — requests without it are refused."))
    emit([{"field": k, "value": "" if v is None else str(v)} for k, v in shown.items()], ["field", "value"],
         fmt, title=tr(f"Kepercayaan {serial}", f"Trust of {serial}"))


@app.command("refusals")
def refusals(fmt: OutputFormat = typer.Option(OutputFormat.table, "--format")) -> None:
    """Permintaan terminal yang ditolak di tepi (alamat salah, sesi tidak sah, kunci jalur)."""
    from hub.push.models import EdgeRefusal

    with store() as s:
        rows = [{"channel": r.channel, "serial": r.serial or "(tidak dikenal)", "reason": r.reason,
                 "count": r.count, "last": r.last_at, "from": r.last_addr or ""}
                for r in s.scalars(select(EdgeRefusal).order_by(EdgeRefusal.last_at.desc()))]
    emit(rows, ["channel", "serial", "reason", "count", "last", "from"], fmt,
         title=tr("Permintaan ditolak", "Refused requests"))


@app.command("reject")
def reject(serial: str = typer.Argument(...)) -> None:
    """Tolak terminal tertunda (datanya tetap tidak diterima)."""
    from hub.fleet.registry import RegistryError
    from hub.web.terminals import reject_pending

    with store() as s:
        try:
            reject_pending(s, serial, cli_actor())
        except RegistryError as exc:
            fail(str(exc), tr("lihat `hub push pending`", "see `hub push pending`"))
    console.print(tr(f"{serial} ditolak.", f"{serial} rejected."))


@app.command("command-send")
def command_send(serial: str = typer.Argument(...),
                 op: str = typer.Argument(..., help="user.upsert, user.delete, face.set, "
                                          "template.set, device.time.set, events.resend, …"),
                 data: str = typer.Option("{}", "--data", help="JSON, mis. "
                                          "'{\"user\":{\"id\":\"1001\",\"name\":\"Ani\"}}'"),
                 ttl_min: int = typer.Option(24 * 60, "--ttl-min", help="kedaluwarsa (menit)")
                 ) -> None:
    """Antrekan perintah untuk terminal push (dikirim saat terminal berikutnya terhubung)."""
    from datetime import timedelta

    from hub.fleet.registry import RegistryError, find_device
    from hub.push.service import enqueue

    try:
        payload = json.loads(data)
    except json.JSONDecodeError as exc:
        fail(tr(f"--data bukan JSON yang sah: {exc}", f"--data is not valid JSON: {exc}"))
    if not isinstance(payload, dict):
        fail(tr("--data harus objek JSON", "--data must be a JSON object"))
    with store() as s:
        try:
            device = find_device(s, serial)
            cmd = enqueue(s, device, op, payload, cli_actor(), timedelta(minutes=ttl_min))
        except (RegistryError, ValueError, KeyError) as exc:
            fail(str(exc))
        cid = cmd.id
    console.print(tr(f"Perintah {cid} ({op}) diantrekan untuk {serial}.",
                     f"Command {cid} ({op}) queued for {serial}."))


@app.command("commands")
def commands(serial: str | None = typer.Option(None, "--device"),
             status: str | None = typer.Option(None, "--status",
                                               help="queued|sent|done|failed|expired"),
             fmt: OutputFormat = typer.Option(OutputFormat.table, "--format")) -> None:
    """Daftar perintah terminal push dan hasilnya."""
    from hub.push.models import DeviceCommand
    from hub.store.models import Device

    q = (select(DeviceCommand, Device.serial).join(Device, Device.id == DeviceCommand.device_id)
         .order_by(DeviceCommand.id))
    if serial:
        q = q.where(Device.serial == serial)
    if status:
        q = q.where(DeviceCommand.status == status)
    with store() as s:
        rows = [{"id": c.id, "device": sn, "channel": c.channel, "op": c.op,
                 "status": c.status, "attempts": c.attempts, "created": c.created_at,
                 "expires": c.expires_at,
                 "result": json.dumps(c.result, ensure_ascii=False) if c.result else ""}
                for c, sn in s.execute(q).all()]
    emit(rows, ["id", "device", "channel", "op", "status", "attempts", "created", "expires",
                "result"], fmt, title=tr("Perintah terminal", "Terminal commands"))


@app.command("mqtt-passwd")
def mqtt_passwd(serial: str = typer.Argument(..., help="nomor seri = username MQTT"),
                file: Path = typer.Option(Path("config/mosquitto/passwd"), "--file")) -> None:
    """Buat kredensial MQTT untuk satu terminal (mosquitto_passwd) dan tampilkan sandinya sekali."""
    from hub.adapters.mqtt.acl import usable_serial

    if not usable_serial(serial):
        fail(tr(f"nomor seri '{serial}' tidak sah", f"serial '{serial}' is not valid"))
    exe = shutil.which("mosquitto_passwd")
    if exe is None:
        fail(tr("mosquitto_passwd tidak ditemukan", "mosquitto_passwd not found"),
             tr("pasang paket Debian `mosquitto`", "install the Debian package `mosquitto`"))
    password = secrets.token_urlsafe(18)
    file.parent.mkdir(parents=True, exist_ok=True)
    args = [exe, "-b", str(file), serial, password]
    if not file.exists():
        args.insert(1, "-c")
    done = subprocess.run(args, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        fail(tr(f"mosquitto_passwd gagal: {done.stderr.strip()}",
                f"mosquitto_passwd failed: {done.stderr.strip()}"))
    console.print(tr(f"Username: {serial}\nSandi   : {password}\nSimpan di terminal; sandi ini "
                     "tidak ditampilkan lagi. Muat ulang Mosquitto (SIGHUP) agar berlaku.",
                     f"Username: {serial}\nPassword: {password}\nStore it on the terminal; it "
                     "is not shown again. Reload Mosquitto (SIGHUP) for it to apply."))


@app.command("mqtt-acl")
def mqtt_acl(file: Path | None = typer.Option(None, "--file", help="bawaan: mqtt.acl_file atau "
                                               "config/mosquitto/acl")) -> None:
    """Tulis ACL Mosquitto dari daftar terminal MQTT terdaftar (satu blok per terminal)."""
    from hub.adapters.mqtt.acl import AclError, write_acl

    m = get_settings().mqtt
    path = file or Path(m.acl_file or "config/mosquitto/acl")
    with store() as s:
        try:
            n = write_acl(s, path, m.topic_root, m.username or "hub")
        except (AclError, OSError) as exc:
            fail(str(exc))
    console.print(tr(f"ACL untuk {n} terminal MQTT ditulis ke {path} (akar topik {m.topic_root}). "
                     "Muat ulang Mosquitto (SIGHUP) agar berlaku.",
                     f"ACL for {n} MQTT terminals written to {path} (topic root {m.topic_root}). "
                     "Reload Mosquitto (SIGHUP) for it to apply."))


@app.command("simulate")
def simulate(adms: int = typer.Option(20, "--adms"), mqtt: int = typer.Option(10, "--mqtt"),
             url: str = typer.Option("http://127.0.0.1:8081", "--url", help="penerima ADMS"),
             broker_port: int = typer.Option(1883, "--broker-port"),
             seconds: float = typer.Option(10.0, "--seconds"),
             staff: int = typer.Option(40, "--staff"),
             register: bool = typer.Option(True, "--register/--no-register",
                                           help="daftarkan terminal simulasi bila belum")) -> None:
    """Jalankan terminal push simulasi (ADMS dan MQTT) sehari penuh dan cocokkan penyimpanan."""
    from datetime import date

    from rich.progress import Progress

    from hub.fleet.registry import DeviceSpec, add_device
    from hub.simulator.push_fleet import push_serials, run_push_fleet
    from hub.store.models import Device, RawPunch

    a_sns, m_sns = push_serials(adms, mqtt)
    if register:
        with store() as s:
            have = set(s.scalars(select(Device.serial)))
            for sn, kind in [(sn, "adms") for sn in a_sns] + [(sn, "mqtt") for sn in m_sns]:
                if sn not in have:
                    add_device(s, DeviceSpec(serial=sn, kind=kind))
    with Progress(console=console) as bar:
        task = bar.add_task(tr("terminal selesai", "terminals done"), total=adms + mqtt)
        result = run_push_fleet(adms, mqtt, url, broker_port=broker_port, day=date.today(),
                                staff=staff, seconds=seconds, root=get_settings().mqtt.topic_root,
                                progress=lambda n, _t: bar.update(task, completed=n))
    from sqlalchemy import func

    with engine().connect() as conn:
        stored = conn.scalar(select(func.count()).select_from(RawPunch).join(
            Device, Device.id == RawPunch.device_id).where(Device.serial.in_(a_sns + m_sns)))
    console.print(tr(f"Dicatat terminal: {result.total}; belum terkirim: {result.unsent}; "
                     f"tersimpan di hub: {stored}.",
                     f"Recorded by terminals: {result.total}; unsent: {result.unsent}; "
                     f"stored in the hub: {stored}."))
    if result.unsent:
        fail(tr("masih ada punch yang belum diterima hub", "some punches were not accepted"),
             tr("pastikan penerima ADMS dan `hub push mqtt-listen` berjalan",
                "make sure the ADMS receiver and `hub push mqtt-listen` are running"))


# --- lines a terminal sent that could not be stored ------------------------------------------
@app.command("rejected")
def rejected(serial: str | None = typer.Option(None, "--device", help="nomor seri terminal"),
             every: bool = typer.Option(False, "--all", help="juga yang sudah diputar ulang/diabaikan"),
             fmt: OutputFormat = typer.Option(OutputFormat.table, "--format")) -> None:
    """Baris kiriman terminal yang tidak dapat disimpan, apa adanya, dengan alasannya."""
    from hub.adapters.adms.quarantine import held

    rows = [{"id": h.id, "terminal": h.serial, "tabel": h.kind, "baris": h.line_no, "isi": h.line[:120],
             "alasan": h.reason, "diterima": h.received_at, "status": h.status}
            for h in held(engine(), serial, None if every else "held")]
    emit(rows, ["id", "terminal", "tabel", "baris", "isi", "alasan", "diterima", "status"], fmt,
         title=tr("Baris ditolak (disimpan apa adanya)", "Rejected lines (kept verbatim)"))


def _ids(ids: list[int], serial: str | None) -> list[int]:
    from hub.adapters.adms.quarantine import held

    if ids:
        return ids
    if serial:
        return [h.id for h in held(engine(), serial)]
    fail(tr("sebutkan id baris atau --device", "name line ids or --device"),
         tr("lihat `hub push rejected`", "see `hub push rejected`"))
    return []


@app.command("replay")
def replay(ids: list[int] = typer.Argument(None, help="id baris (lihat `hub push rejected`)"),
           serial: str | None = typer.Option(None, "--device", help="semua baris tertahan dari terminal ini")) -> None:
    """Putar ulang baris tertahan setelah perbaikan: yang kini terbaca disimpan (sekali saja)."""
    from hub.adapters.adms.quarantine import replay as do_replay

    chosen = _ids(ids or [], serial)
    res = do_replay(engine(), chosen, cli_actor())
    with store() as s:
        audit(s, cli_actor(), "push.replay", "rejected_lines", None, ids=chosen[:200], stored=res.stored,
              still_bad=res.still_bad)
    console.print(tr(f"{res.stored} baris disimpan ({res.punches_new} punch baru), {res.still_bad} masih ditolak.",
                     f"{res.stored} lines stored ({res.punches_new} new punches), {res.still_bad} still refused."))
    if res.still_bad:
        raise typer.Exit(2)


@app.command("dismiss")
def dismiss(ids: list[int] = typer.Argument(..., help="id baris"),
            reason: str = typer.Option(..., "--reason", help="mengapa baris ini diabaikan")) -> None:
    """Abaikan baris tertahan (dengan alasan; tercatat di log audit)."""
    from hub.adapters.adms.quarantine import dismiss as do_dismiss

    n = do_dismiss(engine(), ids, cli_actor(), reason)
    with store() as s:
        audit(s, cli_actor(), "push.dismiss", "rejected_lines", None, ids=ids[:200], reason=reason)
    console.print(tr(f"{n} baris diabaikan.", f"{n} lines dismissed."))
