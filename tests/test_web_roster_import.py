"""Roster import in the console (issue 20, item 3): the admin uploads a SIMPEG export, sees
joiners, leavers, transfers, other updates and refused rows with their reasons, and only
then applies it; what is applied is what was previewed. Nothing is written by a preview,
and the waiting upload is encrypted."""

from __future__ import annotations

import re
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import func, select, update

from hub.store.db import make_engine, session_scope
from hub.store.models import AuditLog, Employee, Site
from hub.web.app import create_app
from tests.web_fixtures import USERS, WebEnv, csrf_of, login, web_env  # noqa: F401

CSV = (
    "NIP,NAMA,STATUS,OPD,TPP,TANGGAL KELUAR\n"
    "199001012015011001,Dedi Kurniawan,PNS,OPD1,2500000,\n"          # joins
    "198001012005011001,Ani,PNS,OPD2,3000000,\n"                     # moves to BPKAD
    "198001012005011002,Budi,PNS,OPD1,3000000,2026-09-30\n"          # left at the end of September
    "198001012005011003,Citra,PNS,OPD1,3000000,\n"                   # as she is
    "12345,Salah Ketik,PNS,OPD1,,\n"                                  # not a NIP
    "199202022019022002,Eka,PNS,DINAS ANTAH,,\n"                      # an office nobody registered
)


def _employees(env: WebEnv) -> dict[str, tuple[int | None, bool]]:
    engine = make_engine(env.settings.database_url)
    with session_scope(engine) as s:
        codes = dict(s.execute(select(Site.id, Site.code)).all())
        out = {e.name: (codes.get(e.site_id), e.active) for e in s.scalars(select(Employee))}
    engine.dispose()
    return out


def _upload(c: TestClient, csv: str = CSV) -> str:
    page = c.get("/employees/import").text
    r = c.post("/employees/import", data={"csrf_token": csrf_of(page)},
               files={"file": ("simpeg-oktober.csv", csv.encode(), "text/csv")})
    assert r.status_code == 200, r.text[:500]
    return r.text


def test_the_admin_previews_then_applies_an_import(web_env: WebEnv) -> None:  # noqa: F811
    before = _employees(web_env)
    with TestClient(create_app(web_env.settings)) as c:
        login(c, USERS["admin"])
        page = _upload(c)
        summary = re.sub(r"<[^>]+>", "", re.search(r'id="summary">(.*?)</p>', page, re.S).group(1))  # type: ignore
        assert "6 baris" in summary and "1 pegawai baru" in summary and "1 keluar" in summary
        assert "1 pindah kantor" in summary and "1 tidak berubah" in summary and "2 ditolak" in summary
        assert "Dinas Kominfo → BPKAD" in page and "Dedi Kurniawan" in page
        assert "DINAS ANTAH" in page and "belum terdaftar" in page  # refused, with the reason
        assert _employees(web_env) == before  # a preview writes nothing
        files = list((Path(web_env.settings.var_dir) / "imports").glob("*.enc"))
        assert len(files) == 1 and b"199001012015011001" not in files[0].read_bytes()  # kept encrypted
        token = re.search(r'name="token" value="([0-9a-f]+)"', page).group(1)  # type: ignore[union-attr]
        digest = re.search(r'name="digest" value="([0-9a-f]+)"', page).group(1)  # type: ignore[union-attr]
        r = c.post("/employees/import/confirm", data={"csrf_token": csrf_of(page), "token": token, "digest": digest},
                   follow_redirects=False)
        assert r.status_code == 303
        assert "Roster diimpor: 1 baru, 2 diperbarui, 1 tidak berubah, 2 baris ditolak." in c.get(
            r.headers["location"]).text
        again = c.post("/employees/import/confirm", data={"csrf_token": csrf_of(page), "token": token,
                                                          "digest": digest})
        assert again.status_code == 422 and "sudah diterapkan" in again.text  # applied once only
    after = _employees(web_env)
    assert after["Dedi Kurniawan"] == ("OPD1", True) and after["Ani"] == ("OPD2", True)
    assert after["Budi"] == ("OPD1", False) and after["Citra"] == ("OPD1", True) and "Eka" not in after
    engine = make_engine(web_env.settings.database_url)
    with session_scope(engine) as s:
        log = s.scalar(select(AuditLog).where(AuditLog.action == "employee.import"))
        assert log.actor == USERS["admin"] and log.details["transfers"] == 1 and log.details["leavers"] == 1
    engine.dispose()


