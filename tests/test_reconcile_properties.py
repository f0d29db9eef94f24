"""Properties of the pure reconciler (hypothesis).

- Reconciling the same input twice gives the same result, and never changes the input.
- Adding an exact duplicate (another source) changes nothing; near duplicates (within the
  ruleset's dedupe window) never move a punch out of its slot nor fill two slots.
- Doubtful punches and days without data cost nothing until a person decides.
- The order in which punches arrive does not matter.
"""

from __future__ import annotations

import copy
import random
from datetime import date, datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hub.punch import PunchFlag
from hub.reconcile.engine import (
    CorrectionIn,
    EmployeeScope,
    Evidence,
    LeaveIn,
    group_punches,
    local_seconds,
    reconcile,
)
from hub.reconcile.rules import builtin

FIRST = date(2026, 10, 5)  # a Monday
DAYS = 6  # Monday..Saturday: includes a Friday variant and a weekend day
RULESETS = ("pemda-default", "kota-bengkulu-4punch", "six-day-service", "rsud-shift")
ANCHORS = [(6, 50), (7, 35), (11, 55), (13, 5), (15, 50), (16, 40), (20, 25), (23, 50)]
SETTINGS = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def scenario(draw):
    """Punches of two employees over six days, at least 2x the dedupe window apart."""
    ruleset = draw(st.sampled_from(RULESETS))
    gap = 2 * builtin(ruleset).dedupe_seconds + 1
    rows = []
    for emp in (1, 2):
        times = []
        for d in range(DAYS):
            base = datetime.combine(FIRST + timedelta(days=d), datetime.min.time())
            for h, m in ANCHORS:
                if draw(st.booleans()):
                    jitter = draw(st.integers(-45 * 60, 45 * 60))
                    times.append(local_seconds(base + timedelta(hours=h, minutes=m, seconds=jitter)))
        kept: list[int] = []
        for t in sorted(times):
            if not kept or t - kept[-1] >= gap:
                kept.append(t)
        rows += [(emp, t) for t in kept]
    rows = [(e, t, i) for i, (e, t) in enumerate(rows, 1)]
    roster = {(emp, FIRST + timedelta(days=d)): draw(st.sampled_from(["P", "S", "M", None]))
              for emp in (1, 2) for d in range(-1, DAYS)}
    roster = {k: v for k, v in roster.items() if v}
    leaves = [LeaveIn(2, FIRST + timedelta(days=2), FIRST + timedelta(days=2), "CT")] if draw(st.booleans()) else []
    corrections = []
    if rows and draw(st.booleans()):
        corrections.append(CorrectionIn(1, rows[0][0], FIRST, "void_punch", punch_id=rows[0][2]))
    if draw(st.booleans()):
        corrections.append(CorrectionIn(2, 1, FIRST + timedelta(days=1), "add_punch",
                                        local_time=datetime.combine(FIRST + timedelta(days=1),
                                                                    datetime.min.time()) + timedelta(hours=7)))
    return ruleset, rows, roster, leaves, corrections


def run(ruleset, rows, roster, leaves, corrections, evidence=None):
    rs = builtin(ruleset)
    scopes = [EmployeeScope(e, 1, FIRST, FIRST + timedelta(days=DAYS - 1)) for e in (1, 2)]
    return reconcile(scopes, group_punches(rows), lambda _s, _d: rs, corrections, leaves, roster, evidence)


def key(results):
    return [(r.employee_id, r.day, r.status, r.late_min, r.early_min, r.deduction_pct, r.punch_ids,
             r.check_in, r.check_out) for r in results]


@SETTINGS
@given(scenario())
def test_idempotent_and_input_untouched(sc) -> None:
    ruleset, rows, roster, leaves, corrections = sc
    grouped = group_punches(rows)
    before = copy.deepcopy(grouped)
    rs = builtin(ruleset)
    scopes = [EmployeeScope(e, 1, FIRST, FIRST + timedelta(days=DAYS - 1)) for e in (1, 2)]
    a = reconcile(scopes, grouped, lambda _s, _d: rs, corrections, leaves, roster)
    b = reconcile(scopes, grouped, lambda _s, _d: rs, corrections, leaves, roster)
    assert key(a) == key(b)
    assert grouped == before


@SETTINGS
@given(scenario(), st.data())
def test_exact_duplicate_changes_nothing(sc, data) -> None:
    ruleset, rows, roster, leaves, corrections = sc
    if not rows:
        return
    emp, t, _ = data.draw(st.sampled_from(rows))
    dup = rows + [(emp, t, len(rows) + 100)]  # the same punch again, from a USB import
    assert key(run(ruleset, dup, roster, leaves, corrections)) == key(run(*sc))


