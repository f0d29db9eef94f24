"""Web console benchmark: page times on a fleet of the target size (about 90 terminals,
7,000 employees in 30 offices, one month of punches), on SQLite and PostgreSQL.

Baselines measured in the same run: the login page (a page that touches no data: the
floor of the stack) and a straightforward recap that asks the store once per employee and
judges each employee's month with the same engine and rules (recap_naive_baseline_ms),
against the one reconciler's set-based month (recap_compute_ms, what every recap page,
export and API call computes for an open month).

    .venv/bin/python bench/web.py [--employees 7000] [--offices 30] [--devices 90] [--repeat 5]

Ends with `key: value` lines per backend.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from datetime import datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from cryptography.fernet import Fernet  # noqa: E402
from fastapi.testclient import TestClient  # noqa: E402
from rich.progress import Progress  # noqa: E402
from sqlalchemy import create_engine, select, text  # noqa: E402

from hub.config import Settings, set_settings  # noqa: E402
from hub.punch import Punch, Source, State, Verify  # noqa: E402
from hub.reconcile.errors import month_bounds  # noqa: E402
from hub.reconcile.period import month_figures  # noqa: E402
from hub.store.db import make_engine, reset_engines, session_scope, upgrade  # noqa: E402
from hub.store.ingest import ingest_punches  # noqa: E402
from hub.store.models import Correction, Device, Employee, IngestRun, PinMapping, RawPunch, Site, utcnow  # noqa: E402
from hub.web import review  # noqa: E402
from hub.web.app import create_app  # noqa: E402
from hub.web.auth import add_user  # noqa: E402

MONTH = "2026-10"
PASSWORD = "bench-password"


def seed(url: str, employees: int, offices: int, devices: int) -> None:
    engine = make_engine(url)
    rng = random.Random(7)
    first, end = month_bounds(MONTH)
    days = [first + timedelta(days=i) for i in range((end - first).days + 1)
            if (first + timedelta(days=i)).weekday() < 5]
    with session_scope(engine) as s:
        for role, name in (("it", "it"), ("reviewer", "rev")):
            add_user(s, name, PASSWORD, role)
        sites = [Site(code=f"OPD{i:02d}", name=f"Kantor {i}") for i in range(offices)]
        s.add_all(sites)
        s.flush()
        devs = [Device(serial=f"SN{i:03d}", name=f"T{i}", kind="zk-tcp", host="127.0.0.1", port=4370,
                       site_id=sites[i % offices].id, capabilities={}, last_record_count=5000,
                       last_seen_at=utcnow() - timedelta(minutes=rng.choice([1, 2, 90])),
                       last_clock_offset_s=rng.uniform(-200, 200)) for i in range(devices)]
        s.add_all(devs)
        s.flush()
        # The nightly pull after the month: every terminal's log is known complete.
        s.add_all([IngestRun(device_id=d.id, source="zk_tcp", kind="pull", status="ok", started_at=utcnow(),
                             finished_at=utcnow(), details={}) for d in devs])
        emps = [Employee(id_number=f"1980{i:014d}", employment_type="pns", name=f"Pegawai {i:05d}",
                         site_id=sites[i % offices].id, monthly_tpp=3_000_000) for i in range(employees)]
        s.add_all(emps)
        s.flush()
        s.add_all([PinMapping(employee_id=e.id, pin=str(i + 1), pin_group="default") for i, e in enumerate(emps)])
        site_devices = {st.id: [d for d in devs if d.site_id == st.id] for st in sites}
        plan = [(site_devices[e.site_id][0].id, str(i + 1)) for i, e in enumerate(emps)]
    punches: list[Punch] = []
    for dev_id, pin in plan:
        for d in days:
            if rng.random() < 0.03:
                continue  # absent
            base = datetime.combine(d, datetime.min.time())
            punches.append(Punch(dev_id, Source.ZK_TCP, pin, base + timedelta(minutes=rng.randint(400, 480)),
                                 "Asia/Jakarta", State.CHECK_IN, Verify.FINGERPRINT))
            if rng.random() > 0.04:
                punches.append(Punch(dev_id, Source.ZK_TCP, pin, base + timedelta(minutes=rng.randint(955, 1010)),
                                     "Asia/Jakarta", State.CHECK_OUT, Verify.FINGERPRINT))
    ingest_punches(engine, punches)
    engine.dispose()
    print(f"  seeded {employees} employees, {devices} terminals, {len(punches)} punches", flush=True)


def naive_recap(url: str, site_code: str) -> int:
    """The baseline: one query per employee for punches and one for corrections, each
    employee's month judged by the same engine and rules."""
    from hub.reconcile.engine import CorrectionIn, EmployeeScope, group_punches, local_seconds, reconcile
    from hub.reconcile.ruleset_store import RulesResolver

    engine = make_engine(url)
    first, end = month_bounds(MONTH)
    lo, hi = datetime.combine(first, datetime.min.time()), datetime.combine(end, datetime.max.time())
    n = 0
    with session_scope(engine) as s:
        site = review.find_site(s, site_code)
        rules = RulesResolver(s)
        for e in s.scalars(select(Employee).where(Employee.site_id == site.id)):
            rows = s.execute(select(RawPunch.id, RawPunch.local_time).where(
                RawPunch.employee_id == e.id, RawPunch.local_time >= lo, RawPunch.local_time < hi)).all()
            corr = [CorrectionIn(c.id, c.employee_id, c.day, c.kind, c.punch_id, c.local_time, c.status)
                    for c in s.scalars(select(Correction).where(Correction.employee_id == e.id,
                                                                Correction.approval == "approved"))]
            n += len(reconcile([EmployeeScope(e.id, e.site_id, first, end)],
                               group_punches((e.id, local_seconds(t), pid) for pid, t in rows), rules, corr))
    engine.dispose()
    return n


