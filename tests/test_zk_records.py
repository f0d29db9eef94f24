"""Attendance-buffer parsing: every record size, impossible dates kept, bad sizes refused."""

from __future__ import annotations

import struct
from datetime import datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hub.protocols import zk
from hub.protocols.zk import ZkRecordError
from hub.protocols.zk_records import (
    IMPOSSIBLE_ORIGIN,
    decode_time,
    parse_attendance,
    parse_attendance_buffer,
    record_size_of,
    split_buffer,
)

# zkproto 40-byte example (reference §3.8): uid 13, "999111333", verify 1, 2018-06-25 17:50:35
REC40 = bytes.fromhex("0d00393939313131333333000000000000000000000000000000016bb368230000000000"
                      "ff000000")


def test_reference_40_byte_vector():
    log = parse_attendance(REC40, 1)
    [r] = log.records
    assert (r.uid, r.pin, r.verify, r.state) == (13, "999111333", 1, 0)
    assert r.local_time == datetime(2018, 6, 25, 17, 50, 35)
    assert log.record_size == 40


@pytest.mark.parametrize("size", [8, 16, 40, 49])
def test_every_size_matches_the_codec(size):
    recs = [zk.AttRecord(uid=i + 1, user_id=str(500 + i), time_raw=zk.encode_time(
        datetime(2026, 1 + i % 12, 1 + i % 28, i % 24, i % 60, i % 60)), state=i % 6,
        verify=(1, 15, 4)[i % 3], workcode=i % 3 if size != 8 else 0) for i in range(300)]
    payload = b"".join(zk.encode_att(r, size) for r in recs)
    users = {r.uid: r.user_id for r in recs}
    log = parse_attendance_buffer(struct.pack("<I", len(payload)) + payload, len(recs), users)
    assert log.record_size == size
    for rec, got in zip(recs, log.records, strict=True):
        assert got.pin == rec.user_id  # 8-byte: uid resolved through the user dict
        assert got.local_time == rec.timestamp
        assert (got.state, got.verify) == (rec.state, rec.verify)
        if size in (16, 40, 49):
            assert got.workcode == rec.workcode


def test_8_byte_unknown_uid_keeps_the_uid_as_pin():
    raw = zk.encode_att(zk.AttRecord(77, "77", zk.encode_time(datetime(2026, 3, 1)), 1, 1), 8)
    [r] = parse_attendance(raw, 1, users_by_uid={1: "1001"}).records
    assert r.pin == "77"


def test_impossible_date_is_kept_and_flagged():
    # 31 February 2026: encodable in the 31-day ZK calendar, impossible in reality
    bad = ((26 * 12 + 1) * 31 + 30) * 86400 + 8 * 3600
    good = zk.encode_time(datetime(2026, 2, 27, 8, 0))
    payload = b"".join(struct.pack("<IIBB2xI", 1001, t, 0, 1, 0) for t in (good, bad))
    log = parse_attendance(payload, 2)
    assert log.impossible_dates == 1
    ok, broken = log.records
    assert ok.time_error is None and broken.time_error and "2026-02-31" in broken.time_error
    assert broken.local_time == IMPOSSIBLE_ORIGIN + __import__("datetime").timedelta(seconds=bad)


@pytest.mark.parametrize("total,count,needle", [
    (41, 1, "unknown attendance record size 41"),
    (100, 3, "not a whole number"),
    (10, 0, "reports 0 records"),
])
def test_bad_sizes_say_what(total, count, needle):
    with pytest.raises(ZkRecordError, match=needle):
        record_size_of(total, count)


def test_size_prefix_must_match():
    with pytest.raises(ZkRecordError, match="says 10 bytes but carries 4"):
        split_buffer(struct.pack("<I", 10) + b"abcd")
    with pytest.raises(ZkRecordError, match="too short"):
        split_buffer(b"ab")


@given(st.integers(0, 0xFFFFFFFF))
def test_decode_time_never_crashes_and_round_trips(value):
    when, err = decode_time(value)
    if err is None and when.year <= 2099:
        assert zk.encode_time(when) == value
    elif err is None:  # beyond what a terminal writes; ingest flags it out of range
        assert when.year <= 2139
    else:
        assert when.year < 200


@settings(max_examples=200)
@given(st.binary(max_size=600), st.integers(0, 50))
def test_any_bytes_either_parse_or_raise_a_clear_error(data, count):
    try:
        log = parse_attendance(data, count)
    except ZkRecordError as exc:
        assert str(exc)
        return
    assert len(log.records) == count
    assert len(data) == count * log.record_size


@settings(max_examples=100)
@given(st.lists(st.tuples(st.integers(0, 0xFFFF), st.text("0123456789", min_size=1, max_size=9),
                          st.integers(0, 0xFFFFFFFF), st.integers(0, 255), st.integers(0, 255)),
                min_size=1, max_size=40), st.sampled_from([16, 40, 49]))
def test_round_trip_property(rows, size):
    recs = [zk.AttRecord(uid, uid_s, t, s, v) for uid, uid_s, t, s, v in rows]
    if size == 16:
        recs = [r for r in recs if int(r.user_id) <= 0xFFFFFFFF]
    payload = b"".join(zk.encode_att(r, size) for r in recs)
    log = parse_attendance(payload, len(recs))
    assert [(r.pin, r.time_raw, r.state, r.verify) for r in log.records] == \
        [(str(int(r.user_id)) if size == 16 else r.user_id, r.time_raw, r.state, r.verify)
         for r in recs]
