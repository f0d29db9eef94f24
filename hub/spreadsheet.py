"""Texts that go into files a spreadsheet opens (CSV, XLSX): never run as formulas.

A text starting with = + - @ (or a tab or CR) is a formula to Excel and LibreOffice, and
names reach the hub from imports anyone can edit (`=HYPERLINK(...)` as an employee's
name). CSV cells get a leading apostrophe (OWASP, CSV injection); XLSX cells stay text.
"""

from __future__ import annotations

from typing import Any

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def looks_like_formula(value: Any) -> bool:
    return isinstance(value, str) and value.startswith(FORMULA_START)


def csv_safe(value: Any) -> Any:
    return "'" + value if looks_like_formula(value) else value
