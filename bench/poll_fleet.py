"""Fleet poll benchmark: 90 simulated ZK terminals x 20,000 records behind LAN limits.

Prints, measured in one run:
- our full pull of the fleet (concurrent, pyzk transport, our parser, bulk ingest) end to
  end into the store: seconds and records/s;
- the same pull the way sync scripts do it today: plain pyzk `get_attendance`, one
  terminal after another, each record then INSERTed on its own (ON CONFLICT DO NOTHING /
  INSERT OR IGNORE) into the script's table, one commit per terminal; and, timed apart,
  what that baseline would take if it stored through our bulk ingest instead;
- an incremental poll of the unchanged fleet;
- pyzk 0.9's parsing alone vs ours on 16-byte records with 2,000 users;
- lost / duplicated counts of the store against the terminals' logs.

Terminals run in worker processes of hub.simulator.fleet with A1's fault injection
(latency per answer, bandwidth cap per connection) and the TCP framing of captured
firmware by default (--framing). Usage:
    python bench/poll_fleet.py [--small] [--terminals 90] [--records 20000] [--sqlite]
    python bench/poll_fleet.py --vendor hikvision [--small] [--sqlite]   (20 ISAPI terminals x 20,000 events)
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import os
import pickle
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import create_engine, select, text  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402
from zk import ZK  # noqa: E402
from zk.user import User as PyzkUser  # noqa: E402

from hub.adapters.zk.coordinator import Puller, load_targets  # noqa: E402
from hub.adapters.zk.normalise import to_punches  # noqa: E402
from hub.config import PullSettings, Settings, set_settings  # noqa: E402
from hub.fleet.registry import DeviceSpec, add_device  # noqa: E402
from hub.protocols import zk  # noqa: E402
from hub.protocols.zk_codes import zk_state, zk_verify  # noqa: E402
from hub.protocols.zk_records import parse_attendance  # noqa: E402
from hub.punch import Punch, Source  # noqa: E402
from hub.store.db import make_engine, upgrade  # noqa: E402
from hub.store.ingest import ingest_punches  # noqa: E402
from hub.store.models import Device, Employee, PinMapping, RawPunch  # noqa: E402

PG_ADMIN = os.environ.get("HUB_TEST_POSTGRES_URL",
                          "postgresql+psycopg://postgres@127.0.0.1:5432/test")
PROFILES = ("tft", "face", "mono")
START = datetime(2026, 9, 1, 6, 0)


def say(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


# --- the fleet ----------------------------------------------------------------------------
def workdirs(prefix: str) -> tuple[Path, Path, Path]:
    """A scratch folder with terminals/ and run/ in it, and hub settings pointing there."""
    tmp = Path(tempfile.mkdtemp(prefix=prefix))
    state, run = tmp / "terminals", tmp / "run"
    state.mkdir()
    run.mkdir()
    set_settings(Settings(database_url="", var_dir=str(tmp / "var"),
                          secret_key=__import__("cryptography.fernet").fernet.Fernet
                          .generate_key().decode()))
    return tmp, state, run


def fleet_jobs(n: int, records: int, users: int, latency_s: float, bps: int, state: Path,
               procs: int, framing: str = "capture") -> list[dict]:
    jobs: list[dict] = [{"host": "127.0.0.1", "terminals": []} for _ in range(procs)]
    for i in range(n):
        profile = PROFILES[i % len(PROFILES)]
        us = [(uid, str(10000 + uid), f"P{uid}") for uid in range(1, users + 1)]
        recs = [(str(10000 + 1 + (k % users)), zk.encode_time(START + timedelta(seconds=37 * k)),
                 k % 2, (1, 15, 4)[k % 3]) for k in range(records)]
        jobs[i % procs]["terminals"].append({
            "serial": f"BENCH{i:03d}", "profile": profile, "comm_key": 0, "tz": "Asia/Jakarta",
            "clock_offset_s": 0.0, "port": 0, "path": str(state / f"t{i:03d}.db"),
            "rebuild": True, "users": us, "records": recs, "framing": framing,
            "faults": {"latency_s": latency_s, "bandwidth_bps": bps}})
    return jobs


def start_fleet(jobs: list[dict], run: Path) -> tuple[list[subprocess.Popen], dict[str, int]]:
    procs = []
    for n, job in enumerate(jobs):
        job["ready"] = str(run / f"ready-{n}.json")
        path = run / f"job-{n}.pickle"
        path.write_bytes(pickle.dumps(job, protocol=5))
        log = open(run / f"worker-{n}.log", "ab")  # noqa: SIM115 - handed to the child
        procs.append(subprocess.Popen([sys.executable, "-m", "hub.simulator.fleet", str(path)],
                                      stdout=log, stderr=subprocess.STDOUT,
                                      cwd=Path(__file__).resolve().parent.parent))
    import json

    ports: dict[str, int] = {}
    deadline = time.monotonic() + 900
    pending = set(range(len(jobs)))
    while pending:
        for n in list(pending):
            ready = Path(jobs[n]["ready"])
            if ready.exists():
                answer = json.loads(ready.read_text())
                if "error" in answer:
                    raise SystemExit(f"terminal worker {n} failed: {answer['error']}")
                ports.update(answer["ports"])
                pending.discard(n)
            elif procs[n].poll() is not None:
                raise SystemExit(f"terminal worker {n} exited; see {run}/worker-{n}.log")
        if time.monotonic() > deadline:
            raise SystemExit("terminals not ready after 900 s")
        time.sleep(0.1)
    return procs, ports


def stop_fleet(procs: list[subprocess.Popen]) -> None:
    for p in procs:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
    for p in procs:
        try:
            p.wait(15)
        except subprocess.TimeoutExpired:
            p.kill()


# --- stores -------------------------------------------------------------------------------
class Stores:
    def __init__(self, use_pg: bool, tmp: Path) -> None:
        self.use_pg, self.tmp, self.created = use_pg, tmp, []
        self.admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT") if use_pg else None

    def new(self, label: str) -> str:
        if not self.use_pg:
            url = f"sqlite:///{self.tmp / f'{label}.sqlite3'}"
        else:
            name = f"bench_poll_{os.getpid()}_{label}_{uuid.uuid4().hex[:6]}"
            with self.admin.connect() as c:
                c.execute(text(f'CREATE DATABASE "{name}"'))
            self.created.append(name)
            url = PG_ADMIN.rsplit("/", 1)[0] + "/" + name
        upgrade(url)
        return url

    def close(self) -> None:
        if self.admin is None:
            return
        for name in self.created:
            with self.admin.connect() as c:
                c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        self.admin.dispose()


def register(url: str, ports: dict[str, int], profiles: dict[str, str], users: int) -> None:
    """The terminals, and the roster they know: every PIN maps to an employee, as in a hub
    that pushed its roster to the fleet (punches are resolved to employees on the way in)."""
    engine = make_engine(url)
    with Session(engine) as s:
        for serial, port in sorted(ports.items()):
            kind = "zk-udp" if profiles[serial] == "mono" else "zk-tcp"
            add_device(s, DeviceSpec(serial=serial, kind=kind, host="127.0.0.1", port=port))
        emps = [Employee(id_number=f"B{uid:05d}", employment_type="non_asn", name=f"P{uid}")
                for uid in range(1, users + 1)]
        s.add_all(emps)
        s.flush()
        s.add_all(PinMapping(employee_id=e.id, pin=str(10000 + uid), pin_group="default")
                  for uid, e in enumerate(emps, start=1))
        s.commit()
    engine.dispose()


def check(url: str, truth: dict[str, set]) -> tuple[int, int, int]:
    """(stored rows, lost, duplicated) of the store against the terminals' logs."""
    engine = make_engine(url)
    with Session(engine) as s:
        serials = dict(s.execute(select(Device.id, Device.serial)).all())
        rows = [(serials[d], p, t, st, v) for d, p, t, st, v in s.execute(
            select(RawPunch.device_id, RawPunch.pin, RawPunch.local_time, RawPunch.state,
                   RawPunch.verify))]
    engine.dispose()
    stored = set(rows)
    want = {(serial, *ident) for serial, idents in truth.items() for ident in idents}
    lost = len(want - stored)
    duplicated = (len(rows) - len(stored)) + len(stored - want)
    return len(rows), lost, duplicated


