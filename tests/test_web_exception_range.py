"""Exceptions across offices and days, paged (issue 20, item 4): a reviewer opens a week for
all their offices and gets the employees' exceptions by day and name, 50 a page, filtered by
kind; a range longer than a month is refused with the reason; the correction form of a row
on a later page files for that row's day and comes back to that page."""

from __future__ import annotations

import re
from datetime import datetime

from fastapi.testclient import TestClient
from sqlalchemy import func, insert, select

from hub.store.db import make_engine, session_scope
from hub.store.models import Correction, Device, Employee, PinMapping, RawPunch, Site
from hub.web.app import create_app
from tests.web_fixtures import USERS, WebEnv, csrf_of, login, web_env  # noqa: F401


def _absentees(env: WebEnv, n: int = 60) -> None:
    engine = make_engine(env.settings.database_url)
    with session_scope(engine) as s:
        opd1 = s.scalar(select(Site.id).where(Site.code == "OPD1"))
        s.execute(insert(Employee), [{"id_number": f"1985{i:014d}", "employment_type": "pns", "site_id": opd1,
                                      "monthly_tpp": 0, "name": f"Absen {i:03d}", "active": True}
                                     for i in range(n)])
    engine.dispose()


def test_a_week_for_every_office_is_paged_and_filtered(web_env: WebEnv) -> None:  # noqa: F811
    _absentees(web_env)
    with TestClient(create_app(web_env.settings)) as c:
        login(c, USERS["reviewer"])
        week = {"day": "2026-10-05", "day_to": "2026-10-11"}
        first = c.get("/exceptions", params=week)
        assert first.status_code == 200
        total = int(re.search(r"/ (\d+) \((\d+)\)", first.text).group(2))  # type: ignore[union-attr]
        # 60 absent on each of the two days the terminal holds data, plus the fixture's own
        assert total >= 120 and first.text.count('<tr class="exc-') == 50
        assert re.search(r'href="\?[^"]*day_to=2026-10-11[^"]*&page=3"', first.text)
        last_page = (total - 1) // 50 + 1
        tail = c.get("/exceptions", params={**week, "page": str(last_page)}).text
        assert tail.count('<tr class="exc-') == total - 50 * (last_page - 1)
        days = re.findall(r"<td[^>]*>(2026-10-\d\d) · ", first.text)
        assert days == sorted(days) and set(days) <= {"2026-10-05", "2026-10-06"}
        only_late = c.get("/exceptions", params={**week, "kind": "late"}).text
        kinds = set(re.findall(r'<tr class="exc-(\w+)"', only_late))
        assert kinds == {"late"}  # Budi, 07:45
        too_long = c.get("/exceptions", params={"day": "2026-10-01", "day_to": "2026-11-15"})
        assert too_long.status_code == 200 and "1 sampai 31 hari" in too_long.text

        page2 = c.get("/exceptions", params={**week, "page": "2"}).text
        row = re.search(r'<tr class="exc-absent" data-employee="(\d+)">.*?</tr>', page2, re.S)
        assert row is not None
        day = re.search(r'name="day" value="(2026-10-\d\d)"', row.group(0)).group(1)  # type: ignore[union-attr]
        back = re.search(r'name="back" value="([^"]+)"', row.group(0)).group(1)  # type: ignore[union-attr]
        assert "page=2" in back
        r = c.post("/corrections", data={"csrf_token": csrf_of(page2), "employee_id": row.group(1), "day": day,
                                         "kind": "set_status", "status": "DL", "reason": "surat tugas 12/X",
                                         "back": back.replace("&amp;", "&")}, follow_redirects=False)
        assert r.status_code == 303 and "page=2" in r.headers["location"]
    engine = make_engine(web_env.settings.database_url)
    with session_scope(engine) as s:
        c_ = s.scalar(select(Correction).where(Correction.reason == "surat tugas 12/X"))
        assert c_ is not None and c_.employee_id == int(row.group(1)) and c_.day.isoformat() == day
    engine.dispose()


