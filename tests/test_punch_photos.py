"""Terminal punch photos against enrolled faces (ADMS over real HTTP, real face photos, SQLite
and PostgreSQL): a photo of someone else flags the punch, the day waits (TV) until a
reviewer decides; photos of unknown PINs or without their punch are kept and marked."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, timedelta

import httpx
import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from hub.face import index
from hub.face.enroll import enroll_analysis
from hub.face.models import FaceReview
from hub.face.punch_photos import check_pending_photos
from hub.protocols import adms
from hub.punch import PunchFlag
from hub.push.models import PushPhoto
from hub.reconcile.evidence import decide_punches
from hub.reconcile.period import month_figures
from hub.store.models import Device, Employee, PinMapping, RawPunch, Site, utcnow
from tests.face_fixtures import NIP_OBAMA, analysed, photo
from tests.push_fixtures import AdmsServer, add_push_devices

DAY = date(2026, 11, 19)  # a Thursday


@pytest.fixture
def server(engine: Engine) -> Iterator[AdmsServer]:
    srv = AdmsServer(engine, resend_after=timedelta(seconds=1)).start()
    yield srv
    srv.stop()


def _post(http: httpx.Client, table: str, body: str | bytes) -> str:
    r = http.post("/iclock/cdata", params={"SN": "FACE1", "table": table, "Stamp": "1"},
                  content=body if isinstance(body, bytes) else body.encode())
    assert r.status_code == 200, r.text
    return r.text


def test_a_punch_photo_of_someone_else_holds_the_day(engine: Engine, server: AdmsServer) -> None:
    index.invalidate()
    add_push_devices(engine, "adms", ["FACE1"])
    with Session(engine) as s:
        site = Site(code="DINAS", name="Dinas", tz="Asia/Jakarta")
        s.add(site)
        s.flush()
        s.get(Device, s.scalar(select(Device.id).where(Device.serial == "FACE1"))).site_id = site.id
        emp = Employee(id_number=NIP_OBAMA, employment_type="pns", name="Barack Obama", site_id=site.id,
                       monthly_tpp=5_000_000)
        s.add(emp)
        s.flush()
        s.add(PinMapping(employee_id=emp.id, pin="7", pin_group="default"))
        enroll_analysis(s, NIP_OBAMA, analysed("obama.jpg"), "test")
        s.commit()
        emp_id = emp.id
    cin, cout = datetime(2026, 11, 19, 7, 20, 1), datetime(2026, 11, 19, 16, 5, 2)
    with httpx.Client(base_url=server.url, timeout=30) as http:
        assert _post(http, "ATTLOG", f"7\t{cin}\t0\t15\t0\t0\t0\n7\t{cout}\t1\t15\t0\t0\t0\n"
                                     f"99\t{cin}\t0\t15\t0\t0\t0\n") == "OK: 3"
        # In any order: photos may come before or after their ATTLOG line.
        assert _post(http, "ATTPHOTO", adms.format_attphoto("FACE1", cin, "7", photo("biden.jpg"))) == "OK"
        assert _post(http, "ATTPHOTO", adms.format_attphoto("FACE1", cout, "7", photo("obama2.jpg"))) == "OK"
        assert _post(http, "ATTPHOTO", adms.format_attphoto("FACE1", cin, "99", photo("obama2.jpg"))) == "OK"
        assert _post(http, "ATTPHOTO", adms.format_attphoto(
            "FACE1", datetime(2026, 11, 19, 12, 0), "7", photo("obama2.jpg"))) == "OK"  # its line never comes
    counts = check_pending_photos(engine)
    assert counts == {"mismatch": 1, "match": 1, "unknown_pin": 1, "waiting": 1}
    assert check_pending_photos(engine, now=utcnow() + timedelta(days=2)) == {"no_punch": 1}
    assert check_pending_photos(engine) == {}  # every photo has its verdict
    with Session(engine) as s:
        punches = {p.local_time: p for p in s.scalars(select(RawPunch).where(RawPunch.pin == "7"))}
        assert punches[cin].flags & PunchFlag.PHOTO_MISMATCH and not punches[cout].flags & PunchFlag.PHOTO_MISMATCH
        review = s.scalar(select(FaceReview).where(FaceReview.kind == "photo_mismatch"))
        assert review is not None and review.punch_id == punches[cin].id
        verdicts = dict(s.execute(select(PushPhoto.punch_id, PushPhoto.check_result)
                                  .where(PushPhoto.punch_id.is_not(None))).all())
        assert verdicts[punches[cin].id] == "mismatch" and verdicts[punches[cout].id] == "match"
        # The check-in is doubtful: counting it or not changes the day, so the day waits.
        fig = month_figures(s, DAY)
        (day,) = [d for d in fig.days[emp_id] if d.day == DAY]
        assert (day.status, day.pct, day.waiting) == ("TV", 0.0, [punches[cin].id])
        decide_punches(s, [punches[cin].id], "rejected", "foto orang lain: titip absen", "kabid")
        s.commit()
        (day,) = [d for d in month_figures(s, DAY).days[emp_id] if d.day == DAY]
        assert (day.status, day.pct) == ("TAM", 1.5)
