"""What every CLI command shares: the console, the store, output formats and errors."""

from __future__ import annotations

import csv
import io
import json
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import date, datetime
from enum import StrEnum
from typing import Any, NoReturn

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from hub.i18n import tr
from hub.spreadsheet import csv_safe
from hub.store.db import get_engine, head_revision, is_initialised, session_scope

console = Console()
err_console = Console(stderr=True)


class OutputFormat(StrEnum):
    table = "table"
    csv = "csv"
    json = "json"


def fail(message: str, hint: str | None = None, code: int = 1) -> NoReturn:
    err_console.print(f"[bold red]{tr('Galat', 'Error')}:[/] {message}")
    if hint:
        err_console.print(f"[yellow]{tr('Langkah berikutnya', 'Next step')}:[/] {hint}")
    raise typer.Exit(code)


def engine() -> Engine:
    eng = get_engine()
    if not is_initialised(eng):
        fail(tr("basis data belum disiapkan.", "the database is not set up yet."),
             tr("jalankan `hub db upgrade` terlebih dahulu.", "run `hub db upgrade` first."))
    return eng


@contextmanager
def store() -> Iterator[Session]:
    with session_scope(engine()) as session:
        yield session


def ensure_store() -> Engine:
    """Create or upgrade the store if needed (used by commands that run the hub)."""
    from hub.store.db import current_revision, upgrade

    eng = get_engine()
    if current_revision(eng) != head_revision():
        upgrade()
    return eng


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat(sep=" ") if isinstance(value, datetime) else value.isoformat()
    return value


def emit(rows: Sequence[dict[str, Any]], columns: Sequence[str], fmt: OutputFormat,
         title: str | None = None, headers: dict[str, str] | None = None) -> None:
    """Print rows as a Rich table, CSV or JSON (machine formats go to stdout verbatim)."""
    if fmt == OutputFormat.json:
        sys.stdout.write(json.dumps([{c: _plain(r.get(c)) for c in columns} for r in rows],
                                    ensure_ascii=False, indent=1) + "\n")
        return
    if fmt == OutputFormat.csv:
        buf = io.StringIO()
        writer = csv.writer(buf)
        writer.writerow(columns)
        for r in rows:
            writer.writerow(["" if r.get(c) is None else csv_safe(_plain(r.get(c))) for c in columns])
        sys.stdout.write(buf.getvalue())
        return
    table = Table(title=title)
    for c in columns:
        table.add_column((headers or {}).get(c, c))
    for r in rows:
        table.add_row(*["" if r.get(c) is None else str(_plain(r.get(c))) for c in columns])
    console.print(table)
    console.print(tr(f"{len(rows)} baris", f"{len(rows)} rows"), style="dim")


def audit(session: Session, actor: str, action: str, entity: str, entity_id: Any,
          **details: Any) -> None:
    from hub.store.models import AuditLog

    session.add(AuditLog(actor=actor, action=action, entity=entity,
                         entity_id=None if entity_id is None else str(entity_id),
                         details={k: _plain(v) for k, v in details.items()}))


def cli_actor() -> str:
    import getpass

    try:
        return f"cli:{getpass.getuser()}"
    except Exception:  # noqa: BLE001 - no user database in some containers
        return "cli"
