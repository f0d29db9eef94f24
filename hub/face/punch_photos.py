"""Terminal punch photos (ADMS ATTPHOTO) against the employee's enrolled face.

A terminal sends a punch's photo beside its ATTLOG line, in any order. A scheduled job
(hub.scheduler.jobs.punch_photos) takes the photos not yet checked, finds the punch each one
belongs to (same terminal, PIN and second), and compares the face with the employee's
enrolled one. A photo that does not match flags the punch PHOTO_MISMATCH and opens a face
review; the ruleset's quarantine then holds the punch until a reviewer decides. Photos of
unknown PINs or of employees never enrolled are kept, marked, and not compared.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from hub.face.errors import FaceError
from hub.face.settings import FaceSettings, face_settings
from hub.face.verify import check_punch_photo
from hub.push.models import PushPhoto
from hub.secrets import decrypt
from hub.store.models import RawPunch, utcnow

WAIT_FOR_PUNCH = timedelta(hours=24)  # the ATTLOG line may come after its photo


def check_pending_photos(engine: Engine, limit: int = 200, settings: FaceSettings | None = None,
                         now: datetime | None = None) -> dict[str, Any]:
    """Check up to `limit` unchecked punch photos; returns counts per verdict."""
    s_face = settings or face_settings()
    now = now or utcnow()
    counts: dict[str, int] = {}
    with Session(engine) as s:
        photos = list(s.scalars(select(PushPhoto).where(PushPhoto.kind == "attphoto",
                                                        PushPhoto.checked_at.is_(None))
                                .order_by(PushPhoto.id).limit(limit)))
        for photo in photos:
            verdict = _check(s, photo, s_face, now)
            if verdict is None:
                counts["waiting"] = counts.get("waiting", 0) + 1
                continue
            photo.checked_at, photo.check_result = now, verdict
            counts[verdict] = counts.get(verdict, 0) + 1
            s.commit()  # one photo at a time: a failure later leaves the earlier verdicts
    return counts


def _check(s: Session, photo: PushPhoto, settings: FaceSettings, now: datetime) -> str | None:
    punch = None
    if photo.pin is not None and photo.local_time is not None:
        punch = s.scalar(select(RawPunch).where(RawPunch.device_id == photo.device_id,
                                                RawPunch.pin == photo.pin,
                                                RawPunch.local_time == photo.local_time).limit(1))
    if punch is None:
        return "no_punch" if photo.received_at < now - WAIT_FOR_PUNCH else None
    photo.punch_id = punch.id
    if punch.employee_id is None:
        return "unknown_pin"
    try:
        result = check_punch_photo(s, punch.id, decrypt(photo.content), actor="punch-photo-check",
                                   settings=settings)
    except FaceError as exc:
        if exc.code == "not_enrolled":
            return "not_enrolled"
        raise
    return "match" if result.match else "mismatch"
