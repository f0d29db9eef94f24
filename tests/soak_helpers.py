"""What the soak tests share: comparing the store with the simulators' ground truth, and the
recap from the store with the recap computed from the ground truth alone.

The ground-truth store gets what the hub knows besides punches and what a reviewer would
do: each terminal's last good pull and its outage spans (so a day counts as held by the same
terminals on both sides), and the punches of a drifted clock accepted after review (the
ground truth says they are real)."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from hub.fleet.seed import register
from hub.protocols.zk_codes import zk_state, zk_verify
from hub.punch import Punch, Source
from hub.reconcile.daily import reconcile_period
from hub.reconcile.evidence import QUARANTINABLE, decide_punches
from hub.reconcile.period import month_figures
from hub.store.db import make_engine, upgrade
from hub.store.ingest import ingest_punches
from hub.store.models import Device, DeviceOutage, IngestRun, RawPunch


def zk_store_punches(engine: Engine) -> list[tuple]:
    with Session(engine) as s:
        return [tuple(r) for r in s.execute(
            select(Device.serial, RawPunch.pin, RawPunch.local_time, RawPunch.state, RawPunch.verify)
            .join(Device, Device.id == RawPunch.device_id).where(Device.kind.like("zk%")))]


def truth_identities(punches: list[tuple[str, str, Any, int, int]]) -> set[tuple]:
    """(serial, pin, local time as recorded, ZK state, ZK verify) -> store identities."""
    return {(sn, pin, local, str(zk_state(st)), str(zk_verify(vf))) for sn, pin, local, st, vf in punches}


def accept_quarantined(engine: Engine) -> int:
    with Session(engine) as s, s.begin():
        ids = list(s.scalars(select(RawPunch.id).where(RawPunch.flags.op("&")(QUARANTINABLE) != 0)))
        return decide_punches(s, ids, "accepted", "soak: ground truth", "soak") if ids else 0


def mirror_evidence(engine: Engine, gt_engine: Engine) -> None:
    with Session(engine) as s:
        pulls = s.execute(select(Device.serial, IngestRun.kind, IngestRun.status, IngestRun.finished_at)
                          .join(Device, Device.id == IngestRun.device_id)
                          .where(IngestRun.status == "ok")).all()
        outages = s.execute(select(Device.serial, DeviceOutage.start_local, DeviceOutage.end_local,
                                   DeviceOutage.kind).join(Device, Device.id == DeviceOutage.device_id)).all()
        seen = dict(s.execute(select(Device.serial, Device.last_seen_at)).all())
    with Session(gt_engine) as g, g.begin():
        ids = dict(g.execute(select(Device.serial, Device.id)).all())
        for serial, kind, status, finished in pulls:
            if serial not in ids:
                continue  # a push terminal the ground-truth roster does not hold
            g.add(IngestRun(device_id=ids[serial], source="zk_tcp", kind=kind, status=status, started_at=finished,
                            finished_at=finished, details={}))
        for serial, start, end, kind in outages:
            if serial not in ids:
                continue
            g.add(DeviceOutage(device_id=ids[serial], start_local=start, end_local=end, kind=kind))
        for serial, at in seen.items():
            if serial in ids:
                g.get(Device, ids[serial]).last_seen_at = at


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
        mirror_evidence(engine, gt_engine)
        accept_quarantined(engine)
        reconcile_period(gt_engine, start, end, actor="soak")
        months = sorted({f"{start + timedelta(days=i):%Y-%m}" for i in range(days)})
        for month in months:
            with Session(engine) as a, Session(gt_engine) as b:
                ours, theirs = month_figures(a, month).rows, month_figures(b, month).rows
            assert ours and len(ours) == len(theirs)
            assert _rows(ours) == _rows(theirs), f"recap of {month} differs"
    finally:
        gt_engine.dispose()
