"""What raw_punches refers to stays there, on both databases.

On SQLite foreign keys do it; on PostgreSQL statement-level triggers (migration 0009),
which must behave as the keys did: a missing parent is refused, a device with punches
cannot be deleted, deleting an employee or an ingest run clears the reference."""

from __future__ import annotations

import threading
from datetime import datetime

import pytest
from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from hub.punch import Punch, Source
from hub.store.ingest import ingest_punches
from hub.store.models import Device, Employee, IngestRun, RawPunch, utcnow
from tests.store_helpers import make_device, make_employee, make_site


def _setup(engine) -> tuple[int, int, int]:
    with Session(engine, expire_on_commit=False) as s:
        site = make_site(s)
        dev = make_device(s, site=site)
        emp = make_employee(s, "EMP-REF", pin="1", site=site)
        run = IngestRun(device_id=dev.id, source="zk_tcp", kind="pull", started_at=utcnow(),
                        status="ok", details={})
        s.add(run)
        s.commit()
        return dev.id, emp.id, run.id


def _punch(dev: int, minute: int = 0) -> Punch:
    return Punch(dev, Source.ZK_TCP, "1", datetime(2026, 11, 3, 7, minute), "Asia/Jakarta")


def test_missing_parents_are_refused(engine, backend) -> None:
    dev, emp, run = _setup(engine)
    with pytest.raises(IntegrityError) as refused:
        ingest_punches(engine, [_punch(dev), _punch(dev + 1000, 1), _punch(dev + 999, 2)], run)
    if backend == "postgresql":  # the statement-level check names what is missing
        assert f"devices that do not exist (id {dev + 999}, {dev + 1000})" in str(refused.value)
    with pytest.raises(IntegrityError) as refused:
        ingest_punches(engine, [_punch(dev)], run + 1000)
    if backend == "postgresql":
        assert f"ingest runs that do not exist (id {run + 1000})" in str(refused.value)
    assert ingest_punches(engine, [_punch(dev)], run).new == 1
    with pytest.raises(IntegrityError), engine.begin() as conn:
        conn.execute(update(RawPunch).values(employee_id=emp + 1000))
    with pytest.raises(IntegrityError), engine.begin() as conn:
        conn.execute(update(RawPunch).values(device_id=dev + 1000))
    with Session(engine) as s:
        assert s.execute(select(RawPunch.device_id, RawPunch.employee_id)).all() == [(dev, emp)]


def test_deletes_keep_punches_whole(engine) -> None:
    dev, emp, run = _setup(engine)
    ingest_punches(engine, [_punch(dev), _punch(dev, 1)], run)
    with pytest.raises(IntegrityError), engine.begin() as conn:
        conn.execute(delete(Device).where(Device.id == dev))
    with engine.begin() as conn:
        conn.execute(delete(IngestRun).where(IngestRun.id == run))
        conn.execute(delete(Employee).where(Employee.id == emp))
    with Session(engine) as s:
        rows = s.execute(select(RawPunch.device_id, RawPunch.employee_id,
                                RawPunch.ingest_run_id)).all()
        assert rows == [(dev, None, None)] * 2
    with Session(engine) as s:
        empty = make_device(s, "SN-EMPTY")
        s.commit()
        s.delete(empty)
        s.commit()


def test_a_device_deleted_during_an_ingest_waits_and_is_refused(engine) -> None:
    """The ingest holds the device the way a foreign key does until it commits (on SQLite
    the delete waits for the one writer, then its key refuses it)."""
    _setup(engine)
    with Session(engine, expire_on_commit=False) as s:
        dev = make_device(s, "SN-NO-RUNS").id
        s.commit()
    outcome: list[str] = []
    with engine.connect() as conn:
        ingest_punches(conn, [_punch(dev)])  # uncommitted, and nothing else refers to dev

        def remove() -> None:
            try:
                with engine.begin() as other:
                    other.execute(delete(Device).where(Device.id == dev))
                outcome.append("deleted")
            except IntegrityError:
                outcome.append("refused")

        t = threading.Thread(target=remove)
        t.start()
        t.join(1.0)
        assert t.is_alive(), "the delete did not wait for the ingest"
        conn.commit()
    t.join(10)
    assert outcome == ["refused"]
    with Session(engine) as s:
        assert s.scalar(select(RawPunch.device_id)) == dev
