"""The worker a `hub run` process keeps in cluster mode: procrastinate's worker on an event
loop of its own thread, beating every heartbeat_s so the others know it lives."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading

from hub.cluster.queue import QUEUE, configure
from hub.config import Settings

log = logging.getLogger("hub.cluster")


class ClusterWorker:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.name = settings.cluster.worker()
        self.loop = asyncio.new_event_loop()
        self._task: asyncio.Task[None] | None = None
        self._thread = threading.Thread(target=self._run, name="cluster-worker", daemon=True)
        self.error: BaseException | None = None

    def start(self) -> ClusterWorker:
        self._thread.start()
        return self

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        c = self.settings.cluster
        app = configure(self.settings)

        async def main() -> None:
            async with app.open_async():
                self._task = asyncio.current_task()
                await app.run_worker_async(
                    queues=[QUEUE, "hub"], name=self.name, concurrency=max(1, c.concurrency), wait=True,
                    install_signal_handlers=False, update_heartbeat_interval=c.heartbeat_s,
                    stalled_worker_timeout=c.stalled_after_s, fetch_job_polling_interval=1.0,
                    shutdown_graceful_timeout=30.0,
                    additional_context={"worker": self.name, "stalled_after_s": c.stalled_after_s})

        try:
            self.loop.run_until_complete(main())
        except asyncio.CancelledError:
            pass
        except BaseException as exc:  # noqa: BLE001 - kept for status, logged
            self.error = exc
            log.exception("cluster worker stopped")

    def stop(self) -> None:
        """Finish the jobs in hand (up to 30 s), then stop."""
        if self._task is not None:
            self.loop.call_soon_threadsafe(self._task.cancel)
        with contextlib.suppress(RuntimeError):
            self._thread.join(timeout=40)
