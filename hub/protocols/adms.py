"""ZKTeco ADMS / iclock PUSH text formats (reference/push-protocols.md part A). Pure, no I/O.

Every parser raises `AdmsError` saying what is wrong and where (line number, field). Batch
parsers (ATTLOG, OPERLOG) return the good records and the errors of the bad lines apart, so
one malformed line does not sink its batch (A.8).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from hub.protocols.zk_codes import zk_state, zk_verify
from hub.punch import State, Verify

TABLES = ("ATTLOG", "OPERLOG", "ATTPHOTO", "BIODATA", "BIOPHOTO", "USERPIC", "ERRORLOG",
          "IDCARD", "OPTIONS")
STAMP_TABLES = ("ATTLOG", "OPERLOG", "ATTPHOTO", "BIODATA")
OPER_KINDS = ("OPLOG", "USER", "FP", "FACE", "USERPIC", "BIOPHOTO", "BIODATA")
_SERIAL = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$")
_PIN = re.compile(r"^[A-Za-z0-9_.-]{1,32}$")
_STAMP = re.compile(r"^[0-9]{1,20}$|^None$")
MAX_STAMP = 0xFFFFFFFF  # terminals count their upload position in 32 bits
_LOCAL = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}\Z")


class AdmsError(ValueError):
    """Malformed ADMS input; `where` says which line/field, `what` what is wrong."""

    def __init__(self, what: str, where: str = "") -> None:
        self.what = what
        self.where = where
        super().__init__(f"{where}: {what}" if where else what)


# --- query string -------------------------------------------------------------------------


@dataclass(frozen=True)
class CdataQuery:
    serial: str
    table: str | None = None
    stamp: str | None = None
    options: str | None = None
    pushver: str | None = None
    language: str | None = None


def parse_serial(value: str | None) -> str:
    if value is None or value == "":
        raise AdmsError("parameter SN kosong / missing", "query SN")
    if not _SERIAL.match(value):
        raise AdmsError(f"nomor seri tidak sah / invalid serial {value[:64]!r}", "query SN")
    return value


def parse_query(params: Mapping[str, str]) -> CdataQuery:
    """The query string of /iclock/cdata (keys are matched case-insensitively)."""
    low = {k.lower(): v for k, v in params.items()}
    serial = parse_serial(low.get("sn"))
    table = low.get("table")
    if table is not None:
        table = table.strip().upper()
        if table not in TABLES:
            raise AdmsError(f"tabel tidak dikenal / unknown table {table[:32]!r}", "query table")
    stamp = low.get("stamp")
    if stamp is not None and stamp != "" and not _STAMP.match(stamp):
        raise AdmsError(f"Stamp bukan angka / not a number: {stamp[:32]!r}", "query Stamp")
    if stamp and stamp.isdigit() and int(stamp) > MAX_STAMP:
        # a cursor past anything a terminal counts would make it skip what it holds
        raise AdmsError(f"Stamp {stamp[:24]} di luar batas / beyond {MAX_STAMP}", "query Stamp")
    return CdataQuery(serial=serial, table=table, stamp=stamp or None,
                      options=low.get("options"), pushver=low.get("pushver"),
                      language=low.get("language"))


# --- handshake ----------------------------------------------------------------------------


def timezone_value(offset_minutes: int) -> str:
    """`TimeZone` as firmware reads it: whole hours as hours, otherwise minutes (A.7.3)."""
    if offset_minutes % 60 == 0 and abs(offset_minutes // 60) < 25:
        return str(offset_minutes // 60)
    return str(offset_minutes)


def handshake_reply(serial: str, stamps: Mapping[str, str], tz_offset_minutes: int,
                    delay_s: int = 10, error_delay_s: int = 30, realtime: bool = True,
                    server_ver: str = "hub-1.0") -> str:
    """The `GET OPTION FROM` block; keys in the order of the 2025 document's §5."""
    lines = [f"GET OPTION FROM: {serial}"]
    for table in STAMP_TABLES:
        stamp = stamps.get(table, "0")
        # a stored stamp that no terminal could have sent is never echoed back (cursor poisoning)
        lines.append(f"{table}Stamp={stamp if not stamp.isdigit() or int(stamp) <= MAX_STAMP else '0'}")
    lines += [
        f"ErrorDelay={error_delay_s}",
        f"Delay={delay_s}",
        "TransTimes=00:00;14:05",
        "TransInterval=1",
        "TransFlag=TransData AttLog OpLog AttPhoto EnrollUser ChgUser EnrollFP ChgFP "
        "FACE UserPic BioPhoto",
        f"TimeZone={timezone_value(tz_offset_minutes)}",
        f"Realtime={1 if realtime else 0}",
        "Encrypt=None",
        f"ServerVer={server_ver}",
        "PushProtVer=2.4.1",
    ]
    return "\n".join(lines) + "\n"


