"""Bulk-ingest benchmark: 1,000,000 canonical punches (10% duplicates) into the store.

For SQLite and PostgreSQL it prints our ingest rate (through hub.store.ingest, with the
identity index, PIN resolution, flags, JSON raw) and, measured in the same run, the rate
of a plain executemany INSERT of the same rows into a bare table with no index: the
ceiling.

Punches come in the order terminals deliver them: each terminal's log oldest first, every
terminal pulled twice, the second pull re-reading the last tenth of the first (the
duplicates). The headline ratios ingest them all in one call (one transaction, as the
ceiling is one executemany). Also printed, each on a fresh store: the same punches shuffled
(random order is the worst case for the indexes), and one call with its own commit per
terminal pull (180 calls), as a fleet pull writes them.

This machine's speed drifts by a fifth between minutes, for the ceiling and for us alike
but not always together: the headline order is measured in --rounds rounds (each a fresh
store, the ceiling and ours back to back) and the median round's ratio is the headline.
Usage: python bench/ingest.py [--rows N] [--rounds 3] [--pg URL]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import create_engine, text  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from hub.punch import Punch, Source, State, Verify  # noqa: E402
from hub.store.db import make_engine, upgrade  # noqa: E402
from hub.store.ingest import COLUMNS, ingest_punches  # noqa: E402
from hub.store.models import Device, Employee, PinMapping  # noqa: E402
from hub.times import sqlite_dt  # noqa: E402

STATES = [State.CHECK_IN, State.BREAK_OUT, State.BREAK_IN, State.CHECK_OUT]


def terminal_logs(n: int, devices: list[int], seed: int = 42) -> list[list[Punch]]:
    """Each terminal's log, oldest first: n // 10 * 9 distinct punches across the fleet."""
    rng = random.Random(seed)
    unique = n - n // 10
    start = datetime(2026, 10, 1, 6, 0)
    logs: list[list[Punch]] = [[] for _ in devices]
    for i in range(unique):
        k = i % len(devices)
        pin = str(1 + (i // len(devices)) % 7000)
        # Distinct (device, pin, time): one punch per second step per device.
        when = start + timedelta(seconds=i // len(devices) * 7 + rng.randint(0, 5))
        logs[k].append(Punch(devices[k], Source.ZK_TCP, pin, when, "Asia/Jakarta", STATES[i % 4],
                             Verify.FINGERPRINT, raw={"uid": int(pin), "status": 1, "punch": i % 4}))
    for log in logs:
        log.sort(key=lambda p: p.local_time)
    return logs


def arrival(n: int, devices: list[int], seed: int = 42) -> list[list[Punch]]:
    """The batches the hub receives, as terminals deliver them: each terminal pulled twice,
    the second pull re-reading the last tenth of what the first one read (the overlap a
    reset counter or a second path brings). n punches, 10% of them duplicates."""
    logs = terminal_logs(n, devices, seed)
    dups = n // 10
    first, second = [], []
    for k, log in enumerate(logs):
        overlap = dups // len(logs) + (1 if k < dups % len(logs) else 0)
        half = len(log) // 2
        first.append(log[:half])
        second.append(log[half - overlap:])
    return first + second


def shuffled(n: int, devices: list[int], seed: int = 42, batch: int = 100_000) -> list[list[Punch]]:
    """The same punches in random order, in equal batches: an order no adapter produces
    (each delivers a terminal's log oldest first), kept as the worst case for the indexes."""
    rng = random.Random(seed)
    allp = [p for b in arrival(n, devices, seed) for p in b]
    rng.shuffle(allp)
    return [allp[i:i + batch] for i in range(0, len(allp), batch)]


def setup_store(url: str) -> list[int]:
    upgrade(url)
    engine = make_engine(url)
    with Session(engine) as s:
        devs = [Device(serial=f"BENCH{i:03d}", name=f"B{i}", kind="zk-tcp", host="127.0.0.1",
                       port=4370, tz="Asia/Jakarta", capabilities={}) for i in range(90)]
        s.add_all(devs)
        s.flush()
        emps = [Employee(id_number=f"E{i:05d}", employment_type="non_asn", name=f"P{i}")
                for i in range(1, 6501)]  # 500 PINs stay unknown on purpose
        s.add_all(emps)
        s.flush()
        s.add_all(PinMapping(employee_id=e.id, pin=str(i), pin_group="default")
                  for i, e in enumerate(emps, start=1))
        s.commit()
        ids = [d.id for d in devs]
    engine.dispose()
    return ids


def rows_for_ceiling(punches: list[Punch], sqlite: bool) -> list[tuple]:
    now = datetime.utcnow()
    dt = sqlite_dt if sqlite else (lambda v: v)
    return [(p.device_id, str(p.source), p.pin, None, dt(p.local_time), p.tz,
             dt(p.local_time - timedelta(hours=7)), str(p.state), str(p.verify), None, None,
             json.dumps(p.raw), dt(now), None, 0) for p in punches]


BARE = ("CREATE TABLE bare_punches (device_id integer, source varchar(16), pin varchar(32), "
        "employee_id integer, local_time {ts}, tz varchar(64), utc_time {ts}, "
        "state varchar(16), verify varchar(16), work_code varchar(32), device_seq bigint, "
        "raw {js}, received_at {ts}, ingest_run_id bigint, flags integer)")


def ceiling(url: str, rows: list[tuple], sqlite: bool) -> float:
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(text(BARE.format(ts="timestamp" if not sqlite else "datetime",
                                      js="json" if not sqlite else "text")))
    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        ph = ",".join(["?" if sqlite else "%s"] * len(COLUMNS))
        t0 = time.perf_counter()
        cur.executemany(f"INSERT INTO bare_punches ({','.join(COLUMNS)}) VALUES ({ph})", rows)
        raw.commit()
        elapsed = time.perf_counter() - t0
    finally:
        raw.close()
        engine.dispose()
    return len(rows) / elapsed


def ours(url: str, batches: list[list[Punch]]) -> tuple[float, int, int]:
    engine = make_engine(url)
    new = dup = seen = 0
    t0 = time.perf_counter()
    for batch in batches:
        r = ingest_punches(engine, batch)
        new += r.new
        dup += r.duplicate
        seen += r.seen
    elapsed = time.perf_counter() - t0
    engine.dispose()
    return seen / elapsed, new, dup


def run(backend: str, url: str, n: int, order: str) -> float:
    """One store: the ceiling, then our ingest of the same punches, then a re-read."""
    devices = setup_store(url)
    batches = shuffled(n, devices) if order == "shuffled" else arrival(n, devices)
    punches = [p for b in batches for p in b]
    rows = rows_for_ceiling(punches, backend == "sqlite")
    ceil = ceiling(url, rows, backend == "sqlite")
    del rows
    # "bulk": every punch in one ingest call, one transaction, as the ceiling is one
    # executemany; "per pull": one call (and commit) per terminal pull.
    calls = [punches] if order != "per pull" else batches
    rate, new, dup = ours(url, calls)
    # Second pass: everything is a duplicate now (a re-read of logs already stored).
    rate2, new2, dup2 = ours(url, [punches[: n // 10]])
    expected_unique = n - n // 10
    tag = f"[{backend} {order}]"
    print(f"{tag} {len(punches)} punches in {len(calls)} ingest call(s)")
    print(f"{tag} ceiling (bare executemany, no index): {ceil:,.0f} rows/s")
    print(f"{tag} hub ingest: {rate:,.0f} punches/s  new={new} duplicate={dup} "
          f"(expected new={expected_unique})  ratio {rate / ceil:.2f}")
    print(f"{tag} re-ingest of {n // 10} known punches: {rate2:,.0f} punches/s "
          f"new={new2} duplicate={dup2}", flush=True)
    if new != expected_unique or new2 != 0 or len(punches) != n:
        print(f"{tag} COUNT MISMATCH", file=sys.stderr)
        sys.exit(1)
    return rate / ceil


@contextlib.contextmanager
def fresh_database(backend: str, pg: str) -> Iterator[str]:
    if backend == "sqlite":
        with tempfile.TemporaryDirectory() as d:
            yield f"sqlite:///{d}/bench.sqlite3"
        return
    admin = create_engine(pg, isolation_level="AUTOCOMMIT")
    name = f"hubbench_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield pg.rsplit("/", 1)[0] + "/" + name
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--rounds", type=int, default=3, help="rounds of the headline order")
    ap.add_argument("--pg", default=os.environ.get(
        "HUB_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"))
    args = ap.parse_args()
    ratios: dict[str, float] = {}
    for backend in ("sqlite", "postgresql"):
        for order in ("arrival", "shuffled", "per pull"):
            rounds = []
            for _ in range(args.rounds if order == "arrival" else 1):
                with fresh_database(backend, args.pg) as url:
                    rounds.append(run(backend, url, args.rows, order))
            ratios[f"{backend}_{order.replace(' ', '_')}"] = statistics.median(rounds)
            if len(rounds) > 1:
                print(f"[{backend} {order}] ratios of {len(rounds)} rounds: "
                      f"{', '.join(f'{r:.2f}' for r in rounds)}; median "
                      f"{statistics.median(rounds):.2f}", flush=True)
    # The headline is the bulk ingest in the order punches really arrive in; the others
    # show what random order costs the indexes, and what a commit per terminal pull costs.
    for backend in ("sqlite", "postgresql"):
        print(f"{backend}_ratio_shuffled: {ratios[f'{backend}_shuffled']:.2f}")
        print(f"{backend}_ratio_per_pull: {ratios[f'{backend}_per_pull']:.2f}")
    print(f"sqlite_ratio_to_ceiling: {ratios['sqlite_arrival']:.2f}")
    print(f"postgresql_ratio_to_ceiling: {ratios['postgresql_arrival']:.2f}")


if __name__ == "__main__":
    main()
