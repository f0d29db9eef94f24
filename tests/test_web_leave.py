"""Multi-day leave with its letter (issue 20, item 4): a reviewer records a cuti or dinas luar
for a date range with the letter number and the scanned letter; the scan must be a whole
PDF or JPEG (known by its bytes), is size-limited, kept encrypted, and handed back only as
a download to those who may see the employee. The recap counts the days as that leave."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from hub.reconcile import leave_scans
from hub.reconcile.models import LeaveEntry, LeaveScan
from hub.store.db import make_engine, session_scope
from hub.store.models import Employee, Site
from hub.web.app import create_app
from tests.face_fixtures import FACES
from tests.web_fixtures import USERS, WebEnv, csrf_of, login, web_env  # noqa: F401

PDF = (b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n2 0 obj << /Type /Pages /Kids [] /Count 0 >>"
       b" endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n")
CITRA = "198001012005011003"


def _count(env: WebEnv, model: type) -> int:
    engine = make_engine(env.settings.database_url)
    with session_scope(engine) as s:
        n = s.scalar(select(func.count()).select_from(model)) or 0
    engine.dispose()
    return n


def test_a_reviewer_records_duty_travel_with_its_scanned_letter(web_env: WebEnv) -> None:  # noqa: F811
    with TestClient(create_app(web_env.settings)) as c:
        login(c, USERS["reviewer"])
        page = c.get("/leave").text
        assert 'value="DL"' in page and 'enctype="multipart/form-data"' in page
        form = {"csrf_token": csrf_of(page), "nip": CITRA, "type": "DL", "start": "2026-10-12", "end": "2026-10-14",
                "reference": "090/123/Diskominfo/2026", "note": "bimtek di Bandung"}
        r = c.post("/leave", data=form, files={"scan": ("Surat Tugas 123.pdf", PDF, "application/pdf")},
                   follow_redirects=False)
        assert r.status_code == 303
        listing = c.get(r.headers["location"]).text
        assert "DL 3 hari dicatat untuk Citra, dengan pindaian surat." in listing
        link = re.search(r'<a href="(/leave/(\d+)/scan)" class="scan">([^<]+)</a>', listing)
        assert link is not None and link.group(3) == "Surat Tugas 123.pdf"
        scan = c.get(link.group(1))
        assert scan.status_code == 200 and scan.content == PDF and scan.headers["content-type"] == "application/pdf"
        assert scan.headers["content-disposition"].startswith("attachment;")  # never shown as a hub page
        # the recap counts the three working days as DL
        recap = c.get("/api/recap", params={"site": "OPD1", "month": "2026-10"},
                      headers={"Authorization": f"Bearer {web_env.token('reviewer')}"}).json()
        citra = next(row for row in recap["rows"] if row["nama"] == "Citra")
        assert citra["DL"] == 3

        # not a PDF or JPEG (whatever it is called): refused, and the leave is not kept without it
        png = (FACES / "astronaut.png").read_bytes()
        bad = c.post("/leave", data={**form, "start": "2026-10-19", "end": "2026-10-19"},
                     files={"scan": ("surat.pdf", png, "application/pdf")})
        assert bad.status_code == 422 and "PDF atau JPEG" in bad.text
        cut = c.post("/leave", data={**form, "start": "2026-10-19", "end": "2026-10-19"},
                     files={"scan": ("surat.pdf", PDF[:-8], "application/pdf")})
        assert cut.status_code == 422 and "terpotong" in cut.text
        big = c.post("/leave", data={**form, "start": "2026-10-19", "end": "2026-10-19"},
                     files={"scan": ("besar.pdf", PDF + b"0" * leave_scans.MAX_SCAN_BYTES, "application/pdf")})
        assert big.status_code in (413, 422)
        nobody = c.post("/leave", data={**form, "nip": "000"}, files={"scan": ("s.pdf", PDF, "application/pdf")})
        assert nobody.status_code == 422 and "tidak ditemukan" in nobody.text
        assert c.post("/leave", data={**form, "reference": ""}).status_code == 422  # the letter number is needed
    engine = make_engine(web_env.settings.database_url)
    with session_scope(engine) as s:
        assert s.scalar(select(func.count()).select_from(LeaveEntry)) == 1
        kept = s.scalar(select(LeaveScan))
        assert kept.size == len(PDF) and PDF not in kept.data_enc and b"%PDF" not in kept.data_enc  # encrypted
    engine.dispose()


def test_scans_stay_within_the_offices(web_env: WebEnv) -> None:  # noqa: F811
    from hub.reconcile.leave import add_leave

    engine = make_engine(web_env.settings.database_url)
    with session_scope(engine) as s:
        opd2 = s.scalar(select(Site.id).where(Site.code == "OPD2"))
        other = Employee(id_number="198601012010011009", employment_type="pns", site_id=opd2, monthly_tpp=0,
                         name="Dewi")
        s.add(other)
        s.flush()
        entry = add_leave(s, employee_id=other.id, start=__import__("datetime").date(2026, 10, 12),
                          end=__import__("datetime").date(2026, 10, 12), type="CS", author="rev9", reference="SD/1")
        leave_scans.attach(s, entry, (FACES / "obama.jpg").read_bytes(), "dokter.jpg", "rev9")
        leave_id = entry.id
    engine.dispose()
    with TestClient(create_app(web_env.settings)) as c:
        login(c, USERS["operator"])  # OPD1 only
        assert c.get(f"/leave/{leave_id}/scan").status_code == 403
        assert "Dewi" not in c.get("/leave").text
        page = c.get("/leave").text
        r = c.post("/leave", data={"csrf_token": csrf_of(page), "nip": "198601012010011009", "type": "CS",
                                   "start": "2026-10-13", "reference": "x"})
        assert r.status_code == 403
    with TestClient(create_app(web_env.settings)) as c:
        login(c, USERS["reviewer"])
        scan = c.get(f"/leave/{leave_id}/scan")
        assert scan.status_code == 200 and scan.headers["content-type"] == "image/jpeg"
        assert scan.content == (FACES / "obama.jpg").read_bytes()


def test_leave_through_the_api(web_env: WebEnv) -> None:  # noqa: F811
    headers = {"Authorization": f"Bearer {web_env.token('reviewer')}"}
    jpeg = (FACES / "biden.jpg").read_bytes()
    with TestClient(create_app(web_env.settings)) as c:
        r = c.post("/api/leave", headers=headers,
                   data={"employee": CITRA, "start": "2026-10-20", "end": "2026-10-21", "type": "CT",
                         "reference": "800/45/BKPSDM"}, files={"scan": ("cuti.jpg", jpeg, "image/jpeg")})
        assert r.status_code == 201, r.text
        body = r.json()
        assert body["type"] == "CT" and body["scan"]["content_type"] == "image/jpeg"
        assert body["scan"]["size"] == len(jpeg)
        listed = c.get("/api/leave", params={"employee": CITRA}, headers=headers).json()
        assert [e["id"] for e in listed] == [body["id"]]
        assert c.get(body["scan"]["url"], headers=headers).content == jpeg
        wrong = c.post("/api/leave", headers=headers, data={"employee": CITRA, "start": "2026-10-22",
                                                            "type": "XYZ", "reference": "1"})
        assert wrong.status_code == 422 and "tidak dikenal" in wrong.json()["detail"]
        auditor = {"Authorization": f"Bearer {web_env.token('auditor')}"}
        assert c.post("/api/leave", headers=auditor, data={"employee": CITRA, "start": "2026-10-22", "type": "CT",
                                                           "reference": "1"}).status_code == 403
    assert _count(web_env, LeaveEntry) == 1


def test_the_scan_check_never_crashes_and_takes_only_whole_pdfs_and_jpegs() -> None:
    from hypothesis import given, settings
    from hypothesis import strategies as st

    @settings(max_examples=300, deadline=None)
    @given(st.binary(max_size=4096), st.sampled_from([b"", b"%PDF-", b"\xff\xd8\xff"]),
           st.sampled_from([b"", b"%%EOF\n", b"\xff\xd9"]))
    def check(body: bytes, head: bytes, tail: bytes) -> None:
        data = head + body + tail
        try:
            kind = leave_scans.kind_of(data)
        except leave_scans.ScanError as exc:
            assert str(exc)  # says what to send instead
            return
        assert (kind == "application/pdf" and data.startswith(b"%PDF-")) or \
            (kind == "image/jpeg" and data.startswith(b"\xff\xd8\xff"))
        assert leave_scans.clean_name("../../etc/x y", kind).endswith((".pdf", ".jpg"))

    check()


def test_a_date_outside_the_hubs_years_is_refused(web_env: WebEnv) -> None:  # noqa: F811
    headers = {"Authorization": f"Bearer {web_env.token('reviewer')}"}
    with TestClient(create_app(web_env.settings)) as c:
        r = c.post("/api/leave", headers=headers, data={"employee": CITRA, "start": "0001-01-01", "type": "CT",
                                                        "reference": "x"})
        assert r.status_code == 422
    assert _count(web_env, LeaveEntry) == 0


def _asked(env: WebEnv, nip: str, start: str, end: str, kind: str = "S") -> int:
    """Leave asked from the phone (hub.mobile.api does this): pending, with the letter's photo."""
    from datetime import date

    from hub.reconcile.leave import add_leave

    engine = make_engine(env.settings.database_url)
    with session_scope(engine) as s:
        emp = s.scalar(select(Employee).where(Employee.id_number == nip))
        entry = add_leave(s, employee_id=emp.id, start=date.fromisoformat(start), end=date.fromisoformat(end),
                          type=kind, author=f"mobile:{nip}", note="demam", pending=True)
        leave_scans.attach(s, entry, (FACES / "obama.jpg").read_bytes(), "surat-dokter.jpg", f"mobile:{nip}")
        leave_id = entry.id
    engine.dispose()
    return leave_id


