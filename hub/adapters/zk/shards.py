"""A big fleet pulled by several processes: one Python process is bound to one core.

Reading, parsing and building punches for tens of terminals at once is Python work that a
thread pool cannot spread over cores. For a big fleet the coordinator splits the terminals
into shards, one per process; each pulls its shard with its own thread pool and its own
database connection (every terminal is still written in one transaction), and sends each
terminal's result back as soon as it is done, so progress shows as before. The calling
process pulls the first shard itself: it has everything imported, so its terminals start
at once while the other processes start up (about a second each). Workers are spawned,
not forked: the parent may hold threads (scheduler, web server).
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import queue as queue_mod
import threading
from collections.abc import Callable
from typing import Any

from sqlalchemy import Engine

from hub.adapters.zk.targets import PullResult
from hub.config import PullSettings, Settings

log = logging.getLogger(__name__)

# Below this many terminals per process, starting processes costs more than it saves.
MIN_TARGETS_PER_PROCESS = 10
MAX_AUTO_PROCESSES = 4


def process_count(settings: PullSettings, targets: int) -> int:
    """Worker processes for a pull of `targets` terminals (1 = pull in this process)."""
    wanted = settings.processes
    if wanted <= 0:  # automatic: one per core, for fleets big enough to be worth it
        wanted = min(os.cpu_count() or 1, MAX_AUTO_PROCESSES)
    return max(1, min(wanted, targets // MIN_TARGETS_PER_PROCESS))


def pull_in_processes(engine: Engine, settings: Settings, pull: PullSettings,
                      targets: list[Any], full: bool, processes: int,
                      on_done: Callable[[Any], None] | None = None, puller: Any = None) -> list[Any]:
    """`puller`: the Puller class each shard runs (handed over, so that this module and the
    coordinator do not import each other)."""
    ctx = multiprocessing.get_context("spawn")
    results: queue_mod.Queue = ctx.Queue()
    shards = [targets[i::processes] for i in range(processes)]
    per_shard = PullSettings(**{**vars(pull), "processes": 1,
                                "concurrency": max(1, -(-pull.concurrency // processes))})
    url = engine.url.render_as_string(hide_password=False)
    workers = [ctx.Process(target=_shard_main, args=(url, settings, per_shard, shard, full,
                                                     results, puller), daemon=True,
                           name=f"zk-pull-{n}")
               for n, shard in enumerate(shards[1:], start=1)]
    for w in workers:
        w.start()
    here = threading.Thread(target=_pull_shard, args=(engine, per_shard, shards[0], full,
                                                      results, puller), daemon=True, name="zk-pull-0")
    here.start()
    pending = {t.serial: t for t in targets}
    out: list[Any] = []
    try:
        while pending:
            try:
                r = results.get(timeout=1.0)
            except queue_mod.Empty:
                if not here.is_alive() and all(not w.is_alive() for w in workers):
                    # A worker died before reporting some terminals: say so for each.
                    try:
                        r = results.get(timeout=1.0)
                    except queue_mod.Empty:
                        break
                else:
                    continue
            pending.pop(r.serial, None)
            out.append(r)
            if on_done:
                on_done(r)
    finally:
        here.join(timeout=5)
        for w in workers:
            w.join(timeout=5)
            if w.is_alive():
                w.terminate()
    for t in pending.values():
        r = PullResult(t.serial, t.id, error="proses penarik berhenti sebelum melapor / "
                                             "the pull worker stopped before reporting")
        out.append(r)
        if on_done:
            on_done(r)
    out.sort(key=lambda r: r.serial)
    return out


def _shard_main(url: str, settings: Settings, pull: PullSettings, shard: list[Any], full: bool,
                results: Any, puller: Any) -> None:
    from hub.config import set_settings
    from hub.store.db import make_engine

    set_settings(settings)
    engine = make_engine(url)
    try:
        _pull_shard(engine, pull, shard, full, results, puller)
    finally:
        engine.dispose()


def _pull_shard(engine: Engine, pull: PullSettings, shard: list[Any], full: bool,
                results: Any, puller: Any) -> None:
    reported: set[str] = set()

    def report(r: Any) -> None:
        reported.add(r.serial)
        results.put(r)

    try:
        puller(engine, pull).pull_many(shard, full, report)
    except BaseException as exc:  # noqa: BLE001 - every terminal gets a result
        log.exception("pull worker failed")
        for t in shard:
            if t.serial not in reported:
                results.put(PullResult(t.serial, t.id, error=f"{exc.__class__.__name__}: {exc}"))
