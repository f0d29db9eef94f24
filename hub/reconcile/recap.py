"""The monthly recap (asn-rules.md §7): one row per employee, built from the days the one
reconciler judged. Every figure the hub shows or exports (console, API, CSV, XLSX, PDF,
`hub recap`) is a row built here, or the frozen copy of one (hub.reconcile.period).

The deduction is exact: each day's percentage is a decimal of at most four places, their sum
is capped by the ruleset's monthly cap, and the rupiah cut is pagu x % / 100 rounded half up
to the rupiah. A reviewer can rebuild it: every code that costs money is a column (counts),
the legend gives each code's percentage, and sum(count x %) is `potongan_pct`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from hub.reconcile.rules import DEFAULT_LEAVE, NO_DATA, WAITING, Ruleset
from hub.store.models import Employee
from hub.store.sites import SiteTree

MONTHS_ID = ("Januari", "Februari", "Maret", "April", "Mei", "Juni", "Juli", "Agustus", "September",
             "Oktober", "November", "Desember")
DAY_NAMES = ("Senin", "Selasa", "Rabu", "Kamis", "Jumat", "Sabtu", "Minggu")
EMPLOYMENT_LABELS = {"pns": "PNS", "cpns": "CPNS", "pppk": "PPPK", "pppk_pw": "PPPK Paruh Waktu",
                     "tks": "TKS", "honorer": "Honorer", "non_asn": "Non-ASN"}
OFF_DAYS = {"LIBUR": "libur", "CBER": "cuti_bersama", "OFF": "off"}


@dataclass(frozen=True)
class Column:
    key: str
    id: str  # Indonesian header
    en: str
    kind: str = "count"  # text | count | minutes | pct | rupiah | date
    group: str = ""


@dataclass
class Day:
    """One judged day as every view sees it (computed now, or frozen by a lock)."""

    employee_id: int
    day: date
    status: str
    late_min: int = 0
    early_min: int = 0
    pct: float = 0.0
    check_in: datetime | None = None
    check_out: datetime | None = None
    source: str = "punch"
    ruleset: str = ""
    shift: str | None = None
    punch_ids: list[int] = field(default_factory=list)
    terminals: tuple[str, ...] = ()
    waiting: list[int] = field(default_factory=list)
    site_id: int | None = None

    def codes(self) -> list[str]:
        return self.status.split("+")

    @property
    def corrected(self) -> bool:
        return self.source in ("correction", "decision") or any(p < 0 for p in self.punch_ids)

    @classmethod
    def of_result(cls, r: Any) -> Day:
        return cls(r.employee_id, r.day, r.status, r.late_min, r.early_min, r.deduction_pct, r.check_in,
                   r.check_out, r.source, r.ruleset, r.shift, list(r.punch_ids), tuple(r.terminals),
                   list(r.waiting), r.site_id)

    @classmethod
    def of_stored(cls, r: Any) -> Day:
        ids = [int(p) for p in (r.punch_ids or "").split(",") if p.strip().lstrip("-").isdigit()]
        return cls(r.employee_id, r.day, r.status, r.late_min, r.early_min, r.deduction_pct, r.check_in,
                   r.check_out, r.source, r.ruleset, r.shift, ids, site_id=r.site_id)


def month_label(first: date) -> str:
    return f"{MONTHS_ID[first.month - 1]} {first.year}"


def dec(x: float | int | str | Decimal) -> Decimal:
    """A stored percentage as the decimal it was written as (at most four places)."""
    return x if isinstance(x, Decimal) else Decimal(repr(round(float(x), 4)))


def rupiah(pagu: int, pct: Decimal) -> int:
    return int((Decimal(pagu) * pct / 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def columns_for(rulesets: Iterable[Ruleset], extra_codes: Iterable[str] = ()) -> list[Column]:
    """The recap's columns for the rulesets in force: every code that can cost money."""
    rulesets = list(rulesets)
    brackets = max((len(rs.deductions.late_pct) for rs in rulesets), default=4)
    others: list[str] = []
    leave: list[str] = list(DEFAULT_LEAVE)
    names: dict[str, str] = dict(DEFAULT_LEAVE)
    for rs in rulesets:
        for code in rs.missing_other_codes():
            if code not in others:
                others.append(code)
        for code, lt in rs.leave.items():
            names.setdefault(code, lt.name)
            if code not in leave:
                leave.append(code)
    cols = [
        Column("no", "No", "No", "count", "id"),
        Column("nip", "NIP/NI PPPK", "NIP/NI PPPK", "text", "id"),
        Column("nama", "Nama", "Name", "text", "id"),
        Column("status_pegawai", "Status", "Employment", "text", "id"),
        Column("golongan", "Golongan/Kelas jabatan", "Grade", "text", "id"),
        Column("jabatan", "Jabatan", "Position", "text", "id"),
        Column("opd", "OPD", "Office (OPD)", "text", "id"),
        Column("unit", "Unit/UPTD", "Unit", "text", "id"),
        Column("hari_kerja", "Hari kerja efektif", "Working days", "count", "calendar"),
        Column("libur", "Hari libur", "Holidays", "count", "calendar"),
        Column("cuti_bersama", "Cuti bersama", "Collective leave", "count", "calendar"),
        Column("off", "Tanpa shift", "No shift", "count", "calendar"),
        Column("hadir", "Hadir", "Present", "count", "presence"),
        *(Column(f"TL{i}", f"TL{i}", f"TL{i}", "count", "presence") for i in range(1, brackets + 1)),
        *(Column(f"PSW{i}", f"PSW{i}", f"PSW{i}", "count", "presence") for i in range(1, brackets + 1)),
        Column("TAM", "TAM", "TAM", "count", "presence"),
        Column("TAP", "TAP", "TAP", "count", "presence"),
        *(Column(c, c, c, "count", "presence") for c in others),
        Column("menit_terlambat", "Menit terlambat", "Minutes late", "minutes", "presence"),
        Column("menit_pulang_cepat", "Menit pulang cepat", "Minutes left early", "minutes", "presence"),
        Column("kjk_menit", "KJK (menit)", "Shortfall (min)", "minutes", "presence"),
        *(Column(c, c, c, "count", "excused") for c in leave),
        Column(NO_DATA, "TD (tanpa data)", "TD (no data)", "count", "doubt"),
        Column(WAITING, "TV (tunggu verifikasi)", "TV (awaiting review)", "count", "doubt"),
        Column("TK", "TK (hari)", "TK (days)", "count", "unexcused"),
        Column("persen_kehadiran", "% kehadiran", "% attendance", "pct", "money"),
        Column("potongan_pct", "Jumlah % potongan", "Sum of % deductions", "pct", "money"),
        Column("potongan_disiplin_pct", "% potongan (maks.)", "% deducted (capped)", "pct", "money"),
        Column("tpp_pagu", "TPP pagu", "TPP ceiling", "rupiah", "money"),
        Column("potongan_rp", "Nominal potongan", "Deduction (Rp)", "rupiah", "money"),
        Column("tpp_diterima", "TPP diterima", "TPP paid", "rupiah", "money"),
    ]
    known = {c.key for c in cols}
    late = [c for c in extra_codes if c not in known]  # codes a frozen row has that today's rules lack
    if late:
        at = next(i for i, c in enumerate(cols) if c.key == NO_DATA)
        cols[at:at] = [Column(c, c, c, "count", "excused") for c in sorted(late)]
    return cols