def test_an_approver_decides_leave_asked_from_the_phone(web_env: WebEnv) -> None:  # noqa: F811
    first = _asked(web_env, CITRA, "2026-10-06", "2026-10-07")
    second = _asked(web_env, CITRA, "2026-10-08", "2026-10-08", "I")
    with TestClient(create_app(web_env.settings)) as c:
        csrf = login(c, USERS["verifier"])
        page = c.get("/approvals").text
        assert f'data-request="{first}"' in page and "surat-dokter.jpg" in page and "demam" in page
        # a rejection needs its reason; the page says so and nothing changes
        r = c.post(f"/leave/{second}/decide", data={"csrf_token": csrf, "decision": "reject", "note": " "})
        assert "tulis alasan penolakan" in r.text.lower()
        r = c.post(f"/leave/{first}/decide", data={"csrf_token": csrf, "decision": "approve"})
        assert "disetujui" in r.text and f'data-request="{first}"' not in r.text
        r = c.post(f"/leave/{second}/decide", data={"csrf_token": csrf, "decision": "reject",
                                                     "note": "izin harus diajukan sehari sebelumnya"})
        assert "ditolak" in r.text
        again = c.post(f"/leave/{second}/decide", data={"csrf_token": csrf, "decision": "approve"})
        assert "sudah diputuskan" in again.text
        recap = c.get("/recap/day", params={"employee_id": web_env.ids["emp:Citra"], "day": "2026-10-06"}).text
        assert ">S<" in recap or "Sakit" in recap
        listed = c.get("/leave", params={"employee_id": web_env.ids["emp:Citra"]}).text
        assert "izin harus diajukan sehari sebelumnya" in listed and "menunggu persetujuan" not in listed
    engine = make_engine(web_env.settings.database_url)
    with session_scope(engine) as s:
        states = dict(s.execute(select(LeaveEntry.id, LeaveEntry.approval)).all())
        assert states[first] == "approved" and states[second] == "rejected"
    engine.dispose()


