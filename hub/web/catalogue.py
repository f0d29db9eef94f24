"""Page text: Bahasa Indonesia is the key, English the translation.

Templates call t("teks"); a missing English entry falls back to the Indonesian text (and a
test checks that every t("…") in the templates has one).
"""

from __future__ import annotations

from collections.abc import Callable

EN: dict[str, str] = {
    "Hub Absensi": "Attendance Hub",
    "Masuk": "Sign in",
    "Keluar": "Sign out",
    "Nama pengguna": "Username",
    "Kata sandi": "Password",
    "Nama pengguna atau kata sandi salah.": "Wrong username or password.",
    "Sesi berakhir atau formulir kedaluwarsa; silakan ulangi.": "Session ended or the form expired; please try again.",
    "Armada terminal": "Terminal fleet",
    "Terminal": "Terminal",
    "Daftarkan terminal": "Register a terminal",
    "Pegawai": "Employees",
    "Punch": "Punches",
    "Pengecualian harian": "Daily exceptions",
    "Persetujuan": "Approvals",
    "Rekap bulanan": "Monthly recap",
    "Kantor": "Office",
    "Semua kantor": "All offices",
    "Saring": "Filter",
    "Nomor seri": "Serial number",
    "Nama": "Name",
    "Jenis": "Kind",
    "Status": "Status",
    "Daring": "Online",
    "Luring": "Offline",
    "Terakhir terlihat": "Last seen",
    "Tarikan terakhir": "Last pull",
    "Antrean": "Backlog",
    "Selisih jam (detik)": "Clock offset (s)",
    "Galat": "Error",
    "Baris ditolak (tertahan)": "Rejected lines (held)",
    "Kepercayaan terminal": "Terminal trust",
    "Aplikasi presensi mobile": "Mobile attendance app",
    "Kredensial": "Credential",
    "belum diterbitkan": "not issued",
    "dicabut": "revoked",
    "diterbitkan": "issued",
    "Ponsel": "Phone",
    "terikat sejak": "bound since",
    "belum dipakai masuk": "not used to sign in yet",
    "Terkunci sampai": "Locked until",
    "Kode aktivasi (tampil sekali, berikan kepada pegawai):": "Activation code (shown once, give it to the employee):",
    "Terbitkan kode baru": "Issue a new code",
    "Terbitkan kode": "Issue a code",
    "Cabut": "Revoke",
    "Kode baru memutus ponsel lama; ponsel pertama yang masuk dengan kode itu menjadi ponsel pegawai.":
        "A new code signs the old phone out; the first phone to sign in with it becomes the employee's.",
    "Hanya diterima dari": "Accepted only from",
    "belum dipelajari (alamat kontak pertama akan dipakai)":
        "not learnt yet (its first contact's address will be used)",
    "Alamat baru ditolak": "New address refused",
    "percobaan; setujui bila terminal memang pindah:": "attempts; approve it if the terminal really moved:",
    "Kunci jalur": "Path key",
    "ya": "yes",
    "tidak": "no",
    "Terdaftar PUSH 3.x": "PUSH 3.x registered",
    "Permintaan ditolak": "Refused requests",
    "Jumlah": "Count",
    "Terakhir": "Last",
    "Dari": "From",
    "Kiriman terminal yang tidak dapat disimpan, apa adanya. Setelah perbaikan putar ulang dengan":
        "What the terminal sent that could not be stored, verbatim. After a fix, replay it with",
    "Tabel": "Table",
    "Baris": "Line",
    "Isi": "Content",
    "Diterima": "Received",
    "Terlalu banyak percobaan gagal: masuk dikunci sampai": "Too many failed attempts: signing in is locked until",
    "Hubungi IT untuk membukanya lebih cepat.": "Ask IT to lift it sooner.",
    "Gagal berturut-turut": "Consecutive failures",
    "sejak": "since",
    "Sambung ulang dalam (detik)": "Reconnecting in (seconds)",
    "Pulih terakhir": "Last recovered",
    "Belum pernah": "Never",
    "Tidak ada data.": "No data.",
    "Riwayat tarikan": "Pull history",
    "Mulai": "Started",
    "Selesai": "Finished",
    "Dilihat": "Seen",
    "Baru": "New",
    "Duplikat": "Duplicate",
    "Detik": "Seconds",
    "Alamat": "Address",
    "Zona waktu": "Time zone",
    "Aktif": "Enabled",
    "Ya": "Yes",
    "Tidak": "No",
    "Host / IP": "Host / IP",
    "Port": "Port",
    "Comm key (rahasia)": "Comm key (secret)",
    "Grup PIN": "PIN group",
    "Simpan": "Save",
    "Terminal terdaftar.": "Terminal registered.",
    "NIP / nomor induk": "NIP / staff number",
    "Jabatan": "Position",
    "Sidik jari": "Fingerprints",
    "Wajah": "Faces",
    "Templat": "Templates",
    "Format": "Format",
    "Jari": "Finger",
    "Dibuat": "Created",
    "Pendaftaran biometrik": "Biometric enrollments",
    "Perangkat": "Device",
    "Semua": "All",
    "Dari tanggal": "From date",
    "Sampai tanggal": "To date",
    "Tanda": "Flag",
    "Waktu lokal": "Local time",
    "Keadaan": "State",
    "Verifikasi": "Verify",
    "Sebelumnya": "Previous",
    "Berikutnya": "Next",
    "Halaman": "Page",
    "Tanggal": "Date",
    "Rincian": "Detail",
    "Usulan koreksi": "Proposed correction",
    "Usulkan": "Propose",
    "Alasan": "Reason",
    "Jam": "Time",
    "Menunggu persetujuan": "Awaiting approval",
    "Setujui": "Approve",
    "Tolak": "Reject",
    "Diusulkan oleh": "Proposed by",
    "Bulan": "Month",
    "Tampilkan": "Show",
    "Kunci periode": "Lock period",
    "Buka kunci": "Unlock",
    "Periode terkunci.": "Period locked.",
    "Periode terbuka.": "Period open.",
    "Unduh XLSX": "Download XLSX",
    "Unduh CSV": "Download CSV",
    "Hari kerja": "Work days",
    "Hadir": "Present",
    "Menit terlambat": "Minutes late",
    "Potongan %": "Deduction %",
    "TPP diterima": "TPP paid",
    "Masuk kerja": "Check-in",
    "Pulang": "Check-out",
    "Punch mentah": "Raw punches",
    "Koreksi": "Corrections",
    "Disetujui oleh": "Approved by",
    "Jejak audit": "Audit log",
    "TI (Diskominfo)": "IT (Diskominfo)",
    "Admin BKPSDM": "BKPSDM admin",
    "Operator OPD": "OPD operator",
    "Verifikator BKPSDM": "BKPSDM verifier",
    "Peninjau": "Reviewer",
    "Pelaku": "Actor",
    "Tindakan": "Action",
    "Akses ditolak": "Access denied",
    "Peran Anda tidak diizinkan membuka halaman ini.": "Your role is not allowed to open this page.",
    "Kantor ini di luar cakupan Anda.": "This office is outside the offices you work for.",
    "Tidak ditemukan": "Not found",
    "Kembali": "Back",
    "Pilih kantor dan tanggal.": "Choose an office and a date.",
    "Pilih kantor dan bulan.": "Choose an office and a month.",
    "Tidak ada pengecualian.": "No exceptions.",
    "Tidak ada koreksi yang menunggu.": "No corrections awaiting approval.",
    "Koreksi diusulkan.": "Correction proposed.",
    "Koreksi diputuskan.": "Correction decided.",
    "Jumlah punch": "Punches",
    "Bahasa": "Language",
    "Peran": "Role",
    # recap, lock, decisions
    "% TPP": "% of TPP",
    "Angka berubah sejak rekap yang Anda lihat; periksa lagi sebelum mengunci.":
        "The figures changed since the recap you viewed; check them again before locking.",
    "Angka di bawah dihitung ulang sekarang dengan semua koreksi yang sudah disetujui. Yang dibekukan adalah tepat "
    "angka ini (kode di bawah); bila sesuatu berubah sebelum Anda mengonfirmasi, penguncian ditolak dan pratinjau "
    "baru ditampilkan.":
        "The figures below were computed just now with every approved correction. Exactly these figures (the code "
        "below) are frozen; if anything changes before you confirm, the lock is refused and a new preview shown.",
    "Angka draf: dapat berubah sampai periode dikunci.": "Draft figures: they can change until the period is locked.",
    "Arti": "Meaning",
    "Berubah sejak rekonsiliasi tersimpan terakhir": "Changed since the last stored reconcile run",
    "Catatan (opsional)": "Note (optional)",
    "Dasar": "Basis",
    "Dikunci oleh": "Locked by",
    "JUMLAH": "TOTAL",
    "Jumlah per kode": "Count per code",
    "Keterangan kode": "Codes",
    "Kode": "Code",
    "Kode angka": "Figures code",
    "Konfirmasi dan bekukan": "Confirm and freeze",
    "Menit pulang cepat": "Minutes left early",
    "Nominal potongan": "Deduction (Rp)",
    "Putuskan": "Decide",
    "Ruleset": "Ruleset",
    "Sebelumnya %": "Before %",
    "Sekarang %": "Now %",
    "TD": "TD",
    "TV": "TV",
    "Terima semua": "Accept all",
    "Tidak ada.": "None.",
    "Tolak semua": "Reject all",
    "Unduh PDF": "Download PDF",
    "hari menunggu verifikasi: dibekukan dengan 0%.": "days awaiting review: frozen at 0%.",
    "hari tanpa data belum diputuskan: dibekukan dengan 0%.": "days without data still undecided: frozen at 0%.",
    "koreksi masih menunggu persetujuan dan tidak ikut dibekukan.": "corrections still await approval and are "
                                                                   "not frozen.",
    "punch tiba sesudah periode dikunci; disimpan, tidak dihitung": "punches arrived after the period was locked; "
                                                                     "kept, not counted",
    "terminal berfungsi: ketidakhadiran tetap TK": "terminal worked: the absence stands (TK)",
    "terminal mati: hadir (daftar manual)": "terminal was down: present (manual list)",
    "Keputusan dicatat.": "Decision recorded.",
}

