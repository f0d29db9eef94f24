"""The employees' app in headless Chromium at 390x844 (issue 19, item 6), against a real
uvicorn server on SQLite and PostgreSQL. The camera is Chromium's fake device playing a Y4M
made here from the fixture face photos (one person looking one way, then another: the head
turn the hub asks for); the location is overridden through the DevTools protocol. A check-in in the
office is accepted; another person's face and a punch outside every place are kept but held;
a punch taken offline is kept on the phone, then delivered once when the network returns
(sent by the page and the service worker at the same time); a leave request from the phone
is approved in the console and the app shows it. Screenshots: test-artifacts/mobile/."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path

import cv2
import numpy as np
import pytest
from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from hub.face import mobile_auth
from hub.face.enroll import enroll_analysis
from hub.face.models import MobileSelfie
from hub.face.settings import FaceSettings, set_face_settings
from hub.punch import PunchFlag
from hub.reconcile.models import LeaveEntry
from hub.store.db import make_engine
from hub.store.models import Employee, RawPunch, Site, Template
from hub.web.app import create_app
from tests.face_fixtures import FACES, analysed, bgr
from tests.test_web_browser import ARTIFACTS, CHROMEDRIVER, CHROMIUM, _login, _require_browser, browser  # noqa: F401
from tests.web_fixtures import USERS, LiveServer, WebEnv, web_env  # noqa: F401

pytestmark = pytest.mark.timeout(600)
OFFICE = (-6.9175, 107.6191)  # Kantor Dinas Kominfo (made up), fence 150 m
NEAR = (-6.9177, 107.6193)  # ~30 m
FAR = (-6.9175, 107.6291)  # ~1.1 km east
ANI, BUDI = "198001012005011001", "198001012005011002"
SHOTS = ARTIFACTS / "mobile"


def selfie_view(img: np.ndarray) -> np.ndarray:
    """The photo as a front camera sees it: the face filling a 640x480 frame."""
    import face_recognition

    top, right, bottom, left = face_recognition.face_locations(cv2.cvtColor(img, cv2.COLOR_BGR2RGB))[0]
    cx, cy, size = (left + right) // 2, (top + bottom) // 2, int((bottom - top) * 1.4)
    h, w = img.shape[:2]
    crop = img[max(0, cy - size // 2):min(h, cy + size // 2), max(0, cx - size * 2 // 3):min(w, cx + size * 2 // 3)]
    k = min(640 / crop.shape[1], 480 / crop.shape[0])
    small = cv2.resize(crop, (int(crop.shape[1] * k), int(crop.shape[0] * k)), interpolation=cv2.INTER_AREA)
    canvas = np.full((480, 640, 3), 90, np.uint8)
    y, x = (480 - small.shape[0]) // 2, (640 - small.shape[1]) // 2
    canvas[y:y + small.shape[0], x:x + small.shape[1]] = small
    return canvas


def turning(path: Path, before: np.ndarray, after: np.ndarray, fps: int = 10, light: int = 0) -> Path:
    """A looping clip for Chromium's fake camera (Y4M, I420): 0.8 s of `before`, then 0.8 s
    of `after`, a head turning (the photos are one person looking two ways). `light` brightens
    it a little: another phone's camera never gives the same bytes."""
    frames = [cv2.cvtColor(cv2.convertScaleAbs(selfie_view(img), beta=light), cv2.COLOR_BGR2YUV_I420).tobytes()
              for img in (before, after)]
    with path.open("wb") as f:
        f.write(f"YUV4MPEG2 W640 H480 F{fps}:1 Ip A1:1 C420jpeg\n".encode())
        for data in [frames[0]] * 8 + [frames[1]] * 8:
            f.write(b"FRAME\n" + data)
    return path


