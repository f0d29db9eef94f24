"""Rulesets: what a Pemda's Perbup says about hours, punch slots, brackets and deductions.

A ruleset is a TOML file (hub/reconcile/rulesets/, copies under config/rulesets/) loaded
into the store with its effective dates (asn-rules.md §1-§3, §8). Everything here is parsed
into frozen dataclasses; bad input raises RulesetError that says what and where.

Times on the day:
- a slot's `at` and a window's start: "HH:MM" or "HH:MM:SS"; "+1" appended = the next day
  (night shifts crossing midnight);
- a window's end: "HH:MM" includes that whole minute (until HH:MM:59), "HH:MM:SS" includes
  that second, "<HH:MM[:SS]" stops just before it (half-open), "24:00" is the end of the day.

Rules that do what they say: unknown keys are errors; every deduction and every leave type
the hub knows needs its figure in the file, or inherits it from a named `base` ruleset
(the inherited values are listed in `warnings`); slot windows of one day may not overlap.
"""

from __future__ import annotations

import re
import tomllib
from bisect import bisect_right
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date
from functools import lru_cache
from importlib import resources
from typing import Any

from hub.i18n import tr
from hub.punch import PunchFlag
from hub.roster.identity import EMPLOYMENT_TYPES

SLOT_KINDS = ("in", "out", "break_out", "break_in", "other")
CHOICES = ("first", "last", "nearest")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
WEEKS = {"five_day": 5, "six_day": 6, "seven_day": 7}
# Codes a day can carry besides the punch-derived ones (TL1-4, PSW1-4, TAM, TAP, H, TK):
# holidays, cuti bersama, no shift, no data from the terminals (TD), and evidence waiting
# for a reviewer (TV). TD and TV cost nothing until a person decides.
DAY_CODES = ("LIBUR", "CBER", "OFF")
NO_DATA = "TD"
WAITING = "TV"
RESERVED_CODES = {"H", "TK", "TAM", "TAP", NO_DATA, WAITING, *DAY_CODES}
DEFAULT_LEAVE: dict[str, str] = {
    "CT": "Cuti tahunan", "CS": "Cuti sakit", "CB": "Cuti besar", "CM": "Cuti melahirkan",
    "CAP": "Cuti karena alasan penting", "CLTN": "Cuti di luar tanggungan negara",
    "DL": "Dinas luar", "DIK": "Diklat", "TB": "Tugas belajar", "I": "Izin", "S": "Sakit",
}
# Punch flags (hub.punch.PunchFlag) a ruleset may hold back until a reviewer decides.
QUARANTINE_FLAGS = ("clock_suspect", "photo_mismatch", "outside_geofence", "out_of_range", "late_upload")
DEFAULT_QUARANTINE = ("clock_suspect", "photo_mismatch", "outside_geofence", "late_upload")
DEDUCTION_KEYS = ("brackets_minutes", "late_pct", "early_pct", "missing_in_pct", "missing_out_pct",
                  "missing_other_pct", "absent_pct", "monthly_cap_pct")
DEDUCTION_BASES = ("monthly_tpp_pct",)
LEAVE_FIELDS = ("counts_present", "pct")
TOP_KEYS = frozenset({
    "name", "version", "description", "base", "valid_from", "valid_to", "week", "late_after_seconds",
    "early_grace_seconds", "dedupe_minutes", "national_holidays", "work_on_holidays", "roster",
    "schedule", "shifts", "ramadan", "holiday", "deductions", "leave", "quarantine", "types",
    "mobile_offline_max_minutes"})
