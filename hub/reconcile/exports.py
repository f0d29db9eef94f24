"""The recap as files for BKPSDM/BPKAD: CSV (for uploads) and XLSX (for review), both from
one MonthFigures, so they carry the numbers the console shows."""

from __future__ import annotations

import csv
import io
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter

from hub.reconcile.period import MonthFigures
from hub.reconcile.recap import DAY_NAMES, Column, month_label
from hub.spreadsheet import csv_safe, looks_like_formula

PCT_FORMAT = '0.00##"%"'
RUPIAH_FORMAT = '"Rp"#,##0'
COUNT_FORMAT = "0"


def _row(ws: Any, values: list[Any]) -> None:
    """Append a row; texts that look like formulas stay texts (XLSX has a string type)."""
    ws.append(values)
    if any(looks_like_formula(v) for v in values):
        for cell in ws[ws.max_row]:
            if looks_like_formula(cell.value):
                cell.data_type = "s"


def csv_bytes(fig: MonthFigures) -> bytes:
    """One header line of column keys, one line per employee; UTF-8 with a BOM so Excel
    opens Indonesian names correctly."""
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow([c.key for c in fig.columns])
    for r in fig.rows:
        w.writerow([csv_safe(_plain(r.get(c.key, ""), c)) for c in fig.columns])
    return buf.getvalue().encode("utf-8-sig")


def _plain(value: Any, col: Column) -> Any:
    if col.kind == "pct" and isinstance(value, float):
        return f"{value:.4f}".rstrip("0").rstrip(".") if value else "0"
    return value


def status_line(fig: MonthFigures) -> str:
    if fig.lock is not None:
        return (f"TERKUNCI oleh {fig.lock.locked_by} pada {fig.lock.locked_at:%d-%m-%Y %H:%M} UTC; "
                f"kode dokumen {fig.sha256[:16]}")
    return f"DRAF: periode belum dikunci, angka dapat berubah; kode {fig.sha256[:16]}"


def scope_name(fig: MonthFigures) -> str:
    return f"{fig.site.name} ({fig.site.code})" if fig.site else "Semua OPD"


