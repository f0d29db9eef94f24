"""What the soak tests share: comparing the store with the simulators' ground truth, and the
recap from the store with the recap computed from the ground truth alone."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from hub.punch import Punch, Source, zk_state, zk_verify
from hub.reconcile.recap import build_recap
from hub.reconcile.store import reconcile_period
from hub.simulator.register import register
from hub.store.db import make_engine, upgrade
from hub.store.ingest import ingest_punches
from hub.store.models import Device, RawPunch


def zk_store_punches(engine: Engine) -> list[tuple]:
    with Session(engine) as s:
        return [tuple(r) for r in s.execute(
            select(Device.serial, RawPunch.pin, RawPunch.local_time, RawPunch.state, RawPunch.verify)
            .join(Device, Device.id == RawPunch.device_id).where(Device.kind.like("zk%")))]


def truth_identities(punches: list[tuple[str, str, Any, int, int]]) -> set[tuple]:
    """(serial, pin, local time as recorded, ZK state, ZK verify) -> store identities."""
    return {(sn, pin, local, str(zk_state(st)), str(zk_verify(vf))) for sn, pin, local, st, vf in punches}


def _rows(rows: list[dict]) -> list[tuple]:
    return sorted(tuple(sorted((k, str(v)) for k, v in r.items())) for r in rows)


def assert_recap_equals_truth(engine: Engine, roster: dict[str, Any],
                              punches: list[tuple[str, str, Any, int, int]], start: date, days: int,
                              tmp_path: Path) -> None:
    """Reconcile the store, and a separate store holding only the ground truth; every month's
    recap must be the same."""
    end = start + timedelta(days=days - 1)
    reconcile_period(engine, start, end, actor="soak")
    url = f"sqlite:///{tmp_path / 'truth.sqlite3'}"
    upgrade(url)
    gt_engine = make_engine(url)
    try:
        with Session(gt_engine) as s, s.begin():
            register(s, roster)
        with Session(gt_engine) as s:
            devices = dict(s.execute(select(Device.serial, Device.id)).all())
            zones = dict(s.execute(select(Device.serial, Device.tz)).all())
        ingest_punches(gt_engine, [Punch(devices[sn], Source.FILE, pin, local, zones[sn], zk_state(st),
                                         zk_verify(vf)) for sn, pin, local, st, vf in punches])
        reconcile_period(gt_engine, start, end, actor="soak")
        months = sorted({f"{start + timedelta(days=i):%Y-%m}" for i in range(days)})
        for month in months:
            with Session(engine) as a, Session(gt_engine) as b:
                ours, theirs = build_recap(a, month), build_recap(b, month)
            assert ours and len(ours) == len(theirs)
            assert _rows(ours) == _rows(theirs), f"recap of {month} differs"
    finally:
        gt_engine.dispose()
