"""Three open-source ZK clients in another language, that no one here wrote, read the
simulator: node-zklib 1.3.0, zkteco-js 1.7.2 and js_zklib (npm `zklib` 0.2.11), pinned in
tests/js/package-lock.json and installed by ./run. Over real sockets: info, users,
attendance, serial and time where the client has them, TCP and UDP; js_zklib reads as old
clients do, with the direct commands USERTEMP_RRQ (9) and ATTLOG_RRQ (13) instead of 1503.

Both clients handle one ZK packet per socket 'data' event: when the captured firmware's
1,008-byte DATA packets arrive back to back and Node hands several over in one event,
they wait for packets that already came and time out (node-zklib #48, "TIME OUT !! 14
PACKETS REMAIN", random; zk-protocol.md §3.9). On a LAN a unit's packets come a moment
apart, which is how they are read here (paced framing: the captured packet sizes, 2 ms
apart); the back-to-back case is kept as a test of the clients' bug, and the simulator
stays faithful to firmware.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from hub.protocols import zk
from hub.simulator.zk.framing import Framing
from hub.simulator.zk.server import start_in_thread
from hub.simulator.zk.terminal import Terminal

JS = Path(__file__).resolve().parent / "js"
NODE = shutil.which("node")
MISSING = NODE is None or not all((JS / "node_modules" / m).is_dir() for m in ("node-zklib", "zkteco-js", "zklib"))
if MISSING:  # ./run installs both; say so rather than pass quietly
    pytestmark = pytest.mark.skip(reason="node or tests/js/node_modules missing: run ./run tests, "
                                         "which installs them (npm ci in tests/js)")

BASE = datetime(2026, 11, 2, 7, 0)


def _terminal(tmp_path: Path, profile: str, users: int = 120, records: int = 700) -> Terminal:
    t = Terminal.create(tmp_path / f"{profile}.sqlite3", profile, serial=f"NPM{profile.upper()}1")
    t.set_users([zk.User(uid=i, user_id=str(2000 + i), name=f"P{i}") for i in range(1, users + 1)])
    t.bulk_punch([(str(2001 + i % users), BASE + timedelta(minutes=7 * i), i % 2, (1, 15)[i % 2])
                  for i in range(records)])
    return t


def _read(client: str, port: int, *extra: str) -> dict:
    env = {**os.environ, "TZ": "UTC"}  # the clients' Dates then print device-local time
    p = subprocess.run([NODE, str(JS / "zk_client.js"), client, "127.0.0.1", str(port), *extra],
                       capture_output=True, text=True, timeout=120, cwd=JS, env=env)
    lines = [ln for ln in p.stdout.splitlines() if ln.startswith("{")]
    assert lines, f"{client} printed nothing usable: {p.stdout[-500:]} {p.stderr[-1500:]}"
    return json.loads(lines[-1])


def _expect(t: Terminal, out: dict) -> None:
    assert out["ok"], out
    assert out["info"]["userCounts"] == len(t.users())
    assert out["info"]["logCounts"] == len(t.attendance())
    # (node-zklib gives a 28-byte record's user id as a number)
    assert [(u["uid"], str(u["userId"]), u["name"]) for u in out["users"]] == \
        [(u.uid, u.user_id, u.name) for u in t.users()]
    got = [(a["pin"], a["time"]) for a in out["attendances"]]
    want = [(r.user_id, zk.decode_time(r.time_raw).isoformat()) for r in t.attendance()]
    assert got == want


@pytest.mark.parametrize("client", ["node-zklib", "zkteco-js"])
def test_npm_client_reads_the_tft_terminal_over_tcp(tmp_path, client) -> None:
    t = _terminal(tmp_path, "tft")
    h = start_in_thread(t, framing=Framing.preset("paced"))
    try:
        out = _read(client, h.port)
    finally:
        h.stop()
    _expect(t, out)
    assert out.get("type", "tcp") == "tcp"
    assert out["users_err"] is None and out["attendances_err"] is None
    if client == "zkteco-js":
        assert out["serial"] == t.serial
        # zkteco-js prints device-local time as if it were UTC (a 'Z' on local time)
        device = datetime.fromisoformat(out["time"].rstrip("Z").split(".")[0])
        assert abs((device - t.now()).total_seconds()) < 10


def test_node_zklib_reads_an_old_unit_over_udp(tmp_path) -> None:
    """node-zklib falls back to UDP when TCP is refused (the mono profile has no TCP)."""
    t = _terminal(tmp_path, "mono")
    h = start_in_thread(t)
    try:
        out = _read("node-zklib", h.port)
    finally:
        h.stop()
    assert out["type"] == "udp"
    _expect(t, out)


def _free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("framing", ["capture", "paced"])
def test_js_zklib_reads_users_and_log_with_the_direct_commands(tmp_path, framing) -> None:
    """ATTLOG_RRQ (13) and USERTEMP_RRQ (9) answered as one stream of 1,024-byte UDP DATA
    packets whose first carries the size prefix: js_zklib's byte offsets (its "v6.60" parser
    reads the 40-byte record from two bytes before it) land on every field."""
    t = _terminal(tmp_path, "tft", users=150, records=900)  # 36 KB log: 36 datagrams
    h = start_in_thread(t, transports=("udp",), framing=Framing.preset(framing))
    try:
        out = _read("js_zklib", h.port, str(_free_udp_port()))
    finally:
        h.stop()
    assert out["ok"], out
    assert [(u["userId"], u["name"]) for u in out["users"]] == [(u.user_id, u.name) for u in t.users()]
    got = [(a["pin"], a["time"], a["verify"], a["state"]) for a in out["attendances"]]
    want = [(r.user_id, zk.decode_time(r.time_raw).isoformat(), r.verify, r.state) for r in t.attendance()]
    assert got == want


@pytest.mark.parametrize("client", ["node-zklib", "zkteco-js"])
def test_npm_clients_lose_packets_that_arrive_back_to_back(tmp_path, client) -> None:
    """Their bug, documented: captured framing sent in one burst (several packets per
    'data' event) leaves them waiting; they return fewer users than the terminal holds,
    with a timeout, while the hub reads the same terminal whole (tests/test_zk_wire.py)."""
    t = _terminal(tmp_path, "tft", users=120, records=0)
    h = start_in_thread(t, framing=Framing.preset("coalesced"))
    try:
        out = _read(client, h.port)
    finally:
        h.stop()
    assert out["ok"] and out["info"]["userCounts"] == 120
    assert len(out["users"]) < 120
