"""Hand-worked employee-days: every status and every rule of the built-in rulesets.

Each row gives the punches of one day (local wall clock) and the status, minutes and TPP
deduction worked out by hand from asn-rules.md (§1 hours, §2.2 brackets, §3 leave, §3.5
holidays, §8 defaults). The engine is pure, so these run without a database.
"""

from __future__ import annotations

from datetime import date, datetime, time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hub.reconcile.engine import (
    CorrectionIn,
    EmployeeScope,
    LeaveIn,
    group_punches,
    local_seconds,
    reconcile,
)
from hub.reconcile.rules import BUILTIN, RulesetError, builtin, builtin_text, parse_clock, parse_ruleset

TUE = date(2026, 10, 6)
FRI = date(2026, 10, 9)
SAT = date(2026, 10, 10)


def at(day: date, hms: str, plus: int = 0) -> datetime:
    t = time.fromisoformat(hms)
    return datetime.combine(date.fromordinal(day.toordinal() + plus), t)


def run(ruleset: str, day: date, punches: list[datetime], *, leaves=(), corrections=(),
        roster=None, last: date | None = None, ids: list[int] | None = None):
    rs = builtin(ruleset)
    ids = ids or list(range(1, len(punches) + 1))
    grouped = group_punches((7, local_seconds(p), i) for p, i in zip(punches, ids, strict=True))
    out = reconcile([EmployeeScope(7, 1, day, last or day)], grouped, lambda _s, _d: rs,
                    corrections, leaves, roster)
    return out


def one(ruleset: str, day: date, punches: list[datetime], **kw):
    out = run(ruleset, day, punches, **kw)
    assert len(out) == 1, out
    return out[0]


