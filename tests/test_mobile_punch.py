"""Mobile punches over real HTTP (uvicorn + httpx) through hub.face.api's router.

Geofence in/out with a radius per office, stale capture, old EXIF, gallery source, mock
location, re-sent photo, selfie of someone else (photo_mismatch + review), bad metadata;
and the enrollment upload. SQLite and PostgreSQL; hypothesis for the metadata parser.
Each employee punches from their own signed-in phone (hub.face.mobile_auth); the liveness
burst has its own tests (test_mobile_identity.py) and is off here.
"""

from __future__ import annotations

import io
import socket
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import cv2
import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from PIL import Image
from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.face import index, mobile_auth
from hub.face.enroll import enroll_analysis
from hub.face.errors import FaceError
from hub.face.mobile import haversine_m, parse_meta
from hub.face.models import FaceReview, MobileSelfie
from hub.face.settings import FaceSettings, face_settings, set_face_settings
from hub.punch import PunchFlag
from hub.store.models import AuditLog, Device, EmployeeSite, RawPunch, Site
from tests.face_fixtures import (
    NIP_BIDEN,
    NIP_OBAMA,
    analysed,
    bgr,
    closed_eyes,
    jpeg,
    make_employee,
    photo,
    unique,
)

# Kantor Bupati (a made-up point in Bandung) and a point about 1.1 km east of it.
OFFICE = (-6.9175, 107.6191)
NEAR = (-6.9178, 107.6194)  # ~45 m
FAR = (-6.9175, 107.6291)  # ~1,100 m


# biden.jpg carries its camera's EXIF date (2010): exactly what a gallery upload looks like.
# Re-encoded by OpenCV it has no EXIF, like a fresh capture from the app's camera view.
BIDEN_NO_EXIF = jpeg(bgr("biden.jpg"))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Phones:
    """One signed-in phone per employee: a credential issued, then a real sign-in."""

    def __init__(self, base: str, engine) -> None:  # type: ignore[no-untyped-def]
        self.base, self.engine, self.tokens = base, engine, {}

    def token(self, nip: str) -> str:
        if nip not in self.tokens:
            with Session(self.engine) as s:
                code = mobile_auth.issue(s, nip, "test")
                s.commit()
            r = httpx.post(f"{self.base}/api/mobile/login", timeout=30,
                           data={"nip": nip, "code": code, "device_key": f"phone-of-{nip}-0123456789"})
            assert r.status_code == 200, r.text
            self.tokens[nip] = r.json()["token"]
        return self.tokens[nip]


PHONES: dict[str, Phones] = {}


@pytest.fixture(autouse=True)
def no_liveness() -> Iterator[None]:
    set_face_settings(FaceSettings(liveness_required=False))
    yield
    set_face_settings(None)


@pytest.fixture
def server(engine) -> Iterator[str]:  # type: ignore[no-untyped-def]
    from hub.face.api import current_actor, router
    from hub.mobile.api import router as mobile_router

    app = FastAPI()
    app.state.engine = engine
    app.include_router(router)
    app.include_router(mobile_router)
    # How the web console plugs its authentication in: one dependency to replace.
    app.dependency_overrides[current_actor] = lambda: "web:admin"
    port = _free_port()
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                                        lifespan="off"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not srv.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    base = f"http://127.0.0.1:{port}"
    PHONES[base] = Phones(base, engine)
    yield base
    PHONES.pop(base, None)
    srv.should_exit = True
    thread.join(5)


@pytest.fixture
def office(engine) -> dict[str, int]:  # type: ignore[no-untyped-def]
    """Obama enrolled at an office with a 150 m fence; Biden enrolled at an unfenced one."""
    index.invalidate()
    with Session(engine) as s:
        site = Site(code="OPD-BUP", name="Kantor Bupati", tz="Asia/Jakarta",
                    latitude=OFFICE[0], longitude=OFFICE[1], geofence_m=150)
        bare = Site(code="OPD-X", name="Kantor X", tz="Asia/Makassar",
                    latitude=FAR[0], longitude=FAR[1], geofence_m=None)
        s.add_all([site, bare])
        s.flush()
        obama = make_employee(s, NIP_OBAMA, "Barack Obama", site)
        biden = make_employee(s, NIP_BIDEN, "Joe Biden", bare)
        enroll_analysis(s, NIP_OBAMA, analysed("obama.jpg"), "test")
        enroll_analysis(s, NIP_BIDEN, analysed("biden.jpg"), "test")
        s.commit()
        return {"obama": obama.id, "biden": biden.id, "site": site.id}


