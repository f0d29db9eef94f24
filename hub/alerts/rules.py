"""The alert rules: what in the store is a problem someone must hear about now.

Each rule yields Problems keyed `rule:subject`; a key that is found again is the same
problem (one message), a key no longer found is over (one recovery message). Terminal
rules read the same judgement the fleet page shows (hub.fleet.status)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hub import times
from hub.commands import ISAPI_KINDS, PUSH_KINDS, ZK_KINDS
from hub.config import Settings
from hub.disks import usage
from hub.fleet.status import fleet
from hub.messages import render
from hub.push.models import PushRegistration
from hub.reconcile.models import DailyStatus, LeaveEntry
from hub.store.models import Correction, IngestRun, JobRun

PULLED = ZK_KINDS + ISAPI_KINDS  # the hub asks them; PUSH_KINDS come to it
TERMINAL_RULES = ("terminal_offline", "pull_stale", "clock_drift", "capacity")  # subject: serial[:what]
UNDECIDED = ("TD", "TV")  # days waiting for a reviewer: no data, held punches
STORE_FAILED = 'msg:{"c": "pull.db%'  # the stored codes pull.db_write / pull.db_unavailable


@dataclass
class Problem:
    rule: str
    subject: str
    message: str  # Indonesian
    message_en: str
    fix: str = ""
    facts: dict[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return f"{self.rule}:{self.subject}"


def working_now(settings: Settings, now_local: datetime) -> bool:
    a = settings.alerts
    days = {int(d) for d in a.working_days.replace(" ", "").split(",") if d.isdigit()}
    windows = times.parse_windows(a.working_hours or settings.pull.working_hours)
    return now_local.isoweekday() in days and times.in_windows(now_local.time(), windows)


def _minutes(delta: timedelta) -> int:
    return int(delta.total_seconds() // 60)


def terminal_problems(session: Session, settings: Settings, now: datetime, open_keys: set[str],
                      working: bool) -> list[Problem]:
    a = settings.alerts
    out = []
    for r in fleet(session, settings):
        if not r["enabled"] or r["kind"] not in PULLED + PUSH_KINDS:
            continue  # (USB imports and the phone app have no terminal to be offline)
        sn, where = r["serial"], f" ({r['site']})" if r["site"] else ""
        seen = r["last_seen_at"]
        gone = now - seen if seen else None
        key = f"terminal_offline:{sn}"
        if (gone is None or gone > timedelta(minutes=a.offline_minutes)) and (working or key in open_keys):
            # an offline terminal is news in working hours; one already reported stays open until seen
            since = tr_since(gone)
            out.append(Problem("terminal_offline", sn, f"Terminal {sn}{where} luring {since[0]}",
                               f"Terminal {sn}{where} offline {since[1]}",
                               "periksa daya, kabel jaringan dan alamat IP terminal; `hub device show "
                               f"{sn}` menunjukkan kesalahan terakhir",
                               {"last_seen_at": seen.isoformat() if seen else None, "kind": r["kind"],
                                "last_error": r["last_error"]}))
        pulled = r.get("last_good_pull_at")
        if r["kind"] in PULLED and (pulled is None or now - pulled > timedelta(minutes=a.pull_stale_minutes)):
            age = tr_since(now - pulled if pulled else None)
            out.append(Problem("pull_stale", sn, f"Tarikan terakhir yang berhasil dari {sn}{where}: {age[0]}",
                               f"Last successful pull from {sn}{where}: {age[1]}",
                               "lihat `hub jobs` dan halaman terminal; tarik sekarang dengan `hub pull --device "
                               f"{sn}`", {"last_good_pull_at": pulled.isoformat() if pulled else None}))
        offset = r["clock_offset_s"]
        if r["clock_suspect"] and offset is not None:
            out.append(Problem("clock_drift", sn, f"Jam terminal {sn}{where} selisih {offset:+.0f} dtk",
                               f"Terminal {sn}{where} clock off by {offset:+.0f} s",
                               f"setel dengan `hub device sync-time --device {sn}`; punch selama jam melenceng "
                               "ditahan untuk ditinjau", {"offset_s": offset}))
        for what, use, words in (("log", r.get("log_use"), ("log", "log")),
                                 ("users", r.get("user_use"), ("memori pengguna", "user memory"))):
            if use is not None and use * 100 >= a.capacity_pct:
                out.append(Problem("capacity", f"{sn}:{what}", f"{words[0].capitalize()} {sn}{where} "
                                   f"{use * 100:.0f}% penuh", f"{sn}{where} {words[1]} {use * 100:.0f}% full",
                                   "tarik lalu kosongkan log di luar jam kerja ([pull] clear_after_pull) atau "
                                   "hapus pengguna yang sudah pindah", {"use": round(use, 4)}))
    return out


def tr_since(delta: timedelta | None) -> tuple[str, str]:
    if delta is None:
        return "belum pernah", "never"
    minutes = _minutes(delta)
    if minutes < 120:
        return f"{minutes} menit", f"{minutes} minutes"
    if minutes < 48 * 60:
        return f"{minutes // 60} jam", f"{minutes // 60} hours"
    return f"{minutes // 1440} hari", f"{minutes // 1440} days"


def store_problems(session: Session, settings: Settings, now: datetime, today: date) -> list[Problem]:
    a = settings.alerts
    out = []
    pending = session.scalar(select(func.count()).select_from(PushRegistration)
                             .where(PushRegistration.status == "pending")) or 0
    if pending:
        out.append(Problem("pending_registrations", "all", f"{pending} terminal menunggu persetujuan pendaftaran",
                           f"{pending} terminals waiting for registration approval",
                           "setujui atau tolak di konsol (Terminal > Menunggu) atau `hub push pending`",
                           {"count": pending}))
    # the latest run of each job: a job whose last run failed
    latest = select(JobRun.job, func.max(JobRun.id).label("id")).group_by(JobRun.job).subquery()
    for job, detail in session.execute(select(JobRun.job, JobRun.detail).join(latest, JobRun.id == latest.c.id)
                                       .where(JobRun.status == "error")):
        error = str((detail or {}).get("error", ""))[:300]
        out.append(Problem("job_failed", job, f"Job {job} gagal: {error}", f"Job {job} failed: {error}",
                           "lihat `hub jobs` untuk jejaknya", {"error": error}))
    # runs whose punches the store would not take (a terminal that cannot be reached is the
    # offline and stale-pull rules' business, not this one's)
    since = now - timedelta(minutes=a.ingest_error_minutes)
    for source, n, last in session.execute(select(IngestRun.source, func.count(), func.max(IngestRun.error))
                                           .where(IngestRun.status == "error", IngestRun.started_at >= since,
                                                  IngestRun.error.like(STORE_FAILED))
                                           .group_by(IngestRun.source)):
        words = render(last, "id")[:200], render(last, "en")[:200]
        out.append(Problem("ingest_errors", source, f"{n} kali gagal menyimpan data {source} dalam "
                           f"{a.ingest_error_minutes} menit: {words[0]}",
                           f"{n} failed {source} ingests in {a.ingest_error_minutes} minutes: {words[1]}",
                           "periksa basis data (`hub doctor`: terjangkau, tertulis, disk) dan log layanan "
                           "(journalctl -u hub)", {"count": n}))
    cutoff = today - timedelta(days=a.exceptions_days)
    old = datetime.combine(cutoff, datetime.min.time())
    days = session.scalar(select(func.count()).select_from(DailyStatus)
                          .where(DailyStatus.status.in_(UNDECIDED), DailyStatus.day <= cutoff)) or 0
    corrections = session.scalar(select(func.count()).select_from(Correction)
                                 .where(Correction.approval == "pending", Correction.created_at <= old)) or 0
    leave = session.scalar(select(func.count()).select_from(LeaveEntry)
                           .where(LeaveEntry.approval == "pending", LeaveEntry.created_at <= old)) or 0
    if days or corrections or leave:
        out.append(Problem("exceptions_waiting", "all",
                           f"Menunggu keputusan lebih dari {a.exceptions_days} hari: {days} hari-pegawai "
                           f"(TD/TV), {corrections} koreksi, {leave} izin",
                           f"Waiting for a decision over {a.exceptions_days} days: {days} employee-days "
                           f"(TD/TV), {corrections} corrections, {leave} leave requests",
                           "putuskan di konsol (Pengecualian, Persetujuan) sebelum rekap dikunci",
                           {"days": days, "corrections": corrections, "leave": leave}))
    return out


def disk_problems(settings: Settings) -> list[Problem]:
    return [Problem("disk", d.label, f"Disk {d.path} {d.pct:.0f}% terpakai ({d.free_gib:.1f} GiB bebas)",
                    f"Disk {d.path} {d.pct:.0f}% used ({d.free_gib:.1f} GiB free)",
                    "kosongkan ruang atau pindahkan var_dir / [backup] dir ke disk lain", {"pct": round(d.pct, 1)})
            for d in usage(settings) if d.pct >= settings.alerts.disk_pct]


def evaluate(session: Session, settings: Settings, now: datetime, open_keys: set[str]) -> list[Problem]:
    """Every problem now (`now` naive UTC). Keys are unique."""
    local = times.to_local(now, settings.default_timezone)
    found = (terminal_problems(session, settings, now, open_keys, working_now(settings, local))
             + store_problems(session, settings, now, local.date()) + disk_problems(settings))
    return list({p.key: p for p in found}.values())