# --- the sync-script way ------------------------------------------------------------------
SCRIPT_TABLE = ("CREATE TABLE IF NOT EXISTS script_attendance (id {pk}, device_sn varchar(32), "
                "user_id varchar(32), ts timestamp, status integer, punch integer, "
                "UNIQUE (device_sn, user_id, ts, punch))")


def serial_pyzk(url: str, bulk_url: str, ports: dict[str, int], profiles: dict[str, str],
                sample: list[str], timeout: int) -> tuple[float, float, float, int, list[str]]:
    """pyzk get_attendance one terminal after another, each record then INSERTed on its own
    (ON CONFLICT DO NOTHING), one commit per terminal: how pyzk sync scripts store.

    The same punches also go through our bulk ingest into another store, timed apart, to
    show what the baseline would take with our store: (fetch, row store, bulk store, n,
    the terminals where pyzk failed, with its error). A failed terminal costs the time pyzk
    spent on it and contributes no records, as in a script that logs the error and moves on."""
    sqlite = url.startswith("sqlite")
    engine, bulk_engine = make_engine(url), make_engine(bulk_url)
    with Session(bulk_engine) as s:
        ids = dict(s.execute(select(Device.serial, Device.id)).all())
    dbapi = engine.raw_connection()
    cur = dbapi.cursor()
    cur.execute(SCRIPT_TABLE.format(pk="integer PRIMARY KEY" if sqlite else "serial PRIMARY KEY"))
    dbapi.commit()
    insert = ("INSERT OR IGNORE INTO script_attendance (device_sn, user_id, ts, status, punch) "
              "VALUES (?, ?, ?, ?, ?)" if sqlite else
              "INSERT INTO script_attendance (device_sn, user_id, ts, status, punch) "
              "VALUES (%s, %s, %s, %s, %s) ON CONFLICT DO NOTHING")
    fetch_s = store_s = bulk_s = 0.0
    total = 0
    failed: list[str] = []
    for serial in sample:
        t0 = time.perf_counter()
        conn = ZK("127.0.0.1", port=ports[serial], timeout=timeout, ommit_ping=True,
                  force_udp=profiles[serial] == "mono")
        try:
            conn.connect()
            atts = conn.get_attendance()
            conn.disconnect()
        except Exception as exc:  # noqa: BLE001 - what the script's users see, counted
            failed.append(f"{serial} ({profiles[serial]}): {exc.__class__.__name__}: {exc}")
            atts = []
            with contextlib.suppress(Exception):
                conn._ZK__sock.close()  # noqa: SLF001 - pyzk leaves it open on failure
        t1 = time.perf_counter()
        for a in atts:
            cur.execute(insert, (serial, a.user_id, a.timestamp, a.status, a.punch))
        dbapi.commit()
        t2 = time.perf_counter()
        punches = [Punch(ids[serial], Source.ZK_TCP, str(a.user_id), a.timestamp, "Asia/Jakarta",
                         zk_state(a.punch if profiles[serial] != "mono" else a.status),
                         zk_verify(a.status if profiles[serial] != "mono" else a.punch),
                         raw={"uid": a.uid}) for a in atts]
        t3 = time.perf_counter()
        ingest_punches(bulk_engine, punches)
        bulk_s += time.perf_counter() - t3
        fetch_s += t1 - t0
        store_s += t2 - t1
        total += len(atts)
    cur.close()
    dbapi.close()
    engine.dispose()
    bulk_engine.dispose()
    return fetch_s, store_s, bulk_s, total, failed


