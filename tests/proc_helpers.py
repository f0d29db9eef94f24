"""Helpers for tests that run hub processes: free ports, waiting for HTTP, clean stops."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def hub_env(settings, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    own = uuid.uuid4().hex[:10]
    env.update({
        "HUB_DATABASE_URL": settings.database_url,
        "HUB_VAR_DIR": settings.var_dir,
        "HUB_SECRET_KEY": settings.secret_key,
        "PYTHONUNBUFFERED": "1",
        # its own MQTT topic root: a hub running on the same broker never sees the test's
        # terminals, nor the test the hub's; and its own client id: two hubs of two tests at
        # once would share one persistent session (and each other's subscriptions) as "hub"
        "HUB_MQTT_TOPIC_ROOT": f"hubtest-{own}/v1/devices",
        "HUB_MQTT_CLIENT_ID": f"hubtest-{own}",
    })
    env.update(extra)
    return env


def start_hub(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    fh = open(log, "ab")  # noqa: SIM115 - closed with the process
    return subprocess.Popen([sys.executable, "-m", "hub.cli.main", *args], cwd=ROOT, env=env,
                            stdout=fh, stderr=subprocess.STDOUT)


def wait_http(url: str, timeout: float = 60.0, proc: subprocess.Popen | None = None) -> httpx.Response:
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"process exited with {proc.returncode} before {url} answered")
        try:
            r = httpx.get(url, timeout=2.0)
            if r.status_code < 500:
                return r
        except httpx.HTTPError as exc:
            last = exc
        time.sleep(0.2)
    raise AssertionError(f"{url} did not answer within {timeout}s: {last}")


def stop(proc: subprocess.Popen, sig: int = signal.SIGTERM, timeout: float = 30.0) -> int:
    if proc.poll() is None:
        proc.send_signal(sig)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
    return proc.returncode