@SETTINGS
@given(scenario(), st.data())
def test_near_duplicate_stays_in_its_slot_and_fills_one(sc, data) -> None:
    """With near-duplicates added, every punch a day used lies inside a slot window of that
    day, and no two used punches are within the dedupe window (one action, one slot)."""
    ruleset, rows, roster, leaves, corrections = sc
    if not rows:
        return
    rs = builtin(ruleset)
    extra = []
    for n in range(data.draw(st.integers(1, 4))):
        emp, t, _ = data.draw(st.sampled_from(rows))
        extra.append((emp, t + data.draw(st.integers(-rs.dedupe_seconds, rs.dedupe_seconds)), len(rows) + 100 + n))
    near = rows + extra
    at = {i: t for _, t, i in near}
    for r in run(ruleset, near, roster, leaves, corrections):
        used = sorted(at[p] for p in r.punch_ids if p > 0)
        assert all(b - a > rs.dedupe_seconds for a, b in zip(used, used[1:], strict=False)), r
        slots = rs.shifts[r.shift] if r.shift else rs.slots_for(r.day)
        base = local_seconds(datetime.combine(r.day, datetime.min.time()))
        for t in used:
            assert any(base + s.lo <= t <= base + s.hi for s in slots), (r, t)


@SETTINGS
@given(scenario(), st.data())
def test_doubtful_punches_cost_nothing_until_decided(sc, data) -> None:
    """Flagged punches (the ruleset's quarantine) never make a day cost more than a person
    would: a day they change waits (TV, 0 %); accepted they count as plain punches, rejected
    as if they never arrived."""
    ruleset, rows, roster, leaves, corrections = sc
    if not rows:
        return
    flagged = {i for _, _, i in rows if data.draw(st.booleans())}
    flags = dict.fromkeys(flagged, int(PunchFlag.CLOCK_SUSPECT))
    plain = run(ruleset, rows, roster, leaves, corrections)
    waiting = run(ruleset, rows, roster, leaves, corrections, Evidence(flags=flags))
    for w, p in zip(waiting, plain, strict=True):
        assert (w.employee_id, w.day) == (p.employee_id, p.day)
        if w.status == "TV":
            assert w.deduction_pct == 0.0 and set(w.waiting) <= flagged
        else:  # the doubt changes nothing of this day: it is judged as it stands
            assert (w.status, w.deduction_pct, w.late_min, w.early_min) == (
                p.status, p.deduction_pct, p.late_min, p.early_min)
    accepted = run(ruleset, rows, roster, leaves, corrections, Evidence(flags=flags, accepted=frozenset(flagged)))
    assert key(accepted) == key(plain)
    kept = [r for r in rows if r[2] not in flagged]
    rejected = run(ruleset, rows, roster, leaves, corrections, Evidence(flags=flags, rejected=frozenset(flagged)))
    dropped = run(ruleset, kept, roster, leaves, [c for c in corrections if c.punch_id not in flagged])
    assert [(r.day, r.status, r.deduction_pct) for r in rejected] == [(r.day, r.status, r.deduction_pct)
                                                                        for r in dropped]


@SETTINGS
@given(scenario(), st.data())
def test_no_data_is_not_absence(sc, data) -> None:
    """Without data from any of an employee's terminals, a day that would be TK is TD at
    0 %; a decision per terminal and day turns it into H or TK for everyone at once."""
    ruleset, rows, roster, leaves, corrections = sc
    dead = {FIRST + timedelta(days=d) for d in range(DAYS) if data.draw(st.booleans())}
    alive = {FIRST + timedelta(days=d) for d in range(-1, DAYS)} - dead
    ev = Evidence(terminals={1: ("dev:1",), 2: ("dev:1", "dev:2")}, with_data={"dev:1": alive, "dev:2": set()})
    plain = run(ruleset, rows, roster, leaves, corrections)
    got = run(ruleset, rows, roster, leaves, corrections, ev)
    for g, p in zip(got, plain, strict=True):
        if p.status == "TK" and p.source == "punch" and g.day in dead:
            assert (g.status, g.deduction_pct) == ("TD", 0.0) and g.terminals
        else:
            assert (g.status, g.deduction_pct) == (p.status, p.deduction_pct)
    decisions = {("dev:1", d): "present" for d in dead}
    for g in run(ruleset, rows, roster, leaves, corrections, Evidence(
            terminals=ev.terminals, with_data=ev.with_data, decisions=decisions)):
        assert g.status != "TD"
        if g.source == "decision":
            assert (g.status, g.deduction_pct) == ("H", 0.0)


@SETTINGS
@given(scenario(), st.randoms(use_true_random=False))
def test_arrival_order_does_not_matter(sc, rnd: random.Random) -> None:
    ruleset, rows, roster, leaves, corrections = sc
    shuffled = list(rows)
    rnd.shuffle(shuffled)
    assert key(run(ruleset, shuffled, roster, leaves, corrections)) == key(run(*sc))
    # Ids handed out in the new arrival order: the same days, statuses and minutes.
    renum = [(e, t, i) for i, (e, t, _) in enumerate(shuffled, 1)]
    voids = [c for c in corrections if c.kind != "void_punch"]

    def loose(res):
        return [(r.employee_id, r.day, r.status, r.late_min, r.early_min, r.check_in, r.check_out) for r in res]

    assert loose(run(ruleset, renum, roster, leaves, voids)) == loose(run(ruleset, rows, roster, leaves, voids))
