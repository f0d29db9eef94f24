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

from hub.face.quality import Analysis, analyse
from hub.store.models import Employee, Site

FACES = Path(os.environ.get("HUB_TEST_FACES", Path(__file__).resolve().parents[2] / "shared"
                            / "fixtures" / "faces"))
if not FACES.exists():  # the work tree may live elsewhere than beside ../shared
    FACES = Path("/work/shared/fixtures/faces")

NIP_OBAMA = "196108041990031001"
NIP_OTHER = "197001012000031002"
NIP_BIDEN = "194211201970031003"


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
