"""hub face: enroll faces from photos, verify a photo, list the face review queue."""

from __future__ import annotations

from pathlib import Path
from typing import NoReturn

import typer
from sqlalchemy import select

from hub.cli.common import OutputFormat, cli_actor, console, emit, fail, store
from hub.i18n import tr

app = typer.Typer(help=tr("Wajah: daftar dari foto, verifikasi, antrean tinjauan.",
                          "Faces: enroll from photos, verify, review queue."),
                  no_args_is_help=True)

HINTS = {
    "no_face": ("pakai foto wajah tampak depan, satu orang, wajah terlihat jelas.",
                "use a frontal photo of one person with the face clearly visible."),
    "several_faces": ("potong foto sehingga hanya wajah pegawai ini yang terlihat.",
                      "crop the photo so only this employee's face shows."),
    "face_too_small": ("ambil foto lebih dekat (wajah minimal sepertiga lebar foto).",
                       "take the photo closer (face at least a third of the width)."),
    "too_dark": ("foto ulang di tempat yang lebih terang.", "retake it in better light."),
    "too_bright": ("foto ulang tanpa lampu kilat / cahaya langsung.",
                   "retake it without flash or direct light."),
    "too_blurred": ("foto ulang dengan kamera diam dan fokus ke wajah.",
                    "retake it with the camera still and focused on the face."),
    "undecodable": ("kirim berkas JPEG atau PNG.", "send a JPEG or PNG file."),
    "unknown_employee": ("impor pegawai dengan `hub employee import`.",
                         "import employees with `hub employee import`."),
    "not_enrolled": ("daftarkan wajahnya dulu: `hub face enroll NIP FOTO`.",
                     "enroll the face first: `hub face enroll NIP PHOTO`."),
}


def _fail(exc: Exception) -> NoReturn:
    from hub.face.errors import FaceError

    if isinstance(exc, FaceError):
        hint = HINTS.get(exc.code)
        fail(f"{exc.message} ({exc.code})", tr(*hint) if hint else None,
             code=2 if exc.status < 500 else 1)
    raise exc


@app.command("enroll")
def face_enroll(nip: str = typer.Argument(..., help="NIP pegawai"),
                photo: Path = typer.Argument(..., exists=True, dir_okay=False,
                                             help="foto wajah (JPEG/PNG)")) -> None:
    """Daftarkan wajah pegawai dari foto; wajah yang sudah terdaftar atas NIP lain ditandai."""
    from hub.face.enroll import enroll
    from hub.face.errors import FaceError

    with store() as s:
        try:
            with console.status(tr("Memeriksa foto dan menghitung ciri wajah…",
                                   "Checking the photo and computing the face encoding…")):
                result = enroll(s, nip, photo, cli_actor())
        except FaceError as exc:
            _fail(exc)
    m = result.metrics
    console.print(tr(
        f"[green]Wajah {result.id_number} terdaftar[/] (wajah {m['face_px']} px, kecerahan "
        f"{m['brightness']}, ketajaman {m['sharpness']}); foto terminal {result.photo_bytes} "
        "byte.",
        f"[green]Face of {result.id_number} enrolled[/] (face {m['face_px']} px, brightness "
        f"{m['brightness']}, sharpness {m['sharpness']}); terminal photo {result.photo_bytes} "
        "bytes."))
    for d in result.duplicates:
        console.print(tr(
            f"[yellow]Perlu ditinjau:[/] wajah ini mirip wajah NIP {d.id_number} ({d.name}): "
            f"jarak {d.distance:.3f} <= ambang {result.threshold} (tinjauan #{d.review_id}).",
            f"[yellow]Needs review:[/] this face matches NIP {d.id_number} ({d.name}): "
            f"distance {d.distance:.3f} <= threshold {result.threshold} "
            f"(review #{d.review_id})."))
    if result.duplicates:
        console.print(tr("Periksa di `hub face reviews`.", "See `hub face reviews`."),
                      style="dim")


@app.command("verify")
def face_verify(nip: str = typer.Argument(..., help="NIP pegawai"),
                photo: Path = typer.Argument(..., exists=True, dir_okay=False)) -> None:
    """Bandingkan foto dengan wajah terdaftar pegawai (kode keluar 0 cocok, 4 tidak cocok)."""
    from hub.face.enroll import employee_by_nip
    from hub.face.errors import FaceError
    from hub.face.verify import verify_photo

    with store() as s:
        try:
            emp = employee_by_nip(s, nip)
            result = verify_photo(s, emp.id, photo)
        except FaceError as exc:
            _fail(exc)
    if result.match:
        console.print(tr(f"[green]Cocok[/]: jarak {result.distance:.3f} <= ambang "
                         f"{result.threshold}.",
                         f"[green]Match[/]: distance {result.distance:.3f} <= threshold "
                         f"{result.threshold}."))
        return
    console.print(tr(f"[red]Tidak cocok[/]: jarak {result.distance:.3f} > ambang "
                     f"{result.threshold}.",
                     f"[red]No match[/]: distance {result.distance:.3f} > threshold "
                     f"{result.threshold}."))
    raise typer.Exit(4)


