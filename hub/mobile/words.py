"""What the app tells the employee about a punch, in words: accepted, held for a reviewer
(and why, and what to do), and the slot it counted for ("Presensi masuk 07:41, tepat
waktu"), read from the reconciler's judgement of the day, never worked out here."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from hub.face.mobile import MobilePunchResult
from hub.i18n import tr
from hub.reconcile.period import month_days

HELD = {  # why a kept punch waits for a reviewer, and what the employee can do
    "outside_geofence": ("di luar semua lokasi yang diizinkan", "outside every allowed place",
                         "Bila Anda bertugas di luar kantor, minta atasan mencatat lokasi dinas luar Anda.",
                         "If you work away from the office, ask your supervisor to record your field place."),
    "photo_mismatch": ("wajah tidak cocok dengan wajah terdaftar", "the face does not match the enrolled one",
                       "Pastikan wajah Anda sendiri terlihat jelas; bila foto terdaftar lama, minta admin "
                       "memperbaruinya.",
                       "Make sure your own face is clearly visible; if your enrolled photo is old, ask an admin to "
                       "renew it."),
    "late_upload": ("terkirim lebih lambat dari batas presensi tanpa sinyal", "sent later than the offline limit",
                    "Buka aplikasi segera setelah sinyal kembali agar presensi terkirim tepat waktu.",
                    "Open the app as soon as the signal is back so the punch arrives in time."),
}


def slot_line(session: Session, result: MobilePunchResult) -> str:
    """Which punch of the day this was, as the reconciler judges the day now."""
    days, _ = month_days(session, result.local_time.date(), result.local_time.date(),
                         employee_ids={result.employee_id})
    day = next(iter(days.get(result.employee_id, [])), None)
    at = f"{result.local_time:%H:%M}"
    if day is not None and day.check_in == result.local_time:
        if day.late_min:
            return tr(f"Presensi masuk {at}, terlambat {day.late_min} menit",
                      f"Check-in at {at}, {day.late_min} min late")
        return tr(f"Presensi masuk {at}, tepat waktu", f"Check-in at {at}, on time")
    if day is not None and day.check_out == result.local_time:
        if day.early_min:
            return tr(f"Presensi pulang {at}, {day.early_min} menit sebelum waktunya",
                      f"Check-out at {at}, {day.early_min} min early")
        return tr(f"Presensi pulang {at}", f"Check-out at {at}")
    return tr(f"Presensi {at} tercatat", f"Punch at {at} recorded")


def verdict(session: Session, result: MobilePunchResult) -> dict[str, Any]:
    """The answer the app shows: outcome (accepted | held), a title, the lines under it."""
    lines: list[str] = []
    if result.duplicate:
        lines.append(tr("Presensi ini sudah diterima sebelumnya (kiriman ulang tidak dihitung dua kali).",
                        "This punch had already arrived (sent again, counted once)."))
    if result.queued_s >= 60:
        lines.append(tr(f"Diambil tanpa sinyal, terkirim {result.queued_s // 60} menit kemudian; "
                        "dihitung pada jam pengambilan.",
                        f"Taken without signal, sent {result.queued_s // 60} min later; counted at the time taken."))
    far = result.distance_m >= 1000
    d_id = f"{result.distance_m / 1000:.1f} km".replace(".", ",") if far else f"{result.distance_m:.0f} m"
    d_en = f"{result.distance_m / 1000:.1f} km" if far else f"{result.distance_m:.0f} m"
    where = tr(f"{result.place}: {d_id} dari titik lokasi (batas {result.radius_m} m)",
               f"{result.place}: {d_en} from the point (limit {result.radius_m} m)")
    if result.held:
        reasons = [HELD[f] for f in result.flags if f in HELD]
        lines.insert(0, tr("Presensi tersimpan, tetapi ditahan untuk diperiksa verifikator: ",
                           "The punch is kept but held for a reviewer: ")
                     + "; ".join(tr(r[0], r[1]) for r in reasons) + ".")
        lines.append(where)
        lines += [tr(r[2], r[3]) for r in reasons]
        return {"outcome": "held", "title": tr("Ditahan untuk diperiksa", "Held for review"), "lines": lines}
    lines.insert(0, slot_line(session, result))
    lines.append(where)
    return {"outcome": "accepted", "title": tr("Presensi diterima", "Punch accepted"), "lines": lines}
