"""A bounded soak: 30 simulated days on a small fleet, with faults on the way, ending with
the store equal to the simulators' ground truth and the recap equal to the one computed
from the ground truth.

Faults: the hub killed with SIGKILL in the middle of a pull, every terminal dropping off
(the fleet stopped) during a pull and coming back on other ports, the MQTT broker
restarted and `hub run` killed while ADMS and MQTT terminals push (they resend), and a
second full pull of everything.
"""

from __future__ import annotations

import signal
import threading
import time
from datetime import date, timedelta
from pathlib import Path

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from hub.adapters.zk.coordinator import pull_fleet
from hub.config import PullSettings
from hub.fleet.seed import register
from hub.simulator import groundtruth
from hub.simulator.fleet import Fleet, FleetConfig
from hub.simulator.population import PopulationSpec
from hub.simulator.push_fleet import push_serials, run_push_fleet
from hub.store.models import Device, RawPunch
from tests.proc_helpers import free_port, hub_env, start_hub, stop, wait_http
from tests.push_fixtures import Broker
from tests.soak_helpers import assert_recap_equals_truth, truth_identities, zk_store_punches

DAYS = 30
START = date(2026, 9, 20)


def _gt_rows(gt: groundtruth.GroundTruth) -> list[tuple]:
    return [(p.serial, p.pin, p.local_time, p.state, p.verify) for p in gt.punches]


def _truth(gt: groundtruth.GroundTruth) -> set[tuple]:
    return truth_identities(_gt_rows(gt))


def _pull(engine, **kw) -> list:  # type: ignore[no-untyped-def]
    return pull_fleet(engine, PullSettings(concurrency=8, timeout_s=3.0, retries=2,
                                           auto_sync_time=False), **kw)


def test_thirty_days_with_faults_end_equal_to_ground_truth(settings, engine, tmp_path: Path) -> None:
    spec = PopulationSpec(devices=6, employees=160, days=DAYS, start=START, seed=7,
                          profile_mix=(("tft", 60.0), ("mono", 20.0), ("face", 20.0)))
    cfg = FleetConfig(spec, tmp_path / "fleet", 0, 2, {})
    fleet = Fleet(cfg).start()
    try:
        gt = groundtruth.read(fleet.ground_truth_dir)
        with Session(engine) as s, s.begin():
            register(s, gt.roster)
        truth = _truth(gt)
        assert len(truth) == len(gt.punches) > 3000

        # 1. The hub is killed with SIGKILL while it pulls.
        env = hub_env(settings)
        proc = start_hub(["pull", "--full"], env, tmp_path / "pull1.log")
        time.sleep(1.5)
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
        partial = zk_store_punches(engine)
        assert len(partial) == len(set(partial)) and set(partial) <= truth

        # 2. Every terminal drops off during a pull, then comes back on other ports.
        fleet.stop()
        results = _pull(engine)
        assert results and all(r.error for r in results)
        fleet = Fleet(cfg).start()
        with Session(engine) as s, s.begin():
            register(s, groundtruth.read_roster(fleet.ground_truth_dir))

        # 3. ADMS and MQTT terminals push a day while the broker is restarted and `hub run`
        #    is killed with SIGKILL and started again under them.
        broker = Broker().start()
        port = free_port()
        run_env = hub_env(settings, HUB_SCHEDULER_ENABLED="false", HUB_MQTT_ENABLED="true",
                          HUB_MQTT_PORT=str(broker.port), HUB_MQTT_CLIENT_ID="soak-hub")
        a_sns, m_sns = push_serials(3, 2, "SOAK")
        from hub.fleet.registry import DeviceSpec, add_device

        with Session(engine) as s, s.begin():
            for sn, kind in [(sn, "adms") for sn in a_sns] + [(sn, "mqtt") for sn in m_sns]:
                add_device(s, DeviceSpec(serial=sn, kind=kind))
        hub = start_hub(["run", "--port", str(port)], run_env, tmp_path / "run1.log")
        try:
            wait_http(f"http://127.0.0.1:{port}/healthz", proc=hub)
            pushed: dict = {}
            pusher = threading.Thread(target=lambda: pushed.update(result=run_push_fleet(
                3, 2, f"http://127.0.0.1:{port}", broker_port=broker.port,
                day=START + timedelta(days=3), staff=30, seconds=8.0, prefix="SOAK",
                root=run_env["HUB_MQTT_TOPIC_ROOT"])))
            pusher.start()
            time.sleep(2)
            broker.stop()
            time.sleep(1)
            broker.start()
            time.sleep(1)
            hub.send_signal(signal.SIGKILL)
            hub.wait(30)
            hub = start_hub(["run", "--port", str(port)], run_env, tmp_path / "run2.log")
            wait_http(f"http://127.0.0.1:{port}/healthz", proc=hub)
            pusher.join(180)
            result = pushed["result"]
            assert result.unsent == 0
            expected = {(sn, pin, local) for sn, recs in result.records.items()
                        for pin, local, _state, _verify in recs}
            deadline = time.monotonic() + 60
            while True:  # MQTT punches acknowledged by the broker may still be on their way
                with Session(engine) as s:
                    push_rows = s.execute(select(Device.serial, RawPunch.pin, RawPunch.local_time)
                                          .join(Device, Device.id == RawPunch.device_id)
                                          .where(Device.kind.in_(("adms", "mqtt")))).all()
                if set(push_rows) == expected or time.monotonic() > deadline:
                    break
                time.sleep(0.5)
            assert len(push_rows) == len(set(push_rows)), "a pushed punch is stored twice"
            assert set(push_rows) == expected, (f"lost {len(expected - set(push_rows))}, "
                                                f"extra {len(set(push_rows) - expected)}")
            assert result.total == len(expected)
        finally:
            stop(hub)
            broker.close()

        # 4. Pull everything (twice: the second adds nothing).
        first = _pull(engine, full=True)
        assert not [r for r in first if r.error]
        again = _pull(engine)
        assert sum(r.new for r in again) == 0
        stored = zk_store_punches(engine)
        assert len(stored) == len(set(stored)), "a punch is stored twice"
        assert set(stored) == truth, (f"lost {len(truth - set(stored))}, "
                                      f"extra {len(set(stored) - truth)}")
    finally:
        fleet.stop()

    # 5. The recap from the store equals the recap computed from the ground truth alone.
    with engine.begin() as conn:  # judge only what the ZK terminals held
        conn.execute(text("DELETE FROM raw_punches WHERE device_id IN "
                          "(SELECT id FROM devices WHERE kind IN ('adms', 'mqtt'))"))
    assert_recap_equals_truth(engine, gt.roster, _gt_rows(gt), START, DAYS, tmp_path)
