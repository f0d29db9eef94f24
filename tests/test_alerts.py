"""Alerts to people (issue 22, item 4), on SQLite and PostgreSQL, against a real local SMTP
server (aiosmtpd) and a real webhook receiver over HTTP: a terminal that goes off during
working hours gives one e-mail and one webhook call, and one recovery message each when it
is back; quiet hours hold messages until they end; a channel that is down is tried again
without sending twice on the others; the digest sums up; the rules find what they name."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta
from email import message_from_bytes
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml
from aiosmtpd.controller import Controller
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from hub import times
from hub.adapters.zk.coordinator import pull_fleet
from hub.alerts.models import Alert
from hub.alerts.rules import evaluate
from hub.alerts.run import check, digest
from hub.push.models import PushRegistration
from hub.scheduler import jobs
from hub.simulator.zk.server import start_in_thread
from hub.store.db import make_engine
from hub.store.models import Device, JobRun, utcnow
from tests.proc_helpers import ROOT, free_port
from tests.web_fixtures import web_env  # noqa: F401 - fixture
from tests.zk_fixtures import fast_settings, make_terminal  # noqa: F401 - fixture


class Mailbox:
    def __init__(self) -> None:
        self.messages: list = []

    async def handle_DATA(self, _server, _session, envelope):  # type: ignore[no-untyped-def]  # noqa: N802
        self.messages.append((envelope.rcpt_tos, message_from_bytes(envelope.content)))
        return "250 OK"


class Hook:
    """A webhook receiver: keeps every POST; answers with the codes queued (then 200)."""

    def __init__(self) -> None:
        self.calls: list[tuple[dict, bytes]] = []
        self.answers: list[int] = []
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers["Content-Length"]))
                code = hook.answers.pop(0) if hook.answers else 200
                if code == 200:
                    hook.calls.append((dict(self.headers), body))
                self.send_response(code)
                self.end_headers()

            def log_message(self, *_a) -> None:  # type: ignore[no-untyped-def]
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"

    def events(self) -> list[tuple[str, str]]:
        return [(json.loads(b)["event"], json.loads(b)["key"]) for _, b in self.calls]


@pytest.fixture
def channels(settings) -> Iterator[tuple[Mailbox, Hook]]:  # type: ignore[no-untyped-def]
    box, hook = Mailbox(), Hook()
    port = free_port()
    smtp = Controller(box, hostname="127.0.0.1", port=port)
    smtp.start()
    a = settings.alerts
    a.smtp_host, a.smtp_port, a.mail_to = "127.0.0.1", port, "it@bkd.example.go.id, kabid@example.go.id"
    a.webhook_url, a.webhook_secret = hook.url, "rahasia-webhook"
    a.disk_pct = 101  # (this machine's disk is not what these tests are about)
    a.working_days = "1,2,3,4,5,6,7"
    local = times.to_local(utcnow(), settings.default_timezone)
    a.working_hours = f"{(local - timedelta(hours=2)):%H:%M}-{(local + timedelta(hours=2)):%H:%M}"  # now is work time
    settings.web.public_url = "https://absensi.example.go.id"
    yield box, hook
    smtp.stop()
    hook.server.shutdown()


def test_an_offline_terminal_gives_one_mail_one_webhook_and_one_recovery(settings, engine, channels,  # type: ignore[no-untyped-def]
                                                                         make_terminal) -> None:  # noqa: F811
    box, hook = channels
    sim = make_terminal(users=5, records=20)
    assert not [r for r in pull_fleet(engine, fast_settings()) if r.error]
    assert jobs.alerts()["opened"] == []  # all well: nothing to say, and no job history of it
    assert _alert_runs(engine) == 0
    # the terminal is switched off; the hub last reached it 40 minutes ago
    port = sim.server.port
    sim.server.stop()
    with engine.begin() as conn:
        conn.execute(update(Device).values(last_seen_at=utcnow() - timedelta(minutes=40)))
    assert pull_fleet(engine, fast_settings(retries=1, timeout_s=1.0))[0].error  # (its pulls fail meanwhile)
    out = jobs.alerts()
    assert out["status"] == "ok" and out["opened"] == [f"terminal_offline:{sim.serial}"], out
    for _ in range(3):  # checked again and again while it is off: nothing more
        assert jobs.alerts()["sent"] == 0
    assert _alert_runs(engine) == 1  # (the minute it opened and was sent)
    assert len(box.messages) == 1 and hook.events() == [("problem", f"terminal_offline:{sim.serial}")]
    rcpt, mail = box.messages[0]
    assert sorted(rcpt) == ["it@bkd.example.go.id", "kabid@example.go.id"]
    assert mail["Subject"].startswith("[Hub Absensi] MASALAH: Terminal SIM") and "luring 40 menit" in mail["Subject"]
    assert f"https://absensi.example.go.id/devices/{sim.serial}" in mail.get_payload()
    headers, body = hook.calls[0]
    want = "sha256=" + hmac.new(b"rahasia-webhook", body, hashlib.sha256).hexdigest()
    assert headers["X-Hub-Signature-256"] == want  # a gateway can tell the hub sent it
    assert json.loads(body)["facts"]["kind"] == "zk-tcp"
    # it comes back: pulled again, one recovery message on each channel
    back = start_in_thread(sim.terminal, port=port)
    try:
        assert not [r for r in pull_fleet(engine, fast_settings()) if r.error]
        out = jobs.alerts()
        assert out["resolved"] == [f"terminal_offline:{sim.serial}"] and out["sent"] == 2
        assert jobs.alerts()["sent"] == 0
    finally:
        back.stop()
    assert len(box.messages) == 2 and box.messages[1][1]["Subject"].startswith("[Hub Absensi] PULIH: ")
    assert hook.events()[1] == ("recovery", f"terminal_offline:{sim.serial}")
    with Session(engine) as s:
        [row] = s.scalars(select(Alert)).all()
        assert set(row.notified) == set(row.recovered) == {"mail", "webhook"} and row.resolved_at


def _alert_runs(engine) -> int:  # type: ignore[no-untyped-def]
    with engine.connect() as conn:
        return len(conn.execute(select(JobRun.id).where(JobRun.job == "alerts")).all())


def test_quiet_hours_hold_messages_until_they_end(settings, engine, channels) -> None:  # type: ignore[no-untyped-def]
    box, hook = channels
    settings.alerts.quiet_hours = "21:00-06:00"
    night = times.to_utc(datetime(2026, 12, 7, 23, 0), settings.default_timezone)  # a Monday, 23:00 WIB
    with Session(engine) as s:
        s.add(PushRegistration(serial="ADMS-NEW", channel="adms"))
        s.commit()
    assert check(engine, settings, night).quiet and not box.messages and not hook.calls
    # a second problem opens and is over inside the quiet hours: never sent at all
    with Session(engine) as s:
        s.add(JobRun(job="roster_sync", status="error", detail={"error": "timeout"}))
        s.commit()
    check(engine, settings, night + timedelta(hours=1))
    with Session(engine) as s:
        s.add(JobRun(job="roster_sync", status="ok", detail={}))
        s.commit()
    check(engine, settings, night + timedelta(hours=2))
    assert not box.messages
    morning = night + timedelta(hours=8)  # 07:00: what is still open goes out, once
    out = check(engine, settings, morning)
    assert not out.quiet and out.sent == ["mail problem pending_registrations:all",
                                          "webhook problem pending_registrations:all"]
    assert "1 terminal menunggu" in box.messages[0][1]["Subject"]
    assert check(engine, settings, morning + timedelta(minutes=1)).sent == []


def test_a_channel_down_is_tried_again_and_the_digest(settings, engine, channels) -> None:  # type: ignore[no-untyped-def]
    box, hook = channels
    hook.answers = [500]
    with Session(engine) as s:
        s.add(PushRegistration(serial="MQ-NEW", channel="mqtt"))
        s.commit()
    first = check(engine, settings)
    assert first.sent == ["mail problem pending_registrations:all"] and "HTTP 500" in first.failed[0]
    second = check(engine, settings)
    assert second.sent == ["webhook problem pending_registrations:all"]  # the mail is not sent twice
    assert len(box.messages) == 1 and len(hook.calls) == 1
    with Session(engine) as s:
        s.execute(update(PushRegistration).values(status="approved"))
        s.commit()
    assert len(check(engine, settings).sent) == 2  # over: once on each channel
    out = digest(engine, settings)
    assert out["sent"] == ["mail", "webhook"] and out["over"] == 1 and out["open"] == 0
    assert "Ringkasan harian: 0 terbuka, 1 pulih" in box.messages[-1][1]["Subject"]
    settings.alerts.smtp_host = ""  # a channel switched off: only the webhook
    with engine.begin() as conn:
        conn.execute(update(Alert).values(resolved_at=utcnow() - timedelta(days=2)))
    assert digest(engine, settings)["_status"] == "skipped"  # nothing open, nothing over today


def test_the_rules_find_what_they_name(settings, engine, make_terminal) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    sim = make_terminal(users=5, records=20, clock_offset_s=900)
    assert not [r for r in pull_fleet(engine, fast_settings()) if r.error]
    with Session(engine) as s:
        dev = s.get(Device, sim.device_id)
        dev.capabilities = {**(dev.capabilities or {}), "capacity": {"rec_cap": 20, "users_cap": 1000}}
        s.add(JobRun(job="reconcile", status="error", detail={"error": "boom"}))
        s.commit()
    settings.alerts.disk_pct = 0  # every disk is "full" at 0 %
    with Session(engine) as s:
        found = {p.key: p for p in evaluate(s, settings, utcnow(), set())}
    assert {f"clock_drift:{sim.serial}", f"capacity:{sim.serial}:log", "job_failed:reconcile", "disk:var"} <= set(found)
    assert f"capacity:{sim.serial}:users" not in found and f"terminal_offline:{sim.serial}" not in found
    assert "hub device sync-time" in found[f"clock_drift:{sim.serial}"].fix


def test_prometheus_rules_use_the_hubs_own_metrics(settings, engine) -> None:  # type: ignore[no-untyped-def]
    from fastapi.testclient import TestClient

    from hub.service.runner import HubState, build_app

    doc = yaml.safe_load((ROOT / "deploy" / "prometheus" / "hub-alerts.yml").read_text())
    rules = [r for g in doc["groups"] for r in g["rules"]]
    assert len(rules) >= 6 and all(r["alert"] and r["expr"] and r["annotations"]["summary"] for r in rules)
    with Session(engine) as s:
        s.add(Alert(key="disk:var", rule="disk", subject="var", message="m", message_en="m", fix="", facts={},
                    notified={}, recovered={}))
        s.commit()
    settings.web.metrics_token = "token-monitor"
    with TestClient(build_app(settings, HubState())) as c:
        text = c.get("/metrics", headers={"Authorization": "Bearer token-monitor"}).text
    exposed = {f.name for f in text_string_to_metric_families(text)}
    exposed |= {n + "_total" for n in exposed}
    used = {m for r in rules for m in re.findall(r"\bhub_[a-z_]+", r["expr"])}
    assert used and used <= exposed, used - exposed
    assert 'hub_alerts_open{rule="disk"} 1.0' in text


def test_example_config_lists_the_alert_settings() -> None:
    text = Path(ROOT / "config" / "hub.example.toml").read_text()
    assert "[alerts]" in text and "webhook_url" in text and "quiet_hours" in text


def test_the_fleet_page_shows_open_alerts_in_the_readers_scope(web_env) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    """IT sees every open problem on the fleet page, in the page's language; an office's
    operator only those of its own terminals."""
    from fastapi.testclient import TestClient

    from hub.web.app import create_app
    from tests.web_fixtures import USERS, login

    s = web_env.settings
    s.alerts.working_days, s.alerts.disk_pct = "1,2,3,4,5,6,7", 101
    local = times.to_local(utcnow(), s.default_timezone)
    s.alerts.working_hours = f"{(local - timedelta(hours=2)):%H:%M}-{(local + timedelta(hours=2)):%H:%M}"
    engine = make_engine(s.database_url)
    try:
        out = check(engine, s)
    finally:
        engine.dispose()
    assert "terminal_offline:SN-OFF" in out.opened and "clock_drift:SN-OFF" in out.opened
    with TestClient(create_app(s)) as c:
        login(c, USERS["it"])
        page = c.get("/").text
        assert 'id="alerts"' in page and "Terminal SN-OFF (OPD2) luring 2 hari" in page
        page_en = c.get("/", params={"lang": "en"}).text
        assert "Open alerts" in page_en and "Terminal SN-OFF (OPD2) offline 2 days" in page_en
    with TestClient(create_app(s)) as c:
        login(c, USERS["operator"])
        assert "SN-OFF" not in c.get("/").text  # (another office's terminal)
