"""Rulesets: what a Pemda's Perbup says about hours, punch slots, brackets and deductions.

A ruleset is a TOML file (hub/reconcile/rulesets/, copies under config/rulesets/) loaded
into the store with its effective dates (asn-rules.md §1-§3, §8). Times are "HH:MM" or
"HH:MM:SS" on the day; "HH:MM+1" means the next day (night shifts crossing midnight).
Everything here is parsed into frozen dataclasses; bad input raises RulesetError that
says what and where.
"""

from __future__ import annotations

import tomllib
from bisect import bisect_right
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from importlib import resources
from typing import Any

from hub.i18n import tr

SLOT_KINDS = ("in", "out", "break_out", "break_in", "other")
CHOICES = ("first", "last", "nearest")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
WEEKS = {"five_day": 5, "six_day": 6, "seven_day": 7}
# Codes a day can carry besides the punch-derived ones (TL1-4, PSW1-4, TAM, TAP, H, TK).
DAY_CODES = ("LIBUR", "CBER", "OFF")
DEFAULT_LEAVE: dict[str, dict[str, Any]] = {
    "CT": {"name": "Cuti tahunan"}, "CS": {"name": "Cuti sakit"},
    "CB": {"name": "Cuti besar"}, "CM": {"name": "Cuti melahirkan"},
    "CAP": {"name": "Cuti karena alasan penting"}, "CLTN": {"name": "Cuti di luar tanggungan negara"},
    "DL": {"name": "Dinas luar"}, "DIK": {"name": "Diklat"}, "TB": {"name": "Tugas belajar"},
    "I": {"name": "Izin"}, "S": {"name": "Sakit"},
}


class RulesetError(ValueError):
    """A ruleset file that cannot be used; the message names the file and the key."""


@dataclass(frozen=True)
class Slot:
    name: str
    kind: str
    at: int  # seconds from the day's midnight (may exceed 86400 for the next day)
    lo: int
    hi: int  # inclusive window, seconds from the day's midnight
    required: bool
    choose: str
    missing: str  # code when a required slot has no punch


@dataclass(frozen=True)
class Deductions:
    brackets_minutes: tuple[int, ...] = (1, 31, 61, 91)
    late_pct: tuple[float, ...] = (0.5, 1.0, 1.25, 1.5)
    early_pct: tuple[float, ...] = (0.5, 1.0, 1.25, 1.5)
    missing_in_pct: float = 1.5
    missing_out_pct: float = 1.5
    missing_other_pct: float = 0.5
    absent_pct: float = 3.0
    monthly_cap_pct: float = 100.0
    base: str = "monthly_tpp_pct"


@dataclass(frozen=True)
class LeaveType:
    code: str
    name: str
    counts_present: bool = True
    pct: float = 0.0  # deduction per day, percent of monthly TPP


@dataclass(frozen=True)
class Ramadan:
    start: date
    end: date
    schedule: dict[str, tuple[Slot, ...]]
    suspend_slots: tuple[str, ...] = ()


@dataclass(frozen=True)
class Ruleset:
    name: str
    version: int
    valid_from: date
    valid_to: date | None
    week: str = "five_day"
    late_after_seconds: int = 59
    early_grace_seconds: int = 0
    dedupe_seconds: int = 180
    work_on_holidays: bool = False
    roster: bool = False
    schedule: dict[str, tuple[Slot, ...]] = field(default_factory=dict)
    shifts: dict[str, tuple[Slot, ...]] = field(default_factory=dict)
    ramadan: tuple[Ramadan, ...] = ()
    holidays: dict[date, str] = field(default_factory=dict)  # day -> LIBUR | CBER
    holiday_names: dict[date, str] = field(default_factory=dict)
    deductions: Deductions = field(default_factory=Deductions)
    leave: dict[str, LeaveType] = field(default_factory=dict)

    @property
    def label(self) -> str:
        return f"{self.name}@{self.version}"

    def covers(self, day: date) -> bool:
        return self.valid_from <= day and (self.valid_to is None or day <= self.valid_to)

    def is_work_day(self, day: date) -> bool:
        return day.weekday() < WEEKS[self.week]

    def slots_for(self, day: date, shift: str | None = None) -> tuple[Slot, ...]:
        """The punch slots of a day (a shift's when rostered), Ramadan applied."""
        if shift is not None:
            return self.shifts[shift]
        wd = WEEKDAYS[day.weekday()]
        for r in self.ramadan:
            if r.start <= day <= r.end:
                slots = _pick(r.schedule, wd) or _pick(self.schedule, wd) or ()
                return tuple(s for s in slots if s.name not in r.suspend_slots)
        return _pick(self.schedule, wd) or ()

    def span(self) -> tuple[int, int]:
        """Earliest window start and latest window end over every slot of the ruleset."""
        every = [s for slots in self.schedule.values() for s in slots]
        every += [s for slots in self.shifts.values() for s in slots]
        every += [s for r in self.ramadan for slots in r.schedule.values() for s in slots]
        return min(s.lo for s in every), max(s.hi for s in every)


