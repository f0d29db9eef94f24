"""The hub against an oracle of our own (tests/recap_oracle.py), and every output of the hub
against every other: a generated month with anomalies goes into the store through the hub's
ingest, review and decision paths; the daily statuses and the recap must equal the reference
computation exactly, and the console page (parsed HTML), the API, CSV, XLSX and the PDF
(rendered to PNG and read back as text) must carry the same figures for every employee and
column. On SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import httpx
import pytest
from openpyxl import load_workbook
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from hub.config import Settings
from hub.reconcile.period import month_figures
from hub.web.app import create_app
from tests.recap_oracle import MONTH, expected, expected_recap, generate, seed_store
from tests.web_fixtures import LiveServer, login

MONTH_TEXT = f"{MONTH:%Y-%m}"


@pytest.fixture
def oracle_store(engine: Engine):  # type: ignore[no-untyped-def]
    sc = generate()
    emps = seed_store(engine, sc)
    return engine, sc, emps


def test_hub_matches_the_oracle(oracle_store) -> None:  # type: ignore[no-untyped-def]
    engine, sc, emps = oracle_store
    want = expected(sc)
    with Session(engine) as s:
        fig = month_figures(s, MONTH)
    got = {p.key: {d.day: (d.status, round(d.pct, 4), d.late_min, d.early_min)
                   for d in fig.days.get(emps[p.key], []) if d.status not in ("LIBUR", "CBER")}
           for p in sc.people}
    mismatches = [(k, d, want[k].get(d), got[k].get(d)) for k in want
                  for d in sorted(set(want[k]) | set(got[k])) if want[k].get(d) != got[k].get(d)]
    assert mismatches == []
    # The scenario reaches every rule it is meant to: each of these happens at least once.
    statuses = {v[0] for days in want.values() for v in days.values()}
    assert {"H", "TK", "TD", "TV", "TAP", "TAM+PSW4", "TL4+TAP", "CT", "I", "CS", "DL", "PSW1"} <= statuses
    assert any(s.startswith("TL2") for s in statuses) and any("PSW2" in s for s in statuses)
    rows = {r["employee_id"]: r for r in fig.rows}
    for p in sc.people:
        row, ref = rows[emps[p.key]], expected_recap(sc)[p.key]
        for key, value in ref.items():
            assert row[key] == value, (p.key, key, row[key], value)
        for key in ("TK", "TD", "TV", "TAM", "TAP", "hadir"):
            assert row[key] == ref.get(key, 0), (p.key, key)


# --- every output carries the same figures ------------------------------------------------


class _Table(HTMLParser):
    """The recap table of the page: employee id -> {column key: cell text}."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: dict[int, dict[str, str]] = {}
        self._emp: int | None = None
        self._key: str | None = None
        self._in_table = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "table" and a.get("id") == "recap":
            self._in_table = True
        elif self._in_table and tag == "tr" and a.get("data-employee"):
            self._emp = int(a["data-employee"] or 0)
            self.rows[self._emp] = {}
        elif self._emp is not None and tag == "td" and a.get("data-key"):
            self._key = a["data-key"]
            self.rows[self._emp][self._key] = ""

    def handle_endtag(self, tag: str) -> None:
        if tag == "td":
            self._key = None
        elif tag == "tr":
            self._emp = None
        elif tag == "table":
            self._in_table = False

    def handle_data(self, data: str) -> None:
        if self._emp is not None and self._key is not None:
            self.rows[self._emp][self._key] += data.strip()


def _id_number(text: str, kind: str) -> float:
    """Indonesian figures back to numbers: 1.234.567 and 1,25."""
    text = text.strip()
    if kind == "pct":
        return float(text.replace(".", "").replace(",", ".")) if text else 0.0
    return float(text.replace(".", "")) if text else 0.0


def _pdf_rows(pdf: bytes, columns: list[str], kinds: dict[str, str], tmp: Path) -> dict[str, dict[str, float]]:
    """NIP -> {column: value} from the PDF's text (pdftotext -layout)."""
    path = tmp / "rekap.pdf"
    path.write_bytes(pdf)
    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], check=True, capture_output=True,
                          text=True).stdout
    figures = [c for c in columns if c not in ("no", "nip", "nama")]
    out = {}
    for line in text.splitlines():
        m = re.match(r"^\s*(\d+)\s+(\d{18})\s+(.*)$", line)
        if not m:
            continue
        tokens = m.group(3).split()
        values = tokens[-len(figures):]
        out[m.group(2)] = {c: _id_number(v, kinds[c]) for c, v in zip(figures, values, strict=True)}
    return out