SLOT_KEYS = frozenset({"name", "kind", "at", "window", "required", "choose", "missing"})
LEAVE_KEYS = frozenset({"name", *LEAVE_FIELDS})
HOLIDAY_KEYS = frozenset({"date", "name", "kind"})
RAMADAN_KEYS = frozenset({"from", "to", "suspend_slots", "schedule"})
TYPE_KEYS = frozenset({"deductions", "leave", "quarantine", "description"})
_CODE = re.compile(r"^[A-Z][A-Z0-9_]{0,15}$")


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
    # a phone's punch captured offline counts at its capture time when it arrives within
    # this many minutes; later, it is kept flagged late_upload (held for a reviewer)
    mobile_offline_max_minutes: int = 240
    work_on_holidays: bool = False
    roster: bool = False
    schedule: dict[str, tuple[Slot, ...]] = field(default_factory=dict)
    shifts: dict[str, tuple[Slot, ...]] = field(default_factory=dict)
    ramadan: tuple[Ramadan, ...] = ()
    holidays: dict[date, str] = field(default_factory=dict)  # day -> LIBUR | CBER
    holiday_names: dict[date, str] = field(default_factory=dict)
    deductions: Deductions = field(default_factory=Deductions)
    leave: dict[str, LeaveType] = field(default_factory=dict)
    quarantine: tuple[str, ...] = DEFAULT_QUARANTINE
    base: str | None = None
    employment_type: str | None = None  # set on the variant of one employment type
    types: dict[str, Ruleset] = field(default_factory=dict)  # employment type -> its variant
    warnings: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        suffix = f":{self.employment_type}" if self.employment_type else ""
        return f"{self.name}@{self.version}{suffix}"

    @property
    def quarantine_mask(self) -> int:
        mask = 0
        for name in self.quarantine:
            mask |= int(PunchFlag[name.upper()])
        return mask

    def for_type(self, employment_type: str | None) -> Ruleset:
        """The rules for one employment type (TKS, honorer ...) where the Perbup differs."""
        return self.types.get(employment_type or "", self)

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

    def every_slot(self) -> list[Slot]:
        every = [s for slots in self.schedule.values() for s in slots]
        every += [s for slots in self.shifts.values() for s in slots]
        every += [s for r in self.ramadan for slots in r.schedule.values() for s in slots]
        return every

    def span(self) -> tuple[int, int]:
        """Earliest window start and latest window end over every slot of the ruleset."""
        every = self.every_slot()
        return min(s.lo for s in every), max(s.hi for s in every)

    def missing_other_codes(self) -> list[str]:
        """Codes of required slots besides check-in/out (TAIK, TAKI, TA_APEL ...), in order."""
        out: list[str] = []
        for s in self.every_slot():
            if s.required and s.kind not in ("in", "out") and s.missing not in out:
                out.append(s.missing)
        return out

    def legend(self) -> list[tuple[str, str, str, float | None]]:
        """Every code a day can carry under these rules: (code, Indonesian, English, % per
        occurrence or None when it costs nothing by itself)."""
        d = self.deductions
        out: list[tuple[str, str, str, float | None]] = [
            ("H", "Hadir tepat waktu", "Present on time", None)]
        edges = [*d.brackets_minutes, None]
        for kind, pcts, words in (("TL", d.late_pct, ("Terlambat masuk", "Late arrival")),
                                  ("PSW", d.early_pct, ("Pulang sebelum waktunya", "Left early"))):
            for i, pct in enumerate(pcts):
                lo, hi = edges[i], edges[i + 1]
                span = f"{lo}-{hi - 1} menit" if hi else f">= {lo} menit"
                span_en = f"{lo}-{hi - 1} min" if hi else f">= {lo} min"
                out.append((f"{kind}{i + 1}", f"{words[0]} {span}", f"{words[1]} {span_en}", pct))
        out.append(("TAM", f"Tidak absen masuk (dihargai {d.missing_in_pct:g}%, setara TL{len(d.late_pct)})",
                    f"No check-in punch (priced {d.missing_in_pct:g}%, as TL{len(d.late_pct)})",
                    d.missing_in_pct))
        out.append(("TAP", f"Tidak absen pulang (dihargai {d.missing_out_pct:g}%, setara PSW{len(d.early_pct)})",
                    f"No check-out punch (priced {d.missing_out_pct:g}%, as PSW{len(d.early_pct)})",
                    d.missing_out_pct))
        names = {s.missing: s.name for s in self.every_slot()}
        for code in self.missing_other_codes():
            out.append((code, f"Tidak absen slot '{names[code]}'", f"No punch for slot '{names[code]}'",
                        d.missing_other_pct))
        out.append(("TK", "Tidak masuk kerja tanpa keterangan", "Absent without valid reason", d.absent_pct))
        for lt in self.leave.values():
            present = "dihitung hadir" if lt.counts_present else "tidak dihitung hadir"
            present_en = "counts as present" if lt.counts_present else "does not count as present"
            out.append((lt.code, f"{lt.name} ({present})", f"{lt.name} ({present_en})", lt.pct or None))
        out += [
            (NO_DATA, "Tidak ada data dari terminal pegawai; menunggu keputusan peninjau",
             "No data from the employee's terminals; waits for a reviewer", None),
            (WAITING, "Bukti diragukan (jam terminal/foto/lokasi); menunggu verifikasi peninjau",
             "Doubtful evidence (terminal clock/photo/location); waits for a reviewer", None),
            ("LIBUR", "Hari libur nasional/daerah", "Public holiday", None),
            ("CBER", "Cuti bersama", "Collective leave day", None),
            ("OFF", "Tidak ada shift", "No shift rostered", None),
        ]
        return out


