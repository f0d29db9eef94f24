"""Years of punches (issue 22, item 3): does a store holding years of data still ingest a
day and reconcile a month as fast as an empty one? On PostgreSQL.

Two stores, same schema, same offices, terminals and 7,000 employees:
- empty: only the measured month's punches;
- full: also `--years` of history before it (250 working days a year, 4 punches a day
  per employee: 10 years = 70 million rows), written server-side with generate_series.

Measured in both, the same way: ingest of one new day (28,000 punches through
hub.store.ingest in pull-sized batches of 2,000, as pulls arrive) and reconcile_period over
the measured month (7,000 employees). Ends with: rows_full, ingest_empty_s, ingest_full_s,
ingest_ratio, reconcile_empty_s, reconcile_full_s, reconcile_ratio.

    python bench/punch_years.py [--years 10] [--employees 7000]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import uuid
from datetime import date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import create_engine, text  # noqa: E402

from hub.punch import Punch, Source, State, Verify  # noqa: E402
from hub.reconcile.daily import reconcile_period  # noqa: E402
from hub.store.db import make_engine, upgrade  # noqa: E402
from hub.store.ingest import ingest_punches  # noqa: E402

PG_ADMIN = os.environ.get("HUB_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
MONTH = date(2026, 10, 1)
NEW_DAY = date(2026, 11, 2)  # a Monday after the measured month
DEVICES = 90
STATES = ("check_in", "break_out", "break_in", "check_out")


def seed(url: str, employees: int) -> None:
    upgrade(url)
    eng = make_engine(url)
    with eng.begin() as c:
        c.execute(text("INSERT INTO sites (code, name, kind, tz, created_at) SELECT 'OPD' || g, 'Dinas ' || g, "
                       "'opd', 'Asia/Jakarta', now() FROM generate_series(1, 30) g"))
        c.execute(text("INSERT INTO devices (serial, name, site_id, kind, host, port, tz, enabled, pin_group, "
                       "capabilities, status, created_at) SELECT 'SN' || g, 'T' || g, 1 + (g - 1) % 30, 'zk-tcp', "
                       "'127.0.0.1', 4370, 'Asia/Jakarta', true, 'default', '{}', 'active', now() "
                       f"FROM generate_series(1, {DEVICES}) g"))
        c.execute(text("INSERT INTO employees (id_number, employment_type, name, site_id, active, monthly_tpp, "
                       "created_at, updated_at) SELECT lpad(g::text, 18, '0'), 'pns', 'Pegawai ' || g, "
                       f"1 + (g - 1) % 30, true, 4000000, now(), now() FROM generate_series(1, {employees}) g"))
        c.execute(text("INSERT INTO pin_mappings (employee_id, pin, pin_group, created_at) SELECT id, id::text, "
                       "'default', now() FROM employees"))
    eng.dispose()


def fill(url: str, first: date, last: date, employees: int) -> int:
    """Four punches a working day per employee, each on the terminal of its office, written
    server-side (one statement per month: the identity and the references still checked)."""
    eng = make_engine(url)
    day = first.replace(day=1)
    while day <= last:
        nxt = (day + timedelta(days=32)).replace(day=1)
        end = min(nxt - timedelta(days=1), last)
        with eng.begin() as c:
            c.execute(text(f"""
INSERT INTO raw_punches (device_id, source, pin, employee_id, local_time, tz, utc_time, state, verify, raw,
                         received_at, flags)
SELECT 1 + (e - 1) % {DEVICES}, 'zk_tcp', e::text, e,
       d + make_interval(hours => h, mins => (e * 7 + s * 13) % 50),
       'Asia/Jakarta', d + make_interval(hours => h - 7, mins => (e * 7 + s * 13) % 50),
       (ARRAY['check_in','break_out','break_in','check_out'])[s], 'fingerprint', '{{}}', now(), 0
FROM generate_series(DATE '{day}', DATE '{end}', interval '1 day') AS d,
     generate_series(1, {employees}) AS e,
     generate_series(1, 4) AS s,
     LATERAL (SELECT (ARRAY[7, 12, 13, 16])[s] AS h) hh
WHERE extract(isodow FROM d) < 6
ON CONFLICT DO NOTHING"""))
        day = nxt
    with eng.connect() as c:
        c.execute(text("ANALYZE"))
        n = c.execute(text("SELECT count(*) FROM raw_punches")).scalar_one()
    eng.dispose()
    return n


def measure(url: str, employees: int) -> tuple[float, float]:
    eng = make_engine(url)
    punches = [Punch(1 + (e - 1) % DEVICES, Source.ZK_TCP, str(e),
                     datetime.combine(NEW_DAY, datetime.min.time()) + timedelta(hours=h, minutes=(e * 7) % 50),
                     "Asia/Jakarta", State(STATES[s]), Verify.FINGERPRINT)
               for e in range(1, employees + 1) for s, h in enumerate((7, 12, 13, 16))]
    started = time.monotonic()
    for i in range(0, len(punches), 2000):
        ingest_punches(eng, punches[i:i + 2000])
    ingest_s = time.monotonic() - started
    last = (MONTH + timedelta(days=32)).replace(day=1) - timedelta(days=1)
    started = time.monotonic()
    reconcile_period(eng, MONTH, last, today=NEW_DAY)
    reconcile_s = time.monotonic() - started
    eng.dispose()
    return ingest_s, reconcile_s


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--years", type=int, default=10)
    ap.add_argument("--employees", type=int, default=7000)
    a = ap.parse_args()
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    tag = uuid.uuid4().hex[:6]
    names = {k: f"bench_years_{k}_{tag}" for k in ("empty", "full")}
    base = PG_ADMIN.rsplit("/", 1)[0]
    try:
        with admin.connect() as c:
            for n in names.values():
                c.execute(text(f'CREATE DATABASE "{n}"'))
        urls = {k: f"{base}/{n}" for k, n in names.items()}
        last = (MONTH + timedelta(days=32)).replace(day=1) - timedelta(days=1)
        for url in urls.values():
            seed(url, a.employees)
        t0 = time.monotonic()
        history_first = MONTH.replace(year=MONTH.year - a.years)
        rows_full = fill(urls["full"], history_first, last, a.employees)
        print(f"full store: {rows_full:,} punches ({a.years} years + the month) written in "
              f"{time.monotonic() - t0:.0f} s")
        rows_empty = fill(urls["empty"], MONTH, last, a.employees)
        print(f"empty store: {rows_empty:,} punches (the month)")
        results = {k: measure(url, a.employees) for k, url in urls.items()}
        for k, (i_s, r_s) in results.items():
            print(f"{k}: ingest of one day ({a.employees * 4:,} punches) {i_s:.2f} s, month reconcile {r_s:.2f} s")
        (ie, re_), (i_f, rf) = results["empty"], results["full"]
        print(f"rows_full: {rows_full}")
        print(f"ingest_empty_s: {ie:.2f}")
        print(f"ingest_full_s: {i_f:.2f}")
        print(f"ingest_ratio: {i_f / ie:.2f}")
        print(f"reconcile_empty_s: {re_:.2f}")
        print(f"reconcile_full_s: {rf:.2f}")
        print(f"reconcile_ratio: {rf / re_:.2f}")
    finally:
        with admin.connect() as c:
            for n in names.values():
                c.execute(text(f'DROP DATABASE IF EXISTS "{n}" WITH (FORCE)'))
        admin.dispose()


if __name__ == "__main__":
    main()
