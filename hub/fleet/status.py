"""What state each terminal is in, and what is wrong with it, worst first: one place for the
fleet page, the API, `hub doctor` and the alert rules."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hub.config import Settings
from hub.messages import render
from hub.store.models import Device, IngestRun, Site, utcnow


def online_window(settings: Settings) -> timedelta:
    # Three missed pulls in a row before a terminal counts as offline.
    return timedelta(minutes=max(15, 3 * settings.scheduler.pull_every_min))


FULL = 0.9  # a log or user memory this full is a problem on the fleet page
STALE_PULL = timedelta(hours=26)  # the nightly pull, missed once


def problems(row: dict[str, Any], now: datetime, enabled: bool = True) -> list[tuple[int, str]]:
    """What is wrong with a terminal, worst first: (weight, Indonesian words; the catalogue
    has the English). The fleet page sorts by the sum, so the terminals to look at come first."""
    if not enabled:
        return []
    out: list[tuple[int, str]] = []
    if row["failures"]:
        out.append((4, "gagal berulang"))
    if not row["online"]:
        out.append((3, "luring"))
    pulled = row.get("last_good_pull_at")  # the last pull that worked, not the last attempt
    if row["kind"].startswith("zk") and (pulled is None or now - pulled > STALE_PULL):
        out.append((2, "tarikan basi"))
    if row["clock_suspect"]:
        out.append((2, "jam melenceng"))
    if row.get("log_use") is not None and row["log_use"] >= FULL:
        out.append((2, "log hampir penuh"))  # a full log stops taking punches (or overwrites the oldest)
    if row.get("user_use") is not None and row["user_use"] >= FULL:
        out.append((1, "memori pengguna hampir penuh"))
    if row["backlog"]:
        out.append((1, "data belum tertarik"))
    return sorted(out, reverse=True)


def fleet(session: Session, settings: Settings, site_code: str | None = None,
          lang: str | None = None) -> list[dict[str, Any]]:
    q = select(Device, Site.code).outerjoin(Site, Site.id == Device.site_id).order_by(Device.serial)
    if site_code:
        q = q.where(Site.code == site_code)
    devices = session.execute(q).all()
    ids = [d.id for d, _ in devices]
    last_runs: dict[int, IngestRun] = {}
    if ids:
        latest = (select(func.max(IngestRun.id)).where(IngestRun.device_id.in_(ids))
                  .group_by(IngestRun.device_id))
        for run in session.scalars(select(IngestRun).where(IngestRun.id.in_(latest))):
            last_runs[run.device_id] = run  # type: ignore[index]
        good = dict(session.execute(select(IngestRun.device_id, func.max(IngestRun.finished_at))
                                    .where(IngestRun.device_id.in_(ids), IngestRun.kind == "pull",
                                           IngestRun.status == "ok")
                                    .group_by(IngestRun.device_id)).all())
    else:
        good = {}
    now, window = utcnow(), online_window(settings)
    rows = []
    for d, code in devices:
        run = last_runs.get(d.id)
        offset = d.last_clock_offset_s
        rows.append({
            "id": d.id, "serial": d.serial, "name": d.name, "kind": d.kind, "site": code, "site_id": d.site_id,
            "tz": d.tz, "enabled": d.enabled, "status": d.status,
            "online": bool(d.last_seen_at and now - d.last_seen_at <= window),
            "last_seen_at": d.last_seen_at,
            "last_pull_at": run.finished_at or run.started_at if run else None,
            "last_pull_status": run.status if run else None,
            "last_pull_new": run.new if run else None,
            "backlog": backlog(d, run),
            "clock_offset_s": offset,
            "clock_suspect": offset is not None and abs(offset) > settings.pull.clock_tolerance_s,
            "last_error": render(d.last_error or (run.error if run and run.status != "ok" else None), lang) or None,
            "failures": d.failures or 0, "failing_since": d.failing_since, "backoff_s": d.backoff_s,
            "recovered_at": d.recovered_at, "last_good_pull_at": good.get(d.id),
            **use_of(d),
        })
        found = problems(rows[-1], now, d.enabled)
        rows[-1]["problems"] = [words for _, words in found]
        rows[-1]["severity"] = sum(w for w, _ in found)
    rows.sort(key=lambda r: (-r["severity"], r["serial"]))  # the terminals to look at first
    return rows


def use_of(device: Device) -> dict[str, float | None]:
    """How full the terminal's log and user memory are (0..1), from what it last reported."""
    caps = device.capabilities or {}
    cap, counts = caps.get("capacity") or {}, caps.get("counts") or {}
    records = device.last_record_count if device.last_record_count is not None else counts.get("records")

    def share(n: Any, total: Any) -> float | None:
        return n / total if isinstance(n, int) and isinstance(total, int) and total > 0 else None

    return {"log_use": share(records, cap.get("rec_cap")), "user_use": share(counts.get("users"), cap.get("users_cap"))}


def backlog(device: Device, run: IngestRun | None) -> int | None:
    """Records the terminal reported at its last look that are not in the store yet.

    The puller sets last_record_count only once a pull is stored, and each run records the
    count the terminal reported; a run that failed after counting leaves the difference.
    None when not known (never pulled, push terminals, a failure before counting).
    """
    if run is None:
        return None
    reported = (run.details or {}).get("record_count")
    if isinstance(reported, int) and not isinstance(reported, bool):
        return max(0, reported - (device.last_record_count or 0))
    return 0 if run.status == "ok" and run.kind == "pull" else None
