"""raw_punches by month on PostgreSQL (migration 0028): the month partitions, made ahead.

A punch whose month has no partition yet lands in `raw_punches_default` and is kept there
(never refused: a terminal whose clock says 2000 still has its punch stored). The daily job
makes today's month, the one before and the next AHEAD ones; a month that has gathered
MIN_ROWS punches in the default partition (a late import of an old USB export) gets its
own partition and its rows are moved into it in the same transaction. A handful of strays
from a wrong clock stay in the default partition rather than making a table each.

SQLite keeps one table: every function here does nothing there.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from datetime import date

from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import OperationalError

PARENT = "raw_punches"
DEFAULT = "raw_punches_default"
AHEAD = 3
BEHIND = 1
MIN_ROWS = 1000
LOCK_WAIT_S = 5
TRIES = 4
LOCK_NOT_AVAILABLE = "55P03"
_BOUND = re.compile(r"FROM \('(\d{4})-(\d{2})-01 00:00:00'\) TO")


@dataclass(frozen=True)
class Partition:
    name: str
    month: date | None  # None: the default partition
    rows: int  # the planner's estimate (pg_class.reltuples; exact after ANALYZE)
    bytes: int


def month_start(day: date, shift: int = 0) -> date:
    n = day.year * 12 + day.month - 1 + shift
    return date(n // 12, n % 12 + 1, 1)


def name_of(month: date) -> str:
    return f"{PARENT}_{month:%Y_%m}"


def is_partitioned(conn: Connection) -> bool:
    if conn.dialect.name != "postgresql":
        return False
    return conn.execute(text("SELECT EXISTS (SELECT 1 FROM pg_partitioned_table WHERE partrelid = "
                             "to_regclass(:t))"), {"t": PARENT}).scalar_one()


def partitions(conn: Connection) -> list[Partition]:
    """The partitions of raw_punches, oldest month first, the default one last."""
    if not is_partitioned(conn):
        return []
    rows = conn.execute(text(
        "SELECT c.relname, pg_get_expr(c.relpartbound, c.oid), greatest(c.reltuples, 0)::bigint, "
        "pg_total_relation_size(c.oid) FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
        "WHERE i.inhparent = to_regclass(:t)"), {"t": PARENT}).all()
    out = []
    for name, bound, n, size in rows:
        m = _BOUND.search(bound or "")
        out.append(Partition(name, date(int(m[1]), int(m[2]), 1) if m else None, int(n), int(size)))
    return sorted(out, key=lambda p: (p.month is None, p.month or date.min))


def strays(conn: Connection) -> dict[date, int]:
    """Punches in the default partition, counted by month."""
    return {m: n for m, n in conn.execute(text(
        f"SELECT date_trunc('month', local_time)::date, count(*) FROM {DEFAULT} GROUP BY 1"))}


def wanted(today: date, held: dict[date, int], ahead: int = AHEAD, min_rows: int = MIN_ROWS) -> set[date]:
    """The months that should have a partition: around today, and any the default
    partition holds at least min_rows punches of."""
    return ({month_start(today, k) for k in range(-BEHIND, ahead + 1)}
            | {m for m, n in held.items() if n >= min_rows})


def add_month(conn: Connection, month: date) -> int:
    """One month's partition; its punches already in the default partition moved into it
    (in the caller's transaction: all of it or nothing). Returns how many were moved."""
    name, first, after = name_of(month), month, month_start(month, 1)
    # The whole table, at once, before anything else: a weaker lock on the parent and then
    # the default partition's (which attaching takes) deadlocked with an ingest that had
    # read the table and then inserted (test_a_month_moved_while_its_punches_keep_arriving).
    # Ingests and reads wait the moment this takes; no punch can land in the default
    # partition between the move and the attach. Waiting longer than LOCK_WAIT for a long
    # reader would hold every ingest behind it: give up instead, the caller tries again.
    conn.execute(text(f"SET LOCAL lock_timeout = '{LOCK_WAIT_S}s'"))
    conn.execute(text(f"LOCK TABLE {PARENT} IN ACCESS EXCLUSIVE MODE"))
    bounds = f"FOR VALUES FROM ('{first}') TO ('{after}')"
    # Counted under the lock: a punch of that month may have come since the caller looked.
    waiting = conn.execute(text(f"SELECT EXISTS (SELECT 1 FROM {DEFAULT} WHERE local_time >= :a AND "
                                "local_time < :b)"), {"a": first, "b": after}).scalar_one()
    if not waiting:
        conn.execute(text(f"CREATE TABLE {name} PARTITION OF {PARENT} {bounds}"))
        return 0
    # Moved partition to partition, not through raw_punches: its statement triggers (what
    # a delete does to reviews and corrections) must not fire for a punch that stays.
    conn.execute(text(f"CREATE TABLE {name} (LIKE {PARENT} INCLUDING DEFAULTS)"))
    moved = conn.execute(text(f"WITH moved AS (DELETE FROM {DEFAULT} WHERE local_time >= :a AND local_time < :b "
                              f"RETURNING *) INSERT INTO {name} SELECT * FROM moved"),
                         {"a": first, "b": after}).rowcount
    conn.execute(text(f"ALTER TABLE {PARENT} ATTACH PARTITION {name} {bounds}"))
    return moved


@dataclass(frozen=True)
class Made:
    name: str
    moved: int


def _add_when_free(engine: Engine, month: date) -> int:
    """add_month in its own transaction, tried again while the table stays busy past
    lock_timeout (TRIES times in all, then the failure is the caller's)."""
    for attempt in range(1, TRIES):
        try:
            with engine.begin() as conn:
                return add_month(conn, month)
        except OperationalError as exc:
            if getattr(exc.orig, "sqlstate", None) != LOCK_NOT_AVAILABLE:
                raise
            time.sleep(attempt)
    with engine.begin() as conn:
        return add_month(conn, month)


def ensure(engine: Engine, today: date | None = None, ahead: int = AHEAD, min_rows: int = MIN_ROWS) -> list[Made]:
    """Make the partitions that should exist and do not (each in its own transaction)."""
    today = today or date.today()
    with engine.connect() as conn:
        if not is_partitioned(conn):
            return []
        have = {p.month for p in partitions(conn) if p.month}
        held = strays(conn)
    made = [Made(name_of(month), _add_when_free(engine, month))
            for month in sorted(wanted(today, held, ahead, min_rows) - have)]
    # Statistics for the tables that received punches now (autovacuum would come later; an
    # empty month needs none, and the parent's would sample every month of the history).
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        for m in made:
            if m.moved:
                conn.execute(text(f"ANALYZE {m.name}"))
    return made
