"""`hub demo` end to end (small): fleet up, pulled, reconciled, console answers, push
terminals stored, clean stop with no simulator process left behind."""

from __future__ import annotations

import re
import signal
import time

import httpx
from sqlalchemy import text

from tests.proc_helpers import free_port, hub_env, start_hub, stop, wait_http


def test_demo_brings_up_the_console(settings, engine, tmp_path) -> None:
    port = free_port()
    log = tmp_path / "demo.log"
    env = hub_env(settings, HUB_SCHEDULER_PULL_EVERY_MIN="60", HUB_SCHEDULER_LEADER_POLL_S="0.5")
    proc = start_hub(["demo", "--zk", "4", "--adms", "2", "--mqtt", "2", "--employees", "120",
                      "--days", "7", "--port", str(port), "--state-dir", str(tmp_path / "demo")],
                     env, log)
    try:
        wait_http(f"http://127.0.0.1:{port}/healthz", timeout=180, proc=proc)
        login = httpx.get(f"http://127.0.0.1:{port}/login")
        assert login.status_code == 200 and "<form" in login.text
        deadline = time.monotonic() + 120
        while "Terminal push" not in log.read_text():
            assert time.monotonic() < deadline, log.read_text()
            assert proc.poll() is None, log.read_text()
            time.sleep(0.5)
        assert "0 belum terkirim" in log.read_text(), log.read_text()
        with engine.connect() as conn:
            by_kind = dict(conn.execute(text(
                "SELECT d.kind, COUNT(*) FROM raw_punches p JOIN devices d ON d.id = p.device_id "
                "GROUP BY d.kind")).all())
            days = conn.execute(text("SELECT COUNT(*) FROM daily_status")).scalar()
        assert by_kind.get("adms", 0) > 0 and by_kind.get("mqtt", 0) > 0, by_kind
        assert sum(v for k, v in by_kind.items() if k.startswith("zk")) > 0, by_kind
        assert days > 0
        # the employees' app, with the demo employee's printed code
        app = re.search(r"Aplikasi pegawai: (\S+/m/) +\((.+): NIP (\d+), kode aktivasi ([A-Z0-9-]+)\)", log.read_text())
        assert app, log.read_text()
        page = httpx.get(app.group(1))
        assert page.status_code == 200 and "Presensi ASN" in page.text and "/m/app.js" in page.text
        signed = httpx.post(f"http://127.0.0.1:{port}/api/mobile/login",
                            data={"nip": app.group(3), "code": app.group(4), "device_key": "demo-phone-0123456789"})
        assert signed.status_code == 200, signed.text
        me = httpx.get(f"http://127.0.0.1:{port}/api/mobile/me",
                       headers={"Authorization": f"Bearer {signed.json()['token']}"}).json()
        assert me["name"] == app.group(2) and me["places"] and me["places"][0]["radius_m"] == 200
    finally:
        code = stop(proc, signal.SIGTERM, timeout=60)
    out = log.read_text()
    assert code == 0, out
    assert "Demo selesai" in out
