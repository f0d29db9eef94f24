"""`hub simulate fleet --mix zk=…,adms=…,mqtt=…,hik=…` against a running `hub run`: ZK and
Hikvision terminals are pulled, ADMS and MQTT terminals push, and the store equals every
ground truth, each punch once; the running hub pushes its roster to the Hikvision terminal
(a terminal task) and what the terminal holds afterwards is the office's people."""

from __future__ import annotations

import csv
import signal
import time
from datetime import datetime

import httpx
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hub.adapters.isapi.pull import client_of
from hub.adapters.isapi.pull import load_targets as isapi_targets
from hub.adapters.isapi.pull import pull_many as isapi_pull
from hub.adapters.zk.coordinator import pull_fleet
from hub.config import PullSettings
from hub.protocols.zk_codes import zk_state, zk_verify
from hub.simulator import groundtruth
from hub.store.models import Device, RawPunch
from hub.sync.models import DeviceRosterUser
from hub.sync.plan import compute_plans
from hub.web.auth import add_user, new_api_token
from tests.proc_helpers import free_port, hub_env, start_hub, stop, wait_http


def test_mixed_fleet_lands_in_the_store(settings, engine, tmp_path) -> None:
    port = free_port()
    env = hub_env(settings, HUB_SCHEDULER_ENABLED="false", HUB_MQTT_ENABLED="true")
    hub = start_hub(["run", "--port", str(port)], env, tmp_path / "run.log")
    wait_http(f"http://127.0.0.1:{port}/healthz", proc=hub)
    state = tmp_path / "fleet"
    fleet = start_hub(["simulate", "fleet", "--devices", "6", "--mix", "zk=3,adms=1,mqtt=1,hik=1",
                       "--employees", "60", "--days", "4", "--base-port", "0", "--state-dir", str(state),
                       "--register", "--adms-url", f"http://127.0.0.1:{port}", "--push-seconds", "3"],
                      env, tmp_path / "fleet.log")
    truth_file = state / "groundtruth" / "push-punches.csv"
    try:
        deadline = time.monotonic() + 120
        while not truth_file.exists():
            assert fleet.poll() is None, (tmp_path / "fleet.log").read_text()
            assert time.monotonic() < deadline, (tmp_path / "fleet.log").read_text()
            time.sleep(0.5)
        hik_truth = state / "groundtruth" / "hik-events.csv"
        assert hik_truth.exists(), (tmp_path / "fleet.log").read_text()
        results = pull_fleet(engine, PullSettings(timeout_s=3.0, retries=2, auto_sync_time=False))
        assert len(results) == 3 and not [r for r in results if r.error]
        # the running hub pulls the Hikvision terminal (its API, as IT's "pull now" does)
        with Session(engine) as s:
            token = new_api_token(s, add_user(s, "it-mix", "Sandi-Kuat-2026!", "it"), "test")
            admin = new_api_token(s, add_user(s, "admin-mix", "Sandi-Kuat-2026!", "admin"), "test")
            s.commit()
        now = httpx.post(f"http://127.0.0.1:{port}/api/devices/HIK-001/pull", timeout=60,
                         headers={"Authorization": f"Bearer {token}"})
        assert now.status_code == 200 and now.json()["ok"] and now.json()["new"] > 0, now.text
        assert isapi_pull(engine, isapi_targets(engine))[0].mode == "unchanged"
        gt = groundtruth.read(state / "groundtruth")
        with Session(engine) as s:
            rows = s.execute(select(Device.serial, Device.kind, RawPunch.pin, RawPunch.local_time,
                                    RawPunch.state, RawPunch.verify)
                             .join(Device, Device.id == RawPunch.device_id)).all()
        zk_rows = {(r[0], r[2], r[3], r[4], r[5]) for r in rows if r[1].startswith("zk")}
        assert zk_rows == {(p.serial, p.pin, p.local_time, str(zk_state(p.state)), str(zk_verify(p.verify)))
                           for p in gt.punches}
        with open(truth_file) as fh:
            pushed = {(r["serial"], r["pin"], datetime.fromisoformat(r["local_time"]))
                      for r in csv.DictReader(fh)}
        push_rows = [(r[0], r[2], r[3]) for r in rows if r[1] in ("adms", "mqtt")]
        assert {r[1] for r in rows if r[1] in ("adms", "mqtt")} == {"adms", "mqtt"}
        assert len(push_rows) == len(set(push_rows)) and set(push_rows) == pushed
        with open(hik_truth) as fh:
            taken = {(r["serial"], r["employee_no"], datetime.fromisoformat(r["local_time"]))
                     for r in csv.DictReader(fh)}
        hik_rows = [(r[0], r[2], r[3]) for r in rows if r[1] == "hik-isapi"]
        assert len(hik_rows) == len(set(hik_rows)) and set(hik_rows) == taken
        with Session(engine) as s:  # its people are the hub's employees (their PINs resolve)
            assert s.scalar(select(func.count()).select_from(RawPunch).join(Device, Device.id == RawPunch.device_id)
                            .where(Device.kind == "hik-isapi", RawPunch.employee_id.is_(None))) == 0
        _roster_reaches_the_hikvision(engine, port, admin)
    finally:
        stop(fleet, signal.SIGTERM)
        stop(hub, signal.SIGTERM)


def _roster_reaches_the_hikvision(engine, port: int, token: str) -> None:  # type: ignore[no-untyped-def]
    """The admin asks the running hub to sync the Hikvision terminal: it is queued as a task
    (the request does not wait on the terminal), done by `hub run`'s worker, and read back."""
    auth = {"Authorization": f"Bearer {token}"}
    base = f"http://127.0.0.1:{port}/api/sync"
    r = httpx.post(f"{base}/apply", json={"devices": ["HIK-001"]}, headers=auth, timeout=30)
    assert r.status_code == 202 and r.json() == {"queued": 1, "applied": 0}, r.text
    deadline = time.monotonic() + 60
    while True:
        [row] = httpx.get(f"{base}/progress", params={"devices": ["HIK-001"]}, headers=auth, timeout=30).json()
        if row["state"] == "done":
            break
        assert time.monotonic() < deadline, row
        time.sleep(0.5)
    assert row["status"] in ("ok", "unchanged") and not row["error"] and not row["mismatch"], row
    with Session(engine) as s:
        dev = s.scalar(select(Device).where(Device.serial == "HIK-001"))
        with client_of(dev) as client:
            held = {pin for pin, _name, _valid in client.users()}
        confirmed = set(s.scalars(select(DeviceRosterUser.pin).where(DeviceRosterUser.device_id == dev.id)))
        [plan] = compute_plans(s, [dev])
        s.rollback()
    assert held and held == confirmed  # the hub's picture is the terminal's own
    assert plan.counts() == {k: 0 for k in plan.counts()}  # and nothing is left to send
