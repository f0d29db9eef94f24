"""The roster and faces pushed to a Hikvision terminal over ISAPI (issue 17, item 4), through
the same planner, apply and read-back as every other terminal, on SQLite and PostgreSQL,
against the simulator over real HTTP with Digest: a face enrolled in the hub reaches the
Hikvision terminal and an ADMS face terminal of the same office and leaves both with the
employee; names cut to what the terminal keeps; a refused face reported and sent again
later; a terminal that cannot be reached keeps its state and gets the change next time."""

from __future__ import annotations

import contextlib
import json
from datetime import date

from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.commands import VALID_FIRST, VALID_LAST, valid_period
from hub.face.enroll import enroll_analysis
from hub.fleet.registry import set_login
from hub.protocols import isapi
from hub.push.models import DeviceCommand
from hub.secrets import decrypt
from hub.simulator.hikvision import HikTerminal, Served
from hub.store.models import Device, Employee, PinMapping, Template
from hub.sync.apply import apply_plans
from hub.sync.confirm import fields_hash
from hub.sync.models import DeviceRosterTemplate, DeviceRosterUser
from hub.sync.plan import compute_plans, select_devices
from tests.face_fixtures import analysed
from tests.roster_fixtures import device, employee, site
from tests.test_sync_push import confirm_all

D = date(2026, 11, 2)
LONG = "Raden Ajeng Siti Nurhaliza Kusumawardhani"  # 41 bytes: more than a MinMoe keeps


def _sync(engine):  # type: ignore[no-untyped-def]
    with Session(engine) as s:
        plans = compute_plans(s, select_devices(s), D)
        s.commit()
    return {r.serial: r for r in apply_plans(engine, plans, "test")}


def _office(engine, term: HikTerminal, port: int) -> dict[str, int]:  # type: ignore[no-untyped-def]
    with Session(engine) as s:
        office = site(s, "DISDIK")
        hik = device(s, term.serial, office, kind="hik-isapi", port=port)
        set_login(hik, term.username, term.password)
        device(s, "ADMS-F1", office, kind="adms")
        ani = employee(s, office, name="Ani Suryani")
        budi = employee(s, office, name=LONG)
        s.flush()
        for e in (ani, budi):  # the hub's PINs: what the roster planner assigns from
            s.add(PinMapping(employee_id=e.id, pin=e.id_number[-6:], pin_group="default"))
        enroll_analysis(s, ani.id_number, analysed("obama.jpg"), "admin1")
        s.commit()
        return {"ani": ani.id, "budi": budi.id, "hik": hik.id}