def _pick(schedule: dict[str, tuple[Slot, ...]], wd: str) -> tuple[Slot, ...] | None:
    if wd in schedule:
        return schedule[wd]
    if wd in ("mon", "tue", "wed", "thu") and "mon_thu" in schedule:
        return schedule["mon_thu"]
    if wd != "sun" and "mon_sat" in schedule:
        return schedule["mon_sat"]
    return schedule.get("default")


# --- parsing -------------------------------------------------------------------------------


def parse_clock(value: Any, where: str) -> int:
    """'07:30', '07:30:59' or '07:30+1' -> seconds from the day's midnight."""
    if not isinstance(value, str):
        raise RulesetError(tr(f"{where}: jam harus teks 'HH:MM', bukan {value!r}",
                              f"{where}: a time must be text 'HH:MM', not {value!r}"))
    text, plus = value.strip(), 0
    if text.endswith("+1"):
        text, plus = text[:-2], 86400
    parts = text.split(":")
    try:
        if len(parts) not in (2, 3) or not all(p.isdigit() and len(p) == 2 for p in parts):
            raise ValueError
        h, m, s = (int(p) for p in (parts + ["00"])[:3])
        if h > 23 or m > 59 or s > 59:
            raise ValueError
    except ValueError:
        raise RulesetError(tr(f"{where}: jam '{value}' tidak sah; gunakan HH:MM[:SS][+1]",
                              f"{where}: time '{value}' is not valid; use HH:MM[:SS][+1]")) from None
    return plus + h * 3600 + m * 60 + s


def _date(value: Any, where: str) -> date:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise RulesetError(tr(f"{where}: tanggal '{value}' tidak sah; gunakan YYYY-MM-DD",
                              f"{where}: date '{value}' is not valid; use YYYY-MM-DD")) from None


def _num(value: Any, where: str, lo: float = 0.0) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value < lo:
        raise RulesetError(tr(f"{where}: harus angka >= {lo:g}, bukan {value!r}",
                              f"{where}: must be a number >= {lo:g}, not {value!r}"))
    return float(value)