def xlsx_bytes(fig: MonthFigures, *, pemda: str = "", daily: bool = True) -> bytes:
    """'Rekap Pegawai' (kop, table, JUMLAH, signature block), 'Rekap OPD', 'Keterangan'
    (every code and its % from the rules in force) and, with `daily`, 'Harian' (LH)."""
    wb = Workbook()
    ws = wb.active
    ws.title = "Rekap Pegawai"
    bold = Font(bold=True)
    thin = Side(style="thin", color="999999")
    box = Border(left=thin, right=thin, top=thin, bottom=thin)
    head_fill = PatternFill("solid", fgColor="DDDDDD")
    titles = [pemda or "PEMERINTAH DAERAH", "REKAPITULASI KEHADIRAN DAN POTONGAN TPP",
              f"{scope_name(fig)} - Bulan {month_label(fig.month)}", status_line(fig)]
    for line in titles:
        _row(ws, [line])
        ws.cell(ws.max_row, 1).font = bold
    _row(ws, [])
    _row(ws, [c.id for c in fig.columns])
    header_row = ws.max_row
    for cell in ws[header_row]:
        cell.font, cell.fill, cell.border = bold, head_fill, box
        cell.alignment = Alignment(wrap_text=True, vertical="center", horizontal="center")
    row_no = header_row
    for r in fig.rows:
        _row(ws, [r.get(c.key, "") for c in fig.columns])
        row_no += 1
        _format_row(ws, row_no, fig.columns, box)
    total = ["JUMLAH" if c.key == "nama" else fig.totals.get(c.key, "") for c in fig.columns]
    _row(ws, total)
    row_no += 1
    _format_row(ws, row_no, fig.columns, box)
    for cell in ws[row_no]:
        cell.font = bold
    _widths(ws, fig.columns, header_row, row_no)
    ws.freeze_panes = ws.cell(header_row + 1, 4)
    _row(ws, [])
    _signatures(ws, fig)

    wo = wb.create_sheet("Rekap OPD")
    keys = ["opd", "pegawai", *[c.key for c in fig.columns if c.key in fig.totals]]
    labels = {c.key: c.id for c in fig.columns}
    _row(wo, [labels.get(k, {"opd": "OPD", "pegawai": "Pegawai"}.get(k, k)) for k in keys])
    for cell in wo[1]:
        cell.font, cell.fill = bold, head_fill
    by_key = {c.key: c for c in fig.columns}
    for n, o in enumerate(fig.offices, 2):
        _row(wo, [o.get(k, "") for k in keys])
        for i, k in enumerate(keys, 1):
            if k in by_key and by_key[k].kind == "rupiah":
                wo.cell(n, i).number_format = RUPIAH_FORMAT
    wo.column_dimensions["A"].width = 40

    wl = wb.create_sheet("Keterangan")
    _row(wl, ["Kode", "Arti", "% TPP per kejadian/hari"])
    for cell in wl[1]:
        cell.font, cell.fill = bold, head_fill
    for n, (code, id_text, _en, pct) in enumerate(fig.legend, 2):
        _row(wl, [code, id_text, pct if pct is not None else 0])
        wl.cell(n, 3).number_format = PCT_FORMAT
    _row(wl, [])
    for line in (
            "Jumlah % potongan = jumlah (banyaknya kode x % kode itu) dari kolom-kolom kode di lembar Rekap Pegawai.",
            "% potongan (maks.) = Jumlah % potongan, dibatasi batas bulanan ruleset; nominal = pagu x % / 100, "
            "dibulatkan ke rupiah terdekat (setengah ke atas).",
            "TAM/TAP: tidak ada punch masuk/pulang pada jendela slotnya; dihargai setara TL/PSW tertinggi.",
            "TD dan TV tidak memotong TPP sampai peninjau memutuskan (terminal tanpa data / bukti diragukan).",
            f"Ruleset: {', '.join(fig.rulesets) or '-'}",
            f"Kode dokumen (SHA-256 angka): {fig.sha256}"):
        _row(wl, [line])
    wl.column_dimensions["A"].width = 12
    wl.column_dimensions["B"].width = 80
    wl.column_dimensions["C"].width = 24

    if daily:
        wd = wb.create_sheet("Harian")
        _row(wd, ["NIP", "Nama", "Tanggal", "Hari", "Masuk", "Pulang", "Status", "Menit terlambat",
                   "Menit pulang cepat", "% potongan", "Sumber", "Shift", "Ruleset"])
        for cell in wd[1]:
            cell.font, cell.fill = bold, head_fill
        who = {r["employee_id"]: (r["nip"], r["nama"]) for r in fig.rows}
        row_no = 1  # openpyxl's max_row walks every cell: count rows here instead
        for emp in sorted(fig.days, key=lambda e: (who.get(e, ("", ""))[1], e)):
            nip, name = who.get(emp, ("", ""))
            for d in fig.days[emp]:
                _row(wd, [nip, name, d.day, DAY_NAMES[d.day.weekday()],
                           d.check_in.strftime("%H:%M:%S") if d.check_in else "",
                           d.check_out.strftime("%H:%M:%S") if d.check_out else "", d.status, d.late_min,
                           d.early_min, d.pct, d.source, d.shift or "", d.ruleset])
                row_no += 1
                wd.cell(row_no, 3).number_format = "DD-MM-YYYY"
                wd.cell(row_no, 10).number_format = PCT_FORMAT
        for col, width in zip("ABCDEFGHIJKLM", (22, 30, 12, 9, 10, 10, 16, 10, 10, 11, 11, 7, 26), strict=True):
            wd.column_dimensions[col].width = width
        wd.freeze_panes = "C2"
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _format_row(ws: Any, row: int, columns: list[Column], box: Border) -> None:
    for i, c in enumerate(columns, 1):
        cell = ws.cell(row, i)
        cell.border = box
        if c.kind == "pct":
            cell.number_format = PCT_FORMAT
        elif c.kind == "rupiah":
            cell.number_format = RUPIAH_FORMAT
        elif c.kind in ("count", "minutes"):
            cell.number_format = COUNT_FORMAT


def _widths(ws: Any, columns: list[Column], header_row: int, last_row: int) -> None:
    for i, c in enumerate(columns, 1):
        longest = max((len(str(ws.cell(r, i).value or "")) for r in range(header_row + 1, last_row + 1)),
                      default=0)
        if c.kind == "text":
            width = min(40, max(8, longest + 2))
        elif c.kind == "rupiah":
            width = max(14, longest + 6)
        else:
            width = max(6, min(12, len(c.id) // 2 + 2))
        ws.column_dimensions[get_column_letter(i)].width = width


def _signatures(ws: Any, fig: MonthFigures) -> None:
    _row(ws, ["", "Diverifikasi oleh", "", "", "", "", "", "", "Mengetahui"])
    _row(ws, ["", "Pengelola Kepegawaian", "", "", "", "", "", "", "Kepala OPD"])
    for _ in range(3):
        _row(ws, [])
    _row(ws, ["", "(................................)", "", "", "", "", "", "", "(................................)"])
    _row(ws, ["", "NIP. ..........................", "", "", "", "", "", "", "NIP. .........................."])
