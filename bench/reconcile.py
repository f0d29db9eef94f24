"""Reconciliation benchmark: one month for 7,000 employees, four punches a day.

The store gets October 2026 (22 working days) for 7,000 employees of 30 offices under the
Kota Bengkulu 4-punch ruleset: ~4 punches per employee-day with gaps (missed punches,
absent days), exact duplicates from a second terminal and near duplicates (a second press
within two minutes), all through hub.store.ingest. It then times, on SQLite and on
PostgreSQL:

- month_s: reconcile_period over the month (load, engine, write daily_status);
- day_s: reconcile_period over one day;
- loop_month_s: the baseline, a straightforward per-employee-per-day loop that queries each
  employee-day's punches, judges that day with the same rules and adds its row through the
  ORM; its statuses are compared with ours (loop_matches).

Usage: python bench/reconcile.py [--employees 7000] [--pg URL] [--no-pg]
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
import uuid
from datetime import date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import create_engine, delete, insert, select, text  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from hub.punch import Punch, Source, State, Verify  # noqa: E402
from hub.reconcile.daily import reconcile_period  # noqa: E402
from hub.reconcile.engine import EmployeeScope, group_punches, local_seconds, reconcile  # noqa: E402
from hub.reconcile.models import DailyStatus  # noqa: E402
from hub.reconcile.rules import builtin_text  # noqa: E402
from hub.reconcile.ruleset_store import RulesResolver, load_ruleset  # noqa: E402
from hub.store.db import make_engine, upgrade  # noqa: E402
from hub.store.ingest import ingest_punches  # noqa: E402
from hub.store.models import Device, Employee, IngestRun, PinMapping, RawPunch, Site  # noqa: E402

FIRST, LAST = date(2026, 10, 1), date(2026, 10, 31)
ONE_DAY = date(2026, 10, 15)
SITES, DEVICES_PER_SITE = 30, 3
SLOTS = [((7, 35), State.CHECK_IN, 20), ((12, 0), State.BREAK_OUT, 8),
         ((13, 0), State.BREAK_IN, 8), ((16, 10), State.CHECK_OUT, 15)]


def workdays() -> list[date]:
    return [FIRST + timedelta(i) for i in range((LAST - FIRST).days + 1)
            if (FIRST + timedelta(i)).weekday() < 5]


def seed(url: str, employees: int, seed: int = 7) -> int:
    """Offices, terminals, employees and their month of punches; returns punches offered."""
    upgrade(url)
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(insert(Site), [{"id": i + 1, "code": f"OPD{i + 1:02d}", "name": f"Dinas {i + 1}",
                                     "kind": "opd", "tz": "Asia/Jakarta"} for i in range(SITES)])
        conn.execute(insert(Device), [{"id": d + 1, "serial": f"RB{d + 1:03d}", "name": f"T{d + 1}",
                                       "site_id": d // DEVICES_PER_SITE + 1, "kind": "zk-tcp",
                                       "tz": "Asia/Jakarta", "capabilities": {}, "pin_group": "default"}
                                      for d in range(SITES * DEVICES_PER_SITE)])
        conn.execute(insert(Employee), [{"id": e, "id_number": f"1990010120150{e:05d}",
                                         "employment_type": "PNS", "name": f"Pegawai {e}",
                                         "site_id": (e - 1) % SITES + 1, "monthly_tpp": 3_000_000}
                                        for e in range(1, employees + 1)])
        conn.execute(insert(PinMapping), [{"employee_id": e, "pin": str(e), "pin_group": "default"}
                                          for e in range(1, employees + 1)])
        # The nightly pull after the month: every terminal's log is known complete (no TD).
        pulled = datetime(2026, 11, 1, 18)
        conn.execute(insert(IngestRun), [{"device_id": d + 1, "source": "zk_tcp", "kind": "pull", "status": "ok",
                                          "started_at": pulled, "finished_at": pulled, "details": {}}
                                         for d in range(SITES * DEVICES_PER_SITE)])
    with Session(engine) as s:
        load_ruleset(s, builtin_text("kota-bengkulu-4punch"), source="bench", site_ids=[None])
        s.commit()
    rng = random.Random(seed)
    punches: list[Punch] = []
    for e in range(1, employees + 1):
        site = (e - 1) % SITES
        dev = site * DEVICES_PER_SITE + 1 + e % DEVICES_PER_SITE
        other = site * DEVICES_PER_SITE + 1 + (e + 1) % DEVICES_PER_SITE
        for d in workdays():
            if rng.random() < 0.02:  # absent
                continue
            for (h, m), state, spread in SLOTS:
                if rng.random() < 0.03:  # forgot this punch
                    continue
                when = datetime(d.year, d.month, d.day, h, m) + timedelta(
                    seconds=int(rng.gauss(0, spread * 60)))
                p = Punch(dev, Source.ZK_TCP, str(e), when, "Asia/Jakarta", state, Verify.FINGERPRINT)
                punches.append(p)
                r = rng.random()
                if r < 0.05:  # the same punch again through a second terminal's log (USB import)
                    punches.append(Punch(other, Source.FILE, str(e), when, "Asia/Jakarta", state,
                                         Verify.FINGERPRINT))
                elif r < 0.08:  # pressed twice
                    punches.append(Punch(dev, Source.ZK_TCP, str(e), when + timedelta(seconds=rng.randint(20, 120)),
                                         "Asia/Jakarta", state, Verify.FINGERPRINT))
    ingest_punches(engine, punches)
    engine.dispose()
    return len(punches)


def loop_month(url: str) -> float:
    """The straightforward way: one query and one ORM row per employee-day."""
    engine = make_engine(url)
    with Session(engine) as s:
        s.execute(delete(DailyStatus).where(DailyStatus.day >= FIRST, DailyStatus.day <= LAST))
        s.commit()
    t0 = time.perf_counter()
    with Session(engine) as s:
        resolver = RulesResolver(s)
        emps = s.execute(select(Employee.id, Employee.site_id).order_by(Employee.id)).all()
        for emp_id, site_id in emps:
            for d in workdays():
                lo = datetime.combine(d, datetime.min.time()) - timedelta(hours=7)
                rows = s.execute(select(RawPunch.id, RawPunch.local_time).where(
                    RawPunch.employee_id == emp_id, RawPunch.utc_time >= lo,
                    RawPunch.utc_time < lo + timedelta(days=1))).all()
                res = reconcile([EmployeeScope(emp_id, site_id, d, d)],
                                group_punches((emp_id, local_seconds(t), pid) for pid, t in rows), resolver)
                for r in res:
                    s.add(DailyStatus(employee_id=r.employee_id, day=r.day, site_id=r.site_id, status=r.status,
                                      late_min=r.late_min, early_min=r.early_min, deduction_pct=r.deduction_pct,
                                      punch_ids=",".join(map(str, r.punch_ids)), check_in=r.check_in,
                                      check_out=r.check_out, source=r.source, ruleset=r.ruleset))
        s.commit()
    seconds = time.perf_counter() - t0
    engine.dispose()
    return seconds


def snapshot(url: str) -> list[tuple]:
    engine = make_engine(url)
    with engine.connect() as conn:
        rows = sorted(conn.execute(select(DailyStatus.employee_id, DailyStatus.day, DailyStatus.status,
                                          DailyStatus.punch_ids)).all())
    engine.dispose()
    return rows


def measure(url: str, employees: int, label: str) -> dict[str, float | int | bool]:
    t0 = time.perf_counter()
    offered = seed(url, employees)
    print(f"[{label}] seeded {employees} employees, {offered} punches offered in "
          f"{time.perf_counter() - t0:.1f} s", flush=True)
    engine = make_engine(url)
    with engine.connect() as conn:
        stored = conn.scalar(text("select count(*) from raw_punches"))
    t0 = time.perf_counter()
    summary = reconcile_period(engine, FIRST, LAST, judge_until=LAST)
    month_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    reconcile_period(engine, FIRST, LAST, judge_until=LAST)
    rerun_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    reconcile_period(engine, ONE_DAY, ONE_DAY, judge_until=LAST)
    day_s = time.perf_counter() - t0
    ours = snapshot(url)
    engine.dispose()
    print(f"[{label}] month {month_s:.2f} s (rerun {rerun_s:.2f} s), day {day_s:.2f} s; codes "
          f"{summary['codes']}", flush=True)
    loop_s = loop_month(url)
    theirs = snapshot(url)
    print(f"[{label}] per-employee-day loop {loop_s:.2f} s", flush=True)
    return {"punches": stored, "employee_days": summary["days"], "month_s": month_s,
            "month_rerun_s": rerun_s, "day_s": day_s, "loop_month_s": loop_s, "loop_matches": ours == theirs}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--employees", type=int, default=7000)
    ap.add_argument("--pg", default=os.environ.get("HUB_TEST_POSTGRES_URL",
                                                   "postgresql+psycopg://postgres@127.0.0.1:5432/test"))
    ap.add_argument("--no-pg", action="store_true")
    args = ap.parse_args()
    results: dict[str, float | int | bool] = {}
    with tempfile.TemporaryDirectory() as tmp:
        results.update(measure(f"sqlite:///{tmp}/bench.sqlite3", args.employees, "sqlite"))
    if not args.no_pg:
        admin = create_engine(args.pg, isolation_level="AUTOCOMMIT")
        name = f"bench_reconcile_{uuid.uuid4().hex[:8]}"
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            pg = measure(args.pg.rsplit("/", 1)[0] + "/" + name, args.employees, "postgresql")
            results.update({f"pg_{k}": v for k, v in pg.items()})
        finally:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()
    print(f"employees: {args.employees}")
    for k, v in results.items():
        print(f"{k}: {v:.3f}" if isinstance(v, float) else f"{k}: {str(v).lower()}")


if __name__ == "__main__":
    main()
