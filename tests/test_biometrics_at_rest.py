"""No biometric or card data in clear anywhere in the store (issue 21, item 2): after a
terminal pushed a user with a card and password, a fingerprint template, a face photo, a
punch photo and a bad line carrying a template, and the hub queued a template and a face
photo for a terminal, every byte of every table is scanned for the template, the JPEG,
the card number and the password, raw and in base64, on SQLite and PostgreSQL (on SQLite
the database files too, which are owner-only).

Confirmed commands lose their secrets altogether (blanked, not just encrypted)."""

from __future__ import annotations

import base64
import json
import os
import stat
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine, delete, select
from sqlalchemy.orm import Session

from hub.push import service
from hub.push.models import DeviceCommand
from hub.roster.pins import allocate
from hub.schema import metadata
from hub.secrets import encrypt
from hub.store.models import AuditLog, Device, Template
from hub.sync.apply import apply_plans
from hub.sync.plan import compute_plans, select_devices
from tests.push_fixtures import AdmsServer, add_push_devices
from tests.roster_fixtures import device, employee, fingerprint, site

FACES = Path(os.environ.get("HUB_TEST_FACES", Path(__file__).resolve().parents[2] / "shared" / "fixtures" / "faces"))
if not FACES.exists():
    FACES = Path("/work/shared/fixtures/faces")
JPEG = (FACES / "obama.jpg").read_bytes()
TEMPLATE = b"SS21" + bytes((i * 37 + 11) % 256 for i in range(600))  # a terminal's template
QUEUED_TEMPLATE = b"SS21" + bytes((i * 53 + 5) % 256 for i in range(700))
CARD, PASSWORD = "12345678", "rahasia77"


def _b64(b: bytes) -> bytes:
    return base64.b64encode(b)


NEEDLES = {
    "template": TEMPLATE[4:60], "template b64": _b64(TEMPLATE)[8:60],
    "queued template": QUEUED_TEMPLATE[4:60], "queued template b64": _b64(QUEUED_TEMPLATE)[8:60],
    "jpeg": JPEG[200:260], "jpeg b64": _b64(JPEG)[300:360],
    "card": CARD.encode(), "password": PASSWORD.encode(),
}


@pytest.fixture
def http(engine: Engine) -> Iterator[httpx.Client]:
    srv = AdmsServer(engine, resend_after=timedelta(seconds=1)).start()
    with httpx.Client(base_url=srv.url, timeout=20) as c:
        yield c
    srv.stop()


def _as_bytes(value: object) -> bytes:
    if value is None:
        return b""
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value)
    if isinstance(value, dict | list):
        return json.dumps(value).encode()
    return str(value).encode()


def _scan(engine: Engine) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    with engine.connect() as conn:
        for table in metadata.sorted_tables:
            for row in conn.execute(table.select()):
                blob = b"\x00".join(_as_bytes(v) for v in row)
                for name, needle in NEEDLES.items():
                    if needle in blob:
                        found.setdefault(name, []).append(table.name)
    return found


def test_no_biometric_or_card_data_rests_in_clear(engine: Engine, http: httpx.Client) -> None:
    add_push_devices(engine, "adms", ["SCAN1"])
    post = lambda table, body: http.post("/iclock/cdata", params={"SN": "SCAN1", "table": table, "Stamp": "1"},  # noqa: E731
                                         content=body if isinstance(body, bytes) else body.encode())
    t64, j64 = _b64(TEMPLATE).decode(), _b64(JPEG).decode()
    assert post("OPERLOG", f"USER PIN=7\tName=Siti\tPri=0\tPasswd={PASSWORD}\tCard={CARD}\n"
                           f"FP PIN=7\tFID=6\tSize={len(t64)}\tValid=1\tTMP={t64}\n"
                           f"FP PIN=\tFID=6\tTMP={t64}\n").text == "OK: 2"  # the third line is refused
    assert post("BIODATA", f"BIODATA Pin=7\tNo=1\tIndex=0\tValid=1\tDuress=0\tType=1\tMajorVer=10\tMinorVer=0\t"
                           f"Format=0\tTmp={t64}\n").text == "OK: 1"
    assert post("BIOPHOTO", f"BIOPHOTO PIN=7\tNo=0\tType=9\tFileName=7.jpg\tSize={len(j64)}\tContent={j64}\n"
                ).text == "OK: 1"
    head = f"PIN=20261120070000-7.jpg\nSN=SCAN1\nsize={len(JPEG)}\nCMD=uploadphoto".encode()
    assert post("ATTPHOTO", head + b"\x00" + JPEG).text == "OK"
    # the hub queues a template and a face photo (and a card) for a terminal
    with Session(engine) as s:
        office = site(s, "SCANOPD")
        device(s, "SCAN2", office, kind="adms")
        e = employee(s, office, name="Rina")
        fingerprint(s, e, 2, QUEUED_TEMPLATE)
        s.add(Template(employee_id=e.id, kind="face", finger_index=0, format="jpeg", blob_enc=encrypt(JPEG),
                       sha256="ab" * 32, size=len(JPEG)))
        s.commit()
        allocate(s, [e.id])
        s.commit()
        plans = compute_plans(s, select_devices(s, device="SCAN2"), date(2026, 11, 20))
        s.commit()
    assert apply_plans(engine, plans, "test")[0].status == "ok"
    with Session(engine) as s:
        service.enqueue(s, s.get(Device, plans[0].device_id), "user.upsert",
                        {"user": {"id": "9", "name": "X", "card": CARD, "password": PASSWORD}}, "test")
        s.commit()
    assert _scan(engine) == {}
    # the scanner itself finds what is there: a card number written in clear on purpose
    with Session(engine) as s:
        s.add(AuditLog(actor="control", action="scan.control", entity="test", details={"card": CARD}))
        s.commit()
    assert _scan(engine) == {"card": ["audit_log"]}
    with Session(engine) as s:
        s.execute(delete(AuditLog).where(AuditLog.actor == "control"))
        s.commit()
    if engine.dialect.name == "sqlite":
        db = Path(engine.url.database)
        engine.dispose()
        for f in (db, Path(f"{db}-wal")):
            if f.exists():
                raw = f.read_bytes()
                assert [n for n, needle in NEEDLES.items() if needle in raw] == [], f
        assert stat.S_IMODE(db.stat().st_mode) == 0o600


def test_a_confirmed_command_keeps_no_secret(engine: Engine, http: httpx.Client) -> None:
    ids = add_push_devices(engine, "adms", ["SCAN3"])
    with Session(engine) as s:
        cmd = service.enqueue(s, s.get(Device, ids["SCAN3"]), "face.set",
                              {"user_id": "7", "photo": {"b64": _b64(JPEG).decode(), "content_type": "image/jpeg"}},
                              "test")
        s.commit()
        cid = cmd.id
    r = http.get("/iclock/getrequest", params={"SN": "SCAN3"})
    assert f"C:{cid}:DATA UPDATE BIOPHOTO" in r.text and _b64(JPEG).decode()[:100] in r.text  # delivered whole
    r = http.post("/iclock/devicecmd", params={"SN": "SCAN3"}, content=f"ID={cid}&Return=0&CMD=DATA\n".encode())
    assert r.status_code == 200
    with engine.connect() as conn:
        row = conn.execute(select(DeviceCommand.status, DeviceCommand.payload)).one()
    assert row.status == "done" and row.payload["photo"]["b64"] == "[dihapus setelah dikonfirmasi]"
