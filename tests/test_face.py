"""Face enrollment, quality gates, duplicate identity, 1:N index and verification.

Real photos (../shared/fixtures/faces) and OpenCV transforms of them; face_recognition with
the HOG model. Never skipped: the face libraries are install requirements. SQL on SQLite
and PostgreSQL.

astronaut.png rule: HOG finds two same-size boxes (a face and a badge), so the photo is
refused with "several_faces" and both boxes; the hub never guesses which face is meant.
"""

from __future__ import annotations

import hashlib
import io
import zlib

import cv2
import face_recognition
import numpy as np
import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from PIL import Image
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from hub.face import index
from hub.face.enroll import enroll, enroll_analysis, enrolled_encoding, terminal_photo
from hub.face.errors import FaceError
from hub.face.image import decode
from hub.face.models import FaceReview
from hub.face.quality import analyse
from hub.face.settings import FaceSettings, face_settings, load_face_settings
from hub.face.verify import check_punch_photo, verify_analysis, verify_photo
from hub.punch import Punch, PunchFlag, Source, State, Verify
from hub.secrets import decrypt
from hub.store.ingest import ingest_punches
from hub.store.models import AuditLog, Device, Employee, PinMapping, RawPunch, Template
from tests.face_fixtures import (
    FACES,
    NIP_BIDEN,
    NIP_OBAMA,
    NIP_OTHER,
    analysed,
    bgr,
    jpeg,
    make_employee,
    photo,
    png,
)


def refused(data: bytes) -> FaceError:
    with pytest.raises(FaceError) as info:
        analyse(data)
    return info.value


# --- decoding --------------------------------------------------------------------------


def test_decode_caps_long_side_and_keeps_colour_order() -> None:
    img = decode(photo("obama.jpg"))
    assert img.original_size == (910, 1137)
    assert max(img.rgb.shape[:2]) == face_settings().max_side
    assert img.rgb.dtype == np.uint8 and img.rgb.shape[2] == 3
    ref = cv2.cvtColor(bgr("obama.jpg"), cv2.COLOR_BGR2RGB).mean(axis=(0, 1))
    assert np.allclose(img.rgb.mean(axis=(0, 1)), ref, atol=2)  # RGB, not BGR


def test_decode_applies_exif_orientation() -> None:
    small = cv2.resize(bgr("obama.jpg"), (455, 568))
    im = Image.fromarray(cv2.cvtColor(small, cv2.COLOR_BGR2RGB))
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 CW to display": a phone held upright
    exif[0x0132] = "2026:11:23 07:01:02"
    buf = io.BytesIO()
    im.save(buf, "JPEG", exif=exif)
    img = decode(buf.getvalue())
    assert img.rgb.shape[:2] == (455, 568)  # stood upright: width and height swapped
    assert img.taken_at is not None and img.taken_at.isoformat() == "2026-11-23T07:01:02"


def test_exif_date_time_original_is_read() -> None:
    im = Image.new("RGB", (64, 64))
    exif = Image.Exif()
    exif[0x0132] = "2020:01:01 00:00:00"  # file modified
    exif[0x8769] = {0x9003: "2026:11:23 07:01:02"}  # taken: wins
    buf = io.BytesIO()
    im.save(buf, "JPEG", exif=exif)
    assert decode(buf.getvalue()).taken_at.isoformat() == "2026-11-23T07:01:02"  # type: ignore[union-attr]
    assert decode(jpeg(bgr("obama2.jpg"))).taken_at is None


def test_decode_path_and_missing_file(tmp_path) -> None:  # type: ignore[no-untyped-def]
    assert decode(FACES / "no_face.png").rgb.shape[:2] == (400, 600)
    with pytest.raises(FaceError) as info:
        decode(tmp_path / "tidak-ada.jpg")
    assert info.value.code == "unreadable" and "tidak-ada.jpg" in info.value.message


@pytest.mark.parametrize("data", [b"", b"garbage bytes, not a photo" * 10,
                                  photo("obama.jpg")[:200], b"\xff\xd8\xff" + bytes(500)])
def test_garbage_is_refused_as_undecodable(data: bytes) -> None:
    err = refused(data)
    assert err.code == "undecodable" and err.field == "photo" and err.status == 422


def test_oversized_upload_is_refused() -> None:
    s = FaceSettings(max_upload_bytes=1000)
    with pytest.raises(FaceError) as info:
        decode(photo("obama.jpg"), s)
    assert info.value.code == "too_large" and info.value.status == 413


