"""Hikvision ISAPI for access-control and face terminals (MinMoe, DS-K1T...), as in
reference/push-protocols.md section C. Pure: request bodies out, replies in, no I/O.

Every parser raises `IsapiError` saying what is wrong and where (a JSON path), so a
terminal's odd reply is refused with its reason and never half-read. Times carry their
offset on this vendor (unlike ZKTeco); a time without one is refused, not guessed.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from hub.commands import valid_period
from hub.punch import State, Verify

MAJOR_ACCESS = 5  # MAJOR_EVENT: a person at the door (the rest: alarms, exceptions, operations)
# Minor codes (HCNetSDK constants) of a person who passed, by what they passed with; only
# these are punches. A failed or unknown person, a door alarm, an operation: kept as events.
PASSED: dict[int, Verify] = {
    0x01: Verify.CARD,  # legal card
    0x26: Verify.FINGERPRINT,  # fingerprint compared
    0x28: Verify.FINGERPRINT,  # card and fingerprint
    0x2B: Verify.FINGERPRINT,  # card, fingerprint and password
    0x2E: Verify.FINGERPRINT,  # fingerprint and password
    0x36: Verify.FACE,  # face and fingerprint
    0x39: Verify.FACE,  # face and password
    0x3C: Verify.FACE,  # face and card
    0x3F: Verify.FACE,  # face, password and fingerprint
    0x42: Verify.FACE,  # face, card and fingerprint
    0x45: Verify.FINGERPRINT,  # employee no. and fingerprint
    0x48: Verify.FINGERPRINT,  # employee no., fingerprint and password
    0x4B: Verify.FACE,  # face
    0x4D: Verify.FACE,  # employee no. and face
    0x68: Verify.PASSWORD,  # employee no. and password
    0xB5: Verify.PASSWORD,  # password
}
FACE_FAILED = 0x4C
STATES = {"checkIn": State.CHECK_IN, "checkOut": State.CHECK_OUT, "breakOut": State.BREAK_OUT,
          "breakIn": State.BREAK_IN, "overtimeIn": State.OT_IN, "overtimeOut": State.OT_OUT,
          "undefined": State.UNDEFINED}
SEARCH_STATUS = ("OK", "MORE", "NO MATCH")
_EMPLOYEE = re.compile(r"^[A-Za-z0-9_.-]{1,32}$")
_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?(Z|[+-]\d{2}:\d{2})$")
MAX_SERIAL = 2**53


class IsapiError(ValueError):
    """An ISAPI body the hub cannot take; `where` is the JSON path, `what` the reason."""

    def __init__(self, what: str, where: str = "") -> None:
        self.what, self.where = what, where
        super().__init__(f"{where}: {what}" if where else what)


# --- values ---------------------------------------------------------------------------------


def parse_time(value: object, where: str = "time") -> datetime:
    """ISO 8601 with its offset ("2026-11-02T07:01:02+07:00"), as an aware datetime."""
    if not isinstance(value, str) or not _TIME.match(value):
        raise IsapiError(f"bukan waktu ISO 8601 dengan zona / not an ISO 8601 time with offset: {str(value)[:40]!r}",
                         where)
    try:
        when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise IsapiError(f"tanggal mustahil / impossible date: {value!r}", where) from None
    offset = when.utcoffset()
    if offset is None or abs(offset) > timedelta(hours=14):
        raise IsapiError(f"zona waktu mustahil / impossible offset: {value!r}", where)
    return when


def format_time(when: datetime) -> str:
    """The form terminals take: seconds, with the offset ("2026-11-02T07:00:00+07:00")."""
    if when.tzinfo is None:
        raise IsapiError("waktu tanpa zona / a time without its offset", "time")
    return when.replace(microsecond=0).isoformat()


def _obj(value: object, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise IsapiError(f"harus objek JSON / must be a JSON object, not {type(value).__name__}", where)
    return value


def _int(value: object, where: str, low: int = 0, high: int = MAX_SERIAL) -> int:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise IsapiError(f"harus bilangan bulat / must be an integer: {str(value)[:20]!r}", where)
    try:
        number = int(value)
    except ValueError:
        raise IsapiError(f"harus bilangan bulat / must be an integer: {str(value)[:20]!r}", where) from None
    if not low <= number <= high:
        raise IsapiError(f"di luar {low}..{high} / out of range: {number}", where)
    return number


def _text(value: object, where: str, limit: int = 128) -> str:
    if value is None:
        return ""
    if not isinstance(value, str | int) or isinstance(value, bool):
        raise IsapiError(f"harus teks / must be text: {type(value).__name__}", where)
    text = str(value)
    if len(text) > limit or "\x00" in text:
        raise IsapiError(f"terlalu panjang atau berisi NUL / too long or holds NUL ({len(text)})", where)
    return text


def load(body: bytes | str | Mapping[str, Any], where: str = "body") -> Mapping[str, Any]:
    if isinstance(body, Mapping):
        return body
    try:
        doc = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise IsapiError(f"bukan JSON / not JSON ({exc.__class__.__name__})", where) from None
    return _obj(doc, where)


# --- events ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Event:
    """One entry of the terminal's event log (AcsEvent InfoList, or a pushed event)."""

    serial_no: int
    major: int
    minor: int
    time: datetime  # aware, as the terminal stamped it
    employee_no: str = ""
    name: str = ""
    card_no: str = ""
    verify_mode: str = ""
    attendance: str = ""
    door_no: int | None = None
    picture_url: str = ""

    @property
    def verify(self) -> Verify | None:
        """How the person passed, or None when this is not a punch."""
        if self.major != MAJOR_ACCESS or not self.employee_no:
            return None
        return PASSED.get(self.minor)

    @property
    def state(self) -> State:
        return STATES.get(self.attendance, State.UNDEFINED)

    def as_dict(self) -> dict[str, Any]:
        return {"serialNo": self.serial_no, "major": self.major, "minor": self.minor, "time": format_time(self.time),
                "employeeNoString": self.employee_no, "name": self.name, "cardNo": self.card_no,
                "currentVerifyMode": self.verify_mode, "attendanceStatus": self.attendance,
                "doorNo": self.door_no, "pictureURL": self.picture_url}


