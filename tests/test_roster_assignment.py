"""Which employees belong on which terminals: hierarchy rules, extra offices, leavers, transfers."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy.orm import Session

from hub.roster.assignment import AssignmentError, add_transfer, assign, set_scope
from tests.roster_fixtures import device, employee, extra, site

D = date(2026, 3, 2)


@pytest.fixture
def org(engine):
    with Session(engine) as s:
        opd = site(s, "DINKES")
        pkm_a = site(s, "PKM-A", opd, "puskesmas")  # has its own terminal
        pkm_b = site(s, "PKM-B", opd, "puskesmas")  # has none: served by the OPD
        bidang = site(s, "DINKES-P2P", opd, "bidang")
        other = site(s, "DISDIK")
        hq = device(s, "T-HQ", opd)
        ta = device(s, "T-A", pkm_a)
        tother = device(s, "T-DISDIK", other)
        device(s, "T-OFF", other, enabled=False)
        device(s, "T-MOBILE", other, kind="mobile")
        s.commit()
        yield s, {"opd": opd, "a": pkm_a, "b": pkm_b, "bidang": bidang, "other": other,
                  "hq": hq.id, "ta": ta.id, "tother": tother.id}


def on(result, dev):
    return result.get(dev, set())


def test_nearest_rule_units_use_their_own_terminal_or_the_opd(org):
    s, o = org
    e_opd, e_a, e_b, e_bid = (employee(s, o[k]) for k in ("opd", "a", "b", "bidang"))
    r = assign(s, D)
    assert on(r, o["hq"]) == {e_opd.id, e_b.id, e_bid.id}
    assert on(r, o["ta"]) == {e_a.id}
    assert on(r, o["tother"]) == set()
    # disabled and virtual terminals never get a roster
    assert set(r) <= {o["hq"], o["ta"], o["tother"]}


def test_scope_own_and_parents_and_own(org):
    s, o = org
    e_a, e_b = employee(s, o["a"]), employee(s, o["b"])
    set_scope(s, "PKM-A", "own_and_parents")
    set_scope(s, "PKM-B", "own")
    r = assign(s, D)
    assert on(r, o["hq"]) == {e_a.id}  # PKM-A staff also punch at the OPD; PKM-B staff nowhere
    assert on(r, o["ta"]) == {e_a.id}
    assert e_b.id not in set().union(*r.values())
    with pytest.raises(AssignmentError, match="tidak dikenal"):
        set_scope(s, "PKM-A", "everywhere")
    with pytest.raises(AssignmentError, match="tidak ditemukan"):
        set_scope(s, "NOPE", "own")


def test_teacher_at_two_offices_only_while_valid(org):
    s, o = org
    e = employee(s, o["a"])
    extra(s, e, o["other"], valid_from=date(2026, 3, 1), valid_to=date(2026, 3, 31))
    assert e.id in on(assign(s, date(2026, 3, 31)), o["tother"])
    assert e.id in on(assign(s, date(2026, 3, 31)), o["ta"])
    assert e.id not in on(assign(s, date(2026, 2, 28)), o["tother"])
    assert e.id not in on(assign(s, date(2026, 4, 1)), o["tother"])


def test_leaver_removed_on_end_date_and_inactive_or_future_joiners_absent(org):
    s, o = org
    leaver = employee(s, o["a"], left_on=date(2026, 3, 10))
    inactive = employee(s, o["a"], active=False)
    joiner = employee(s, o["a"], joined_on=date(2026, 3, 5))
    assert on(assign(s, date(2026, 3, 4)), o["ta"]) == {leaver.id}
    assert on(assign(s, date(2026, 3, 9)), o["ta"]) == {leaver.id, joiner.id}
    assert on(assign(s, date(2026, 3, 10)), o["ta"]) == {joiner.id}
    assert inactive.id not in set().union(*assign(s, date(2026, 3, 10)).values())


def test_transfer_moves_the_employee_on_the_effective_date(org):
    s, o = org
    e = employee(s, o["a"])
    add_transfer(s, e, o["other"], date(2026, 3, 16))
    before, after = assign(s, date(2026, 3, 15)), assign(s, date(2026, 3, 16))
    assert e.id in on(before, o["ta"]) and e.id not in on(before, o["tother"])
    assert e.id in on(after, o["tother"]) and e.id not in on(after, o["ta"])
    # a record updated early (site already the new office) still moves on the date
    e.site_id = o["other"].id
    s.flush()
    assert e.id in on(assign(s, date(2026, 3, 15)), o["ta"])
    # a second transfer back, later
    add_transfer(s, e, o["a"], date(2026, 6, 1))
    assert e.id in on(assign(s, date(2026, 6, 1)), o["ta"])
    assert e.id in on(assign(s, date(2026, 5, 31)), o["tother"])
    with pytest.raises(AssignmentError, match="sudah ada mutasi"):
        add_transfer(s, e, o["b"], date(2026, 6, 1))


def test_hierarchy_loop_does_not_hang(org):
    s, o = org
    o["opd"].parent_id = o["bidang"].id  # a hand-edited loop: OPD under its own unit
    s.flush()
    e = employee(s, o["bidang"])
    set_scope(s, "DINKES-P2P", "own_and_parents")
    assert e.id in on(assign(s, D), o["hq"])
