"""Messages the hub keeps (a failed pull, a sync item, a terminal's last error) are stored as a
code and its parameters, and rendered in the reader's language when shown: the console's
language switch and HUB_LANGUAGE change them, not the language of whoever wrote them.

`msg(code, **params)` is a str (rendered now, so logs and exceptions read as before) that
remembers its code; `stored(text)` is what goes into a column; `render(text, lang)` turns a
stored value back into words. Plain text (older rows, free text) is shown as it is.
"""

from __future__ import annotations

import json
from typing import Any

from hub.i18n import language

PREFIX = "msg:"
MAX_PARAM = 1500  # a parameter longer than this is cut, so a stored message stays whole

CATALOG: dict[str, tuple[str, str]] = {
    # pulls (hub.adapters.zk.coordinator)
    "pull.db_unavailable": (
        "basis data tidak tersedia: {cls}; terminal tidak disentuh, ulangi setelah basis data pulih",
        "database unavailable: {cls}; terminal left untouched, retry once the database is back"),
    "pull.comm_failed": ("gagal berkomunikasi: {detail}", "communication failed: {detail}"),
    "pull.unreadable": ("data terminal tidak dapat dibaca: {detail}", "terminal data cannot be read: {detail}"),
    "pull.db_write": ("gagal menyimpan ke basis data: {detail}", "could not write to the database: {detail}"),
    "pull.log_cleared": ("log terminal dikosongkan ({before} -> 0 catatan)",
                         "terminal log was cleared ({before} -> 0 records)"),
    "pull.log_shrank": ("log terminal dikosongkan/berkurang ({before} -> {after}); seluruh log dibaca",
                        "terminal log was cleared or shrank ({before} -> {after}); reading it all"),
    # clock and live sessions (hub.adapters.zk.clock, hub.adapters.zk.live)
    "clock.failed": ("penyetelan jam terminal gagal: {detail}; dicoba lagi pada jadwal berikutnya",
                     "setting the terminal clock failed: {detail}; retried at the next run"),
    "probe.failed": ("terminal tidak menjawab: {detail}; periksa daya, kabel jaringan, alamat IP/port dan comm key",
                     "the terminal did not answer: {detail}; check power, network cable, IP address/port and comm key"),
    "restart.failed": ("perintah mulai ulang tidak terkirim: {detail}", "the restart command was not sent: {detail}"),
    # what a terminal task or a scheduled job did (the console's tasks and job history)
    "task.pulled": ("{seen} catatan dibaca, {new} baru, {duplicate} sudah tersimpan",
                    "{seen} records read, {new} new, {duplicate} already stored"),
    "task.clock_set": ("jam disetel (sebelumnya selisih {offset} detik)", "clock set (it was {offset} s off)"),
    "task.probed": ("nomor seri {serial}; firmware {firmware}; {users}/{users_cap} pengguna; {records}/{rec_cap} "
                    "catatan; {fingers}/{fingers_cap} sidik jari; {faces}/{faces_cap} wajah; selisih jam {offset} "
                    "detik; dijawab dalam {seconds} detik",
                    "serial {serial}; firmware {firmware}; {users}/{users_cap} users; {records}/{rec_cap} records; "
                    "{fingers}/{fingers_cap} fingerprints; {faces}/{faces_cap} faces; clock offset {offset} s; "
                    "answered in {seconds} s"),
    "task.serial_differs": ("NOMOR SERI BERBEDA dari yang terdaftar ({registered}): periksa apakah alamat ini "
                            "terminal yang dimaksud",
                            "SERIAL DIFFERS from the registered one ({registered}): check that this address is "
                            "the intended terminal"),
    "task.restart_sent": ("perintah mulai ulang terkirim; terminal kembali dalam sekitar satu menit",
                          "restart sent; the terminal is back in about a minute"),
    "job.pulled": ("{terminals} terminal: {new} punch baru, {duplicate} duplikat, {unchanged} tidak berubah, "
                   "{failed} gagal", "{terminals} terminals: {new} new punches, {duplicate} duplicates, "
                   "{unchanged} unchanged, {failed} failed"),
    "job.clocks": ("{checked} terminal diperiksa, {synced} disetel, {failed} gagal",
                   "{checked} terminals checked, {synced} set, {failed} failed"),
    "job.synced": ("{terminals} terminal, {sent} perintah terkirim, {mismatch} belum cocok, {failed} gagal",
                   "{terminals} terminals, {sent} commands sent, {mismatch} not yet matching, {failed} failed"),
    "job.reconciled": ("{start} s.d. {end}: {employees} pegawai, {days} hari dihitung, {locked} hari terkunci "
                       "dilewati", "{start} to {end}: {employees} employees, {days} days computed, {locked} locked "
                       "days left alone"),
    "job.skipped_quiet": ("dilewati: jam tenang", "skipped: quiet hours"),
    "job.failed": ("gagal: {detail}", "failed: {detail}"),
    # the reviewer's bulk decisions (the exceptions page)
    "review.bulk_done": ("{done} keputusan dicatat; {skipped} baris tidak cocok dengan keputusan itu; {refused} "
                         "ditolak{first}", "{done} decisions recorded; {skipped} rows did not fit that decision; "
                         "{refused} refused{first}"),
    "review.bulk_empty": ("Centang baris dan pilih keputusan.", "Tick rows and choose a decision."),
    "leave.recorded": ("{type} {days} hari dicatat untuk {name}.", "{type}, {days} days, recorded for {name}."),
    "leave.recorded_scan": ("{type} {days} hari dicatat untuk {name}, dengan pindaian surat.",
                            "{type}, {days} days, recorded for {name}, with the scanned letter."),
    "roster.imported": ("Roster diimpor: {created} baru, {updated} diperbarui, {unchanged} tidak berubah, {errors} "
                        "baris ditolak.", "Roster imported: {created} new, {updated} updated, {unchanged} unchanged, "
                        "{errors} rows refused."),
    "sync.none_chosen": ("Centang terminal yang akan disinkronkan.", "Tick the terminals to sync."),
    "sync.started": ("Sinkronisasi dimulai: {zk} terminal ZK diantrekan, {push} terminal kiriman menerima perintahnya.",
                     "Sync started: {zk} ZK terminals queued, {push} push terminals got their commands."),
    "live.lost": ("sesi langsung terputus: {detail}; menyambung lagi dalam {delay} s",
                  "live session lost: {detail}; reconnecting in {delay} s"),
    "live.ended": ("sesi langsung berakhir; menyambung lagi", "live session ended; reconnecting"),
    # device sync (hub.sync.apply, hub.adapters.zk.roster)
    "sync.unreachable": (
        "terminal tidak dapat dihubungi ({detail}); perubahan dikirim lagi saat terminal kembali",
        "terminal unreachable ({detail}); the change is sent again when it is back"),
    "sync.link_lost": (
        "sambungan terputus di tengah sinkronisasi: {detail}; jalankan `hub sync apply` lagi",
        "connection lost during sync: {detail}; run `hub sync apply` again"),
    "sync.unsupported_kind": ("belum didukung untuk jenis {kind}", "not yet supported for kind {kind}"),
    "sync.command_refused": ("perintah ditolak: {detail}", "command refused: {detail}"),
    "sync.removals_held": (
        "{count} pengguna akan dihapus, di atas batas {limit}: penghapusan ditahan. Periksa "
        "`hub sync plan --device {serial}`, lalu jalankan ulang dengan --allow-removals {count}",
        "{count} users would be removed, above the limit of {limit}: removals held. Check "
        "`hub sync plan --device {serial}`, then rerun with --allow-removals {count}"),
    "sync.name_sent": ("nama dikirim sebagai {name!r}: {note}", "name sent as {name!r}: {note}"),
    "sync.user_absent_template_held": ("pengguna tidak ada di terminal; template ditunda",
                                       "user is not on the terminal; template held"),
    "sync.terminal_full": (
        "terminal penuh (kapasitas {cap} pengguna); pengguna dan templatnya tidak dikirim",
        "terminal full ({cap} users); user and templates not sent"),
    "sync.fingers_full": ("memori sidik jari terminal penuh (kapasitas {cap})",
                          "terminal fingerprint memory full ({cap})"),
    "sync.user_unencodable": ("data pengguna tidak dapat dikirim: {detail}", "user record cannot be sent: {detail}"),
    "sync.user_rejected": ("terminal menolak pengguna: {detail}", "terminal rejected the user: {detail}"),
    "sync.template_rejected": ("terminal menolak template jari {finger}: {detail}",
                               "terminal rejected the finger {finger} template: {detail}"),
    "sync.unknown_users": ("{count} pengguna di terminal tidak punya PIN di hub (dibiarkan)",
                           "{count} users on the terminal have no PIN in the hub (left alone)"),
    "sync.user_missing": ("pengguna tidak ada di terminal setelah dikirim",
                          "user missing on the terminal after sending"),
    "sync.user_differs": ("data pengguna di terminal berbeda dengan yang dikirim",
                          "user data on the terminal differs from what was sent"),
    "sync.template_missing": (
        "template jari {finger} tidak ada/berbeda di terminal setelah dikirim",
        "finger {finger} template missing or different on the terminal after sending"),
    "sync.user_still_there": ("pengguna masih ada di terminal setelah dihapus",
                              "user still on the terminal after removal"),
    "sync.queued_note": ("status berubah saat terminal mengonfirmasi tiap perintah",
                         "the state changes as the terminal confirms each command"),
}