# (case, ruleset, day, punch times, status, late_min, early_min, deduction %)
TABLE = [
    ("present on time", "pemda-default", TUE, ["07:25", "16:05"], "H", 0, 0, 0.0),
    ("threshold 07:30:59 still on time", "pemda-default", TUE, ["07:30:59", "16:00"], "H", 0, 0, 0.0),
    ("threshold 07:31:00 late", "pemda-default", TUE, ["07:31:00", "16:00"], "TL1", 1, 0, 0.5),
    ("TL1", "pemda-default", TUE, ["07:45", "16:00"], "TL1", 15, 0, 0.5),
    ("TL2", "pemda-default", TUE, ["08:01", "16:00"], "TL2", 31, 0, 1.0),
    ("TL3", "pemda-default", TUE, ["08:31", "16:00"], "TL3", 61, 0, 1.25),
    ("TL4", "pemda-default", TUE, ["09:01", "16:00"], "TL4", 91, 0, 1.5),
    ("PSW1", "pemda-default", TUE, ["07:20", "15:59:30"], "PSW1", 0, 1, 0.5),
    ("PSW2", "pemda-default", TUE, ["07:20", "15:29"], "PSW2", 0, 31, 1.0),
    ("PSW3", "pemda-default", TUE, ["07:20", "14:59"], "PSW3", 0, 61, 1.25),
    ("PSW4", "pemda-default", TUE, ["07:20", "14:29"], "PSW4", 0, 91, 1.5),
    ("late and early", "pemda-default", TUE, ["08:01", "15:50"], "TL2+PSW1", 31, 10, 1.5),
    ("missing check-in", "pemda-default", TUE, ["16:05"], "TAM", 0, 0, 1.5),
    ("missing check-out", "pemda-default", TUE, ["07:20"], "TAP", 0, 0, 1.5),
    ("no punch: TK", "pemda-default", TUE, [], "TK", 0, 0, 3.0),
    ("punches outside every window: TK", "pemda-default", TUE, ["03:00"], "TK", 0, 0, 3.0),
    ("Friday ends 16:30", "pemda-default", FRI, ["07:20", "16:05"], "PSW1", 0, 25, 0.5),
    ("Friday on time", "pemda-default", FRI, ["07:20", "16:31"], "H", 0, 0, 0.0),
    ("Ramadan 08:00-15:00", "pemda-default", date(2026, 2, 24), ["07:55", "15:00"], "H", 0, 0, 0.0),
    ("Ramadan late after 08:00:59", "pemda-default", date(2026, 2, 24), ["08:10", "15:00"], "TL1", 10, 0, 0.5),
    ("same times outside Ramadan", "pemda-default", date(2026, 4, 7), ["07:55", "15:00"], "TL1+PSW2", 25, 60, 1.5),
    ("Ramadan 2025 Friday 15:30", "pemda-default", date(2025, 3, 7), ["07:50", "15:30"], "H", 0, 0, 0.0),
    ("national holiday", "pemda-default", date(2026, 8, 17), ["07:20", "16:00"], "LIBUR", 0, 0, 0.0),
    ("holiday 2025 Idul Fitri", "pemda-default", date(2025, 3, 31), [], "LIBUR", 0, 0, 0.0),
    ("cuti bersama 2026", "pemda-default", date(2026, 12, 24), [], "CBER", 0, 0, 0.0),
    ("cuti bersama 18 Aug 2025", "pemda-default", date(2025, 8, 18), [], "CBER", 0, 0, 0.0),
    ("six-day Saturday", "six-day-service", SAT, ["07:20", "13:35"], "H", 0, 0, 0.0),
    ("six-day Friday 11:00", "six-day-service", FRI, ["07:20", "10:30"], "PSW1", 0, 30, 0.5),
    ("4 punch Bengkulu on time", "kota-bengkulu-4punch", TUE, ["07:40", "12:02", "12:58", "16:01"], "H", 0, 0, 0.0),
    ("4 punch late at 07:45:59 threshold", "kota-bengkulu-4punch", TUE,
     ["07:46:00", "12:02", "12:58", "16:01"], "TL1", 1, 0, 0.5),
    ("4 punch no break punches", "kota-bengkulu-4punch", TUE, ["07:40", "16:01"], "TAIK+TAKI", 0, 0, 1.0),
    ("4 punch Friday break 11:30", "kota-bengkulu-4punch", FRI, ["07:40", "11:31", "13:00", "16:31"], "H", 0, 0, 0.0),
    ("choose first check-in", "pemda-default", TUE, ["07:10", "07:50", "16:00"], "H", 0, 0, 0.0),
    ("choose last check-in (Bali style)", "six-day-service", TUE, ["07:10", "07:50", "14:40"], "TL1", 20, 0, 0.5),
    ("choose last check-out", "pemda-default", TUE, ["07:10", "13:00", "16:10"], "H", 0, 0, 0.0),
    ("near duplicate check-in within 3 min", "six-day-service", TUE, ["07:25", "07:27", "14:40"], "H", 0, 0, 0.0),
    ("punches 4 min apart are two", "six-day-service", TUE, ["07:25", "07:31:30", "14:40"], "TL1", 1, 0, 0.5),
    # Near-duplicates: the slot's own choose rule picks among them, never "the earliest".
    ("double out punch, choose last", "pemda-default", TUE, ["07:20", "15:29:55", "15:30:21"], "PSW1", 0, 30, 0.5),
    ("double in punch, choose first", "pemda-default", TUE, ["07:30:50", "07:31:20", "16:00"], "H", 0, 0, 0.0),
    ("double in punch, choose last (Bali)", "six-day-service", TUE, ["07:29:50", "07:31:10", "14:40"], "TL1", 1, 0,
     0.5),
    ("double punch from before the window", "pemda-default", TUE, ["05:58:30", "06:00:30", "16:00"], "H", 0, 0, 0.0),
    # One action fills one slot: a double punch across two windows counts for the first.
    ("double punch across the noon boundary", "pemda-default", TUE, ["11:59:30", "12:00:10"], "TL4+TAP", 269, 0,
     3.0),
    ("double punch across break windows", "kota-bengkulu-4punch", TUE, ["07:40", "12:29:50", "12:30:10", "16:01"],
     "TAKI", 0, 0, 0.5),
    # Half-open windows: "<12:00" stops at 11:59:59, "24:00" is the end of the day.
    ("last second of a half-open window", "pemda-default", TUE, ["11:59:59", "16:00"], "TL4", 269, 0, 1.5),
    ("first second after it", "pemda-default", TUE, ["12:00:00", "16:00"], "TAM", 0, 0, 1.5),
    ("window until 24:00", "pemda-default", TUE, ["07:20", "23:59:59"], "H", 0, 0, 0.0),
    ("3 phases on time", "sukamara-3phase", TUE, ["07:25", "12:35", "16:05"], "H", 0, 0, 0.0),
    ("3 phases, no midday punch", "sukamara-3phase", TUE, ["07:25", "16:05"], "TAS", 0, 0, 0.5),
    ("3 phases, midday after 13:30 is not midday", "sukamara-3phase", TUE, ["07:25", "13:30", "16:05"], "TAS", 0,
     0, 0.5),
    ("3 phases, a punch only between windows: TK", "sukamara-3phase", TUE, ["11:30"], "TK", 0, 0, 3.0),
    ("3 phases Friday", "sukamara-3phase", FRI, ["07:40", "13:10", "16:31"], "TL1", 10, 0, 0.5),
]


