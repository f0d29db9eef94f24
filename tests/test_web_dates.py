"""Date and month parameters outside the hub's years (2000-2099) are the caller's mistake:
422 with a message (or the page's own "not found"), never a 500 (issue 21, item 5)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from hub.web.app import create_app
from tests.web_fixtures import USERS, WebEnv, login, web_env  # noqa: F401

API = ["/api/punches?date_from=9999-12-31", "/api/punches?date_to=9999-12-31", "/api/punches?date_from=0001-01-01",
       "/api/exceptions?site=OPD1&day=9999-12-31", "/api/exceptions?site=OPD1&day=0001-01-01",
       "/api/recap?site=OPD1&month=0001-01", "/api/recap?site=OPD1&month=9999-12",
       "/api/recap/preview?site=OPD1&month=9999-12", "/api/recap?site=OPD1&month=2026-13"]
PAGES = ["/recap/export.csv?site=OPD1&month=9999-12", "/recap/export.pdf?site=OPD1&month=0001-01",
         "/recap/export.xlsx?site=OPD1&month=0001-01", "/recap/lock?site=OPD1&month=9999-12"]
BODIES = [("/api/corrections", {"employee_id": 1, "day": "9999-12-31", "kind": "set_status", "reason": "x",
                                "status": "H"}),
          ("/api/corrections", {"employee_id": 1, "day": "2026-10-01", "kind": "add_punch", "reason": "x",
                                "local_time": "9999-12-31T23:59:00", "state": "check_in"}),
          ("/api/nodata/decisions", {"terminal": "SN-ON", "day": "0001-01-01", "decision": "present", "reason": "x"})]


@pytest.mark.parametrize("url", API)
def test_api_dates_out_of_range_are_422(web_env: WebEnv, url: str) -> None:  # noqa: F811
    with TestClient(create_app(web_env.settings), raise_server_exceptions=False) as c:
        r = c.get(url, headers={"Authorization": f"Bearer {web_env.token('reviewer')}"})
    assert r.status_code == 422, (r.status_code, r.text[:300])
    assert "2000" in r.text or "tidak sah" in r.text or "pattern" in r.text


def test_pages_and_bodies_with_dates_out_of_range(web_env: WebEnv) -> None:  # noqa: F811
    with TestClient(create_app(web_env.settings), raise_server_exceptions=False) as c:
        for path, body in BODIES:
            r = c.post(path, json=body, headers={"Authorization": f"Bearer {web_env.token('reviewer')}"})
            assert r.status_code in (404, 422), (path, r.status_code, r.text[:300])
        login(c, USERS["reviewer"])
        for url in PAGES:
            r = c.get(url)
            assert r.status_code == 422 and "2000-2099" in r.text, (url, r.status_code)
        for url in ("/review?site=OPD1&day=9999-12-31", "/recap?site=OPD1&month=0001-01",
                    "/recap/day?employee_id=1&day=9999-12-31"):
            assert c.get(url).status_code < 500
