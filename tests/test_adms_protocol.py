"""ADMS / iclock text formats: known lines, clear errors, and properties over any input."""

from __future__ import annotations

import base64
from datetime import datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hub.protocols import adms
from hub.punch import State, Verify

PIN = st.from_regex(r"[0-9]{1,9}", fullmatch=True)
WHEN = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2099, 12, 31)
                    ).map(lambda d: d.replace(microsecond=0))


def test_attlog_line_from_the_reference() -> None:
    rec = adms.parse_attlog_line("1452\t2015-07-30 15:16:28\t0\t1\t0\t0\t0")
    assert (rec.pin, rec.local_time, rec.state, rec.verify_label) == (
        "1452", datetime(2015, 7, 30, 15, 16, 28), State.CHECK_IN, Verify.FINGERPRINT)
    assert rec.work_code is None
    assert adms.parse_attlog_line("0077\t2024-01-02 07:01:00\t1\t15\t9").work_code == "9"
    assert adms.parse_attlog_line("0077\t2024-01-02 07:01:00\t1\t15").pin == "0077"


def test_attlog_batch_keeps_good_lines_and_says_where_the_bad_one_is() -> None:
    body = ("1\t2024-03-01 07:00:00\t0\t15\t0\t0\t0\r\n"
            "2\t2024-02-30 07:00:00\t0\t15\t0\t0\t0\n"
            "\n"
            "3\t2024-03-01 07:05:00\t9999\t15\n"
            "4\t2024-03-01 07:06:00\t1\t1\n")
    parsed = adms.parse_attlog(body)
    assert [r.pin for r in parsed.records] == ["1", "4"]
    assert [e.where for e in parsed.errors] == ["ATTLOG line 2 field 2 (time)",
                                                "ATTLOG line 4 field 3 (status)"]
    assert "YYYY-MM-DD" in parsed.errors[0].what


@pytest.mark.parametrize("line,where", [
    ("", "ATTLOG line 1"),
    ("12 2024-01-01 07:00:00", "ATTLOG line 1"),
    ("1 2\t2024-01-01 07:00:00", "ATTLOG line 1 field 1 (PIN)"),
    ("1\t2024-01-01 07:00:00\tx", "ATTLOG line 1 field 3 (status)"),
    ("1\t2024-01-01 07:00:00\t0\t-3", "ATTLOG line 1 field 4 (verify)"),
])
def test_attlog_errors_name_the_field(line: str, where: str) -> None:
    with pytest.raises(adms.AdmsError) as err:
        adms.parse_attlog_line(line)
    assert err.value.where == where


@given(st.lists(st.tuples(PIN, WHEN, st.integers(0, 5), st.sampled_from([1, 4, 15])),
                max_size=30))
def test_attlog_round_trip(records: list) -> None:
    parsed = adms.parse_attlog(adms.format_attlog(records))
    assert not parsed.errors
    assert [(r.pin, r.local_time, r.status, r.verify) for r in parsed.records] == records


@settings(max_examples=300)
@given(st.text(max_size=300))
def test_attlog_never_crashes_on_any_text(body: str) -> None:
    parsed = adms.parse_attlog(body)
    for err in parsed.errors:
        assert isinstance(err, adms.AdmsError) and err.where.startswith("ATTLOG line")
    for rec in parsed.records:
        assert rec.pin and isinstance(rec.local_time, datetime)


def test_operlog_user_fp_face_biodata_lines() -> None:
    tmp = base64.b64encode(b"template-bytes").decode()
    body = (f"USER PIN=1001\tName=Siti Aminah\tPri=14\tPasswd=\tCard=123\tGrp=1\tTZ=0\n"
            f"FP PIN=1001\tFID=6\tSize=12\tValid=1\tTMP={tmp}\n"
            f"FACE PIN=1001\tFID=0\tSIZE=12\tVALID=1\tTMP={tmp}\n"
            f"BIODATA Pin=1001\tNo=0\tIndex=0\tValid=1\tDuress=0\tType=9\tMajorVer=5\t"
            f"MinorVer=8\tFormat=0\tTmp={tmp}\n"
            "OPLOG 4\t0\t2024-03-01 08:00:00\t0\t0\t0\t0\n")
    parsed = adms.parse_operlog(body)
    assert not parsed.errors
    assert [r.kind for r in parsed.records] == ["USER", "FP", "FACE", "BIODATA", "OPLOG"]
    assert parsed.records[0].fields["Name"] == "Siti Aminah"
    assert parsed.records[3].pin == "1001"