@contextmanager
def phone(video: Path, profile: Path, base: str, at: tuple[float, float]) -> Iterator[object]:
    """A phone: Chromium with its own profile (its app data survives a restart), a camera
    playing `video`, standing at `at`."""
    _require_browser()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    os.environ.setdefault("SE_OFFLINE", "true")
    opts = webdriver.ChromeOptions()
    opts.binary_location = str(CHROMIUM)
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream",
                f"--use-file-for-fake-video-capture={video}", f"--user-data-dir={profile}", "--window-size=390,844"):
        opts.add_argument(arg)
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=opts)
    driver.set_page_load_timeout(30)
    try:
        driver.execute_cdp_cmd("Browser.grantPermissions", {"origin": base, "permissions": ["geolocation",
                                                                                             "videoCapture"]})
        driver.execute_cdp_cmd("Emulation.setGeolocationOverride", {"latitude": at[0], "longitude": at[1],
                                                                     "accuracy": 12})
        driver.execute_cdp_cmd("Network.enable", {})
        # a 390x844 phone screen (a headless window is never narrower than 500 px)
        driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {"width": 390, "height": 844,
                                                                       "deviceScaleFactor": 2, "mobile": True})
        yield driver
    finally:
        driver.quit()


class App:
    def __init__(self, driver, base: str, backend: str) -> None:  # type: ignore[no-untyped-def]
        self.d, self.base, self.backend = driver, base, backend
        SHOTS.mkdir(parents=True, exist_ok=True)

    def el(self, css: str):  # type: ignore[no-untyped-def]
        from selenium.webdriver.common.by import By

        return self.d.find_element(By.CSS_SELECTOR, css)

    def until(self, script: str, timeout: float = 30) -> object:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = self.d.execute_script(script)
            if value:
                return value
            time.sleep(0.2)
        raise AssertionError(f"never true: {script}")

    def visible(self, screen: str) -> None:
        self.until(f"return !document.getElementById('{screen}').classList.contains('hidden')")

    def shot(self, name: str) -> None:
        path = SHOTS / f"{name}-{self.backend}.png"
        self.d.save_screenshot(str(path))
        assert path.stat().st_size > 5000
        inner = self.d.execute_script("return window.innerWidth")
        wide = self.d.execute_script("return document.documentElement.scrollWidth")
        assert inner <= 400 and wide <= inner + 1, f"{name}: {wide}px wide on a {inner}px phone"

    def open(self) -> None:
        self.d.get(self.base + "/m/")
        self.until("return window.HubApp && (document.querySelector('.screen:not(.hidden)') !== null)")

    def login(self, nip: str, code: str) -> None:
        self.visible("login")
        self.el("#nip").send_keys(nip)
        self.el("#code").send_keys(code)
        self.el("#login-go").click()
        self.visible("home")

    def punch(self) -> str:
        self.el("#start").click()
        self.visible("capture")
        self.until("return !document.getElementById('shoot').disabled")
        return str(self.el("#where").text)

    def shoot(self) -> str:
        self.el("#shoot").click()
        self.visible("result")
        return str(self.el("#result-lines").get_attribute("data-outcome"))


def _setup(env: WebEnv) -> dict[str, str]:
    engine = make_engine(env.settings.database_url)
    with Session(engine) as s:
        s.execute(delete(Template))  # the fixture's placeholders: real faces below
        s.execute(update(Site).where(Site.code == "OPD1").values(latitude=OFFICE[0], longitude=OFFICE[1],
                                                                  geofence_m=150))
        enroll_analysis(s, ANI, analysed("obama.jpg"), "admin1")
        enroll_analysis(s, BUDI, analysed("biden.jpg"), "admin1")
        codes = {nip: mobile_auth.issue(s, nip, "it1") for nip in (ANI, BUDI)}
        s.commit()
    engine.dispose()
    return codes


def _punches(env: WebEnv, nip: str) -> list[RawPunch]:
    engine = make_engine(env.settings.database_url)
    with Session(engine) as s:
        emp = s.scalar(select(Employee.id).where(Employee.id_number == nip))
        rows = list(s.scalars(select(RawPunch).where(RawPunch.employee_id == emp, RawPunch.source == "mobile")
                              .order_by(RawPunch.id)))
        s.expunge_all()
    engine.dispose()
    return rows


