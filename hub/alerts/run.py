"""One alert check: the rules' problems into the `alerts` table, then what is owed to people:
one message when a problem opens, one when it is over, on every channel, outside quiet hours.
A channel that fails keeps its message owed and is tried at the next check. The daily
digest sums up what is open and what was over in the last day."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, or_, select
from sqlalchemy.orm import Session

from hub import times
from hub.alerts.models import Alert
from hub.alerts.notify import ChannelError, Message, channels, send
from hub.alerts.rules import TERMINAL_RULES, evaluate, tr_since
from hub.config import Settings
from hub.store.models import utcnow

OWED_FOR = timedelta(days=7)  # a recovery older than this is not sent any more
PREFIX = "[Hub Absensi]"


@dataclass
class Outcome:
    opened: list[str] = field(default_factory=list)
    resolved: list[str] = field(default_factory=list)
    sent: list[str] = field(default_factory=list)  # "channel event key"
    failed: list[str] = field(default_factory=list)
    quiet: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {"opened": self.opened, "resolved": self.resolved, "sent": len(self.sent), "failed": self.failed,
                "quiet": self.quiet}


def quiet_now(settings: Settings, now: datetime) -> bool:
    spec = settings.alerts.quiet_hours
    return bool(spec) and times.in_windows(times.to_local(now, settings.default_timezone).time(),
                                           times.parse_windows(spec))


def _link(settings: Settings, row: Alert) -> str:
    base = settings.web.public_url.rstrip("/")
    if not base:
        return ""
    serial = row.subject.split(":")[0]
    if row.rule in TERMINAL_RULES:
        return f"{base}/devices/{serial}"
    return {"pending_registrations": f"{base}/terminals/pending", "exceptions_waiting": f"{base}/exceptions",
            "job_failed": f"{base}/jobs", "ingest_errors": f"{base}/jobs"}.get(row.rule, base)


def message_of(row: Alert, event: str, settings: Settings, now: datetime) -> Message:
    en = settings.language == "en"
    words = row.message_en if en and row.message_en else row.message
    since = times.shown(row.opened_at, settings.default_timezone)
    link = _link(settings, row)
    if event == "problem":
        subject = f"{PREFIX} {'PROBLEM' if en else 'MASALAH'}: {words}"
        lines = [words, f"{'Since' if en else 'Sejak'}: {since}"]
        if row.fix:
            lines.append(f"{'What to do' if en else 'Yang perlu dilakukan'}: {row.fix}")
    else:
        took = tr_since((row.resolved_at or now) - row.opened_at)[1 if en else 0]
        subject = f"{PREFIX} {'RECOVERED' if en else 'PULIH'}: {words}"
        lines = [f"{'Over after' if en else 'Sudah pulih setelah'} {took} ({'since' if en else 'sejak'} {since}).",
                 words]
    if link:
        lines.append(link)
    data = {"key": row.key, "rule": row.rule, "subject_id": row.subject, "opened_at": row.opened_at.isoformat(),
            "resolved_at": row.resolved_at.isoformat() if row.resolved_at else None, "facts": row.facts,
            "message": row.message, "message_en": row.message_en, "fix": row.fix, "link": link}
    return Message(event, subject, "\n".join(lines) + "\n", data)


def open_alerts(session: Session, serials: set[str] | None) -> list[Alert]:
    """Problems open now, for a reader who sees these terminals (None: every terminal and the
    hub's own problems; an office's reader sees only its terminals')."""
    rows = session.scalars(select(Alert).where(Alert.resolved_at.is_(None)).order_by(Alert.opened_at)).all()
    if serials is None:
        return list(rows)
    return [a for a in rows if a.rule in TERMINAL_RULES and a.subject.split(":")[0] in serials]


def check(engine: Engine, settings: Settings, now: datetime | None = None) -> Outcome:
    now = now or utcnow()
    out = Outcome()
    with Session(engine) as s:
        open_rows = {r.key: r for r in s.scalars(select(Alert).where(Alert.resolved_at.is_(None)))}
        found = evaluate(s, settings, now, set(open_rows))
        for p in found:
            row = open_rows.get(p.key)
            if row is None:
                row = Alert(key=p.key, rule=p.rule, subject=p.subject, opened_at=now, notified={}, recovered={})
                s.add(row)
                out.opened.append(p.key)
            row.message, row.message_en, row.fix, row.facts, row.last_seen_at = (p.message, p.message_en, p.fix,
                                                                                  p.facts, now)
        keys = {p.key for p in found}
        for key, row in open_rows.items():
            if key not in keys:
                row.resolved_at = now
                out.resolved.append(key)
        s.commit()
        out.quiet = quiet_now(settings, now)
        if not out.quiet:
            deliver(s, settings, now, out)
    return out


def deliver(s: Session, settings: Settings, now: datetime, out: Outcome) -> None:
    chans = channels(settings.alerts)
    if not chans:
        return
    rows = s.scalars(select(Alert).where(or_(Alert.resolved_at.is_(None), Alert.resolved_at >= now - OWED_FOR))
                     .order_by(Alert.id)).all()
    for row in rows:
        if row.resolved_at is None:
            event, owed = "problem", [c for c in chans if c not in (row.notified or {})]
        else:  # a recovery only where the problem was told, and only once
            event, owed = "recovery", [c for c in chans if c in (row.notified or {}) and c not in
                                       (row.recovered or {})]
        for channel in owed:
            try:
                send(channel, settings.alerts, message_of(row, event, settings, now))
            except ChannelError as exc:
                row.last_error = str(exc)[:500]
                out.failed.append(f"{channel}: {exc}")
            else:
                mark = {channel: now.isoformat()}
                if event == "problem":
                    row.notified = {**(row.notified or {}), **mark}
                else:
                    row.recovered = {**(row.recovered or {}), **mark}
                out.sent.append(f"{channel} {event} {row.key}")
            s.commit()


def digest(engine: Engine, settings: Settings, now: datetime | None = None) -> dict[str, Any]:
    """One summary of what is open and what was over in the last day; nothing when all is well."""
    now = now or utcnow()
    en = settings.language == "en"
    with Session(engine) as s:
        open_rows = s.scalars(select(Alert).where(Alert.resolved_at.is_(None)).order_by(Alert.opened_at)).all()
        over = s.scalars(select(Alert).where(Alert.resolved_at >= now - timedelta(days=1))
                         .order_by(Alert.resolved_at)).all()
    if not open_rows and not over:
        return {"_status": "skipped", "reason": "nothing open or over"}
    tz = settings.default_timezone
    lines = [f"{'Open' if en else 'Masih terbuka'} ({len(open_rows)}):"]
    lines += [f"- {(r.message_en if en else r.message)} ({'since' if en else 'sejak'} "
              f"{times.shown(r.opened_at, tz)})" for r in open_rows] or ["-"]
    lines += ["", f"{'Over in the last 24 h' if en else 'Pulih dalam 24 jam terakhir'} ({len(over)}):"]
    lines += [f"- {(r.message_en if en else r.message)}" for r in over] or ["-"]
    subject = (f"{PREFIX} {'Daily summary' if en else 'Ringkasan harian'}: {len(open_rows)} "
               f"{'open' if en else 'terbuka'}, {len(over)} {'over' if en else 'pulih'}")
    m = Message("digest", subject, "\n".join(lines) + "\n",
                {"open": [r.key for r in open_rows], "over": [r.key for r in over]})
    sent, failed = [], {}
    for channel in channels(settings.alerts):
        try:
            send(channel, settings.alerts, m)
            sent.append(channel)
        except ChannelError as exc:
            failed[channel] = str(exc)
    return {"open": len(open_rows), "over": len(over), "sent": sent, "failed": failed,
            **({"_status": "error"} if failed and not sent else {})}
