"""The `hub` command: one group per area of work."""

from __future__ import annotations

import typer
from sqlalchemy import func, select

import hub.cli.simulate_fleet  # noqa: F401 - registers `hub simulate fleet`
from hub.cli import alerts as alerts_cmd
from hub.cli import backup as backup_cmd
from hub.cli import db, devices, employees, punches, simulate, sites, users
from hub.cli import demo as demo_cmd
from hub.cli import doctor as doctor_cmd
from hub.cli import face as face_cmd
from hub.cli import jobs as jobs_cmd
from hub.cli import pull as pull_cmd
from hub.cli import push as push_cmd
from hub.cli import reconcile as reconcile_cli
from hub.cli import run as run_cmd
from hub.cli import sync as sync_cmd
from hub.cli.common import console, ensure_store, err_console
from hub.config import get_settings, redact_url
from hub.i18n import tr

app = typer.Typer(
    help=tr("Hub perangkat absensi: terminal, punch, rekap TPP.",
            "Attendance device hub: terminals, punches, TPP recap."),
    no_args_is_help=True, pretty_exceptions_show_locals=False,
)
app.add_typer(db.app, name="db")
app.add_typer(sites.app, name="site")
app.add_typer(devices.app, name="device")
app.add_typer(employees.app, name="employee")
app.add_typer(punches.app, name="punch")
app.add_typer(users.app, name="user")
app.add_typer(sync_cmd.app, name="sync")
app.add_typer(sync_cmd.pin_app, name="pin")
app.add_typer(simulate.app, name="simulate")
app.add_typer(face_cmd.app, name="face")
app.add_typer(pull_cmd.app, name="pull")
app.add_typer(pull_cmd.import_app, name="import")
app.add_typer(push_cmd.app, name="push")
app.add_typer(alerts_cmd.app, name="alerts")
app.command("run")(run_cmd.run)
app.command("demo")(demo_cmd.demo)
app.command("jobs")(jobs_cmd.jobs)
app.command("reconcile")(reconcile_cli.reconcile_cmd)
app.command("backup")(backup_cmd.backup_cmd)
app.command("restore")(backup_cmd.restore_cmd)
app.command("doctor")(doctor_cmd.doctor)
for _name, _grp in (("correction", reconcile_cli.correction_app), ("leave", reconcile_cli.leave_app),
                    ("period", reconcile_cli.period_app), ("ruleset", reconcile_cli.ruleset_app),
                    ("recap", reconcile_cli.recap_app), ("nodata", reconcile_cli.nodata_app),
                    ("quarantine", reconcile_cli.quarantine_app)):
    app.add_typer(_grp, name=_name)


@app.command("status")
def status() -> None:
    """Siapkan penyimpanan bila perlu dan tampilkan ringkasannya."""
    from hub.store.models import Device, Employee, IngestRun, RawPunch, Site

    engine = ensure_store()
    settings = get_settings()
    with engine.connect() as conn:
        counts = {name: conn.scalar(select(func.count()).select_from(model))
                  for name, model in (("sites", Site), ("devices", Device),
                                      ("employees", Employee), ("punches", RawPunch),
                                      ("ingest_runs", IngestRun))}
    console.print(f"[bold]{tr('Basis data', 'Database')}[/]: "
                  f"{redact_url(settings.effective_database_url())}")
    labels = {"sites": tr("kantor", "offices"), "devices": tr("terminal", "terminals"),
              "employees": tr("pegawai", "employees"), "punches": "punch",
              "ingest_runs": tr("riwayat tarik/terima", "ingest runs")}
    for key, value in counts.items():
        console.print(f"  {labels[key]}: {value}")


@app.command("config")
def config_show() -> None:
    """Tampilkan konfigurasi efektif (rahasia disamarkan)."""
    import json

    console.print_json(json.dumps(get_settings().redacted()))


secret_app = typer.Typer(help=tr("Kunci enkripsi.", "Encryption keys."), no_args_is_help=True)
app.add_typer(secret_app, name="secret")


@secret_app.command("new")
def secret_new() -> None:
    """Buat kunci enkripsi baru (untuk HUB_SECRET_KEY); simpan di tempat aman."""
    from cryptography.fernet import Fernet

    typer.echo(Fernet.generate_key().decode())
    err_console.print(tr("Simpan kunci ini sebagai HUB_SECRET_KEY. Tanpa kunci yang sama, template "
                     "dan comm key yang tersimpan tidak dapat dibuka.",
                     "Store this as HUB_SECRET_KEY. Without the same key, stored templates and "
                     "comm keys cannot be opened."), style="yellow")


def main() -> None:
    app()


if __name__ == "__main__":
    main()
