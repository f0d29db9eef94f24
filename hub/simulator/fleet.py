"""A fleet of simulated ZK terminals on loopback, served from separate worker processes.

The parent builds the population (population.py), hands each worker process a slice of the
terminals with their users and records, writes the ground truth while the workers load
state, and waits until every terminal listens. Each worker serves its slice from one
asyncio loop, one port per terminal (TCP and UDP share the number), state in one SQLite
file per terminal under `state_dir/terminals/`, and stops cleanly on SIGTERM/SIGINT.

A restart with the same population parameters reuses the saved terminal state (so live
punches made meanwhile stay); different parameters rebuild it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import pickle
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from hub.protocols import zk
from hub.simulator import groundtruth
from hub.simulator.population import Population, PopulationSpec, generate, user_name, zk_time
from hub.simulator.zk.profiles import get_profile

MANIFEST = "fleet.json"
HOST = "127.0.0.1"


class FleetError(RuntimeError):
    """The fleet cannot start; the message says why and what to do."""


SIMULATOR_KINDS = ("zk", "adms", "mqtt", "hik")
AVAILABLE_KINDS = ("zk", "adms", "mqtt", "hik")  # adms/mqtt: hub.simulator.push_fleet; hik: hikvision


def parse_mix(text: str, known: tuple[str, ...] = SIMULATOR_KINDS) -> dict[str, int]:
    """'zk=60,adms=20,mqtt=10' -> {'zk': 60, 'adms': 20, 'mqtt': 10}; clear errors otherwise."""
    out: dict[str, int] = {}
    if not text or not text.strip():
        raise ValueError("campuran kosong: tulis mis. zk=90")
    for n, part in enumerate(text.split(","), start=1):
        name, sep, count = part.strip().partition("=")
        name = name.strip().lower()
        if not sep or not name:
            raise ValueError(f"bagian {n} '{part.strip()}' harus berbentuk jenis=jumlah, mis. zk=90")
        if name not in known:
            raise ValueError(f"bagian {n}: jenis '{name}' tidak dikenal; pilih: {', '.join(known)}")
        if name in out:
            raise ValueError(f"bagian {n}: jenis '{name}' disebut dua kali")
        count = count.strip()
        if not count.isdigit() or not 0 < int(count) <= 100_000:
            raise ValueError(f"bagian {n}: jumlah '{count}' untuk {name} harus bilangan bulat 1-100000")
        out[name] = int(count)
    return out


@dataclass
class FleetConfig:
    spec: PopulationSpec = field(default_factory=PopulationSpec)
    state_dir: Path = Path("var/fleet")
    base_port: int = 0  # 0: every terminal takes a free port; else base_port + terminal index
    processes: int | None = None  # default: one per CPU core (at least 2), never more than terminals
    faults: dict[str, dict[str, Any]] = field(default_factory=dict)  # serial (or "*") -> Faults fields
    start_timeout_s: float = 120.0
    framing: str = "capture"  # how every terminal frames TCP streams (hub.simulator.zk.framing)


def _spec_key(spec: PopulationSpec) -> dict[str, Any]:
    d = asdict(spec)
    d["start"] = spec.start.isoformat()
    d["profile_mix"] = [list(x) for x in spec.profile_mix]
    return d


def check_capacity(pop: Population) -> None:
    """Refuse a population a real unit could not hold, before anything starts."""
    users, records = pop.users_by_terminal(), pop.records_by_terminal()
    for t in pop.terminals:
        prof = get_profile(t.profile)
        if len(users[t.index]) > prof.users_cap:
            raise FleetError(f"terminal {t.serial} ({t.profile}) akan memuat {len(users[t.index])} pegawai, "
                             f"kapasitasnya {prof.users_cap}: tambah --devices atau kurangi --employees")
        if len(records[t.index]) > prof.rec_cap:
            raise FleetError(f"terminal {t.serial} ({t.profile}) akan memuat {len(records[t.index])} punch, "
                             f"kapasitasnya {prof.rec_cap}: tambah --devices atau kurangi --days")


def _records(pop: Population) -> dict[int, list[tuple[str, int, int, int]]]:
    """Per terminal, (pin, ZK time, state, verify) of its records in the order it recorded them."""
    out: dict[int, list] = {t.index: [] for t in pop.terminals}
    c = pop.columns
    if c is None or len(c["term"]) != len(pop.punches):
        for p in pop.punches:
            out[p.terminal].append((p.pin, zk.encode_time(p.local), p.state, p.verify))
        return out
    rows = zip([p.pin for p in pop.punches], zk_time(c["local_s"]).tolist(), c["state"].tolist(),
               c["verify"].tolist(), strict=True)
    for term, row in zip(c["term"].tolist(), rows, strict=True):
        out[term].append(row)
    return out


def _jobs(pop: Population, cfg: FleetConfig, rebuild: bool, n_proc: int) -> list[dict[str, Any]]:
    users = pop.users_by_terminal()
    records = _records(pop) if rebuild else {}
    jobs: list[dict[str, Any]] = [{"host": HOST, "terminals": []} for _ in range(n_proc)]
    for t in pop.terminals:
        entry: dict[str, Any] = {
            "serial": t.serial, "profile": t.profile, "comm_key": t.comm_key, "tz": t.tz,
            "clock_offset_s": t.clock_offset_s, "port": cfg.base_port + t.index if cfg.base_port else 0,
            "faults": cfg.faults.get(t.serial, cfg.faults.get("*", {})), "framing": cfg.framing,  # "*": every one
            "path": str(cfg.state_dir / "terminals" / f"{t.serial}.db"), "rebuild": rebuild,
        }
        if rebuild:
            entry["users"] = [(uid, e.pin, user_name(e, t.profile)) for uid, e in enumerate(users[t.index], 1)]
            entry["records"] = records[t.index]
        jobs[t.index % n_proc]["terminals"].append(entry)
    return jobs


class Fleet:
    """Start with `start()`, stop with `stop()` (or use as a context manager)."""

    def __init__(self, cfg: FleetConfig) -> None:
        self.cfg = cfg
        self.cfg.state_dir = Path(cfg.state_dir)
        self.population: Population | None = None
        self.procs: list[subprocess.Popen] = []
        self.terminals: list[dict[str, Any]] = []  # manifest entries, with host and port
        self.timings: dict[str, float] = {}

    @property
    def manifest_path(self) -> Path:
        return self.cfg.state_dir / MANIFEST

    @property
    def ground_truth_dir(self) -> Path:
        return self.cfg.state_dir / "groundtruth"

    def start(self, progress: Callable[[str], None] | None = None) -> Fleet:
        say = progress or (lambda _msg: None)
        t0 = time.perf_counter()
        cfg = self.cfg
        cfg.state_dir.mkdir(parents=True, exist_ok=True)
        say("membangun populasi")
        pop = self.population = generate(cfg.spec)
        check_capacity(pop)
        self.timings["population_s"] = time.perf_counter() - t0
        old = self._old_manifest()
        rebuild = not (old and old.get("spec") == _spec_key(cfg.spec) and all(
            (cfg.state_dir / "terminals" / f"{t.serial}.db").exists() for t in pop.terminals))
        n_proc = max(1, min(len(pop.terminals), cfg.processes or max(2, os.cpu_count() or 2)))
        run_dir = cfg.state_dir / "run"
        run_dir.mkdir(exist_ok=True)
        for stale in run_dir.glob("*"):
            stale.unlink()
        say(f"menyalakan {len(pop.terminals)} terminal di {n_proc} proses")
        for n, job in enumerate(_jobs(pop, cfg, rebuild, n_proc)):
            job_path = run_dir / f"job-{n}.pickle"
            job["ready"] = str(run_dir / f"ready-{n}.json")
            job_path.write_bytes(pickle.dumps(job, protocol=5))
            log = open(run_dir / f"worker-{n}.log", "ab")  # noqa: SIM115 - handed to the child
            self.procs.append(subprocess.Popen(
                [sys.executable, "-m", "hub.simulator.fleet", str(job_path)],
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT))
            log.close()
        # the workers load state meanwhile; the ground truth is written here in parallel
        if rebuild or not (self.ground_truth_dir / groundtruth.PUNCHES).exists():
            say("menulis ground truth")
            groundtruth.write(self.ground_truth_dir, pop)
        ports = self._wait_ready(n_proc, run_dir, t0)
        self.terminals = [groundtruth.terminal_entry(t, HOST, ports[t.serial]) for t in pop.terminals]
        groundtruth.write_roster(self.ground_truth_dir, groundtruth.roster_dict(
            pop, {t.serial: (HOST, ports[t.serial]) for t in pop.terminals}))
        self._write_manifest(rebuild)
        self.timings["start_s"] = time.perf_counter() - t0
        say("siap")
        return self

    def _old_manifest(self) -> dict[str, Any] | None:
        try:
            return json.loads(self.manifest_path.read_text())
        except (OSError, ValueError):
            return None

    def _wait_ready(self, n_proc: int, run_dir: Path, t0: float) -> dict[str, int]:
        ports: dict[str, int] = {}
        pending = set(range(n_proc))
        while pending:
            for n in list(pending):
                ready = run_dir / f"ready-{n}.json"
                answer = _read_ready(ready)
                if answer is not None:
                    if "error" in answer:
                        self.stop()
                        raise FleetError(f"proses terminal {n} gagal: {answer['error']} "
                                         f"(lihat {run_dir / f'worker-{n}.log'})")
                    ports.update(answer["ports"])
                    pending.discard(n)
                elif self.procs[n].poll() is not None:
                    self.stop()
                    raise FleetError(f"proses terminal {n} berhenti (kode {self.procs[n].returncode}); "
                                     f"lihat {run_dir / f'worker-{n}.log'}")
            if time.perf_counter() - t0 > self.cfg.start_timeout_s:
                self.stop()
                raise FleetError(f"terminal belum siap setelah {self.cfg.start_timeout_s:.0f} s")
            if pending:
                time.sleep(0.05)
        return ports

    def _write_manifest(self, rebuilt: bool) -> None:
        manifest = {
            "version": 1, "spec": _spec_key(self.cfg.spec), "rebuilt": rebuilt,
            "pids": [p.pid for p in self.procs], "ground_truth": str(self.ground_truth_dir),
            "terminals": [{k: t[k] for k in ("serial", "host", "port", "transport", "kind", "profile", "comm_key",
                                             "tz", "office", "clock_offset_s", "corrupt")} for t in self.terminals],
        }
        tmp = self.manifest_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(manifest, indent=1))
        os.replace(tmp, self.manifest_path)

    def alive(self) -> bool:
        return bool(self.procs) and all(p.poll() is None for p in self.procs)

    def stop(self, timeout: float = 10.0) -> None:
        for p in self.procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for p in self.procs:
            try:
                p.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(5)
        self.procs = []

    def __enter__(self) -> Fleet:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def read_manifest(state_dir: str | Path) -> dict[str, Any]:
    path = Path(state_dir) / MANIFEST
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise FleetError(f"{path} tidak ada: jalankan `hub simulate fleet` dulu") from None
    except ValueError as exc:
        raise FleetError(f"{path} rusak: {exc}") from None


# --- the worker process -------------------------------------------------------------------
def _write_ready(path: Path, answer: dict[str, Any]) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(answer))
    os.replace(tmp, path)  # the parent never sees half a file


def _read_ready(path: Path) -> dict[str, Any] | None:
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        return None
def enrolled_face(serial: str, uid: int):
    """A stand-in face template (1,216 bytes, fixed per terminal and person)."""
    import hashlib

    from hub.protocols.zk_access import Face

    return Face(uid, 0, hashlib.sha256(f"{serial}:{uid}".encode()).digest() * 38)


def _build(entry: dict[str, Any]):
    from hub.simulator.zk.terminal import Terminal

    if not entry["rebuild"]:
        return Terminal.load(entry["path"])
    term = Terminal.create(entry["path"], entry["profile"], serial=entry["serial"], comm_key=entry["comm_key"],
                           clock_offset_s=entry["clock_offset_s"], tz=entry["tz"], overwrite=True)
    term.set_users(zk.User(uid, pin, name) for uid, pin, name in entry["users"])
    uids = {pin: uid for uid, pin, _ in entry["users"]}
    if term.profile.face:  # face units hold the faces their people enrolled at them
        term.set_faces(enrolled_face(term.serial, uid) for uid in uids.values())
    term.bulk_punch(zk.AttRecord(uids[pin], pin, raw, state, verify) for pin, raw, state, verify in entry["records"])
    return term


async def _serve(job: dict[str, Any]) -> None:
    from hub.simulator.zk.faults import Faults
    from hub.simulator.zk.framing import Framing
    from hub.simulator.zk.server import TerminalServer

    servers = []
    ports: dict[str, int] = {}
    for entry in job["terminals"]:
        term = _build(entry)
        for attempt in range(30):
            server = TerminalServer(term, job["host"], entry["port"], faults=Faults.from_dict(entry["faults"]),
                                    framing=Framing.preset(entry.get("framing", "capture")))
            try:
                await server.start()
                break
            except OSError:  # port 0: TCP got a number whose UDP twin is taken; try another
                if entry["port"] or attempt == 29:
                    raise
        servers.append(server)
        ports[entry["serial"]] = server.port
    _write_ready(Path(job["ready"]), {"pid": os.getpid(), "ports": ports})
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    plan = job.get("punch_plan")
    runner = asyncio.create_task(_punch_plan(plan, {s.terminal.serial: s.terminal for s in servers})) \
        if plan else None
    await stop.wait()
    if runner is not None:
        runner.cancel()
    for server in servers:
        await server.stop()
        server.terminal.close()


async def _punch_plan(plan: dict[str, Any], terminals: dict[str, Any]) -> None:
    """People punching at these terminals on a timetable (bench/live_punches.py): waits for
    `go_file` (the start, epoch seconds), punches each (offset_s, pin, state, verify) at its
    moment with live events, and writes when each happened to `log_file`."""
    go = Path(plan["go_file"])
    while not go.exists():
        await asyncio.sleep(0.05)
    start = float(go.read_text())
    todo = sorted((off, serial, pin, st, v) for serial, rows in plan["punches"].items()
                  for off, pin, st, v in rows)
    done = []
    try:
        for off, serial, pin, st, v in todo:
            wait = start + off - time.time()
            if wait > 0:
                await asyncio.sleep(wait)
            rec = terminals[serial].punch(pin, state=st, verify=v)
            done.append((serial, pin, rec.time_raw, time.time()))
    finally:
        tmp = Path(plan["log_file"] + ".tmp")
        tmp.write_text(json.dumps(done))
        tmp.replace(plan["log_file"])


def worker_main(job_path: str) -> int:
    job = pickle.loads(Path(job_path).read_bytes())
    try:
        asyncio.run(_serve(job))
    except Exception as exc:  # reported to the parent, which stops the fleet and says where to look
        ready = Path(job["ready"])
        with contextlib.suppress(OSError):
            _write_ready(ready, {"error": f"{exc.__class__.__name__}: {exc}"})
        raise
    return 0


if __name__ == "__main__":
    sys.exit(worker_main(sys.argv[1]))
