"""USB fallback: the attendance file a ZK terminal writes to a stick, and CSV exports.

attlog .dat (tab-separated, one punch per line, PIN right-aligned with spaces):

    PIN <TAB> YYYY-MM-DD HH:MM:SS <TAB> c3 <TAB> state <TAB> verify <TAB> workcode [...]

`c3` is the machine number on the units we know (usually 1); state and verify use the same
codes as the binary log, and go through the same mapping (hub.protocols.zk_codes) as
a network pull, so a punch imported from USB and pulled later is the same row. Files with
only four columns carry (PIN, time, verify, state).
A CSV export needs a header naming at least the PIN (or NIP) and time columns. A file keyed
by NIP (exports of other attendance systems) is not read as PINs: its punches carry the NIP
in `raw["nip"]` and the importer maps each to the employee's PIN on the terminal.

Every bad line is reported with its line number; the good lines are imported.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from hub.adapters.usb.normalise import normalise
from hub.i18n import tr
from hub.punch import Punch

TIME_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y/%m/%d %H:%M:%S", "%d/%m/%Y %H:%M:%S",
                "%d-%m-%Y %H:%M:%S", "%d/%m/%Y %H:%M")
PIN_NAMES = {"pin", "user_id", "userid", "user id", "ac-no", "ac-no.", "no", "id", "badge",
             "enroll number", "enrollnumber"}
NIP_NAMES = {"nip", "nip baru", "nip/ni pppk", "ni pppk", "nomor induk", "id_number"}
TIME_NAMES = {"time", "datetime", "date time", "timestamp", "waktu", "checktime",
              "check time", "tanggal jam"}
DATE_NAMES = {"date", "tanggal"}
CLOCK_NAMES = {"clock", "jam", "hour"}
STATE_NAMES = {"state", "status", "punch", "checktype", "check type", "in/out", "keterangan"}
VERIFY_NAMES = {"verify", "verifycode", "verify code", "verifymode", "verify mode", "verifikasi"}
WORKCODE_NAMES = {"workcode", "work code", "wc"}
MAX_BAD_SHOWN = 50


@dataclass
class FileProblem:
    line: int
    message: str

    def __str__(self) -> str:
        return tr(f"baris {self.line}: {self.message}", f"line {self.line}: {self.message}")


@dataclass
class ParsedFile:
    punches: list[Punch] = field(default_factory=list)
    problems: list[FileProblem] = field(default_factory=list)
    format: str = "attlog"
    lines: int = 0
    key: str = "pin"  # pin | nip: what the file names people by


def _time(text: str) -> datetime:
    text = text.strip()
    for fmt in TIME_FORMATS:
        try:
            return datetime.strptime(text, fmt)
        except ValueError:
            continue
    raise ValueError(tr(f"waktu '{text}' tidak dikenali (contoh: 2026-11-03 07:41:12)",
                        f"time '{text}' not understood (e.g. 2026-11-03 07:41:12)"))


def _code(text: str, what: str) -> int:
    text = text.strip()
    if text == "":
        return 0 if what != "verify" else 1
    if not text.isdigit() or int(text) > 255:
        raise ValueError(tr(f"{what} '{text}' bukan angka 0-255", f"{what} '{text}' is not 0-255"))
    return int(text)


def _pin(text: str) -> str:
    pin = text.strip()
    if not pin:
        raise ValueError(tr("PIN kosong", "empty PIN"))
    if len(pin) > 32 or any(c in pin for c in "\x00\r\n"):
        raise ValueError(tr(f"PIN '{pin[:40]}' tidak sah", f"PIN '{pin[:40]}' is not valid"))
    return pin


def parse_attlog(text: str, device_id: int, tz: str) -> ParsedFile:
    out = ParsedFile(format="attlog")
    for no, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        out.lines += 1
        cols = line.split("\t")
        if len(cols) < 2:
            out.problems.append(FileProblem(no, tr(
                f"{len(cols)} kolom; butuh minimal PIN dan waktu dipisah TAB",
                f"{len(cols)} column(s); need at least PIN and time separated by TAB")))
            continue
        try:
            pin = _pin(cols[0])
            when = _time(cols[1])
            extra = [c.strip() for c in cols[2:]]
            if len(extra) >= 3:
                state, verify = _code(extra[1], "state"), _code(extra[2], "verify")
            elif len(extra) == 2:
                verify, state = _code(extra[0], "verify"), _code(extra[1], "state")
            else:
                state, verify = 0, _code(extra[0] if extra else "", "verify")
            workcode = _code(extra[3], "workcode") if len(extra) >= 4 else 0
        except ValueError as exc:
            out.problems.append(FileProblem(no, str(exc)))
            continue
        out.punches.append(normalise(device_id, tz, pin, when, state, verify, workcode,
                                  {"line": no, "fields": cols[2:]}))
    return out


def _find(header: list[str], names: set[str]) -> int | None:
    for i, h in enumerate(header):
        if h.strip().lower() in names:
            return i
    return None


def parse_csv(text: str, device_id: int, tz: str) -> ParsedFile:
    out = ParsedFile(format="csv")
    sample = text[:4096]
    try:
        dialect = csv.Sniffer().sniff(sample, delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "")
    rows = csv.reader(io.StringIO(text, newline=""), dialect)
    try:
        header = next(rows, None)
    except csv.Error as exc:
        out.problems.append(FileProblem(1, tr(f"header CSV rusak: {exc}", f"bad CSV header: {exc}")))
        return out
    if not header:
        out.problems.append(FileProblem(1, tr("berkas kosong", "empty file")))
        return out
    pin_i = _find(header, PIN_NAMES)
    nip_i = _find(header, NIP_NAMES)
    if pin_i is None and nip_i is not None:
        out.key = "nip"
        pin_i = nip_i
    time_i = _find(header, TIME_NAMES)
    date_i, clock_i = _find(header, DATE_NAMES), _find(header, CLOCK_NAMES)
    if pin_i is None or (time_i is None and (date_i is None or clock_i is None)):
        out.problems.append(FileProblem(1, tr(
            f"header {header!r} harus memuat kolom PIN (atau NIP) dan waktu (atau tanggal + jam)",
            f"header {header!r} must name a PIN (or NIP) column and a time (or date + clock) column")))
        return out
    state_i, verify_i = _find(header, STATE_NAMES), _find(header, VERIFY_NAMES)
    work_i = _find(header, WORKCODE_NAMES)
    no = 1
    while True:
        try:
            row = next(rows)
        except StopIteration:
            break
        except csv.Error as exc:
            out.problems.append(FileProblem(rows.line_num, tr(f"CSV rusak: {exc}",
                                                              f"bad CSV: {exc}")))
            break
        no = rows.line_num
        if not any(c.strip() for c in row):
            continue
        out.lines += 1

        def col(i: int | None, row: list[str] = row) -> str:
            return row[i] if i is not None and i < len(row) else ""

        try:
            pin = _pin(col(pin_i))
            when = _time(col(time_i) if time_i is not None else f"{col(date_i)} {col(clock_i)}")
            state = _code(col(state_i), "state")
            verify = _code(col(verify_i), "verify")
            workcode = _code(col(work_i), "workcode")
        except ValueError as exc:
            out.problems.append(FileProblem(no, str(exc)))
            continue
        out.punches.append(normalise(device_id, tz, pin, when, state, verify, workcode,
                                  {"line": no, "nip": pin} if out.key == "nip" else {"line": no}))
    return out


def parse_file(path: Path, device_id: int, tz: str) -> ParsedFile:
    data = path.read_bytes()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("latin-1")
    if "\x00" in text:
        out = ParsedFile()
        out.problems.append(FileProblem(1, tr(
            "berkas biner (bukan attlog teks/CSV); ekspor ulang sebagai teks dari terminal",
            "binary file (not a text attlog/CSV); export it again as text from the terminal")))
        return out
    first = next((ln for ln in text.splitlines() if ln.strip()), "")
    is_csv = path.suffix.lower() == ".csv" or ("\t" not in first and ("," in first or ";" in first))
    return parse_csv(text, device_id, tz) if is_csv else parse_attlog(text, device_id, tz)
