"""Bulk-ingest benchmark: 1,000,000 canonical punches (10% duplicates) into the store.

For SQLite and PostgreSQL it prints our ingest rate (through hub.store.ingest, with the
identity index, PIN resolution, flags, JSON raw) and, measured in the same run, the rate
of a plain executemany INSERT of the same rows into a bare table with no index: the
ceiling. Usage: python bench/ingest.py [--rows N] [--pg URL]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import time
import uuid
from datetime import datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import create_engine, text  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from hub.punch import Punch, Source, State, Verify  # noqa: E402
from hub.store.db import make_engine, upgrade  # noqa: E402
from hub.store.ingest import COLUMNS, ingest_punches, sqlite_dt  # noqa: E402
from hub.store.models import Device, Employee, PinMapping  # noqa: E402

STATES = [State.CHECK_IN, State.BREAK_OUT, State.BREAK_IN, State.CHECK_OUT]


def make_punches(n: int, devices: list[int], seed: int = 42) -> list[Punch]:
    """n punches of which 10% repeat an earlier one (a re-read log, a resend)."""
    rng = random.Random(seed)
    unique = n - n // 10
    start = datetime(2026, 10, 1, 6, 0)
    out: list[Punch] = []
    for i in range(unique):
        dev = devices[i % len(devices)]
        pin = str(1 + (i // len(devices)) % 7000)
        # Distinct (device, pin, time): one punch per second step per device.
        when = start + timedelta(seconds=i // len(devices) * 7 + rng.randint(0, 5))
        out.append(Punch(dev, Source.ZK_TCP, pin, when, "Asia/Jakarta", STATES[i % 4],
                         Verify.FINGERPRINT, raw={"uid": int(pin), "status": 1, "punch": i % 4}))
    dups = [out[rng.randrange(unique)] for _ in range(n - unique)]
    allp = out + dups
    rng.shuffle(allp)
    return allp


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


def ours(url: str, punches: list[Punch], batch: int) -> tuple[float, int, int]:
    engine = make_engine(url)
    new = dup = 0
    t0 = time.perf_counter()
    for i in range(0, len(punches), batch):
        r = ingest_punches(engine, punches[i:i + batch])
        new += r.new
        dup += r.duplicate
    elapsed = time.perf_counter() - t0
    engine.dispose()
    return len(punches) / elapsed, new, dup


def run(backend: str, url: str, n: int, batch: int) -> float:
    devices = setup_store(url)
    punches = make_punches(n, devices)
    rows = rows_for_ceiling(punches, backend == "sqlite")
    ceil = ceiling(url, rows, backend == "sqlite")
    rate, new, dup = ours(url, punches, batch)
    # Second pass: everything is a duplicate now (a full re-read of every log).
    rate2, new2, dup2 = ours(url, punches[: n // 10], batch)
    expected_unique = n - n // 10
    print(f"[{backend}] rows={n} batch={batch}")
    print(f"[{backend}] ceiling (bare executemany, no index): {ceil:,.0f} rows/s")
    print(f"[{backend}] hub ingest: {rate:,.0f} punches/s  new={new} duplicate={dup} "
          f"(expected new={expected_unique})")
    print(f"[{backend}] re-ingest of {n // 10} known punches: {rate2:,.0f} punches/s "
          f"new={new2} duplicate={dup2}")
    if new != expected_unique or new2 != 0:
        print(f"[{backend}] COUNT MISMATCH", file=sys.stderr)
        sys.exit(1)
    return rate / ceil


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--batch", type=int, default=100_000)
    ap.add_argument("--pg", default=os.environ.get(
        "HUB_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"))
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        sqlite_ratio = run("sqlite", f"sqlite:///{d}/bench.sqlite3", args.rows, args.batch)
    admin = create_engine(args.pg, isolation_level="AUTOCOMMIT")
    name = f"hubbench_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        pg_ratio = run("postgresql", args.pg.rsplit("/", 1)[0] + "/" + name, args.rows,
                       args.batch)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
    print(f"sqlite_ratio_to_ceiling: {sqlite_ratio:.2f}")
    print(f"postgresql_ratio_to_ceiling: {pg_ratio:.2f}")


if __name__ == "__main__":
    main()
