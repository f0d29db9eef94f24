"""hub demo: the whole system on a simulated fleet, in one command.

It starts simulated ZK terminals in their own processes, registers the offices, terminals,
employees and PINs they hold, pulls every log into the store, reconciles the period, then
runs the hub (console, ADMS endpoints, MQTT listener, scheduler) while simulated ADMS and
MQTT terminals push a day of punches into it. Ctrl-C stops everything cleanly.
"""

from __future__ import annotations

import socket
import threading
import time
from datetime import date, timedelta
from pathlib import Path

import httpx
import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from hub.cli.common import console, ensure_store, fail, store
from hub.config import get_settings
from hub.i18n import tr

DEMO_USERS = (("it", "it"), ("admin", "admin"), ("reviewer", "reviewer"), ("approver", "verifier"),
              ("bpkad", "bpkad"), ("auditor", "auditor"))
DEMO_PASSWORD = "demo12345"  # noqa: S105 - a demo on loopback; printed on purpose


def _broker_up(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def _demo_users() -> None:
    from sqlalchemy import select

    from hub.web.auth import add_user
    from hub.web.models import User

    with store() as s:
        have = set(s.scalars(select(User.username)))
        for name, role in DEMO_USERS:
            if name not in have:
                add_user(s, name, DEMO_PASSWORD, role)


DEMO_OFFICE = (-6.8425, 107.4907, 200)  # a point in Ngamprah (Kab. Bandung Barat), fence metres


def _demo_phone() -> tuple[str, str, str, int] | None:
    """A demo employee for the phone app: their office gets a point and a fence if it has
    none, and a fresh activation code (printed). None without the face extra."""
    from sqlalchemy import select

    from hub.store.models import Employee, Site

    try:
        from hub.face import mobile_auth
    except ImportError:
        return None
    with store() as s:
        emp = s.scalar(select(Employee).where(Employee.active.is_(True), Employee.site_id.is_not(None))
                       .order_by(Employee.id).limit(1))
        if emp is None:
            return None
        site = s.get(Site, emp.site_id)
        if site is not None and site.latitude is None:
            site.latitude, site.longitude, site.geofence_m = DEMO_OFFICE
        return emp.id_number, emp.name, mobile_auth.issue(s, emp.id_number, "demo"), emp.id


def _push_day(url: str, adms: int, mqtt: int, broker: tuple[str, int], done: threading.Event) -> None:
    """Run the push terminals once the hub answers (the hub runs in the main thread)."""
    from hub.simulator.push_fleet import run_push_fleet

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.5)
    try:
        res = run_push_fleet(adms, mqtt, url, broker_host=broker[0], broker_port=broker[1],
                             day=date.today() - timedelta(days=1), staff=40, seconds=20.0,
                             prefix="DEMO", root=get_settings().mqtt.topic_root)
        console.print(tr(f"Terminal push (ADMS {adms}, MQTT {mqtt}): {res.total} punch dikirim, "
                         f"{res.unsent} belum terkirim.",
                         f"Push terminals (ADMS {adms}, MQTT {mqtt}): {res.total} punches sent, "
                         f"{res.unsent} unsent."))
    except Exception as exc:  # noqa: BLE001 - the demo goes on without push terminals
        console.print(f"[yellow]{tr('Terminal push gagal', 'Push terminals failed')}: {exc}[/]")
    finally:
        done.set()


