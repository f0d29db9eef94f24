"""Each role's daily work in headless Chromium (issue 20, item 9), at a desktop's 1366x768 and
a phone's 390x844, against a real uvicorn server on SQLite and PostgreSQL: IT tests and
works a terminal and reads the job history; the admin imports the roster and pushes it;
an OPD operator files a correction and is refused another office; the verifier approves
it; a reviewer records duty travel with its scanned letter; BPKAD reads the all-OPD month;
the auditor reads one office's log. Around them the rarer work: a password reset, an API token
given and revoked, a clock set, a restart, a terminal disabled and removed, a photo without
a face refused, the recap files downloaded and the month locked. On the phone no page scrolls sideways and the buttons
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
from tests.face_fixtures import FACES  # (the face extra: CI always has it, so these steps always run)
from tests.test_web_browser import ARTIFACTS, _click, _login, browser  # noqa: F401  (fixture)
from tests.web_fixtures import APPROVER, USERS, LiveServer, WebEnv, web_env  # noqa: F401
from tests.zk_fixtures import fill

pytestmark = pytest.mark.timeout(600)
SIZES = {"desktop": (1366, 768), "phone": (390, 844)}
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
ROSTER = ("NIP,NAMA,STATUS,OPD,TPP\n199001012015011001,Dedi Kurniawan,PNS,OPD1,2500000\n"
          "198001012005011001,Ani,PNS,OPD1,3000000\n198001012005011002,Budi,PNS,OPD1,3000000\n"
          "198001012005011003,Citra,PNS,OPD1,3000000\n")


PAGES = {  # what each role opens in a day (the phone check walks them all)
    "it": ["/", "/devices/SIM-B1", "/devices/SIM-B1/edit", "/devices/new", "/terminals/pending", "/jobs", "/users",
           "/audit", "/punches"],
    "admin": ["/employees", "/employees/{Ani}", "/employees/import", "/sync?site=OPD1", "/rollout",
              "/rollout?site=OPD1", "/faces/reviews", "/punches"],
    "operator": ["/exceptions?site=OPD1&day=2026-10-05", "/exceptions?day=2026-10-05&day_to=2026-10-11",
                 "/leave", "/recap?site=OPD1&month=2026-10", "/recap/day?employee_id={Budi}&day=2026-10-05",
                 "/approvals", "/employees"],
    "verifier": ["/approvals", "/recap/overview?month=2026-10"],
    "bpkad": ["/recap/overview?month=2026-10", "/recap?site=OPD1&month=2026-10",
              "/recap/lock?site=OPD1&month=2026-10"],
    "auditor": ["/audit", "/audit?site=OPD1", "/jobs", "/"],
}


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

    def settle(self, path: str) -> None:
        """Reload `path` until its task has finished (the page says so while one runs)."""
        for _ in range(100):
            if not self.els("#busy"):
                return
            self.go(path)
        raise AssertionError(f"{path}: a task still runs")

    def fetch(self, url: str, token: str | None = None) -> tuple[int, str, int]:
        """GET `url` from the page (its cookies, or a bearer token): status, type, size."""
        return self.d.execute_async_script(
            "const [url, token, done] = arguments;"
            "fetch(url, {headers: token ? {Authorization: 'Bearer ' + token} : {}, credentials: token ? 'omit' : "
            "'same-origin'}).then(async r => done([r.status, r.headers.get('content-type') || '', "
            "(await r.arrayBuffer()).byteLength]))", url, token)

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
    srv = start_in_thread(term, reboot_s=0.5)
    engine = make_engine(web_env.settings.database_url)
    with session_scope(engine) as s:  # the terminal IT looks after; SN-ON (nothing behind it) is off
        s.execute(Device.__table__.update().where(Device.serial == "SN-ON").values(enabled=False))
        s.execute(delete(Template))  # the fixture's templates are placeholders, not terminal data
    engine.dispose()
    from hub.push import service

    engine = make_engine(web_env.settings.database_url)
    service.hold_unknown(engine, "ADMS-B9", "adms", {"last_addr": "10.1.2.3"})
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
            r.settle("/devices/SIM-B1")
            assert "12 catatan dibaca, 12 baru" in r.el("#task-table").text
            r.both("it", "terminal", visible="#task-pull")
            r.go("/")
            r.both("it", "fleet")
            r.go("/jobs")
            r.both("it", "jobs")
            r.go("/terminals/pending")  # an ADMS terminal that called before it was registered
            r.both("it", "pending", visible="#pending-ADMS-B9 button[value=approve]")
            Select(r.el("#pending-ADMS-B9 select[name=site]")).select_by_value("OPD1")
            r.click("#pending-ADMS-B9 button[value=approve]")
            assert "ADMS-B9" in r.el("#flash").text
            r.go("/devices/SIM-B1/edit")
            name = r.el("#name")
            name.clear()
            name.send_keys("Lobi Dinas Kominfo")
            r.both("it", "edit-terminal", visible="#save")
            r.click("#save")
            assert r.el("#flash").text == "Perubahan disimpan."
            r.go("/users")
            r.el("#new-username").send_keys("opd1b")
            Select(r.el("#new-role")).select_by_value("operator")
            r.el("#new-password").send_keys("Sandi-Kuat-2026!")
            Select(r.el("#new-offices")).select_by_value("OPD1")
            r.both("it", "users", visible="#create-user")
            r.click("#create-user")
            assert r.el("#user-opd1b")
            # ... resets that user's password, gives SIMPEG a token and takes it back
            r.d.execute_script("document.getElementById('more-opd1b').open = true")
            r.el("#user-opd1b .new-password").send_keys("Sandi-Baru-2026!")
            r.click("#user-opd1b .set-password")
            assert r.el("#flash").text == "Kata sandi opd1b diganti; sesinya berakhir."
            r.d.execute_script("document.getElementById('more-opd1b').open = true")
            r.el("#user-opd1b .token-name").send_keys("SIMPEG")
            r.click("#user-opd1b .new-token")
            token = r.el("#new-token code").text
            assert r.fetch("/api/me", token)[0] == 200
            r.click("#user-opd1b button.revoke")
            assert r.el("#flash").text == "1 token dicabut."
            assert r.fetch("/api/me", token)[0] == 401
            # ... sets the terminal's clock and restarts it (the unit drops the link, comes back)
            r.go("/devices/SIM-B1")
            r.click("#task-sync_time")
            r.settle("/devices/SIM-B1")
            assert "jam disetel" in r.el("#task-table").text
            r.el("#restart-confirm").click()
            r.click("#task-restart")
            r.settle("/devices/SIM-B1")
            assert "perintah mulai ulang terkirim" in r.el("#task-table").text
            # ... and takes the terminal approved by mistake out: disabled, then removed
            r.go("/devices/ADMS-B9")
            r.click("#toggle")
            assert r.el("#flash").text.startswith("Terminal dinonaktifkan")
            assert r.el("#device-state").text and r.el("#toggle").text == "Aktifkan"
            r.click("#remove")
            assert r.el("#flash").text == "Terminal dihapus." and "ADMS-B9" not in r.el("main").text

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
            r.settle("/sync?site=OPD1")
            assert "berhasil" in r.el('tr[data-serial="SIM-B1"] td.sync-state').text
            r.go("/rollout?site=OPD1")
            r.both("admin", "rollout")
            # a face from a photo, the gate's answer on it; the same face twice is reviewed
            r.go(f"/employees/{web_env.ids['emp:Budi']}")
            r.el("#photo").send_keys(str(FACES / "obama.jpg"))
            r.click("#face-upload")
            assert r.el("#face-answer").get_attribute("data-ok") == "1" and r.els("svg.face-shown rect")
            r.both("admin", "face-enrolled")
            r.go(f"/employees/{web_env.ids['emp:Ani']}")  # a photo without a face is refused, with the reason
            r.el("#photo").send_keys(str(FACES / "no_face.png"))
            r.click("#face-upload")
            assert r.el("#face-answer").get_attribute("data-ok") == "0" and "Foto ditolak" in r.el("#face-answer").text
            r.both("admin", "face-refused")
            r.go(f"/employees/{web_env.ids['emp:Citra']}")
            r.el("#photo").send_keys(str(FACES / "obama2.jpg"))
            r.click("#face-upload")
            assert "Budi" in r.el("#duplicates").text
            r.go("/faces/reviews")
            r.both("admin", "face-review", visible="button.confirm")
            r.el("section.review input[name=note]").send_keys("foto yang sama")
            r.click("button.confirm")
            assert r.el("#flash").text == "Keputusan dicatat."
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

            # ... and a dead terminal's week judged at once
            r.go("/exceptions?site=OPD1&day=2026-10-12&day_to=2026-10-18&kind=no_data")
            for box in r.els("input.pick"):
                box.click()
            Select(r.el("#bulk-action")).select_by_value("present")
            r.el("#bulk-reason").send_keys("terminal mati seminggu, daftar hadir manual")
            r.both("reviewer", "bulk", visible="#bulk-apply")
            r.click("#bulk-apply")
            assert "keputusan dicatat" in r.el("#flash").text

            # BPKAD: every OPD's month, with its charts
            _login(r.d, r.base, USERS["bpkad"])
            r.go("/recap/overview?month=2026-10")
            assert r.els("#chart-attendance svg rect") and r.el('tr[data-office="OPD1"]')
            r.both("bpkad", "overview")
            r.go("/recap?site=OPD1&month=2026-10")
            r.both("bpkad", "recap")
            for link, kind in (("#csv", "text/csv"), ("#xlsx", "spreadsheetml"), ("#pdf", "application/pdf")):
                status, ctype, size = r.fetch(r.el(link).get_attribute("href"))
                assert status == 200 and kind in ctype and size > 100, (link, status, ctype, size)
            r.go("/recap/lock?site=OPD1&month=2026-10")  # the figures shown are the figures frozen
            assert len(r.el("#preview-code").text) == 16
            r.el("#lock-reason").send_keys("rekap TPP Oktober")
            r.both("bpkad", "lock", visible="#confirm-lock")
            r.click("#confirm-lock")
            assert r.el("#flash").text == "Periode terkunci."
            r.go("/recap?site=OPD1&month=2026-10")
            assert "Periode terkunci." in r.el("#lock-state").text

            # auditor: one office's log
            _login(r.d, r.base, USERS["auditor"])
            r.go("/audit?site=OPD1")
            text = r.el("#audit").text
            assert "menyetujui koreksi" in text and "membuat pengguna" not in text
            r.both("auditor", "audit")

            # every page each role opens, on the phone: nothing scrolls sideways
            r.d.set_window_size(*SIZES["phone"])
            for role, paths in PAGES.items():
                _login(r.d, r.base, USERS.get(role, role))
                for path in paths:
                    r.go(path.format(**{k[4:]: v for k, v in web_env.ids.items() if k.startswith("emp:")}))
                    inner = r.d.execute_script("return window.innerWidth")
                    wide = r.d.execute_script("return document.documentElement.scrollWidth")
                    assert wide <= inner + 1, f"{role} {path}: {wide}px on a {inner}px phone"
            r.d.set_window_size(*SIZES["desktop"])
    finally:
        srv.stop()