def _pick(schedule: dict[str, tuple[Slot, ...]], wd: str) -> tuple[Slot, ...] | None:
    if wd in schedule:
        return schedule[wd]
    if wd in ("mon", "tue", "wed", "thu") and "mon_thu" in schedule:
        return schedule["mon_thu"]
    if wd != "sun" and "mon_sat" in schedule:
        return schedule["mon_sat"]
    return schedule.get("default")


# --- parsing -------------------------------------------------------------------------------


def _bad_time(value: Any, where: str, form: str) -> RulesetError:
    return RulesetError(tr(f"{where}: jam '{value}' tidak sah; gunakan {form}",
                           f"{where}: time '{value}' is not valid; use {form}"))


def _hms(text: str, value: Any, where: str, form: str, allow_24: bool = False) -> tuple[int, bool]:
    """'HH:MM[:SS]' -> (seconds, whether seconds were given)."""
    parts = text.split(":")
    if len(parts) not in (2, 3) or not all(p.isdigit() and len(p) == 2 for p in parts):
        raise _bad_time(value, where, form)
    h, m, s = (int(p) for p in (parts + ["00"])[:3])
    if allow_24 and (h, m, s) == (24, 0, 0):
        return 86400, len(parts) == 3
    if h > 23 or m > 59 or s > 59:
        raise _bad_time(value, where, form)
    return h * 3600 + m * 60 + s, len(parts) == 3


def parse_clock(value: Any, where: str) -> int:
    """'07:30', '07:30:59' or '07:30+1' -> seconds from the day's midnight."""
    if not isinstance(value, str):
        raise RulesetError(tr(f"{where}: jam harus teks 'HH:MM', bukan {value!r}",
                              f"{where}: a time must be text 'HH:MM', not {value!r}"))
    text, plus = value.strip(), 0
    if text.endswith("+1"):
        text, plus = text[:-2], 86400
    return plus + _hms(text, value, where, "HH:MM[:SS][+1]")[0]


def parse_window_end(value: Any, where: str) -> int:
    """A window's end -> the last second inside it, from the day's midnight.

    'HH:MM' includes the whole minute, 'HH:MM:SS' that second, '<HH:MM[:SS]' stops before
    it, '24:00' is the end of the day; '+1' for the next day."""
    form = "HH:MM[:SS], <HH:MM[:SS] atau 24:00, [+1]"
    if not isinstance(value, str):
        raise RulesetError(tr(f"{where}: jam harus teks 'HH:MM', bukan {value!r}",
                              f"{where}: a time must be text 'HH:MM', not {value!r}"))
    text, plus = value.strip(), 0
    exclusive = text.startswith("<")
    if exclusive:
        text = text[1:].strip()
    if text.endswith("+1"):
        text, plus = text[:-2], 86400
    seconds, with_seconds = _hms(text, value, where, form, allow_24=True)
    if seconds == 86400 or exclusive:
        return plus + seconds - 1
    return plus + seconds + (0 if with_seconds else 59)


def _date(value: Any, where: str) -> date:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise RulesetError(tr(f"{where}: tanggal '{value}' tidak sah; gunakan YYYY-MM-DD",
                              f"{where}: date '{value}' is not valid; use YYYY-MM-DD")) from None


def _num(value: Any, where: str, lo: float = 0.0) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value < lo or value != value:
        raise RulesetError(tr(f"{where}: harus angka >= {lo:g}, bukan {value!r}",
                              f"{where}: must be a number >= {lo:g}, not {value!r}"))
    return float(value)


def _bool(value: Any, where: str) -> bool:
    if not isinstance(value, bool):
        raise RulesetError(tr(f"{where}: harus true/false", f"{where}: must be true/false"))
    return value