def fields(at: tuple[float, float] = NEAR, **over: object) -> dict[str, str]:
    out = {"nip": NIP_OBAMA, "latitude": str(at[0]), "longitude": str(at[1]),
           "accuracy_m": "12", "captured_at": datetime.now(UTC).isoformat(),
           "capture_source": "camera", "mock_location": "false", "state": "check_in",
           "app_version": "1.4.2"}
    out.update({k: str(v) for k, v in over.items()})
    return out


def post(base: str, data: dict[str, str], selfie: bytes, as_nip: str | None = None) -> httpx.Response:
    """From the phone of `as_nip` (default: the form's NIP)."""
    token = PHONES[base].token(as_nip or data.get("nip") or NIP_OBAMA)
    return httpx.post(f"{base}/api/mobile/punch", data=data, headers={"Authorization": f"Bearer {token}"},
                      files={"selfie": ("selfie.jpg", selfie, "image/jpeg")}, timeout=30)


def error_of(resp: httpx.Response) -> dict:
    body = resp.json()
    assert "error" in body, body
    return body["error"]


def test_haversine_matches_known_distance() -> None:
    # Monas to Bundaran HI, Jakarta: about 2.3 km.
    d = haversine_m(-6.1754, 106.8272, -6.1950, 106.8230)
    assert 2100 < d < 2300
    assert haversine_m(*NEAR, *OFFICE) < 60 < 1000 < haversine_m(*FAR, *OFFICE)


def test_inside_geofence_is_stored_as_canonical_mobile_punch(server, office, engine) -> None:  # type: ignore[no-untyped-def]
    resp = post(server, fields(), unique(photo("obama2.jpg"), "inside"))
    assert resp.status_code == 201, resp.text
    body = resp.json()
    assert body["face_match"] is True and body["flags"] == []
    assert body["site"] == "OPD-BUP" and body["distance_m"] < 60 and body["radius_m"] == 150
    with Session(engine) as s:
        row = s.get(RawPunch, body["punch_id"])
        assert row is not None
        assert (row.source, row.verify, row.state, row.pin) == \
            ("mobile", "gps_selfie", "check_in", NIP_OBAMA)
        assert row.employee_id == office["obama"] and row.flags == 0
        assert row.tz == "Asia/Jakarta"
        assert abs((row.utc_time - datetime.utcnow()).total_seconds()) < 60
        assert row.local_time - row.utc_time == timedelta(hours=7)
        assert row.raw["latitude"] == NEAR[0] and row.raw["capture_source"] == "camera"
        dev = s.get(Device, row.device_id)
        assert dev is not None and dev.kind == "mobile" and dev.serial == "MOBILE-APP"
        assert s.scalar(select(MobileSelfie.punch_id)) == row.id


def test_outside_every_place_is_kept_and_held_with_distance(server, office, engine) -> None:  # type: ignore[no-untyped-def]
    """Never dropped: the punch is stored, flagged outside_geofence, held for a reviewer, and
    the phone is told so in words (how far, the limit, what to do)."""
    resp = post(server, fields(at=FAR), unique(photo("obama2.jpg"), "far"))
    assert resp.status_code == 202, resp.text
    body = resp.json()
    assert body["held"] and body["flags"] == ["outside_geofence"] and body["radius_m"] == 150
    assert 1000 < body["distance_m"] < 1200 and body["site"] == "OPD-BUP"
    assert body["outcome"] == "held" and "di luar semua lokasi" in body["lines"][0]
    assert any("dinas luar" in line for line in body["lines"])
    with Session(engine) as s:
        row = s.get(RawPunch, body["punch_id"])
        assert row is not None and row.flags == PunchFlag.OUTSIDE_GEOFENCE
        assert row.raw["distance_m"] == body["distance_m"] and row.raw["place"] == "Kantor Bupati"
        assert s.scalar(select(MobileSelfie.punch_id)) == row.id


