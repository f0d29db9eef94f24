"""Roster sync benchmark.

1. Push 7,000 users and 14,000 fingerprint templates to one simulated ZK terminal (TCP, over
   loopback, pyzk transport) through `hub sync apply`'s batch path (plan + upload + read-back),
   and, in the same run, one user at a time with pyzk set_user + save_user_template, the
   way per-device tools do it. The batch path is timed alone (buffers only) and as the whole
   `hub sync apply` (plan, decrypt, upload, read-back, state). --baseline-users N times the
   one-at-a-time path on N users and scales it (default: all 7,000, nothing scaled).
2. A no-change sync of 90 terminals (7,000 employees, 14,000 templates spread over 90 offices):
   plan + apply with every terminal already in step, so nothing is sent. Baseline, measured in
   the same run: reading users + templates back from one terminal holding an office's share,
   times 90 (what a sync that compares by asking each terminal would spend).

Usage: python bench/sync.py [--users 7000] [--templates-per-user 2] [--baseline-users 7000] [--pg URL]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from cryptography.fernet import Fernet  # noqa: E402
from sqlalchemy import insert  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from hub.adapters.zk.client import ZkClient  # noqa: E402
from hub.config import Settings, set_settings  # noqa: E402
from hub.roster.pins import allocate  # noqa: E402
from hub.secrets import encrypt  # noqa: E402
from hub.simulator.zk import Terminal, start_in_thread  # noqa: E402
from hub.store.db import make_engine, reset_engines, upgrade  # noqa: E402
from hub.store.models import Device, Employee, Site, Template  # noqa: E402
from hub.sync.apply import apply_plans  # noqa: E402
from hub.sync.models import DeviceRosterTemplate, DeviceRosterUser  # noqa: E402
from hub.sync.plan import compute_plans, select_devices  # noqa: E402

DAY = date(2026, 3, 2)
TEMPLATE_SIZE = 600


def fp(i: int, f: int) -> bytes:
    body = hashlib.sha256(f"{i}/{f}".encode()).digest() * (TEMPLATE_SIZE // 32 + 1)
    return b"\x4a\x03SS21" + body[:TEMPLATE_SIZE - 6]


def _serve(path: str, users: int, fingers: int, ports, stop) -> None:
    term = Terminal.create(path, "tft", serial=Path(path).stem.upper(),
                           profile_overrides={"users_cap": users + 100, "fingers_cap": fingers + 100})
    if (seed_users := int(os.environ.get("BENCH_SEED_USERS", "0"))):
        from hub.protocols.zk import Template as ZkT
        from hub.protocols.zk import User as ZkU

        per = int(os.environ.get("BENCH_SEED_PER", "2"))
        term.set_users([ZkU(i + 1, str(i + 1), f"Pegawai {i}") for i in range(seed_users)])
        for i in range(seed_users):
            for f in range(per):
                term.set_template(ZkT(i + 1, f, 1, fp(i, f)))
    srv = start_in_thread(term)
    ports.put(srv.port)
    stop.wait()
    srv.stop()
    term.close()


class SimProcess:
    """A simulated terminal in its own process, as a real one would be: the client's timings
    do not share an interpreter lock with the terminal."""

    def __init__(self, path: Path, users: int, fingers: int, seed_users: int = 0, per: int = 2) -> None:
        import multiprocessing as mp

        ctx = mp.get_context("spawn")
        self.path = path
        self.stop_ev = ctx.Event()
        ports = ctx.Queue()
        os.environ["BENCH_SEED_USERS"], os.environ["BENCH_SEED_PER"] = str(seed_users), str(per)
        self.proc = ctx.Process(target=_serve, args=(str(path), users, fingers, ports, self.stop_ev), daemon=True)
        self.proc.start()
        self.port = ports.get(timeout=120)

    def stop(self) -> tuple[int, int]:
        """Stop the terminal; returns (users, templates) it holds."""
        self.stop_ev.set()
        self.proc.join(30)
        term = Terminal.load(self.path)
        held = len(term.users()), len(term.templates())
        term.close()
        return held


def seed(engine, users: int, per_user: int, offices: int, port: int) -> None:
    """`offices` offices with one terminal each, employees spread evenly, templates encrypted."""
    with Session(engine) as s:
        sites = [Site(code=f"OPD{i:02d}", name=f"OPD {i}") for i in range(offices)]
        s.add_all(sites)
        s.flush()
        s.add_all([Device(serial=f"T{i:02d}", name=f"T{i}", site_id=x.id, kind="zk-tcp", host="127.0.0.1",
                          port=port, capabilities={"pin_width": 9}) for i, x in enumerate(sites)])
        s.flush()
        s.execute(insert(Employee), [{"id_number": f"1985010120100{i:05d}", "employment_type": "pns",
                                      "name": f"Pegawai Nomor {i}", "site_id": sites[i % offices].id,
                                      "active": True} for i in range(users)])
        ids = [e for (e,) in s.query(Employee.id).order_by(Employee.id)]
        rows = []
        for n, e in enumerate(ids):
            for f in range(per_user):
                blob = fp(n, f)
                rows.append({"employee_id": e, "kind": "fingerprint", "finger_index": f, "format": "zk-fp10",
                             "valid_flag": 1, "blob_enc": encrypt(blob), "sha256": hashlib.sha256(blob).hexdigest(),
                             "size": len(blob)})
        s.execute(insert(Template), rows)
        allocate(s, ids, "default", DAY)
        s.commit()


def bench_batch(engine, port: int) -> tuple[float, float, dict]:
    t0 = time.perf_counter()
    with Session(engine) as s:
        plans = compute_plans(s, select_devices(s), DAY)
        s.commit()
    t1 = time.perf_counter()
    (res,) = apply_plans(engine, plans, "bench")
    t2 = time.perf_counter()
    if res.status != "ok":
        raise SystemExit(f"batch apply failed: {res.status} {res.error} {res.issues[:3]}")
    return t1 - t0, t2 - t1, {"sent": res.sent, "readback": res.readback}


def bench_raw_batch(port: int, n_users: int, per_user: int, batch: int = 250) -> float:
    """The batch path alone: the same users and templates, 250 users per 1500/1501/110 buffer."""
    from hub.protocols.zk import Template as ZkT
    from hub.protocols.zk import User as ZkU

    t0 = time.perf_counter()
    with ZkClient("127.0.0.1", port) as zs:  # a tft terminal: 72-byte users
        for start in range(0, n_users, batch):
            ids = range(start, min(n_users, start + batch))
            zs.upload([ZkU(i + 1, str(i + 1), f"Pegawai Nomor {i}") for i in ids],
                      [ZkT(i + 1, f, 1, fp(i, f)) for i in ids for f in range(per_user)], 72)
    return time.perf_counter() - t0


def bench_one_at_a_time(port: int, n_users: int, per_user: int) -> float:
    from zk.finger import Finger
    from zk.user import User

    t0 = time.perf_counter()
    with ZkClient("127.0.0.1", port) as zs:
        conn = zs.z
        for i in range(n_users):
            uid, pin = i + 1, str(i + 1)
            conn.set_user(uid=uid, name=f"Pegawai Nomor {i}", privilege=0, password="", group_id="", user_id=pin)
            user = User(uid, f"Pegawai Nomor {i}", 0, "", "", pin, 0)
            conn.save_user_template(user, [Finger(uid, f, 1, fp(i, f)) for f in range(per_user)])
    return time.perf_counter() - t0


def confirm_all(engine) -> None:
    """Record every terminal as already holding its roster (as a previous apply's read-back would)."""
    with Session(engine) as s:
        plans = compute_plans(s, select_devices(s), DAY)
        users, tmpls = [], []
        for p in plans:
            users += [{"device_id": p.device_id, "pin": u.pin, "uid": n + 1, "employee_id": u.employee_id,
                       "fields_hash": u.fields_hash} for n, u in enumerate(p.users_add)]
            tmpls += [{"device_id": p.device_id, "pin": t.pin, "kind": t.kind, "finger_index": t.finger_index,
                       "sha256": t.sha256} for t in p.templates_add]
        s.execute(insert(DeviceRosterUser), users)
        s.execute(insert(DeviceRosterTemplate), tmpls)
        s.commit()


def readback_seconds(port: int) -> float:
    t0 = time.perf_counter()
    with ZkClient("127.0.0.1", port) as zs:
        zs.read_users()
        zs.read_templates()
    return time.perf_counter() - t0


def store_url(args, tmp: Path, name: str) -> str:
    if args.pg:
        from sqlalchemy import create_engine, text

        admin = create_engine(args.pg, isolation_level="AUTOCOMMIT")
        db = f"bench_sync_{name}_{os.getpid()}"
        with admin.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{db}"'))
            c.execute(text(f'CREATE DATABASE "{db}"'))
        admin.dispose()
        return args.pg.rsplit("/", 1)[0] + "/" + db
    return f"sqlite:///{tmp / (name + '.sqlite3')}"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--users", type=int, default=7000)
    ap.add_argument("--templates-per-user", type=int, default=2)
    ap.add_argument("--baseline-users", type=int, default=7000)
    ap.add_argument("--terminals", type=int, default=90)
    ap.add_argument("--pg", help="PostgreSQL admin URL (default: SQLite)")
    args = ap.parse_args()
    users, per = args.users, args.templates_per_user
    tmp = Path(tempfile.mkdtemp(prefix="bench_sync_"))
    set_settings(Settings(database_url="", var_dir=str(tmp), secret_key=Fernet.generate_key().decode()))
    backend = "postgresql" if args.pg else "sqlite"
    print(f"store: {backend}; {users} users x {per} templates of {TEMPLATE_SIZE} bytes", flush=True)

    # 1. batch vs one at a time, one terminal
    sim = SimProcess(tmp / "one.sqlite", users, users * per)
    url = store_url(args, tmp, "one")
    upgrade(url)
    engine = make_engine(url)
    seed(engine, users, per, 1, sim.port)
    plan_s, push_s, detail = bench_batch(engine, sim.port)
    held = sim.stop()
    print(f"batch path: plan {plan_s:.2f} s, upload + read-back {push_s:.2f} s; terminal holds {held[0]} users, "
          f"{held[1]} templates; sent {detail['sent']}", flush=True)
    engine.dispose()

    sim_raw = SimProcess(tmp / "raw.sqlite", users, users * per)
    raw_s = bench_raw_batch(sim_raw.port, users, per)
    held_raw = sim_raw.stop()
    print(f"batch path alone (upload buffers, no store, no read-back): {raw_s:.2f} s; terminal holds "
          f"{held_raw[0]} users, {held_raw[1]} templates", flush=True)

    n = min(args.baseline_users, users)
    sim2 = SimProcess(tmp / "base.sqlite", users, users * per)
    base_s = bench_one_at_a_time(sim2.port, n, per)
    held2 = sim2.stop()
    base_full = base_s * users / n
    print(f"one at a time (pyzk set_user + save_user_template): {n} users in {base_s:.2f} s "
          f"(terminal holds {held2[0]} users, {held2[1]} templates)"
          + (f" -> {base_full:.1f} s for {users} (scaled)" if n < users else ""), flush=True)
    batch_total = plan_s + push_s

    # 2. no-change sync of 90 terminals
    url90 = store_url(args, tmp, "fleet")
    upgrade(url90)
    engine90 = make_engine(url90)
    seed(engine90, users, per, args.terminals, 1)  # port 1: a terminal contacted would fail
    confirm_all(engine90)
    t0 = time.perf_counter()
    with Session(engine90) as s:
        plans = compute_plans(s, select_devices(s), DAY)
        s.commit()
    results = apply_plans(engine90, plans, "bench")
    noop_s = time.perf_counter() - t0
    sent = sum(r.commands_sent for r in results)
    statuses = {r.status for r in results}
    print(f"no-change sync of {len(results)} terminals: {noop_s:.2f} s, statuses {statuses}, {sent} changes sent",
          flush=True)
    share = users // args.terminals
    sim3 = SimProcess(tmp / "share.sqlite", share, share * per, seed_users=share, per=per)
    one = readback_seconds(sim3.port)
    sim3.stop()
    print(f"baseline: reading one terminal's {share} users + {share * per} templates back takes {one:.3f} s "
          f"-> {one * args.terminals:.2f} s for {args.terminals} terminals", flush=True)
    engine90.dispose()
    reset_engines()
    if args.pg:  # drop the throw-away databases this run created
        from sqlalchemy import create_engine, text

        admin = create_engine(args.pg, isolation_level="AUTOCOMMIT")
        with admin.connect() as c:
            for u in (url, url90):
                c.execute(text(f'DROP DATABASE IF EXISTS "{u.rsplit("/", 1)[1]}" WITH (FORCE)'))
        admin.dispose()

    print(f"backend: {backend}")
    print(f"users: {users}")
    print(f"templates: {users * per}")
    print(f"hub_apply_plan_s: {plan_s:.2f}")
    print(f"hub_apply_push_readback_s: {push_s:.2f}")
    print(f"hub_apply_total_s: {batch_total:.2f}")
    print(f"batch_push_s: {raw_s:.2f}")
    print(f"one_at_a_time_users_timed: {n}")
    print(f"one_at_a_time_s: {base_full:.2f}")
    print(f"hub_apply_speedup: {base_full / batch_total:.1f}")
    print(f"batch_speedup: {base_full / raw_s:.1f}")
    print(f"noop_sync_terminals: {len(results)}")
    print(f"noop_sync_sent: {sent}")
    print(f"noop_sync_90_s: {noop_s:.2f}")
    print(f"noop_baseline_readback_90_s: {one * args.terminals:.2f}")


if __name__ == "__main__":
    main()