def test_an_operator_gets_their_offices_only(web_env: WebEnv) -> None:  # noqa: F811
    _absentees(web_env, 3)
    engine = make_engine(web_env.settings.database_url)
    with session_scope(engine) as s:
        opd2 = s.scalar(select(Site.id).where(Site.code == "OPD2"))
        other = Employee(id_number="198601012010011001", employment_type="pns", site_id=opd2, monthly_tpp=0,
                         name="Orang Lain")
        s.add(other)
        s.flush()
        off = s.scalar(select(Device).where(Device.serial == "SN-OFF"))
        s.add(PinMapping(employee_id=other.id, pin="77", pin_group="default"))
        s.add(RawPunch(device_id=off.id, source="zk_udp", pin="77", employee_id=other.id,
                       local_time=datetime(2026, 10, 5, 8, 30), tz="Asia/Jakarta",
                       utc_time=datetime(2026, 10, 5, 1, 30), state="check_in", verify="fingerprint",
                       raw={}, flags=0))
    engine.dispose()
    with TestClient(create_app(web_env.settings)) as c:  # someone who sees every office sees them
        login(c, USERS["reviewer"])
        assert "Orang Lain" in c.get("/exceptions", params={"day": "2026-10-05", "day_to": "2026-10-06"}).text
    with TestClient(create_app(web_env.settings)) as c:
        login(c, USERS["operator"])
        page = c.get("/exceptions", params={"day": "2026-10-05", "day_to": "2026-10-06"}).text
        assert "Absen 000" in page and "Orang Lain" not in page
        assert c.get("/exceptions", params={"site": "OPD2", "day": "2026-10-05",
                                            "day_to": "2026-10-06"}).status_code == 403


def test_the_status_choice_names_each_code_defaults_to_nothing_and_keeps_the_letter(web_env: WebEnv) -> None:  # noqa: F811
    with TestClient(create_app(web_env.settings)) as c:
        login(c, USERS["reviewer"])
        page = c.get("/exceptions", params={"site": "OPD1", "day": "2026-10-05", "lang": "en"}).text
        select_ = re.search(r'<select name="status" required>(.*?)</select>', page, re.S)
        assert select_ is not None
        options = re.findall(r'<option value="([^"]*)">([^<]*)</option>', select_.group(1))
        assert options[0] == ("", "— choose a status —")  # nothing chosen until the reviewer chooses
        named = dict(options)
        assert named["TK"].startswith("TK · Absent without valid reason") and "DL" in named
        row = re.search(r'<tr class="exc-absent" data-employee="(\d+)">', page)
        assert row is not None
        r = c.post("/corrections", data={"csrf_token": csrf_of(page), "employee_id": row.group(1),
                                         "day": "2026-10-05", "kind": "set_status", "status": "DL",
                                         "reason": "tugas luar", "letter": "800/123/BKPSDM"},
                   follow_redirects=False)
        assert r.status_code == 303
    engine = make_engine(web_env.settings.database_url)
    with session_scope(engine) as s:
        assert s.scalar(select(Correction.reason).where(Correction.status == "DL")) == \
            "tugas luar (surat: 800/123/BKPSDM)"
    engine.dispose()


def _drifted_terminal(env: WebEnv) -> int:
    """SN-DRIFT in OPD1, its clock off: Citra's check-ins of 7-9 October held (clock suspect)."""
    from hub.punch import PunchFlag
    from hub.store.models import utcnow

    engine = make_engine(env.settings.database_url)
    with session_scope(engine) as s:
        opd1 = s.scalar(select(Site.id).where(Site.code == "OPD1"))
        dev = Device(serial="SN-DRIFT", name="Gerbang", kind="zk-tcp", host="127.0.0.6", port=4370, site_id=opd1,
                     tz="Asia/Jakarta", capabilities={}, last_seen_at=utcnow(), last_clock_offset_s=900.0)
        s.add(dev)
        s.flush()
        citra = s.scalar(select(Employee).where(Employee.name == "Citra"))
        for day in (7, 8, 9):
            t = datetime(2026, 10, day, 7, 10)
            s.add(RawPunch(device_id=dev.id, source="zk_tcp", pin="3", employee_id=citra.id, local_time=t,
                           tz="Asia/Jakarta", utc_time=t.replace(hour=0), state="check_in", verify="fingerprint",
                           raw={}, flags=int(PunchFlag.CLOCK_SUSPECT)))
        dev_id = dev.id
    engine.dispose()
    return dev_id


