"""Identity numbers of Indonesian civil servants (asn-rules.md §4).

NIP (PNS/CPNS): YYYYMMDD YYYYMM G NNN — birth date, TMT CPNS year+month, gender 1/2,
sequence. NI PPPK: YYYYMMDD YYYY CC G NNN — birth date, appointment year, cohort code,
gender, sequence. Both are 18 digits; displays often group them with spaces.
Non-ASN staff (TKS, honorer, PTT, THL) get an internal code.
"""

from __future__ import annotations

import re
from datetime import date

# TKS (tenaga kerja sukarela) and honorer are kept apart from other non-ASN staff (PTT, THL,
# kontrak): several Perbup treat them differently (asn-rules.md §4.5).
EMPLOYMENT_TYPES = ("pns", "cpns", "pppk", "pppk_pw", "tks", "honorer", "non_asn")
_NIP = re.compile(r"^(\d{8})(\d{6})([12])(\d{3})$")
_NI_PPPK = re.compile(r"^(\d{8})(\d{4})(\d{2})([12])(\d{3})$")
_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]{1,31}$")


class IdentityError(ValueError):
    pass


def clean(number: str) -> str:
    """Strip the spaces, dots and dashes used when displaying a NIP."""
    return re.sub(r"[\s.\-]", "", str(number or "")).strip()


def _birth(digits: str) -> date:
    try:
        born = date(int(digits[0:4]), int(digits[4:6]), int(digits[6:8]))
    except ValueError as exc:
        raise IdentityError(f"tanggal lahir {digits[0:8]} tidak valid") from exc
    if not 1940 <= born.year <= date.today().year - 15:
        raise IdentityError(f"tahun lahir {born.year} di luar rentang wajar")
    return born


def validate_nip(number: str) -> str:
    nip = clean(number)
    m = _NIP.match(nip)
    if not m:
        raise IdentityError(
            f"NIP '{number}' harus 18 digit: tgl lahir (8), TMT (6), jenis kelamin 1/2, urutan (3)")
    born = _birth(nip)
    tmt_year, tmt_month = int(nip[8:12]), int(nip[12:14])
    if not 1 <= tmt_month <= 12:
        raise IdentityError(f"bulan TMT {nip[12:14]} pada NIP {nip} tidak valid")
    if tmt_year < born.year + 15 or tmt_year > date.today().year + 1:
        raise IdentityError(f"tahun TMT {tmt_year} pada NIP {nip} tidak masuk akal")
    return nip


def validate_ni_pppk(number: str) -> str:
    ni = clean(number)
    m = _NI_PPPK.match(ni)
    if not m:
        raise IdentityError(f"NI PPPK '{number}' harus 18 digit")
    born = _birth(ni)
    year = int(ni[8:12])
    if year < max(2019, born.year + 15) or year > date.today().year + 1:
        raise IdentityError(f"tahun pengangkatan {year} pada NI PPPK {ni} tidak masuk akal")
    return ni


def validate_identity(number: str, employment_type: str) -> str:
    kind = (employment_type or "").strip().lower()
    if kind not in EMPLOYMENT_TYPES:
        raise IdentityError(
            f"jenis pegawai '{employment_type}' tidak dikenal (pilih: {', '.join(EMPLOYMENT_TYPES)})")
    if kind in ("pns", "cpns"):
        return validate_nip(number)
    if kind in ("pppk", "pppk_pw"):
        return validate_ni_pppk(number)
    code = clean(number) if clean(number).isdigit() else str(number or "").strip()
    if not _CODE.match(code):
        raise IdentityError(f"kode pegawai non-ASN '{number}' tidak valid (2-32 huruf/angka)")
    return code
