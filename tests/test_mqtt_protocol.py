"""hub MQTT v1 topics and payloads: known messages, clear errors, properties over any input."""

from __future__ import annotations

import contextlib
import json
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hub.protocols import mqtt as proto
from hub.punch import State, Verify

SN = st.from_regex(r"[A-Z0-9]{1,12}", fullmatch=True)
PIN = st.from_regex(r"[0-9]{1,9}", fullmatch=True)
WHEN = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2099, 12, 31)
                    ).map(lambda d: d.replace(microsecond=0))


def test_topics() -> None:
    assert proto.topic("ABC123", "events/punch") == "hub/v1/devices/ABC123/events/punch"
    assert proto.parse_topic("hub/v1/devices/ABC123/cmd/result") == ("ABC123", "cmd/result")
    for bad in ("hub/v2/devices/A/status", "hub/v1/devices/A/nope", "hub/v1/devices//status"):
        with pytest.raises(proto.MqttPayloadError) as err:
            proto.parse_topic(bad)
        assert err.value.where == "topic"


def test_reference_punch_event() -> None:
    payload = json.dumps({
        "v": 1, "type": "punch", "id": "ABC123-18342", "seq": 18342, "sn": "ABC123",
        "user": {"id": "1001"}, "time": "2025-03-01T08:02:11+03:00",
        "time_local": "2025-03-01 08:02:11", "verify": "face", "state": "check_in",
        "work_code": None, "photo": {"url": "u", "sha256": "s"},
        "raw": {"vendor": "zkteco", "status": 0, "verify": 15}, "future_field": 1})
    [e] = proto.parse_punch_payload(payload, "ABC123")
    assert (e.id, e.seq, e.pin, e.state, e.verify) == ("ABC123-18342", 18342, "1001",
                                                       State.CHECK_IN, Verify.FACE)
    assert e.utc_time == datetime(2025, 3, 1, 5, 2, 11)
    assert e.raw["vendor"] == "zkteco" and e.raw["photo"]["sha256"] == "s"


@pytest.mark.parametrize("doc,where", [
    ({"v": 2}, ".v"),
    ({"v": 1, "user": {"id": "1"}}, ".time_local"),
    ({"v": 1, "user": {"id": "1"}, "time_local": "2025-03-01T08:02:11"}, ".time_local"),
    ({"v": 1, "user": {"id": "1 2"}, "time_local": "2025-03-01 08:02:11"}, ".user.id"),
    ({"v": 1, "user": {"id": "1"}, "time_local": "2025-03-01 08:02:11", "seq": -1}, ".seq"),
    ({"v": 1, "user": {"id": "1"}, "time_local": "2025-03-01 08:02:11", "verify": "x"},
     ".verify"),
    ({"v": 1, "user": {"id": "1"}, "time_local": "2025-03-01 08:02:11", "sn": "OTHER"},
     ".sn"),
    ({"v": 1, "user": {"id": "1"}, "time_local": "2025-03-01 08:02:11",
      "time": "2025-03-01T09:02:11+07:00"}, ".time"),
    ({"v": 1, "items": [{"user": {"id": "1"}, "time_local": "2025-03-01 08:02:11"}, 5]},
     ".items[1]"),
])
def test_punch_errors_say_where(doc: dict, where: str) -> None:
    with pytest.raises(proto.MqttPayloadError) as err:
        proto.parse_punch_payload(json.dumps(doc), "S1")
    assert err.value.where.endswith(where), err.value.where


def test_not_json_and_not_an_object() -> None:
    for raw in (b"\xff\xfe", b"{", b"[1]", b"null"):
        with pytest.raises(proto.MqttPayloadError) as err:
            proto.parse_punch_payload(raw, "S1")
        assert err.value.where.startswith("hub/v1/devices/S1/events/punch")


@given(SN, st.lists(st.tuples(PIN, WHEN, st.sampled_from(list(proto.STATE_NAMES)),
                              st.sampled_from(list(proto.VERIFY_NAMES))),
                    min_size=1, max_size=20))
def test_punch_batch_round_trip(sn: str, items: list) -> None:
    docs = [proto.format_punch(sn, i, pin, when, verify, state)
            for i, (pin, when, state, verify) in enumerate(items)]
    events = proto.parse_punch_payload(proto.format_punch_batch(docs), sn)
    assert [(e.pin, e.time_local, e.seq) for e in events] == [
        (pin, when, i) for i, (pin, when, _s, _v) in enumerate(items)]
    assert [e.id for e in events] == [f"{sn}-{i}" for i in range(len(items))]