def test_default_radius_and_second_office(server, office, engine) -> None:  # type: ignore[no-untyped-def]
    # Biden's office is at FAR without geofence_m: the default (200 m) applies.
    d = face_settings().geofence_default_m
    inside = post(server, fields(at=(FAR[0] - 0.001, FAR[1]), nip=NIP_BIDEN),
                  unique(BIDEN_NO_EXIF, "b-in"))
    assert inside.status_code == 201, inside.text
    assert inside.json()["radius_m"] == d and inside.json()["tz"] == "Asia/Makassar"
    # (outside is kept now, so it needs a selfie of its own: the same photo with the eyes
    # shut, 6 bits from the first, let through by a stricter replay distance for this test)
    set_face_settings(FaceSettings(liveness_required=False, replay_hamming=3))
    outside = post(server, fields(at=(FAR[0] - 0.003, FAR[1]), nip=NIP_BIDEN), closed_eyes("biden.jpg"))
    assert outside.status_code == 202 and outside.json()["flags"] == ["outside_geofence"]
    # A second office of his (e.g. a teacher at two schools) counts too, while valid.
    with Session(engine) as s:
        s.add(EmployeeSite(employee_id=office["biden"], site_id=office["site"]))
        s.commit()
    # (another selfie: the same photo again would be a replay)
    second = post(server, fields(at=NEAR, nip=NIP_BIDEN), jpeg(cv2.flip(bgr("biden.jpg"), 1)))
    assert second.status_code == 201, second.text
    assert second.json()["site"] == "OPD-BUP" and second.json()["tz"] == "Asia/Jakarta"


def test_capture_checks_refuse_gallery_photos_and_replays(server, office) -> None:  # type: ignore[no-untyped-def]
    # Capture time far from the server clock (a photo taken earlier, or a wrong phone clock).
    old = (datetime.now(UTC) - timedelta(minutes=10)).isoformat()
    resp = post(server, fields(captured_at=old), unique(photo("obama2.jpg"), "stale"))
    assert resp.status_code == 422
    err = error_of(resp)
    assert err["code"] == "stale_capture" and err["field"] == "captured_at"
    assert 590 < err["details"]["skew_s"] < 700
    # EXIF says the photo is old: biden.jpg's camera date (2010), then a 3-day-old one.
    original = post(server, fields(nip=NIP_BIDEN, at=FAR), photo("biden.jpg"))
    assert original.status_code == 422 and error_of(original)["code"] == "stale_exif"
    assert "2010-05-10" in error_of(original)["message"]
    im = Image.open(io.BytesIO(photo("obama2.jpg")))
    exif = Image.Exif()
    exif[0x0132] = (datetime.now() - timedelta(days=3)).strftime("%Y:%m:%d %H:%M:%S")
    buf = io.BytesIO()
    im.save(buf, "JPEG", exif=exif, quality=90)
    resp = post(server, fields(), buf.getvalue())
    assert resp.status_code == 422 and error_of(resp)["code"] == "stale_exif"
    # The client says gallery, or reports a mock location.
    resp = post(server, fields(capture_source="gallery"), unique(photo("obama2.jpg"), "g"))
    assert resp.status_code == 422
    err = error_of(resp)
    assert err["code"] == "not_camera" and "galeri" in err["message"]
    resp = post(server, fields(mock_location="true"), unique(photo("obama2.jpg"), "m"))
    assert resp.status_code == 422 and error_of(resp)["code"] == "mock_location"


def test_resent_photo_is_refused(server, office) -> None:  # type: ignore[no-untyped-def]
    selfie = unique(photo("obama2.jpg"), "twice")
    assert post(server, fields(), selfie).status_code == 201
    again = post(server, fields(state="check_out"), selfie)
    assert again.status_code == 409 and error_of(again)["code"] == "duplicate_photo"


def test_someone_elses_selfie_is_flagged_for_review(server, office, engine) -> None:  # type: ignore[no-untyped-def]
    resp = post(server, fields(), unique(BIDEN_NO_EXIF, "swap"))
    assert resp.status_code == 202, resp.text
    body = resp.json()
    assert body["face_match"] is False and body["flags"] == ["photo_mismatch"]
    assert body["face_distance"] > face_settings().match_threshold
    with Session(engine) as s:
        row = s.get(RawPunch, body["punch_id"])
        assert row is not None and row.flags & PunchFlag.PHOTO_MISMATCH
        review = s.scalar(select(FaceReview).where(FaceReview.punch_id == row.id))
        assert review is not None and review.kind == "photo_mismatch"
        assert review.employee_id == office["obama"] and review.status == "open"


BAD_METADATA = [
    ({"latitude": "abc"}, "latitude"),
    ({"longitude": "181"}, "longitude"),
    ({"captured_at": "kemarin"}, "captured_at"),
    ({"captured_at": "2026-11-23T07:00:00"}, "captured_at"),  # no zone
    ({"mock_location": "mungkin"}, "mock_location"),
    ({"state": "pulang"}, "state"),
]


# (An empty NIP is no error over HTTP: the punch is the signed-in phone's employee's.)