def _table(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise RulesetError(tr(f"{where}: harus tabel TOML", f"{where}: must be a TOML table"))
    return value


def _slot(raw: Any, where: str) -> Slot:
    raw = _table(raw, where)
    name = raw.get("name")
    if not isinstance(name, str) or not name:
        raise RulesetError(tr(f"{where}.name: nama slot wajib diisi", f"{where}.name: a slot needs a name"))
    kind = raw.get("kind", "other")
    if kind not in SLOT_KINDS:
        raise RulesetError(tr(f"{where}.kind: '{kind}' tidak dikenal; pilih {', '.join(SLOT_KINDS)}",
                              f"{where}.kind: unknown '{kind}'; choose {', '.join(SLOT_KINDS)}"))
    choose = raw.get("choose", {"in": "first", "out": "last"}.get(kind, "nearest"))
    if choose not in CHOICES:
        raise RulesetError(tr(f"{where}.choose: '{choose}' tidak dikenal; pilih {', '.join(CHOICES)}",
                              f"{where}.choose: unknown '{choose}'; choose {', '.join(CHOICES)}"))
    at = parse_clock(raw.get("at"), f"{where}.at")
    window = raw.get("window")
    if not isinstance(window, list) or len(window) != 2:
        raise RulesetError(tr(f"{where}.window: harus [\"HH:MM\", \"HH:MM\"]",
                              f"{where}.window: must be [\"HH:MM\", \"HH:MM\"]"))
    lo, hi = parse_clock(window[0], f"{where}.window[0]"), parse_clock(window[1], f"{where}.window[1]")
    if isinstance(window[1], str) and window[1].count(":") == 1:
        hi += 59  # "11:59" closes the window at the end of that minute
    if hi < lo:
        hi += 86400  # a window written across midnight
    if not lo <= at <= hi:
        raise RulesetError(tr(f"{where}: jam {raw.get('at')} di luar jendela {window}",
                              f"{where}: time {raw.get('at')} lies outside its window {window}"))
    required = raw.get("required", True)
    if not isinstance(required, bool):
        raise RulesetError(tr(f"{where}.required: harus true/false", f"{where}.required: must be true/false"))
    default_missing = {"in": "TAM", "out": "TAP"}.get(kind, "TA_" + name.upper())
    missing = str(raw.get("missing", default_missing))
    return Slot(name, kind, at, lo, hi, required, choose, missing)


def _slots(raw: Any, where: str) -> tuple[Slot, ...]:
    raw = _table(raw, where)
    items = raw.get("slots")
    if not isinstance(items, list) or not items:
        raise RulesetError(tr(f"{where}.slots: daftar slot wajib diisi", f"{where}.slots: a list of slots is required"))
    slots = tuple(_slot(s, f"{where}.slots[{i}]") for i, s in enumerate(items))
    names = [s.name for s in slots]
    if len(set(names)) != len(names):
        raise RulesetError(tr(f"{where}.slots: nama slot ganda", f"{where}.slots: duplicate slot names"))
    return slots


def _schedule(raw: Any, where: str) -> dict[str, tuple[Slot, ...]]:
    allowed = set(WEEKDAYS) | {"mon_thu", "mon_sat", "default"}
    out = {}
    for key, value in _table(raw, where).items():
        if key not in allowed:
            raise RulesetError(tr(f"{where}.{key}: hari tidak dikenal; pilih {', '.join(sorted(allowed))}",
                                  f"{where}.{key}: unknown day; choose {', '.join(sorted(allowed))}"))
        out[key] = _slots(value, f"{where}.{key}")
    return out


def _holidays(items: Any, where: str) -> tuple[dict[date, str], dict[date, str]]:
    kinds, names = {}, {}
    if not isinstance(items, list):
        raise RulesetError(tr(f"{where}: harus daftar [[holiday]]", f"{where}: must be a list [[holiday]]"))
    for i, h in enumerate(items):
        h = _table(h, f"{where}[{i}]")
        d = _date(h.get("date"), f"{where}[{i}].date")
        kind = h.get("kind", "libur")
        if kind not in ("libur", "cuti_bersama"):
            raise RulesetError(tr(f"{where}[{i}].kind: pilih libur atau cuti_bersama",
                                  f"{where}[{i}].kind: choose libur or cuti_bersama"))
        kinds[d] = "LIBUR" if kind == "libur" else "CBER"
        names[d] = str(h.get("name", ""))
    return kinds, names


@lru_cache(maxsize=1)
def national_holidays() -> tuple[dict[date, str], dict[date, str]]:
    """Holidays and cuti bersama ASN 2025-2026 (asn-rules.md §3.5), seeded as package data."""
    text = resources.files("hub.reconcile").joinpath("rulesets/holidays-id.toml").read_text("utf-8")
    return _holidays(tomllib.loads(text).get("holiday", []), "holidays-id.toml:holiday")


def parse_ruleset(text: str, source: str = "ruleset") -> Ruleset:
    """Parse a ruleset TOML document; every problem raises RulesetError naming `source`."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise RulesetError(tr(f"{source}: TOML tidak sah: {exc}", f"{source}: invalid TOML: {exc}")) from None
    try:
        return _build(raw, source)
    except RulesetError:
        raise
    except (TypeError, ValueError, KeyError, AttributeError) as exc:  # a shape we did not foresee
        raise RulesetError(tr(f"{source}: isi tidak sah: {exc}", f"{source}: invalid content: {exc}")) from None


def _build(raw: dict[str, Any], source: str) -> Ruleset:
    name = raw.get("name")
    if not isinstance(name, str) or not name.strip():
        raise RulesetError(tr(f"{source}: kunci 'name' wajib diisi", f"{source}: key 'name' is required"))
    version = raw.get("version", 1)
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise RulesetError(tr(f"{source}.version: harus bilangan bulat >= 1",
                              f"{source}.version: must be an integer >= 1"))
    week = raw.get("week", "five_day")
    if week not in WEEKS:
        raise RulesetError(tr(f"{source}.week: pilih {', '.join(WEEKS)}", f"{source}.week: choose {', '.join(WEEKS)}"))
    valid_from = _date(raw.get("valid_from", "2000-01-01"), f"{source}.valid_from")
    valid_to = _date(raw["valid_to"], f"{source}.valid_to") if "valid_to" in raw else None
    if valid_to is not None and valid_to < valid_from:
        raise RulesetError(tr(f"{source}: valid_to sebelum valid_from", f"{source}: valid_to is before valid_from"))
    roster = raw.get("roster", False)
    schedule = _schedule(raw.get("schedule", {}), f"{source}.schedule")
    shifts = {k: _slots(v, f"{source}.shifts.{k}")
              for k, v in _table(raw.get("shifts", {}), f"{source}.shifts").items()}
    if roster and not shifts:
        raise RulesetError(tr(f"{source}: roster = true butuh [shifts.*]", f"{source}: roster = true needs [shifts.*]"))
    if not roster:
        for i in range(WEEKS[week]):
            if _pick(schedule, WEEKDAYS[i]) is None:
                raise RulesetError(tr(f"{source}.schedule: tidak ada slot untuk hari {WEEKDAYS[i]}",
                                      f"{source}.schedule: no slots for {WEEKDAYS[i]}"))
    ramadan = []
    for i, r in enumerate(raw.get("ramadan", [])):
        r = _table(r, f"{source}.ramadan[{i}]")
        start = _date(r.get("from"), f"{source}.ramadan[{i}].from")
        end = _date(r.get("to"), f"{source}.ramadan[{i}].to")
        if end < start:
            raise RulesetError(tr(f"{source}.ramadan[{i}]: 'to' sebelum 'from'",
                                  f"{source}.ramadan[{i}]: 'to' is before 'from'"))
        sus = r.get("suspend_slots", [])
        if not isinstance(sus, list) or not all(isinstance(s, str) for s in sus):
            raise RulesetError(tr(f"{source}.ramadan[{i}].suspend_slots: daftar nama slot",
                                  f"{source}.ramadan[{i}].suspend_slots: a list of slot names"))
        sched = _schedule(r.get("schedule", {}), f"{source}.ramadan[{i}].schedule")
        ramadan.append(Ramadan(start, end, sched, tuple(sus)))
    kinds, names = national_holidays() if raw.get("national_holidays", True) else ({}, {})
    kinds, names = dict(kinds), dict(names)
    extra_k, extra_n = _holidays(raw.get("holiday", []), f"{source}.holiday")
    kinds.update(extra_k)
    names.update(extra_n)
    d = _table(raw.get("deductions", {}), f"{source}.deductions")
    base = Deductions()
    brackets = tuple(int(_num(x, f"{source}.deductions.brackets_minutes", 1))
                     for x in d.get("brackets_minutes", base.brackets_minutes))
    if list(brackets) != sorted(set(brackets)) or not brackets:
        raise RulesetError(tr(f"{source}.deductions.brackets_minutes: harus naik, tanpa ganda",
                              f"{source}.deductions.brackets_minutes: must be increasing without repeats"))
    pcts = {}
    for key in ("late_pct", "early_pct"):
        pcts[key] = tuple(_num(x, f"{source}.deductions.{key}") for x in d.get(key, getattr(base, key)))
        if len(pcts[key]) != len(brackets):
            raise RulesetError(tr(f"{source}.deductions.{key}: jumlahnya harus sama dengan brackets_minutes",
                                  f"{source}.deductions.{key}: needs as many values as brackets_minutes"))
    scalars = {k: _num(d.get(k, getattr(base, k)), f"{source}.deductions.{k}")
               for k in ("missing_in_pct", "missing_out_pct", "missing_other_pct", "absent_pct", "monthly_cap_pct")}
    deductions = Deductions(brackets, pcts["late_pct"], pcts["early_pct"], base=str(d.get("base", base.base)),
                            **scalars)
    leave = {}
    for code, spec in {**DEFAULT_LEAVE, **_table(raw.get("leave", {}), f"{source}.leave")}.items():
        spec = _table(spec, f"{source}.leave.{code}")
        leave[code.upper()] = LeaveType(code.upper(), str(spec.get("name", code)),
                                        bool(spec.get("counts_present", True)),
                                        _num(spec.get("pct", 0.0), f"{source}.leave.{code}.pct"))
    rs = Ruleset(name=name.strip(), version=version, valid_from=valid_from, valid_to=valid_to, week=week,
                 late_after_seconds=int(_num(raw.get("late_after_seconds", 59), f"{source}.late_after_seconds")),
                 early_grace_seconds=int(_num(raw.get("early_grace_seconds", 0), f"{source}.early_grace_seconds")),
                 dedupe_seconds=int(_num(raw.get("dedupe_minutes", 3), f"{source}.dedupe_minutes") * 60),
                 work_on_holidays=bool(raw.get("work_on_holidays", False)), roster=bool(roster),
                 schedule=schedule, shifts=shifts, ramadan=tuple(ramadan), holidays=kinds,
                 holiday_names=names, deductions=deductions, leave=leave)
    if not (schedule or shifts):
        raise RulesetError(tr(f"{source}: tidak ada jadwal", f"{source}: no schedule"))
    return rs


def bracket(minutes: int, brackets: tuple[int, ...]) -> int:
    """1..N for the bracket `minutes` falls in (lower bounds), 0 below the first."""
    return bisect_right(brackets, minutes)


BUILTIN = ("pemda-default", "kota-bengkulu-4punch", "six-day-service", "rsud-shift")


def builtin_text(name: str) -> str:
    if name not in BUILTIN:
        raise RulesetError(tr(f"ruleset bawaan '{name}' tidak ada; pilih {', '.join(BUILTIN)}",
                              f"no built-in ruleset '{name}'; choose {', '.join(BUILTIN)}"))
    return resources.files("hub.reconcile").joinpath(f"rulesets/{name}.toml").read_text("utf-8")


@lru_cache(maxsize=8)
def builtin(name: str = "pemda-default") -> Ruleset:
    return parse_ruleset(builtin_text(name), f"{name}.toml")