def parse_event(item: object, where: str = "event") -> Event:
    d = _obj(item, where)
    for key in ("serialNo", "major", "minor", "time"):
        if key not in d:
            raise IsapiError(f"tidak ada / missing '{key}'", where)
    employee = _text(d.get("employeeNoString") or d.get("employeeNo"), f"{where}.employeeNoString", 32)
    if employee and not _EMPLOYEE.match(employee):
        raise IsapiError(f"nomor pegawai tidak sah / invalid employee number {employee!r}", f"{where}.employeeNoString")
    attendance = _text(d.get("attendanceStatus"), f"{where}.attendanceStatus", 32)
    if attendance and attendance not in STATES:
        raise IsapiError(f"status kehadiran tidak dikenal / unknown attendance status {attendance!r}",
                         f"{where}.attendanceStatus")
    door = d.get("doorNo")
    return Event(serial_no=_int(d["serialNo"], f"{where}.serialNo", 1),
                 major=_int(d["major"], f"{where}.major", 0, 255),
                 minor=_int(d["minor"], f"{where}.minor", 0, 0xFFFF), time=parse_time(d["time"], f"{where}.time"),
                 employee_no=employee, name=_text(d.get("name"), f"{where}.name"),
                 card_no=_text(d.get("cardNo"), f"{where}.cardNo", 32),
                 verify_mode=_text(d.get("currentVerifyMode"), f"{where}.currentVerifyMode", 64),
                 attendance=attendance,
                 door_no=None if door in (None, "") else _int(door, f"{where}.doorNo", 0, 255),
                 picture_url=_text(d.get("pictureURL"), f"{where}.pictureURL", 512))


@dataclass(frozen=True)
class SearchPage:
    search_id: str
    status: str  # OK (the last page) | MORE | NO MATCH
    total: int  # totalMatches: every match of the search, not this page
    events: tuple[Event, ...]

    @property
    def more(self) -> bool:
        return self.status == "MORE"


