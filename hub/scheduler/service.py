"""APScheduler wiring: the jobs, their triggers, kept in the hub's own database."""

from __future__ import annotations

from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from hub.config import Settings
from hub.scheduler import jobs
from hub.store.db import get_engine
from hub.times import parse_hhmm


def _daily(at: str, tz: str, day: int | None = None) -> CronTrigger:
    t = parse_hhmm(at)
    return CronTrigger(hour=t.hour, minute=t.minute, day=day, timezone=tz)


def triggers(settings: Settings) -> dict[str, object]:
    s, tz = settings.scheduler, settings.default_timezone
    return {
        "pull_incremental": IntervalTrigger(minutes=max(1, s.pull_every_min), timezone=tz),
        "pull_full": _daily(s.full_pull_at, tz),
        "clock_check": _daily(s.clock_check_at, tz),
        "roster_sync": _daily(s.roster_sync_at, tz),
        "reconcile": _daily(s.reconcile_at, tz),
        "monthly_recap": _daily(s.recap_at, tz, day=s.recap_day),
        "punch_photos": IntervalTrigger(minutes=max(1, s.photo_check_every_min), timezone=tz),
        "backup": _daily(settings.backup.at, tz),
        "partitions": _daily(s.partitions_at, tz),
        "alerts": IntervalTrigger(minutes=max(1, settings.alerts.check_every_min), timezone=tz),
        "alerts_digest": _daily(settings.alerts.digest_at or "07:00", tz),
    }


def build_scheduler(settings: Settings) -> BackgroundScheduler:
    """A scheduler whose jobs live in the `apscheduler_jobs` table of the hub's store.

    Misfires (the hub was down at the planned time) are coalesced into one run as long as
    they are within misfire_grace_s; one instance of a job at a time.
    """
    store = SQLAlchemyJobStore(engine=get_engine(settings.effective_database_url()))
    scheduler = BackgroundScheduler(
        jobstores={"default": store},
        job_defaults={"coalesce": True, "max_instances": 1,
                      "misfire_grace_time": settings.scheduler.misfire_grace_s},
        timezone=settings.default_timezone,
    )
    for name, trigger in triggers(settings).items():
        scheduler.add_job(jobs.JOBS[name], trigger=trigger, id=name, name=name,
                          replace_existing=True)
    return scheduler
