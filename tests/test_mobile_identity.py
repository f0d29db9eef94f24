"""Mobile punch identity (issue 21 item 6), over real HTTP with real face photos: a
credential per employee bound to one phone, a movement challenge answered by a burst of
frames (a held photo is refused), replays recognised by the photo's look and capture time,
and a different person's face held for a reviewer instead of counted. SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import cv2
import httpx
import pytest
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from hub.face import mobile_auth
from hub.face.models import MobileChallenge, MobileCredential, MobileSelfie
from hub.face.settings import FaceSettings, set_face_settings
from hub.reconcile.daily import compute_period
from hub.store.models import AuditLog, RawPunch
from tests.face_fixtures import NIP_BIDEN, NIP_OBAMA, bgr, closed_eyes, held_photo, jpeg
from tests.test_mobile_punch import fields, office, server  # noqa: F401 - fixtures

OBAMA2, OBAMA = jpeg(bgr("obama2.jpg")), jpeg(bgr("obama.jpg"))
TURN_RIGHT = [OBAMA2, OBAMA, OBAMA]  # obama2 looks a little left of obama.jpg: the nose moves right


def live(kinds: str = "turn_right", **over: object) -> None:
    set_face_settings(FaceSettings(liveness_kinds=kinds, **over))  # type: ignore[arg-type]


@pytest.fixture(autouse=True)
def liveness_on() -> Iterator[None]:
    live()
    yield
    set_face_settings(None)


def issue(engine, nip: str = NIP_OBAMA) -> str:  # type: ignore[no-untyped-def]
    with Session(engine) as s:
        code = mobile_auth.issue(s, nip, "it:test")
        s.commit()
    return code


def login(base: str, code: str, phone: str = "phone-A-0123456789", nip: str = NIP_OBAMA) -> httpx.Response:
    return httpx.post(f"{base}/api/mobile/login", data={"nip": nip, "code": code, "device_key": phone}, timeout=30)


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def challenge(base: str, token: str) -> dict:
    r = httpx.get(f"{base}/api/mobile/challenge", headers=auth(token), timeout=30)
    assert r.status_code == 200, r.text
    return r.json()


def punch(base: str, token: str, selfie: bytes, frames: list[bytes], challenge_id: str | None = "new",
          **over: object) -> httpx.Response:
    if challenge_id == "new":
        challenge_id = challenge(base, token)["challenge_id"]
    files = [("selfie", ("s.jpg", selfie, "image/jpeg"))] + [
        ("frames", (f"f{i}.jpg", f, "image/jpeg")) for i, f in enumerate(frames)]
    data = fields(**over)
    if challenge_id:
        data["challenge_id"] = challenge_id
    return httpx.post(f"{base}/api/mobile/punch", data=data, files=files, headers=auth(token), timeout=60)


def code_of(r: httpx.Response) -> str:
    return r.json()["error"]["code"]


def punches(engine) -> int:  # type: ignore[no-untyped-def]
    with Session(engine) as s:
        return s.scalar(select(func.count()).select_from(RawPunch)) or 0


def test_a_credential_binds_one_phone(server, office, engine) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    code = issue(engine)
    first = login(server, code)
    assert first.status_code == 200, first.text
    token = first.json()["token"]
    assert login(server, code).status_code == 200  # the same phone signs in again
    other = login(server, code, phone="phone-B-0123456789")
    assert other.status_code == 403 and code_of(other) == "other_phone" and "IT" in other.json()["error"]["message"]
    # wrong codes lock the credential; then even the right one waits
    for _ in range(5):
        assert code_of(login(server, "AAAA-BBBB-CCCC")) == "login_failed"
    locked = login(server, code)
    assert locked.status_code == 429 and code_of(locked) == "locked"
    # an unknown NIP gets the same answer as a wrong code (NIPs cannot be probed)
    r = login(server, code, nip="000000000000000000")
    assert r.status_code == 401 and code_of(r) == "login_failed"
    # IT resets: a new code, the old phone's session ends, a new phone binds
    new_code = issue(engine)
    assert httpx.get(f"{server}/api/mobile/challenge", headers=auth(token), timeout=30).status_code == 401
    assert login(server, new_code, phone="phone-B-0123456789").status_code == 200
    with Session(engine) as s:
        actions = [a for (a,) in s.execute(select(AuditLog.action).where(AuditLog.action.like("mobile.%")))]
        assert actions.count("mobile.login.failed") == 5 and "mobile.other_phone" in actions
        assert actions.count("mobile.credential.issue") == 2 and actions.count("mobile.bound") == 2


def test_no_token_no_punch_and_never_for_another_nip(server, office, engine) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    r = httpx.post(f"{server}/api/mobile/punch", data=fields(), headers=auth("staff-api-token"), timeout=30,
                   files={"selfie": ("s.jpg", OBAMA2, "image/jpeg")})
    assert r.status_code == 401 and code_of(r) == "not_signed_in"
    token = login(server, issue(engine)).json()["token"]
    r = punch(server, token, OBAMA2, TURN_RIGHT, nip=NIP_BIDEN)
    assert r.status_code == 403 and code_of(r) == "nip_mismatch"
    assert punches(engine) == 0


def test_a_turn_is_seen_and_a_held_photo_is_refused(server, office, engine) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    token = login(server, issue(engine)).json()["token"]
    ch = challenge(server, token)
    assert ch["kind"] == "turn_right" and "kanan" in ch["ask"] and ch["frames_min"] == 3
    before = punches(engine)
    held = punch(server, token, OBAMA2, held_photo("obama2.jpg"), ch["challenge_id"])
    assert held.status_code == 422 and code_of(held) == "liveness_failed", held.text
    assert "foto dari foto" in held.json()["error"]["message"] and punches(engine) == before
    # the challenge was spent by that attempt
    again = punch(server, token, OBAMA2, TURN_RIGHT, ch["challenge_id"])
    assert code_of(again) == "challenge_spent"
    # someone else in the burst
    other = punch(server, token, OBAMA2, [OBAMA2, jpeg(bgr("biden.jpg")), OBAMA])
    assert code_of(other) == "liveness_other_face"
    assert code_of(punch(server, token, OBAMA2, TURN_RIGHT, challenge_id=None)) == "bad_challenge"
    assert code_of(punch(server, token, OBAMA2, [OBAMA2])) == "liveness_frames"
    ok = punch(server, token, OBAMA2, TURN_RIGHT)
    assert ok.status_code == 201, ok.text
    with Session(engine) as s:
        row = s.get(RawPunch, ok.json()["punch_id"])
        assert row.raw["liveness"]["kind"] == "turn_right" and row.raw["liveness"]["measure"] >= 0.12


def test_a_blink_is_seen(server, office, engine) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    live("blink")
    token = login(server, issue(engine)).json()["token"]
    assert code_of(punch(server, token, OBAMA2, held_photo("obama2.jpg"))) == "liveness_failed"
    r = punch(server, token, OBAMA2, [OBAMA2, closed_eyes("obama2.jpg"), OBAMA2])
    assert r.status_code == 201, r.text


def test_a_challenge_is_the_phones_own(server, office, engine) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    a = login(server, issue(engine)).json()["token"]
    b = login(server, issue(engine, NIP_BIDEN), nip=NIP_BIDEN, phone="phone-biden-0123456").json()["token"]
    theirs = challenge(server, b)["challenge_id"]
    assert code_of(punch(server, a, OBAMA2, TURN_RIGHT, theirs)) == "bad_challenge"
    with Session(engine) as s:  # and an expired one is refused
        s.execute(MobileChallenge.__table__.update().values(expires_at=datetime.utcnow() - timedelta(seconds=1)))
        s.commit()
    assert code_of(punch(server, b, OBAMA2, TURN_RIGHT, theirs)) == "challenge_spent"


def test_replays_are_recognised_by_look_and_capture_time(server, office, engine) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    token = login(server, issue(engine)).json()["token"]
    t0 = datetime.now(UTC)
    first = punch(server, token, OBAMA2, TURN_RIGHT, captured_at=t0.isoformat())
    assert first.status_code == 201, first.text
    # the same selfie, a byte added: a new sha256, the same look
    r = punch(server, token, OBAMA2 + b"\x00x", TURN_RIGHT, captured_at=(t0 + timedelta(seconds=5)).isoformat())
    assert r.status_code == 409 and code_of(r) == "replayed_photo"
    # recompressed and cropped
    crop = jpeg(bgr("obama2.jpg")[12:-12, 10:-10], quality=70)
    assert code_of(punch(server, token, crop, TURN_RIGHT,
                         captured_at=(t0 + timedelta(seconds=6)).isoformat())) == "replayed_photo"
    # a genuinely new selfie with a capture time not after the last one: a replayed request
    mirrored_frames = [jpeg(cv2.flip(bgr("obama.jpg"), 1)), jpeg(cv2.flip(bgr("obama2.jpg"), 1))]
    mirrored_frames.append(mirrored_frames[-1])  # mirrored: the nose now moves right from obama to obama2
    mirrored = jpeg(cv2.flip(bgr("obama.jpg"), 1))
    r = punch(server, token, mirrored, mirrored_frames, captured_at=t0.isoformat())
    assert r.status_code == 409 and code_of(r) == "replayed_capture"
    r = punch(server, token, mirrored, mirrored_frames, captured_at=(t0 + timedelta(seconds=9)).isoformat())
    assert r.status_code == 201, r.text
    with Session(engine) as s:
        assert s.scalar(select(func.count()).select_from(MobileSelfie)) == 2
        assert all(len(h) == 16 for h in s.scalars(select(MobileSelfie.phash)))
        assert s.scalar(select(MobileCredential.last_capture_at)) is not None


def test_another_persons_face_is_held_not_counted(server, office, engine) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    live(liveness_required=False)  # one photo of Biden: no burst to make from it
    token = login(server, issue(engine)).json()["token"]
    biden = jpeg(bgr("biden.jpg"))
    r = httpx.post(f"{server}/api/mobile/punch", data=fields(), headers=auth(token), timeout=60,
                   files={"selfie": ("s.jpg", biden, "image/jpeg")})
    assert r.status_code == 202 and r.json()["face_match"] is False and r.json()["flags"] == ["photo_mismatch"]
    assert r.json()["held"] and r.json()["outcome"] == "held" and "wajah tidak cocok" in r.json()["lines"][0]
    pid = r.json()["punch_id"]
    # judged on a working morning whatever the clock says now (a punch taken at midnight
    # falls outside every window): the punch is moved to Monday 07:25 WIB
    day = date(2026, 11, 30)
    with Session(engine) as s:
        s.execute(update(RawPunch).where(RawPunch.id == pid).values(
            local_time=datetime(2026, 11, 30, 7, 25), utc_time=datetime(2026, 11, 30, 0, 25)))
        s.commit()
        results, _ = compute_period(s, day, day, judge_until=day, employee_ids=[office["obama"]],
                                    today=day + timedelta(days=1))
    (res,) = results
    # not counted as attendance: the day waits for a reviewer (TV) and costs nothing meanwhile
    assert res.status == "TV" and res.waiting == [pid] and res.deduction_pct == 0


def test_an_admin_issues_and_revokes_a_code_in_the_console(engine, settings) -> None:  # type: ignore[no-untyped-def]
    """The employee page: an admin issues a code (shown once, on the page, never in a URL),
    the phone signs in with it, and revoking signs the phone out."""
    from fastapi.testclient import TestClient

    from hub.web.app import create_app
    from hub.web.auth import add_user
    from tests.face_fixtures import make_employee
    from tests.web_fixtures import login as web_login

    with Session(engine) as s:
        emp = make_employee(s, "197001012000031001", "Sri Wahyuni")
        add_user(s, "bkpsdm1", "kata-sandi-uji", "admin")
        add_user(s, "it9", "kata-sandi-uji", "it")
        s.commit()
        emp_id = emp.id
    with TestClient(create_app(settings)) as c:
        csrf = web_login(c, "bkpsdm1", "kata-sandi-uji")
        page = c.get(f"/employees/{emp_id}").text
        assert "belum diterbitkan" in page
        r = c.post(f"/employees/{emp_id}/mobile", data={"csrf_token": csrf, "action": "issue"},
                   follow_redirects=False)
        assert r.status_code == 200 and 'id="mobile-code"' in r.text
        code = r.text.split('id="mobile-code"')[1].split("<strong>")[1].split("</strong>")[0]
        assert code not in c.get(f"/employees/{emp_id}").text  # shown once
        token = c.post("/api/mobile/login", data={"nip": "197001012000031001", "code": code,
                                                  "device_key": "phone-sri-0123456789"}).json()["token"]
        assert c.get("/api/mobile/challenge", headers=auth(token)).status_code == 200
        assert "terikat sejak" in c.get(f"/employees/{emp_id}").text
        r = c.post(f"/employees/{emp_id}/mobile", data={"csrf_token": csrf, "action": "revoke"},
                   follow_redirects=False)
        assert r.status_code == 303
        assert c.get("/api/mobile/challenge", headers=auth(token)).status_code == 401
        # without the page's CSRF token nothing happens
        assert c.post(f"/employees/{emp_id}/mobile", data={"action": "issue"}).status_code == 403
    with TestClient(create_app(settings)) as c:  # IT issues codes with the CLI or API, not this page
        csrf = web_login(c, "it9", "kata-sandi-uji")
        assert c.post(f"/employees/{emp_id}/mobile", data={"csrf_token": csrf, "action": "issue"},
                      follow_redirects=False).status_code == 403
    with Session(engine) as s:
        assert s.scalar(select(MobileCredential.revoked_at)) is not None