@pytest.mark.parametrize(("case", "ruleset", "day", "times", "status", "late", "early", "pct"), TABLE,
                         ids=[row[0] for row in TABLE])
def test_hand_worked_day(case, ruleset, day, times, status, late, early, pct) -> None:
    r = one(ruleset, day, [at(day, t) for t in times])
    assert (r.status, r.late_min, r.early_min) == (status, late, early), case
    assert r.deduction_pct == pytest.approx(pct)
    assert r.ruleset == builtin(ruleset).label


def test_deciding_punches_are_recorded() -> None:
    r = one("pemda-default", TUE, [at(TUE, "07:10"), at(TUE, "07:50"), at(TUE, "16:10")])
    assert r.punch_ids == [1, 3]
    assert r.check_in == at(TUE, "07:10") and r.check_out == at(TUE, "16:10")


def test_nearest_break_punch() -> None:
    r = one("kota-bengkulu-4punch", TUE,
            [at(TUE, t) for t in ("07:40", "11:20", "12:05", "13:10", "16:01")])
    assert r.status == "H"
    assert r.punch_ids == [1, 3, 4, 5]  # 12:05 is nearer 12:00 than 11:20


def test_exact_duplicates_across_sources_keep_one() -> None:
    # The same 07:25:00 punch arrived from the terminal (id 9) and a USB import (id 4).
    r = one("pemda-default", TUE, [at(TUE, "07:25"), at(TUE, "07:25"), at(TUE, "16:05")], ids=[9, 4, 10])
    assert r.status == "H" and r.punch_ids == [4, 10]


def test_weekend_is_not_a_working_day() -> None:
    assert run("pemda-default", SAT, [at(SAT, "07:20")]) == []
    assert run("pemda-default", date(2026, 10, 11), []) == []


@pytest.mark.parametrize(("code", "pct"), [("CT", 0.0), ("CS", 0.0), ("CB", 0.0), ("CM", 0.0), ("CAP", 0.0),
                                           ("CLTN", 0.0), ("DL", 0.0), ("DIK", 0.0), ("TB", 0.0),
                                           ("I", 1.5), ("S", 0.0)])
def test_leave_overrides_missing_punches(code: str, pct: float) -> None:
    r = one("pemda-default", TUE, [], leaves=[LeaveIn(7, TUE, TUE, code)])
    assert (r.status, r.deduction_pct, r.source) == (code, pct, "leave")


def test_leave_does_not_use_up_a_holiday() -> None:
    out = run("pemda-default", date(2026, 8, 17), [], leaves=[LeaveIn(7, date(2026, 8, 17), date(2026, 8, 18), "CT")],
              last=date(2026, 8, 18))
    assert [r.status for r in out] == ["LIBUR", "CT"]


def test_night_shift_crosses_midnight() -> None:
    d1, d2, d3 = TUE, date(2026, 10, 7), date(2026, 10, 8)
    roster = {(7, d1): "M", (7, d3): "P"}
    out = run("rsud-shift", d1, [at(d1, "20:20"), at(d1, "07:35", 1), at(d3, "07:20"), at(d3, "14:35")],
              roster=roster, last=d3)
    got = [(r.day, r.status, r.shift) for r in out]
    assert got == [(d1, "H", "M"), (d2, "OFF", None), (d3, "H", "P")]
    assert out[0].check_out == at(d1, "07:35", 1) and out[0].punch_ids == [1, 2]