def parse_handshake_reply(text: str) -> dict[str, str]:
    """What a terminal reads from the handshake reply (used by the simulator and tests)."""
    lines = [ln.strip() for ln in text.replace("\r\n", "\n").split("\n") if ln.strip()]
    if not lines or not lines[0].startswith("GET OPTION FROM"):
        raise AdmsError("balasan bukan 'GET OPTION FROM' / not an options reply", "line 1")
    out: dict[str, str] = {}
    for n, line in enumerate(lines[1:], start=2):
        if "=" not in line:
            raise AdmsError(f"baris tanpa '=' / line without '=': {line[:60]!r}", f"line {n}")
        k, v = line.split("=", 1)
        out[k.strip()] = v.strip()
    return out


# --- PUSH 3.x registration and session (A.3, Security PUSH) --------------------------------

_OPTION_KEY = re.compile(r"^~?[A-Za-z][A-Za-z0-9_]{0,63}$")
MAX_REGISTRY_BODY = 64 * 1024


def parse_registry(text: str) -> dict[str, str]:
    """The body of `POST /iclock/registry`: `Key=Value` pairs separated by commas (newlines
    are tolerated). A value may itself hold `=`; an empty item is skipped."""
    if len(text) > MAX_REGISTRY_BODY:
        raise AdmsError(f"isi pendaftaran terlalu panjang / registry body over {MAX_REGISTRY_BODY} "
                        "characters", "registry")
    out: dict[str, str] = {}
    for n, item in enumerate(re.split(r"[,\r\n]+", text), start=1):
        item = item.strip()
        if not item:
            continue
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or not _OPTION_KEY.match(key):
            raise AdmsError(f"bukan pasangan Kunci=Nilai / not a Key=Value pair: {item[:40]!r}",
                            f"registry item {n}")
        out[key] = value.strip()
    return out


def format_registry(options: Mapping[str, str]) -> str:
    """What a PUSH 3.x terminal posts (simulator, tests)."""
    return ",".join(f"{k}={v}" for k, v in options.items())


def session_token(registry_code: str, serial: str, session_id: str) -> str:
    """The `Cookie: token=` of a PUSH 3.x terminal in session (Security PUSH §7.2)."""
    return hashlib.md5(f"{registry_code}{serial}{session_id}".encode()).hexdigest()  # noqa: S324 - firmware's


def registry_reply(code: str) -> str:
    return f"RegistryCode={code}\n"


def parse_kv_reply(text: str) -> dict[str, str]:
    """`Key=Value` lines (registry and push replies), as a terminal reads them."""
    out: dict[str, str] = {}
    for n, line in enumerate(text.replace("\r\n", "\n").split("\n"), start=1):
        line = line.strip()
        if not line:
            continue
        key, sep, value = line.partition("=")
        if not sep or not key.strip():
            raise AdmsError(f"bukan Kunci=Nilai / not Key=Value: {line[:40]!r}", f"line {n}")
        out[key.strip()] = value.strip()
    return out


def push_config_reply(session_id: str, tz_offset_minutes: int, delay_s: int = 10,
                      error_delay_s: int = 30, server_ver: str = "hub-1.0") -> str:
    """The `/iclock/push` configuration block of PUSH 3.x (A.3 Security PUSH keys)."""
    return "\n".join([
        f"ServerVersion={server_ver}",
        "ServerName=hub",
        "PushVersion=3.1.2",
        f"ErrorDelay={error_delay_s}",
        f"RequestDelay={delay_s}",
        "TransTimes=00:00;14:05",
        "TransInterval=1",
        "TransTables=User Transaction",
        "Realtime=1",
        f"SessionID={session_id}",
        "TimeoutSec=10",
        f"TimeZone={timezone_value(tz_offset_minutes)}",
    ]) + "\n"


