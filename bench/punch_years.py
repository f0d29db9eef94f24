"""Years of punches (issue 22, item 3): does a store holding years of data still ingest a
day and reconcile a month as fast as an empty one? On PostgreSQL.

Stores with the same offices, terminals and 7,000 employees:
- empty: only the measured month's punches;
- full: also `--years` of history before it (250 working days a year, 4 punches a day
  per employee: 10 years = 70 million rows), written server-side with generate_series;
each in two layouts: `partitioned` (today's schema: raw_punches by month, migration 0028,
the history's months made as the migration makes them) and `plain` (the baseline: the
schema of the release before, revision 0027, one table).

Measured in each store, the same way, after one untimed round of each: ingest of three
new days (28,000 punches each, through hub.store.ingest in pull-sized batches of 2,000,
as pulls arrive; the median day) and reconcile_period over the measured month (7,000
employees; the median of three, as the nightly job recomputes a month). The plain full
store is then upgraded to today's schema, timed (migrate_to_partitioned_s). Ends with, per layout
(plain_ for the baseline): rows_full, ingest_empty_s, ingest_full_s, ingest_ratio,
reconcile_empty_s, reconcile_full_s, reconcile_ratio.

    python bench/punch_years.py [--years 10] [--employees 7000] [--layout both|partitioned|plain]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import uuid
from datetime import date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import create_engine, text  # noqa: E402

from hub.punch import Punch, Source, State, Verify  # noqa: E402
from hub.reconcile.daily import reconcile_period  # noqa: E402
from hub.store import partitions  # noqa: E402
from hub.store.db import make_engine, upgrade  # noqa: E402
from hub.store.ingest import ingest_punches  # noqa: E402

PG_ADMIN = os.environ.get("HUB_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
MONTH = date(2026, 10, 1)
NEW_DAYS = (date(2026, 11, 2), date(2026, 11, 3), date(2026, 11, 4))  # Mon-Wed after the measured month
PLAIN = "0027_task_queue"  # the last revision before raw_punches was partitioned
DEVICES = 90
STATES = ("check_in", "break_out", "break_in", "check_out")


def seed(url: str, employees: int, layout: str) -> None:
    upgrade(url, PLAIN if layout == "plain" else "head")
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
    with eng.begin() as c:  # the months a store holding them has (the migration makes them so)
        if partitions.is_partitioned(c):
            have = {p.month for p in partitions.partitions(c)}
            month = first.replace(day=1)
            while month <= last:
                if month not in have:
                    partitions.add_month(c, month)
                month = partitions.month_start(month, 1)
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
    # A store that has run for years is vacuumed and checkpointed; a freshly written one is
    # not, and autovacuum or a checkpoint running during the measurement would be measured.
    with eng.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
        c.execute(text("VACUUM (ANALYZE)"))
        c.execute(text("CHECKPOINT"))
        n = c.execute(text("SELECT count(*) FROM raw_punches")).scalar_one()
    eng.dispose()
    return n


def _day(day: date, employees: int) -> list[Punch]:
    return [Punch(1 + (e - 1) % DEVICES, Source.ZK_TCP, str(e),
                  datetime.combine(day, datetime.min.time()) + timedelta(hours=h, minutes=(e * 7) % 50),
                  "Asia/Jakarta", State(STATES[s]), Verify.FINGERPRINT)
            for e in range(1, employees + 1) for s, h in enumerate((7, 12, 13, 16))]


def measure(url: str, employees: int) -> tuple[float, float]:
    """The median of three days' ingest and of three reconciles of the month, each after
    one untimed round (the Sunday before, a first reconcile): what is measured is the
    store, not the process warming up."""
    eng = make_engine(url)
    last = (MONTH + timedelta(days=32)).replace(day=1) - timedelta(days=1)
    ingest_punches(eng, _day(NEW_DAYS[0] - timedelta(days=1), employees))
    days = []
    for day in NEW_DAYS:
        punches = _day(day, employees)
        started = time.monotonic()
        for i in range(0, len(punches), 2000):
            ingest_punches(eng, punches[i:i + 2000])
        days.append(time.monotonic() - started)
    reconcile_period(eng, MONTH, last, today=NEW_DAYS[-1])
    rounds = []
    for _ in range(3):
        started = time.monotonic()
        reconcile_period(eng, MONTH, last, today=NEW_DAYS[-1])
        rounds.append(time.monotonic() - started)
    eng.dispose()
    return statistics.median(days), statistics.median(rounds)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--years", type=int, default=10)
    ap.add_argument("--employees", type=int, default=7000)
    ap.add_argument("--layout", choices=("both", "partitioned", "plain"), default="both")
    a = ap.parse_args()
    layouts = ("plain", "partitioned") if a.layout == "both" else (a.layout,)
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    tag = uuid.uuid4().hex[:6]
    names = {(lay, k): f"bench_years_{lay}_{k}_{tag}" for lay in layouts for k in ("empty", "full")}
    base = PG_ADMIN.rsplit("/", 1)[0]
    last = (MONTH + timedelta(days=32)).replace(day=1) - timedelta(days=1)
    history_first = MONTH.replace(year=MONTH.year - a.years)
    lines: list[str] = []
    try:
        with admin.connect() as c:
            for n in names.values():
                c.execute(text(f'CREATE DATABASE "{n}"'))
        urls = {key: f"{base}/{n}" for key, n in names.items()}
        for (lay, _k), url in urls.items():
            seed(url, a.employees, lay)
        for lay in layouts:
            t0 = time.monotonic()
            rows_full = fill(urls[lay, "full"], history_first, last, a.employees)
            print(f"{lay}, full store: {rows_full:,} punches ({a.years} years + the month) written in "
                  f"{time.monotonic() - t0:.0f} s", flush=True)
            rows_empty = fill(urls[lay, "empty"], MONTH, last, a.employees)
            print(f"{lay}, empty store: {rows_empty:,} punches (the month)", flush=True)
            results = {k: measure(urls[lay, k], a.employees) for k in ("empty", "full")}
            for k, (i_s, r_s) in results.items():
                print(f"{lay}, {k}: ingest of one day ({a.employees * 4:,} punches, median of "
                      f"{len(NEW_DAYS)}) {i_s:.2f} s, month reconcile (median of 3) {r_s:.2f} s", flush=True)
            (ie, re_), (i_f, rf) = results["empty"], results["full"]
            if lay == "plain":  # the upgrade a Pemda runs: migration 0028 on the full store
                t0 = time.monotonic()
                upgrade(urls[lay, "full"])
                migrate_s = time.monotonic() - t0
                with make_engine(urls[lay, "full"]).connect() as c:
                    kept = c.execute(text("SELECT count(*) FROM raw_punches")).scalar_one()
                print(f"plain full store upgraded to partitioned (migration 0028) in {migrate_s:.0f} s, "
                      f"{kept:,} of {rows_full + 4 * a.employees * (len(NEW_DAYS) + 1):,} punches kept", flush=True)
                lines.append(f"migrate_to_partitioned_s: {migrate_s:.1f}")
            p = "plain_" if lay == "plain" else ""
            lines += [f"{p}rows_full: {rows_full}", f"{p}ingest_empty_s: {ie:.2f}", f"{p}ingest_full_s: {i_f:.2f}",
                      f"{p}ingest_ratio: {i_f / ie:.2f}", f"{p}reconcile_empty_s: {re_:.2f}",
                      f"{p}reconcile_full_s: {rf:.2f}", f"{p}reconcile_ratio: {rf / re_:.2f}"]
            for n in (names[lay, "empty"], names[lay, "full"]):  # room on the disk for the next layout
                with admin.connect() as c:
                    c.execute(text(f'DROP DATABASE IF EXISTS "{n}" WITH (FORCE)'))
        print("\n".join(lines))
    finally:
        with admin.connect() as c:
            for n in names.values():
                c.execute(text(f'DROP DATABASE IF EXISTS "{n}" WITH (FORCE)'))
        admin.dispose()


if __name__ == "__main__":
    main()