class Msg(str):
    """A message rendered in the current language that keeps its code and parameters."""

    code: str
    params: dict[str, Any]

    def __new__(cls, code: str, params: dict[str, Any]) -> Msg:
        self = super().__new__(cls, _words(code, params, language()))
        self.code, self.params = code, params
        return self

    def __getnewargs__(self) -> tuple[str, dict[str, Any]]:  # type: ignore[override]
        return self.code, self.params  # pickled across the pull's worker processes


def msg(code: str, **params: Any) -> Msg:
    if code not in CATALOG:
        raise KeyError(f"no message {code!r} in hub.messages.CATALOG")
    clean = {k: v if isinstance(v, int | float) else str(v)[:MAX_PARAM] for k, v in params.items()}
    return Msg(code, clean)


def stored(text: str | None) -> str | None:
    """The column value for a message: its code and parameters, or plain text as it is."""
    if isinstance(text, Msg):
        return PREFIX + json.dumps({"c": text.code, "p": text.params}, ensure_ascii=False, sort_keys=True)
    return text


def render(text: str | None, lang: str | None = None) -> str:
    """A stored value in words of `lang` (the current language when None)."""
    if not text:
        return ""
    if not text.startswith(PREFIX):
        return text
    try:
        doc = json.loads(text[len(PREFIX):])
        return _words(doc["c"], doc["p"], lang or language())
    except (ValueError, KeyError, TypeError, IndexError):
        return text  # never hide what was kept, even when it cannot be read


def say(code: str, lang: str, **params: Any) -> str:
    """A catalogue message in `lang` now (for what is shown, not kept)."""
    return _words(code, params, lang)


def _words(code: str, params: dict[str, Any], lang: str) -> str:
    id_text, en_text = CATALOG[code]
    return (en_text if lang == "en" else id_text).format(**params)
