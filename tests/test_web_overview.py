"""BPKAD's month across every OPD (issue 20, item 5): per office the attendance rate,
deductions, days still in doubt, pending corrections and lock state, and charts drawn on
the server as SVG (no script, nothing from a CDN). Every figure adds up the one recap."""

from __future__ import annotations

import re
from xml.etree import ElementTree

from fastapi.testclient import TestClient

from hub.reconcile.overview import month_overview
from hub.reconcile.period import month_figures
from hub.store.db import make_engine, session_scope
from hub.web.app import create_app
from tests.web_fixtures import USERS, WebEnv, login, web_env  # noqa: F401


def test_overview_adds_up_the_recap(web_env: WebEnv) -> None:  # noqa: F811
    engine = make_engine(web_env.settings.database_url)
    with session_scope(engine) as s:
        ov = month_overview(s, "2026-10")
        fig = month_figures(s, "2026-10", None)
    engine.dispose()
    by_name = {o.name: o for o in ov.offices}
    rows = fig.rows
    assert sum(o.employees for o in ov.offices) == len(rows) > 0
    for o in ov.offices:
        mine = [r for r in rows if r["opd"] == o.name]
        assert o.present_days == sum(r["hadir"] for r in mine)
        assert o.working_days == sum(r["hari_kerja"] for r in mine)
        assert o.deduction_rp == sum(r["potongan_rp"] for r in mine)
        assert o.absent_days == sum(r["TK"] for r in mine)
        # the per-day series counts the same days the recap's "hadir" column counts
        worked = [v for v in o.daily.values() if v is not None]
        assert (len(worked) > 0) == (o.working_days > 0)
    assert ov.sha256 == fig.sha256
    assert set(by_name) >= {r["opd"] for r in rows}


def test_bpkad_sees_every_opd_with_charts(web_env: WebEnv) -> None:  # noqa: F811
    with TestClient(create_app(web_env.settings)) as c:
        login(c, USERS["bpkad"])
        r = c.get("/recap/overview", params={"month": "2026-10"})
        assert r.status_code == 200
        page = r.text
        offices = re.findall(r'data-office="([^"]*)"', page)
        assert {"OPD1", "OPD2"} <= set(offices)
        assert 'type="month"' in page and 'value="2026-10"' in page  # a month picker, not a free-text box
        for chart in ("chart-attendance", "chart-late", "chart-terminals"):
            svg = page.split(f'id="{chart}">', 1)[1].split("</div>", 1)[0]
            ElementTree.fromstring(svg)  # well-formed SVG, drawn on the server
            assert "<script" not in svg
        heat = page.split('id="chart-attendance">', 1)[1].split("</div>", 1)[0]
        assert heat.count("<rect") >= 31 * 2  # a cell per office per day
        assert "<script" not in page and "cdn" not in page.lower()
        en = c.get("/recap/overview", params={"month": "2026-10", "lang": "en"}).text
        assert "Share present per OPD per day" in en and "Late arrivals by time of day" in en
        bad = c.get("/recap/overview", params={"month": "1900-01"})
        assert bad.status_code == 422
    headers = {"Authorization": f"Bearer {web_env.token('bpkad')}"}
    with TestClient(create_app(web_env.settings)) as c:
        body = c.get("/api/recap/overview", params={"month": "2026-10"}, headers=headers).json()
        assert {o["code"] for o in body["offices"]} >= {"OPD1", "OPD2"} and len(body["sha256"]) == 64


def test_an_operator_sees_only_their_office(web_env: WebEnv) -> None:  # noqa: F811
    with TestClient(create_app(web_env.settings)) as c:
        login(c, USERS["operator"])
        page = c.get("/recap/overview", params={"month": "2026-10"}).text
        assert re.findall(r'data-office="([^"]*)"', page) == ["OPD1"]


def test_recap_days_have_names_and_weekends_are_shaded(web_env: WebEnv) -> None:  # noqa: F811
    with TestClient(create_app(web_env.settings)) as c:
        login(c, USERS["reviewer"])
        page = c.get("/recap", params={"site": "OPD1", "month": "2026-10"}).text
        # 1 October 2026 is a Thursday; the 3rd and 4th are the weekend
        heads = re.findall(r'<th class="day( weekend)?">(\d+)<br><small>(\w+)</small>', page)
        assert heads[0] == ("", "1", "Kam") and heads[2] == (" weekend", "3", "Sab") and len(heads) == 31
        assert 'table id="recap" class="frozen"' in page and 'type="month"' in page
        en = c.get("/recap", params={"site": "OPD1", "month": "2026-10", "lang": "en"}).text
        assert "<small>Thu</small>" in en