def fetch_only(url: str, concurrency: int) -> tuple[float, int]:
    """Our concurrent download + parse + canonical punches, without the store: the part of
    the pull this adapter owns (the store's bulk ingest is shared with the baseline)."""
    from concurrent.futures import ThreadPoolExecutor

    from hub.adapters.zk.coordinator import default_client

    engine = make_engine(url)
    targets = load_targets(engine)
    engine.dispose()
    settings = PullSettings(timeout_s=60)

    def one(t):  # noqa: ANN001, ANN202
        with default_client(t, settings) as c:
            log = c.read_attendance(c.sizes().records)
            return len(to_punches(log.records, t, "zk_tcp"))

    t0 = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        total = sum(pool.map(one, targets))
    return time.perf_counter() - t0, total


# --- parsing alone ------------------------------------------------------------------------
class OfflineZK(ZK):
    """pyzk's get_attendance fed from memory: what remains is pyzk's own parsing."""

    def __init__(self, buffer: bytes, count: int, users: list) -> None:
        super().__init__("127.0.0.1", ommit_ping=True)
        self._buf, self._count, self._users = buffer, count, users

    def read_sizes(self) -> bool:
        self.records = self._count
        return True

    def get_users(self) -> list:
        return self._users

    def read_with_buffer(self, command, fct=0, ext=0):  # noqa: ANN001, ANN201
        return self._buf, len(self._buf)