# --- ATTLOG -------------------------------------------------------------------------------


@dataclass(frozen=True)
class AttRecord:
    pin: str
    local_time: datetime
    status: int
    verify: int
    work_code: str | None
    line_no: int
    raw: tuple[str, ...]

    @property
    def state(self) -> State:
        return zk_state(self.status)

    @property
    def verify_label(self) -> Verify:
        return zk_verify(self.verify)


@dataclass
class Parsed:
    """Good records and the errors of the lines that were refused."""

    records: list = field(default_factory=list)
    errors: list[AdmsError] = field(default_factory=list)
    rejected: list[tuple[int, str, AdmsError]] = field(default_factory=list)  # (line no, line verbatim, why)


def _lines(body: str) -> list[tuple[int, str]]:
    out = []
    for n, line in enumerate(body.replace("\r\n", "\n").replace("\r", "\n").split("\n"),
                             start=1):
        if line.strip():
            out.append((n, line))
    return out


def _pin(value: str, where: str) -> str:
    value = value.strip()
    if not _PIN.match(value):
        raise AdmsError(f"PIN tidak sah / invalid PIN {value[:40]!r}", where)
    return value


def _time(value: str, where: str) -> datetime:
    value = value.strip()
    try:
        if value.isdigit():  # some firmware sends Unix seconds (s0x90)
            return datetime.utcfromtimestamp(int(value))
        if not _LOCAL.match(value):
            raise ValueError
        return datetime.fromisoformat(value)  # fast C parser; the regex pins the shape
    except (ValueError, OverflowError, OSError):
        raise AdmsError(f"waktu tidak sah / invalid time {value[:40]!r} "
                        "(YYYY-MM-DD HH:MM:SS)", where) from None


def _int(value: str, where: str, lo: int = 0, hi: int = 255) -> int:
    value = value.strip()
    if value == "":
        return 0
    try:
        n = int(value)
    except ValueError:
        raise AdmsError(f"bukan angka / not a number: {value[:40]!r}", where) from None
    if not lo <= n <= hi:
        raise AdmsError(f"di luar {lo}-{hi} / out of range: {n}", where)
    return n


def parse_attlog_line(line: str, line_no: int = 1) -> AttRecord:
    where = f"ATTLOG line {line_no}"
    if len(line) > 4096:
        raise AdmsError("baris terlalu panjang / line too long", where)
    parts = line.rstrip("\r\n").split("\t")
    if len(parts) < 2:
        raise AdmsError("kurang dari 2 kolom (PIN, waktu) / fewer than 2 TAB-separated fields",
                        where)
    pin = _pin(parts[0], f"{where} field 1 (PIN)")
    when = _time(parts[1], f"{where} field 2 (time)")
    status = _int(parts[2], f"{where} field 3 (status)") if len(parts) > 2 else 0
    verify = _int(parts[3], f"{where} field 4 (verify)") if len(parts) > 3 else 0
    work = parts[4].strip() if len(parts) > 4 and parts[4].strip() not in ("", "0") else None
    if work is not None and len(work) > 32:
        raise AdmsError("WorkCode lebih dari 32 karakter / longer than 32", f"{where} field 5")
    return AttRecord(pin, when, status, verify, work, line_no, tuple(parts))


def parse_attlog(body: str) -> Parsed:
    out = Parsed()
    for n, line in _lines(body):
        try:
            out.records.append(parse_attlog_line(line, n))
        except AdmsError as exc:
            out.errors.append(exc)
            out.rejected.append((n, line, exc))
    return out


def format_attlog(records: list[tuple[str, datetime, int, int]]) -> str:
    """ATTLOG body as a terminal sends it (simulator)."""
    return "".join(f"{pin}\t{t:%Y-%m-%d %H:%M:%S}\t{s}\t{v}\t0\t0\t0\n"
                   for pin, t, s, v in records)


# --- OPERLOG / BIODATA --------------------------------------------------------------------


@dataclass(frozen=True)
class OperRecord:
    kind: str  # OPLOG | USER | FP | FACE | USERPIC | BIOPHOTO | BIODATA
    fields: dict[str, str]
    line_no: int

    @property
    def pin(self) -> str | None:
        for key in ("PIN", "Pin", "pin"):
            if key in self.fields:
                return self.fields[key]
        return None


_B64_KEYS = {"TMP", "Tmp", "Content"}