def test_night_shift_check_out_is_not_reused_next_morning() -> None:
    d1, d2 = TUE, date(2026, 10, 7)
    roster = {(7, d1): "M", (7, d2): "P"}
    out = run("rsud-shift", d1, [at(d1, "20:20"), at(d1, "07:25", 1), at(d2, "14:35")], roster=roster, last=d2)
    assert [r.status for r in out] == ["PSW1", "TAM"]  # 07:25 is 5 min before 07:30


def test_night_shift_missing_check_out_and_early() -> None:
    roster = {(7, TUE): "M"}
    assert one("rsud-shift", TUE, [at(TUE, "20:29")], roster=roster).status == "TAP"
    r = one("rsud-shift", TUE, [at(TUE, "20:29"), at(TUE, "06:30", 1)], roster=roster)
    assert (r.status, r.early_min) == ("PSW2", 60)


def test_shift_service_works_on_holidays() -> None:
    day = date(2026, 8, 17)
    assert one("rsud-shift", day, [at(day, "07:20"), at(day, "14:31")], roster={(7, day): "P"}).status == "H"
    assert one("rsud-shift", day, []).status == "OFF"


def test_corrections_add_void_and_set_status() -> None:
    add = CorrectionIn(5, 7, TUE, "add_punch", local_time=at(TUE, "07:29"))
    r = one("pemda-default", TUE, [at(TUE, "16:05")], corrections=[add])
    assert (r.status, r.punch_ids) == ("H", [-5, 1])
    void = CorrectionIn(6, 7, TUE, "void_punch", punch_id=1)
    assert one("pemda-default", TUE, [at(TUE, "07:20"), at(TUE, "16:05")], corrections=[void]).status == "TAM"
    dl = CorrectionIn(8, 7, TUE, "set_status", status="DL")
    r = one("pemda-default", TUE, [], corrections=[dl])
    assert (r.status, r.deduction_pct, r.source) == ("DL", 0.0, "correction")
    tk = CorrectionIn(9, 7, TUE, "set_status", status="TK")
    assert one("pemda-default", TUE, [at(TUE, "07:20"), at(TUE, "16:05")], corrections=[tk]).deduction_pct == 3.0


def test_employee_scope_limits_days() -> None:
    out = run("pemda-default", date(2026, 10, 1), [], last=date(2026, 10, 31))
    assert len(out) == 22 and all(r.status == "TK" for r in out)  # October 2026: 22 working days


# --- parser ------------------------------------------------------------------------------


def test_builtin_rulesets_parse() -> None:
    for name in BUILTIN:
        rs = parse_ruleset(builtin_text(name), name)
        assert rs.name == name
    assert len([d for d, k in builtin().holidays.items() if d.year == 2026 and k == "LIBUR"]) == 17
    assert len([d for d, k in builtin().holidays.items() if d.year == 2026 and k == "CBER"]) == 8


SLOT_A = "[schedule.default]\nslots = [{name='a', kind='in', at='07:30', window=['06:00','09:00']}]"


def doc(top: str = "", tables: str = "", slots: str = SLOT_A) -> str:
    """A ruleset text: top-level keys first (TOML puts later keys in the last table)."""
    return f"name = 'x'\n{top}\n{slots}\n{tables}"

FULL_DEDUCTIONS = ("[deductions]\nbrackets_minutes = [1]\nlate_pct = [1.0]\nearly_pct = [1.0]\nmissing_in_pct = 1.0\n"
                   "missing_out_pct = 1.0\nmissing_other_pct = 0.5\nabsent_pct = 3.0\nmonthly_cap_pct = 100.0")