def parse_bench(records: int, users: int) -> tuple[float, float, float]:
    recs = [zk.AttRecord(0, str(10000 + 1 + k % users), zk.encode_time(
        START + timedelta(seconds=37 * k)), k % 2, 1) for k in range(records)]
    payload = b"".join(zk.encode_att(r, 16) for r in recs)
    buf = len(payload).to_bytes(4, "little") + payload
    pyzk_users = [PyzkUser(uid, "", 0, "", "", str(10000 + uid)) for uid in range(1, users + 1)]
    t0 = time.perf_counter()
    theirs = OfflineZK(buf, records, pyzk_users).get_attendance()
    pyzk_s = time.perf_counter() - t0
    best = best_full = float("inf")
    for _ in range(3):
        t0 = time.perf_counter()
        ours = parse_attendance(payload, records)
        t1 = time.perf_counter()
        from hub.adapters.zk.coordinator import Target

        to_punches(ours.records, Target(1, "X", "zk-udp", None, None, None, None, 0,
                                        "Asia/Jakarta", None, None, True), "zk_udp")
        best = min(best, t1 - t0)
        best_full = min(best_full, time.perf_counter() - t0)
    assert [(a.user_id, a.timestamp) for a in theirs] == \
        [(r.pin, r.local_time) for r in ours.records], "parsers disagree"
    return pyzk_s, best, best_full