def test_decompression_bomb_is_refused_from_its_header() -> None:
    data = bytearray(png(np.zeros((1, 1, 3), np.uint8)))
    # IHDR is the first chunk: length(4) type(4) width(4) height(4) ... crc(4) at 29..33.
    data[16:24] = (60000).to_bytes(4, "big") + (60000).to_bytes(4, "big")
    data[29:33] = zlib.crc32(bytes(data[12:29])).to_bytes(4, "big")
    err = refused(bytes(data))
    assert err.code == "too_large" and err.status == 413
    data[16:24] = (8000).to_bytes(4, "big") + (7000).to_bytes(4, "big")  # 56 MP
    data[29:33] = zlib.crc32(bytes(data[12:29])).to_bytes(4, "big")
    err = refused(bytes(data))
    assert err.code == "too_large" and "8000x7000" in err.message


@given(st.binary(max_size=4096))
@hsettings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_decode_of_random_bytes_never_crashes(data: bytes) -> None:
    try:
        img = decode(data)
    except FaceError as exc:
        assert exc.code in {"undecodable", "too_large"}
    else:
        assert img.rgb.ndim == 3


@given(st.binary(min_size=1, max_size=64), st.integers(min_value=0, max_value=3000))
@hsettings(max_examples=60, deadline=None)
def test_decode_of_damaged_png_never_crashes(noise: bytes, at: int) -> None:
    data = bytearray(png(cv2.resize(bgr("no_face.png"), (60, 40))))
    at = at % len(data)
    data[at:at + len(noise)] = noise
    try:
        decode(bytes(data))
    except FaceError as exc:
        assert exc.code == "undecodable"


# --- quality gates -----------------------------------------------------------------------


def test_fixture_faces_pass_the_gates() -> None:
    for name in ("obama.jpg", "obama2.jpg", "biden.jpg"):
        a = analysed(name)
        assert a.encoding.shape == (128,)
        assert a.face.side_px >= face_settings().min_face_px


def test_no_face_is_refused() -> None:
    err = refused(photo("no_face.png"))
    assert err.code == "no_face"
    assert "wajah" in err.message


def test_astronaut_two_detections_are_refused_as_several_faces() -> None:
    err = refused(photo("astronaut.png"))
    assert err.code == "several_faces" and err.details["faces"] == 2
    assert len(err.details["boxes"]) == 2


def test_two_faces_side_by_side_are_refused() -> None:
    a = cv2.resize(bgr("obama.jpg"), (455, 568))
    b = cv2.resize(bgr("biden.jpg"), (256, 582))
    b = cv2.copyMakeBorder(b, 0, 0, 0, 0, cv2.BORDER_CONSTANT)
    h = min(a.shape[0], b.shape[0])
    both = cv2.hconcat([a[:h], b[:h]])
    err = refused(jpeg(both))
    assert err.code == "several_faces" and err.details["faces"] == 2


def test_blurred_face_is_refused() -> None:
    err = refused(jpeg(cv2.GaussianBlur(bgr("obama.jpg"), (0, 0), 4)))
    assert err.code == "too_blurred"
    assert err.details["sharpness"] < face_settings().min_sharpness


def test_darkened_face_is_refused() -> None:
    err = refused(jpeg(cv2.convertScaleAbs(bgr("obama.jpg"), alpha=0.25)))
    assert err.code == "too_dark"
    assert err.details["brightness"] < face_settings().min_brightness


def test_brightened_face_is_refused() -> None:
    err = refused(jpeg(cv2.convertScaleAbs(bgr("obama.jpg"), alpha=1.5, beta=60)))
    assert err.code == "too_bright"
    assert err.details["brightness"] > face_settings().max_brightness


def test_black_photo_says_too_dark_not_no_face() -> None:
    err = refused(jpeg(cv2.convertScaleAbs(bgr("obama.jpg"), alpha=0.02)))
    assert err.code == "too_dark"


def test_shrunk_face_is_refused_as_too_small() -> None:
    err = refused(jpeg(cv2.resize(bgr("obama.jpg"), None, fx=0.25, fy=0.25,
                                  interpolation=cv2.INTER_AREA)))
    assert err.code == "face_too_small"
    assert err.details["face_px"] < face_settings().min_face_px


