"""Monthly recap per employee and per office (asn-rules.md §7), from stored daily_status.

`build_recap` returns plain dict rows (the web console renders them); `recap_xlsx` and
`recap_csv` turn them into files for BKPSDM/BPKAD. The TPP deduction is the sum of the
days' percentages, capped by the ruleset's monthly cap, applied to the employee's pagu.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from datetime import date
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Font, PatternFill
from sqlalchemy import Engine, delete, insert, select
from sqlalchemy.orm import Session

from hub.reconcile.models import DailyStatus, RecapRow
from hub.reconcile.rules import DEFAULT_LEAVE
from hub.reconcile.store import RulesResolver, month_bounds, reconcile_period
from hub.store.models import Employee, Site, utcnow

PRESENCE = ("TL1", "TL2", "TL3", "TL4", "PSW1", "PSW2", "PSW3", "PSW4", "TAM", "TAP")
EXCUSED = tuple(DEFAULT_LEAVE)  # CT CS CB CM CAP CLTN DL DIK TB I S
NOT_PRESENT = {"TK", "LIBUR", "CBER", "OFF", *EXCUSED}
# (key, Indonesian header); the key is also the CSV header so files stay machine-readable.
COLUMNS: tuple[tuple[str, str], ...] = (
    ("no", "No"), ("nip", "NIP/NI PPPK"), ("nama", "Nama"), ("status_pegawai", "Status"),
    ("golongan", "Golongan/Kelas jabatan"), ("jabatan", "Jabatan"), ("opd", "OPD"), ("unit", "Unit/UPTD"),
    ("hari_kerja", "Hari kerja efektif"), ("hari_libur", "Hari libur"), ("cuti_bersama", "Cuti bersama"),
    ("H", "Hadir (H)"), *((c, c) for c in PRESENCE),
    ("menit_terlambat", "Total menit terlambat"), ("menit_pulang_cepat", "Total menit pulang cepat"),
    ("kjk_menit", "KJK (menit)"),
    *((c, c) for c in EXCUSED), ("TK", "TK (hari)"),
    ("tpp_pagu", "TPP pagu"), ("potongan_disiplin_pct", "% potongan disiplin"),
    ("potongan_kinerja_pct", "% potongan kinerja"), ("potongan_rp", "Nominal potongan"),
    ("tpp_diterima", "TPP diterima"), ("potongan_lain", "Iuran/potongan lain"),
    ("diverifikasi", "Diverifikasi pengelola kepegawaian"), ("disetujui", "Disetujui kepala OPD"),
    ("tanggal", "Tanggal"),
)
SUMMED = ("hari_kerja", "hari_libur", "cuti_bersama", "H", *PRESENCE, "menit_terlambat",
          "menit_pulang_cepat", "kjk_menit", *EXCUSED, "TK", "tpp_pagu", "potongan_rp", "tpp_diterima")


def _first(month: str | date) -> date:
    return month.replace(day=1) if isinstance(month, date) else month_bounds(month)[0]


def build_recap(session: Session, month: str | date, site_ids: list[int] | None = None) -> list[dict[str, Any]]:
    """One row per employee with stored days in the month, ordered by office then name."""
    first = _first(month)
    _, last = month_bounds(f"{first:%Y-%m}")
    q = select(DailyStatus).where(DailyStatus.day >= first, DailyStatus.day <= last)
    if site_ids is not None:
        q = q.where(DailyStatus.site_id.in_(site_ids))
    by_emp: dict[int, list[DailyStatus]] = defaultdict(list)
    for d in session.scalars(q):
        by_emp[d.employee_id].append(d)
    if not by_emp:
        return []
    sites = {s.id: s for s in session.scalars(select(Site))}
    emps = {e.id: e for e in session.scalars(select(Employee).where(Employee.id.in_(list(by_emp))))}
    resolver = RulesResolver(session)
    rows = []
    for emp_id in sorted(by_emp, key=lambda i: (_opd(sites, emps[i].site_id), emps[i].name, i)):
        e, days = emps[emp_id], by_emp[emp_id]
        row: dict[str, Any] = {k: 0 for k in SUMMED}
        site = sites.get(e.site_id) if e.site_id else None
        row.update(employee_id=e.id, site_id=e.site_id, nip=e.id_number, nama=e.name,
                   status_pegawai=e.employment_type, golongan=e.grade or "", jabatan=e.position or "",
                   opd=_opd(sites, e.site_id), unit=site.name if site else "",
                   potongan_kinerja_pct=0.0, potongan_lain=0, diverifikasi="", disetujui="", tanggal="")
        pct = 0.0
        for d in days:
            codes = d.status.split("+")
            if "LIBUR" in codes:
                row["hari_libur"] += 1
            elif "CBER" in codes:
                row["cuti_bersama"] += 1
            elif "OFF" not in codes:
                row["hari_kerja"] += 1
            if not NOT_PRESENT.intersection(codes):
                row["H"] += 1
            for c in codes:
                if c in row and c not in ("H",):
                    row[c] += 1
            row["menit_terlambat"] += d.late_min
            row["menit_pulang_cepat"] += d.early_min
            pct += d.deduction_pct
        row["kjk_menit"] = row["menit_terlambat"] + row["menit_pulang_cepat"]
        cap = resolver(e.site_id, first).deductions.monthly_cap_pct
        row["potongan_disiplin_pct"] = round(min(cap, pct), 4)
        row["tpp_pagu"] = int(e.monthly_tpp or 0)
        row["potongan_rp"] = round(row["tpp_pagu"] * row["potongan_disiplin_pct"] / 100)
        row["tpp_diterima"] = row["tpp_pagu"] - row["potongan_rp"]
        rows.append(row)
    for i, row in enumerate(rows, 1):
        row["no"] = i
    return rows


def _opd(sites: dict[int, Site], site_id: int | None) -> str:
    """The top-level office (OPD) of a unit."""
    s = sites.get(site_id) if site_id else None
    seen = set()
    while s is not None and s.parent_id and s.parent_id in sites and s.id not in seen:
        seen.add(s.id)
        s = sites[s.parent_id]
    return s.name if s else ""


def office_recap(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Sums per OPD (LB.1), in the order the offices first appear."""
    out: dict[str, dict[str, Any]] = {}
    for r in rows:
        o = out.setdefault(r["opd"], {"opd": r["opd"], "pegawai": 0, **{k: 0 for k in SUMMED}})
        o["pegawai"] += 1
        for k in SUMMED:
            o[k] += r[k]
    return list(out.values())