def search_body(search_id: str, position: int, max_results: int, start: datetime, end: datetime,
                major: int = MAJOR_ACCESS, minor: int = 0, newest_first: bool = False) -> dict[str, Any]:
    """An AcsEvent search (POST /ISAPI/AccessControl/AcsEvent?format=json), one page;
    `newest_first` (timeReverseOrder) asks for the newest events first."""
    return {"AcsEventCond": {"searchID": search_id, "searchResultPosition": position, "maxResults": max_results,
                             "major": major, "minor": minor, "startTime": format_time(start),
                             "endTime": format_time(end), "timeReverseOrder": newest_first}}


def parse_search(body: bytes | str | Mapping[str, Any]) -> SearchPage:
    doc = load(body)
    ev = _obj(doc.get("AcsEvent"), "AcsEvent")
    status = ev.get("responseStatusStrg")
    if status not in SEARCH_STATUS:
        raise IsapiError(f"responseStatusStrg tidak dikenal / unknown: {str(status)[:20]!r}",
                         "AcsEvent.responseStatusStrg")
    items = ev.get("InfoList", [])
    if status == "NO MATCH":
        items = items or []
    if not isinstance(items, list):
        raise IsapiError("harus daftar / must be a list", "AcsEvent.InfoList")
    events = tuple(parse_event(item, f"AcsEvent.InfoList[{i}]") for i, item in enumerate(items))
    count = _int(ev.get("numOfMatches", len(events)), "AcsEvent.numOfMatches", 0, 10**7)
    if count != len(events):
        raise IsapiError(f"numOfMatches {count} tetapi InfoList {len(events)} / but InfoList holds {len(events)}",
                         "AcsEvent.numOfMatches")
    return SearchPage(_text(ev.get("searchID"), "AcsEvent.searchID"), status,
                      _int(ev.get("totalMatches", len(events)), "AcsEvent.totalMatches", 0, MAX_SERIAL), events)


def search_reply(search_id: str, events: list[Event], total: int, more: bool) -> dict[str, Any]:
    """The reply a terminal gives (the simulator's side of parse_search)."""
    status = "MORE" if more else ("OK" if events else "NO MATCH")
    out: dict[str, Any] = {"searchID": search_id, "responseStatusStrg": status, "numOfMatches": len(events),
                           "totalMatches": total}
    if events:
        out["InfoList"] = [e.as_dict() for e in events]
    return {"AcsEvent": out}


def total_body(start: datetime, end: datetime, major: int = MAJOR_ACCESS, minor: int = 0) -> dict[str, Any]:
    return {"AcsEventTotalNumCond": {"major": major, "minor": minor, "startTime": format_time(start),
                                     "endTime": format_time(end)}}


def parse_total(body: bytes | str | Mapping[str, Any]) -> int:
    doc = _obj(load(body).get("AcsEventTotalNum"), "AcsEventTotalNum")
    return _int(doc.get("totalNum"), "AcsEventTotalNum.totalNum", 0, MAX_SERIAL)


# --- replies and errors -----------------------------------------------------------------------


@dataclass(frozen=True)
class Status:
    """A ResponseStatus: statusCode 1 is OK; subStatusCode names what went wrong."""

    code: int
    string: str
    sub: str
    message: str = ""

    @property
    def ok(self) -> bool:
        return self.code == 1

    def __str__(self) -> str:
        return f"{self.sub or self.string} ({self.code}){': ' + self.message if self.message else ''}"


def parse_status(body: bytes | str | Mapping[str, Any]) -> Status:
    doc = load(body)
    doc = doc.get("ResponseStatus", doc) if isinstance(doc.get("ResponseStatus"), Mapping) else doc
    return Status(_int(doc.get("statusCode"), "statusCode", 0, 10**6), _text(doc.get("statusString"), "statusString"),
                  _text(doc.get("subStatusCode"), "subStatusCode"), _text(doc.get("errorMsg"), "errorMsg", 512))