def summed(columns: Sequence[Column]) -> list[str]:
    return [c.key for c in columns if c.kind in ("count", "minutes", "rupiah") and c.key != "no"]


def build_row(e: Employee, tree: SiteTree, rs: Ruleset, days: Iterable[Day], columns: Sequence[Column]
              ) -> dict[str, Any]:
    """One employee's month. `rs` is the ruleset in force on the month's first judged day
    (for the monthly cap and for which leave counts as present)."""
    row: dict[str, Any] = {c.key: 0 for c in columns if c.kind != "text"}
    site = tree.by_id.get(e.site_id) if e.site_id else None
    opd = tree.opd(e.site_id)
    row.update(employee_id=e.id, site_id=e.site_id, nip=e.id_number, nama=e.name,
               status_pegawai=EMPLOYMENT_LABELS.get((e.employment_type or "").lower(), e.employment_type or ""),
               golongan=e.grade or "", jabatan=e.position or "", opd=opd.name if opd else "",
               unit=site.name if site and opd and site.id != opd.id else "")
    pct = Decimal(0)
    present_for_discipline = 0
    for d in days:
        codes = d.codes()
        off = next((OFF_DAYS[c] for c in codes if c in OFF_DAYS), None)
        if off:
            row[off] += 1
            continue
        row["hari_kerja"] += 1
        leave = next((c for c in codes if c in rs.leave), None)
        if leave is not None or any(c in (NO_DATA, WAITING, "TK") for c in codes):
            for c in codes:
                row[c] = row.get(c, 0) + 1
            if leave is not None and rs.leave[leave].counts_present:
                present_for_discipline += 1
        else:
            row["hadir"] += 1
            present_for_discipline += 1
            for c in codes:
                if c != "H":
                    row[c] = row.get(c, 0) + 1
        row["menit_terlambat"] += d.late_min
        row["menit_pulang_cepat"] += d.early_min
        pct += dec(d.pct)
    row["kjk_menit"] = row["menit_terlambat"] + row["menit_pulang_cepat"]
    cap = dec(rs.deductions.monthly_cap_pct)
    capped = min(cap, pct)
    row["potongan_pct"] = float(pct)
    row["potongan_disiplin_pct"] = float(capped)
    row["persen_kehadiran"] = float((Decimal(present_for_discipline) * 100 / row["hari_kerja"]).quantize(
        Decimal("0.01"), rounding=ROUND_HALF_UP)) if row["hari_kerja"] else 0.0
    row["tpp_pagu"] = int(e.monthly_tpp or 0)
    row["potongan_rp"] = rupiah(row["tpp_pagu"], capped)
    row["tpp_diterima"] = row["tpp_pagu"] - row["potongan_rp"]
    row["ruleset"] = rs.label
    return row


