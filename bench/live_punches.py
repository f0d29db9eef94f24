"""Live punches benchmark: seconds from a punch at a terminal to its row in the store.

90 simulated ZK terminals (worker processes, captured TCP framing, one session at a time
as real units) and 7,000 people, each punching once at a random moment of a 30-minute
morning. The hub side is the code `hub run` runs: a LiveSupervisor holding one live
session per terminal, and the scheduled incremental poll (every --poll-every-s) going
through those sessions.

Prints, measured in one run:
- live: p50 / p99 / max seconds from each punch (the terminal's clock, wall time) to the
  commit of its row;
- the baseline, polling alone (the hub before live sessions, and pyzk sync scripts at
  best): for each punch, the end of the first poll of its terminal that started after
  it, from the polls this run made;
- sessions opened per terminal (1 = the live session served every poll as well), lost and
  duplicated rows against the terminals' logs.

Usage: python bench/live_punches.py [--terminals 90] [--people 7000] [--minutes 30]
       [--sqlite] [--small: 10 terminals, 700 people, 3 minutes, poll every 60 s]
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import threading
import time
from datetime import datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import func, select  # noqa: E402

from bench.poll_fleet import Stores, register, say, start_fleet, stop_fleet, workdirs  # noqa: E402
from hub.adapters.zk.coordinator import Puller, load_targets  # noqa: E402
from hub.adapters.zk.live import LiveSupervisor  # noqa: E402
from hub.adapters.zk.sessions import SESSIONS  # noqa: E402
from hub.config import PullSettings  # noqa: E402
from hub.protocols import zk  # noqa: E402
from hub.store.db import make_engine  # noqa: E402
from hub.store.models import Device, RawPunch  # noqa: E402

PROFILES = ("tft", "face", "mono")
START = datetime(2026, 11, 2, 6, 0)


def jobs_and_plan(n: int, people: int, minutes: float, state: Path, run: Path, procs: int,
                  framing: str, seed: int) -> tuple[list[dict], dict[str, list]]:
    """Each person has a home terminal and punches there once, at a random moment."""
    rng = random.Random(seed)
    home: dict[int, list[int]] = {i: [] for i in range(n)}
    for pid in range(1, people + 1):
        home[(pid - 1) % n].append(pid)
    jobs: list[dict] = [{"host": "127.0.0.1", "terminals": [], "punch_plan": {
        "go_file": str(run / "go"), "log_file": str(run / f"punched-{k}.json"), "punches": {}}}
        for k in range(procs)]
    plan: dict[str, list] = {}
    for i in range(n):
        serial = f"LIVE{i:03d}"
        pids = home[i]
        users = [(pid, str(10000 + pid), f"P{pid}") for pid in pids]
        # a log already holding a week of punches: the catch-up reads it first
        old = [(str(10000 + pid), zk.encode_time(START + timedelta(days=d, minutes=pid % 50)), 0, 1)
               for d in range(5) for pid in pids]
        rows = [(rng.uniform(1.0, minutes * 60), str(10000 + pid), 0, rng.choice((1, 15)))
                for pid in pids]
        plan[serial] = rows
        job = jobs[i % procs]
        job["punch_plan"]["punches"][serial] = rows
        job["terminals"].append({
            "serial": serial, "profile": PROFILES[i % len(PROFILES)], "comm_key": 0,
            "tz": "Asia/Jakarta", "clock_offset_s": 0.0, "port": 0,
            "path": str(state / f"t{i:03d}.db"), "rebuild": True, "users": users,
            "records": old, "framing": framing, "faults": {"latency_s": 0.002}})
    return jobs, plan


def percentile(values: list[float], q: float) -> float:
    """By rank (nearest), no interpolation between two punches."""
    if not values:
        return float("nan")
    values = sorted(values)
    k = min(len(values) - 1, max(0, round(q / 100 * (len(values) - 1))))
    return values[k]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--terminals", type=int, default=90)
    ap.add_argument("--people", type=int, default=7000)
    ap.add_argument("--minutes", type=float, default=30.0)
    ap.add_argument("--poll-every-s", type=float, default=300.0,
                    help="the scheduled incremental poll (the hub's default: every 5 minutes)")
    ap.add_argument("--framing", default="capture")
    ap.add_argument("--procs", type=int, default=3, help="terminal worker processes")
    ap.add_argument("--sqlite", action="store_true", help="store in SQLite, not PostgreSQL")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--small", action="store_true")
    args = ap.parse_args()
    if args.small:
        args.terminals, args.people, args.minutes, args.poll_every_s = 10, 700, 3.0, 60.0
    n = args.terminals
    tmp, state, run = workdirs("live_punches_")
    stores = Stores(not args.sqlite, tmp)
    procs = []
    supervisor: LiveSupervisor | None = None
    stored_at: dict[tuple[int, str, datetime], float] = {}
    polls: dict[int, list[tuple[float, float]]] = {}  # device id -> (poll start, its end)
    halt = threading.Event()
    try:
        say(f"building {n} terminals, {args.people} people punching over {args.minutes:g} min")
        jobs, plan = jobs_and_plan(n, args.people, args.minutes, state, run,
                                   min(args.procs, n), args.framing, args.seed)
        profiles = {e["serial"]: e["profile"] for j in jobs for e in j["terminals"]}
        initial = sum(len(e["records"]) for j in jobs for e in j["terminals"])
        procs, ports = start_fleet(jobs, run)
        url = stores.new("live")
        register(url, ports, profiles, args.people)
        engine = make_engine(url)
        settings = PullSettings(timeout_s=10, retries=1, auto_sync_time=False)

        def on_punch(p) -> None:  # noqa: ANN001 - called after the row's commit
            stored_at.setdefault((p.device_id, p.pin, p.local_time), time.time())

        t0 = time.perf_counter()
        supervisor = LiveSupervisor(engine, settings, on_punch=on_punch).start()
        while sum(li.connected.is_set() for li in supervisor.listeners.values()) < n:
            if time.perf_counter() - t0 > 300:
                raise SystemExit("live sessions not all up after 300 s")
            time.sleep(0.2)
        with engine.connect() as c:
            while c.execute(select(func.count()).select_from(RawPunch)).scalar_one() < initial:
                time.sleep(0.2)
        say(f"{n} live sessions up, {initial} logged punches caught up, in "
            f"{time.perf_counter() - t0:.1f} s")

        def poller() -> None:
            puller = Puller(engine, settings)
            while not halt.wait(args.poll_every_s):
                began = time.time()
                for r in puller.pull_many(load_targets(engine)):
                    polls.setdefault(r.device_id, []).append((began, began + r.seconds))

        poll_thread = threading.Thread(target=poller, daemon=True)
        poll_thread.start()
        start = time.time() + 2.0
        (run / "go.tmp").write_text(repr(start))
        (run / "go.tmp").replace(run / "go")
        say(f"punching starts; ends in {args.minutes:g} min")
        logs = [Path(j["punch_plan"]["log_file"]) for j in jobs]
        deadline = start + args.minutes * 60 + 120
        while not all(p.exists() for p in logs):
            if time.time() > deadline:
                raise SystemExit("the terminals did not finish their punch plan")
            time.sleep(1.0)
        punched = [row for p in logs for row in json.loads(p.read_text())]
        ids = dict(engine.connect().execute(select(Device.serial, Device.id)).all())
        want = {(ids[serial], pin, zk.decode_time(raw)): wall for serial, pin, raw, wall in punched}
        settle = time.time() + 30
        while not all(k in stored_at for k in want) and time.time() < settle:
            time.sleep(0.2)
        halt.set()
        poll_thread.join(args.poll_every_s + 120)
        with engine.connect() as c:
            rows = c.execute(select(RawPunch.device_id, RawPunch.pin, RawPunch.local_time)).all()
        opened = {dev: SESSIONS.line(dev).opened for dev in ids.values()}
        lent = sum(SESSIONS.line(dev).lent for dev in ids.values())
        live_lat = [stored_at[k] - wall for k, wall in want.items() if k in stored_at]
        base_lat = []
        for (dev, _pin, _t), wall in want.items():
            after = [end for began, end in polls.get(dev, []) if began >= wall]
            if after:
                base_lat.append(min(after) - wall)
        unpolled = len(want) - len(base_lat)
        stored_set = set(rows)
        lost = len(set(want) - stored_set)
        duplicated = len(rows) - len(stored_set)
        engine.dispose()
    finally:
        halt.set()
        if supervisor is not None:
            supervisor.stop()
        stop_fleet(procs)
        stores.close()

    print()
    print(f"store: {'SQLite' if args.sqlite else 'PostgreSQL'}; {n} terminals "
          f"({', '.join(f'{p}={list(profiles.values()).count(p)}' for p in PROFILES)}), "
          f"{len(want)} punches over {args.minutes:g} min, framing {args.framing}, "
          f"poll every {args.poll_every_s:g} s through the live sessions")
    print(f"live: p50 {percentile(live_lat, 50):.3f} s, p99 {percentile(live_lat, 99):.3f} s, "
          f"max {max(live_lat):.3f} s ({len(live_lat)} of {len(want)} punches seen live)")
    print(f"polling alone: p50 {percentile(base_lat, 50):.1f} s, p99 {percentile(base_lat, 99):.1f} s "
          f"({len(base_lat)} punches; {unpolled} after the last poll of the run, not counted)")
    print(f"sessions opened per terminal: max {max(opened.values())}, lent to polls {lent} times")
    print(f"rows {len(rows)} (logged before {initial}); lost {lost}, duplicated {duplicated}")
    print()
    print(f"live_p50_s: {percentile(live_lat, 50):.3f}")
    print(f"live_p99_s: {percentile(live_lat, 99):.3f}")
    print(f"live_max_s: {max(live_lat):.3f}")
    print(f"live_seen: {len(live_lat)}")
    print(f"punches: {len(want)}")
    print(f"poll_only_p50_s: {percentile(base_lat, 50):.1f}")
    print(f"poll_only_p99_s: {percentile(base_lat, 99):.1f}")
    print(f"sessions_per_terminal_max: {max(opened.values())}")
    print(f"lost: {lost}")
    print(f"duplicated: {duplicated}")


if __name__ == "__main__":
    main()
