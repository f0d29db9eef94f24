"""hub alerts: the problems the alert rules see, a check now, a test message."""

from __future__ import annotations

import typer
from sqlalchemy import select

from hub.cli.common import OutputFormat, console, emit, engine, fail
from hub.config import get_settings
from hub.i18n import tr

app = typer.Typer(help=tr("Peringatan: masalah yang terbuka, cek sekarang, uji kanal.",
                          "Alerts: open problems, check now, test the channels."), no_args_is_help=True)


@app.command("list")
def list_cmd(all_: bool = typer.Option(False, "--all", help="juga yang sudah pulih (7 hari)"),
             fmt: OutputFormat = typer.Option(OutputFormat.table, "--format")) -> None:
    """Masalah yang terbuka (dan yang sudah pulih dengan --all)."""
    from datetime import timedelta  # noqa: PLC0415

    from sqlalchemy.orm import Session  # noqa: PLC0415

    from hub import times  # noqa: PLC0415
    from hub.alerts.models import Alert  # noqa: PLC0415
    from hub.store.models import utcnow  # noqa: PLC0415

    q = select(Alert).order_by(Alert.opened_at)
    q = q.where(Alert.resolved_at >= utcnow() - timedelta(days=7)) if all_ else q.where(Alert.resolved_at.is_(None))
    tz, en = get_settings().default_timezone, get_settings().language == "en"
    with Session(engine()) as s:
        rows = [{"key": a.key, "message": a.message_en if en else a.message,
                 "since": times.shown(a.opened_at, tz), "over": times.shown(a.resolved_at, tz) if a.resolved_at
                 else "", "sent": ", ".join(sorted(a.notified or {})), "error": a.last_error or ""}
                for a in s.scalars(q)]
    emit(rows, ["key", "message", "since", "over", "sent", "error"], fmt, title=tr("Peringatan", "Alerts"))


@app.command("check")
def check_cmd() -> None:
    """Jalankan aturan sekarang dan kirim yang terutang (seperti job `alerts` tiap menit)."""
    from hub.alerts.run import check  # noqa: PLC0415

    out = check(engine(), get_settings())
    console.print(tr(f"Baru: {len(out.opened)}, pulih: {len(out.resolved)}, terkirim: {len(out.sent)}"
                     f"{', jam tenang' if out.quiet else ''}",
                     f"New: {len(out.opened)}, over: {len(out.resolved)}, sent: {len(out.sent)}"
                     f"{', quiet hours' if out.quiet else ''}"))
    for f in out.failed:
        console.print(f, style="red")


@app.command("test")
def test_cmd() -> None:
    """Kirim pesan uji ke setiap kanal (e-mail, webhook) dan laporkan hasilnya."""
    from hub.alerts.notify import ChannelError, Message, channels, send  # noqa: PLC0415

    a = get_settings().alerts
    chans = channels(a)
    if not chans:
        fail(tr("belum ada kanal peringatan", "no alert channel set up"),
             tr("isi [alerts] smtp_host + mail_to dan/atau webhook_url", "set [alerts] smtp_host + mail_to and/or "
                "webhook_url"))
    m = Message("test", tr("[Hub Absensi] Uji peringatan", "[Hub Absensi] Alert test"),
                tr("Pesan uji dari hub absensi: kanal ini bekerja.\n",
                   "A test message from the attendance hub: this channel works.\n"), {})
    bad = 0
    for c in chans:
        try:
            send(c, a, m)
            console.print(f"{c}: ok", style="green")
        except ChannelError as exc:
            bad += 1
            console.print(f"{c}: {exc}", style="red")
    if bad:
        raise typer.Exit(1)