@pytest.mark.parametrize(("text", "fragment"), [
    ("name = 'x'\n[schedule.mon_thu]\nslots = []", "slots"),
    ("name = 'x'\nweek = 'four_day'", "week"),
    ("version = 1", "name"),
    ("name = 'x'\n[schedule.default]\nslots = [{name='a', kind='in', at='7:30', window=['06:00','09:00']}]", "7:30"),
    ("name = 'x'\n[schedule.default]\nslots = [{name='a', kind='in', at='10:30', window=['06:00','09:00']}]",
     "10:30"),
    ("name = 'x'\n[schedule.default]\nslots = [{name='a', kind='xx', at='07:30', window=['06:00','09:00']}]",
     "kind"),
    ("name = 'x'\n[schedule.mon_thu]\nslots = [{name='a', kind='in', at='07:30', window=['06:00','09:00']}]",
     "fri"),
    ("name = 'x'\nbase = 'pemda-default'\n[schedule.default]\nslots = [{name='a', at='07:30', "
     "window=['06:00','09:00']}]\n[deductions]\nlate_pct = [1.0]", "late_pct"),
    ("name = [", "TOML"),
    # Rules that do what they say: unknown keys, missing figures, overlaps are refused.
    (doc("base = 'pemda-default'\ncounts_present = true"), "counts_present"),
    (doc("base = 'pemda-default'", slots=SLOT_A.replace("window=", "windw=")), "windw"),
    (doc("base = 'pemda-default'", "[deductions]\nabsent = 3.0"), "absent"),
    (doc("base = 'pemda-default'", "[leave]\nI = { pct = 1.5, count_present = false }"), "count_present"),
    (doc("", FULL_DEDUCTIONS), "CT.pct"),
    (doc("", FULL_DEDUCTIONS), "I.counts_present"),
    (doc("", "[leave]\nI = { pct = 1.5, counts_present = false }"), "absent_pct"),
    (doc("base = 'nope'"), "nope"),
    (doc("base = 'pemda-default'\nquarantine = ['clock']"), "clock"),
    (doc("base = 'pemda-default'", "[deductions]\nbase = 'fixed_rupiah'"), "fixed_rupiah"),
    (doc("base = 'pemda-default'", "[types.guru]\nleave = {}"), "guru"),
    (doc("base = 'pemda-default'", "[leave]\nTK = { pct = 0.0, counts_present = true }"), "TK"),
    ("name = 'x'\nbase = 'pemda-default'\n[schedule.default]\nslots = [{name='a', kind='in', at='07:30', "
     "window=['06:00','12:00']}, {name='b', kind='out', at='16:00', window=['12:00','24:00']}]", "bertumpang"),
    ("name = 'x'\nbase = 'pemda-default'\n[schedule.default]\nslots = [{name='a', kind='in', at='07:30', "
     "window=['06:00','24:01']}]", "24:01"),
    ("name = 'x'\nbase = 'pemda-default'\n[schedule.default]\nslots = [{name='a', kind='in', at='07:30', "
     "window=['06:00','<07:30']}]", "07:30"),
])
def test_bad_rulesets_are_refused_with_where(text: str, fragment: str) -> None:
    with pytest.raises(RulesetError) as err:
        parse_ruleset(text, "uji.toml")
    assert "uji.toml" in str(err.value) and fragment in str(err.value)


def test_every_figure_explicit_or_inherited_with_a_warning() -> None:
    own = parse_ruleset(doc("", f"{FULL_DEDUCTIONS}\n[leave]\n") + "\n".join(
        f"{c} = {{ pct = {1.5 if c == 'I' else 0.0}, counts_present = {'false' if c == 'I' else 'true'} }}"
        for c in ("CT", "CS", "CB", "CM", "CAP", "CLTN", "DL", "DIK", "TB", "I", "S")), "own.toml")
    assert own.warnings == () and own.leave["I"].pct == 1.5 and own.base is None
    child = parse_ruleset(doc("base = 'pemda-default'", "[leave]\nI = { pct = 2.0, counts_present = false }"),
                          "child.toml")
    assert child.leave["I"].pct == 2.0 and child.leave["CT"].pct == 0.0
    assert child.deductions == builtin().deductions and child.base == builtin().label
    (warning,) = child.warnings
    assert "pemda-default@2" in warning and "deductions.absent_pct=3.0" in warning and "leave.CT=0%" in warning
    assert "leave.I" not in warning  # given in full: not inherited


