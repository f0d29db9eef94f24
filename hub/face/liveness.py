"""Is a live person in front of the phone? A challenge answered across a short burst.

The hub asks for one movement (blink, turn left, turn right); the phone sends a burst of
frames taken while the person does it. dlib's 68 face landmarks give, per frame, the eye
aspect ratio (EAR: eyelid opening over eye width) and the yaw (how far the nose tip sits
from the middle of the eyes, in eye distances). A printed or on-screen photo held to the
camera keeps both still: it cannot blink and, being flat, cannot turn its nose past its
eyes. Every frame must also be the same person as the selfie.

Also here: the difference hash that recognises a resent selfie that was altered a little.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

import cv2
import face_recognition
import numpy as np

from hub.face.errors import FaceError
from hub.face.image import Decoded
from hub.face.quality import FaceFound, encoding_of, face_crop_grey, find_one_face
from hub.face.settings import FaceSettings
from hub.face.verify import compare
from hub.i18n import tr

KINDS = ("blink", "turn_left", "turn_right")
ASK = {"blink": ("kedipkan mata sekali", "blink once"),
       "turn_left": ("tengokkan kepala ke kiri layar", "turn your head toward the left of the screen"),
       "turn_right": ("tengokkan kepala ke kanan layar", "turn your head toward the right of the screen")}


@dataclass(frozen=True)
class Pose:
    ear: float
    yaw: float  # nose tip minus eye midpoint, x, in inter-eye distances (image left = negative)


def pick_kind(kinds: tuple[str, ...] | list[str] = KINDS) -> str:
    return secrets.choice(list(kinds))


def _ear(eye: list[tuple[int, int]]) -> float:
    p = np.asarray(eye, dtype=float)
    width = np.linalg.norm(p[0] - p[3])
    return float((np.linalg.norm(p[1] - p[5]) + np.linalg.norm(p[2] - p[4])) / (2 * width)) if width else 0.0


def pose_of(img: Decoded, face: FaceFound) -> Pose:
    marks = face_recognition.face_landmarks(img.rgb, face_locations=[face.box], model="large")
    if not marks:
        raise FaceError("liveness_no_landmarks", tr("wajah di salah satu bingkai tidak terbaca jelas; ulangi",
                                                    "a frame's face could not be read; try again"), field="frames")
    m = marks[0]
    left, right = np.mean(m["left_eye"], axis=0), np.mean(m["right_eye"], axis=0)
    eyes = float(np.linalg.norm(right - left)) or 1.0
    nose = np.mean(m["nose_tip"], axis=0)
    return Pose(ear=(_ear(m["left_eye"]) + _ear(m["right_eye"])) / 2,
                yaw=float((nose[0] - (left[0] + right[0]) / 2) / eyes))


@dataclass(frozen=True)
class Liveness:
    kind: str
    poses: list[Pose]
    measure: float  # blink: closed/open EAR ratio; turn: yaw change in the asked direction

    def as_dict(self) -> dict[str, object]:
        return {"kind": self.kind, "measure": round(self.measure, 3),
                "ear": [round(p.ear, 3) for p in self.poses], "yaw": [round(p.yaw, 3) for p in self.poses]}


def _fail(kind: str, measured: str) -> FaceError:
    ask_id, ask_en = ASK[kind]
    return FaceError("liveness_failed", tr(
        f"gerakan tidak terlihat ({measured}); foto dari foto/layar ditolak. Ulangi: {ask_id} saat kamera merekam",
        f"the movement was not seen ({measured}); a photo of a photo or screen is refused. Again: {ask_en} "
        "while the camera records"), field="frames", status=422)


def check(kind: str, frames: list[Decoded], selfie_encoding: np.ndarray, settings: FaceSettings) -> Liveness:
    """The burst answers the challenge, with the selfie's person in every frame; else FaceError."""
    if kind not in KINDS:
        raise FaceError("bad_challenge", tr(f"tantangan tidak dikenal: {kind}", f"unknown challenge: {kind}"),
                        field="challenge_id")
    if not settings.liveness_min_frames <= len(frames) <= settings.liveness_max_frames:
        raise FaceError("liveness_frames", tr(
            f"kirim {settings.liveness_min_frames}-{settings.liveness_max_frames} bingkai, bukan {len(frames)}",
            f"send {settings.liveness_min_frames}-{settings.liveness_max_frames} frames, not {len(frames)}"),
            field="frames")
    poses = []
    for n, img in enumerate(frames, start=1):
        face = find_one_face(img, settings, gates=False)
        if compare(selfie_encoding, encoding_of(img, face)) > settings.match_threshold:
            raise FaceError("liveness_other_face", tr(
                f"bingkai {n} bukan orang yang sama dengan selfie", f"frame {n} is not the selfie's person"),
                field="frames", frame=n)
        poses.append(pose_of(img, face))
    if kind == "blink":
        # some frame's eyes clearly more closed than a frame before it and one after it
        best = 1.0
        for j in range(1, len(poses) - 1):
            before = max(p.ear for p in poses[:j])
            after = max(p.ear for p in poses[j + 1:])
            opened = min(before, after)
            if opened > 0:
                best = min(best, poses[j].ear / opened)
        if best > settings.liveness_blink_ratio:
            raise _fail(kind, f"mata terbuka/tertutup {best:.2f}")
        return Liveness(kind, poses, best)
    sign = 1.0 if kind == "turn_right" else -1.0
    moved = max((sign * (poses[j].yaw - poses[i].yaw) for i in range(len(poses)) for j in range(i + 1, len(poses))),
                default=0.0)
    if moved < settings.liveness_turn_min:
        raise _fail(kind, f"putaran {moved:.2f}")
    return Liveness(kind, poses, moved)


def dhash(img: Decoded, face: FaceFound) -> str:
    """64-bit difference hash of the face, aligned on the eyes (level, centred, scaled to
    their distance) so that a crop, a resize or a recompression moves it by a bit or two,
    while another photo of the same person lands about 30 bits away. 16 hex digits."""
    marks = face_recognition.face_landmarks(img.rgb, face_locations=[face.box], model="large")
    if not marks:
        grey = cv2.resize(face_crop_grey(img.rgb, face.box), (64, 64), interpolation=cv2.INTER_AREA)
    else:
        left, right = np.mean(marks[0]["left_eye"], axis=0), np.mean(marks[0]["right_eye"], axis=0)
        dist = float(np.linalg.norm(right - left)) or 1.0
        angle = float(np.degrees(np.arctan2(right[1] - left[1], right[0] - left[0])))
        centre = (left + right) / 2 + np.array([0.0, 0.6 * dist])
        m = cv2.getRotationMatrix2D((float(centre[0]), float(centre[1])), angle, 64 / (2.4 * dist))
        m[0, 2] += 32 - centre[0]
        m[1, 2] += 32 - centre[1]
        grey = cv2.warpAffine(cv2.cvtColor(img.rgb, cv2.COLOR_RGB2GRAY), m, (64, 64), flags=cv2.INTER_AREA)
    small = cv2.resize(cv2.GaussianBlur(grey, (5, 5), 0), (9, 8), interpolation=cv2.INTER_AREA)
    bits = (small[:, 1:] > small[:, :-1]).flatten()
    return f"{int(''.join('1' if b else '0' for b in bits), 2):016x}"


def hamming(a: str, b: str) -> int:
    return bin(int(a, 16) ^ int(b, 16)).count("1")
