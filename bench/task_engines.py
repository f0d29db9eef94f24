"""Which task engine carries cluster mode's pulls: procrastinate (on the hub's PostgreSQL)
against Celery (Redis and RabbitMQ brokers) and Dramatiq (RabbitMQ), each run as its users
run it (its own worker command, 4 worker processes x 4 threads), on this machine's local
PostgreSQL, Redis and RabbitMQ, measured in one run:

- run_s: 2,000 tasks of 5 ms (a pull's coordination cost without the terminal), queued at
  once, until the last one has run;
- takeover_s: a worker is SIGKILLed 1 s into a 6-s task; seconds until another worker starts
  that task again (capped at --cap; Celery on Redis waits out its visibility timeout);
- doubled: tasks of that run started more than once although no worker died (at-least-once
  engines may);
- lock: whether the engine itself keeps one task per key (per terminal) at a time.

Needs the bench extra: pip install -e '.[bench]' (celery[redis], dramatiq[rabbitmq]).

    python bench/task_engines.py [--tasks 2000] [--cap 120]

Ends with one `key: value` line per engine and figure, e.g. procrastinate_run_s.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

PG_ADMIN = os.environ.get("HUB_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
REDIS = os.environ.get("HUB_BENCH_REDIS", "redis://127.0.0.1:6379/15")
AMQP = os.environ.get("HUB_BENCH_AMQP", "amqp://guest:guest@127.0.0.1:5672//")
WORKERS, THREADS = 4, 4

TASKS = '''
import os, time
MARKS = os.environ["BENCH_MARKS"]

def mark(key, what):
    with open(os.path.join(MARKS, f"{key}.{what}.{os.getpid()}.{time.monotonic_ns()}"), "w"):
        pass

def work(key, seconds):
    mark(key, "start")
    time.sleep(seconds)
    mark(key, "end")
'''

ENGINES = {
    "procrastinate": '''
import procrastinate
from bench_common import work
app = procrastinate.App(connector=procrastinate.PsycopgConnector(conninfo=os.environ["BENCH_PG"]))
@app.task(name="work", queue="bench")
def job(key: str, seconds: float) -> None:
    work(key, seconds)
# procrastinate leaves a dead worker's jobs 'doing' until someone retries them: as the hub does
@app.periodic(cron="* * * * * */10", periodic_id="retry_stalled")
@app.task(name="retry_stalled", queue="bench", queueing_lock="retry_stalled", pass_context=True)
async def retry_stalled(context, timestamp):
    for j in await context.app.job_manager.get_stalled_jobs(seconds_since_heartbeat=30):
        await context.app.job_manager.retry_job(j)
def send(key, seconds):
    job.defer(key=key, seconds=seconds)
def opened():
    return app.open()
''',
    **{f"celery_{name}": f'''
from celery import Celery
from bench_common import work
app = Celery("bench", broker=os.environ["{env}"])
app.conf.update(task_acks_late=True, task_reject_on_worker_lost=True, worker_prefetch_multiplier=1)
@app.task(name="work")
def job(key, seconds):
    work(key, seconds)
def send(key, seconds):
    job.delay(key, seconds)
''' for name, env in (("redis", "BENCH_REDIS"), ("rabbitmq", "BENCH_AMQP"))},
    "dramatiq_rabbitmq": '''
import dramatiq
from dramatiq.brokers.rabbitmq import RabbitmqBroker
from bench_common import work
dramatiq.set_broker(RabbitmqBroker(url=os.environ["BENCH_AMQP"].replace("5672//", "5672/%2F")))
@dramatiq.actor(max_retries=0, queue_name="bench")
def job(key, seconds):
    work(key, seconds)
def send(key, seconds):
    job.send(key, seconds)
''',
}
LOCK = {"procrastinate": "yes (lock=, queueing_lock=)", "celery_redis": "no (a lock of our own)",
        "celery_rabbitmq": "no (a lock of our own)", "dramatiq_rabbitmq": "no (a lock of our own)"}


def worker_cmd(engine: str, mod: str, i: int) -> list[str]:
    py = sys.executable
    if engine == "procrastinate":
        return [py, "-m", "procrastinate", f"--app={mod}.app", "worker", "--concurrency", str(THREADS),
                "--queues", "bench"]
    if engine.startswith("celery"):
        return [py, "-m", "celery", "-A", mod, "worker", "--pool", "threads", "-c", str(THREADS), "--loglevel=WARNING",
                "-n", f"w{i}-{os.getpid()}@%h",
                "--without-gossip", "--without-mingle", "--without-heartbeat"]
    return [py, "-m", "dramatiq", mod, "-p", "1", "-t", str(THREADS), "-Q", "bench"]


def marks(folder: Path, what: str) -> dict[str, list[tuple[int, int]]]:
    out: dict[str, list[tuple[int, int]]] = {}
    for p in folder.iterdir():
        key, kind, pid, ns = p.name.rsplit(".", 3)
        if kind == what:
            out.setdefault(key, []).append((int(ns), int(pid)))
    return out


def measure(engine: str, tmp: Path, n: int, cap: float, env: dict[str, str]) -> dict[str, str]:
    mod = f"bench_{engine}"
    (tmp / f"{mod}.py").write_text("import os\n" + ENGINES[engine])
    folder = tmp / f"marks-{engine}"
    folder.mkdir()
    env = {**env, "BENCH_MARKS": str(folder), "PYTHONPATH": str(tmp)}
    sys.path.insert(0, str(tmp))
    os.environ.update({k: v for k, v in env.items() if k.startswith("BENCH_")})
    module = __import__(mod)
    ctx = module.opened() if hasattr(module, "opened") else None
    procs = []
    try:
        for i in range(WORKERS):
            procs.append(subprocess.Popen(worker_cmd(engine, mod, i), cwd=tmp, env=env, stdout=subprocess.DEVNULL,
                                          stderr=open(tmp / f"{engine}.log", "ab")))  # noqa: SIM115
        time.sleep(4)  # the workers connect
        dead = [p for p in procs if p.poll() is not None]
        if dead:
            raise RuntimeError((tmp / f"{engine}.log").read_text()[-500:])
        started = time.monotonic()
        for i in range(n):
            module.send(f"t{i}", 0.005)  # (a fresh queue: see main)
        deadline = time.monotonic() + 300
        while len(marks(folder, "end")) < n and time.monotonic() < deadline:
            time.sleep(0.05)
        run_s = time.monotonic() - started
        doubled = sum(1 for v in marks(folder, "start").values() if len(v) > 1)
        # takeover: one long task, its worker killed
        module.send("long", 6.0)
        deadline = time.monotonic() + 30
        while "long" not in marks(folder, "start") and time.monotonic() < deadline:
            time.sleep(0.02)
        first = marks(folder, "start").get("long")
        takeover = "no task"
        if first:
            pid = first[0][1]
            time.sleep(1.0)
            os.kill(pid, signal.SIGKILL) if any(p.pid == pid for p in procs) else _kill_child(procs, pid)
            killed = time.monotonic()
            takeover = f">{cap:.0f}"
            while time.monotonic() - killed < cap:
                again = [m for m in marks(folder, "start").get("long", []) if m[1] != pid]
                if again:
                    takeover = f"{time.monotonic() - killed:.1f}"
                    break
                time.sleep(0.1)
        return {"run_s": f"{run_s:.1f}", "takeover_s": takeover, "doubled": str(doubled), "lock": LOCK[engine]}
    finally:
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in procs:
            try:
                p.wait(20)
            except subprocess.TimeoutExpired:
                p.kill()
        if ctx is not None:
            module.app.close()


def _kill_child(procs: list[subprocess.Popen], pid: int) -> None:
    os.kill(pid, signal.SIGKILL)  # (a pool child of one of the workers)


def _purge_amqp(url: str) -> None:
    """Empty the queues the bench uses on RabbitMQ (a run stopped halfway leaves tasks)."""
    import contextlib  # noqa: PLC0415

    import pika  # noqa: PLC0415

    with contextlib.suppress(Exception):
        conn = pika.BlockingConnection(pika.URLParameters(url.replace("5672//", "5672/%2F")))
        ch = conn.channel()
        for q in ("celery", "bench", "bench.DQ", "bench.XQ"):
            with contextlib.suppress(Exception):
                ch.queue_purge(q)
        conn.close()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--tasks", type=int, default=2000)
    ap.add_argument("--cap", type=float, default=120.0)
    ap.add_argument("--only", default="")
    a = ap.parse_args()
    from sqlalchemy import create_engine, text

    tmp = Path(tempfile.mkdtemp(prefix="bench-engines-"))
    (tmp / "bench_common.py").write_text(TASKS)
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    db = f"bench_engines_{uuid.uuid4().hex[:6]}"
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{db}"'))
    pg = PG_ADMIN.replace("postgresql+psycopg://", "postgresql://").rsplit("/", 1)[0] + "/" + db
    env = {**os.environ, "BENCH_PG": pg, "BENCH_REDIS": REDIS, "BENCH_AMQP": AMQP}
    results: dict[str, dict[str, str]] = {}
    import redis  # noqa: PLC0415

    redis.Redis.from_url(REDIS).flushdb()  # the bench's own Redis database: nothing left from a run before
    _purge_amqp(AMQP)
    try:
        import procrastinate

        app = procrastinate.App(connector=procrastinate.PsycopgConnector(conninfo=pg))
        with app.open():
            app.schema_manager.apply_schema()
        for engine in ENGINES:
            if a.only and engine not in a.only.split(","):
                continue
            try:
                results[engine] = measure(engine, tmp, a.tasks, a.cap, env)
            except Exception as exc:  # noqa: BLE001 - one engine's trouble is its row, not the run's
                results[engine] = {"run_s": "error", "takeover_s": "error", "doubled": "-", "lock": LOCK[engine],
                                   "error": f"{exc.__class__.__name__}: {exc}"}
            print(engine, results[engine], flush=True)
    finally:
        with admin.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)'))
        admin.dispose()
    print(f"\n{a.tasks} tasks of 5 ms, {WORKERS} worker processes x {THREADS} threads; takeover after SIGKILL")
    for engine, r in results.items():
        for k in ("run_s", "takeover_s", "doubled", "lock"):
            print(f"{engine}_{k}: {r[k]}")


if __name__ == "__main__":
    main()
