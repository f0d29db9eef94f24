"""hub simulate fleet: a whole Pemda of simulated terminals, with its ground truth."""

from __future__ import annotations

import json
import signal
import time
from datetime import date, timedelta
from pathlib import Path

import typer
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from hub.cli.common import console, fail, store
from hub.cli.simulate import app
from hub.config import get_settings
from hub.i18n import tr


def _mix(devices: int, mix: str | None, profiles: str) -> tuple[tuple[tuple[str, float], ...], dict[str, int]]:
    from hub.simulator.fleet import AVAILABLE_KINDS, parse_mix
    from hub.simulator.zk.profiles import PROFILES

    try:
        kinds = parse_mix(mix or f"zk={devices}")
        prof = parse_mix(profiles, tuple(PROFILES))
    except ValueError as exc:
        fail(str(exc), tr("Contoh: --mix zk=90 --profiles tft=70,mono=10,face=10",
                          "Example: --mix zk=90 --profiles tft=70,mono=10,face=10"))
    missing = [k for k in kinds if k not in AVAILABLE_KINDS]
    if missing:
        fail(tr(f"Simulator {', '.join(missing)} belum tersedia di `hub simulate fleet`.",
                f"The {', '.join(missing)} simulator is not available in `hub simulate fleet` yet."),
             tr("Gunakan zk, adms, mqtt atau hik.", "Use zk, adms, mqtt or hik."))
    if not kinds.get("zk"):
        fail(tr("--mix butuh minimal satu terminal zk (populasi pegawai ada di terminal ZK).",
                "--mix needs at least one zk terminal (the population lives on the ZK terminals)."),
             tr("Contoh: --mix zk=60,adms=20,mqtt=10", "Example: --mix zk=60,adms=20,mqtt=10"))
    if sum(kinds.values()) != devices:
        fail(tr(f"--mix berjumlah {sum(kinds.values())} terminal, --devices {devices}.",
                f"--mix adds up to {sum(kinds.values())} terminals, --devices is {devices}."),
             tr("Samakan keduanya.", "Make them equal."))
    return tuple((name, float(n)) for name, n in prof.items()), kinds


def _interrupt(*_args) -> None:
    raise KeyboardInterrupt  # SIGTERM stops the fleet the same way Ctrl-C does


@app.command("fleet")
def fleet(
    devices: int = typer.Option(90, "--devices", help="jumlah terminal"),
    employees: int = typer.Option(7000, "--employees", help="jumlah pegawai"),
    days: int = typer.Option(30, "--days", help="jumlah hari kalender riwayat punch"),
    seed: int = typer.Option(1, "--seed", help="benih acak (hasil sama untuk benih sama)"),
    start: str | None = typer.Option(None, "--start", help="tanggal awal YYYY-MM-DD (default: berakhir kemarin)"),
    state_dir: Path = typer.Option(Path("var/fleet"), "--state-dir", help="folder keadaan, manifest, ground truth"),
    base_port: int = typer.Option(24370, "--base-port", help="port terminal pertama (0 = port bebas acak)"),
    mix: str | None = typer.Option(None, "--mix", help="jenis simulator, mis. zk=90"),
    profiles: str = typer.Option("tft=70,mono=15,face=15", "--profiles", help="campuran profil ZK (bobot)"),
    processes: int | None = typer.Option(None, "--processes", help="jumlah proses terminal"),
    faults: Path | None = typer.Option(None, "--faults",
                                       help="JSON {serial: {latency_s: ..., ...}} (\"*\": setiap terminal)"),
    register: bool = typer.Option(False, "--register", help="daftarkan kantor, terminal, pegawai dan PIN ke hub"),
    pin_group: str = typer.Option("default", "--pin-group", help="grup PIN untuk --register"),
    adms_url: str = typer.Option("http://127.0.0.1:8080", "--adms-url",
                                 help="alamat hub (endpoint /iclock) untuk terminal ADMS simulasi"),
    broker: str = typer.Option("127.0.0.1:1883", "--broker", help="broker MQTT untuk terminal MQTT simulasi"),
    push_seconds: float = typer.Option(60.0, "--push-seconds",
                                       help="terminal push merekam sehari punch dalam N detik"),
) -> None:
    """Jalankan armada terminal ZK simulasi di loopback (Ctrl-C / SIGTERM untuk berhenti)."""
    from hub.simulator.fleet import Fleet, FleetConfig, FleetError
    from hub.simulator.population import PopulationError, PopulationSpec

    profile_mix, kinds = _mix(devices, mix, profiles)
    push_kinds = {"adms": kinds.get("adms", 0), "mqtt": kinds.get("mqtt", 0)}
    broker_host, _, broker_port = broker.rpartition(":")
    if not broker_host or not broker_port.isdigit():
        fail(tr(f"--broker '{broker}' harus berbentuk HOST:PORT", f"--broker '{broker}' must be HOST:PORT"))
    try:
        first = date.fromisoformat(start) if start else date.today() - timedelta(days=days)
    except ValueError:
        fail(tr(f"--start '{start}' bukan tanggal YYYY-MM-DD.", f"--start '{start}' is not a YYYY-MM-DD date."))
    fault_map: dict = {}
    if faults:
        try:
            fault_map = json.loads(faults.read_text())
            assert isinstance(fault_map, dict) and all(isinstance(v, dict) for v in fault_map.values())
        except (OSError, ValueError, AssertionError) as exc:
            fail(tr(f"Berkas --faults {faults} tidak dapat dibaca sebagai {{serial: {{...}}}}: {exc}",
                    f"--faults file {faults} is not a {{serial: {{...}}}} JSON object: {exc}"))
    if not 0 <= base_port <= 65535 - kinds["zk"]:
        fail(tr(f"--base-port {base_port} tidak menyisakan {devices} port.",
                f"--base-port {base_port} leaves no room for {devices} ports."))
    spec = PopulationSpec(devices=kinds["zk"], employees=employees, days=days, start=first, seed=seed,
                          profile_mix=profile_mix)
    fl = Fleet(FleetConfig(spec, state_dir, base_port, processes, fault_map))
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        with Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(),
                      console=console, transient=True) as progress:
            task = progress.add_task(tr("Menyiapkan armada", "Preparing the fleet"))
            fl.start(lambda msg: progress.update(task, description=msg))
    except (FleetError, PopulationError, OSError) as exc:
        fl.stop()
        fail(str(exc), tr("Periksa parameter dan log di folder run/.", "Check the parameters and run/ logs."))
    except KeyboardInterrupt:  # stopped while starting: no terminal process may outlive us
        fl.stop()
        raise typer.Exit(130) from None
    served: list = []  # Hikvision terminals' web servers, stopped with the fleet
    try:
        _summary(fl)
        if register:
            _register(fl, pin_group)
        if any(push_kinds.values()):
            _start_push(push_kinds, adms_url, (broker_host, int(broker_port)), push_seconds,
                        state_dir, register)
        if kinds.get("hik"):
            served = _start_hikvision(fl, kinds["hik"], state_dir, register, pin_group)
        console.print(tr("Armada berjalan. Ctrl-C untuk berhenti.", "Fleet running. Ctrl-C to stop."))
        while fl.alive():
            time.sleep(0.5)
        console.print(tr("Sebuah proses terminal berhenti sendiri; armada dihentikan.",
                         "A terminal process stopped by itself; stopping the fleet."), style="red")
        raise typer.Exit(1)
    except KeyboardInterrupt:
        pass
    finally:
        for s in served:
            s.stop()
        fl.stop()
    console.print(tr(f"Armada berhenti; keadaan tersimpan di {state_dir}.",
                     f"Fleet stopped; state kept in {state_dir}."))