@app.command("reviews")
def face_reviews(include_closed: bool = typer.Option(False, "--all",
                                                     help="termasuk yang sudah ditutup"),
                 fmt: OutputFormat = typer.Option(OutputFormat.table, "--format")) -> None:
    """Antrean tinjauan wajah: identitas ganda dan foto punch yang tidak cocok."""
    from hub.face.verify import open_reviews
    from hub.store.models import Employee

    with store() as s:
        reviews = open_reviews(s, include_closed)
        ids = {r.employee_id for r in reviews} | {r.other_employee_id for r in reviews
                                                  if r.other_employee_id}
        nips = dict(s.execute(select(Employee.id, Employee.id_number)
                              .where(Employee.id.in_(ids))).all()) if ids else {}
        rows = [{"id": r.id, "kind": r.kind, "status": r.status,
                 "nip": nips.get(r.employee_id), "other_nip": nips.get(r.other_employee_id),
                 "punch_id": r.punch_id, "distance": r.distance, "threshold": r.threshold,
                 "created_at": r.created_at} for r in reviews]
    emit(rows, ["id", "kind", "status", "nip", "other_nip", "punch_id", "distance",
                "threshold", "created_at"], fmt, title=tr("Tinjauan wajah", "Face reviews"))


@app.command("resolve")
def face_resolve(review_id: int = typer.Argument(..., help="nomor tinjauan"),
                 dismiss: bool = typer.Option(False, "--dismiss",
                                              help="tandai sebagai alarm palsu"),
                 note: str = typer.Option("", "--note", help="catatan alasan")) -> None:
    """Tutup tinjauan wajah: terkonfirmasi (bawaan) atau --dismiss (alarm palsu)."""
    from hub.face.errors import FaceError
    from hub.face.verify import resolve_review

    status = "dismissed" if dismiss else "confirmed"
    with store() as s:
        try:
            resolve_review(s, review_id, status, cli_actor(), note)
        except FaceError as exc:
            _fail(exc)
    console.print(tr(f"Tinjauan #{review_id} ditutup: {status}.",
                     f"Review #{review_id} closed: {status}."))


@app.command("photo")
def face_photo(nip: str = typer.Argument(..., help="NIP pegawai"),
               out: Path = typer.Argument(..., dir_okay=False, help="berkas JPEG tujuan")) -> None:
    """Simpan foto siap-terminal pegawai (yang dikirim ke terminal wajah) ke berkas."""
    from hub.face.enroll import employee_by_nip, terminal_photo
    from hub.face.errors import FaceError

    with store() as s:
        try:
            emp = employee_by_nip(s, nip)
        except FaceError as exc:
            _fail(exc)
        got = terminal_photo(s, emp.id)
    if got is None:
        fail(tr(f"pegawai {nip} belum punya wajah terdaftar", f"employee {nip} has no face"),
             tr(*HINTS["not_enrolled"]))
    out.write_bytes(got[0])
    console.print(tr(f"{len(got[0])} byte ditulis ke {out} (sha256 {got[1][:12]}…).",
                     f"{len(got[0])} bytes written to {out} (sha256 {got[1][:12]}…)."))


@app.command("mobile-issue")
def mobile_issue(nip: str = typer.Argument(..., help="NIP pegawai")) -> None:
    """Terbitkan (atau reset) kode aktivasi aplikasi presensi mobile untuk satu pegawai.

    Kode tampil sekali. Ponsel yang pertama masuk dengannya menjadi ponsel pegawai itu;
    ponsel lain ditolak sampai kode direset lagi."""
    from hub.face import mobile_auth

    with store() as s:
        try:
            code = mobile_auth.issue(s, nip, cli_actor())
        except Exception as exc:  # noqa: BLE001 - FaceError and friends, reported in words
            _fail(exc)
    console.print(tr(f"Kode aktivasi {nip}: [bold]{code}[/] (tampil sekali; ponsel lama tidak bisa masuk lagi).",
                     f"Activation code for {nip}: [bold]{code}[/] (shown once; any earlier phone is signed out)."))


@app.command("mobile-revoke")
def mobile_revoke(nip: str = typer.Argument(..., help="NIP pegawai")) -> None:
    """Cabut kredensial mobile pegawai (pindah tugas, ponsel hilang): semua sesinya berakhir."""
    from hub.face import mobile_auth

    with store() as s:
        try:
            mobile_auth.revoke(s, nip, cli_actor())
        except Exception as exc:  # noqa: BLE001
            _fail(exc)
    console.print(tr(f"Kredensial mobile {nip} dicabut.", f"Mobile credential of {nip} revoked."))


@app.command("mobile-list")
def mobile_list(fmt: OutputFormat = typer.Option(OutputFormat.table, "--format")) -> None:
    """Kredensial mobile: terikat ke ponsel atau belum, terkunci, dicabut."""
    from hub.face.models import MobileCredential
    from hub.store.models import Employee

    with store() as s:
        rows = [{"nip": e.id_number, "name": e.name, "issued": c.issued_at, "by": c.issued_by,
                 "phone": tr("terikat", "bound") if c.device_hash else tr("belum", "not yet"),
                 "bound_at": c.bound_at or "", "locked_until": c.locked_until or "",
                 "revoked": c.revoked_at or ""}
                for c, e in s.execute(select(MobileCredential, Employee).join(
                    Employee, Employee.id == MobileCredential.employee_id).order_by(Employee.id_number))]
    emit(rows, ["nip", "name", "issued", "by", "phone", "bound_at", "locked_until", "revoked"], fmt,
         title=tr("Kredensial mobile", "Mobile credentials"))