def set_based_recap(url: str, site_code: str) -> int:
    """What the recap page computes (no HTML): the office's month through hub.reconcile."""
    engine = make_engine(url)
    try:
        with session_scope(engine) as s:
            fig = month_figures(s, MONTH, review.find_site(s, site_code).id)
    finally:
        engine.dispose()
    return len(fig.rows)


def timed(fn, repeat: int) -> float:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def login(c: TestClient, user: str) -> None:
    import re

    page = c.get("/login").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    r = c.post("/login", data={"username": user, "password": PASSWORD, "csrf_token": token},
               follow_redirects=False)
    assert r.status_code == 303, r.text


def run(backend: str, url: str, args: argparse.Namespace, tmp: str) -> dict[str, float]:
    print(f"[{backend}]", flush=True)
    upgrade(url)
    settings = Settings(database_url=url, var_dir=tmp, secret_key=Fernet.generate_key().decode())
    set_settings(settings)
    seed(url, args.employees, args.offices, args.devices)
    app = create_app(settings)
    out: dict[str, float] = {}
    with TestClient(app) as it, TestClient(app) as rev, Progress(transient=True) as progress:
        login(it, "it")
        login(rev, "rev")

        def get(c: TestClient, path: str) -> None:
            r = c.get(path)
            assert r.status_code == 200, (path, r.status_code)

        cases = {
            "login_page_ms": lambda: get(it, "/login"),
            "dashboard_ms": lambda: get(it, "/"),
            "punches_page_ms": lambda: get(it, "/punches?site=OPD01&date_from=2026-10-01&date_to=2026-10-31"),
            "exceptions_day_ms": lambda: get(rev, "/exceptions?site=OPD01&day=2026-10-05"),
            "recap_office_month_ms": lambda: get(rev, f"/recap?site=OPD01&month={MONTH}"),
            # every OPD's month with its charts (BPKAD), a week of exceptions for every office
            # (paged), readiness per office, a name search among all employees
            "overview_all_opd_month_ms": lambda: get(rev, f"/recap/overview?month={MONTH}"),
            "exceptions_week_all_offices_ms": lambda: get(rev, "/exceptions?day=2026-10-05&day_to=2026-10-11"),
            "rollout_all_offices_ms": lambda: get(rev, "/rollout"),
            "employee_search_ms": lambda: get(rev, "/employees?q=pegawai+0423"),
            "recap_xlsx_ms": lambda: get(rev, f"/recap/export.xlsx?site=OPD01&month={MONTH}"),
            "recap_pdf_ms": lambda: get(rev, f"/recap/export.pdf?site=OPD01&month={MONTH}"),
            "recap_compute_ms": lambda: set_based_recap(url, "OPD01"),
            "recap_naive_baseline_ms": lambda: naive_recap(url, "OPD01"),
        }
        task = progress.add_task(f"{backend}: pages", total=len(cases))
        for key, fn in cases.items():
            fn()  # warm-up
            out[key] = timed(fn, args.repeat)
            progress.advance(task)
    # Same engine and rules on both sides: the set-based month against the per-employee baseline.
    out["recap_speedup_vs_naive"] = out["recap_naive_baseline_ms"] / out["recap_compute_ms"]
    for key, value in out.items():
        print(f"  {key}: {value:.1f}")
    set_settings(None)
    reset_engines()
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--employees", type=int, default=7000)
    ap.add_argument("--offices", type=int, default=30)
    ap.add_argument("--devices", type=int, default=90)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--pg", default=os.environ.get(
        "HUB_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"))
    ap.add_argument("--no-pg", action="store_true")
    args = ap.parse_args()
    results: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as d:
        results["sqlite"] = run("sqlite", f"sqlite:///{d}/bench.sqlite3", args, d)
        if not args.no_pg:
            admin = create_engine(args.pg, isolation_level="AUTOCOMMIT")
            name = f"hubbench_{uuid.uuid4().hex[:8]}"
            with admin.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
            try:
                results["postgresql"] = run("postgresql", args.pg.rsplit("/", 1)[0] + "/" + name, args, d)
            finally:
                reset_engines()
                with admin.connect() as conn:
                    conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
                admin.dispose()
    employees_per_office = args.employees // args.offices
    print(f"employees_per_office: {employees_per_office}")
    for backend, out in results.items():
        for key, value in out.items():
            print(f"{backend}_{key}: {value:.1f}")


if __name__ == "__main__":
    main()
