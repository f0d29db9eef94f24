"""ADMS endpoints over real HTTP (uvicorn on an ephemeral port), on SQLite and PostgreSQL."""

from __future__ import annotations

import base64
import os
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine, func, select, update

from hub.protocols import adms
from hub.push import service
from hub.push.models import DeviceCommand, PushPhoto, PushRegistration, PushStamp, PushUserRecord
from hub.secrets import decrypt
from hub.store.db import session_scope
from hub.store.models import Device, IngestRun, RawPunch
from tests.push_fixtures import AdmsServer, add_push_devices, count_punches

FACES = Path(os.environ.get("HUB_TEST_FACES", Path(__file__).resolve().parents[2] / "shared"
                            / "fixtures" / "faces"))
if not FACES.exists():
    FACES = Path("/work/shared/fixtures/faces")
JPEG = (FACES / "obama.jpg").read_bytes()  # a real face photo, as a terminal would send


@pytest.fixture
def server(engine: Engine) -> Iterator[AdmsServer]:
    srv = AdmsServer(engine, resend_after=timedelta(seconds=1)).start()
    yield srv
    srv.stop()


@pytest.fixture
def http(server: AdmsServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=10) as c:
        yield c


def _post(http: httpx.Client, sn: str, table: str, body: str | bytes, stamp: str = "1"
          ) -> httpx.Response:
    return http.post("/iclock/cdata", params={"SN": sn, "table": table, "Stamp": stamp},
                     content=body if isinstance(body, bytes) else body.encode())


