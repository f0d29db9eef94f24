"""The fleet page puts the terminals to look at first, with the reason in words (issue 20,
item 2): failing, offline, pull overdue, clock drifted, records not pulled yet."""

from __future__ import annotations

import re
from datetime import timedelta

from fastapi.testclient import TestClient

from hub.store.db import make_engine, session_scope
from hub.store.models import Device, IngestRun, utcnow
from hub.web.app import create_app
from tests.web_fixtures import USERS, WebEnv, login, web_env  # noqa: F401


def test_problems_first_with_reasons(web_env: WebEnv) -> None:  # noqa: F811
    engine = make_engine(web_env.settings.database_url)
    now = utcnow()
    with session_scope(engine) as s:
        healthy = Device(serial="AA-OK", name="Sehat", kind="zk-tcp", host="127.0.0.3", port=4370, tz="Asia/Jakarta",
                         capabilities={}, last_seen_at=now, last_clock_offset_s=1.0, last_record_count=0)
        stale = Device(serial="AB-STALE", name="Basi", kind="zk-tcp", host="127.0.0.4", port=4370, tz="Asia/Jakarta",
                       capabilities={}, last_seen_at=now, last_clock_offset_s=0.0)
        s.add_all([healthy, stale])
        s.flush()
        s.add_all([IngestRun(device_id=healthy.id, source="zk_tcp", kind="pull", status="ok", started_at=now,
                             finished_at=now, details={"record_count": 0}),
                   IngestRun(device_id=stale.id, source="zk_tcp", kind="pull", status="ok",
                             started_at=now - timedelta(days=3), finished_at=now - timedelta(days=3), details={}),
                   # a pull that failed a minute ago does not make the terminal's data fresh
                   IngestRun(device_id=stale.id, source="zk_tcp", kind="pull", status="error",
                             started_at=now, finished_at=now, error="timeout", details={})])
        s.execute(Device.__table__.update().where(Device.serial == "SN-OFF").values(failures=2))
    engine.dispose()
    with TestClient(create_app(web_env.settings)) as c:
        login(c, USERS["it"])
        page = c.get("/", params={"lang": "en"}).text
        order = re.findall(r'data-serial="([^"]+)"', page)
        assert order[0] == "SN-OFF" and order[-1] == "AA-OK", order  # failing and offline first, healthy last
        assert order.index("AB-STALE") < order.index("AA-OK")
        rows = dict(re.findall(r'data-serial="([^"]+)".*?<td class="bad problems">([^<]*)</td>', page, re.S))
        assert rows["SN-OFF"].startswith("failing repeatedly, offline") and "clock drifted" in rows["SN-OFF"]
        assert rows["AB-STALE"] == "pull overdue" and rows["AA-OK"] == ""  # (its last good pull: 3 days ago)
        assert "records not pulled yet" in rows["SN-ON"]
        page_id = c.get("/", params={"lang": "id"}).text
        assert "jam melenceng" in page_id and "tarikan basi" in page_id
        limits = re.sub(r"\s+", " ", re.search(r'id="thresholds">(.*?)</p>', page, re.S).group(1))  # type: ignore
        assert "pull overdue when the last good pull is over 26 hours old" in limits and "90%" in limits


def test_a_terminal_in_another_zone_shows_its_own_time_beside_the_hubs(web_env: WebEnv) -> None:  # noqa: F811
    from datetime import datetime

    engine = make_engine(web_env.settings.database_url)
    with session_scope(engine) as s:  # 02:00 UTC: 09:00 WIB, 10:00 WITA
        s.add(Device(serial="AD-WITA", name="Kantor cabang Makassar", kind="zk-tcp", host="127.0.0.7", port=4370,
                     tz="Asia/Makassar", capabilities={}, last_seen_at=datetime(2026, 10, 5, 2, 0)))
    engine.dispose()
    with TestClient(create_app(web_env.settings)) as c:
        login(c, USERS["it"])
        row = re.search(r'data-serial="AD-WITA".*?</tr>', c.get("/").text, re.S).group(0)  # type: ignore[union-attr]
        assert "2026-10-05 09:00 WIB" in row and "2026-10-05 10:00 WITA" in row
        page = c.get("/devices/AD-WITA").text
        assert "WITA (Asia/Makassar)" in page and "jam terminal 2026-10-05 10:00 WITA" in page