def parse_oper_line(line: str, line_no: int = 1, table: str = "OPERLOG") -> OperRecord:
    where = f"{table} line {line_no}"
    line = line.rstrip("\r\n")
    head, sep, rest = line.partition(" ")
    kind = head.strip().upper()
    if kind not in OPER_KINDS:
        raise AdmsError(f"jenis baris tidak dikenal / unknown line kind {head[:20]!r}", where)
    if kind == "OPLOG":
        parts = rest.split("\t")
        if len(parts) < 3:
            raise AdmsError("OPLOG butuh OpType, OpWho, OpTime / needs 3 fields", where)
        _time(parts[2], f"{where} field 3 (OpTime)")
        names = ("OpType", "OpWho", "OpTime", "Value1", "Value2", "Value3", "Reserved")
        return OperRecord(kind, dict(zip(names, (p.strip() for p in parts), strict=False)),
                          line_no)
    fields: dict[str, str] = {}
    for i, item in enumerate(rest.split("\t"), start=1):
        if not item.strip():
            continue
        if "=" not in item:
            raise AdmsError(f"'{item[:30]}' bukan key=value / not key=value",
                            f"{where} field {i}")
        k, v = item.split("=", 1)
        fields[k.strip()] = v
    pin = next((fields[k] for k in ("PIN", "Pin", "pin") if k in fields), None)
    if pin is None:
        raise AdmsError("PIN tidak ada / PIN missing", where)
    _pin(pin, f"{where} field PIN")
    for key in _B64_KEYS & fields.keys():
        try:
            base64.b64decode(fields[key], validate=True)
        except (binascii.Error, ValueError):
            raise AdmsError("base64 tidak sah / invalid base64", f"{where} field {key}") from None
    return OperRecord(kind, fields, line_no)


def parse_operlog(body: str, table: str = "OPERLOG") -> Parsed:
    out = Parsed()
    for n, line in _lines(body):
        try:
            out.records.append(parse_oper_line(line, n, table))
        except AdmsError as exc:
            out.errors.append(exc)
            out.rejected.append((n, line, exc))
    return out


# --- photos -------------------------------------------------------------------------------

_JPEG = b"\xff\xd8\xff"
_PHOTO_NAME = re.compile(r"^(\d{14})(?:-([A-Za-z0-9_.-]{1,32}))?\.jpg$")


@dataclass(frozen=True)
class AttPhoto:
    file_name: str
    taken_at: datetime
    pin: str | None  # None: failed or stranger verification
    jpeg: bytes


def parse_attphoto(body: bytes) -> AttPhoto:
    """`PIN=<stamp>-<pin>.jpg\\nSN=..\\nsize=..\\nCMD=uploadphoto<sep><JPEG>` (A.4)."""
    if not isinstance(body, bytes | bytearray):
        raise AdmsError("isi harus bytes / body must be bytes", "ATTPHOTO")
    start = body.find(_JPEG)
    marker = body.find(b"CMD=")
    if marker < 0:
        raise AdmsError("penanda CMD= tidak ada / no CMD= marker", "ATTPHOTO header")
    header = body[:marker].decode("ascii", "replace")
    head: dict[str, str] = {}
    for n, line in enumerate(header.replace("\r", "").split("\n"), start=1):
        if line.strip():
            if "=" not in line:
                raise AdmsError(f"baris tanpa '=' / line without '=': {line[:40]!r}",
                                f"ATTPHOTO header line {n}")
            k, v = line.split("=", 1)
            head[k.strip()] = v.strip()
    name = head.get("PIN")
    if not name:
        raise AdmsError("nama berkas (PIN=) tidak ada / file name missing", "ATTPHOTO header PIN")
    m = _PHOTO_NAME.match(name)
    if not m:
        raise AdmsError(f"nama berkas tidak sah / invalid file name {name[:60]!r}",
                        "ATTPHOTO header PIN")
    try:
        taken = datetime.strptime(m.group(1), "%Y%m%d%H%M%S")
    except ValueError:
        raise AdmsError(f"waktu di nama berkas tidak sah / invalid time in {name!r}",
                        "ATTPHOTO header PIN") from None
    if start < 0:
        pic = body.find(b"picture=")
        if pic < 0:
            raise AdmsError("tidak ada data JPEG / no JPEG data", "ATTPHOTO body")
        try:
            jpeg = base64.b64decode(body[pic + 8:].strip(), validate=True)
        except (binascii.Error, ValueError):
            raise AdmsError("base64 tidak sah / invalid base64", "ATTPHOTO picture=") from None
        if not jpeg.startswith(_JPEG):
            raise AdmsError("bukan JPEG / not a JPEG", "ATTPHOTO picture=")
    else:
        jpeg = bytes(body[start:])
    size = head.get("size")
    if size is not None:
        if not size.isdigit():
            raise AdmsError(f"size bukan angka / not a number: {size[:20]!r}", "ATTPHOTO size")
        if int(size) != len(jpeg):
            raise AdmsError(f"size={size} tetapi JPEG {len(jpeg)} byte / but JPEG has "
                            f"{len(jpeg)} bytes", "ATTPHOTO size")
    return AttPhoto(name, taken, m.group(2), jpeg)