def test_a_roster_changed_since_the_preview_is_shown_again(web_env: WebEnv) -> None:  # noqa: F811
    with TestClient(create_app(web_env.settings)) as c:
        login(c, USERS["admin"])
        page = _upload(c)
        token = re.search(r'name="token" value="([0-9a-f]+)"', page).group(1)  # type: ignore[union-attr]
        digest = re.search(r'name="digest" value="([0-9a-f]+)"', page).group(1)  # type: ignore[union-attr]
        engine = make_engine(web_env.settings.database_url)
        with session_scope(engine) as s:  # someone moves Citra meanwhile
            opd2 = s.scalar(select(Site.id).where(Site.code == "OPD2"))
            s.execute(update(Employee).where(Employee.name == "Citra").values(site_id=opd2))
        engine.dispose()
        r = c.post("/employees/import/confirm", data={"csrf_token": csrf_of(page), "token": token, "digest": digest})
        assert r.status_code == 409 and 'id="changed"' in r.text and "2 pindah kantor" in re.sub(r"<[^>]+>", "", r.text)
    assert _employees(web_env)["Ani"] == ("OPD1", True)  # nothing applied


def test_bad_files_say_what_to_send(web_env: WebEnv) -> None:  # noqa: F811
    with TestClient(create_app(web_env.settings)) as c:
        login(c, USERS["admin"])
        csrf = csrf_of(c.get("/employees/import").text)
        r = c.post("/employees/import", data={"csrf_token": csrf}, files={"file": ("roster.pdf", b"%PDF-", "x")})
        assert r.status_code == 422 and "bukan CSV atau XLSX" in r.text
        r = c.post("/employees/import", data={"csrf_token": csrf},
                   files={"file": ("roster.csv", b"NAMA,JABATAN\nAni,Staf\n", "text/csv")})
        assert r.status_code == 422 and "baris judul tidak ditemukan" in r.text
        r = c.post("/employees/import", data={"csrf_token": csrf},
                   files={"file": ("roster.csv", b"NIP,NAMA\n198001012005011001,Ani\n", "text/csv")})
        assert r.status_code == 422 and "kolom OPD/unit kerja tidak ditemukan" in r.text
        assert c.post("/employees/import/confirm", data={"csrf_token": csrf, "token": "../../etc/passwd",
                                                          "digest": "x"}).status_code == 422
    with TestClient(create_app(web_env.settings)) as c:
        login(c, USERS["reviewer"])  # reviewers read the roster, they do not import it
        assert c.get("/employees/import").status_code == 403


def test_the_same_through_the_api(web_env: WebEnv) -> None:  # noqa: F811
    headers = {"Authorization": f"Bearer {web_env.token('admin')}"}
    with TestClient(create_app(web_env.settings)) as c:
        r = c.post("/api/employees/import/preview", headers=headers,
                   files={"file": ("simpeg.csv", CSV.encode(), "text/csv")})
        assert r.status_code == 200, r.text
        p = r.json()
        assert (p["joiners"], p["leavers"], p["transfers"], p["unchanged"], len(p["rejected"])) == (1, 1, 1, 1, 2)
        assert {c_["kind"] for c_ in p["changes"]} == {"joiner", "leaver", "transfer"}
        moved = next(c_ for c_ in p["changes"] if c_["kind"] == "transfer")
        assert (moved["site_before"], moved["site_after"]) == ("OPD1", "OPD2")
        done = c.post("/api/employees/import/confirm", headers=headers,
                      json={"token": p["token"], "digest": p["digest"]}).json()
        assert done["created"] == 1 and len(done["rejected"]) == 2
    engine = make_engine(web_env.settings.database_url)
    with session_scope(engine) as s:
        assert s.scalar(select(func.count()).select_from(Employee).where(Employee.active.is_(True))) == 3
    engine.dispose()