def _table(value: Any, where: str, keys: frozenset[str] | None = None) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise RulesetError(tr(f"{where}: harus tabel TOML", f"{where}: must be a TOML table"))
    if keys is not None:
        unknown = sorted(set(value) - keys)
        if unknown:
            raise RulesetError(tr(
                f"{where}: kunci tidak dikenal {', '.join(unknown)}; yang sah: {', '.join(sorted(keys))}",
                f"{where}: unknown key(s) {', '.join(unknown)}; valid: {', '.join(sorted(keys))}"))
    return value


def _slot(raw: Any, where: str) -> Slot:
    raw = _table(raw, where, SLOT_KEYS)
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
    lo = parse_clock(window[0], f"{where}.window[0]")
    hi = parse_window_end(window[1], f"{where}.window[1]")
    if hi < lo:
        hi += 86400  # a window written across midnight
    if not lo <= at <= hi:
        raise RulesetError(tr(f"{where}: jam {raw.get('at')} di luar jendela {window}",
                              f"{where}: time {raw.get('at')} lies outside its window {window}"))
    required = _bool(raw.get("required", True), f"{where}.required")
    default_missing = {"in": "TAM", "out": "TAP"}.get(kind, "TA_" + name.upper())
    missing = str(raw.get("missing", default_missing))
    if not _CODE.match(missing) or (missing in RESERVED_CODES and missing != default_missing):
        raise RulesetError(tr(f"{where}.missing: kode '{missing}' tidak sah (huruf besar/angka, maks. 16, "
                              f"bukan {', '.join(sorted(RESERVED_CODES))})",
                              f"{where}.missing: code '{missing}' is not valid (capitals/digits, max 16, "
                              f"not {', '.join(sorted(RESERVED_CODES))})"))
    return Slot(name, kind, at, lo, hi, required, choose, missing)


def _slots(raw: Any, where: str) -> tuple[Slot, ...]:
    raw = _table(raw, where, frozenset({"slots"}))
    items = raw.get("slots")
    if not isinstance(items, list) or not items:
        raise RulesetError(tr(f"{where}.slots: daftar slot wajib diisi", f"{where}.slots: a list of slots is required"))
    slots = tuple(_slot(s, f"{where}.slots[{i}]") for i, s in enumerate(items))
    names = [s.name for s in slots]
    if len(set(names)) != len(names):
        raise RulesetError(tr(f"{where}.slots: nama slot ganda", f"{where}.slots: duplicate slot names"))
    # A punch belongs to the one slot whose window holds it: windows may not overlap.
    ordered = sorted(slots, key=lambda s: s.lo)
    for a, b in zip(ordered, ordered[1:], strict=False):
        if b.lo <= a.hi:
            raise RulesetError(tr(f"{where}.slots: jendela '{a.name}' dan '{b.name}' bertumpang tindih",
                                  f"{where}.slots: the windows of '{a.name}' and '{b.name}' overlap"))
    return tuple(ordered)


def _schedule(raw: Any, where: str) -> dict[str, tuple[Slot, ...]]:
    allowed = frozenset(WEEKDAYS) | {"mon_thu", "mon_sat", "default"}
    return {key: _slots(value, f"{where}.{key}") for key, value in _table(raw, where, allowed).items()}


def _holidays(items: Any, where: str) -> tuple[dict[date, str], dict[date, str]]:
    kinds, names = {}, {}
    if not isinstance(items, list):
        raise RulesetError(tr(f"{where}: harus daftar [[holiday]]", f"{where}: must be a list [[holiday]]"))
    for i, h in enumerate(items):
        h = _table(h, f"{where}[{i}]", HOLIDAY_KEYS)
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


BaseLookup = Callable[[str], "Ruleset | None"]


