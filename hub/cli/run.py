"""hub run: the long-running hub (console, push endpoints, MQTT, scheduler)."""

from __future__ import annotations

import logging

import typer

from hub.cli.common import console, ensure_store, fail
from hub.config import get_settings
from hub.i18n import tr


def run(
    host: str | None = typer.Option(None, "--host", help="alamat web (bawaan: konfigurasi)"),
    port: int | None = typer.Option(None, "--port", help="port web"),
    no_scheduler: bool = typer.Option(False, "--no-scheduler", help="jangan jalankan penjadwal"),
    mqtt: bool | None = typer.Option(None, "--mqtt/--no-mqtt", help="dengarkan terminal MQTT"),
) -> None:
    """Jalankan hub: konsol web, endpoint ADMS, MQTT dan penjadwal."""
    from hub.service.runner import Hub

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    ensure_store()
    settings = get_settings()
    if settings.cluster.enabled:
        from hub.cluster.queue import pool_args  # noqa: PLC0415

        try:
            pool_args(settings)
        except ValueError as exc:
            fail(str(exc), tr("isi HUB_DATABASE_URL dengan PostgreSQL, atau matikan [cluster] enabled",
                              "set HUB_DATABASE_URL to PostgreSQL, or turn [cluster] enabled off"))
    hub = Hub(settings, host=host, port=port, schedule=not no_scheduler, mqtt=mqtt)
    console.print(tr(f"Hub berjalan di http://{hub.host}:{hub.port} (Ctrl-C untuk berhenti)",
                     f"Hub running at http://{hub.host}:{hub.port} (Ctrl-C to stop)"))
    hub.run()
    console.print(tr("Hub berhenti dengan bersih.", "Hub stopped cleanly."))
