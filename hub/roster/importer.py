"""Import employees from SIMPEG/SIASN exports (CSV or XLSX).

A bad row is reported with its row number (as the spreadsheet shows it) and the reason;
valid rows are imported; each row is applied whole or not at all (a savepoint per row);
importing the same file again changes nothing.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.roster.identity import (
    IdentityError,
    clean,
    validate_identity,
    validate_ni_pppk,
    validate_nip,
)
from hub.store.models import Employee, Site

# Header aliases seen in SIMPEG/SIASN/e-presensi exports, normalised (upper, single spaces).
ALIASES: dict[str, tuple[str, ...]] = {
    "id_number": ("NIP", "NIP BARU", "NIP/NI PPPK", "NIP/NIPPPK", "NI PPPK", "NIPPPK", "NIK PEGAWAI",
                  "NO INDUK", "NOMOR INDUK", "ID PEGAWAI", "KODE PEGAWAI", "ID NUMBER"),
    "name": ("NAMA", "NAMA LENGKAP", "NAMA PEGAWAI", "NAME"),
    "employment_type": ("STATUS", "STATUS PEGAWAI", "JENIS PEGAWAI", "JENIS ASN", "KEDUDUKAN",
                        "EMPLOYMENT TYPE", "TYPE"),
    "site": ("OPD", "KODE OPD", "UNIT KERJA", "KODE UNIT", "UNOR", "SATUAN KERJA", "SATKER",
             "PERANGKAT DAERAH", "SITE", "OFFICE"),
    "position": ("JABATAN", "NAMA JABATAN", "POSITION"),
    "grade": ("GOLONGAN", "GOL", "GOL/RUANG", "GOL. RUANG", "PANGKAT/GOL", "KELAS JABATAN", "GRADE"),
    "monthly_tpp": ("TPP", "PAGU TPP", "TPP PAGU", "MONTHLY TPP"),
    "joined_on": ("TMT", "TMT CPNS", "TMT PPPK", "TMT JABATAN", "JOINED ON"),
    "left_on": ("TMT BERHENTI", "TANGGAL KELUAR", "TGL KELUAR", "LEFT ON"),
}
TYPE_WORDS = {
    "PNS": "pns", "CPNS": "cpns", "PPPK": "pppk", "P3K": "pppk",
    "PPPK PARUH WAKTU": "pppk_pw", "PPPK PW": "pppk_pw", "PPPK-PW": "pppk_pw",
    "NON ASN": "non_asn", "NON-ASN": "non_asn", "HONORER": "honorer", "TENAGA HONORER": "honorer",
    "TKS": "tks", "TENAGA KERJA SUKARELA": "tks", "SUKARELA": "tks", "PTT": "non_asn",
    "THL": "non_asn", "TKK": "non_asn", "KONTRAK": "non_asn",
}


class ImportFileError(ValueError):
    """The file as a whole cannot be read (format, header)."""


@dataclass
class RowError:
    row: int
    reason: str


@dataclass
class ImportResult:
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[RowError] = field(default_factory=list)
    unrecognised_columns: list[str] = field(default_factory=list)  # headers the importer did not use
    site_column: str | None = None  # the header the offices were read from
    unknown_sites: Counter[str] = field(default_factory=Counter)  # office value -> rows

    @property
    def imported(self) -> int:
        return self.created + self.updated + self.unchanged


def _norm(header: Any) -> str:
    # "unit_kerja", "Unit  Kerja" and "UNIT KERJA" are the same header.
    return re.sub(r"\s+", " ", str(header or "").replace("_", " ").strip().upper())


@dataclass
class Header:
    """What the header row said: the columns used and the ones left unread."""

    names: list[str] = field(default_factory=list)
    mapping: dict[int, str] = field(default_factory=dict)

    @property
    def unrecognised(self) -> list[str]:
        return [h for i, h in enumerate(self.names) if h and i not in self.mapping]

    def column_of(self, key: str) -> str | None:
        return next((self.names[i] for i, k in self.mapping.items() if k == key), None)


def read_rows(path: Path, header_out: Header | None = None, site_column: str | None = None
              ) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield (spreadsheet row number, {canonical field: value}) for every data row.

    `site_column` names the office column when its header is not one the importer knows;
    `header_out` receives the header row as it was understood."""
    raw = sheet_rows(path)
    header: list[str] | None = None
    mapping: dict[int, str] = {}
    first_number: int | None = None
    for number, values in raw:
        if header is None:
            # Exports often put a title or the office name above the header row: the
            # header is the first row (of the first 20) naming both NIP and NAMA.
            if not any(str(v or "").strip() for v in values):
                continue
            first_number = first_number or number
            candidate = _header_mapping([_norm(v) for v in values], site_column)
            if {"id_number", "name"} <= set(candidate.values()):
                header, mapping = [_norm(v) for v in values], candidate
                if header_out is not None:
                    header_out.names, header_out.mapping = header, mapping
            elif number - first_number >= 20:
                break
            continue
        if not any(str(v or "").strip() for v in values):
            continue
        yield number, {key: values[idx] if idx < len(values) else None
                       for idx, key in mapping.items()}
    if header is None:
        if first_number is None:
            raise ImportFileError("berkas kosong: tidak ada baris judul")
        raise ImportFileError(
            "baris judul tidak ditemukan: tidak ada baris yang memuat kolom NIP dan NAMA")


