"""Decoding photos with OpenCV: from bytes or a path, EXIF orientation applied, long side capped."""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import cv2
import numpy as np

from hub.face.errors import FaceError
from hub.face.settings import FaceSettings, face_settings
from hub.i18n import tr

EXIF_DATETIME_ORIGINAL = 0x9003
EXIF_DATETIME = 0x0132
EXIF_IFD = 0x8769
BOMB = (-1, -1)  # peek's size for a header Pillow itself calls a decompression bomb


@dataclass
class Decoded:
    """A photo ready for face_recognition: RGB pixels plus what its metadata said."""

    rgb: np.ndarray
    original_size: tuple[int, int]  # (width, height) before scaling
    taken_at: datetime | None  # EXIF DateTimeOriginal (camera wall clock), if any

    @property
    def bgr(self) -> np.ndarray:
        return cv2.cvtColor(self.rgb, cv2.COLOR_RGB2BGR)


def read_bytes(source: bytes | str | Path, settings: FaceSettings | None = None) -> bytes:
    settings = settings or face_settings()
    if isinstance(source, bytes | bytearray | memoryview):
        data = bytes(source)
    else:
        path = Path(source)
        try:
            if path.stat().st_size > settings.max_upload_bytes:
                raise FaceError("too_large", tr(
                    f"berkas foto {path} lebih dari {settings.max_upload_bytes} byte",
                    f"photo file {path} is larger than {settings.max_upload_bytes} bytes"),
                    field="photo", status=413)
            data = path.read_bytes()
        except OSError as exc:
            raise FaceError("unreadable", tr(
                f"berkas foto {path} tidak dapat dibaca: {exc.strerror or exc}",
                f"photo file {path} cannot be read: {exc.strerror or exc}"), field="photo") from exc
    if len(data) > settings.max_upload_bytes:
        raise FaceError("too_large", tr(
            f"foto {len(data)} byte, batasnya {settings.max_upload_bytes} byte",
            f"photo is {len(data)} bytes, the limit is {settings.max_upload_bytes}"),
            field="photo", status=413)
    return data


def _exif_time(exif) -> datetime | None:  # type: ignore[no-untyped-def]
    raw = exif.get_ifd(EXIF_IFD).get(EXIF_DATETIME_ORIGINAL) or exif.get(EXIF_DATETIME)
    if not isinstance(raw, str):
        return None
    try:
        return datetime.strptime(raw.strip("\x00 ").strip(), "%Y:%m:%d %H:%M:%S")
    except ValueError:
        return None


def peek(data: bytes) -> tuple[tuple[int, int] | None, datetime | None]:
    """(width, height) and EXIF DateTimeOriginal from the header alone (Pillow, lazy).

    Either is None when the header does not say; decoding is OpenCV's job.
    """
    from PIL import Image

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            im = Image.open(io.BytesIO(data))
    except Image.DecompressionBombError:
        return BOMB, None
    except Exception:  # noqa: BLE001 - not an image Pillow knows: OpenCV will say
        return None, None
    with im:
        size = im.size
        try:
            taken = _exif_time(im.getexif())
        except Exception:  # noqa: BLE001 - a broken EXIF block only means no capture time
            taken = None
    return size, taken


def exif_taken_at(data: bytes) -> datetime | None:
    """EXIF DateTimeOriginal (or DateTime), read without decoding pixels; None if absent."""
    return peek(data)[1]


def decode(source: bytes | str | Path, settings: FaceSettings | None = None) -> Decoded:
    """Bytes or a path -> RGB array, EXIF-rotated, long side at most settings.max_side.

    Raises FaceError("undecodable") for anything OpenCV cannot read as an image.
    """
    settings = settings or face_settings()
    data = read_bytes(source, settings)
    where = str(source) if not isinstance(source, bytes | bytearray | memoryview) else "unggahan"
    if not data:
        raise FaceError("undecodable", tr(f"foto kosong ({where})", f"empty photo ({where})"),
                        field="photo")
    size, taken_at = peek(data)
    # Refuse a decompression bomb from its header, before any pixel is allocated.
    if size == BOMB:
        raise FaceError("too_large", tr(
            f"ukuran gambar di header foto jauh melebihi batas {settings.max_pixels} piksel",
            f"the photo header claims far more than {settings.max_pixels} pixels"),
            field="photo", status=413)
    if size is not None and size[0] * size[1] > settings.max_pixels:
        raise FaceError("too_large", tr(
            f"foto {size[0]}x{size[1]} piksel terlalu besar (maks {settings.max_pixels})",
            f"photo of {size[0]}x{size[1]} pixels is too large (max {settings.max_pixels})"),
            field="photo", status=413)
    buf = np.frombuffer(data, dtype=np.uint8)
    # IMREAD_COLOR applies the EXIF Orientation tag, so portrait phone photos stand upright.
    try:
        bgr = cv2.imdecode(buf, cv2.IMREAD_COLOR)
    except cv2.error:
        bgr = None
    if bgr is None or bgr.ndim != 3 or bgr.shape[0] < 8 or bgr.shape[1] < 8:
        raise FaceError("undecodable", tr(
            f"foto tidak dapat dibaca sebagai gambar ({where}); kirim JPEG atau PNG",
            f"the photo cannot be read as an image ({where}); send a JPEG or PNG"),
            field="photo")
    h, w = bgr.shape[:2]
    if h * w > settings.max_pixels:
        raise FaceError("too_large", tr(
            f"foto {w}x{h} piksel terlalu besar", f"photo of {w}x{h} pixels is too large"),
            field="photo", status=413)
    scale = settings.max_side / max(h, w)
    if scale < 1:
        bgr = cv2.resize(bgr, (max(1, round(w * scale)), max(1, round(h * scale))),
                         interpolation=cv2.INTER_AREA)
    rgb = np.ascontiguousarray(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
    return Decoded(rgb=rgb, original_size=(w, h), taken_at=taken_at)


def encode_jpeg(bgr: np.ndarray, quality: int) -> bytes:
    ok, out = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:  # pragma: no cover - OpenCV always encodes a valid uint8 array
        raise FaceError("encode_failed", tr("gagal membuat JPEG", "JPEG encoding failed"))
    return out.tobytes()