def parse_ruleset(text: str, source: str = "ruleset", bases: BaseLookup | None = None) -> Ruleset:
    """Parse a ruleset TOML document; every problem raises RulesetError naming `source`.

    `bases` finds a ruleset named by `base = "..."` (default: the built-in ones)."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise RulesetError(tr(f"{source}: TOML tidak sah: {exc}", f"{source}: invalid TOML: {exc}")) from None
    try:
        return _build(raw, source, bases or _builtin_base)
    except RulesetError:
        raise
    except (TypeError, ValueError, KeyError, AttributeError, RecursionError) as exc:  # a shape we did not foresee
        raise RulesetError(tr(f"{source}: isi tidak sah: {exc}", f"{source}: invalid content: {exc}")) from None


def _builtin_base(name: str) -> Ruleset | None:
    return builtin(name) if name in BUILTIN else None


def _deductions(d: dict[str, Any], where: str, inherit: Deductions | None,
                inherited: list[str]) -> Deductions:
    d = _table(d, where, frozenset({*DEDUCTION_KEYS, "base"}))
    missing = [k for k in DEDUCTION_KEYS if k not in d]
    if missing and inherit is None:
        raise RulesetError(tr(
            f"{where}: belum ada {', '.join(missing)}; tulis nilainya (0 bila tidak dipotong) "
            "atau warisi dengan base = \"pemda-default\"",
            f"{where}: {', '.join(missing)} missing; give the values (0 for no deduction) "
            "or inherit them with base = \"pemda-default\""))
    inherited += [f"deductions.{k}={getattr(inherit, k)}" for k in missing]

    def get(key: str) -> Any:
        return d[key] if key in d else getattr(inherit, key)

    def listed(key: str, lo: float) -> tuple[float, ...]:
        value = get(key)
        if not isinstance(value, list | tuple) or not value:
            raise RulesetError(tr(f"{where}.{key}: harus daftar angka", f"{where}.{key}: must be a list of numbers"))
        return tuple(_num(x, f"{where}.{key}", lo) for x in value)

    brackets = tuple(int(x) for x in listed("brackets_minutes", 1))
    if list(brackets) != sorted(set(brackets)):
        raise RulesetError(tr(f"{where}.brackets_minutes: harus naik, tanpa ganda",
                              f"{where}.brackets_minutes: must be increasing without repeats"))
    pcts = {}
    for key in ("late_pct", "early_pct"):
        pcts[key] = listed(key, 0)
        if len(pcts[key]) != len(brackets):
            raise RulesetError(tr(f"{where}.{key}: jumlahnya harus sama dengan brackets_minutes",
                                  f"{where}.{key}: needs as many values as brackets_minutes"))
    scalars = {k: _num(get(k), f"{where}.{k}") for k in
               ("missing_in_pct", "missing_out_pct", "missing_other_pct", "absent_pct", "monthly_cap_pct")}
    base = str(d.get("base", inherit.base if inherit else "monthly_tpp_pct"))
    if base not in DEDUCTION_BASES:
        raise RulesetError(tr(f"{where}.base: '{base}' belum didukung; pilih {', '.join(DEDUCTION_BASES)}",
                              f"{where}.base: '{base}' is not supported; choose {', '.join(DEDUCTION_BASES)}"))
    return Deductions(brackets, pcts["late_pct"], pcts["early_pct"], base=base, **scalars)


def _leave(raw: Any, where: str, inherit: dict[str, LeaveType] | None, inherited: list[str],
           require_known: bool = True) -> dict[str, LeaveType]:
    given = _table(raw, where)
    out: dict[str, LeaveType] = {}
    codes = list(dict.fromkeys([*(DEFAULT_LEAVE if require_known else ()), *(inherit or {}),
                                *(str(c).upper() for c in given)]))
    missing: list[str] = []
    for code in codes:
        spec = next((v for k, v in given.items() if str(k).upper() == code), None)
        spec = _table(spec, f"{where}.{code}", LEAVE_KEYS) if spec is not None else {}
        if not _CODE.match(code) or code in RESERVED_CODES:
            raise RulesetError(tr(f"{where}.{code}: kode cuti tidak sah atau sudah dipakai hub",
                                  f"{where}.{code}: leave code is not valid or is used by the hub"))
        base = (inherit or {}).get(code)
        values: dict[str, Any] = {}
        for f in LEAVE_FIELDS:
            if f in spec:
                values[f] = spec[f]
            elif base is not None:
                values[f] = getattr(base, f)
            else:
                missing.append(f"{code}.{f}")
        if any(m.startswith(code + ".") for m in missing):
            continue
        if base is not None and not all(f in spec for f in LEAVE_FIELDS):
            inherited.append(f"leave.{code}={values['pct']:g}%" + ("" if values["counts_present"] else "/tidak-hadir"))
        name = str(spec.get("name") or (base.name if base else DEFAULT_LEAVE.get(code, code)))
        out[code] = LeaveType(code, name, _bool(values["counts_present"], f"{where}.{code}.counts_present"),
                              _num(values["pct"], f"{where}.{code}.pct"))
    if missing:
        raise RulesetError(tr(
            f"{where}: belum ada {', '.join(missing)}; setiap jenis cuti/izin yang dikenal hub butuh "
            "pct (0 bila tidak dipotong) dan counts_present, atau warisi dengan base = \"pemda-default\"",
            f"{where}: {', '.join(missing)} missing; every leave type the hub knows needs pct (0 for no "
            "deduction) and counts_present, or inherit them with base = \"pemda-default\""))
    return out


def _quarantine(value: Any, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise RulesetError(tr(f"{where}: harus daftar nama tanda", f"{where}: must be a list of flag names"))
    bad = [v for v in value if v not in QUARANTINE_FLAGS]
    if bad:
        raise RulesetError(tr(f"{where}: tanda {', '.join(bad)} tidak dikenal; pilih {', '.join(QUARANTINE_FLAGS)}",
                              f"{where}: unknown flag(s) {', '.join(bad)}; choose {', '.join(QUARANTINE_FLAGS)}"))
    return tuple(dict.fromkeys(value))


def _build(raw: dict[str, Any], source: str, bases: BaseLookup) -> Ruleset:
    _table(raw, source, TOP_KEYS)
    name = raw.get("name")
    if not isinstance(name, str) or not name.strip():
        raise RulesetError(tr(f"{source}: kunci 'name' wajib diisi", f"{source}: key 'name' is required"))
    version = raw.get("version", 1)
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise RulesetError(tr(f"{source}.version: harus bilangan bulat >= 1",
                              f"{source}.version: must be an integer >= 1"))
    base_name = raw.get("base")
    base: Ruleset | None = None
    if base_name is not None:
        if not isinstance(base_name, str) or base_name.strip() == name.strip():
            raise RulesetError(tr(f"{source}.base: harus nama ruleset lain",
                                  f"{source}.base: must name another ruleset"))
        base = bases(base_name)
        if base is None:
            raise RulesetError(tr(f"{source}.base: ruleset '{base_name}' tidak ditemukan; pilih {', '.join(BUILTIN)} "
                                  "atau ruleset yang sudah dimuat",
                                  f"{source}.base: ruleset '{base_name}' not found; choose {', '.join(BUILTIN)} "
                                  "or a loaded ruleset"))
    week = raw.get("week", "five_day")
    if week not in WEEKS:
        raise RulesetError(tr(f"{source}.week: pilih {', '.join(WEEKS)}", f"{source}.week: choose {', '.join(WEEKS)}"))
    valid_from = _date(raw.get("valid_from", "2000-01-01"), f"{source}.valid_from")
    valid_to = _date(raw["valid_to"], f"{source}.valid_to") if "valid_to" in raw else None
    if valid_to is not None and valid_to < valid_from:
        raise RulesetError(tr(f"{source}: valid_to sebelum valid_from", f"{source}: valid_to is before valid_from"))
    roster = _bool(raw.get("roster", False), f"{source}.roster")
    schedule = _schedule(raw.get("schedule", {}), f"{source}.schedule")
    shifts = {str(k).upper(): _slots(v, f"{source}.shifts.{k}")
              for k, v in _table(raw.get("shifts", {}), f"{source}.shifts").items()}
    if roster and not shifts:
        raise RulesetError(tr(f"{source}: roster = true butuh [shifts.*]", f"{source}: roster = true needs [shifts.*]"))
    if not roster:
        for i in range(WEEKS[week]):
            if _pick(schedule, WEEKDAYS[i]) is None:
                raise RulesetError(tr(f"{source}.schedule: tidak ada slot untuk hari {WEEKDAYS[i]}",
                                      f"{source}.schedule: no slots for {WEEKDAYS[i]}"))
    ramadan = []
    items = raw.get("ramadan", [])
    if not isinstance(items, list):
        raise RulesetError(tr(f"{source}.ramadan: harus daftar [[ramadan]]", f"{source}.ramadan: must be [[ramadan]]"))
    for i, r in enumerate(items):
        r = _table(r, f"{source}.ramadan[{i}]", RAMADAN_KEYS)
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
    national = _bool(raw.get("national_holidays", True), f"{source}.national_holidays")
    kinds, names = national_holidays() if national else ({}, {})
    kinds, names = dict(kinds), dict(names)
    extra_k, extra_n = _holidays(raw.get("holiday", []), f"{source}.holiday")
    kinds.update(extra_k)
    names.update(extra_n)
    inherited: list[str] = []
    deductions = _deductions(raw.get("deductions", {}), f"{source}.deductions",
                             base.deductions if base else None, inherited)
    leave = _leave(raw.get("leave", {}), f"{source}.leave", base.leave if base else None, inherited)
    if "quarantine" in raw:
        quarantine = _quarantine(raw["quarantine"], f"{source}.quarantine")
    else:
        quarantine = base.quarantine if base else DEFAULT_QUARANTINE
        if base:
            inherited.append(f"quarantine={','.join(quarantine)}")
    if not (schedule or shifts):
        raise RulesetError(tr(f"{source}: tidak ada jadwal", f"{source}: no schedule"))
    rs = Ruleset(name=name.strip(), version=version, valid_from=valid_from, valid_to=valid_to, week=week,
                 late_after_seconds=int(_num(raw.get("late_after_seconds", 59), f"{source}.late_after_seconds")),
                 early_grace_seconds=int(_num(raw.get("early_grace_seconds", 0), f"{source}.early_grace_seconds")),
                 dedupe_seconds=int(_num(raw.get("dedupe_minutes", 3), f"{source}.dedupe_minutes") * 60),
                 mobile_offline_max_minutes=int(_num(raw.get("mobile_offline_max_minutes", 240),
                                                     f"{source}.mobile_offline_max_minutes")),
                 work_on_holidays=_bool(raw.get("work_on_holidays", False), f"{source}.work_on_holidays"),
                 roster=roster, schedule=schedule, shifts=shifts, ramadan=tuple(ramadan), holidays=kinds,
                 holiday_names=names, deductions=deductions, leave=leave, quarantine=quarantine,
                 base=base.label if base else None)
    types: dict[str, Ruleset] = {}
    for kind, spec in _table(raw.get("types", {}), f"{source}.types").items():
        where = f"{source}.types.{kind}"
        if kind not in EMPLOYMENT_TYPES:
            raise RulesetError(tr(f"{where}: jenis pegawai '{kind}' tidak dikenal; pilih {', '.join(EMPLOYMENT_TYPES)}",
                                  f"{where}: unknown employment type '{kind}'; choose {', '.join(EMPLOYMENT_TYPES)}"))
        spec = _table(spec, where, TYPE_KEYS)
        own: list[str] = []  # a type inherits from its ruleset: no warning needed
        ded = _deductions({**_table(spec.get("deductions", {}), f"{where}.deductions")}, f"{where}.deductions",
                          deductions, own)
        lv = _leave(spec.get("leave", {}), f"{where}.leave", leave, own)
        q = _quarantine(spec["quarantine"], f"{where}.quarantine") if "quarantine" in spec else quarantine
        types[kind] = replace(rs, deductions=ded, leave=lv, quarantine=q, employment_type=kind)
    warnings: tuple[str, ...] = ()
    if inherited:
        warnings = (tr(f"{source}: diwarisi dari {base.label if base else '?'}: {', '.join(inherited)}",
                       f"{source}: inherited from {base.label if base else '?'}: {', '.join(inherited)}"),)
    return replace(rs, types=types, warnings=warnings)


def bracket(minutes: int, brackets: tuple[int, ...]) -> int:
    """1..N for the bracket `minutes` falls in (lower bounds), 0 below the first."""
    return bisect_right(brackets, minutes)


BUILTIN = ("pemda-default", "kota-bengkulu-4punch", "six-day-service", "rsud-shift", "sukamara-3phase")


def builtin_text(name: str) -> str:
    if name not in BUILTIN:
        raise RulesetError(tr(f"ruleset bawaan '{name}' tidak ada; pilih {', '.join(BUILTIN)}",
                              f"no built-in ruleset '{name}'; choose {', '.join(BUILTIN)}"))
    return resources.files("hub.reconcile").joinpath(f"rulesets/{name}.toml").read_text("utf-8")


@lru_cache(maxsize=8)
def builtin(name: str = "pemda-default") -> Ruleset:
    return parse_ruleset(builtin_text(name), f"{name}.toml")
