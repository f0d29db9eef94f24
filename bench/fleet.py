"""Fleet start-up: 90 terminals, 7,000 employees, 30 days, until every terminal answers pyzk.

Figures (same run, same population):
- fleet: `Fleet.start()` (worker processes, ground truth written while they load), fresh state
- fleet_restart: the same again over the saved state (no rebuild)
- baseline: the naive way, every terminal created, filled and served one after the other in
  this one process (`Terminal.create` + `bulk_punch` + `start_in_thread`)
Then every terminal is asked for its sizes with pyzk 0.9 and the record total is compared
with the ground truth.

    .venv/bin/python bench/fleet.py [--devices 90 --employees 7000 --days 30]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import date
from pathlib import Path

from zk import ZK

from hub.protocols import zk
from hub.simulator.fleet import Fleet, FleetConfig
from hub.simulator.population import PopulationSpec, generate, user_name
from hub.simulator.zk import Terminal, start_in_thread


def count_records(terminals: list[dict]) -> tuple[int, float]:
    t0 = time.perf_counter()
    total = 0
    for t in terminals:
        conn = ZK(t["host"], t["port"], timeout=20, password=t["comm_key"], force_udp=t["transport"] == "udp",
                  ommit_ping=True).connect()
        try:
            conn.read_sizes()
            total += conn.records
        finally:
            conn.disconnect()
    return total, time.perf_counter() - t0


def baseline(spec: PopulationSpec, root: Path) -> tuple[float, list]:
    t0 = time.perf_counter()
    pop = generate(spec)
    users, records = pop.users_by_terminal(), pop.records_by_terminal()
    served = []
    for t in pop.terminals:
        term = Terminal.create(root / f"{t.serial}.db", t.profile, serial=t.serial, comm_key=t.comm_key,
                               clock_offset_s=t.clock_offset_s, tz=t.tz)
        term.set_users(zk.User(uid, e.pin, user_name(e, t.profile)) for uid, e in enumerate(users[t.index], 1))
        term.bulk_punch((p.pin, p.local, p.state, p.verify) for p in records[t.index])
        served.append((t, start_in_thread(term)))
    return time.perf_counter() - t0, served


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--devices", type=int, default=90)
    ap.add_argument("--employees", type=int, default=7000)
    ap.add_argument("--days", type=int, default=30)
    args = ap.parse_args()
    spec = PopulationSpec(devices=args.devices, employees=args.employees, days=args.days, start=date(2026, 10, 1))
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        fleet = Fleet(FleetConfig(spec, root / "fleet"))
        with fleet:
            fleet.start()
            start_s, pop_s = fleet.timings["start_s"], fleet.timings["population_s"]
            gt_total = len(fleet.population.punches)
            total, read_s = count_records(fleet.terminals)
        with Fleet(FleetConfig(spec, root / "fleet")) as again:
            again.start()
            restart_s = again.timings["start_s"]
        base_s, served = baseline(spec, root / "baseline")
        base_total, _ = count_records([{"host": "127.0.0.1", "port": s.port, "comm_key": t.comm_key,
                                        "transport": t.transport} for t, s in served])
        for _t, s in served:
            s.stop()
    print(f"{args.devices} terminals, {args.employees} employees, {args.days} days: {gt_total:,} punches")
    print(f"fleet start (worker processes, fresh state): {start_s:.1f} s, of which population {pop_s:.1f} s")
    print(f"fleet restart over saved state: {restart_s:.1f} s")
    print(f"baseline (one process, terminals one after another): {base_s:.1f} s")
    print(f"pyzk read_sizes of every terminal: {read_s:.2f} s; records {total:,} (baseline {base_total:,}), "
          f"ground truth {gt_total:,}")
    print(f"fleet_start_s: {start_s:.2f}")
    print(f"fleet_restart_s: {restart_s:.2f}")
    print(f"baseline_start_s: {base_s:.2f}")
    print(f"records_match: {int(total == gt_total == base_total)}")


if __name__ == "__main__":
    main()
