"""Words for the codes the store keeps (punch states, verify modes, terminal kinds, correction
kinds, employment types, run outcomes): pages show these, never the codes. Bahasa Indonesia
here; English through the console's catalogue (hub/web/catalogue.py)."""

from __future__ import annotations

LABELS: dict[str, dict[str, str]] = {
    "state": {"check_in": "Datang", "check_out": "Pulang", "break_out": "Istirahat keluar",
              "break_in": "Istirahat kembali", "ot_in": "Lembur masuk", "ot_out": "Lembur pulang",
              "undefined": "Tidak ditentukan"},
    "verify": {"fingerprint": "Sidik jari", "face": "Wajah", "card": "Kartu", "password": "Kata sandi",
               "palm": "Telapak tangan", "gps_selfie": "Swafoto + GPS", "other": "Cara lain"},
    "kind": {"zk-tcp": "ZK (TCP)", "zk-udp": "ZK (UDP)", "zk-auto": "ZK (otomatis)", "zk-serial": "ZK (serial)",
             "adms": "ADMS (push)", "mqtt": "MQTT (push)", "usb": "USB", "mobile": "Aplikasi mobile"},
    "source": {"zk_tcp": "Tarik ZK (TCP)", "zk_udp": "Tarik ZK (UDP)", "zk_serial": "Tarik ZK (serial)",
               "adms": "Kiriman ADMS", "mqtt": "Kiriman MQTT", "file": "Berkas USB", "mobile": "Aplikasi mobile",
               "manual": "Manual"},
    "run": {"pull": "tarik", "live": "langsung", "push": "kiriman", "import": "impor", "mobile": "mobile",
            "ok": "berhasil", "error": "gagal", "running": "berjalan", "partial": "sebagian"},
    "correction": {"add_punch": "Tambah punch", "void_punch": "Batalkan punch", "set_status": "Tetapkan status"},
    "employment": {"pns": "PNS", "cpns": "CPNS", "pppk": "PPPK", "pppk_pw": "PPPK paruh waktu", "tks": "TKS",
                   "honorer": "Honorer", "non_asn": "Non-ASN"},
    "flag": {"clock_suspect": "jam diragukan", "unknown_pin": "PIN tak dikenal", "out_of_range": "tanggal mustahil",
             "photo_mismatch": "wajah tidak cocok", "unknown_device": "terminal tak dikenal",
             "outside_geofence": "di luar area"},
}


def label(kind: str, code: str | None) -> str:
    """The Indonesian word for a stored code ("" for none; an unknown code as it is)."""
    if code is None or code == "":
        return ""
    return LABELS.get(kind, {}).get(str(code), str(code))
