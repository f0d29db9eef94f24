"""Bulk leave from a file (CSV/XLSX) as BKPSDM keeps it: NIP, from, to, kind, letter number.

Each row is recorded whole or not at all, with the same checks as `hub leave add` (the kind
exists in the employee's ruleset, the dates make sense, no frozen month is touched); a bad
row is reported with its spreadsheet row number and the reason; importing the same file
again records nothing twice.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.reconcile.errors import ReconcileError
from hub.reconcile.leave import add_leave
from hub.reconcile.models import LeaveEntry
from hub.roster.identity import clean
from hub.roster.importer import ImportFileError, RowError, _date, _norm, sheet_rows
from hub.store.models import Employee

ALIASES: dict[str, tuple[str, ...]] = {
    "nip": ("NIP", "NIP BARU", "NIP/NI PPPK", "NI PPPK", "NOMOR INDUK", "ID NUMBER"),
    "start": ("DARI", "MULAI", "TANGGAL MULAI", "TGL MULAI", "DARI TANGGAL", "FROM", "START"),
    "end": ("SAMPAI", "SELESAI", "TANGGAL SELESAI", "TGL SELESAI", "HINGGA", "SAMPAI TANGGAL", "TO", "END"),
    "kind": ("JENIS", "KODE", "JENIS CUTI", "JENIS IZIN", "KIND", "TYPE"),
    "reference": ("NOMOR SURAT", "NO SURAT", "NO. SURAT", "SURAT", "REFERENSI", "REFERENCE", "LETTER"),
    "note": ("KETERANGAN", "CATATAN", "NOTE"),
}
REQUIRED = ("nip", "start", "kind")


@dataclass
class LeaveImportResult:
    rows: int = 0
    created: int = 0
    already: int = 0
    errors: list[RowError] = field(default_factory=list)
    unrecognised_columns: list[str] = field(default_factory=list)


def _rows(path: Path) -> tuple[list[str], dict[int, str], list[tuple[int, dict[str, Any]]]]:
    raw = sheet_rows(path)
    header: list[str] = []
    mapping: dict[int, str] = {}
    out: list[tuple[int, dict[str, Any]]] = []
    for number, values in raw:
        if not any(str(v or "").strip() for v in values):
            continue
        if not mapping:
            names = [_norm(v) for v in values]
            found = {i: key for i, h in enumerate(names) for key, al in ALIASES.items() if h in al}
            if set(REQUIRED) <= set(found.values()):
                header, mapping = names, found
            continue
        out.append((number, {key: values[i] if i < len(values) else None for i, key in mapping.items()}))
    if not mapping:
        raise ImportFileError("baris judul tidak ditemukan: butuh kolom NIP, DARI (tanggal mulai) dan JENIS; "
                              "opsional SAMPAI, NOMOR SURAT, KETERANGAN")
    return header, mapping, out


def import_leave(session: Session, path: Path, author: str) -> LeaveImportResult:
    header, mapping, rows = _rows(path)
    result = LeaveImportResult(unrecognised_columns=[h for i, h in enumerate(header) if h and i not in mapping])
    nips = {clean(str(v.get("nip") or "")) for _, v in rows}
    emps = dict(session.execute(select(Employee.id_number, Employee.id).where(Employee.id_number.in_(nips))).all())
    for number, values in rows:
        result.rows += 1
        try:
            nip = clean(str(values.get("nip") or ""))
            emp = emps.get(nip)
            if emp is None:
                raise ValueError(f"NIP '{nip}' tidak dikenal (impor pegawai dahulu)")
            start = _date(values.get("start"), "tanggal mulai")
            end = _date(values.get("end"), "tanggal selesai") or start
            if start is None:
                raise ValueError("tanggal mulai kosong")
            kind = str(values.get("kind") or "").strip().upper()
            reference = str(values.get("reference") or "").strip()[:200]
            note = str(values.get("note") or "").strip()
            exists = session.scalar(select(LeaveEntry.id).where(
                LeaveEntry.employee_id == emp, LeaveEntry.date_from == start, LeaveEntry.date_to == end,
                LeaveEntry.type == kind, LeaveEntry.reference == reference))
            if exists is not None:
                result.already += 1
                continue
            with session.begin_nested():
                add_leave(session, employee_id=emp, start=start, end=end, type=kind, author=author,
                          reference=reference, note=note)
        except (ValueError, ReconcileError) as exc:
            result.errors.append(RowError(number, str(exc)))
            continue
        result.created += 1
    return result