def sheet_rows(path: Path) -> Iterator[tuple[int, list[Any]]]:
    """(row number as the spreadsheet shows it, cells) of a CSV or XLSX file."""
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xlsm"):
        return _xlsx_rows(path)
    if suffix in (".csv", ".txt"):
        return _csv_rows(path)
    raise ImportFileError(f"format berkas '{path.suffix}' tidak didukung: gunakan .csv atau .xlsx")


def _header_mapping(header: list[str], site_column: str | None = None) -> dict[int, str]:
    mapping: dict[int, str] = {}
    wanted = _norm(site_column) if site_column else None
    if wanted and wanted in header:
        mapping[header.index(wanted)] = "site"
    for idx, h in enumerate(header):
        if idx in mapping:
            continue
        for key, names in ALIASES.items():
            if h in names and key not in mapping.values():
                mapping[idx] = key
    return mapping


def _csv_rows(path: Path) -> Iterator[tuple[int, list[Any]]]:
    data = path.read_bytes()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        # Older Excel "CSV" exports are Windows-1252; latin-1 decodes anything left.
        try:
            text = data.decode("cp1252")
        except UnicodeDecodeError:
            text = data.decode("latin-1")
    sample = text[:4096]
    try:
        dialect = csv.Sniffer().sniff(sample, delimiters=",;\t|")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(text), dialect)
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise ImportFileError(f"CSV rusak di baris {reader.line_num}: {exc}") from exc
        yield reader.line_num, row


def _xlsx_rows(path: Path) -> Iterator[tuple[int, list[Any]]]:
    from openpyxl import load_workbook

    try:
        wb = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # noqa: BLE001 - openpyxl raises many kinds
        raise ImportFileError(f"berkas XLSX tidak dapat dibaca: {exc}") from exc
    ws = wb.worksheets[0]
    for number, row in enumerate(ws.iter_rows(values_only=True), start=1):
        yield number, list(row)
    wb.close()


def _date(value: Any, label: str) -> date | None:
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = str(value).strip()
    for fmt in ("%Y-%m-%d", "%d-%m-%Y", "%d/%m/%Y", "%d.%m.%Y"):
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise ValueError(f"{label} '{text}' bukan tanggal (gunakan YYYY-MM-DD atau DD-MM-YYYY)")


def _type(value: Any, number: str) -> str:
    word = _norm(value)
    if word:
        if word in TYPE_WORDS:
            return TYPE_WORDS[word]
        if word.lower() in TYPE_WORDS.values():
            return word.lower()
        raise ValueError(f"status pegawai '{value}' tidak dikenal (PNS, CPNS, PPPK, PPPK PARUH "
                         f"WAKTU, TKS, HONORER, NON ASN)")
    digits = clean(number)
    for kind, check in (("pns", validate_nip), ("pppk", validate_ni_pppk)):
        try:
            check(digits)
            return kind
        except IdentityError:
            continue
    return "non_asn"


