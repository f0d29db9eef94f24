"""Properties of the pure reconciler (hypothesis).

- Reconciling the same input twice gives the same result, and never changes the input.
- Adding an exact duplicate (another source) or a near duplicate (within the ruleset's
  dedupe window after a punch) changes nothing.
- The order in which punches arrive does not matter.
"""

from __future__ import annotations

import copy
import random
from datetime import date, datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hub.reconcile.engine import (
    CorrectionIn,
    EmployeeScope,
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


def run(ruleset, rows, roster, leaves, corrections):
    rs = builtin(ruleset)
    scopes = [EmployeeScope(e, 1, FIRST, FIRST + timedelta(days=DAYS - 1)) for e in (1, 2)]
    return reconcile(scopes, group_punches(rows), lambda _s, _d: rs, corrections, leaves, roster)


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
def test_near_duplicate_changes_nothing(sc, data) -> None:
    ruleset, rows, roster, leaves, corrections = sc
    if not rows:
        return
    emp, t, _ = data.draw(st.sampled_from(rows))
    delta = data.draw(st.integers(0, builtin(ruleset).dedupe_seconds))
    near = rows + [(emp, t + delta, len(rows) + 100)]
    assert key(run(ruleset, near, roster, leaves, corrections)) == key(run(*sc))


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
