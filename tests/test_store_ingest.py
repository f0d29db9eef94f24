"""Bulk ingest: one transaction, duplicates ignored by identity, unknown PINs kept and flagged."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import datetime, timedelta

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.punch import Punch, PunchFlag, Source, State, Verify
from hub.store.ingest import ingest_punches, resolve_unknown_pins
from hub.store.models import Employee, PinMapping, RawPunch
from tests.store_helpers import count_rows, make_device, make_employee, make_site, punches


def test_same_10000_punches_twice_leave_10000_rows(engine) -> None:
    with Session(engine, expire_on_commit=False) as s:
        dev = make_device(s, "SN-A", make_site(s))
        s.commit()
        batch = punches(dev.id, 10_000)
    first = ingest_punches(engine, batch)
    second = ingest_punches(engine, batch)
    assert (first.new, first.duplicate) == (10_000, 0)
    assert (second.new, second.duplicate) == (0, 10_000)
    assert count_rows(engine, "raw_punches") == 10_000


def test_duplicates_inside_one_batch_and_across_sources(engine) -> None:
    with Session(engine, expire_on_commit=False) as s:
        dev = make_device(s)
        s.commit()
        base = punches(dev.id, 50)
    # The same punch arriving by another path (e.g. USB import after a pull) is one row.
    other_path = [dataclasses.replace(p, source=Source.FILE, raw={"line": i})
                  for i, p in enumerate(base)]
    result = ingest_punches(engine, base + base[:10] + other_path)
    assert result.seen == 110
    assert result.new == 50
    assert result.duplicate == 60
    assert count_rows(engine, "raw_punches") == 50


def test_identity_distinguishes_state_and_verify(engine) -> None:
    with Session(engine, expire_on_commit=False) as s:
        dev = make_device(s)
        s.commit()
    when = datetime(2026, 11, 3, 7, 41, 12)
    variants = [Punch(dev.id, Source.ZK_TCP, "7", when, "Asia/Jakarta", st, vf)
                for st in (State.CHECK_IN, State.CHECK_OUT)
                for vf in (Verify.FINGERPRINT, Verify.FACE)]
    assert ingest_punches(engine, variants).new == 4


def test_unknown_pins_are_kept_flagged_and_resolved_later(engine) -> None:
    with Session(engine, expire_on_commit=False) as s:
        site = make_site(s)
        dev = make_device(s, site=site)
        emp = make_employee(s, "EMP-1", pin="1", site=site)
        s.commit()
        dev_id, emp_id = dev.id, emp.id
    when = datetime(2026, 11, 3, 7, 30)
    batch = [Punch(dev_id, Source.ZK_TCP, "1", when, "Asia/Jakarta", State.CHECK_IN),
             Punch(dev_id, Source.ZK_TCP, "999", when, "Asia/Jakarta", State.CHECK_IN)]
    result = ingest_punches(engine, batch)
    assert (result.new, result.unknown_pin) == (2, 1)
    with Session(engine, expire_on_commit=False) as s:
        rows = {r.pin: r for r in s.scalars(select(RawPunch))}
        assert rows["1"].employee_id == emp_id and rows["1"].flags == 0
        assert rows["999"].employee_id is None
        assert PunchFlag(rows["999"].flags) & PunchFlag.UNKNOWN_PIN
        # The PIN becomes known: the stored punch is attached, its raw fields untouched.
        other = make_employee(s, "EMP-2")
        s.add(PinMapping(employee_id=other.id, pin="999", device_id=dev_id))
        s.commit()
        other_id = other.id
    assert resolve_unknown_pins(engine) == 1
    with Session(engine, expire_on_commit=False) as s:
        row = s.scalar(select(RawPunch).where(RawPunch.pin == "999"))
        assert row.employee_id == other_id
        assert not PunchFlag(row.flags) & PunchFlag.UNKNOWN_PIN
        assert row.local_time == when


@pytest.mark.parametrize("batch_size", [20_000, 3], ids=["one-chunk", "many-chunks"])
def test_an_employee_numbered_0_is_still_told_from_an_unknown_pin(engine, batch_size) -> None:
    """SQLite binds an unknown PIN's employee as 0 (binding None is slow): a store that does
    hold an employee 0 must still get 0 for them and NULL for the unknown PIN."""
    with Session(engine, expire_on_commit=False) as s:
        dev = make_device(s)
        zero = Employee(id=0, id_number="EMP-0", employment_type="non_asn", name="Nol")
        s.add(zero)
        s.flush()
        s.add(PinMapping(employee_id=0, pin="7", pin_group="default"))
        s.commit()
    when = datetime(2026, 11, 3, 7, 30)
    batch = [Punch(dev.id, Source.ZK_TCP, pin, when.replace(minute=m), "Asia/Jakarta")
             for m, pin in enumerate(["7", "8", "7", "9", "7"])]
    assert ingest_punches(engine, batch, batch_size=batch_size).unknown_pin == 2
    with Session(engine) as s:
        stored = sorted(s.execute(select(RawPunch.pin, RawPunch.employee_id)).all())
    assert stored == [("7", 0)] * 3 + [("8", None), ("9", None)]


def test_time_is_explicit_utc_and_local(engine) -> None:
    with Session(engine, expire_on_commit=False) as s:
        dev = make_device(s, tz="Asia/Jayapura")
        s.commit()
    local = datetime(2026, 11, 3, 7, 30, 5)
    # Times of one hour share cached text: whole seconds, a fraction, and the next hour.
    others = [local.replace(minute=59, second=59, microsecond=250_000),
              local.replace(second=6), local.replace(hour=8, minute=0, second=0),
              datetime(2026, 11, 3, 0, 0, 1)]
    ingest_punches(engine, [Punch(dev.id, Source.ZK_TCP, "1", t, "Asia/Jayapura")
                            for t in (local, *others)])
    with Session(engine, expire_on_commit=False) as s:
        row = s.scalar(select(RawPunch).where(RawPunch.local_time == local))
        assert row.local_time == local
        assert row.utc_time == datetime(2026, 11, 2, 22, 30, 5)  # WIT is UTC+9
        assert row.tz == "Asia/Jayapura"
        stored = dict(s.execute(select(RawPunch.local_time, RawPunch.utc_time)).all())
    assert stored == {t: t - timedelta(hours=9) for t in (local, *others)}


def test_impossible_dates_are_kept_and_flagged(engine) -> None:
    with Session(engine, expire_on_commit=False) as s:
        dev = make_device(s)
        s.commit()
    odd = [Punch(dev.id, Source.ZK_TCP, "1", datetime(2099, 12, 31, 23, 59), "Asia/Jakarta"),
           Punch(dev.id, Source.ZK_TCP, "1", datetime(1999, 1, 1, 8, 0), "Asia/Jakarta")]
    result = ingest_punches(engine, odd)
    assert result.new == 2 and result.out_of_range == 2
    with Session(engine, expire_on_commit=False) as s:
        assert all(PunchFlag(r.flags) & PunchFlag.OUT_OF_RANGE for r in s.scalars(select(RawPunch)))


def test_a_failing_batch_stores_nothing(engine) -> None:
    with Session(engine, expire_on_commit=False) as s:
        dev = make_device(s)
        s.commit()
    good = punches(dev.id, 100)
    bad = [Punch(999_999, Source.ZK_TCP, "1", datetime(2026, 11, 3, 7, 0), "Asia/Jakarta")]
    with pytest.raises(Exception):  # noqa: B017 - any integrity error of the driver
        ingest_punches(engine, good + bad)
    assert count_rows(engine, "raw_punches") == 0
    assert ingest_punches(engine, good).new == 100


def test_orm_and_bulk_rows_share_one_identity(engine) -> None:
    """A punch stored through the ORM (e.g. a manual path) dedupes against bulk ingest."""
    with Session(engine, expire_on_commit=False) as s:
        dev = make_device(s)
        when = datetime(2026, 11, 3, 7, 30)
        s.add(RawPunch(device_id=dev.id, source="manual", pin="5", local_time=when,
                       tz="Asia/Jakarta", utc_time=datetime(2026, 11, 3, 0, 30),
                       state="check_in", verify="fingerprint", raw={}, flags=0))
        s.commit()
        dev_id = dev.id
    result = ingest_punches(engine, [Punch(dev_id, Source.ZK_TCP, "5", when, "Asia/Jakarta",
                                           State.CHECK_IN, Verify.FINGERPRINT)])
    assert result.new == 0 and result.duplicate == 1


def _stored(engine) -> list[tuple]:
    with Session(engine) as s:
        return sorted((r.device_id, r.source, r.pin, r.employee_id, r.local_time, r.tz, r.utc_time,
                       r.state, r.verify, r.work_code, r.device_seq, r.raw, r.ingest_run_id,
                       r.flags) for r in s.scalars(select(RawPunch)))


def test_many_chunks_store_what_one_chunk_stores(engine) -> None:
    """Big calls go in chunks (on SQLite, rows of the next chunk are built in a helper thread
    while SQLite merges the last): the rows, flags and counts must not depend on it."""
    from sqlalchemy import delete

    from hub.store.models import IngestRun, utcnow

    with Session(engine, expire_on_commit=False) as s:
        site = make_site(s)
        wib = make_device(s, "SN-WIB", site)
        wit = make_device(s, "SN-WIT", site, tz="Asia/Jayapura")
        make_employee(s, "EMP-1", pin="1", site=site)
        run = IngestRun(device_id=wib.id, source="zk_tcp", kind="pull", started_at=utcnow(),
                        status="running", details={})
        s.add(run)
        s.commit()
    batch = (punches(wib.id, 1200, pins=30) + punches(wit.id, 900, pins=30, tz="Asia/Jayapura"))
    batch[5] = dataclasses.replace(batch[5], local_time=datetime(1999, 1, 1, 8, 0))
    batch[7] = dataclasses.replace(batch[7], raw={"big": 2 ** 70, "when": datetime(2026, 1, 1),
                                                  3: "non-str key"}, work_code="7",
                                   device_seq=42)
    batch[9] = dataclasses.replace(batch[9], utc_time=datetime(2026, 11, 2, 1, 2, 3))
    offered = batch + batch[::7]  # duplicates inside the call, across chunk borders
    one = ingest_punches(engine, offered, run.id, batch_size=100_000)
    expected = _stored(engine)
    with engine.begin() as conn:
        conn.execute(delete(RawPunch))
    many = ingest_punches(engine, offered, run.id, batch_size=97)
    assert _stored(engine) == expected
    assert dataclasses.astuple(many) == dataclasses.astuple(one)
    assert (many.seen, many.new) == (len(offered), len(batch))
    assert many.unknown_pin == sum(1 for p in offered if p.pin != "1")
    assert many.out_of_range == offered.count(batch[5])
    again = ingest_punches(engine, offered, run.id, batch_size=97)
    assert (again.new, again.duplicate) == (0, len(offered))
    rows = {(r[0], r[2], r[4], r[7]): r for r in expected}

    def row(p: Punch) -> tuple:
        return rows[(p.device_id, p.pin, p.local_time, str(p.state))]

    assert row(batch[9])[6] == datetime(2026, 11, 2, 1, 2, 3)
    assert row(batch[7])[9:11] == ("7", 42)
    assert row(batch[7])[11] == {"big": 2 ** 70, "when": "2026-01-01 00:00:00",
                                             "3": "non-str key"}


def test_a_log_past_the_stored_ones_and_a_stale_check_both_count_right(
        engine, backend, monkeypatch) -> None:
    """On PostgreSQL a batch that nothing stored can clash with is copied straight in; when
    that check is stale (another writer got there first) the copy fails on the identity and
    the checked path stores the rest, with the same counts."""
    from hub.store import ingest as ingest_module

    with Session(engine, expire_on_commit=False) as s:
        dev = make_device(s)
        s.commit()
    copied: list[str] = []
    real_copy = ingest_module._copy
    monkeypatch.setattr(ingest_module, "_copy", lambda cur, table, cols, rows, tail: (
        copied.append(table), real_copy(cur, table, cols, rows, tail)))
    log = sorted(punches(dev.id, 600), key=lambda p: p.local_time)
    first = ingest_punches(engine, log[:400] + log[:50])  # inner repeats on the fresh path
    assert (first.new, first.duplicate) == (400, 50)
    tail = ingest_punches(engine, log[400:])
    assert (tail.new, tail.duplicate) == (200, 0)
    overlap = ingest_punches(engine, log[550:])
    assert (overlap.new, overlap.duplicate) == (0, 50)
    if backend == "postgresql":
        assert copied == ["raw_punches", "raw_punches", "_ingest_rows"]
    if backend == "postgresql":
        # A stale check: claim the batch is fresh though half of it is stored.
        monkeypatch.setattr(ingest_module, "_fresh_rows", lambda cur, rows: rows)
    extra = punches(dev.id, 100, seed=99, start=datetime(2026, 12, 20, 7, 0))
    again = ingest_punches(engine, log[500:] + extra)
    assert (again.new, again.duplicate) == (100, 100)
    assert count_rows(engine, "raw_punches") == 700


NASTY = ["a\\b", "\\N", "\\", "x\ty", "l\nm", "cr\rlf", "ünï 名", "N", "", " 7 "]


def _stored_text(engine, device_id: int) -> list[tuple]:
    with Session(engine) as s:
        return sorted((r.pin, r.local_time, r.work_code, r.raw) for r in s.scalars(
            select(RawPunch).where(RawPunch.device_id == device_id)))


@pytest.mark.parametrize("mixed", [False, True], ids=["all-nasty", "one-nasty-row"])
def test_text_copy_would_misread_is_stored_as_given(engine, mixed: bool) -> None:
    """PostgreSQL rows go in as COPY text written by the hub; values holding a backslash,
    tab or line break (or the text of COPY's NULL) must still be stored exactly as given,
    on the straight copy and on the checked path, and on SQLite alike."""
    with Session(engine, expire_on_commit=False) as s:
        dev = make_device(s)
        s.commit()
    start = datetime(2026, 11, 2, 7, 0)
    plain = punches(dev.id, 50, start=datetime(2026, 10, 1, 7, 0)) if mixed else []
    odd = [Punch(dev.id, Source.FILE, pin, start.replace(minute=i), "Asia/Jakarta",
                 work_code=NASTY[-1 - i], raw={"note": pin, "n": None})
           for i, pin in enumerate(NASTY)]
    batch = plain + (odd[:1] if mixed else odd)
    first = ingest_punches(engine, batch)
    assert first.new == len(batch)
    # Again, with more: the stored ones clash, so the staging table is used this time.
    second = ingest_punches(engine, batch + odd)
    fresh = len(odd) - (len(batch) - len(plain))
    assert (second.new, second.duplicate) == (fresh, len(batch) + len(odd) - fresh)
    stored = _stored_text(engine, dev.id)
    want = sorted([(p.pin, p.local_time, p.work_code, p.raw) for p in plain + odd])
    assert stored == want


@given(pins=st.lists(st.text(st.characters(blacklist_categories=("Cs",),
                                           blacklist_characters="\x00"), max_size=12),
                     min_size=1, max_size=20, unique=True))
@hsettings(max_examples=25, deadline=None,
           suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_any_pin_text_round_trips(engine, pins: list[str]) -> None:
    with Session(engine, expire_on_commit=False) as s:
        dev = make_device(s, f"SN-{uuid.uuid4().hex[:10]}")
        s.commit()
    batch = [Punch(dev.id, Source.ZK_TCP, pin, datetime(2026, 11, 2, 7, i), "Asia/Jakarta",
                   raw={"pin": pin}) for i, pin in enumerate(pins)]
    assert ingest_punches(engine, batch).new == len(batch)
    assert _stored_text(engine, dev.id) == sorted(
        (p.pin, p.local_time, None, {"pin": p.pin}) for p in batch)
