"""The phone app's server side (issue 19), over real HTTP with real face photos, on SQLite and
PostgreSQL: a punch taken without signal counts at its capture time (the hub's clock minus
the time it waited, whatever the phone's clock says), later than the ruleset's limit it is
kept and held; the same capture sent twice is stored once; a field place of a duty letter
is a place to punch from while the letter runs; the employee's month and leave requests."""

from __future__ import annotations

import io
import time
from datetime import UTC, date, datetime, timedelta

import cv2
import httpx
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hub.face.models import FieldPlace, MobileChallenge
from hub.face.settings import FaceSettings, set_face_settings
from hub.mobile.places import add_place
from hub.punch import PunchFlag
from hub.reconcile.leave import decide_leave
from hub.reconcile.models import LeaveEntry, LeaveScan
from hub.reconcile.period import month_figures
from hub.store.models import RawPunch
from tests.face_fixtures import NIP_OBAMA, bgr, jpeg, photo, unique
from tests.test_mobile_punch import FAR, NEAR, PHONES, fields, no_liveness, office, server  # noqa: F401

OBAMA2, OBAMA = jpeg(bgr("obama2.jpg")), jpeg(bgr("obama.jpg"))
TURN_RIGHT = [OBAMA2, OBAMA, OBAMA]


def _send(base: str, data: dict[str, str], selfie: bytes, frames: list[bytes] | None = None) -> httpx.Response:
    token = PHONES[base].token(NIP_OBAMA)
    files = [("selfie", ("s.jpg", selfie, "image/jpeg"))] + [
        ("frames", (f"f{i}.jpg", f, "image/jpeg")) for i, f in enumerate(frames or [])]
    return httpx.post(f"{base}/api/mobile/punch", data=data, files=files, timeout=60,
                      headers={"Authorization": f"Bearer {token}"})


def _queued(waited: timedelta, phone_off: timedelta = timedelta(0), **over: object) -> dict[str, str]:
    """A punch kept on the phone for `waited`, from a phone whose clock is off by `phone_off`."""
    now = datetime.now(UTC) + phone_off
    return fields(captured_at=(now - waited).isoformat(), sent_at=now.isoformat(), queued="true", **over)


def test_a_punch_without_signal_counts_when_it_was_taken(server, office, engine) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    # the phone's clock is an hour fast; the punch waited 40 minutes for signal
    before = datetime.now(UTC).replace(tzinfo=None)
    r = _send(server, _queued(timedelta(minutes=40), timedelta(hours=1), capture_seq=7),
              unique(photo("obama2.jpg"), "q1"))
    assert r.status_code == 422 and r.json()["error"]["code"] == "stale_capture"  # a phone clock an hour off
    r = _send(server, _queued(timedelta(minutes=40), timedelta(seconds=20), capture_seq=7),
              unique(photo("obama2.jpg"), "q1"))
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["outcome"] == "accepted" and 2390 <= body["queued_s"] <= 2410 and body["flags"] == []
    assert any("tanpa sinyal" in line for line in body["lines"])
    with Session(engine) as s:
        row = s.get(RawPunch, body["punch_id"])
        assert row is not None and row.flags == 0
        # the hub's clock minus the 40 minutes it waited (not the phone's clock)
        taken = before - timedelta(minutes=40)
        assert abs((row.utc_time - taken).total_seconds()) < 30, (row.utc_time, taken)
        assert row.raw["capture_seq"] == 7 and row.raw["queued_s"] == body["queued_s"]


def test_sent_again_is_stored_once_and_an_older_capture_is_a_replay(server, office, engine) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    data = _queued(timedelta(minutes=5), capture_seq=3)
    selfie = unique(photo("obama2.jpg"), "twice")
    first = _send(server, data, selfie)
    assert first.status_code == 201, first.text
    again = _send(server, data, selfie)  # the phone did not hear the answer and sends it again
    assert again.status_code == 200 and again.json()["duplicate"]
    assert again.json()["punch_id"] == first.json()["punch_id"]
    assert any("sudah diterima sebelumnya" in line for line in again.json()["lines"])
    with Session(engine) as s:
        assert s.scalar(select(func.count()).select_from(RawPunch)) == 1
    # another photo claiming an earlier place in the phone's sequence is refused
    older = _send(server, _queued(timedelta(minutes=1), capture_seq=2), jpeg(cv2.flip(bgr("obama2.jpg"), 1)))
    assert older.status_code == 409 and older.json()["error"]["code"] == "replayed_capture"
    # the same photo with other details is not a resend
    assert _send(server, _queued(timedelta(minutes=5), capture_seq=9), selfie).status_code == 409