# --- the Hikvision case ---------------------------------------------------------------------
def hikvision_case(args: argparse.Namespace) -> None:
    """N Hikvision ISAPI terminals (each its own `hub simulate device --vendor hikvision`
    process) x records events: our full pull and the unchanged poll, against the way a sync
    script does it with hikvisionapi (PyPI): one terminal after another, AcsEvent paged by
    30, one INSERT per event into its table."""
    from hikvisionapi import Client

    from hub.adapters.isapi.pull import load_targets as isapi_targets
    from hub.adapters.isapi.pull import pull_many as isapi_pull
    from hub.protocols import isapi

    n, records = args.terminals, args.records
    tmp, _state, run = workdirs("poll_isapi_")
    stores = Stores(not args.sqlite, tmp)
    procs: list[subprocess.Popen] = []
    ports: dict[str, int] = {}
    users = max(1, min(args.users, records))
    try:
        say(f"starting {n} Hikvision terminals x {records} events ({users} people each)")
        t0 = time.perf_counter()
        env = {**os.environ, "HUB_DATABASE_URL": f"sqlite:///{tmp / 'unused.sqlite3'}"}
        for i in range(n):
            with socket_free() as port:
                serial = f"DS-K1T-B{i:03d}"
                ports[serial] = port
            procs.append(subprocess.Popen(
                [sys.executable, "-m", "hub.cli.main", "simulate", "device", "--vendor", "hikvision", "--port",
                 str(port), "--records", str(records), "--users", str(users), "--serial", serial],
                env=env, stdout=open(run / f"{serial}.log", "wb"), stderr=subprocess.STDOUT))  # noqa: SIM115
        for serial, port in ports.items():
            deadline = time.monotonic() + 300
            while True:
                try:
                    Client(f"http://127.0.0.1:{port}", "admin", "Hik12345", timeout=5).System.deviceInfo(method="get")
                    break
                except Exception:  # noqa: BLE001 - still filling its log
                    if time.monotonic() > deadline:
                        raise RuntimeError(f"{serial} did not come up: "
                                           f"{(run / f'{serial}.log').read_text()[-500:]}") from None
                    time.sleep(0.5)
        say(f"terminals up in {time.perf_counter() - t0:.1f} s")

        url = stores.new("isapi")
        engine = make_engine(url)
        upgrade(url)
        with Session(engine) as s:
            for serial, port in ports.items():
                add_device(s, DeviceSpec(serial=serial, kind="hik-isapi", host="127.0.0.1", port=port,
                                         username="admin", password="Hik12345"))
            s.commit()
        t0 = time.perf_counter()
        results = isapi_pull(engine, isapi_targets(engine), workers=args.concurrency)
        full_s = time.perf_counter() - t0
        errors = [r for r in results if r.error]
        new = sum(r.new for r in results)
        say(f"full pull: {full_s:.2f} s, {new} new, {len(errors)} errors {[r.error for r in errors][:3]}")
        t0 = time.perf_counter()
        inc = isapi_pull(engine, isapi_targets(engine), workers=args.concurrency)
        inc_s = time.perf_counter() - t0
        say(f"unchanged poll: {inc_s:.2f} s, modes {sorted({r.mode for r in inc})}")
        with Session(engine) as s:
            stored = s.scalar(select(text("count(*)")).select_from(RawPunch)) or 0
            distinct = len(set(s.execute(select(RawPunch.device_id, RawPunch.device_seq)).all()))
        engine.dispose()

        # the sync-script way: hikvisionapi, serial, a row at a time
        base_url = stores.new("hikvisionapi")
        base = create_engine(base_url)
        with base.begin() as c:
            c.execute(text("CREATE TABLE events (serial TEXT, serial_no BIGINT, employee TEXT, at TEXT, "
                           "PRIMARY KEY (serial, serial_no))"))
        conflict = "ON CONFLICT DO NOTHING"
        t0 = time.perf_counter()
        base_rows = 0
        for serial, port in ports.items():
            api = Client(f"http://127.0.0.1:{port}", "admin", "Hik12345", timeout=30)
            cond = isapi.search_body("script", 0, 30, datetime(2000, 1, 1).astimezone(),
                                     datetime(2100, 1, 1).astimezone(), major=0)
            position = 0
            with base.begin() as c:
                while True:
                    cond["AcsEventCond"]["searchResultPosition"] = position
                    page = __import__("json").loads(api.AccessControl.AcsEvent(
                        method="post", params={"format": "json"}, json=cond, present="text"))["AcsEvent"]
                    for ev in page.get("InfoList", []):
                        c.execute(text(f"INSERT INTO events VALUES (:s, :n, :e, :t) {conflict}"),
                                  {"s": serial, "n": ev["serialNo"], "e": ev.get("employeeNoString", ""),
                                   "t": ev["time"]})
                        base_rows += 1
                    position += page["numOfMatches"]
                    if page["responseStatusStrg"] != "MORE":
                        break
        baseline_s = time.perf_counter() - t0
        say(f"hikvisionapi serial + one INSERT per event: {baseline_s:.2f} s, {base_rows} events")
        base.dispose()
    finally:
        for p in procs:
            p.send_signal(signal.SIGTERM)
        for p in procs:
            with contextlib.suppress(subprocess.TimeoutExpired):
                p.wait(20)
        stores.close()
    total = n * records
    print()
    print(f"store: {'SQLite' if args.sqlite else 'PostgreSQL'}; {n} Hikvision terminals x {records} events = "
          f"{total}; {args.concurrency} at once; pages of 30 (the firmware's cap)")
    print(f"hik_full_pull_s: {full_s:.3f}")
    print(f"hik_full_pull_events_per_s: {total / full_s:.0f}")
    print(f"hik_unchanged_poll_s: {inc_s:.3f}")
    print(f"hik_serial_hikvisionapi_s: {baseline_s:.3f}")
    print(f"hik_speedup_vs_serial_hikvisionapi: {baseline_s / full_s:.1f}")
    print(f"hik_pull_errors: {len(errors)}")
    print(f"hik_lost: {total - distinct}")
    print(f"hik_duplicated: {stored - distinct}")


