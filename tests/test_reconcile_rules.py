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
from hub.reconcile.rules import RulesetError, builtin, builtin_text, parse_clock, parse_ruleset

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
]


@pytest.mark.parametrize(("case", "ruleset", "day", "times", "status", "late", "early", "pct"), TABLE,
                         ids=[row[0] for row in TABLE])
def test_hand_worked_day(case, ruleset, day, times, status, late, early, pct) -> None:
    r = one(ruleset, day, [at(day, t) for t in times])
    assert (r.status, r.late_min, r.early_min) == (status, late, early), case
    assert r.deduction_pct == pytest.approx(pct)
    assert r.ruleset == f"{ruleset}@1"


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
    for name in ("pemda-default", "kota-bengkulu-4punch", "six-day-service", "rsud-shift"):
        rs = parse_ruleset(builtin_text(name), name)
        assert rs.name == name
    assert len([d for d, k in builtin().holidays.items() if d.year == 2026 and k == "LIBUR"]) == 17
    assert len([d for d, k in builtin().holidays.items() if d.year == 2026 and k == "CBER"]) == 8


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
    ("name = 'x'\n[schedule.default]\nslots = [{name='a', at='07:30', window=['06:00','09:00']}]\n"
     "[deductions]\nlate_pct = [1.0]", "late_pct"),
    ("name = [", "TOML"),
])
def test_bad_rulesets_are_refused_with_where(text: str, fragment: str) -> None:
    with pytest.raises(RulesetError) as err:
        parse_ruleset(text, "uji.toml")
    assert "uji.toml" in str(err.value) and fragment in str(err.value)


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
    from hub.reconcile.store import ReconcileError, month_bounds

    try:
        first, last = month_bounds(value)
    except ReconcileError as exc:
        assert repr(value)[1:-1] in str(exc) or value in str(exc)
        return
    assert first.day == 1 and last.month == first.month and last >= first


@given(st.text(max_size=200))
def test_roster_csv_parser_never_crashes(text: str) -> None:
    from hub.reconcile.store import ReconcileError, parse_roster_csv

    try:
        rows = parse_roster_csv(text)
    except ReconcileError as exc:
        assert "baris" in str(exc) or "line" in str(exc)
        return
    assert all(isinstance(d, date) and s == s.upper() for _, _, d, s in rows)


def test_roster_csv_errors_name_the_line() -> None:
    from hub.reconcile.store import ReconcileError, parse_roster_csv

    assert parse_roster_csv("nip,tanggal,shift\n199001,2026-10-06,m\n") == [(2, "199001", TUE, "M")]
    with pytest.raises(ReconcileError, match="baris 3"):
        parse_roster_csv("nip,tanggal,shift\n199001,2026-10-06,M\n199001,06/10/2026,M\n")
    with pytest.raises(ReconcileError, match="baris 1"):
        parse_roster_csv("199001,2026-10-06\n")
