"""Employee search at a Pemda's size (issue 20, item 3): among 7,000 employees, part of a
name (any order, any case) or the start of a NIP finds them on the first page; the pager
numbers its pages and keeps the search; the page size can be chosen; the API searches alike."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy import insert, select

from hub.store.db import make_engine, session_scope
from hub.store.models import Employee, Site
from hub.web.app import create_app
from tests.web_fixtures import USERS, WebEnv, login, web_env  # noqa: F401

FIRST = ("Agus", "Budi", "Citra", "Dewi", "Eko", "Fitri", "Gita", "Hadi", "Indah", "Joko")
LAST = ("Santoso", "Wibowo", "Lestari", "Saputra", "Hidayat", "Kusuma", "Rahayu", "Pratama", "Nugroho", "Siregar")


def _seven_thousand(env: WebEnv) -> None:
    engine = make_engine(env.settings.database_url)
    with session_scope(engine) as s:
        opd2 = s.scalar(select(Site.id).where(Site.code == "OPD2"))
        rows = [{"id_number": f"1990{n:014d}", "employment_type": "pns", "site_id": opd2, "monthly_tpp": 0,
                 "name": f"{FIRST[n % 10]} {LAST[(n // 10) % 10]} {n:04d}", "active": True}
                for n in range(7000)]
        rows[4321]["name"] = "Raden Ayu Sekar Kinanti"
        s.execute(insert(Employee), rows)
    engine.dispose()


def test_part_of_a_name_finds_one_among_seven_thousand_in_one_page_load(web_env: WebEnv) -> None:  # noqa: F811
    _seven_thousand(web_env)
    with TestClient(create_app(web_env.settings)) as c:
        login(c, USERS["admin"])
        page = c.get("/employees", params={"q": "sekar KIN"}).text  # two parts, another case
        names = re.findall(r"<td>([^<]*Kinanti[^<]*)</td>", page)
        assert names == ["Raden Ayu Sekar Kinanti"] and "(1)" in page
        page = c.get("/employees", params={"q": "199000000000004321"}).text  # a NIP's start
        assert "Raden Ayu Sekar Kinanti" in page
        page = c.get("/employees", params={"q": "dewi hidayat"}).text
        assert "(70)" in page  # Dewi x Hidayat: 70 of them, on 2 pages of 50
        assert re.search(r'href="\?[^"]*q=dewi\+hidayat[^"]*&page=2"', page)  # the pager keeps the search
        page = c.get("/employees", params={"q": "dewi hidayat", "size": "100"}).text
        assert "/ 1 (70)" in page
        everyone = c.get("/employees").text
        assert "/ 141 (7003)" in everyone  # 7,000 + the 3 of the fixture, 50 a page
        assert ">141</a>" in everyone and ">2</a>" in everyone and "…" in everyone  # numbered, not prev/next only
        assert c.get("/employees", params={"q": "%"}).text.count("<tr>") <= 2  # a wildcard is a character
        h = {"Authorization": f"Bearer {web_env.token('admin')}"}
        found = c.get("/api/employees", headers=h, params={"q": "kinanti"}).json()
        assert found["total"] == 1 and found["items"][0]["name"] == "Raden Ayu Sekar Kinanti"
