"""Face thresholds and limits: the [face] section of hub.toml, HUB_FACE_* overrides.

Kept beside the face code (not in hub.config) so that the face area owns its knobs; the
lookup follows hub.config exactly (same file, same environment naming).
"""

from __future__ import annotations

from dataclasses import dataclass

from hub.config import load_section


@dataclass
class FaceSettings:
    # Decoding: photos are scaled down so the long side is at most this (speed, memory).
    max_side: int = 1024
    max_upload_bytes: int = 15_000_000
    max_pixels: int = 50_000_000
    # Quality gates, measured on the face box of the scaled image.
    min_face_px: int = 80
    min_brightness: float = 50.0  # mean grey level of the face, 0-255
    max_brightness: float = 215.0
    min_sharpness: float = 40.0  # variance of the Laplacian of the face at 160x160
    # Distances between 128-d dlib encodings (face_recognition's usual match is 0.6).
    match_threshold: float = 0.6
    duplicate_threshold: float = 0.5
    # The photo a terminal gets (ZK BIOPHOTO, MQTT face.set, Hikvision FDLib: <=100-200 KB).
    photo_side: int = 480
    photo_max_bytes: int = 100_000
    # Mobile punches.
    geofence_default_m: int = 200
    capture_max_skew_s: int = 120
    exif_max_age_s: int = 300
    mobile_device_serial: str = "MOBILE-APP"
    # Mobile identity and liveness (hub.face.mobile_auth, hub.face.liveness).
    liveness_required: bool = True
    liveness_kinds: str = "blink,turn_left,turn_right"  # challenges drawn from these
    liveness_min_frames: int = 3
    liveness_max_frames: int = 8
    liveness_blink_ratio: float = 0.75  # closed-eye EAR at most this share of the open one
    liveness_turn_min: float = 0.12  # yaw change, in distances between the eyes
    challenge_ttl_s: int = 120
    spare_challenge_ttl_s: int = 43_200  # a phone's spare challenge, for a punch without signal
    replay_hamming: int = 6  # a selfie this close (of 64 bits) to an earlier one is a replay
    replay_days: int = 30
    mobile_session_days: int = 30
    credential_max_failures: int = 5
    credential_lock_minutes: int = 15


def load_face_settings(env: dict[str, str] | None = None) -> FaceSettings:
    return load_section("face", FaceSettings(), env)


_current: FaceSettings | None = None


def face_settings() -> FaceSettings:
    global _current
    if _current is None:
        _current = load_face_settings()
    return _current


def set_face_settings(value: FaceSettings | None) -> None:
    global _current
    _current = value