@pytest.fixture
def oracle_server(oracle_store, settings: Settings):  # type: ignore[no-untyped-def]
    from hub.store.db import session_scope
    from hub.web import auth as web_auth
    from hub.web.auth import add_user, new_api_token
    from tests import web_fixtures  # noqa: F401 - cheap password hashing for test users

    engine, sc, emps = oracle_store
    with session_scope(engine) as s:
        user = add_user(s, "bpkad1", "kata-sandi-uji", "auditor")
        token = new_api_token(s, user, "tests")
    assert web_auth._hasher is not None
    with LiveServer(create_app(settings)) as srv:
        yield srv, token, sc, emps


@pytest.mark.parametrize("office", ["OPD-A", "OPD-B"])
def test_page_api_csv_xlsx_pdf_carry_the_same_figures(oracle_server, office: str, tmp_path: Path) -> None:
    if not shutil.which("pdftotext") or not shutil.which("pdftoppm"):
        pytest.fail("poppler-utils (pdftotext, pdftoppm) must be installed: ./run installs it")
    srv, token, sc, emps = oracle_server
    params = {"site": office, "month": MONTH_TEXT}
    with httpx.Client(base_url=srv.url, headers={"Authorization": f"Bearer {token}"}, timeout=60) as c, \
            httpx.Client(base_url=srv.url, timeout=60) as b:
        api = c.get("/api/recap", params=params).json()
        login(b, "bpkad1", "kata-sandi-uji")
        page = b.get("/recap", params=params).text
        csv_text = b.get("/recap/export.csv", params=params).content.decode("utf-8-sig")
        xlsx = b.get("/recap/export.xlsx", params=params).content
        pdf = b.get("/recap/export.pdf", params=params).content
    columns = {col["key"]: col for col in api["columns"]}
    kinds = {k: col["kind"] for k, col in columns.items()}
    numeric = [k for k, kind in kinds.items() if kind in ("count", "minutes", "pct", "rupiah")]
    rows = api["rows"]
    assert len(rows) == sum(1 for p in sc.people if p.office == office[-1])
    # A reference value for every employee and numeric column: the API's.
    ref = {r["nip"]: {k: float(r[k]) for k in numeric} for r in rows}
    by_emp = {r["employee_id"]: r["nip"] for r in rows}

    parser = _Table()
    parser.feed(page)
    html = {by_emp[e]: {k: _id_number(v, kinds[k]) for k, v in cells.items() if k in numeric}
            for e, cells in parser.rows.items()}
    assert html == ref

    parsed = list(csv.DictReader(io.StringIO(csv_text)))
    assert [p["nip"] for p in parsed] == [r["nip"] for r in rows]
    assert {p["nip"]: {k: float(p[k]) for k in numeric} for p in parsed} == ref

    ws = load_workbook(io.BytesIO(xlsx))["Rekap Pegawai"]
    sheet = list(ws.iter_rows(values_only=True))
    header_at = next(i for i, r in enumerate(sheet) if r[0] == "No")
    keys = [next(k for k, col in columns.items() if col["header"] == h) for h in sheet[header_at]]
    body = [dict(zip(keys, r, strict=True)) for r in sheet[header_at + 1:] if isinstance(r[0], int)]
    assert {r["nip"]: {k: float(r[k]) for k in numeric} for r in body} == ref

    # The PDF: rendered (every page becomes an image) and read back as text.
    subprocess.run(["pdftoppm", "-r", "50", "-png", "-", str(tmp_path / "page")], input=pdf, check=True)
    pages = sorted(tmp_path.glob("page*.png"))
    assert pages and all(p.stat().st_size > 2000 for p in pages)
    from hub.reconcile.pdf import payload_of

    payload = payload_of(pdf)
    assert payload and payload["sha256"] == api["sha256"] and payload["site"] == office
    pdf_rows = _pdf_rows(pdf, payload["columns"], kinds, tmp_path)
    assert set(pdf_rows) == set(ref)
    for nip, values in pdf_rows.items():
        assert values == {k: ref[nip][k] for k in values}, nip
    # Every column the PDF leaves out is 0 for everyone.
    left_out = set(numeric) - set(payload["columns"])
    assert all(ref[nip][k] == 0 for nip in ref for k in left_out)
    text = subprocess.run(["pdftotext", "-", "-"], input=pdf, capture_output=True, check=True).stdout.decode()
    assert text.count(f"Kode dokumen: {api['sha256'][:32]}") == len(pages)  # on every page
    assert json.loads(json.dumps(api["totals"]))["potongan_rp"] == sum(r["potongan_rp"] for r in rows)