def test_a_face_reaches_hikvision_and_adms_and_leaves_both_with_the_employee(engine) -> None:  # type: ignore[no-untyped-def]
    term = HikTerminal(serial="DS-K1T-ROSTER")
    with Served(term) as served:
        ids = _office(engine, term, served.port)
        res = _sync(engine)
        hik, adms = res[term.serial], res["ADMS-F1"]
        assert hik.status == "ok", (hik.error, hik.issues)
        assert adms.status == "ok", (adms.error, adms.issues)
        with Session(engine) as s:
            pins = dict(s.execute(select(PinMapping.employee_id, PinMapping.pin)).all())
            face = s.scalar(select(Template).where(Template.employee_id == ids["ani"], Template.kind == "face",
                                                   Template.format == "jpeg"))
            photo = decrypt(face.blob_enc)
        ani, budi = pins[ids["ani"]], pins[ids["budi"]]
        # the Hikvision terminal holds both people, Ani's face as the hub's terminal photo
        assert sorted(term.users) == sorted([ani, budi]) and term.faces == {ani: photo}
        assert term.users[budi]["name"] == "Raden Ajeng Siti Nurhaliza Kusum"  # 32 bytes kept
        assert any(i.action == "user_name" for i in hik.issues)  # and the admin is told
        # the ADMS face terminal got the same face as a command; it confirms it
        with Session(engine) as s:
            ops = [op for op, in s.execute(select(DeviceCommand.op).join(Device, Device.id == DeviceCommand.device_id)
                                           .where(Device.serial == "ADMS-F1"))]
        assert "face.set" in ops and ops.count("user.upsert") == 2
        confirm_all(engine)
        # read back, the state is the terminal's own: a second sync sends nothing
        again = _sync(engine)
        assert again[term.serial].status == "unchanged" and again["ADMS-F1"].status == "unchanged"
        with Session(engine) as s:
            faces = dict(s.execute(select(Device.serial, DeviceRosterTemplate.pin)
                                   .join(Device, Device.id == DeviceRosterTemplate.device_id)
                                   .where(DeviceRosterTemplate.kind == "face")).all())
            assert faces == {term.serial: ani, "ADMS-F1": ani}
        # Ani leaves: she and her face go from both terminals
        with Session(engine) as s:
            s.get(Employee, ids["ani"]).active = False
            s.commit()
        gone = _sync(engine)
        assert gone[term.serial].status == "ok" and gone[term.serial].sent["users_removed"] == 1
        assert sorted(term.users) == [budi] and term.faces == {}
        with Session(engine) as s:
            ops = [op for op, in s.execute(select(DeviceCommand.op).join(Device, Device.id == DeviceCommand.device_id)
                                           .where(Device.serial == "ADMS-F1").order_by(DeviceCommand.id))]
        assert "user.delete" in ops[ops.index("users.list") + 1:]  # (then the read-back request)
        confirm_all(engine)
        assert _sync(engine)[term.serial].status == "unchanged"  # (and the ADMS answers are taken in)
        with Session(engine) as s:
            left = set(s.execute(select(Device.serial, DeviceRosterUser.pin)
                                 .join(Device, Device.id == DeviceRosterUser.device_id)).all())
            assert left == {(term.serial, budi), ("ADMS-F1", budi)}


def test_a_refused_face_is_reported_and_sent_again_and_an_unreachable_terminal_waits(engine) -> None:  # type: ignore[no-untyped-def]
    term = HikTerminal(serial="DS-K1T-FULL", faces_cap=0)
    with Served(term) as served:
        ids = _office(engine, term, served.port)
        with Session(engine) as s:  # (the ADMS terminal is not what this test is about)
            s.execute(Device.__table__.update().where(Device.serial == "ADMS-F1").values(enabled=False))
            s.commit()
        first = _sync(engine)[term.serial]
        assert first.status == "partial" and len(term.users) == 2 and term.faces == {}
        [refused] = [i for i in first.issues if i.action == "template_add"]
        assert "faceLibFull" in refused.message and refused.employee_id == ids["ani"]
        term.faces_cap = 10
        second = _sync(engine)[term.serial]
        assert second.status == "ok" and second.sent["templates_sent"] == 1 and len(term.faces) == 1
    # the terminal is off: nothing changes in the hub's picture of it, the change waits
    with Session(engine) as s:
        s.get(Employee, ids["budi"]).active = False
        s.commit()
    off = _sync(engine)[term.serial]
    assert off.status == "failed" and off.error
    with Session(engine) as s:
        assert len(list(s.scalars(select(DeviceRosterUser).where(DeviceRosterUser.device_id == ids["hik"])))) == 2
    with Served(term, port=served.port):
        back = _sync(engine)[term.serial]
        assert back.status == "ok" and len(term.users) == 1


