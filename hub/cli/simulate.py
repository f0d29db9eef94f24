"""hub simulate: terminals on loopback for demos and tests (`device` runs one ZK terminal)."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from datetime import datetime, timedelta
from pathlib import Path

import typer
from rich.progress import Progress

from hub.cli.common import console, fail
from hub.i18n import tr

app = typer.Typer(help=tr("Simulator terminal absensi (ZK) di loopback.",
                          "Attendance terminal simulators (ZK) on loopback."), no_args_is_help=True)


def _seed(terminal, users: int, records: int) -> None:
    """Top a terminal up to `users` users and `records` log entries (4 punches a working day)."""
    terminal.fill_users(users)
    need = records - len(terminal.attendance())
    if need <= 0:
        return
    ids = [u.user_id for u in terminal.users()]
    if not ids:
        fail(tr("Tidak ada pengguna untuk punch.", "No users to punch."),
             tr("Tambahkan --users N.", "Add --users N."))
    slots = ((7, 45, 0), (12, 0, 2), (13, 0, 3), (16, 0, 1))
    day0 = terminal.now().replace(hour=0, minute=0, second=0) - timedelta(days=need // (4 * len(ids)) + 1)
    batch: list[tuple[str, datetime, int, int]] = []
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task(tr("Mengisi log absensi", "Filling the attendance log"), total=need)
        for i in range(need):
            day, rest = divmod(i, 4 * len(ids))
            slot, person = divmod(rest, len(ids))
            h, m, state = slots[slot]
            when = day0 + timedelta(days=day, hours=h, minutes=m, seconds=(person * 7) % 600)
            batch.append((ids[person], when, state, 1))
            if len(batch) == 10_000 or i == need - 1:
                terminal.bulk_punch(batch)
                progress.advance(task, len(batch))
                batch.clear()


@app.command("device")
def device(
    port: int = typer.Option(4370, "--port", help="port TCP/UDP"),
    profile: str = typer.Option("tft", "--profile", help="mono | mono8 | tft | face | speedface"),
    serial: str | None = typer.Option(None, "--serial", help="nomor seri (default: acak, disimpan)"),
    state_dir: Path = typer.Option(Path("var/sim"), "--state-dir", help="folder berkas keadaan terminal"),
    comm_key: int | None = typer.Option(None, "--comm-key", help="comm key (0 = tanpa; mengganti yang tersimpan)"),
    udp: bool = typer.Option(False, "--udp", help="hanya UDP"),
    tcp: bool = typer.Option(False, "--tcp", help="hanya TCP"),
    records: int = typer.Option(0, "--records", help="isi log sampai N catatan"),
    users: int = typer.Option(0, "--users", help="isi sampai N pengguna"),
    host: str = typer.Option("127.0.0.1", "--host"),
    tz: str = typer.Option("Asia/Jakarta", "--tz", help="zona jam dinding terminal"),
    clock_offset: float = typer.Option(0.0, "--clock-offset", help="selisih jam terminal (detik)"),
    drift_ppm: float = typer.Option(0.0, "--drift-ppm", help="laju hanyut jam (ppm)"),
    framing: str = typer.Option("capture", "--framing",
                                help="capture (seperti firmware) | coalesced | split | paced | single"),
    sessions: str = typer.Option("displace", "--sessions", help="displace | refuse | many"),
    idle_timeout: float = typer.Option(300.0, "--idle-timeout", help="detik; 0 = tanpa batas"),
    vendor: str = typer.Option("zk", "--vendor", help="zk | hikvision (ISAPI lewat HTTP, port 8000 bila "
                                                      "--port tidak diberikan)"),
) -> None:
    """Jalankan satu terminal ZK (atau Hikvision) di latar depan (Ctrl-C / SIGTERM untuk berhenti)."""
    if vendor == "hikvision":
        return _hikvision(8000 if port == 4370 else port, host, serial, records, users, tz, clock_offset)
    if vendor != "zk":
        fail(tr(f"--vendor '{vendor}' tidak dikenal", f"unknown --vendor '{vendor}'"), "zk | hikvision")
    from hub.simulator.zk import Terminal, TerminalError, TerminalServer, get_profile
    from hub.simulator.zk.framing import Framing
    from hub.simulator.zk.server import SESSION_POLICIES

    try:
        wire = Framing.preset(framing)
    except ValueError as exc:
        fail(str(exc))
    if sessions not in SESSION_POLICIES:
        fail(tr(f"--sessions '{sessions}' tidak dikenal", f"unknown --sessions '{sessions}'"),
             " | ".join(SESSION_POLICIES))

    try:
        prof = get_profile(profile)
    except ValueError as exc:
        fail(str(exc), tr("Pilih salah satu profil di atas.", "Pick one of the profiles above."))
    transports = [t for t, on in (("tcp", tcp), ("udp", udp)) if on] or list(prof.transports)
    bad = [t for t in transports if t not in prof.transports]
    if bad:
        fail(tr(f"Profil {profile} tidak mendukung {', '.join(bad)}.", f"Profile {profile} does not speak "
                f"{', '.join(bad)}."), tr(f"Gunakan {'/'.join(prof.transports)}.", f"Use {'/'.join(prof.transports)}."))
    path = state_dir / f"{serial or f'{profile}-{port}'}.db"
    try:
        if path.exists():
            terminal = Terminal.load(path)
            if terminal.profile.name != profile:
                fail(tr(f"{path} berisi terminal profil {terminal.profile.name}, bukan {profile}.",
                        f"{path} holds a {terminal.profile.name} terminal, not {profile}."),
                     tr("Pakai --state-dir lain atau --profile yang sama.", "Use another --state-dir or the same "
                        "--profile."))
            if comm_key is not None and comm_key != terminal.comm_key:
                terminal.set_comm_key(comm_key)  # what was asked for, not what the state file held
        else:
            terminal = Terminal.create(path, profile, serial=serial, comm_key=comm_key or 0, tz=tz,
                                       clock_offset_s=clock_offset, drift_ppm=drift_ppm)
        _seed(terminal, users, records)
    except TerminalError as exc:
        fail(str(exc), tr("Periksa --users/--records terhadap kapasitas profil.",
                          "Check --users/--records against the profile's capacities."))

    async def main() -> None:
        server = TerminalServer(terminal, host, port, transports, framing=wire, session_policy=sessions,
                                idle_timeout_s=idle_timeout)
        try:
            await server.start()
        except OSError as exc:
            fail(tr(f"Port {port} tidak dapat dipakai: {exc}", f"Port {port} cannot be used: {exc}"),
                 tr("Pilih --port lain atau hentikan proses yang memakainya.",
                    "Choose another --port or stop the process using it."))
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, lambda: loop.create_task(server.stop()))
        s = terminal.sizes()
        console.print(tr(f"Terminal {terminal.serial} ({profile}) siap di {host}:{server.port} "
                         f"({'+'.join(transports)}), {s.users} pengguna, {s.records} catatan. Ctrl-C untuk berhenti.",
                         f"Terminal {terminal.serial} ({profile}) ready on {host}:{server.port} "
                         f"({'+'.join(transports)}), {s.users} users, {s.records} records. Ctrl-C to stop."))
        await server.serve_forever()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main())
    terminal.close()
    console.print(tr("Terminal berhenti; keadaan tersimpan di ", "Terminal stopped; state kept in ") + str(path))


def _hikvision(port: int, host: str, serial: str | None, records: int, users: int, tz: str,
               clock_offset: float) -> None:
    """A Hikvision ISAPI terminal (hub.simulator.hikvision) until Ctrl-C: Digest login admin /
    Hik12345, `records` punches of `users` people over the last days, the zone's offset."""
    import threading

    from hub.simulator.hikvision import HikTerminal, Served
    from hub.times import local_now

    offsets = {"Asia/Jakarta": 7.0, "Asia/Makassar": 8.0, "Asia/Jayapura": 9.0}
    if tz not in offsets:
        fail(tr(f"zona {tz} bukan WIB/WITA/WIT", f"zone {tz} is not WIB/WITA/WIT"), ", ".join(offsets))
    term = HikTerminal(serial=serial or "DS-K1T341AMF20260001", utc_offset_h=offsets[tz], drift_s=clock_offset)
    people = [f"{1000 + i}" for i in range(max(users, 1))]
    # one punch a minute, the newest a minute ago: a log of the past, never of the future
    start = local_now(tz).replace(second=0, microsecond=0) - timedelta(minutes=records)
    for i in range(records):
        term.punch(people[i % len(people)], start + timedelta(minutes=i), attendance="checkIn")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with Served(term, host, port) as served:
        console.print(tr(f"Terminal Hikvision {term.serial} di {served.url} (Digest admin/Hik12345), "
                         f"{len(term.events)} peristiwa. Ctrl-C untuk berhenti.",
                         f"Hikvision terminal {term.serial} at {served.url} (Digest admin/Hik12345), "
                         f"{len(term.events)} events. Ctrl-C to stop."))
        try:
            while not stop.wait(0.5):
                pass
        except KeyboardInterrupt:
            pass