def test_handshake_uses_the_terminal_zone_and_saved_stamps(engine: Engine,
                                                           http: httpx.Client) -> None:
    add_push_devices(engine, "adms", ["PAPUA1"], tz="Asia/Jayapura")
    r = http.get("/iclock/cdata", params={"SN": "PAPUA1", "options": "all", "pushver": "2.4.1"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    assert "date" in r.headers  # the terminal sets its clock from it (A.7)
    opts = adms.parse_handshake_reply(r.text)
    assert opts["TimeZone"] == "9" and opts["ATTLOGStamp"] == "0"
    assert _post(http, "PAPUA1", "ATTLOG", "1\t2026-11-20 07:00:00\t0\t15\n", "77").text == "OK: 1"
    opts = adms.parse_handshake_reply(http.get("/iclock/cdata", params={"SN": "PAPUA1",
                                                                        "options": "all"}).text)
    assert opts["ATTLOGStamp"] == "77"
    r = http.get("/iclock/cdata.aspx", params={"SN": "PAPUA1", "options": "all"})
    assert r.status_code == 200  # eSSL firmware paths


def test_attlog_stored_once_with_zone_and_utc(engine: Engine, http: httpx.Client) -> None:
    add_push_devices(engine, "adms", ["MKS1"], tz="Asia/Makassar")
    body = ("0101\t2026-11-20 07:01:02\t0\t15\t0\t0\t0\n"
            "0102\t2026-11-20 07:03:00\t0\t1\t0\t0\t0\n"
            "0101\t2026-11-20 16:00:00\t1\t15\t0\t0\t0\n")
    assert _post(http, "MKS1", "ATTLOG", body).text == "OK: 3"
    assert _post(http, "MKS1", "ATTLOG", body).text == "OK: 3"  # resend after a lost reply
    assert count_punches(engine) == 3
    with engine.connect() as conn:
        row = conn.execute(select(RawPunch).where(RawPunch.pin == "0101",
                                                  RawPunch.state == "check_in")).one()
        runs = conn.execute(select(IngestRun.new, IngestRun.duplicate, IngestRun.source)
                            .order_by(IngestRun.id)).all()
    assert (row.source, row.tz, row.verify) == ("adms", "Asia/Makassar", "face")
    assert row.utc_time == datetime(2026, 11, 19, 23, 1, 2)
    assert row.raw["line"].startswith("0101\t2026-11-20 07:01:02")
    assert [tuple(r) for r in runs] == [(3, 0, "adms"), (0, 3, "adms")]


def test_bad_lines_are_refused_and_good_ones_kept(engine: Engine, http: httpx.Client) -> None:
    add_push_devices(engine, "adms", ["BAD1"])
    r = _post(http, "BAD1", "ATTLOG", "1\t2026-11-20 07:00:00\t0\t15\n"
                                      "2\t2026-13-40 07:00:00\t0\t15\n")
    assert r.text == "OK: 1"
    r = _post(http, "BAD1", "ATTLOG", "garbage line\n\x00\x01\n")
    assert r.text == "OK: 0"  # kept verbatim in rejected_lines (test_adms_rejected.py), then acknowledged
    r = http.post("/iclock/cdata", params={"SN": "BAD 1", "table": "ATTLOG"}, content=b"x")
    assert r.status_code == 400 and "query SN" in r.text
    r = http.post("/iclock/cdata", params={"SN": "BAD1", "table": "ATTLOG", "Stamp": "1;DROP"},
                  content=b"x")
    assert r.status_code == 400 and "Stamp" in r.text
    assert count_punches(engine) == 1
    with engine.connect() as conn:
        details = conn.scalar(select(IngestRun.details))
    assert "ATTLOG line 2 field 2 (time)" in details["errors"][0]


def test_unknown_terminal_is_held_until_approved(engine: Engine, http: httpx.Client) -> None:
    body = "5\t2026-11-20 07:00:00\t0\t15\n"
    assert http.get("/iclock/cdata", params={"SN": "NEW9", "options": "all"}).status_code == 200
    r = _post(http, "NEW9", "ATTLOG", body)
    assert r.status_code == 503  # not OK: the terminal keeps the record and resends
    assert http.get("/iclock/getrequest", params={"SN": "NEW9"}).text == "OK"
    assert count_punches(engine) == 0
    with engine.connect() as conn:
        reg = conn.execute(select(PushRegistration)).one()
    assert (reg.serial, reg.channel, reg.status, reg.attempts) == ("NEW9", "adms", "pending", 3)
    with session_scope(engine) as s:
        dev = service.approve(s, "NEW9", "test", tz="Asia/Makassar")
        assert dev.kind == "adms" and dev.tz == "Asia/Makassar"
    assert _post(http, "NEW9", "ATTLOG", body).text == "OK: 1"
    assert count_punches(engine) == 1


def test_operlog_biodata_and_photos(engine: Engine, http: httpx.Client) -> None:
    add_push_devices(engine, "adms", ["FACE1"])
    tmp = base64.b64encode(b"tmpl").decode()
    r = _post(http, "FACE1", "OPERLOG",
              f"USER PIN=7\tName=Ani\tPri=0\tPasswd=\tCard=\tGrp=1\tTZ=0\n"
              f"FP PIN=7\tFID=1\tSize=4\tValid=1\tTMP={tmp}\n", "5")
    assert r.text == "OK: 2"
    r = _post(http, "FACE1", "BIODATA", f"BIODATA Pin=7\tNo=0\tIndex=0\tValid=1\tDuress=0\t"
                                         f"Type=9\tMajorVer=5\tMinorVer=8\tFormat=0\tTmp={tmp}\n")
    assert r.text == "OK: 1"
    photo = adms.format_attphoto("FACE1", datetime(2026, 11, 20, 7, 0, 1), "7", JPEG)
    assert _post(http, "FACE1", "ATTPHOTO", photo).text == "OK"
    assert _post(http, "FACE1", "ATTPHOTO", photo).text == "OK"  # resent: stored once
    c = base64.b64encode(JPEG).decode()
    assert _post(http, "FACE1", "BIOPHOTO", f"BIOPHOTO PIN=7\tNo=0\tType=9\tFileName=7.jpg\t"
                                           f"Size={len(c)}\tContent={c}\n").text == "OK: 1"
    r = _post(http, "FACE1", "ATTPHOTO", b"PIN=bad.jpg\nCMD=uploadphoto\x00" + JPEG)
    assert r.status_code == 400 and "ATTPHOTO header PIN" in r.text
    with engine.connect() as conn:
        kinds = conn.execute(select(PushUserRecord.kind).order_by(PushUserRecord.id)
                             ).scalars().all()
        photos = conn.execute(select(PushPhoto.kind, PushPhoto.pin, PushPhoto.content)
                              .order_by(PushPhoto.id)).all()
        stamps = dict(conn.execute(select(PushStamp.table_name, PushStamp.stamp)).all())
    assert kinds == ["USER", "FP", "BIODATA"]
    assert [(k, pin, decrypt(content)) for k, pin, content in photos] == [("attphoto", "7", JPEG),
                                                                         ("biophoto", "7", JPEG)]
    assert all(JPEG[:3] not in content for _k, _p, content in photos)  # encrypted at rest
    assert stamps["OPERLOG"] == "5"


def test_command_queue_delivery_results_resend_and_expiry(engine: Engine,
                                                          http: httpx.Client) -> None:
    add_push_devices(engine, "adms", ["CMD1"])
    with session_scope(engine) as s:
        dev = s.scalar(select(Device).where(Device.serial == "CMD1"))
        up = service.enqueue(s, dev, "user.upsert",
                             {"user": {"id": "9", "name": "Dewi\tX", "role": "admin"}}, "t").id
        gone = service.enqueue(s, dev, "user.delete", {"user_id": "3"}, "t",
                               ttl=timedelta(seconds=-1)).id
    r = http.get("/iclock/getrequest", params={"SN": "CMD1"})
    [line] = r.text.strip().splitlines()
    cid, verb, fields = adms.parse_command_line(line)
    assert (cid, verb, fields["PIN"], fields["Name"], fields["Pri"]) == (
        str(up), "DATA UPDATE USERINFO", "9", "Dewi X", "14")
    assert http.get("/iclock/getrequest", params={"SN": "CMD1"}).text == "OK"
    time.sleep(1.2)  # no result yet: delivered again after resend_after, same id
    assert http.get("/iclock/getrequest", params={"SN": "CMD1"}).text.startswith(f"C:{up}:")
    result = adms.format_devicecmd([(str(up), 0, "DATA")])
    assert http.post("/iclock/devicecmd", params={"SN": "CMD1"}, content=result).text == "OK"
    assert http.post("/iclock/devicecmd", params={"SN": "CMD1"},
                     content=adms.format_devicecmd([(str(up), -1, "DATA")])).text == "OK"
    with engine.connect() as conn:
        rows = {r.id: r for r in conn.execute(select(DeviceCommand)).all()}
    assert (rows[up].status, rows[up].attempts, rows[up].result["return"]) == ("done", 2, 0)
    assert rows[gone].status == "expired" and rows[gone].attempts == 0
    r = http.post("/iclock/devicecmd", params={"SN": "CMD1"}, content=b"nonsense")
    assert r.status_code == 400 and "devicecmd line 1" in r.text
    with engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(DeviceCommand)
                           .where(DeviceCommand.status == "done")) == 1


def test_a_stamp_no_terminal_could_send_is_refused_and_never_echoed(engine: Engine, http: httpx.Client) -> None:
    """Cursor poisoning: Stamp=99999999999999999999 would make the terminal skip what it holds."""
    add_push_devices(engine, "adms", ["STAMP1"])
    body = "1\t2026-11-20 07:00:00\t0\t15\n"
    r = _post(http, "STAMP1", "ATTLOG", body, "99999999999999999999")
    assert r.status_code == 400 and "Stamp" in r.text
    assert count_punches(engine) == 0  # refused whole: the terminal keeps the batch
    assert _post(http, "STAMP1", "ATTLOG", body, "4294967295").text == "OK: 1"  # the largest a terminal counts
    opts = adms.parse_handshake_reply(http.get("/iclock/cdata", params={"SN": "STAMP1", "options": "all"}).text)
    assert opts["ATTLOGStamp"] == "4294967295"
    with session_scope(engine) as s:  # a poisoned cursor stored before this check is not echoed
        s.execute(update(PushStamp).values(stamp="99999999999999999999"))
    opts = adms.parse_handshake_reply(http.get("/iclock/cdata", params={"SN": "STAMP1", "options": "all"}).text)
    assert opts["ATTLOGStamp"] == "0"