def test_thresholds_are_configurable(tmp_path) -> None:  # type: ignore[no-untyped-def]
    toml = tmp_path / "hub.toml"
    toml.write_text("[face]\nmin_face_px = 40\nduplicate_threshold = 0.45\n")
    s = load_face_settings({"HUB_CONFIG": str(toml), "HUB_FACE_MIN_SHARPNESS": "5"})
    assert (s.min_face_px, s.duplicate_threshold, s.min_sharpness) == (40, 0.45, 5.0)
    shrunk = jpeg(cv2.resize(bgr("obama.jpg"), None, fx=0.25, fy=0.25,
                             interpolation=cv2.INTER_AREA))
    assert analyse(shrunk, s).face.side_px < 80  # accepted under the lower limit


# --- index ---------------------------------------------------------------------------------


def test_matrix_search_agrees_with_face_recognition() -> None:
    rng = np.random.default_rng(7)
    real = np.stack([analysed(n).encoding for n in ("obama.jpg", "biden.jpg")])
    population = real[rng.integers(0, 2, 500)] + rng.normal(0, 0.05, (500, 128))
    ids = np.arange(500) + 1
    matrix = index.Matrix(ids, population)
    query = analysed("obama2.jpg").encoding
    expected = face_recognition.face_distance(population, query)
    assert np.allclose(matrix.distances(query), expected, atol=1e-4)
    hits = matrix.search(query, 0.6, k=5)
    best = np.argsort(expected)[:5]
    assert [h[0] for h in hits] == [int(ids[i]) for i in best]
    assert all(d <= 0.6 for _, d in hits)
    assert matrix.search(query, 0.6, k=5, exclude=hits[0][0])[0][0] != hits[0][0]
    assert index.Matrix(np.array([], dtype=np.int64), np.empty((0, 128))).search(query, 1) == []


# --- enrollment, duplicates, verification (SQLite and PostgreSQL) --------------------------


@pytest.fixture
def session(engine) -> Session:  # type: ignore[no-untyped-def]
    index.invalidate()
    with Session(engine, expire_on_commit=False) as s:
        yield s
        s.rollback()


def test_obama_enrolls_encrypted_with_terminal_photo(session: Session) -> None:
    emp = make_employee(session, NIP_OBAMA, "Barack Obama")
    result = enroll(session, NIP_OBAMA, FACES / "obama.jpg", actor="test")
    session.commit()
    assert result.employee_id == emp.id and result.duplicates == []
    rows = {t.format: t for t in session.scalars(select(Template)
                                                 .where(Template.employee_id == emp.id))}
    assert set(rows) == {"dlib128", "jpeg"} and all(t.kind == "face" for t in rows.values())
    enc = rows["dlib128"]
    plain = decrypt(enc.blob_enc)
    assert plain not in enc.blob_enc and len(plain) == 1024
    assert hashlib.sha256(plain).hexdigest() == enc.sha256
    assert np.allclose(np.frombuffer(plain, "<f8"), analysed("obama.jpg").encoding, atol=1e-6)
    got = terminal_photo(session, emp.id)
    assert got is not None
    jpg, digest = got
    assert jpg[:3] == b"\xff\xd8\xff" and len(jpg) <= face_settings().photo_max_bytes
    assert digest == hashlib.sha256(jpg).hexdigest() == rows["jpeg"].sha256
    tile = decode(jpg)
    height, width = tile.rgb.shape[:2]
    assert height == width and 300 <= width <= face_settings().photo_side  # never upscaled
    assert analyse(jpg).face.side_px >= 150  # a terminal still finds one big face in it
    assert session.scalar(select(AuditLog.action).where(AuditLog.action == "face.enroll"))
    # Re-enrolling replaces both rows; a terminal with a small limit gets a smaller photo.
    small = enroll_analysis(session, NIP_OBAMA, analysed("obama.jpg"), "test",
                            FaceSettings(photo_max_bytes=8000))
    assert small.photo_bytes <= 8000 and small.duplicates == []
    assert session.scalar(select(func.count(Template.id))
                          .where(Template.employee_id == emp.id)) == 2


def test_obama2_verifies_and_biden_does_not(session: Session) -> None:
    emp = make_employee(session, NIP_OBAMA, "Barack Obama")
    enroll_analysis(session, NIP_OBAMA, analysed("obama.jpg"), "test")
    same = verify_analysis(session, emp.id, analysed("obama2.jpg"))
    other = verify_analysis(session, emp.id, analysed("biden.jpg"))
    assert same.match and same.distance is not None and same.distance < 0.5
    assert not other.match and other.distance is not None and other.distance > 0.6
    assert verify_photo(session, emp.id, photo("obama2.jpg")).match  # from bytes as well


