"""Office scope (issue 20, item 1): an OPD operator sees and changes only the offices they
work for and the units below them, in the console and through the API; a verifier bound to
one office cannot approve another's correction; an operator bound to nothing sees nothing;
the CLI binds users to offices."""

from __future__ import annotations

import json

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from typer.testing import CliRunner

from hub.cli.main import app as cli
from hub.reconcile.corrections import propose_correction
from hub.store.db import make_engine, session_scope
from hub.store.models import Correction, Device, Employee, PinMapping, RawPunch, Site
from hub.web.app import create_app
from hub.web.auth import add_user, bind_sites, find_user, new_api_token
from tests.web_fixtures import DAY, MONTH, PASSWORD, USERS, WebEnv, login, web_env  # noqa: F401


def _others(env: WebEnv) -> dict[str, int]:
    """Dewi works for OPD2 (with a punch on its terminal); Eko for a unit below OPD1; a
    correction for Dewi is pending, another for Ani (OPD1)."""
    engine = make_engine(env.settings.database_url)
    with session_scope(engine) as s:
        opd1 = s.scalar(select(Site).where(Site.code == "OPD1"))
        opd2 = s.scalar(select(Site).where(Site.code == "OPD2"))
        unit = Site(code="OPD1-UPT", name="UPT Kominfo", parent_id=opd1.id, tz="Asia/Jakarta")
        s.add(unit)
        s.flush()
        dewi = Employee(id_number="198202022006042002", employment_type="pns", name="Dewi Lestari",
                        site_id=opd2.id, monthly_tpp=3_000_000)
        eko = Employee(id_number="198303032007051003", employment_type="pns", name="Eko Prasetyo",
                       site_id=unit.id, monthly_tpp=3_000_000)
        s.add_all([dewi, eko])
        s.flush()
        s.add(PinMapping(employee_id=dewi.id, pin="41", pin_group="default"))
        off = s.scalar(select(Device).where(Device.serial == "SN-OFF"))
        s.add(RawPunch(device_id=off.id, source="zk_udp", pin="41", employee_id=dewi.id,
                       local_time=DAY.replace(hour=7, minute=10), tz="Asia/Jakarta",
                       utc_time=DAY.replace(hour=0, minute=10), state="check_in", verify="fingerprint",
                       raw={}, flags=0))
        ani = s.scalar(select(Employee).where(Employee.name == "Ani"))
        c_dewi = propose_correction(s, employee_id=dewi.id, day=DAY.date(), kind="set_status", status="CS",
                                    reason="surat dokter", author=USERS["reviewer"])
        c_ani = propose_correction(s, employee_id=ani.id, day=DAY.date(), kind="set_status", status="CS",
                                   reason="surat dokter", author=USERS["reviewer"])
        s.flush()
        ids = {"dewi": dewi.id, "eko": eko.id, "ani": ani.id, "c_dewi": c_dewi.id, "c_ani": c_ani.id}
    engine.dispose()
    return ids


def test_an_operator_sees_and_changes_only_their_office_subtree(web_env: WebEnv) -> None:  # noqa: F811
    ids = _others(web_env)
    app = create_app(web_env.settings)
    with TestClient(app) as c:
        csrf = login(c, USERS["operator"])  # op1 works for OPD1
        day = DAY.date().isoformat()
        assert c.get("/exceptions", params={"site": "OPD1", "day": day}).status_code == 200
        refused = c.get("/exceptions", params={"site": "OPD2", "day": day})
        assert refused.status_code == 403 and "di luar cakupan" in refused.text
        people = c.get("/employees").text
        assert "Ani" in people and "Eko Prasetyo" in people and "Dewi" not in people  # a unit below: seen
        assert 'value="OPD2"' not in people and 'value="OPD1-UPT"' in people  # the office picker
        assert c.get(f"/employees/{ids['dewi']}").status_code == 403
        assert c.get(f"/employees/{ids['eko']}").status_code == 200
        assert c.get("/recap", params={"site": "OPD2", "month": MONTH}).status_code == 403
        assert c.get("/recap/day", params={"employee_id": ids["dewi"], "day": day}).status_code == 403
        assert c.get("/recap/export.csv", params={"site": "OPD2", "month": MONTH}).status_code == 403
        punches = c.get("/punches").text
        assert "Ani" in punches and "Dewi" not in punches and "SN-OFF" not in punches
        assert c.get("/audit").status_code == 403
        approvals = c.get("/approvals").text
        assert f"#{ids['c_ani']}" in approvals or "Ani" in approvals
        assert "Dewi" not in approvals
        r = c.post("/corrections", data={"csrf_token": csrf, "employee_id": str(ids["dewi"]), "day": day,
                                         "kind": "set_status", "status": "DL", "reason": "surat tugas"},
                   follow_redirects=False)
        assert r.status_code == 403
        r = c.post("/corrections", data={"csrf_token": csrf, "employee_id": str(ids["eko"]), "day": day,
                                         "kind": "set_status", "status": "DL", "reason": "surat tugas"},
                   follow_redirects=False)
        assert r.status_code == 303
    engine = make_engine(web_env.settings.database_url)
    with session_scope(engine) as s:
        by_author = dict(s.execute(select(Correction.employee_id, func.count()).where(
            Correction.author == USERS["operator"]).group_by(Correction.employee_id)).all())
    engine.dispose()
    assert by_author == {ids["eko"]: 1}  # the refused one left nothing behind


