"""hub doctor: check a live installation and say what to fix."""

from __future__ import annotations

import json
import sys

import typer
from rich.markup import escape
from rich.table import Table

from hub.cli.common import console
from hub.config import get_settings
from hub.i18n import tr

STYLE = {"ok": "green", "warn": "yellow", "fail": "bold red"}


def doctor(as_json: bool = typer.Option(False, "--json", help="keluaran JSON untuk pemantauan")) -> None:
    """Periksa instalasi: basis data, migrasi, kunci, broker, TLS, disk, jam, cadangan, terminal."""
    from hub.service.doctor import FAIL, as_dict, diagnose  # noqa: PLC0415

    with console.status(tr("Memeriksa instalasi", "Checking the installation")):
        checks = diagnose(get_settings())
    if as_json:
        sys.stdout.write(json.dumps(as_dict(checks), ensure_ascii=False, indent=1) + "\n")
    else:
        table = Table(show_lines=False)
        for col in (tr("pemeriksaan", "check"), tr("hasil", "result"), tr("temuan", "found"),
                    tr("yang perlu dilakukan", "what to do")):
            table.add_column(col, overflow="fold")
        for c in checks:
            table.add_row(c.name, f"[{STYLE[c.status]}]{c.status}[/]", escape(c.found), escape(c.fix))
        console.print(table)
        failed = sum(c.status == FAIL for c in checks)
        console.print(tr(f"{failed} harus diperbaiki sebelum dipakai." if failed else "Siap dipakai.",
                         f"{failed} to fix before going into service." if failed else "Ready for service."),
                      style="bold red" if failed else "bold green")
    if any(c.status == FAIL for c in checks):
        raise typer.Exit(1)