def test_a_person_is_valid_on_the_terminal_from_joining_to_leaving(engine) -> None:  # type: ignore[no-untyped-def]
    """The terminal itself stops a leaver on the leaving day, even if the hub cannot reach it
    then; a new leaving date is sent as a change; someone already on the terminal before the
    hub knew it (enrolled at the device) is taken over, not refused."""
    term = HikTerminal(serial="DS-K1T-VALID")
    with Served(term) as served:
        with Session(engine) as s:
            office = site(s, "BKD")
            hik = device(s, term.serial, office, kind="hik-isapi", port=served.port)
            set_login(hik, term.username, term.password)
            citra = employee(s, office, name="Citra", joined_on=date(2019, 3, 1), left_on=date(2027, 6, 30))
            dodi = employee(s, office, name="Dodi")  # no dates: open on both sides
            eka = employee(s, office, name="Eka Putri", joined_on=date(1998, 7, 1))  # before the firmware's range
            s.flush()
            pins = {e.id: e.id_number[-6:] for e in (citra, dodi, eka)}
            for emp_id, pin in pins.items():
                s.add(PinMapping(employee_id=emp_id, pin=pin, pin_group="default"))
            ids = {"citra": citra.id, "dodi": dodi.id, "eka": eka.id}
            s.commit()
        # Eka was enrolled at the terminal by hand, under another name, before the hub
        term.users[pins[ids["eka"]]] = {"employeeNo": pins[ids["eka"]], "name": "EKA", "Valid": {}}
        first = _sync(engine)[term.serial]
        assert first.status == "ok", (first.error, first.issues)
        valid = {n: term.users[pins[i]]["Valid"] for n, i in ids.items()}
        period = {n: (v["beginTime"], v["endTime"]) for n, v in valid.items()}
        assert period["citra"] == ("2019-03-01T00:00:00", "2027-06-30T23:59:59")
        assert period["dodi"] == ("2000-01-01T00:00:00", "2037-12-31T23:59:59")
        assert period["eka"][0] == "2000-01-01T00:00:00" and term.users[pins[ids["eka"]]]["name"] == "Eka Putri"
        assert all(v["enable"] and v["timeType"] == "local" for v in valid.values())
        assert _sync(engine)[term.serial].status == "unchanged"  # read back: the terminal holds what was meant
        # Citra's retirement is brought forward: one change, her new last day on the terminal
        with Session(engine) as s:
            s.get(Employee, ids["citra"]).left_on = date(2026, 12, 31)
            s.commit()
        changed = _sync(engine)[term.serial]
        assert changed.status == "ok" and changed.sent["users_sent"] == 1
        assert term.users[pins[ids["citra"]]]["Valid"]["endTime"] == "2026-12-31T23:59:59"
        with Session(engine) as s:  # the confirmed state is the period read back from the terminal
            row = s.scalar(select(DeviceRosterUser).where(DeviceRosterUser.pin == pins[ids["citra"]]))
            assert row.fields_hash == fields_hash(pins[ids["citra"]], "Citra", valid="2019-03-01..2026-12-31")


@hsettings(max_examples=200, deadline=None)
@given(st.one_of(st.none(), st.dates()), st.one_of(st.none(), st.dates()))
def test_a_period_survives_the_terminal(begin: date | None, end: date | None) -> None:
    """What the hub writes as a person's period is what it reads back from the terminal."""
    valid = valid_period(begin, end)
    record = isapi.user_record("123456", "Nama", valid)["UserInfo"]
    page = isapi.parse_user_search({"UserInfoSearch": {"responseStatusStrg": "OK", "UserInfo": [record]}})
    assert page.users == (("123456", "Nama", valid),)
    first, last = valid.split("..")
    assert VALID_FIRST.isoformat() <= first <= last <= VALID_LAST.isoformat()


@hsettings(max_examples=300, deadline=None)
@given(st.dictionaries(st.sampled_from(["beginTime", "endTime", "enable"]),
                       st.one_of(st.text(max_size=30), st.integers(), st.none(), st.booleans()), max_size=3))
def test_a_period_read_back_is_read_or_refused_with_where(valid: dict) -> None:  # type: ignore[type-arg]
    body = json.dumps({"UserInfoSearch": {"responseStatusStrg": "OK",
                                          "UserInfo": [{"employeeNo": "77", "name": "x", "Valid": valid}]}})
    with contextlib.suppress(isapi.IsapiError):
        page = isapi.parse_user_search(body)
        assert len(page.users[0][2].split("..")) == 2
    try:
        isapi.parse_user_search(body)
    except isapi.IsapiError as exc:
        assert "Valid" in exc.where
