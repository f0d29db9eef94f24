"""Faces in the console (issue 20, item 3), with real photos: the admin uploads an employee's
photo and sees the quality gate's answer on it (no face, two faces, a face too dark: red
boxes and the reason; a good face: a green box, enrolled); a face already enrolled for
someone else is flagged, and the review shows both faces side by side for a decision."""

from __future__ import annotations

import re

import cv2
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import delete, select

from hub.store.db import make_engine, session_scope
from hub.store.models import Template
from hub.web.app import create_app
from tests.face_fixtures import bgr, jpeg, photo
from tests.web_fixtures import USERS, WebEnv, csrf_of, login, web_env  # noqa: F401

pytestmark = pytest.mark.timeout(300)


def _answer(page: str) -> tuple[str, str, int, list[str]]:
    ok, text = re.search(r'id="face-answer" data-ok="(\d)">(.*?)</p>', page, re.S).groups()  # type: ignore
    svg = page.split('class="chart face-shown"', 1)[1].split("</svg>", 1)[0] if "face-shown" in page else ""
    boxes = re.findall(r'stroke="(#[0-9a-f]+)" stroke-width="3" class="face-box"', svg)
    return ok, re.sub(r"<[^>]+>", "", text), len(boxes), boxes


def test_the_admin_enrols_a_face_and_sees_the_gate_answer(web_env: WebEnv) -> None:  # noqa: F811
    engine = make_engine(web_env.settings.database_url)
    with session_scope(engine) as s:
        s.execute(delete(Template))  # the fixture's templates are placeholders
    engine.dispose()
    budi, citra = web_env.ids["emp:Budi"], web_env.ids["emp:Citra"]
    with TestClient(create_app(web_env.settings)) as c:
        login(c, USERS["admin"])
        page = c.get(f"/employees/{budi}").text
        assert 'action="/faces/enroll/' in page and 'id="face-photo"' not in page
        csrf = csrf_of(page)

        def upload(emp: int, data: bytes, name: str = "foto.jpg") -> tuple[int, str]:
            r = c.post(f"/faces/enroll/{emp}", data={"csrf_token": csrf}, files={"photo": (name, data, "image/jpeg")})
            return r.status_code, r.text

        status, page = upload(budi, photo("no_face.png"), "kosong.png")
        ok, text, n, _ = _answer(page)
        assert status == 422 and ok == "0" and "tidak ada wajah" in text and n == 0
        status, page = upload(budi, photo("astronaut.png"), "dua.png")
        ok, text, n, colours = _answer(page)
        assert status == 422 and "2 wajah" in text and n == 2 and set(colours) == {"#cf222e"}  # both shown, red
        status, page = upload(budi, jpeg(cv2.convertScaleAbs(bgr("obama.jpg"), alpha=0.25)))
        ok, text, n, colours = _answer(page)
        assert status == 422 and "terlalu gelap" in text and n == 1 and colours == ["#cf222e"]  # where it is
        status, page = upload(budi, photo("obama.jpg"))
        ok, text, n, colours = _answer(page)
        assert status == 201 and ok == "1" and "diterima" in text and colours == ["#1a7f37"]
        assert 'id="face-photo"' in c.get(f"/employees/{budi}").text
        face = c.get(f"/faces/photo/{budi}")
        assert face.status_code == 200 and face.content[:3] == b"\xff\xd8\xff"

        # the same face for Citra: enrolled, flagged, and reviewed side by side
        status, page = upload(citra, photo("obama2.jpg"))
        assert status == 201 and 'id="duplicates"' in page and "Budi" in page
        reviews = c.get("/faces/reviews").text
        section = re.search(r'<section class="review box" id="review-(\d+)" data-kind="duplicate_identity">(.*?)'
                            r"</section>", reviews, re.S)
        assert section is not None
        assert f'src="/faces/photo/{citra}"' in section.group(2) and f'src="/faces/photo/{budi}"' in section.group(2)
        rid = section.group(1)
        r = c.post(f"/faces/reviews/{rid}", data={"csrf_token": csrf, "decision": "confirmed", "note": ""},
                   follow_redirects=True)
        assert "Tulis alasannya dulu." in r.text
        c.post(f"/faces/reviews/{rid}", data={"csrf_token": csrf, "decision": "confirmed",
                                               "note": "foto Budi dipakai untuk Citra"})
        assert f'id="review-{rid}"' not in c.get("/faces/reviews").text
        closed = c.get("/faces/reviews", params={"closed": "1", "lang": "en"}).text
        assert "a real finding" in closed.split(f'id="review-{rid}"', 1)[1]
        token = {"Authorization": f"Bearer {web_env.token('admin')}"}
        listed = c.get("/api/face/reviews", params={"closed": True}, headers=token).json()
        assert [r["status"] for r in listed if str(r["id"]) == rid] == ["confirmed"]
        again = c.post(f"/api/face/reviews/{rid}", data={"decision": "dismissed", "note": "x"}, headers=token)
        assert again.status_code == 409 or "sudah ditutup" in again.text
    engine = make_engine(web_env.settings.database_url)
    with session_scope(engine) as s:
        kinds = set(s.scalars(select(Template.kind).where(Template.employee_id.in_([budi, citra]))))
        assert kinds == {"face"}
    engine.dispose()
    with TestClient(create_app(web_env.settings)) as c:
        login(c, USERS["reviewer"])  # reviewers see the roster, not faces
        assert c.get("/faces/reviews").status_code == 403
        assert c.get(f"/faces/photo/{budi}").status_code == 403