def _summary(fl) -> None:
    from collections import Counter

    pop = fl.population
    table = Table(title=tr("Armada simulasi", "Simulated fleet"))
    for col in ("serial", "port", "transport", "profil", "kantor", "pengguna", "punch", "catatan"):
        table.add_column(col)
    users, records = pop.users_by_terminal(), pop.records_by_terminal()
    for t, entry in zip(pop.terminals, fl.terminals, strict=True):
        notes = []
        if t.comm_key:
            notes.append("comm key")
        if t.clock_offset_s:
            notes.append(f"jam {t.clock_offset_s:+d} s")
        if t.corrupt:
            notes.append("tanggal rusak (2000)")
        table.add_row(t.serial, str(entry["port"]), t.transport, t.profile, t.office, str(len(users[t.index])),
                      str(len(records[t.index])), ", ".join(notes))
    console.print(table)
    profiles = Counter(t.profile for t in pop.terminals)
    console.print(tr("Kantor", "Offices") + f": {len(pop.offices)}  " + tr("pegawai", "employees")
                  + f": {len(pop.employees)}  " + tr("hari kerja", "working days")
                  + f": {len(pop.working_days)}"
                  + (f" ({pop.working_days[0]} - {pop.working_days[-1]})  " if pop.working_days else "  ")
                  + f"punch: {len(pop.punches)}  " + tr("profil", "profiles") + f": {dict(profiles)}")
    console.print(tr("Anomali", "Anomalies") + f": {dict(pop.anomaly_counts())}")
    console.print(tr("Proses terminal", "Terminal processes") + f": {[p.pid for p in fl.procs]}  "
                  + tr("waktu mulai", "start time") + f": {fl.timings['start_s']:.1f} s")
    console.print(f"manifest: {fl.manifest_path}\nground truth: {fl.ground_truth_dir}")


def _register(fl, pin_group: str) -> None:
    from hub.fleet.seed import register
    from hub.simulator import groundtruth

    roster = groundtruth.read_roster(fl.ground_truth_dir)
    with console.status(tr("Mendaftarkan ke hub", "Registering with the hub")), store() as session:
        res = register(session, roster, pin_group)
    console.print(tr(f"Terdaftar: {res.sites} kantor baru, {res.devices_added} terminal baru "
                     f"({res.devices_updated} diperbarui), {res.employees} pegawai baru, {res.pins} PIN baru.",
                     f"Registered: {res.sites} new offices, {res.devices_added} new terminals "
                     f"({res.devices_updated} updated), {res.employees} new employees, {res.pins} new PINs."))
    for c in res.conflicts[:20]:
        console.print(c, style="yellow")