def totals(rows: list[dict[str, Any]]) -> dict[str, Any]:
    return {k: sum(r[k] for r in rows) for k in SUMMED}


def recap_csv(rows: list[dict[str, Any]]) -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow([k for k, _ in COLUMNS])
    for r in rows:
        w.writerow([r[k] for k, _ in COLUMNS])
    return buf.getvalue().encode("utf-8-sig")  # BOM: Excel opens Indonesian names correctly


DAY_NAMES = ("Senin", "Selasa", "Rabu", "Kamis", "Jumat", "Sabtu", "Minggu")
DETAIL_COLUMNS = ("NIP", "Nama", "Tanggal", "Hari", "Masuk", "Pulang", "Status", "Menit terlambat",
                  "Menit pulang cepat", "% potongan", "Shift", "Ruleset")


def recap_xlsx(rows: list[dict[str, Any]], month: str | date = "", title: str = "",
               daily: list[DailyStatus] | None = None) -> bytes:
    """Workbook: 'Rekap Pegawai' (with a JUMLAH totals row), 'Rekap OPD', and with `daily`
    the day list 'Harian' (LH) behind the totals."""
    wb = Workbook()
    ws = wb.active
    ws.title = "Rekap Pegawai"
    head = Font(bold=True)
    label = f"{_first(month):%Y-%m}" if month else ""
    ws.append([title or f"Rekap absensi dan potongan TPP {label}".strip()])
    ws.append([h for _, h in COLUMNS])
    for cell in ws[2]:
        cell.font = head
        cell.fill = PatternFill("solid", fgColor="DDDDDD")
    for r in rows:
        ws.append([r[k] for k, _ in COLUMNS])
    tot = totals(rows)
    ws.append(["JUMLAH" if k == "nama" else tot.get(k, "") for k, _ in COLUMNS])
    for cell in ws[ws.max_row]:
        cell.font = head
    ws.freeze_panes = "D3"
    ws2 = wb.create_sheet("Rekap OPD")
    keys = ["opd", "pegawai", *SUMMED]
    ws2.append(keys)
    for o in office_recap(rows):
        ws2.append([o[k] for k in keys])
    if daily is not None:
        ws3 = wb.create_sheet("Harian")
        ws3.append(list(DETAIL_COLUMNS))
        who = {r["employee_id"]: (r["nip"], r["nama"]) for r in rows}
        for d in daily:
            nip, name = who.get(d.employee_id, ("", ""))
            ws3.append([nip, name, d.day, DAY_NAMES[d.day.weekday()],
                        d.check_in.strftime("%H:%M:%S") if d.check_in else "",
                        d.check_out.strftime("%H:%M:%S") if d.check_out else "", d.status, d.late_min,
                        d.early_min, d.deduction_pct, d.shift or "", d.ruleset])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def write_month_recap(bind: Engine | Session, month: str | date, site_ids: list[int] | None = None,
                      reconcile_first: bool = True) -> dict[str, Any]:
    """Reconcile the month (locked months stay as they are) and store its recap rows."""
    first = _first(month)
    _, last = month_bounds(f"{first:%Y-%m}")
    own = not isinstance(bind, Session)
    session = Session(bind, expire_on_commit=False) if own else bind
    try:
        if reconcile_first:
            reconcile_period(session, first, last, site_ids)
        rows = build_recap(session, first, site_ids)
        q = delete(RecapRow).where(RecapRow.month == first)
        if site_ids is not None:
            q = q.where(RecapRow.site_id.in_(site_ids))
        session.execute(q)
        now = utcnow()
        if rows:
            session.execute(insert(RecapRow), [
                {"month": first, "employee_id": r["employee_id"], "site_id": r["site_id"], "data": r,
                 "built_at": now} for r in rows])
        if own:
            session.commit()
        return {"month": f"{first:%Y-%m}", "employees": len(rows), **{k: v for k, v in totals(rows).items()
                                                                      if k in ("TK", "potongan_rp")}}
    finally:
        if own:
            session.close()
