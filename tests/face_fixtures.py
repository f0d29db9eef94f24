"""Face test material: the fixture photos, OpenCV transforms of them, cached analyses.

Encoding a photo is the slow part of the face tests, so each photo is analysed once per
test session (`analysed`) and the DB tests enroll from those analyses.
"""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path

import cv2
import numpy as np
from sqlalchemy.orm import Session

from hub.face import mobile_auth
from hub.face.quality import Analysis, analyse
from hub.store.models import Employee, Site

FACES = Path(os.environ.get("HUB_TEST_FACES", Path(__file__).resolve().parents[2] / "shared"
                            / "fixtures" / "faces"))
if not FACES.exists():  # the work tree may live elsewhere than beside ../shared
    FACES = Path("/work/shared/fixtures/faces")

NIP_OBAMA = "196108041990031001"
NIP_OTHER = "197001012000031002"
NIP_BIDEN = "194211201970031003"


# Cheap argon2 parameters for the tests' many activation codes (the hub keeps the library's
# defaults; verification reads the parameters from each hash).
mobile_auth._HASHER = mobile_auth.PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


def photo(name: str) -> bytes:
    return (FACES / name).read_bytes()


@cache
def analysed(name: str) -> Analysis:
    return analyse(photo(name))


def bgr(name: str) -> np.ndarray:
    img = cv2.imread(str(FACES / name))
    assert img is not None, f"cannot read fixture {name}"
    return img


def jpeg(img: np.ndarray, quality: int = 92) -> bytes:
    ok, out = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, quality])
    assert ok
    return out.tobytes()


def png(img: np.ndarray) -> bytes:
    ok, out = cv2.imencode(".png", img)
    assert ok
    return out.tobytes()


def unique(data: bytes, tag: str) -> bytes:
    """The same JPEG with bytes after its end marker: decoders ignore them, the hash differs."""
    return data + b"\x00hub-test-" + tag.encode()


def make_employee(session: Session, nip: str, name: str, site: Site | None = None) -> Employee:
    emp = Employee(id_number=nip, employment_type="pns", name=name,
                   site_id=site.id if site else None)
    session.add(emp)
    session.flush()
    return emp


def closed_eyes(name: str) -> bytes:
    """The photo with both eyes shut: each eye covered with the eyelid skin just above it
    and a lash line drawn across (a blink frame made from a real face)."""
    import face_recognition

    rgb = cv2.cvtColor(bgr(name), cv2.COLOR_BGR2RGB)
    marks = face_recognition.face_landmarks(rgb)[0]
    out = rgb.copy()
    for key in ("left_eye", "right_eye"):
        p = np.asarray(marks[key], dtype=np.int32)
        (x0, y0), (x1, y1) = p.min(axis=0), p.max(axis=0)
        pad = int((y1 - y0) * 0.8) + 2
        top, bottom, left, right = y0 - pad, y1 + pad, x0 - pad, x1 + pad
        height = bottom - top
        mask = np.zeros(rgb.shape[:2], np.uint8)
        cv2.fillPoly(mask, [cv2.convexHull(p)], 255)
        mask = cv2.dilate(mask, np.ones((pad, pad), np.uint8))[top:bottom, left:right] > 0
        out[top:bottom, left:right][mask] = rgb[top - height:top, left:right][mask]
        cv2.line(out, (int(x0), int((y0 + y1) // 2)), (int(x1), int((y0 + y1) // 2)), (40, 30, 30),
                 max(2, int(y1 - y0) // 4))
    return jpeg(cv2.cvtColor(out, cv2.COLOR_RGB2BGR))


def held_photo(name: str, n: int = 4) -> list[bytes]:
    """Frames of a printed photo held to the camera: moved, nearer, tilted, but flat."""
    img = bgr(name)
    h, w = img.shape[:2]
    frames = []
    for i in range(n):
        d = 0.02 * i
        src = np.float32([[0, 0], [w, 0], [w, h], [0, h]])
        dst = np.float32([[w * d, h * d / 2], [w * (1 - d / 3), 0], [w, h], [w * d / 2, h * (1 - d / 2)]])
        warped = cv2.warpPerspective(img, cv2.getPerspectiveTransform(src, dst), (w, h),
                                     borderMode=cv2.BORDER_REPLICATE)
        frames.append(jpeg(cv2.resize(warped, None, fx=1 - d, fy=1 - d)))
    return frames