def totals(rows: Sequence[dict[str, Any]], columns: Sequence[Column]) -> dict[str, Any]:
    keys = summed(columns)
    return {k: sum(r.get(k, 0) for r in rows) for k in keys}


def office_totals(rows: Sequence[dict[str, Any]], columns: Sequence[Column]) -> list[dict[str, Any]]:
    """Sums per OPD (LB.1), in the order the offices first appear."""
    keys = summed(columns)
    out: dict[str, dict[str, Any]] = {}
    for r in rows:
        o = out.setdefault(r["opd"], {"opd": r["opd"], "pegawai": 0, **dict.fromkeys(keys, 0)})
        o["pegawai"] += 1
        for k in keys:
            o[k] += r.get(k, 0)
    return list(out.values())


def figures_hash(rows: Sequence[dict[str, Any]], days: dict[int, list[Day]], columns: Sequence[Column]) -> str:
    """SHA-256 of what a reviewer sees: every column of every row, every day's code and %."""
    keys = [c.key for c in columns]
    doc = {
        "columns": keys,
        "rows": [[r.get("employee_id"), *(r.get(k, 0) for k in keys)] for r in
                 sorted(rows, key=lambda r: r.get("employee_id", 0))],
        "days": [[emp, d.day.isoformat(), d.status, repr(round(float(d.pct), 4))]
                 for emp in sorted(days) for d in days[emp]],
    }
    return hashlib.sha256(json.dumps(doc, sort_keys=True, separators=(",", ":"),
                                     default=str).encode()).hexdigest()
