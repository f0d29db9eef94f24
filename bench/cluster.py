"""Cluster bench: a province-size fleet (2,000 simulated ZK terminals) pulled by 4 `hub run`
workers in cluster mode (pull tasks on the PostgreSQL queue), against the same fleet pulled
by one hub process as the single-machine hub does it (hub pull: its own concurrency and
worker processes), measured in the same run on the same machine and database.

Prints the full-pull seconds of both, each worker's share of the terminals (balance), and
lost/duplicated punches against the simulators' ground truth. Every worker, every terminal
process and PostgreSQL share this machine's cores, so the cluster figure here measures the
coordination, not the extra machines a Pemda would add.

    python bench/cluster.py [--terminals 2000] [--workers 4] [--employees 20000] [--small]

Ends with: cluster_full_pull_s, single_process_full_pull_s, workers, balance_min, balance_max,
lost, dup.
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

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from cryptography.fernet import Fernet  # noqa: E402
from sqlalchemy import create_engine, select, text  # noqa: E402

from hub.cluster.queue import defer_pulls  # noqa: E402
from hub.config import Settings, set_settings  # noqa: E402
from hub.protocols.zk_codes import zk_state, zk_verify  # noqa: E402
from hub.simulator import groundtruth  # noqa: E402
from hub.store.db import make_engine, upgrade  # noqa: E402
from hub.store.models import Device, RawPunch  # noqa: E402

PG_ADMIN = os.environ.get("HUB_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
ROOT = Path(__file__).resolve().parent.parent


def hub(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "hub.cli.main", *args], cwd=ROOT, env=env,
                            stdout=open(log, "ab"), stderr=subprocess.STDOUT)  # noqa: SIM115


def wait(pred, timeout: float, what: str, step: float = 0.5) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out: {what}")
        time.sleep(step)


def fresh_db(admin, name: str) -> str:  # type: ignore[no-untyped-def]
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    url = PG_ADMIN.rsplit("/", 1)[0] + "/" + name
    upgrade(url)
    return url


def check(url: str, gt) -> tuple[int, int, int]:  # type: ignore[no-untyped-def]
    eng = make_engine(url)
    with eng.connect() as conn:
        rows = conn.execute(select(Device.serial, RawPunch.pin, RawPunch.local_time, RawPunch.state,
                                   RawPunch.verify).join(Device, Device.id == RawPunch.device_id)).all()
    eng.dispose()
    stored = [tuple(r) for r in rows]
    truth = {(p.serial, p.pin, p.local_time, str(zk_state(p.state)), str(zk_verify(p.verify))) for p in gt.punches}
    return len(stored), len(truth - set(stored)), len(stored) - len(set(stored))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--terminals", type=int, default=2000)
    ap.add_argument("--workers", type=int, default=4)
    ap.add_argument("--employees", type=int, default=20000)
    ap.add_argument("--concurrency", type=int, default=16)
    ap.add_argument("--small", action="store_true", help="200 terminals, 2,000 employees")
    a = ap.parse_args()
    if a.small:
        a.terminals, a.employees = 200, 2000
    tmp = Path(tempfile.mkdtemp(prefix="bench-cluster-"))
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    tag = uuid.uuid4().hex[:6]
    urls = {k: fresh_db(admin, f"bench_cluster_{k}_{tag}") for k in ("cluster", "single")}
    key = Fernet.generate_key().decode()
    base = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    procs: list[subprocess.Popen] = []
    try:
        print(f"fleet: {a.terminals} simulated ZK terminals, {a.employees} employees, the last 3 days' punches")
        state = tmp / "fleet"
        env = {**base, "HUB_DATABASE_URL": urls["cluster"], "HUB_SECRET_KEY": key, "HUB_VAR_DIR": str(tmp / "var"),
               "PYTHONUNBUFFERED": "1"}
        fleet = hub(["simulate", "fleet", "--devices", str(a.terminals), "--employees", str(a.employees),
                     "--days", "3", "--base-port", "0", "--state-dir", str(state), "--register"],
                    env, tmp / "fleet.log")
        procs.append(fleet)
        wait(lambda: "Armada berjalan" in (tmp / "fleet.log").read_text(errors="replace") or fleet.poll() is not None,
             1800, "the fleet")
        if fleet.poll() is not None:
            raise SystemExit((tmp / "fleet.log").read_text()[-2000:])
        gt = groundtruth.read(state / "groundtruth")
        print(f"punches in the terminals: {len(gt.punches)}")

        # --- the cluster: 4 workers, pull tasks on the queue --------------------------------
        cluster = {**env, "HUB_CLUSTER_ENABLED": "true", "HUB_CLUSTER_CONCURRENCY": str(a.concurrency),
                   "HUB_SCHEDULER_ENABLED": "false", "HUB_PULL_LIVE": "false", "HUB_CLUSTER_HEARTBEAT_S": "2"}
        eng = make_engine(urls["cluster"])
        for i in range(a.workers):
            procs.append(hub(["run", "--port", "0"], {**cluster, "HUB_CLUSTER_WORKER_NAME": f"w{i + 1}"},
                             tmp / f"w{i + 1}.log"))

        def beating() -> int:
            with eng.connect() as c:
                return c.scalar(text("SELECT count(*) FROM procrastinate_workers"))
        wait(lambda: beating() >= a.workers, 120, "workers")
        settings = Settings(database_url=urls["cluster"], var_dir=str(tmp / "var"), secret_key=key)
        set_settings(settings)
        started = time.monotonic()
        deferred = defer_pulls(eng, settings, full=True)

        def done() -> bool:
            with eng.connect() as c:
                return c.scalar(text("SELECT count(*) FROM procrastinate_jobs WHERE task_name = 'pull_terminal' "
                                     "AND status IN ('todo', 'doing')")) == 0
        wait(done, 3600, "the cluster pull", 0.2)
        cluster_s = time.monotonic() - started
        with eng.connect() as c:
            shares = sorted(n for _w, n in c.execute(text(
                "SELECT worker_id, count(*) FROM procrastinate_jobs WHERE task_name = 'pull_terminal' "
                "AND status = 'succeeded' GROUP BY worker_id")).all())
            failed = c.scalar(text("SELECT count(*) FROM ingest_runs WHERE status = 'error'"))
        eng.dispose()
        for p in procs[1:]:
            p.send_signal(signal.SIGTERM)
        for p in procs[1:]:
            p.wait(60)
        procs = procs[:1]
        n, lost, dup = check(urls["cluster"], gt)
        print(f"cluster: {deferred.queued} pull tasks over {a.workers} workers x {a.concurrency}: "
              f"{cluster_s:.1f} s, {n} punches stored, {failed} failed pulls; terminals per worker {shares}")

        # --- the baseline: one hub process pulls the same fleet ------------------------------
        single_env = {**env, "HUB_DATABASE_URL": urls["single"]}
        # (the same terminals registered in the second store, as --register did in the first)
        from hub.fleet.seed import register  # noqa: PLC0415
        from hub.store.db import session_scope  # noqa: PLC0415

        single = Settings(database_url=urls["single"], var_dir=str(tmp / "var1"), secret_key=key)
        set_settings(single)
        e1 = make_engine(urls["single"])
        with session_scope(e1) as s:
            register(s, groundtruth.read_roster(state / "groundtruth"), "default")
        e1.dispose()
        started = time.monotonic()
        out = subprocess.run([sys.executable, "-m", "hub.cli.main", "pull", "--full", "--direct"], cwd=ROOT,
                             env=single_env, capture_output=True, text=True, check=False)
        single_s = time.monotonic() - started
        n1, lost1, dup1 = check(urls["single"], gt)
        print(f"single hub process (hub pull --full): {single_s:.1f} s, {n1} punches stored "
              f"(exit {out.returncode}; lost {lost1}, dup {dup1})")
        print(f"cluster_full_pull_s: {cluster_s:.1f}")
        print(f"single_process_full_pull_s: {single_s:.1f}")
        print(f"workers: {a.workers}")
        print(f"balance_min: {shares[0] if shares else 0}")
        print(f"balance_max: {shares[-1] if shares else 0}")
        print(f"lost: {lost}")
        print(f"dup: {dup}")
    finally:
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
                try:
                    p.wait(60)
                except subprocess.TimeoutExpired:
                    p.kill()
        for url in urls.values():
            with admin.connect() as c:
                c.execute(text(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)'))
        admin.dispose()


if __name__ == "__main__":
    main()
