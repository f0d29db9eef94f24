"""PIN allocation: stable, collision-free, never reused, never derived from the NIP, both ways."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.roster.names import terminal_name
from hub.roster.pins import PinError, allocate, close, current_pins, employee_of, group_pin_width, today
from hub.store.models import Employee, PinMapping
from tests.roster_fixtures import device, employee, site

_groups = itertools.count()


def test_allocate_is_stable_sequential_and_not_the_nip(engine):
    with Session(engine) as s:
        at = site(s, "OPD")
        emps = [employee(s, at) for _ in range(5)]
        first = allocate(s, [e.id for e in emps])
        assert sorted(first.values(), key=int) == ["1", "2", "3", "4", "5"]
        # two people with the same TMT month and sequence share a NIP tail (asn-rules §4.3)
        x = Employee(id_number="198001012005011001", employment_type="pns", name="A", site_id=at.id)
        y = Employee(id_number="199205152005011001", employment_type="pns", name="B", site_id=at.id)
        s.add_all([x, y])
        s.flush()
        xy = allocate(s, [x.id, y.id])
        assert xy[x.id] != xy[y.id]
        assert not {xy[x.id], xy[y.id]} & {"5011001", "005011001", "2005011001"}
        s.commit()
        assert allocate(s, [e.id for e in emps]) == first  # stable
        assert s.scalar(select(PinMapping.id).where(PinMapping.pin == "8")) is None
        # used both ways: the PIN resolves back to its employee
        assert all(employee_of(s, "default", first[e.id]) == e.id for e in emps)


def test_closed_pin_is_never_given_to_anyone_else(engine):
    with Session(engine) as s:
        at = site(s, "OPD")
        a, b = employee(s, at), employee(s, at)
        pa = allocate(s, [a.id])[a.id]
        close(s, a.id, "default", today())
        assert a.id not in current_pins(s, "default")
        pb = allocate(s, [b.id])[b.id]
        assert pb != pa
        assert employee_of(s, "default", pa) == a.id  # old punches still resolve to A
        pa2 = allocate(s, [a.id])[a.id]  # A comes back: a fresh number, the old one stays A's
        assert pa2 not in (pa, pb)


def test_width_of_the_narrowest_terminal_and_exhaustion(engine):
    with Session(engine) as s:
        at = site(s, "OPD")
        device(s, "T1", at, group="small", caps={"pin_width": 9})
        device(s, "T2", at, group="small", caps={"pin_width": 1})
        assert group_pin_width(s, "small") == 1
        assert group_pin_width(s, "nothing-here") == 9
        emps = [employee(s, at) for _ in range(10)]
        got = allocate(s, [e.id for e in emps[:9]], "small")
        assert sorted(got.values()) == [str(n) for n in range(1, 10)]
        with pytest.raises(PinError, match="sudah terpakai"):
            allocate(s, [emps[9].id], "small")


def test_gap_below_the_top_is_used_when_the_top_is_reached(engine):
    with Session(engine) as s:
        at = site(s, "OPD")
        device(s, "T1", at, group="g", caps={"pin_width": 2})
        a, b = employee(s, at), employee(s, at)
        s.add(PinMapping(employee_id=a.id, pin="99", pin_group="g"))  # e.g. imported from an old terminal
        s.flush()
        assert allocate(s, [b.id], "g")[b.id] == "1"


def test_device_level_pins_of_the_group_are_not_handed_out(engine):
    with Session(engine) as s:
        at = site(s, "OPD")
        d = device(s, "T1", at, group="g")
        a, b = employee(s, at), employee(s, at)
        s.add(PinMapping(employee_id=a.id, pin="1", device_id=d.id))
        s.flush()
        assert allocate(s, [b.id], "g")[b.id] == "2"


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=st.lists(st.tuples(st.sampled_from(["alloc", "close"]), st.integers(0, 7)), min_size=1, max_size=25))
def test_property_never_collides_never_reuses_stable(engine, ops):
    group = f"prop{next(_groups)}"
    with Session(engine) as s:
        at = site(s, f"S-{group}")
        emps = [employee(s, at).id for _ in range(8)]
        owner: dict[str, int] = {}  # every PIN ever seen -> its one owner
        for op, i in ops:
            e = emps[i]
            if op == "close":
                close(s, e, group, today())
                continue
            before = current_pins(s, group).get(e)
            pin = allocate(s, [e], group)[e]
            if before is not None:
                assert pin == before  # stable while open
            assert owner.setdefault(pin, e) == e  # never another person's
            assert pin.isdigit() and not pin.startswith("0")
        s.commit()
        rows = s.execute(select(PinMapping.pin, PinMapping.employee_id).where(PinMapping.pin_group == group)).all()
        assert len({p for p, _ in rows}) == len(rows)  # no collision in the store
        open_pins = current_pins(s, group)
        assert len(set(open_pins.values())) == len(open_pins)
        s.query(PinMapping).filter(PinMapping.pin_group == group).delete()
        s.query(Employee).filter(Employee.id.in_(emps)).delete()
        s.commit()


@given(st.text(max_size=60), st.sampled_from([8, 23, 24]))
def test_property_terminal_names_are_ascii_and_fit(name, limit):
    tn = terminal_name(name, limit)
    raw = tn.text.encode("ascii")  # never raises: only ASCII leaves
    assert len(raw) <= limit
    assert tn.text.isprintable()
    assert terminal_name(name, limit) == tn
    if name.isascii() and name.isprintable() and len(" ".join(name.split())) <= limit:
        assert tn.text == " ".join(name.split()) and tn.note is None


def test_names_transliterated_and_reported():
    assert terminal_name("Siti Nurhaliza Ma’ruf", 23).text == "Siti Nurhaliza Ma'ruf"
    t = terminal_name("José Müller", 24)
    assert t.text == "Jose Muller" and t.transliterated and "transliterasi" in (t.note or "")
    t = terminal_name("王小明", 24)
    assert t.text == "???" and t.unrepresentable == 3 and "tidak dapat ditampilkan" in (t.note or "")
    t = terminal_name("Dr. Ir. Hj. Raden Ayu Sekar Kedaton, M.Si.", 23)
    assert len(t.text) <= 23 and t.truncated