def _number_text(value: Any) -> str:
    # Excel keeps an 18-digit NIP typed as a number as a float and loses digits;
    # integers survive, floats are refused with a hint.
    if isinstance(value, float):
        if value.is_integer() and value < 2**53:
            return str(int(value))
        raise ValueError("NIP tersimpan sebagai angka di Excel dan digitnya hilang; "
                         "format kolom NIP sebagai Teks lalu ekspor ulang")
    return str(value if value is not None else "").strip()


def parse_row(values: dict[str, Any], sites: dict[str, int]) -> dict[str, Any]:
    number = _number_text(values.get("id_number"))
    if not number:
        raise ValueError("NIP/nomor induk kosong")
    kind = _type(values.get("employment_type"), number)
    try:
        id_number = validate_identity(number, kind)
    except IdentityError as exc:
        raise ValueError(str(exc)) from exc
    name = re.sub(r"\s+", " ", str(values.get("name") or "")).strip()
    if not name:
        raise ValueError("nama kosong")
    if len(name) > 200:
        raise ValueError("nama lebih dari 200 karakter")
    site_id = None
    site_ref = str(values.get("site") or "").strip()
    if site_ref:
        site_id = sites.get(site_ref.upper())
        if site_id is None:
            raise ValueError(f"OPD/unit '{site_ref}' belum terdaftar (tambahkan dengan `hub site add`)")
    tpp = values.get("monthly_tpp")
    if tpp in (None, ""):
        tpp_value = None
    else:
        try:
            tpp_value = int(float(str(tpp).replace(".", "").replace(",", "")))
        except ValueError as exc:
            raise ValueError(f"TPP '{tpp}' bukan angka") from exc
    left_on = _date(values.get("left_on"), "tanggal keluar")
    return {
        "id_number": id_number, "employment_type": kind, "name": name, "site_id": site_id,
        "position": (str(values.get("position")).strip() or None) if values.get("position") else None,
        "grade": (str(values.get("grade")).strip() or None) if values.get("grade") else None,
        "monthly_tpp": tpp_value,
        "joined_on": _date(values.get("joined_on"), "TMT"),
        "left_on": left_on,
        "active": left_on is None or left_on > date.today(),
    }


def _site_keys(session: Session) -> dict[str, int]:
    sites: dict[str, int] = {}
    for site in session.scalars(select(Site)):
        sites[site.code.upper()] = site.id
        sites.setdefault(site.name.upper(), site.id)
    return sites


def _parsed(session: Session, path: Path, site_column: str | None, require_site: bool, result: ImportResult
            ) -> Iterator[tuple[int, dict[str, Any]]]:
    """The file's rows parsed (number, employee fields); rows that cannot be taken go to
    `result.errors` with their reason. Refuses a file whose office column cannot be found
    (everyone would land under no office) unless `site_column` names it or `require_site` is False."""
    sites = _site_keys(session)
    seen: dict[str, int] = {}
    header = Header()
    rows = read_rows(path, header, site_column)
    first = next(rows, None)
    if site_column and _norm(site_column) not in header.names and header.names:
        raise ImportFileError(f"kolom '{site_column}' tidak ada di baris judul (kolom: {', '.join(header.names)})")
    if require_site and header.names and header.column_of("site") is None:
        raise ImportFileError(
            f"kolom OPD/unit kerja tidak ditemukan di baris judul (kolom: {', '.join(header.names)}); "
            "sebutkan kolomnya dengan --site-column NAMA, atau --no-site bila memang tanpa kantor")
    result.unrecognised_columns = header.unrecognised
    result.site_column = header.column_of("site")
    for number, values in ([first] if first is not None else []) + list(rows):
        result.rows += 1
        try:
            data = parse_row(values, sites)
            if data["id_number"] in seen:
                raise ValueError(f"NIP {data['id_number']} sudah ada di baris {seen[data['id_number']]}")
        except ValueError as exc:
            result.errors.append(RowError(number, str(exc)))
            if "belum terdaftar" in str(exc):
                result.unknown_sites[str(values.get("site") or "").strip()] += 1
            continue
        seen[data["id_number"]] = number
        yield number, data