@contextlib.contextmanager
def socket_free():  # type: ignore[no-untyped-def]
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    yield port


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--small", action="store_true", help="10 terminals x 2,000 records")
    ap.add_argument("--terminals", type=int, default=90)
    ap.add_argument("--records", type=int, default=20000)
    ap.add_argument("--users", type=int, default=2000)
    ap.add_argument("--latency-ms", type=float, default=3.0)
    ap.add_argument("--bandwidth", type=int, default=1_000_000, help="bytes/s per terminal")
    ap.add_argument("--concurrency", type=int, default=32)
    ap.add_argument("--processes", type=int, default=0,
                    help="pull worker processes (0 = the hub's default: one per core)")
    ap.add_argument("--baseline-sample", type=int, default=0,
                    help="measure the serial pyzk baseline on N terminals and extrapolate "
                         "(0 = all)")
    ap.add_argument("--sqlite", action="store_true", help="store in SQLite, not PostgreSQL")
    ap.add_argument("--procs", type=int, default=3, help="terminal worker processes")
    ap.add_argument("--framing", default="capture",
                    help="how terminals frame TCP streams: capture (as firmware, default), "
                         "coalesced, split, paced, single")
    ap.add_argument("--pyzk-timeout", type=int, default=5,
                    help="pyzk's timeout in the baseline (its README's example uses 5 s)")
    ap.add_argument("--vendor", default="zk", help="zk (default) | hikvision: 20 ISAPI terminals x 20,000 events "
                                                   "unless --terminals/--records say otherwise")
    args = ap.parse_args()
    if args.vendor == "hikvision":
        if "--terminals" not in sys.argv:
            args.terminals = 20 if not args.small else 4
        if "--records" not in sys.argv:
            args.records = 20000 if not args.small else 2000
        if "--concurrency" not in sys.argv:
            args.concurrency = 8
        return hikvision_case(args)
    if args.small:
        args.terminals, args.records = 10, 2000
    n, records = args.terminals, args.records
    tmp, state, run = workdirs("poll_fleet_")
    stores = Stores(not args.sqlite, tmp)
    procs: list[subprocess.Popen] = []
    try:
        say(f"building {n} terminals x {records} records ({args.users} users each), "
            f"{args.latency_ms} ms latency, {args.bandwidth / 1e6:.1f} MB/s per terminal")
        jobs = fleet_jobs(n, records, args.users, args.latency_ms / 1000, args.bandwidth, state,
                          min(args.procs, n), args.framing)
        profiles = {e["serial"]: e["profile"] for j in jobs for e in j["terminals"]}
        truth: dict[str, set] = {}
        for j in jobs:
            for e in j["terminals"]:
                truth[e["serial"]] = {(pin, zk.decode_time(raw), str(zk_state(st)),
                                       str(zk_verify(v))) for pin, raw, st, v in e["records"]}
        # 1.8 million ground-truth tuples stay alive to the end: out of the collector's
        # sight, so that they don't slow whichever pull allocates while they are around.
        gc.freeze()
        t0 = time.perf_counter()
        procs, ports = start_fleet(jobs, run)
        del jobs
        say(f"fleet up in {time.perf_counter() - t0:.1f} s "
            f"({', '.join(f'{p}={list(profiles.values()).count(p)}' for p in PROFILES)})")

        # 1. our full pull
        url = stores.new("ours")
        register(url, ports, profiles, args.users)
        engine = make_engine(url)
        settings = PullSettings(concurrency=args.concurrency, timeout_s=60, retries=2,
                                auto_sync_time=False, processes=args.processes)
        puller = Puller(engine, settings)
        t0 = time.perf_counter()
        results = puller.pull_many(load_targets(engine))
        full_s = time.perf_counter() - t0
        errors = [r for r in results if r.error]
        new = sum(r.new for r in results)
        say(f"full pull: {full_s:.2f} s, {new} new, {len(errors)} errors "
            f"{[r.error for r in errors][:3]}")
        stored_rows, lost, duplicated = check(url, truth)

        # 2. incremental poll, nothing changed
        t0 = time.perf_counter()
        inc = puller.pull_many(load_targets(engine))
        inc_s = time.perf_counter() - t0
        inc_new = sum(r.new for r in inc)
        modes = sorted({r.mode for r in inc})
        say(f"incremental unchanged: {inc_s:.2f} s, {inc_new} new, modes {modes}")
        engine.dispose()
        stored_after, lost2, dup2 = check(url, truth)
        fetch_ours_s, fetched = fetch_only(url, args.concurrency)
        say(f"our concurrent fetch+parse without the store: {fetch_ours_s:.2f} s, "
            f"{fetched} records")
        lost, duplicated = max(lost, lost2), max(duplicated, dup2)

        # 3. the sync-script way
        serials = sorted(ports)
        # the first k terminals: profiles cycle by index, so k divisible by 3 keeps the mix
        sample = serials if not args.baseline_sample else serials[:args.baseline_sample]
        base_url = stores.new("pyzk")
        bulk_url = stores.new("pyzk_bulk")
        register(bulk_url, ports, profiles, args.users)
        say(f"serial pyzk baseline on {len(sample)} of {n} terminals ...")
        fetch_s, store_s, bulk_s, base_records, base_failed = serial_pyzk(
            base_url, bulk_url, ports, profiles, sample, args.pyzk_timeout)
        for line in base_failed[:5]:
            say(f"pyzk failed: {line}")
        scale = n / len(sample)
        baseline_s = (fetch_s + store_s) * scale
        baseline_bulk_s = (fetch_s + bulk_s) * scale
        if len(sample) < n:
            say(f"baseline EXTRAPOLATED: measured {len(sample)} of {n} terminals "
                f"(the first {len(sample)}, profiles in the fleet's proportions), "
                f"scaled by {scale:.2f}")
        say(f"baseline: fetch+parse {fetch_s:.1f} s + row-at-a-time store {store_s:.1f} s for "
            f"{base_records} records (our bulk ingest would store them in {bulk_s:.1f} s)")

        # 4. parsing alone, 16-byte records with 2,000 users
        pyzk_parse, our_parse, our_parse_punch = parse_bench(args.records, args.users)
    finally:
        stop_fleet(procs)
        stores.close()

    total = n * records
    print()
    print(f"store: {'SQLite' if args.sqlite else 'PostgreSQL'}; {n} terminals x {records} "
          f"records = {total}; concurrency {args.concurrency}; framing {args.framing}, "
          f"{args.latency_ms} ms per answer, {args.bandwidth / 1e6:.1f} MB/s per terminal")
    if base_failed:
        print(f"pyzk failed on {len(base_failed)} of {len(sample)} terminals (timeout "
              f"{args.pyzk_timeout} s) and fetched {base_records} of "
              f"{len(sample) * records} records; its time below counts what it spent on them")
    print(f"ours full pull: {full_s:.2f} s, {total / full_s:,.0f} records/s end to end into "
          "the store")
    print(f"serial pyzk get_attendance + one INSERT per record: {baseline_s:.2f} s "
          f"({'measured all' if len(sample) == n else f'measured {len(sample)} of {n}, extrapolated'}"
          f"; fetch+parse {fetch_s * scale:.1f} s, store {store_s * scale:.1f} s), "
          f"{total / baseline_s:,.0f} records/s")
    print(f"the same with our bulk ingest as its store: {baseline_bulk_s:.2f} s "
          f"(store {bulk_s * scale:.1f} s)")
    print(f"incremental poll of the unchanged fleet: {inc_s:.2f} s ({inc_new} new)")
    print(f"parse 16-byte x {records} with {args.users} users: pyzk {pyzk_parse * 1000:.1f} ms, "
          f"ours {our_parse * 1000:.1f} ms (with canonical punches {our_parse_punch * 1000:.1f} ms)")
    print(f"store rows {stored_after}, ground truth {total}")
    print()
    print(f"full_pull_s: {full_s:.3f}")
    print(f"full_pull_records_per_s: {total / full_s:.0f}")
    print(f"serial_pyzk_s: {baseline_s:.3f}")
    print(f"serial_pyzk_measured_terminals: {len(sample)}")
    print(f"serial_pyzk_failed_terminals: {len(base_failed)}")
    print(f"serial_pyzk_records: {base_records}")
    print(f"framing: {args.framing}")
    print(f"serial_pyzk_bulk_store_s: {baseline_bulk_s:.3f}")
    print(f"speedup_vs_serial_pyzk_bulk_store: {baseline_bulk_s / full_s:.1f}")
    print(f"speedup_vs_serial_pyzk: {baseline_s / full_s:.1f}")
    print(f"fetch_parse_only_s: {fetch_ours_s:.3f}")
    print(f"serial_pyzk_fetch_parse_s: {fetch_s * scale:.3f}")
    print(f"speedup_fetch_parse_vs_serial_pyzk: {fetch_s * scale / fetch_ours_s:.1f}")
    print(f"incremental_unchanged_s: {inc_s:.3f}")
    print(f"pyzk_parse_16byte_ms: {pyzk_parse * 1000:.1f}")
    print(f"our_parse_16byte_ms: {our_parse * 1000:.2f}")
    print(f"parse_speedup_16byte: {pyzk_parse / our_parse:.1f}")
    print(f"pull_errors: {len(errors)}")
    print(f"lost: {lost}")
    print(f"duplicated: {duplicated}")


if __name__ == "__main__":
    main()