def test_later_than_the_limit_is_kept_and_held(server, office, engine) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    r = _send(server, _queued(timedelta(hours=5), capture_seq=1), unique(photo("obama2.jpg"), "late"))
    assert r.status_code == 202, r.text
    body = r.json()
    assert body["held"] and body["flags"] == ["late_upload"] and "batas presensi tanpa sinyal" in body["lines"][0]
    with Session(engine) as s:
        row = s.get(RawPunch, body["punch_id"])
        assert row is not None and row.flags == PunchFlag.LATE_UPLOAD and row.raw["offline_limit_min"] == 240
    # not queued, the same wait is a stale photo, refused (the phone keeps it)
    r = _send(server, fields(captured_at=(datetime.now(UTC) - timedelta(minutes=10)).isoformat(),
                             sent_at=datetime.now(UTC).isoformat()), unique(photo("obama2.jpg"), "stale"))
    assert r.status_code == 422 and r.json()["error"]["code"] == "stale_capture"


def test_a_field_place_is_a_place_while_its_letter_runs(server, office, engine) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    today = datetime.now(UTC).date()
    with Session(engine) as s:
        add_place(s, employee_id=office["obama"], name="SDN 2 Lembang", latitude=FAR[0], longitude=FAR[1],
                  radius_m=300, valid_from=today - timedelta(days=1), valid_to=today + timedelta(days=1),
                  reference="800/12/Disdik", actor="reviewer1")
        add_place(s, employee_id=office["obama"], name="Puskesmas lama", latitude=FAR[0], longitude=FAR[1] + 0.02,
                  radius_m=300, valid_from=today - timedelta(days=30), valid_to=today - timedelta(days=2),
                  reference="800/1/Dinkes", actor="reviewer1")
        s.commit()
    r = _send(server, fields(at=(FAR[0] + 0.001, FAR[1])), unique(photo("obama2.jpg"), "school"))
    assert r.status_code == 201, r.text
    assert r.json()["place"] == "SDN 2 Lembang" and r.json()["site"].startswith("DL-")
    me = httpx.get(f"{server}/api/mobile/me", headers={"Authorization": f"Bearer {PHONES[server].token(NIP_OBAMA)}"},
                   timeout=30).json()
    assert [p["name"] for p in me["places"]] == ["Kantor Bupati", "SDN 2 Lembang"]
    assert me["places"][1]["kind"] == "field" and me["offline_max_minutes"] == 240
    # the old letter's place no longer counts: kept, held
    time.sleep(1.1)  # (a punch counts at the second it was taken: not the second of the one above)
    later = datetime.now(UTC) + timedelta(seconds=1)  # (and taken after it, as this phone's clock says)
    r = _send(server, fields(at=(FAR[0], FAR[1] + 0.02), captured_at=later.isoformat()),
              jpeg(cv2.flip(bgr("obama2.jpg"), 1)))
    assert r.status_code == 202 and r.json()["flags"] == ["outside_geofence"]
    with Session(engine) as s:
        assert s.scalar(select(func.count()).select_from(FieldPlace)) == 2


def test_a_spare_challenge_answers_a_punch_taken_offline(server, office, engine) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    set_face_settings(FaceSettings(liveness_kinds="turn_right"))
    token = PHONES[server].token(NIP_OBAMA)
    auth = {"Authorization": f"Bearer {token}"}
    spare = httpx.get(f"{server}/api/mobile/challenge", params={"spare": "true"}, headers=auth, timeout=30).json()
    quick = httpx.get(f"{server}/api/mobile/challenge", headers=auth, timeout=30).json()
    assert spare["spare"] and spare["expires_at"] > quick["expires_at"]
    with Session(engine) as s:  # both issued an hour ago (the phone then lost signal)
        for ch in s.scalars(select(MobileChallenge)):
            ch.issued_at, ch.expires_at = ch.issued_at - timedelta(hours=1), ch.expires_at - timedelta(hours=1)
        s.commit()
    taken = _queued(timedelta(minutes=30), capture_seq=1)
    late = _send(server, {**taken, "challenge_id": quick["challenge_id"]}, OBAMA2, TURN_RIGHT)
    assert late.status_code == 422 and late.json()["error"]["code"] == "challenge_spent"  # expired when taken
    r = _send(server, {**taken, "challenge_id": spare["challenge_id"]}, OBAMA2, TURN_RIGHT)
    assert r.status_code == 201, r.text
    with Session(engine) as s:
        row = s.get(RawPunch, r.json()["punch_id"])
        assert row is not None and row.raw["liveness"]["kind"] == "turn_right"
    again = _send(server, {**taken, "challenge_id": spare["challenge_id"]}, OBAMA2, TURN_RIGHT)
    assert again.status_code == 200 and again.json()["duplicate"]  # (its challenge was spent by the first)