@pytest.mark.parametrize("line,where", [
    ("CAT PIN=1", "OPERLOG line 1"),
    ("USER Name=x", "OPERLOG line 1"),
    ("USER PIN=1\tNameX", "OPERLOG line 1 field 2"),
    ("FP PIN=1\tTMP=@@@", "OPERLOG line 1 field TMP"),
    ("OPLOG 4\t0\tyesterday", "OPERLOG line 1 field 3 (OpTime)"),
])
def test_operlog_errors(line: str, where: str) -> None:
    parsed = adms.parse_operlog(line)
    assert not parsed.records and parsed.errors[0].where == where


@settings(max_examples=300)
@given(st.text(max_size=300))
def test_operlog_never_crashes(body: str) -> None:
    parsed = adms.parse_operlog(body)
    assert all(isinstance(e, adms.AdmsError) for e in parsed.errors)


JPEG = b"\xff\xd8\xff\xe0" + bytes(range(256)) * 4 + b"\xff\xd9"


def test_attphoto_round_trip_and_stranger() -> None:
    body = adms.format_attphoto("SN1", datetime(2024, 3, 1, 7, 0, 5), "1001", JPEG)
    photo = adms.parse_attphoto(body)
    assert (photo.pin, photo.taken_at, photo.jpeg) == ("1001", datetime(2024, 3, 1, 7, 0, 5),
                                                       JPEG)
    assert adms.parse_attphoto(adms.format_attphoto("SN1", datetime(2024, 3, 1), None, JPEG)
                               ).pin is None
    b64 = (b"PIN=20240301070005-7.jpg\nSN=S\nCMD=uploadphoto\npicture="
           + base64.b64encode(JPEG))
    assert adms.parse_attphoto(b64).jpeg == JPEG


@pytest.mark.parametrize("body,where", [
    (b"PIN=x.jpg\nCMD=uploadphoto\x00" + JPEG, "ATTPHOTO header PIN"),
    (b"PIN=20240301070005-1.jpg\n" + JPEG, "ATTPHOTO header"),
    (b"PIN=20240301070005-1.jpg\nsize=5\nCMD=uploadphoto\x00" + JPEG, "ATTPHOTO size"),
    (b"PIN=20240301070005-1.jpg\nCMD=uploadphoto\x00not a jpeg", "ATTPHOTO body"),
])
def test_attphoto_errors(body: bytes, where: str) -> None:
    with pytest.raises(adms.AdmsError) as err:
        adms.parse_attphoto(body)
    assert err.value.where == where


@settings(max_examples=300)
@given(st.binary(max_size=400))
def test_attphoto_never_crashes(body: bytes) -> None:
    try:
        photo = adms.parse_attphoto(body)
    except adms.AdmsError as exc:
        assert exc.where.startswith("ATTPHOTO")
    else:
        assert photo.jpeg.startswith(b"\xff\xd8\xff")


def test_biophoto_lines() -> None:
    c = base64.b64encode(JPEG).decode()
    parsed = adms.parse_biophoto(f"BIOPHOTO PIN=5\tNo=0\tType=9\tFileName=5.jpg\tContent={c}\n"
                                 "BIOPHOTO PIN=6\tType=9\n")
    assert parsed.records[0].jpeg == JPEG and parsed.records[0].pin == "5"
    assert parsed.errors[0].where == "BIOPHOTO line 2 field Content"


def test_handshake_reply_timezone_and_stamps() -> None:
    text = adms.handshake_reply("ABC", {"ATTLOG": "42"}, 9 * 60)
    opts = adms.parse_handshake_reply(text)
    assert text.startswith("GET OPTION FROM: ABC\n")
    assert opts["ATTLOGStamp"] == "42" and opts["OPERLOGStamp"] == "0"
    assert opts["TimeZone"] == "9"
    assert adms.timezone_value(330) == "330" and adms.timezone_value(480) == "8"
    with pytest.raises(adms.AdmsError):
        adms.parse_handshake_reply("OK")


def test_query_parsing() -> None:
    q = adms.parse_query({"SN": "X1", "table": "attlog", "Stamp": "9"})
    assert (q.serial, q.table, q.stamp) == ("X1", "ATTLOG", "9")
    for params, where in (({}, "query SN"), ({"SN": "a b"}, "query SN"),
                          ({"SN": "A", "table": "NOPE"}, "query table"),
                          ({"SN": "A", "Stamp": "x"}, "query Stamp")):
        with pytest.raises(adms.AdmsError) as err:
            adms.parse_query(params)
        assert err.value.where == where


@given(st.dictionaries(st.sampled_from(["SN", "table", "Stamp", "options", "x"]),
                       st.text(max_size=30)))
def test_query_never_crashes(params: dict) -> None:
    try:
        adms.parse_query(params)
    except adms.AdmsError as exc:
        assert exc.where.startswith("query")