def test_bad_metadata_gets_a_clear_422(server, office) -> None:  # type: ignore[no-untyped-def]
    for over, field in BAD_METADATA:
        resp = post(server, fields(**over), unique(photo("obama2.jpg"), "bad"))
        assert resp.status_code == 422, (over, resp.text)
        err = error_of(resp)
        assert err["code"] == "bad_field" and err["field"] == field, (over, err)
        assert field in err["message"]
    missing = httpx.post(f"{server}/api/mobile/punch", data=fields(), timeout=30)
    assert missing.status_code == 422  # no selfie part at all: FastAPI's own 422
    anonymous = httpx.post(f"{server}/api/mobile/punch", data=fields(), timeout=30,
                           files={"selfie": ("s.jpg", unique(photo("obama2.jpg"), "anon"), "image/jpeg")})
    assert anonymous.status_code == 401 and error_of(anonymous)["code"] == "not_signed_in"


def test_unknown_nip_faceless_selfie_and_unlocated_office(server, office, engine) -> None:  # type: ignore[no-untyped-def]
    # a phone signed in as Obama cannot punch for anyone else, known or not
    resp = post(server, fields(nip="123456"), unique(photo("obama2.jpg"), "x"), as_nip=NIP_OBAMA)
    assert resp.status_code == 403 and error_of(resp)["code"] == "nip_mismatch"
    resp = post(server, fields(nip=NIP_BIDEN), unique(BIDEN_NO_EXIF, "x"), as_nip=NIP_OBAMA)
    assert resp.status_code == 403 and error_of(resp)["code"] == "nip_mismatch"
    resp = post(server, fields(), photo("no_face.png"))
    assert resp.status_code == 422 and error_of(resp)["code"] == "no_face"
    with Session(engine) as s:
        make_employee(s, "198501012010011001", "Tanpa Kantor")
        s.commit()
    resp = post(server, fields(nip="198501012010011001"), unique(photo("obama2.jpg"), "n"))
    assert resp.status_code == 409 and error_of(resp)["code"] == "no_office_location"


def test_enroll_upload(server, office, engine) -> None:  # type: ignore[no-untyped-def]
    with Session(engine) as s:
        make_employee(s, "199001012020121001", "Kembaran")
        s.commit()

    def up(data: bytes, nip: str = "199001012020121001") -> httpx.Response:
        return httpx.post(f"{server}/api/face/enroll", data={"nip": nip},
                          files={"photo": ("f.jpg", data, "image/jpeg")}, timeout=30)

    assert error_of(up(photo("no_face.png")))["code"] == "no_face"
    garbage = up(b"\x00" * 300)
    assert garbage.status_code == 422 and error_of(garbage)["code"] == "undecodable"
    resp = up(photo("obama2.jpg"))
    assert resp.status_code == 201, resp.text
    body = resp.json()
    assert body["flagged_for_review"] is True
    assert body["duplicates"][0]["nip"] == NIP_OBAMA
    assert body["duplicates"][0]["distance"] <= body["duplicate_threshold"]
    with Session(engine) as s:
        review = s.get(FaceReview, body["duplicates"][0]["review_id"])
        assert review is not None and review.actor == "web:admin"
        actors = set(s.scalars(select(AuditLog.actor).where(AuditLog.action.like("face.%"))))
        assert "web:admin" in actors


# --- parser properties ---------------------------------------------------------------------

FIELDS = ["nip", "latitude", "longitude", "accuracy_m", "captured_at", "capture_source",
          "mock_location", "state", "app_version"]


@given(st.dictionaries(st.sampled_from(FIELDS), st.one_of(st.none(), st.text(max_size=40))))
@hsettings(max_examples=300, deadline=None)
def test_parse_meta_never_crashes(data: dict[str, str | None]) -> None:
    try:
        meta = parse_meta(data)
    except FaceError as exc:
        assert exc.code == "bad_field" and exc.field in FIELDS and exc.status == 422
    else:
        assert -90 <= meta.latitude <= 90 and -180 <= meta.longitude <= 180
        assert meta.captured_at.utcoffset() is not None


@given(lat=st.floats(-90, 90), lon=st.floats(-180, 180),
       when=st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2099, 1, 1),
                         timezones=st.just(UTC)))
@hsettings(max_examples=100, deadline=None)
def test_parse_meta_accepts_every_valid_request(lat: float, lon: float, when: datetime) -> None:
    meta = parse_meta({"nip": NIP_OBAMA, "latitude": repr(lat), "longitude": repr(lon),
                       "captured_at": when.isoformat(), "capture_source": "Camera"})
    assert (meta.latitude, meta.longitude, meta.captured_at) == (lat, lon, when)
    assert meta.capture_source == "camera" and meta.mock_location is False
