"""`hub simulate fleet` as a person runs it: foreground, Rich summary, --register into the store
(SQLite and PostgreSQL), SIGTERM stops every terminal process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import create_engine, func, select
from zk import ZK

from hub.simulator.fleet import read_manifest
from hub.store.models import Device, Employee, PinMapping
from tests.proc_helpers import ROOT, hub_env, start_hub


def _wait_for(log: Path, text: str, proc: subprocess.Popen, timeout: float = 90) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        out = log.read_text(errors="replace") if log.exists() else ""
        if text in out:
            return out
        assert proc.poll() is None, f"hub exited with {proc.returncode}:\n{out}"
        time.sleep(0.2)
    raise AssertionError(f"'{text}' not seen in {timeout} s:\n{log.read_text(errors='replace')}")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_fleet_command_register_and_sigterm(settings, tmp_path: Path) -> None:
    state = tmp_path / "fleet"
    log = tmp_path / "fleet.log"
    env = hub_env(settings, COLUMNS="200")
    proc = start_hub(["simulate", "fleet", "--devices", "4", "--employees", "80", "--days", "3",
                      "--start", "2026-10-05", "--state-dir", str(state), "--base-port", "0",
                      "--register", "--pin-group", "sim"], env, log)
    try:
        out = _wait_for(log, "Armada berjalan", proc)
        manifest = read_manifest(state)
        assert "Terdaftar: 4 kantor baru, 4 terminal baru" in out and "80 PIN baru" in out
        for t in manifest["terminals"]:
            assert t["serial"] in out and str(t["port"]) in out
        eng = create_engine(settings.database_url)
        with eng.connect() as conn:
            ports = dict(conn.execute(select(Device.serial, Device.port)).all())
            assert ports == {t["serial"]: t["port"] for t in manifest["terminals"]}
            assert conn.scalar(select(func.count()).select_from(Employee)) == 80
            assert conn.scalar(select(func.count()).select_from(PinMapping)
                               .where(PinMapping.pin_group == "sim")) == 80
        eng.dispose()
        t = manifest["terminals"][0]
        zk = ZK(t["host"], t["port"], timeout=10, password=t["comm_key"], force_udp=t["transport"] == "udp",
                ommit_ping=True).connect()
        assert zk.get_serialnumber() == t["serial"]
        zk.disconnect()
    finally:
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(30)
    assert code == 0, log.read_text()
    assert "Armada berhenti" in log.read_text()
    deadline = time.monotonic() + 10
    while any(_alive(pid) for pid in manifest["pids"]) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(_alive(pid) for pid in manifest["pids"])


def test_fleet_command_refuses_bad_mixes(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    for mix, needle in (("adms=3", "zk=60"), ("zk=2,dahua=1", "dahua"), ("zk=2,mqtt=2", "--devices")):
        res = subprocess.run([sys.executable, "-m", "hub.cli.main", "simulate", "fleet", "--devices", "3",
                              "--mix", mix, "--state-dir", str(tmp_path)], cwd=ROOT, env=env,
                             capture_output=True, text=True, timeout=60)
        assert res.returncode == 1 and needle in res.stderr + res.stdout, (mix, res.stdout, res.stderr)
    assert not (tmp_path / "fleet.json").exists()
