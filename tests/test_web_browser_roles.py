"""Each role's daily work in headless Chromium (issue 20, item 9), at a desktop's 1366x768 and
a phone's 390x844, against a real uvicorn server on SQLite and PostgreSQL: IT tests and
works a terminal and reads the job history; the admin imports the roster and pushes it;
an OPD operator files a correction and is refused another office; the verifier approves
it; a reviewer records duty travel with its scanned letter; BPKAD reads the all-OPD month;
the auditor reads one office's log. On the phone no page scrolls sideways and the buttons
of the work queues are in view. Screenshots go to test-artifacts/roles/."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import delete

from hub.simulator.zk.server import start_in_thread
from hub.simulator.zk.terminal import Terminal
from hub.store.db import make_engine, session_scope
from hub.store.models import Device, Template
from hub.web.app import create_app
from tests.test_web_browser import ARTIFACTS, _click, _login, browser  # noqa: F401  (fixture)
from tests.web_fixtures import APPROVER, USERS, LiveServer, WebEnv, web_env  # noqa: F401
from tests.zk_fixtures import fill

pytestmark = pytest.mark.timeout(600)
SIZES = {"desktop": (1366, 768), "phone": (390, 844)}
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
ROSTER = ("NIP,NAMA,STATUS,OPD,TPP\n199001012015011001,Dedi Kurniawan,PNS,OPD1,2500000\n"
          "198001012005011001,Ani,PNS,OPD1,3000000\n198001012005011002,Budi,PNS,OPD1,3000000\n"
          "198001012005011003,Citra,PNS,OPD1,3000000\n")


class Roles:
    """The browser, the server and what each step leaves behind (screenshots, checks)."""

    def __init__(self, driver, base: str, backend: str, tmp: Path) -> None:  # type: ignore[no-untyped-def]
        self.d, self.base, self.backend, self.tmp = driver, base, backend, tmp
        self.dir = ARTIFACTS / "roles"
        self.dir.mkdir(parents=True, exist_ok=True)

    def go(self, path: str) -> None:
        from selenium.webdriver.support.ui import WebDriverWait

        self.d.get(self.base + path)
        WebDriverWait(self.d, 15).until(lambda drv: drv.execute_script("return document.readyState") == "complete")

    def el(self, css: str):  # type: ignore[no-untyped-def]
        from selenium.webdriver.common.by import By

        return self.d.find_element(By.CSS_SELECTOR, css)

    def els(self, css: str) -> list:
        from selenium.webdriver.common.by import By

        return self.d.find_elements(By.CSS_SELECTOR, css)

    def click(self, css: str) -> None:
        _click(self.d, self.el(css))

    def both(self, role: str, name: str, visible: str | None = None) -> None:
        """Screenshots at both sizes; on the phone the page must not scroll sideways, and
        `visible` (a button of the page's work) must be within the screen."""
        for size, (w, h) in SIZES.items():
            self.d.set_window_size(w, h)
            self.d.execute_script("window.scrollTo(0, 0)")
            path = self.dir / f"{role}-{name}-{size}-{self.backend}.png"
            self.d.save_screenshot(str(path))
            assert path.stat().st_size > 5000, path
            if size == "phone":
                inner = self.d.execute_script("return window.innerWidth")
                wide = self.d.execute_script("return document.documentElement.scrollWidth")
                assert wide <= inner + 1, f"{role}/{name}: the page is {wide}px wide on a {inner}px phone"
                if visible:
                    box = self.d.execute_script("const r = arguments[0].getBoundingClientRect(); "
                                                "return [r.left, r.right];", self.el(visible))
                    assert box[0] >= 0 and box[1] <= inner + 1, f"{role}/{name}: {visible} is off-screen {box}"
        self.d.set_window_size(*SIZES["desktop"])


def test_each_role_does_its_daily_work(browser, web_env: WebEnv, tmp_path: Path) -> None:  # noqa: F811
    from selenium.webdriver.support.ui import Select

    backend = "postgresql" if web_env.settings.database_url.startswith("postgres") else "sqlite"
    term = Terminal.create(tmp_path / "sim.sqlite3", "tft", serial="SIM-B1")
    fill(term, users=0, records=0)
    term.bulk_punch([("1", datetime(2026, 10, 20, 7, 0) + timedelta(minutes=i), i % 2, 1) for i in range(12)])
    srv = start_in_thread(term)
    engine = make_engine(web_env.settings.database_url)
    with session_scope(engine) as s:  # the terminal IT looks after; SN-ON (nothing behind it) is off
        s.execute(Device.__table__.update().where(Device.serial == "SN-ON").values(enabled=False))
        s.execute(delete(Template))  # the fixture's templates are placeholders, not terminal data
    engine.dispose()
    roster = tmp_path / "simpeg.csv"
    roster.write_text(ROSTER)
    letter = tmp_path / "surat-tugas.pdf"
    letter.write_bytes(PDF)
    try:
        with LiveServer(create_app(web_env.settings)) as live:
            r = Roles(browser, live.url, backend, tmp_path)

            # IT: register the terminal after testing it, pull it now, read the job history
            _login(r.d, r.base, USERS["it"])
            r.go("/devices/new")
            r.el("#serial").send_keys("SIM-B1")
            r.el("#host").send_keys("127.0.0.1")
            r.el("#port").send_keys(str(srv.port))
            Select(r.el("#site")).select_by_value("OPD1")
            r.click("#test")
            assert "nomor seri SIM-B1" in r.el("#probe").text
            r.both("it", "test-connection")
            r.click("#save")
            r.click("#task-pull")
            for _ in range(100):
                if not r.els("#busy"):
                    break
                r.go("/devices/SIM-B1")
            assert "12 catatan dibaca, 12 baru" in r.el("#task-table").text
            r.both("it", "terminal", visible="#task-pull")
            r.go("/")
            r.both("it", "fleet")
            r.go("/jobs")
            r.both("it", "jobs")

            # admin: import the roster (preview, then apply), push it to the terminal, readiness
            _login(r.d, r.base, USERS["admin"])
            r.go("/employees/import")
            r.el("#file").send_keys(str(roster))
            r.click("#preview")
            assert "1 pegawai baru" in r.el("#summary").text
            r.both("admin", "import-preview", visible="#apply")
            r.click("#apply")
            assert "Roster diimpor: 1 baru" in r.el("#flash").text
            r.go("/sync?site=OPD1")
            r.both("admin", "sync-plan", visible="#apply")
            r.click("#apply")
            for _ in range(100):
                if not r.els("#busy"):
                    break
                r.go("/sync?site=OPD1")
            assert "berhasil" in r.el('tr[data-serial="SIM-B1"] td.sync-state').text
            r.go("/rollout?site=OPD1")
            r.both("admin", "rollout")
            assert sorted(u.name for u in term.users()) == ["Ani", "Budi", "Citra", "Dedi Kurniawan"]

            # OPD operator: a correction for Budi's missing check-out; another office is refused
            _login(r.d, r.base, USERS["operator"])
            r.go("/exceptions?site=OPD1&day=2026-10-05")
            row = r.el("tr.exc-missing_out")
            r.both("operator", "exceptions", visible="tr.exc-missing_out button[type=submit]")
            row = r.el("tr.exc-missing_out")
            from selenium.webdriver.common.by import By

            row.find_element(By.NAME, "reason").send_keys("terminal mati saat jam pulang")
            _click(r.d, row.find_element(By.CSS_SELECTOR, "button[type=submit]"))
            assert r.el("#flash").text == "Koreksi diusulkan."
            r.go("/recap?site=OPD2&month=2026-10")
            assert "di luar cakupan" in r.el(".error").text
            r.both("operator", "refused")

            # verifier: approves it, with the button in view on the phone
            _login(r.d, r.base, USERS["verifier"])
            r.go("/approvals")
            r.both("verifier", "approvals", visible="button.approve")
            r.click("button.approve")
            assert r.el("#flash").text == "Koreksi diputuskan."

            # reviewer: duty travel for Citra with the scanned letter
            _login(r.d, r.base, APPROVER)
            r.go("/leave")
            r.el("#nip").send_keys("198001012005011003")
            Select(r.el("#type")).select_by_value("DL")
            r.el("#start").send_keys("10/12/2026")
            r.el("#end").send_keys("10/14/2026")
            r.el("#reference").send_keys("090/7/Diskominfo")
            r.el("#scan").send_keys(str(letter))
            r.both("reviewer", "leave", visible="#save")
            r.click("#save")
            assert "dengan pindaian surat" in r.el("#flash").text
            assert "surat-tugas.pdf" in r.el("#leave").text

            # BPKAD: every OPD's month, with its charts
            _login(r.d, r.base, USERS["bpkad"])
            r.go("/recap/overview?month=2026-10")
            assert r.els("#chart-attendance svg rect") and r.el('tr[data-office="OPD1"]')
            r.both("bpkad", "overview")
            r.go("/recap?site=OPD1&month=2026-10")
            r.both("bpkad", "recap")

            # auditor: one office's log
            _login(r.d, r.base, USERS["auditor"])
            r.go("/audit?site=OPD1")
            text = r.el("#audit").text
            assert "menyetujui koreksi" in text and "membuat pengguna" not in text
            r.both("auditor", "audit")
    finally:
        srv.stop()