def import_employees(session: Session, path: Path, *, site_column: str | None = None,
                     require_site: bool = True) -> ImportResult:
    """Import the rows of a SIMPEG/SIASN export; reports headers it did not read and offices
    it does not know (see _parsed for the file's rules)."""
    result = ImportResult()
    for number, data in _parsed(session, path, site_column, require_site, result):
        try:
            with session.begin_nested():
                outcome = _upsert(session, data)
        except ValueError as exc:
            result.errors.append(RowError(number, str(exc)))
            continue
        setattr(result, outcome, getattr(result, outcome) + 1)
    return result


@dataclass
class Change:
    """What one row of the file would do to the roster."""

    row: int
    id_number: str
    name: str
    kind: str  # joiner | leaver | transfer | update | unchanged
    site_before: int | None = None
    site_after: int | None = None
    fields: list[str] = field(default_factory=list)  # the fields that would change


@dataclass
class Preview:
    result: ImportResult
    changes: list[Change]
    not_in_file: int  # active employees the file does not name (left alone)
    digest: str  # of the changes: what a confirmation applies is what was seen

    def count(self, kind: str) -> int:
        return sum(1 for c in self.changes if c.kind == kind)

    @property
    def counts(self) -> dict[str, int]:
        return {k: self.count(k) for k in ("joiner", "leaver", "transfer", "update", "unchanged")}


def preview_import(session: Session, path: Path, *, site_column: str | None = None,
                   require_site: bool = True) -> Preview:
    """What importing the file would change, row by row, without writing anything: joiners,
    leavers (a leaving date reached), transfers (another office), other updates, unchanged
    rows and the rows refused with their reasons."""
    result = ImportResult()
    parsed = list(_parsed(session, path, site_column, require_site, result))
    known = {e.id_number: e for e in session.scalars(select(Employee))}  # (no IN list of thousands)
    changes = []
    for number, data in parsed:
        emp = known.get(data["id_number"])
        if emp is None:
            kind = "leaver" if not data["active"] else "joiner"
            changes.append(Change(number, data["id_number"], data["name"], kind, None, data["site_id"],
                                  sorted(k for k, v in data.items() if v not in (None, ""))))
            result.created += 1
            continue
        diff = sorted(k for k, v in data.items() if getattr(emp, k) != v)
        if not diff:
            kind = "unchanged"
        elif "active" in diff and not data["active"]:
            kind = "leaver"
        elif "site_id" in diff:
            kind = "transfer"
        else:
            kind = "update"
        changes.append(Change(number, data["id_number"], data["name"], kind, emp.site_id, data["site_id"], diff))
        if kind == "unchanged":
            result.unchanged += 1
        else:
            result.updated += 1
    named = {d["id_number"] for _, d in parsed}
    active = {n for n, e in known.items() if e.active}
    doc = json.dumps([[c.row, c.id_number, c.kind, c.site_before, c.site_after, c.fields] for c in changes]
                     + [[e.row, e.reason] for e in result.errors], sort_keys=True, default=str)
    return Preview(result, changes, len(active - named), hashlib.sha256(doc.encode()).hexdigest())


def _upsert(session: Session, data: dict[str, Any]) -> str:
    emp = session.scalar(select(Employee).where(Employee.id_number == data["id_number"]))
    if emp is None:
        session.add(Employee(**data))
        session.flush()
        return "created"
    changed = False
    for key, value in data.items():
        if getattr(emp, key) != value:
            setattr(emp, key, value)
            changed = True
    if changed:
        session.flush()
        return "updated"
    return "unchanged"