def test_a_drifted_and_a_dead_terminal_are_decided_in_bulk(web_env: WebEnv) -> None:  # noqa: F811
    from hub.reconcile.models import NoDataDecision, PunchReview

    drift = _drifted_terminal(web_env)
    with TestClient(create_app(web_env.settings)) as c:
        login(c, USERS["reviewer"])
        week = {"day": "2026-10-05", "day_to": "2026-10-11", "site": "OPD1"}
        # one terminal: its held punches, day by day, and the days its data touches
        page = c.get("/exceptions", params={**week, "terminal": "SN-DRIFT"}).text
        held = re.findall(r'value="q\|([\d,]+)" class="pick"', page)
        assert len(held) == 3
        assert set(re.findall(r'data-terminal="([^"]+)"', page)) <= {f"dev:{drift}"}  # no other terminal's rows
        back = re.search(r'name="back" value="([^"]+)"', page).group(1).replace("&amp;", "&")  # type: ignore
        r = c.post("/exceptions/bulk", data={"csrf_token": csrf_of(page), "action": "accepted",
                                             "reason": "jam terminal disetel ulang", "letter": "BA 7/X",
                                             "item": [f"q|{h}" for h in held], "back": back},
                   follow_redirects=False)
        assert r.status_code == 303 and "terminal=SN-DRIFT" in r.headers["location"]
        assert "3 keputusan dicatat" in c.get(r.headers["location"]).text
        # the dead terminal's days of the week (no data), all judged at once
        week2 = {"day": "2026-10-12", "day_to": "2026-10-18", "site": "OPD1"}
        page = c.get("/exceptions", params={**week2, "kind": "no_data"}).text
        dead = re.findall(r'value="(n\|dev:\d+\|2026-10-\d\d)" class="pick"', page)
        assert len(dead) >= 5  # a working week of a dead terminal
        r = c.post("/exceptions/bulk", data={"csrf_token": csrf_of(page), "action": "present",
                                             "reason": "terminal mati, daftar hadir manual",
                                             "item": [*dead, f"q|{held[0]}"]}, follow_redirects=False)
        done = c.get(r.headers["location"], params={"lang": "en"}).text
        assert f"{len(dead)} decisions recorded; 1 rows did not fit that decision; 0 refused" in done
        assert c.post("/exceptions/bulk", data={"csrf_token": csrf_of(page), "action": "present",
                                                "reason": "x"}, follow_redirects=True).status_code == 200
    engine = make_engine(web_env.settings.database_url)
    with session_scope(engine) as s:
        reviews = list(s.scalars(select(PunchReview)))
        assert len(reviews) == 3 and {r.decision for r in reviews} == {"accepted"}
        assert all("BA 7/X" in r.reason for r in reviews)
        assert s.scalar(select(func.count()).select_from(NoDataDecision)) == len(dead)
    engine.dispose()
    # an operator of OPD1 cannot decide OPD2's terminal-day, even by hand-made form
    with TestClient(create_app(web_env.settings)) as c:
        csrf = login(c, USERS["operator"])
        off = _device_id(web_env, "SN-OFF")
        r = c.post("/exceptions/bulk", data={"csrf_token": csrf, "action": "present", "reason": "x",
                                             "item": [f"n|dev:{off}|2026-10-07"]}, follow_redirects=False)
        assert r.status_code == 403


def _device_id(env: WebEnv, serial: str) -> int:
    engine = make_engine(env.settings.database_url)
    with engine.connect() as conn:
        found = conn.scalar(select(Device.id).where(Device.serial == serial))
    engine.dispose()
    return int(found)


