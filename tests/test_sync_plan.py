"""Sync plans: desired state vs each terminal's confirmed state, per terminal."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.orm import Session

from hub.store.models import Template
from hub.sync.confirm import fields_hash
from hub.sync.models import DeviceRosterTemplate, DeviceRosterUser
from hub.sync.plan import compute_plans, select_devices
from tests.roster_fixtures import device, employee, fake_fp, fingerprint, site

D = date(2026, 3, 2)


@pytest.fixture
def fleet(engine):
    with Session(engine) as s:
        opd = site(s, "BKPSDM")
        unit = site(s, "BKPSDM-MUTASI", opd, "bidang")
        other = site(s, "DISHUB")
        t1 = device(s, "ZK-1", opd)
        t2 = device(s, "ZK-OLD", opd, kind="zk-udp", caps={"user_size": 28})
        t3 = device(s, "ZK-DISHUB", other)
        t4 = device(s, "ADMS-1", other, kind="adms")
        s.commit()
        yield s, {"opd": opd, "unit": unit, "other": other, "t1": t1, "t2": t2, "t3": t3, "t4": t4}


def by_serial(plans):
    return {p.serial: p for p in plans}


def confirm(s, plan):
    """Pretend the terminal now holds exactly what the plan wanted (what a read-back records)."""
    for u in plan.users_add + plan.users_update:
        s.merge(DeviceRosterUser(device_id=plan.device_id, pin=u.pin, uid=None, employee_id=u.employee_id,
                                 fields_hash=u.fields_hash))
    for t in plan.templates_add:
        s.add(DeviceRosterTemplate(device_id=plan.device_id, pin=t.pin, kind=t.kind, finger_index=t.finger_index,
                                   sha256=t.sha256))
    s.flush()


def test_adds_users_and_templates_to_the_office_terminals_only(fleet):
    s, f = fleet
    a = employee(s, f["unit"], name="Ayu Lestari")
    b = employee(s, f["other"], name="Bambang")
    fingerprint(s, a, 0, fake_fp("a0"))
    fingerprint(s, a, 5, fake_fp("a5"))
    fingerprint(s, a, 1, fake_fp("a1-v9"), fmt="zk-fp9")  # other algorithm: not for these terminals
    p = by_serial(compute_plans(s, select_devices(s), D))
    for serial in ("ZK-1", "ZK-OLD"):
        assert [u.employee_id for u in p[serial].users_add] == [a.id]
        assert sorted(t.finger_index for t in p[serial].templates_add) == [0, 5]
    assert [u.employee_id for u in p["ZK-DISHUB"].users_add] == [b.id]
    assert p["ZK-DISHUB"].templates_add == []
    assert [u.employee_id for u in p["ADMS-1"].users_add] == [b.id]
    # same PIN on every terminal of the group, and not the NIP
    pins = {p[x].users_add[0].pin for x in ("ZK-1", "ZK-OLD")}
    assert len(pins) == 1 and a.id_number not in pins


def test_second_plan_after_confirmation_is_empty(fleet):
    s, f = fleet
    a = employee(s, f["opd"])
    fingerprint(s, a, 3, fake_fp("x"))
    for p in compute_plans(s, select_devices(s), D):
        confirm(s, p)
    again = compute_plans(s, select_devices(s), D)
    assert all(p.empty for p in again), [p.counts() for p in again]


def test_changes_become_updates_removals_and_template_swaps(fleet):
    s, f = fleet
    a, b = employee(s, f["opd"], name="Citra"), employee(s, f["opd"], name="Dedi")
    t = fingerprint(s, a, 0, fake_fp("old"))
    fingerprint(s, a, 1, fake_fp("one"))
    for p in compute_plans(s, select_devices(s, device="ZK-1"), D):
        confirm(s, p)
    a.name = "Citra Dewi"
    b.left_on = date(2026, 3, 2)  # leaves today: removed today
    s.delete(s.get(Template, t.id))
    s.flush()
    fingerprint(s, a, 2, fake_fp("new"))
    (p,) = compute_plans(s, select_devices(s, device="ZK-1"), D)
    assert [u.name for u in p.users_update] == ["Citra Dewi"]
    assert [u.employee_id for u in p.users_remove] == [b.id]
    assert [t.finger_index for t in p.templates_add] == [2]
    assert [t.finger_index for t in p.templates_remove] == [0]
    assert not p.users_add


def test_transfer_plans_removal_at_old_and_add_at_new_on_the_date(fleet):
    from hub.roster.assignment import add_transfer

    s, f = fleet
    a = employee(s, f["opd"])
    for p in compute_plans(s, select_devices(s), D):
        confirm(s, p)
    add_transfer(s, a, f["other"], date(2026, 3, 9))
    assert all(p.empty for p in compute_plans(s, select_devices(s), date(2026, 3, 8)))
    p = by_serial(compute_plans(s, select_devices(s), date(2026, 3, 9)))
    assert [u.employee_id for u in p["ZK-1"].users_remove] == [a.id]
    assert [u.employee_id for u in p["ZK-DISHUB"].users_add] == [a.id]


def test_names_fitted_to_the_record_and_reported(fleet):
    s, f = fleet
    employee(s, f["opd"], name="Ni Luh Putu Ayu Kusumawardhani")
    employee(s, f["opd"], name="Zoë Ñandú")
    p = by_serial(compute_plans(s, select_devices(s), D))
    old = {u.name for u in p["ZK-OLD"].users_add}
    assert old == {"Ni Luh P", "Zoe Nand"}  # 8-byte names on the 28-byte terminal
    new = {u.name for u in p["ZK-1"].users_add}
    assert "Ni Luh Putu Ayu Kusumawa" not in new and "Ni Luh Putu Ayu Kusumaw" in new
    assert any("dipotong" in n for n in p["ZK-OLD"].notes)
    assert any("transliterasi" in n for n in p["ZK-1"].notes)
    u = next(x for x in p["ZK-1"].users_add if x.name.startswith("Zoe"))
    assert u.fields_hash == fields_hash(u.pin, "Zoe Nandu")


def test_faces_go_to_push_terminals_and_are_noted_for_zk(fleet):
    s, f = fleet
    a = employee(s, f["other"])
    from hub.secrets import encrypt

    s.add(Template(employee_id=a.id, kind="face", finger_index=0, format="jpeg", blob_enc=encrypt(b"\xff\xd8jpeg"),
                   sha256="ab" * 32, size=6))
    s.flush()
    p = by_serial(compute_plans(s, select_devices(s), D))
    assert [(t.kind, t.pin) for t in p["ADMS-1"].templates_add] == [("face", p["ADMS-1"].users_add[0].pin)]
    assert p["ZK-DISHUB"].templates_add == []
    assert any("wajah" in n for n in p["ZK-DISHUB"].notes)


def test_filters_and_unknown_site(fleet):
    s, f = fleet
    assert [d.serial for d in select_devices(s, site="DISHUB")] == ["ADMS-1", "ZK-DISHUB"]
    assert [d.serial for d in select_devices(s, device="ZK-1")] == ["ZK-1"]
    with pytest.raises(ValueError, match="tidak ditemukan"):
        select_devices(s, site="NOPE")


_n = iter(range(10**6))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_property_plans_converge_and_respect_offices(engine, data):
    """Random offices, terminals, rules and people: after confirming a plan the next is empty; a
    person is only on terminals of an office they belong to (or its ancestors); one PIN per group."""
    from hub.roster.assignment import set_scope

    tag = next(_n)
    with Session(engine) as s:
        sites = []
        for i in range(data.draw(st.integers(2, 6), "sites")):
            parent = data.draw(st.sampled_from([None, *sites]), f"parent{i}") if sites else None
            sites.append(site(s, f"P{tag}-{i}", parent))
        devs = [device(s, f"D{tag}-{i}", x) for i, x in enumerate(sites) if data.draw(st.booleans(), f"dev{i}")]
        for x in sites:
            set_scope(s, x.code, data.draw(st.sampled_from(["nearest", "own", "own_and_parents"])))
        people = []
        names = st.text(st.characters(blacklist_characters="\x00", blacklist_categories=("Cs",)), max_size=30)
        for _i in range(data.draw(st.integers(1, 8), "people")):
            e = employee(s, data.draw(st.sampled_from(sites)), name=data.draw(names),
                         left_on=data.draw(st.sampled_from([None, date(2026, 3, 1), date(2026, 4, 1)])))
            if data.draw(st.booleans()):
                from tests.roster_fixtures import extra

                extra(s, e, data.draw(st.sampled_from(sites)), valid_to=date(2026, 3, 20))
            people.append(e)
        s.commit()
        if not devs:
            return
        ancestors = {}
        for x in sites:
            chain, cur = set(), x
            while cur is not None:
                chain.add(cur.id)
                cur = s.get(type(cur), cur.parent_id) if cur.parent_id else None
            ancestors[x.id] = chain
        for day in (D, date(2026, 3, 21), date(2026, 4, 1)):
            plans = compute_plans(s, devs, day)
            pins_seen: dict[int, str] = {}
            for p in plans:
                dev = next(d for d in devs if d.id == p.device_id)
                for u in p.users_add + p.users_update:
                    e = s.get(type(people[0]), u.employee_id)
                    assert e.left_on is None or e.left_on > day
                    homes = {e.site_id} | {x.site_id for x in e.extra_sites
                                           if x.valid_to is None or x.valid_to >= day}
                    assert any(dev.site_id in ancestors[h] for h in homes)
                    assert pins_seen.setdefault(u.employee_id, u.pin) == u.pin
                confirm(s, p)
                for u in p.users_remove:
                    s.query(DeviceRosterUser).filter_by(device_id=p.device_id, pin=u.pin).delete()
            s.flush()
            assert all(p.empty for p in compute_plans(s, devs, day))
        s.rollback()