def status_reply(code: int = 1, string: str = "OK", sub: str = "ok", message: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {"statusCode": code, "statusString": string, "subStatusCode": sub}
    if message:
        out["errorMsg"] = message
    return out


# --- HTTP digest (RFC 7616, MD5: what terminals offer) ----------------------------------------


def parse_digest(header: str) -> dict[str, str]:
    """`Digest realm="...", nonce="...", qop="auth"` (a challenge or an Authorization) -> its
    parameters. Quoted values may hold commas; unknown parameters are kept."""
    scheme, _, rest = header.strip().partition(" ")
    if scheme.lower() != "digest":
        raise IsapiError(f"bukan Digest / not Digest: {scheme[:20]!r}", "WWW-Authenticate")
    out: dict[str, str] = {}
    for m in re.finditer(r'\s*([A-Za-z0-9_-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))\s*,?', rest):
        out[m.group(1).lower()] = m.group(2) if m.group(2) is not None else m.group(3)
    if "realm" not in out or "nonce" not in out:
        raise IsapiError("realm atau nonce tidak ada / realm or nonce missing", "WWW-Authenticate")
    return out


def digest_expected(params: Mapping[str, str], method: str, password: str) -> str:
    """The `response` a client that knows `password` sends for these Authorization params."""
    def md5(text: str) -> str:
        return hashlib.md5(text.encode(), usedforsecurity=False).hexdigest()

    ha1 = md5(f"{params.get('username', '')}:{params.get('realm', '')}:{password}")
    ha2 = md5(f"{method}:{params.get('uri', '')}")
    if params.get("qop"):
        return md5(f"{ha1}:{params.get('nonce', '')}:{params.get('nc', '')}:{params.get('cnonce', '')}:"
                   f"{params['qop']}:{ha2}")
    return md5(f"{ha1}:{params.get('nonce', '')}:{ha2}")


# --- device info (XML: the default format; some firmware answers JSON with ?format=json) ------

XMLNS = "http://www.hikvision.com/ver20/XMLSchema"
INFO_FIELDS = ("deviceName", "deviceID", "model", "serialNumber", "macAddress", "firmwareVersion",
               "firmwareReleasedDate", "deviceType")


def _xml(body: bytes | str, where: str) -> Any:
    import xml.etree.ElementTree as ET  # noqa: PLC0415 (expat refuses entity expansion bombs)

    raw = body.encode() if isinstance(body, str) else body
    if len(raw) > 256 * 1024 or b"<!DOCTYPE" in raw or b"<!ENTITY" in raw:
        raise IsapiError("XML terlalu besar atau memuat DOCTYPE / too large or holds a DOCTYPE", where)
    try:
        return ET.fromstring(raw)
    except ET.ParseError as exc:
        raise IsapiError(f"XML rusak / broken XML: {exc}", where) from None


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def parse_device_info(body: bytes | str) -> dict[str, str]:
    """DeviceInfo (GET /ISAPI/System/deviceInfo) -> its fields; serialNumber is required."""
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    if text.lstrip().startswith("{"):
        doc = _obj(load(text).get("DeviceInfo"), "DeviceInfo")
        out = {k: _text(doc.get(k), f"DeviceInfo.{k}") for k in INFO_FIELDS if doc.get(k) not in (None, "")}
    else:
        root = _xml(body, "DeviceInfo")
        if _local(root.tag) != "DeviceInfo":
            raise IsapiError(f"bukan DeviceInfo / not a DeviceInfo: <{_local(root.tag)[:30]}>", "DeviceInfo")
        out = {}
        for child in root:
            name = _local(child.tag)
            if name in INFO_FIELDS and child.text:
                out[name] = _text(child.text.strip(), f"DeviceInfo.{name}")
    if not out.get("serialNumber"):
        raise IsapiError("serialNumber tidak ada / missing", "DeviceInfo.serialNumber")
    return out


def device_info_xml(fields: Mapping[str, str]) -> str:
    from xml.sax.saxutils import escape  # noqa: PLC0415

    inner = "".join(f"<{k}>{escape(str(v))}</{k}>" for k, v in fields.items())
    return f'<?xml version="1.0" encoding="UTF-8"?>\n<DeviceInfo version="2.0" xmlns="{XMLNS}">{inner}</DeviceInfo>\n'


# --- users and faces (the roster pushed to the terminal) --------------------------------------

NAME_LIMIT = 32  # bytes of UTF-8 a MinMoe keeps of a person's name
FACE_LIB = {"faceLibType": "blackFD", "FDID": "1"}


def _period_days(valid: str) -> tuple[date, date]:
    first, _, last = valid.partition("..")
    try:
        return date.fromisoformat(first), date.fromisoformat(last)
    except ValueError:
        raise IsapiError(f"masa berlaku tidak sah / invalid period {valid[:40]!r}", "UserInfo.Valid") from None


def user_record(employee_no: str, name: str, valid: str = "") -> dict[str, Any]:
    """A person (UserInfo/Record or Modify): valid for the period given (whole days, local
    time), door 1 by plan 1."""
    if not _EMPLOYEE.match(employee_no):
        raise IsapiError(f"nomor pegawai tidak sah / invalid employee number {employee_no!r}", "UserInfo.employeeNo")
    first, last = _period_days(valid or valid_period(None, None))
    period = {"enable": True, "timeType": "local", "beginTime": f"{first.isoformat()}T00:00:00",
              "endTime": f"{last.isoformat()}T23:59:59"}
    return {"UserInfo": {"employeeNo": employee_no, "name": name, "userType": "normal", "Valid": period,
                         "doorRight": "1", "RightPlan": [{"doorNo": 1, "planTemplateNo": "1"}]}}


def _read_period(raw: Any, where: str) -> str:
    """The period a terminal reports back, in valid_period's form ("" when it reports none)."""
    if raw is None:
        return ""
    raw = _obj(raw, where)
    days = []
    for key in ("beginTime", "endTime"):
        text = _text(raw.get(key), f"{where}.{key}", 40)
        try:
            days.append(date.fromisoformat(text[:10]))
        except ValueError:
            raise IsapiError(f"waktu tidak sah / invalid time {text!r}", f"{where}.{key}") from None
    return f"{days[0].isoformat()}..{days[1].isoformat()}"


def user_delete(employee_nos: list[str]) -> dict[str, Any]:
    return {"UserInfoDelCond": {"EmployeeNoList": [{"employeeNo": n} for n in employee_nos]}}


def user_search(search_id: str, position: int, max_results: int) -> dict[str, Any]:
    return {"UserInfoSearchCond": {"searchID": search_id, "searchResultPosition": position,
                                   "maxResults": max_results}}


@dataclass(frozen=True)
class UserPage:
    status: str
    total: int
    users: tuple[tuple[str, str, str], ...]  # (employeeNo, name, period as valid_period writes it)

    @property
    def more(self) -> bool:
        return self.status == "MORE"


def parse_user_search(body: bytes | str | Mapping[str, Any]) -> UserPage:
    doc = _obj(load(body).get("UserInfoSearch"), "UserInfoSearch")
    status = doc.get("responseStatusStrg")
    if status not in SEARCH_STATUS:
        raise IsapiError(f"responseStatusStrg tidak dikenal / unknown: {str(status)[:20]!r}",
                         "UserInfoSearch.responseStatusStrg")
    items = doc.get("UserInfo") or []
    if not isinstance(items, list):
        raise IsapiError("harus daftar / must be a list", "UserInfoSearch.UserInfo")
    users = []
    for i, u in enumerate(items):
        where = f"UserInfoSearch.UserInfo[{i}]"
        u = _obj(u, where)
        number = _text(u.get("employeeNo"), f"{where}.employeeNo", 32)
        if not _EMPLOYEE.match(number):
            raise IsapiError(f"nomor pegawai tidak sah / invalid employee number {number!r}", f"{where}.employeeNo")
        users.append((number, _text(u.get("name"), f"{where}.name"), _read_period(u.get("Valid"), f"{where}.Valid")))
    return UserPage(status, _int(doc.get("totalMatches", len(users)), "UserInfoSearch.totalMatches", 0, MAX_SERIAL),
                    tuple(users))


def face_record(employee_no: str, name: str = "") -> dict[str, Any]:
    """The JSON part (`FaceDataRecord`) of a face upload; the JPEG goes in part `FaceImage`."""
    out: dict[str, Any] = {**FACE_LIB, "FPID": employee_no}
    if name:
        out["name"] = name
    return out


def face_search(position: int, max_results: int) -> dict[str, Any]:
    return {"searchResultPosition": position, "maxResults": max_results, **FACE_LIB}


@dataclass(frozen=True)
class FacePage:
    status: str
    total: int
    fpids: tuple[str, ...]

    @property
    def more(self) -> bool:
        return self.status == "MORE"


def parse_face_search(body: bytes | str | Mapping[str, Any]) -> FacePage:
    doc = load(body)
    status = doc.get("responseStatusStrg")
    if status not in SEARCH_STATUS:
        raise IsapiError(f"responseStatusStrg tidak dikenal / unknown: {str(status)[:20]!r}", "responseStatusStrg")
    items = doc.get("MatchList") or []
    if not isinstance(items, list):
        raise IsapiError("harus daftar / must be a list", "MatchList")
    fpids = tuple(_text(_obj(m, f"MatchList[{i}]").get("FPID"), f"MatchList[{i}].FPID", 32)
                  for i, m in enumerate(items))
    return FacePage(status, _int(doc.get("totalMatches", len(fpids)), "totalMatches", 0, MAX_SERIAL), fpids)


def name_for(name: str, limit: int = NAME_LIMIT) -> str:
    """The name cut to what the terminal keeps (whole characters within `limit` UTF-8 bytes)."""
    out = ""
    for ch in name.strip():
        if len((out + ch).encode()) > limit:
            break
        out += ch
    return out


# --- the clock (GET/PUT /ISAPI/System/time) -------------------------------------------------


def time_xml(local: datetime) -> str:
    """Set the terminal's clock to `local` (aware: its offset is the terminal's zone)."""
    offset = local.utcoffset()
    if offset is None:
        raise IsapiError("waktu tanpa zona / a time without its offset", "Time.localTime")
    minutes = int(offset.total_seconds() // 60)
    # Hikvision writes zones POSIX-style: "CST-7:00:00" is UTC+7 (the sign is reversed)
    zone_text = f"CST{'-' if minutes >= 0 else '+'}{abs(minutes) // 60}:{abs(minutes) % 60:02d}:00"
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n<Time version="2.0" xmlns="{XMLNS}"><timeMode>manual</timeMode>'
            f"<localTime>{format_time(local)}</localTime><timeZone>{zone_text}</timeZone></Time>\n")


def parse_time_xml(body: bytes | str) -> datetime:
    """The terminal's clock (Time.localTime, with its offset)."""
    root = _xml(body, "Time")
    if _local(root.tag) != "Time":
        raise IsapiError(f"bukan Time / not a Time: <{_local(root.tag)[:30]}>", "Time")
    for child in root:
        if _local(child.tag) == "localTime":
            return parse_time((child.text or "").strip(), "Time.localTime")
    raise IsapiError("localTime tidak ada / missing", "Time.localTime")


# --- events the terminal pushes (HTTP listening: httpHosts) -----------------------------------


def notification_event(body: bytes | str | Mapping[str, Any]) -> Event | None:
    """An EventNotificationAlert's access event (the JSON part `event_log` or
    `AccessControllerEvent`), None for other notifications (heartbeats, video events)."""
    doc = load(body, "EventNotificationAlert")
    if doc.get("eventType") != "AccessControllerEvent":
        return None
    inner = _obj(doc.get("AccessControllerEvent"), "AccessControllerEvent")
    item = {"serialNo": inner.get("serialNo"), "major": inner.get("majorEventType"),
            "minor": inner.get("subEventType"), "time": doc.get("dateTime"),
            "employeeNoString": inner.get("employeeNoString"), "name": inner.get("name"),
            "cardNo": inner.get("cardNo"), "currentVerifyMode": inner.get("currentVerifyMode"),
            "attendanceStatus": inner.get("attendanceStatus"), "doorNo": inner.get("doorNo")}
    return parse_event({k: v for k, v in item.items() if v is not None}, "AccessControllerEvent")


def notification_body(ev: Event, ip: str = "", mac: str = "") -> dict[str, Any]:
    """What a terminal posts for one event (the simulator's side of notification_event)."""
    inner = {"majorEventType": ev.major, "subEventType": ev.minor, "serialNo": ev.serial_no,
             "currentVerifyMode": ev.verify_mode, "attendanceStatus": ev.attendance, "doorNo": ev.door_no or 1}
    if ev.employee_no:
        inner["employeeNoString"] = ev.employee_no
        inner["name"] = ev.name
    return {"ipAddress": ip, "macAddress": mac, "dateTime": format_time(ev.time), "activePostCount": 1,
            "eventType": "AccessControllerEvent", "eventState": "active", "eventDescription": "Access Controller Event",
            "AccessControllerEvent": inner}


def http_hosts_xml(ip: str, port: int, path: str) -> str:
    """Where the terminal posts its events (PUT /ISAPI/Event/notification/httpHosts)."""
    from xml.sax.saxutils import escape  # noqa: PLC0415

    return (f'<?xml version="1.0" encoding="UTF-8"?>\n<HttpHostNotificationList version="2.0" xmlns="{XMLNS}">'
            f"<HttpHostNotification><id>1</id><url>{escape(path)}</url><protocolType>HTTP</protocolType>"
            "<parameterFormatType>JSON</parameterFormatType><addressingFormatType>ipaddress</addressingFormatType>"
            f"<ipAddress>{escape(ip)}</ipAddress><portNo>{int(port)}</portNo>"
            "<httpAuthenticationMethod>none</httpAuthenticationMethod></HttpHostNotification>"
            "</HttpHostNotificationList>\n")


def parse_http_hosts(body: bytes | str) -> tuple[str, int, str]:
    """(ip, port, path) of the first HttpHostNotification."""
    root = _xml(body, "HttpHostNotificationList")
    for host in root:
        if _local(host.tag) != "HttpHostNotification":
            continue
        fields = {_local(c.tag): (c.text or "").strip() for c in host}
        return fields.get("ipAddress", ""), _int(fields.get("portNo", "80"), "portNo", 1, 65535), fields.get("url", "/")
    raise IsapiError("HttpHostNotification tidak ada / missing", "HttpHostNotificationList")


# --- alertStream (the hub holds GET /ISAPI/Event/notification/alertStream open) --------------


def boundary_of(content_type: str) -> str:
    m = re.search(r'boundary="?([^";]+)"?', content_type or "")
    if not m:
        raise IsapiError(f"multipart tanpa boundary / multipart without a boundary: {content_type[:80]!r}",
                         "Content-Type")
    return m.group(1)


class PartReader:
    """Cuts an endless multipart/mixed stream into its parts' bodies, whatever the chunks."""

    MAX_PART = 2 * 1024 * 1024  # an event with its picture; more is a broken stream

    def __init__(self, boundary: str) -> None:
        self.mark = b"--" + boundary.encode()
        self.buffer = b""

    def feed(self, data: bytes) -> list[bytes]:
        self.buffer += data
        out = []
        while True:
            start = self.buffer.find(self.mark)
            if start < 0:
                self.buffer = self.buffer[-len(self.mark):]  # (a mark may be cut in two)
                return out
            head_end = self.buffer.find(b"\r\n\r\n", start)
            if head_end < 0:
                break
            headers = self.buffer[start + len(self.mark):head_end].decode("latin-1")
            length = re.search(r"(?im)^content-length:\s*(\d+)", headers)
            body_start = head_end + 4
            if length:
                end = body_start + int(length.group(1))
                if end > len(self.buffer):
                    break
            else:
                end = self.buffer.find(self.mark, body_start)
                if end < 0:
                    break
            out.append(self.buffer[body_start:end].strip())
            self.buffer = self.buffer[end:]
        if len(self.buffer) > self.MAX_PART:
            raise IsapiError("bagian alertStream terlalu besar / an alertStream part is too large", "alertStream")
        return out


def stream_part(doc: Mapping[str, Any], boundary: str) -> bytes:
    """One part of an alertStream (the simulator's side of PartReader)."""
    body = json.dumps(doc).encode()
    return (f"--{boundary}\r\nContent-Type: application/json; charset=\"UTF-8\"\r\nContent-Length: {len(body)}"
            "\r\n\r\n").encode() + body + b"\r\n"