def test_the_range_through_the_api(web_env: WebEnv) -> None:  # noqa: F811
    _drifted_terminal(web_env)
    headers = {"Authorization": f"Bearer {web_env.token('reviewer')}"}
    with TestClient(create_app(web_env.settings)) as c:
        week = {"day": "2026-10-05", "day_to": "2026-10-11", "site": "OPD1"}
        rows = c.get("/api/exceptions", params=week, headers=headers).json()
        assert {"no_data", "quarantine", "absent"} <= {r["kind"] for r in rows}
        held = c.get("/api/exceptions", params={**week, "terminal": "SN-DRIFT", "kind": "quarantine"},
                     headers=headers).json()
        assert len(held) == 3 and all(len(r["punch_ids"]) == 1 for r in held)
        assert c.get("/api/exceptions", params={**week, "terminal": "NOPE"}, headers=headers).status_code == 404
        too_long = c.get("/api/exceptions", params={"day": "2026-10-01", "day_to": "2026-12-01"}, headers=headers)
        assert too_long.status_code == 422
    op = {"Authorization": f"Bearer {web_env.token('operator')}"}
    with TestClient(create_app(web_env.settings)) as c:
        assert c.get("/api/exceptions", params={"day": "2026-10-05", "site": "OPD2"}, headers=op).status_code == 403


def test_the_bulk_decision_through_the_api(web_env: WebEnv) -> None:  # noqa: F811
    """What the console's bulk action does, as one API call: the drifted terminal's held
    punches accepted and the dead terminal's days judged; an item outside the caller's
    offices refuses the whole batch; errors speak the client's Accept-Language."""
    from hub.reconcile.models import NoDataDecision, PunchReview

    _drifted_terminal(web_env)
    headers = {"Authorization": f"Bearer {web_env.token('reviewer')}"}
    with TestClient(create_app(web_env.settings)) as c:
        week = {"day": "2026-10-05", "day_to": "2026-10-11", "site": "OPD1"}
        held = c.get("/api/exceptions", params={**week, "terminal": "SN-DRIFT", "kind": "quarantine"},
                     headers=headers).json()
        dead = c.get("/api/exceptions", params={"day": "2026-10-12", "day_to": "2026-10-18", "site": "OPD1",
                                                "kind": "no_data"}, headers=headers).json()
        assert len(held) == 3 and len(dead) >= 5
        r = c.post("/api/exceptions/decisions", headers=headers, json={
            "action": "accepted", "reason": "jam terminal disetel ulang",
            "items": [{"punch_ids": h["punch_ids"]} for h in held] + [{"terminal": dead[0]["terminal"],
                                                                        "day": dead[0]["day"]}]})
        assert r.status_code == 200, r.text
        assert r.json() == {"done": 3, "skipped": 1, "refused": []}
        r = c.post("/api/exceptions/decisions", headers=headers, json={
            "action": "present", "reason": "terminal mati, daftar hadir manual",
            "items": [{"terminal": d["terminal"], "day": d["day"]} for d in dead]})
        assert r.json() == {"done": len(dead), "skipped": 0, "refused": []}
        empty = c.post("/api/exceptions/decisions", headers={**headers, "Accept-Language": "en-US,en;q=0.8"},
                       json={"action": "present", "reason": "x", "items": [{}]})
        assert empty.status_code == 422 and "neither punches nor a terminal-day" in empty.json()["detail"]
        kosong = c.post("/api/exceptions/decisions", headers=headers,
                        json={"action": "present", "reason": "x", "items": [{}]})
        assert "tanpa punch maupun terminal-hari" in kosong.json()["detail"]
    engine = make_engine(web_env.settings.database_url)
    with session_scope(engine) as s:
        assert len(list(s.scalars(select(PunchReview)))) == 3
        before = s.scalar(select(func.count()).select_from(NoDataDecision))
        assert before == len(dead)
    engine.dispose()
    op = {"Authorization": f"Bearer {web_env.token('operator')}", "Accept-Language": "en"}
    with TestClient(create_app(web_env.settings)) as c:
        off = _device_id(web_env, "SN-OFF")
        r = c.post("/api/exceptions/decisions", headers=op, json={
            "action": "absent", "reason": "x", "items": [{"terminal": dead[0]["terminal"], "day": "2026-10-19"},
                                                         {"terminal": f"dev:{off}", "day": "2026-10-07"}]})
        assert r.status_code == 403 and r.json()["detail"] == "outside your offices"
    engine = make_engine(web_env.settings.database_url)
    with session_scope(engine) as s:  # the in-scope item of the refused batch was not decided either
        assert s.scalar(select(func.count()).select_from(NoDataDecision)) == before
    engine.dispose()