PUSH_TRUTH = "push-punches.csv"


def _start_push(kinds: dict[str, int], url: str, broker: tuple[str, int], seconds: float,
                state_dir: Path, register: bool) -> None:
    """Simulated ADMS/MQTT terminals (store-and-forward) push yesterday's punches into the
    hub; when every outbox is drained, their ground truth is written beside the ZK one."""
    import csv
    import threading

    from hub.simulator.push_fleet import push_serials, run_push_fleet

    a_sns, m_sns = push_serials(kinds["adms"], kinds["mqtt"], "PUSH")
    if register:
        from sqlalchemy import select

        from hub.fleet.registry import DeviceSpec, add_device
        from hub.store.models import Device

        with store() as s:
            have = set(s.scalars(select(Device.serial)))
            for sn, kind in [(sn, "adms") for sn in a_sns] + [(sn, "mqtt") for sn in m_sns]:
                if sn not in have:
                    add_device(s, DeviceSpec(serial=sn, kind=kind))
    day = date.today() - timedelta(days=1)

    def run() -> None:
        res = run_push_fleet(kinds["adms"], kinds["mqtt"], url, broker[0], broker[1], day=day,
                             seconds=seconds, prefix="PUSH", root=get_settings().mqtt.topic_root)
        path = state_dir / "groundtruth" / PUSH_TRUTH
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        with open(tmp, "w", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(["serial", "pin", "local_time", "state", "verify"])
            for sn, records in sorted(res.records.items()):
                for pin, local, state, verify in records:
                    w.writerow([sn, pin, local.isoformat(sep=" "), state, verify])
        tmp.replace(path)
        console.print(tr(f"Terminal push: {res.total} punch direkam, {res.unsent} belum terkirim; "
                         f"ground truth: {path}",
                         f"Push terminals: {res.total} punches recorded, {res.unsent} unsent; "
                         f"ground truth: {path}"))

    threading.Thread(target=run, name="push-fleet", daemon=True).start()
    console.print(tr(f"{len(a_sns)} terminal ADMS -> {url}, {len(m_sns)} terminal MQTT -> "
                     f"{broker[0]}:{broker[1]} mendorong punch kemarin.",
                     f"{len(a_sns)} ADMS terminals -> {url}, {len(m_sns)} MQTT terminals -> "
                     f"{broker[0]}:{broker[1]} pushing yesterday's punches."))


HIK_TRUTH = "hik-events.csv"


def _start_hikvision(fl, n: int, state_dir: Path, register: bool, pin_group: str) -> list:  # type: ignore[no-untyped-def]
    """Hikvision ISAPI terminals (hub.simulator.hikvision) in the fleet's offices, holding
    yesterday's punches of that office's people (their PINs as employee numbers); their
    ground truth goes beside the ZK one. Pulled by the hub like the ZK terminals."""
    import csv
    from datetime import datetime

    from hub.simulator import groundtruth
    from hub.simulator.hikvision import FACE, HikTerminal, Served

    roster = groundtruth.read_roster(fl.ground_truth_dir)
    offices = [o["code"] for o in roster["offices"]][:max(n, 1)]
    people = {code: [e for e in roster["employees"] if e["office"] == code and e.get("pin")] for code in offices}
    day = date.today() - timedelta(days=1)
    served, rows = [], []
    for i in range(n):
        office = offices[i % len(offices)]
        term = HikTerminal(serial=f"HIK-{i + 1:03d}")
        for k, e in enumerate(people[office][:40]):
            for when, state in ((datetime.combine(day, datetime.min.time()).replace(hour=7, minute=k % 50), "checkIn"),
                                (datetime.combine(day, datetime.min.time()).replace(hour=16, minute=k % 50),
                                 "checkOut")):
                ev = term.punch(str(e["pin"]), when, FACE, state)
                rows.append([term.serial, ev.employee_no, when.isoformat(sep=" "), state])
        served.append(Served(term).start())
    if register:
        from sqlalchemy import select

        from hub.fleet.registry import DeviceSpec, add_device
        from hub.store.models import Device

        with store() as s:
            have = set(s.scalars(select(Device.serial)))
            for i, srv in enumerate(served):
                if srv.term.serial not in have:
                    add_device(s, DeviceSpec(serial=srv.term.serial, kind="hik-isapi", host="127.0.0.1", port=srv.port,
                                             site=offices[i % len(offices)], pin_group=pin_group,
                                             username=srv.term.username, password=srv.term.password))
    path = state_dir / "groundtruth" / HIK_TRUTH
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["serial", "employee_no", "local_time", "attendance"])
        w.writerows(rows)
    console.print(tr(f"{n} terminal Hikvision (ISAPI) di {', '.join(s.url for s in served)}; ground truth: {path}",
                     f"{n} Hikvision (ISAPI) terminals at {', '.join(s.url for s in served)}; ground truth: {path}"))
    return served