def test_commands_cannot_be_injected_and_round_trip() -> None:
    verb, fields = adms.command_for("user.upsert",
                                    {"user": {"id": "7", "name": "A\tB\nC:2:REBOOT"}})
    line = adms.format_command(12, verb, fields)
    assert "\n" not in line and line.count("\t") == len(fields) - 1
    cid, verb2, parsed = adms.parse_command_line(line)
    assert (cid, verb2, parsed["PIN"], parsed["Name"]) == ("12", "DATA UPDATE USERINFO", "7",
                                                           "A B C:2:REBOOT")
    with pytest.raises(adms.AdmsError):
        adms.format_command("1:2", "INFO")
    with pytest.raises(adms.AdmsError):
        adms.command_for("door.open", {})


@given(st.text(max_size=50), st.text(max_size=50))
def test_format_command_is_always_one_line(name: str, card: str) -> None:
    verb, fields = adms.command_for("user.upsert", {"user": {"id": "1", "name": name,
                                                             "card": card}})
    line = adms.format_command(1, verb, fields)
    assert "\n" not in line and "\r" not in line
    assert adms.parse_command_line(line)[2]["PIN"] == "1"


def test_devicecmd_results() -> None:
    parsed = adms.parse_devicecmd("ID=5&Return=0&CMD=DATA\nID=6&Return=-1002&CMD=DATA\n"
                                  "ID=7&Return=0&CMD=INFO\nUserCount=12\nFWVersion=Ver 6\n"
                                  "ID=&Return=0&CMD=X\nID=9&CMD=X\n")
    assert [(r.cmd_id, r.code) for r in parsed.records] == [("5", 0), ("6", -1002), ("7", 0)]
    assert parsed.records[2].extra == {"UserCount": "12", "FWVersion": "Ver 6"}
    assert [e.where for e in parsed.errors] == ["devicecmd line 6 field ID",
                                                "devicecmd line 7 field Return"]


@settings(max_examples=300)
@given(st.text(max_size=300))
def test_devicecmd_never_crashes(body: str) -> None:
    parsed = adms.parse_devicecmd(body)
    assert all(e.where.startswith("devicecmd") for e in parsed.errors)


# --- PUSH 3.x registration ----------------------------------------------------------------

OPT_KEY = st.from_regex(r"\A~?[A-Za-z][A-Za-z0-9_]{0,20}\Z")
OPT_VALUE = st.text(st.characters(blacklist_characters=",\r\n", blacklist_categories=("Cs",)),
                    max_size=30).map(str.strip)


@given(st.dictionaries(OPT_KEY, OPT_VALUE, max_size=12))
def test_registry_body_round_trips(options: dict[str, str]) -> None:
    assert adms.parse_registry(adms.format_registry(options)) == options


@given(st.text(max_size=400))
def test_registry_parser_says_what_is_wrong_or_parses(text: str) -> None:
    try:
        out = adms.parse_registry(text)
    except adms.AdmsError as exc:
        assert exc.where.startswith("registry")
    else:
        assert all(k and "," not in k and "=" not in k for k in out)


def test_registry_body_refusals_name_the_item() -> None:
    with pytest.raises(adms.AdmsError, match="registry item 2"):
        adms.parse_registry("DeviceType=att,garbage")
    with pytest.raises(adms.AdmsError, match="over"):
        adms.parse_registry("A=1," * 20000)


@given(st.text(max_size=300))
def test_key_value_replies_parse_or_say_which_line(text: str) -> None:
    try:
        adms.parse_kv_reply(text)
    except adms.AdmsError as exc:
        assert exc.where.startswith("line ")


def test_push_config_reply_carries_the_session() -> None:
    opts = adms.parse_kv_reply(adms.push_config_reply("abc123", 480, delay_s=5))
    assert opts["SessionID"] == "abc123" and opts["RequestDelay"] == "5" and opts["TimeZone"] == "8"


# --- addresses (hub.peer) ------------------------------------------------------------------

@given(st.text(max_size=80))
def test_address_lists_parse_or_name_the_bad_entry(text: str) -> None:
    from hub.peer import AddressError, parse_networks

    try:
        nets = parse_networks(text)
    except AddressError as exc:
        assert "not an address or CIDR" in str(exc)
    else:
        assert len(nets) <= text.count(",") + 1


@given(st.text(max_size=60), st.text(max_size=120))
def test_client_address_never_fails(peer: str, forwarded: str) -> None:
    from hub.peer import client_address, parse_networks

    got = client_address(peer or None, {"x-forwarded-for": forwarded}, parse_networks("127.0.0.0/8"))
    assert got == (peer or None) or got in [h.strip() for h in forwarded.split(",")]
