"""The "hub MQTT v1" topics and JSON payloads (reference/push-protocols.md B.3). Pure, no I/O.

Every parser raises `MqttPayloadError` naming the topic/field and what is wrong. Receivers
ignore unknown fields (B.3 versioning).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from hub.commands import OPS
from hub.punch import State, Verify

ROOT = "hub/v1/devices"
CHANNELS = ("status", "info", "events/punch", "events/access", "events/enroll",
            "events/alarm", "events/ack", "cmd", "cmd/result", "telemetry")
RESULT_STATUSES = ("done", "accepted", "failed", "rejected")
_SN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$")
_PIN = re.compile(r"^[A-Za-z0-9_.-]{1,32}$")
_LOCAL = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}\Z")
MAX_PAYLOAD = 256 * 1024
MAX_ITEMS = 5000
VERIFY_NAMES = {"face": Verify.FACE, "fingerprint": Verify.FINGERPRINT, "card": Verify.CARD,
                "password": Verify.PASSWORD, "palm": Verify.PALM, "qr": Verify.OTHER,
                "other": Verify.OTHER}
STATE_NAMES = {s.value: s for s in State} | {"none": State.UNDEFINED}


class MqttPayloadError(ValueError):
    def __init__(self, what: str, where: str = "") -> None:
        self.what = what
        self.where = where
        super().__init__(f"{where}: {what}" if where else what)


# --- topics -------------------------------------------------------------------------------


_ROOT_LEVEL = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


def check_root(root: str) -> str:
    """A topic root a hub may own (`mqtt.topic_root`): levels of letters, digits, `_.-`, no
    wildcards, no leading `$` or slash. Two hubs (or a hub and the tests) on one broker
    each take their own."""
    levels = root.split("/")
    if not root or len(root) > 200 or not all(_ROOT_LEVEL.match(lv) for lv in levels):
        raise MqttPayloadError(f"akar topik tidak sah / invalid topic root {root[:80]!r} "
                               "(contoh / e.g. pemda-kbb/hub/v1/devices)", "mqtt.topic_root")
    return root


def topic(sn: str, channel: str, root: str = ROOT) -> str:
    if channel not in CHANNELS:
        raise MqttPayloadError(f"kanal tidak dikenal / unknown channel {channel!r}", "topic")
    if not _SN.match(sn) or "/" in sn:
        raise MqttPayloadError(f"nomor seri tidak sah / invalid serial {sn[:64]!r}", "topic")
    return f"{root}/{sn}/{channel}"


def subscription(channel: str, root: str = ROOT) -> str:
    """The filter for one channel of every terminal under `root`."""
    return f"{root}/+/{channel}"


def parse_topic(name: str, root: str = ROOT) -> tuple[str, str]:
    """`{root}/{sn}/{channel}` -> (sn, channel)."""
    prefix = root + "/"
    if not name.startswith(prefix):
        raise MqttPayloadError(f"topik di luar {root} / topic outside {root}: {name[:80]!r}",
                               "topic")
    sn, _, channel = name[len(prefix):].partition("/")
    if not _SN.match(sn):
        raise MqttPayloadError(f"nomor seri tidak sah / invalid serial {sn[:64]!r}", "topic")
    if channel not in CHANNELS:
        raise MqttPayloadError(f"kanal tidak dikenal / unknown channel {channel[:40]!r}",
                               "topic")
    return sn, channel


# --- helpers ------------------------------------------------------------------------------


def _load(payload: bytes | str, where: str) -> dict[str, Any]:
    if len(payload) > MAX_PAYLOAD:
        raise MqttPayloadError(f"lebih dari {MAX_PAYLOAD} byte / larger than {MAX_PAYLOAD} "
                               "bytes", where)
    try:
        doc = json.loads(payload)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise MqttPayloadError(f"bukan JSON / not JSON ({exc})", where) from None
    except RecursionError:
        raise MqttPayloadError("JSON terlalu dalam / nested too deep", where) from None
    if not isinstance(doc, dict):
        raise MqttPayloadError("harus objek JSON / must be a JSON object", where)
    v = doc.get("v")
    if v != 1:
        raise MqttPayloadError(f"versi v={v!r} tidak didukung (harus 1) / unsupported "
                               "version (must be 1)", f"{where}.v")
    return doc


def _str(doc: Mapping[str, Any], key: str, where: str, required: bool = True,
         max_len: int = 200) -> str | None:
    value = doc.get(key)
    if value is None:
        if required:
            raise MqttPayloadError("wajib diisi / required", f"{where}.{key}")
        return None
    if not isinstance(value, str):
        raise MqttPayloadError(f"harus teks / must be a string, got {type(value).__name__}",
                               f"{where}.{key}")
    if len(value) > max_len:
        raise MqttPayloadError(f"lebih dari {max_len} karakter / too long", f"{where}.{key}")
    return value


def _iso(value: str, where: str) -> datetime:
    try:
        dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise MqttPayloadError(f"waktu tidak sah / invalid time {value[:40]!r}", where) from None
    return dt


def _dump(doc: Mapping[str, Any]) -> bytes:
    return json.dumps(doc, separators=(",", ":"), ensure_ascii=False).encode()


def utc_iso(dt: datetime) -> str:
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# --- punch events -------------------------------------------------------------------------


@dataclass(frozen=True)
class PunchEvent:
    id: str
    seq: int | None
    pin: str
    time_local: datetime
    utc_time: datetime | None  # naive UTC when the device sent an offset
    state: State
    verify: Verify
    work_code: str | None
    raw: dict[str, Any]


def _punch(item: Any, sn: str, where: str) -> PunchEvent:
    if not isinstance(item, dict):
        raise MqttPayloadError("harus objek / must be an object", where)
    if item.get("type", "punch") != "punch":
        raise MqttPayloadError(f"type={item.get('type')!r} bukan punch", f"{where}.type")
    item_sn = item.get("sn")
    if item_sn is not None and item_sn != sn:
        raise MqttPayloadError(f"sn {str(item_sn)[:64]!r} tidak sama dengan topik / differs "
                               f"from the topic's {sn!r}", f"{where}.sn")
    seq = item.get("seq")
    if seq is not None and (not isinstance(seq, int) or isinstance(seq, bool)
                            or not 0 <= seq < 2**63):
        raise MqttPayloadError("harus bilangan bulat >= 0 / must be an integer >= 0",
                               f"{where}.seq")
    event_id = item.get("id")
    if event_id is None:
        event_id = f"{sn}-{seq}" if seq is not None else ""
    if not isinstance(event_id, str) or len(event_id) > 128:
        raise MqttPayloadError("harus teks <= 128 / must be a string <= 128", f"{where}.id")
    user = item.get("user")
    if not isinstance(user, dict):
        raise MqttPayloadError("wajib objek {id} / required object {id}", f"{where}.user")
    pin = user.get("id")
    if not isinstance(pin, str) or not _PIN.match(pin):
        raise MqttPayloadError(f"PIN tidak sah / invalid PIN {str(pin)[:40]!r}",
                               f"{where}.user.id")
    local_s = _str(item, "time_local", where, required=True, max_len=40)
    assert local_s is not None
    try:
        # The regex pins the one accepted shape; fromisoformat is the fast C parser.
        if not _LOCAL.match(local_s):
            raise ValueError
        local = datetime.fromisoformat(local_s)
    except ValueError:
        raise MqttPayloadError(f"bukan 'YYYY-MM-DD HH:MM:SS': {local_s!r}",
                               f"{where}.time_local") from None
    utc = None
    time_s = _str(item, "time", where, required=False, max_len=40)
    if time_s is not None:
        aware = _iso(time_s, f"{where}.time")
        if aware.tzinfo is None:
            raise MqttPayloadError("harus dengan offset / must carry an offset", f"{where}.time")
        if aware.replace(tzinfo=None) != local:
            raise MqttPayloadError("jam dinding tidak sama dengan time_local / wall clock "
                                   "differs from time_local", f"{where}.time")
        utc = aware.astimezone(UTC).replace(tzinfo=None)
    verify_s = item.get("verify", "other")
    if verify_s not in VERIFY_NAMES:
        raise MqttPayloadError(f"verify {str(verify_s)[:20]!r} tidak dikenal; pilih "
                               f"{'|'.join(VERIFY_NAMES)}", f"{where}.verify")
    state_s = item.get("state", "none")
    if state_s not in STATE_NAMES:
        raise MqttPayloadError(f"state {str(state_s)[:20]!r} tidak dikenal; pilih "
                               f"{'|'.join(STATE_NAMES)}", f"{where}.state")
    work = item.get("work_code")
    if work is not None and (not isinstance(work, str) or len(work) > 32):
        raise MqttPayloadError("harus teks <= 32 / must be a string <= 32",
                               f"{where}.work_code")
    raw = item.get("raw") or {}
    if not isinstance(raw, dict):
        raise MqttPayloadError("harus objek / must be an object", f"{where}.raw")
    raw = {**raw, "id": event_id, "seq": seq}
    if "photo" in item and isinstance(item["photo"], dict):
        raw["photo"] = item["photo"]
    return PunchEvent(event_id, seq, pin, local, utc, STATE_NAMES[state_s],
                      VERIFY_NAMES[verify_s], work, raw)


def parse_punch_payload(payload: bytes | str, sn: str) -> list[PunchEvent]:
    """One punch, or a batch `{v, items:[…]}`; any bad item refuses the message."""
    where = f"{ROOT}/{sn}/events/punch"
    doc = _load(payload, where)
    if "items" in doc:
        items = doc["items"]
        if not isinstance(items, list):
            raise MqttPayloadError("harus daftar / must be a list", f"{where}.items")
        if len(items) > MAX_ITEMS:
            raise MqttPayloadError(f"lebih dari {MAX_ITEMS} item / too many items",
                                   f"{where}.items")
        return [_punch({"v": 1, **it} if isinstance(it, dict) else it, sn,
                       f"{where}.items[{i}]") for i, it in enumerate(items)]
    return [_punch(doc, sn, where)]


def format_punch(sn: str, seq: int, pin: str, time_local: datetime, verify: str = "face",
                 state: str = "check_in", offset: str | None = None) -> dict[str, Any]:
    item: dict[str, Any] = {"type": "punch", "id": f"{sn}-{seq}", "seq": seq, "sn": sn,
                            "user": {"id": pin},
                            "time_local": time_local.strftime("%Y-%m-%d %H:%M:%S"),
                            "verify": verify, "state": state, "work_code": None}
    if offset:
        item["time"] = time_local.strftime("%Y-%m-%dT%H:%M:%S") + offset
    return item


def format_punch_batch(items: list[dict[str, Any]]) -> bytes:
    return _dump({"v": 1, "items": items})


# --- ack ----------------------------------------------------------------------------------


def format_ack(ids: list[str], upto_seq: int | None) -> bytes:
    return _dump({"v": 1, "upto_seq": upto_seq, "ids": ids})


def parse_ack(payload: bytes | str, where: str = "events/ack") -> tuple[int | None, list[str]]:
    doc = _load(payload, where)
    ids = doc.get("ids", [])
    if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
        raise MqttPayloadError("harus daftar teks / must be a list of strings", f"{where}.ids")
    upto = doc.get("upto_seq")
    if upto is not None and (not isinstance(upto, int) or isinstance(upto, bool)):
        raise MqttPayloadError("harus bilangan bulat / must be an integer", f"{where}.upto_seq")
    return upto, ids


# --- status / info ------------------------------------------------------------------------


def format_status(state: str, reason: str | None = None, ts: datetime | None = None) -> bytes:
    doc: dict[str, Any] = {"v": 1, "state": state, "ts": utc_iso(ts or datetime.now(UTC))}
    if reason:
        doc["reason"] = reason
    return _dump(doc)


@dataclass(frozen=True)
class Status:
    state: str
    ts: datetime
    reason: str | None


def parse_status(payload: bytes | str, where: str = "status") -> Status:
    doc = _load(payload, where)
    state = doc.get("state")
    if state not in ("online", "offline"):
        raise MqttPayloadError(f"harus online|offline, bukan {str(state)[:20]!r}",
                               f"{where}.state")
    ts_s = _str(doc, "ts", where, required=True, max_len=40)
    assert ts_s is not None
    return Status(state, _iso(ts_s, f"{where}.ts"), _str(doc, "reason", where, False, 200))


def parse_info(payload: bytes | str, where: str = "info") -> dict[str, Any]:
    doc = _load(payload, where)
    for key in ("model", "vendor", "fw", "tz"):
        _str(doc, key, where, required=False)
    proto = doc.get("proto", ["hub.v1"])
    if not isinstance(proto, list) or "hub.v1" not in proto:
        raise MqttPayloadError("harus daftar yang memuat 'hub.v1' / must list 'hub.v1'",
                               f"{where}.proto")
    for key in ("caps", "counters"):
        if key in doc and not isinstance(doc[key], dict):
            raise MqttPayloadError("harus objek / must be an object", f"{where}.{key}")
    return doc


# --- commands -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Command:
    id: str
    op: str
    issued_at: datetime
    expires_at: datetime | None
    data: dict[str, Any] = field(default_factory=dict)


def format_cmd(cmd_id: str, op: str, data: Mapping[str, Any], issued_at: datetime,
               expires_at: datetime | None) -> bytes:
    if op not in OPS:
        raise MqttPayloadError(f"operasi tidak dikenal / unknown op {op!r}", "cmd.op")
    doc: dict[str, Any] = {"v": 1, "id": cmd_id, "op": op, "issued_at": utc_iso(issued_at),
                           "data": dict(data)}
    if expires_at is not None:
        doc["expires_at"] = utc_iso(expires_at)
    return _dump(doc)


def parse_cmd(payload: bytes | str, where: str = "cmd") -> Command:
    doc = _load(payload, where)
    cid = _str(doc, "id", where, max_len=128)
    op = _str(doc, "op", where, max_len=40)
    if op not in OPS:
        raise MqttPayloadError(f"operasi tidak dikenal / unknown op {op!r}", f"{where}.op")
    issued = _iso(_str(doc, "issued_at", where, max_len=40) or "", f"{where}.issued_at")
    exp_s = _str(doc, "expires_at", where, required=False, max_len=40)
    data = doc.get("data", {})
    if not isinstance(data, dict):
        raise MqttPayloadError("harus objek / must be an object", f"{where}.data")
    assert cid is not None and op is not None
    return Command(cid, op, issued, _iso(exp_s, f"{where}.expires_at") if exp_s else None, data)


@dataclass(frozen=True)
class CommandResult:
    id: str
    status: str
    code: int
    msg: str
    data: dict[str, Any]


def format_result(cmd_id: str, status: str, code: int = 0, msg: str = "",
                  data: Mapping[str, Any] | None = None) -> bytes:
    return _dump({"v": 1, "id": cmd_id, "status": status, "code": code, "msg": msg,
                  "data": dict(data or {})})


def parse_result(payload: bytes | str, where: str = "cmd/result") -> CommandResult:
    doc = _load(payload, where)
    cid = _str(doc, "id", where, max_len=128)
    status = doc.get("status")
    if status not in RESULT_STATUSES:
        raise MqttPayloadError(f"status harus {'|'.join(RESULT_STATUSES)}, bukan "
                               f"{str(status)[:20]!r}", f"{where}.status")
    code = doc.get("code", 0)
    if not isinstance(code, int) or isinstance(code, bool):
        raise MqttPayloadError("harus bilangan bulat / must be an integer", f"{where}.code")
    msg = _str(doc, "msg", where, required=False, max_len=1000) or ""
    data = doc.get("data", {})
    if not isinstance(data, dict):
        raise MqttPayloadError("harus objek / must be an object", f"{where}.data")
    assert cid is not None
    return CommandResult(cid, status, code, msg, data)