def test_leave_requests_through_the_api_and_within_the_offices(web_env: WebEnv) -> None:  # noqa: F811
    asked = _asked(web_env, CITRA, "2026-10-13", "2026-10-13")
    with TestClient(create_app(web_env.settings)) as c:
        h = {"Authorization": f"Bearer {web_env.token('verifier')}"}
        waiting = c.get("/api/leave/requests", headers=h).json()
        assert [w["id"] for w in waiting] == [asked] and waiting[0]["state"] == "pending"
        assert waiting[0]["scan"]["filename"] == "surat-dokter.jpg"
        r = c.post(f"/api/leave/{asked}/decision", headers=h, json={"decision": "reject"})
        assert r.status_code == 422
        r = c.post(f"/api/leave/{asked}/decision", headers=h, json={"decision": "reject", "note": "tanpa surat"})
        assert r.status_code == 200 and r.json()["state"] == "rejected" and r.json()["decision_note"] == "tanpa surat"
        assert c.post(f"/api/leave/{asked}/decision", headers=h, json={"decision": "approve"}).status_code == 409
        assert c.get("/api/leave/requests", headers=h).json() == []
        # an OPD operator (no review.approve) may read, not decide
        op = {"Authorization": f"Bearer {web_env.token('operator')}"}
        later = _asked(web_env, CITRA, "2026-10-14", "2026-10-14")
        assert [w["id"] for w in c.get("/api/leave/requests", headers=op).json()] == [later]
        assert c.post(f"/api/leave/{later}/decision", headers=op, json={"decision": "approve"}).status_code == 403


