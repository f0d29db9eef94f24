"""No page shows UTC times or internal codes (issue 20, item 7): every console page, opened by
the role that uses it, in both languages, is read as a person reads it (text, not markup)
and scanned for the codes the store keeps and for UTC; times carry the zone people know."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from hub.push import service
from hub.store.db import make_engine
from hub.store.models import Employee
from hub.web.app import create_app
from tests.web_fixtures import USERS, WebEnv, login, web_env  # noqa: F401

# Codes of the store that must never reach a reader: states, verify modes, terminal kinds,
# sources, correction kinds, lower-case employment types.
CODES = re.compile(r"\b(check_in|check_out|break_out|break_in|gps_selfie|set_status|add_punch|void_punch|"
                   r"zk-tcp|zk-udp|zk-serial|zk-auto|zk_tcp|zk_udp|zk_serial|pns|pppk|cpns|"
                   r"clock_suspect|unknown_pin|photo_mismatch|out_of_range)\b")
UTC = re.compile(r"\bUTC\b")


class _Text(HTMLParser):
    """The words a reader sees: text outside tags, scripts and styles (and option labels)."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag in ("script", "style"):
            self._skip += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style"):
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def visible(html: str) -> str:
    p = _Text()
    p.feed(html)
    return " ".join(p.parts)


def _pages(env: WebEnv) -> dict[str, list[str]]:
    engine = make_engine(env.settings.database_url)
    with engine.connect() as conn:
        ani = conn.scalar(select(Employee.id).where(Employee.name == "Ani"))
    engine.dispose()
    return {
        "it": ["/", "/devices/SN-ON", "/devices/SN-OFF", "/devices/new", "/devices/SN-ON/edit", "/punches",
               "/terminals/pending", "/users", "/audit", "/jobs"],
        "admin": ["/employees", f"/employees/{ani}", "/punches?flag=clock_suspect", "/employees/import",
                  "/rollout?site=OPD1", "/sync?site=OPD1", "/faces/reviews"],
        "reviewer": ["/exceptions?site=OPD1&day=2026-10-05", "/leave", "/exceptions?day=2026-10-05&day_to=2026-10-09",
                     "/approvals", "/recap?site=OPD1&month=2026-10",
                     f"/recap/day?employee_id={ani}&day=2026-10-05", "/punches"],
        "operator": ["/exceptions?site=OPD1&day=2026-10-05", "/employees"],
        "bpkad": ["/recap/overview?month=2026-10"],
    }


@pytest.mark.parametrize("lang", ["id", "en"])
def test_no_page_shows_utc_or_a_code(web_env: WebEnv, lang: str) -> None:  # noqa: F811
    engine = make_engine(web_env.settings.database_url)
    service.hold_unknown(engine, "ADMS-W1", "adms", {"last_addr": "10.1.2.3"})
    engine.dispose()
    app = create_app(web_env.settings)
    seen_zone = 0
    for role, paths in _pages(web_env).items():
        with TestClient(app) as c:
            login(c, USERS[role])
            # a correction pending, so the approvals and exceptions pages show one
            if role == "reviewer":
                page = c.get("/exceptions", params={"site": "OPD1", "day": "2026-10-05"}).text
                csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
                c.post("/corrections", data={"csrf_token": csrf, "employee_id": re.search(
                    r'data-employee="(\d+)"', page).group(1), "day": "2026-10-05",  # type: ignore[union-attr]
                    "kind": "add_punch", "state": "check_out", "time": "16:00", "reason": "lupa"})
            for path in paths:
                r = c.get(path + ("&" if "?" in path else "?") + f"lang={lang}")
                assert r.status_code == 200, (role, path, r.status_code)
                text = visible(r.text)
                assert not UTC.search(text), (role, path, UTC.search(text))
                leak = CODES.search(text)
                assert leak is None, (role, path, text[max(0, leak.start() - 80):leak.end() + 80])
                seen_zone += bool(re.search(r"\d{2}:\d{2}(:\d{2})? WIB\b", text))
    assert seen_zone >= 6  # times are shown, and in the zone people know


def test_the_words_follow_the_language(web_env: WebEnv) -> None:  # noqa: F811
    with TestClient(create_app(web_env.settings)) as c:
        login(c, USERS["it"])
        punches_id = visible(c.get("/punches", params={"lang": "id"}).text)
        punches_en = visible(c.get("/punches", params={"lang": "en"}).text)
        assert "Datang" in punches_id and "Sidik jari" in punches_id and "jam diragukan" in punches_id
        assert "Check-in" in punches_en and "clock suspect" in punches_en
        device = visible(c.get("/devices/SN-ON", params={"lang": "en"}).text)
        assert "ZK (TCP)" in device and "ZK pull (TCP)" in device