def test_the_phone_app_checks_in_holds_queues_and_asks_for_leave(browser, web_env: WebEnv,  # noqa: F811
                                                                  tmp_path: Path) -> None:
    backend = "postgresql" if web_env.settings.database_url.startswith("postgres") else "sqlite"
    codes = _setup(web_env)
    # The challenge is a head turn to the right: obama2.jpg looks left of obama.jpg (yaw
    # +0.20); Biden has one photo, so his turn is the photo and its mirror image (+0.12),
    # hence a lower turn threshold here (tests/test_mobile_identity.py keeps the real one).
    set_face_settings(FaceSettings(liveness_kinds="turn_right", liveness_turn_min=0.08))
    flip = cv2.flip
    videos = {"ani": turning(tmp_path / "ani.y4m", bgr("obama2.jpg"), bgr("obama.jpg")),
              # Ani again, another selfie (a mirror: a different photo to the replay check)
              "ani-again": turning(tmp_path / "ani2.y4m", flip(bgr("obama.jpg"), 1), flip(bgr("obama2.jpg"), 1)),
              "biden": turning(tmp_path / "biden.y4m", bgr("biden.jpg"), flip(bgr("biden.jpg"), 1)),
              "budi": turning(tmp_path / "budi.y4m", bgr("biden.jpg"), flip(bgr("biden.jpg"), 1), light=6)}
    ani, budi = tmp_path / "phone-ani", tmp_path / "phone-budi"
    try:
        with LiveServer(create_app(web_env.settings)) as live:
            # Ani, at the office: signs in with her code, checks in; accepted, with the distance
            with phone(videos["ani"], ani, live.url, NEAR) as d:
                app = App(d, live.url, backend)
                app.open()
                app.shot("login")
                app.el("#lang-en").click()  # English on request, Indonesian first
                app.until("return document.getElementById('login-go').textContent === 'Sign in'")
                app.el("#lang-id").click()
                app.until("return document.getElementById('login-go').textContent === 'Masuk'")
                app.login(ANI, codes[ANI])
                app.shot("home")
                where = app.punch()
                assert "dari Dinas Kominfo (batas 150 m)" in where and where.startswith("Anda ")
                app.shot("capture")
                assert app.shoot() == "accepted", app.el("#result-lines").text
                assert app.el("#result-title").text == "Presensi diterima"
                assert "Presensi " in app.el("#result-lines").text
                app.shot("accepted")
            first = _punches(web_env, ANI)
            assert len(first) == 1 and first[0].flags == 0 and first[0].raw["liveness"]["kind"] == "turn_right"

            # someone else's face on Ani's phone (still signed in after a restart): kept, held
            with phone(videos["biden"], ani, live.url, NEAR) as d:
                app = App(d, live.url, backend)
                app.open()
                app.visible("home")
                app.punch()
                assert app.shoot() == "held", app.el("#result-lines").text
                assert "wajah tidak cocok" in app.el("#result-lines").text
                app.shot("held-face")
            assert _punches(web_env, ANI)[-1].flags & PunchFlag.PHOTO_MISMATCH

            # Budi, a kilometre away: told so before the photo; kept, held, with what to do
            with phone(videos["budi"], budi, live.url, FAR) as d:
                app = App(d, live.url, backend)
                app.open()
                app.login(BUDI, codes[BUDI])
                where = app.punch()
                assert "di luar batas 150 m" in where and "km dari Dinas Kominfo" in where
                app.shot("outside")
                assert app.shoot() == "held", app.el("#result-lines").text
                assert "di luar semua lokasi" in app.el("#result-lines").text
                app.shot("held-outside")
            assert _punches(web_env, BUDI)[-1].flags == PunchFlag.OUTSIDE_GEOFENCE

            # Ani without signal: the punch is kept on the phone, then delivered once
            with phone(videos["ani-again"], ani, live.url, NEAR) as d:
                app = App(d, live.url, backend)
                app.open()
                app.visible("home")
                _wait_async(d, "HubQueue.get('kv', 'spare').then(s => !!s)")  # a spare challenge, kept
                d.execute_cdp_cmd("Network.emulateNetworkConditions", {"offline": True, "latency": 0,
                                                                        "downloadThroughput": -1,
                                                                        "uploadThroughput": -1})
                app.until("return !navigator.onLine")
                before = len(_punches(web_env, ANI))
                app.punch()
                assert app.shoot() == "queued"
                assert "disimpan terenkripsi di ponsel" in app.el("#result-lines").text
                app.shot("queued")
                stored = d.execute_async_script(
                    "const done = arguments[0]; HubQueue.all('queue').then(q => done(q.map(r => "
                    "[r.seq, r.sealed.byteLength, r.sealed instanceof ArrayBuffer])))")
                assert len(stored) == 1 and stored[0][1] > 10000 and stored[0][2]  # sealed bytes, not a form
                assert len(_punches(web_env, ANI)) == before
                # back online: the page and the service worker both send what waits
                d.execute_cdp_cmd("Network.emulateNetworkConditions", {"offline": False, "latency": 0,
                                                                        "downloadThroughput": -1,
                                                                        "uploadThroughput": -1})
                d.execute_script("navigator.serviceWorker.controller && navigator.serviceWorker.controller"
                                 ".postMessage('deliver'); HubApp.flush();")
                _wait_async(d, "HubQueue.all('queue').then(q => q.length === 0)", timeout=60)
                app.el("#done").click()
                app.visible("home")
                app.until("return document.getElementById('pending').classList.contains('hidden')")
                app.shot("delivered")
                answer = app.el("#refused").text
            after = _punches(web_env, ANI)
            assert len(after) == before + 1, (answer, [p.raw.get("capture_seq") for p in after])
            kept = after[-1]
            assert kept.raw["capture_seq"] == stored[0][0] and kept.flags == 0
            engine = make_engine(web_env.settings.database_url)
            with Session(engine) as s:
                assert s.scalar(select(func.count()).select_from(MobileSelfie).where(
                    MobileSelfie.punch_id == kept.id)) == 1
            engine.dispose()

            # Ani asks for sick leave with a photo of the letter; the verifier approves it
            with phone(videos["ani-again"], ani, live.url, NEAR) as d:
                app = App(d, live.url, backend)
                app.open()
                app.visible("home")
                app.el("#tab-requests").click()
                app.visible("requests")
                from selenium.webdriver.support.ui import Select

                app.until("return document.querySelectorAll('#req-type option').length > 1")
                Select(app.el("#req-type")).select_by_value("S")
                start = date.today() + timedelta(days=1)
                _date(d, "#req-start", start)
                _date(d, "#req-end", start + timedelta(days=1))
                app.el("#req-reason").send_keys("demam, surat dokter terlampir")
                app.el("#req-letter").send_keys(str(FACES / "obama2.jpg"))
                app.el("#req-send").click()
                app.until("return document.querySelector('#request-list .state-pending') !== null")
                app.shot("leave-asked")
            _login(browser, live.url, USERS["verifier"])
            browser.get(live.url + "/approvals")
            from selenium.webdriver.common.by import By

            row = browser.find_element(By.CSS_SELECTOR, "#leave-requests tr[data-request]")
            assert "demam" in row.text and "Ani" in row.text
            from tests.test_web_browser import _click

            _click(browser, row.find_element(By.CSS_SELECTOR, "button.approve-leave"))
            assert "disetujui" in browser.find_element(By.ID, "flash").text
            with phone(videos["ani-again"], ani, live.url, NEAR) as d:
                app = App(d, live.url, backend)
                app.open()
                app.visible("home")
                app.el("#tab-requests").click()
                app.until("return document.querySelector('#request-list .state-approved') !== null")
                assert "Disetujui (ver1)" in app.el("#request-list").text
                app.shot("leave-approved")
                app.el("#tab-month").click()
                app.until("return document.querySelectorAll('#month-days li').length > 0")
                app.shot("month")
            engine = make_engine(web_env.settings.database_url)
            with Session(engine) as s:
                assert s.scalar(select(LeaveEntry.approval).where(LeaveEntry.author == f"mobile:{ANI}")) == "approved"
            engine.dispose()
    finally:
        set_face_settings(None)


def _wait_async(driver, promise: str, timeout: float = 30) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if driver.execute_async_script(f"const done = arguments[0]; Promise.resolve({promise}).then(done, () => "
                                       "done(false))"):
            return
        time.sleep(0.3)
    raise AssertionError(f"never true: {promise}")


def _date(driver, css: str, day: date) -> None:  # type: ignore[no-untyped-def]
    driver.execute_script("const el = document.querySelector(arguments[0]); el.value = arguments[1]; "
                          "el.dispatchEvent(new Event('change'))", css, day.isoformat())