def test_kota_bengkulu_izin_costs_what_the_default_says() -> None:
    # It has no [leave] table: it inherits the default's (Izin 1.5 %) and says so.
    rs = builtin("kota-bengkulu-4punch")
    assert rs.leave["I"].pct == 1.5 and any("leave.I=1.5%" in w for w in rs.warnings)


def test_window_ends() -> None:
    from hub.reconcile.rules import parse_window_end

    assert parse_window_end("10:46", "w") == 10 * 3600 + 46 * 60 + 59
    assert parse_window_end("10:46:00", "w") == 10 * 3600 + 46 * 60
    assert parse_window_end("<10:46", "w") == 10 * 3600 + 46 * 60 - 1
    assert parse_window_end("24:00", "w") == parse_window_end("<24:00", "w") == 86399
    assert parse_window_end("<07:00+1", "w") == 86400 + 7 * 3600 - 1
    with pytest.raises(RulesetError):
        parse_window_end("24:00:01", "w")


def test_employment_type_variants() -> None:
    rs = builtin()
    assert rs.for_type("pns") is rs and rs.for_type(None) is rs
    tks = rs.for_type("tks")
    assert tks.label == "pemda-default@2:tks" and tks.leave["CB"].pct == 3.0 and rs.leave["CB"].pct == 0.0
    out = reconcile([EmployeeScope(7, 1, TUE, TUE, "tks"), EmployeeScope(8, 1, TUE, TUE, "pns")], {},
                    lambda _s, _d: rs, leaves=[LeaveIn(7, TUE, TUE, "CB"), LeaveIn(8, TUE, TUE, "CB")])
    assert [(r.status, r.deduction_pct, r.ruleset) for r in out] == [
        ("CB", 3.0, "pemda-default@2:tks"), ("CB", 0.0, "pemda-default@2")]


def test_legend_explains_every_code_that_costs_money() -> None:
    rs = builtin("kota-bengkulu-4punch")
    legend = {code: pct for code, _, _, pct in rs.legend()}
    assert legend["TAIK"] == legend["TAKI"] == 0.5 and legend["TAM"] == 1.5 and legend["TK"] == 3.0
    assert legend["TL1"] == 0.5 and legend["PSW4"] == 1.5 and legend["I"] == 1.5
    assert legend["TD"] is None and legend["TV"] is None and legend["CT"] is None


@given(st.text(max_size=300))
def test_parser_never_crashes(text: str) -> None:
    try:
        parse_ruleset(text, "fuzz.toml")
    except RulesetError as exc:
        assert "fuzz.toml" in str(exc)


@given(st.text(max_size=12))
def test_clock_parser(value: str) -> None:
    try:
        s = parse_clock(value, "x")
    except RulesetError:
        return
    assert 0 <= s < 2 * 86400


@given(st.text(max_size=10))
def test_month_parser(value: str) -> None:
    from hub.reconcile.errors import ReconcileError, month_bounds

    try:
        first, last = month_bounds(value)
    except ReconcileError as exc:
        assert repr(value)[1:-1] in str(exc) or value in str(exc)
        return
    assert first.day == 1 and last.month == first.month and last >= first


@given(st.text(max_size=200))
def test_roster_csv_parser_never_crashes(text: str) -> None:
    from hub.reconcile.errors import ReconcileError
    from hub.reconcile.shifts import parse_roster_csv

    try:
        rows = parse_roster_csv(text)
    except ReconcileError as exc:
        assert "baris" in str(exc) or "line" in str(exc)
        return
    assert all(isinstance(d, date) and s == s.upper() for _, _, d, s in rows)


def test_roster_csv_errors_name_the_line() -> None:
    from hub.reconcile.errors import ReconcileError
    from hub.reconcile.shifts import parse_roster_csv

    assert parse_roster_csv("nip,tanggal,shift\n199001,2026-10-06,m\n") == [(2, "199001", TUE, "M")]
    with pytest.raises(ReconcileError, match="baris 3"):
        parse_roster_csv("nip,tanggal,shift\n199001,2026-10-06,M\n199001,06/10/2026,M\n")
    with pytest.raises(ReconcileError, match="baris 1"):
        parse_roster_csv("199001,2026-10-06\n")