def test_my_month_and_my_leave_request(server, office, engine) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    auth = {"Authorization": f"Bearer {PHONES[server].token(NIP_OBAMA)}"}
    month = httpx.get(f"{server}/api/mobile/month", params={"month": "2026-10"}, headers=auth, timeout=30).json()
    assert month["days"][0]["day"] == "2026-10-01" and month["days"][0]["weekday"] == "Kam"
    with Session(engine) as s:  # the same figures as the recap (one reconciler)
        fig = month_figures(s, date(2026, 10, 1), None, employee_ids={office["obama"]})
    row = fig.row_of(office["obama"])
    assert row is not None and month["totals"]["potongan_pct"] == row["potongan_pct"]
    assert month["totals"]["hari_kerja"] == row["hari_kerja"] > 20
    assert [d["status"] for d in month["days"]] == [d.status for d in fig.days[office["obama"]]]
    # every code of the month is explained in words, from the ruleset's legend
    assert {d["code"] for d in month["legend"]} == {c for d in month["days"] for c in d["status"].split("+")}
    assert all(d["words"] for d in month["legend"])
    bad = httpx.get(f"{server}/api/mobile/month", params={"month": "2026-13"}, headers=auth, timeout=30)
    assert bad.status_code == 422
    letter = jpeg(bgr("obama.jpg"))  # a photo of the letter: any JPEG, checked by its bytes
    r = httpx.post(f"{server}/api/mobile/requests", headers=auth, timeout=30,
                   data={"type": "S", "start": "2026-10-06", "end": "2026-10-07", "reason": "demam, surat dokter"},
                   files={"letter": ("surat.jpg", letter, "image/jpeg")})
    assert r.status_code == 201, r.text
    asked = r.json()
    assert asked["state"] == "pending" and asked["letter"] == "surat.jpg"
    refused = httpx.post(f"{server}/api/mobile/requests", headers=auth, timeout=30,
                         data={"type": "S", "start": "2026-10-06", "end": "2026-10-06", "reason": "x"},
                         files={"letter": ("surat.txt", b"not a letter", "text/plain")})
    assert refused.status_code == 422 and refused.json()["error"]["field"] == "letter"
    before = month_days_codes(engine, office["obama"])
    assert before[date(2026, 10, 6)] != "S"  # leave waiting for an approver does not count
    with Session(engine) as s:
        decide_leave(s, asked["id"], "approve", "verifier1")
        s.commit()
        assert s.scalar(select(LeaveScan.size).where(LeaveScan.leave_id == asked["id"])) == len(letter)
        assert s.get(LeaveEntry, asked["id"]).approval == "approved"
    assert month_days_codes(engine, office["obama"])[date(2026, 10, 6)] == "S"
    mine = httpx.get(f"{server}/api/mobile/requests", headers=auth, timeout=30).json()
    assert mine[0]["state"] == "approved" and mine[0]["decided_by"] == "verifier1"


def month_days_codes(engine, employee_id: int) -> dict[date, str]:  # type: ignore[no-untyped-def]
    with Session(engine) as s:
        fig = month_figures(s, date(2026, 10, 1), None, employee_ids={employee_id})
        return {d.day: d.status for d in fig.days[employee_id]}


def test_the_answer_names_the_slot_as_the_reconciler_judges_the_day(office, engine) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    """Monday 2026-11-30 (07:30 start, WIB): 07:41 is a late check-in, 16:05 a check-out."""
    from hub.face.mobile import mobile_punch
    from hub.mobile.words import verdict

    lines = []
    for i, (utc, selfie) in enumerate(((datetime(2026, 11, 30, 0, 41, 5), unique(photo("obama2.jpg"), "in")),
                                      (datetime(2026, 11, 30, 9, 5, 0), jpeg(cv2.flip(bgr("obama2.jpg"), 1))))):
        with Session(engine) as s:
            result = mobile_punch(s, fields(captured_at=utc.replace(tzinfo=UTC).isoformat(), capture_seq=i + 1),
                                  selfie, now=utc)
            s.commit()
            lines.append(verdict(s, result)["lines"][0])
    assert lines == ["Presensi masuk 07:41, terlambat 11 menit", "Presensi pulang 16:05"]


def test_the_app_is_served_as_an_installable_web_app(server) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    import json

    from PIL import Image

    page = httpx.get(f"{server}/m/", timeout=10)
    assert page.status_code == 200 and 'rel="manifest"' in page.text and 'lang="id"' in page.text
    assert httpx.get(f"{server}/m", timeout=10, follow_redirects=False).headers["location"] == "/m/"
    sw = httpx.get(f"{server}/m/sw.js", timeout=10)
    assert sw.headers["service-worker-allowed"] == "/m/" and "text/javascript" in sw.headers["content-type"]
    manifest = json.loads(httpx.get(f"{server}/m/manifest.webmanifest", timeout=10).text)
    assert manifest["start_url"] == "/m/" and manifest["display"] == "standalone" and manifest["lang"] == "id"
    for icon in manifest["icons"]:
        r = httpx.get(server + icon["src"], timeout=10)
        size = Image.open(io.BytesIO(r.content)).size
        assert r.status_code == 200 and f"{size[0]}x{size[1]}" == icon["sizes"]
    for bad in ("..%2Fapi.py", ".hidden.js", "nothing.js", "api.py"):
        assert httpx.get(f"{server}/m/{bad}", timeout=10).status_code == 404, bad