def test_unknown_nip_and_missing_enrollment_are_told_first(session: Session) -> None:
    with pytest.raises(FaceError) as info:
        enroll(session, "999", b"not even a photo", actor="test")
    assert info.value.code == "unknown_employee" and info.value.status == 404
    emp = make_employee(session, NIP_OBAMA, "Barack Obama")
    with pytest.raises(FaceError) as info:
        verify_photo(session, emp.id, photo("obama2.jpg"))
    assert info.value.code == "not_enrolled" and info.value.status == 409


def test_obama2_under_another_nip_is_flagged_as_duplicate(session: Session) -> None:
    obama = make_employee(session, NIP_OBAMA, "Barack Obama")
    other = make_employee(session, NIP_OTHER, "Orang Lain")
    biden = make_employee(session, NIP_BIDEN, "Joe Biden")
    assert enroll_analysis(session, NIP_OBAMA, analysed("obama.jpg"), "test").duplicates == []
    assert enroll_analysis(session, NIP_BIDEN, analysed("biden.jpg"), "test").duplicates == []
    session.commit()
    result = enroll_analysis(session, NIP_OTHER, analysed("obama2.jpg"), "admin")
    session.commit()
    assert [d.employee_id for d in result.duplicates] == [obama.id]
    dup = result.duplicates[0]
    assert 0.2 < dup.distance <= result.threshold == face_settings().duplicate_threshold
    review = session.get(FaceReview, dup.review_id)
    assert review is not None
    assert (review.kind, review.status, review.employee_id, review.other_employee_id) == \
        ("duplicate_identity", "open", other.id, obama.id)
    assert review.threshold == 0.5 and abs(review.distance - dup.distance) < 1e-3
    audit = session.scalar(select(AuditLog).where(AuditLog.action == "face.duplicate_identity"))
    assert audit is not None and audit.details["distance"] == review.distance
    # Re-enrolling the same person replaces the face and is never its own duplicate.
    again = enroll_analysis(session, NIP_BIDEN, analysed("biden.jpg"), "test")
    assert again.duplicates == []
    assert session.scalar(select(Template.id).where(Template.employee_id == biden.id,
                                                    Template.format == "dlib128")) is not None
    assert len(list(session.scalars(select(Template).where(
        Template.employee_id == biden.id)))) == 2


def test_index_cache_reloads_after_changes(session: Session) -> None:
    make_employee(session, NIP_OBAMA, "Barack Obama")
    make_employee(session, NIP_BIDEN, "Joe Biden")
    assert len(index.enrolled_matrix(session)) == 0
    enroll_analysis(session, NIP_OBAMA, analysed("obama.jpg"), "test")
    first = index.enrolled_matrix(session)
    assert len(first) == 1 and index.enrolled_matrix(session) is first  # cached
    enroll_analysis(session, NIP_BIDEN, analysed("biden.jpg"), "test")
    enroll_analysis(session, NIP_OBAMA, analysed("obama2.jpg"), "test")  # replaces obama.jpg
    kept = index.enrolled_matrix(session)  # updated in place, not reloaded
    fresh = index.load_matrix(session)
    assert len(kept) == len(fresh) == 2
    order_k, order_f = np.argsort(kept.employee_ids), np.argsort(fresh.employee_ids)
    assert (kept.employee_ids[order_k] == fresh.employee_ids[order_f]).all()
    assert np.allclose(kept.vectors[order_k], fresh.vectors[order_f])
    # A change made elsewhere (no invalidate call here) is seen through the table's stamp.
    row = session.scalar(select(Template).where(Template.format == "dlib128")
                         .order_by(Template.id.desc()))
    assert row is not None
    row.valid_flag = 0
    row.updated_at = row.updated_at.replace(year=row.updated_at.year + 1)
    session.flush()
    assert len(index.enrolled_matrix(session)) == 1


def _punch(session: Session, employee_nip: str, pin: str = "7") -> RawPunch:
    from datetime import datetime

    emp_id = session.scalar(select(PinMapping.employee_id).where(PinMapping.pin == pin))
    dev = Device(serial="ADMS-1", name="ADMS-1", kind="adms", capabilities={})
    session.add(dev)
    session.flush()
    if emp_id is None:
        emp = session.scalar(select(Employee).where(Employee.id_number == employee_nip))
        session.add(PinMapping(employee_id=emp.id, pin=pin, pin_group="default"))
        session.flush()
    ingest_punches(session.connection(), [Punch(
        device_id=dev.id, source=Source.ADMS, pin=pin, local_time=datetime(2026, 11, 23, 7, 1),
        tz="Asia/Jakarta", state=State.CHECK_IN, verify=Verify.FACE)])
    row = session.scalar(select(RawPunch).where(RawPunch.device_id == dev.id))
    assert row is not None and row.employee_id is not None
    return row