def format_attphoto(serial: str, taken_at: datetime, pin: str | None, jpeg: bytes) -> bytes:
    name = f"{taken_at:%Y%m%d%H%M%S}" + (f"-{pin}" if pin else "") + ".jpg"
    return (f"PIN={name}\nSN={serial}\nsize={len(jpeg)}\nCMD=uploadphoto".encode()
            + b"\x00" + jpeg)


@dataclass(frozen=True)
class BioPhoto:
    pin: str
    type: int
    file_name: str
    jpeg: bytes
    line_no: int


def parse_biophoto(body: str) -> Parsed:
    """BIOPHOTO lines: `BIOPHOTO PIN=..\\tNo=..\\tType=..\\tFileName=..\\tSize=..\\tContent=<b64>`."""
    out = Parsed()
    for n, line in _lines(body):
        try:
            rec = parse_oper_line(line if line.upper().startswith("BIOPHOTO") else
                                  "BIOPHOTO " + line, n, "BIOPHOTO")
            content = rec.fields.get("Content")
            if not content:
                raise AdmsError("Content kosong / empty", f"BIOPHOTO line {n} field Content")
            jpeg = base64.b64decode(content)
            type_ = _int(rec.fields.get("Type", "9"), f"BIOPHOTO line {n} field Type", 0, 99)
            out.records.append(BioPhoto(rec.pin or "", type_,
                                        rec.fields.get("FileName", f"{rec.pin}.jpg")[:200],
                                        jpeg, n))
        except AdmsError as exc:
            out.errors.append(exc)
    return out


# --- commands -----------------------------------------------------------------------------

_UNSAFE = str.maketrans({"\t": " ", "\r": " ", "\n": " "})


def clean(value: object) -> str:
    """User data inside a command: no TAB/CR/LF, which would inject fields or commands."""
    return str(value).translate(_UNSAFE)


def format_command(cmd_id: int | str, verb: str, fields: Mapping[str, object] | None = None
                   ) -> str:
    """`C:<id>:<VERB> k=v<TAB>k=v` (A.5)."""
    cid = str(cmd_id)
    if not cid or ":" in cid or any(c in cid for c in "\t\r\n"):
        raise AdmsError(f"ID perintah tidak sah / invalid command id {cid!r}", "command id")
    line = f"C:{cid}:{clean(verb)}"
    if fields:
        line += " " + "\t".join(f"{clean(k)}={clean(v)}" for k, v in fields.items())
    return line


def parse_command_line(line: str) -> tuple[str, str, dict[str, str]]:
    """Terminal side: `C:<id>:<command>` -> (id, verb, fields)."""
    if not line.startswith("C:"):
        raise AdmsError(f"perintah tidak diawali C: / not a C: command {line[:40]!r}", "command")
    try:
        _, cid, rest = line.split(":", 2)
    except ValueError:
        raise AdmsError("format C:<ID>:<perintah> / expected C:<ID>:<command>",
                        "command") from None
    if not cid:
        raise AdmsError("ID perintah kosong / empty command id", "command id")
    verb, _, args = rest.partition(" ")
    for word in ("UPDATE", "DELETE", "QUERY"):
        if verb == "DATA" and args.startswith(word + " "):
            table, _, args = args[len(word) + 1:].partition(" ")
            verb = f"DATA {word} {table}"
            break
    fields: dict[str, str] = {}
    for item in args.split("\t"):
        if "=" in item:
            k, v = item.split("=", 1)
            fields[k] = v
    return cid, verb, fields


