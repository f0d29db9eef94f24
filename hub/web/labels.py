"""Words for the codes the store keeps (punch states, verify modes, terminal kinds, correction
kinds, employment types, run outcomes): pages show these, never the codes. Bahasa Indonesia
here; English through the console's catalogue (hub/web/catalogue.py)."""

from __future__ import annotations

from collections.abc import Callable

from hub.web.models import ROLE_NAMES

LABELS: dict[str, dict[str, str]] = {
    "state": {"check_in": "Datang", "check_out": "Pulang", "break_out": "Istirahat keluar",
              "break_in": "Istirahat kembali", "ot_in": "Lembur masuk", "ot_out": "Lembur pulang",
              "undefined": "Tidak ditentukan"},
    "verify": {"fingerprint": "Sidik jari", "face": "Wajah", "card": "Kartu", "password": "Kata sandi",
               "palm": "Telapak tangan", "gps_selfie": "Swafoto + GPS", "other": "Cara lain"},
    "kind": {"zk-tcp": "ZK (TCP)", "zk-udp": "ZK (UDP)", "zk-auto": "ZK (otomatis)", "zk-serial": "ZK (serial)",
             "adms": "ADMS (push)", "mqtt": "MQTT (push)", "usb": "USB", "mobile": "Aplikasi mobile",
             "hik-isapi": "Hikvision (ISAPI)"},
    "source": {"zk_tcp": "Tarik ZK (TCP)", "zk_udp": "Tarik ZK (UDP)", "zk_serial": "Tarik ZK (serial)",
               "adms": "Kiriman ADMS", "mqtt": "Kiriman MQTT", "file": "Berkas USB", "mobile": "Aplikasi mobile",
               "manual": "Manual", "isapi": "Tarik Hikvision (ISAPI)"},
    "run": {"pull": "tarik", "live": "langsung", "push": "kiriman", "import": "impor", "mobile": "mobile",
            "ok": "berhasil", "error": "gagal", "running": "berjalan", "partial": "sebagian", "skipped": "dilewati"},
    "task": {"pull": "Tarik sekarang", "pull_full": "Tarik penuh", "sync_time": "Setel jam",
             "probe": "Uji koneksi & baca kapasitas", "restart": "Mulai ulang", "harvest": "Cadangkan template",
             "sync": "Sinkron roster"},
    "request": {"queued": "antre", "running": "berjalan", "done": "selesai", "cancelled": "dibatalkan"},
    "job": {"pull_incremental": "Tarik bertahap", "pull_full": "Tarik penuh", "clock_check": "Cek jam terminal",
            "roster_sync": "Sinkron roster", "reconcile": "Rekonsiliasi harian", "monthly_recap": "Rekap bulan lalu",
            "punch_photos": "Periksa foto punch"},
    "entity": {"device": "terminal", "device_command": "perintah terminal", "employee": "pegawai",
               "face_review": "tinjauan wajah", "hub": "hub", "period": "periode", "push_registration":
               "pendaftaran terminal", "raw_punch": "punch", "terminal_day": "hari terminal", "user": "pengguna",
               "correction": "koreksi", "file": "berkas", "leave": "cuti/izin", "pin_group": "grup PIN",
               "ruleset": "aturan", "site": "kantor", "daily_status": "status harian",
               "rejected_lines": "baris ditolak", "mobile_credential": "kode mobile"},
    "field": {"id_number": "NIP", "employment_type": "status pegawai", "name": "nama", "site_id": "kantor",
              "position": "jabatan", "grade": "golongan", "monthly_tpp": "TPP", "joined_on": "TMT",
              "left_on": "tanggal keluar", "active": "aktif"},
    "sync": {"ok": "berhasil", "partial": "sebagian", "failed": "gagal", "unchanged": "tidak berubah",
             "skipped": "dilewati", "running": "berjalan"},
    "review": {"open": "terbuka", "confirmed": "temuan nyata", "dismissed": "alarm palsu"},
    "leave_state": {"approved": "disetujui", "pending": "menunggu persetujuan", "rejected": "ditolak"},
    "correction": {"add_punch": "Tambah punch", "void_punch": "Batalkan punch", "set_status": "Tetapkan status"},
    "employment": {"pns": "PNS", "cpns": "CPNS", "pppk": "PPPK", "pppk_pw": "PPPK paruh waktu", "tks": "TKS",
                   "honorer": "Honorer", "non_asn": "Non-ASN"},
    "flag": {"clock_suspect": "jam diragukan", "unknown_pin": "PIN tak dikenal", "out_of_range": "tanggal mustahil",
             "photo_mismatch": "wajah tidak cocok", "unknown_device": "terminal tak dikenal",
             "outside_geofence": "di luar area", "late_upload": "terkirim terlambat"},
    "action": {"login": "masuk", "login.failed": "gagal masuk", "login.locked": "masuk dikunci",
               "correction.propose": "mengusulkan koreksi", "correction.approve": "menyetujui koreksi",
               "correction.reject": "menolak koreksi", "leave.add": "mencatat cuti/izin",
               "nodata.decide": "memutuskan hari tanpa data", "punch.review": "memutuskan punch ditahan",
               "period.lock": "mengunci periode", "period.unlock": "membuka periode",
               "device.add": "mendaftarkan terminal", "device.pull": "menarik log terminal",
               "device.sync_time": "menyetel jam terminal", "device.edit": "mengubah terminal",
               "device.listen": "mengatur kiriman langsung terminal",
               "device.remove": "menghapus terminal", "device.retire": "memensiunkan terminal",
               "device.task": "meminta tugas terminal", "device.probe": "menguji koneksi terminal",
               "device.restart": "memulai ulang terminal", "push.approve": "menyetujui terminal",
               "push.reject": "menolak terminal", "command.queue": "mengantrekan perintah",
               "user.add": "membuat pengguna", "user.disable": "menonaktifkan pengguna",
               "user.enable": "mengaktifkan pengguna", "user.password": "mengganti kata sandi",
               "user.bind": "menetapkan kantor pengguna", "token.add": "membuat token API",
               "token.revoke": "mencabut token API", "face.enroll": "mendaftarkan wajah",
               "ruleset.load": "memuat aturan", "ruleset.assign": "menetapkan aturan",
               "reconcile.run": "menghitung rekap harian", "roster.set": "mengisi jadwal shift",
               "mobile.credential.issue": "menerbitkan kode mobile",
               "mobile.credential.revoke": "mencabut kode mobile", "leave.request": "mengajukan cuti/izin",
               "leave.approve": "menyetujui cuti/izin", "leave.reject": "menolak cuti/izin",
               "leave.scan": "melampirkan surat", "place.add": "mencatat lokasi dinas luar",
               "place.remove": "menghapus lokasi dinas luar"},
}
# Detail keys of the audit log, in words.
DETAIL_WORDS = {"employee_id": "pegawai #", "day": "tanggal", "kind": "jenis", "reason": "alasan", "note": "catatan",
                "serial": "terminal", "username": "pengguna", "role": "peran", "sites": "kantor", "month": "bulan",
                "site": "kantor", "decision": "keputusan", "status": "status", "name": "nama", "days": "hari",
                "address": "alamat", "start": "mulai", "end": "sampai", "type": "jenis", "reference": "nomor surat",
                "task": "tugas", "reported_serial": "nomor seri terbaca", "offset_s": "selisih jam (detik)",
                "enabled": "aktif", "host": "host", "port": "port", "tz": "zona waktu", "pin_group": "grup PIN",
                "comm_key": "comm key", "full": "penuh", "new": "baru", "error": "galat"}


def describe(details: dict | None, t: Callable[[str], str] = str) -> str:
    """An audit record's details as a person reads them (codes turned into words), in the
    reader's language when given their translator `t`."""
    parts = []
    for key, value in (details or {}).items():
        if value in (None, "", [], {}):
            continue
        if key == "kind":
            value = t(label("correction", value) if value in LABELS["correction"] else label("kind", value))
        elif key == "task":
            value = t(label("task", value))
        elif key == "role":
            value = t(ROLE_NAMES.get(str(value), str(value)))
        elif isinstance(value, list):
            value = ", ".join(str(v) for v in value)
        parts.append(f"{t(DETAIL_WORDS[key]) if key in DETAIL_WORDS else key}: {value}")
    return "; ".join(parts)


def label(kind: str, code: str | None) -> str:
    """The Indonesian word for a stored code ("" for none; an unknown code as it is)."""
    if code is None or code == "":
        return ""
    return LABELS.get(kind, {}).get(str(code), str(code))