# Codes shown in the exceptions queue.
EN.update({
    "missing_in": "missing check-in", "missing_out": "missing check-out", "absent": "absent",
    "late": "late", "early": "left early", "unknown_pin": "unknown PIN", "clock_suspect": "suspect clock",
    "photo_mismatch": "photo mismatch", "outside_geofence": "outside the geofence", "out_of_range": "impossible date",
    "missing_slot": "missing punch (slot)", "no_data": "no data from the terminal", "waiting": "awaiting review",
    "quarantine": "quarantined punches", "present": "present", "absent_decision": "absent",
    "accepted": "accepted", "rejected": "rejected",
})
ID_LABELS = {"missing_in": "tanpa absen masuk", "missing_out": "tanpa absen pulang",
             "absent": "tidak hadir", "late": "terlambat", "early": "pulang cepat", "unknown_pin": "PIN tak dikenal",
             "clock_suspect": "jam terminal meragukan", "photo_mismatch": "foto tidak cocok",
             "outside_geofence": "di luar geofence", "out_of_range": "tanggal mustahil",
             "missing_slot": "tanpa absen slot", "no_data": "terminal tanpa data", "waiting": "menunggu verifikasi",
             "quarantine": "punch ditahan", "present": "hadir", "accepted": "diterima", "rejected": "ditolak"}


def number_formatter(lang: str) -> Callable[[object, str], str]:
    """Figures as the reader writes them: 1.234.567 and 1,25 in Indonesian, 1,234,567 and
    1.25 in English. Percentages keep at most four decimals, as the reconciler computes."""
    def num(value: object, kind: str = "count") -> str:
        if not isinstance(value, int | float) or isinstance(value, bool):
            return "" if value is None else str(value)
        if kind == "pct":
            text = f"{value:.4f}".rstrip("0").rstrip(".") or "0"
            return text.replace(".", ",") if lang != "en" else text
        text = f"{int(value):,}"
        return text.replace(",", ".") if lang != "en" else text

    return num


def translator(lang: str) -> Callable[[str], str]:
    def t(text: str) -> str:
        if lang == "en":
            return EN.get(text, text)
        return ID_LABELS.get(text, text)

    return t