def test_terminal_punch_photo_mismatch_flags_the_punch(session: Session) -> None:
    make_employee(session, NIP_OBAMA, "Barack Obama")
    enroll_analysis(session, NIP_OBAMA, analysed("obama.jpg"), "test")
    punch = _punch(session, NIP_OBAMA)
    ok = check_punch_photo(session, punch.id, photo("obama2.jpg"))
    assert ok.match and not punch.flags & PunchFlag.PHOTO_MISMATCH
    bad = check_punch_photo(session, punch.id, photo("biden.jpg"), actor="adms")
    session.commit()
    assert not bad.match
    stored = session.get(RawPunch, punch.id)
    assert stored is not None and stored.flags & PunchFlag.PHOTO_MISMATCH
    review = session.scalar(select(FaceReview).where(FaceReview.kind == "photo_mismatch"))
    assert review is not None and review.punch_id == punch.id and review.distance > 0.6
    # A punch photo with nobody in it cannot vouch for the punch either.
    empty = check_punch_photo(session, punch.id, photo("no_face.png"))
    assert not empty.match and empty.reason == "no_face" and empty.distance is None


# --- CLI -------------------------------------------------------------------------------------


def test_cli_enroll_verify_reviews(engine, monkeypatch, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from hub.cli.main import app

    monkeypatch.setenv("HUB_LANGUAGE", "en")
    index.invalidate()
    with Session(engine) as s:
        make_employee(s, NIP_OBAMA, "Barack Obama")
        make_employee(s, NIP_OTHER, "Someone Else")
        s.commit()
    runner = CliRunner()
    out = runner.invoke(app, ["face", "enroll", NIP_OBAMA, str(FACES / "obama.jpg")])
    assert out.exit_code == 0, out.output
    assert "enrolled" in out.output
    out = runner.invoke(app, ["face", "verify", NIP_OBAMA, str(FACES / "obama2.jpg")])
    assert out.exit_code == 0 and "Match" in out.output
    out = runner.invoke(app, ["face", "verify", NIP_OBAMA, str(FACES / "biden.jpg")])
    assert out.exit_code == 4 and "No match" in out.output
    out = runner.invoke(app, ["face", "enroll", NIP_OTHER, str(FACES / "no_face.png")])
    assert out.exit_code == 2 and "no face" in out.output
    out = runner.invoke(app, ["face", "enroll", NIP_OTHER, str(FACES / "obama2.jpg")])
    assert out.exit_code == 0 and "Needs review" in out.output and NIP_OBAMA in out.output
    out = runner.invoke(app, ["face", "reviews", "--format", "csv"])
    assert out.exit_code == 0
    lines = out.output.strip().splitlines()
    assert lines[0].startswith("id,kind,status,nip,other_nip")
    assert len(lines) == 2 and "duplicate_identity" in lines[1] and NIP_OBAMA in lines[1]
    review_id = lines[1].split(",")[0]
    out = runner.invoke(app, ["face", "resolve", review_id, "--dismiss", "--note", "kembar"])
    assert out.exit_code == 0 and "dismissed" in out.output
    out = runner.invoke(app, ["face", "resolve", review_id])
    assert out.exit_code == 2 and "already closed" in out.output
    out = runner.invoke(app, ["face", "reviews", "--format", "csv"])
    assert len(out.output.strip().splitlines()) == 1  # the queue is empty again
    target = tmp_path / "terminal.jpg"
    out = runner.invoke(app, ["face", "photo", NIP_OBAMA, str(target)])
    assert out.exit_code == 0 and target.read_bytes()[:3] == b"\xff\xd8\xff"
    with Session(engine) as s:
        emp_id = s.scalar(select(Employee.id).where(Employee.id_number == NIP_OBAMA))
        assert emp_id is not None and enrolled_encoding(s, emp_id) is not None
        review = s.get(FaceReview, int(review_id))
        assert review is not None and review.status == "dismissed"
        assert review.details["note"] == "kembar" and review.resolved_by