@settings(max_examples=300)
@given(st.one_of(st.binary(max_size=200),
                 st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=10),
                              lambda c: st.lists(c, max_size=4)
                              | st.dictionaries(st.text(max_size=8), c, max_size=4),
                              max_leaves=20).map(lambda d: json.dumps(d).encode())))
def test_punch_parser_never_crashes(payload: bytes) -> None:
    try:
        proto.parse_punch_payload(payload, "S1")
    except proto.MqttPayloadError as exc:
        assert exc.where.startswith("hub/v1/devices/S1/events/punch")


@given(st.dictionaries(st.sampled_from(["v", "user", "time_local", "time", "seq", "state",
                                        "verify", "id", "sn", "raw", "work_code"]),
                       st.none() | st.integers() | st.text(max_size=25)
                       | st.dictionaries(st.just("id"), st.text(max_size=5))))
def test_punch_parser_on_near_valid_objects(doc: dict) -> None:
    with contextlib.suppress(proto.MqttPayloadError):
        proto.parse_punch_payload(json.dumps(doc), "S1")


def test_ack_status_info() -> None:
    assert proto.parse_ack(proto.format_ack(["a-1", "a-2"], 2)) == (2, ["a-1", "a-2"])
    st_ = proto.parse_status(proto.format_status("offline", "lost",
                                                 datetime(2025, 1, 1, tzinfo=UTC)))
    assert (st_.state, st_.reason) == ("offline", "lost")
    with pytest.raises(proto.MqttPayloadError) as err:
        proto.parse_status(b'{"v":1,"state":"asleep","ts":"2025-01-01T00:00:00Z"}')
    assert err.value.where == "status.state"
    assert proto.parse_info(b'{"v":1,"model":"X","proto":["hub.v1"]}')["model"] == "X"
    with pytest.raises(proto.MqttPayloadError):
        proto.parse_info(b'{"v":1,"proto":["hub.v2"]}')


def test_commands_and_results() -> None:
    now = datetime(2025, 1, 1, 8, 0, 0)
    raw = proto.format_cmd("c-5", "user.upsert", {"user": {"id": "1"}}, now, now)
    cmd = proto.parse_cmd(raw)
    assert (cmd.id, cmd.op, cmd.data) == ("c-5", "user.upsert", {"user": {"id": "1"}})
    assert cmd.expires_at == datetime(2025, 1, 1, 8, tzinfo=UTC)
    with pytest.raises(proto.MqttPayloadError):
        proto.format_cmd("c-1", "rm -rf", {}, now, None)
    res = proto.parse_result(proto.format_result("c-5", "failed", -1, "nope"))
    assert (res.id, res.status, res.code, res.msg) == ("c-5", "failed", -1, "nope")
    with pytest.raises(proto.MqttPayloadError) as err:
        proto.parse_result(b'{"v":1,"id":"c-5","status":"maybe"}')
    assert err.value.where == "cmd/result.status"


@settings(max_examples=200)
@given(st.binary(max_size=200) | st.text(max_size=200).map(str.encode))
def test_other_parsers_never_crash(payload: bytes) -> None:
    for parse in (proto.parse_ack, proto.parse_status, proto.parse_info, proto.parse_cmd,
                  proto.parse_result):
        with contextlib.suppress(proto.MqttPayloadError):
            parse(payload)


def test_topic_roots_are_checked() -> None:
    assert proto.check_root("pemda-kbb/hub/v1/devices") == "pemda-kbb/hub/v1/devices"
    assert proto.topic("SN1", "cmd", "a/b") == "a/b/SN1/cmd"
    assert proto.parse_topic("a/b/SN1/cmd/result", "a/b") == ("SN1", "cmd/result")
    for bad in ("", "/hub", "hub/", "hub/+/x", "hub/#", "$SYS/x", "a//b", "a b"):
        with pytest.raises(proto.MqttPayloadError, match="topic root"):
            proto.check_root(bad)
    with pytest.raises(proto.MqttPayloadError):
        proto.parse_topic("hub/v1/devices/SN1/cmd", "other/root")


@given(st.text(max_size=80))
def test_check_root_accepts_only_plain_levels(root: str) -> None:
    try:
        proto.check_root(root)
    except proto.MqttPayloadError:
        return
    assert not set(root) & set("+#$ \x00") and not root.startswith("/") and "//" not in root