def demo(
    zk: int = typer.Option(60, "--zk", help="terminal ZK simulasi (ditarik oleh hub)"),
    adms: int = typer.Option(20, "--adms", help="terminal ADMS simulasi (mendorong ke hub)"),
    mqtt: int = typer.Option(10, "--mqtt", help="terminal MQTT simulasi (bila broker tersedia)"),
    employees: int = typer.Option(7000, "--employees"),
    days: int = typer.Option(30, "--days", help="hari kalender riwayat punch di terminal ZK"),
    port: int = typer.Option(8080, "--port", help="port konsol web"),
    state_dir: Path = typer.Option(Path("var/demo"), "--state-dir"),
    seed: int = typer.Option(1, "--seed"),
    serve: bool = typer.Option(True, "--serve/--no-serve", help="jalankan konsol sesudah menyiapkan data"),
) -> None:
    """Demo lengkap: armada simulasi, tarik data, rekonsiliasi, konsol web."""
    from hub.adapters.zk.coordinator import pull_fleet
    from hub.fleet.seed import register
    from hub.reconcile.daily import reconcile_period
    from hub.service.runner import Hub
    from hub.simulator import groundtruth
    from hub.simulator.fleet import Fleet, FleetConfig
    from hub.simulator.population import PopulationSpec

    settings = get_settings()
    engine = ensure_store()
    first = date.today() - timedelta(days=days)
    spec = PopulationSpec(devices=zk, employees=employees, days=days, start=first, seed=seed,
                          profile_mix=(("tft", 70.0), ("mono", 15.0), ("face", 15.0)))
    fleet = Fleet(FleetConfig(spec, state_dir / "fleet", 0, None, {}))
    try:
        with console.status(tr(f"Menyalakan {zk} terminal ZK simulasi", f"Starting {zk} simulated ZK terminals")):
            fleet.start(lambda _msg: None)
        console.print(tr(f"{zk} terminal ZK menyala dalam {fleet.timings['start_s']:.1f} s.",
                         f"{zk} ZK terminals up in {fleet.timings['start_s']:.1f} s."))
        with console.status(tr("Mendaftarkan kantor, terminal, pegawai dan PIN",
                               "Registering offices, terminals, employees and PINs")), store() as s:
            register(s, groundtruth.read_roster(fleet.ground_truth_dir))
        _pull(engine, settings, pull_fleet, zk)
        with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                      TimeElapsedColumn(), console=console) as bar:
            task = bar.add_task(tr("Rekonsiliasi", "Reconciling"), total=5)

            def step(label: str, done: int, total: int) -> None:
                bar.update(task, description=f"{tr('Rekonsiliasi', 'Reconciling')}: {label}",
                           completed=done, total=total)

            summary = reconcile_period(engine, first, date.today() - timedelta(days=1), actor="demo",
                                       progress=step)
        console.print(tr("Rekonsiliasi", "Reconciliation") + f": {summary.get('days', summary)}")
        _demo_users()
        phone = _demo_phone()
        if not serve:
            return
        use_mqtt = mqtt > 0 and _broker_up(settings.mqtt.host, settings.mqtt.port)
        if mqtt and not use_mqtt:
            console.print(tr(f"Broker MQTT {settings.mqtt.host}:{settings.mqtt.port} tidak aktif; "
                             "terminal MQTT dilewati.",
                             f"No MQTT broker at {settings.mqtt.host}:{settings.mqtt.port}; "
                             "MQTT terminals skipped."), style="yellow")
        url = f"http://127.0.0.1:{port}"
        if adms or use_mqtt:
            _register_push(adms, mqtt if use_mqtt else 0)
            threading.Thread(target=_push_day, daemon=True, args=(
                url, adms, mqtt if use_mqtt else 0, (settings.mqtt.host, settings.mqtt.port),
                threading.Event())).start()
        console.print(tr(f"\nKonsol: {url}  (pengguna: "
                         f"{', '.join(n for n, _ in DEMO_USERS)}; kata sandi: {DEMO_PASSWORD})",
                         f"\nConsole: {url}  (users: {', '.join(n for n, _ in DEMO_USERS)}; "
                         f"password: {DEMO_PASSWORD})"), style="bold green")
        if phone is not None:
            nip, name, code, emp_id = phone
            console.print(tr(
                f"Aplikasi pegawai: {url}/m/  ({name}: NIP {nip}, kode aktivasi {code}). Untuk presensi, "
                f"daftarkan dulu wajah Anda sebagai wajahnya di {url}/employees/{emp_id} (pengguna admin); "
                "di luar titik kantornya presensi disimpan tetapi ditahan. Dari ponsel lain, kamera dan lokasi "
                "hanya jalan lewat HTTPS (docs/).",
                f"Employees' app: {url}/m/  ({name}: NIP {nip}, activation code {code}). To punch, first "
                f"enroll your face as theirs at {url}/employees/{emp_id} (user admin); away from their office's "
                "point a punch is kept but held. From another phone, camera and location need HTTPS (docs/)."),
                style="bold green", soft_wrap=True)  # (one line: the code must not break across lines)
        Hub(settings, host="127.0.0.1", port=port, mqtt=use_mqtt).run()
    finally:
        fleet.stop()
    console.print(tr("Demo selesai; data tersimpan di basis data hub.",
                     "Demo stopped; the data stays in the hub's store."))


def _pull(engine, settings, pull_fleet, total: int) -> None:  # type: ignore[no-untyped-def]
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), console=console) as bar:
        task = bar.add_task(tr("Menarik log terminal", "Pulling terminal logs"), total=total)
        results = pull_fleet(engine, settings.pull, on_done=lambda _r: bar.advance(task))
    new = sum(r.new for r in results)
    failed = [r for r in results if r.error]
    console.print(tr(f"Tarik data: {len(results)} terminal, {new} punch baru, {len(failed)} gagal.",
                     f"Pull: {len(results)} terminals, {new} new punches, {len(failed)} failed."))
    if len(failed) == len(results) and results:
        fail(tr("tidak ada terminal yang dapat ditarik", "no terminal could be pulled"),
             tr("lihat `hub device list` dan log di folder var/demo", "see `hub device list` and var/demo"))


def _register_push(adms: int, mqtt: int) -> None:
    from sqlalchemy import select

    from hub.fleet.registry import DeviceSpec, add_device
    from hub.simulator.push_fleet import push_serials
    from hub.store.models import Device

    a_sns, m_sns = push_serials(adms, mqtt, "DEMO")
    with store() as s:
        have = set(s.scalars(select(Device.serial)))
        for sn, kind in [(sn, "adms") for sn in a_sns] + [(sn, "mqtt") for sn in m_sns]:
            if sn not in have:
                add_device(s, DeviceSpec(serial=sn, kind=kind))
