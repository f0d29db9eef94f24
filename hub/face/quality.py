"""Quality gates: exactly one face, big enough, lit well enough, sharp enough.

Rule for several detections (e.g. the astronaut portrait, where HOG also boxes a badge):
an enrollment or selfie photo must show one face; any second detection rejects the photo
with "several_faces" and the boxes found, so an admin crops it rather than the hub guessing.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import face_recognition
import numpy as np

from hub.face.errors import FaceError
from hub.face.image import Decoded, decode
from hub.face.settings import FaceSettings, face_settings
from hub.i18n import tr

Box = tuple[int, int, int, int]  # face_recognition order: top, right, bottom, left
CROP = 160  # faces are compared for sharpness at one size, so the measure is scale-free


@dataclass
class FaceFound:
    box: Box
    side_px: int
    brightness: float
    sharpness: float

    def metrics(self) -> dict[str, float | int]:
        return {"face_px": self.side_px, "brightness": round(self.brightness, 1),
                "sharpness": round(self.sharpness, 1)}


def face_crop_grey(rgb: np.ndarray, box: Box) -> np.ndarray:
    top, right, bottom, left = box
    h, w = rgb.shape[:2]
    crop = rgb[max(0, top):min(h, bottom), max(0, left):min(w, right)]
    grey = cv2.cvtColor(crop, cv2.COLOR_RGB2GRAY)
    return cv2.resize(grey, (CROP, CROP), interpolation=cv2.INTER_AREA)


def measure(rgb: np.ndarray, box: Box) -> FaceFound:
    grey = face_crop_grey(rgb, box)
    top, right, bottom, left = box
    return FaceFound(box=box, side_px=min(bottom - top, right - left),
                     brightness=float(grey.mean()),
                     sharpness=float(cv2.Laplacian(grey, cv2.CV_64F).var()))


def find_one_face(img: Decoded, settings: FaceSettings | None = None,
                  gates: bool = True) -> FaceFound:
    """The single face of the photo, or FaceError saying why the photo is refused.

    With gates=False only detection runs (one face required); size, light and blur are
    not judged (a terminal's punch photo is what it is).
    """
    s = settings or face_settings()
    boxes: list[Box] = face_recognition.face_locations(img.rgb, number_of_times_to_upsample=1,
                                                       model="hog")
    if not boxes:
        mean = float(cv2.cvtColor(img.rgb, cv2.COLOR_RGB2GRAY).mean())
        # A face lost in darkness or glare is worth telling apart from no face at all.
        if gates and mean < s.min_brightness / 2:
            raise FaceError("too_dark", tr(
                f"tidak ada wajah terlihat: foto terlalu gelap (kecerahan {mean:.0f}/255)",
                f"no face visible: the photo is too dark (brightness {mean:.0f}/255)"),
                field="photo", brightness=round(mean, 1))
        if gates and mean > (s.max_brightness + 255) / 2:
            raise FaceError("too_bright", tr(
                f"tidak ada wajah terlihat: foto terlalu terang (kecerahan {mean:.0f}/255)",
                f"no face visible: the photo is too bright (brightness {mean:.0f}/255)"),
                field="photo", brightness=round(mean, 1))
        raise FaceError("no_face", tr(
            "tidak ada wajah di foto; gunakan foto wajah tampak depan",
            "no face found in the photo; use a frontal face photo"), field="photo")
    if len(boxes) > 1:
        raise FaceError("several_faces", tr(
            f"ada {len(boxes)} wajah di foto; foto harus berisi satu wajah saja (potong fotonya)",
            f"{len(boxes)} faces in the photo; it must show exactly one face (crop it)"),
            field="photo", faces=len(boxes), boxes=[list(b) for b in boxes])
    found = measure(img.rgb, boxes[0])
    if not gates:
        return found
    if found.side_px < s.min_face_px:
        raise FaceError("face_too_small", tr(
            f"wajah terlalu kecil ({found.side_px} piksel, minimal {s.min_face_px}); "
            "ambil foto lebih dekat atau dengan resolusi lebih tinggi",
            f"face too small ({found.side_px} px, at least {s.min_face_px}); "
            "take the photo closer or at a higher resolution"),
            field="photo", **found.metrics())
    if found.brightness < s.min_brightness:
        raise FaceError("too_dark", tr(
            f"wajah terlalu gelap (kecerahan {found.brightness:.0f}, minimal "
            f"{s.min_brightness:.0f}); tambah cahaya",
            f"face too dark (brightness {found.brightness:.0f}, at least "
            f"{s.min_brightness:.0f}); add light"), field="photo", **found.metrics())
    if found.brightness > s.max_brightness:
        raise FaceError("too_bright", tr(
            f"wajah terlalu terang (kecerahan {found.brightness:.0f}, maksimal "
            f"{s.max_brightness:.0f}); hindari cahaya langsung/lampu kilat",
            f"face too bright (brightness {found.brightness:.0f}, at most "
            f"{s.max_brightness:.0f}); avoid direct light or flash"),
            field="photo", **found.metrics())
    if found.sharpness < s.min_sharpness:
        raise FaceError("too_blurred", tr(
            f"wajah terlalu buram (ketajaman {found.sharpness:.0f}, minimal "
            f"{s.min_sharpness:.0f}); tahan kamera tetap diam",
            f"face too blurred (sharpness {found.sharpness:.0f}, at least "
            f"{s.min_sharpness:.0f}); hold the camera still"),
            field="photo", **found.metrics())
    return found


def encoding_of(img: Decoded, face: FaceFound) -> np.ndarray:
    """The 128-d dlib encoding of the face found (float64, as face_recognition gives it)."""
    enc = face_recognition.face_encodings(img.rgb, known_face_locations=[face.box],
                                          num_jitters=1, model="small")
    return np.asarray(enc[0], dtype=np.float64)


@dataclass
class Analysis:
    """A photo that passed the gates: pixels, the face and its encoding."""

    image: Decoded
    face: FaceFound
    encoding: np.ndarray


def analyse_decoded(img: Decoded, settings: FaceSettings | None = None,
                    gates: bool = True) -> Analysis:
    face = find_one_face(img, settings, gates=gates)
    return Analysis(image=img, face=face, encoding=encoding_of(img, face))


def analyse(source: bytes | str, settings: FaceSettings | None = None,
            gates: bool = True) -> Analysis:
    """Decode a photo (bytes or a path), find its one face and encode it."""
    return analyse_decoded(decode(source, settings), settings, gates)