def test_the_api_keeps_the_same_scope(web_env: WebEnv) -> None:  # noqa: F811
    ids = _others(web_env)
    with TestClient(create_app(web_env.settings)) as c:
        h = {"Authorization": f"Bearer {web_env.token('operator')}"}
        page = c.get("/api/employees", headers=h, params={"per_page": 500}).json()
        assert {e["name"] for e in page["items"]} == {"Ani", "Budi", "Citra", "Eko Prasetyo"}
        assert page["total"] == 4
        assert c.get("/api/employees", headers=h, params={"site": "OPD2"}).status_code == 403
        pins = {p["pin"] for p in c.get("/api/punches", headers=h, params={"per_page": 500}).json()["items"]}
        assert "41" not in pins and "1" in pins
        assert c.get("/api/exceptions", headers=h, params={"site": "OPD2", "day": "2026-10-05"}).status_code == 403
        r = c.post("/api/corrections", headers=h, json={"employee_id": ids["dewi"], "day": "2026-10-05",
                                                        "kind": "set_status", "status": "CS", "reason": "x"})
        assert r.status_code == 403 and r.json()["detail"] == "di luar kantor Anda"
        r = c.post("/api/corrections", headers={**h, "Accept-Language": "en-GB,en;q=0.9,id;q=0.5"},
                   json={"employee_id": ids["dewi"], "day": "2026-10-05", "kind": "set_status", "status": "CS",
                         "reason": "x"})
        assert r.status_code == 403 and r.json()["detail"] == "outside your offices"  # the client's language
        pending = {p["id"] for p in c.get("/api/corrections/pending", headers=h).json()}
        assert ids["c_ani"] in pending and ids["c_dewi"] not in pending
        assert c.get("/api/recap", headers=h, params={"site": "OPD2", "month": MONTH}).status_code == 403
        assert c.get("/api/recap", headers=h, params={"site": "OPD1", "month": MONTH}).status_code == 200
        # everyone unbound still sees every office
        h_rev = {"Authorization": f"Bearer {web_env.token('reviewer')}"}
        assert c.get("/api/employees", headers=h_rev, params={"per_page": 500}).json()["total"] == 5


def test_a_verifier_of_one_office_cannot_decide_another_offices_correction(web_env: WebEnv) -> None:  # noqa: F811
    ids = _others(web_env)
    engine = make_engine(web_env.settings.database_url)
    with session_scope(engine) as s:
        bind_sites(s, find_user(s, USERS["verifier"]), ["OPD2"])
        nobody = add_user(s, "op0", PASSWORD, "operator")  # an operator bound to no office
        token0 = new_api_token(s, nobody, "tests")
    with TestClient(create_app(web_env.settings)) as c:
        h = {"Authorization": f"Bearer {web_env.token('verifier')}"}
        r = c.post(f"/api/corrections/{ids['c_ani']}/decision", headers=h, json={"decision": "approve"})
        assert r.status_code == 403
        r = c.post(f"/api/corrections/{ids['c_dewi']}/decision", headers=h, json={"decision": "approve"})
        assert r.status_code == 200 and r.json()["approval"] == "approved"
        h0 = {"Authorization": f"Bearer {token0}"}
        assert c.get("/api/employees", headers=h0).json()["total"] == 0
        assert c.get("/api/punches", headers=h0).json()["total"] == 0
    with session_scope(engine) as s:
        assert s.get(Correction, ids["c_ani"]).approval == "pending"
    engine.dispose()


def test_the_cli_binds_users_to_offices(web_env: WebEnv) -> None:  # noqa: F811
    runner = CliRunner()
    r = runner.invoke(cli, ["user", "add", "op7", "--role", "operator", "--password-stdin"],
                      input="kopi-susu-op7-9\n")
    assert r.exit_code == 1 and "--site" in r.output  # an operator without an office is refused
    r = runner.invoke(cli, ["user", "add", "op7", "--role", "operator", "--site", "OPD9", "--password-stdin"],
                      input="kopi-susu-op7-9\n")
    assert r.exit_code == 1 and "OPD9" in r.output
    r = runner.invoke(cli, ["user", "add", "op7", "--role", "operator", "--site", "OPD2", "--password-stdin"],
                      input="kopi-susu-op7-9\n")
    assert r.exit_code == 0, r.output
    r = runner.invoke(cli, ["user", "list", "--format", "json"])
    assert r.exit_code == 0
    offices = {u["username"]: u["offices"] for u in json.loads(r.output)}
    assert offices["op7"] == "OPD2" and offices[USERS["operator"]] == "OPD1"
    assert offices[USERS["it"]] in ("(semua)", "(all)")
    assert runner.invoke(cli, ["user", "bind", "op7", "--site", "OPD1"]).exit_code == 0
    with TestClient(create_app(web_env.settings)) as c:
        login(c, "op7", "kopi-susu-op7-9")
        assert c.get("/exceptions", params={"site": "OPD1", "day": "2026-10-05"}).status_code == 200
        assert c.get("/exceptions", params={"site": "OPD2", "day": "2026-10-05"}).status_code == 403
    assert runner.invoke(cli, ["user", "bind", "op7"]).exit_code == 1  # an operator keeps an office