@dataclass(frozen=True)
class CommandResult:
    cmd_id: str
    code: int
    cmd: str
    extra: dict[str, str]


def parse_devicecmd(body: str) -> Parsed:
    """`ID=<id>&Return=<code>&CMD=<verb>` lines (A.5); INFO results carry k=v lines after."""
    out = Parsed()
    current: CommandResult | None = None
    for n, line in _lines(body):
        where = f"devicecmd line {n}"
        if line.startswith("ID=") and "&" in line:
            parts: dict[str, str] = {}
            for item in line.strip().split("&"):
                if "=" not in item:
                    out.errors.append(AdmsError(f"'{item[:30]}' bukan key=value", where))
                    break
                k, v = item.split("=", 1)
                parts[k] = v
            else:
                try:
                    cid = parts.get("ID", "")
                    if not cid:
                        raise AdmsError("ID kosong / empty", f"{where} field ID")
                    if "Return" not in parts:
                        raise AdmsError("Return tidak ada / missing", f"{where} field Return")
                    code = _int(parts["Return"], f"{where} field Return", -100000, 100000)
                    current = CommandResult(cid, code, parts.get("CMD", ""), {})
                    out.records.append(current)
                except AdmsError as exc:
                    out.errors.append(exc)
                    current = None
            continue
        if current is not None and "=" in line:
            k, v = line.split("=", 1)
            current.extra[k.strip()] = v.strip()
        else:
            out.errors.append(AdmsError(f"baris tidak dikenal / unexpected line {line[:40]!r}",
                                        where))
    return out


def format_user_line(pin: str, name: str, privilege: int = 0, card: str = "") -> str:
    """A USER line as a terminal uploads it in OPERLOG (simulator, tests)."""
    return (f"USER PIN={pin}\tName={name}\tPri={privilege}\tPasswd=\tCard={card}\tGrp=1"
            f"\tTZ=0000000100000000\tVerify=0\n")


def format_devicecmd(results: list[tuple[str, int, str]]) -> str:
    return "".join(f"ID={cid}&Return={code}&CMD={verb}\n" for cid, code, verb in results)


# Canonical command op -> ADMS command (verb, fields).
def command_for(op: str, data: Mapping[str, object]) -> tuple[str, dict[str, object]]:
    if op == "user.upsert":
        user = data.get("user", data)
        assert isinstance(user, Mapping)
        return "DATA UPDATE USERINFO", {
            "PIN": user["id"], "Name": user.get("name", ""),
            "Pri": 14 if user.get("role") == "admin" else 0, "Passwd": "",
            "Card": user.get("card", "") or "", "Grp": 1, "TZ": "0000000100000000",
            "Verify": -1}
    if op == "user.delete":
        return "DATA DELETE USERINFO", {"PIN": data["user_id"]}
    if op == "template.set":
        return "DATA UPDATE BIODATA", {
            "Pin": data["user_id"], "No": data.get("no", 0), "Index": 0, "Valid": 1,
            "Duress": 0, "Type": data.get("type", 1), "MajorVer": data.get("alg_ver", 10),
            "MinorVer": 0, "Format": 0, "Tmp": data["data_b64"]}
    if op == "face.set":
        photo = data.get("photo", {})
        assert isinstance(photo, Mapping)
        b64 = str(photo.get("b64", ""))
        return "DATA UPDATE BIOPHOTO", {
            "PIN": data["user_id"], "Type": 9, "Size": len(b64), "Content": b64,
            "Format": 0, "Url": photo.get("url", ""), "PostBackTmpFlag": 0}
    if op == "users.list":  # the terminal uploads its users as OPERLOG USER lines (a read-back)
        pin = data.get("user_id")
        return "DATA QUERY USERINFO", ({"PIN": pin} if pin else {})
    if op == "device.time.set":
        return "CHECK", {}
    if op == "events.resend":
        return "DATA QUERY ATTLOG", {"StartTime": data.get("from_time", ""),
                                     "EndTime": data.get("to_time", "")}
    if op == "device.reboot":
        return "REBOOT", {}
    if op == "device.info":
        return "INFO", {}
    raise AdmsError(f"operasi tidak didukung lewat ADMS / op not supported over ADMS: {op}",
                    "command op")