def test_field_places_are_recorded_and_removed(web_env: WebEnv) -> None:  # noqa: F811
    from hub.face.models import FieldPlace

    with TestClient(create_app(web_env.settings)) as c:
        csrf = login(c, USERS["reviewer"])
        form = {"csrf_token": csrf, "nip": CITRA, "name": "SDN 2 Lembang", "latitude": "-6.8123",
                "longitude": "107.6012", "radius_m": "150", "valid_from": "2026-10-01", "valid_to": "2026-12-31",
                "reference": "800/12/Disdik"}
        bad = c.post("/places", data={**form, "latitude": "utara"})
        assert bad.status_code == 422 and "harus angka" in bad.text and 'value="SDN 2 Lembang"' in bad.text
        too_wide = c.post("/places", data={**form, "radius_m": "90000"})
        assert too_wide.status_code == 422 and "radius" in too_wide.text
        r = c.post("/places", data=form)
        assert r.status_code == 200 and "SDN 2 Lembang" in r.text and "800/12/Disdik" in r.text
        place_id = int(re.search(r'data-place="(\d+)"', r.text).group(1))  # type: ignore[union-attr]
        h = {"Authorization": f"Bearer {web_env.token('reviewer')}"}
        listed = c.get("/api/field-places", params={"employee": CITRA}, headers=h).json()
        assert [p["name"] for p in listed] == ["SDN 2 Lembang"] and listed[0]["radius_m"] == 150
        made = c.post("/api/field-places", headers=h, json={
            "employee": CITRA, "name": "Puskesmas Cisarua", "latitude": -6.81, "longitude": 107.55,
            "radius_m": 200, "valid_from": "2026-11-01", "valid_to": "2026-11-30", "reference": "440/5"})
        assert made.status_code == 201, made.text
        assert c.delete(f"/api/field-places/{made.json()['id']}", headers=h).status_code == 204
        r = c.post(f"/places/{place_id}/remove", data={"csrf_token": csrf})
        assert "dihapus" in r.text
    assert _count(web_env, FieldPlace) == 0
    # an operator of OPD1 cannot give an OPD2 employee a place
    with TestClient(create_app(web_env.settings)) as c:
        csrf = login(c, USERS["operator"])
        engine = make_engine(web_env.settings.database_url)
        with session_scope(engine) as s:
            opd2 = s.scalar(select(Site.id).where(Site.code == "OPD2"))
            s.add(Employee(id_number="199901012020011001", employment_type="pns", name="Dewi", site_id=opd2))
        engine.dispose()
        r = c.post("/places", data={**form, "csrf_token": csrf, "nip": "199901012020011001"})
        assert r.status_code in (403, 422) and _count(web_env, FieldPlace) == 0
